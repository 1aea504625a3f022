/*
 * EAR as a CWT: a COSE_Sign1 (RFC 9052, tag 18) whose payload is the claims
 * map with the draft's integer keys, encoded and decoded with libcbor; the
 * ECDSA signature (ES256 / ES384, raw r||s) through OpenSSL.
 *
 * The claims are built once as JSON (pol_ear_claims_json, draft names) and
 * mapped to CBOR by a table per nesting level; decoding maps back, so a CWT
 * decodes to the same JSON a JWT carries.
 */
#include <cbor.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/internal.h"
#include "policy/ear_names.h"

#define CWT_MAX_DEPTH 32
#define CWT_MAX_SIZE (4u << 20)
#define CWT_MAX_ITEMS 100000

enum lvl { L_TOP, L_VERIFIER, L_SUBMODS, L_SUBMOD, L_VECTOR, L_GENERIC };

struct keymap {
	const char *name;
	int64_t key;
};
static const struct keymap top_keys[] = {
	{"iss", POL_CWT_ISS},
	{"exp", POL_CWT_EXP},
	{"nbf", POL_CWT_NBF},
	{"iat", POL_CWT_IAT},
	{"eat_nonce", POL_CWT_EAT_NONCE},
	{"eat_profile", POL_CWT_EAT_PROFILE},
	{"submods", POL_CWT_SUBMODS},
	{"ear_raw_evidence", POL_CWT_EAR_RAW_EVIDENCE},
	{"ear_verifier_id", POL_CWT_EAR_VERIFIER_ID},
	{NULL, 0},
};
static const struct keymap verifier_keys[] = {{"developer", 0}, {"build", 1}, {NULL, 0}};
static const struct keymap submod_keys[] = {
	{"ear_status", POL_CWT_EAR_STATUS},
	{"ear_trustworthiness_vector", POL_CWT_EAR_VECTOR},
	{"ear_appraisal_policy_ids", POL_CWT_EAR_POLICY_IDS},
	{"ear.veraison.annotated-evidence", POL_CWT_VERAISON_ANNOTATED},
	{"ear.veraison.policy-claims", POL_CWT_VERAISON_POLICY_CLAIMS},
	{"ear.veraison.key-attestation", POL_CWT_VERAISON_KEY_ATTESTATION},
	{NULL, 0},
};
static const struct keymap vector_keys[] = {
	{"instance-identity", 0}, {"configuration", 1}, {"executables", 2},    {"file-system", 3},
	{"hardware", 4},	  {"runtime-opaque", 5}, {"storage-opaque", 6}, {"sourced-data", 7},
	{NULL, 0},
};

static const struct keymap *keys_of(enum lvl l)
{
	switch (l) {
	case L_TOP: return top_keys;
	case L_VERIFIER: return verifier_keys;
	case L_SUBMOD: return submod_keys;
	case L_VECTOR: return vector_keys;
	default: return NULL;
	}
}

static enum lvl child_of(enum lvl l, int64_t key)
{
	if (l == L_TOP && key == POL_CWT_EAR_VERIFIER_ID)
		return L_VERIFIER;
	if (l == L_TOP && key == POL_CWT_SUBMODS)
		return L_SUBMODS;
	if (l == L_SUBMODS)
		return L_SUBMOD;
	if (l == L_SUBMOD && key == POL_CWT_EAR_VECTOR)
		return L_VECTOR;
	return L_GENERIC;
}

/* -------------------------------------------------------- JSON -> CBOR */
/* Preferred (shortest) serialization of an integer (RFC 8949 sec. 4.2.1). */
static cbor_item_t *cint(int64_t v)
{
	uint64_t u = v >= 0 ? (uint64_t)v : (uint64_t)(-1 - v);
	cbor_item_t *it;
	if (u <= UINT8_MAX)
		it = v >= 0 ? cbor_build_uint8((uint8_t)u) : cbor_build_negint8((uint8_t)u);
	else if (u <= UINT16_MAX)
		it = v >= 0 ? cbor_build_uint16((uint16_t)u) : cbor_build_negint16((uint16_t)u);
	else if (u <= UINT32_MAX)
		it = v >= 0 ? cbor_build_uint32((uint32_t)u) : cbor_build_negint32((uint32_t)u);
	else
		it = v >= 0 ? cbor_build_uint64(u) : cbor_build_negint64(u);
	return it;
}

static bool put(cbor_item_t *map, cbor_item_t *k, cbor_item_t *v)
{
	bool ok = k && v && cbor_map_add(map, (struct cbor_pair){.key = k, .value = v});
	if (k)
		cbor_decref(&k);
	if (v)
		cbor_decref(&v);
	return ok;
}

static bool push(cbor_item_t *arr, cbor_item_t *v)
{
	bool ok = v && cbor_array_push(arr, v);
	if (v)
		cbor_decref(&v);
	return ok;
}

static cbor_item_t *to_cbor(const json_t *v, enum lvl l, int64_t key, int depth);

static cbor_item_t *special_value(const json_t *v, enum lvl l, int64_t key, bool *handled)
{
	*handled = false;
	if (l == L_SUBMOD && key == POL_CWT_EAR_STATUS && json_is_string(v)) {
		*handled = true;
		const char *s = json_string_value(v);
		int t = !strcmp(s, "affirming") ? POL_AFFIRMING : !strcmp(s, "warning") ? POL_WARNING
			: !strcmp(s, "contraindicated")				      ? POL_CONTRAINDICATED
										      : POL_NONE;
		return cint(t);
	}
	if (l == L_TOP && (key == POL_CWT_EAT_NONCE || key == POL_CWT_EAR_RAW_EVIDENCE) && json_is_string(v)) {
		*handled = true;
		uint8_t *b = NULL;
		size_t n = 0;
		/* base64url as EAT JSON carries it; standard base64 as KBS nonces come */
		if (att_b64_decode(json_string_value(v), json_string_length(v), true, &b, &n, NULL) &&
		    att_b64_decode(json_string_value(v), json_string_length(v), false, &b, &n, NULL))
			return cbor_build_string(json_string_value(v));
		cbor_item_t *it = cbor_build_bytestring(b, n);
		free(b);
		return it;
	}
	return NULL;
}

/* v is the value of `key` in a map of level `parent`; l is its own level. */
static cbor_item_t *to_cbor_in(const json_t *v, enum lvl parent, int64_t key, enum lvl l, int depth)
{
	bool handled;
	cbor_item_t *sp = special_value(v, parent, key, &handled);
	return handled ? sp : to_cbor(v, l, 0, depth);
}

static cbor_item_t *to_cbor(const json_t *v, enum lvl l, int64_t key, int depth)
{
	(void)key;
	if (depth > CWT_MAX_DEPTH)
		return NULL;
	switch (json_typeof(v)) {
	case JSON_STRING: {
		if (strlen(json_string_value(v)) != json_string_length(v))
			return NULL;
		return cbor_build_string(json_string_value(v));
	}
	case JSON_INTEGER: return cint(json_integer_value(v));
	case JSON_REAL: return cbor_build_float8(json_real_value(v));
	case JSON_TRUE: return cbor_build_bool(true);
	case JSON_FALSE: return cbor_build_bool(false);
	case JSON_NULL: return cbor_new_null();
	case JSON_ARRAY: {
		cbor_item_t *a = cbor_new_definite_array(json_array_size(v));
		for (size_t i = 0; a && i < json_array_size(v); i++)
			if (!push(a, to_cbor(json_array_get(v, i), L_GENERIC, 0, depth + 1))) {
				cbor_decref(&a);
				return NULL;
			}
		return a;
	}
	case JSON_OBJECT: {
		cbor_item_t *m = cbor_new_definite_map(json_object_size(v));
		const struct keymap *km = keys_of(l);
		const char *k;
		json_t *c;
		if (!m)
			return NULL;
		json_object_foreach((json_t *)v, k, c) {
			const struct keymap *e = NULL;
			for (size_t i = 0; km && km[i].name; i++)
				if (!strcmp(km[i].name, k))
					e = &km[i];
			cbor_item_t *ck = e ? cint(e->key) : cbor_build_string(k);
			enum lvl cl = l == L_SUBMODS ? L_SUBMOD : e ? child_of(l, e->key) : L_GENERIC;
			if (!put(m, ck, to_cbor_in(c, l, e ? e->key : 0, cl, depth + 1))) {
				cbor_decref(&m);
				return NULL;
			}
		}
		return m;
	}
	}
	return NULL;
}

/* -------------------------------------------------------- CBOR -> JSON */
struct dec {
	struct vg_err *err;
	int rc;
};

__attribute__((format(printf, 2, 3))) static json_t *dfail(struct dec *d, const char *fmt, ...)
{
	if (!d->rc) {
		char m[300];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(m, sizeof(m), fmt, ap);
		va_end(ap);
		d->rc = vg_err_set(d->err, EBADMSG, "CWT claims: %s", m);
	}
	return NULL;
}

static bool get_int(const cbor_item_t *it, int64_t *out)
{
	if (cbor_isa_uint(it)) {
		uint64_t u = cbor_get_int(it);
		if (u > INT64_MAX)
			return false;
		*out = (int64_t)u;
		return true;
	}
	if (cbor_isa_negint(it)) {
		uint64_t u = cbor_get_int(it);
		if (u > INT64_MAX)
			return false;
		*out = -1 - (int64_t)u;
		return true;
	}
	return false;
}

static json_t *text_json(struct dec *d, const cbor_item_t *it)
{
	if (!cbor_string_is_definite(it))
		return dfail(d, "indefinite-length text string");
	size_t n = cbor_string_length(it);
	const unsigned char *p = cbor_string_handle(it);
	if (n && !p)
		return dfail(d, "bad text string");
	json_t *s = json_stringn(n ? (const char *)p : "", n);
	return s ? s : dfail(d, "text string is not UTF-8");
}

static json_t *to_json(struct dec *d, const cbor_item_t *it, enum lvl l, int64_t key, int depth);

static json_t *bytes_json(struct dec *d, const cbor_item_t *it)
{
	if (!cbor_bytestring_is_definite(it))
		return dfail(d, "indefinite-length byte string");
	char *s = att_b64_encode(cbor_bytestring_handle(it), cbor_bytestring_length(it), true);
	json_t *j = s ? json_string(s) : NULL;
	free(s);
	return j ? j : dfail(d, "out of memory");
}

static json_t *status_json(struct dec *d, const cbor_item_t *it)
{
	int64_t i;
	if (!get_int(it, &i) || (i != POL_NONE && i != POL_AFFIRMING && i != POL_WARNING && i != POL_CONTRAINDICATED))
		return dfail(d, "ear_status is not 0, 2, 32 or 96");
	return json_string(pol_status_name((enum pol_status)i));
}

static json_t *map_json(struct dec *d, const cbor_item_t *it, enum lvl l, int depth)
{
	if (!cbor_map_is_definite(it))
		return dfail(d, "indefinite-length map");
	json_t *o = json_object();
	struct cbor_pair *pairs = cbor_map_handle(it);
	const struct keymap *km = keys_of(l);
	for (size_t i = 0; o && i < cbor_map_size(it); i++) {
		const cbor_item_t *k = pairs[i].key;
		char name[64];
		const char *nm = NULL;
		int64_t ik = 0;
		json_t *ks = NULL;
		enum lvl cl = L_GENERIC;
		if (get_int(k, &ik)) {
			for (size_t j = 0; km && km[j].name; j++)
				if (km[j].key == ik)
					nm = km[j].name;
			if (!nm) {
				snprintf(name, sizeof(name), "%lld", (long long)ik);
				nm = name;
			}
			cl = child_of(l, ik);
		} else if (cbor_isa_string(k)) {
			if (!(ks = text_json(d, k)))
				break;
			nm = json_string_value(ks);
			if (l == L_SUBMODS)
				cl = L_SUBMOD;
		} else {
			dfail(d, "map key of major type %d", (int)cbor_typeof(k));
			break;
		}
		if ((ks && strlen(nm) != json_string_length(ks)) || json_object_get(o, nm)) {
			dfail(d, "duplicate map key \"%s\"", nm);
			json_decref(ks);
			break;
		}
		json_t *v = l == L_SUBMOD && ik == POL_CWT_EAR_STATUS && !ks ? status_json(d, pairs[i].value)
												: to_json(d, pairs[i].value, cl, ik, depth + 1);
		if (!v || json_object_set_new(o, nm, v)) {
			json_decref(ks);
			break;
		}
		json_decref(ks);
	}
	if (d->rc || !o) {
		json_decref(o);
		return d->rc ? NULL : dfail(d, "out of memory");
	}
	return o;
}

static json_t *to_json(struct dec *d, const cbor_item_t *it, enum lvl l, int64_t key, int depth)
{
	int64_t i;
	if (depth > CWT_MAX_DEPTH)
		return dfail(d, "nested deeper than %d", CWT_MAX_DEPTH);
	(void)key;
	switch (cbor_typeof(it)) {
	case CBOR_TYPE_UINT:
	case CBOR_TYPE_NEGINT:
		if (!get_int(it, &i))
			return dfail(d, "integer out of range");
		return json_integer(i);
	case CBOR_TYPE_BYTESTRING: return bytes_json(d, it);
	case CBOR_TYPE_STRING: return text_json(d, it);
	case CBOR_TYPE_ARRAY: {
		if (!cbor_array_is_definite(it))
			return dfail(d, "indefinite-length array");
		json_t *a = json_array();
		for (size_t j = 0; a && j < cbor_array_size(it); j++) {
			json_t *v = to_json(d, cbor_array_handle(it)[j], L_GENERIC, 0, depth + 1);
			if (!v || json_array_append_new(a, v)) {
				json_decref(a);
				return d->rc ? NULL : dfail(d, "out of memory");
			}
		}
		return a;
	}
	case CBOR_TYPE_MAP: return map_json(d, it, l, depth);
	case CBOR_TYPE_FLOAT_CTRL:
		if (cbor_float_ctrl_is_ctrl(it)) {
			if (cbor_is_null(it))
				return json_null();
			if (cbor_is_bool(it))
				return json_boolean(cbor_get_bool(it));
			return dfail(d, "undefined or simple value");
		}
		return json_real(cbor_float_get_float(it));
	default: return dfail(d, "unexpected CBOR item (tag)");
	}
}

/* libcbor 0.8's cbor_load allocates arrays and maps by their DECLARED size before
 * reading them, so a 5-byte header can ask for gigabytes. Before cbor_load, walk the
 * item heads with libcbor's streaming decoder (which allocates nothing) and refuse a
 * declared count that the remaining bytes cannot hold (every item takes at least one
 * byte), truncated input, and too many items. */
struct pre {
	size_t remaining;
	bool bad;
};
static void pre_array(void *c, size_t n)
{
	struct pre *p = c;
	if (n > p->remaining)
		p->bad = true;
}
static void pre_map(void *c, size_t n)
{
	struct pre *p = c;
	if (n > p->remaining / 2)
		p->bad = true;
}

static int cbor_precheck(const uint8_t *data, size_t len)
{
	struct cbor_callbacks cb = cbor_empty_callbacks;
	struct pre p = {0};
	cb.array_start = pre_array;
	cb.map_start = pre_map;
	for (size_t off = 0, items = 0; off < len; items++) {
		if (items > CWT_MAX_ITEMS)
			return -1;
		p.remaining = len - off;
		struct cbor_decoder_result r = cbor_stream_decode(data + off, len - off, &cb, &p);
		if (r.status != CBOR_DECODER_FINISHED || r.read == 0 || p.bad)
			return -1;
		off += r.read;
	}
	return 0;
}

/* cbor_load of exactly one item filling [data, len), after the precheck. */
static cbor_item_t *load_one(const uint8_t *data, size_t len)
{
	struct cbor_load_result lr;
	if (cbor_precheck(data, len))
		return NULL;
	cbor_item_t *it = cbor_load(data, len, &lr);
	if (it && (lr.error.code != CBOR_ERR_NONE || lr.read != len)) {
		cbor_decref(&it);
		return NULL;
	}
	return it;
}

int pol_ear_cwt_claims_decode(const uint8_t *payload, size_t len, json_t **claims, struct vg_err *err)
{
	struct dec d = {err, 0};
	*claims = NULL;
	if (!payload || len == 0 || len > CWT_MAX_SIZE)
		return vg_err_set(err, EBADMSG, "CWT claims: empty or larger than %u bytes", CWT_MAX_SIZE);
	cbor_item_t *it = load_one(payload, len);
	if (!it)
		return vg_err_set(err, EBADMSG, "CWT claims: not one well-formed CBOR item of plausible size");
	if (!cbor_isa_map(it)) {
		cbor_decref(&it);
		return vg_err_set(err, EBADMSG, "CWT claims: not a map");
	}
	json_t *j = to_json(&d, it, L_TOP, 0, 0);
	cbor_decref(&it);
	if (!j)
		return d.rc ? d.rc : vg_err_set(err, ENOMEM, "out of memory");
	*claims = j;
	return 0;
}

/* ------------------------------------------------------------ COSE */
static int alg_of(EVP_PKEY *key, int64_t *cose_alg, const EVP_MD **md, size_t *clen)
{
	enum att_jws_alg a = att_jws_alg_for_key(key);
	if (a == ATT_JWS_ES256) {
		*cose_alg = -7, *md = EVP_sha256(), *clen = 32;
		return 0;
	}
	if (a == ATT_JWS_ES384) {
		*cose_alg = -35, *md = EVP_sha384(), *clen = 48;
		return 0;
	}
	return -1;
}

static int serialize(const cbor_item_t *it, uint8_t **out, size_t *len)
{
	unsigned char *buf = NULL;
	size_t cap = 0;
	size_t n = cbor_serialize_alloc(it, &buf, &cap);
	if (!n) {
		free(buf);
		return -ENOMEM;
	}
	*out = buf;
	*len = n;
	return 0;
}

/* Sig_structure = ["Signature1", protected, external_aad h'', payload] (RFC 9052 sec. 4.4). */
static int sig_structure(const uint8_t *prot, size_t plen, const uint8_t *payload, size_t len, uint8_t **out,
			 size_t *olen)
{
	cbor_item_t *a = cbor_new_definite_array(4);
	bool ok = a && push(a, cbor_build_string("Signature1")) && push(a, cbor_build_bytestring(prot, plen)) &&
		  push(a, cbor_build_bytestring(NULL, 0)) && push(a, cbor_build_bytestring(payload, len));
	int rc = ok ? serialize(a, out, olen) : -ENOMEM;
	if (a)
		cbor_decref(&a);
	return rc;
}

static int ecdsa_sign_raw(EVP_PKEY *key, const EVP_MD *md, size_t clen, const uint8_t *msg, size_t len,
			  uint8_t *out /* 2*clen */)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	uint8_t der[160];
	size_t dl = sizeof(der);
	int rc = -EIO;
	if (c && EVP_DigestSignInit(c, NULL, md, NULL, key) == 1 && EVP_DigestSign(c, der, &dl, msg, len) == 1) {
		const unsigned char *p = der;
		ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)dl);
		const BIGNUM *r, *sv;
		if (s) {
			ECDSA_SIG_get0(s, &r, &sv);
			if (BN_bn2binpad(r, out, (int)clen) == (int)clen && BN_bn2binpad(sv, out + clen, (int)clen) == (int)clen)
				rc = 0;
			ECDSA_SIG_free(s);
		}
	}
	EVP_MD_CTX_free(c);
	return rc;
}

static bool ecdsa_verify_raw(EVP_PKEY *key, const EVP_MD *md, size_t clen, const uint8_t *msg, size_t len,
			     const uint8_t *sig)
{
	ECDSA_SIG *s = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, (int)clen, NULL), *sv = BN_bin2bn(sig + clen, (int)clen, NULL);
	unsigned char *der = NULL;
	bool ok = false;
	if (s && r && sv && ECDSA_SIG_set0(s, r, sv)) {
		r = sv = NULL;
		int dl = i2d_ECDSA_SIG(s, &der);
		EVP_MD_CTX *c = EVP_MD_CTX_new();
		ok = dl > 0 && c && EVP_DigestVerifyInit(c, NULL, md, NULL, key) == 1 &&
		     EVP_DigestVerify(c, der, (size_t)dl, msg, len) == 1;
		EVP_MD_CTX_free(c);
	}
	BN_free(r);
	BN_free(sv);
	ECDSA_SIG_free(s);
	OPENSSL_free(der);
	return ok;
}

int pol_ear_cwt(const struct pol_appraisal *a, EVP_PKEY *key, const struct pol_ear_opts *o, uint8_t **cwt,
		size_t *len, struct vg_err *err)
{
	int64_t alg;
	const EVP_MD *md;
	size_t clen;
	*cwt = NULL;
	*len = 0;
	if (!a || !key)
		return vg_err_set(err, EINVAL, "EAR: no appraisal or key");
	if (alg_of(key, &alg, &md, &clen))
		return vg_err_set(err, EINVAL, "EAR: the token key must be EC P-256 (ES256) or P-384 (ES384)");
	struct pol_ear_opts d = o ? *o : (struct pol_ear_opts){0};
	d.names = POL_EAR_NAMES_DRAFT; /* integer keys: the draft's */
	json_t *claims = pol_ear_claims_json(a, &d);
	cbor_item_t *payload = claims ? to_cbor(claims, L_TOP, 0, 0) : NULL;
	json_decref(claims);
	cbor_item_t *ph = cbor_new_definite_map(o && o->kid ? 2 : 1), *arr = NULL, *tag = NULL;
	uint8_t *pb = NULL, *hb = NULL, *tbs = NULL, *out = NULL;
	size_t pl = 0, hl = 0, tl = 0, ol = 0;
	uint8_t sig[96];
	int rc = -ENOMEM;
	if (!payload || !ph || !put(ph, cint(1), cint(alg)))
		goto done;
	if (o && o->kid && !put(ph, cint(4), cbor_build_bytestring((const uint8_t *)o->kid, strlen(o->kid))))
		goto done;
	if (serialize(payload, &pb, &pl) || serialize(ph, &hb, &hl) || sig_structure(hb, hl, pb, pl, &tbs, &tl))
		goto done;
	if (ecdsa_sign_raw(key, md, clen, tbs, tl, sig)) {
		rc = vg_err_set(err, EIO, "EAR: COSE signature failed");
		goto done;
	}
	arr = cbor_new_definite_array(4);
	cbor_item_t *unprot = cbor_new_definite_map(0);
	if (!arr || !push(arr, cbor_build_bytestring(hb, hl)) || !push(arr, unprot) ||
	    !push(arr, cbor_build_bytestring(pb, pl)) || !push(arr, cbor_build_bytestring(sig, 2 * clen)))
		goto done;
	tag = cbor_new_tag(18);
	if (!tag)
		goto done;
	cbor_tag_set_item(tag, arr);
	if (serialize(tag, &out, &ol))
		goto done;
	*cwt = out;
	*len = ol;
	out = NULL;
	rc = 0;
done:
	if (rc == -ENOMEM)
		vg_err_set(err, ENOMEM, "EAR: CBOR encoding failed (out of memory or a claim that CBOR cannot carry)");
	if (payload)
		cbor_decref(&payload);
	if (ph)
		cbor_decref(&ph);
	if (arr)
		cbor_decref(&arr);
	if (tag)
		cbor_decref(&tag);
	free(pb), free(hb), free(tbs), free(out);
	return rc;
}

int pol_ear_cwt_verify(const uint8_t *cwt, size_t len, EVP_PKEY *const *keys, size_t nkeys, json_t **claims,
		       struct vg_err *err)
{
	*claims = NULL;
	if (!cwt || len == 0 || len > CWT_MAX_SIZE)
		return vg_err_set(err, EBADMSG, "CWT: empty or larger than %u bytes", CWT_MAX_SIZE);
	/* libcbor 0.8 (Debian 12) refuses one-byte tag heads 6..20 (0xc6..0xd4), so tag 18
	 * (0xd2) cannot go through cbor_load: the optional CWT tag 61 (0xd8 0x3d) and the
	 * COSE_Sign1 tag (0xd2) are matched here as the two fixed byte strings they are,
	 * and libcbor decodes the array that follows. */
	size_t off = 0;
	if (len >= 2 && cwt[0] == 0xd8 && cwt[1] == 61)
		off = 2;
	if (len - off < 1 || cwt[off] != 0xd2)
		return vg_err_set(err, EBADMSG, "CWT: not a COSE_Sign1 (tag 18)");
	off++;
	cbor_item_t *root = load_one(cwt + off, len - off);
	int rc = -EBADMSG;
	uint8_t *tbs = NULL;
	size_t tl = 0;
	if (!root) {
		rc = vg_err_set(err, EBADMSG, "CWT: not one CBOR item after the tag");
		goto done;
	}
	cbor_item_t *arr = root;
	if (!cbor_isa_array(arr) || !cbor_array_is_definite(arr) || cbor_array_size(arr) != 4) {
		rc = vg_err_set(err, EBADMSG, "CWT: COSE_Sign1 is not an array of 4");
		goto done;
	}
	cbor_item_t **e = cbor_array_handle(arr);
	if (!cbor_isa_bytestring(e[0]) || !cbor_bytestring_is_definite(e[0]) || !cbor_isa_map(e[1]) ||
	    !cbor_isa_bytestring(e[2]) || !cbor_bytestring_is_definite(e[2]) || !cbor_isa_bytestring(e[3]) ||
	    !cbor_bytestring_is_definite(e[3])) {
		rc = vg_err_set(err, EBADMSG, "CWT: COSE_Sign1 members have the wrong types");
		goto done;
	}
	cbor_item_t *ph = cbor_bytestring_length(e[0]) ? load_one(cbor_bytestring_handle(e[0]), cbor_bytestring_length(e[0]))
						       : NULL;
	int64_t alg = 0;
	if (ph && cbor_isa_map(ph) && cbor_map_is_definite(ph)) {
		struct cbor_pair *p = cbor_map_handle(ph);
		for (size_t i = 0; i < cbor_map_size(ph); i++) {
			int64_t k, v;
			if (get_int(p[i].key, &k) && k == 1 && get_int(p[i].value, &v))
				alg = v;
		}
	}
	if (ph)
		cbor_decref(&ph);
	if (alg != -7 && alg != -35) {
		rc = vg_err_set(err, EBADMSG, "CWT: protected header algorithm must be ES256 (-7) or ES384 (-35)");
		goto done;
	}
	size_t clen = alg == -7 ? 32 : 48;
	const EVP_MD *md = alg == -7 ? EVP_sha256() : EVP_sha384();
	if (cbor_bytestring_length(e[3]) != 2 * clen) {
		rc = vg_err_set(err, EBADMSG, "CWT: signature is %zu bytes, need %zu", cbor_bytestring_length(e[3]), 2 * clen);
		goto done;
	}
	if (sig_structure(cbor_bytestring_handle(e[0]), cbor_bytestring_length(e[0]), cbor_bytestring_handle(e[2]),
			  cbor_bytestring_length(e[2]), &tbs, &tl)) {
		rc = vg_err_set(err, ENOMEM, "out of memory");
		goto done;
	}
	bool ok = false;
	for (size_t i = 0; !ok && i < nkeys; i++) {
		int64_t ka;
		const EVP_MD *kmd;
		size_t kl;
		if (keys[i] && !alg_of(keys[i], &ka, &kmd, &kl) && ka == alg)
			ok = ecdsa_verify_raw(keys[i], md, clen, tbs, tl, cbor_bytestring_handle(e[3]));
	}
	if (!ok) {
		rc = vg_err_set(err, EBADMSG, "CWT: COSE signature does not verify with any given %s key",
				alg == -7 ? "P-256" : "P-384");
		goto done;
	}
	rc = pol_ear_cwt_claims_decode(cbor_bytestring_handle(e[2]), cbor_bytestring_length(e[2]), claims, err);
done:
	if (root)
		cbor_decref(&root);
	free(tbs);
	return rc;
}
