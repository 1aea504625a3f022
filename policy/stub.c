/* Temporary stubs so callers link while the implementation lands (removed piece by piece). */
#include <string.h>

#include "policy/policy.h"

#define NOSYS(err) vg_err_set(err, ENOSYS, "%s: not implemented yet", __func__)

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
