/*
 * sim-tdx: the simulated TDX module and quoting enclave. Its quotes parse with the
 * quote-format code, verify with the attest/ library only against its explicit root,
 * are rejected against the pinned Intel root, flag debug TDs, and change with every
 * launch input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "attest/attest.h"
#include "tdx/tdx.h"

static char DIR_[64];
static struct tdx_sim *SIM;

static int setup(void **state)
{
	(void)state;
	snprintf(DIR_, sizeof(DIR_), "/tmp/vigil-simtdx.XXXXXX");
	if (!mkdtemp(DIR_))
		return -1;
	struct vg_err err = { 0 };
	if (tdx_sim_open(DIR_, &SIM, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tdx_sim_free(SIM);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", DIR_);
	return system(cmd) == 0 ? 0 : -1;
}

static void td_defaults(struct tdx_sim_td *td)
{
	memset(td, 0, sizeof(*td));
	td->attributes = TDX_ATTR_SEPT_VE_DISABLE;
	td->xfam = TDX_XFAM_DEFAULT;
	for (int i = 0; i < 48; i++)
		td->mrtd[i] = (uint8_t)(0x30 + i);
	memset(td->mrconfigid, 0x0c, 48);
}

static void verify(const uint8_t *q, size_t len, bool sim, struct att_result *res)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/root.pem", tdx_sim_dir(SIM));
	uint8_t *root = NULL;
	size_t rl = 0;
	struct vg_err err = { 0 };
	assert_int_equal(vg_read_file(p, 1 << 16, &root, &rl, &err), 0);
	struct att_anchor *a = NULL;
	assert_int_equal(att_anchor_load(root, rl, &a, &err), 0);
	struct att_tdx_input in = { 0 };
	struct att_trust t = { .sim_root = sim ? a : NULL };
	att_result_init(res);
	assert_int_equal(att_tdx_verify(q, len, &in, &t, res), 0);
	att_anchor_free(a);
	free(root);
}

static void test_quote_verifies_with_sim_root(void **state)
{
	(void)state;
	struct tdx_sim_td td;
	td_defaults(&td);
	uint8_t rd[64], *q = NULL;
	size_t ql = 0;
	for (int i = 0; i < 64; i++)
		rd[i] = (uint8_t)(0xc0 ^ i);
	struct vg_err err = { 0 };
	assert_int_equal(tdx_sim_quote(SIM, &td, rd, &q, &ql, &err), 0);
	struct tdx_quote pq;
	assert_int_equal(tdx_quote_parse(q, ql, &pq, &err), 0);
	assert_int_equal(pq.version, 4);
	assert_int_equal(pq.tee_type, TDX_TEE_TYPE_TDX);
	assert_memory_equal(pq.body.mr_td, td.mrtd, 48);
	assert_memory_equal(pq.body.report_data, rd, 64);

	struct att_result res;
	verify(q, ql, true, &res);
	if (!res.verified)
		fail_msg("rejected: %s", res.reason);
	assert_true(res.simulated);
	assert_true(res.have_pck);
	assert_int_equal(res.pck.pcesvn, 13);
	assert_int_equal(res.tcb_status, ATT_TCB_NOT_EVALUATED);
	json_t *j = att_result_json(&res);
	char *s = json_dumps(j, JSON_COMPACT);
	assert_non_null(strstr(s, "\"simulated\":true"));
	free(s);
	json_decref(j);
	att_result_free(&res);

	/* Against the pinned Intel root: rejected. */
	verify(q, ql, false, &res);
	assert_false(res.verified);
	assert_false(res.simulated);
	assert_non_null(strstr(res.reason, "Intel SGX Root CA"));
	att_result_free(&res);

	/* One flipped bit of the body: rejected. */
	q[48 + 136] ^= 0x80; /* inside MRTD */
	verify(q, ql, true, &res);
	assert_false(res.verified);
	att_result_free(&res);
	free(q);
}

static void test_rtmr_extend(void **state)
{
	(void)state;
	struct tdx_sim_td td;
	td_defaults(&td);
	uint8_t d[48], want[48], buf[96];
	memset(d, 0xab, 48);
	memset(buf, 0, 48);
	memcpy(buf + 48, d, 48);
	unsigned int wl = 0;
	assert_int_equal(EVP_Digest(buf, 96, want, &wl, EVP_sha384(), NULL), 1);
	struct vg_err err = { 0 };
	assert_int_equal(tdx_sim_rtmr_extend(&td, 2, d, &err), 0);
	assert_memory_equal(td.rtmr[2], want, 48);
	uint8_t zero[48] = { 0 };
	assert_memory_equal(td.rtmr[0], zero, 48);
	assert_int_equal(tdx_sim_rtmr_extend(&td, 4, d, &err), -EINVAL);
}

static void test_debug_flagged_and_inputs_change(void **state)
{
	(void)state;
	struct tdx_sim_td td;
	uint8_t rd[64] = { 0 }, *base = NULL, *q = NULL;
	size_t bl, ql;
	struct vg_err err = { 0 };
	td_defaults(&td);
	assert_int_equal(tdx_sim_quote(SIM, &td, rd, &base, &bl, &err), 0);
	/* body offsets (after the 48-byte header): attributes 120, xfam 128, mrtd 136,
	 * mrconfigid 184, rtmr0 328, report_data 520 */
	struct {
		size_t off, len;
	} f[] = { { 120, 8 }, { 128, 8 }, { 136, 48 }, { 184, 48 }, { 328, 48 }, { 520, 64 } };
	for (int k = 0; k < 6; k++) {
		td_defaults(&td);
		uint8_t rd2[64] = { 0 }, d[48];
		memset(d, 1, 48);
		switch (k) {
		case 0: td.attributes |= TDX_ATTR_DEBUG; break;
		case 1: td.xfam |= 0x18; break;
		case 2: td.mrtd[0] ^= 1; break;
		case 3: td.mrconfigid[5] ^= 1; break;
		case 4: tdx_sim_rtmr_extend(&td, 0, d, &err); break;
		case 5: rd2[0] = 1; break;
		}
		assert_int_equal(tdx_sim_quote(SIM, &td, rd2, &q, &ql, &err), 0);
		assert_int_equal(ql, bl);
		for (size_t i = 48; i < 48 + 584; i++) {
			bool in = i >= 48 + f[k].off && i < 48 + f[k].off + f[k].len;
			if (!in && q[i] != base[i])
				fail_msg("input %d changed body byte %zu outside its field", k, i - 48);
		}
		assert_memory_not_equal(q + 48 + f[k].off, base + 48 + f[k].off, f[k].len);
		if (k == 0) {
			struct att_result res;
			verify(q, ql, true, &res);
			assert_true(res.verified);
			json_t *j = att_result_json(&res);
			char *s = json_dumps(j, JSON_COMPACT);
			assert_non_null(strstr(s, "\"debug\":true"));
			free(s);
			json_decref(j);
			att_result_free(&res);
		}
		free(q);
	}
	free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quote_verifies_with_sim_root),
		cmocka_unit_test(test_rtmr_extend),
		cmocka_unit_test(test_debug_flagged_and_inputs_change),
	};
	return cmocka_run_group_tests_name("sim_tdx", tests, setup, teardown);
}
