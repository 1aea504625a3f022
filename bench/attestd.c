/*
 * Load generator for vigil-attestd: N concurrent clients, each over its own
 * keep-alive connection, run complete KBS flows (auth, attest with simulated SNP
 * evidence bound to the session, resource) for a while.
 *
 *   attestd URL SIM_STATE_DIR CLIENTS SECONDS RESOURCE [RATE]
 *
 * RATE (flows/s for all clients together, 0 = as fast as possible) paces each
 * client. Prints one line: flows/s, p50/p99 flow latency and p50/p99 request
 * latency (ms), errors, flows, the generator's CPU time (client_cpu) and the part
 * of it spent building and signing the simulated evidence (sign_cpu).
 */
#include <pthread.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/evp.h>

#include "attestd/attestd.h"

struct client {
	pthread_t th;
	const char *url, *simdir, *resource;
	double deadline, interval;
	double *flow_lat, *req_lat;
	size_t nflow, nreq, cap;
	long errors;
	double sign_cpu; /* thread CPU spent building and signing the simulated evidence */
	char err[256];
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double thread_cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *run(void *arg)
{
	struct client *c = arg;
	struct vg_err e = {0};
	struct ad_sim sim;
	struct ad_http h;
	if (ad_sim_open(c->simdir, &sim, &e) || ad_http_init(&h, c->url, NULL, &e)) {
		snprintf(c->err, sizeof(c->err), "%s", e.msg);
		c->errors++;
		return NULL;
	}
	EVP_PKEY *key = EVP_EC_gen("P-256");
	json_t *jwk = att_jwk_from_pkey(key, &e);
	char path[300];
	snprintf(path, sizeof(path), "/kbs/v0/resource/%s", c->resource);
	double next = now_s();
	while (now_s() < c->deadline && c->nflow < c->cap) {
		if (c->interval > 0) {
			double w = next - now_s();
			if (w > 0)
				usleep((useconds_t)(w * 1e6));
			next += c->interval;
		}
		double t0 = now_s(), t1, t2, t3;
		struct ad_http_resp r;
		char cookie[160], nonce[64];
		bool ok = false;
		if (ad_cli_auth(&h, "snp", AD_KBS_VERSION, cookie, nonce, &r, &e)) {
			ad_http_resp_free(&r);
			goto fail;
		}
		ad_http_resp_free(&r);
		t1 = now_s();
		uint8_t rd[64];
		/* REPORT_DATA binds the fresh nonce: the evidence cannot be signed ahead of the
		 * timed loop, so its cost is measured and reported separately instead. */
		double c0 = thread_cpu_s();
		if (att_kbs_report_data(nonce, jwk, "", rd, &e))
			goto fail;
		json_t *ev = ad_sim_evidence(&sim, "snp", rd, 0, &e);
		c->sign_cpu += thread_cpu_s() - c0;
		json_t *att = ev ? ad_cli_attestation(nonce, jwk, ev, NULL) : NULL;
		if (!att)
			goto fail;
		int rc = ad_cli_post_json(&h, "/kbs/v0/attest", cookie, att, &r, &e);
		json_decref(att);
		ok = !rc && r.status == 200;
		if (!ok && !rc)
			snprintf(e.msg, sizeof(e.msg), "attest HTTP %ld: %.200s", r.status, (char *)r.body.data);
		ad_http_resp_free(&r);
		if (!ok)
			goto fail;
		t2 = now_s();
		char ck[200];
		snprintf(ck, sizeof(ck), "Cookie: %s", cookie);
		const char *hdr[] = {ck, NULL};
		rc = ad_http_do(&h, "GET", path, hdr, NULL, 0, &r, &e);
		ok = !rc && r.status == 200;
		if (!ok && !rc)
			snprintf(e.msg, sizeof(e.msg), "resource HTTP %ld: %.200s", r.status, (char *)r.body.data);
		ad_http_resp_free(&r);
		if (!ok)
			goto fail;
		t3 = now_s();
		c->flow_lat[c->nflow++] = t3 - t0;
		c->req_lat[c->nreq++] = t1 - t0;
		c->req_lat[c->nreq++] = t2 - t1; /* includes the client's evidence signing */
		c->req_lat[c->nreq++] = t3 - t2;
		continue;
	fail:
		c->errors++;
		snprintf(c->err, sizeof(c->err), "%s", e.msg);
	}
	json_decref(jwk);
	EVP_PKEY_free(key);
	ad_http_free(&h);
	ad_sim_close(&sim);
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
	if (!n)
		return 0;
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i];
}

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: attestd URL SIM_STATE_DIR CLIENTS SECONDS RESOURCE [RATE]\n");
		return 2;
	}
	int n = atoi(argv[3]);
	double secs = atof(argv[4]), rate = argc > 6 ? atof(argv[6]) : 0;
	if (n < 1 || n > 1024 || secs <= 0)
		return 2;
	struct client *cs = calloc((size_t)n, sizeof(*cs));
	size_t cap = 200000;
	/* Generate the simulated identity once before the threads race to create it. */
	struct ad_sim s0;
	struct vg_err e = {0};
	if (ad_sim_open(argv[2], &s0, &e)) {
		fprintf(stderr, "attestd bench: %s\n", e.msg);
		return 2;
	}
	ad_sim_close(&s0);
	double start = now_s();
	for (int i = 0; i < n; i++) {
		cs[i] = (struct client){.url = argv[1], .simdir = argv[2], .resource = argv[5], .deadline = start + secs,
					.interval = rate > 0 ? (double)n / rate : 0, .cap = cap};
		cs[i].flow_lat = malloc(cap * sizeof(double));
		cs[i].req_lat = malloc(3 * cap * sizeof(double));
		pthread_create(&cs[i].th, NULL, run, &cs[i]);
	}
	size_t nf = 0, nr = 0;
	long errors = 0;
	double sign_cpu = 0;
	const char *lasterr = "";
	for (int i = 0; i < n; i++) {
		pthread_join(cs[i].th, NULL);
		nf += cs[i].nflow;
		nr += cs[i].nreq;
		errors += cs[i].errors;
		sign_cpu += cs[i].sign_cpu;
		if (cs[i].err[0])
			lasterr = cs[i].err;
	}
	double elapsed = now_s() - start;
	double *fl = malloc((nf + 1) * sizeof(double)), *rl = malloc((nr + 1) * sizeof(double));
	size_t a = 0, b = 0;
	for (int i = 0; i < n; i++) {
		memcpy(fl + a, cs[i].flow_lat, cs[i].nflow * sizeof(double));
		a += cs[i].nflow;
		memcpy(rl + b, cs[i].req_lat, cs[i].nreq * sizeof(double));
		b += cs[i].nreq;
	}
	qsort(fl, nf, sizeof(double), cmp);
	qsort(rl, nr, sizeof(double), cmp);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
		     (double)ru.ru_stime.tv_usec / 1e6;
	printf("%.1f flows/s p50 %.2f ms p99 %.2f ms (requests: p50 %.2f ms p99 %.2f ms) errors %ld flows %zu "
	       "client_cpu %.2f s sign_cpu %.2f s%s%s\n",
	       (double)nf / elapsed, pct(fl, nf, 0.5) * 1e3, pct(fl, nf, 0.99) * 1e3, pct(rl, nr, 0.5) * 1e3,
	       pct(rl, nr, 0.99) * 1e3, errors, nf, cpu, sign_cpu, errors ? " last: " : "", errors ? lasterr : "");
	return errors && !nf ? 1 : 0;
}
