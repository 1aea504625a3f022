/* attest/ private helpers: certificates, chains, raw ECDSA, results. */
#ifndef VIGIL_ATTEST_INTERNAL_H
#define VIGIL_ATTEST_INTERNAL_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "attest/attest.h"

struct att_anchor {
	X509 *cert;
};

/* Certificates from PEM (one or more) or a single DER; NULL + err when none. */
STACK_OF(X509) *att_certs_parse(const uint8_t *buf, size_t len, const char *what, struct vg_err *err);
/* A CRL from PEM or DER. */
X509_CRL *att_crl_parse(const uint8_t *buf, size_t len, struct vg_err *err);
void att_fingerprint(X509 *c, uint8_t out[32]);
/* "CN=..." style short name of the subject into out. */
void att_cert_name(X509 *c, char *out, size_t cap);
bool att_subject_contains(X509 *c, const char *needle);
/* Verifies leaf -> untrusted... -> anchor at trust time (or without time
 * checks when check_time is false). 0, or -EACCES with err naming the failure. */
int att_chain_verify(X509 *leaf, STACK_OF(X509) *untrusted, X509 *anchor, const struct att_trust *t,
		     bool check_time, struct vg_err *err);
/* Finds in certs the one whose SHA-256 fingerprint is fp; NULL when none. */
X509 *att_find_by_fingerprint(STACK_OF(X509) *certs, const uint8_t fp[32]);
/* The verification time: trust->at or now. */
int64_t att_now(const struct att_trust *t);
/* notAfter of c as unix time (INT64_MAX on failure). */
int64_t att_cert_not_after(X509 *c);
/* Checks a CRL: issued by issuer (signature), serial of `subject` not listed.
 * Returns 0 ok, -EKEYREVOKED when listed, -EACCES wrong issuer or bad signature. */
int att_crl_check(X509_CRL *crl, X509 *issuer, X509 *subject, const char *what, struct vg_err *err);

/* ECDSA over msg with the given digest; r and s big-endian of n bytes each. */
int att_ecdsa_verify_be(EVP_PKEY *pk, const EVP_MD *md, const uint8_t *msg, size_t len, const uint8_t *r,
			const uint8_t *s, size_t n);
/* Same with r and s little-endian (SNP). */
int att_ecdsa_verify_le(EVP_PKEY *pk, const EVP_MD *md, const uint8_t *msg, size_t len, const uint8_t *r,
			const uint8_t *s, size_t n);
/* Fast path for a key used many times: a verify context made once, then
 * ECDSA over msg hashed with SHA-384 (sha384) or SHA-256; r and s of n bytes,
 * little- or big-endian. 1 valid, 0 invalid. */
EVP_PKEY_CTX *att_verify_ctx_new(EVP_PKEY *pk);
int att_ecdsa_verify_ctx(EVP_PKEY_CTX *c, bool sha384, const uint8_t *msg, size_t len, const uint8_t *r,
			 const uint8_t *s, size_t n, bool little_endian);
/* A P-256 public key from raw x||y (64 bytes). */
EVP_PKEY *att_p256_from_raw(const uint8_t xy[64]);

/* Sets res rejected with a formatted reason; returns 0 (a verdict). */
int att_reject(struct att_result *res, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Pinned roots. */
struct att_amd_root {
	enum sev_snp_product product;
	uint8_t sha256[32];
};
extern const struct att_amd_root att_amd_roots[3];
extern const uint8_t att_intel_root_sha256[32];

/* TDX collateral evaluation (tdx_collateral.c). */
int att_tdx_eval_collateral(const struct att_tdx_collateral *c, const struct tdx_quote *q,
			    const struct att_pck_ext *pck, X509 *pck_leaf, STACK_OF(X509) *pck_chain,
			    X509 *root, const struct att_trust *t, struct att_tcb_eval *out,
			    struct vg_err *err);

#endif
