/* The key-encryption key: resources are sealed with AES-256-GCM under it,
 * bound to their path as AAD. The plaintext exists only inside these calls. */
#include "attestd/attestd.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

static void kek_id(struct ad_kek *k)
{
	uint8_t d[32];
	unsigned dl = 0;
	EVP_Digest(k->key, AD_KEK_LEN, d, &dl, EVP_sha256(), NULL);
	vg_hex_encode(d, 8, k->id);
}

void ad_kek_clear(struct ad_kek *k) { vg_secure_zero(k, sizeof(*k)); }

int ad_kek_read(const char *file, struct ad_kek *k, struct vg_err *err)
{
	uint8_t *b = NULL;
	size_t n = 0;
	int rc = vg_read_file(file, 4096, &b, &n, err);
	if (rc)
		return vg_err_prefix(err, "--kek-file");
	memset(k, 0, sizeof(*k));
	size_t t = n;
	while (t && (b[t - 1] == '\n' || b[t - 1] == '\r' || b[t - 1] == ' '))
		t--;
	if (n == AD_KEK_LEN) {
		memcpy(k->key, b, AD_KEK_LEN);
	} else if (t == 2 * AD_KEK_LEN) {
		char hex[2 * AD_KEK_LEN + 1];
		memcpy(hex, b, t);
		hex[t] = 0;
		rc = vg_hex_decode(hex, k->key, AD_KEK_LEN, NULL);
		vg_secure_zero(hex, sizeof(hex));
		if (rc)
			rc = vg_err_set(err, EINVAL, "%s: 64 characters but not hex", file);
	} else {
		rc = vg_err_set(err, EINVAL, "%s: a KEK is 32 raw bytes or 64 hex digits (file has %zu bytes)", file, n);
	}
	vg_secure_zero(b, n);
	free(b);
	if (!rc)
		kek_id(k);
	return rc;
}

int ad_kek_generate(struct ad_kek *k, struct vg_err *err)
{
	memset(k, 0, sizeof(*k));
	if (RAND_priv_bytes(k->key, AD_KEK_LEN) != 1)
		return vg_err_set(err, EIO, "KEK: random generator failed");
	kek_id(k);
	return 0;
}

int ad_kek_load(const char *file, const char *state_dir, struct ad_kek *k, struct vg_err *err)
{
	if (file && *file)
		return ad_kek_read(file, k, err);
	char path[1100];
	snprintf(path, sizeof(path), "%s/kek", state_dir);
	if (access(path, F_OK) == 0)
		return ad_kek_read(path, k, err);
	int rc = ad_kek_generate(k, err);
	if (rc)
		return rc;
	rc = vg_write_file_atomic(path, k->key, AD_KEK_LEN, 0600, err);
	if (rc)
		return vg_err_prefix(err, "writing %s", path);
	ad_logf(VG_LOG_WARN, "kek.generated",
		"generated a key-encryption key in %s (0600); production keeps the KEK elsewhere "
		"(--kek-file, e.g. a systemd credential)",
		path);
	return 0;
}

int ad_kek_seal(const struct ad_kek *k, const char *path, const uint8_t *pt, size_t len, struct ad_resource *r,
		struct vg_err *err)
{
	int outl = 0, fl = 0, rc = 0;
	if (len > (size_t)INT32_MAX - 64)
		return vg_err_set(err, E2BIG, "resource too large");
	memset(r, 0, sizeof(*r));
	snprintf(r->path, sizeof(r->path), "%s", path);
	memcpy(r->kek_id, k->id, sizeof(r->kek_id));
	r->size = (int64_t)len;
	if (RAND_bytes(r->iv, sizeof(r->iv)) != 1)
		return vg_err_set(err, EIO, "random generator failed");
	r->ciphertext = malloc(len + 16);
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	if (!r->ciphertext || !c) {
		rc = vg_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if (!EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, k->key, r->iv) ||
	    !EVP_EncryptUpdate(c, NULL, &outl, (const uint8_t *)path, (int)strlen(path)) ||
	    !EVP_EncryptUpdate(c, r->ciphertext, &outl, pt, (int)len) ||
	    !EVP_EncryptFinal_ex(c, r->ciphertext + outl, &fl) ||
	    !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, r->ciphertext + len)) {
		rc = vg_err_set(err, EIO, "AES-256-GCM sealing failed");
		goto out;
	}
	r->ciphertext_len = len + 16;
out:
	EVP_CIPHER_CTX_free(c);
	if (rc)
		ad_resource_clear(r);
	return rc;
}

int ad_kek_open(const struct ad_kek *k, const struct ad_resource *r, uint8_t **pt, size_t *len, struct vg_err *err)
{
	*pt = NULL;
	*len = 0;
	if (strcmp(r->kek_id, k->id))
		return vg_err_set(err, EKEYREJECTED, "resource %s is sealed under KEK %s, the service has KEK %s", r->path,
				  r->kek_id, k->id);
	if (r->ciphertext_len < 16)
		return vg_err_set(err, EBADMSG, "resource %s: ciphertext truncated", r->path);
	size_t n = r->ciphertext_len - 16;
	uint8_t *out = malloc(n ? n : 1);
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int outl = 0, fl = 0, rc = 0;
	if (!out || !c) {
		rc = vg_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if (!EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, k->key, r->iv) ||
	    !EVP_DecryptUpdate(c, NULL, &outl, (const uint8_t *)r->path, (int)strlen(r->path)) ||
	    !EVP_DecryptUpdate(c, out, &outl, r->ciphertext, (int)n) ||
	    !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, (void *)(r->ciphertext + n)) ||
	    EVP_DecryptFinal_ex(c, out + outl, &fl) <= 0) {
		rc = vg_err_set(err, EBADMSG, "resource %s: authentication failed (wrong KEK, or the row was altered or moved)",
				r->path);
		goto out;
	}
	*pt = out;
	*len = n;
	out = NULL;
out:
	EVP_CIPHER_CTX_free(c);
	if (out) {
		vg_secure_zero(out, n);
		free(out);
	}
	return rc;
}
