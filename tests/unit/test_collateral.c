/* attestd/collateral: the bounded parsers (Retry-After, issuer-chain header
 * decoding, path components), KDS path building from real reports, and the
 * cache's offline behaviour (no URL: nothing is fetched, a miss is -ENOENT). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attestd/collateral/collateral.h"

static const char *vectors(void)
{
	const char *v = getenv("VIGIL_VECTORS");
	return v && *v ? v : "../shared/vectors";
}

static void test_retry_after(void **state)
{
	(void)state;
	long s = -1;
	assert_int_equal(ad_coll_parse_retry_after("120", 3, 0, &s), 0);
	assert_int_equal(s, 120);
	assert_int_equal(ad_coll_parse_retry_after("  7 \r\n", 6, 0, &s), 0);
	assert_int_equal(s, 7);
	assert_int_equal(ad_coll_parse_retry_after("0", 1, 0, &s), 0);
	assert_int_equal(s, 0);
	assert_int_equal(ad_coll_parse_retry_after("99999999999999999999", 20, 0, &s), 0);
	assert_int_equal(s, 86400); /* clamped */
	/* HTTP-date: 784111777 = Sun, 06 Nov 1994 08:49:37 GMT */
	const char *d = "Sun, 06 Nov 1994 08:49:37 GMT";
	assert_int_equal(ad_coll_parse_retry_after(d, strlen(d), 784111777 - 42, &s), 0);
	assert_int_equal(s, 42);
	assert_int_equal(ad_coll_parse_retry_after(d, strlen(d), 784111777 + 5, &s), 0);
	assert_int_equal(s, 0); /* in the past: now */
	const char *bad[] = {"", "-1", "1.5", "soon", "Sun, 06 Nov 1994 08:49:37 UTC", "12abc"};
	for (size_t i = 0; i < VG_ARRAY_SIZE(bad); i++)
		assert_int_equal(ad_coll_parse_retry_after(bad[i], strlen(bad[i]), 0, &s), -EINVAL);
	/* not NUL-terminated input is read only within len */
	char buf[3] = {'1', '2', '3'};
	assert_int_equal(ad_coll_parse_retry_after(buf, 2, 0, &s), 0);
	assert_int_equal(s, 12);
}

static void test_url_decode(void **state)
{
	(void)state;
	char *o = NULL;
	size_t n = 0;
	const char *in = "-----BEGIN%20CERTIFICATE-----%0AMII%2Bx%2f%3D%0A";
	assert_int_equal(ad_coll_url_decode(in, strlen(in), &o, &n), 0);
	assert_string_equal(o, "-----BEGIN CERTIFICATE-----\nMII+x/=\n");
	assert_int_equal(n, strlen(o));
	free(o);
	const char *bad[] = {"%", "%4", "abc%zz", "%%41"};
	for (size_t i = 0; i < VG_ARRAY_SIZE(bad); i++)
		assert_int_equal(ad_coll_url_decode(bad[i], strlen(bad[i]), &o, &n), -EINVAL);
	assert_int_equal(ad_coll_url_decode("x%41", 2, &o, &n), -EINVAL); /* len bounds the read */
	assert_int_equal(ad_coll_url_decode("x%41", 4, &o, &n), 0);
	assert_string_equal(o, "xA");
	free(o);
}

static void test_safe_component(void **state)
{
	(void)state;
	assert_true(ad_coll_safe_component("Milan", 16));
	assert_true(ad_coll_safe_component("90c06f000000", 16));
	assert_false(ad_coll_safe_component("", 16));
	assert_false(ad_coll_safe_component(".", 16));
	assert_false(ad_coll_safe_component("..", 16));
	assert_false(ad_coll_safe_component("..lan", 16));
	assert_false(ad_coll_safe_component("a/b", 16));
	assert_false(ad_coll_safe_component("a?b", 16));
	assert_false(ad_coll_safe_component("0123456789abcdefX", 16));
	assert_false(ad_coll_safe_component(NULL, 16));
}

static int read_report(const char *rel, struct sev_snp_report *r, uint8_t **raw, size_t *len)
{
	char p[1024];
	snprintf(p, sizeof(p), "%s/%s", vectors(), rel);
	struct vg_err e = {0};
	if (vg_read_file(p, 1 << 16, raw, len, &e))
		return -1;
	return sev_snp_report_parse(*raw, SEV_SNP_REPORT_SIZE, r, &e);
}

static void test_vcek_path(void **state)
{
	(void)state;
	struct sev_snp_report r;
	uint8_t *raw = NULL;
	size_t len = 0;
	if (access(vectors(), R_OK))
		skip();
	assert_int_equal(read_report("snp/virtee-sev/report_milan.bin", &r, &raw, &len), 0);
	char p[400];
	struct vg_err e = {0};
	assert_int_equal(ad_coll_vcek_path(&r, SEV_SNP_PRODUCT_UNKNOWN, p, sizeof(p), &e), -EINVAL);
	assert_int_equal(ad_coll_vcek_path(&r, SEV_SNP_PRODUCT_MILAN, p, sizeof(p), &e), 0);
	assert_string_equal(p, "vcek/v1/Milan/d49554ec717f4e5b0fe6b143bcf0405bd7ae304727edf46603f2a76aef6a3abc15d7af38db7570"
			       "39029f0efacfd08e244324884738c72b082e2f87a44d541eb6?blSPL=3&teeSPL=0&snpSPL=8&ucodeSPL=115");
	/* Turin: 8-byte hwid and fmcSPL first */
	assert_int_equal(ad_coll_vcek_path(&r, SEV_SNP_PRODUCT_TURIN, p, sizeof(p), &e), 0);
	assert_non_null(strstr(p, "vcek/v1/Turin/d49554ec717f4e5b?fmcSPL="));
	char small[20];
	assert_int_equal(ad_coll_vcek_path(&r, SEV_SNP_PRODUCT_MILAN, small, sizeof(small), &e), -ENAMETOOLONG);
	free(raw);
	assert_int_equal(read_report("snp/trustee-az/genoa-snp-report.bin", &r, &raw, &len), 0);
	assert_int_equal(ad_coll_vcek_path(&r, SEV_SNP_PRODUCT_UNKNOWN, p, sizeof(p), &e), 0);
	assert_non_null(strstr(p, "vcek/v1/Genoa/0506ffba"));
	assert_non_null(strstr(p, "?blSPL=10&teeSPL=0&snpSPL=23&ucodeSPL=84"));
	free(raw);
}

static void test_offline_cache(void **state)
{
	(void)state;
	if (access(vectors(), R_OK))
		skip();
	char dir[] = "/tmp/vigil-coll.XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct ad_coll_cfg cfg = {.dir = dir};
	struct ad_coll *c = NULL;
	struct vg_err e = {0};
	assert_int_equal(ad_coll_open(&cfg, &c, &e), 0);
	struct sev_snp_report r;
	uint8_t *raw = NULL;
	size_t len = 0;
	assert_int_equal(read_report("snp/virtee-sev/report_milan.bin", &r, &raw, &len), 0);
	struct ad_coll_snp s;
	assert_int_equal(ad_coll_snp_get(c, raw, len, NULL, 0, false, &s, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "offline"));
	assert_int_equal(ad_coll_requests(c), 0);
	/* a truncated report is refused as such */
	assert_int_equal(ad_coll_snp_get(c, raw, 100, NULL, 0, false, &s, &e), -EBADMSG);
	/* cached by hand (an operator's mirror): found without any request */
	char p[400], f[1400];
	assert_int_equal(ad_coll_vcek_path(&r, SEV_SNP_PRODUCT_MILAN, p, sizeof(p), &e), 0);
	snprintf(f, sizeof(f), "mkdir -p '%s/vcek/v1/Milan' && cp '%s/snp/virtee-sev/vcek_milan.der' '%s/%s' && "
			       "cp '%s/snp/amd_kds/ask_ark_milan.pem' '%s/vcek/v1/Milan/cert_chain'",
		 dir, vectors(), dir, p, vectors(), dir);
	assert_int_equal(system(f), 0);
	assert_int_equal(ad_coll_snp_get(c, raw, len, NULL, 0, false, &s, &e), 0);
	assert_string_equal(s.product, "Milan");
	assert_false(s.fetched);
	assert_non_null(s.vcek);
	assert_non_null(s.chain);
	/* ... and attest/ accepts the report with it */
	struct att_snp_input in = {s.vcek, s.vcek_len, s.chain, s.chain_len, NULL, 0};
	struct att_trust t = {0};
	struct att_result res;
	att_result_init(&res);
	assert_int_equal(att_snp_verify(raw, len, &in, &t, &res), 0);
	assert_true(res.verified);
	att_result_free(&res);
	ad_coll_snp_free(&s);
	/* with_crl offline and no CRL cached: a clear miss, not a silent skip */
	assert_int_equal(ad_coll_snp_get(c, raw, len, NULL, 0, true, &s, &e), -ENOENT);
	assert_int_equal(ad_coll_requests(c), 0);
	free(raw);
	ad_coll_free(c);
	snprintf(f, sizeof(f), "rm -rf '%s'", dir);
	assert_int_equal(system(f), 0);
	/* configuration errors */
	struct ad_coll_cfg bad = {.dir = "/tmp", .kds_url = "ftp://x"};
	assert_int_equal(ad_coll_open(&bad, &c, &e), -EINVAL);
	struct ad_coll_cfg nodir = {0};
	assert_int_equal(ad_coll_open(&nodir, &c, &e), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retry_after),	cmocka_unit_test(test_url_decode),
		cmocka_unit_test(test_safe_component), cmocka_unit_test(test_vcek_path),
		cmocka_unit_test(test_offline_cache),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
