/* Temporary stubs so callers link while the implementation lands (removed piece by piece). */
#include <string.h>

#include "policy/policy.h"

#define NOSYS(err) vg_err_set(err, ENOSYS, "%s: not implemented yet", __func__)

int pol_load(const char *json, size_t len, struct pol_policy **out, struct vg_err *err)
{ *out = NULL; return NOSYS(err); }
int pol_load_file(const char *path, struct pol_policy **out, struct vg_err *err)
{ *out = NULL; return NOSYS(err); }
void pol_free(struct pol_policy *p) {}
bool pol_accepts_simulated(const struct pol_policy *p) { return false; }
json_t *pol_summary_json(const struct pol_policy *p) { return NULL; }
void pol_digest(const struct pol_policy *p, uint8_t out[32]) { memset(out, 0, 32); }
json_t *pol_starter_json(bool simulated) { return NULL; }
int pol_add_workload(json_t *doc, const char *name, const json_t *from, const char *const *resources,
		     size_t nresources, struct vg_err *err) { return NOSYS(err); }
const char *pol_status_name(enum pol_status s) { return "none"; }
const char *pol_claim_name(enum pol_claim c) { return "?"; }
enum pol_status pol_claim_tier(int8_t value) { return POL_NONE; }
int pol_appraise(const struct pol_policy *p, const struct att_result *res, const struct pol_context *ctx,
		 struct pol_appraisal *out, struct vg_err *err)
{ memset(out, 0, sizeof(*out)); out->status = POL_CONTRAINDICATED; return NOSYS(err); }
void pol_appraisal_free(struct pol_appraisal *a) {}
json_t *pol_appraisal_json(const struct pol_appraisal *a) { return NULL; }
int pol_ear_jwt(const struct pol_appraisal *a, EVP_PKEY *key, const struct pol_ear_opts *o, char **jwt,
		struct vg_err *err) { return NOSYS(err); }
int pol_ear_cwt(const struct pol_appraisal *a, EVP_PKEY *key, const struct pol_ear_opts *o, uint8_t **cwt,
		size_t *len, struct vg_err *err) { return NOSYS(err); }
json_t *pol_ear_claims_json(const struct pol_appraisal *a, const struct pol_ear_opts *o) { return NULL; }
int pol_ear_jwt_verify(const char *jwt, EVP_PKEY *const *keys, size_t nkeys, json_t **claims,
		       struct vg_err *err) { return NOSYS(err); }
int pol_ear_cwt_verify(const uint8_t *cwt, size_t len, EVP_PKEY *const *keys, size_t nkeys, json_t **claims,
		       struct vg_err *err) { return NOSYS(err); }
int pol_ear_cwt_claims_decode(const uint8_t *payload, size_t len, json_t **claims, struct vg_err *err)
{ return NOSYS(err); }
int pol_token_key_load_or_create(const char *file_or_NULL, const char *state_dir, EVP_PKEY **key,
				 char kid[64], struct vg_err *err) { return NOSYS(err); }
json_t *pol_jwks(EVP_PKEY *const *keys, const char *const *kids, size_t n) { return NULL; }
int pol_resource_allowed(const struct pol_policy *p, const struct pol_appraisal *a, const char *path,
			 struct vg_err *why) { return vg_err_set(why, EACCES, "resource rules not implemented yet"); }
