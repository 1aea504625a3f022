/* Lowercase hex encoding and strict decoding. */
#include "common/common.h"

#include <stdlib.h>
#include <string.h>

void vg_hex_encode(const void *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *p = in;
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0xf];
	}
	out[2 * len] = '\0';
}

char *vg_hex_dup(const void *in, size_t len)
{
	if (len > (SIZE_MAX - 1) / 2)
		return NULL;
	char *s = malloc(2 * len + 1);
	if (s)
		vg_hex_encode(in, len, s);
	return s;
}

static int nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int decode_into(const char *hex, size_t digits, uint8_t *out, struct vg_err *err)
{
	for (size_t i = 0; i < digits / 2; i++) {
		int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return vg_err_set(err, EINVAL, "invalid hex digit at position %zu", hi < 0 ? 2 * i : 2 * i + 1);
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int vg_hex_decode(const char *hex, void *out, size_t out_len, struct vg_err *err)
{
	size_t n = strlen(hex);
	if (n != 2 * out_len)
		return vg_err_set(err, EINVAL, "expected %zu hex digits, got %zu", 2 * out_len, n);
	return decode_into(hex, n, out, err);
}

int vg_hex_decode_alloc(const char *hex, uint8_t **out, size_t *out_len, struct vg_err *err)
{
	size_t n = strlen(hex);
	if (n % 2)
		return vg_err_set(err, EINVAL, "odd number of hex digits (%zu)", n);
	uint8_t *buf = malloc(n / 2 ? n / 2 : 1);
	if (!buf)
		return vg_err_set(err, ENOMEM, "out of memory");
	int rc = decode_into(hex, n, buf, err);
	if (rc) {
		free(buf);
		return rc;
	}
	*out = buf;
	*out_len = n / 2;
	return 0;
}
