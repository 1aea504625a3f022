/*
 * sim-snp: the ID block check of SNP_LAUNCH_FINISH (SNP ABI 56860, 8.18
 * "SNP_LAUNCH_FINISH", Table 75 ID_BLOCK, Table 76 ID_AUTH; signatures and public keys
 * in the formats of chapter 10: ECDSA P-384 with SHA-384, little-endian 72-byte
 * components). What the firmware does: the ID block must carry this launch's digest
 * and policy and be signed by the ID key; with an author key, the author key signs the
 * ID key. The guest then reports ID_KEY_DIGEST, AUTHOR_KEY_DIGEST, FAMILY_ID, IMAGE_ID,
 * GUEST_SVN and AUTHOR_KEY_EN from it.
 */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

#include "sev/sev.h"

#define ALGO_ECDSA_P384_SHA384 1u
#define CURVE_P384 2u

/* An ECDSA P-384 public key from the firmware's format (curve u32, Qx, Qy 72 bytes LE). */
static EVP_PKEY *pubkey(const uint8_t *k)
{
	if (vg_le32(k) != CURVE_P384)
		return NULL;
	uint8_t pt[97];
	pt[0] = 0x04;
	for (int i = 0; i < 72; i++) {
		if (i >= 48 && (k[4 + i] || k[4 + 72 + i]))
			return NULL; /* P-384 coordinates are 48 bytes */
		if (i < 48) {
			pt[1 + 47 - i] = k[4 + i];
			pt[49 + 47 - i] = k[4 + 72 + i];
		}
	}
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	OSSL_PARAM *p = NULL;
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *key = NULL;
	if (b && c && OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, "P-384", 0) &&
	    OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt)) &&
	    (p = OSSL_PARAM_BLD_to_param(b)) && EVP_PKEY_fromdata_init(c) > 0)
		EVP_PKEY_fromdata(c, &key, EVP_PKEY_PUBLIC_KEY, p);
	OSSL_PARAM_free(p);
	OSSL_PARAM_BLD_free(b);
	EVP_PKEY_CTX_free(c);
	return key;
}

/* Verifies a firmware-format signature (R, S 72 bytes LE) over msg with key k. */
static bool sig_ok(const uint8_t *k, const uint8_t *sig, const uint8_t *msg, size_t len)
{
	EVP_PKEY *key = pubkey(k);
	ECDSA_SIG *s = ECDSA_SIG_new();
	BIGNUM *r = BN_lebin2bn(sig, 72, NULL), *sv = BN_lebin2bn(sig + 72, 72, NULL);
	unsigned char *der = NULL;
	int dl = -1;
	bool ok = false;
	if (key && s && r && sv && ECDSA_SIG_set0(s, r, sv)) {
		r = sv = NULL; /* owned by s */
		dl = i2d_ECDSA_SIG(s, &der);
	}
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (dl > 0 && md && EVP_DigestVerifyInit(md, NULL, EVP_sha384(), NULL, key) > 0)
		ok = EVP_DigestVerify(md, der, (size_t)dl, msg, len) == 1;
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	BN_free(r);
	BN_free(sv);
	ECDSA_SIG_free(s);
	EVP_PKEY_free(key);
	ERR_clear_error();
	return ok;
}

int sev_sim_snp_id_check(struct sev_sim_snp_guest *g, const uint8_t id_block[96], const uint8_t id_auth[4096],
			 bool author_key_en, struct vg_err *err)
{
	const struct sev_snp_id_block *ib = (const void *)id_block;
	const struct sev_snp_id_auth *ia = (const void *)id_auth;
	if (vg_le32(ib->version) != 1)
		return vg_err_set(err, EINVAL, "ID block version %u is not 1", vg_le32(ib->version));
	if (memcmp(ib->ld, g->measurement, sizeof(ib->ld)))
		return vg_err_set(err, EPERM, "ID block: its launch digest is not this launch's measurement");
	if (vg_le64(ib->policy) != g->policy)
		return vg_err_set(err, EPERM, "ID block: policy 0x%llx is not the guest policy 0x%llx",
				  (unsigned long long)vg_le64(ib->policy), (unsigned long long)g->policy);
	if (vg_le32(ia->id_key_algo) != ALGO_ECDSA_P384_SHA384)
		return vg_err_set(err, EINVAL, "ID auth: ID key algorithm %u is not ECDSA P-384 (1)",
				  vg_le32(ia->id_key_algo));
	if (!sig_ok((const uint8_t *)&ia->id_key, (const uint8_t *)&ia->id_block_sig, (const uint8_t *)ib, sizeof(*ib)))
		return vg_err_set(err, EPERM, "ID auth: the ID block signature does not verify with the ID key");
	if (author_key_en) {
		if (vg_le32(ia->auth_key_algo) != ALGO_ECDSA_P384_SHA384)
			return vg_err_set(err, EINVAL, "ID auth: author key algorithm %u is not ECDSA P-384 (1)",
					  vg_le32(ia->auth_key_algo));
		if (!sig_ok((const uint8_t *)&ia->author_key, (const uint8_t *)&ia->id_key_sig,
			    (const uint8_t *)&ia->id_key, sizeof(ia->id_key)))
			return vg_err_set(err, EPERM, "ID auth: the ID key signature does not verify with the author key");
	}
	unsigned int n = 0;
	if (EVP_Digest(&ia->id_key, sizeof(ia->id_key), g->id_key_digest, &n, EVP_sha384(), NULL) != 1 ||
	    (author_key_en &&
	     EVP_Digest(&ia->author_key, sizeof(ia->author_key), g->author_key_digest, &n, EVP_sha384(), NULL) != 1))
		return vg_err_set(err, EIO, "SHA-384 failed");
	if (!author_key_en)
		memset(g->author_key_digest, 0, 48);
	memcpy(g->family_id, ib->family_id, 16);
	memcpy(g->image_id, ib->image_id, 16);
	g->guest_svn = vg_le32(ib->guest_svn);
	g->author_key_en = author_key_en;
	return 0;
}

int sev_sim_snp_secrets_fill(uint8_t p[4096])
{
	struct sev_snp_secrets_page *page = (void *)p;
	memset(page, 0, sizeof(*page));
	vg_put_le32(page->version, 3);
	return RAND_bytes(&page->vmpck[0][0], sizeof(page->vmpck)) == 1 ? 0 : -EIO;
}
