/* Bounded parsers of untrusted request parts: KBS JSON bodies, evidence
 * encodings, the session cookie, Bearer headers, resource paths (init-data digests:
 * att_init_data_digest). */
#include "attestd/attestd.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_EVIDENCE_B64 (4u << 20)

static int get_string(json_t *o, const char *name, const char *ctx, bool required, const char **out, size_t max,
		      struct vg_err *err)
{
	json_t *m = json_object_get(o, name);
	*out = NULL;
	if (!m || json_is_null(m)) {
		if (required)
			return vg_err_set(err, EINVAL, "%s.%s: missing", ctx, name);
		return 0;
	}
	if (!json_is_string(m))
		return vg_err_set(err, EINVAL, "%s.%s: not a string", ctx, name);
	if (json_string_length(m) > max)
		return vg_err_set(err, E2BIG, "%s.%s: longer than %zu characters", ctx, name, max);
	if (strlen(json_string_value(m)) != json_string_length(m))
		return vg_err_set(err, EINVAL, "%s.%s: contains a NUL character", ctx, name);
	*out = json_string_value(m);
	return 0;
}

int ad_parse_auth(const uint8_t *body, size_t len, struct ad_auth_req *out, struct vg_err *err)
{
	memset(out, 0, sizeof(*out));
	json_t *o = NULL;
	int rc = vg_json_parse_object(body, len, "Request", &o, err);
	if (rc)
		return rc;
	const char *v = NULL, *tee = NULL;
	if ((rc = get_string(o, "version", "Request", true, &v, sizeof(out->version) - 1, err)) ||
	    (rc = get_string(o, "tee", "Request", true, &tee, sizeof(out->tee) - 1, err)))
		goto out;
	json_t *xp = json_object_get(o, "extra-params");
	if (xp && !json_is_object(xp) && !json_is_string(xp) && !json_is_null(xp)) {
		rc = vg_err_set(err, EINVAL, "Request.extra-params: not an object or string");
		goto out;
	}
	snprintf(out->version, sizeof(out->version), "%s", v);
	snprintf(out->tee, sizeof(out->tee), "%s", tee);
out:
	json_decref(o);
	return rc;
}

void ad_attest_req_free(struct ad_attest_req *r)
{
	json_decref(r->root);
	memset(r, 0, sizeof(*r));
}

int ad_parse_attest(const uint8_t *body, size_t len, struct ad_attest_req *out, struct vg_err *err)
{
	memset(out, 0, sizeof(*out));
	int rc = vg_json_parse_object(body, len, "Attestation", &out->root, err);
	if (rc)
		return rc;
	json_t *rd = json_object_get(out->root, "runtime-data");
	if (!json_is_object(rd)) {
		rc = vg_err_set(err, EINVAL, "Attestation.runtime-data: missing or not an object");
		goto fail;
	}
	if ((rc = get_string(rd, "nonce", "Attestation.runtime-data", true, &out->nonce, 128, err)))
		goto fail;
	out->tee_pubkey = json_object_get(rd, "tee-pubkey");
	if (!json_is_object(out->tee_pubkey)) {
		rc = vg_err_set(err, EINVAL, "Attestation.runtime-data.tee-pubkey: missing or not a JWK object");
		goto fail;
	}
	json_t *te = json_object_get(out->root, "tee-evidence");
	if (!json_is_object(te)) {
		rc = vg_err_set(err, EINVAL, "Attestation.tee-evidence: missing or not an object");
		goto fail;
	}
	out->primary = json_object_get(te, "primary_evidence");
	if (!out->primary || json_is_null(out->primary)) {
		rc = vg_err_set(err, EINVAL, "Attestation.tee-evidence.primary_evidence: missing");
		goto fail;
	}
	if ((rc = get_string(te, "additional_evidence", "Attestation.tee-evidence", false, &out->additional,
			     MAX_EVIDENCE_B64, err)))
		goto fail;
	if (!out->additional)
		out->additional = "";
	json_t *id = json_object_get(out->root, "init-data");
	if (id && !json_is_null(id)) {
		if (!json_is_object(id)) {
			rc = vg_err_set(err, EINVAL, "Attestation.init-data: not an object");
			goto fail;
		}
		if ((rc = get_string(id, "format", "Attestation.init-data", true, &out->init_format, 16, err)) ||
		    (rc = get_string(id, "body", "Attestation.init-data", true, &out->init_body, ATT_INIT_DATA_MAX, err)))
			goto fail;
	}
	return 0;
fail:
	ad_attest_req_free(out);
	return rc;
}

/* ------------------------------------------------------------- evidence */
void ad_evidence_free(struct ad_evidence *e)
{
	free(e->report);
	free(e->vcek);
	free(e->ask);
	free(e->ark);
	free(e->ccel);
	memset(e, 0, sizeof(*e));
}

static int b64_member(json_t *o, const char *name, const char *ctx, bool required, size_t max, uint8_t **out,
		      size_t *len, struct vg_err *err)
{
	const char *s = NULL;
	*out = NULL;
	*len = 0;
	int rc = get_string(o, name, ctx, required, &s, MAX_EVIDENCE_B64, err);
	if (rc || !s)
		return rc;
	rc = att_b64_decode(s, strlen(s), false, out, len, err);
	if (rc)
		return vg_err_prefix(err, "%s.%s (standard base64)", ctx, name);
	if (*len > max) {
		free(*out);
		*out = NULL;
		return vg_err_set(err, E2BIG, "%s.%s: %zu bytes, at most %zu", ctx, name, *len, max);
	}
	return 0;
}

static int parse_snp(json_t *o, struct ad_evidence *e, struct vg_err *err)
{
	const char *ctx = "primary_evidence";
	json_t *rep = json_object_get(o, "attestation_report");
	if (json_is_object(rep))
		return vg_err_set(err, EINVAL,
				  "%s.attestation_report: the structured (sev crate) form is not accepted; send the "
				  "1184-byte report as standard base64",
				  ctx);
	int rc = b64_member(o, "attestation_report", ctx, true, 1u << 16, &e->report, &e->report_len, err);
	if (rc)
		return rc;
	if (e->report_len != SEV_SNP_REPORT_SIZE)
		return vg_err_set(err, EINVAL, "%s.attestation_report: %zu bytes, an SNP report has %u", ctx,
				  e->report_len, SEV_SNP_REPORT_SIZE);
	json_t *chain = json_object_get(o, "cert_chain");
	if (!chain || json_is_null(chain))
		return 0; /* no certificate table: the collateral cache may supply it (ad_coll_complete_evidence) */
	if (!json_is_array(chain) || json_array_size(chain) > 8)
		return vg_err_set(err, EINVAL, "%s.cert_chain: not an array of at most 8 entries", ctx);
	uint8_t *ask = NULL, *ark = NULL;
	size_t ask_len = 0, ark_len = 0;
	size_t i;
	json_t *ent;
	json_array_foreach(chain, i, ent)
	{
		char ectx[64];
		snprintf(ectx, sizeof(ectx), "%s.cert_chain[%zu]", ctx, i);
		if (!json_is_object(ent)) {
			rc = vg_err_set(err, EINVAL, "%s: not an object", ectx);
			goto out;
		}
		const char *type = NULL;
		if ((rc = get_string(ent, "type", ectx, true, &type, 16, err)))
			goto out;
		uint8_t *der = NULL;
		size_t dl = 0;
		if ((rc = b64_member(ent, "data", ectx, true, 16384, &der, &dl, err)))
			goto out;
		uint8_t **slot = NULL;
		size_t *slot_len = NULL;
		if (!strcasecmp(type, "vcek") || !strcasecmp(type, "vlek")) {
			slot = &e->vcek, slot_len = &e->vcek_len;
			e->vlek = !strcasecmp(type, "vlek");
		} else if (!strcasecmp(type, "ask") || !strcasecmp(type, "asvk")) {
			slot = &ask, slot_len = &ask_len;
		} else if (!strcasecmp(type, "ark")) {
			slot = &ark, slot_len = &ark_len;
		} else {
			free(der);
			rc = vg_err_set(err, EINVAL, "%s.type: '%s' (want vcek, vlek, ask, ark)", ectx, type);
			goto out;
		}
		if (*slot) {
			free(der);
			rc = vg_err_set(err, EINVAL, "%s: a second %s certificate", ectx, type);
			goto out;
		}
		*slot = der;
		*slot_len = dl;
	}
	if (!e->vcek && (ask || ark)) {
		rc = vg_err_set(err, EINVAL, "%s.cert_chain: no vcek or vlek entry", ctx);
		goto out;
	}
	e->ask = ask, e->ask_len = ask_len, ask = NULL;
	e->ark = ark, e->ark_len = ark_len, ark = NULL;
out:
	free(ask);
	free(ark);
	return rc;
}

static int parse_tdx(json_t *o, struct ad_evidence *e, struct vg_err *err)
{
	int rc = b64_member(o, "quote", "primary_evidence", true, 1u << 16, &e->report, &e->report_len, err);
	if (rc)
		return rc;
	return b64_member(o, "cc_eventlog", "primary_evidence", false, 1u << 21, &e->ccel, &e->ccel_len, err);
}

int ad_parse_evidence(const char *tee, const json_t *primary, struct ad_evidence *out, struct vg_err *err)
{
	memset(out, 0, sizeof(*out));
	json_t *o = (json_t *)primary, *owned = NULL;
	int rc;
	if (json_is_string(primary)) { /* a JSON document carried as a string */
		json_error_t je;
		owned = json_loadb(json_string_value(primary), json_string_length(primary), JSON_REJECT_DUPLICATES, &je);
		if (!owned)
			return vg_err_set(err, EINVAL, "primary_evidence: string is not JSON (%s)", je.text);
		o = owned;
	}
	if (!json_is_object(o)) {
		rc = vg_err_set(err, EINVAL, "primary_evidence: not an object");
		goto out;
	}
	if (!strcmp(tee, "snp")) {
		out->platform = ATT_PLATFORM_SNP;
		rc = parse_snp(o, out, err);
	} else if (!strcmp(tee, "tdx")) {
		out->platform = ATT_PLATFORM_TDX;
		rc = parse_tdx(o, out, err);
	} else {
		rc = vg_err_set(err, ENOTSUP, "tee '%s' is not supported (snp, tdx)", tee);
	}
out:
	json_decref(owned);
	if (rc)
		ad_evidence_free(out);
	return rc;
}

/* -------------------------------------------------------------- headers */
int ad_parse_cookie(const char *cookie, char id[40], struct vg_err *err)
{
	static const char name[] = "kbs-session-id";
	id[0] = 0;
	if (!cookie)
		return vg_err_set(err, ENOENT, "cookie not found");
	size_t n = strnlen(cookie, 8193);
	if (n > 8192)
		return vg_err_set(err, EINVAL, "Cookie header too long");
	const char *p = cookie, *end = cookie + n;
	while (p < end) {
		while (p < end && (*p == ' ' || *p == '\t' || *p == ';'))
			p++;
		const char *eq = memchr(p, '=', (size_t)(end - p));
		const char *semi = memchr(p, ';', (size_t)(end - p));
		if (!semi)
			semi = end;
		if (eq && eq < semi && (size_t)(eq - p) == sizeof(name) - 1 && !memcmp(p, name, sizeof(name) - 1)) {
			const char *v = eq + 1;
			size_t vl = (size_t)(semi - v);
			while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
				vl--;
			if (vl != 32)
				return vg_err_set(err, EINVAL, "kbs-session-id: not a session id");
			for (size_t i = 0; i < vl; i++)
				if (!isxdigit((unsigned char)v[i]) || isupper((unsigned char)v[i]))
					return vg_err_set(err, EINVAL, "kbs-session-id: not a session id");
			memcpy(id, v, vl);
			id[vl] = 0;
			return 0;
		}
		p = semi;
	}
	return vg_err_set(err, ENOENT, "cookie not found");
}

int ad_parse_bearer(const char *authz, const char **token, size_t *len, struct vg_err *err)
{
	*token = NULL;
	*len = 0;
	if (!authz)
		return vg_err_set(err, ENOENT, "no Authorization header");
	if (strncasecmp(authz, "Bearer ", 7))
		return vg_err_set(err, EINVAL, "Authorization: not a Bearer token");
	const char *t = authz + 7;
	while (*t == ' ')
		t++;
	size_t n = strnlen(t, 16385);
	while (n && t[n - 1] == ' ')
		n--;
	if (!n || n > 16384)
		return vg_err_set(err, EINVAL, "Authorization: empty or oversized token");
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)t[i]) && t[i] != '-' && t[i] != '_' && t[i] != '.')
			return vg_err_set(err, EINVAL, "Authorization: token is not a compact JWS");
	*token = t;
	*len = n;
	return 0;
}

int ad_parse_resource_path(const char *uri_path, char out[256], struct vg_err *err)
{
	static const char pfx[] = "/kbs/v0/resource/";
	out[0] = 0;
	if (strncmp(uri_path, pfx, sizeof(pfx) - 1))
		return vg_err_set(err, EINVAL, "Request path %s is invalid", uri_path);
	const char *p = uri_path + sizeof(pfx) - 1;
	size_t n = strnlen(p, 256);
	if (n >= 256 - 1)
		return vg_err_set(err, EINVAL, "Request path is invalid: resource path too long");
	int segs = 0;
	size_t seglen = 0;
	for (size_t i = 0; i <= n; i++) {
		char c = p[i];
		if (c == '/' || c == 0) {
			if (seglen == 0 || seglen > 64)
				return vg_err_set(err, EINVAL, "Request path %s is invalid: empty or long segment", uri_path);
			if ((seglen == 1 && p[i - 1] == '.') || (seglen == 2 && p[i - 1] == '.' && p[i - 2] == '.'))
				return vg_err_set(err, EINVAL, "Request path %s is invalid: '.' or '..' segment", uri_path);
			segs++;
			seglen = 0;
			continue;
		}
		if (!isalnum((unsigned char)c) && c != '.' && c != '_' && c != '-')
			return vg_err_set(err, EINVAL, "Request path is invalid: character 0x%02x not allowed",
					  (unsigned char)c);
		seglen++;
	}
	if (segs != 3)
		return vg_err_set(err, EINVAL, "Request path %s is invalid: want /kbs/v0/resource/<repository>/<type>/<tag>",
				  uri_path);
	memcpy(out, p, n + 1);
	return 0;
}

