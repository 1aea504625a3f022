/*
 * EK provisioning (vtpm.h section 3), on the first start of a vTPM:
 *  - the RSA-2048 and ECC NIST P-256 EKs of the TCG EK Credential Profile
 *    2.0 (B.3.3 template L-1, B.3.4 template L-2), created with
 *    TPM2_CreatePrimary in the endorsement hierarchy;
 *  - their certificates, issued by a local vTPM CA (ca.pem/ca.key in the
 *    operator's directory, made on first use) with OpenSSL, naming the TPM
 *    (manufacturer, model, firmware version) in the subjectAltName;
 *  - stored at the TCG NV indices 0x01c00002 (RSA) and 0x01c0000a (ECC),
 *    platform-created and write-locked, readable with owner auth.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "vtpm/tpm2.h"
#include "vtpm/vtpm.h"
#include "vtpm/vtpm_priv.h"

/* fixedTPM | fixedParent | sensitiveDataOrigin | adminWithPolicy | restricted | decrypt */
#define EK_ATTRIBUTES 0x000300B2u
/* PLATFORMCREATE | AUTHREAD | OWNERREAD | PPREAD | PPWRITE | NO_DA | WRITEDEFINE */
#define EK_CERT_NV_ATTRIBUTES 0x42072001u
#define NV_CHUNK 512

/* PolicySecret(TPM_RH_ENDORSEMENT), EK Credential Profile B.3.2 */
static const uint8_t EK_POLICY[32] = {
	0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xB3, 0xF8, 0x1A, 0x90, 0xCC, 0x8D, 0x46, 0xA5, 0xD7, 0x24,
	0xFD, 0x52, 0xD7, 0x6E, 0x06, 0x52, 0x0B, 0x64, 0xF2, 0xA1, 0xDA, 0x1B, 0x33, 0x14, 0x69, 0xAA,
};

/* TPM2B_PUBLIC of the EK template (TPMT_PUBLIC behind its size). */
static void put_ek_template(struct vtpm_cmd *c, bool ecc)
{
	static const uint8_t zero[256];
	size_t at = c->b.len;
	vtpm_cmd_u16(c, 0); /* size, patched below */
	vtpm_cmd_u16(c, ecc ? TPM2_ALG_ECC : TPM2_ALG_RSA);
	vtpm_cmd_u16(c, VTPM_ALG_SHA256);
	vtpm_cmd_u32(c, EK_ATTRIBUTES);
	vtpm_cmd_2b(c, EK_POLICY, 32);
	vtpm_cmd_u16(c, TPM2_ALG_AES);
	vtpm_cmd_u16(c, 128);
	vtpm_cmd_u16(c, TPM2_ALG_CFB);
	vtpm_cmd_u16(c, TPM2_ALG_NULL);
	if (ecc) {
		vtpm_cmd_u16(c, TPM2_ECC_NIST_P256);
		vtpm_cmd_u16(c, TPM2_ALG_NULL);
		vtpm_cmd_2b(c, zero, 32);
		vtpm_cmd_2b(c, zero, 32);
	} else {
		vtpm_cmd_u16(c, 2048);
		vtpm_cmd_u32(c, 0);
		vtpm_cmd_2b(c, zero, 256);
	}
	if (!c->rc)
		vg_put_be16(c->b.data + at, (uint16_t)(c->b.len - at - 2));
}

/* Skips TPMT_SYM_DEF_OBJECT or a scheme: alg, and details unless NULL. */
static void skip_alg_details(struct vg_reader *r, bool sym)
{
	uint16_t alg = TPM2_ALG_NULL;
	vg_rd_be16(r, &alg);
	if (alg != TPM2_ALG_NULL)
		vg_rd_skip(r, sym ? 4 : 2);
}

/* Creates the EK and returns its public key. */
static int create_ek(struct vtpm *t, bool ecc, EVP_PKEY **out, struct vg_err *err)
{
	struct vtpm_cmd c;
	uint8_t rsp[VTPM_MAX_CMD];
	size_t rlen = 0;
	int rc;
	vtpm_cmd_begin(&c, TPM2_ST_SESSIONS, TPM2_CC_CREATE_PRIMARY);
	vtpm_cmd_u32(&c, TPM2_RH_ENDORSEMENT);
	vtpm_cmd_pw_session(&c);
	vtpm_cmd_u16(&c, 4); /* inSensitive: empty userAuth and data */
	vtpm_cmd_u16(&c, 0);
	vtpm_cmd_u16(&c, 0);
	put_ek_template(&c, ecc);
	vtpm_cmd_u16(&c, 0); /* outsideInfo */
	vtpm_cmd_u32(&c, 0); /* creationPCR */
	if ((rc = vtpm_cmd_run(t, &c, ecc ? "TPM2_CreatePrimary(ECC EK)" : "TPM2_CreatePrimary(RSA EK)", rsp,
			       sizeof(rsp), &rlen, NULL, err)))
		return rc;

	struct vg_reader r;
	uint32_t handle = 0, attrs = 0;
	uint16_t type = 0, name_alg = 0, pol = 0, a = 0, bsz = 0, keybits = 0, curve = 0;
	uint32_t exponent = 0;
	const uint8_t *pa = NULL, *pb = NULL;
	vg_rd_init(&r, rsp, rlen);
	vg_rd_skip(&r, TPM2_HEADER_SIZE);
	vg_rd_be32(&r, &handle);
	vg_rd_skip(&r, 4 + 2); /* parameterSize, TPM2B_PUBLIC size */
	vg_rd_be16(&r, &type);
	vg_rd_be16(&r, &name_alg);
	vg_rd_be32(&r, &attrs);
	vg_rd_be16(&r, &pol);
	vg_rd_skip(&r, pol);
	skip_alg_details(&r, true);
	skip_alg_details(&r, false);
	if (ecc) {
		vg_rd_be16(&r, &curve);
		skip_alg_details(&r, false);
		vg_rd_be16(&r, &a);
		vg_rd_ptr(&r, a, &pa);
		vg_rd_be16(&r, &bsz);
		vg_rd_ptr(&r, bsz, &pb);
	} else {
		vg_rd_be16(&r, &keybits);
		vg_rd_be32(&r, &exponent);
		vg_rd_be16(&r, &a);
		vg_rd_ptr(&r, a, &pa);
	}

	/* flush the transient object either way */
	struct vtpm_cmd f;
	uint8_t frsp[64];
	size_t flen;
	vtpm_cmd_begin(&f, TPM2_ST_NO_SESSIONS, TPM2_CC_FLUSH_CONTEXT);
	vtpm_cmd_u32(&f, handle);
	vtpm_cmd_run(t, &f, "TPM2_FlushContext", frsp, sizeof(frsp), &flen, NULL, NULL);

	if (!vg_rd_ok(&r) || type != (ecc ? TPM2_ALG_ECC : TPM2_ALG_RSA) || (ecc && (curve != TPM2_ECC_NIST_P256 ||
	    a != 32 || bsz != 32)) || (!ecc && (keybits != 2048 || a != 256)))
		return vg_err_set(err, EBADMSG, "TPM2_CreatePrimary: unexpected EK public area");

	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, ecc ? "EC" : "RSA", NULL);
	OSSL_PARAM *params = NULL;
	BIGNUM *n = NULL, *e = NULL;
	uint8_t point[65];
	int ok = bld && ctx;
	if (ok && ecc) {
		point[0] = 0x04;
		memcpy(point + 1, pa, 32);
		memcpy(point + 33, pb, 32);
		ok = OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) &&
		     OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point));
	} else if (ok) {
		n = BN_bin2bn(pa, 256, NULL);
		e = BN_new();
		ok = n && e && BN_set_word(e, exponent ? exponent : 65537) &&
		     OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
		     OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e);
	}
	ok = ok && (params = OSSL_PARAM_BLD_to_param(bld)) && EVP_PKEY_fromdata_init(ctx) == 1 &&
	     EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) == 1;
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	BN_free(n);
	BN_free(e);
	return ok ? 0 : vg_err_set(err, EIO, "OpenSSL: cannot import the EK public key");
}

static X509 *new_cert(X509 *issuer, EVP_PKEY *pub, const char *cn, long days)
{
	const char *const pairs[] = {"O", "Vigil", "CN", cn, NULL};
	X509_NAME *name = vg_x509_name(pairs);
	X509 *c = name ? vg_x509_new(name, pub, issuer, 0, days) : NULL;
	X509_NAME_free(name);
	return c;
}

/* Loads ca.pem/ca.key from dir, or creates them (ECDSA P-256, 10 years). */
static int load_or_make_ca(const char *dir, X509 **ca, EVP_PKEY **key, struct vg_err *err)
{
	char cp[4096], kp[4096];
	snprintf(cp, sizeof(cp), "%s/ca.pem", dir);
	snprintf(kp, sizeof(kp), "%s/ca.key", dir);
	if (access(cp, F_OK) == 0 || access(kp, F_OK) == 0) {
		/* the key is read into a buffer that is cleansed (not stdio's) */
		uint8_t *cd = NULL;
		size_t cl = 0;
		struct vg_err ignore = {0};
		*ca = NULL;
		*key = vg_pem_read_key(dir, "ca.key", 0, &ignore);
		if (*key && !vg_read_file(cp, 1 << 16, &cd, &cl, &ignore)) {
			BIO *bc = BIO_new_mem_buf(cd, (int)cl);
			*ca = bc ? PEM_read_bio_X509(bc, NULL, NULL, NULL) : NULL;
			BIO_free(bc);
		}
		free(cd);
		if (!*ca || !*key || X509_check_private_key(*ca, *key) != 1) {
			X509_free(*ca);
			EVP_PKEY_free(*key);
			*ca = NULL;
			*key = NULL;
			return vg_err_set(err, EINVAL, "EK CA in %s: ca.pem and ca.key must both exist and match", dir);
		}
		return 0;
	}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return vg_err_set(err, errno, "EK CA directory %s: %s", dir, strerror(errno));
	*key = EVP_EC_gen("P-256");
	*ca = *key ? new_cert(NULL, *key, "Vigil vTPM EK CA (host-rooted)", 3650) : NULL;
	struct vg_buf pk = {0}, pc = {0};
	int rc = *ca && !vg_x509_ext(*ca, NULL, NID_basic_constraints, "critical,CA:TRUE") &&
			 !vg_x509_ext(*ca, NULL, NID_key_usage, "critical,keyCertSign,cRLSign") &&
			 !vg_x509_ext(*ca, NULL, NID_subject_key_identifier, "hash") &&
			 X509_sign(*ca, *key, EVP_sha256()) > 0 && !vg_pem_append_key(&pk, *key) &&
			 !vg_pem_append_cert(&pc, *ca)
		 ? 0
		 : vg_ossl_error(err, "OpenSSL: cannot create the EK CA");
	/* the key first: a ca.pem without its key is refused at the next start */
	if (!rc && !(rc = vg_state_put(dir, "ca.key", pk.data, pk.len, 0600, err)))
		rc = vg_state_put(dir, "ca.pem", pc.data, pc.len, 0644, err);
	vg_buf_free_secret(&pk); /* the CA's private key in PEM */
	vg_buf_free(&pc);
	if (rc) {
		X509_free(*ca);
		EVP_PKEY_free(*key);
		*ca = NULL;
		*key = NULL;
		return rc;
	}
	vg_info("created the vTPM EK CA in %s", dir);
	return 0;
}

/* One TPM property (TPM2_GetCapability(TPM_CAP_TPM_PROPERTIES)). */
static int tpm_property(struct vtpm *t, uint32_t prop, uint32_t *value, struct vg_err *err)
{
	struct vtpm_cmd c;
	uint8_t rsp[256];
	size_t rlen = 0;
	int rc;
	vtpm_cmd_begin(&c, TPM2_ST_NO_SESSIONS, TPM2_CC_GET_CAPABILITY);
	vtpm_cmd_u32(&c, TPM2_CAP_TPM_PROPERTIES);
	vtpm_cmd_u32(&c, prop);
	vtpm_cmd_u32(&c, 1); /* propertyCount */
	if ((rc = vtpm_cmd_run(t, &c, "TPM2_GetCapability", rsp, sizeof(rsp), &rlen, NULL, err)))
		return rc;
	struct vg_reader r;
	uint32_t cap = 0, count = 0, got = 0;
	vg_rd_init(&r, rsp, rlen);
	vg_rd_skip(&r, TPM2_HEADER_SIZE + 1); /* header, moreData */
	vg_rd_be32(&r, &cap);
	vg_rd_be32(&r, &count);
	vg_rd_be32(&r, &got);
	vg_rd_be32(&r, value);
	if (!vg_rd_ok(&r) || cap != TPM2_CAP_TPM_PROPERTIES || count < 1 || got != prop)
		return vg_err_set(err, EBADMSG, "TPM2_GetCapability: property 0x%x not returned", prop);
	return 0;
}

/* subjectAltName directoryName with the TPM's identity (EK Credential
 * Profile 3.2.9: tcg-at-tpmManufacturer, tcg-at-tpmModel, tcg-at-tpmVersion). */
static int add_tpm_san(X509 *c, uint32_t manufacturer, uint32_t fw_version)
{
	char mfr[16], ver[16];
	snprintf(mfr, sizeof(mfr), "id:%08X", manufacturer);
	snprintf(ver, sizeof(ver), "id:%08X", fw_version);
	const char *oids[3] = {"2.23.133.2.1", "2.23.133.2.2", "2.23.133.2.3"};
	const char *vals[3] = {mfr, "vigil-vtpm", ver};
	X509_NAME *dn = X509_NAME_new();
	GENERAL_NAME *gn = GENERAL_NAME_new();
	GENERAL_NAMES *gns = sk_GENERAL_NAME_new_null();
	int ok = dn && gn && gns;
	for (int i = 0; ok && i < 3; i++) {
		ASN1_OBJECT *o = OBJ_txt2obj(oids[i], 1);
		ok = o && X509_NAME_add_entry_by_OBJ(dn, o, MBSTRING_UTF8, (const unsigned char *)vals[i], -1, -1, 0);
		ASN1_OBJECT_free(o);
	}
	if (ok) {
		GENERAL_NAME_set0_value(gn, GEN_DIRNAME, dn);
		dn = NULL;
		ok = sk_GENERAL_NAME_push(gns, gn) > 0;
		if (ok)
			gn = NULL;
	}
	ok = ok && X509_add1_ext_i2d(c, NID_subject_alt_name, gns, 0, X509V3_ADD_DEFAULT) == 1;
	X509_NAME_free(dn);
	GENERAL_NAME_free(gn);
	GENERAL_NAMES_free(gns);
	return ok ? 0 : -1;
}

static int issue_ek_cert(struct vtpm *t, X509 *ca, EVP_PKEY *ca_key, EVP_PKEY *ek, bool ecc, uint8_t **der,
			 int *der_len, struct vg_err *err)
{
	uint32_t mfr = 0, fw = 0;
	int rc = tpm_property(t, TPM2_PT_MANUFACTURER, &mfr, err);
	if (rc || (rc = tpm_property(t, TPM2_PT_FIRMWARE_VERSION_1, &fw, err)))
		return rc;
	X509 *c = new_cert(ca, ek, ecc ? "Vigil vTPM EK (ECC P-256)" : "Vigil vTPM EK (RSA 2048)", 3650);
	int ok = c && add_tpm_san(c, mfr, fw) == 0 && !vg_x509_ext(c, ca, NID_basic_constraints, "critical,CA:FALSE") &&
		 !vg_x509_ext(c, ca, NID_key_usage, ecc ? "critical,keyAgreement" : "critical,keyEncipherment") &&
		 !vg_x509_ext(c, ca, NID_authority_key_identifier, "keyid") &&
		 !vg_x509_ext(c, ca, NID_ext_key_usage, "2.23.133.8.1") && /* tcg-kp-EKCertificate */
		 X509_sign(c, ca_key, EVP_sha256()) > 0;
	*der = NULL;
	*der_len = ok ? i2d_X509(c, der) : -1;
	X509_free(c);
	if (*der_len <= 0 || *der_len > 2048)
		return vg_err_set(err, EIO, "OpenSSL: cannot issue the EK certificate");
	return 0;
}

static int nv_store(struct vtpm *t, uint32_t index, const uint8_t *data, size_t len, struct vg_err *err)
{
	struct vtpm_cmd c;
	uint8_t rsp[256];
	size_t rlen;
	int rc;
	vtpm_cmd_begin(&c, TPM2_ST_SESSIONS, TPM2_CC_NV_DEFINE_SPACE);
	vtpm_cmd_u32(&c, TPM2_RH_PLATFORM);
	vtpm_cmd_pw_session(&c);
	vtpm_cmd_u16(&c, 0);  /* auth */
	vtpm_cmd_u16(&c, 14); /* TPM2B_NV_PUBLIC size */
	vtpm_cmd_u32(&c, index);
	vtpm_cmd_u16(&c, VTPM_ALG_SHA256);
	vtpm_cmd_u32(&c, EK_CERT_NV_ATTRIBUTES);
	vtpm_cmd_u16(&c, 0); /* authPolicy */
	vtpm_cmd_u16(&c, (uint16_t)len);
	if ((rc = vtpm_cmd_run(t, &c, "TPM2_NV_DefineSpace", rsp, sizeof(rsp), &rlen, NULL, err)))
		return rc;
	for (size_t off = 0; off < len; off += NV_CHUNK) {
		size_t n = VG_MIN(NV_CHUNK, len - off);
		vtpm_cmd_begin(&c, TPM2_ST_SESSIONS, TPM2_CC_NV_WRITE);
		vtpm_cmd_u32(&c, TPM2_RH_PLATFORM);
		vtpm_cmd_u32(&c, index);
		vtpm_cmd_pw_session(&c);
		vtpm_cmd_2b(&c, data + off, (uint16_t)n);
		vtpm_cmd_u16(&c, (uint16_t)off);
		if ((rc = vtpm_cmd_run(t, &c, "TPM2_NV_Write", rsp, sizeof(rsp), &rlen, NULL, err)))
			return rc;
	}
	vtpm_cmd_begin(&c, TPM2_ST_SESSIONS, TPM2_CC_NV_WRITELOCK);
	vtpm_cmd_u32(&c, TPM2_RH_PLATFORM);
	vtpm_cmd_u32(&c, index);
	vtpm_cmd_pw_session(&c);
	return vtpm_cmd_run(t, &c, "TPM2_NV_WriteLock", rsp, sizeof(rsp), &rlen, NULL, err);
}

int vtpm_ek_ca_check(const char *ca_dir, struct vg_err *err)
{
	char cp[4096], kp[4096];
	snprintf(cp, sizeof(cp), "%s/ca.pem", ca_dir);
	snprintf(kp, sizeof(kp), "%s/ca.key", ca_dir);
	if (access(cp, F_OK) != 0 && access(kp, F_OK) != 0)
		return 0; /* made on first use */
	X509 *ca = NULL;
	EVP_PKEY *key = NULL;
	int rc = load_or_make_ca(ca_dir, &ca, &key, err);
	X509_free(ca);
	EVP_PKEY_free(key);
	return rc;
}

int vtpm_provision_ek(struct vtpm *t, const char *ca_dir, struct vg_err *err)
{
	X509 *ca = NULL;
	EVP_PKEY *ca_key = NULL;
	int rc = load_or_make_ca(ca_dir, &ca, &ca_key, err);
	if (rc)
		return rc;
	if ((rc = vtpm_startup(t, true, err)))
		goto out;
	for (int i = 0; i < 2 && !rc; i++) {
		bool ecc = i == 1;
		EVP_PKEY *ek = NULL;
		uint8_t *der = NULL;
		int der_len = 0;
		rc = create_ek(t, ecc, &ek, err);
		if (!rc)
			rc = issue_ek_cert(t, ca, ca_key, ek, ecc, &der, &der_len, err);
		if (!rc)
			rc = nv_store(t, ecc ? VTPM_NV_EK_CERT_ECC : VTPM_NV_EK_CERT_RSA, der, (size_t)der_len, err);
		OPENSSL_free(der);
		EVP_PKEY_free(ek);
	}
	if (!rc)
		vg_info("provisioned RSA-2048 and ECC P-256 EK certificates (NV 0x%08x, 0x%08x)", VTPM_NV_EK_CERT_RSA,
			VTPM_NV_EK_CERT_ECC);
out:
	if (rc)
		vg_err_prefix(err, "EK provisioning");
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	return rc;
}
