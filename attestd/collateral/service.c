/* vigil-attestd's use of the cache: SNP evidence that came without its
 * certificate table (or without its ASK/ARK) is completed from the cache /
 * KDS; TDX quotes get their platform's PCS collateral. The anchors tried are
 * the service's: the vendor roots, then each --trust-sim-root. */
#include "attestd/attestd.h"
#include "attestd/collateral/collateral.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

static size_t trusts_of(const struct ad_service *s, struct att_trust *t)
{
	memset(t, 0, sizeof(*t) * (1 + AD_MAX_SIM_ROOTS));
	for (size_t i = 0; i < s->n_sim_roots; i++)
		t[1 + i].sim_root = s->sim_roots[i];
	return 1 + s->n_sim_roots;
}

/* PEM "ASK then ARK" (as KDS serves cert_chain) -> the evidence's DER slots
 * that are still empty. */
static int split_chain(const uint8_t *pem, size_t len, struct ad_evidence *ev, struct vg_err *err)
{
	if (len > INT32_MAX)
		return vg_err_set(err, EFBIG, "cached chain too large");
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	uint8_t **slot[2] = {&ev->ask, &ev->ark};
	size_t *slot_len[2] = {&ev->ask_len, &ev->ark_len};
	int rc = 0;
	for (int i = 0; i < 2 && !rc; i++) {
		X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
		unsigned char *d = NULL;
		int n = x ? i2d_X509(x, &d) : -1;
		X509_free(x);
		if (n <= 0) {
			rc = vg_err_set(err, EBADMSG, "cached certificate chain: %s certificate missing", i ? "ARK" : "ASK");
			break;
		}
		if (!*slot[i]) {
			*slot[i] = malloc((size_t)n);
			if (*slot[i]) {
				memcpy(*slot[i], d, (size_t)n);
				*slot_len[i] = (size_t)n;
			} else {
				rc = vg_err_set(err, ENOMEM, "out of memory");
			}
		}
		OPENSSL_free(d);
	}
	BIO_free(b);
	return rc;
}

int ad_coll_complete_evidence(struct ad_service *s, struct ad_evidence *ev, struct vg_err *err)
{
	if (ev->platform != ATT_PLATFORM_SNP || (ev->vcek && ev->ask && ev->ark))
		return 0;
	if (!s->coll)
		return vg_err_set(err, EINVAL,
				  ev->vcek ? "primary_evidence.cert_chain: no ask/ark entry, and this service has no "
					     "--collateral-cache to find the chain in"
					   : "primary_evidence.cert_chain: missing; send the certificate table (vcek or "
					     "vlek, ask, ark), or start the service with --collateral-cache");
	struct att_trust t[1 + AD_MAX_SIM_ROOTS];
	size_t nt = trusts_of(s, t);
	int rc;
	if (ev->vcek) { /* a key certificate without (all of) its chain */
		uint8_t *chain = NULL;
		size_t cl = 0;
		rc = ad_coll_chain_get(s->coll, ev->vcek, ev->vcek_len, t, nt, &chain, &cl, err);
		if (!rc)
			rc = split_chain(chain, cl, ev, err);
		free(chain);
		return rc;
	}
	struct ad_coll_snp c;
	rc = ad_coll_snp_get(s->coll, ev->report, ev->report_len, t, nt, false, &c, err);
	if (rc)
		return rc;
	rc = split_chain(c.chain, c.chain_len, ev, err);
	if (!rc) {
		ev->vcek = c.vcek, ev->vcek_len = c.vcek_len, c.vcek = NULL;
		ev->vlek = false;
	}
	ad_coll_snp_free(&c);
	return rc;
}

int ad_coll_tdx_for_quote(struct ad_service *s, const uint8_t *quote, size_t len, struct att_tdx_collateral *out,
			  bool *expired, struct vg_err *err)
{
	struct att_trust t[1 + AD_MAX_SIM_ROOTS];
	size_t nt = trusts_of(s, t);
	return ad_coll_tdx_get(s->coll, quote, len, t, nt, out, expired, err);
}
