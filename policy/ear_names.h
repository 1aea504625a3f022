/* policy/ private: EAR claim names of the two spellings, shared by the JWT and CWT code. */
#ifndef VIGIL_POLICY_EAR_NAMES_H
#define VIGIL_POLICY_EAR_NAMES_H

#include <stdbool.h>

#define POL_EAR_SUBMOD "cpu0" /* the submodule name Trustee's relying-party policies read */

struct pol_ear_nameset {
	const char *profile, *verifier_id, *status, *vector, *policy;
	bool policy_is_array; /* draft: ear_appraisal_policy_ids [..]; Veraison: ear.appraisal-policy-id "" */
};
extern const struct pol_ear_nameset pol_ear_nameset[2];

/* CBOR integer keys (draft-ietf-rats-ear, RFC 8392, EAT, Veraison extensions). */
enum {
	POL_CWT_ISS = 1,
	POL_CWT_EXP = 4,
	POL_CWT_NBF = 5,
	POL_CWT_IAT = 6,
	POL_CWT_EAT_NONCE = 10,
	POL_CWT_EAT_PROFILE = 265,
	POL_CWT_SUBMODS = 266,
	POL_CWT_EAR_STATUS = 1000,
	POL_CWT_EAR_VECTOR = 1001,
	POL_CWT_EAR_RAW_EVIDENCE = 1002,
	POL_CWT_EAR_POLICY_IDS = 1003,
	POL_CWT_EAR_VERIFIER_ID = 1004,
	POL_CWT_VERAISON_ANNOTATED = -70000,
	POL_CWT_VERAISON_POLICY_CLAIMS = -70001,
	POL_CWT_VERAISON_KEY_ATTESTATION = -70002,
};

#endif
