/*
 * EAR (EAT Attestation Result, draft-ietf-rats-ear) claims and the JWT form,
 * signed and verified through the shared JOSE module (attest/attest.h).
 *
 * Claim names: the current draft (ear_status, ear_trustworthiness_vector,
 * ear_verifier_id, ear_appraisal_policy_ids) or the dotted names Veraison and
 * Trustee read today (ear.status, ...). The verified claims travel as
 * "ear.veraison.annotated-evidence"; the policy's verdict details (workload,
 * simulated, explanations) as "ear.veraison.policy-claims".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/internal.h"
#include "policy/ear_names.h"

const struct pol_ear_nameset pol_ear_nameset[2] = {
	[POL_EAR_NAMES_DRAFT] = {"tag:ietf.org,2026:rats/ear#03", "ear_verifier_id", "ear_status",
				 "ear_trustworthiness_vector", "ear_appraisal_policy_ids", true},
	[POL_EAR_NAMES_VERAISON] = {"tag:github.com,2023:veraison/ear", "ear.verifier-id", "ear.status",
				    "ear.trustworthiness-vector", "ear.appraisal-policy-id", false},
};

static json_t *policy_id(const struct pol_appraisal *a)
{
	char dg[65], id[80];
	vg_hex_encode(a->policy_digest, 32, dg);
	snprintf(id, sizeof(id), "sha256:%s", dg);
	return json_string(id);
}

json_t *pol_ear_claims_json(const struct pol_appraisal *a, const struct pol_ear_opts *o)
{
	struct pol_ear_opts def = {0};
	if (!o)
		o = &def;
	const struct pol_ear_nameset *n = &pol_ear_nameset[o->names == POL_EAR_NAMES_VERAISON];
	int64_t iat = o->iat ? (int64_t)o->iat : a->appraised_at;
	json_t *c = json_object(), *sub = json_object(), *vec = json_object(), *pc = json_object();
	if (!c || !sub || !vec || !pc)
		goto oom;
	json_object_set_new(c, "eat_profile", json_string(n->profile));
	json_object_set_new(c, "iss", json_string(o->issuer ? o->issuer : "vigil"));
	json_object_set_new(c, "iat", json_integer(iat));
	if (o->ttl_seconds > 0)
		json_object_set_new(c, "exp", json_integer(iat + o->ttl_seconds));
	if (o->nonce_b64)
		json_object_set_new(c, "eat_nonce", json_string(o->nonce_b64));
	json_object_set_new(c, n->verifier_id, json_pack("{s:s, s:s}", "developer", "vigil", "build", "vigil " VG_VERSION));
	for (int i = 0; i < POL_NCLAIMS; i++)
		if (a->vector[i])
			json_object_set_new(vec, pol_claim_name((enum pol_claim)i), json_integer(a->vector[i]));
	json_object_set_new(sub, n->status, json_string(pol_status_name(a->status)));
	json_object_set_new(sub, n->vector, vec);
	vec = NULL;
	json_object_set_new(sub, n->policy, n->policy_is_array ? json_pack("[o]", policy_id(a)) : policy_id(a));
	json_object_set_new(sub, "ear.veraison.annotated-evidence", a->claims ? json_incref(a->claims) : json_object());
	json_object_set_new(pc, "workload", a->workload[0] ? json_string(a->workload) : json_null());
	json_object_set_new(pc, "simulated", json_boolean(a->simulated));
	json_object_set_new(pc, "explanations", a->explanations ? json_incref(a->explanations) : json_array());
	json_object_set_new(sub, "ear.veraison.policy-claims", pc);
	pc = NULL;
	json_object_set_new(c, "submods", json_pack("{s:o}", POL_EAR_SUBMOD, sub));
	return c;
oom:
	json_decref(c), json_decref(sub), json_decref(vec), json_decref(pc);
	return NULL;
}

int pol_ear_jwt(const struct pol_appraisal *a, EVP_PKEY *key, const struct pol_ear_opts *o, char **jwt,
		struct vg_err *err)
{
	*jwt = NULL;
	if (!a || !key)
		return vg_err_set(err, EINVAL, "EAR: no appraisal or key");
	enum att_jws_alg alg = att_jws_alg_for_key(key);
	if (alg != ATT_JWS_ES256 && alg != ATT_JWS_ES384)
		return vg_err_set(err, EINVAL, "EAR: the token key must be EC P-256 (ES256) or P-384 (ES384)");
	json_t *c = pol_ear_claims_json(a, o);
	char *payload = c ? json_dumps(c, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(c);
	if (!payload)
		return vg_err_set(err, ENOMEM, "out of memory");
	int rc = att_jws_sign(key, alg, "JWT", o ? o->kid : NULL, (const uint8_t *)payload, strlen(payload), jwt, err);
	free(payload);
	return rc;
}

int pol_ear_jwt_verify(const char *jwt, EVP_PKEY *const *keys, size_t nkeys, json_t **claims, struct vg_err *err)
{
	uint8_t *payload = NULL;
	size_t len = 0;
	*claims = NULL;
	if (!jwt)
		return vg_err_set(err, EINVAL, "EAR: no token");
	int rc = att_jws_verify(jwt, keys, nkeys, ATT_JWS_ES256 | ATT_JWS_ES384, &payload, &len, NULL, err);
	if (rc)
		return rc;
	json_error_t je;
	json_t *c = json_loadb((const char *)payload, len, JSON_REJECT_DUPLICATES, &je);
	free(payload);
	if (!json_is_object(c)) {
		json_decref(c);
		return vg_err_set(err, EBADMSG, "EAR: the JWT payload is not a JSON object");
	}
	if (!json_is_string(json_object_get(c, "eat_profile")) || !json_is_object(json_object_get(c, "submods"))) {
		json_decref(c);
		return vg_err_set(err, EBADMSG, "EAR: the JWT claims lack eat_profile or submods");
	}
	*claims = c;
	return 0;
}
