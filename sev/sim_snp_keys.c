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

static int add_ext_int(X509 *x, const char *oid, long v)
{
	ASN1_INTEGER *i = ASN1_INTEGER_new();
	unsigned char *der = NULL;
	int len = i && ASN1_INTEGER_set(i, v) ? i2d_ASN1_INTEGER(i, &der) : -1;
	int rc = len > 0 ? vg_x509_ext_der(x, oid, der, len) : -1;
	OPENSSL_free(der);
	ASN1_INTEGER_free(i);
	return rc;
}

static int add_ext_ia5(X509 *x, const char *oid, const char *s)
{
	ASN1_IA5STRING *a = ASN1_IA5STRING_new();
	unsigned char *der = NULL;
	int len = a && ASN1_STRING_set(a, s, (int)strlen(s)) ? i2d_ASN1_IA5STRING(a, &der) : -1;
	int rc = len > 0 ? vg_x509_ext_der(x, oid, der, len) : -1;
	OPENSSL_free(der);
	ASN1_IA5STRING_free(a);
	return rc;
}

static X509_NAME *sim_name(const char *cn)
{
	const char *const pairs[] = {"C", "US", "O", "Vigil SIMULATED AMD-SP (not Advanced Micro Devices)",
				     "OU", "SIMULATED", "CN", cn, NULL};
	return vg_x509_name(pairs);
}

/* Signs like AMD: RSA-PSS, SHA-384, salt 48, MGF1 SHA-384. */
static bool sign_pss(X509 *x, EVP_PKEY *issuer_key)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	bool ok = md && EVP_DigestSignInit(md, &pctx, EVP_sha384(), NULL, issuer_key) > 0 &&
		  EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
		  EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 48) > 0 && EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha384()) > 0 &&
		  X509_sign_ctx(x, md) > 0;
	EVP_MD_CTX_free(md);
	return ok;
}

/* An ARK (issuer NULL) or ASK certificate for `key` named `cn`. */
static X509 *make_ca_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key)
{
	X509_NAME *name = sim_name(cn);
	X509 *x = name ? vg_x509_new(name, key, issuer, -86400, 25L * 365) : NULL;
	X509_NAME_free(name);
	if (x && !vg_x509_ext(x, issuer, NID_basic_constraints, "critical,CA:TRUE") &&
	    !vg_x509_ext(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign") && sign_pss(x, issuer_key))
		return x;
	X509_free(x);
	return NULL;
}

static int put_pem(const char *dir, const char *name, X509 *x, EVP_PKEY *k, mode_t mode, struct vg_err *err)
{
	struct vg_buf b = {0};
	int rc = x ? vg_pem_append_cert(&b, x) : vg_pem_append_key(&b, k);
	if (!rc)
		rc = vg_state_put(dir, name, b.data, b.len, mode, err);
	vg_buf_free_secret(&b);
	return rc;
}

/* Milan/Genoa TCB_VERSION: bl byte 0, tee byte 1, snp byte 6, ucode byte 7. */
static uint64_t tcb_raw(uint8_t bl, uint8_t tee, uint8_t snp, uint8_t ucode)
{
	return (uint64_t)bl | (uint64_t)tee << 8 | (uint64_t)snp << 48 | (uint64_t)ucode << 56;
}

static int generate(const char *dir, void *arg, struct vg_err *err)
{
	(void)arg;
	int rc = -EIO;
	EVP_PKEY *ark_k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
	EVP_PKEY *ask_k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
	EVP_PKEY *vcek_k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	X509 *ark = NULL, *ask = NULL, *vcek = NULL;
	struct vg_buf b = { 0 };
	uint8_t chip_id[64];
	char cn[64];
	vg_info("sim-snp: generating the SIMULATED AMD ARK, ASK and VCEK");
	if (!ark_k || !ask_k || !vcek_k) {
		rc = vg_ossl_error(err, "sim-snp: key generation");
		goto out;
	}
	if (RAND_bytes(chip_id, sizeof(chip_id)) != 1) {
		rc = vg_ossl_error(err, "sim-snp: random chip id");
		goto out;
	}
	snprintf(cn, sizeof(cn), "ARK-%s", SEV_SIM_SNP_PRODUCT);
	ark = make_ca_cert(cn, ark_k, NULL, ark_k);
	snprintf(cn, sizeof(cn), "SEV-%s", SEV_SIM_SNP_PRODUCT);
	ask = ark ? make_ca_cert(cn, ask_k, ark, ark_k) : NULL;
	/* The VCEK certificate: AMD's extensions go in before signing. */
	X509_NAME *vn = sim_name("SEV-VCEK");
	vcek = ask && vn ? vg_x509_new(vn, vcek_k, ask, -86400, 7L * 365) : NULL;
	X509_NAME_free(vn);
	bool ok = vcek && ASN1_INTEGER_set(X509_get_serialNumber(vcek), 0) /* AMD uses serial 0 */ &&
		  !add_ext_ia5(vcek, AMD_OID "2", SEV_SIM_SNP_PRODUCT) &&
		  !add_ext_int(vcek, AMD_OID "3.1", SEV_SIM_SNP_TCB_BL) &&
		  !add_ext_int(vcek, AMD_OID "3.2", SEV_SIM_SNP_TCB_TEE) &&
		  !add_ext_int(vcek, AMD_OID "3.3", SEV_SIM_SNP_TCB_SNP) &&
		  !add_ext_int(vcek, AMD_OID "3.4", 0) && !add_ext_int(vcek, AMD_OID "3.5", 0) &&
		  !add_ext_int(vcek, AMD_OID "3.6", 0) && !add_ext_int(vcek, AMD_OID "3.7", 0) &&
		  !add_ext_int(vcek, AMD_OID "3.8", SEV_SIM_SNP_TCB_UCODE) &&
		  !vg_x509_ext_der(vcek, AMD_OID "4", chip_id, sizeof(chip_id)) && sign_pss(vcek, ask_k);
	if (!ok) {
		rc = vg_ossl_error(err, "sim-snp: certificate generation");
		goto out;
	}
	if ((rc = put_pem(dir, "vcek.key", NULL, vcek_k, 0600, err)) || (rc = put_pem(dir, "ark.pem", ark, NULL, 0644, err)) ||
	    (rc = put_pem(dir, "ask.pem", ask, NULL, 0644, err)) || (rc = put_pem(dir, "vcek.pem", vcek, NULL, 0644, err)))
		goto out;
	if ((rc = vg_pem_append_cert(&b, ask)) || (rc = vg_pem_append_cert(&b, ark)) ||
	    (rc = vg_state_put(dir, "cert_chain.pem", b.data, b.len, 0644, err)))
		goto out;
	b.len = 0;
	char hex[129];
	vg_hex_encode(chip_id, sizeof(chip_id), hex);
	uint64_t tcb = tcb_raw(SEV_SIM_SNP_TCB_BL, SEV_SIM_SNP_TCB_TEE, SEV_SIM_SNP_TCB_SNP, SEV_SIM_SNP_TCB_UCODE);
	if ((rc = vg_buf_printf(&b, "chip_id=%s\ntcb=%016llx\n", hex, (unsigned long long)tcb)) ||
	    (rc = vg_state_put(dir, "platform", b.data, b.len, 0644, err)))
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
	int rc;
	if (!(s->vcek = vg_pem_read_key(s->dir, "vcek.key", 384, err)))
		return -EBADMSG;
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
	int rc = vg_state_generate_once(state_dir, "sim-snp", generate, NULL, NULL, err);
	if (rc) {
		vg_err_prefix(err, "sim-snp");
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
	vg_secure_zero(s, sizeof(*s));
	free(s);
}

const char *sev_sim_snp_dir(const struct sev_sim_snp *s) { return s->dir; }
