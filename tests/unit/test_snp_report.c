/* Unit tests for the SEV-SNP ATTESTATION_REPORT parser and serializer (sev/report.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sev/sev.h"
#include "tests/unit/test_attest_vectors.h"

/* Every field of the trustee Milan v2 report with an ID block, against the vectors README. */
static void test_parse_v2_fields(void **state)
{
	(void)state;
	size_t len;
	uint8_t *b = vec("snp/trustee/test-report.bin", &len);
	if (!b) {
		skip();
		return;
	}
	struct sev_snp_report r;
	struct vg_err e = {0};
	assert_int_equal(sev_snp_report_parse(b, len, &r, &e), 0);
	assert_int_equal(r.version, 2);
	assert_int_equal(r.guest_svn, 4);
	assert_int_equal(r.policy, 0x3001f);
	assert_int_equal(r.abi_minor, 31);
	assert_int_equal(r.abi_major, 0);
	assert_int_equal(r.vmpl, 0);
	assert_int_equal(r.signature_algo, 1);
	assert_int_equal(r.signing_key, SEV_SNP_KEY_VCEK);
	assert_int_equal(r.reported_tcb, 0x7308000000000003ull);
	assert_int_equal(r.current_tcb, 0xce08000000000003ull);
	assert_int_equal(r.committed_tcb, 0x7308000000000003ull);
	assert_int_equal(r.launch_tcb, 0x7308000000000003ull);
	assert_int_equal(r.platform_info, 1);
	assert_false(r.has_cpuid);
	assert_false(r.has_mit_vectors);
	hexeq(r.measurement, 48, "a1f3930413247bb38cfc171579ea3c12d5fe4901f0c792f63fd75d98f1ef827c23500644e0e692e6be917f9050d3d38c");
	hexeq(r.id_key_digest, 48, "0356215882a825279a85b300b0b742931d113bf7e32dde2e50ffde7ec743ca491ecdd7f336dc28a6e0b2bb57af7a44a3");
	hexeq(r.report_data, 64, "ec6c52d7533cc2c4f45be7849cf112ab82b2009fe7bd43e71ed08c14400ad7e20000000000000000000000000000000000000000000000000000000000000000");
	hexeq(r.chip_id, 64, "c38427a30d4c7af9d96f7a15b97269825a64cb76a2352ffd5d18115d89ad473f8e8c0bcd9a5d9286612bad4aadfb4426205a3b9e4fea82301135a170e477524e");
	assert_int_equal(r.family_id[0], 0x01);
	assert_int_equal(r.image_id[0], 0x02);
	struct sev_snp_tcb t;
	sev_snp_tcb_decode(r.reported_tcb, SEV_SNP_PRODUCT_MILAN, &t);
	assert_int_equal(t.bl, 3);
	assert_int_equal(t.tee, 0);
	assert_int_equal(t.snp, 8);
	assert_int_equal(t.ucode, 115);
	free(b);
}

/* The AWS VLEK v3 report: VMPL 1, VLEK signing key, masked chip id, platform info 0x27. */
static void test_parse_v3_vlek(void **state)
{
	(void)state;
	size_t len;
	uint8_t *b = vec("snp/trustee/test-vlek-report.bin", &len);
	if (!b) {
		skip();
		return;
	}
	struct sev_snp_report r;
	assert_int_equal(sev_snp_report_parse(b, len, &r, NULL), 0);
	assert_int_equal(r.version, 3);
	assert_true(r.has_cpuid);
	assert_int_equal(r.vmpl, 1);
	assert_int_equal(r.signing_key, SEV_SNP_KEY_VLEK);
	assert_int_equal(r.flags, 0x4);
	assert_int_equal(r.platform_info, 0x27);
	assert_int_equal(r.reported_tcb, 0xd918000000000004ull);
	assert_int_equal(r.committed_tcb, 0xdb18000000000004ull);
	assert_int_equal(r.current_tcb, 0xdc18000000000004ull);
	free(b);
}

/* Genoa v3: CPUID family 19h model 11h identifies the product. */
static void test_parse_v3_genoa_cpuid(void **state)
{
	(void)state;
	size_t len;
	uint8_t *b = vec("snp/trustee-az/genoa-snp-report.bin", &len);
	if (!b) {
		skip();
		return;
	}
	struct sev_snp_report r;
	assert_int_equal(sev_snp_report_parse(b, len, &r, NULL), 0);
	assert_int_equal(r.version, 3);
	assert_int_equal(sev_snp_product_from_cpuid(r.cpuid_fam_id, r.cpuid_mod_id), SEV_SNP_PRODUCT_GENOA);
	assert_int_equal(r.reported_tcb, 0x541700000000000aull);
	free(b);
}

static void test_versions_and_sizes(void **state)
{
	(void)state;
	uint8_t b[SEV_SNP_REPORT_SIZE] = {0};
	struct sev_snp_report r;
	struct vg_err e = {0};
	for (uint32_t v = 0; v < 8; v++) {
		vg_put_le32(b, v);
		int rc = sev_snp_report_parse(b, sizeof(b), &r, &e);
		if (v == 2 || v == 3 || v == 5) {
			assert_int_equal(rc, 0);
		} else {
			assert_int_equal(rc, -ENOTSUP);
			char want[64];
			snprintf(want, sizeof(want), "version %u is not supported", v);
			assert_non_null(strstr(e.msg, want));
		}
	}
	vg_put_le32(b, 2);
	assert_int_equal(sev_snp_report_parse(b, sizeof(b) - 1, &r, &e), -EBADMSG);
	assert_non_null(strstr(e.msg, "1183 bytes"));
	assert_int_equal(sev_snp_report_parse(NULL, 0, &r, &e), -EBADMSG);
}

/* v5: mitigation vectors; unknown platform-info bits are kept. Serialize is the inverse of parse. */
static void test_v5_roundtrip(void **state)
{
	(void)state;
	struct sev_snp_report r, back;
	memset(&r, 0, sizeof(r));
	r.version = 5;
	r.policy = 0x30000 | SEV_SNP_POLICY_DEBUG | SEV_SNP_POLICY_SINGLE_SOCKET | 0x0102;
	r.platform_info = 0x8000000000000025ull;
	r.flags = (1u << 2) | 1;
	r.vmpl = 2;
	r.signature_algo = 1;
	r.cpuid_fam_id = 0x1a;
	r.cpuid_mod_id = 0x02;
	r.cpuid_step = 1;
	r.launch_mit_vector = 0x11;
	r.current_mit_vector = 0x33;
	r.reported_tcb = 0x1d00000019020103ull;
	for (int i = 0; i < 48; i++)
		r.measurement[i] = (uint8_t)i;
	r.sig_r[0] = 7;
	r.sig_s[71] = 9;
	uint8_t out[SEV_SNP_REPORT_SIZE];
	sev_snp_report_serialize(&r, out);
	assert_int_equal(out[0x1F8], 0x11);
	assert_int_equal(out[0x200], 0x33);
	assert_int_equal(out[0x188], 0x1a);
	assert_int_equal(out[0x2A0], 7);
	assert_int_equal(out[0x2E8 + 71], 9);
	assert_int_equal(sev_snp_report_parse(out, sizeof(out), &back, NULL), 0);
	assert_true(back.has_mit_vectors);
	assert_int_equal(back.launch_mit_vector, 0x11);
	assert_int_equal(back.current_mit_vector, 0x33);
	assert_int_equal(back.platform_info, 0x8000000000000025ull);
	assert_int_equal(back.signing_key, SEV_SNP_KEY_VLEK);
	assert_true(back.author_key_en);
	assert_int_equal(back.abi_major, 1);
	assert_int_equal(back.abi_minor, 2);
	assert_int_equal(sev_snp_product_from_cpuid(back.cpuid_fam_id, back.cpuid_mod_id), SEV_SNP_PRODUCT_TURIN);
	struct sev_snp_tcb t;
	sev_snp_tcb_decode(back.reported_tcb, SEV_SNP_PRODUCT_TURIN, &t);
	assert_int_equal(t.fmc, 3);
	assert_int_equal(t.bl, 1);
	assert_int_equal(t.tee, 2);
	assert_int_equal(t.snp, 0x19);
	assert_int_equal(t.ucode, 0x1d);
	/* v2 drops the CPUID and mitigation fields on both sides. */
	r.version = 2;
	sev_snp_report_serialize(&r, out);
	assert_int_equal(out[0x188], 0);
	assert_int_equal(sev_snp_report_parse(out, sizeof(out), &back, NULL), 0);
	assert_false(back.has_cpuid);
	assert_int_equal(back.launch_mit_vector, 0);
}

/* Parse then serialize reproduces every real report byte for byte (reserved fields are zero there). */
static void test_real_roundtrip(void **state)
{
	(void)state;
	const char *files[] = {"snp/go-sev-guest/attestation.bin", "snp/virtee-sev/report_milan.bin",
			       "snp/trustee/test-vlek-report.bin", "snp/trustee-az/genoa-snp-report.bin"};
	int seen = 0;
	for (size_t i = 0; i < VG_ARRAY_SIZE(files); i++) {
		size_t len;
		uint8_t *b = vec(files[i], &len), out[SEV_SNP_REPORT_SIZE];
		if (!b)
			continue;
		struct sev_snp_report r;
		assert_int_equal(sev_snp_report_parse(b, len, &r, NULL), 0);
		sev_snp_report_serialize(&r, out);
		assert_memory_equal(out, b, SEV_SNP_REPORT_SIGNED_LEN);
		assert_memory_equal(out + 0x2A0, b + 0x2A0, 144);
		free(b);
		seen++;
	}
	if (!seen) {
		skip();
		return;
	}
}

static void test_product_names(void **state)
{
	(void)state;
	assert_string_equal(sev_snp_product_name(SEV_SNP_PRODUCT_MILAN), "Milan");
	assert_string_equal(sev_snp_product_name(SEV_SNP_PRODUCT_TURIN), "Turin");
	assert_string_equal(sev_snp_product_name(SEV_SNP_PRODUCT_UNKNOWN), "unknown");
	assert_int_equal(sev_snp_product_from_cpuid(0x19, 0x01), SEV_SNP_PRODUCT_MILAN);
	assert_int_equal(sev_snp_product_from_cpuid(0x19, 0xa0), SEV_SNP_PRODUCT_GENOA);
	assert_int_equal(sev_snp_product_from_cpuid(0x17, 0x31), SEV_SNP_PRODUCT_UNKNOWN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_v2_fields),  cmocka_unit_test(test_parse_v3_vlek),
		cmocka_unit_test(test_parse_v3_genoa_cpuid), cmocka_unit_test(test_versions_and_sizes),
		cmocka_unit_test(test_v5_roundtrip),     cmocka_unit_test(test_real_roundtrip),
		cmocka_unit_test(test_product_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
