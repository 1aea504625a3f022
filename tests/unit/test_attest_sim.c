/* Interop: evidence from the simulated platforms (sev/ sim-snp, tdx/ sim-tdx)
 * verifies ONLY with their root given explicitly, and is marked simulated. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attest/attest.h"

static char dir[] = "/tmp/vigil-attest-sim.XXXXXX";

static uint8_t *slurp(const char *sub, const char *name, size_t *len)
{
	char p[512];
	uint8_t *b = NULL;
	snprintf(p, sizeof(p), "%s/%s/%s", dir, sub, name);
	assert_int_equal(vg_read_file(p, 1 << 20, &b, len, NULL), 0);
	return b;
}

static void test_sim_snp(void **state)
{
	(void)state;
	struct sev_sim_snp *s = NULL;
	struct vg_err e = {0};
	assert_int_equal(sev_sim_snp_open(dir, &s, &e), 0);
	struct sev_sim_snp_guest g;
	memset(&g, 0, sizeof(g));
	g.policy = 0x30000;
	memset(g.measurement, 0x5a, 48);
	uint8_t rd[64] = {1, 2, 3}, rep[SEV_SNP_REPORT_SIZE];
	assert_int_equal(sev_sim_snp_report(s, &g, rd, 0, rep, &e), 0);
	size_t kl, cl, al;
	uint8_t *k = slurp("sim-snp", "vcek.pem", &kl), *c = slurp("sim-snp", "cert_chain.pem", &cl),
		*a = slurp("sim-snp", "ark.pem", &al);
	struct att_snp_input in = {k, kl, c, cl, NULL, 0};
	struct att_result res;
	att_result_init(&res);
	assert_int_equal(att_snp_verify(rep, sizeof(rep), &in, NULL, &res), 0);
	assert_false(res.verified); /* real roots only */
	att_result_free(&res);
	struct att_anchor *an = NULL;
	assert_int_equal(att_anchor_load(a, al, &an, &e), 0);
	struct att_trust t = {.sim_root = an};
	att_result_init(&res);
	assert_int_equal(att_snp_verify(rep, sizeof(rep), &in, &t, &res), 0);
	if (!res.verified)
		fail_msg("sim-snp report rejected: %s", res.reason);
	assert_true(res.simulated);
	assert_memory_equal(res.snp.measurement, g.measurement, 48);
	assert_memory_equal(res.snp.report_data, rd, 64);
	att_result_free(&res);
	att_anchor_free(an);
	free(k), free(c), free(a);
	sev_sim_snp_free(s);
}

static void test_sim_tdx(void **state)
{
	(void)state;
	struct tdx_sim *s = NULL;
	struct vg_err e = {0};
	assert_int_equal(tdx_sim_open(dir, &s, &e), 0);
	struct tdx_sim_td td;
	memset(&td, 0, sizeof(td));
	memset(td.mrtd, 0x11, 48);
	uint8_t dg[48] = {9}, rd[64] = {7};
	assert_int_equal(tdx_sim_rtmr_extend(&td, 2, dg, &e), 0);
	uint8_t *q = NULL;
	size_t ql = 0;
	assert_int_equal(tdx_sim_quote(s, &td, rd, &q, &ql, &e), 0);
	struct att_tdx_input in = {0};
	struct att_result res;
	att_result_init(&res);
	assert_int_equal(att_tdx_verify(q, ql, &in, NULL, &res), 0);
	assert_false(res.verified);
	assert_non_null(strstr(res.reason, "Intel SGX Root CA"));
	att_result_free(&res);
	size_t rl;
	uint8_t *root = slurp("sim-tdx", "root.pem", &rl);
	struct att_anchor *an = NULL;
	assert_int_equal(att_anchor_load(root, rl, &an, &e), 0);
	struct att_trust t = {.sim_root = an};
	att_result_init(&res);
	assert_int_equal(att_tdx_verify(q, ql, &in, &t, &res), 0);
	if (!res.verified)
		fail_msg("sim-tdx quote rejected: %s", res.reason);
	assert_true(res.simulated);
	assert_memory_equal(res.tdx.body.mr_td, td.mrtd, 48);
	assert_memory_equal(res.tdx.body.rtmr[2], td.rtmr[2], 48);
	att_result_free(&res);
	att_anchor_free(an);
	free(root);
	free(q);
	tdx_sim_free(s);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sim_snp),
		cmocka_unit_test(test_sim_tdx),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
