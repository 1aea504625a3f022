/* Small helpers shared by the JOSE files (JSON objects are parsed by
 * vg_json_parse_object): compact dumps, base64url members, and the two EC curves JOSE uses here. */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>

#include "attest/jose_priv.h"

char *att_jose_dump(const json_t *v)
{
	return json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
}

int att_jose_b64_member(const json_t *obj, const char *name, size_t max_len, uint8_t **out, size_t *len,
			struct vg_err *err)
{
	*out = NULL;
	*len = 0;
	json_t *m = json_object_get(obj, name);
	if (!m)
		return vg_err_set(err, EINVAL, "member \"%s\" missing", name);
	if (!json_is_string(m))
		return vg_err_set(err, EINVAL, "member \"%s\" is not a string", name);
	size_t n = json_string_length(m);
	if (n / 4 * 3 > max_len + 3)
		return vg_err_set(err, E2BIG, "member \"%s\" too long (%zu characters)", name, n);
	int rc = att_b64_decode(json_string_value(m), n, true, out, len, err);
	if (rc)
		return vg_err_prefix(err, "member \"%s\"", name);
	if (*len > max_len) {
		free(*out);
		*out = NULL;
		return vg_err_set(err, E2BIG, "member \"%s\" too long (%zu bytes)", name, *len);
	}
	return 0;
}

int att_jose_set_b64(json_t *obj, const char *name, const uint8_t *buf, size_t len)
{
	char *s = att_b64_encode(buf, len, true);
	if (!s)
		return -ENOMEM;
	int rc = json_object_set_new(obj, name, json_string(s));
	free(s);
	return rc ? -ENOMEM : 0;
}

static const struct att_jose_curve curves[] = {
	{"P-256", "prime256v1", 32},
	{"P-384", "secp384r1", 48},
};

const struct att_jose_curve *att_jose_curve_of(const EVP_PKEY *key)
{
	if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC)
		return NULL;
	char group[64];
	size_t glen = 0;
	if (!EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &glen))
		return NULL;
	for (size_t i = 0; i < VG_ARRAY_SIZE(curves); i++)
		if (strcmp(group, curves[i].group) == 0)
			return &curves[i];
	return NULL;
}

const struct att_jose_curve *att_jose_curve_by_name(const char *jwk_crv)
{
	for (size_t i = 0; jwk_crv && i < VG_ARRAY_SIZE(curves); i++)
		if (strcmp(jwk_crv, curves[i].jwk) == 0)
			return &curves[i];
	return NULL;
}
