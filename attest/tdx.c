/* TDX DCAP quote verification: PCK chain to the pinned Intel SGX Root CA, QE
 * report signature and binding, quote signature, collateral, CC event log. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "attest/internal.h"
#include "vtpm/vtpm.h"

#define SGX_EXT_OID "1.2.840.113741.1.13.1"

/* What the certification part of one quote established; reused while the
 * next quote carries byte-identical certification data. */
struct tdx_cache {
	uint8_t *region;
	size_t region_len;
	EVP_PKEY *att_key;
	EVP_PKEY_CTX *att_vctx;
	struct att_pck_ext pck;
	struct att_tcb_eval tcb;
	bool simulated;
	int64_t valid_from, valid_to; /* intersection of the PCK chain validity */
};

struct att_tdx_verifier {
	struct att_tdx_input in;
	struct att_trust trust;
	struct tdx_cache cache;
};

static void cache_clear(struct tdx_cache *c)
{
	free(c->region);
	EVP_PKEY_CTX_free(c->att_vctx);
	EVP_PKEY_free(c->att_key);
	json_decref(c->tcb.advisories);
	memset(c, 0, sizeof(*c));
}

static int find_pck_ext(X509 *leaf, struct att_pck_ext *out, struct vg_err *err)
{
	for (int i = 0; i < X509_get_ext_count(leaf); i++) {
		X509_EXTENSION *e = X509_get_ext(leaf, i);
		char oid[80];
		if (OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(e), 1) > 0 && !strcmp(oid, SGX_EXT_OID)) {
			const ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(e);
			return att_pck_ext_parse(ASN1_STRING_get0_data(v), (size_t)ASN1_STRING_length(v), out, err);
		}
	}
	return vg_err_set(err, EBADMSG, "PCK certificate has no SGX extension (" SGX_EXT_OID ")");
}

static int64_t asn1_unix(const ASN1_TIME *a, int64_t dflt)
{
	struct tm tm;
	if (!a || !ASN1_TIME_to_tm(a, &tm))
		return dflt;
	return (int64_t)timegm(&tm);
}

/* Verifies the certification part; fills the cache on success. */
static int verify_cert_part(struct att_tdx_verifier *v, const struct tdx_quote *q, struct att_result *res)
{
	struct vg_err e = {0};
	struct tdx_cache nc = {0};
	STACK_OF(X509) *certs = att_certs_parse(q->pck_chain, q->pck_chain_len, "PCK certificate chain", &e);
	X509 *anchor = NULL;
	int rc = -1;
	if (!certs) {
		att_reject(res, "%s", e.msg);
		return -1;
	}
	X509 *leaf = sk_X509_value(certs, 0);
	if (v->trust.sim_root) {
		anchor = v->trust.sim_root->cert;
		nc.simulated = true;
	} else if (!(anchor = att_find_by_fingerprint(certs, att_intel_root_sha256))) {
		att_reject(res, "PCK certificate chain does not end in the Intel SGX Root CA (pinned SHA-256 44a0196b...)");
		goto out;
	}
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	for (int i = 1; untrusted && i < sk_X509_num(certs); i++)
		if (sk_X509_value(certs, i) != anchor)
			sk_X509_push(untrusted, sk_X509_value(certs, i));
	int cv = att_chain_verify(leaf, untrusted, anchor, &v->trust, true, &e);
	sk_X509_free(untrusted);
	if (cv) {
		att_reject(res, "PCK %s", e.msg);
		goto out;
	}
	nc.valid_from = INT64_MIN;
	nc.valid_to = INT64_MAX;
	for (int i = 0; i < sk_X509_num(certs); i++) {
		X509 *c = sk_X509_value(certs, i);
		nc.valid_from = VG_MAX(nc.valid_from, asn1_unix(X509_get0_notBefore(c), INT64_MAX));
		nc.valid_to = VG_MIN(nc.valid_to, asn1_unix(X509_get0_notAfter(c), INT64_MIN));
	}
	EVP_PKEY *pk = X509_get0_pubkey(leaf);
	if (!pk || EVP_PKEY_get_base_id(pk) != EVP_PKEY_EC || EVP_PKEY_get_bits(pk) != 256) {
		att_reject(res, "PCK certificate key is not ECDSA P-256");
		goto out;
	}
	if (!att_ecdsa_verify_be(pk, EVP_sha256(), q->qe_report_raw, TDX_SGX_REPORT_BODY_SIZE, q->qe_report_sig,
				 q->qe_report_sig + 32, 32)) {
		att_reject(res, "QE report signature is invalid (not signed by the PCK key)");
		goto out;
	}
	uint8_t h[32], zero[32] = {0};
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	bool hashed = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
		      EVP_DigestUpdate(md, q->att_key, 64) == 1 &&
		      EVP_DigestUpdate(md, q->qe_auth, q->qe_auth_len) == 1 && EVP_DigestFinal_ex(md, h, NULL) == 1;
	EVP_MD_CTX_free(md);
	if (!hashed || memcmp(h, q->qe_report.report_data, 32) || memcmp(zero, q->qe_report.report_data + 32, 32)) {
		att_reject(res, "QE report data does not bind the attestation key (SHA-256(key || QE auth data) || zeros)");
		goto out;
	}
	if (find_pck_ext(leaf, &nc.pck, &e)) {
		att_reject(res, "%s", e.msg);
		goto out;
	}
	res->pck = nc.pck;
	res->have_pck = true;
	if (v->in.collateral) {
		if (att_tdx_eval_collateral(v->in.collateral, q, &nc.pck, leaf, certs, anchor, &v->trust, &nc.tcb, &e)) {
			att_reject(res, "collateral: %s", e.msg);
			goto out;
		}
	}
	nc.att_key = att_p256_from_raw(q->att_key);
	if (nc.att_key)
		nc.att_vctx = att_verify_ctx_new(nc.att_key);
	if (!nc.att_vctx) {
		att_reject(res, "quote attestation key is not a valid P-256 point");
		goto out;
	}
	nc.region = malloc(q->cert_region_len);
	if (!nc.region) {
		att_reject(res, "out of memory");
		goto out;
	}
	memcpy(nc.region, q->cert_region, q->cert_region_len);
	nc.region_len = q->cert_region_len;
	cache_clear(&v->cache);
	v->cache = nc;
	memset(&nc, 0, sizeof(nc));
	rc = 0;
out:
	cache_clear(&nc);
	sk_X509_pop_free(certs, X509_free);
	ERR_clear_error();
	return rc;
}

static int check_ccel(const struct att_tdx_input *in, const struct tdx_quote *q, struct att_result *res)
{
	struct vtpm_evlog log;
	struct vg_err e = {0};
	uint8_t regs[4][64];
	uint64_t ext = 0;
	if (vtpm_evlog_parse(in->ccel, in->ccel_len, &log, &e))
		return att_reject(res, "CCEL: %s", e.msg), -1;
	int rc = vtpm_evlog_replay_range(&log, VTPM_ALG_SHA384, 1, regs, 4, &ext, &e);
	if (rc) {
		vtpm_evlog_free(&log);
		return att_reject(res, "CCEL replay: %s", e.msg), -1;
	}
	json_t *o = json_object(), *rep = json_object(), *evs = json_array();
	int bad = -1;
	for (int i = 0; i < 4; i++) {
		char name[8];
		snprintf(name, sizeof(name), "rtmr%d", i);
		char hex[97];
		vg_hex_encode(regs[i], 48, hex);
		json_object_set_new(rep, name, json_string(hex));
		if (bad < 0 && memcmp(regs[i], q->body.rtmr[i], 48))
			bad = i;
	}
	for (size_t i = 1; i < log.nevents; i++) {
		const struct vtpm_evlog_event *ev = &log.events[i];
		json_t *j = json_object();
		const char *tn = vtpm_event_type_name(ev->type);
		char tbuf[16];
		snprintf(tbuf, sizeof(tbuf), "0x%08x", ev->type);
		json_object_set_new(j, "mr_index", json_integer(ev->index));
		json_object_set_new(j, "rtmr", ev->index >= 1 && ev->index <= 4 ? json_integer(ev->index - 1) : json_null());
		json_object_set_new(j, "type", json_string(tn ? tn : tbuf));
		for (size_t d = 0; d < ev->ndigests; d++)
			if (ev->digests[d].alg == VTPM_ALG_SHA384 && ev->digests[d].size == 48) {
				char hex[97];
				vg_hex_encode(ev->digests[d].bytes, 48, hex);
				json_object_set_new(j, "sha384", json_string(hex));
			}
		json_object_set_new(j, "data_len", json_integer(ev->data_len));
		json_array_append_new(evs, j);
	}
	json_object_set_new(o, "replayed", rep);
	json_object_set_new(o, "matches_quote", json_boolean(bad < 0));
	json_object_set_new(o, "event_count", json_integer((json_int_t)(log.nevents ? log.nevents - 1 : 0)));
	json_object_set_new(o, "events", evs);
	json_decref(res->ccel);
	res->ccel = o;
	vtpm_evlog_free(&log);
	if (bad >= 0)
		return att_reject(res, "CCEL replay does not match the quote: RTMR%d differs", bad), -1;
	return 0;
}

struct att_tdx_verifier *att_tdx_verifier_new(const struct att_tdx_input *in, const struct att_trust *trust)
{
	struct att_tdx_verifier *v = calloc(1, sizeof(*v));
	if (!v)
		return NULL;
	if (in)
		v->in = *in;
	if (trust)
		v->trust = *trust;
	return v;
}

void att_tdx_verifier_free(struct att_tdx_verifier *v)
{
	if (!v)
		return;
	cache_clear(&v->cache);
	free(v);
}

static void clear_views(struct tdx_quote *q)
{
	q->signed_data = q->signature = q->att_key = q->qe_report_raw = q->qe_report_sig = NULL;
	q->qe_auth = q->pck_chain = q->cert_region = NULL;
}

int att_tdx_verifier_check(struct att_tdx_verifier *v, const uint8_t *quote, size_t len, struct att_result *res)
{
	struct vg_err e = {0};
	struct tdx_quote *q = &res->tdx;
	res->platform = ATT_PLATFORM_TDX;
	res->verified = false;
	snprintf(res->product, sizeof(res->product), "TDX");
	if (tdx_quote_parse(quote, len, q, &e)) {
		clear_views(q);
		return att_reject(res, "quote: %s", e.msg);
	}
	res->parsed = true;
	int64_t now = att_now(&v->trust);
	struct tdx_cache *c = &v->cache;
	bool hit = c->region && c->region_len == q->cert_region_len &&
		   !memcmp(c->region, q->cert_region, c->region_len) && now >= c->valid_from && now <= c->valid_to;
	if (!hit && verify_cert_part(v, q, res)) {
		clear_views(q);
		return 0;
	}
	res->pck = c->pck;
	res->have_pck = true;
	res->simulated = c->simulated;
	if (!att_ecdsa_verify_ctx(c->att_vctx, false, q->signed_data, q->signed_len, q->signature,
				  q->signature + 32, 32, false)) {
		clear_views(q);
		return att_reject(res, "quote signature is invalid (ECDSA P-256 over header and body with the attestation key)");
	}
	res->tcb_status = c->tcb.status;
	res->tcb_platform = c->tcb.platform;
	res->tcb_module = c->tcb.module;
	res->tcb_qe = c->tcb.qe;
	snprintf(res->tcb_date, sizeof(res->tcb_date), "%s", c->tcb.tcb_date);
	json_decref(res->advisories);
	res->advisories = c->tcb.advisories ? json_incref(c->tcb.advisories) : NULL;
	res->collateral_expired = c->tcb.expired;
	snprintf(res->collateral_note, sizeof(res->collateral_note), "%s", c->tcb.note);
	if (v->in.ccel && check_ccel(&v->in, q, res)) {
		clear_views(q);
		return 0;
	}
	clear_views(q);
	if (res->tcb_status == ATT_TCB_REVOKED)
		return att_reject(res, "TCB status is Revoked");
	if (res->tcb_status == ATT_TCB_NO_MATCHING_LEVEL)
		return att_reject(res, "TCB evaluation: no TCB level of the TCB info matches the platform (TCB not supported)");
	res->verified = true;
	snprintf(res->reason, sizeof(res->reason), "ok");
	return 0;
}

int att_tdx_verify(const uint8_t *quote, size_t len, const struct att_tdx_input *in,
		   const struct att_trust *trust, struct att_result *res)
{
	struct att_tdx_verifier *v = att_tdx_verifier_new(in, trust);
	if (!v)
		return -ENOMEM;
	int rc = att_tdx_verifier_check(v, quote, len, res);
	att_tdx_verifier_free(v);
	return rc;
}
