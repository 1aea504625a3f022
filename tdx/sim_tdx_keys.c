/*
 * sim-tdx: the simulated TDX platform's identity, generated once into a state
 * directory and reused. Like Intel's DCAP stack, all ECDSA P-256 with SHA-256:
 *   root CA (self-signed) -> PCK Platform CA -> PCK certificate (SGX extensions:
 *   PPID, TCB components, PCESVN, CPUSVN, PCE-ID, FMSPC, SGX type)
 * and the quoting enclave's attestation key. Every subject says SIMULATED; keys are
 * stored unencrypted with mode 0600 (nothing real trusts them).
 *
 *   DIR/sim-tdx/root.pem        the simulated root (vigil verify --trust-sim-root)
 *   DIR/sim-tdx/pck_chain.pem   PCK, Platform CA, root: carried in every quote
 *   DIR/sim-tdx/pck.key ak.key  PCK key (signs QE reports), attestation key (signs quotes)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/conf.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "tdx/sim_tdx_priv.h"

#define SGX_OID "1.2.840.113741.1.13.1"

static int ossl_fail(struct vg_err *err, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256];
	ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return vg_err_set(err, EIO, "sim-tdx: %s: %s", what, e ? buf : "OpenSSL failure");
}

/* The SGX extension (Intel PCK Certificate and CRL Profile, 1.3), built by OpenSSL's
 * ASN1_generate_nconf from a description, not by hand. */
static int sgx_ext_der(unsigned char **der, int *len)
{
	char hex_ppid[33], hex_cpusvn[33], hex_fmspc[13], hex_pceid[5];
	vg_hex_encode(TDX_SIM_PPID, 16, hex_ppid);
	vg_hex_encode(TDX_SIM_CPUSVN, 16, hex_cpusvn);
	vg_hex_encode(TDX_SIM_FMSPC, 6, hex_fmspc);
	vg_hex_encode(TDX_SIM_PCEID, 2, hex_pceid);
	struct vg_buf b = { 0 };
	int rc = vg_buf_printf(&b,
			       "[sgx]\nppid=SEQUENCE:ppid\ntcb=SEQUENCE:tcb\npceid=SEQUENCE:pceid\n"
			       "fmspc=SEQUENCE:fmspc\ntype=SEQUENCE:type\n"
			       "[ppid]\noid=OID:" SGX_OID ".1\nv=FORMAT:HEX,OCTETSTRING:%s\n"
			       "[pceid]\noid=OID:" SGX_OID ".3\nv=FORMAT:HEX,OCTETSTRING:%s\n"
			       "[fmspc]\noid=OID:" SGX_OID ".4\nv=FORMAT:HEX,OCTETSTRING:%s\n"
			       "[type]\noid=OID:" SGX_OID ".5\nv=ENUMERATED:0\n"
			       "[tcb]\noid=OID:" SGX_OID ".2\nv=SEQUENCE:comps\n[comps]\n",
			       hex_ppid, hex_pceid, hex_fmspc);
	for (int i = 1; i <= 18 && !rc; i++)
		rc = vg_buf_printf(&b, "c%d=SEQUENCE:c%d\n", i, i);
	for (int i = 1; i <= 18 && !rc; i++) {
		if (i <= 16)
			rc = vg_buf_printf(&b, "[c%d]\noid=OID:" SGX_OID ".2.%d\nv=INTEGER:%d\n", i, i,
					   TDX_SIM_CPUSVN[i - 1]);
		else if (i == 17)
			rc = vg_buf_printf(&b, "[c17]\noid=OID:" SGX_OID ".2.17\nv=INTEGER:%d\n", TDX_SIM_PCESVN);
		else
			rc = vg_buf_printf(&b, "[c18]\noid=OID:" SGX_OID ".2.18\nv=FORMAT:HEX,OCTETSTRING:%s\n",
					   hex_cpusvn);
	}
	if (rc) {
		vg_buf_free(&b);
		return -1;
	}
	CONF *cnf = NCONF_new(NULL);
	BIO *bio = BIO_new_mem_buf(b.data, (int)b.len);
	long eline = 0;
	ASN1_TYPE *t = NULL;
	*der = NULL;
	*len = -1;
	if (cnf && bio && NCONF_load_bio(cnf, bio, &eline) > 0 && (t = ASN1_generate_nconf("SEQUENCE:sgx", cnf)))
		*len = i2d_ASN1_TYPE(t, der);
	ASN1_TYPE_free(t);
	BIO_free(bio);
	NCONF_free(cnf);
	vg_buf_free(&b);
	return *len > 0 ? 0 : -1;
}

static X509_NAME *sim_name(const char *cn)
{
	X509_NAME *n = X509_NAME_new();
	if (n && X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0) &&
	    X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
				       (const unsigned char *)"Vigil SIMULATED TDX platform (not Intel Corporation)", -1,
				       -1, 0) &&
	    X509_NAME_add_entry_by_txt(n, "OU", MBSTRING_ASC, (const unsigned char *)"SIMULATED", -1, -1, 0) &&
	    X509_NAME_add_entry_by_txt(n, "C", MBSTRING_ASC, (const unsigned char *)"US", -1, -1, 0))
		return n;
	X509_NAME_free(n);
	return NULL;
}

static int add_v3(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	int ok = e && X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok ? 0 : -1;
}

static X509 *make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, bool ca, bool sgx_ext)
{
	X509 *x = X509_new();
	X509_NAME *name = sim_name(cn);
	BIGNUM *bn = BN_new();
	ASN1_INTEGER *serial = NULL;
	unsigned char *der = NULL;
	int der_len = 0;
	bool ok = x && name && bn && BN_rand(bn, 120, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) &&
		  (serial = BN_to_ASN1_INTEGER(bn, NULL)) && X509_set_version(x, X509_VERSION_3) &&
		  X509_set_serialNumber(x, serial) && X509_set_subject_name(x, name) &&
		  X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) &&
		  X509_gmtime_adj(X509_getm_notBefore(x), -86400) &&
		  X509_gmtime_adj(X509_getm_notAfter(x), (ca ? 25L : 7L) * 365 * 86400) && X509_set_pubkey(x, key);
	if (ok && ca)
		ok = !add_v3(x, issuer ? issuer : x, NID_basic_constraints, "critical,CA:TRUE,pathlen:1") &&
		     !add_v3(x, issuer ? issuer : x, NID_key_usage, "critical,keyCertSign,cRLSign");
	if (ok && !ca)
		ok = !add_v3(x, issuer, NID_basic_constraints, "critical,CA:FALSE") &&
		     !add_v3(x, issuer, NID_key_usage, "critical,digitalSignature,nonRepudiation");
	if (ok && sgx_ext) {
		ASN1_OBJECT *obj = OBJ_txt2obj(SGX_OID, 1);
		ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
		X509_EXTENSION *e = NULL;
		ok = obj && os && !sgx_ext_der(&der, &der_len) && ASN1_OCTET_STRING_set(os, der, der_len) &&
		     (e = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os)) && X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
		ASN1_OCTET_STRING_free(os);
		ASN1_OBJECT_free(obj);
	}
	if (ok)
		ok = X509_sign(x, issuer_key, EVP_sha256()) > 0;
	OPENSSL_free(der);
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	X509_NAME_free(name);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static int append_pem(struct vg_buf *out, X509 *x, EVP_PKEY *k)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;
	int ok = b && (x ? PEM_write_bio_X509(b, x) : PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL)) &&
		 (n = BIO_get_mem_data(b, &p)) > 0 && !vg_buf_append(out, p, (size_t)n);
	BIO_free(b);
	return ok ? 0 : -EIO;
}

static int put(const char *dir, const char *name, struct vg_buf *b, mode_t mode, struct vg_err *err)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int rc = vg_write_file_atomic(path, b->data, b->len, mode, err);
	vg_buf_free_secret(b);
	return rc;
}

static int generate(const char *dir, struct vg_err *err)
{
	int rc = -EIO;
	EVP_PKEY *root_k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *plat_k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *pck_k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *ak = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *root = NULL, *plat = NULL, *pck = NULL;
	struct vg_buf b = { 0 };
	if (!root_k || !plat_k || !pck_k || !ak) {
		rc = ossl_fail(err, "key generation");
		goto out;
	}
	root = make_cert("Intel SGX Root CA (SIMULATED)", root_k, NULL, root_k, true, false);
	plat = root ? make_cert("Intel SGX PCK Platform CA (SIMULATED)", plat_k, root, root_k, true, false) : NULL;
	pck = plat ? make_cert("Intel SGX PCK Certificate (SIMULATED)", pck_k, plat, plat_k, false, true) : NULL;
	if (!pck) {
		rc = ossl_fail(err, "certificate generation");
		goto out;
	}
	if ((rc = append_pem(&b, NULL, pck_k)) || (rc = put(dir, "pck.key", &b, 0600, err)) ||
	    (rc = append_pem(&b, NULL, ak)) || (rc = put(dir, "ak.key", &b, 0600, err)) ||
	    (rc = append_pem(&b, root, NULL)) || (rc = put(dir, "root.pem", &b, 0644, err)) ||
	    (rc = append_pem(&b, pck, NULL)) || (rc = append_pem(&b, plat, NULL)) || (rc = append_pem(&b, root, NULL)) ||
	    (rc = put(dir, "pck_chain.pem", &b, 0644, err)))
		goto out;
	rc = 0;
out:
	if (rc && !err->msg[0])
		vg_err_set(err, EIO, "sim-tdx: cannot write the simulated platform's state");
	vg_buf_free_secret(&b);
	X509_free(root);
	X509_free(plat);
	X509_free(pck);
	EVP_PKEY_free(root_k);
	EVP_PKEY_free(plat_k);
	EVP_PKEY_free(pck_k);
	EVP_PKEY_free(ak);
	return rc;
}

static EVP_PKEY *load_key(const char *dir, const char *name, struct vg_err *err)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
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
	if (!k || EVP_PKEY_get_base_id(k) != EVP_PKEY_EC || EVP_PKEY_get_bits(k) != 256) {
		EVP_PKEY_free(k);
		vg_err_set(err, EBADMSG, "%s: not an ECDSA P-256 private key", path);
		return NULL;
	}
	return k;
}

int tdx_sim_open(const char *state_dir, struct tdx_sim **out, struct vg_err *err)
{
	*out = NULL;
	struct tdx_sim *s = calloc(1, sizeof(*s));
	if (!s)
		return vg_err_set(err, ENOMEM, "out of memory");
	snprintf(s->dir, sizeof(s->dir), "%s/sim-tdx", state_dir);
	int rc = 0;
	struct stat st;
	if (stat(s->dir, &st) != 0) {
		char tmp[sizeof(s->dir) + 16];
		snprintf(tmp, sizeof(tmp), "%s/.sim-tdx.XXXXXX", state_dir);
		if (mkdir(state_dir, 0700) != 0 && errno != EEXIST) {
			rc = vg_err_set(err, errno, "sim-tdx: cannot create state directory %s: %s", state_dir,
					strerror(errno));
			goto fail;
		}
		if (!mkdtemp(tmp)) {
			rc = vg_err_set(err, errno, "sim-tdx: cannot create %s: %s", tmp, strerror(errno));
			goto fail;
		}
		vg_info("sim-tdx: generating the SIMULATED PCK chain and attestation key in %s", s->dir);
		rc = generate(tmp, err);
		if (!rc && rename(tmp, s->dir) != 0 && errno != ENOTEMPTY && errno != EEXIST)
			rc = vg_err_set(err, errno, "sim-tdx: cannot rename %s: %s", tmp, strerror(errno));
		if (rc || access(tmp, F_OK) == 0) {
			static const char *const names[] = { "pck.key", "ak.key", "root.pem", "pck_chain.pem" };
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
	char path[4200];
	snprintf(path, sizeof(path), "%s/pck_chain.pem", s->dir);
	if (!(s->pck = load_key(s->dir, "pck.key", err)) || !(s->ak = load_key(s->dir, "ak.key", err)) ||
	    vg_read_file(path, 1 << 16, &s->chain, &s->chain_len, err)) {
		rc = -EBADMSG;
		goto fail;
	}
	*out = s;
	return 0;
fail:
	tdx_sim_free(s);
	return rc;
}

void tdx_sim_free(struct tdx_sim *s)
{
	if (!s)
		return;
	EVP_PKEY_free(s->pck);
	EVP_PKEY_free(s->ak);
	for (unsigned i = 0; i < s->pool_n; i++) {
		BN_clear_free(s->pool[i].kinv);
		BN_free(s->pool[i].r);
	}
	free(s->chain);
	vg_secure_zero(s, sizeof(*s));
	free(s);
}

const char *tdx_sim_dir(const struct tdx_sim *s) { return s->dir; }
