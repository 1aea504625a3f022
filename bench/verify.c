/* bench/verify: SNP reports and TDX quotes verified per second with the key
 * chain already checked and cached (att_snp_verifier / att_tdx_verifier), so
 * the cost measured is parsing plus the one report/quote signature.
 *   verify snp REPORT VCEK CHAIN SECONDS
 *   verify tdx QUOTE SECONDS
 * Prints "<rate>" (verifications per second) on stdout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attest/attest.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint8_t *load(const char *p, size_t *n)
{
	uint8_t *b = NULL;
	struct vg_err e = {0};
	if (vg_read_file(p, 1 << 24, &b, n, &e)) {
		fprintf(stderr, "bench/verify: %s\n", e.msg);
		exit(2);
	}
	return b;
}

int main(int argc, char **argv)
{
	struct att_result res;
	double secs, t0;
	long n = 0;
	att_result_init(&res);
	if (argc == 6 && !strcmp(argv[1], "snp")) {
		size_t rl, kl, cl;
		uint8_t *r = load(argv[2], &rl), *k = load(argv[3], &kl), *c = load(argv[4], &cl);
		struct att_snp_input in = {k, kl, c, cl, NULL, 0};
		secs = atof(argv[5]);
		struct att_snp_verifier *v = att_snp_verifier_new(&in, NULL, &res);
		if (!v || att_snp_verifier_check(v, r, rl, &res) || !res.verified) {
			fprintf(stderr, "bench/verify: evidence does not verify: %s\n", res.reason);
			return 1;
		}
		t0 = now();
		do {
			for (int i = 0; i < 16; i++, n++)
				if (att_snp_verifier_check(v, r, rl, &res) || !res.verified)
					return 1;
		} while (now() - t0 < secs);
		att_snp_verifier_free(v);
		free(r), free(k), free(c);
	} else if (argc == 4 && !strcmp(argv[1], "tdx")) {
		size_t ql;
		uint8_t *q = load(argv[2], &ql);
		struct att_tdx_input in = {0};
		secs = atof(argv[3]);
		struct att_tdx_verifier *v = att_tdx_verifier_new(&in, NULL);
		if (!v || att_tdx_verifier_check(v, q, ql, &res) || !res.verified) {
			fprintf(stderr, "bench/verify: evidence does not verify: %s\n", res.reason);
			return 1;
		}
		t0 = now();
		do {
			for (int i = 0; i < 64; i++, n++)
				if (att_tdx_verifier_check(v, q, ql, &res) || !res.verified)
					return 1;
		} while (now() - t0 < secs);
		att_tdx_verifier_free(v);
		free(q);
	} else {
		fprintf(stderr, "usage: verify snp REPORT VCEK CHAIN SECONDS | verify tdx QUOTE SECONDS\n");
		return 2;
	}
	printf("%.1f\n", (double)n / (now() - t0));
	att_result_free(&res);
	return 0;
}
