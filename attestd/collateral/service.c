/* vigil-attestd's use of the cache: SNP evidence that came without its
 * certificate table (or without its ASK/ARK) is completed from the cache /
 * KDS; TDX quotes get their platform's PCS collateral. The anchors tried are
 * the service's: the vendor roots, then each --trust-sim-root. */
#include "attestd/attestd.h"
#include "attestd/collateral/collateral.h"

#include <stdlib.h>
#include <string.h>

static size_t trusts_of(const struct ad_service *s, struct att_trust *t)
{
	memset(t, 0, sizeof(*t) * (1 + AD_MAX_SIM_ROOTS));
	for (size_t i = 0; i < s->n_sim_roots; i++)
		t[1 + i].sim_root = s->sim_roots[i];
	return 1 + s->n_sim_roots;
}

int ad_coll_complete_evidence(struct ad_service *s, struct ad_evidence *ev, struct vg_err *err)
{
	if (ev->platform != ATT_PLATFORM_SNP || (ev->vcek && ev->chain_pem))
		return 0;
	if (!s->coll)
		return vg_err_set(err, EINVAL,
				  ev->vcek ? "primary_evidence.cert_chain: no ask/ark entry, and this service has no "
					     "--collateral-cache to find the chain in"
					   : "primary_evidence.cert_chain: missing; send the certificate table (vcek or "
					     "vlek, ask, ark), or start the service with --collateral-cache");
	struct att_trust t[1 + AD_MAX_SIM_ROOTS];
	size_t nt = trusts_of(s, t);
	if (ev->vcek) /* a key certificate without its chain */
		return ad_coll_chain_get(s->coll, ev->vcek, ev->vcek_len, t, nt, &ev->chain_pem, &ev->chain_pem_len, err);
	struct ad_coll_snp c;
	int rc = ad_coll_snp_get(s->coll, ev->report, ev->report_len, t, nt, false, &c, err);
	if (rc)
		return rc;
	ev->vcek = c.vcek, ev->vcek_len = c.vcek_len;
	ev->chain_pem = c.chain, ev->chain_pem_len = c.chain_len;
	ev->vlek = false;
	c.vcek = c.chain = NULL;
	ad_coll_snp_free(&c);
	return 0;
}

int ad_coll_tdx_for_quote(struct ad_service *s, const uint8_t *quote, size_t len, struct att_tdx_collateral *out,
			  bool *expired, struct vg_err *err)
{
	struct att_trust t[1 + AD_MAX_SIM_ROOTS];
	size_t nt = trusts_of(s, t);
	return ad_coll_tdx_get(s->coll, quote, len, t, nt, out, expired, err);
}
