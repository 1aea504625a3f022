/* Unit tests for common/: errors, hex, bounded reader, buffers, files, time, numbers. */
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

#include "common/common.h"

static void test_err(void **state)
{
	(void)state;
	struct vg_err err = {0};
	assert_int_equal(vg_err_set(&err, EINVAL, "bad %s\nvalue", "x"), -EINVAL);
	assert_string_equal(err.msg, "bad x value"); /* one line */
	assert_int_equal(vg_err_prefix(&err, "file %d", 3), -EINVAL);
	assert_string_equal(err.msg, "file 3: bad x value");
	assert_int_equal(vg_err_set(NULL, -ENOENT, "ignored"), -ENOENT);
	vg_err_clear(&err);
	assert_int_equal(err.code, 0);
}

static void test_hex(void **state)
{
	(void)state;
	const uint8_t in[] = {0x00, 0xab, 0xFF, 0x10};
	char out[9];
	vg_hex_encode(in, sizeof(in), out);
	assert_string_equal(out, "00abff10");
	uint8_t back[4];
	struct vg_err err = {0};
	assert_int_equal(vg_hex_decode("00ABff10", back, 4, &err), 0);
	assert_memory_equal(back, in, 4);
	assert_int_equal(vg_hex_decode("00abff1", back, 4, &err), -EINVAL);
	assert_int_equal(vg_hex_decode("00abfg10", back, 4, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "position 5"));
	uint8_t *dyn;
	size_t n;
	assert_int_equal(vg_hex_decode_alloc("abc", &dyn, &n, &err), -EINVAL);
	assert_int_equal(vg_hex_decode_alloc("abcd", &dyn, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(dyn[1], 0xcd);
	free(dyn);
	char *s = vg_hex_dup(in, 2);
	assert_string_equal(s, "00ab");
	free(s);
}

static void test_reader(void **state)
{
	(void)state;
	const uint8_t data[] = {1, 0x34, 0x12, 0x78, 0x56, 0x34, 0x12, 9, 9, 9, 9, 9, 9, 9, 9, 0xaa};
	struct vg_reader r, sub;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	vg_rd_init(&r, data, sizeof(data));
	assert_int_equal(vg_rd_u8(&r, &u8), 0);
	assert_int_equal(u8, 1);
	assert_int_equal(vg_rd_le16(&r, &u16), 0);
	assert_int_equal(u16, 0x1234);
	assert_int_equal(vg_rd_le32(&r, &u32), 0);
	assert_int_equal(u32, 0x12345678);
	assert_int_equal(vg_rd_sub(&r, 8, &sub), 0);
	assert_int_equal(vg_rd_le64(&sub, &u64), 0);
	assert_int_equal(vg_rd_remaining(&sub), 0);
	assert_int_equal(vg_rd_u8(&sub, &u8), -EBADMSG); /* sub is bounded */
	assert_false(vg_rd_ok(&sub));
	assert_int_equal(vg_rd_remaining(&r), 1);
	assert_int_equal(vg_rd_le16(&r, &u16), -EBADMSG); /* one byte left, not two */
	assert_false(vg_rd_ok(&r));
	assert_int_equal(vg_rd_u8(&r, &u8), -EBADMSG); /* sticky */
	vg_rd_init(&r, data, sizeof(data));
	assert_int_equal(vg_rd_skip(&r, SIZE_MAX), -EBADMSG); /* no overflow */
	vg_rd_init(&r, data, sizeof(data));
	assert_int_equal(vg_rd_seek(&r, sizeof(data)), 0);
	assert_int_equal(vg_rd_seek(&r, sizeof(data) + 1), -EBADMSG);
	vg_rd_init(&r, data, 4);
	const uint8_t *p;
	assert_int_equal(vg_rd_ptr(&r, 4, &p), 0);
	assert_ptr_equal(p, data);
}

static void test_buf(void **state)
{
	(void)state;
	struct vg_buf b = {0};
	assert_int_equal(vg_buf_append_le32(&b, 0x01020304), 0);
	assert_int_equal(vg_buf_append_le16(&b, 0x0506), 0);
	assert_int_equal(vg_buf_printf(&b, "%s-%d", "x", 42), 0);
	assert_int_equal(b.len, 10);
	assert_memory_equal(b.data, "\x04\x03\x02\x01\x06\x05x-42", 10);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(vg_buf_append_u8(&b, (uint8_t)i), 0);
	assert_int_equal(b.len, 1010);
	vg_buf_free_secret(&b);
	assert_null(b.data);
}

static void test_files(void **state)
{
	(void)state;
	char dir[] = "/tmp/vigil-unit-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256];
	snprintf(path, sizeof(path), "%s/f", dir);
	struct vg_err err = {0};
	assert_int_equal(vg_write_file_atomic(path, "hello", 5, 0600, &err), 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	uint8_t *data;
	size_t len;
	assert_int_equal(vg_read_file(path, 5, &data, &len, &err), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(data, "hello", 5);
	free(data);
	assert_int_equal(vg_read_file(path, 4, &data, &len, &err), -EFBIG);
	assert_non_null(strstr(err.msg, "more than the 4"));
	assert_int_equal(vg_read_file("/dev/null", 10, &data, &len, &err), 0);
	assert_int_equal(len, 0);
	free(data);
	char missing[300];
	snprintf(missing, sizeof(missing), "%s/missing", dir);
	assert_int_equal(vg_read_file(missing, 10, &data, &len, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "missing"));
	unlink(path);
	rmdir(dir);
}

static void test_secrets(void **state)
{
	(void)state;
	uint8_t k[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	assert_true(vg_ct_equal(k, "\1\2\3\4\5\6\7\10", 8));
	assert_false(vg_ct_equal(k, "\1\2\3\4\5\6\7\11", 8));
	vg_secure_zero(k, sizeof(k));
	assert_memory_equal(k, "\0\0\0\0\0\0\0\0", 8);
}

static void test_time(void **state)
{
	(void)state;
	struct vg_err err = {0};
	int64_t t;
	assert_int_equal(vg_parse_rfc3339("1970-01-01T00:00:00Z", &t, &err), 0);
	assert_int_equal(t, 0);
	assert_int_equal(vg_parse_rfc3339("2025-12-10T01:02:03Z", &t, &err), 0);
	assert_int_equal(t, 1765328523);
	assert_int_equal(vg_parse_rfc3339("2025-12-10T03:02:03.5+02:00", &t, &err), 0);
	assert_int_equal(t, 1765328523);
	assert_int_equal(vg_parse_rfc3339("2024-02-29", &t, &err), 0);
	assert_int_equal(vg_parse_rfc3339("2023-02-29", &t, &err), -EINVAL);
	assert_int_equal(vg_parse_rfc3339("2025-13-01T00:00:00Z", &t, &err), -EINVAL);
	assert_int_equal(vg_parse_rfc3339("2025-12-10T01:02:03", &t, &err), -EINVAL);
	assert_int_equal(vg_parse_rfc3339("yesterday", &t, &err), -EINVAL);
	/* beyond what X.509 can express, and misplaced leap seconds: invalid */
	assert_int_equal(vg_parse_rfc3339("9999-12-31T23:59:60Z", &t, &err), -ERANGE);
	assert_non_null(strstr(err.msg, "invalid time"));
	assert_int_equal(vg_parse_rfc3339("9999-12-31T23:59:59Z", &t, &err), 0);
	assert_int_equal(vg_parse_rfc3339("2016-12-31T12:00:60Z", &t, &err), -EINVAL);
	assert_int_equal(vg_parse_rfc3339("2016-12-31T23:59:60Z", &t, &err), 0);
	char out[32];
	vg_format_rfc3339(1765328523, out);
	assert_string_equal(out, "2025-12-10T01:02:03Z");
}

static void test_u64(void **state)
{
	(void)state;
	struct vg_err err = {0};
	uint64_t v;
	assert_int_equal(vg_parse_u64("0x21", 0xff, &v, &err), 0);
	assert_int_equal(v, 0x21);
	assert_int_equal(vg_parse_u64("18446744073709551615", UINT64_MAX, &v, &err), 0);
	assert_int_equal(vg_parse_u64("18446744073709551616", UINT64_MAX, &v, &err), -ERANGE);
	assert_int_equal(vg_parse_u64("256", 255, &v, &err), -ERANGE);
	assert_int_equal(vg_parse_u64("12a", 1000, &v, &err), -EINVAL);
	assert_int_equal(vg_parse_u64("0x", 1000, &v, &err), -EINVAL);
	assert_int_equal(vg_parse_u64("", 1000, &v, &err), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_err),   cmocka_unit_test(test_hex),     cmocka_unit_test(test_reader),
		cmocka_unit_test(test_buf),   cmocka_unit_test(test_files),   cmocka_unit_test(test_secrets),
		cmocka_unit_test(test_time),  cmocka_unit_test(test_u64),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
