/* Base64 (RFC 4648 sec. 4, padded) and base64url (RFC 7515 sec. 2, unpadded) on
 * OpenSSL's EVP_EncodeBlock / EVP_DecodeBlock. Decoding is strict: only the
 * alphabet, the exact padding, and the one canonical encoding of the bytes
 * (non-zero trailing bits, whitespace and line breaks are rejected). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "attest/attest.h"

/* Inputs longer than this are refused (EVP_*Block take int lengths). */
#define B64_MAX_IN ((size_t)INT_MAX / 2)

char *att_b64_encode(const void *in, size_t len, bool url)
{
	if (len > B64_MAX_IN / 2)
		return NULL;
	size_t cap = 4 * ((len + 2) / 3) + 1;
	unsigned char *out = malloc(cap);
	if (!out)
		return NULL;
	int n = len ? EVP_EncodeBlock(out, in, (int)len) : 0;
	if (n < 0) {
		free(out);
		return NULL;
	}
	out[n] = 0;
	if (url) {
		for (int i = 0; i < n; i++) {
			if (out[i] == '+')
				out[i] = '-';
			else if (out[i] == '/')
				out[i] = '_';
		}
		while (n > 0 && out[n - 1] == '=')
			out[--n] = 0;
	}
	return (char *)out;
}

static bool in_alphabet(unsigned char c, bool url)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
		return true;
	return url ? (c == '-' || c == '_') : (c == '+' || c == '/');
}

int att_b64_decode(const char *in, size_t in_len, bool url, uint8_t **out, size_t *out_len,
		   struct vg_err *err)
{
	const char *name = url ? "base64url" : "base64";
	*out = NULL;
	*out_len = 0;
	if (!in && in_len)
		return vg_err_set(err, EINVAL, "%s: no input", name);
	if (in_len > B64_MAX_IN)
		return vg_err_set(err, E2BIG, "%s: input of %zu characters is too long", name, in_len);

	/* Alphabet and padding placement. */
	size_t pad = 0;
	for (size_t i = 0; i < in_len; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c == '=' && !url) {
			pad++;
			continue;
		}
		if (c == '=')
			return vg_err_set(err, EINVAL, "base64url: padding '=' at position %zu (RFC 7515 forbids it)", i);
		if (!in_alphabet(c, url))
			return vg_err_set(err, EINVAL, "%s: invalid character 0x%02x at position %zu", name, c, i);
		if (pad)
			return vg_err_set(err, EINVAL, "%s: data after padding at position %zu", name, i);
	}
	if (!url && (in_len % 4 != 0 || pad > 2))
		return vg_err_set(err, EINVAL, "base64: bad padding (length %zu)", in_len);
	if (url && in_len % 4 == 1)
		return vg_err_set(err, EINVAL, "base64url: impossible length %zu", in_len);

	/* OpenSSL decodes the padded standard form. */
	size_t std_len = url ? (in_len + 3) / 4 * 4 : in_len;
	unsigned char *std = malloc(std_len + 1);
	uint8_t *bin = malloc(std_len / 4 * 3 + 1);
	if (!std || !bin) {
		free(std);
		free(bin);
		return vg_err_set(err, ENOMEM, "%s: out of memory", name);
	}
	for (size_t i = 0; i < in_len; i++) {
		char c = in[i];
		std[i] = (unsigned char)(url ? (c == '-' ? '+' : c == '_' ? '/' : c) : c);
	}
	for (size_t i = in_len; i < std_len; i++)
		std[i] = '=';
	std[std_len] = 0;
	if (url)
		pad = std_len - in_len;
	int n = std_len ? EVP_DecodeBlock(bin, std, (int)std_len) : 0;
	/* The text may encode a secret: cleanse every copy. */
	OPENSSL_cleanse(std, std_len);
	free(std);
	if (n < 0 || (size_t)n < pad) {
		OPENSSL_cleanse(bin, std_len / 4 * 3);
		free(bin);
		return vg_err_set(err, EINVAL, "%s: undecodable input", name);
	}
	size_t len = (size_t)n - pad;

	/* Canonical form: the bytes must encode back to exactly the input
	 * (catches non-zero trailing bits). */
	char *again = att_b64_encode(bin, len, url);
	if (!again) {
		OPENSSL_cleanse(bin, len);
		free(bin);
		return vg_err_set(err, ENOMEM, "%s: out of memory", name);
	}
	bool canon = strlen(again) == in_len && memcmp(again, in, in_len) == 0;
	OPENSSL_cleanse(again, strlen(again));
	free(again);
	if (!canon) {
		OPENSSL_cleanse(bin, len);
		free(bin);
		return vg_err_set(err, EINVAL, "%s: non-canonical encoding (non-zero trailing bits)", name);
	}
	*out = bin;
	*out_len = len;
	return 0;
}
