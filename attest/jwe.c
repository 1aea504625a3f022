/* JWE flattened JSON serialization (RFC 7516 sec. 7.2.2) with content
 * encryption A256GCM and key management ECDH-ES+A256KW (P-256/P-384, Concat
 * KDF of RFC 7518 sec. 4.6.2 via OpenSSL's SSKDF, AES key wrap of RFC 3394)
 * or RSA-OAEP-256 (RSA >= 2048 bits). All primitives are OpenSSL's. The CEK,
 * the ECDH secret and the KEK are cleansed after use. */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "attest/jose_priv.h"

#define CEK_LEN 32
#define IV_LEN 12
#define TAG_LEN 16
#define KW_LEN (CEK_LEN + 8)
#define ALG_ECDH "ECDH-ES+A256KW"
#define ALG_RSA "RSA-OAEP-256"
#define ENC "A256GCM"

/* ECDH(priv, peer) then the Concat KDF (SSKDF with SHA-256) to a 256-bit KEK.
 * OtherInfo = AlgorithmID || PartyUInfo || PartyVInfo || SuppPubInfo, each
 * variable field prefixed by its 32-bit big-endian length. */
static int ecdh_kek(EVP_PKEY *priv, EVP_PKEY *peer, const uint8_t *apu, size_t apu_len, const uint8_t *apv,
		    size_t apv_len, uint8_t kek[32], struct vg_err *err)
{
	uint8_t z[66];
	size_t zlen = sizeof(z);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL);
	int rc = -EIO;
	struct vg_buf info = {0};
	EVP_KDF *kdf = NULL;
	EVP_KDF_CTX *kctx = NULL;
	if (!ctx || EVP_PKEY_derive_init(ctx) <= 0 || EVP_PKEY_derive_set_peer(ctx, peer) <= 0 ||
	    EVP_PKEY_derive(ctx, z, &zlen) <= 0) {
		vg_err_set(err, EIO, "jwe: ECDH key agreement failed");
		goto out;
	}
	uint8_t be[4];
	vg_put_be32(be, (uint32_t)strlen(ALG_ECDH));
	if (vg_buf_append(&info, be, 4) || vg_buf_append(&info, ALG_ECDH, strlen(ALG_ECDH)))
		goto oom;
	vg_put_be32(be, (uint32_t)apu_len);
	if (vg_buf_append(&info, be, 4) || (apu_len && vg_buf_append(&info, apu, apu_len)))
		goto oom;
	vg_put_be32(be, (uint32_t)apv_len);
	if (vg_buf_append(&info, be, 4) || (apv_len && vg_buf_append(&info, apv, apv_len)))
		goto oom;
	vg_put_be32(be, 256); /* SuppPubInfo: keydatalen in bits */
	if (vg_buf_append(&info, be, 4))
		goto oom;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, z, zlen),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info.data, info.len),
		OSSL_PARAM_construct_end(),
	};
	if (!(kdf = EVP_KDF_fetch(NULL, "SSKDF", NULL)) || !(kctx = EVP_KDF_CTX_new(kdf)) ||
	    EVP_KDF_derive(kctx, kek, 32, params) <= 0) {
		vg_err_set(err, EIO, "jwe: Concat KDF (SSKDF) failed");
		goto out;
	}
	rc = 0;
	goto out;
oom:
	rc = vg_err_set(err, ENOMEM, "jwe: out of memory");
out:
	OPENSSL_cleanse(z, sizeof(z));
	vg_buf_free(&info);
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

/* AES-256 key wrap (RFC 3394) of the CEK, or unwrap; 0 or -EIO / -EACCES. */
static int aes_kw(bool wrap, const uint8_t kek[32], const uint8_t *in, size_t in_len, uint8_t *out, size_t *out_len)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int l1 = 0, l2 = 0, ok = 0;
	if (c) {
		EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
		ok = EVP_CipherInit_ex(c, EVP_aes_256_wrap(), NULL, kek, NULL, wrap ? 1 : 0) > 0 &&
		     EVP_CipherUpdate(c, out, &l1, in, (int)in_len) > 0 && EVP_CipherFinal_ex(c, out + l1, &l2) > 0;
	}
	EVP_CIPHER_CTX_free(c);
	*out_len = ok ? (size_t)(l1 + l2) : 0;
	return ok ? 0 : wrap ? -EIO : -EACCES;
}

static int rsa_ctx_oaep(EVP_PKEY_CTX *ctx)
{
	return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) > 0 &&
	       EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) > 0 && EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) > 0;
}

/* A256GCM; aad = ASCII(BASE64URL(protected)) [ "." ASCII(aad member) ]. */
static int gcm(bool enc, const uint8_t cek[CEK_LEN], const uint8_t iv[IV_LEN], const uint8_t *aad, size_t aad_len,
	       const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[TAG_LEN])
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int l = 0, ok = c && EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) > 0 &&
			EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, IV_LEN, NULL) > 0 &&
			EVP_CipherInit_ex(c, NULL, NULL, cek, iv, enc) > 0 &&
			EVP_CipherUpdate(c, NULL, &l, aad, (int)aad_len) > 0;
	size_t done = 0;
	while (ok && done < len) { /* EVP takes int lengths */
		size_t chunk = VG_MIN(len - done, (size_t)1 << 30);
		ok = EVP_CipherUpdate(c, out + done, &l, in + done, (int)chunk) > 0 && (size_t)l == chunk;
		done += chunk;
	}
	if (ok && !enc)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) > 0;
	if (ok)
		ok = EVP_CipherFinal_ex(c, out + done, &l) > 0;
	if (ok && enc)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) > 0;
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -EACCES;
}

int att_jwe_encrypt(EVP_PKEY *recipient, const uint8_t *plaintext, size_t len, json_t **jwe, struct vg_err *err)
{
	*jwe = NULL;
	if (!recipient)
		return vg_err_set(err, EINVAL, "jwe: no recipient key");
	if (len > ATT_JWE_MAX_CIPHERTEXT)
		return vg_err_set(err, E2BIG, "jwe: plaintext of %zu bytes too large", len);
	const struct att_jose_curve *curve = att_jose_curve_of(recipient);
	bool rsa = EVP_PKEY_get_base_id(recipient) == EVP_PKEY_RSA;
	if (!curve && !rsa)
		return vg_err_set(err, EINVAL, "jwe: recipient key must be EC P-256/P-384 or RSA");
	if (rsa && EVP_PKEY_get_bits(recipient) < 2048)
		return vg_err_set(err, EINVAL, "jwe: RSA recipient key of %d bits is below 2048", EVP_PKEY_get_bits(recipient));

	int rc = -ENOMEM;
	uint8_t cek[CEK_LEN], iv[IV_LEN], tag[TAG_LEN], kek[32];
	uint8_t *ek = NULL, *ct = NULL;
	size_t ek_len = 0;
	json_t *hdr = json_object(), *out = NULL, *epk_jwk = NULL;
	char *hdr_txt = NULL, *h64 = NULL;
	EVP_PKEY *epk = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	if (RAND_priv_bytes(cek, sizeof(cek)) != 1 || RAND_bytes(iv, sizeof(iv)) != 1) {
		rc = vg_err_set(err, EIO, "jwe: random generator failed");
		goto out;
	}
	if (!hdr || json_object_set_new(hdr, "alg", json_string(curve ? ALG_ECDH : ALG_RSA)) ||
	    json_object_set_new(hdr, "enc", json_string(ENC)))
		goto out;
	if (curve) {
		/* Ephemeral key on the recipient's group. */
		if (!(ctx = EVP_PKEY_CTX_new_from_pkey(NULL, recipient, NULL)) || EVP_PKEY_keygen_init(ctx) <= 0 ||
		    EVP_PKEY_keygen(ctx, &epk) <= 0) {
			rc = vg_err_set(err, EIO, "jwe: ephemeral %s key generation failed", curve->jwk);
			goto out;
		}
		if (!(epk_jwk = att_jwk_from_pkey(epk, err))) {
			rc = -EIO;
			goto out;
		}
		if (json_object_set_new(hdr, "epk", epk_jwk)) {
			epk_jwk = NULL;
			goto out;
		}
		if ((rc = ecdh_kek(epk, recipient, NULL, 0, NULL, 0, kek, err)))
			goto out;
		rc = -ENOMEM;
		if (!(ek = malloc(KW_LEN)))
			goto out;
		if (aes_kw(true, kek, cek, CEK_LEN, ek, &ek_len) || ek_len != KW_LEN) {
			rc = vg_err_set(err, EIO, "jwe: AES key wrap failed");
			goto out;
		}
	} else {
		if (!(ctx = EVP_PKEY_CTX_new_from_pkey(NULL, recipient, NULL)) || EVP_PKEY_encrypt_init(ctx) <= 0 ||
		    !rsa_ctx_oaep(ctx) || EVP_PKEY_encrypt(ctx, NULL, &ek_len, cek, CEK_LEN) <= 0 ||
		    !(ek = malloc(ek_len)) || EVP_PKEY_encrypt(ctx, ek, &ek_len, cek, CEK_LEN) <= 0) {
			rc = vg_err_set(err, EIO, "jwe: RSA-OAEP-256 encryption of the CEK failed");
			goto out;
		}
	}
	if (!(hdr_txt = att_jose_dump(hdr)) || !(h64 = att_b64_encode(hdr_txt, strlen(hdr_txt), true)) ||
	    !(ct = malloc(len ? len : 1)))
		goto out;
	if (gcm(true, cek, iv, (const uint8_t *)h64, strlen(h64), plaintext, len, ct, tag)) {
		rc = vg_err_set(err, EIO, "jwe: A256GCM encryption failed");
		goto out;
	}
	if (!(out = json_object()) || json_object_set_new(out, "protected", json_string(h64)) ||
	    att_jose_set_b64(out, "encrypted_key", ek, ek_len) || att_jose_set_b64(out, "iv", iv, IV_LEN) ||
	    att_jose_set_b64(out, "ciphertext", ct, len) || att_jose_set_b64(out, "tag", tag, TAG_LEN))
		goto out;
	*jwe = out;
	out = NULL;
	rc = 0;
out:
	if (rc == -ENOMEM)
		vg_err_set(err, ENOMEM, "jwe: out of memory");
	OPENSSL_cleanse(cek, sizeof(cek));
	OPENSSL_cleanse(kek, sizeof(kek));
	free(ek);
	free(ct);
	free(hdr_txt);
	free(h64);
	json_decref(out);
	json_decref(hdr);
	EVP_PKEY_free(epk);
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

/* Recovers the CEK for ECDH-ES+A256KW. */
static int cek_ecdh(EVP_PKEY *priv, const json_t *hdr, const uint8_t *ek, size_t ek_len, uint8_t cek[CEK_LEN],
		    struct vg_err *err)
{
	const struct att_jose_curve *curve = att_jose_curve_of(priv);
	if (!curve)
		return vg_err_set(err, EACCES, "jwe: " ALG_ECDH " needs an EC P-256/P-384 private key");
	json_t *epk_jwk = json_object_get(hdr, "epk");
	if (!json_is_object(epk_jwk))
		return vg_err_set(err, EINVAL, "jwe: header \"epk\" missing or not an object");
	const char *kty = json_string_value(json_object_get(epk_jwk, "kty"));
	const char *crv = json_string_value(json_object_get(epk_jwk, "crv"));
	if (!kty || strcmp(kty, "EC") != 0 || !crv || strcmp(crv, curve->jwk) != 0)
		return vg_err_set(err, EACCES, "jwe: \"epk\" is not an EC key on the recipient's curve %s", curve->jwk);
	if (ek_len != KW_LEN)
		return vg_err_set(err, EINVAL, "jwe: \"encrypted_key\" must be %d bytes for " ALG_ECDH ", not %zu", KW_LEN,
				  ek_len);
	uint8_t *apu = NULL, *apv = NULL;
	size_t apu_len = 0, apv_len = 0;
	EVP_PKEY *epk = NULL;
	uint8_t kek[32];
	int rc = att_jwk_to_pkey(epk_jwk, &epk, err);
	if (rc) {
		vg_err_prefix(err, "jwe: \"epk\"");
		goto out;
	}
	if (json_object_get(hdr, "apu") && (rc = att_jose_b64_member(hdr, "apu", 1024, &apu, &apu_len, err)))
		goto out;
	if (json_object_get(hdr, "apv") && (rc = att_jose_b64_member(hdr, "apv", 1024, &apv, &apv_len, err)))
		goto out;
	if ((rc = ecdh_kek(priv, epk, apu, apu_len, apv, apv_len, kek, err)))
		goto out;
	size_t n = 0;
	uint8_t tmp[KW_LEN];
	if (aes_kw(false, kek, ek, ek_len, tmp, &n) || n != CEK_LEN)
		rc = vg_err_set(err, EACCES, "jwe: AES key unwrap failed (wrong key or tampered \"encrypted_key\")");
	else
		memcpy(cek, tmp, CEK_LEN);
	OPENSSL_cleanse(tmp, sizeof(tmp));
	OPENSSL_cleanse(kek, sizeof(kek));
out:
	if (rc && rc != -EACCES && rc != -ENOMEM && err && strncmp(err->msg, "jwe", 3) != 0)
		vg_err_prefix(err, "jwe");
	free(apu);
	free(apv);
	EVP_PKEY_free(epk);
	return rc;
}

/* Recovers the CEK for RSA-OAEP-256. A failed decryption yields a random CEK
 * (RFC 7516 sec. 11.5), so the failure shows only as a tag mismatch. */
static int cek_rsa(EVP_PKEY *priv, const uint8_t *ek, size_t ek_len, uint8_t cek[CEK_LEN], struct vg_err *err)
{
	if (EVP_PKEY_get_base_id(priv) != EVP_PKEY_RSA)
		return vg_err_set(err, EACCES, "jwe: " ALG_RSA " needs an RSA private key");
	int bits = EVP_PKEY_get_bits(priv);
	if (bits < 2048)
		return vg_err_set(err, EACCES, "jwe: RSA key of %d bits is below 2048", bits);
	if (ek_len != (size_t)EVP_PKEY_get_size(priv))
		return vg_err_set(err, EINVAL, "jwe: \"encrypted_key\" must be %d bytes, not %zu", EVP_PKEY_get_size(priv),
				  ek_len);
	if (RAND_priv_bytes(cek, CEK_LEN) != 1)
		return vg_err_set(err, EIO, "jwe: random generator failed");
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL);
	uint8_t *tmp = malloc(ek_len);
	size_t n = ek_len;
	if (ctx && tmp && EVP_PKEY_decrypt_init(ctx) > 0 && rsa_ctx_oaep(ctx) &&
	    EVP_PKEY_decrypt(ctx, tmp, &n, ek, ek_len) > 0 && n == CEK_LEN)
		memcpy(cek, tmp, CEK_LEN);
	if (tmp) {
		OPENSSL_cleanse(tmp, ek_len);
		free(tmp);
	}
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	return 0;
}

int att_jwe_decrypt(EVP_PKEY *priv, const json_t *jwe, uint8_t **plaintext, size_t *len, struct vg_err *err)
{
	*plaintext = NULL;
	*len = 0;
	if (!priv)
		return vg_err_set(err, EINVAL, "jwe: no private key");
	if (!json_is_object(jwe))
		return vg_err_set(err, EINVAL, "jwe: not a JSON object");
	static const char *const refused[] = {"recipients", "unprotected", "header", NULL};
	for (size_t i = 0; refused[i]; i++)
		if (json_object_get(jwe, refused[i]))
			return vg_err_set(err, EINVAL, "jwe: member \"%s\" is not supported (flattened form, protected header only)",
					  refused[i]);
	json_t *p = json_object_get(jwe, "protected");
	if (!json_is_string(p))
		return vg_err_set(err, EINVAL, "jwe: member \"protected\" missing or not a string");

	uint8_t *hbin = NULL, *ek = NULL, *iv = NULL, *ct = NULL, *tag = NULL, *pt = NULL;
	size_t hlen = 0, ek_len = 0, iv_len = 0, ct_len = 0, tag_len = 0;
	json_t *hdr = NULL;
	struct vg_buf aad = {0};
	uint8_t cek[CEK_LEN];
	bool have_cek = false;
	int rc = att_jose_b64_member(jwe, "protected", ATT_JOSE_MAX_HEADER, &hbin, &hlen, err);
	if (rc || (rc = vg_json_parse_object(hbin, hlen, "jwe protected header", &hdr, err)))
		goto pfx;
	const char *alg = json_string_value(json_object_get(hdr, "alg"));
	const char *enc = json_string_value(json_object_get(hdr, "enc"));
	if (!alg || (strcmp(alg, ALG_ECDH) != 0 && strcmp(alg, ALG_RSA) != 0)) {
		rc = vg_err_set(err, EACCES, "jwe: \"alg\" %.32s not accepted (" ALG_ECDH ", " ALG_RSA ")",
				alg ? alg : "missing");
		goto out;
	}
	if (!enc || strcmp(enc, ENC) != 0) {
		rc = vg_err_set(err, EACCES, "jwe: \"enc\" %.32s not accepted (" ENC ")", enc ? enc : "missing");
		goto out;
	}
	if (json_object_get(hdr, "crit") || json_object_get(hdr, "zip")) {
		rc = vg_err_set(err, EINVAL, "jwe: header \"%s\" is not supported",
				json_object_get(hdr, "crit") ? "crit" : "zip");
		goto out;
	}
	if ((rc = att_jose_b64_member(jwe, "encrypted_key", 2048, &ek, &ek_len, err)) ||
	    (rc = att_jose_b64_member(jwe, "iv", 64, &iv, &iv_len, err)) ||
	    (rc = att_jose_b64_member(jwe, "tag", 64, &tag, &tag_len, err)) ||
	    (rc = att_jose_b64_member(jwe, "ciphertext", ATT_JWE_MAX_CIPHERTEXT, &ct, &ct_len, err)))
		goto pfx;
	if (iv_len != IV_LEN || tag_len != TAG_LEN) {
		rc = vg_err_set(err, EINVAL, "jwe: A256GCM needs a %d-byte \"iv\" and a %d-byte \"tag\" (got %zu, %zu)", IV_LEN,
				TAG_LEN, iv_len, tag_len);
		goto out;
	}
	/* Additional authenticated data: the protected header text, then "." and
	 * the "aad" member when present (RFC 7516 sec. 5.2 step 14). */
	if (vg_buf_append(&aad, json_string_value(p), json_string_length(p))) {
		rc = vg_err_set(err, ENOMEM, "jwe: out of memory");
		goto out;
	}
	json_t *a = json_object_get(jwe, "aad");
	if (a) {
		uint8_t *ab = NULL;
		size_t al = 0;
		if ((rc = att_jose_b64_member(jwe, "aad", ATT_JOSE_MAX_HEADER, &ab, &al, err)))
			goto pfx;
		free(ab);
		if (vg_buf_append_u8(&aad, '.') || vg_buf_append(&aad, json_string_value(a), json_string_length(a))) {
			rc = vg_err_set(err, ENOMEM, "jwe: out of memory");
			goto out;
		}
	}
	if (strcmp(alg, ALG_ECDH) == 0)
		rc = cek_ecdh(priv, hdr, ek, ek_len, cek, err);
	else
		rc = cek_rsa(priv, ek, ek_len, cek, err);
	if (rc)
		goto out;
	have_cek = true;
	if (!(pt = malloc(ct_len ? ct_len : 1))) {
		rc = vg_err_set(err, ENOMEM, "jwe: out of memory");
		goto out;
	}
	if (gcm(false, cek, iv, aad.data, aad.len, ct, ct_len, pt, tag)) {
		OPENSSL_cleanse(pt, ct_len);
		rc = vg_err_set(err, EACCES, "jwe: decryption failed (wrong key, or the JWE was altered: tag mismatch)");
		goto out;
	}
	*plaintext = pt;
	*len = ct_len;
	pt = NULL;
	rc = 0;
	goto out;
pfx:
	if (err && strncmp(err->msg, "jwe", 3) != 0)
		vg_err_prefix(err, "jwe");
out:
	if (have_cek)
		OPENSSL_cleanse(cek, sizeof(cek));
	free(pt);
	free(hbin);
	free(ek);
	free(iv);
	free(tag);
	free(ct);
	vg_buf_free(&aad);
	json_decref(hdr);
	return rc;
}
