/*
 * HTTP for the KBS client, on libcurl: one handle per session (connection reuse), the
 * kbs-session-id cookie taken from Set-Cookie and sent back explicitly, bounded response
 * bodies, timeouts, http/https only, no redirects. https verifies the server certificate
 * and host name (system store or --cacert); plain http only when the URL says http.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "agent/http.h"

#define COOKIE_NAME "kbs-session-id"

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
	struct ag_http *h = ctx;
	size_t len = size * n;
	if (h->body.len + len > AG_RESPONSE_MAX) {
		h->too_big = true;
		return 0; /* aborts the transfer */
	}
	if (vg_buf_append(&h->body, p, len))
		return 0;
	return len;
}

/* Set-Cookie: kbs-session-id=VALUE[; attributes] */
static size_t on_header(char *p, size_t size, size_t n, void *ctx)
{
	struct ag_http *h = ctx;
	size_t len = size * n;
	static const char sc[] = "set-cookie:";
	if (len <= sizeof(sc) - 1 || strncasecmp(p, sc, sizeof(sc) - 1))
		return len;
	size_t i = sizeof(sc) - 1;
	while (i < len && (p[i] == ' ' || p[i] == '\t'))
		i++;
	size_t nl = strlen(COOKIE_NAME);
	if (len - i <= nl || memcmp(p + i, COOKIE_NAME, nl) || p[i + nl] != '=')
		return len;
	i += nl + 1;
	size_t s = i;
	/* RFC 6265 cookie-octets only; anything else ends the value. */
	while (i < len && p[i] > 0x20 && p[i] < 0x7f && p[i] != ';' && p[i] != ',' && p[i] != '"' && p[i] != '\\')
		i++;
	if (i - s == 0 || i - s >= sizeof(h->cookie) - sizeof(COOKIE_NAME) - 1)
		return len; /* empty or oversized: not taken */
	snprintf(h->cookie, sizeof(h->cookie), COOKIE_NAME "=%.*s", (int)(i - s), p + s);
	return len;
}

int ag_http_init(struct ag_http *h, const char *url, const char *cacert, long timeout_s, struct vg_err *err)
{
	memset(h, 0, sizeof(*h));
	bool https = !strncmp(url, "https://", 8), http = !strncmp(url, "http://", 7);
	if (!https && !http)
		return vg_err_set(err, EINVAL, "--url %s: must start with https:// (or http:// for plain HTTP)", url);
	size_t ul = strlen(url);
	while (ul && url[ul - 1] == '/')
		ul--;
	if (ul >= sizeof(h->base) || ul <= (size_t)(https ? 8 : 7))
		return vg_err_set(err, EINVAL, "--url: bad or too long URL");
	memcpy(h->base, url, ul);
	h->base[ul] = 0;
	if (strpbrk(h->base, "?# \t\r\n"))
		return vg_err_set(err, EINVAL, "--url %s: no query, fragment or spaces allowed", url);
	if (curl_global_init(CURL_GLOBAL_DEFAULT))
		return vg_err_set(err, EIO, "libcurl initialisation failed");
	h->curl = curl_easy_init();
	if (!h->curl)
		return vg_err_set(err, ENOMEM, "libcurl: out of memory");
	CURL *c = h->curl;
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s > 0 ? timeout_s : 30L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)AG_RESPONSE_MAX);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "vigil-agent/" VG_VERSION);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (cacert)
		curl_easy_setopt(c, CURLOPT_CAINFO, cacert);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->curl_err);
	return 0;
}

int ag_http_call(struct ag_http *h, const char *method, const char *path, const json_t *body, long *status,
		 struct vg_err *err)
{
	*status = 0;
	vg_buf_free(&h->body);
	h->too_big = false;
	h->curl_err[0] = 0;
	char url[sizeof(h->base) + 512];
	if ((size_t)snprintf(url, sizeof(url), "%s%s", h->base, path) >= sizeof(url))
		return vg_err_set(err, ENAMETOOLONG, "request URL too long");
	CURL *c = h->curl;
	struct curl_slist *hdr = NULL;
	char *text = NULL;
	curl_easy_setopt(c, CURLOPT_URL, url);
	if (!strcmp(method, "POST")) {
		text = json_dumps(body, JSON_COMPACT);
		if (!text)
			return vg_err_set(err, ENOMEM, "out of memory");
		hdr = curl_slist_append(hdr, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(text));
	} else {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	}
	hdr = curl_slist_append(hdr, "Accept: application/json");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_COOKIE, h->cookie[0] ? h->cookie : NULL);
	CURLcode cc = curl_easy_perform(c);
	curl_slist_free_all(hdr);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
	free(text);
	if (h->too_big || cc == CURLE_FILESIZE_EXCEEDED)
		return vg_err_set(err, EFBIG, "%s %s: response larger than %u bytes", method, path, AG_RESPONSE_MAX);
	if (cc != CURLE_OK)
		return vg_err_set(err, EHOSTUNREACH, "%s %s: %s", method, url,
				  h->curl_err[0] ? h->curl_err : curl_easy_strerror(cc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	/* Keep a NUL after the body for the JSON parser (not counted in len). */
	if (vg_buf_reserve(&h->body, 1))
		return vg_err_set(err, ENOMEM, "out of memory");
	h->body.data[h->body.len] = 0;
	return 0;
}

void ag_http_free(struct ag_http *h)
{
	if (h->curl)
		curl_easy_cleanup(h->curl);
	vg_buf_free_secret(&h->body);
	vg_secure_zero(h->cookie, sizeof(h->cookie));
	h->curl = NULL;
}
