/* Trustee's initdata (kbs/docs/initdata.md, docs/attestd.md, docs/agent.md): the digest of
 * the init-data document, by the hash its own `algorithm` names (sha256/sha384/sha512, also
 * spelt sha-256 ...), over the body bytes exactly as sent. Bound to the launch as SNP
 * HOST_DATA (32 bytes: the digest truncated) or TDX MRCONFIGID (48: zero-padded or
 * truncated). One rule for the service (vigil-attestd checks it) and the guest's client
 * (vigil-agent checks its evidence before sending, and prints the launch flags). */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "attest/attest.h"

static const EVP_MD *md_by_name(const char *a)
{
	if (!strcmp(a, "sha256") || !strcmp(a, "sha-256"))
		return EVP_sha256();
	if (!strcmp(a, "sha384") || !strcmp(a, "sha-384"))
		return EVP_sha384();
	if (!strcmp(a, "sha512") || !strcmp(a, "sha-512"))
		return EVP_sha512();
	return NULL;
}

/* TOML: the top-level line `algorithm = "..."` (only this key is read). */
static int toml_algorithm(const char *body, char *out, size_t cap)
{
	const char *p = body;
	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t n = eol ? (size_t)(eol - p) : strlen(p);
		const char *q = p;
		while (q < p + n && (*q == ' ' || *q == '\t'))
			q++;
		if (*q == '[')
			return -1; /* tables start: algorithm must come before */
		if ((size_t)(p + n - q) > 9 && !strncmp(q, "algorithm", 9)) {
			q += 9;
			while (q < p + n && (*q == ' ' || *q == '\t'))
				q++;
			if (q < p + n && *q == '=') {
				q++;
				while (q < p + n && (*q == ' ' || *q == '\t'))
					q++;
				char quote = *q;
				if (quote != '"' && quote != '\'')
					return -1;
				const char *s = ++q;
				while (q < p + n && *q != quote)
					q++;
				if (q >= p + n || (size_t)(q - s) >= cap)
					return -1;
				memcpy(out, s, (size_t)(q - s));
				out[q - s] = 0;
				return 0;
			}
		}
		if (!eol)
			break;
		p = eol + 1;
	}
	return -1;
}

int att_init_data_digest(const char *format, const char *body, size_t want_len, uint8_t *out, size_t *md_len,
			 struct vg_err *err)
{
	char alg[32] = "";
	if (md_len)
		*md_len = 0;
	if (want_len > ATT_INIT_DATA_DIGEST_MAX)
		return vg_err_set(err, EINVAL, "init-data: digest length %zu (at most %d)", want_len,
				  ATT_INIT_DATA_DIGEST_MAX);
	if (!strcmp(format, "json")) {
		json_error_t je;
		json_t *j = json_loads(body, JSON_REJECT_DUPLICATES, &je);
		if (!j || !json_is_object(j)) {
			json_decref(j);
			return vg_err_set(err, EINVAL, "init-data.body: not a JSON object");
		}
		const char *a = json_string_value(json_object_get(j, "algorithm"));
		snprintf(alg, sizeof(alg), "%s", a ? a : "");
		json_decref(j);
	} else if (!strcmp(format, "toml")) {
		if (toml_algorithm(body, alg, sizeof(alg)))
			alg[0] = 0;
	} else {
		return vg_err_set(err, EINVAL, "init-data.format '%s' (want json or toml)", format);
	}
	const EVP_MD *md = md_by_name(alg);
	if (!md)
		return vg_err_set(err, EINVAL, "init-data: algorithm '%s' (want sha256, sha384 or sha512)", alg);
	uint8_t d[64];
	unsigned dl = 0;
	if (!EVP_Digest(body, strlen(body), d, &dl, md, NULL))
		return vg_err_set(err, EIO, "init-data: digest failed");
	memset(out, 0, want_len);
	memcpy(out, d, VG_MIN((size_t)dl, want_len));
	if (md_len)
		*md_len = dl;
	return 0;
}
