/*
 * attestd/collateral/: offline caches of the vendor material a verifier needs
 * when the evidence does not carry it: the AMD VCEK, the ASK/ARK chain and the
 * AMD CRL (SEV-SNP, from AMD's Key Distribution Service, KDS), and the Intel
 * PCS collateral of a TDX quote's platform (TCB info, QE identity, PCK CRL,
 * root CA CRL). The one public header of this directory; prefix ad_coll_.
 *
 *   cache.c  the cache directory, laid out as the service URLs (a mirror made
 *            with `wget -x` works as is), atomic stores, safe path building
 *   fetch.c  one bounded libcurl GET; 429/5xx back off honouring Retry-After
 *            (no request is sent while backing off), response headers
 *   kds.c    SNP: VCEK / VLEK chain / CRL lookup, fetch, verify, store
 *   pcs.c    TDX: collateral lookup by FMSPC, fetch, verify, store, expiry
 *
 * Nothing is stored before attest/ accepted it: a VCEK is stored only when it
 * chains (with the fetched ASK/ARK) to a pinned AMD ARK (or a trusted
 * simulated root) and its HWID/TCB extensions equal the ones asked for;
 * PCS collateral only when att_tdx_verify evaluated the quote's TCB with it.
 * A KDS/PCS failure (429, 5xx, network, bad material) is an error returned to
 * the caller, never an accepted report.
 *
 * Cache layout (DIR = --collateral-cache):
 *   DIR/vcek/v1/{Milan|Genoa|Turin}/{hwid}?blSPL=B&teeSPL=T&snpSPL=S&ucodeSPL=U   VCEK, DER
 *       (Turin: hwid = first 8 bytes of CHIP_ID, and "fmcSPL=F&" first)
 *   DIR/vcek/v1/{product}/cert_chain     ASK then ARK, PEM (as KDS serves it)
 *   DIR/vlek/v1/{product}/cert_chain     ASVK then ARK, PEM
 *   DIR/vcek/v1/{product}/crl            AMD CRL, DER
 *   DIR/tdx/certification/v4/tcb?fmspc=F                    TCB info JSON
 *   DIR/tdx/certification/v4/qe/identity                    QE identity JSON
 *   DIR/sgx/certification/v4/pckcrl?ca={platform|processor}&encoding=der
 *   DIR/sgx/certification/v4/rootcacrl                      root CA CRL, DER
 *   each PCS file has FILE.issuer-chain.pem beside it (the issuer-chain
 *   response header, URL-decoded).
 */
#ifndef VIGIL_ATTESTD_COLLATERAL_H
#define VIGIL_ATTESTD_COLLATERAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "attest/attest.h"
#include "common/common.h"

#define AD_COLL_MAX_BODY (1u << 20) /* largest KDS/PCS response accepted */

struct ad_coll_cfg {
	const char *dir;     /* cache directory (required) */
	const char *kds_url; /* AMD KDS base, e.g. https://kdsintf.amd.com, or NULL: offline */
	const char *pcs_url; /* Intel PCS / PCCS base, e.g. https://api.trustedservices.intel.com, or NULL */
	long timeout_seconds;/* per request (default 10) */
};

struct ad_coll; /* thread-safe: one per service */
int ad_coll_open(const struct ad_coll_cfg *cfg, struct ad_coll **out, struct vg_err *err);
void ad_coll_free(struct ad_coll *c);
/* Requests sent to KDS/PCS so far (tests, metrics). */
long ad_coll_requests(const struct ad_coll *c);
/* Seconds until KDS (kds true) or PCS may be asked again (0 = now). */
long ad_coll_retry_in(struct ad_coll *c, bool kds);

/* ---------------------------------------------------------------- SNP */
struct ad_coll_snp {
	uint8_t *vcek;       /* DER */
	size_t vcek_len;
	uint8_t *chain;      /* PEM: ASK then ARK */
	size_t chain_len;
	uint8_t *crl;        /* DER or NULL (only when cached/fetched) */
	size_t crl_len;
	char product[16];    /* "Milan", "Genoa", "Turin" */
	bool fetched;        /* something came from KDS in this call */
};
void ad_coll_snp_free(struct ad_coll_snp *s);

/* The VCEK and chain of a report that came without a certificate table: from
 * the cache, else (with a KDS URL) fetched once, verified and stored. trusts:
 * the anchors tried in order (the vendor roots = a zeroed att_trust; simulated
 * roots after). Errors: -ENOENT not cached and offline, -EAGAIN KDS asked us
 * to back off (err says until when), -EIO KDS failure, -EACCES the material
 * does not verify (nothing stored), -EBADMSG the report does not parse.
 * with_crl: also get the product's CRL (failure to get it is an error). */
int ad_coll_snp_get(struct ad_coll *c, const uint8_t *report, size_t len, const struct att_trust *trusts,
		    size_t ntrusts, bool with_crl, struct ad_coll_snp *out, struct vg_err *err);

/* The KDS path of the VCEK of a report (relative, no leading '/'), for docs,
 * tools and tests: "vcek/v1/Milan/<hwid>?blSPL=..". product may be UNKNOWN
 * (then taken from the report's CPUID, v3+; else -EINVAL). */
int ad_coll_vcek_path(const struct sev_snp_report *r, enum sev_snp_product p, char *out, size_t cap,
		      struct vg_err *err);

/* ---------------------------------------------------------------- TDX */
/* PCS collateral for the platform of a quote (FMSPC and PCK CA from its PCK
 * certificate). Cached collateral past its nextUpdate is fetched again when a
 * PCS URL is configured; offline (or when PCS fails) the expired copy is
 * returned with *expired = true and att/policy see it as expired. Fetched
 * collateral is stored only when att_tdx_verify evaluated the quote with it.
 * Errors as ad_coll_snp_get. */
int ad_coll_tdx_get(struct ad_coll *c, const uint8_t *quote, size_t len, const struct att_trust *trusts,
		    size_t ntrusts, struct att_tdx_collateral *out, bool *expired, struct vg_err *err);

/* The ASK/ARK (VCEK) or ASVK/ARK (VLEK) chain for a key certificate that came
 * without it: cached or fetched from KDS (vcek|vlek/v1/{product}/cert_chain,
 * product from the certificate's productName), stored only when the key
 * certificate chains through it (attest/). chain is malloc'd PEM. */
int ad_coll_chain_get(struct ad_coll *c, const uint8_t *key_cert, size_t key_cert_len,
		      const struct att_trust *trusts, size_t ntrusts, uint8_t **chain, size_t *chain_len,
		      struct vg_err *err);

/* ------------------------------------------------ vigil-attestd (service.c) */
struct ad_service;
struct ad_evidence;
/* SNP evidence without a certificate table (vcek NULL) or without ASK/ARK
 * (ask or ark NULL): filled from the service's cache (s->coll). Without a cache:
 * -EINVAL naming what is missing. Errors as ad_coll_snp_get. */
int ad_coll_complete_evidence(struct ad_service *s, struct ad_evidence *ev, struct vg_err *err);
/* ad_coll_tdx_get with the service's anchors. */
int ad_coll_tdx_for_quote(struct ad_service *s, const uint8_t *quote, size_t len, struct att_tdx_collateral *out,
			  bool *expired, struct vg_err *err);

/* ------------------------------------------------- bounded parsers (fuzzed) */
/* Retry-After: delay-seconds or an HTTP-date (RFC 9110 10.2.3). *seconds is
 * clamped to [0, 86400]. -EINVAL on anything else. */
int ad_coll_parse_retry_after(const char *value, size_t len, time_t now, long *seconds);
/* Percent-decoding of an issuer-chain header value into a malloc'd buffer. */
int ad_coll_url_decode(const char *in, size_t len, char **out, size_t *out_len);
/* A path component we put into a URL and a file name: [A-Za-z0-9_.-], not
 * starting with '.' (so never "." or ".."), 1..max bytes. */
bool ad_coll_safe_component(const char *s, size_t max);

#endif /* VIGIL_ATTESTD_COLLATERAL_H */
