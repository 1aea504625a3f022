/* SEV-SNP: the VCEK, ASK/ARK chain and CRL of a report that came without a
 * certificate table, from the cache or AMD KDS (fetched once, verified by
 * attest/, stored). */
#include "attestd/collateral/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

void ad_coll_snp_free(struct ad_coll_snp *s)
{
	free(s->vcek);
	free(s->chain);
	free(s->crl);
	memset(s, 0, sizeof(*s));
}

int ad_coll_vcek_path(const struct sev_snp_report *r, enum sev_snp_product p, char *out, size_t cap,
		      struct vg_err *err)
{
	if (p == SEV_SNP_PRODUCT_UNKNOWN && r->has_cpuid)
		p = sev_snp_product_from_cpuid(r->cpuid_fam_id, r->cpuid_mod_id);
	if (p == SEV_SNP_PRODUCT_UNKNOWN)
		return vg_err_set(err, EINVAL, "report: product unknown (a v2 report names no CPUID)");
	struct sev_snp_tcb t;
	sev_snp_tcb_decode(r->reported_tcb, p, &t);
	size_t hwid_len = p == SEV_SNP_PRODUCT_TURIN ? 8 : 64;
	char hwid[129];
	vg_hex_encode(r->chip_id, hwid_len, hwid);
	int n;
	if (p == SEV_SNP_PRODUCT_TURIN)
		n = snprintf(out, cap, "vcek/v1/%s/%s?fmcSPL=%u&blSPL=%u&teeSPL=%u&snpSPL=%u&ucodeSPL=%u",
			     sev_snp_product_name(p), hwid, t.fmc, t.bl, t.tee, t.snp, t.ucode);
	else
		n = snprintf(out, cap, "vcek/v1/%s/%s?blSPL=%u&teeSPL=%u&snpSPL=%u&ucodeSPL=%u", sev_snp_product_name(p),
			     hwid, t.bl, t.tee, t.snp, t.ucode);
	if (n < 0 || (size_t)n >= cap)
		return vg_err_set(err, ENAMETOOLONG, "VCEK path too long");
	return 0;
}

/* The VCEK's HWID and TCB extensions must be the ones the URL asked for. */
static int check_ext(const uint8_t *der, size_t len, const struct sev_snp_report *r, enum sev_snp_product p,
		     struct vg_err *err)
{
	struct att_amd_cert_ext x;
	if (att_amd_cert_ext_parse(der, len, &x, err))
		return -EACCES;
	size_t hl = p == SEV_SNP_PRODUCT_TURIN ? 8 : 64;
	if (x.hwid_len != hl || memcmp(x.hwid, r->chip_id, hl))
		return vg_err_set(err, EACCES, "VCEK from KDS: HWID extension is not the report's CHIP_ID");
	struct sev_snp_tcb t;
	sev_snp_tcb_decode(r->reported_tcb, p, &t);
	const struct {
		int arc;
		uint8_t want;
		const char *name;
	} f[] = {{1, t.bl, "blSPL"}, {2, t.tee, "teeSPL"}, {3, t.snp, "snpSPL"}, {8, t.ucode, "ucodeSPL"}};
	for (size_t i = 0; i < VG_ARRAY_SIZE(f); i++)
		if (!x.has_tcb[f[i].arc] || x.tcb[f[i].arc] != f[i].want)
			return vg_err_set(err, EACCES, "VCEK from KDS: %s extension %u is not the report's %u", f[i].name,
					  x.tcb[f[i].arc], f[i].want);
	if (p == SEV_SNP_PRODUCT_TURIN && (!x.has_tcb[9] || x.tcb[9] != t.fmc))
		return vg_err_set(err, EACCES, "VCEK from KDS: fmcSPL extension is not the report's");
	return 0;
}

/* attest/ decides: the key certificate chains to a pinned ARK (or a trusted
 * simulated root) through chain, and the CRL (when given) is signed by that
 * ARK and does not revoke the ASK. */
struct snp_check {
	const uint8_t *vcek, *chain, *crl;
	size_t vl, cl, crll;
};

static bool snp_chains(void *ctx, const struct att_trust *trust, char *why, size_t cap)
{
	const struct snp_check *k = ctx;
	struct att_snp_input in = {k->vcek, k->vl, k->chain, k->cl, k->crl, k->crll};
	struct att_result res;
	att_result_init(&res);
	struct att_snp_verifier *v = att_snp_verifier_new(&in, trust, &res);
	if (v)
		att_snp_verifier_free(v);
	else
		snprintf(why, cap, "%s", res.reason);
	att_result_free(&res);
	return v != NULL;
}

static int verify_with(const uint8_t *vcek, size_t vl, const uint8_t *chain, size_t cl, const uint8_t *crl,
		       size_t crll, const struct att_trust *trusts, size_t nt, struct vg_err *err)
{
	struct snp_check k = {vcek, chain, crl, vl, cl, crll};
	return coll_verify_any_trust(trusts, nt, snp_chains, &k, err);
}

static int get_item(struct ad_coll *c, const char *rel, uint8_t **data, size_t *len, bool *fetched,
		    struct vg_err *err)
{
	*fetched = false;
	int rc = coll_read(c, rel, NULL, data, len, err);
	if (rc != -ENOENT)
		return rc;
	struct coll_resp r;
	rc = coll_get(c, true, rel, NULL, &r, err);
	if (rc)
		return rc;
	if (!r.body.len) {
		coll_resp_free(&r);
		return vg_err_set(err, EIO, "AMD KDS %s: empty answer", rel);
	}
	*data = r.body.data;
	*len = r.body.len;
	r.body.data = NULL;
	coll_resp_free(&r);
	*fetched = true;
	return 0;
}

static bool cached(const struct ad_coll *c, const char *rel)
{
	char p[2048];
	return coll_path(c, rel, NULL, p, sizeof(p), NULL) == 0 && access(p, R_OK) == 0;
}

struct snp_paths {
	char vcek[400], chain[64], crl[64];
};

static int try_product_locked(struct ad_coll *c, const struct sev_snp_report *r, enum sev_snp_product p,
			      const struct snp_paths *sp, const struct att_trust *trusts, size_t nt, bool with_crl,
			      struct ad_coll_snp *out, struct vg_err *err)
{
	const char *vrel = sp->vcek, *crel = sp->chain, *lrel = sp->crl;
	int rc;
	bool fv = false, fc = false, fl = false;
	/* The VCEK first: with an unknown product, a KDS 404 here moves on to the next product. */
	if ((rc = get_item(c, vrel, &out->vcek, &out->vcek_len, &fv, err)))
		goto fail;
	if ((rc = get_item(c, crel, &out->chain, &out->chain_len, &fc, err)))
		goto fail;
	if (with_crl && (rc = get_item(c, lrel, &out->crl, &out->crl_len, &fl, err)))
		goto fail;
	if (fv || fc || fl) {
		/* Anything new is checked by attest/ before it is stored or used. */
		if ((rc = verify_with(out->vcek, out->vcek_len, out->chain, out->chain_len, out->crl, out->crl_len,
				      trusts, nt, err))) {
			vg_err_prefix(err, "material from AMD KDS for %s rejected, not stored", sev_snp_product_name(p));
			goto fail;
		}
		if (fv && (rc = check_ext(out->vcek, out->vcek_len, r, p, err)))
			goto fail;
		if ((fc && (rc = coll_store(c, crel, NULL, out->chain, out->chain_len, err))) ||
		    (fl && (rc = coll_store(c, lrel, NULL, out->crl, out->crl_len, err))) ||
		    (fv && (rc = coll_store(c, vrel, NULL, out->vcek, out->vcek_len, err))))
			goto fail;
	}
	snprintf(out->product, sizeof(out->product), "%s", sev_snp_product_name(p));
	out->fetched = fv || fc || fl;
	return 0;
fail:
	ad_coll_snp_free(out);
	return rc;
}

/* Single flight: a miss takes the fetch lock and looks again, so concurrent
 * attestations of one chip fetch its VCEK once. */
static int try_product(struct ad_coll *c, const struct sev_snp_report *r, enum sev_snp_product p,
		       const struct att_trust *trusts, size_t nt, bool with_crl, struct ad_coll_snp *out,
		       struct vg_err *err)
{
	struct snp_paths sp;
	int rc = ad_coll_vcek_path(r, p, sp.vcek, sizeof(sp.vcek), err);
	if (rc)
		return rc;
	snprintf(sp.chain, sizeof(sp.chain), "vcek/v1/%s/cert_chain", sev_snp_product_name(p));
	snprintf(sp.crl, sizeof(sp.crl), "vcek/v1/%s/crl", sev_snp_product_name(p));
	bool hit = cached(c, sp.vcek) && cached(c, sp.chain) && (!with_crl || cached(c, sp.crl));
	if (!hit)
		pthread_mutex_lock(&c->fetch);
	rc = try_product_locked(c, r, p, &sp, trusts, nt, with_crl, out, err);
	if (!hit)
		pthread_mutex_unlock(&c->fetch);
	return rc;
}

int ad_coll_snp_get(struct ad_coll *c, const uint8_t *report, size_t len, const struct att_trust *trusts,
		    size_t ntrusts, bool with_crl, struct ad_coll_snp *out, struct vg_err *err)
{
	memset(out, 0, sizeof(*out));
	struct sev_snp_report r;
	if (len < SEV_SNP_REPORT_SIZE)
		return vg_err_set(err, EBADMSG, "SNP report: %zu bytes, need %d", len, SEV_SNP_REPORT_SIZE);
	int rc = sev_snp_report_parse(report, SEV_SNP_REPORT_SIZE, &r, err);
	if (rc)
		return -EBADMSG;
	if (r.signing_key != 0)
		return vg_err_set(err, ENOENT,
				  "the report is not signed by a VCEK (signing key %u): a VLEK certificate comes from "
				  "the cloud provider with the evidence, AMD KDS does not serve it per chip",
				  r.signing_key);
	enum sev_snp_product order[3] = {SEV_SNP_PRODUCT_MILAN, SEV_SNP_PRODUCT_GENOA, SEV_SNP_PRODUCT_TURIN};
	size_t n = 3;
	if (r.has_cpuid) {
		order[0] = sev_snp_product_from_cpuid(r.cpuid_fam_id, r.cpuid_mod_id);
		n = order[0] == SEV_SNP_PRODUCT_UNKNOWN ? 3 : 1;
		if (n == 3)
			order[0] = SEV_SNP_PRODUCT_MILAN;
	}
	struct vg_err first = {0};
	for (size_t i = 0; i < n; i++) {
		struct vg_err e = {0};
		rc = try_product(c, &r, order[i], trusts, ntrusts, with_crl, out, &e);
		if (!rc)
			return 0;
		if (rc != -ENOENT) { /* KDS trouble or bad material: stop here */
			if (err)
				*err = e;
			return rc;
		}
		if (!first.msg[0])
			first = e;
	}
	char hwid[17];
	vg_hex_encode(r.chip_id, 8, hwid);
	return vg_err_set(err, ENOENT, "no VCEK for chip %s... at the report's TCB: %s", hwid, first.msg);
}

int ad_coll_chain_get(struct ad_coll *c, const uint8_t *key_cert, size_t key_cert_len,
		      const struct att_trust *trusts, size_t ntrusts, uint8_t **chain, size_t *chain_len,
		      struct vg_err *err)
{
	*chain = NULL;
	*chain_len = 0;
	/* The key certificate arrives in the evidence (PEM or DER); its extensions name the product. */
	struct att_amd_cert_ext x;
	const uint8_t *der = key_cert;
	size_t dl = key_cert_len;
	uint8_t *conv = NULL;
	if (key_cert_len > 10 && !memcmp(key_cert, "-----", 5)) {
		BIO *b = BIO_new_mem_buf(key_cert, (int)(key_cert_len > INT32_MAX ? 0 : key_cert_len));
		X509 *xc = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
		BIO_free(b);
		unsigned char *d = NULL;
		int n = xc ? i2d_X509(xc, &d) : -1;
		X509_free(xc);
		if (n <= 0)
			return vg_err_set(err, EBADMSG, "key certificate: not PEM or DER");
		conv = malloc((size_t)n);
		if (conv)
			memcpy(conv, d, (size_t)n);
		OPENSSL_free(d);
		if (!conv)
			return vg_err_set(err, ENOMEM, "out of memory");
		der = conv;
		dl = (size_t)n;
	}
	int rc = att_amd_cert_ext_parse(der, dl, &x, err);
	free(conv);
	if (rc)
		return -EBADMSG;
	const char *names[] = {"Milan", "Genoa", "Turin"};
	const char *prod = NULL;
	for (size_t i = 0; i < VG_ARRAY_SIZE(names); i++)
		if (!strncmp(x.product_name, names[i], strlen(names[i])))
			prod = names[i];
	if (!prod)
		return vg_err_set(err, EBADMSG, "key certificate: productName \"%s\" is not Milan, Genoa or Turin",
				  x.product_name);
	char rel[64];
	snprintf(rel, sizeof(rel), "%s/v1/%s/cert_chain", x.has_csp_id ? "vlek" : "vcek", prod);
	bool fetched = false;
	pthread_mutex_lock(&c->fetch);
	rc = get_item(c, rel, chain, chain_len, &fetched, err);
	if (rc) {
		pthread_mutex_unlock(&c->fetch);
		return rc;
	}
	if (fetched) {
		if ((rc = verify_with(key_cert, key_cert_len, *chain, *chain_len, NULL, 0, trusts, ntrusts, err)) ||
		    (rc = coll_store(c, rel, NULL, *chain, *chain_len, err))) {
			if (rc == -EACCES)
				vg_err_prefix(err, "chain from AMD KDS for %s rejected, not stored", prod);
			free(*chain);
			*chain = NULL;
			*chain_len = 0;
			pthread_mutex_unlock(&c->fetch);
			return rc;
		}
	}
	pthread_mutex_unlock(&c->fetch);
	return 0;
}
