/*
 * sim-snp: the simulated AMD secure processor's identity. Generated once into a
 * state directory and reused: an ARK (self-signed) and ASK, RSA-4096 signing with
 * RSA-PSS SHA-384 (salt 48) like AMD's; a VCEK (ECDSA P-384) whose certificate carries
 * AMD's extensions (productName, blSPL/teeSPL/snpSPL/ucodeSPL, HWID = CHIP_ID).
 * Every subject says SIMULATED. Private keys are stored unencrypted with mode 0600:
 * this is a simulation, and nothing real trusts these keys.
 *
 *   DIR/sim-snp/ark.pem ask.pem vcek.pem   certificates
 *   DIR/sim-snp/cert_chain.pem             ASK then ARK (for vigil verify --chain)
 *   DIR/sim-snp/vcek.key                   the report-signing key
 *   DIR/sim-snp/platform                   chip_id and TCB the certificates were made for
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "sev/sev.h"
#include "sev/sim_snp_priv.h"

#define AMD_OID "1.3.6.1.4.1.3704.1."

static int ossl_err(struct vg_err *err, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256];
	ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return vg_err_set(err, EIO, "%s: %s", what, e ? buf : "OpenSSL failure");
}

static int add_ext_der(X509 *x, const char *oid, const unsigned char *der, int len)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *e = NULL;
	int ok = obj && os && ASN1_OCTET_STRING_set(os, der, len) &&
		 (e = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os)) && X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(obj);
	return ok ? 0 : -1;
}

static int add_ext_int(X509 *x, const char *oid, long v)
{
	ASN1_INTEGER *i = ASN1_INTEGER_new();
	unsigned char *der = NULL;
	int len = i && ASN1_INTEGER_set(i, v) ? i2d_ASN1_INTEGER(i, &der) : -1;
	int rc = len > 0 ? add_ext_der(x, oid, der, len) : -1;
	OPENSSL_free(der);
	ASN1_INTEGER_free(i);
	return rc;
}

static int add_ext_ia5(X509 *x, const char *oid, const char *s)
{
	ASN1_IA5STRING *a = ASN1_IA5STRING_new();
	unsigned char *der = NULL;
	int len = a && ASN1_STRING_set(a, s, (int)strlen(s)) ? i2d_ASN1_IA5STRING(a, &der) : -1;
	int rc = len > 0 ? add_ext_der(x, oid, der, len) : -1;
	OPENSSL_free(der);
	ASN1_IA5STRING_free(a);
	return rc;
}

static int add_ext_v3(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	int ok = e && X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok ? 0 : -1;
}

static X509_NAME *sim_name(const char *cn)
{
	X509_NAME *n = X509_NAME_new();
	if (n && X509_NAME_add_entry_by_txt(n, "C", MBSTRING_ASC, (const unsigned char *)"US", -1, -1, 0) &&
	    X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
				       (const unsigned char *)"Vigil SIMULATED AMD-SP (not Advanced Micro Devices)", -1,
				       -1, 0) &&
	    X509_NAME_add_entry_by_txt(n, "OU", MBSTRING_ASC, (const unsigned char *)"SIMULATED", -1, -1, 0) &&
	    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0))
		return n;
	X509_NAME_free(n);
	return NULL;
}

/* A certificate for `key` named `cn`, signed by issuer_key (RSA-PSS SHA-384 salt 48). */
static X509 *make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, bool ca)
{
	X509 *x = X509_new();
	X509_NAME *name = sim_name(cn);
	ASN1_INTEGER *serial = ASN1_INTEGER_new();
	BIGNUM *bn = BN_new();
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	bool ok = x && name && serial && bn && md && BN_rand(bn, 120, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) &&
		  BN_to_ASN1_INTEGER(bn, serial) && X509_set_version(x, X509_VERSION_3) &&
		  X509_set_serialNumber(x, serial) && X509_set_subject_name(x, name) &&
		  X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) &&
		  X509_gmtime_adj(X509_getm_notBefore(x), -86400) &&
		  X509_gmtime_adj(X509_getm_notAfter(x), 25L * 365 * 86400) && X509_set_pubkey(x, key);
	if (ok && ca)
		ok = !add_ext_v3(x, issuer ? issuer : x, NID_basic_constraints, "critical,CA:TRUE") &&
		     !add_ext_v3(x, issuer ? issuer : x, NID_key_usage, "critical,keyCertSign,cRLSign");
	if (ok)
		ok = EVP_DigestSignInit(md, &pctx, EVP_sha384(), NULL, issuer_key) > 0 &&
		     EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
		     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 48) > 0 &&
		     EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha384()) > 0 && X509_sign_ctx(x, md) > 0;
	EVP_MD_CTX_free(md);
	BN_free(bn);
	ASN1_INTEGER_free(serial);
	X509_NAME_free(name);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static int pem_cert(X509 *x, struct vg_buf *out)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;
	int rc = b && PEM_write_bio_X509(b, x) && (n = BIO_get_mem_data(b, &p)) > 0 ? vg_buf_append(out, p, (size_t)n)
										     : -EIO;
	BIO_free(b);
	return rc;
}

static int pem_key(EVP_PKEY *k, struct vg_buf *out)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;
	int rc = b && PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) && (n = BIO_get_mem_data(b, &p)) > 0
			 ? vg_buf_append(out, p, (size_t)n)
			 : -EIO;
	BIO_free(b);
	return rc;
}

static int write_buf(const char *dir, const char *name, struct vg_buf *b, mode_t mode, struct vg_err *err)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return vg_write_file_atomic(path, b->data, b->len, mode, err);
}

/* Milan/Genoa TCB_VERSION: bl byte 0, tee byte 1, snp byte 6, ucode byte 7. */
static uint64_t tcb_raw(uint8_t bl, uint8_t tee, uint8_t snp, uint8_t ucode)
{
	return (uint64_t)bl | (uint64_t)tee << 8 | (uint64_t)snp << 48 | (uint64_t)ucode << 56;
}

static int generate(const char *dir, struct vg_err *err)
{
	int rc = -EIO;
	EVP_PKEY *ark_k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
	EVP_PKEY *ask_k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
	EVP_PKEY *vcek_k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	X509 *ark = NULL, *ask = NULL, *vcek = NULL;
	struct vg_buf b = { 0 };
	uint8_t chip_id[64];
	char cn[64];
	if (!ark_k || !ask_k || !vcek_k) {
		rc = ossl_err(err, "sim-snp: key generation");
		goto out;
	}
	if (RAND_bytes(chip_id, sizeof(chip_id)) != 1) {
		rc = ossl_err(err, "sim-snp: random chip id");
		goto out;
	}
	snprintf(cn, sizeof(cn), "ARK-%s", SEV_SIM_SNP_PRODUCT);
	ark = make_cert(cn, ark_k, NULL, ark_k, true);
	snprintf(cn, sizeof(cn), "SEV-%s", SEV_SIM_SNP_PRODUCT);
	ask = ark ? make_cert(cn, ask_k, ark, ark_k, true) : NULL;
	/* The VCEK certificate: built by hand so its AMD extensions go in before signing. */
	vcek = X509_new();
	X509_NAME *vn = sim_name("SEV-VCEK");
	ASN1_INTEGER *serial = ASN1_INTEGER_new();
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	bool ok = ask && vcek && vn && serial && md && ASN1_INTEGER_set(serial, 0) /* AMD uses serial 0 */ &&
		  X509_set_version(vcek, X509_VERSION_3) && X509_set_serialNumber(vcek, serial) &&
		  X509_set_subject_name(vcek, vn) && X509_set_issuer_name(vcek, X509_get_subject_name(ask)) &&
		  X509_gmtime_adj(X509_getm_notBefore(vcek), -86400) &&
		  X509_gmtime_adj(X509_getm_notAfter(vcek), 7L * 365 * 86400) && X509_set_pubkey(vcek, vcek_k) &&
		  !add_ext_ia5(vcek, AMD_OID "2", SEV_SIM_SNP_PRODUCT) &&
		  !add_ext_int(vcek, AMD_OID "3.1", SEV_SIM_SNP_TCB_BL) &&
		  !add_ext_int(vcek, AMD_OID "3.2", SEV_SIM_SNP_TCB_TEE) &&
		  !add_ext_int(vcek, AMD_OID "3.3", SEV_SIM_SNP_TCB_SNP) &&
		  !add_ext_int(vcek, AMD_OID "3.4", 0) && !add_ext_int(vcek, AMD_OID "3.5", 0) &&
		  !add_ext_int(vcek, AMD_OID "3.6", 0) && !add_ext_int(vcek, AMD_OID "3.7", 0) &&
		  !add_ext_int(vcek, AMD_OID "3.8", SEV_SIM_SNP_TCB_UCODE) &&
		  !add_ext_der(vcek, AMD_OID "4", chip_id, sizeof(chip_id)) &&
		  EVP_DigestSignInit(md, &pctx, EVP_sha384(), NULL, ask_k) > 0 &&
		  EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
		  EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 48) > 0 && EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha384()) > 0 &&
		  X509_sign_ctx(vcek, md) > 0;
	EVP_MD_CTX_free(md);
	ASN1_INTEGER_free(serial);
	X509_NAME_free(vn);
	if (!ok) {
		rc = ossl_err(err, "sim-snp: certificate generation");
		goto out;
	}
	if ((rc = pem_key(vcek_k, &b)) || (rc = write_buf(dir, "vcek.key", &b, 0600, err)))
		goto out;
	vg_buf_free_secret(&b);
	if ((rc = pem_cert(ark, &b)) || (rc = write_buf(dir, "ark.pem", &b, 0644, err)))
		goto out;
	b.len = 0;
	if ((rc = pem_cert(ask, &b)) || (rc = write_buf(dir, "ask.pem", &b, 0644, err)))
		goto out;
	if ((rc = pem_cert(ark, &b)) || (rc = write_buf(dir, "cert_chain.pem", &b, 0644, err)))
		goto out;
	b.len = 0;
	if ((rc = pem_cert(vcek, &b)) || (rc = write_buf(dir, "vcek.pem", &b, 0644, err)))
		goto out;
	b.len = 0;
	char hex[129];
	vg_hex_encode(chip_id, sizeof(chip_id), hex);
	uint64_t tcb = tcb_raw(SEV_SIM_SNP_TCB_BL, SEV_SIM_SNP_TCB_TEE, SEV_SIM_SNP_TCB_SNP, SEV_SIM_SNP_TCB_UCODE);
	if ((rc = vg_buf_printf(&b, "chip_id=%s\ntcb=%016llx\n", hex, (unsigned long long)tcb)) ||
	    (rc = write_buf(dir, "platform", &b, 0644, err)))
		goto out;
	rc = 0;
out:
	if (rc == -EIO && !err->msg[0])
		vg_err_set(err, EIO, "sim-snp: cannot write the simulated platform's state");
	vg_buf_free_secret(&b);
	X509_free(ark);
	X509_free(ask);
	X509_free(vcek);
	EVP_PKEY_free(ark_k);
	EVP_PKEY_free(ask_k);
	EVP_PKEY_free(vcek_k);
	return rc;
}

static int load(struct sev_sim_snp *s, struct vg_err *err)
{
	char path[4096 + 32];
	uint8_t *data = NULL;
	size_t len = 0;
	snprintf(path, sizeof(path), "%s/vcek.key", s->dir);
	int rc = vg_read_file(path, 1 << 16, &data, &len, err);
	if (rc)
		return rc;
	BIO *b = BIO_new_mem_buf(data, (int)len);
	s->vcek = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	vg_secure_zero(data, len);
	free(data);
	if (!s->vcek || EVP_PKEY_get_base_id(s->vcek) != EVP_PKEY_EC || EVP_PKEY_get_bits(s->vcek) != 384)
		return vg_err_set(err, EBADMSG, "%s: not an ECDSA P-384 private key", path);
	snprintf(path, sizeof(path), "%s/platform", s->dir);
	if ((rc = vg_read_file(path, 4096, &data, &len, err)))
		return rc;
	char text[512] = { 0 };
	memcpy(text, data, VG_MIN(len, sizeof(text) - 1));
	free(data);
	char hex[129] = { 0 };
	unsigned long long tcb = 0;
	if (sscanf(text, "chip_id=%128[0-9a-f]\ntcb=%16llx", hex, &tcb) != 2 ||
	    vg_hex_decode(hex, s->chip_id, sizeof(s->chip_id), err))
		return vg_err_set(err, EBADMSG, "%s: malformed (expected chip_id= and tcb= lines)", path);
	s->tcb = tcb;
	return 0;
}

int sev_sim_snp_open(const char *state_dir, struct sev_sim_snp **out, struct vg_err *err)
{
	*out = NULL;
	struct sev_sim_snp *s = calloc(1, sizeof(*s));
	if (!s)
		return vg_err_set(err, ENOMEM, "out of memory");
	snprintf(s->dir, sizeof(s->dir), "%s/sim-snp", state_dir);
	int rc;
	struct stat st;
	if (stat(s->dir, &st) != 0) {
		/* First use: generate into a private temporary directory, then rename it into
		 * place, so a crash or a concurrent VMM never leaves half a platform. */
		char tmp[sizeof(s->dir) + 16];
		snprintf(tmp, sizeof(tmp), "%s/.sim-snp.XXXXXX", state_dir);
		if (mkdir(state_dir, 0700) != 0 && errno != EEXIST) {
			rc = vg_err_set(err, errno, "sim-snp: cannot create state directory %s: %s", state_dir,
					strerror(errno));
			goto fail;
		}
		if (!mkdtemp(tmp)) {
			rc = vg_err_set(err, errno, "sim-snp: cannot create %s: %s", tmp, strerror(errno));
			goto fail;
		}
		vg_info("sim-snp: generating the SIMULATED AMD ARK, ASK and VCEK in %s", s->dir);
		rc = generate(tmp, err);
		if (!rc && rename(tmp, s->dir) != 0 && errno != ENOTEMPTY && errno != EEXIST)
			rc = vg_err_set(err, errno, "sim-snp: cannot rename %s: %s", tmp, strerror(errno));
		if (rc || access(tmp, F_OK) == 0) { /* failed, or another VMM won the race */
			static const char *const names[] = { "vcek.key", "ark.pem", "ask.pem", "cert_chain.pem",
							     "vcek.pem", "platform" };
			char p[sizeof(tmp) + 32];
			for (size_t i = 0; i < VG_ARRAY_SIZE(names); i++) {
				snprintf(p, sizeof(p), "%s/%s", tmp, names[i]);
				unlink(p);
			}
			rmdir(tmp);
		}
		if (rc)
			goto fail;
	}
	if ((rc = load(s, err)))
		goto fail;
	*out = s;
	return 0;
fail:
	sev_sim_snp_free(s);
	return rc;
}

void sev_sim_snp_free(struct sev_sim_snp *s)
{
	if (!s)
		return;
	EVP_PKEY_free(s->vcek);
	for (unsigned i = 0; i < s->pool_n; i++) {
		BN_clear_free(s->pool[i].kinv);
		BN_free(s->pool[i].r);
	}
	vg_secure_zero(s, sizeof(*s));
	free(s);
}

const char *sev_sim_snp_dir(const struct sev_sim_snp *s) { return s->dir; }
