/* attestd: request parsers, init-data digests, KEK sealing (path as AAD) and
 * configuration precedence. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "attestd/attestd.h"

static void test_cookie(void **state)
{
	(void)state;
	char id[40];
	struct vg_err e = {0};
	assert_int_equal(ad_parse_cookie("a=b; kbs-session-id=00112233445566778899aabbccddeeff; c=d", id, &e), 0);
	assert_string_equal(id, "00112233445566778899aabbccddeeff");
	assert_int_equal(ad_parse_cookie("kbs-session-id=00112233445566778899AABBCCDDEEFF", id, &e), -EINVAL);
	assert_int_equal(ad_parse_cookie("kbs-session-id=0011", id, &e), -EINVAL);
	assert_int_equal(ad_parse_cookie("xkbs-session-id=00112233445566778899aabbccddeeff", id, &e), -ENOENT);
	assert_int_equal(ad_parse_cookie(NULL, id, &e), -ENOENT);
	const char *t;
	size_t n;
	assert_int_equal(ad_parse_bearer("Bearer a.b.c", &t, &n, &e), 0);
	assert_int_equal(n, 5);
	assert_int_equal(ad_parse_bearer("Basic abc", &t, &n, &e), -EINVAL);
	assert_int_equal(ad_parse_bearer("Bearer a.b c", &t, &n, &e), -EINVAL);
}

static void test_paths(void **state)
{
	(void)state;
	char out[256];
	struct vg_err e = {0};
	assert_int_equal(ad_parse_resource_path("/kbs/v0/resource/repo/key/tag-1.0", out, &e), 0);
	assert_string_equal(out, "repo/key/tag-1.0");
	assert_int_equal(ad_parse_resource_path("/kbs/v0/resource/repo/../tag", out, &e), -EINVAL);
	assert_int_equal(ad_parse_resource_path("/kbs/v0/resource/repo//tag", out, &e), -EINVAL);
	assert_int_equal(ad_parse_resource_path("/kbs/v0/resource/a/b/c/d", out, &e), -EINVAL);
	assert_int_equal(ad_parse_resource_path("/kbs/v0/resource/a/b", out, &e), -EINVAL);
	assert_int_equal(ad_parse_resource_path("/kbs/v0/resource/a/b/c%", out, &e), -EINVAL);
	assert_int_equal(ad_parse_resource_path("/kbs/v0/other/a/b/c", out, &e), -EINVAL);
}

static void test_bodies(void **state)
{
	(void)state;
	struct vg_err e = {0};
	struct ad_auth_req a;
	const char *ok = "{\"version\":\"0.4.0\",\"tee\":\"snp\",\"extra-params\":{}}";
	assert_int_equal(ad_parse_auth((const uint8_t *)ok, strlen(ok), &a, &e), 0);
	assert_string_equal(a.tee, "snp");
	const char *nt = "{\"version\":\"0.4.0\"}";
	assert_int_equal(ad_parse_auth((const uint8_t *)nt, strlen(nt), &a, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "tee"));
	assert_int_equal(ad_parse_auth((const uint8_t *)"[1]", 3, &a, &e), -EINVAL);
	struct ad_attest_req r;
	const char *no_rd = "{\"tee-evidence\":{\"primary_evidence\":{}}}";
	assert_int_equal(ad_parse_attest((const uint8_t *)no_rd, strlen(no_rd), &r, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "runtime-data"));
	const char *good = "{\"runtime-data\":{\"nonce\":\"n\",\"tee-pubkey\":{\"kty\":\"EC\"}},"
			   "\"tee-evidence\":{\"primary_evidence\":{\"quote\":\"AAAA\"}}}";
	assert_int_equal(ad_parse_attest((const uint8_t *)good, strlen(good), &r, &e), 0);
	assert_string_equal(r.additional, "");
	struct ad_evidence ev;
	assert_int_equal(ad_parse_evidence("tdx", r.primary, &ev, &e), 0);
	assert_int_equal(ev.report_len, 3);
	assert_null(ev.ccel);
	ad_evidence_free(&ev);
	assert_int_equal(ad_parse_evidence("snp", r.primary, &ev, &e), -EINVAL);
	assert_int_equal(ad_parse_evidence("sgx", r.primary, &ev, &e), -ENOTSUP);
	ad_attest_req_free(&r);
	json_t *structured = json_pack("{s:{s:i}}", "attestation_report", "version", 2);
	assert_int_equal(ad_parse_evidence("snp", structured, &ev, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "structured"));
	json_decref(structured);
	json_t *short_rep = json_pack("{s:s,s:[]}", "attestation_report", "AAAA", "cert_chain");
	assert_int_equal(ad_parse_evidence("snp", short_rep, &ev, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "1184"));
	json_decref(short_rep);
}

static void test_init_data(void **state)
{
	(void)state;
	struct vg_err e = {0};
	const char *toml = "algorithm = \"sha384\"\nversion = \"0.1.0\"\n[data]\n\"k\" = \"v\"\n";
	uint8_t d[48], want[48];
	unsigned dl = 0;
	EVP_Digest(toml, strlen(toml), want, &dl, EVP_sha384(), NULL);
	assert_int_equal(att_init_data_digest("toml", toml, 48, d, NULL, &e), 0);
	assert_memory_equal(d, want, 48);
	assert_int_equal(att_init_data_digest("toml", toml, 32, d, NULL, &e), 0); /* SNP HOST_DATA: truncated */
	assert_memory_equal(d, want, 32);
	const char *js = "{\"algorithm\":\"sha256\",\"data\":{}}";
	EVP_Digest(js, strlen(js), want, &dl, EVP_sha256(), NULL);
	assert_int_equal(att_init_data_digest("json", js, 48, d, NULL, &e), 0); /* TDX MRCONFIGID: zero padded */
	assert_memory_equal(d, want, 32);
	for (int i = 32; i < 48; i++)
		assert_int_equal(d[i], 0);
	assert_int_equal(att_init_data_digest("json", "{\"algorithm\":\"md5\"}", 48, d, NULL, &e), -EINVAL);
	assert_int_equal(att_init_data_digest("yaml", "x", 48, d, NULL, &e), -EINVAL);
}

static void test_kek(void **state)
{
	(void)state;
	struct vg_err e = {0};
	struct ad_kek k, k2;
	assert_int_equal(ad_kek_generate(&k, &e), 0);
	assert_int_equal(ad_kek_generate(&k2, &e), 0);
	struct ad_resource r;
	const uint8_t secret[] = "top secret";
	assert_int_equal(ad_kek_seal(&k, "repo/key/a", secret, sizeof(secret), &r, &e), 0);
	assert_int_equal(r.ciphertext_len, sizeof(secret) + 16);
	assert_null(memmem(r.ciphertext, r.ciphertext_len, secret, sizeof(secret) - 1));
	uint8_t *pt = NULL;
	size_t n = 0;
	assert_int_equal(ad_kek_open(&k, &r, &pt, &n, &e), 0);
	assert_memory_equal(pt, secret, sizeof(secret));
	free(pt);
	assert_int_equal(ad_kek_open(&k2, &r, &pt, &n, &e), -EKEYREJECTED); /* another KEK */
	strcpy(r.path, "repo/key/b"); /* moved row: the AAD no longer matches */
	assert_int_equal(ad_kek_open(&k, &r, &pt, &n, &e), -EBADMSG);
	ad_resource_clear(&r);
}

static void test_config(void **state)
{
	(void)state;
	char dir[] = "/tmp/vigil-attestd-cfg.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char cf[128];
	snprintf(cf, sizeof(cf), "%s/attestd.json", dir);
	FILE *f = fopen(cf, "w");
	fprintf(f, "{\"listen\":\"127.0.0.1:1\",\"state_dir\":\"/s\",\"policy\":\"p.json\",\"admin_keys\":[\"a.pem\",\"b.pem\"],"
		   "\"threads\":4,\"allow_plain_http\":true}");
	fclose(f);
	struct ad_config c;
	struct vg_err e = {0};
	char *argv[] = {"vigil-attestd", "--config", cf, "--threads", "3", "--admin-key", "c.pem", NULL};
	assert_int_equal(ad_config_parse(7, argv, &c, &e), 0);
	assert_int_equal(c.threads, 3);                /* the flag wins */
	assert_int_equal(c.n_admin_keys, 1);           /* a repeatable flag replaces the list */
	assert_string_equal(c.admin_keys[0], "c.pem");
	assert_true(c.allow_plain_http);
	assert_string_equal(c.db, "sqlite:/s/attestd.db");
	f = fopen(cf, "w");
	fprintf(f, "{\"listen\":\"x\",\"no_such_key\":1}");
	fclose(f);
	char *argv2[] = {"vigil-attestd", "--config", cf, NULL};
	assert_int_equal(ad_config_parse(3, argv2, &c, &e), 2);
	assert_non_null(strstr(e.msg, "no_such_key"));
	unlink(cf);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cookie), cmocka_unit_test(test_paths), cmocka_unit_test(test_bodies),
		cmocka_unit_test(test_init_data), cmocka_unit_test(test_kek), cmocka_unit_test(test_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
