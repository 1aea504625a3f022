/* attest/ private JOSE helpers shared by b64.c, jwk.c, jws.c, jwe.c, jcs.c and
 * kbs_binding.c. Not a public header: other directories use attest/attest.h. */
#ifndef VIGIL_ATTEST_JOSE_PRIV_H
#define VIGIL_ATTEST_JOSE_PRIV_H

#include <openssl/evp.h>

#include "attest/attest.h"

/* Bounds on untrusted JOSE input. */
#define ATT_JOSE_MAX_HEADER (16u * 1024)          /* decoded protected header */
#define ATT_JWS_MAX_COMPACT (4u * 1024 * 1024)    /* whole compact JWS */
#define ATT_JWE_MAX_CIPHERTEXT (64u * 1024 * 1024) /* decoded JWE ciphertext */
#define ATT_JCS_MAX_DEPTH 512

/* Compact JSON text of v keeping member order (malloc'd, NUL-terminated), NULL on OOM. */
char *att_jose_dump(const json_t *v);
/* Decodes the base64url string member `name` of obj (must be a string). */
int att_jose_b64_member(const json_t *obj, const char *name, size_t max_len, uint8_t **out, size_t *len,
			struct vg_err *err);
/* Adds member name = base64url(buf) to obj. 0 or -ENOMEM. */
int att_jose_set_b64(json_t *obj, const char *name, const uint8_t *buf, size_t len);

/* EC curves used by JOSE: "P-256"/"P-384" <-> OpenSSL group names, coordinate bytes. */
struct att_jose_curve {
	const char *jwk;   /* "P-256" */
	const char *group; /* "prime256v1" */
	size_t size;       /* coordinate / scalar bytes */
};
/* The JOSE curve of an EC key (P-256 or P-384), NULL for anything else. */
const struct att_jose_curve *att_jose_curve_of(const EVP_PKEY *key);
const struct att_jose_curve *att_jose_curve_by_name(const char *jwk_crv);

#endif /* VIGIL_ATTEST_JOSE_PRIV_H */
