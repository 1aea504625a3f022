/*
 * sim-tdx: TDG.MR.RTMR.EXTEND and quote generation. A v4 quote (DCAP Quote Library
 * A.3): header || TD 1.0 body (serialised by the quote-format code of section 1),
 * then the ECDSA-256 signature data with QE report certification data (type 6)
 * wrapping the PCK chain (type 5).
 */
/* ECDSA_sign_setup / ECDSA_do_sign_ex: the only OpenSSL 3.0 interface that signs with
 * a pre-computed nonce (deprecated, still supported). */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "tdx/sim_tdx_priv.h"

/* The Intel signer of the TD quoting enclave (MRSIGNER of Intel's QE/TDQE). */
static const uint8_t INTEL_QE_MRSIGNER[32] = { 0x8c, 0x4f, 0x57, 0x75, 0xd7, 0x96, 0x50, 0x3e, 0x96, 0x13, 0x7f,
					       0x77, 0xc6, 0x8a, 0x82, 0x9a, 0x00, 0x56, 0xac, 0x8d, 0xed, 0x70,
					       0x14, 0x0b, 0x08, 0x1b, 0x09, 0x44, 0x90, 0xc5, 0x7b, 0xff };

static int digest(const EVP_MD *md, const void *a, size_t al, const void *b, size_t bl, uint8_t *out)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok = c && EVP_DigestInit_ex(c, md, NULL) == 1 && EVP_DigestUpdate(c, a, al) == 1 &&
		 (!bl || EVP_DigestUpdate(c, b, bl) == 1) && EVP_DigestFinal_ex(c, out, NULL) == 1;
	EVP_MD_CTX_free(c);
	return ok ? 0 : -1;
}

int tdx_sim_rtmr_extend(struct tdx_sim_td *td, unsigned index, const uint8_t d[48], struct vg_err *err)
{
	if (index > 3)
		return vg_err_set(err, EINVAL, "sim-tdx: RTMR index %u out of range 0..3", index);
	return tdx_rtmr_extend(td->rtmr[index], d, err);
}

/* ECDSA P-256 / SHA-256 over data, as r||s big-endian (32 + 32 bytes). */
static int sign_p256(EVP_PKEY *k, const uint8_t *data, size_t len, uint8_t out[64])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char *der = NULL;
	size_t dl = 0;
	ECDSA_SIG *sig = NULL;
	int rc = -1;
	if (md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k) > 0 &&
	    EVP_DigestSign(md, NULL, &dl, data, len) > 0 && (der = OPENSSL_malloc(dl)) &&
	    EVP_DigestSign(md, der, &dl, data, len) > 0) {
		const unsigned char *p = der;
		sig = d2i_ECDSA_SIG(NULL, &p, (long)dl);
		if (sig && BN_bn2binpad(ECDSA_SIG_get0_r(sig), out, 32) == 32 &&
		    BN_bn2binpad(ECDSA_SIG_get0_s(sig), out + 32, 32) == 32)
			rc = 0;
	}
	ECDSA_SIG_free(sig);
	OPENSSL_free(der);
	EVP_MD_CTX_free(md);
	return rc;
}

/* The QE report: an SGX REPORT of the quoting enclave whose REPORTDATA binds the
 * attestation key: SHA-256(attestation key || QE auth data) || zeros. */
static int qe_report_build(const struct tdx_sim *s, uint8_t ak_pub[65], uint8_t qe_auth[32],
			   uint8_t qe_report[TDX_SGX_REPORT_BODY_SIZE], struct vg_err *err)
{
	size_t publen = 0;
	if (EVP_PKEY_get_octet_string_param(s->ak, OSSL_PKEY_PARAM_PUB_KEY, ak_pub, 65, &publen) != 1 ||
	    publen != 65 || ak_pub[0] != 0x04) {
		ERR_clear_error();
		return vg_err_set(err, EIO, "sim-tdx: attestation key is not an uncompressed P-256 point");
	}
	for (unsigned i = 0; i < 32; i++)
		qe_auth[i] = (uint8_t)i;
	struct tdx_sgx_report_raw *qr = (struct tdx_sgx_report_raw *)qe_report;
	memset(qe_report, 0, TDX_SGX_REPORT_BODY_SIZE);
	memcpy(qr->cpu_svn, TDX_SIM_CPUSVN, 16);
	qr->attributes[0] = 0x11; /* INIT | MODE64BIT */
	qr->attributes[8] = 0xe7; /* XFRM */
	static const char qe_name[] = "Vigil SIMULATED TD quoting enclave";
	if (digest(EVP_sha256(), qe_name, sizeof(qe_name) - 1, NULL, 0, qr->mr_enclave) ||
	    digest(EVP_sha256(), ak_pub + 1, 64, qe_auth, 32, qr->report_data))
		return vg_err_set(err, EIO, "sim-tdx: SHA-256 failed");
	memcpy(qr->mr_signer, INTEL_QE_MRSIGNER, 32);
	vg_put_le16(qr->isv_prod_id, TDX_SIM_QE_PROD_ID);
	vg_put_le16(qr->isv_svn, TDX_SIM_QE_SVN);
	return 0;
}

int tdx_sim_quote(struct tdx_sim *s, const struct tdx_sim_td *td, const uint8_t report_data[64],
		  uint8_t **quote, size_t *quote_len, struct vg_err *err)
{
	*quote = NULL;
	*quote_len = 0;
	struct tdx_quote q;
	memset(&q, 0, sizeof(q));
	q.version = 4;
	q.att_key_type = TDX_ATT_KEY_TYPE_ECDSA_P256;
	q.tee_type = TDX_TEE_TYPE_TDX;
	memcpy(q.qe_vendor_id, TDX_SIM_QE_VENDOR, 16);
	q.body_type = TDX_BODY_TYPE_TD10;
	struct tdx_td_body *b = &q.body;
	memcpy(b->tee_tcb_svn, TDX_SIM_TEE_TCB_SVN, 16);
	static const char module[] = "Vigil SIMULATED TDX module 1.5";
	if (digest(EVP_sha384(), module, sizeof(module) - 1, NULL, 0, b->mr_seam))
		return vg_err_set(err, EIO, "sim-tdx: SHA-384 failed");
	/* MRSIGNERSEAM is zero for an Intel-signed module; SEAMATTRIBUTES zero. */
	vg_put_le64(b->td_attributes, td->attributes);
	vg_put_le64(b->xfam, td->xfam);
	memcpy(b->mr_td, td->mrtd, 48);
	memcpy(b->mr_config_id, td->mrconfigid, 48);
	memcpy(b->mr_owner, td->mrowner, 48);
	memcpy(b->mr_owner_config, td->mrownerconfig, 48);
	memcpy(b->rtmr, td->rtmr, sizeof(b->rtmr));
	memcpy(b->report_data, report_data, 64);

	uint8_t ak_pub[65], qe_auth[32], sig[64], qe_sig[64];
	uint8_t qe_report[TDX_SGX_REPORT_BODY_SIZE];
	int qrc = qe_report_build(s, ak_pub, qe_auth, qe_report, err);
	if (qrc)
		return qrc;
	if (sign_p256(s->pck, qe_report, sizeof(qe_report), qe_sig)) {
		ERR_clear_error();
		return vg_err_set(err, EIO, "sim-tdx: ECDSA signing failed");
	}

	uint8_t signed_part[TDX_QUOTE_HEADER_SIZE + TDX_TD10_BODY_SIZE];
	size_t sl = tdx_quote_serialize_signed(&q, signed_part, sizeof(signed_part));
	if (sl != sizeof(signed_part))
		return vg_err_set(err, EIO, "sim-tdx: quote serialisation failed");
	if (sign_p256(s->ak, signed_part, sl, sig)) {
		ERR_clear_error();
		return vg_err_set(err, EIO, "sim-tdx: ECDSA signing failed");
	}

	/* sig(64) | ak(64) | type 6 { QE report | QE sig | auth | type 5 { PCK chain } } */
	struct vg_buf o = { 0 };
	size_t type5 = 2 + 4 + s->chain_len;
	size_t type6_body = sizeof(qe_report) + 64 + 2 + sizeof(qe_auth) + type5;
	size_t sig_data = 64 + 64 + 2 + 4 + type6_body;
	int rc = vg_buf_append(&o, signed_part, sl);
	rc = rc ? rc : vg_buf_append_le32(&o, (uint32_t)sig_data);
	rc = rc ? rc : vg_buf_append(&o, sig, 64);
	rc = rc ? rc : vg_buf_append(&o, ak_pub + 1, 64);
	rc = rc ? rc : vg_buf_append_le16(&o, TDX_CERT_TYPE_QE_REPORT);
	rc = rc ? rc : vg_buf_append_le32(&o, (uint32_t)type6_body);
	rc = rc ? rc : vg_buf_append(&o, qe_report, sizeof(qe_report));
	rc = rc ? rc : vg_buf_append(&o, qe_sig, 64);
	rc = rc ? rc : vg_buf_append_le16(&o, sizeof(qe_auth));
	rc = rc ? rc : vg_buf_append(&o, qe_auth, sizeof(qe_auth));
	rc = rc ? rc : vg_buf_append_le16(&o, TDX_CERT_TYPE_PCK_CHAIN);
	rc = rc ? rc : vg_buf_append_le32(&o, (uint32_t)s->chain_len);
	rc = rc ? rc : vg_buf_append(&o, s->chain, s->chain_len);
	if (rc) {
		vg_buf_free(&o);
		return vg_err_set(err, ENOMEM, "out of memory");
	}
	*quote = o.data;
	*quote_len = o.len;
	return 0;
}
