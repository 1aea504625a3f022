/* JSON Web Keys (RFC 7517, RFC 7518 sec. 6, RFC 8037) for EC P-256/P-384,
 * Ed25519 and RSA public keys, and the RFC 7638 thumbprint. Keys are built
 * with EVP_PKEY_fromdata and checked with EVP_PKEY_public_check (EC points on
 * the curve); coordinates must have exactly the curve's length. */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include "attest/jose_priv.h"

#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 16384

static int set_bn(json_t *jwk, const char *name, const EVP_PKEY *key, const char *param, size_t pad)
{
	BIGNUM *bn = NULL;
	if (!EVP_PKEY_get_bn_param(key, param, &bn))
		return -EINVAL;
	int n = BN_num_bytes(bn);
	size_t len = pad ? pad : (size_t)(n ? n : 1);
	uint8_t *buf = malloc(len);
	int rc = -ENOMEM;
	if (buf && BN_bn2binpad(bn, buf, (int)len) == (int)len)
		rc = att_jose_set_b64(jwk, name, buf, len);
	else if (buf)
		rc = -EINVAL;
	free(buf);
	BN_free(bn);
	return rc;
}

json_t *att_jwk_from_pkey(const EVP_PKEY *key, struct vg_err *err)
{
	if (!key) {
		vg_err_set(err, EINVAL, "jwk: no key");
		return NULL;
	}
	json_t *jwk = json_object();
	if (!jwk) {
		vg_err_set(err, ENOMEM, "jwk: out of memory");
		return NULL;
	}
	int rc = -EINVAL;
	int id = EVP_PKEY_get_base_id(key);
	if (id == EVP_PKEY_EC) {
		const struct att_jose_curve *c = att_jose_curve_of(key);
		if (!c) {
			vg_err_set(err, EINVAL, "jwk: EC key on a curve other than P-256 or P-384");
			goto fail;
		}
		if (json_object_set_new(jwk, "crv", json_string(c->jwk)) ||
		    json_object_set_new(jwk, "kty", json_string("EC")))
			goto oom;
		if ((rc = set_bn(jwk, "x", key, OSSL_PKEY_PARAM_EC_PUB_X, c->size)) ||
		    (rc = set_bn(jwk, "y", key, OSSL_PKEY_PARAM_EC_PUB_Y, c->size)))
			goto bad;
	} else if (id == EVP_PKEY_ED25519) {
		uint8_t pub[32];
		size_t n = 0;
		if (!EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub), &n) || n != 32) {
			rc = -EINVAL;
			goto bad;
		}
		if (json_object_set_new(jwk, "crv", json_string("Ed25519")) ||
		    json_object_set_new(jwk, "kty", json_string("OKP")) || att_jose_set_b64(jwk, "x", pub, 32))
			goto oom;
	} else if (id == EVP_PKEY_RSA) {
		if ((rc = set_bn(jwk, "e", key, OSSL_PKEY_PARAM_RSA_E, 0)))
			goto bad;
		if (json_object_set_new(jwk, "kty", json_string("RSA")))
			goto oom;
		if ((rc = set_bn(jwk, "n", key, OSSL_PKEY_PARAM_RSA_N, 0)))
			goto bad;
	} else {
		vg_err_set(err, EINVAL, "jwk: unsupported key type %s", OBJ_nid2sn(id));
		goto fail;
	}
	return jwk;
bad:
	if (rc == -ENOMEM)
		goto oom;
	vg_err_set(err, EINVAL, "jwk: cannot read the public key parameters");
	goto fail;
oom:
	vg_err_set(err, ENOMEM, "jwk: out of memory");
fail:
	json_decref(jwk);
	return NULL;
}

static const char *str_member(const json_t *jwk, const char *name)
{
	return json_string_value(json_object_get(jwk, name));
}

/* Builds a public key of `type` from params and runs the public-key check. */
static int fromdata(const char *type, OSSL_PARAM *params, EVP_PKEY **out, const char *what, struct vg_err *err)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *pk = NULL;
	int rc = -EINVAL;
	if (!ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) <= 0 || !pk) {
		vg_err_set(err, EINVAL, "jwk: %s is not a valid public key", what);
		goto out;
	}
	EVP_PKEY_CTX_free(ctx);
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	if (!ctx || EVP_PKEY_public_check(ctx) != 1) {
		vg_err_set(err, EINVAL, "jwk: %s fails the public key check (point not on the curve?)", what);
		goto out;
	}
	*out = pk;
	pk = NULL;
	rc = 0;
out:
	EVP_PKEY_free(pk);
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

static int jwk_ec(const json_t *jwk, EVP_PKEY **out, struct vg_err *err)
{
	const char *crv = str_member(jwk, "crv");
	const struct att_jose_curve *c = att_jose_curve_by_name(crv);
	if (!c)
		return vg_err_set(err, EINVAL, "jwk: EC \"crv\" %s%s%s not supported (P-256, P-384)", crv ? "\"" : "",
				  crv ? crv : "missing", crv ? "\"" : "");
	uint8_t *x = NULL, *y = NULL;
	size_t xl = 0, yl = 0;
	int rc = att_jose_b64_member(jwk, "x", 66, &x, &xl, err);
	if (!rc)
		rc = att_jose_b64_member(jwk, "y", 66, &y, &yl, err);
	if (rc) {
		vg_err_prefix(err, "jwk");
		goto out;
	}
	if (xl != c->size || yl != c->size) {
		rc = vg_err_set(err, EINVAL, "jwk: %s coordinates must be %zu bytes (x %zu, y %zu)", c->jwk, c->size, xl, yl);
		goto out;
	}
	uint8_t pt[1 + 2 * 66];
	pt[0] = 0x04;
	memcpy(pt + 1, x, xl);
	memcpy(pt + 1 + xl, y, yl);
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)c->group, 0),
		OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pt, 1 + xl + yl),
		OSSL_PARAM_construct_end(),
	};
	rc = fromdata("EC", params, out, c->jwk, err);
out:
	free(x);
	free(y);
	return rc;
}

static int jwk_okp(const json_t *jwk, EVP_PKEY **out, struct vg_err *err)
{
	const char *crv = str_member(jwk, "crv");
	if (!crv || strcmp(crv, "Ed25519") != 0)
		return vg_err_set(err, EINVAL, "jwk: OKP \"crv\" %s not supported (Ed25519)", crv ? crv : "missing");
	uint8_t *x = NULL;
	size_t xl = 0;
	int rc = att_jose_b64_member(jwk, "x", 64, &x, &xl, err);
	if (rc)
		return vg_err_prefix(err, "jwk");
	if (xl != 32) {
		free(x);
		return vg_err_set(err, EINVAL, "jwk: Ed25519 \"x\" must be 32 bytes, not %zu", xl);
	}
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, x, xl),
		OSSL_PARAM_construct_end(),
	};
	rc = fromdata("ED25519", params, out, "Ed25519", err);
	free(x);
	return rc;
}

static int jwk_rsa(const json_t *jwk, EVP_PKEY **out, struct vg_err *err)
{
	uint8_t *n = NULL, *e = NULL;
	size_t nl = 0, el = 0;
	BIGNUM *bn = NULL, *be = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	int rc = att_jose_b64_member(jwk, "n", RSA_MAX_BITS / 8, &n, &nl, err);
	if (!rc)
		rc = att_jose_b64_member(jwk, "e", 8, &e, &el, err);
	if (rc) {
		vg_err_prefix(err, "jwk");
		goto out;
	}
	/* RFC 7518 sec. 6.3.1: minimal octets (no leading zero). */
	if (!nl || !el || n[0] == 0 || e[0] == 0) {
		rc = vg_err_set(err, EINVAL, "jwk: RSA \"n\"/\"e\" empty or with a leading zero octet");
		goto out;
	}
	bn = BN_bin2bn(n, (int)nl, NULL);
	be = BN_bin2bn(e, (int)el, NULL);
	if (!bn || !be) {
		rc = vg_err_set(err, ENOMEM, "jwk: out of memory");
		goto out;
	}
	if (BN_num_bits(bn) < RSA_MIN_BITS) {
		rc = vg_err_set(err, EINVAL, "jwk: RSA modulus of %d bits is below %d", BN_num_bits(bn), RSA_MIN_BITS);
		goto out;
	}
	bld = OSSL_PARAM_BLD_new();
	if (!bld || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) || !(params = OSSL_PARAM_BLD_to_param(bld))) {
		rc = vg_err_set(err, ENOMEM, "jwk: out of memory");
		goto out;
	}
	rc = fromdata("RSA", params, out, "RSA key", err);
out:
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	free(n);
	free(e);
	return rc;
}

int att_jwk_to_pkey(const json_t *jwk, EVP_PKEY **out, struct vg_err *err)
{
	*out = NULL;
	if (!json_is_object(jwk))
		return vg_err_set(err, EINVAL, "jwk: not a JSON object");
	const char *kty = str_member(jwk, "kty");
	if (!kty)
		return vg_err_set(err, EINVAL, "jwk: \"kty\" missing or not a string");
	if (json_object_get(jwk, "d"))
		return vg_err_set(err, EINVAL, "jwk: private key member \"d\" in a public JWK");
	if (strcmp(kty, "EC") == 0)
		return jwk_ec(jwk, out, err);
	if (strcmp(kty, "OKP") == 0)
		return jwk_okp(jwk, out, err);
	if (strcmp(kty, "RSA") == 0)
		return jwk_rsa(jwk, out, err);
	return vg_err_set(err, EINVAL, "jwk: \"kty\" \"%.32s\" not supported (EC, OKP, RSA)", kty);
}

int att_jwk_thumbprint(const json_t *jwk, char out[44], struct vg_err *err)
{
	out[0] = 0;
	if (!json_is_object(jwk))
		return vg_err_set(err, EINVAL, "jwk thumbprint: not a JSON object");
	const char *kty = str_member(jwk, "kty");
	static const char *const ec[] = {"crv", "kty", "x", "y", NULL};
	static const char *const okp[] = {"crv", "kty", "x", NULL};
	static const char *const rsa[] = {"e", "kty", "n", NULL};
	const char *const *req = !kty ? NULL
				 : strcmp(kty, "EC") == 0  ? ec
				 : strcmp(kty, "OKP") == 0 ? okp
				 : strcmp(kty, "RSA") == 0 ? rsa
							   : NULL;
	if (!req)
		return vg_err_set(err, EINVAL, "jwk thumbprint: \"kty\" missing or not EC, OKP or RSA");
	/* RFC 7638 sec. 3.2: the required members only, lexicographic order, no
	 * whitespace: exactly the JCS form of that object. */
	json_t *sub = json_object();
	struct vg_buf b = {0};
	int rc = sub ? 0 : -ENOMEM;
	for (size_t i = 0; !rc && req[i]; i++) {
		json_t *m = json_object_get(jwk, req[i]);
		if (!json_is_string(m))
			rc = vg_err_set(err, EINVAL, "jwk thumbprint: member \"%s\" missing or not a string", req[i]);
		else if (json_object_set(sub, req[i], m))
			rc = -ENOMEM;
	}
	if (!rc)
		rc = att_jcs_serialize(sub, &b, err);
	uint8_t md[32];
	unsigned int mdlen = 0;
	if (!rc && !EVP_Digest(b.data, b.len, md, &mdlen, EVP_sha256(), NULL))
		rc = vg_err_set(err, EIO, "jwk thumbprint: SHA-256 failed");
	if (!rc) {
		char *s = att_b64_encode(md, 32, true);
		if (s && strlen(s) == 43)
			memcpy(out, s, 44);
		else
			rc = -ENOMEM;
		free(s);
	}
	if (rc == -ENOMEM)
		vg_err_set(err, ENOMEM, "jwk thumbprint: out of memory");
	vg_buf_free(&b);
	json_decref(sub);
	return rc;
}
