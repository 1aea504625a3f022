/* Time (RFC 3339) and number parsing for command lines and documents. */
#include "common/common.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int vg_parse_rfc3339(const char *s, int64_t *out_unix, struct vg_err *err)
{
	int Y, M, D, h = 0, m = 0, sec = 0;
	size_t n = strlen(s);
	if (n < 10 || digits(s, 4, &Y) || s[4] != '-' || digits(s + 5, 2, &M) || s[7] != '-' ||
	    digits(s + 8, 2, &D))
		goto bad;
	const char *p = s + 10;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		if (strlen(p) < 9 || digits(p + 1, 2, &h) || p[3] != ':' || digits(p + 4, 2, &m) || p[6] != ':' ||
		    digits(p + 7, 2, &sec))
			goto bad;
		p += 9;
		if (*p == '.') {
			p++;
			if (!isdigit((unsigned char)*p))
				goto bad;
			while (isdigit((unsigned char)*p))
				p++;
		}
	} else if (*p != '\0') {
		goto bad;
	}
	int offset = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh, om;
		if (strlen(p) != 6 || digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om) || oh > 23 ||
		    om > 59)
			goto bad;
		offset = (oh * 60 + om) * 60 * (*p == '-' ? -1 : 1);
		p += 6;
	} else if (s[10] != '\0') {
		goto bad; /* a time needs a zone */
	}
	if (*p != '\0' || M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
		goto bad;
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0;
	if (D > mdays[M - 1] || (M == 2 && D == 29 && !leap))
		goto bad;
	if (sec == 60 && (h != 23 || m != 59))
		goto bad; /* a leap second is only ever 23:59:60 */
	int64_t t = days_from_civil(Y, M, D) * 86400 + h * 3600 + m * 60 + sec - offset;
	/* 9999-12-31T23:59:59Z is the last instant X.509 (GeneralizedTime) and
	 * every time we compare against can express. */
	if (t > (int64_t)253402300799 || t < (int64_t)-62135596800)
		return vg_err_set(err, ERANGE, "invalid time '%s': outside years 0001..9999", s);
	*out_unix = t;
	return 0;
bad:
	return vg_err_set(err, EINVAL, "invalid RFC 3339 time '%s' (expected e.g. 2025-01-31T12:00:00Z)", s);
}

void vg_format_rfc3339(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm)) {
		snprintf(out, 32, "invalid-time");
		return;
	}
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int vg_parse_u64(const char *s, uint64_t max, uint64_t *out, struct vg_err *err)
{
	const char *p = s;
	unsigned base = 10;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	if (!*p)
		return vg_err_set(err, EINVAL, "'%s' is not a number", s);
	uint64_t v = 0;
	for (; *p; p++) {
		unsigned d;
		if (*p >= '0' && *p <= '9')
			d = (unsigned)(*p - '0');
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = (unsigned)(*p - 'a' + 10);
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			d = (unsigned)(*p - 'A' + 10);
		else
			return vg_err_set(err, EINVAL, "'%s' is not a number", s);
		if (v > (UINT64_MAX - d) / base)
			return vg_err_set(err, ERANGE, "'%s' is too large", s);
		v = v * base + d;
	}
	if (v > max)
		return vg_err_set(err, ERANGE, "'%s' is larger than the maximum %llu", s, (unsigned long long)max);
	*out = v;
	return 0;
}
