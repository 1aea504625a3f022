/* Request routing, response helpers and RFC 7807 errors. */
#include "attestd/attestd.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ad_resp_free(struct ad_resp *r)
{
	if (r->secret)
		vg_buf_free_secret(&r->body);
	else
		vg_buf_free(&r->body);
}

void ad_resp_text(struct ad_resp *r, int status, const char *ctype, const char *text, size_t len)
{
	r->status = status;
	r->content_type = ctype;
	r->body.len = 0;
	if (vg_buf_append(&r->body, text, len))
		r->status = 500;
}

void ad_resp_json(struct ad_resp *r, int status, json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(j);
	if (!s) {
		ad_resp_text(r, 500, "application/json", "{}", 2);
		return;
	}
	ad_resp_text(r, status, "application/json", s, strlen(s));
	if (r->secret)
		vg_secure_zero(s, strlen(s));
	free(s);
}

void ad_resp_error(struct ad_resp *r, int status, const char *type, const char *fmt, ...)
{
	char detail[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	char t[160];
	snprintf(t, sizeof(t), AD_ERR_PREFIX "%s", type);
	r->secret = false;
	ad_resp_json(r, status, json_pack("{s:s,s:s}", "type", t, "detail", detail));
	r->content_type = "application/json";
}

static bool path_is(const char *p, const char *want) { return !strcmp(p, want); }

void ad_handle(struct ad_worker *w, const struct ad_req *req, struct ad_resp *resp)
{
	const char *p = req->path;
	resp->ep = AD_EP_OTHER;
	if (path_is(p, "/kbs/v0/auth")) {
		resp->ep = AD_EP_AUTH;
		if (req->method != AD_POST)
			return ad_resp_error(resp, 405, "MethodNotAllowed", "%s only accepts POST", p);
		return ad_kbs_auth(w, req, resp);
	}
	if (path_is(p, "/kbs/v0/attest")) {
		resp->ep = AD_EP_ATTEST;
		if (req->method != AD_POST)
			return ad_resp_error(resp, 405, "MethodNotAllowed", "%s only accepts POST", p);
		return ad_kbs_attest(w, req, resp);
	}
	if (!strncmp(p, "/kbs/v0/resource/", 17) && req->method == AD_GET) {
		resp->ep = AD_EP_RESOURCE;
		char path[256];
		struct vg_err e = {0};
		if (ad_parse_resource_path(p, path, &e))
			return ad_resp_error(resp, 404, "InvalidRequestPath", "%s", e.msg);
		return ad_kbs_resource(w, req, path, resp);
	}
	if (!strncmp(p, "/kbs/v0/", 8)) {
		resp->ep = AD_EP_ADMIN;
		return ad_admin(w, req, resp);
	}
	if (path_is(p, "/.well-known/jwks.json") && req->method == AD_GET) {
		resp->ep = AD_EP_JWKS;
		const char *t = w->svc->jwks_text;
		return ad_resp_text(resp, 200, "application/json", t, strlen(t));
	}
	if (path_is(p, "/metrics") && req->method == AD_GET) {
		char *t = ad_metrics_text();
		if (!t)
			return ad_resp_error(resp, 500, "InternalError", "out of memory");
		ad_resp_text(resp, 200, "text/plain; version=0.0.4", t, strlen(t));
		free(t);
		return;
	}
	if (path_is(p, "/healthz") && req->method == AD_GET)
		return ad_resp_text(resp, 200, "text/plain", "ok\n", 3);
	ad_resp_error(resp, 404, "InvalidRequestPath", "Request path %.200s is invalid", p);
}
