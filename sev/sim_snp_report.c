/*
 * sim-snp: MSG_REPORT_REQ. Builds a version 3 ATTESTATION_REPORT (SNP ABI 56860
 * Table 23) the way the firmware fills it, serialises it with the report-format code
 * of section 1, and signs bytes 0x000-0x29F with the simulated VCEK (ECDSA P-384,
 * SHA-384; R and S little-endian, zero-extended to 72 bytes).
 */
/* ECDSA_sign_setup / ECDSA_do_sign_ex: the only OpenSSL 3.0 interface that signs with
 * a pre-computed nonce (deprecated, still supported). */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "sev/sev.h"
#include "sev/sim_snp_priv.h"

static int put_le72(const BIGNUM *v, uint8_t out[72])
{
	memset(out, 0, 72);
	return BN_bn2lebinpad(v, out, 72) == 72 ? 0 : -1;
}

int sev_sim_snp_report(struct sev_sim_snp *s, const struct sev_sim_snp_guest *g,
		       const uint8_t report_data[64], uint32_t vmpl, uint8_t out[SEV_SNP_REPORT_SIZE],
		       struct vg_err *err)
{
	if (vmpl > 3)
		return vg_err_set(err, EINVAL, "sim-snp: VMPL %u out of range 0..3", vmpl);
	struct sev_snp_report r;
	memset(&r, 0, sizeof(r));
	r.version = 3;
	r.guest_svn = g->guest_svn;
	r.policy = g->policy;
	memcpy(r.family_id, g->family_id, 16);
	memcpy(r.image_id, g->image_id, 16);
	r.vmpl = vmpl;
	r.signature_algo = SEV_SNP_SIG_ALGO_ECDSA_P384_SHA384;
	r.current_tcb = s->tcb;
	/* SMT enabled on the (simulated) host; TSME off; nothing else claimed. */
	r.platform_info = SEV_SNP_PLATINFO_SMT_EN;
	r.author_key_en = g->author_key_en;
	r.mask_chip_key = false;
	r.signing_key = SEV_SNP_KEY_VCEK;
	r.flags = (g->author_key_en ? 1u : 0u) | ((uint32_t)SEV_SNP_KEY_VCEK << 2);
	memcpy(r.report_data, report_data, 64);
	memcpy(r.measurement, g->measurement, 48);
	memcpy(r.host_data, g->host_data, 32);
	memcpy(r.id_key_digest, g->id_key_digest, 48);
	memcpy(r.author_key_digest, g->author_key_digest, 48);
	memcpy(r.report_id, g->report_id, 32);
	/* No migration agent is ever bound: REPORT_ID_MA is all ones. */
	memset(r.report_id_ma, 0xff, 32);
	r.reported_tcb = s->tcb;
	r.has_cpuid = true;
	r.cpuid_fam_id = SEV_SIM_SNP_CPUID_FAM;
	r.cpuid_mod_id = SEV_SIM_SNP_CPUID_MOD;
	r.cpuid_step = SEV_SIM_SNP_CPUID_STEP;
	memcpy(r.chip_id, s->chip_id, 64);
	r.committed_tcb = s->tcb;
	r.current_major = r.committed_major = SEV_SIM_SNP_FW_MAJOR;
	r.current_minor = r.committed_minor = SEV_SIM_SNP_FW_MINOR;
	r.current_build = r.committed_build = SEV_SIM_SNP_FW_BUILD;
	r.launch_tcb = s->tcb;
	sev_snp_report_serialize(&r, out);

	int rc = 0;
	unsigned char *der = NULL;
	size_t der_len = 0;
	EVP_MD_CTX *md = NULL;
	ECDSA_SIG *sig = NULL;
	md = EVP_MD_CTX_new();
	if (!md || EVP_DigestSignInit(md, NULL, EVP_sha384(), NULL, s->vcek) <= 0 ||
	    EVP_DigestSign(md, NULL, &der_len, out, SEV_SNP_REPORT_SIGNED_LEN) <= 0 ||
	    !(der = OPENSSL_malloc(der_len)) ||
	    EVP_DigestSign(md, der, &der_len, out, SEV_SNP_REPORT_SIGNED_LEN) <= 0) {
		rc = vg_err_set(err, EIO, "sim-snp: signing the report failed");
		goto out;
	}
	const unsigned char *p = der;
	sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	struct sev_snp_report_raw *raw = (struct sev_snp_report_raw *)out;
	if (!sig || put_le72(ECDSA_SIG_get0_r(sig), raw->sig_r) || put_le72(ECDSA_SIG_get0_s(sig), raw->sig_s))
		rc = vg_err_set(err, EIO, "sim-snp: malformed ECDSA signature");
out:
	ECDSA_SIG_free(sig);
	OPENSSL_free(der);
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return rc;
}
