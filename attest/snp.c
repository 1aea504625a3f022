/* SEV-SNP report verification: VCEK/VLEK chain to the pinned ARK, report
 * signature, and the binding of the key certificate to the report. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "attest/internal.h"

struct att_snp_verifier {
	EVP_PKEY *key;
	EVP_PKEY_CTX *vctx;
	bool vlek;
	bool simulated;
	enum sev_snp_product product;
	struct att_amd_cert_ext ext;
	char product_name[32];
};

static enum sev_snp_product product_from_name(const char *name)
{
	static const struct { const char *p; enum sev_snp_product v; } tab[] = {
		{"Milan", SEV_SNP_PRODUCT_MILAN}, {"Genoa", SEV_SNP_PRODUCT_GENOA}, {"Turin", SEV_SNP_PRODUCT_TURIN}};
	for (size_t i = 0; i < VG_ARRAY_SIZE(tab); i++)
		if (!strncmp(name, tab[i].p, strlen(tab[i].p)))
			return tab[i].v;
	return SEV_SNP_PRODUCT_UNKNOWN;
}

static X509 *issuer_of(STACK_OF(X509) *pool, X509 *c)
{
	for (int i = 0; i < sk_X509_num(pool); i++) {
		X509 *x = sk_X509_value(pool, i);
		if (x != c && X509_check_issued(x, c) == X509_V_OK)
			return x;
	}
	return NULL;
}

/* "SEV-VCEK", or a simulated "SEV-VCEK SIMULATED": the CN starts with the name. */
static bool cn_is(X509 *c, const char *cn)
{
	char n[128];
	att_cert_name(c, n, sizeof(n));
	size_t k = strlen(cn);
	return !strncmp(n, cn, k) && (n[k] == 0 || n[k] == ' ');
}

static int check_crl(const struct att_snp_input *in, const struct att_trust *t, X509 *ark, X509 *ask,
		     struct att_result *res)
{
	struct vg_err e = {0};
	X509_CRL *crl = att_crl_parse(in->crl, in->crl_len, &e);
	if (!crl)
		return att_reject(res, "AMD CRL: %s", e.msg), -1;
	int rc = att_crl_check(crl, ark, ask, "AMD CRL", &e);
	if (!rc) {
		struct tm tm;
		const ASN1_TIME *nu = X509_CRL_get0_nextUpdate(crl);
		if (nu && ASN1_TIME_to_tm(nu, &tm) && (int64_t)timegm(&tm) < att_now(t)) {
			char when[32];
			vg_format_rfc3339((int64_t)timegm(&tm), when);
			vg_err_set(&e, EACCES, "AMD CRL is stale (nextUpdate %s)", when);
			rc = -EACCES;
		}
	}
	X509_CRL_free(crl);
	if (rc)
		return att_reject(res, "%s", e.msg), -1;
	return 0;
}

struct att_snp_verifier *att_snp_verifier_new(const struct att_snp_input *in, const struct att_trust *trust,
					      struct att_result *res)
{
	struct vg_err e = {0};
	STACK_OF(X509) *pool = NULL, *extra = NULL, *untrusted = NULL;
	struct att_snp_verifier *v = NULL;
	X509 *leaf, *anchor = NULL;
	enum sev_snp_product product = SEV_SNP_PRODUCT_UNKNOWN;
	unsigned char *der = NULL;

	res->platform = ATT_PLATFORM_SNP;
	res->verified = false;
	pool = att_certs_parse(in->key_cert, in->key_cert_len, "key certificate (VCEK/VLEK)", &e);
	if (!pool) {
		att_reject(res, "%s", e.msg);
		goto out;
	}
	leaf = sk_X509_value(pool, 0);
	if (in->chain && in->chain_len) {
		extra = att_certs_parse(in->chain, in->chain_len, "certificate chain (ASK/ARK)", &e);
		if (!extra) {
			att_reject(res, "%s", e.msg);
			goto out;
		}
		while (sk_X509_num(extra) > 0)
			sk_X509_push(pool, sk_X509_shift(extra));
	}
	untrusted = sk_X509_new_null();
	if (!untrusted) {
		att_reject(res, "out of memory");
		goto out;
	}
	if (trust && trust->sim_root) {
		anchor = trust->sim_root->cert;
		res->simulated = true;
		for (int i = 1; i < sk_X509_num(pool); i++)
			sk_X509_push(untrusted, sk_X509_value(pool, i));
		if (att_chain_verify(leaf, untrusted, anchor, trust, true, &e)) {
			att_reject(res, "%s", e.msg);
			goto out;
		}
	} else {
		/* Try every pinned ARK present (a bundle may carry several products);
		 * the product is the one whose ARK the key certificate chains to. */
		bool any = false;
		for (size_t r = 0; r < VG_ARRAY_SIZE(att_amd_roots) && !anchor; r++) {
			X509 *ark = att_find_by_fingerprint(pool, att_amd_roots[r].sha256);
			if (!ark)
				continue;
			sk_X509_zero(untrusted);
			for (int i = 1; i < sk_X509_num(pool); i++)
				if (sk_X509_value(pool, i) != ark)
					sk_X509_push(untrusted, sk_X509_value(pool, i));
			struct vg_err ce = {0};
			if (att_chain_verify(leaf, untrusted, ark, trust, true, &ce) == 0) {
				anchor = ark;
				product = att_amd_roots[r].product;
			} else if (!any) {
				e = ce; /* report the first failure */
				product = att_amd_roots[r].product;
			}
			any = true;
		}
		if (any)
			snprintf(res->product, sizeof(res->product), "%s", sev_snp_product_name(product));
		if (!any) {
			att_reject(res, "certificate chain: no AMD ARK with a pinned fingerprint (Milan, Genoa, Turin) was given; "
					"pass the ASK/ARK chain from AMD KDS with --chain");
			goto out;
		}
		if (!anchor) {
			att_reject(res, "%s", e.msg);
			goto out;
		}
	}
	/* Key type: the leaf's subject and its issuer (ASK for VCEK, ASVK for VLEK). */
	X509 *ica = issuer_of(pool, leaf);
	bool vlek;
	char ican[128];
	att_cert_name(ica, ican, sizeof(ican));
	if (cn_is(leaf, "SEV-VCEK"))
		vlek = false;
	else if (cn_is(leaf, "SEV-VLEK"))
		vlek = true;
	else {
		att_reject(res, "key certificate: subject CN is neither SEV-VCEK nor SEV-VLEK");
		goto out;
	}
	if (!ica || (vlek != (strncmp(ican, "SEV-VLEK-", 9) == 0))) {
		att_reject(res, "certificate chain: %s is issued by %s, expected the %s", vlek ? "VLEK" : "VCEK",
			   ican, vlek ? "ASVK (SEV-VLEK-<product>)" : "ASK (SEV-<product>)");
		goto out;
	}
	/* a CRL handed in is always checked: an empty or unparsable one rejects */
	if (in->crl && check_crl(in, trust, anchor, ica, res))
		goto out;

	v = calloc(1, sizeof(*v));
	int derlen = i2d_X509(leaf, &der);
	if (!v || derlen <= 0 || att_amd_cert_ext_parse(der, (size_t)derlen, &v->ext, &e)) {
		att_reject(res, "key certificate extensions: %s", e.msg[0] ? e.msg : "out of memory");
		goto fail;
	}
	enum sev_snp_product named = product_from_name(v->ext.product_name);
	if (res->simulated) {
		product = named;
		if (product == SEV_SNP_PRODUCT_UNKNOWN) {
			att_reject(res, "key certificate: productName \"%s\" is not Milan, Genoa or Turin",
				   v->ext.product_name);
			goto fail;
		}
	} else if (named != product) {
		att_reject(res, "key certificate: productName \"%s\" does not match the %s ARK it chains to",
			   v->ext.product_name, sev_snp_product_name(product));
		goto fail;
	}
	EVP_PKEY *pk = X509_get0_pubkey(leaf);
	if (!pk || EVP_PKEY_get_base_id(pk) != EVP_PKEY_EC || EVP_PKEY_get_bits(pk) != 384) {
		att_reject(res, "key certificate: public key is not ECDSA P-384");
		goto fail;
	}
	EVP_PKEY_up_ref(pk);
	v->key = pk;
	if (!(v->vctx = att_verify_ctx_new(pk))) {
		att_reject(res, "key certificate: cannot use its public key");
		EVP_PKEY_free(pk);
		goto fail;
	}
	v->vlek = vlek;
	v->product = product;
	v->simulated = res->simulated;
	snprintf(res->product, sizeof(res->product), "%s", sev_snp_product_name(product));
	snprintf(res->snp_key, sizeof(res->snp_key), "%s", vlek ? "VLEK" : "VCEK");
	goto out;
fail:
	free(v);
	v = NULL;
out:
	OPENSSL_free(der);
	sk_X509_free(untrusted);
	sk_X509_pop_free(extra, X509_free);
	sk_X509_pop_free(pool, X509_free);
	ERR_clear_error();
	return v;
}

static int check_binding(const struct att_snp_verifier *v, const struct sev_snp_report *r, struct att_result *res)
{
	struct sev_snp_tcb t;
	sev_snp_tcb_decode(r->reported_tcb, v->product, &t);
	static const struct { int arc; const char *name; } need[] = {
		{1, "blSPL"}, {2, "teeSPL"}, {3, "snpSPL"}, {8, "ucodeSPL"}, {9, "fmcSPL"}};
	uint8_t want[10] = {0};
	want[1] = t.bl;
	want[2] = t.tee;
	want[3] = t.snp;
	want[8] = t.ucode;
	want[9] = t.fmc;
	for (size_t i = 0; i < VG_ARRAY_SIZE(need); i++) {
		int a = need[i].arc;
		if (a == 9 && v->product != SEV_SNP_PRODUCT_TURIN)
			continue;
		if (!v->ext.has_tcb[a])
			return att_reject(res, "key certificate lacks the %s extension (1.3.6.1.4.1.3704.1.3.%d)",
					  need[i].name, a), -1;
		if (v->ext.tcb[a] != want[a])
			return att_reject(res, "TCB binding: certificate %s %u != REPORTED_TCB %s %u (certificate is for another TCB)",
					  need[i].name, v->ext.tcb[a], need[i].name, want[a]), -1;
	}
	if (v->vlek) {
		if (!v->ext.has_csp_id)
			return att_reject(res, "VLEK certificate lacks the CSP_ID extension"), -1;
		return 0;
	}
	if (r->mask_chip_key)
		return 0; /* CHIP_ID is zeroed by policy: nothing to bind (documented) */
	size_t n = v->product == SEV_SNP_PRODUCT_TURIN ? 8 : 64;
	if (v->ext.hwid_len != n)
		return att_reject(res, "VCEK HWID extension has %zu bytes, expected %zu for %s", v->ext.hwid_len, n,
				  sev_snp_product_name(v->product)), -1;
	if (memcmp(v->ext.hwid, r->chip_id, n) != 0)
		return att_reject(res, "HWID binding: VCEK HWID does not equal the report's CHIP_ID"), -1;
	return 0;
}

int att_snp_verifier_check(struct att_snp_verifier *v, const uint8_t *report, size_t len, struct att_result *res)
{
	struct vg_err e = {0};
	res->platform = ATT_PLATFORM_SNP;
	res->verified = false;
	res->simulated = v->simulated;
	snprintf(res->product, sizeof(res->product), "%s", sev_snp_product_name(v->product));
	snprintf(res->snp_key, sizeof(res->snp_key), "%s", v->vlek ? "VLEK" : "VCEK");
	snprintf(res->snp_csp_id, sizeof(res->snp_csp_id), "%s", v->ext.has_csp_id ? v->ext.csp_id : "");
	if (sev_snp_report_parse(report, len, &res->snp, &e))
		return att_reject(res, "report: %s", e.msg);
	res->parsed = true;
	const struct sev_snp_report *r = &res->snp;
	if (r->signature_algo != SEV_SNP_SIG_ALGO_ECDSA_P384_SHA384)
		return att_reject(res, "report: signature algorithm %u is not ECDSA P-384 with SHA-384 (1)",
				  r->signature_algo);
	if (r->signing_key != (v->vlek ? SEV_SNP_KEY_VLEK : SEV_SNP_KEY_VCEK))
		return att_reject(res, "report: signed by %s (SIGNING_KEY=%u) but the key certificate is a %s",
				  r->signing_key == 0 ? "VCEK" : r->signing_key == 1 ? "VLEK" : "no key",
				  r->signing_key, v->vlek ? "VLEK" : "VCEK");
	if (r->has_cpuid && (r->cpuid_fam_id || r->cpuid_mod_id)) {
		enum sev_snp_product p = sev_snp_product_from_cpuid(r->cpuid_fam_id, r->cpuid_mod_id);
		if (p != SEV_SNP_PRODUCT_UNKNOWN && p != v->product)
			return att_reject(res, "report: CPUID family 0x%x model 0x%x is %s, the key chains to %s",
					  r->cpuid_fam_id, r->cpuid_mod_id, sev_snp_product_name(p),
					  sev_snp_product_name(v->product));
	}
	if (!att_ecdsa_verify_ctx(v->vctx, true, report, SEV_SNP_REPORT_SIGNED_LEN, r->sig_r, r->sig_s,
				  SEV_SNP_SIG_COMPONENT_LEN, true))
		return att_reject(res, "report signature is invalid (ECDSA P-384 over bytes 0x000-0x29F with the %s key)",
				  v->vlek ? "VLEK" : "VCEK");
	if (check_binding(v, r, res))
		return 0;
	res->verified = true;
	snprintf(res->reason, sizeof(res->reason), "ok");
	return 0;
}

void att_snp_verifier_free(struct att_snp_verifier *v)
{
	if (!v)
		return;
	EVP_PKEY_CTX_free(v->vctx);
	EVP_PKEY_free(v->key);
	free(v);
}

int att_snp_verify(const uint8_t *report, size_t len, const struct att_snp_input *in,
		   const struct att_trust *trust, struct att_result *res)
{
	struct att_snp_verifier *v = att_snp_verifier_new(in, trust, res);
	if (!v) {
		/* Still show what the report says, so a user sees which evidence failed. */
		struct vg_err e = {0};
		if (sev_snp_report_parse(report, len, &res->snp, &e) == 0)
			res->parsed = true;
		return 0;
	}
	int rc = att_snp_verifier_check(v, report, len, res);
	att_snp_verifier_free(v);
	return rc;
}
