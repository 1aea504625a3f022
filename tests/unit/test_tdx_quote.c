/* Unit tests for the TDX DCAP quote parser and signed-part serializer (tdx/quote.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tdx/tdx.h"
#include "tests/unit/test_attest_vectors.h"

static void test_v4_spr(void **state)
{
	(void)state;
	size_t len;
	uint8_t *b = vec("tdx/go-tdx-guest/tdx_prod_quote_SPR_E4.dat", &len);
	if (!b) {
		skip();
		return;
	}
	struct tdx_quote q;
	struct vg_err e = {0};
	assert_int_equal(tdx_quote_parse(b, len, &q, &e), 0);
	assert_int_equal(q.version, 4);
	assert_int_equal(q.att_key_type, 2);
	assert_int_equal(q.tee_type, 0x81);
	assert_int_equal(q.body_type, TDX_BODY_TYPE_TD10);
	assert_false(q.body.is_td15);
	assert_int_equal(q.signed_len, 48 + 584);
	assert_int_equal(q.trailing, 39);
	hexeq(q.qe_vendor_id, 16, "939a7233f79c4ca9940a0db3957f0607");
	hexeq(q.user_data, 20, "739c3f292a15bace1f726351a70d4b7900000000");
	hexeq(q.body.tee_tcb_svn, 16, "03000400000000000000000000000000");
	hexeq(q.body.td_attributes, 8, "0000004000000000");
	hexeq(q.body.xfam, 8, "e71a060000000000");
	hexeq(q.body.mr_td, 48, "6363b8043668a3ad953278e10389574d326c6749fb78aa810ecd9336923db86f22fc00b8dcd404bc10d5e119d7215cbb");
	hexeq(q.body.rtmr[2], 48, "8652f0caaba7e215ea442dc36a4499d8fec3362f3a0b2ca151cbe4b3e6466fe59c7368b3c2287fc7c3bf5c924eb4424e");
	hexeq(q.body.report_data, 64, "6c62dec1b8191749a31dab490be532a35944dea47caef1f980863993d9899545eb7406a38d1eed313b987a467dacead6f0c87a6d766c66f6f29f8acb281f1113");
	assert_non_null(memmem(q.pck_chain, q.pck_chain_len, "-----BEGIN CERTIFICATE-----", 27));
	assert_int_equal(q.qe_report.isv_prod_id, 2);
	/* Truncation anywhere before the end of the signature data fails cleanly. */
	size_t end = len - q.trailing;
	for (size_t cut = 0; cut < end; cut += 7)
		assert_int_not_equal(tdx_quote_parse(b, cut, &q, &e), 0);
	free(b);
}

static void test_v5_td15(void **state)
{
	(void)state;
	size_t len;
	uint8_t *b = vec("tdx/go-tdx-guest/quote_v5_sample.dat", &len);
	if (!b) {
		skip();
		return;
	}
	struct tdx_quote q;
	assert_int_equal(tdx_quote_parse(b, len, &q, NULL), 0);
	assert_int_equal(q.version, 5);
	assert_int_equal(q.body_type, TDX_BODY_TYPE_TD15);
	assert_int_equal(q.body_size, 648);
	assert_true(q.body.is_td15);
	assert_int_equal(q.signed_len, 702);
	hexeq(q.body.tee_tcb_svn, 16, "0b010400000000000000000000000000");
	hexeq(q.body.mr_td, 48, "7348651a34b2d2d3462822e3a750ec6110125f36757c78480bbfc69cc0d21fb001a1ced3ee19747dda8f750c3bc8f876");
	/* The serializer reproduces the signed bytes exactly. */
	uint8_t out[800];
	assert_int_equal(tdx_quote_serialize_signed(&q, out, sizeof(out)), 702);
	assert_memory_equal(out, b, 702);
	assert_int_equal(tdx_quote_serialize_signed(&q, out, 701), 0);
	/* A wrong body size in the descriptor is rejected by name. */
	struct vg_err e = {0};
	vg_put_le32(b + 50, 584);
	assert_int_equal(tdx_quote_parse(b, len, &q, &e), -EBADMSG);
	assert_non_null(strstr(e.msg, "1.5 body size 584"));
	vg_put_le16(b + 48, 1);
	assert_int_equal(tdx_quote_parse(b, len, &q, &e), -ENOTSUP);
	assert_non_null(strstr(e.msg, "body type 1"));
	free(b);
}

/* GCP: 8000-byte buffer, zero padding after the signature data. */
static void test_padding(void **state)
{
	(void)state;
	size_t len;
	uint8_t *b = vec("tdx/go-tdx-guest/cos-113-tdx-quote.dat", &len);
	if (!b) {
		skip();
		return;
	}
	struct tdx_quote q;
	assert_int_equal(len, 8000);
	assert_int_equal(tdx_quote_parse(b, len, &q, NULL), 0);
	assert_int_equal(q.trailing, 3065);
	uint8_t out[700];
	assert_int_equal(tdx_quote_serialize_signed(&q, out, sizeof(out)), 632);
	assert_memory_equal(out, b, 632);
	free(b);
}

static void test_header_rejections(void **state)
{
	(void)state;
	uint8_t b[1024] = {0};
	struct tdx_quote q;
	struct vg_err e = {0};
	assert_int_equal(tdx_quote_parse(b, 10, &q, &e), -EBADMSG);
	vg_put_le16(b, 3);
	vg_put_le16(b + 2, 2);
	vg_put_le32(b + 4, 0x81);
	assert_int_equal(tdx_quote_parse(b, sizeof(b), &q, &e), -ENOTSUP);
	assert_non_null(strstr(e.msg, "version 3"));
	vg_put_le16(b, 4);
	vg_put_le32(b + 4, 0);
	assert_int_equal(tdx_quote_parse(b, sizeof(b), &q, &e), -ENOTSUP);
	assert_non_null(strstr(e.msg, "not TDX"));
	vg_put_le32(b + 4, 0x81);
	vg_put_le16(b + 2, 3);
	assert_int_equal(tdx_quote_parse(b, sizeof(b), &q, &e), -ENOTSUP);
	vg_put_le16(b + 2, 2);
	/* Signature data length larger than what is left. */
	vg_put_le32(b + 632, 1000);
	assert_int_equal(tdx_quote_parse(b, sizeof(b), &q, &e), -EBADMSG);
	assert_non_null(strstr(e.msg, "exceeds"));
	/* Certification data type other than 6. */
	vg_put_le32(b + 632, 200);
	vg_put_le16(b + 636 + 128, 5);
	assert_int_equal(tdx_quote_parse(b, sizeof(b), &q, &e), -ENOTSUP);
	assert_non_null(strstr(e.msg, "type 5"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v4_spr),
		cmocka_unit_test(test_v5_td15),
		cmocka_unit_test(test_padding),
		cmocka_unit_test(test_header_rejections),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
