/* RFC 8785 JSON Canonicalization Scheme over jansson values: object members
 * sorted by their names' UTF-16 code units, strings escaped as ECMAScript's
 * JSON.stringify does, numbers in ECMAScript Number-to-String form (an integer
 * beyond +-2^53 is refused unless ECMAScript prints its double as the same
 * digits: the others would silently change value). */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest/jose_priv.h"

#define JCS_MAX_SAFE_INT 9007199254740992LL /* 2^53 */

/* Next code point of a UTF-8 string; -1 on invalid UTF-8. */
static long utf8_next(const unsigned char *s, size_t len, size_t *i)
{
	unsigned char c = s[*i];
	long cp;
	size_t n;
	if (c < 0x80) {
		(*i)++;
		return c;
	} else if ((c & 0xe0) == 0xc0) {
		cp = c & 0x1f, n = 1;
	} else if ((c & 0xf0) == 0xe0) {
		cp = c & 0x0f, n = 2;
	} else if ((c & 0xf8) == 0xf0) {
		cp = c & 0x07, n = 3;
	} else {
		return -1;
	}
	if (*i + n >= len)
		return -1;
	for (size_t k = 1; k <= n; k++) {
		unsigned char cc = s[*i + k];
		if ((cc & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (cc & 0x3f);
	}
	static const long min[] = {0, 0x80, 0x800, 0x10000};
	if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*i += n + 1;
	return cp;
}

/* UTF-16 code unit sequence of a code point; returns the number of units. */
static int utf16(long cp, unsigned u[2])
{
	if (cp < 0x10000) {
		u[0] = (unsigned)cp;
		return 1;
	}
	cp -= 0x10000;
	u[0] = 0xd800 + (unsigned)(cp >> 10);
	u[1] = 0xdc00 + (unsigned)(cp & 0x3ff);
	return 2;
}

/* A cursor yielding the UTF-16 code units of a valid UTF-8 string. */
struct u16_cursor {
	const unsigned char *s;
	size_t len, i;
	unsigned u[2];
	int n, pos;
};

/* The next code unit, or -1 at the end. */
static long u16_next(struct u16_cursor *c)
{
	if (c->pos == c->n) {
		if (c->i >= c->len)
			return -1;
		c->n = utf16(utf8_next(c->s, c->len, &c->i), c->u);
		c->pos = 0;
	}
	return c->u[c->pos++];
}

/* Compares two valid UTF-8 strings by UTF-16 code units (RFC 8785 sec. 3.2.3). */
static int cmp_utf16(const char *a, size_t la, const char *b, size_t lb)
{
	struct u16_cursor ca = {(const unsigned char *)a, la, 0, {0}, 0, 0};
	struct u16_cursor cb = {(const unsigned char *)b, lb, 0, {0}, 0, 0};
	for (;;) {
		long x = u16_next(&ca), y = u16_next(&cb);
		if (x != y || x < 0)
			return x < y ? -1 : x > y ? 1 : 0;
	}
}

static int check_utf8(const char *s, size_t len)
{
	for (size_t i = 0; i < len;)
		if (utf8_next((const unsigned char *)s, len, &i) < 0)
			return -1;
	return 0;
}

static int put_string(struct vg_buf *out, const char *s, size_t len, struct vg_err *err)
{
	if (check_utf8(s, len))
		return vg_err_set(err, EINVAL, "jcs: string is not valid UTF-8");
	if (vg_buf_append_u8(out, '"'))
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *esc = NULL;
		char u[8];
		switch (c) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		default:
			if (c < 0x20) {
				snprintf(u, sizeof(u), "\\u%04x", c);
				esc = u;
			}
		}
		int rc = esc ? vg_buf_append(out, esc, strlen(esc)) : vg_buf_append_u8(out, c);
		if (rc)
			return -ENOMEM;
	}
	return vg_buf_append_u8(out, '"') ? -ENOMEM : 0;
}

/* ECMAScript Number::toString(10) of a finite double (ECMA-262 sec. 6.1.6.1.20):
 * the shortest digit string that reads back to the same double, placed as
 * plain or exponent notation by its decimal exponent. */
static int fmt_double(double d, char buf[64], size_t *len, struct vg_err *err)
{
	if (!isfinite(d))
		return vg_err_set(err, EINVAL, "jcs: NaN or Infinity cannot be serialised");
	if (d == 0) {
		buf[0] = '0';
		*len = 1;
		return 0;
	}
	char sci[40];
	int p;
	for (p = 1; p <= 17; p++) {
		snprintf(sci, sizeof(sci), "%.*e", p - 1, d);
		if (strtod(sci, NULL) == d)
			break;
	}
	if (p > 17)
		return vg_err_set(err, EINVAL, "jcs: number does not round-trip");
	/* sci = [-]D[.DDD]e[+-]XX: collect the digits and the exponent. */
	char digits[24];
	int k = 0;
	const char *q = sci;
	bool neg = *q == '-';
	if (neg)
		q++;
	for (; *q && *q != 'e'; q++)
		if (*q >= '0' && *q <= '9')
			digits[k++] = *q;
	digits[k] = 0;
	int e10 = atoi(q + 1);
	while (k > 1 && digits[k - 1] == '0') /* %e pads with zeros only when p is */
		digits[--k] = 0;              /* larger than needed, kept for safety */
	int n = e10 + 1;                       /* value = 0.DIGITS * 10^n */
	size_t o = 0;
	if (neg)
		buf[o++] = '-';
	if (k <= n && n <= 21) {
		memcpy(buf + o, digits, (size_t)k), o += (size_t)k;
		for (int i = 0; i < n - k; i++)
			buf[o++] = '0';
	} else if (0 < n && n <= 21) {
		memcpy(buf + o, digits, (size_t)n), o += (size_t)n;
		buf[o++] = '.';
		memcpy(buf + o, digits + n, (size_t)(k - n)), o += (size_t)(k - n);
	} else if (-6 < n && n <= 0) {
		buf[o++] = '0', buf[o++] = '.';
		for (int i = 0; i < -n; i++)
			buf[o++] = '0';
		memcpy(buf + o, digits, (size_t)k), o += (size_t)k;
	} else {
		buf[o++] = digits[0];
		if (k > 1) {
			buf[o++] = '.';
			memcpy(buf + o, digits + 1, (size_t)(k - 1)), o += (size_t)(k - 1);
		}
		o += (size_t)snprintf(buf + o, 64 - o, "e%c%d", n - 1 < 0 ? '-' : '+', abs(n - 1));
	}
	*len = o;
	return 0;
}

static int put_double(struct vg_buf *out, double d, struct vg_err *err)
{
	char buf[64];
	size_t len = 0;
	int rc = fmt_double(d, buf, &len, err);
	if (rc)
		return rc;
	return vg_buf_append(out, buf, len) ? -ENOMEM : 0;
}

struct member {
	const char *key;
	size_t key_len; /* names may hold U+0000 */
	json_t *value;
};

static int cmp_member(const void *a, const void *b)
{
	const struct member *x = a, *y = b;
	return cmp_utf16(x->key, x->key_len, y->key, y->key_len);
}

static int put_value(struct vg_buf *out, const json_t *v, int depth, struct vg_err *err)
{
	if (depth > ATT_JCS_MAX_DEPTH)
		return vg_err_set(err, EINVAL, "jcs: nesting deeper than %d", ATT_JCS_MAX_DEPTH);
	int rc = 0;
	switch (json_typeof(v)) {
	case JSON_NULL:
		return vg_buf_append(out, "null", 4) ? -ENOMEM : 0;
	case JSON_TRUE:
		return vg_buf_append(out, "true", 4) ? -ENOMEM : 0;
	case JSON_FALSE:
		return vg_buf_append(out, "false", 5) ? -ENOMEM : 0;
	case JSON_INTEGER: {
		json_int_t i = json_integer_value(v);
		if (i <= JCS_MAX_SAFE_INT && i >= -JCS_MAX_SAFE_INT)
			return vg_buf_printf(out, "%lld", (long long)i) ? -ENOMEM : 0;
		/* Beyond 2^53 an integer is kept only when ECMAScript prints its
		 * double unchanged (2^60 is "1152921504606847000"); the others
		 * (2^53+1) would silently change value: refused. */
		char dec[32], es[64];
		size_t es_len = 0;
		int dl = snprintf(dec, sizeof(dec), "%lld", (long long)i);
		if (fmt_double((double)i, es, &es_len, NULL) == 0 && (size_t)dl == es_len && memcmp(dec, es, es_len) == 0)
			return vg_buf_append(out, dec, (size_t)dl) ? -ENOMEM : 0;
		return vg_err_set(err, ERANGE,
				  "jcs: integer %lld is outside +-2^53 and not exactly an IEEE-754 double as ECMAScript prints it",
				  (long long)i);
	}
	case JSON_REAL:
		return put_double(out, json_real_value(v), err);
	case JSON_STRING:
		return put_string(out, json_string_value(v), json_string_length(v), err);
	case JSON_ARRAY: {
		if (vg_buf_append_u8(out, '['))
			return -ENOMEM;
		for (size_t i = 0; i < json_array_size(v) && !rc; i++) {
			if (i && vg_buf_append_u8(out, ','))
				return -ENOMEM;
			rc = put_value(out, json_array_get(v, i), depth + 1, err);
		}
		if (rc)
			return rc;
		return vg_buf_append_u8(out, ']') ? -ENOMEM : 0;
	}
	case JSON_OBJECT: {
		size_t n = json_object_size(v), i = 0;
		struct member *m = calloc(n ? n : 1, sizeof(*m));
		if (!m)
			return -ENOMEM;
		const char *key;
		size_t key_len;
		json_t *val;
		json_object_keylen_foreach((json_t *)v, key, key_len, val) {
			if (i >= n || check_utf8(key, key_len)) {
				free(m);
				return vg_err_set(err, EINVAL, "jcs: member name is not valid UTF-8");
			}
			m[i].key = key;
			m[i].key_len = key_len;
			m[i++].value = val;
		}
		qsort(m, i, sizeof(*m), cmp_member);
		rc = vg_buf_append_u8(out, '{') ? -ENOMEM : 0;
		for (size_t j = 0; j < i && !rc; j++) {
			if (j && vg_buf_append_u8(out, ','))
				rc = -ENOMEM;
			if (!rc)
				rc = put_string(out, m[j].key, m[j].key_len, err);
			if (!rc && vg_buf_append_u8(out, ':'))
				rc = -ENOMEM;
			if (!rc)
				rc = put_value(out, m[j].value, depth + 1, err);
		}
		free(m);
		if (rc)
			return rc;
		return vg_buf_append_u8(out, '}') ? -ENOMEM : 0;
	}
	}
	return vg_err_set(err, EINVAL, "jcs: unknown JSON value type");
}

int att_jcs_serialize(const json_t *v, struct vg_buf *out, struct vg_err *err)
{
	if (!v)
		return vg_err_set(err, EINVAL, "jcs: no value");
	size_t start = out->len;
	int rc = put_value(out, v, 0, err);
	if (rc) {
		if (rc == -ENOMEM && (!err || err->code != ENOMEM))
			vg_err_set(err, ENOMEM, "jcs: out of memory");
		out->len = start; /* nothing half-written */
		return rc;
	}
	return 0;
}
