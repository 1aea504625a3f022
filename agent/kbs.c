/*
 * The KBS 0.4.0 client flow (Trustee kbs_attestation_protocol.md; docs/agent.md):
 *
 *   POST /kbs/v0/auth    {"version":"0.4.0","tee":T,"extra-params":{}}
 *                        -> Set-Cookie kbs-session-id, {"nonce": N, "extra-params": ...}
 *   a fresh P-256 key pair; tee-pubkey = its public JWK
 *   REPORT_DATA = SHA-384(JCS{"additional-evidence":"","nonce":N,"tee-pubkey":JWK}) || 0^16
 *   evidence bound to REPORT_DATA (agent/evidence.c)
 *   POST /kbs/v0/attest  {"runtime-data":{"nonce":N,"tee-pubkey":JWK},
 *                         "tee-evidence":{"primary_evidence":E,"additional_evidence":""}
 *                         [, "init-data":{"format":"toml"|"json","body":B}]}
 *                        -> {"token": EAR JWT}
 *   GET  /kbs/v0/resource/<repository>/<type>/<tag>  -> JWE (flattened) wrapped to JWK
 * Failures from the service are RFC 7807 problems: shown as one line, detail and type.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/evp.h>

#include "agent/http.h"
#include "attest/attest.h"

#define KBS_VERSION "0.4.0"
#define NONCE_MAX 512

struct ag_session {
	struct ag_http http;
	EVP_PKEY *key;
	json_t *jwk;
	char *token;
};

void ag_problem_message(long status, const char *body, size_t len, char *out, size_t cap)
{
	json_t *j = body && len ? json_loadb(body, len, 0, NULL) : NULL;
	const char *detail = json_string_value(json_object_get(j, "detail"));
	const char *type = json_string_value(json_object_get(j, "type"));
	/* Trustee's error types are URIs ending in the error's name: the name is enough. */
	const char *slash = type ? strrchr(type, '/') : NULL;
	if (slash && slash[1])
		type = slash + 1;
	if (detail || type)
		snprintf(out, cap, "%s%s%s%s", detail ? detail : "", detail && type ? " (" : "", type ? type : "",
			 detail && type ? ")" : "");
	else
		snprintf(out, cap, "HTTP %ld without a problem description", status);
	json_decref(j);
	/* One line, printable: the text comes from the network. */
	for (char *p = out; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
}

/* A non-200 answer: refusals (401, 403, 404) are -EACCES, anything else -EPROTO. */
static int service_error(struct ag_session *s, const char *what, long status, struct vg_err *err)
{
	char msg[480];
	ag_problem_message(status, (const char *)s->http.body.data, s->http.body.len, msg, sizeof(msg));
	bool refused = status == 401 || status == 403 || status == 404;
	return vg_err_set(err, refused ? EACCES : EPROTO, "%s: %s %ld: %s", what, refused ? "refused" : "failed",
			  status, msg);
}

static json_t *body_json(struct ag_session *s, const char *what, struct vg_err *err)
{
	json_error_t je;
	json_t *j = json_loadb((const char *)s->http.body.data, s->http.body.len, JSON_REJECT_DUPLICATES, &je);
	if (!j || !json_is_object(j)) {
		json_decref(j);
		vg_err_set(err, EPROTO, "%s: the service's answer is not a JSON object (%s)", what,
			   j ? "other JSON" : je.text);
		return NULL;
	}
	return j;
}

/* POST /kbs/v0/<what> with req (NULL = out of memory); *ans = the 200 answer's JSON object. */
static int post(struct ag_session *s, const char *what, const json_t *req, json_t **ans, struct vg_err *err)
{
	char path[64];
	long status;
	*ans = NULL;
	if (!req)
		return vg_err_set(err, ENOMEM, "out of memory");
	snprintf(path, sizeof(path), "/kbs/v0/%s", what);
	int rc = ag_http_call(&s->http, "POST", path, req, &status, err);
	if (rc)
		return rc;
	if (status != 200)
		return service_error(s, what, status, err);
	return (*ans = body_json(s, what, err)) ? 0 : -EPROTO;
}

int ag_resource_path_check(const char *path, struct vg_err *err)
{
	int segs = 0;
	size_t seglen = 0;
	for (const char *p = path;; p++) {
		if (*p == '/' || !*p) {
			if (!seglen)
				return vg_err_set(err, EINVAL, "resource \"%s\": expected REPOSITORY/TYPE/TAG", path);
			if (seglen <= 2 && p[-1] == '.' && (seglen == 1 || p[-2] == '.'))
				return vg_err_set(err, EINVAL, "resource \"%s\": \".\" and \"..\" are not names", path);
			segs++;
			seglen = 0;
			if (!*p)
				break;
			continue;
		}
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
			return vg_err_set(err, EINVAL, "resource \"%s\": only letters, digits, '.', '-', '_' in names",
					  path);
		if (++seglen > 128)
			return vg_err_set(err, EINVAL, "resource \"%s\": a name is longer than 128 characters", path);
	}
	if (segs != 3)
		return vg_err_set(err, EINVAL, "resource \"%s\": expected REPOSITORY/TYPE/TAG (3 parts, not %d)",
				  path, segs);
	return 0;
}

/* Which KBS tee name the provider's evidence will have. */
static int tee_name(const struct ag_provider_opts *p, const char **tee, struct vg_err *err)
{
	enum ag_tee t;
	int rc = ag_provider_resolve(p, &t, err);
	if (rc)
		return rc;
	if (t == AG_TEE_SIM_SNP || t == AG_TEE_SIM_TDX) {
		*tee = t == AG_TEE_SIM_SNP ? "snp" : "tdx";
		return 0;
	}
	char provider[32];
	if ((rc = ag_tsm_provider(p->tsm_root, provider, err)))
		return rc;
	if (!strcmp(provider, "sev_guest"))
		*tee = "snp";
	else if (!strcmp(provider, "tdx_guest"))
		*tee = "tdx";
	else
		return vg_err_set(err, ENOTSUP, "configfs-tsm provider \"%s\" is not supported", provider);
	return 0;
}

int ag_session_attest(const struct ag_client_opts *o, struct ag_session **out, struct vg_err *err)
{
	*out = NULL;
	const char *tee = NULL;
	int rc = tee_name(o->provider, &tee, err);
	if (rc)
		return rc;
	struct ag_session *s = calloc(1, sizeof(*s));
	if (!s)
		return vg_err_set(err, ENOMEM, "out of memory");
	json_t *req = NULL, *ans = NULL, *primary = NULL;
	char *nonce = NULL;
	if ((rc = ag_http_init(&s->http, o->url, o->cacert, o->timeout_s, err)))
		goto fail;

	/* 1. auth */
	req = json_pack("{s:s, s:s, s:{}}", "version", KBS_VERSION, "tee", tee, "extra-params");
	if ((rc = post(s, "auth", req, &ans, err)))
		goto fail;
	const char *n = json_string_value(json_object_get(ans, "nonce"));
	if (!n || !*n || strlen(n) > NONCE_MAX) {
		rc = vg_err_set(err, EPROTO, "auth: the challenge has no usable \"nonce\"");
		goto fail;
	}
	if (!s->http.cookie[0]) {
		rc = vg_err_set(err, EPROTO, "auth: the service set no kbs-session-id cookie");
		goto fail;
	}
	nonce = strdup(n);
	json_decref(ans);
	ans = NULL;
	json_decref(req);
	req = NULL;

	/* 2. a fresh key pair for this session, and the REPORT_DATA that binds it */
	uint8_t rd[ATT_REPORT_DATA_LEN];
	s->key = EVP_EC_gen("P-256");
	if (!nonce || !s->key) {
		rc = vg_err_set(err, ENOMEM, "P-256 key generation failed");
		goto fail;
	}
	if (!(s->jwk = att_jwk_from_pkey(s->key, err))) {
		rc = -EINVAL;
		goto fail;
	}
	if ((rc = att_kbs_report_data(nonce, s->jwk, "", rd, err)))
		goto fail;

	/* 3. evidence */
	const char *etee = NULL;
	if ((rc = ag_evidence_get(o->provider, rd, &etee, &primary, err)))
		goto fail;
	if (strcmp(etee, tee)) {
		rc = vg_err_set(err, EIO, "the provider changed from %s to %s during the session", tee, etee);
		goto fail;
	}

	/* init-data: the evidence must carry its digest (HOST_DATA / MRCONFIGID), or the service
	 * can only refuse; say so here, before anything is sent. */
	if (o->init_data && !o->no_init_data_check && (rc = ag_init_data_check(o->init_data, tee, primary, err)))
		goto fail;

	/* 4. attest */
	req = json_pack("{s:{s:s, s:O}, s:{s:o, s:s}}", "runtime-data", "nonce", nonce, "tee-pubkey", s->jwk,
			"tee-evidence", "primary_evidence", primary, "additional_evidence", "");
	primary = NULL;
	if (req && o->init_data && json_object_set_new(req, "init-data", ag_init_data_json(o->init_data))) {
		rc = vg_err_set(err, ENOMEM, "out of memory");
		goto fail;
	}
	if ((rc = post(s, "attest", req, &ans, err)))
		goto fail;
	const char *tok = json_string_value(json_object_get(ans, "token"));
	if (!tok || !*tok) {
		rc = vg_err_set(err, EPROTO, "attest: the answer has no \"token\"");
		goto fail;
	}
	s->token = strdup(tok);
	if (!s->token) {
		rc = vg_err_set(err, ENOMEM, "out of memory");
		goto fail;
	}
	json_decref(ans);
	json_decref(req);
	free(nonce);
	*out = s;
	return 0;
fail:
	json_decref(primary);
	json_decref(ans);
	json_decref(req);
	free(nonce);
	ag_session_free(s);
	return rc;
}

const char *ag_session_token(const struct ag_session *s)
{
	return s->token;
}

int ag_session_resource(struct ag_session *s, const char *path, uint8_t **secret, size_t *len, struct vg_err *err)
{
	*secret = NULL;
	*len = 0;
	int rc = ag_resource_path_check(path, err);
	if (rc)
		return rc;
	char rel[512];
	long status;
	snprintf(rel, sizeof(rel), "/kbs/v0/resource/%s", path);
	if ((rc = ag_http_call(&s->http, "GET", rel, NULL, &status, err)))
		return rc;
	if (status != 200)
		return service_error(s, "resource", status, err);
	json_t *jwe = body_json(s, "resource", err);
	if (!jwe)
		return -EPROTO;
	rc = att_jwe_decrypt(s->key, jwe, secret, len, err);
	json_decref(jwe);
	if (rc)
		return vg_err_prefix(err, "resource: the JWE does not decrypt with this session's key");
	return 0;
}

void ag_session_free(struct ag_session *s)
{
	if (!s)
		return;
	ag_http_free(&s->http);
	EVP_PKEY_free(s->key); /* OpenSSL clears the private scalar (BN_clear_free) */
	json_decref(s->jwk);
	if (s->token) {
		vg_secure_zero(s->token, strlen(s->token));
		free(s->token);
	}
	free(s);
}
