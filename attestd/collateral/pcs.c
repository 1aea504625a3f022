/* TDX: Intel PCS collateral (TCB info, QE identity, PCK CRL, root CA CRL) for
 * the platform of a quote, from the cache or PCS; expiry honoured (expired
 * items are fetched again when PCS is configured). */
#include "attestd/collateral/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define PCK_EXT_OID "1.2.840.113741.1.13.1"

enum { I_TCB, I_QE, I_PCKCRL, I_ROOTCRL, I_N };

struct item {
	char rel[160];
	const char *header; /* issuer-chain response header or NULL */
	const char *json_key; /* "tcbInfo" / "enclaveIdentity" for JSON, NULL for a CRL */
	bool required;
	uint8_t *data, *chain;
	size_t len, chain_len;
	bool fetched, expired, have;
};

/* FMSPC and PCK CA ("platform"/"processor") from the quote's PCK leaf. */
static int quote_platform(const uint8_t *quote, size_t len, char fmspc[13], char ca[16], struct vg_err *err)
{
	struct tdx_quote q;
	if (tdx_quote_parse(quote, len, &q, err))
		return -EBADMSG;
	if (!q.pck_chain || !q.pck_chain_len || q.pck_chain_len > INT32_MAX)
		return vg_err_set(err, EBADMSG, "TDX quote: no PCK certificate chain in its certification data");
	BIO *b = BIO_new_mem_buf(q.pck_chain, (int)q.pck_chain_len);
	X509 *leaf = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	if (!leaf)
		return vg_err_set(err, EBADMSG, "TDX quote: PCK certificate does not parse");
	int rc = 0;
	ASN1_OBJECT *oid = OBJ_txt2obj(PCK_EXT_OID, 1);
	int idx = oid ? X509_get_ext_by_OBJ(leaf, oid, -1) : -1;
	ASN1_OBJECT_free(oid);
	X509_EXTENSION *ext = idx >= 0 ? X509_get_ext(leaf, idx) : NULL;
	ASN1_OCTET_STRING *val = ext ? X509_EXTENSION_get_data(ext) : NULL;
	struct att_pck_ext pe;
	if (!val || att_pck_ext_parse(ASN1_STRING_get0_data(val), (size_t)ASN1_STRING_length(val), &pe, err)) {
		rc = vg_err_set(err, EBADMSG, "TDX quote: PCK certificate without a usable SGX extension");
		goto out;
	}
	vg_hex_encode(pe.fmspc, 6, fmspc);
	char issuer[256] = "";
	X509_NAME_get_text_by_NID(X509_get_issuer_name(leaf), NID_commonName, issuer, sizeof(issuer));
	snprintf(ca, 16, "%s", strstr(issuer, "Processor") ? "processor" : "platform");
out:
	X509_free(leaf);
	return rc;
}

/* nextUpdate of an item: JSON body.<key>.nextUpdate, or the CRL's. */
static int next_update(const struct item *it, int64_t *t)
{
	if (it->json_key) {
		json_t *j = json_loadb((const char *)it->data, it->len, 0, NULL);
		const char *s = json_string_value(json_object_get(json_object_get(j, it->json_key), "nextUpdate"));
		int rc = s ? vg_parse_rfc3339(s, t, NULL) : -EBADMSG;
		json_decref(j);
		return rc;
	}
	const unsigned char *p = it->data;
	X509_CRL *crl = it->len <= INT32_MAX ? d2i_X509_CRL(NULL, &p, (long)it->len) : NULL;
	if (!crl) { /* PEM form */
		BIO *b = BIO_new_mem_buf(it->data, (int)it->len);
		crl = b ? PEM_read_bio_X509_CRL(b, NULL, NULL, NULL) : NULL;
		BIO_free(b);
	}
	if (!crl)
		return -EBADMSG;
	const ASN1_TIME *nu = X509_CRL_get0_nextUpdate(crl);
	struct tm tm;
	int rc = nu && ASN1_TIME_to_tm(nu, &tm) ? 0 : -EBADMSG;
	if (!rc)
		*t = (int64_t)timegm(&tm);
	X509_CRL_free(crl);
	return rc;
}

static void item_clear(struct item *it)
{
	free(it->data);
	free(it->chain);
	it->data = it->chain = NULL;
	it->len = it->chain_len = 0;
	it->have = it->fetched = it->expired = false;
}

static int load_cached(struct ad_coll *c, struct item *it, int64_t now, struct vg_err *err)
{
	int rc = coll_read(c, it->rel, NULL, &it->data, &it->len, err);
	if (rc == -ENOENT)
		return 0;
	if (rc)
		return rc;
	if (it->header) {
		rc = coll_read(c, it->rel, ".issuer-chain.pem", &it->chain, &it->chain_len, err);
		if (rc == -ENOENT) { /* incomplete entry: as if absent */
			item_clear(it);
			return 0;
		}
		if (rc)
			return rc;
	}
	int64_t nu = 0;
	it->have = true;
	it->expired = next_update(it, &nu) || nu <= now;
	return 0;
}

static int fetch_item(struct ad_coll *c, struct item *it, struct vg_err *err)
{
	struct coll_resp r;
	int rc = coll_get(c, false, it->rel, it->header, &r, err);
	if (rc)
		return rc;
	if (!r.body.len || (it->header && !r.header_value)) {
		rc = vg_err_set(err, EIO, "Intel PCS %s: %s", it->rel, r.body.len ? "issuer-chain header missing" : "empty answer");
		coll_resp_free(&r);
		return rc;
	}
	item_clear(it);
	it->data = r.body.data;
	it->len = r.body.len;
	it->chain = (uint8_t *)r.header_value;
	it->chain_len = r.header_len;
	r.body.data = NULL;
	r.header_value = NULL;
	coll_resp_free(&r);
	it->have = it->fetched = true;
	int64_t nu = 0;
	it->expired = next_update(it, &nu) || nu <= (int64_t)time(NULL);
	return 0;
}

static int dup_into(uint8_t **dst, size_t *dl, const uint8_t *src, size_t sl)
{
	*dst = NULL;
	*dl = 0;
	if (!src)
		return 0;
	*dst = malloc(sl ? sl : 1);
	if (!*dst)
		return -ENOMEM;
	memcpy(*dst, src, sl);
	*dl = sl;
	return 0;
}

static int build(const struct item *it, struct att_tdx_collateral *o)
{
	memset(o, 0, sizeof(*o));
	if (dup_into(&o->tcb_info, &o->tcb_info_len, it[I_TCB].data, it[I_TCB].len) ||
	    dup_into(&o->tcb_chain, &o->tcb_chain_len, it[I_TCB].chain, it[I_TCB].chain_len) ||
	    dup_into(&o->qe_identity, &o->qe_identity_len, it[I_QE].data, it[I_QE].len) ||
	    dup_into(&o->qe_chain, &o->qe_chain_len, it[I_QE].chain, it[I_QE].chain_len) ||
	    (it[I_PCKCRL].have &&
	     (dup_into(&o->pck_crl, &o->pck_crl_len, it[I_PCKCRL].data, it[I_PCKCRL].len) ||
	      dup_into(&o->pck_crl_chain, &o->pck_crl_chain_len, it[I_PCKCRL].chain, it[I_PCKCRL].chain_len))) ||
	    (it[I_ROOTCRL].have && dup_into(&o->root_crl, &o->root_crl_len, it[I_ROOTCRL].data, it[I_ROOTCRL].len))) {
		att_tdx_collateral_free(o);
		return -ENOMEM;
	}
	return 0;
}

/* attest/ evaluates the quote with the collateral: signatures of TCB info and
 * QE identity to the Intel root, CRLs, TCB level. */
struct tdx_check {
	const uint8_t *quote;
	size_t len;
	const struct att_tdx_collateral *coll;
};

static bool tdx_evaluates(void *ctx, const struct att_trust *trust, char *why, size_t cap)
{
	const struct tdx_check *k = ctx;
	struct att_tdx_input in = {k->coll, NULL, 0};
	struct att_result res;
	att_result_init(&res);
	int rc = att_tdx_verify(k->quote, k->len, &in, trust, &res);
	bool ok = !rc && res.verified && res.tcb_status != ATT_TCB_NOT_EVALUATED;
	if (!ok)
		snprintf(why, cap, "%s", rc ? "verification failed" : res.reason);
	att_result_free(&res);
	return ok;
}

static int verify_coll(const uint8_t *quote, size_t len, const struct att_tdx_collateral *coll,
		       const struct att_trust *trusts, size_t nt, struct vg_err *err)
{
	struct tdx_check k = {quote, len, coll};
	return coll_verify_any_trust(trusts, nt, tdx_evaluates, &k, err);
}

int ad_coll_tdx_get(struct ad_coll *c, const uint8_t *quote, size_t len, const struct att_trust *trusts,
		    size_t ntrusts, struct att_tdx_collateral *out, bool *expired, struct vg_err *err)
{
	memset(out, 0, sizeof(*out));
	*expired = false;
	char fmspc[13], ca[16];
	int rc = quote_platform(quote, len, fmspc, ca, err);
	if (rc)
		return rc;
	struct item it[I_N] = {
		[I_TCB] = {.header = "TCB-Info-Issuer-Chain", .json_key = "tcbInfo", .required = true},
		[I_QE] = {.header = "SGX-Enclave-Identity-Issuer-Chain", .json_key = "enclaveIdentity", .required = true},
		[I_PCKCRL] = {.header = "SGX-PCK-CRL-Issuer-Chain"},
		[I_ROOTCRL] = {.header = NULL},
	};
	snprintf(it[I_TCB].rel, sizeof(it[I_TCB].rel), "tdx/certification/v4/tcb?fmspc=%s", fmspc);
	snprintf(it[I_QE].rel, sizeof(it[I_QE].rel), "tdx/certification/v4/qe/identity");
	snprintf(it[I_PCKCRL].rel, sizeof(it[I_PCKCRL].rel), "sgx/certification/v4/pckcrl?ca=%s&encoding=der", ca);
	snprintf(it[I_ROOTCRL].rel, sizeof(it[I_ROOTCRL].rel), "sgx/certification/v4/rootcacrl");
	int64_t now = (int64_t)time(NULL);
	bool online = c->pcs[0] != 0, any_fetched = false;
	if (online) /* single flight: concurrent quotes of one platform fetch its collateral once */
		pthread_mutex_lock(&c->fetch);
	struct vg_err fe = {0};
	for (int i = 0; i < I_N; i++) {
		if ((rc = load_cached(c, &it[i], now, err)))
			goto out;
		if (!online || (it[i].have && !it[i].expired))
			continue;
		/* Missing or expired: ask PCS. A failure keeps an expired copy (flagged);
		 * a required item that is missing fails. */
		struct vg_err e = {0};
		rc = fetch_item(c, &it[i], &e);
		if (!rc) {
			any_fetched = true;
			continue;
		}
		if (!fe.msg[0])
			fe = e;
		if (rc != -ENOENT && !it[i].have && it[i].required) {
			if (err)
				*err = e;
			goto out;
		}
		rc = 0;
	}
	for (int i = 0; i < I_N; i++)
		if (it[i].required && !it[i].have) {
			if (fe.msg[0]) {
				if (err)
					*err = fe;
				rc = -(fe.code ? fe.code : ENOENT);
			} else {
				rc = vg_err_set(err, ENOENT,
						"TDX collateral for FMSPC %s not cached (%s) and no --pcs-url configured (offline)",
						fmspc, it[i].rel);
			}
			goto out;
		}
	if ((rc = build(it, out)))
		goto out;
	if (any_fetched) {
		if ((rc = verify_coll(quote, len, out, trusts, ntrusts, err))) {
			vg_err_prefix(err, "collateral from Intel PCS for FMSPC %s rejected, not stored", fmspc);
			att_tdx_collateral_free(out);
			goto out;
		}
		for (int i = 0; i < I_N && !rc; i++) {
			if (!it[i].fetched)
				continue;
			if (it[i].header)
				rc = coll_store(c, it[i].rel, ".issuer-chain.pem", it[i].chain, it[i].chain_len, err);
			if (!rc)
				rc = coll_store(c, it[i].rel, NULL, it[i].data, it[i].len, err);
		}
		if (rc) {
			att_tdx_collateral_free(out);
			goto out;
		}
	}
	for (int i = 0; i < I_N; i++)
		*expired |= it[i].have && it[i].expired;
out:
	if (online)
		pthread_mutex_unlock(&c->fetch);
	for (int i = 0; i < I_N; i++)
		item_clear(&it[i]);
	return rc;
}
