/*
 * Encrypted vTPM state files (vtpm.h section 3).
 *
 * Layout (little endian), 64-byte header authenticated as GCM AAD:
 *   0  magic "VIGILTPM"       8
 *   8  version (1)            2
 *  10  header length (64)     2
 *  12  kind, NUL padded       16   ("permall", "volatile")
 *  28  GCM nonce              12   (random per write)
 *  40  key check value        16   (HKDF(key, "vigil-vtpm kcv v1"))
 *  56  ciphertext length      8
 *  64  ciphertext, then the 16-byte GCM tag
 * The encryption key is HKDF-SHA256(key, info "vigil-vtpm state v1"). The
 * key check value lets a wrong key be reported as such, separately from
 * tampering (which fails the GCM tag); an altered key check value under the
 * right key is tampering too (the file authenticates with the expected one).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "vtpm/vtpm.h"

#define MAGIC "VIGILTPM"
#define VERSION 1
#define HDR_LEN 64
#define TAG_LEN 16
#define KIND_LEN 16
#define MAX_STATE (16u << 20)

static int hkdf(const uint8_t key[VTPM_KEY_SIZE], const char *info, uint8_t *out, size_t n)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	int ok = 0;
	if (ctx) {
		OSSL_PARAM p[] = {
			OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
			OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, VTPM_KEY_SIZE),
			OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, strlen(info)),
			OSSL_PARAM_construct_end(),
		};
		ok = EVP_KDF_derive(ctx, out, n, p) == 1;
	}
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return ok ? 0 : -EIO;
}

/* One AES-256-GCM pass; enc=1 seals, enc=0 opens (tag checked). */
static int gcm(int enc, const uint8_t k[32], const uint8_t nonce[12], const uint8_t *aad, size_t aad_len,
	       const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[TAG_LEN])
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, ok = ctx != NULL;
	ok = ok && EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) == 1;
	ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) == 1;
	ok = ok && EVP_CipherInit_ex(ctx, NULL, NULL, k, nonce, enc) == 1;
	ok = ok && EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aad_len) == 1;
	ok = ok && (len == 0 || EVP_CipherUpdate(ctx, out, &n, in, (int)len) == 1);
	if (ok && !enc)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1;
	ok = ok && EVP_CipherFinal_ex(ctx, out + (len ? n : 0), &n) == 1;
	if (ok && enc)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) == 1;
	EVP_CIPHER_CTX_free(ctx);
	return ok ? 0 : -EBADMSG;
}

static int derive(const uint8_t key[VTPM_KEY_SIZE], uint8_t enc_key[32], uint8_t kcv[16])
{
	if (hkdf(key, "vigil-vtpm state v1", enc_key, 32) || hkdf(key, "vigil-vtpm kcv v1", kcv, 16))
		return -EIO;
	return 0;
}

int vtpm_state_seal(const uint8_t key[VTPM_KEY_SIZE], const char *kind, const uint8_t *plain,
		    size_t plain_len, uint8_t **out, size_t *out_len, struct vg_err *err)
{
	uint8_t k[32], kcv[16];
	if (strlen(kind) >= KIND_LEN || plain_len > MAX_STATE)
		return vg_err_set(err, EINVAL, "state: bad kind or size");
	uint8_t *blob = malloc(HDR_LEN + plain_len + TAG_LEN);
	if (!blob)
		return vg_err_set(err, ENOMEM, "state: out of memory");
	memset(blob, 0, HDR_LEN);
	memcpy(blob, MAGIC, 8);
	vg_put_le16(blob + 8, VERSION);
	vg_put_le16(blob + 10, HDR_LEN);
	memcpy(blob + 12, kind, strlen(kind));
	vg_put_le64(blob + 56, plain_len);
	if (RAND_bytes(blob + 28, 12) != 1 || derive(key, k, kcv)) {
		free(blob);
		return vg_err_set(err, EIO, "state: key derivation or RNG failed");
	}
	memcpy(blob + 40, kcv, 16);
	int rc = gcm(1, k, blob + 28, blob, HDR_LEN, plain, plain_len, blob + HDR_LEN,
		     blob + HDR_LEN + plain_len);
	vg_secure_zero(k, sizeof(k));
	if (rc) {
		free(blob);
		return vg_err_set(err, EIO, "state: encryption failed");
	}
	*out = blob;
	*out_len = HDR_LEN + plain_len + TAG_LEN;
	return 0;
}

int vtpm_state_open(const uint8_t key[VTPM_KEY_SIZE], const char *kind, const uint8_t *blob,
		    size_t blob_len, uint8_t **plain, size_t *plain_len, struct vg_err *err)
{
	uint8_t k[32], kcv[16], tag[TAG_LEN];
	char got_kind[KIND_LEN + 1] = {0};

	if (blob_len < 12 || memcmp(blob, MAGIC, 8) != 0)
		return vg_err_set(err, EBADMSG, "not a Vigil vTPM state file (bad magic%s)",
				  blob_len < 12 ? ", or truncated" : "");
	if (vg_le16(blob + 8) != VERSION)
		return vg_err_set(err, EBADMSG, "unknown state file version %u (this build reads %u)",
				  vg_le16(blob + 8), VERSION);
	if (vg_le16(blob + 10) != HDR_LEN)
		return vg_err_set(err, EBADMSG, "corrupt state file header (header length %u)",
				  vg_le16(blob + 10));
	if (blob_len < HDR_LEN + TAG_LEN)
		return vg_err_set(err, EBADMSG, "state file truncated (%zu bytes)", blob_len);
	memcpy(got_kind, blob + 12, KIND_LEN);
	if (strcmp(got_kind, kind) != 0)
		return vg_err_set(err, EBADMSG, "state file holds \"%.16s\" state, expected \"%s\"", got_kind, kind);
	uint64_t len = vg_le64(blob + 56);
	if (len > MAX_STATE || len != blob_len - HDR_LEN - TAG_LEN)
		return vg_err_set(err, EBADMSG, "state file %s (%zu bytes, header says %llu of ciphertext)",
				  len > blob_len - HDR_LEN - TAG_LEN ? "truncated" : "has trailing bytes",
				  blob_len, (unsigned long long)len);
	int rc = 0;
	uint8_t *out = NULL, hdr[HDR_LEN];
	if (derive(key, k, kcv)) {
		rc = vg_err_set(err, EIO, "state: key derivation failed");
		goto out;
	}
	if (!(out = malloc(len ? len : 1))) {
		rc = vg_err_set(err, ENOMEM, "state: out of memory");
		goto out;
	}
	memcpy(tag, blob + HDR_LEN + len, TAG_LEN);
	bool kcv_ok = vg_ct_equal(kcv, blob + 40, 16);
	/* A key-check mismatch is a wrong key only if the file does not
	 * authenticate under this key with the expected key-check value in its
	 * header: then the key is right and only that field was altered. */
	memcpy(hdr, blob, HDR_LEN);
	memcpy(hdr + 40, kcv, 16);
	if (gcm(0, k, hdr + 28, hdr, HDR_LEN, blob + HDR_LEN, len, out, tag) == 0) {
		if (!kcv_ok)
			rc = vg_err_set(err, EBADMSG, "state file tampered with: its key-check field was altered");
	} else if (!kcv_ok) {
		rc = vg_err_set(err, EKEYREJECTED, "wrong key: the state file was encrypted with another key");
	} else {
		rc = vg_err_set(err, EBADMSG, "state file failed authentication (tampered or corrupted)");
	}
out:
	vg_secure_zero(k, sizeof(k));
	vg_secure_zero(kcv, sizeof(kcv));
	if (rc) {
		if (out)
			vg_secure_zero(out, len);
		free(out);
		return rc;
	}
	*plain = out;
	*plain_len = len;
	return 0;
}

int vtpm_load_key(const char *path, uint8_t key[VTPM_KEY_SIZE], struct vg_err *err)
{
	uint8_t *data = NULL;
	size_t len = 0;
	int rc = vg_read_file(path, 4096, &data, &len, err);
	if (rc)
		return vg_err_prefix(err, "key file");
	struct stat st;
	if (stat(path, &st) == 0 && (st.st_mode & 077))
		vg_warn("key file %s is accessible by group or others (mode %03o); chmod 600 it", path,
			(unsigned)(st.st_mode & 0777));
	size_t alloc_len = len;
	if (len == VTPM_KEY_SIZE) {
		memcpy(key, data, VTPM_KEY_SIZE);
		rc = 0;
	} else {
		while (len && (data[len - 1] == '\n' || data[len - 1] == '\r' || data[len - 1] == ' '))
			len--;
		if (len == 2 * VTPM_KEY_SIZE) {
			char hex[2 * VTPM_KEY_SIZE + 1];
			memcpy(hex, data, len);
			hex[len] = 0;
			rc = vg_hex_decode(hex, key, VTPM_KEY_SIZE, err);
			vg_secure_zero(hex, sizeof(hex));
			if (rc)
				rc = vg_err_set(err, EINVAL, "key file %s: not 64 hex digits", path);
		} else {
			rc = vg_err_set(err, EINVAL, "key file %s: must hold 32 raw bytes or 64 hex digits (has %zu bytes)",
					path, len);
		}
	}
	vg_secure_zero(data, alloc_len);
	free(data);
	return rc;
}
