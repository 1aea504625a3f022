/*
 * attestd_load: complete KBS flows against one or several vigil-attestd
 * instances, for the multi-instance fault test (test_attestd_pg_faults.sh) and
 * bench/attestd_pg.sh. Every flow is auth on instance i, attest on instance
 * i+1, resource on instance i+2 (sessions must live in the shared database),
 * with a fresh P-256 key, REPORT_DATA bound as the service computes it,
 * simulated SNP evidence (attestd/client.c helpers) and the JWE unwrapped and
 * compared with the expected secret.
 *
 *   attestd_load put URL ADMIN_KEY.pem repo/type/tag SECRET_FILE
 *   attestd_load run --url URL [--url URL]... --sim-state DIR --path repo/type/tag
 *                    --secret-file F [--clients N] [--seconds S | --flows N]
 *                    [--released FILE] [--failures FILE] [--json] [--no-cert-table] [--tdx-quote F]
 *
 * Each flow ends in exactly one class:
 *   completed  the secret arrived and equals SECRET_FILE
 *   failed     the client was told: an HTTP error with an RFC 7807 body
 *              (type and detail), or the connection was refused / reset (the
 *              instance died); the flow was abandoned
 *   lost       anything else: a 200 whose JWE does not open to the secret, an
 *              error without an explanation, a request that hung past 30 s
 * --released gets "session-id path" per completed flow (to compare with the
 * audit log's release records). Exit 0 when lost == 0, 1 otherwise, 2 usage.
 */
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "attestd/attestd.h"

#define MAX_URLS 8
#define MAX_CLIENTS 128

static char *urls[MAX_URLS];
static int nurls;
static const char *sim_state, *res_path;
static uint8_t *secret;
static size_t secret_len;
static int clients = 4, seconds = 0, max_flows = 0;
static bool no_cert_table; /* send SNP evidence without its certificate table (collateral cache test) */
static uint8_t *quote_file; /* --tdx-quote: send this TDX quote as the evidence (it is not bound: the
			     * flow is refused at REPORT_DATA; the collateral path runs before that) */
static size_t quote_len;
static FILE *released_f, *failures_f;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int flows_started;
static atomic_long n_completed, n_failed_http5, n_failed_http4, n_failed_conn, n_lost;
static double deadline;

struct lat {
	double *v;
	size_t n, cap;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void note_failure(const char *cls, const char *step, const char *what)
{
	if (!failures_f)
		return;
	pthread_mutex_lock(&out_lock);
	fprintf(failures_f, "%s %s: %.900s\n", cls, step, what);
	pthread_mutex_unlock(&out_lock);
}

enum cls { C_OK, C_HTTP5, C_HTTP4, C_CONN, C_LOST };

/* An error answer is "clean" when it is RFC 7807 JSON with type and detail. */
static enum cls classify_error(const struct ad_http_resp *r, const char *step)
{
	json_t *j = json_loadb((const char *)r->body.data, r->body.len, 0, NULL);
	bool ok = json_is_string(json_object_get(j, "type")) && json_is_string(json_object_get(j, "detail"));
	char what[1000];
	snprintf(what, sizeof(what), "HTTP %ld %s", r->status,
		 ok ? json_string_value(json_object_get(j, "detail")) : (const char *)r->body.data);
	json_decref(j);
	if (!ok) {
		note_failure("lost", step, what);
		return C_LOST;
	}
	note_failure("failed", step, what);
	return r->status >= 500 ? C_HTTP5 : C_HTTP4;
}

/* A transport error: refused / reset / empty reply are clean (the instance died
 * and the client knows); a timeout is not (the service hung). */
static enum cls classify_transport(const struct vg_err *e, const char *step)
{
	bool hung = strstr(e->msg, "Timeout") || strstr(e->msg, "timed out");
	note_failure(hung ? "lost" : "failed", step, e->msg);
	return hung ? C_LOST : C_CONN;
}

static enum cls one_flow(struct ad_http *h, struct ad_sim *sim, int base)
{
	struct vg_err e = {0};
	struct ad_http_resp r = {0};
	char cookie[160], nonce[64];
	enum cls c = C_OK;
	EVP_PKEY *key = NULL;
	json_t *jwk = NULL, *att = NULL, *jwe = NULL;
	uint8_t *pt = NULL;
	size_t ptlen = 0;
	struct ad_http *ha = &h[base % nurls], *hb = &h[(base + 1) % nurls], *hc = &h[(base + 2) % nurls];

	if (ad_cli_auth(ha, quote_file ? "tdx" : "snp", AD_KBS_VERSION, cookie, nonce, &r, &e)) {
		c = r.status ? classify_error(&r, "auth") : classify_transport(&e, "auth");
		goto out;
	}
	ad_http_resp_free(&r);
	key = EVP_EC_gen("P-256");
	jwk = key ? att_jwk_from_pkey(key, &e) : NULL;
	uint8_t rd[ATT_REPORT_DATA_LEN];
	if (!jwk || att_kbs_report_data(nonce, jwk, "", rd, &e)) {
		note_failure("lost", "client", e.msg);
		c = C_LOST;
		goto out;
	}
	json_t *ev = NULL;
	if (quote_file) {
		char *q = att_b64_encode(quote_file, quote_len, false);
		ev = q ? json_pack("{s:s,s:n}", "quote", q, "cc_eventlog") : NULL;
		free(q);
	} else {
		ev = ad_sim_evidence(sim, "snp", rd, 0, &e);
	}
	if (ev && no_cert_table)
		json_object_del(ev, "cert_chain");
	att = ev ? ad_cli_attestation(nonce, jwk, ev, NULL) : NULL;
	if (!att) {
		note_failure("lost", "client", e.msg);
		c = C_LOST;
		goto out;
	}
	if (ad_cli_post_json(hb, "/kbs/v0/attest", cookie, att, &r, &e)) {
		c = classify_transport(&e, "attest");
		goto out;
	}
	if (r.status != 200) {
		c = classify_error(&r, "attest");
		goto out;
	}
	ad_http_resp_free(&r);
	char path[300], ck[200];
	snprintf(path, sizeof(path), "/kbs/v0/resource/%s", res_path);
	snprintf(ck, sizeof(ck), "Cookie: %s", cookie);
	const char *hdr[] = {ck, NULL};
	if (ad_http_do(hc, "GET", path, hdr, NULL, 0, &r, &e)) {
		c = classify_transport(&e, "resource");
		goto out;
	}
	if (r.status != 200) {
		c = classify_error(&r, "resource");
		goto out;
	}
	jwe = json_loadb((const char *)r.body.data, r.body.len, 0, NULL);
	if (!jwe || att_jwe_decrypt(key, jwe, &pt, &ptlen, &e) || ptlen != secret_len ||
	    CRYPTO_memcmp(pt, secret, secret_len)) {
		note_failure("lost", "resource", jwe ? "JWE does not open to the expected secret" : "200 without a JWE");
		c = C_LOST;
		goto out;
	}
	if (released_f) {
		const char *sid = strchr(cookie, '=');
		pthread_mutex_lock(&out_lock);
		fprintf(released_f, "%s %s\n", sid ? sid + 1 : cookie, res_path);
		pthread_mutex_unlock(&out_lock);
	}
out:
	if (pt) {
		OPENSSL_cleanse(pt, ptlen);
		free(pt);
	}
	ad_http_resp_free(&r);
	json_decref(jwe);
	json_decref(att);
	json_decref(jwk);
	EVP_PKEY_free(key);
	return c;
}

struct worker {
	int id;
	struct lat lat;
	pthread_t th;
};

static void *client_main(void *arg)
{
	struct worker *w = arg;
	struct vg_err e = {0};
	struct ad_http h[MAX_URLS];
	struct ad_sim sim;
	if (ad_sim_open(sim_state, &sim, &e)) {
		fprintf(stderr, "attestd_load: %s\n", e.msg);
		atomic_fetch_add(&n_lost, 1);
		return NULL;
	}
	for (int i = 0; i < nurls; i++)
		ad_http_init(&h[i], urls[i], NULL, &e); /* 30 s per request (ad_http_do) */
	for (;;) {
		int k = atomic_fetch_add(&flows_started, 1);
		if (max_flows && k >= max_flows)
			break;
		if (seconds && now_s() >= deadline)
			break;
		double t0 = now_s();
		enum cls c = one_flow(h, &sim, k + w->id);
		double dt = now_s() - t0;
		switch (c) {
		case C_OK:
			atomic_fetch_add(&n_completed, 1);
			if (w->lat.n == w->lat.cap) {
				w->lat.cap = w->lat.cap ? 2 * w->lat.cap : 1024;
				w->lat.v = realloc(w->lat.v, w->lat.cap * sizeof(double));
			}
			if (w->lat.v)
				w->lat.v[w->lat.n++] = dt;
			break;
		case C_HTTP5: atomic_fetch_add(&n_failed_http5, 1); break;
		case C_HTTP4: atomic_fetch_add(&n_failed_http4, 1); break;
		case C_CONN:
			atomic_fetch_add(&n_failed_conn, 1);
			usleep(50000); /* the instance is restarting: do not spin */
			break;
		case C_LOST: atomic_fetch_add(&n_lost, 1); break;
		}
		if (c == C_HTTP5)
			usleep(20000);
	}
	for (int i = 0; i < nurls; i++)
		ad_http_free(&h[i]);
	ad_sim_close(&sim);
	return NULL;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int cmd_put(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: attestd_load put URL ADMIN_KEY.pem repo/type/tag SECRET_FILE\n");
		return 2;
	}
	struct vg_err e = {0};
	EVP_PKEY *k = NULL;
	uint8_t *b = NULL;
	size_t n = 0;
	char *jwt = NULL;
	struct ad_http h;
	struct ad_http_resp r = {0};
	if (ad_load_private_key(argv[3], &k, &e) || vg_read_file(argv[5], 1 << 20, &b, &n, &e) ||
	    ad_admin_token(k, 300, &jwt, &e) || ad_http_init(&h, argv[2], NULL, &e)) {
		fprintf(stderr, "attestd_load put: %s\n", e.msg);
		return 2;
	}
	char path[300], authz[4096];
	snprintf(path, sizeof(path), "/kbs/v0/resource/%s", argv[4]);
	snprintf(authz, sizeof(authz), "Authorization: Bearer %s", jwt);
	const char *hdr[] = {authz, "Content-Type: application/octet-stream", NULL};
	int rc = ad_http_do(&h, "POST", path, hdr, b, n, &r, &e);
	if (rc || r.status / 100 != 2) {
		fprintf(stderr, "attestd_load put: %s\n", rc ? e.msg : (char *)r.body.data);
		rc = 1;
	}
	ad_http_resp_free(&r);
	ad_http_free(&h);
	vg_secure_zero(b, n);
	free(b);
	free(jwt);
	EVP_PKEY_free(k);
	return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "put")) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		return cmd_put(argc, argv);
	}
	if (argc < 2 || strcmp(argv[1], "run")) {
		fprintf(stderr, "usage: attestd_load put ... | run --url URL... --sim-state DIR --path P --secret-file F "
				"[--clients N] [--seconds S | --flows N] [--released FILE] [--failures FILE] [--json]\n");
		return 2;
	}
	const char *secret_file = NULL, *released = NULL, *failures = NULL;
	bool as_json = false;
	static const struct option opts[] = {
		{"url", required_argument, NULL, 'u'},	     {"sim-state", required_argument, NULL, 's'},
		{"path", required_argument, NULL, 'p'},	     {"secret-file", required_argument, NULL, 'f'},
		{"clients", required_argument, NULL, 'c'},   {"seconds", required_argument, NULL, 't'},
		{"flows", required_argument, NULL, 'n'},     {"released", required_argument, NULL, 'r'},
		{"failures", required_argument, NULL, 'F'}, {"json", no_argument, NULL, 'j'},
		{"no-cert-table", no_argument, NULL, 'x'},   {"tdx-quote", required_argument, NULL, 'q'},
		{NULL, 0, NULL, 0}};
	optind = 2;
	int o;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'u':
			if (nurls == MAX_URLS) {
				fprintf(stderr, "attestd_load: at most %d --url\n", MAX_URLS);
				return 2;
			}
			urls[nurls++] = optarg;
			break;
		case 's': sim_state = optarg; break;
		case 'p': res_path = optarg; break;
		case 'f': secret_file = optarg; break;
		case 'c': clients = atoi(optarg); break;
		case 't': seconds = atoi(optarg); break;
		case 'n': max_flows = atoi(optarg); break;
		case 'r': released = optarg; break;
		case 'F': failures = optarg; break;
		case 'j': as_json = true; break;
		case 'x': no_cert_table = true; break;
		case 'q':
			if (vg_read_file(optarg, 1 << 20, &quote_file, &quote_len, NULL)) {
				fprintf(stderr, "attestd_load: cannot read %s\n", optarg);
				return 2;
			}
			break;
		default: return 2;
		}
	}
	if (!nurls || !sim_state || !res_path || !secret_file || clients < 1 || clients > MAX_CLIENTS ||
	    (!seconds && !max_flows)) {
		fprintf(stderr, "attestd_load run: --url, --sim-state, --path, --secret-file and --seconds or --flows "
				"are required (--clients 1..%d)\n",
			MAX_CLIENTS);
		return 2;
	}
	struct vg_err e = {0};
	if (vg_read_file(secret_file, 1 << 20, &secret, &secret_len, &e)) {
		fprintf(stderr, "attestd_load: %s\n", e.msg);
		return 2;
	}
	if ((released && !(released_f = fopen(released, "w"))) || (failures && !(failures_f = fopen(failures, "w")))) {
		fprintf(stderr, "attestd_load: cannot write %s\n", released_f ? failures : released);
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	struct ad_sim first; /* creates the simulated platform keys once, before the threads */
	if (ad_sim_open(sim_state, &first, &e)) {
		fprintf(stderr, "attestd_load: %s\n", e.msg);
		return 2;
	}
	ad_sim_close(&first);
	struct worker *ws = calloc((size_t)clients, sizeof(*ws));
	double t0 = now_s();
	deadline = t0 + seconds;
	for (int i = 0; i < clients; i++) {
		ws[i].id = i;
		pthread_create(&ws[i].th, NULL, client_main, &ws[i]);
	}
	size_t nl = 0;
	for (int i = 0; i < clients; i++) {
		pthread_join(ws[i].th, NULL);
		nl += ws[i].lat.n;
	}
	double el = now_s() - t0;
	double *all = malloc((nl ? nl : 1) * sizeof(double));
	size_t k = 0;
	for (int i = 0; i < clients; i++) {
		if (ws[i].lat.n)
			memcpy(all + k, ws[i].lat.v, ws[i].lat.n * sizeof(double));
		k += ws[i].lat.n;
		free(ws[i].lat.v);
	}
	qsort(all, nl, sizeof(double), cmp_d);
	double p50 = nl ? all[nl / 2] * 1e3 : 0, p99 = nl ? all[(size_t)((double)(nl - 1) * 0.99)] * 1e3 : 0;
	long done = n_completed, f5 = n_failed_http5, f4 = n_failed_http4, fc = n_failed_conn, lost = n_lost;
	long total = done + f5 + f4 + fc + lost;
	if (as_json)
		printf("{\"instances\":%d,\"clients\":%d,\"seconds\":%.2f,\"flows\":%ld,\"completed\":%ld,"
		       "\"failed_cleanly\":%ld,\"failed_http5xx\":%ld,\"failed_http4xx\":%ld,\"failed_connection\":%ld,"
		       "\"lost\":%ld,\"flows_per_second\":%.1f,\"p50_ms\":%.2f,\"p99_ms\":%.2f}\n",
		       nurls, clients, el, total, done, f5 + f4 + fc, f5, f4, fc, lost, done / el, p50, p99);
	else
		printf("flows: %ld, completed: %ld, failed cleanly: %ld (HTTP 5xx %ld, HTTP 4xx %ld, connection %ld), "
		       "lost: %ld; %.1f flows/s, p50 %.2f ms, p99 %.2f ms (%d instance(s), %d clients, %.1f s)\n",
		       total, done, f5 + f4 + fc, f5, f4, fc, lost, done / el, p50, p99, nurls, clients, el);
	free(all);
	free(ws);
	if (released_f)
		fclose(released_f);
	if (failures_f)
		fclose(failures_f);
	OPENSSL_cleanse(secret, secret_len);
	free(secret);
	free(quote_file);
	return lost ? 1 : 0;
}
