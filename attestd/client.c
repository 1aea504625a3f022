/*
 * A small KBS / admin client over libcurl for `vigil kbs`, the integration
 * test helper and bench/attestd: one keep-alive connection per struct ad_http,
 * admin tokens signed with att_jws_sign, and evidence from the simulated
 * platforms (sev/ sim-snp, tdx/ sim-tdx) bound to a session with
 * att_kbs_report_data, exactly as a guest would.
 */
#include "attestd/attestd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

static size_t body_cb(char *p, size_t sz, size_t n, void *arg)
{
	struct ad_http_resp *r = arg;
	if (r->body.len + sz * n > (64u << 20))
		return 0;
	return vg_buf_append(&r->body, p, sz * n) ? 0 : sz * n;
}

static size_t header_cb(char *p, size_t sz, size_t n, void *arg)
{
	struct ad_http_resp *r = arg;
	size_t len = sz * n;
	static const char key[] = "set-cookie:";
	if (len > sizeof(key) && !strncasecmp(p, key, sizeof(key) - 1)) {
		const char *v = p + sizeof(key) - 1;
		while (*v == ' ')
			v++;
		const char *end = p + len;
		const char *semi = memchr(v, ';', (size_t)(end - v));
		const char *stop = semi ? semi : end;
		while (stop > v && (stop[-1] == '\r' || stop[-1] == '\n'))
			stop--;
		size_t l = (size_t)(stop - v);
		if (l < sizeof(r->cookie)) {
			memcpy(r->cookie, v, l);
			r->cookie[l] = 0;
		}
	}
	return len;
}

int ad_http_init(struct ad_http *h, const char *base_url, const char *cacert, struct vg_err *err)
{
	memset(h, 0, sizeof(*h));
	if (strlen(base_url) >= sizeof(h->base))
		return vg_err_set(err, EINVAL, "URL too long");
	snprintf(h->base, sizeof(h->base), "%s", base_url);
	size_t n = strlen(h->base);
	while (n && h->base[n - 1] == '/')
		h->base[--n] = 0;
	if (cacert)
		snprintf(h->cacert, sizeof(h->cacert), "%s", cacert);
	h->curl = curl_easy_init();
	if (!h->curl)
		return vg_err_set(err, ENOMEM, "libcurl: cannot create a handle");
	return 0;
}

void ad_http_free(struct ad_http *h)
{
	if (h->curl)
		curl_easy_cleanup(h->curl);
	h->curl = NULL;
}

void ad_http_resp_free(struct ad_http_resp *r) { vg_buf_free(&r->body); }

int ad_http_do(struct ad_http *h, const char *method, const char *path, const char *const *headers,
	       const void *body, size_t len, struct ad_http_resp *out, struct vg_err *err)
{
	memset(out, 0, sizeof(*out));
	CURL *c = h->curl;
	char url[2048];
	snprintf(url, sizeof(url), "%s%s", h->base, path);
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	if (h->cacert[0])
		curl_easy_setopt(c, CURLOPT_CAINFO, h->cacert);
	struct curl_slist *hl = NULL;
	for (size_t i = 0; headers && headers[i]; i++)
		hl = curl_slist_append(hl, headers[i]);
	hl = curl_slist_append(hl, "Expect:");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	if (!strcmp(method, "POST") || !strcmp(method, "PUT")) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
		if (strcmp(method, "POST"))
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	} else if (strcmp(method, "GET")) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	}
	CURLcode cc = curl_easy_perform(c);
	curl_slist_free_all(hl);
	if (cc != CURLE_OK)
		return vg_err_set(err, EIO, "%s %s: %s", method, url, curl_easy_strerror(cc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	if (vg_buf_append_u8(&out->body, 0))
		return vg_err_set(err, ENOMEM, "out of memory");
	out->body.len--;
	return 0;
}

/* ------------------------------------------------------------ admin token */
int ad_admin_token(EVP_PKEY *key, long ttl, char **jwt, struct vg_err *err)
{
	enum att_jws_alg alg = att_jws_alg_for_key(key);
	if (alg != ATT_JWS_EDDSA && alg != ATT_JWS_ES256)
		return vg_err_set(err, EINVAL, "admin key: want Ed25519 or P-256");
	time_t now = time(NULL);
	char payload[128];
	int n = snprintf(payload, sizeof(payload), "{\"iat\":%lld,\"exp\":%lld}", (long long)now, (long long)(now + ttl));
	return att_jws_sign(key, alg, "JWT", NULL, (const uint8_t *)payload, (size_t)n, jwt, err);
}

int ad_load_private_key(const char *file, EVP_PKEY **out, struct vg_err *err)
{
	*out = vg_pem_read_key_file(file, 0, err);
	return *out ? 0 : -EINVAL;
}

/* ---------------------------------------------------- simulated evidence */
void ad_sim_close(struct ad_sim *s)
{
	sev_sim_snp_free(s->snp);
	tdx_sim_free(s->tdx);
	free(s->vcek), free(s->ask), free(s->ark);
	memset(s, 0, sizeof(*s));
}

static int pem_to_der(const char *dir, const char *name, int index, uint8_t **der, size_t *len, struct vg_err *err)
{
	char p[1200];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "r");
	if (!f)
		return vg_err_set(err, errno, "%s: %s", p, strerror(errno));
	X509 *x = NULL;
	for (int i = 0; i <= index; i++) {
		X509_free(x);
		x = PEM_read_X509(f, NULL, NULL, NULL);
	}
	fclose(f);
	if (!x)
		return vg_err_set(err, EINVAL, "%s: certificate %d missing", p, index);
	unsigned char *d = NULL;
	int n = i2d_X509(x, &d);
	X509_free(x);
	if (n <= 0)
		return vg_err_set(err, EINVAL, "%s: DER encoding failed", p);
	*der = malloc((size_t)n);
	if (*der)
		memcpy(*der, d, (size_t)n);
	OPENSSL_free(d);
	*len = (size_t)n;
	return *der ? 0 : vg_err_set(err, ENOMEM, "out of memory");
}

int ad_sim_open(const char *state_dir, struct ad_sim *s, struct vg_err *err)
{
	memset(s, 0, sizeof(*s));
	int rc = sev_sim_snp_open(state_dir, &s->snp, err);
	if (!rc)
		rc = tdx_sim_open(state_dir, &s->tdx, err);
	if (rc)
		goto fail;
	const char *d = sev_sim_snp_dir(s->snp);
	if ((rc = pem_to_der(d, "vcek.pem", 0, &s->vcek, &s->vcek_len, err)) ||
	    (rc = pem_to_der(d, "cert_chain.pem", 0, &s->ask, &s->ask_len, err)) ||
	    (rc = pem_to_der(d, "cert_chain.pem", 1, &s->ark, &s->ark_len, err)))
		goto fail;
	s->guest.policy = 0x30000;
	memset(s->guest.measurement, 0x5a, 48);
	memset(s->td.mrtd, 0x11, 48);
	return 0;
fail:
	ad_sim_close(s);
	return rc;
}

static json_t *b64(const void *p, size_t n)
{
	char *s = att_b64_encode(p, n, false);
	json_t *j = s ? json_string(s) : NULL;
	free(s);
	return j;
}

json_t *ad_sim_evidence(struct ad_sim *s, const char *tee, const uint8_t rd[64], int tamper, struct vg_err *err)
{
	if (!strcmp(tee, "snp")) {
		uint8_t rep[SEV_SNP_REPORT_SIZE];
		if (sev_sim_snp_report(s->snp, &s->guest, rd, 0, rep, err))
			return NULL;
		if (tamper)
			rep[0x90] ^= 1; /* a measurement bit, after signing */
		return json_pack("{s:o,s:[{s:s,s:o},{s:s,s:o},{s:s,s:o}]}", "attestation_report", b64(rep, sizeof(rep)),
				 "cert_chain", "type", "vcek", "data", b64(s->vcek, s->vcek_len), "type", "ask", "data",
				 b64(s->ask, s->ask_len), "type", "ark", "data", b64(s->ark, s->ark_len));
	}
	if (!strcmp(tee, "tdx")) {
		uint8_t *q = NULL;
		size_t ql = 0;
		if (tdx_sim_quote(s->tdx, &s->td, rd, &q, &ql, err))
			return NULL;
		if (tamper && ql > 200)
			q[200] ^= 1; /* inside the TD report body */
		json_t *j = json_pack("{s:o,s:n}", "quote", b64(q, ql), "cc_eventlog");
		free(q);
		return j;
	}
	vg_err_set(err, EINVAL, "tee '%s'", tee);
	return NULL;
}

/* ----------------------------------------------------------- KBS flow */
int ad_cli_auth(struct ad_http *h, const char *tee, const char *version, char cookie[160], char nonce[64],
		struct ad_http_resp *r, struct vg_err *err)
{
	char body[160];
	int n = snprintf(body, sizeof(body), "{\"version\":\"%s\",\"tee\":\"%s\",\"extra-params\":{}}", version, tee);
	const char *hdr[] = {"Content-Type: application/json", NULL};
	int rc = ad_http_do(h, "POST", "/kbs/v0/auth", hdr, body, (size_t)n, r, err);
	if (rc)
		return rc;
	if (r->status != 200)
		return vg_err_set(err, EACCES, "auth: HTTP %ld: %s", r->status, (char *)r->body.data);
	json_t *j = json_loads((const char *)r->body.data, 0, NULL);
	const char *nn = json_string_value(json_object_get(j, "nonce"));
	if (!nn || strlen(nn) >= 64 || !r->cookie[0]) {
		json_decref(j);
		return vg_err_set(err, EBADMSG, "auth: no nonce or no cookie in the answer");
	}
	snprintf(nonce, 64, "%s", nn);
	snprintf(cookie, 160, "%s", r->cookie);
	json_decref(j);
	return 0;
}

json_t *ad_cli_attestation(const char *nonce, const json_t *tee_jwk, json_t *evidence, const char *init_data_toml)
{
	json_t *a = json_pack("{s:{s:s,s:O},s:{s:o,s:s}}", "runtime-data", "nonce", nonce, "tee-pubkey", tee_jwk,
			      "tee-evidence", "primary_evidence", evidence, "additional_evidence", "");
	if (a && init_data_toml)
		json_object_set_new(a, "init-data", json_pack("{s:s,s:s}", "format", "toml", "body", init_data_toml));
	return a;
}

int ad_cli_post_json(struct ad_http *h, const char *path, const char *cookie, const json_t *body,
		     struct ad_http_resp *r, struct vg_err *err)
{
	char *s = json_dumps(body, JSON_COMPACT);
	if (!s)
		return vg_err_set(err, ENOMEM, "out of memory");
	char ck[200];
	snprintf(ck, sizeof(ck), "Cookie: %s", cookie ? cookie : "");
	const char *hdr[] = {"Content-Type: application/json", cookie ? ck : NULL, NULL};
	int rc = ad_http_do(h, "POST", path, hdr, s, strlen(s), r, err);
	free(s);
	return rc;
}
