/* Evidence verification through attest/ with per-worker verifier caches: an SNP
 * certificate chain is checked once per (chain, 5 minutes) and each report then
 * costs one P-384 signature check; TDX verifiers cache the PCK chain and QE
 * checks. Every verdict comes from attest/; this file only picks the trust
 * anchor set (vendor roots, then each --trust-sim-root). */
#include "attestd/attestd.h"
#include "attestd/collateral/collateral.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define SNP_CACHE 16
#define CACHE_SECONDS 300

struct snp_entry {
	uint8_t key[32];
	struct att_snp_verifier *v;
	time_t made;
};

struct ad_worker_cache {
	struct snp_entry snp[SNP_CACHE];
	unsigned next;
	struct att_tdx_verifier *tdx[1 + AD_MAX_SIM_ROOTS]; /* [0] vendor roots, [1+i] sim root i */
	time_t tdx_made[1 + AD_MAX_SIM_ROOTS];
	int tdx_last;
};

static struct ad_worker_cache *cache_new(void) { return calloc(1, sizeof(struct ad_worker_cache)); }

static void cache_free(struct ad_worker_cache *c)
{
	if (!c)
		return;
	for (int i = 0; i < SNP_CACHE; i++)
		att_snp_verifier_free(c->snp[i].v);
	for (int i = 0; i < 1 + AD_MAX_SIM_ROOTS; i++)
		att_tdx_verifier_free(c->tdx[i]);
	free(c);
}

static void append_reason(char *acc, size_t cap, const char *who, const char *reason)
{
	size_t n = strlen(acc);
	snprintf(acc + n, cap - n, "%s%s: %s", n ? "; " : "", who, reason);
}

/* Appends a DER certificate to a PEM buffer (parsed with OpenSSL: bounded). */
static int append_pem(struct vg_buf *pem, const uint8_t *der, size_t len, const char *what, struct vg_err *err)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	if (!x || p != der + len) {
		X509_free(x);
		return vg_err_set(err, EINVAL, "cert_chain %s: not one DER certificate", what);
	}
	BIO *b = BIO_new(BIO_s_mem());
	int rc = 0;
	if (!b || !PEM_write_bio_X509(b, x))
		rc = vg_err_set(err, ENOMEM, "cert_chain %s: PEM encoding failed", what);
	else {
		char *d = NULL;
		long n = BIO_get_mem_data(b, &d);
		if (vg_buf_append(pem, d, (size_t)n))
			rc = vg_err_set(err, ENOMEM, "out of memory");
	}
	BIO_free(b);
	X509_free(x);
	return rc;
}

static void digest_part(EVP_MD_CTX *md, const uint8_t *p, size_t n)
{
	uint8_t l[8];
	for (int i = 0; i < 8; i++)
		l[i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
	EVP_DigestUpdate(md, l, 8);
	if (n)
		EVP_DigestUpdate(md, p, n);
}

static int verify_snp(struct ad_worker *w, const struct ad_evidence *ev, struct att_result *res, struct vg_err *err)
{
	struct ad_worker_cache *c = w->cache;
	struct ad_service *s = w->svc;
	uint8_t key[32];
	unsigned kl = 0;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(md);
		return vg_err_set(err, ENOMEM, "digest failed");
	}
	digest_part(md, ev->vcek, ev->vcek_len);
	digest_part(md, ev->ask, ev->ask_len);
	digest_part(md, ev->ark, ev->ark_len);
	EVP_DigestFinal_ex(md, key, &kl);
	EVP_MD_CTX_free(md);
	time_t now = time(NULL);
	struct snp_entry *e = NULL;
	for (int i = 0; i < SNP_CACHE; i++)
		if (c->snp[i].v && !memcmp(c->snp[i].key, key, 32)) {
			e = &c->snp[i];
			if (now - e->made > CACHE_SECONDS) {
				att_snp_verifier_free(e->v);
				e->v = NULL;
				e = NULL;
			}
			break;
		}
	if (!e) {
		struct vg_buf pem = {0};
		int prc = 0;
		if (ev->ask)
			prc = append_pem(&pem, ev->ask, ev->ask_len, "ask", err);
		if (!prc && ev->ark)
			prc = append_pem(&pem, ev->ark, ev->ark_len, "ark", err);
		if (prc) {
			vg_buf_free(&pem);
			att_result_free(res);
			att_result_init(res);
			snprintf(res->reason, sizeof(res->reason), "%s", err->msg);
			return 0; /* rejected evidence, not a service failure */
		}
		struct att_snp_input in = {ev->vcek, ev->vcek_len, pem.data, pem.len, NULL, 0};
		char reasons[sizeof(res->reason)] = "";
		struct att_snp_verifier *v = NULL;
		for (size_t i = 0; i <= s->n_sim_roots && !v; i++) {
			struct att_trust t = {0};
			if (i)
				t.sim_root = s->sim_roots[i - 1];
			att_result_free(res);
			att_result_init(res);
			v = att_snp_verifier_new(&in, &t, res);
			if (!v) {
				char who[48];
				snprintf(who, sizeof(who), i ? "simulated root %zu" : "AMD roots", i);
				append_reason(reasons, sizeof(reasons), who, res->reason);
			}
		}
		vg_buf_free(&pem);
		if (!v) { /* rejected: the reasons of every anchor tried */
			if (s->n_sim_roots)
				snprintf(res->reason, sizeof(res->reason), "%s", reasons);
			return 0;
		}
		e = &c->snp[c->next++ % SNP_CACHE];
		att_snp_verifier_free(e->v);
		memcpy(e->key, key, 32);
		e->v = v;
		e->made = now;
	}
	att_result_free(res);
	att_result_init(res);
	return att_snp_verifier_check(e->v, ev->report, ev->report_len, res);
}

static int verify_tdx(struct ad_worker *w, const struct ad_evidence *ev, struct att_result *res, struct vg_err *err)
{
	struct ad_worker_cache *c = w->cache;
	struct ad_service *s = w->svc;
	size_t n = 1 + s->n_sim_roots;
	time_t now = time(NULL);
	char reasons[sizeof(res->reason)] = "";
	if (s->coll && !s->have_tdx_coll) { /* the platform's PCS collateral from the cache (attestd/collateral/) */
		struct att_tdx_collateral col;
		bool expired = false;
		int rc = ad_coll_tdx_for_quote(s, ev->report, ev->report_len, &col, &expired, err);
		if (rc && rc != -ENOENT)
			return rc; /* PCS trouble or bad collateral: never judged without it */
		for (size_t i = 0; !rc && i < n; i++) { /* -ENOENT: no collateral known, evaluated without */
			struct att_tdx_input in = {&col, ev->ccel, ev->ccel_len};
			struct att_trust t = {0};
			if (i)
				t.sim_root = s->sim_roots[i - 1];
			att_result_free(res);
			att_result_init(res);
			int vr = att_tdx_verify(ev->report, ev->report_len, &in, &t, res);
			if (vr || res->verified) {
				att_tdx_collateral_free(&col);
				return vr;
			}
			char who[48];
			snprintf(who, sizeof(who), i ? "simulated root %zu" : "Intel roots", i);
			append_reason(reasons, sizeof(reasons), who, res->reason);
			if (i + 1 == n) {
				att_tdx_collateral_free(&col);
				if (n > 1)
					snprintf(res->reason, sizeof(res->reason), "%s", reasons);
				return 0;
			}
		}
	}
	for (size_t k = 0; k < n; k++) {
		size_t i = ((size_t)c->tdx_last + k) % n;
		if (c->tdx[i] && now - c->tdx_made[i] > CACHE_SECONDS) {
			att_tdx_verifier_free(c->tdx[i]);
			c->tdx[i] = NULL;
		}
		if (!c->tdx[i]) {
			struct att_tdx_input in = {s->have_tdx_coll ? &s->tdx_coll : NULL, NULL, 0};
			struct att_trust t = {0};
			if (i)
				t.sim_root = s->sim_roots[i - 1];
			c->tdx[i] = att_tdx_verifier_new(&in, &t);
			if (!c->tdx[i])
				return vg_err_set(err, ENOMEM, "out of memory");
			c->tdx_made[i] = now;
		}
		att_result_free(res);
		att_result_init(res);
		int rc;
		if (ev->ccel) {
			/* The event log is per quote: a one-off verifier carries it. */
			struct att_tdx_input in = {s->have_tdx_coll ? &s->tdx_coll : NULL, ev->ccel, ev->ccel_len};
			struct att_trust t = {0};
			if (i)
				t.sim_root = s->sim_roots[i - 1];
			rc = att_tdx_verify(ev->report, ev->report_len, &in, &t, res);
		} else {
			rc = att_tdx_verifier_check(c->tdx[i], ev->report, ev->report_len, res);
		}
		if (rc)
			return rc;
		if (res->verified) {
			c->tdx_last = (int)i;
			return 0;
		}
		char who[48];
		snprintf(who, sizeof(who), i ? "simulated root %zu" : "Intel roots", i);
		append_reason(reasons, sizeof(reasons), who, res->reason);
	}
	if (n > 1)
		snprintf(res->reason, sizeof(res->reason), "%s", reasons);
	return 0;
}

int ad_verify_evidence(struct ad_worker *w, const struct ad_evidence *ev, struct att_result *res, struct vg_err *err)
{
	if (ev->platform == ATT_PLATFORM_SNP)
		return verify_snp(w, ev, res, err);
	if (ev->platform == ATT_PLATFORM_TDX)
		return verify_tdx(w, ev, res, err);
	return vg_err_set(err, ENOTSUP, "unsupported platform");
}

int ad_worker_init(struct ad_worker *w, struct ad_service *s, int index, struct vg_err *err)
{
	memset(w, 0, sizeof(*w));
	w->svc = s;
	w->index = index;
	w->cache = cache_new();
	if (!w->cache)
		return vg_err_set(err, ENOMEM, "out of memory");
	int rc = ad_db_open(s->cfg.db, &w->db, err);
	if (rc) {
		cache_free(w->cache);
		w->cache = NULL;
	}
	return rc;
}

void ad_worker_free(struct ad_worker *w)
{
	ad_db_close(&w->db);
	cache_free(w->cache);
	w->cache = NULL;
}
