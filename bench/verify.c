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
#include "bench/bench_util.h"

int main(int argc, char **argv)
{
	struct att_result res;
	double secs, t0;
	long n = 0;
	att_result_init(&res);
	if (argc == 6 && !strcmp(argv[1], "snp")) {
		size_t rl, kl, cl;
		uint8_t *r = bench_load("bench/verify", argv[2], &rl), *k = bench_load("bench/verify", argv[3], &kl),
			*c = bench_load("bench/verify", argv[4], &cl);
		struct att_snp_input in = {k, kl, c, cl, NULL, 0};
		secs = atof(argv[5]);
		struct att_snp_verifier *v = att_snp_verifier_new(&in, NULL, &res);
		if (!v || att_snp_verifier_check(v, r, rl, &res) || !res.verified) {
			fprintf(stderr, "bench/verify: evidence does not verify: %s\n", res.reason);
			return 1;
		}
		t0 = bench_now();
		do {
			for (int i = 0; i < 16; i++, n++)
				if (att_snp_verifier_check(v, r, rl, &res) || !res.verified)
					return 1;
		} while (bench_now() - t0 < secs);
		att_snp_verifier_free(v);
		free(r), free(k), free(c);
	} else if (argc == 4 && !strcmp(argv[1], "tdx")) {
		size_t ql;
		uint8_t *q = bench_load("bench/verify", argv[2], &ql);
		struct att_tdx_input in = {0};
		secs = atof(argv[3]);
		struct att_tdx_verifier *v = att_tdx_verifier_new(&in, NULL);
		if (!v || att_tdx_verifier_check(v, q, ql, &res) || !res.verified) {
			fprintf(stderr, "bench/verify: evidence does not verify: %s\n", res.reason);
			return 1;
		}
		t0 = bench_now();
		do {
			for (int i = 0; i < 64; i++, n++)
				if (att_tdx_verifier_check(v, q, ql, &res) || !res.verified)
					return 1;
		} while (bench_now() - t0 < secs);
		att_tdx_verifier_free(v);
		free(q);
	} else {
		fprintf(stderr, "usage: verify snp REPORT VCEK CHAIN SECONDS | verify tdx QUOTE SECONDS\n");
		return 2;
	}
	printf("%.1f\n", (double)n / (bench_now() - t0));
	att_result_free(&res);
	return 0;
}
