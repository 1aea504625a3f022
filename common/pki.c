/* X.509 issuing shared by sim-snp, sim-tdx and the vTPM EK CA (common.h, "PKI
 * and state directories"): names, certificate skeletons, extensions, PEM. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "common/common.h"

int vg_ossl_error(struct vg_err *err, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256];
	ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return vg_err_set(err, EIO, "%s: %s", what, e ? buf : "OpenSSL failure");
}

X509_NAME *vg_x509_name(const char *const *pairs)
{
	X509_NAME *n = X509_NAME_new();
	for (size_t i = 0; n && pairs[i] && pairs[i + 1]; i += 2) {
		if (!X509_NAME_add_entry_by_txt(n, pairs[i], MBSTRING_UTF8, (const unsigned char *)pairs[i + 1], -1, -1,
						0)) {
			X509_NAME_free(n);
			return NULL;
		}
	}
	return n;
}

X509 *vg_x509_new(const X509_NAME *subject, EVP_PKEY *pub, const X509 *issuer, long from_secs, long days)
{
	X509 *x = X509_new();
	BIGNUM *bn = BN_new();
	ASN1_INTEGER *serial = NULL;
	/* 127 random bits, top bit clear: a positive serial of at most 16 bytes */
	bool ok = x && bn && BN_rand(bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) &&
		  (serial = BN_to_ASN1_INTEGER(bn, NULL)) && X509_set_version(x, X509_VERSION_3) &&
		  X509_set_serialNumber(x, serial) && X509_set_subject_name(x, subject) &&
		  X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : subject) &&
		  X509_gmtime_adj(X509_getm_notBefore(x), from_secs) &&
		  X509_gmtime_adj(X509_getm_notAfter(x), from_secs + days * 86400L) && X509_set_pubkey(x, pub);
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

int vg_x509_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, issuer ? issuer : cert, cert, NULL, NULL, 0);
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	int ok = e && X509_add_ext(cert, e, -1);
	X509_EXTENSION_free(e);
	return ok ? 0 : -1;
}

int vg_x509_ext_der(X509 *cert, const char *oid, const uint8_t *der, int len)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *e = NULL;
	int ok = obj && os && ASN1_OCTET_STRING_set(os, der, len) &&
		 (e = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os)) && X509_add_ext(cert, e, -1);
	X509_EXTENSION_free(e);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(obj);
	return ok ? 0 : -1;
}

/* PEM into out; the memory BIO's buffer is cleansed before it is freed. */
static int pem_append(struct vg_buf *out, X509 *cert, EVP_PKEY *key)
{
	BIO *b = BIO_new(BIO_s_mem());
	BUF_MEM *bm = NULL;
	int ok = b && (cert ? PEM_write_bio_X509(b, cert) : PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL));
	ok = ok && BIO_get_mem_ptr(b, &bm) > 0 && bm && bm->length > 0 && !vg_buf_append(out, bm->data, bm->length);
	if (b && BIO_get_mem_ptr(b, &bm) > 0 && bm)
		vg_secure_zero(bm->data, bm->length);
	BIO_free(b);
	return ok ? 0 : -EIO;
}

int vg_pem_append_cert(struct vg_buf *out, X509 *cert) { return cert ? pem_append(out, cert, NULL) : -EINVAL; }
int vg_pem_append_key(struct vg_buf *out, EVP_PKEY *key) { return key ? pem_append(out, NULL, key) : -EINVAL; }

EVP_PKEY *vg_pem_read_key_file(const char *path, int ec_bits, struct vg_err *err)
{
	uint8_t *d = NULL;
	size_t n = 0;
	if (vg_read_file(path, 1 << 16, &d, &n, err))
		return NULL;
	BIO *b = BIO_new_mem_buf(d, (int)n);
	EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	vg_secure_zero(d, n);
	free(d);
	ERR_clear_error();
	if (!k || (ec_bits && (EVP_PKEY_get_base_id(k) != EVP_PKEY_EC || EVP_PKEY_get_bits(k) != ec_bits))) {
		EVP_PKEY_free(k);
		if (ec_bits)
			vg_err_set(err, EBADMSG, "%s: not an ECDSA P-%d private key", path, ec_bits);
		else
			vg_err_set(err, EBADMSG, "%s: not a PEM private key", path);
		return NULL;
	}
	return k;
}

EVP_PKEY *vg_pem_read_key(const char *dir, const char *name, int ec_bits, struct vg_err *err)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return vg_pem_read_key_file(path, ec_bits, err);
}
