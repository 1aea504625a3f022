/*
 * Vigil appraisal policy and attestation results (issue 10).
 *
 * The one public header of policy/. Prefix: pol_. Deterministic and free of
 * I/O except the explicitly named file helpers (pol_load_file,
 * pol_token_key_load_or_create). The format and every check are described
 * in docs/policy.md.
 *
 *   evidence --attest/ (att_snp_verify, att_tdx_verify)--> struct att_result
 *            --pol_appraise(policy, context)--> struct pol_appraisal
 *            --pol_ear_jwt / pol_ear_cwt--> EAR token (draft-ietf-rats-ear)
 *            --pol_resource_allowed(path)--> release decision (vigil-attestd)
 *
 * Everything declared here is implemented; nothing fails open.
 */
#ifndef VIGIL_POLICY_H
#define VIGIL_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>
#include <openssl/types.h>

#include "attest/attest.h"
#include "common/common.h"

/* ---------------------------------------------------------------- policy */
#define POL_VERSION 1             /* the only "version" the loader accepts */
#define POL_MAX_SIZE (4u << 20)   /* largest policy document accepted */

/* A loaded, fully validated, immutable policy (safe to share between threads). */
struct pol_policy;

/* Parses and validates a policy document completely. On error returns -EINVAL
 * and err->msg is one line starting with the JSON path, e.g.
 * "workloads.payments.snp.measurement[2]: 95 hex digits, need 96".
 * A policy that accepts simulated platforms is loaded with a warning on stderr. */
int pol_load(const char *json, size_t len, struct pol_policy **out, struct vg_err *err);
/* Same from a file (at most POL_MAX_SIZE bytes); I/O errors return -errno. */
int pol_load_file(const char *path, struct pol_policy **out, struct vg_err *err);
void pol_free(struct pol_policy *p);
bool pol_accepts_simulated(const struct pol_policy *p);
/* {"version","digest","simulated","require_nonce","workloads":[{"name","platforms",
 *  "references"}...],"platform":{"snp":{...},"tdx":{...}},"resources":[...]}; new reference. */
json_t *pol_summary_json(const struct pol_policy *p);
/* SHA-256 of the document bytes as loaded (identifies a policy version in audit records). */
void pol_digest(const struct pol_policy *p, uint8_t out[32]);

/* Starter documents for `vigil policy init`: production (no simulation, debug
 * forbidden, VCEK or VLEK, TDX UpToDate only) or development (also accepts
 * sim-snp / sim-tdx). New reference; it loads with pol_load. */
json_t *pol_starter_json(bool simulated);
/* `vigil policy add-workload`: adds workload `name` to the policy document
 * `doc` (edited in place; validated again before returning 0) from `from`,
 * the JSON output of `vigil measure --json` (predicted values) or of
 * `vigil verify --json` (values of a known-good guest). Each glob in
 * resources[] grants that workload the path: it joins an existing rule with
 * the same path, the default min_status and the same allow_simulated, else a
 * new rule is appended. allow_simulated sets "allow_simulated": true on the
 * rules this call creates (joins only rules that already have it); the
 * policy must accept simulation ("simulated": true) then.
 * Errors (-EINVAL; -EEXIST for a name already used) name what was wrong;
 * doc is unchanged then. */
int pol_add_workload(json_t *doc, const char *name, const json_t *from, const char *const *resources,
		     size_t nresources, bool allow_simulated, struct vg_err *err);

/* ------------------------------------------------------------- appraisal */
/* Status tiers, the values of the EAR draft (CBOR ear.status). */
enum pol_status { POL_NONE = 0, POL_AFFIRMING = 2, POL_WARNING = 32, POL_CONTRAINDICATED = 96 };
const char *pol_status_name(enum pol_status s); /* "none", "affirming", "warning", "contraindicated" */

/* AR4SI trustworthiness claims (draft-ietf-rats-ar4si), the order of pol_appraisal.vector. */
enum pol_claim {
	POL_INSTANCE_IDENTITY = 0,
	POL_CONFIGURATION,
	POL_EXECUTABLES,
	POL_FILE_SYSTEM,
	POL_HARDWARE,
	POL_RUNTIME_OPAQUE,
	POL_STORAGE_OPAQUE,
	POL_SOURCED_DATA,
	POL_NCLAIMS
};
/* "instance-identity", "configuration", ... (the AR4SI / EAR JSON names). */
const char *pol_claim_name(enum pol_claim c);
/* The tier a claim value falls in (AR4SI: -1..1 none, 2..31 affirming, 32..95
 * warning, 96..127 contraindicated; negative values mirror the positive ones). */
enum pol_status pol_claim_tier(int8_t value);

/* AR4SI standard values used in the vector. */
enum {
	POL_AR_VERIFIER_MALFUNCTION = -1,
	POL_AR_NO_CLAIM = 0,
	POL_AR_UNEXPECTED_EVIDENCE = 1,
	POL_AR_CRYPTO_FAILED = 99,
	/* instance-identity */
	POL_AR_TRUSTWORTHY_INSTANCE = 2,
	POL_AR_UNTRUSTWORTHY_INSTANCE = 96,
	POL_AR_UNRECOGNIZED_INSTANCE = 97,
	/* configuration */
	POL_AR_APPROVED_CONFIG = 2,
	POL_AR_NO_CONFIG_VULNS = 3,
	POL_AR_UNSAFE_CONFIG = 32,
	POL_AR_UNSUPPORTABLE_CONFIG = 96,
	/* executables */
	POL_AR_APPROVED_RUNTIME = 2,
	POL_AR_APPROVED_BOOT = 3,
	POL_AR_UNSAFE_RUNTIME = 32,
	POL_AR_UNRECOGNIZED_RUNTIME = 33,
	POL_AR_CONTRAINDICATED_RUNTIME = 96,
	/* file-system */
	POL_AR_APPROVED_FILES = 2,
	POL_AR_UNRECOGNIZED_FILES = 32,
	POL_AR_CONTRAINDICATED_FILES = 96,
	/* hardware */
	POL_AR_GENUINE_HARDWARE = 2,
	POL_AR_UNSAFE_HARDWARE = 32,
	POL_AR_CONTRAINDICATED_HARDWARE = 96,
	POL_AR_UNRECOGNIZED_HARDWARE = 97,
	/* runtime-opaque */
	POL_AR_ENCRYPTED_MEMORY = 2,
	POL_AR_ISOLATED_MEMORY = 32,
	POL_AR_VISIBLE_MEMORY = 96,
	/* storage-opaque */
	POL_AR_HW_KEYS_ENCRYPTED_SECRETS = 2,
	POL_AR_SW_KEYS_ENCRYPTED_SECRETS = 32,
	POL_AR_UNENCRYPTED_SECRETS = 96,
	/* sourced-data */
	POL_AR_TRUSTED_SOURCES = 2,
	POL_AR_UNTRUSTED_SOURCES = 32,
	POL_AR_CONTRAINDICATED_SOURCES = 96,
};

struct pol_context {                          /* what the caller knows beyond the evidence */
	const uint8_t *expected_report_data;  /* 64 bytes or NULL (then "not checked" is explained) */
	time_t now;                           /* 0 = time(NULL) */
	const uint8_t *init_data_digest;      /* or NULL: must equal SNP HOST_DATA / the start of */
	size_t init_data_digest_len;          /* TDX MRCONFIGID (rest zero) when given */
};

struct pol_appraisal {                        /* the verdict */
	enum pol_status status;
	char workload[128];                   /* matched workload name or "" */
	int8_t vector[POL_NCLAIMS];           /* AR4SI values, order of enum pol_claim (0 = no claim) */
	bool simulated;                       /* the evidence came from sim-snp / sim-tdx */
	json_t *explanations;                 /* array of one-line strings: every failed / unmade check */
	json_t *claims;                       /* the verified claims (annotated evidence), owned */
	/* added beyond CONTRACTS.md: */
	bool verified;                        /* attest/ verified the evidence */
	enum att_platform platform;
	char product[32];                     /* "Milan", ..., "TDX" */
	int64_t appraised_at;                 /* unix seconds (ctx->now) */
	uint8_t policy_digest[32];            /* pol_digest of the policy used */
};

/* Appraises VERIFIED evidence (att_result from att_snp_verify / att_tdx_verify);
 * rejected evidence gives contraindicated with the verifier's reason. Never fails
 * open: every check either passes, fails with an explanation, or cannot be made
 * and says so. Returns 0 when a verdict was reached (see out->status), -ENOMEM
 * or -EINVAL (NULL arguments) otherwise. out is always initialised. */
int pol_appraise(const struct pol_policy *p, const struct att_result *res, const struct pol_context *ctx,
		 struct pol_appraisal *out, struct vg_err *err);
void pol_appraisal_free(struct pol_appraisal *a);
/* {"status","workload"|null,"simulated","trustworthiness_vector":{name: value},
 *  "explanations":[...],"policy_digest","claims":{...}}; new reference. */
json_t *pol_appraisal_json(const struct pol_appraisal *a);
/* The inverse for a stored verdict (e.g. a service session): status, workload,
 * simulated, vector, policy_digest, explanations and claims from pol_appraisal_json
 * output; the rest zero. -EINVAL naming the bad member. out is freed with
 * pol_appraisal_free. Enough for pol_resource_allowed and the EAR functions. */
int pol_appraisal_from_json(const json_t *j, struct pol_appraisal *out, struct vg_err *err);

/* ------------------------------------------------------------ EAR tokens */
/* names: POL_EAR_NAMES_DRAFT ("ear_status", ...) or POL_EAR_NAMES_VERAISON ("ear.status", ...). */
enum pol_ear_names { POL_EAR_NAMES_DRAFT, POL_EAR_NAMES_VERAISON };
struct pol_ear_opts {
	const char *issuer;      /* "iss"; NULL = "vigil" */
	const char *kid;         /* JWS / COSE kid, or NULL */
	const char *nonce_b64;   /* eat_nonce (as given), or NULL */
	long ttl_seconds;        /* exp = iat + ttl; 0 = no exp */
	enum pol_ear_names names;
	time_t iat;              /* added: 0 = the appraisal's time */
};
/* JWT signed ES256 (P-256 key) or ES384 (P-384 key) through att_jws_sign. */
int pol_ear_jwt(const struct pol_appraisal *a, EVP_PKEY *key, const struct pol_ear_opts *o, char **jwt,
		struct vg_err *err);
/* CWT: COSE_Sign1 (tag 18; a CWT tag 61 around it is accepted when parsing) with the draft's
 * integer keys, libcbor. The claim names option does not apply (integer keys). */
int pol_ear_cwt(const struct pol_appraisal *a, EVP_PKEY *key, const struct pol_ear_opts *o, uint8_t **cwt,
		size_t *len, struct vg_err *err);
/* The claims set of a token as JSON (names as in o->names). New reference. */
json_t *pol_ear_claims_json(const struct pol_appraisal *a, const struct pol_ear_opts *o);

/* Token parsers (relying parties, self-check, fuzzing): verify the signature with
 * any of keys[] and return the claims set as JSON with the draft's string names
 * (a CWT's integer keys are mapped back). Untrusted input; bounds-checked.
 * Only the signature and the shape are checked: exp/iat/nonce are the caller's. */
int pol_ear_jwt_verify(const char *jwt, EVP_PKEY *const *keys, size_t nkeys, json_t **claims,
		       struct vg_err *err);
int pol_ear_cwt_verify(const uint8_t *cwt, size_t len, EVP_PKEY *const *keys, size_t nkeys, json_t **claims,
		       struct vg_err *err);
/* CWT claims decoding only (no signature): the payload map -> JSON. For fuzzing. */
int pol_ear_cwt_claims_decode(const uint8_t *payload, size_t len, json_t **claims, struct vg_err *err);

/* Token key: load from file (PEM private key, P-256 or P-384), or generate a P-256
 * key once into state_dir/ear-signing-key.pem (0600, directory 0700) and reuse it;
 * kid = the RFC 7638 thumbprint of its public JWK. */
int pol_token_key_load_or_create(const char *file_or_NULL, const char *state_dir, EVP_PKEY **key,
				 char kid[64], struct vg_err *err);
/* {"keys":[JWK with "kid","alg","use":"sig"]...} of the public keys. New reference or NULL. */
json_t *pol_jwks(EVP_PKEY *const *keys, const char *const *kids, size_t n);

/* -------------------------------------------------------- resource rules */
/* May this appraisal receive resource `path` ("repository/type/tag")? 0 = yes;
 * -EACCES = no, with the reason (which rule, required vs found status/workload,
 * simulated) in why->msg; -EINVAL for a malformed path. Default deny: a path no
 * rule matches is refused, and so is an appraisal made under another policy
 * version (policy_digest). Reads a->status, workload, simulated, policy_digest. */
int pol_resource_allowed(const struct pol_policy *p, const struct pol_appraisal *a, const char *path,
			 struct vg_err *why);

#endif /* VIGIL_POLICY_H */
