/* bench/appraise: the whole appraisal of a real SNP report per second -- report
 * signature with the chain cached (att_snp_verifier), pol_appraise under a
 * realistic policy (20 workloads, 50 reference measurements, TCB minimums,
 * resource rules) and an ES256 EAR JWT -- beside the raw P-384 ECDSA verify rate
 * and the verification-only rate measured in the same process.
 *   appraise REPORT VCEK CHAIN SECONDS
 * Prints "raw=<verifies/s> verify=<reports/s> appraise=<appraisals/s> cwt=<appraisals/s>". */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench_util.h"
#include "policy/policy.h"

/* 20 workloads, 50 measurements in all; the report's own measurement is the last one. */
static char *policy_text(const uint8_t meas[48])
{
	struct vg_buf b = {0};
	char h[97];
	int m = 0;
	vg_buf_printf(&b, "{\"version\":1,\"description\":\"bench\",\"workloads\":{");
	for (int w = 0; w < 20; w++) {
		int per = w < 10 ? 3 : 2; /* 10*3 + 10*2 = 50 */
		vg_buf_printf(&b, "%s\"workload-%02d\":{\"snp\":{\"measurement\":[", w ? "," : "", w);
		for (int i = 0; i < per; i++, m++) {
			uint8_t v[48];
			memset(v, m + 1, 48);
			if (m == 49)
				memcpy(v, meas, 48);
			vg_hex_encode(v, 48, h);
			vg_buf_printf(&b, "%s\"%s\"", i ? "," : "", h);
		}
		vg_buf_printf(&b, "],\"vmpl\":[0],\"min_guest_svn\":0}}");
	}
	vg_buf_printf(&b, "},\"platform\":{\"snp\":{\"signing_keys\":[\"VCEK\"],\"minimum_tcb\":{"
			  "\"Milan\":{\"bl\":3,\"tee\":0,\"snp\":8,\"ucode\":115},\"Genoa\":{\"bl\":7,\"tee\":0,\"snp\":14,"
			  "\"ucode\":72}}}},\"resources\":[");
	for (int w = 0; w < 20; w++)
		vg_buf_printf(&b, "%s{\"path\":\"tenant/keys/w%02d-*\",\"workloads\":[\"workload-%02d\"]}", w ? "," : "", w, w);
	vg_buf_printf(&b, "]}");
	return (char *)b.data;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: appraise REPORT VCEK CHAIN SECONDS\n");
		return 2;
	}
	size_t rl, kl, cl;
	uint8_t *r = bench_load("bench/appraise", argv[1], &rl), *k = bench_load("bench/appraise", argv[2], &kl),
		*c = bench_load("bench/appraise", argv[3], &cl);
	double secs = atof(argv[4]), t0, t;
	struct att_snp_input in = {k, kl, c, cl, NULL, 0};
	struct att_result res;
	struct vg_err e = {0};
	att_result_init(&res);
	struct att_snp_verifier *v = att_snp_verifier_new(&in, NULL, &res);
	if (!v || att_snp_verifier_check(v, r, rl, &res) || !res.verified) {
		fprintf(stderr, "bench/appraise: evidence does not verify: %s\n", res.reason);
		return 1;
	}
	char *ptxt = policy_text(res.snp.measurement);
	struct pol_policy *pol = NULL;
	if (pol_load(ptxt, strlen(ptxt), &pol, &e)) {
		fprintf(stderr, "bench/appraise: policy: %s\n", e.msg);
		return 1;
	}
	uint8_t rd[64];
	memcpy(rd, res.snp.report_data, 64);
	struct pol_context ctx = {.expected_report_data = rd};
	EVP_PKEY *tk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	struct pol_ear_opts o = {.issuer = "bench", .kid = "k", .nonce_b64 = "AAECAwQFBgc", .ttl_seconds = 300};
	struct pol_appraisal a;
	if (pol_appraise(pol, &res, &ctx, &a, &e) || a.status != POL_AFFIRMING || strcmp(a.workload, "workload-19")) {
		fprintf(stderr, "bench/appraise: the report is not affirmed as workload-19\n");
		return 1;
	}
	pol_appraisal_free(&a);

	/* raw P-384 ECDSA verify (SHA-384 digest already computed, as openssl speed does) */
	EVP_PKEY *rk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	uint8_t dg[48] = {1}, sig[128];
	size_t sl = sizeof(sig);
	EVP_PKEY_CTX *sc = EVP_PKEY_CTX_new(rk, NULL);
	EVP_PKEY_sign_init(sc);
	EVP_PKEY_sign(sc, sig, &sl, dg, sizeof(dg));
	EVP_PKEY_CTX *vc = EVP_PKEY_CTX_new(rk, NULL);
	EVP_PKEY_verify_init(vc);

	/* The four modes run interleaved in short slices, so that load from other
	 * processes on a shared machine falls on all of them alike. */
	enum { RAW, VERIFY, JWT, CWT, NMODES };
	long cnt[NMODES] = {0};
	double spent[NMODES] = {0};
	int slices = (int)(secs / 0.05) + 1;
	for (int s = 0; s < slices; s++) {
		for (int mode = 0; mode < NMODES; mode++) {
			long n = 0;
			t0 = bench_now();
			do {
				for (int i = 0; i < 4; i++, n++) {
					if (mode == RAW) {
						if (EVP_PKEY_verify(vc, sig, sl, dg, sizeof(dg)) != 1)
							return 1;
						continue;
					}
					if (att_snp_verifier_check(v, r, rl, &res) || !res.verified)
						return 1;
					if (mode == VERIFY)
						continue;
					char *jwt = NULL;
					uint8_t *cwt = NULL;
					size_t cwl = 0;
					if (pol_appraise(pol, &res, &ctx, &a, &e) || a.status != POL_AFFIRMING)
						return 1;
					if (mode == JWT ? pol_ear_jwt(&a, tk, &o, &jwt, &e) : pol_ear_cwt(&a, tk, &o, &cwt, &cwl, &e)) {
						fprintf(stderr, "bench/appraise: token: %s\n", e.msg);
						return 1;
					}
					free(jwt);
					free(cwt);
					pol_appraisal_free(&a);
				}
			} while ((t = bench_now()) - t0 < 0.05 / NMODES);
			cnt[mode] += n;
			spent[mode] += t - t0;
		}
	}
	double raw = cnt[RAW] / spent[RAW], ver = cnt[VERIFY] / spent[VERIFY];
	double rates[2] = {cnt[JWT] / spent[JWT], cnt[CWT] / spent[CWT]};
	printf("raw=%.1f verify=%.1f appraise=%.1f cwt=%.1f\n", raw, ver, rates[0], rates[1]);
	EVP_PKEY_CTX_free(sc), EVP_PKEY_CTX_free(vc);
	EVP_PKEY_free(rk), EVP_PKEY_free(tk);
	pol_free(pol);
	free(ptxt);
	att_snp_verifier_free(v);
	att_result_free(&res);
	free(r), free(k), free(c);
	return 0;
}
