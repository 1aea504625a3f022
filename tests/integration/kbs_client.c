/*
 * Test helper: a KBS 0.4.0 client that plays a guest on the simulated platforms.
 * It runs auth -> attest -> resource against vigil-attestd, or one adversarial
 * variation of it, and prints one line per step ("step status body"); the test
 * script asserts on them. Files written to --out: tee-key.pem (the private
 * key, PKCS#8, for npm jose to decrypt), jwe.json, token.txt.
 *
 *   kbs_client --url URL --sim-state DIR --tee snp|tdx [--resource PATH] [--out DIR]
 *              [--mode normal|replay|other-nonce|unbound|tamper|expired|bearer|no-cookie]
 *              [--version V] [--measurement HEX48] [--snp-policy HEX] [--host-data HEX32]
 *              [--mrconfigid HEX48] [--init-data-toml FILE] [--tee-key p256|p384|rsa]
 *              [--sleep SECONDS] [--cacert CA.pem]
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "attestd/attestd.h"

static void step(const char *name, const struct ad_http_resp *r)
{
	printf("%s %ld %s\n", name, r->status, r->body.data ? (const char *)r->body.data : "");
	fflush(stdout);
}

static void die(const char *what, const struct vg_err *e)
{
	fprintf(stderr, "kbs_client: %s: %s\n", what, e->msg);
	exit(2);
}

static EVP_PKEY *gen_key(const char *kind)
{
	if (!strcmp(kind, "rsa"))
		return EVP_RSA_gen(2048);
	return EVP_EC_gen(!strcmp(kind, "p384") ? "P-384" : "P-256");
}

static void write_file(const char *dir, const char *name, const char *text)
{
	if (!dir)
		return;
	char p[1200];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	if (!f || fputs(text, f) < 0 || fclose(f)) {
		fprintf(stderr, "kbs_client: cannot write %s\n", p);
		exit(2);
	}
}

int main(int argc, char **argv)
{
	const char *url = NULL, *simdir = NULL, *tee = "snp", *resource = NULL, *out = NULL, *mode = "normal";
	const char *version = AD_KBS_VERSION, *meas = NULL, *snp_policy = NULL, *host_data = NULL, *mrconfigid = NULL;
	const char *init_file = NULL, *keykind = "p256", *cacert = NULL;
	int sleep_s = 0;
	static const struct option lo[] = {
		{"url", 1, NULL, 'u'},	      {"sim-state", 1, NULL, 's'},  {"tee", 1, NULL, 't'},
		{"resource", 1, NULL, 'r'},   {"out", 1, NULL, 'o'},	    {"mode", 1, NULL, 'm'},
		{"version", 1, NULL, 'v'},    {"measurement", 1, NULL, 'M'}, {"snp-policy", 1, NULL, 'P'},
		{"host-data", 1, NULL, 'H'},  {"mrconfigid", 1, NULL, 'C'}, {"init-data-toml", 1, NULL, 'I'},
		{"tee-key", 1, NULL, 'k'},    {"sleep", 1, NULL, 'S'},	    {"cacert", 1, NULL, 'A'},
		{NULL, 0, NULL, 0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'u': url = optarg; break;
		case 's': simdir = optarg; break;
		case 't': tee = optarg; break;
		case 'r': resource = optarg; break;
		case 'o': out = optarg; break;
		case 'm': mode = optarg; break;
		case 'v': version = optarg; break;
		case 'M': meas = optarg; break;
		case 'P': snp_policy = optarg; break;
		case 'H': host_data = optarg; break;
		case 'C': mrconfigid = optarg; break;
		case 'I': init_file = optarg; break;
		case 'k': keykind = optarg; break;
		case 'S': sleep_s = atoi(optarg); break;
		case 'A': cacert = optarg; break;
		default: fprintf(stderr, "kbs_client: bad option\n"); return 2;
		}
	}
	if (!url || !simdir) {
		fprintf(stderr, "kbs_client: --url and --sim-state are required\n");
		return 2;
	}
	struct vg_err e = {0};
	struct ad_sim sim;
	if (ad_sim_open(simdir, &sim, &e))
		die("sim", &e);
	if (meas) {
		if (vg_hex_decode(meas, sim.guest.measurement, 48, &e) || vg_hex_decode(meas, sim.td.mrtd, 48, &e))
			die("--measurement", &e);
	}
	if (snp_policy) {
		uint64_t v = 0;
		if (vg_parse_u64(snp_policy, UINT64_MAX, &v, &e))
			die("--snp-policy", &e);
		sim.guest.policy = v;
	}
	if (host_data && vg_hex_decode(host_data, sim.guest.host_data, 32, &e))
		die("--host-data", &e);
	if (mrconfigid && vg_hex_decode(mrconfigid, sim.td.mrconfigid, 48, &e))
		die("--mrconfigid", &e);
	char *init_toml = NULL;
	if (init_file) {
		uint8_t *b = NULL;
		size_t n = 0;
		if (vg_read_file(init_file, 1 << 20, &b, &n, &e))
			die("--init-data-toml", &e);
		init_toml = strndup((char *)b, n);
		free(b);
	}
	EVP_PKEY *key = gen_key(keykind);
	json_t *jwk = key ? att_jwk_from_pkey(key, &e) : NULL;
	if (!jwk)
		die("tee key", &e);
	if (out) {
		BIO *b = BIO_new(BIO_s_mem());
		PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL);
		char *d = NULL;
		long n = BIO_get_mem_data(b, &d);
		char *pem = strndup(d, (size_t)n);
		write_file(out, "tee-key.pem", pem);
		free(pem);
		BIO_free(b);
	}

	struct ad_http h;
	if (ad_http_init(&h, url, cacert, &e))
		die("http", &e);
	struct ad_http_resp r;
	char cookie[160] = "", nonce[64] = "";
	if (ad_cli_auth(&h, tee, version, cookie, nonce, &r, &e)) {
		step("auth", &r);
		ad_http_resp_free(&r);
		goto done;
	}
	step("auth", &r);
	ad_http_resp_free(&r);
	printf("session %s\n", cookie);

	const char *use_nonce = nonce;
	char other_cookie[160], other_nonce[64];
	if (!strcmp(mode, "other-nonce")) { /* a second session; attest session 1 with session 2's nonce */
		if (ad_cli_auth(&h, tee, version, other_cookie, other_nonce, &r, &e))
			die("auth 2", &e);
		ad_http_resp_free(&r);
		use_nonce = other_nonce;
	}
	if (!strcmp(mode, "expired") && sleep_s)
		sleep((unsigned)sleep_s);
	uint8_t rd[64];
	if (att_kbs_report_data(use_nonce, jwk, "", rd, &e))
		die("report data", &e);
	if (!strcmp(mode, "unbound"))
		memset(rd, 0, sizeof(rd));
	json_t *ev = ad_sim_evidence(&sim, tee, rd, !strcmp(mode, "tamper"), &e);
	if (!ev)
		die("evidence", &e);
	json_t *att = ad_cli_attestation(use_nonce, jwk, ev, init_toml);
	if (ad_cli_post_json(&h, "/kbs/v0/attest", strcmp(mode, "no-cookie") ? cookie : NULL, att, &r, &e))
		die("attest", &e);
	step("attest", &r);
	char *token = NULL;
	if (r.status == 200) {
		json_t *j = json_loads((const char *)r.body.data, 0, NULL);
		const char *t = json_string_value(json_object_get(j, "token"));
		token = t ? strdup(t) : NULL;
		json_decref(j);
		if (token)
			write_file(out, "token.txt", token);
	}
	ad_http_resp_free(&r);
	if (!strcmp(mode, "replay")) {
		/* the same Attestation again on the same session (its nonce is spent) ... */
		if (ad_cli_post_json(&h, "/kbs/v0/attest", cookie, att, &r, &e))
			die("attest 2", &e);
		step("replay-same", &r);
		ad_http_resp_free(&r);
		/* ... and on a fresh session, whose nonce differs; the resource request then uses it */
		if (ad_cli_auth(&h, tee, version, other_cookie, other_nonce, &r, &e))
			die("auth 2", &e);
		ad_http_resp_free(&r);
		if (ad_cli_post_json(&h, "/kbs/v0/attest", other_cookie, att, &r, &e))
			die("attest 3", &e);
		step("replay", &r);
		ad_http_resp_free(&r);
		snprintf(cookie, sizeof(cookie), "%s", other_cookie);
	}
	json_decref(att);
	if (resource) {
		char path[400], ck[200], authz[16500];
		snprintf(path, sizeof(path), "/kbs/v0/resource/%s", resource);
		snprintf(ck, sizeof(ck), "Cookie: %s", cookie);
		const char *hdr[2] = {NULL, NULL};
		if (!strcmp(mode, "bearer") && token) {
			snprintf(authz, sizeof(authz), "Authorization: Bearer %s", token);
			hdr[0] = authz;
		} else if (strcmp(mode, "no-cookie")) {
			hdr[0] = ck;
		}
		if (ad_http_do(&h, "GET", path, hdr, NULL, 0, &r, &e))
			die("resource", &e);
		step("resource", &r);
		if (r.status == 200)
			write_file(out, "jwe.json", (const char *)r.body.data);
		ad_http_resp_free(&r);
	}
	free(token);
done:
	free(init_toml);
	json_decref(jwk);
	EVP_PKEY_free(key);
	ad_http_free(&h);
	ad_sim_close(&sim);
	return 0;
}
