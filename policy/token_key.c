/* The EAR signing key: loaded from a PEM file, or generated once into a state
 * directory (file 0600, directory 0700) and reused; its public JWKS. */
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/internal.h"

#define KEY_FILE "ear-signing-key.pem"

static int kid_of(EVP_PKEY *key, char kid[64], struct vg_err *err)
{
	json_t *jwk = att_jwk_from_pkey(key, err);
	char tp[44];
	if (!jwk)
		return -EINVAL;
	int rc = att_jwk_thumbprint(jwk, tp, err);
	json_decref(jwk);
	if (!rc)
		snprintf(kid, 64, "%s", tp);
	return rc;
}

static int load_pem(const char *path, EVP_PKEY **key, struct vg_err *err)
{
	*key = vg_pem_read_key_file(path, 0, err);
	if (!*key)
		return -EINVAL;
	enum att_jws_alg a = att_jws_alg_for_key(*key);
	if (a != ATT_JWS_ES256 && a != ATT_JWS_ES384) {
		EVP_PKEY_free(*key);
		*key = NULL;
		return vg_err_set(err, EINVAL, "%s: the EAR key must be EC P-256 or P-384", path);
	}
	return 0;
}

static int create_key(const char *path, EVP_PKEY **key, struct vg_err *err)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	BIO *bio = BIO_new(BIO_s_secmem());
	char *data = NULL;
	int rc = -EIO;
	if (!k || !bio || !PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL)) {
		rc = vg_err_set(err, EIO, "cannot generate the EAR signing key");
		goto out;
	}
	long len = BIO_get_mem_data(bio, &data);
	rc = vg_write_file_atomic(path, data, (size_t)len, 0600, err);
	if (!rc) {
		*key = k;
		k = NULL;
	}
out:
	BIO_free(bio); /* secure heap memory is cleansed on free */
	EVP_PKEY_free(k);
	return rc;
}

int pol_token_key_load_or_create(const char *file, const char *state_dir, EVP_PKEY **key, char kid[64],
				 struct vg_err *err)
{
	*key = NULL;
	kid[0] = 0;
	int rc;
	if (file) {
		rc = load_pem(file, key, err);
	} else {
		if (!state_dir)
			return vg_err_set(err, EINVAL, "EAR key: no key file and no state directory");
		char path[4096];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", state_dir, KEY_FILE);
		if (mkdir(state_dir, 0700) && errno != EEXIST)
			return vg_err_set(err, errno, "%s: cannot create the state directory: %s", state_dir, strerror(errno));
		if (stat(path, &st) == 0) {
			if (st.st_mode & 077)
				return vg_err_set(err, EPERM, "%s: readable by others (mode %03o); it must be 0600", path,
						  (unsigned)(st.st_mode & 0777));
			rc = load_pem(path, key, err);
		} else if (errno == ENOENT) {
			rc = create_key(path, key, err);
		} else {
			return vg_err_set(err, errno, "%s: %s", path, strerror(errno));
		}
	}
	if (!rc && (rc = kid_of(*key, kid, err))) {
		EVP_PKEY_free(*key);
		*key = NULL;
	}
	return rc;
}

json_t *pol_jwks(EVP_PKEY *const *keys, const char *const *kids, size_t n)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < n; i++) {
		json_t *jwk = att_jwk_from_pkey(keys[i], NULL);
		enum att_jws_alg a = att_jws_alg_for_key(keys[i]);
		if (!jwk || (a != ATT_JWS_ES256 && a != ATT_JWS_ES384)) {
			json_decref(jwk);
			json_decref(arr);
			return NULL;
		}
		if (kids && kids[i])
			json_object_set_new(jwk, "kid", json_string(kids[i]));
		json_object_set_new(jwk, "alg", json_string(att_jws_alg_name(a)));
		json_object_set_new(jwk, "use", json_string("sig"));
		json_array_append_new(arr, jwk);
	}
	return arr ? json_pack("{s:o}", "keys", arr) : NULL;
}
