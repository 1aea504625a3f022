/*
 * The VCEK cache: SNP evidence that arrives without a certificate table (a host with none
 * configured) is verified with the VCEK of its chip and TCB, looked up in a cache directory
 * laid out as AMD's Key Distribution Service URLs:
 *
 *   DIR/vcek/v1/<product>/cert_chain                          ASK then ARK, PEM
 *   DIR/vcek/v1/<product>/<hwid hex>/blSPL=B&teeSPL=T&snpSPL=S&ucodeSPL=U   VCEK, DER
 *     (Turin: the first 8 bytes of HWID, and fmcSPL=F& first, as KDS names them)
 *
 * With a KDS base URL (--kds-url https://kdsintf.amd.com, or a mirror) a missing file is
 * fetched once (libcurl) and stored (atomically, 0644) only after it verified this report
 * against the pinned AMD ARK of the product (or a trusted SIMULATED root). 429 and 5xx
 * answers are retried after Retry-After (1..10 s, three attempts in all) and otherwise end
 * in a rejection naming them: nothing KDS says ever turns into an accepted report by
 * itself, and nothing unverified is cached. Without a URL the cache is read-only (air-gapped
 * sites fill it beforehand, e.g. with curl from the same URLs).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "attestd/attestd.h"
#include "sev/sev.h"

#define KDS_MAX_BODY (64u * 1024)
#define KDS_ATTEMPTS 3

struct ad_kds {
	char dir[1024];
	char url[1024]; /* "" = offline */
	long timeout_s;
};

int ad_kds_open(const char *cache_dir, const char *base_url, struct ad_kds **out, struct vg_err *err)
{
	*out = NULL;
	if (!cache_dir || !*cache_dir)
		return vg_err_set(err, EINVAL, "--kds-cache: a directory is required");
	if (base_url && *base_url && strncmp(base_url, "https://", 8) && strncmp(base_url, "http://", 7))
		return vg_err_set(err, EINVAL, "--kds-url %s: must be an http(s) URL", base_url);
	struct ad_kds *k = calloc(1, sizeof(*k));
	if (!k)
		return vg_err_set(err, ENOMEM, "out of memory");
	snprintf(k->dir, sizeof(k->dir), "%s", cache_dir);
	snprintf(k->url, sizeof(k->url), "%s", base_url ? base_url : "");
	size_t n = strlen(k->url);
	while (n && k->url[n - 1] == '/')
		k->url[--n] = 0;
	k->timeout_s = 20;
	if (mkdir(k->dir, 0755) && errno != EEXIST) {
		int e = errno;
		free(k);
		return vg_err_set(err, e, "--kds-cache %s: %s", cache_dir, strerror(e));
	}
	if (k->url[0] && curl_global_init(CURL_GLOBAL_DEFAULT)) {
		free(k);
		return vg_err_set(err, EIO, "libcurl initialisation failed");
	}
	*out = k;
	return 0;
}

void ad_kds_free(struct ad_kds *k)
{
	free(k);
}

/* ------------------------------------------------------------------ paths */
struct kds_names {
	const char *product;
	char vcek_rel[512];  /* vcek/v1/<product>/<hwid>/<query> (file) */
	char vcek_query[160];
	char hwid[129];
	char chain_rel[64];  /* vcek/v1/<product>/cert_chain */
};

static int names_for(const struct sev_snp_report *r, enum sev_snp_product p, struct kds_names *n,
		     struct vg_err *err)
{
	memset(n, 0, sizeof(*n));
	struct sev_snp_tcb t;
	switch (p) {
	case SEV_SNP_PRODUCT_MILAN: n->product = "Milan"; break;
	case SEV_SNP_PRODUCT_GENOA: n->product = "Genoa"; break;
	case SEV_SNP_PRODUCT_TURIN: n->product = "Turin"; break;
	default:
		return vg_err_set(err, ENOENT, "unknown SNP product for the VCEK lookup");
	}
	sev_snp_tcb_decode(r->reported_tcb, p, &t);
	size_t hl = p == SEV_SNP_PRODUCT_TURIN ? 8 : 64;
	vg_hex_encode(r->chip_id, hl, n->hwid);
	if (p == SEV_SNP_PRODUCT_TURIN)
		snprintf(n->vcek_query, sizeof(n->vcek_query), "fmcSPL=%u&blSPL=%u&teeSPL=%u&snpSPL=%u&ucodeSPL=%u",
			 t.fmc, t.bl, t.tee, t.snp, t.ucode);
	else
		snprintf(n->vcek_query, sizeof(n->vcek_query), "blSPL=%u&teeSPL=%u&snpSPL=%u&ucodeSPL=%u", t.bl, t.tee,
			 t.snp, t.ucode);
	snprintf(n->vcek_rel, sizeof(n->vcek_rel), "vcek/v1/%s/%s/%s", n->product, n->hwid, n->vcek_query);
	snprintf(n->chain_rel, sizeof(n->chain_rel), "vcek/v1/%s/cert_chain", n->product);
	return 0;
}

static int mkdirs(const char *dir, const char *rel_file, struct vg_err *err)
{
	char p[2048];
	snprintf(p, sizeof(p), "%s/%s", dir, rel_file);
	for (char *s = p + strlen(dir) + 1; (s = strchr(s, '/')); s++) {
		*s = 0;
		if (mkdir(p, 0755) && errno != EEXIST)
			return vg_err_set(err, errno, "%s: %s", p, strerror(errno));
		*s = '/';
	}
	return 0;
}

/* ------------------------------------------------------------------ fetch */
struct body {
	struct vg_buf b;
	bool too_big;
	long retry_after;
};

static size_t on_body(char *p, size_t size, size_t nm, void *ctx)
{
	struct body *b = ctx;
	size_t len = size * nm;
	if (b->b.len + len > KDS_MAX_BODY) {
		b->too_big = true;
		return 0;
	}
	return vg_buf_append(&b->b, p, len) ? 0 : len;
}

static size_t on_header(char *p, size_t size, size_t nm, void *ctx)
{
	struct body *b = ctx;
	size_t len = size * nm;
	if (len > 12 && !strncasecmp(p, "retry-after:", 12)) {
		char v[32] = {0};
		size_t i = 12, j = 0;
		while (i < len && p[i] == ' ')
			i++;
		while (i < len && j < sizeof(v) - 1 && isdigit((unsigned char)p[i]))
			v[j++] = p[i++];
		if (j)
			b->retry_after = strtol(v, NULL, 10);
	}
	return len;
}

/* GET base/rel[?query]; 200 -> body. 429/5xx retried after Retry-After. */
static int kds_get(struct ad_kds *k, const char *rel, const char *query, struct vg_buf *out, struct vg_err *err)
{
	char url[2048];
	snprintf(url, sizeof(url), "%s/%s%s%s", k->url, rel, query ? "?" : "", query ? query : "");
	long status = 0;
	for (int attempt = 1; attempt <= KDS_ATTEMPTS; attempt++) {
		struct body b = {.retry_after = -1};
		CURL *c = curl_easy_init();
		if (!c)
			return vg_err_set(err, ENOMEM, "libcurl: out of memory");
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(c, CURLOPT_TIMEOUT, k->timeout_s);
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
		curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(c, CURLOPT_HEADERDATA, &b);
		curl_easy_setopt(c, CURLOPT_USERAGENT, "vigil-attestd/" VG_VERSION);
		CURLcode cc = curl_easy_perform(c);
		status = 0;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_cleanup(c);
		if (cc != CURLE_OK || b.too_big) {
			vg_buf_free(&b.b);
			return vg_err_set(err, EHOSTUNREACH, "AMD KDS %s: %s", url,
					  b.too_big ? "answer too large" : curl_easy_strerror(cc));
		}
		if (status == 200) {
			*out = b.b;
			return 0;
		}
		vg_buf_free(&b.b);
		if (status != 429 && status < 500)
			return vg_err_set(err, ENOENT, "AMD KDS %s: HTTP %ld", url, status);
		if (attempt == KDS_ATTEMPTS)
			break;
		long wait = b.retry_after < 0 ? 2 : VG_MAX(1L, VG_MIN(b.retry_after, 10L));
		ad_logf(VG_LOG_WARN, "kds.backoff", "AMD KDS answered %ld for %s; retrying in %ld s (attempt %d of %d)",
			status, rel, wait, attempt + 1, KDS_ATTEMPTS);
		sleep((unsigned)wait);
	}
	return vg_err_set(err, EAGAIN, "AMD KDS %s: HTTP %ld after %d attempts (%s): not accepted", url, status,
			  KDS_ATTEMPTS, status == 429 ? "rate limited" : "server error");
}

/* ------------------------------------------------------------------ lookup */
static int read_cached(struct ad_kds *k, const char *rel, uint8_t **out, size_t *len)
{
	char p[2048];
	snprintf(p, sizeof(p), "%s/%s", k->dir, rel);
	return vg_read_file(p, KDS_MAX_BODY, out, len, NULL);
}

static int store(struct ad_kds *k, const char *rel, const uint8_t *d, size_t len, struct vg_err *err)
{
	char p[2048];
	snprintf(p, sizeof(p), "%s/%s", k->dir, rel);
	int rc = mkdirs(k->dir, rel, err);
	return rc ? rc : vg_write_file_atomic(p, d, len, 0644, err);
}

/* Does (vcek, chain) verify this report against the AMD roots or a trusted sim root? */
static bool verifies(const uint8_t *report, size_t len, const uint8_t *vcek, size_t vl, const uint8_t *chain,
		     size_t cl, struct att_anchor *const *sim, size_t nsim, char *why, size_t cap)
{
	struct att_snp_input in = {vcek, vl, chain, cl, NULL, 0};
	for (size_t i = 0; i <= nsim; i++) {
		struct att_trust t = {0};
		if (i)
			t.sim_root = sim[i - 1];
		struct att_result res;
		att_result_init(&res);
		att_snp_verify(report, len, &in, &t, &res);
		bool ok = res.verified;
		if (!ok && (i == 0 || !why[0]))
			snprintf(why, cap, "%s", res.reason);
		att_result_free(&res);
		if (ok)
			return true;
	}
	return false;
}

static int certs_for(struct ad_kds *k, const uint8_t *report, size_t len, const struct sev_snp_report *r,
		     enum sev_snp_product p, struct att_anchor *const *sim, size_t nsim, uint8_t **vcek,
		     size_t *vcek_len, uint8_t **chain, size_t *chain_len, struct vg_err *err)
{
	struct kds_names n;
	int rc = names_for(r, p, &n, err);
	if (rc)
		return rc;
	bool have_v = !read_cached(k, n.vcek_rel, vcek, vcek_len);
	bool have_c = !read_cached(k, n.chain_rel, chain, chain_len);
	if (have_v && have_c)
		return 0;
	if (!k->url[0]) {
		rc = vg_err_set(err, ENOENT, "no certificate table, and the VCEK cache has no %s (no --kds-url to fetch it)",
				have_v ? n.chain_rel : n.vcek_rel);
		goto fail;
	}
	struct vg_buf fv = {0}, fc = {0};
	if (!have_c) {
		if ((rc = kds_get(k, n.chain_rel, NULL, &fc, err)))
			goto fail;
		free(*chain);
		*chain = fc.data;
		*chain_len = fc.len;
	}
	if (!have_v) {
		char rel[300];
		snprintf(rel, sizeof(rel), "vcek/v1/%s/%s", n.product, n.hwid);
		if ((rc = kds_get(k, rel, n.vcek_query, &fv, err)))
			goto fail;
		free(*vcek);
		*vcek = fv.data;
		*vcek_len = fv.len;
	}
	char why[512] = "";
	if (!verifies(report, len, *vcek, *vcek_len, *chain, *chain_len, sim, nsim, why, sizeof(why))) {
		rc = vg_err_set(err, EBADMSG, "the certificates from AMD KDS do not verify this report (%s): not cached",
				why);
		goto fail;
	}
	if ((!have_c && (rc = store(k, n.chain_rel, *chain, *chain_len, err))) ||
	    (!have_v && (rc = store(k, n.vcek_rel, *vcek, *vcek_len, err))))
		goto fail;
	ad_logf(VG_LOG_INFO, "kds.cached", "stored %s%s%s from AMD KDS", have_v ? "" : n.vcek_rel,
		!have_v && !have_c ? " and " : "", have_c ? "" : n.chain_rel);
	return 0;
fail:
	free(*vcek);
	free(*chain);
	*vcek = *chain = NULL;
	*vcek_len = *chain_len = 0;
	return rc;
}

int ad_kds_snp_certs(struct ad_kds *k, const uint8_t *report, size_t len, struct att_anchor *const *sim, size_t nsim,
		     uint8_t **vcek, size_t *vcek_len, uint8_t **chain, size_t *chain_len, struct vg_err *err)
{
	*vcek = *chain = NULL;
	*vcek_len = *chain_len = 0;
	struct sev_snp_report r;
	int rc = sev_snp_report_parse(report, VG_MIN(len, (size_t)SEV_SNP_REPORT_SIZE), &r, err);
	if (rc)
		return rc;
	if (r.has_cpuid) {
		enum sev_snp_product p = sev_snp_product_from_cpuid(r.cpuid_fam_id, r.cpuid_mod_id);
		if (p == SEV_SNP_PRODUCT_UNKNOWN)
			return vg_err_set(err, ENOENT, "report CPUID family 0x%x model 0x%x is no SNP product KDS knows",
					  r.cpuid_fam_id, r.cpuid_mod_id);
		return certs_for(k, report, len, &r, p, sim, nsim, vcek, vcek_len, chain, chain_len, err);
	}
	/* Report version 2 does not say its product: the one whose certificates verify it
	 * (Milan, then Genoa; Turin reports are version 3 or later). */
	struct vg_err first = {0};
	static const enum sev_snp_product cand[] = {SEV_SNP_PRODUCT_MILAN, SEV_SNP_PRODUCT_GENOA};
	for (size_t i = 0; i < VG_ARRAY_SIZE(cand); i++) {
		rc = certs_for(k, report, len, &r, cand[i], sim, nsim, vcek, vcek_len, chain, chain_len,
			       i ? &(struct vg_err){0} : &first);
		if (!rc)
			return 0;
	}
	*err = first;
	return vg_err_prefix(err, "report version 2 (product unknown; tried Milan and Genoa)");
}

/* The i-th certificate of a PEM chain as malloc'd DER. */
static int pem_nth_der(const uint8_t *pem, size_t len, int i, uint8_t **der, size_t *dl, struct vg_err *err)
{
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	X509 *x = NULL;
	for (int k = 0; b && k <= i; k++) {
		X509_free(x);
		x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	}
	BIO_free(b);
	ERR_clear_error();
	unsigned char *d = NULL;
	int n = x ? i2d_X509(x, &d) : -1;
	X509_free(x);
	if (n <= 0)
		return vg_err_set(err, EBADMSG, "cached cert_chain: certificate %d missing", i + 1);
	*der = malloc((size_t)n);
	if (*der)
		memcpy(*der, d, (size_t)n);
	OPENSSL_free(d);
	if (!*der)
		return vg_err_set(err, ENOMEM, "out of memory");
	*dl = (size_t)n;
	return 0;
}

int ad_kds_fill_evidence(struct ad_kds *k, struct ad_evidence *ev, struct att_anchor *const *sim, size_t nsim,
			 struct vg_err *err)
{
	uint8_t *chain = NULL;
	size_t cl = 0;
	int rc = ad_kds_snp_certs(k, ev->report, ev->report_len, sim, nsim, &ev->vcek, &ev->vcek_len, &chain, &cl, err);
	if (rc)
		return rc;
	rc = pem_nth_der(chain, cl, 0, &ev->ask, &ev->ask_len, err);
	if (!rc)
		rc = pem_nth_der(chain, cl, 1, &ev->ark, &ev->ark_len, err);
	free(chain);
	return rc;
}
