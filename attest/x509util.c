/* Certificates, chains, CRLs and raw ECDSA signatures, all through OpenSSL 3. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <pthread.h>

#include "attest/internal.h"

/* SHA-256 fingerprints of the DER certificates. AMD ARKs as served by
 * https://kdsintf.amd.com/vcek/v1/{Milan,Genoa,Turin}/cert_chain; the Intel SGX
 * Root CA as embedded in every production PCK chain. */
const struct att_amd_root att_amd_roots[3] = {
	{SEV_SNP_PRODUCT_MILAN,
	 {0x69, 0xd0, 0x63, 0xb4, 0x53, 0x44, 0xd2, 0x6a, 0x2e, 0x94, 0xe1, 0xf4, 0x21, 0x0d, 0xe4, 0x9e,
	  0xf5, 0x55, 0x30, 0x82, 0x87, 0xd4, 0xc1, 0x74, 0x44, 0x5c, 0x95, 0x63, 0x9a, 0x54, 0x0b, 0xcd}},
	{SEV_SNP_PRODUCT_GENOA,
	 {0x4c, 0x65, 0x98, 0xd1, 0x9c, 0x18, 0x71, 0x9c, 0x5d, 0xfd, 0x4a, 0x7d, 0x33, 0x5f, 0x67, 0x4e,
	  0x5b, 0xfe, 0x1d, 0x8f, 0x80, 0x0c, 0xea, 0x2c, 0xf2, 0x70, 0xc1, 0x0d, 0x10, 0x3d, 0xb2, 0xf1}},
	{SEV_SNP_PRODUCT_TURIN,
	 {0x1f, 0x08, 0x41, 0x61, 0xa4, 0x4b, 0xb6, 0xd9, 0x37, 0x78, 0xa9, 0x04, 0x87, 0x7d, 0x48, 0x19,
	  0xca, 0xfa, 0x5d, 0x05, 0xef, 0x41, 0x93, 0xb2, 0xde, 0xd9, 0xdd, 0x9c, 0x73, 0xdd, 0x3f, 0x6a}},
};
const uint8_t att_intel_root_sha256[32] = {
	0x44, 0xa0, 0x19, 0x6b, 0x2b, 0x99, 0xf8, 0x89, 0xb8, 0xe1, 0x49, 0xe9, 0x5b, 0x80, 0x7a, 0x35,
	0x0e, 0x74, 0x24, 0x96, 0x43, 0x99, 0xe8, 0x85, 0xa7, 0xcb, 0xb8, 0xcc, 0xfa, 0xb6, 0x74, 0xd3};

static bool looks_pem(const uint8_t *buf, size_t len)
{
	return len >= 11 && memmem(buf, len, "-----BEGIN ", 11) != NULL;
}

STACK_OF(X509) *att_certs_parse(const uint8_t *buf, size_t len, const char *what, struct vg_err *err)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	if (!sk) {
		vg_err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	if (len > INT32_MAX)
		goto none;
	if (looks_pem(buf, len)) {
		BIO *b = BIO_new_mem_buf(buf, (int)len);
		X509 *c;
		while (b && (c = PEM_read_bio_X509(b, NULL, NULL, NULL)))
			if (!sk_X509_push(sk, c))
				X509_free(c);
		BIO_free(b);
	} else {
		const unsigned char *p = buf;
		X509 *c = d2i_X509(NULL, &p, (long)len);
		if (c && !sk_X509_push(sk, c))
			X509_free(c);
	}
	ERR_clear_error();
	if (sk_X509_num(sk) > 0)
		return sk;
none:
	sk_X509_pop_free(sk, X509_free);
	vg_err_set(err, EBADMSG, "%s: no parsable X.509 certificate (PEM or DER)", what);
	return NULL;
}

X509_CRL *att_crl_parse(const uint8_t *buf, size_t len, struct vg_err *err)
{
	X509_CRL *crl = NULL;
	if (len <= INT32_MAX) {
		if (looks_pem(buf, len)) {
			BIO *b = BIO_new_mem_buf(buf, (int)len);
			crl = b ? PEM_read_bio_X509_CRL(b, NULL, NULL, NULL) : NULL;
			BIO_free(b);
		} else {
			const unsigned char *p = buf;
			crl = d2i_X509_CRL(NULL, &p, (long)len);
		}
	}
	ERR_clear_error();
	if (!crl)
		vg_err_set(err, EBADMSG, "CRL is not a parsable X.509 CRL (PEM or DER)");
	return crl;
}

void att_fingerprint(X509 *c, uint8_t out[32])
{
	unsigned int n = 32;
	if (!X509_digest(c, EVP_sha256(), out, &n))
		memset(out, 0, 32);
}

void att_cert_name(X509 *c, char *out, size_t cap)
{
	X509_NAME *nm = c ? X509_get_subject_name(c) : NULL;
	int i = nm ? X509_NAME_get_index_by_NID(nm, NID_commonName, -1) : -1;
	out[0] = 0;
	if (i >= 0) {
		ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(nm, i));
		int n = ASN1_STRING_length(s);
		snprintf(out, cap, "%.*s", n < 0 ? 0 : n, (const char *)ASN1_STRING_get0_data(s));
		for (char *p = out; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
				*p = '?';
	} else if (nm) {
		X509_NAME_oneline(nm, out, (int)cap);
	}
	if (!out[0])
		snprintf(out, cap, "(no subject)");
}

bool att_subject_contains(X509 *c, const char *needle)
{
	char buf[512];
	X509_NAME_oneline(X509_get_subject_name(c), buf, sizeof(buf));
	return strstr(buf, needle) != NULL;
}

int64_t att_now(const struct att_trust *t)
{
	return (t && t->have_at) ? t->at : (int64_t)time(NULL);
}

int64_t att_cert_not_after(X509 *c)
{
	struct tm tm;
	if (!ASN1_TIME_to_tm(X509_get0_notAfter(c), &tm))
		return INT64_MAX;
	return (int64_t)timegm(&tm);
}

static int64_t asn1_time_unix(const ASN1_TIME *a)
{
	struct tm tm;
	if (!a || !ASN1_TIME_to_tm(a, &tm))
		return INT64_MIN;
	return (int64_t)timegm(&tm);
}

int att_chain_verify(X509 *leaf, STACK_OF(X509) *untrusted, X509 *anchor, const struct att_trust *t,
		     bool check_time, struct vg_err *err)
{
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int rc = -EACCES;
	if (!st || !ctx || !X509_STORE_add_cert(st, anchor) ||
	    !X509_STORE_CTX_init(ctx, st, leaf, untrusted)) {
		rc = vg_err_set(err, ENOMEM, "cannot set up certificate verification");
		goto out;
	}
	X509_VERIFY_PARAM *p = X509_STORE_CTX_get0_param(ctx);
	unsigned long flags = X509_V_FLAG_CHECK_SS_SIGNATURE;
	if (!check_time)
		flags |= X509_V_FLAG_NO_CHECK_TIME;
	else if (t && t->have_at)
		X509_VERIFY_PARAM_set_time(p, (time_t)t->at);
	X509_VERIFY_PARAM_set_flags(p, flags);
	if (X509_verify_cert(ctx) == 1) {
		rc = 0;
		goto out;
	}
	int e = X509_STORE_CTX_get_error(ctx);
	int depth = X509_STORE_CTX_get_error_depth(ctx);
	X509 *bad = X509_STORE_CTX_get_current_cert(ctx);
	char name[128];
	att_cert_name(bad ? bad : leaf, name, sizeof(name));
	if (e == X509_V_ERR_CERT_HAS_EXPIRED || e == X509_V_ERR_CERT_NOT_YET_VALID) {
		char when[32];
		int64_t ts = asn1_time_unix(e == X509_V_ERR_CERT_HAS_EXPIRED ? X509_get0_notAfter(bad)
									     : X509_get0_notBefore(bad));
		vg_format_rfc3339(ts, when);
		vg_err_set(err, EACCES, "%s certificate %s (%s %s)", name,
			   e == X509_V_ERR_CERT_HAS_EXPIRED ? "expired" : "is not yet valid",
			   e == X509_V_ERR_CERT_HAS_EXPIRED ? "notAfter" : "notBefore", when);
	} else {
		vg_err_set(err, EACCES, "certificate chain: %s (depth %d): %s", name, depth,
			   X509_verify_cert_error_string(e));
	}
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	return rc;
}

X509 *att_find_by_fingerprint(STACK_OF(X509) *certs, const uint8_t fp[32])
{
	for (int i = 0; i < sk_X509_num(certs); i++) {
		uint8_t d[32];
		att_fingerprint(sk_X509_value(certs, i), d);
		if (!memcmp(d, fp, 32))
			return sk_X509_value(certs, i);
	}
	return NULL;
}

int att_crl_check(X509_CRL *crl, X509 *issuer, X509 *subject, const char *what, struct vg_err *err)
{
	int rc = 0;
	if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0) {
		char n[128];
		att_cert_name(issuer, n, sizeof(n));
		rc = vg_err_set(err, EACCES, "%s: CRL is not issued by %s", what, n);
	} else if (X509_CRL_verify(crl, X509_get0_pubkey(issuer)) != 1) {
		rc = vg_err_set(err, EACCES, "%s: CRL signature is invalid", what);
	} else {
		X509_REVOKED *rev = NULL;
		if (X509_CRL_get0_by_cert(crl, &rev, subject) == 1) {
			char n[128];
			att_cert_name(subject, n, sizeof(n));
			rc = vg_err_set(err, EKEYREVOKED, "%s: certificate %s is revoked", what, n);
		}
	}
	ERR_clear_error();
	return rc;
}

/* Digests fetched once: implicit fetches by name cost more than a P-256 verify's margin. */
static EVP_MD *md_sha256, *md_sha384;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static void md_fetch(void)
{
	md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	md_sha384 = EVP_MD_fetch(NULL, "SHA384", NULL);
}

EVP_PKEY_CTX *att_verify_ctx_new(EVP_PKEY *pk)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pk, NULL);
	if (c && EVP_PKEY_verify_init(c) != 1) {
		EVP_PKEY_CTX_free(c);
		c = NULL;
	}
	ERR_clear_error();
	return c;
}

int att_ecdsa_verify_ctx(EVP_PKEY_CTX *c, bool sha384, const uint8_t *msg, size_t len, const uint8_t *r,
			 const uint8_t *s, size_t n, bool little_endian)
{
	uint8_t dgst[48];
	unsigned int dl = 0;
	unsigned char der[160], *p = der;
	int ok = 0;
	pthread_once(&md_once, md_fetch);
	const EVP_MD *md = sha384 ? md_sha384 : md_sha256;
	if (!md || EVP_Digest(msg, len, dgst, &dl, md, NULL) != 1)
		return 0;
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *br = little_endian ? BN_lebin2bn(r, (int)n, NULL) : BN_bin2bn(r, (int)n, NULL);
	BIGNUM *bs = little_endian ? BN_lebin2bn(s, (int)n, NULL) : BN_bin2bn(s, (int)n, NULL);
	if (!sig || !br || !bs || !ECDSA_SIG_set0(sig, br, bs)) {
		BN_free(br);
		BN_free(bs);
	} else if (i2d_ECDSA_SIG(sig, NULL) <= (int)sizeof(der)) {
		int derlen = i2d_ECDSA_SIG(sig, &p);
		ok = derlen > 0 && EVP_PKEY_verify(c, der, (size_t)derlen, dgst, dl) == 1;
	}
	ECDSA_SIG_free(sig);
	if (!ok)
		ERR_clear_error();
	return ok;
}

static int verify_sig(EVP_PKEY *pk, const EVP_MD *md, const uint8_t *msg, size_t len, BIGNUM *r, BIGNUM *s)
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	unsigned char *der = NULL;
	int derlen, ok = 0;
	if (!sig || !r || !s || !ECDSA_SIG_set0(sig, r, s)) {
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(sig);
		return 0;
	}
	derlen = i2d_ECDSA_SIG(sig, &der);
	ECDSA_SIG_free(sig);
	if (derlen > 0) {
		EVP_MD_CTX *c = EVP_MD_CTX_new();
		ok = c && EVP_DigestVerifyInit(c, NULL, md, NULL, pk) == 1 &&
		     EVP_DigestVerify(c, der, (size_t)derlen, msg, len) == 1;
		EVP_MD_CTX_free(c);
	}
	OPENSSL_free(der);
	ERR_clear_error();
	return ok;
}

int att_ecdsa_verify_be(EVP_PKEY *pk, const EVP_MD *md, const uint8_t *msg, size_t len, const uint8_t *r,
			const uint8_t *s, size_t n)
{
	return verify_sig(pk, md, msg, len, BN_bin2bn(r, (int)n, NULL), BN_bin2bn(s, (int)n, NULL));
}

int att_ecdsa_verify_le(EVP_PKEY *pk, const EVP_MD *md, const uint8_t *msg, size_t len, const uint8_t *r,
			const uint8_t *s, size_t n)
{
	return verify_sig(pk, md, msg, len, BN_lebin2bn(r, (int)n, NULL), BN_lebin2bn(s, (int)n, NULL));
}

EVP_PKEY *att_p256_from_raw(const uint8_t xy[64])
{
	uint8_t pt[65];
	EVP_PKEY *pk = NULL;
	pt[0] = 0x04;
	memcpy(pt + 1, xy, 64);
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (b && c && OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) &&
	    OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt)) &&
	    (params = OSSL_PARAM_BLD_to_param(b)) && EVP_PKEY_fromdata_init(c) == 1 &&
	    EVP_PKEY_fromdata(c, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pk = NULL;
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(b);
	EVP_PKEY_CTX_free(c);
	ERR_clear_error();
	return pk;
}

int att_reject(struct att_result *res, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
	va_end(ap);
	for (char *p = res->reason; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	res->verified = false;
	return 0;
}

int att_anchor_load(const uint8_t *pem_or_der, size_t len, struct att_anchor **out, struct vg_err *err)
{
	*out = NULL;
	STACK_OF(X509) *sk = att_certs_parse(pem_or_der, len, "simulated root", err);
	if (!sk)
		return -EBADMSG;
	if (sk_X509_num(sk) != 1) {
		sk_X509_pop_free(sk, X509_free);
		return vg_err_set(err, EINVAL, "simulated root: expected exactly one certificate");
	}
	X509 *c = sk_X509_value(sk, 0);
	if (!att_subject_contains(c, "SIMULATED")) {
		sk_X509_pop_free(sk, X509_free);
		return vg_err_set(err, EINVAL,
				  "simulated root: subject does not contain \"SIMULATED\"; vendor roots are pinned and cannot be given here");
	}
	X509_NAME *s = X509_get_subject_name(c), *i = X509_get_issuer_name(c);
	if (X509_NAME_cmp(s, i) != 0) {
		sk_X509_pop_free(sk, X509_free);
		return vg_err_set(err, EINVAL, "simulated root: certificate is not self-issued");
	}
	struct att_anchor *a = calloc(1, sizeof(*a));
	if (!a) {
		sk_X509_pop_free(sk, X509_free);
		return vg_err_set(err, ENOMEM, "out of memory");
	}
	a->cert = sk_X509_shift(sk);
	sk_X509_pop_free(sk, X509_free);
	*out = a;
	return 0;
}

void att_anchor_free(struct att_anchor *a)
{
	if (!a)
		return;
	X509_free(a->cert);
	free(a);
}
