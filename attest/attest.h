/*
 * attest/: verification of SEV-SNP attestation reports and TDX DCAP quotes
 * against the pinned AMD and Intel roots (or, only when asked, a simulated
 * root). The one public header of this directory. Prefix: att_.
 *
 * Every verify function fills a struct att_result: a verdict, a one-line
 * reason naming the check that failed, the platform, the product, whether
 * the evidence chains to a simulated root, and the claims. It returns 0 when
 * a verdict was reached (verified or rejected: see res->verified) and a
 * negative errno only for failures that are not about the evidence (ENOMEM,
 * unreadable collateral directory). See docs/verification.md.
 */
#ifndef VIGIL_ATTEST_H
#define VIGIL_ATTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/types.h>

#include "common/common.h"
#include "sev/sev.h"
#include "tdx/tdx.h"

enum att_platform { ATT_PLATFORM_NONE = 0, ATT_PLATFORM_SNP, ATT_PLATFORM_TDX };

/* A trust anchor given explicitly (the simulated platform's root). Its
 * subject must contain "SIMULATED": the option never stands in for a vendor
 * root, and results that chain to it say "simulated": true. */
struct att_anchor;
int att_anchor_load(const uint8_t *pem_or_der, size_t len, struct att_anchor **out, struct vg_err *err);
void att_anchor_free(struct att_anchor *a);

/* How to decide trust. Zero-initialised = the pinned vendor roots, at the current time. */
struct att_trust {
	const struct att_anchor *sim_root; /* non-NULL: trust only this simulated root */
	bool have_at;                      /* evaluate validity at `at` instead of now */
	int64_t at;                        /* unix seconds */
};

/* TDX TCB evaluation outcome (Intel QVL statuses). */
enum att_tcb_status {
	ATT_TCB_NOT_EVALUATED = 0,
	ATT_TCB_UP_TO_DATE,
	ATT_TCB_SW_HARDENING_NEEDED,
	ATT_TCB_CONFIGURATION_NEEDED,
	ATT_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED,
	ATT_TCB_OUT_OF_DATE,
	ATT_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED,
	ATT_TCB_REVOKED,
	ATT_TCB_NO_MATCHING_LEVEL,
};
/* "UpToDate", ..., "NoMatchingTcbLevel", "NotEvaluated". */
const char *att_tcb_status_name(enum att_tcb_status s);

/* PCK certificate SGX extensions (OID 1.2.840.113741.1.13.1). */
struct att_pck_ext {
	uint8_t ppid[16];
	uint8_t cpusvn[16];
	uint8_t sgx_comp[16]; /* SGX TCB components 1..16 */
	uint16_t pcesvn;
	uint8_t pceid[2];
	uint8_t fmspc[6];
	int sgx_type; /* 0 Standard, 1 Scalable, 2 Scalable with integrity */
};
/* Parses the SGX extension value (the extension's DER content). */
int att_pck_ext_parse(const uint8_t *der, size_t len, struct att_pck_ext *out, struct vg_err *err);

/* AMD VCEK/VLEK certificate extensions (OID 1.3.6.1.4.1.3704.1.x). */
struct att_amd_cert_ext {
	char product_name[32]; /* .2, e.g. "Milan-B0" */
	bool has_tcb[10];      /* index = .3.x arc (1 bl, 2 tee, 3 snp, 8 ucode, 9 fmc) */
	uint8_t tcb[10];
	uint8_t hwid[64];      /* .4 */
	size_t hwid_len;       /* 0 when absent; 64, or 8 on Turin */
	char csp_id[128];      /* .5 (VLEK only) */
	bool has_csp_id;
};
/* Reads the AMD extensions of a DER certificate. */
int att_amd_cert_ext_parse(const uint8_t *cert_der, size_t len, struct att_amd_cert_ext *out,
			   struct vg_err *err);

/* The result of one verification. */
struct att_result {
	bool verified;
	char reason[512]; /* "ok" or the failed check */
	enum att_platform platform;
	char product[32]; /* "Milan", "Genoa", "Turin"; TDX: "TDX" */
	bool simulated;
	bool parsed; /* the evidence parsed: the claims below are filled */
	/* SNP */
	struct sev_snp_report snp;
	char snp_key[8]; /* "VCEK" / "VLEK" */
	char snp_csp_id[128]; /* VLEK: the cloud provider (CSP_ID extension) */
	/* TDX */
	struct tdx_quote tdx; /* pointers inside are cleared (they referred to the caller's buffer) */
	bool have_pck;
	struct att_pck_ext pck;
	enum att_tcb_status tcb_status;
	enum att_tcb_status tcb_platform, tcb_module, tcb_qe;
	char tcb_date[32];
	json_t *advisories;        /* array of strings or NULL */
	bool collateral_expired;
	char collateral_note[512]; /* which collateral part expired / CRL notes */
	json_t *ccel;              /* CCEL replay and events, or NULL */
};
void att_result_init(struct att_result *r);
void att_result_free(struct att_result *r);
/* {"verdict","reason","platform","product","simulated","claims":{...}}; new reference. */
json_t *att_result_json(const struct att_result *r);

/* ------------------------------------------------------------------ SNP */
struct att_snp_input {
	const uint8_t *key_cert; /* VCEK or VLEK, PEM or DER; a PEM may carry ASK and ARK after it */
	size_t key_cert_len;
	const uint8_t *chain;    /* ASK (or ASVK) and ARK, PEM; optional when key_cert carries them */
	size_t chain_len;
	const uint8_t *crl;      /* optional AMD CRL for the ARK/ASK level, PEM or DER */
	size_t crl_len;
};

/* Verifies a report: signature, key chain to the pinned ARK, TCB/HWID binding. */
int att_snp_verify(const uint8_t *report, size_t len, const struct att_snp_input *in,
		   const struct att_trust *trust, struct att_result *res);

/* The same in two steps, for a verifier that sees many reports signed by one
 * key: the chain is checked once by att_snp_verifier_new (NULL + res rejected
 * when it fails), then each report costs one signature check. Certificate
 * validity is evaluated when the verifier is made; make a new one to re-check
 * time. Not thread-safe: use one per thread. */
struct att_snp_verifier;
struct att_snp_verifier *att_snp_verifier_new(const struct att_snp_input *in, const struct att_trust *trust,
					      struct att_result *res);
int att_snp_verifier_check(struct att_snp_verifier *v, const uint8_t *report, size_t len,
			   struct att_result *res);
void att_snp_verifier_free(struct att_snp_verifier *v);

/* ------------------------------------------------------------------ TDX */
/* Collateral as Intel PCS serves it. Files in a collateral directory:
 *   tcb_info.json                 TCB info v3 response (required)
 *   qe_identity.json              QE identity v2 response (required)
 *   tcb_info_issuer_chain.pem     TCB-Info-Issuer-Chain header (required)
 *   qe_identity_issuer_chain.pem  (optional; default: the TCB info chain)
 *   pck_crl.der / .pem            PCK CRL (optional)
 *   pck_crl_issuer_chain.pem      (optional; default: the quote's PCK chain)
 *   root_crl.der / .pem           Intel SGX Root CA CRL (optional) */
struct att_tdx_collateral {
	uint8_t *tcb_info, *qe_identity, *tcb_chain, *qe_chain, *pck_crl, *pck_crl_chain, *root_crl;
	size_t tcb_info_len, qe_identity_len, tcb_chain_len, qe_chain_len, pck_crl_len,
		pck_crl_chain_len, root_crl_len;
};
int att_tdx_collateral_load_dir(const char *dir, struct att_tdx_collateral *c, struct vg_err *err);
void att_tdx_collateral_free(struct att_tdx_collateral *c);

struct att_tdx_input {
	const struct att_tdx_collateral *collateral; /* NULL: TCB status not evaluated */
	const uint8_t *ccel;                         /* CC event log, or NULL */
	size_t ccel_len;
};
int att_tdx_verify(const uint8_t *quote, size_t len, const struct att_tdx_input *in,
		   const struct att_trust *trust, struct att_result *res);

/* Cached form: the PCK chain, QE report and collateral checks are remembered
 * for the exact certification bytes last seen, so a stream of quotes from one
 * platform costs one P-256 verification each. `in` and `trust` are copied, but
 * the collateral, CCEL and anchor they point to must outlive the verifier.
 * A verifier is not thread-safe: use one per thread. */
struct att_tdx_verifier;
struct att_tdx_verifier *att_tdx_verifier_new(const struct att_tdx_input *in, const struct att_trust *trust);
int att_tdx_verifier_check(struct att_tdx_verifier *v, const uint8_t *quote, size_t len,
			   struct att_result *res);
void att_tdx_verifier_free(struct att_tdx_verifier *v);

/* Outcome of a TCB evaluation against collateral. */
struct att_tcb_eval {
	enum att_tcb_status status;        /* converged, as QVL reports it */
	enum att_tcb_status platform, module, qe; /* the parts (module: NotEvaluated without identities) */
	char tcb_date[32];
	json_t *advisories; /* owned; array of advisory IDs or NULL */
	bool expired;       /* some collateral part is past its nextUpdate / notAfter */
	char note[512];
};
/* QVL-style TCB evaluation (platform level, TDX module identity, QE identity)
 * of TCB info and QE identity responses that were ALREADY AUTHENTICATED (for
 * example collateral cached after att_tdx_verify checked it, and fuzzing).
 * It checks no signature. Identity mismatches return -EACCES. */
int att_tdx_tcb_evaluate_trusted(const uint8_t *tcb_info, size_t tcb_info_len, const uint8_t *qe_identity,
				 size_t qe_identity_len, const struct tdx_quote *q, const struct att_pck_ext *pck,
				 struct att_tcb_eval *out, struct vg_err *err);

/* Collateral JSON (TCB info v3 / QE identity v2): locates the exact bytes of
 * the signed value of `key` ("tcbInfo" or "enclaveIdentity") in the top-level
 * object and decodes the hex "signature". For fuzzing and tests. */
int att_json_signed_span(const char *json, size_t len, const char *key, size_t *off, size_t *span_len,
			 struct vg_err *err);

/* -------------------------------------------------------------------- JOSE */
/*
 * One small JOSE module shared by policy/ (EAR tokens), attestd/ (admin tokens,
 * resource release) and agent/ (resource unwrap). It composes OpenSSL 3's own
 * primitives (EVP signatures, ECDH, SSKDF as the Concat KDF, AES key wrap,
 * AES-GCM, RSA-OAEP) with jansson; no cipher, KDF or curve is written here.
 * Every parser of untrusted JOSE input is bounds-checked and fuzzed.
 */
/* Standard base64 (padded) or base64url (RFC 7515 sec. 2: no padding). */
char *att_b64_encode(const void *in, size_t len, bool url); /* malloc'd, NUL-terminated; NULL on OOM */
/* Strict: rejects characters outside the alphabet, bad padding, non-zero trailing bits. */
int att_b64_decode(const char *in, size_t in_len, bool url, uint8_t **out, size_t *out_len,
		   struct vg_err *err);

enum att_jws_alg { ATT_JWS_ES256 = 1u << 0, ATT_JWS_ES384 = 1u << 1, ATT_JWS_EDDSA = 1u << 2 };
const char *att_jws_alg_name(enum att_jws_alg alg); /* "ES256", "ES384", "EdDSA" */
/* The natural algorithm of a key: P-256 -> ES256, P-384 -> ES384, Ed25519 -> EdDSA; 0 otherwise. */
enum att_jws_alg att_jws_alg_for_key(const EVP_PKEY *key);

/* Public JWK (RFC 7517/7518/8037) of an EC P-256/P-384, Ed25519 or RSA key; never private parts. */
json_t *att_jwk_from_pkey(const EVP_PKEY *key, struct vg_err *err);
/* Public key from a JWK; checks kty/crv, coordinate lengths and that EC points are on the curve. */
int att_jwk_to_pkey(const json_t *jwk, EVP_PKEY **out, struct vg_err *err);
/* RFC 7638 SHA-256 thumbprint, base64url (43 chars + NUL). */
int att_jwk_thumbprint(const json_t *jwk, char out[44], struct vg_err *err);

/* JWS compact serialization. Header: {"alg", "typ" (if non-NULL), "kid" (if non-NULL)}. ECDSA
 * signatures are the raw R||S form of RFC 7518 sec. 3.4. */
int att_jws_sign(EVP_PKEY *key, enum att_jws_alg alg, const char *typ, const char *kid,
		 const uint8_t *payload, size_t payload_len, char **compact, struct vg_err *err);
/* Verifies against any of keys[] whose type fits the header's alg; alg must be in allowed_algs
 * (a mask of enum att_jws_alg; "none" and HMAC are never accepted). On success returns the
 * payload (malloc'd) and, if header != NULL, the protected header (new reference). */
int att_jws_verify(const char *compact, EVP_PKEY *const *keys, size_t nkeys, unsigned allowed_algs,
		   uint8_t **payload, size_t *payload_len, json_t **header, struct vg_err *err);

/* JWE, flattened JSON serialization (RFC 7516 sec. 7.2.2), content encryption A256GCM.
 * Key management by recipient key type: EC P-256/P-384 -> ECDH-ES+A256KW (Concat KDF of
 * RFC 7518 sec. 4.6 via OpenSSL SSKDF), RSA (>= 2048 bits) -> RSA-OAEP-256. */
int att_jwe_encrypt(EVP_PKEY *recipient, const uint8_t *plaintext, size_t len, json_t **jwe,
		    struct vg_err *err);
/* Decrypts with the recipient's private key; the plaintext is malloc'd (caller cleanses it). */
int att_jwe_decrypt(EVP_PKEY *priv, const json_t *jwe, uint8_t **plaintext, size_t *len,
		    struct vg_err *err);

/* ----------------------------------------------------- KBS protocol binding */
/* RFC 8785 (JCS) canonical JSON of v, appended to out (nothing appended on error). Numbers are
 * printed as ECMAScript's Number::toString does (shortest round-trip form); an integer beyond
 * +-2^53 whose value would change that way (e.g. 2^53+1) is refused with -ERANGE. */
int att_jcs_serialize(const json_t *v, struct vg_buf *out, struct vg_err *err);
/* REPORT_DATA that binds a KBS 0.4.0 session: SHA-384 of the JCS of
 * {"additional-evidence": additional_evidence, "nonce": nonce, "tee-pubkey": tee_pubkey}
 * followed by 16 zero bytes, as Trustee computes it (checked against Trustee's KBS and
 * guest-components' KBS client; docs/jose.md). The "additional-evidence" member is always
 * present: a JSON string, "" when there is none (pass NULL or ""), never null or omitted.
 * tee_pubkey is the JWK exactly as sent in runtime-data (including e.g. its "alg"). */
#define ATT_REPORT_DATA_LEN 64
int att_kbs_report_data(const char *nonce, const json_t *tee_pubkey, const char *additional_evidence,
			uint8_t out[ATT_REPORT_DATA_LEN], struct vg_err *err);

/* Trustee's init-data (kbs/docs/initdata.md): the digest of body (a NUL-terminated document
 * in format "toml" or "json") by the hash its top-level `algorithm` names (sha256, sha384,
 * sha512; "sha-384" spellings too), over the body bytes as they are. out gets want_len bytes
 * (at most ATT_INIT_DATA_DIGEST_MAX): the digest truncated or zero-padded, the rule for SNP
 * HOST_DATA (32) and TDX MRCONFIGID (48); *md_len (optional) the digest's own length.
 * -EINVAL with the reason for an unknown format or algorithm, or a JSON body that is not an
 * object. Only `algorithm` is read from a TOML body. Shared by vigil-attestd and vigil-agent. */
#define ATT_INIT_DATA_DIGEST_MAX 64
#define ATT_INIT_DATA_MAX (1u << 20) /* the largest body either side accepts */
int att_init_data_digest(const char *format, const char *body, size_t want_len, uint8_t *out, size_t *md_len,
			 struct vg_err *err);

#endif /* VIGIL_ATTEST_H */
