/* Status tiers, AR4SI claim names, and the appraisal as JSON. */
#include <stdlib.h>
#include <string.h>

#include <stdio.h>

#include "policy/internal.h"

const char *pol_status_name(enum pol_status s)
{
	switch (s) {
	case POL_AFFIRMING: return "affirming";
	case POL_WARNING: return "warning";
	case POL_CONTRAINDICATED: return "contraindicated";
	default: return "none";
	}
}

static const char *const claim_names[POL_NCLAIMS] = {
	"instance-identity", "configuration",  "executables",	 "file-system",
	"hardware",	     "runtime-opaque", "storage-opaque", "sourced-data",
};

const char *pol_claim_name(enum pol_claim c)
{
	return (unsigned)c < POL_NCLAIMS ? claim_names[c] : "unknown";
}

/* draft-ietf-rats-ar4si: -1..1 none; -32..31 affirming; -96..95 warning; the rest contraindicated. */
enum pol_status pol_claim_tier(int8_t v)
{
	if (v >= -1 && v <= 1)
		return POL_NONE;
	if (v >= -32 && v <= 31)
		return POL_AFFIRMING;
	if (v >= -96 && v <= 95)
		return POL_WARNING;
	return POL_CONTRAINDICATED;
}

void pol_appraisal_free(struct pol_appraisal *a)
{
	if (!a)
		return;
	json_decref(a->explanations);
	json_decref(a->claims);
	a->explanations = a->claims = NULL;
}

json_t *pol_appraisal_json(const struct pol_appraisal *a)
{
	char dg[65];
	json_t *o = json_object(), *v = json_object();
	if (!o || !v) {
		json_decref(o);
		json_decref(v);
		return NULL;
	}
	for (int i = 0; i < POL_NCLAIMS; i++)
		json_object_set_new(v, claim_names[i], json_integer(a->vector[i]));
	vg_hex_encode(a->policy_digest, 32, dg);
	json_object_set_new(o, "status", json_string(pol_status_name(a->status)));
	json_object_set_new(o, "workload", a->workload[0] ? json_string(a->workload) : json_null());
	json_object_set_new(o, "simulated", json_boolean(a->simulated));
	json_object_set_new(o, "trustworthiness_vector", v);
	json_object_set_new(o, "explanations", a->explanations ? json_incref(a->explanations) : json_array());
	json_object_set_new(o, "policy_digest", json_string(dg));
	json_object_set_new(o, "claims", a->claims ? json_incref(a->claims) : json_object());
	return o;
}

int pol_appraisal_from_json(const json_t *j, struct pol_appraisal *out, struct vg_err *err)
{
	memset(out, 0, sizeof(*out));
	out->status = POL_CONTRAINDICATED;
	if (!json_is_object(j))
		return vg_err_set(err, EINVAL, "appraisal: not an object");
	const char *st = json_string_value(json_object_get(j, "status"));
	enum pol_status s;
	if (!st)
		return vg_err_set(err, EINVAL, "appraisal.status: missing");
	if (!strcmp(st, "affirming"))
		s = POL_AFFIRMING;
	else if (!strcmp(st, "warning"))
		s = POL_WARNING;
	else if (!strcmp(st, "contraindicated"))
		s = POL_CONTRAINDICATED;
	else if (!strcmp(st, "none"))
		s = POL_NONE;
	else
		return vg_err_set(err, EINVAL, "appraisal.status: \"%.40s\" is not a status", st);
	json_t *w = json_object_get(j, "workload");
	if (w && !json_is_null(w)) {
		if (!json_is_string(w) || json_string_length(w) >= sizeof(out->workload) ||
		    strlen(json_string_value(w)) != json_string_length(w))
			return vg_err_set(err, EINVAL, "appraisal.workload: not a workload name");
		snprintf(out->workload, sizeof(out->workload), "%s", json_string_value(w));
	}
	json_t *sim = json_object_get(j, "simulated");
	if (!json_is_boolean(sim))
		return vg_err_set(err, EINVAL, "appraisal.simulated: missing or not a boolean");
	const char *dg = json_string_value(json_object_get(j, "policy_digest"));
	if (!dg || vg_hex_decode(dg, out->policy_digest, 32, NULL))
		return vg_err_set(err, EINVAL, "appraisal.policy_digest: not 64 hex digits");
	json_t *vec = json_object_get(j, "trustworthiness_vector");
	if (!json_is_object(vec))
		return vg_err_set(err, EINVAL, "appraisal.trustworthiness_vector: missing");
	for (int i = 0; i < POL_NCLAIMS; i++) {
		json_t *v = json_object_get(vec, claim_names[i]);
		if (!v)
			continue;
		if (!json_is_integer(v) || json_integer_value(v) < -128 || json_integer_value(v) > 127)
			return vg_err_set(err, EINVAL, "appraisal.trustworthiness_vector.%s: not -128..127", claim_names[i]);
		out->vector[i] = (int8_t)json_integer_value(v);
	}
	json_t *ex = json_object_get(j, "explanations"), *cl = json_object_get(j, "claims");
	if (ex && !json_is_array(ex))
		return vg_err_set(err, EINVAL, "appraisal.explanations: not an array");
	if (cl && !json_is_object(cl))
		return vg_err_set(err, EINVAL, "appraisal.claims: not an object");
	out->simulated = json_is_true(sim);
	out->explanations = ex ? json_incref(ex) : json_array();
	out->claims = cl ? json_incref(cl) : json_object();
	out->status = s;
	return 0;
}
