/*
 * Admin API, Trustee's shape: POST/DELETE /kbs/v0/resource/<repo>/<type>/<tag>
 * (raw secret bytes), POST /kbs/v0/resource-policy and /kbs/v0/attestation-policy
 * ({"policy": base64 of the policy document}), GET /kbs/v0/resource-policy, plus
 * GET /kbs/v0/admin/resources and GET /kbs/v0/admin/audit?from=N&limit=M.
 * Every call needs Authorization: Bearer <JWT> signed (EdDSA or ES256) by one of
 * the --admin-key keys, with an exp in the future. Denied calls are audited.
 */
#include "attestd/attestd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

static bool audited_denial(struct ad_worker *w, const char *endpoint, const char *why, const struct ad_req *req,
			   struct ad_resp *resp)
{
	struct vg_err e = {0};
	struct ad_db *db = &w->db;
	if (db->ops->begin(db->s, &e)) {
		ad_resp_error(resp, 500, "AuditError", "the audit record could not be written");
		return false;
	}
	if (ad_audit(db, "admin.denied", "anonymous", "", "denied",
		     json_pack("{s:s,s:s,s:s?}", "endpoint", endpoint, "reason", why, "peer", req->peer), &e) ||
	    db->ops->commit(db->s, &e)) {
		db->ops->rollback(db->s);
		ad_resp_error(resp, 500, "AuditError", "the audit record could not be written");
		return false;
	}
	ad_resp_error(resp, 401, "AdminAuthAccess", "admin access denied for endpoint %s: %s", endpoint, why);
	return false;
}

/* 0 and actor filled when the Bearer token is a valid admin token. */
static bool admin_auth(struct ad_worker *w, const struct ad_req *req, const char *endpoint, char actor[128],
		       struct ad_resp *resp)
{
	struct ad_service *svc = w->svc;
	struct vg_err e = {0};
	const char *tok = NULL;
	size_t tlen = 0;
	if (!req->authorization)
		return audited_denial(w, endpoint, "no Authorization: Bearer token", req, resp);
	if (ad_parse_bearer(req->authorization, &tok, &tlen, &e))
		return audited_denial(w, endpoint, e.msg, req, resp);
	char *t = strndup(tok, tlen);
	if (!t) {
		ad_resp_error(resp, 500, "InternalError", "out of memory");
		return false;
	}
	uint8_t *payload = NULL;
	size_t plen = 0;
	size_t who = svc->n_admin_keys;
	char last[300] = "no admin key";
	for (size_t i = 0; i < svc->n_admin_keys && who == svc->n_admin_keys; i++) {
		struct vg_err ke = {0};
		if (!att_jws_verify(t, &svc->admin_keys[i], 1, ATT_JWS_EDDSA | ATT_JWS_ES256, &payload, &plen, NULL, &ke))
			who = i;
		else
			snprintf(last, sizeof(last), "%s", ke.msg);
	}
	free(t);
	if (who == svc->n_admin_keys) {
		char why[400];
		snprintf(why, sizeof(why), "the token does not verify with any --admin-key (%s)", last);
		return audited_denial(w, endpoint, why, req, resp);
	}
	json_t *claims = json_loadb((const char *)payload, plen, 0, NULL);
	free(payload);
	time_t now = time(NULL);
	json_t *exp = json_object_get(claims, "exp"), *nbf = json_object_get(claims, "nbf");
	const char *why = NULL;
	if (!json_is_object(claims))
		why = "the token's claims are not a JSON object";
	else if (!json_is_integer(exp) && !json_is_real(exp))
		why = "the token has no exp claim";
	else if (json_number_value(exp) <= (double)now)
		why = "the token has expired";
	else if (nbf && (!json_is_number(nbf) || json_number_value(nbf) > (double)now + 60))
		why = "the token is not valid yet (nbf)";
	json_decref(claims);
	if (why)
		return audited_denial(w, endpoint, why, req, resp);
	snprintf(actor, 128, "admin:%.16s", svc->admin_kids[who]);
	return true;
}

static void store_error(struct ad_resp *resp, const struct vg_err *e, const char *what)
{
	ad_logf(VG_LOG_ERROR, "store.failed", "%s: %s", what, e->msg);
	ad_resp_error(resp, e->code == EBUSY ? 503 : 500, "StorageError", "%s failed", what);
}

static void put_resource(struct ad_worker *w, const struct ad_req *req, const char *path, const char *actor,
			 struct ad_resp *resp)
{
	struct ad_db *db = &w->db;
	struct vg_err e = {0};
	if (!req->body_len)
		return ad_resp_error(resp, 400, "SerdeError", "the resource body is empty");
	if ((long)req->body_len > w->svc->cfg.max_body)
		return ad_resp_error(resp, 413, "PayloadTooLarge", "resource of %zu bytes, at most %ld", req->body_len,
				     w->svc->cfg.max_body);
	struct ad_resource r = {0}, old = {0};
	if (ad_kek_seal(&w->svc->kek, path, req->body, req->body_len, &r, &e))
		return ad_resp_error(resp, 500, "InternalError", "%s", e.msg);
	time_t now = time(NULL);
	if (db->ops->begin(db->s, &e))
		goto fail;
	int rc = db->ops->resource_get(db->s, path, &old, &e);
	if (rc && rc != -ENOENT)
		goto fail;
	r.version = rc ? 1 : old.version + 1;
	r.created = rc ? now : old.created;
	r.updated = now;
	if (db->ops->resource_put(db->s, &r, &e) ||
	    ad_audit(db, "resource.put", actor, path, "ok",
		     json_pack("{s:I,s:I,s:s}", "size", (json_int_t)r.size, "version", (json_int_t)r.version, "kek",
			       r.kek_id),
		     &e) ||
	    db->ops->commit(db->s, &e))
		goto fail;
	ad_resp_json(resp, 200, json_pack("{s:s,s:I,s:I}", "path", path, "version", (json_int_t)r.version, "size",
					  (json_int_t)r.size));
	goto out;
fail:
	db->ops->rollback(db->s);
	store_error(resp, &e, "storing the resource");
out:
	ad_resource_clear(&r);
	ad_resource_clear(&old);
}

static void delete_resource(struct ad_worker *w, const char *path, const char *actor, struct ad_resp *resp)
{
	struct ad_db *db = &w->db;
	struct vg_err e = {0};
	if (db->ops->begin(db->s, &e))
		return store_error(resp, &e, "deleting the resource");
	int rc = db->ops->resource_delete(db->s, path, &e);
	if (rc == -ENOENT) {
		db->ops->rollback(db->s);
		return ad_resp_error(resp, 404, "ResourceNotFound", "resource %s not found", path);
	}
	if (rc || ad_audit(db, "resource.delete", actor, path, "ok", NULL, &e) || db->ops->commit(db->s, &e)) {
		db->ops->rollback(db->s);
		return store_error(resp, &e, "deleting the resource");
	}
	ad_resp_json(resp, 200, json_pack("{s:s,s:b}", "path", path, "deleted", 1));
}

static int list_cb(void *arg, const struct ad_resource *r)
{
	json_array_append_new(arg, json_pack("{s:s,s:I,s:I,s:I,s:I}", "path", r->path, "size", (json_int_t)r->size,
					     "version", (json_int_t)r->version, "created", (json_int_t)r->created,
					     "updated", (json_int_t)r->updated));
	return 0;
}

json_t *ad_audit_rec_json(const struct ad_audit_rec *r)
{
	json_t *d = json_loads(r->detail ? r->detail : "{}", 0, NULL);
	return json_pack("{s:I,s:I,s:s,s:s,s:s,s:s,s:o,s:s,s:s}", "seq", (json_int_t)r->seq, "ts_ms", (json_int_t)r->ts,
			 "kind", r->kind, "actor", r->actor, "resource", r->resource, "outcome", r->outcome, "detail",
			 d ? d : json_object(), "prev_hash", r->prev_hash, "hash", r->hash);
}

static int audit_cb(void *arg, const struct ad_audit_rec *r)
{
	json_array_append_new(arg, ad_audit_rec_json(r));
	return 0;
}

static int64_t query_int(const char *q, const char *name, int64_t def, int64_t max)
{
	if (!q)
		return def;
	size_t n = strlen(name);
	for (const char *p = q; p && *p;) {
		if (!strncmp(p, name, n) && p[n] == '=') {
			uint64_t v = 0;
			char buf[24];
			const char *end = strchr(p + n + 1, '&');
			size_t l = end ? (size_t)(end - p - n - 1) : strlen(p + n + 1);
			if (l >= sizeof(buf))
				return def;
			memcpy(buf, p + n + 1, l);
			buf[l] = 0;
			if (vg_parse_u64(buf, (uint64_t)max, &v, NULL))
				return def;
			return (int64_t)v;
		}
		p = strchr(p, '&');
		if (p)
			p++;
	}
	return def;
}

static void set_policy(struct ad_worker *w, const struct ad_req *req, const char *actor, struct ad_resp *resp)
{
	struct vg_err e = {0};
	json_t *j = req->body_len ? json_loadb((const char *)req->body, req->body_len, JSON_REJECT_DUPLICATES, NULL) : NULL;
	const char *b64 = json_string_value(json_object_get(j, "policy"));
	if (!b64) {
		json_decref(j);
		return ad_resp_error(resp, 400, "ParsePolicyError",
				     "Failed to parse policy: Illegal SetPolicy Request Json (want {\"policy\": base64})");
	}
	uint8_t *doc = NULL;
	size_t dl = 0;
	size_t bl = strlen(b64);
	bool url = strpbrk(b64, "-_") || (bl % 4 != 0);
	if (att_b64_decode(b64, bl, url, &doc, &dl, &e) && att_b64_decode(b64, bl, !url, &doc, &dl, &e)) {
		json_decref(j);
		return ad_resp_error(resp, 400, "ParsePolicyError", "Failed to decode policy: %s", e.msg);
	}
	json_decref(j);
	char source[160];
	snprintf(source, sizeof(source), "%s", actor);
	int rc = ad_policy_install(w->svc, &w->db, (const char *)doc, dl, source, actor, &e);
	free(doc);
	if (rc == -EINVAL) {
		struct ad_db *db = &w->db;
		struct vg_err e2 = {0};
		if (!db->ops->begin(db->s, &e2) &&
		    !ad_audit(db, "policy.rejected", actor, "", "rejected", json_pack("{s:s}", "reason", e.msg), &e2))
			db->ops->commit(db->s, &e2);
		else
			db->ops->rollback(db->s);
		return ad_resp_error(resp, 400, "ParsePolicyError", "Failed to parse policy: %s", e.msg);
	}
	if (rc)
		return store_error(resp, &e, "installing the policy");
	struct ad_policy_ref *p = ad_policy_get(w->svc);
	ad_resp_json(resp, 200, json_pack("{s:I,s:s}", "version", (json_int_t)p->version, "digest", p->digest));
	ad_policy_put(p);
}

static void get_policy(struct ad_worker *w, struct ad_resp *resp)
{
	struct vg_err e = {0};
	struct ad_policy_version v = {0};
	if (w->db.ops->policy_latest(w->db.s, &v, &e))
		return store_error(resp, &e, "reading the policy");
	json_t *doc = json_loads(v.body, 0, NULL);
	ad_resp_json(resp, 200, json_pack("{s:I,s:s,s:s,s:I,s:o}", "version", (json_int_t)v.id, "digest", v.digest,
					  "source", v.source, "created", (json_int_t)v.created, "policy",
					  doc ? doc : json_string(v.body)));
	ad_policy_version_clear(&v);
}

void ad_admin(struct ad_worker *w, const struct ad_req *req, struct ad_resp *resp)
{
	const char *p = req->path;
	char actor[128], path[256];
	struct vg_err e = {0};
	enum { NONE, PUT, DEL, LIST, AUDIT, SETPOL, GETPOL } op = NONE;
	if (!strncmp(p, "/kbs/v0/resource/", 17) && (req->method == AD_POST || req->method == AD_PUT))
		op = PUT;
	else if (!strncmp(p, "/kbs/v0/resource/", 17) && req->method == AD_DELETE)
		op = DEL;
	else if (!strcmp(p, "/kbs/v0/admin/resources") && req->method == AD_GET)
		op = LIST;
	else if (!strcmp(p, "/kbs/v0/admin/audit") && req->method == AD_GET)
		op = AUDIT;
	else if ((!strcmp(p, "/kbs/v0/resource-policy") || !strcmp(p, "/kbs/v0/attestation-policy")) &&
		 req->method == AD_POST)
		op = SETPOL;
	else if (!strcmp(p, "/kbs/v0/resource-policy") && req->method == AD_GET)
		op = GETPOL;
	if (op == NONE)
		return ad_resp_error(resp, 404, "InvalidRequestPath", "Request path %.200s is invalid for this method", p);
	if ((op == PUT || op == DEL) && ad_parse_resource_path(p, path, &e))
		return ad_resp_error(resp, 404, "InvalidRequestPath", "%s", e.msg);
	if (!admin_auth(w, req, p + 8, actor, resp))
		return;
	switch (op) {
	case PUT: return put_resource(w, req, path, actor, resp);
	case DEL: return delete_resource(w, path, actor, resp);
	case LIST: {
		json_t *arr = json_array();
		if (w->db.ops->resource_each(w->db.s, list_cb, arr, &e)) {
			json_decref(arr);
			return store_error(resp, &e, "listing resources");
		}
		return ad_resp_json(resp, 200, json_pack("{s:o}", "resources", arr));
	}
	case AUDIT: {
		json_t *arr = json_array();
		int64_t from = query_int(req->query, "from", 1, INT64_MAX), limit = query_int(req->query, "limit", 1000, 100000);
		if (w->db.ops->audit_each(w->db.s, from, limit, audit_cb, arr, &e)) {
			json_decref(arr);
			return store_error(resp, &e, "reading the audit log");
		}
		return ad_resp_json(resp, 200, json_pack("{s:o}", "records", arr));
	}
	case SETPOL: return set_policy(w, req, actor, resp);
	case GETPOL: return get_policy(w, resp);
	default: return;
	}
}
