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

#endif /* VIGIL_ATTEST_H */
