/* JWS compact serialization (RFC 7515) with ES256, ES384 (RFC 7518 sec. 3.4,
 * raw R||S signatures) and EdDSA over Ed25519 (RFC 8037), all through
 * EVP_DigestSign / EVP_DigestVerify. Verification accepts only the algorithms
 * the caller allows; "none", HMAC, RSA and any "crit" header are refused. */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>

#include "attest/internal.h"
#include "attest/jose_priv.h"

static const struct {
	enum att_jws_alg alg;
	const char *name;
	size_t sig_len; /* raw signature length */
} algs[] = {
	{ATT_JWS_ES256, "ES256", 64},
	{ATT_JWS_ES384, "ES384", 96},
	{ATT_JWS_EDDSA, "EdDSA", 64},
};

const char *att_jws_alg_name(enum att_jws_alg alg)
{
	for (size_t i = 0; i < VG_ARRAY_SIZE(algs); i++)
		if (algs[i].alg == alg)
			return algs[i].name;
	return NULL;
}

enum att_jws_alg att_jws_alg_for_key(const EVP_PKEY *key)
{
	if (!key)
		return 0;
	if (EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519)
		return ATT_JWS_EDDSA;
	const struct att_jose_curve *c = att_jose_curve_of(key);
	if (!c)
		return 0;
	return c->size == 32 ? ATT_JWS_ES256 : ATT_JWS_ES384;
}

static size_t sig_len_of(enum att_jws_alg alg)
{
	for (size_t i = 0; i < VG_ARRAY_SIZE(algs); i++)
		if (algs[i].alg == alg)
			return algs[i].sig_len;
	return 0;
}

static const EVP_MD *md_of(enum att_jws_alg alg)
{
	return alg == ATT_JWS_ES256 ? EVP_sha256() : alg == ATT_JWS_ES384 ? EVP_sha384() : NULL;
}

int att_jws_sign(EVP_PKEY *key, enum att_jws_alg alg, const char *typ, const char *kid,
		 const uint8_t *payload, size_t payload_len, char **compact, struct vg_err *err)
{
	*compact = NULL;
	const char *name = att_jws_alg_name(alg);
	if (!name)
		return vg_err_set(err, EINVAL, "jws: unsupported algorithm %u", (unsigned)alg);
	if (att_jws_alg_for_key(key) != alg)
		return vg_err_set(err, EINVAL, "jws: the key does not fit %s", name);
	if (payload_len > ATT_JWS_MAX_COMPACT)
		return vg_err_set(err, E2BIG, "jws: payload of %zu bytes too large", payload_len);

	int rc = -ENOMEM;
	json_t *hdr = json_object();
	char *hdr_txt = NULL, *h64 = NULL, *p64 = NULL, *s64 = NULL, *out = NULL;
	unsigned char *der = NULL;
	uint8_t raw[96];
	ECDSA_SIG *es = NULL;
	EVP_MD_CTX *mctx = NULL;
	if (!hdr || json_object_set_new(hdr, "alg", json_string(name)) ||
	    (typ && json_object_set_new(hdr, "typ", json_string(typ))) ||
	    (kid && json_object_set_new(hdr, "kid", json_string(kid))))
		goto out;
	if (!(hdr_txt = att_jose_dump(hdr)) || !(h64 = att_b64_encode(hdr_txt, strlen(hdr_txt), true)) ||
	    !(p64 = att_b64_encode(payload ? payload : (const uint8_t *)"", payload_len, true)))
		goto out;
	size_t h = strlen(h64), p = strlen(p64);
	size_t in_len = h + 1 + p;
	if (!(out = malloc(in_len + 1 + 4 * ((96 + 2) / 3) + 1)))
		goto out;
	memcpy(out, h64, h);
	out[h] = '.';
	memcpy(out + h + 1, p64, p);

	size_t siglen = 0;
	if (!(mctx = EVP_MD_CTX_new()) || EVP_DigestSignInit(mctx, NULL, md_of(alg), NULL, key) <= 0 ||
	    EVP_DigestSign(mctx, NULL, &siglen, (const unsigned char *)out, in_len) <= 0 ||
	    !(der = malloc(siglen)) ||
	    EVP_DigestSign(mctx, der, &siglen, (const unsigned char *)out, in_len) <= 0) {
		rc = vg_err_set(err, EIO, "jws: %s signing failed", name);
		goto out;
	}
	size_t want = sig_len_of(alg);
	if (alg == ATT_JWS_EDDSA) {
		if (siglen != want) {
			rc = vg_err_set(err, EIO, "jws: unexpected Ed25519 signature length %zu", siglen);
			goto out;
		}
		memcpy(raw, der, want);
	} else {
		const unsigned char *pp = der;
		const BIGNUM *r, *s;
		if (!(es = d2i_ECDSA_SIG(NULL, &pp, (long)siglen))) {
			rc = vg_err_set(err, EIO, "jws: cannot decode the ECDSA signature");
			goto out;
		}
		ECDSA_SIG_get0(es, &r, &s);
		if (BN_bn2binpad(r, raw, (int)want / 2) < 0 || BN_bn2binpad(s, raw + want / 2, (int)want / 2) < 0) {
			rc = vg_err_set(err, EIO, "jws: ECDSA signature does not fit %zu bytes", want);
			goto out;
		}
	}
	if (!(s64 = att_b64_encode(raw, want, true)))
		goto out;
	out[in_len] = '.';
	memcpy(out + in_len + 1, s64, strlen(s64) + 1);
	*compact = out;
	out = NULL;
	rc = 0;
out:
	if (rc == -ENOMEM)
		vg_err_set(err, ENOMEM, "jws: out of memory");
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(mctx);
	free(der);
	free(out);
	free(s64);
	free(p64);
	free(h64);
	free(hdr_txt);
	json_decref(hdr);
	return rc;
}

/* 1 valid, 0 invalid. ECDSA: raw R||S through the attest/ helper. */
static int verify_one(EVP_PKEY *key, enum att_jws_alg alg, const char *in, size_t in_len, const uint8_t *sig,
		      size_t sig_len)
{
	if (alg != ATT_JWS_EDDSA)
		return att_ecdsa_verify_be(key, md_of(alg), (const uint8_t *)in, in_len, sig, sig + sig_len / 2,
					   sig_len / 2) == 1;
	EVP_MD_CTX *mctx = EVP_MD_CTX_new();
	int ok = mctx && EVP_DigestVerifyInit(mctx, NULL, NULL, NULL, key) > 0 &&
		 EVP_DigestVerify(mctx, sig, sig_len, (const unsigned char *)in, in_len) == 1;
	EVP_MD_CTX_free(mctx);
	return ok;
}

int att_jws_verify(const char *compact, EVP_PKEY *const *keys, size_t nkeys, unsigned allowed_algs,
		   uint8_t **payload, size_t *payload_len, json_t **header, struct vg_err *err)
{
	*payload = NULL;
	*payload_len = 0;
	if (header)
		*header = NULL;
	if (!compact)
		return vg_err_set(err, EINVAL, "jws: no token");
	size_t len = strnlen(compact, ATT_JWS_MAX_COMPACT + 1);
	if (len > ATT_JWS_MAX_COMPACT)
		return vg_err_set(err, E2BIG, "jws: token longer than %u bytes", ATT_JWS_MAX_COMPACT);
	const char *d1 = memchr(compact, '.', len);
	const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - compact)) : NULL;
	if (!d1 || !d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - compact)))
		return vg_err_set(err, EINVAL, "jws: not a compact JWS (three base64url parts separated by '.')");

	uint8_t *hdr_bin = NULL, *pl = NULL, *sig = NULL;
	size_t hdr_len = 0, pl_len = 0, sig_len = 0;
	json_t *hdr = NULL;
	int rc = att_b64_decode(compact, (size_t)(d1 - compact), true, &hdr_bin, &hdr_len, err);
	if (rc) {
		vg_err_prefix(err, "jws header");
		goto out;
	}
	if (hdr_len > ATT_JOSE_MAX_HEADER) {
		rc = vg_err_set(err, E2BIG, "jws: header of %zu bytes too large", hdr_len);
		goto out;
	}
	if ((rc = vg_json_parse_object(hdr_bin, hdr_len, "jws header", &hdr, err)))
		goto out;
	json_t *a = json_object_get(hdr, "alg");
	if (!json_is_string(a)) {
		rc = vg_err_set(err, EINVAL, "jws: header \"alg\" missing or not a string");
		goto out;
	}
	enum att_jws_alg alg = 0;
	for (size_t i = 0; i < VG_ARRAY_SIZE(algs); i++)
		if (strcmp(json_string_value(a), algs[i].name) == 0 && json_string_length(a) == strlen(algs[i].name))
			alg = algs[i].alg;
	if (!alg) {
		rc = vg_err_set(err, EACCES, "jws: algorithm \"%.32s\" is not supported (ES256, ES384, EdDSA only)",
				json_string_value(a));
		goto out;
	}
	if (!(allowed_algs & alg)) {
		rc = vg_err_set(err, EACCES, "jws: algorithm %s is not allowed here", att_jws_alg_name(alg));
		goto out;
	}
	if (json_object_get(hdr, "crit")) {
		rc = vg_err_set(err, EINVAL, "jws: header \"crit\" is not supported");
		goto out;
	}
	if (json_object_get(hdr, "b64")) {
		rc = vg_err_set(err, EINVAL, "jws: header \"b64\" (RFC 7797) is not supported");
		goto out;
	}
	if ((rc = att_b64_decode(d1 + 1, (size_t)(d2 - d1 - 1), true, &pl, &pl_len, err))) {
		vg_err_prefix(err, "jws payload");
		goto out;
	}
	if ((rc = att_b64_decode(d2 + 1, len - (size_t)(d2 + 1 - compact), true, &sig, &sig_len, err))) {
		vg_err_prefix(err, "jws signature");
		goto out;
	}
	if (sig_len != sig_len_of(alg)) {
		rc = vg_err_set(err, EACCES, "jws: %s signature must be %zu bytes, not %zu", att_jws_alg_name(alg),
				sig_len_of(alg), sig_len);
		goto out;
	}
	size_t fitting = 0;
	bool ok = false;
	for (size_t i = 0; i < nkeys && !ok; i++) {
		if (!keys[i] || att_jws_alg_for_key(keys[i]) != alg)
			continue;
		fitting++;
		ok = verify_one(keys[i], alg, compact, (size_t)(d2 - compact), sig, sig_len);
	}
	if (!fitting) {
		rc = vg_err_set(err, EACCES, "jws: no key for algorithm %s", att_jws_alg_name(alg));
		goto out;
	}
	if (!ok) {
		rc = vg_err_set(err, EACCES, "jws: %s signature does not verify", att_jws_alg_name(alg));
		goto out;
	}
	if (!pl && !(pl = malloc(1))) {
		rc = vg_err_set(err, ENOMEM, "jws: out of memory");
		goto out;
	}
	*payload = pl;
	*payload_len = pl_len;
	pl = NULL;
	if (header) {
		*header = hdr;
		hdr = NULL;
	}
	rc = 0;
out:
	free(hdr_bin);
	free(pl);
	free(sig);
	json_decref(hdr);
	return rc;
}
