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
	const char *const pairs[] = {"CN", cn, "O", "Vigil SIMULATED TDX platform (not Intel Corporation)",
				     "OU", "SIMULATED", "C", "US", NULL};
	return vg_x509_name(pairs);
}

/* ECDSA P-256 / SHA-256 certificates: CAs (root when issuer is NULL) or the
 * PCK leaf with Intel's SGX extension. */
static X509 *make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, bool ca, bool sgx_ext)
{
	X509_NAME *name = sim_name(cn);
	X509 *x = name ? vg_x509_new(name, key, issuer, -86400, (ca ? 25L : 7L) * 365) : NULL;
	unsigned char *der = NULL;
	int der_len = 0;
	X509_NAME_free(name);
	bool ok = x != NULL;
	if (ok && ca)
		ok = !vg_x509_ext(x, issuer, NID_basic_constraints, "critical,CA:TRUE,pathlen:1") &&
		     !vg_x509_ext(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
	if (ok && !ca)
		ok = !vg_x509_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE") &&
		     !vg_x509_ext(x, issuer, NID_key_usage, "critical,digitalSignature,nonRepudiation");
	if (ok && sgx_ext)
		ok = !sgx_ext_der(&der, &der_len) && !vg_x509_ext_der(x, SGX_OID, der, der_len);
	ok = ok && X509_sign(x, issuer_key, EVP_sha256()) > 0;
	OPENSSL_free(der);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static int put(const char *dir, const char *name, struct vg_buf *b, mode_t mode, struct vg_err *err)
{
	int rc = vg_state_put(dir, name, b->data, b->len, mode, err);
	vg_buf_free_secret(b);
	return rc;
}

static int generate(const char *dir, void *arg, struct vg_err *err)
{
	(void)arg;
	int rc = -EIO;
	EVP_PKEY *root_k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *plat_k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *pck_k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *ak = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *root = NULL, *plat = NULL, *pck = NULL;
	struct vg_buf b = { 0 };
	if (!root_k || !plat_k || !pck_k || !ak) {
		rc = vg_ossl_error(err, "sim-tdx: key generation");
		goto out;
	}
	root = make_cert("Intel SGX Root CA (SIMULATED)", root_k, NULL, root_k, true, false);
	plat = root ? make_cert("Intel SGX PCK Platform CA (SIMULATED)", plat_k, root, root_k, true, false) : NULL;
	pck = plat ? make_cert("Intel SGX PCK Certificate (SIMULATED)", pck_k, plat, plat_k, false, true) : NULL;
	if (!pck) {
		rc = vg_ossl_error(err, "sim-tdx: certificate generation");
		goto out;
	}
	vg_info("sim-tdx: generating the SIMULATED PCK chain and attestation key");
	if ((rc = vg_pem_append_key(&b, pck_k)) || (rc = put(dir, "pck.key", &b, 0600, err)) ||
	    (rc = vg_pem_append_key(&b, ak)) || (rc = put(dir, "ak.key", &b, 0600, err)) ||
	    (rc = vg_pem_append_cert(&b, root)) || (rc = put(dir, "root.pem", &b, 0644, err)) ||
	    (rc = vg_pem_append_cert(&b, pck)) || (rc = vg_pem_append_cert(&b, plat)) ||
	    (rc = vg_pem_append_cert(&b, root)) || (rc = put(dir, "pck_chain.pem", &b, 0644, err)))
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

int tdx_sim_open(const char *state_dir, struct tdx_sim **out, struct vg_err *err)
{
	*out = NULL;
	struct tdx_sim *s = calloc(1, sizeof(*s));
	if (!s)
		return vg_err_set(err, ENOMEM, "out of memory");
	snprintf(s->dir, sizeof(s->dir), "%s/sim-tdx", state_dir);
	int rc = vg_state_generate_once(state_dir, "sim-tdx", generate, NULL, NULL, err);
	if (rc)
		goto fail;
	char path[4200];
	snprintf(path, sizeof(path), "%s/pck_chain.pem", s->dir);
	if (!(s->pck = vg_pem_read_key(s->dir, "pck.key", 256, err)) || !(s->ak = vg_pem_read_key(s->dir, "ak.key", 256, err)) ||
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
	free(s->chain);
	vg_secure_zero(s, sizeof(*s));
	free(s);
}

const char *tdx_sim_dir(const struct tdx_sim *s) { return s->dir; }
