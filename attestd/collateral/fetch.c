/* One bounded GET against AMD KDS or Intel PCS with libcurl, and the backoff
 * that keeps us within their rate limits: a 429 or 503 answer sets "no request
 * before now + Retry-After" (default 60 s); other 5xx and network failures back
 * off exponentially (2, 4, 8 ... 300 s). While backing off no request is sent
 * and the caller gets -EAGAIN at once. */
#include "attestd/collateral/internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#define RETRY_DEFAULT 60
#define RETRY_MAX 86400
#define BACKOFF_MAX 300

int ad_coll_parse_retry_after(const char *v, size_t len, time_t now, long *seconds)
{
	while (len && (*v == ' ' || *v == '\t'))
		v++, len--;
	while (len && (v[len - 1] == ' ' || v[len - 1] == '\t' || v[len - 1] == '\r' || v[len - 1] == '\n'))
		len--;
	if (!len || len > 64)
		return -EINVAL;
	char b[65];
	memcpy(b, v, len);
	b[len] = 0;
	bool digits = true;
	for (size_t i = 0; i < len; i++)
		digits &= isdigit((unsigned char)b[i]) != 0;
	if (digits) {
		if (len > 9) { /* beyond a day anyway */
			*seconds = RETRY_MAX;
			return 0;
		}
		long s = strtol(b, NULL, 10);
		*seconds = s > RETRY_MAX ? RETRY_MAX : s;
		return 0;
	}
	/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" (the only form senders generate). */
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *end = strptime(b, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (!end || *end)
		return -EINVAL;
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	long d = t > now ? (long)(t - now) : 0;
	*seconds = d > RETRY_MAX ? RETRY_MAX : d;
	return 0;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = (char)tolower((unsigned char)ch);
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

int ad_coll_url_decode(const char *in, size_t len, char **out, size_t *out_len)
{
	char *o = malloc(len + 1);
	if (!o)
		return -ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < len; i++) {
		if (in[i] == '%') {
			if (len - i < 3) { /* '%' needs two hex digits after it */
				free(o);
				return -EINVAL;
			}
			int h = hexval(in[i + 1]), l = hexval(in[i + 2]);
			if (h < 0 || l < 0) {
				free(o);
				return -EINVAL;
			}
			o[k++] = (char)(h << 4 | l);
			i += 2;
		} else {
			o[k++] = in[i];
		}
	}
	o[k] = 0;
	*out = o;
	*out_len = k;
	return 0;
}

void coll_resp_free(struct coll_resp *r)
{
	vg_buf_free(&r->body);
	free(r->header_value);
	memset(r, 0, sizeof(*r));
}

struct cb_state {
	struct coll_resp *r;
	const char *want; /* header name to capture */
	char retry_after[72];
	bool too_big;
};

static size_t body_cb(char *p, size_t sz, size_t n, void *arg)
{
	struct cb_state *s = arg;
	size_t len = sz * n;
	if (s->r->body.len + len > AD_COLL_MAX_BODY) {
		s->too_big = true;
		return 0;
	}
	return vg_buf_append(&s->r->body, p, len) ? 0 : len;
}

/* "Name: value\r\n" lines; values are bounded by libcurl's header size limit. */
static size_t header_cb(char *p, size_t sz, size_t n, void *arg)
{
	struct cb_state *s = arg;
	size_t len = sz * n;
	const char *colon = memchr(p, ':', len);
	if (!colon)
		return len;
	size_t nl = (size_t)(colon - p);
	const char *v = colon + 1;
	size_t vl = len - nl - 1;
	while (vl && (*v == ' ' || *v == '\t'))
		v++, vl--;
	while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
		vl--;
	if (nl == 11 && !strncasecmp(p, "Retry-After", 11)) {
		size_t c = vl < sizeof(s->retry_after) - 1 ? vl : sizeof(s->retry_after) - 1;
		memcpy(s->retry_after, v, c);
		s->retry_after[c] = 0;
	} else if (s->want && nl == strlen(s->want) && !strncasecmp(p, s->want, nl)) {
		free(s->r->header_value);
		s->r->header_value = NULL;
		if (ad_coll_url_decode(v, vl, &s->r->header_value, &s->r->header_len))
			s->r->header_value = NULL; /* a malformed chain header: treated as missing */
	}
	return len;
}

static void backoff(struct ad_coll *c, struct ad_coll_backoff *bo, long seconds)
{
	pthread_mutex_lock(&c->lock);
	bo->failures++;
	time_t nb = time(NULL) + seconds;
	if (nb > bo->not_before)
		bo->not_before = nb;
	pthread_mutex_unlock(&c->lock);
}

int coll_get(struct ad_coll *c, bool kds, const char *rel, const char *header, struct coll_resp *r,
	     struct vg_err *err)
{
	memset(r, 0, sizeof(*r));
	const char *who = kds ? "AMD KDS" : "Intel PCS";
	const char *base = kds ? c->kds : c->pcs;
	struct ad_coll_backoff *bo = kds ? &c->kds_bo : &c->pcs_bo;
	if (!base[0])
		return vg_err_set(err, ENOENT, "%s: not cached and no %s configured (offline)", rel,
				  kds ? "--kds-url" : "--pcs-url");
	time_t now = time(NULL);
	pthread_mutex_lock(&c->lock);
	time_t nb = bo->not_before;
	if (now >= nb)
		c->requests++;
	pthread_mutex_unlock(&c->lock);
	if (now < nb)
		return vg_err_set(err, EAGAIN, "%s asked us to back off: next request in %lld s", who,
				  (long long)(nb - now));
	char url[2048];
	int n = snprintf(url, sizeof(url), "%s/%s", base, rel);
	if (n < 0 || (size_t)n >= sizeof(url))
		return vg_err_set(err, ENAMETOOLONG, "%s: URL too long", who);
	CURL *h = curl_easy_init();
	if (!h)
		return vg_err_set(err, ENOMEM, "libcurl: cannot create a handle");
	struct cb_state st = {.r = r, .want = header};
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, c->timeout);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, c->timeout < 5 ? c->timeout : 5L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &st);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &st);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "vigil-attestd");
	CURLcode cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_cleanup(h);
	if (cc != CURLE_OK) {
		int fails = bo->failures;
		long wait = fails >= 7 ? BACKOFF_MAX : (2L << fails);
		backoff(c, bo, wait > BACKOFF_MAX ? BACKOFF_MAX : wait);
		int rc = vg_err_set(err, st.too_big ? EFBIG : EIO, "%s %s: %s", who, url,
				    st.too_big ? "response larger than 1 MiB" : curl_easy_strerror(cc));
		coll_resp_free(r);
		return rc;
	}
	if (r->status == 200) {
		pthread_mutex_lock(&c->lock);
		bo->failures = 0;
		pthread_mutex_unlock(&c->lock);
		return 0;
	}
	long status = r->status;
	coll_resp_free(r);
	if (status == 404 || status == 400)
		return vg_err_set(err, ENOENT, "%s %s: HTTP %ld (not known to %s)", who, url, status, who);
	if (status == 429 || status == 503) {
		long wait = RETRY_DEFAULT;
		if (st.retry_after[0] &&
		    ad_coll_parse_retry_after(st.retry_after, strlen(st.retry_after), time(NULL), &wait))
			wait = RETRY_DEFAULT;
		if (wait < 1)
			wait = 1;
		backoff(c, bo, wait);
		return vg_err_set(err, EAGAIN, "%s %s: HTTP %ld, rate limited: next request in %ld s", who, url,
				  status, wait);
	}
	if (status >= 500) {
		int fails = bo->failures;
		long wait = fails >= 7 ? BACKOFF_MAX : (2L << fails);
		backoff(c, bo, wait);
		return vg_err_set(err, EIO, "%s %s: HTTP %ld: backing off %ld s", who, url, status, wait);
	}
	return vg_err_set(err, EIO, "%s %s: unexpected HTTP %ld", who, url, status);
}
