/*
 * The attester side of the KBS protocol 0.4.0: /kbs/v0/auth (challenge),
 * /kbs/v0/attest (evidence -> attest/ verifies -> policy/ appraises -> EAR
 * token) and GET /kbs/v0/resource/<repo>/<type>/<tag> (the policy's resource
 * rules decide; the secret leaves as a JWE to the session's tee-pubkey).
 * Every outcome is one audit record committed with the state change.
 */
#include "attestd/attestd.h"
#include "attestd/collateral/collateral.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

static void sha256_hex(const void *p, size_t n, char out[AD_HASH_HEX])
{
	uint8_t d[32];
	unsigned dl = 0;
	EVP_Digest(p, n, d, &dl, EVP_sha256(), NULL);
	vg_hex_encode(d, 32, out);
}

static void set_cookie(struct ad_resp *resp, const struct ad_session *s)
{
	time_t t = (time_t)s->expires;
	struct tm tm;
	gmtime_r(&t, &tm);
	char date[64];
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	snprintf(resp->set_cookie, sizeof(resp->set_cookie), "kbs-session-id=%s; Expires=%s", s->id, date);
}

static void actor_of(const char *sid, char out[128])
{
	snprintf(out, 128, "session:%s", sid && *sid ? sid : "none");
}

/* Audit a rejection in its own transaction; the caller answers the client either way
 * (a failure to write the record turns the answer into 500). */
static bool audit_alone(struct ad_worker *w, const char *kind, const char *sid, const char *resource,
			const char *outcome, json_t *detail, struct ad_resp *resp)
{
	struct vg_err e = {0};
	char actor[128];
	actor_of(sid, actor);
	struct ad_db *db = &w->db;
	if (db->ops->begin(db->s, &e)) {
		json_decref(detail);
		detail = NULL;
		goto fail;
	}
	if (ad_audit(db, kind, actor, resource, outcome, detail, &e) || db->ops->commit(db->s, &e)) {
	fail:
		db->ops->rollback(db->s);
		ad_logf(VG_LOG_ERROR, "audit.failed", "%s", e.msg);
		ad_resp_error(resp, 500, "AuditError", "the audit record could not be written");
		return false;
	}
	return true;
}

/* ------------------------------------------------------------------ auth */
void ad_kbs_auth(struct ad_worker *w, const struct ad_req *req, struct ad_resp *resp)
{
	struct ad_service *svc = w->svc;
	struct vg_err e = {0};
	struct ad_auth_req a;
	if (ad_parse_auth(req->body, req->body_len, &a, &e)) {
		if (audit_alone(w, "auth", NULL, "", "rejected", json_pack("{s:s,s:s?}", "reason", e.msg, "peer", req->peer),
				resp))
			ad_resp_error(resp, 400, "SerdeError", "Serialize/Deserialize failed: %s", e.msg);
		return;
	}
	if (strcmp(a.version, AD_KBS_VERSION)) {
		char why[160];
		snprintf(why, sizeof(why), "KBS Client Protocol Version Mismatch: expect =%s while the request is %s",
			 AD_KBS_VERSION, a.version);
		if (audit_alone(w, "auth", NULL, "", "rejected", json_pack("{s:s,s:s,s:s?}", "reason", why, "tee", a.tee, "peer", req->peer), resp))
			ad_resp_error(resp, 401, "AttestationError", "Attestation error: RCAR handshake Auth failed: %s", why);
		return;
	}
	if (strcmp(a.tee, "snp") && strcmp(a.tee, "tdx")) {
		if (audit_alone(w, "auth", NULL, "", "rejected",
				json_pack("{s:s,s:s,s:s?}", "reason", "unsupported tee", "tee", a.tee, "peer", req->peer), resp))
			ad_resp_error(resp, 401, "AttestationError",
				      "Attestation error: RCAR handshake Auth failed: tee '%s' is not supported by this service "
				      "(snp, tdx)",
				      a.tee);
		return;
	}
	time_t now = time(NULL);
	struct ad_db *db = &w->db;
	if (atomic_load(&svc->live_sessions) >= svc->cfg.max_sessions) {
		int64_t live = 0;
		if (!db->ops->session_purge(db->s, now, NULL, NULL) && !db->ops->session_count(db->s, now, &live, NULL))
			atomic_store(&svc->live_sessions, live);
		if (atomic_load(&svc->live_sessions) >= svc->cfg.max_sessions) {
			ad_resp_error(resp, 503, "SessionTableFull",
				      "the session table is full (%d live sessions); retry later", svc->cfg.max_sessions);
			return;
		}
	}
	struct ad_session s = {.state = AD_SESS_AUTHED, .created = now, .expires = now + svc->cfg.session_seconds};
	uint8_t rnd[32], id[16];
	if (RAND_bytes(rnd, sizeof(rnd)) != 1 || RAND_bytes(id, sizeof(id)) != 1)
		return ad_resp_error(resp, 500, "InternalError", "random generator failed");
	vg_hex_encode(id, sizeof(id), s.id);
	snprintf(s.tee, sizeof(s.tee), "%s", a.tee);
	char *nonce = att_b64_encode(rnd, sizeof(rnd), false);
	if (!nonce)
		return ad_resp_error(resp, 500, "InternalError", "out of memory");
	snprintf(s.nonce, sizeof(s.nonce), "%s", nonce);
	free(nonce);
	char actor[128];
	actor_of(s.id, actor);
	if (db->ops->begin(db->s, &e) || db->ops->session_insert(db->s, &s, &e) ||
	    ad_audit(db, "auth", actor, "", "ok", json_pack("{s:s,s:s,s:s?}", "tee", s.tee, "version", a.version, "peer", req->peer),
		     &e) ||
	    db->ops->commit(db->s, &e)) {
		db->ops->rollback(db->s);
		ad_logf(VG_LOG_ERROR, "store.failed", "auth: %s", e.msg);
		return ad_resp_error(resp, e.code == EBUSY ? 503 : 500, "StorageError", "session could not be stored");
	}
	atomic_fetch_add(&svc->live_sessions, 1);
	set_cookie(resp, &s);
	ad_resp_json(resp, 200, json_pack("{s:s,s:s}", "nonce", s.nonce, "extra-params", ""));
}

/* --------------------------------------------------------------- attest */
static json_t *measurement_json(const struct att_result *res)
{
	if (!res->parsed)
		return NULL;
	char hex[97];
	if (res->platform == ATT_PLATFORM_SNP)
		vg_hex_encode(res->snp.measurement, 48, hex);
	else if (res->platform == ATT_PLATFORM_TDX)
		vg_hex_encode(res->tdx.body.mr_td, 48, hex);
	else
		return NULL;
	return json_string(hex);
}

static char *join_explanations(const json_t *ex, size_t cap)
{
	struct vg_buf b = {0};
	size_t i;
	json_t *v;
	json_array_foreach(ex, i, v)
	{
		if (!json_is_string(v))
			continue;
		vg_buf_printf(&b, "%s%s", b.len ? "; " : "", json_string_value(v));
		if (b.len > cap)
			break;
	}
	if (!b.data)
		return strdup("no explanation");
	return (char *)b.data;
}

/* Marks the session's nonce spent and audits the failure; answers 401. */
static void attest_fail(struct ad_worker *w, struct ad_session *s, const char *status, const char *reason,
			json_t *detail, struct ad_resp *resp, int http, const char *type)
{
	struct vg_err e = {0};
	struct ad_db *db = &w->db;
	char actor[128];
	actor_of(s ? s->id : NULL, actor);
	if (!detail)
		detail = json_object();
	json_object_set_new(detail, "reason", json_string(reason));
	if (s && s->tee[0])
		json_object_set_new(detail, "tee", json_string(s->tee));
	if (db->ops->begin(db->s, &e))
		goto fail;
	if (s && s->id[0]) {
		struct ad_session cur = {0};
		if (!db->ops->session_get(db->s, s->id, &cur, NULL) && cur.state == AD_SESS_AUTHED) {
			cur.state = AD_SESS_FAILED;
			if (db->ops->session_update(db->s, &cur, &e)) {
				ad_session_clear(&cur);
				goto fail;
			}
		}
		ad_session_clear(&cur);
	}
	if (ad_audit(db, "attest", actor, "", status, detail, &e))
		goto fail_nodetail;
	detail = NULL;
	if (db->ops->commit(db->s, &e))
		goto fail_nodetail;
	ad_metrics_verdict(strcmp(status, "contraindicated") ? POL_NONE : POL_CONTRAINDICATED);
	ad_resp_error(resp, http, type, "Attestation error: RCAR handshake Attest failed: %s", reason);
	return;
fail:
	json_decref(detail);
fail_nodetail:
	db->ops->rollback(db->s);
	ad_logf(VG_LOG_ERROR, "audit.failed", "attest: %s", e.msg);
	ad_resp_error(resp, 500, "AuditError", "the audit record could not be written");
}

/* What the session keeps of an appraisal: pol_appraisal_json without the claims (they
 * stay in the token and the audit record); pol_appraisal_from_json rebuilds it for the
 * resource rules. */
static char *appraisal_store_text(const struct pol_appraisal *a)
{
	json_t *j = pol_appraisal_json(a);
	if (!j)
		return NULL;
	json_object_del(j, "claims");
	char *s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return s;
}

static int appraisal_from_store(const char *text, struct pol_appraisal *a)
{
	memset(a, 0, sizeof(*a));
	json_t *j = text ? json_loads(text, 0, NULL) : NULL;
	int rc = j ? pol_appraisal_from_json(j, a, NULL) : -EBADMSG;
	json_decref(j);
	return rc;
}

void ad_kbs_attest(struct ad_worker *w, const struct ad_req *req, struct ad_resp *resp)
{
	struct ad_service *svc = w->svc;
	struct ad_db *db = &w->db;
	struct vg_err e = {0};
	struct ad_session s = {0};
	struct ad_attest_req ar = {0};
	struct ad_evidence ev = {0};
	struct att_result res;
	struct pol_appraisal ap;
	struct ad_policy_ref *pol = NULL;
	EVP_PKEY *teekey = NULL;
	char *token = NULL, *stored = NULL, *pubkey_text = NULL;
	att_result_init(&res);
	memset(&ap, 0, sizeof(ap));
	char sid[40] = "";
	time_t now = time(NULL);

	if (ad_parse_cookie(req->cookie, sid, &e)) {
		attest_fail(w, NULL, "rejected", e.msg, json_pack("{s:s?}", "peer", req->peer), resp, 401, "AttestationError");
		goto out;
	}
	ad_policy_follow(svc, db); /* another instance may have installed a newer policy */
	int rc = db->ops->session_get(db->s, sid, &s, &e);
	if (rc) {
		struct ad_session ghost = {0};
		snprintf(ghost.id, sizeof(ghost.id), "%s", sid);
		attest_fail(w, &ghost, "rejected", rc == -ENOENT ? "session not found" : e.msg, NULL, resp,
			    rc == -ENOENT ? 401 : 500, rc == -ENOENT ? "AttestationError" : "StorageError");
		goto out;
	}
	if (s.expires <= now) {
		attest_fail(w, &s, "rejected", "session expired", NULL, resp, 401, "AttestationError");
		goto out;
	}
	if (s.state != AD_SESS_AUTHED) {
		attest_fail(w, &s, "rejected",
			    "the session's nonce was already used (a nonce is good for one attestation; start again at /kbs/v0/auth)",
			    NULL, resp, 401, "AttestationError");
		goto out;
	}
	if (ad_parse_attest(req->body, req->body_len, &ar, &e)) {
		attest_fail(w, &s, "rejected", e.msg, NULL, resp, 400, "SerdeError");
		goto out;
	}
	if (strcmp(ar.nonce, s.nonce)) {
		attest_fail(w, &s, "rejected",
			    "the nonce in the handshake session is different from the client side in KBS protocol's "
			    "Attestation message",
			    NULL, resp, 401, "AttestationError");
		goto out;
	}
	if (att_jwk_to_pkey(ar.tee_pubkey, &teekey, &e)) {
		char why[600];
		snprintf(why, sizeof(why), "runtime-data.tee-pubkey: %s", e.msg);
		attest_fail(w, &s, "rejected", why, NULL, resp, 400, "SerdeError");
		goto out;
	}
	uint8_t rd[ATT_REPORT_DATA_LEN];
	if (att_kbs_report_data(s.nonce, ar.tee_pubkey, ar.additional, rd, &e)) {
		attest_fail(w, &s, "rejected", e.msg, NULL, resp, 400, "SerdeError");
		goto out;
	}
	if (ad_parse_evidence(s.tee, ar.primary, &ev, &e)) {
		attest_fail(w, &s, "rejected", e.msg, NULL, resp, 400, "SerdeError");
		goto out;
	}
	if ((rc = ad_coll_complete_evidence(svc, &ev, &e))) { /* no certificate table: the collateral cache */
		bool later = rc == -EAGAIN || rc == -EIO || rc == -EFBIG;
		attest_fail(w, &s, later ? "error" : "rejected", e.msg, NULL, resp, later ? 503 : rc == -EINVAL ? 400 : 401,
			    later ? "CollateralUnavailable" : rc == -EINVAL ? "SerdeError" : "AttestationError");
		goto out;
	}
	uint8_t idd[48];
	size_t idd_len = 0;
	if (ar.init_format) {
		idd_len = ev.platform == ATT_PLATFORM_SNP ? 32 : 48;
		if (att_init_data_digest(ar.init_format, ar.init_body, idd_len, idd, NULL, &e)) {
			attest_fail(w, &s, "rejected", e.msg, NULL, resp, 400, "SerdeError");
			goto out;
		}
	}
	if (ad_verify_evidence(w, &ev, &res, &e)) {
		/* collateral cache: PCS unavailable -> 503; PCS material that does not verify -> 401 */
		bool later = e.code == EAGAIN || e.code == EIO, bad = e.code == EACCES;
		attest_fail(w, &s, bad ? "rejected" : "error", e.msg, NULL, resp, later ? 503 : bad ? 401 : 500,
			    later ? "CollateralUnavailable" : bad ? "AttestationError" : "InternalError");
		goto out;
	}
	pol = ad_policy_get(svc);
	struct pol_context ctx = {.expected_report_data = rd, .now = now, .init_data_digest = idd_len ? idd : NULL,
				  .init_data_digest_len = idd_len};
	if (pol_appraise(pol->pol, &res, &ctx, &ap, &e)) {
		attest_fail(w, &s, "error", e.msg, NULL, resp, 500, "InternalError");
		goto out;
	}
	json_t *detail = json_pack("{s:s,s:s,s:b,s:b,s:o?,s:O?,s:I,s:s,s:b}", "status", pol_status_name(ap.status),
				   "workload", ap.workload, "simulated", ap.simulated, "verified", res.verified,
				   "measurement", measurement_json(&res), "explanations", ap.explanations,
				   "policy_version", (json_int_t)pol->version, "policy_digest", pol->digest, "init_data",
				   idd_len > 0);
	if (ap.status != POL_AFFIRMING && ap.status != POL_WARNING) {
		char *why = join_explanations(ap.explanations, 2800);
		char reason[3000];
		snprintf(reason, sizeof(reason), "verify TEE evidence failed: %s: %s", pol_status_name(ap.status),
			 why ? why : "");
		free(why);
		attest_fail(w, &s, pol_status_name(ap.status), reason, detail, resp, 401, "AttestationError");
		goto out;
	}
	struct pol_ear_opts eo = {.issuer = svc->cfg.issuer, .kid = svc->token_kid, .nonce_b64 = s.nonce,
				  .ttl_seconds = (long)VG_MAX(s.expires - now, 1), .names = POL_EAR_NAMES_DRAFT};
	if (pol_ear_jwt(&ap, svc->token_key, &eo, &token, &e)) {
		json_decref(detail);
		attest_fail(w, &s, "error", e.msg, NULL, resp, 500, "InternalError");
		goto out;
	}
	stored = appraisal_store_text(&ap);
	pubkey_text = json_dumps(ar.tee_pubkey, JSON_COMPACT);
	if (!stored || !pubkey_text) {
		json_decref(detail);
		attest_fail(w, &s, "error", "out of memory", NULL, resp, 500, "InternalError");
		goto out;
	}
	char actor[128];
	actor_of(s.id, actor);
	if ((rc = db->ops->begin(db->s, &e))) {
		json_decref(detail);
		goto store_fail;
	}
	struct ad_session cur = {0};
	if ((rc = db->ops->session_get(db->s, s.id, &cur, &e)) || cur.state != AD_SESS_AUTHED) {
		ad_session_clear(&cur);
		db->ops->rollback(db->s);
		json_decref(detail);
		attest_fail(w, &s, "rejected", "the session's nonce was already used (concurrent attestation)", NULL, resp,
			    401, "AttestationError");
		goto out;
	}
	ad_session_clear(&cur);
	s.state = AD_SESS_ATTESTED;
	free(s.tee_pubkey), s.tee_pubkey = pubkey_text, pubkey_text = NULL;
	free(s.appraisal), s.appraisal = stored, stored = NULL;
	free(s.token), s.token = strdup(token);
	sha256_hex(token, strlen(token), s.token_hash);
	if (!s.token || (rc = db->ops->session_update(db->s, &s, &e))) {
		json_decref(detail);
		db->ops->rollback(db->s);
		goto store_fail;
	}
	if ((rc = ad_audit(db, "attest", actor, "", pol_status_name(ap.status), detail, &e)) ||
	    (rc = db->ops->commit(db->s, &e))) {
		db->ops->rollback(db->s);
		goto store_fail;
	}
	ad_metrics_verdict(ap.status);
	set_cookie(resp, &s);
	ad_resp_json(resp, 200, json_pack("{s:s}", "token", token));
	goto out;
store_fail:
	ad_logf(VG_LOG_ERROR, "store.failed", "attest: %s", e.msg);
	ad_resp_error(resp, e.code == EBUSY ? 503 : 500, "StorageError", "the attestation could not be stored");
out:
	free(token);
	free(stored);
	free(pubkey_text);
	EVP_PKEY_free(teekey);
	pol_appraisal_free(&ap);
	att_result_free(&res);
	ad_policy_put(pol);
	ad_evidence_free(&ev);
	ad_attest_req_free(&ar);
	ad_session_clear(&s);
}

/* ------------------------------------------------------------- resource */
static void deny(struct ad_worker *w, const struct ad_session *s, const char *path, const char *outcome, int http,
		 const char *type, const char *detail_text, struct ad_resp *resp)
{
	ad_metrics_denial();
	if (!audit_alone(w, "deny", s ? s->id : NULL, path, outcome, json_pack("{s:s}", "reason", detail_text), resp))
		return;
	ad_resp_error(resp, http, type, "%s", detail_text);
}

void ad_kbs_resource(struct ad_worker *w, const struct ad_req *req, const char *path, struct ad_resp *resp)
{
	struct ad_service *svc = w->svc;
	struct ad_db *db = &w->db;
	struct vg_err e = {0};
	struct ad_session s = {0};
	struct pol_appraisal ap;
	struct ad_resource r = {0};
	struct ad_policy_ref *pol = NULL;
	uint8_t *pt = NULL;
	size_t ptlen = 0;
	EVP_PKEY *teekey = NULL;
	json_t *jwe = NULL, *jwk = NULL;
	memset(&ap, 0, sizeof(ap));
	time_t now = time(NULL);
	char detail[3072];
	ad_policy_follow(svc, db); /* another instance may have installed a newer policy */

	if (req->authorization) {
		const char *tok = NULL;
		size_t tlen = 0;
		uint8_t *payload = NULL;
		size_t plen = 0;
		char tokz[16385];
		if (ad_parse_bearer(req->authorization, &tok, &tlen, &e)) {
			snprintf(detail, sizeof(detail), "Token Verifier error: %s", e.msg);
			deny(w, NULL, path, "unauthenticated", 401, "TokenVerifierError", detail, resp);
			goto out;
		}
		memcpy(tokz, tok, tlen);
		tokz[tlen] = 0;
		if (att_jws_verify(tokz, &svc->token_key, 1, ATT_JWS_ES256 | ATT_JWS_ES384, &payload, &plen, NULL, &e)) {
			snprintf(detail, sizeof(detail), "Token Verifier error: %s", e.msg);
			deny(w, NULL, path, "unauthenticated", 401, "TokenVerifierError", detail, resp);
			goto out;
		}
		json_t *claims = json_loadb((const char *)payload, plen, 0, NULL);
		free(payload);
		json_t *exp = json_object_get(claims, "exp");
		bool expired = !json_is_integer(exp) || json_integer_value(exp) <= now;
		json_decref(claims);
		if (expired) {
			deny(w, NULL, path, "unauthenticated", 401, "TokenVerifierError",
			     "Token Verifier error: the attestation token has expired", resp);
			goto out;
		}
		char th[AD_HASH_HEX];
		sha256_hex(tokz, tlen, th);
		if (db->ops->session_get_by_token(db->s, th, &s, &e)) {
			deny(w, NULL, path, "unauthenticated", 401, "TokenVerifierError",
			     "Token Verifier error: no live attestation for this token", resp);
			goto out;
		}
	} else {
		char sid[40];
		if (ad_parse_cookie(req->cookie, sid, &e)) {
			deny(w, NULL, path, "unauthenticated", 401, "TokenNotFound",
			     "Attestation Token not found: send the kbs-session-id cookie or Authorization: Bearer <token>",
			     resp);
			goto out;
		}
		if (db->ops->session_get(db->s, sid, &s, &e)) {
			struct ad_session ghost = {0};
			snprintf(ghost.id, sizeof(ghost.id), "%s", sid);
			deny(w, &ghost, path, "unauthenticated", 401, "TokenNotFound", "Attestation Token not found: session not found",
			     resp);
			goto out;
		}
	}
	if (s.expires <= now) {
		deny(w, &s, path, "unauthenticated", 401, "TokenNotFound", "Attestation Token not found: the session is expired", resp);
		goto out;
	}
	if (s.state != AD_SESS_ATTESTED) {
		deny(w, &s, path, "unauthenticated", 401, "TokenNotFound",
		     "Attestation Token not found: the session is not attested", resp);
		goto out;
	}
	if (appraisal_from_store(s.appraisal, &ap)) {
		deny(w, &s, path, "error", 500, "InternalError", "stored appraisal unreadable", resp);
		goto out;
	}
	pol = ad_policy_get(svc);
	struct vg_err why = {0};
	int rc = pol_resource_allowed(pol->pol, &ap, path, &why);
	if (rc) {
		char *ex = join_explanations(ap.explanations, 2000);
		snprintf(detail, sizeof(detail), "Access denied by policy: %s; appraisal: %s",
			 why.msg[0] ? why.msg : "no rule allows it", ex ? ex : "");
		free(ex);
		deny(w, &s, path, "denied", 403, "PolicyDeny", detail, resp);
		goto out;
	}
	rc = db->ops->resource_get(db->s, path, &r, &e);
	if (rc == -ENOENT) {
		snprintf(detail, sizeof(detail), "resource %s not found", path);
		deny(w, &s, path, "not-found", 404, "ResourceNotFound", detail, resp);
		goto out;
	}
	if (rc) {
		deny(w, &s, path, "error", 500, "StorageError", "resource could not be read", resp);
		goto out;
	}
	jwk = json_loads(s.tee_pubkey ? s.tee_pubkey : "", 0, NULL);
	if (!jwk || att_jwk_to_pkey(jwk, &teekey, &e)) {
		deny(w, &s, path, "error", 500, "JweError", "JWE failed: the session's tee-pubkey is unusable", resp);
		goto out;
	}
	if (ad_kek_open(&svc->kek, &r, &pt, &ptlen, &e)) {
		ad_logf(VG_LOG_ERROR, "kek.open_failed", "%s", e.msg);
		deny(w, &s, path, "error", 500, "PluginInternalError", "Plugin internal error: the resource cannot be unsealed",
		     resp);
		goto out;
	}
	rc = att_jwe_encrypt(teekey, pt, ptlen, &jwe, &e);
	vg_secure_zero(pt, ptlen);
	free(pt);
	pt = NULL;
	if (rc) {
		snprintf(detail, sizeof(detail), "JWE failed: %s", e.msg);
		deny(w, &s, path, "error", 500, "JweError", detail, resp);
		goto out;
	}
	char actor[128];
	actor_of(s.id, actor);
	json_t *ad = json_pack("{s:s,s:s,s:b,s:I,s:I,s:s,s:s}", "workload", ap.workload, "status",
			       pol_status_name(ap.status), "simulated", ap.simulated, "size", (json_int_t)r.size,
			       "version", (json_int_t)r.version, "via", req->authorization ? "token" : "cookie", "alg",
			       "JWE");
	if (db->ops->begin(db->s, &e) || ad_audit(db, "release", actor, path, "ok", ad, &e) ||
	    db->ops->commit(db->s, &e)) {
		db->ops->rollback(db->s);
		ad_logf(VG_LOG_ERROR, "audit.failed", "release: %s", e.msg);
		ad_resp_error(resp, 500, "AuditError", "the release could not be audited; nothing was released");
		goto out;
	}
	ad_metrics_release();
	resp->secret = true;
	ad_resp_json(resp, 200, jwe);
	jwe = NULL;
out:
	json_decref(jwe);
	json_decref(jwk);
	EVP_PKEY_free(teekey);
	ad_resource_clear(&r);
	ad_policy_put(pol);
	pol_appraisal_free(&ap);
	ad_session_clear(&s);
}
