/* Status tiers, AR4SI claim names, and the appraisal as JSON. */
#include <stdlib.h>
#include <string.h>

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
	return o;
}
