/* Unit tests for the JOSE and KBS-binding part of attest/: base64, JWS, JWK,
 * RFC 7638 thumbprints, JWE, RFC 8785 JCS and the KBS REPORT_DATA. Known
 * answers come from the RFCs and from tools we did not write (see comments). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "attest/attest.h"

static EVP_PKEY *keys[4]; /* P-256, P-384, Ed25519, RSA-2048 */

static int setup(void **state)
{
	(void)state;
	keys[0] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	keys[1] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	keys[2] = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	keys[3] = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	return keys[0] && keys[1] && keys[2] && keys[3] ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < 4; i++)
		EVP_PKEY_free(keys[i]);
	return 0;
}

/* ------------------------------------------------------------- base64 */
static void b64_ok(const char *txt, bool url, const char *bin)
{
	char *e = att_b64_encode(bin, strlen(bin), url);
	assert_non_null(e);
	assert_string_equal(e, txt);
	free(e);
	uint8_t *d;
	size_t n;
	struct vg_err err = {0};
	assert_int_equal(att_b64_decode(txt, strlen(txt), url, &d, &n, &err), 0);
	assert_int_equal(n, strlen(bin));
	assert_memory_equal(d, bin, n);
	free(d);
}

static void b64_bad(const char *txt, bool url, const char *why)
{
	uint8_t *d = (uint8_t *)1;
	size_t n = 7;
	struct vg_err err = {0};
	assert_int_equal(att_b64_decode(txt, strlen(txt), url, &d, &n, &err), -EINVAL);
	assert_null(d);
	assert_int_equal(n, 0);
	if (!strstr(err.msg, why))
		fail_msg("'%s': message '%s' lacks '%s'", txt, err.msg, why);
}

static void test_b64(void **state)
{
	(void)state;
	/* RFC 4648 sec. 10 test vectors. */
	b64_ok("", false, "");
	b64_ok("Zg==", false, "f");
	b64_ok("Zm8=", false, "fo");
	b64_ok("Zm9v", false, "foo");
	b64_ok("Zm9vYg==", false, "foob");
	b64_ok("Zm9vYmE=", false, "fooba");
	b64_ok("Zm9vYmFy", false, "foobar");
	b64_ok("Zg", true, "f");
	b64_ok("Zm8", true, "fo");
	b64_ok("Zm9vYmFy", true, "foobar");
	/* The alphabets differ in two symbols: 0xfb 0xff 0xbf. */
	b64_ok("+/+/", false, "\xfb\xff\xbf");
	b64_ok("-_-_", true, "\xfb\xff\xbf");

	b64_bad("Zg", false, "bad padding");
	b64_bad("Zg=", false, "bad padding");
	b64_bad("Zg==", true, "padding");
	b64_bad("Zh==", false, "non-canonical");   /* trailing bits set */
	b64_bad("Zm9=", false, "non-canonical");
	b64_bad("Zh", true, "non-canonical");
	b64_bad("Zm9vY", true, "impossible length");
	b64_bad("Zm9v\n", false, "invalid character 0x0a at position 4");
	b64_bad("Zm 9v", false, "invalid character 0x20");
	b64_bad("-_-_", false, "invalid character 0x2d");
	b64_bad("+/+/", true, "invalid character 0x2b");
	b64_bad("Zg==Zg==", false, "data after padding");
	b64_bad("Z===", false, "bad padding");
	b64_bad("Zm9v\xc3\xa9", true, "invalid character");
}

/* ------------------------------------------------------------ JWS / JWK */
static void test_jws_roundtrip(void **state)
{
	(void)state;
	const enum att_jws_alg algs[3] = {ATT_JWS_ES256, ATT_JWS_ES384, ATT_JWS_EDDSA};
	const char *names[3] = {"ES256", "ES384", "EdDSA"};
	const char *payload = "{\"iss\":\"vigil\",\"n\":1}";
	unsigned all = ATT_JWS_ES256 | ATT_JWS_ES384 | ATT_JWS_EDDSA;
	for (int i = 0; i < 3; i++) {
		struct vg_err err = {0};
		assert_int_equal(att_jws_alg_for_key(keys[i]), algs[i]);
		assert_string_equal(att_jws_alg_name(algs[i]), names[i]);
		char *jws;
		assert_int_equal(att_jws_sign(keys[i], algs[i], "JWT", "k1", (const uint8_t *)payload, strlen(payload),
					      &jws, &err), 0);
		uint8_t *pl;
		size_t pl_len;
		json_t *hdr;
		assert_int_equal(att_jws_verify(jws, keys, 4, all, &pl, &pl_len, &hdr, &err), 0);
		assert_int_equal(pl_len, strlen(payload));
		assert_memory_equal(pl, payload, pl_len);
		assert_string_equal(json_string_value(json_object_get(hdr, "alg")), names[i]);
		assert_string_equal(json_string_value(json_object_get(hdr, "typ")), "JWT");
		assert_string_equal(json_string_value(json_object_get(hdr, "kid")), "k1");
		free(pl);
		json_decref(hdr);

		/* The JWK of the key verifies too (public key from JWK). */
		json_t *jwk = att_jwk_from_pkey(keys[i], &err);
		assert_non_null(jwk);
		assert_null(json_object_get(jwk, "d"));
		EVP_PKEY *pub;
		assert_int_equal(att_jwk_to_pkey(jwk, &pub, &err), 0);
		assert_int_equal(EVP_PKEY_eq(pub, keys[i]), 1);
		assert_int_equal(att_jws_verify(jws, &pub, 1, algs[i], &pl, &pl_len, NULL, &err), 0);
		free(pl);
		json_decref(jwk);
		EVP_PKEY_free(pub);

		/* Not allowed. */
		assert_int_equal(att_jws_verify(jws, keys, 4, all & ~algs[i], &pl, &pl_len, NULL, &err), -EACCES);
		assert_non_null(strstr(err.msg, "not allowed"));
		/* No fitting key. */
		EVP_PKEY *other = keys[(i + 1) % 3];
		assert_int_equal(att_jws_verify(jws, &other, 1, all, &pl, &pl_len, NULL, &err), -EACCES);
		assert_non_null(strstr(err.msg, "no key"));

		/* Tampering: payload, signature, header. */
		char *dot1 = strchr(jws, '.'), *dot2 = strrchr(jws, '.');
		char *t = strdup(jws);
		t[dot1 - jws + 2] ^= 1; /* payload character: still base64url */
		assert_int_not_equal(att_jws_verify(t, keys, 4, all, &pl, &pl_len, NULL, &err), 0);
		free(t);
		t = strdup(jws);
		t[dot2 - jws + 3] = t[dot2 - jws + 3] == 'A' ? 'B' : 'A';
		assert_int_equal(att_jws_verify(t, keys, 4, all, &pl, &pl_len, NULL, &err), -EACCES);
		assert_non_null(strstr(err.msg, "does not verify"));
		free(t);
		t = strdup(jws);
		t[5] = t[5] == 'A' ? 'B' : 'A';
		assert_int_not_equal(att_jws_verify(t, keys, 4, all, &pl, &pl_len, NULL, &err), 0);
		free(t);
		/* Signature one byte short / long. */
		size_t l = strlen(jws);
		t = malloc(l + 8);
		memcpy(t, jws, l + 1);
		t[l - 3] = 0; /* 2 bytes short in base64url: non-canonical or short */
		assert_int_not_equal(att_jws_verify(t, keys, 4, all, &pl, &pl_len, NULL, &err), 0);
		memcpy(t, jws, l);
		memcpy(t + l, "AAAA", 5); /* 3 more bytes */
		assert_int_equal(att_jws_verify(t, keys, 4, all, &pl, &pl_len, NULL, &err), -EACCES);
		assert_non_null(strstr(err.msg, "signature must be"));
		free(t);
		/* Four parts / two parts. */
		t = malloc(l + 8);
		memcpy(t, jws, l + 1);
		strcat(t, ".e30");
		assert_int_equal(att_jws_verify(t, keys, 4, all, &pl, &pl_len, NULL, &err), -EINVAL);
		*dot2 = 0;
		assert_int_equal(att_jws_verify(jws, keys, 4, all, &pl, &pl_len, NULL, &err), -EINVAL);
		free(t);
		free(jws);
	}
	/* A key that does not fit the requested algorithm. */
	char *jws;
	struct vg_err err = {0};
	assert_int_equal(att_jws_sign(keys[0], ATT_JWS_ES384, NULL, NULL, (const uint8_t *)"x", 1, &jws, &err), -EINVAL);
	assert_int_equal(att_jws_sign(keys[3], ATT_JWS_ES256, NULL, NULL, (const uint8_t *)"x", 1, &jws, &err), -EINVAL);
	assert_int_equal(att_jws_alg_for_key(keys[3]), 0);
}

/* A compact JWS with header hdr (JSON text), payload "{}" and signature sig64. */
static char *forge(const char *hdr, const char *sig64)
{
	char *h = att_b64_encode(hdr, strlen(hdr), true);
	size_t n = strlen(h) + strlen(sig64) + 8;
	char *out = malloc(n);
	snprintf(out, n, "%s.e30.%s", h, sig64);
	free(h);
	return out;
}

static void test_jws_refused_headers(void **state)
{
	(void)state;
	unsigned all = ATT_JWS_ES256 | ATT_JWS_ES384 | ATT_JWS_EDDSA;
	static const struct {
		const char *hdr, *why;
	} cases[] = {
		{"{\"alg\":\"none\"}", "\"none\" is not supported"},
		{"{\"alg\":\"HS256\"}", "\"HS256\" is not supported"},
		{"{\"alg\":\"RS256\"}", "not supported"},
		{"{\"alg\":\"es256\"}", "not supported"},
		{"{\"typ\":\"JWT\"}", "\"alg\" missing"},
		{"{\"alg\":5}", "\"alg\" missing or not a string"},
		{"[\"alg\"]", "not a JSON object"},
		{"{\"alg\":\"ES256\",\"alg\":\"ES256\"}", "not valid JSON"},
		{"{\"alg\":\"ES256\",\"crit\":[\"exp\"],\"exp\":1}", "\"crit\""},
		{"{\"alg\":\"ES256\",\"b64\":false}", "\"b64\""},
		{"nope", "not valid JSON"},
	};
	for (size_t i = 0; i < VG_ARRAY_SIZE(cases); i++) {
		/* 64 zero bytes as the signature. */
		char *t = forge(cases[i].hdr, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
		uint8_t *pl = NULL;
		size_t pl_len;
		struct vg_err err = {0};
		assert_int_not_equal(att_jws_verify(t, keys, 4, all, &pl, &pl_len, NULL, &err), 0);
		assert_null(pl);
		if (!strstr(err.msg, cases[i].why))
			fail_msg("%s: message '%s' lacks '%s'", cases[i].hdr, err.msg, cases[i].why);
		free(t);
	}
	/* All-zero ES256 signature with a valid header: rejected by the signature check. */
	char *t = forge("{\"alg\":\"ES256\"}", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	uint8_t *pl = NULL;
	size_t pl_len;
	struct vg_err err = {0};
	assert_int_equal(att_jws_verify(t, keys, 4, all, &pl, &pl_len, NULL, &err), -EACCES);
	assert_non_null(strstr(err.msg, "does not verify"));
	free(t);
}

static json_t *jparse(const char *s)
{
	json_error_t je;
	json_t *v = json_loads(s, 0, &je);
	if (!v)
		fail_msg("bad test JSON: %s", je.text);
	return v;
}

static void test_jwk(void **state)
{
	(void)state;
	struct vg_err err = {0};
	/* RFC 7638 sec. 3.1: the RSA example and its thumbprint. */
	json_t *rsa = jparse(
		"{\"kty\":\"RSA\",\"n\":\"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECP"
		"ebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c"
		"7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kE"
		"gU8awapJzKnqDKgw\",\"e\":\"AQAB\",\"alg\":\"RS256\",\"kid\":\"2011-04-29\"}");
	char tp[44];
	assert_int_equal(att_jwk_thumbprint(rsa, tp, &err), 0);
	assert_string_equal(tp, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	EVP_PKEY *pk;
	assert_int_equal(att_jwk_to_pkey(rsa, &pk, &err), 0);
	assert_int_equal(EVP_PKEY_get_bits(pk), 2048);
	/* Back to JWK: the same thumbprint (alg/kid are not part of it). */
	json_t *again = att_jwk_from_pkey(pk, &err);
	assert_int_equal(att_jwk_thumbprint(again, tp, &err), 0);
	assert_string_equal(tp, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	json_decref(again);
	EVP_PKEY_free(pk);
	json_decref(rsa);

	/* RFC 7517 A.1 P-256 public key: valid; then broken variants. */
	const char *x = "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4", *y = "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM";
	char buf[512];
	snprintf(buf, sizeof(buf), "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\",\"use\":\"enc\",\"kid\":\"1\"}", x, y);
	json_t *ec = jparse(buf);
	assert_int_equal(att_jwk_to_pkey(ec, &pk, &err), 0);
	json_t *back = att_jwk_from_pkey(pk, &err);
	assert_string_equal(json_string_value(json_object_get(back, "x")), x);
	assert_string_equal(json_string_value(json_object_get(back, "y")), y);
	assert_string_equal(json_string_value(json_object_get(back, "crv")), "P-256");
	json_decref(back);
	EVP_PKEY_free(pk);
	json_decref(ec);

	static const struct {
		const char *fmt, *why;
	} bad[] = {
		/* off the curve: y changed in its last bits */
		{"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyA\"}", "valid public key"},
		{"{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"%s\",\"y\":\"%s\"}", "must be 48 bytes"},
		{"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA%s\",\"y\":\"%s\"}", "x"},
		{"{\"kty\":\"EC\",\"crv\":\"P-521\",\"x\":\"%s\",\"y\":\"%s\"}", "not supported"},
		{"{\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", "missing"},
		{"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\"}", "\"y\" missing"},
		{"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\",\"d\":\"AA\"}", "private key member"},
		{"{\"kty\":\"oct\",\"k\":\"%s\"}", "not supported"},
		{"{\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}", "\"kty\" missing"},
		{"{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\"}", "32 bytes"}, /* also 32? x is 32 bytes: see below */
		{"{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"%s\"}", "not supported"},
		{"{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}", "below 2048"},
		{"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s=\",\"y\":\"%s\"}", "padding"},
	};
	for (size_t i = 0; i < VG_ARRAY_SIZE(bad); i++) {
		if (i == 9)
			continue; /* filled below with a 31-byte key */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		snprintf(buf, sizeof(buf), bad[i].fmt, x, y);
#pragma GCC diagnostic pop
		json_t *j = jparse(buf);
		pk = NULL;
		assert_int_not_equal(att_jwk_to_pkey(j, &pk, &err), 0);
		assert_null(pk);
		if (!strstr(err.msg, bad[i].why))
			fail_msg("%s: message '%s' lacks '%s'", buf, err.msg, bad[i].why);
		json_decref(j);
	}
	json_t *j = jparse("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHUR\"}");
	assert_int_equal(att_jwk_to_pkey(j, &pk, &err), -EINVAL);
	json_decref(j);
	/* RFC 8037 A.2 Ed25519 public key and its RFC 8037 A.3 thumbprint. */
	j = jparse("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}");
	assert_int_equal(att_jwk_to_pkey(j, &pk, &err), 0);
	assert_int_equal(att_jwk_thumbprint(j, tp, &err), 0);
	assert_string_equal(tp, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
	EVP_PKEY_free(pk);
	json_decref(j);
	/* Thumbprint input errors. */
	j = jparse("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA\"}");
	assert_int_equal(att_jwk_thumbprint(j, tp, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "\"y\" missing"));
	json_decref(j);
	/* An unsupported key type has no JWK here. */
	EVP_PKEY *x25519 = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	assert_null(att_jwk_from_pkey(x25519, &err));
	assert_non_null(strstr(err.msg, "unsupported key type"));
	EVP_PKEY_free(x25519);
}


/* ------------------------------------------------------------------ JWE */
/* Flips one bit in the decoded member `name` of a copy of jwe. */
static json_t *tamper(const json_t *jwe, const char *name, size_t byte)
{
	json_t *t = json_deep_copy(jwe);
	const char *s = json_string_value(json_object_get(t, name));
	uint8_t *bin;
	size_t n;
	assert_int_equal(att_b64_decode(s, strlen(s), true, &bin, &n, NULL), 0);
	assert_true(n > 0);
	bin[byte % n] ^= 0x01;
	char *e = att_b64_encode(bin, n, true);
	json_object_set_new(t, name, json_string(e));
	free(e);
	free(bin);
	return t;
}

static void jwe_rejects(EVP_PKEY *priv, json_t *t, int code, const char *why)
{
	uint8_t *pt = (uint8_t *)1;
	size_t n = 5;
	struct vg_err err = {0};
	assert_int_equal(att_jwe_decrypt(priv, t, &pt, &n, &err), code);
	assert_null(pt);
	assert_int_equal(n, 0);
	if (!strstr(err.msg, why))
		fail_msg("message '%s' lacks '%s'", err.msg, why);
	json_decref(t);
}

/* A copy of jwe whose protected header is hdr_json (not re-encrypted). */
static json_t *with_header(const json_t *jwe, const char *hdr_json)
{
	json_t *t = json_deep_copy(jwe);
	char *h = att_b64_encode(hdr_json, strlen(hdr_json), true);
	json_object_set_new(t, "protected", json_string(h));
	free(h);
	return t;
}

static void test_jwe(void **state)
{
	(void)state;
	const char *msg = "the tenant's secret: 0123456789abcdef";
	const int idx[3] = {0, 1, 3};
	const char *alg[3] = {"ECDH-ES+A256KW", "ECDH-ES+A256KW", "RSA-OAEP-256"};
	for (int k = 0; k < 3; k++) {
		EVP_PKEY *key = keys[idx[k]];
		struct vg_err err = {0};
		json_t *jwe;
		assert_int_equal(att_jwe_encrypt(key, (const uint8_t *)msg, strlen(msg), &jwe, &err), 0);
		/* The header names alg, enc and (ECDH) an epk on the recipient's curve. */
		const char *p = json_string_value(json_object_get(jwe, "protected"));
		uint8_t *hb;
		size_t hl;
		assert_int_equal(att_b64_decode(p, strlen(p), true, &hb, &hl, &err), 0);
		json_t *hdr = json_loadb((const char *)hb, hl, 0, NULL);
		free(hb);
		assert_string_equal(json_string_value(json_object_get(hdr, "alg")), alg[k]);
		assert_string_equal(json_string_value(json_object_get(hdr, "enc")), "A256GCM");
		if (k < 2)
			assert_string_equal(json_string_value(json_object_get(json_object_get(hdr, "epk"), "crv")),
					    k == 0 ? "P-256" : "P-384");
		json_decref(hdr);

		uint8_t *pt;
		size_t n;
		assert_int_equal(att_jwe_decrypt(key, jwe, &pt, &n, &err), 0);
		assert_int_equal(n, strlen(msg));
		assert_memory_equal(pt, msg, n);
		free(pt);

		/* Tampering anywhere is caught. */
		jwe_rejects(key, tamper(jwe, "ciphertext", 3), -EACCES, "tag mismatch");
		jwe_rejects(key, tamper(jwe, "tag", 0), -EACCES, "tag mismatch");
		jwe_rejects(key, tamper(jwe, "iv", 11), -EACCES, "tag mismatch");
		jwe_rejects(key, tamper(jwe, "encrypted_key", 7), -EACCES, k < 2 ? "unwrap failed" : "tag mismatch");
		/* The protected header is authenticated: same header, other encoding of it. */
		json_t *t = json_deep_copy(jwe);
		assert_int_equal(att_b64_decode(p, strlen(p), true, &hb, &hl, &err), 0);
		char *txt = malloc(hl + 2);
		memcpy(txt, hb, hl);
		txt[hl] = ' ';
		txt[hl + 1] = 0;
		free(hb);
		json_decref(t);
		jwe_rejects(key, with_header(jwe, txt), k < 2 ? -EACCES : -EACCES, "tag mismatch");
		free(txt);
		/* Unrelated "aad" member changes the AAD. */
		t = json_deep_copy(jwe);
		json_object_set_new(t, "aad", json_string("YWFk"));
		jwe_rejects(key, t, -EACCES, "tag mismatch");

		/* Wrong private key of the same type. */
		EVP_PKEY *other = k == 0 ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")
			      : k == 1 ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384")
				       : EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
		jwe_rejects(other, json_deep_copy(jwe), -EACCES, k < 2 ? "unwrap failed" : "tag mismatch");
		EVP_PKEY_free(other);
		/* Key of the wrong type for the header's alg. */
		jwe_rejects(keys[k < 2 ? 3 : 0], json_deep_copy(jwe), -EACCES, "needs");
		json_decref(jwe);
	}

	/* Header checks (the P-256 JWE, headers replaced). */
	json_t *jwe;
	struct vg_err err = {0};
	assert_int_equal(att_jwe_encrypt(keys[0], (const uint8_t *)"", 0, &jwe, &err), 0);
	uint8_t *pt;
	size_t n;
	assert_int_equal(att_jwe_decrypt(keys[0], jwe, &pt, &n, &err), 0); /* empty plaintext */
	assert_int_equal(n, 0);
	free(pt);
	jwe_rejects(keys[0], with_header(jwe, "{\"alg\":\"dir\",\"enc\":\"A256GCM\"}"), -EACCES, "\"alg\" dir not accepted");
	jwe_rejects(keys[0], with_header(jwe, "{\"alg\":\"RSA1_5\",\"enc\":\"A256GCM\"}"), -EACCES, "not accepted");
	jwe_rejects(keys[0], with_header(jwe, "{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A128CBC-HS256\"}"), -EACCES,
		    "\"enc\" A128CBC-HS256 not accepted");
	jwe_rejects(keys[0], with_header(jwe, "{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\"}"), -EINVAL, "\"epk\" missing");
	jwe_rejects(keys[0], with_header(jwe, "{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\",\"zip\":\"DEF\"}"), -EINVAL,
		    "\"zip\"");
	jwe_rejects(keys[0], with_header(jwe, "{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\",\"crit\":[\"x\"]}"), -EINVAL,
		    "\"crit\"");
	jwe_rejects(keys[0], with_header(jwe, "[1]"), -EINVAL, "not a JSON object");
	/* epk on another curve than the recipient's. */
	json_t *p384 = att_jwk_from_pkey(keys[1], &err);
	char *epk = json_dumps(p384, JSON_COMPACT);
	char hdr[512];
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\",\"epk\":%s}", epk);
	jwe_rejects(keys[0], with_header(jwe, hdr), -EACCES, "recipient's curve P-256");
	free(epk);
	json_decref(p384);
	/* epk off the curve. */
	jwe_rejects(keys[0],
		    with_header(jwe, "{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\",\"epk\":{\"kty\":\"EC\",\"crv\":\"P-256\","
				     "\"x\":\"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4\",\"y\":\"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyA\"}}"),
		    -EINVAL, "valid public key");
	/* Members. */
	json_t *t = json_deep_copy(jwe);
	json_object_set_new(t, "iv", json_string("AAAA"));
	jwe_rejects(keys[0], t, -EINVAL, "12-byte \"iv\"");
	t = json_deep_copy(jwe);
	json_object_del(t, "tag");
	jwe_rejects(keys[0], t, -EINVAL, "\"tag\" missing");
	t = json_deep_copy(jwe);
	json_object_set_new(t, "ciphertext", json_string("A+/="));
	jwe_rejects(keys[0], t, -EINVAL, "ciphertext");
	t = json_deep_copy(jwe);
	json_object_set_new(t, "recipients", json_array());
	jwe_rejects(keys[0], t, -EINVAL, "\"recipients\" is not supported");
	t = json_deep_copy(jwe);
	json_object_set_new(t, "encrypted_key", json_string("AAAA"));
	jwe_rejects(keys[0], t, -EINVAL, "must be 40 bytes");
	jwe_rejects(keys[0], json_string("x"), -EINVAL, "not a JSON object");
	json_decref(jwe);

	/* Recipient keys that are refused. */
	EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	assert_int_equal(att_jwe_encrypt(small, (const uint8_t *)"x", 1, &jwe, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "below 2048"));
	EVP_PKEY_free(small);
	assert_int_equal(att_jwe_encrypt(keys[2], (const uint8_t *)"x", 1, &jwe, &err), -EINVAL);
	assert_null(jwe);
}

/* ------------------------------------------------------------------ JCS */
/* The JCS text of v (consumed) equals want. */
static void jcs_is(json_t *v, const char *want)
{
	struct vg_buf b = {0};
	struct vg_err err = {0};
	assert_int_equal(att_jcs_serialize(v, &b, &err), 0);
	assert_int_equal(vg_buf_append_u8(&b, 0), 0);
	assert_string_equal((const char *)b.data, want);
	vg_buf_free(&b);
	json_decref(v);
}

static void jcs_eq(const char *in, const char *want) { jcs_is(jparse(in), want); }

static void jcs_double(uint64_t bits, const char *want)
{
	double d;
	memcpy(&d, &bits, 8);
	jcs_is(json_real(d), want);
}

static void test_jcs(void **state)
{
	(void)state;
	/* RFC 8785 sec. 3.2.2 example. */
	jcs_eq("{\"numbers\": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],"
	       " \"string\": \"\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\\"\\/\","
	       " \"literals\": [null, true, false]}",
	       "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],"
	       "\"string\":\"\xe2\x82\xac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}");
	/* RFC 8785 sec. 3.2.3 sorting example (UTF-16 code unit order). */
	jcs_eq("{\"\\u20ac\": \"Euro Sign\", \"\\r\": \"Carriage Return\", \"\\ufb33\": \"Hebrew Letter Dalet With Dagesh\","
	       " \"1\": \"One\", \"\\ud83d\\ude00\": \"Emoji: Grinning Face\", \"\\u0080\": \"Control\","
	       " \"\\u00f6\": \"Latin Small Letter O With Diaeresis\"}",
	       "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\xc2\x80\":\"Control\",\"\xc3\xb6\":\"Latin Small Letter O With "
	       "Diaeresis\",\"\xe2\x82\xac\":\"Euro Sign\",\"\xf0\x9f\x98\x80\":\"Emoji: Grinning Face\",\"\xef\xac\xb3\":\"Hebrew "
	       "Letter Dalet With Dagesh\"}");
	jcs_eq("[]", "[]");
	jcs_eq("{}", "{}");
	jcs_eq("{\"a\":{\"c\":[1,-2,{\"z\":0,\"y\":\"\\u007f\\b\\t\\f\"}],\"b\":9007199254740992}}",
	       "{\"a\":{\"b\":9007199254740992,\"c\":[1,-2,{\"y\":\"\x7f\\b\\t\\f\",\"z\":0}]}}");
	jcs_eq("[1.0, -0.0, 100, 1e21, 1e20, 1.2345678901234568e20, 5e-7, 0.1]", "[1,0,100,1e+21,100000000000000000000,123456789012345680000,5e-7,0.1]");
	/* RFC 8785 appendix B: ECMAScript Number serialisation (checked with Node's JSON.stringify). */
	static const struct {
		uint64_t bits;
		const char *s;
	} nums[] = {
		{0x0000000000000000, "0"},
		{0x8000000000000000, "0"},
		{0x0000000000000001, "5e-324"},
		{0x8000000000000001, "-5e-324"},
		{0x7fefffffffffffff, "1.7976931348623157e+308"},
		{0xffefffffffffffff, "-1.7976931348623157e+308"},
		{0x4340000000000000, "9007199254740992"},
		{0xc340000000000000, "-9007199254740992"},
		{0x4430000000000000, "295147905179352830000"},
		{0x44b52d02c7e14af5, "9.999999999999997e+22"},
		{0x44b52d02c7e14af6, "1e+23"},
		{0x44b52d02c7e14af7, "1.0000000000000001e+23"},
		{0x444b1ae4d6e2ef4e, "999999999999999700000"},
		{0x444b1ae4d6e2ef4f, "999999999999999900000"},
		{0x444b1ae4d6e2ef50, "1e+21"},
		{0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"},
		{0x3eb0c6f7a0b5ed8d, "0.000001"},
		{0x41b3de4355555553, "333333333.3333332"},
		{0x41b3de4355555554, "333333333.33333325"},
		{0x41b3de4355555555, "333333333.3333333"},
		{0x41b3de4355555556, "333333333.3333334"},
		{0x41b3de4355555557, "333333333.33333343"},
		{0xbecbf647612f3696, "-0.0000033333333333333333"},
		{0x43143ff3c1cb0959, "1424953923781206.2"},
	};
	for (size_t i = 0; i < VG_ARRAY_SIZE(nums); i++)
		jcs_double(nums[i].bits, nums[i].s);

	/* Integers that are not exact doubles are refused; the buffer is untouched. */
	json_t *v = json_pack("{s:I}", "big", (json_int_t)9007199254740993LL);
	struct vg_buf b = {0};
	struct vg_err err = {0};
	assert_int_equal(vg_buf_append(&b, "x", 1), 0);
	assert_int_equal(att_jcs_serialize(v, &b, &err), -ERANGE);
	assert_non_null(strstr(err.msg, "2^53"));
	assert_int_equal(b.len, 1);
	vg_buf_free(&b);
	json_decref(v);
	/* Beyond 2^53: kept when ECMAScript prints the same digits (Node: JSON.stringify). */
	v = json_pack("[I,I]", (json_int_t)1152921504606846976LL, (json_int_t)-9007199254740994LL);
	assert_int_equal(att_jcs_serialize(v, &b, &err), -ERANGE); /* 2^60 would print as ...847000 */
	json_decref(v);
	v = json_pack("[I,I,I]", (json_int_t)1152921504606847000LL, (json_int_t)-9007199254740994LL,
		      (json_int_t)33333330000000030LL);
	assert_int_equal(att_jcs_serialize(v, &b, &err), 0);
	assert_int_equal(vg_buf_append_u8(&b, 0), 0);
	assert_string_equal((const char *)b.data, "[1152921504606847000,-9007199254740994,33333330000000030]");
	vg_buf_free(&b);
	json_decref(v);
	/* Names with U+0000 keep their full length and are escaped. */
	v = json_object();
	assert_int_equal(json_object_setn_new(v, "a\0b", 3, json_integer(1)), 0);
	assert_int_equal(json_object_set_new(v, "a", json_integer(2)), 0);
	assert_int_equal(att_jcs_serialize(v, &b, &err), 0);
	assert_int_equal(vg_buf_append_u8(&b, 0), 0);
	assert_string_equal((const char *)b.data, "{\"a\":2,\"a\\u0000b\":1}");
	vg_buf_free(&b);
	json_decref(v);
}

/* --------------------------------------------------------- REPORT_DATA */
static void test_report_data(void **state)
{
	(void)state;
	/* Known answers computed independently with Python:
	 *   d = {"nonce": N, "tee-pubkey": JWK, "additional-evidence": A or ""}
	 *   hashlib.sha384(json.dumps(d, sort_keys=True, separators=(',',':'),
	 *                  ensure_ascii=False).encode()).digest() + bytes(16)
	 * (string-only content, so Python's output is the JCS form). */
	json_t *jwk = jparse("{\"kty\":\"EC\",\"crv\":\"P-256\",\"alg\":\"ECDH-ES+A256KW\","
			     "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
			     "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}");
	uint8_t rd[ATT_REPORT_DATA_LEN];
	char hex[2 * ATT_REPORT_DATA_LEN + 1];
	struct vg_err err = {0};
	assert_int_equal(att_kbs_report_data("lfRmrVDEUm4FTU_dqn0xRl0S9sZXCeS9RT9Vu3cDqqQ", jwk, NULL, rd, &err), 0);
	vg_hex_encode(rd, sizeof(rd), hex);
	assert_string_equal(hex, "35485311030078e531ad86619cde85c50cfb4c964ad242745a23829fb023ade83af13f1ab95f05b4ed03c6aad6a9c8f7"
				 "00000000000000000000000000000000");
	/* NULL additional evidence is the empty string, as Trustee sends it. */
	uint8_t rd2[ATT_REPORT_DATA_LEN];
	assert_int_equal(att_kbs_report_data("lfRmrVDEUm4FTU_dqn0xRl0S9sZXCeS9RT9Vu3cDqqQ", jwk, "", rd2, &err), 0);
	assert_memory_equal(rd, rd2, sizeof(rd));
	assert_int_equal(att_kbs_report_data("nonce-\xc3\xa9\xc3\x9f", jwk, "{\"sample\":\"x\"}", rd, &err), 0);
	vg_hex_encode(rd, sizeof(rd), hex);
	assert_string_equal(hex, "87ff5fedb30b80c528d9df41fc8394024809373663118cbb47e1aba0ff31bebbfba3cfe7f179bb56386e5f47839671d4"
				 "00000000000000000000000000000000");
	assert_int_equal(att_kbs_report_data(NULL, jwk, NULL, rd, &err), -EINVAL);
	json_t *str = json_string("x");
	assert_int_equal(att_kbs_report_data("n", str, NULL, rd, &err), -EINVAL);
	json_decref(str);
	assert_int_equal(att_kbs_report_data("\xff", jwk, NULL, rd, &err), -EINVAL);
	json_decref(jwk);

	/* Trustee's own known answer (attestation-service parse_runtimedata test):
	 * SHA-384 of the canonical {"b":1,"a":"test","c":{"d":"e"}}. */
	json_t *v = jparse("{\"b\": 1, \"a\": \"test\", \"c\": {\"d\": \"e\"}}");
	struct vg_buf b = {0};
	assert_int_equal(att_jcs_serialize(v, &b, &err), 0);
	uint8_t md[48];
	unsigned n = 0;
	assert_true(EVP_Digest(b.data, b.len, md, &n, EVP_sha384(), NULL));
	vg_hex_encode(md, 48, hex);
	assert_string_equal(hex, "e71ce8e70d814ba6639c3612ebee0ff1f76f650f8dbb5e47157e0f3f525cd22c4597480a186427c813ca941da78870c3");
	vg_buf_free(&b);
	json_decref(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64),
		cmocka_unit_test(test_jws_roundtrip),
		cmocka_unit_test(test_jws_refused_headers),
		cmocka_unit_test(test_jwk),
		cmocka_unit_test(test_jwe),
		cmocka_unit_test(test_jcs),
		cmocka_unit_test(test_report_data),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
