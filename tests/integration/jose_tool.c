/* jose_tool: the JOSE part of attest/ on the command line, for interop tests
 * against implementations we did not write (npm jose, openssl).
 *
 *   jose_tool jwk KEY                     public JWK of a PEM key
 *   jose_tool thumbprint JWK.json         RFC 7638 thumbprint
 *   jose_tool sign PRIV.pem ALG FILE      compact JWS of FILE (ALG: ES256, ES384, EdDSA)
 *   jose_tool verify KEY COMPACT ALGS     payload of a JWS file (ALGS: comma list) to stdout
 *   jose_tool encrypt KEY FILE            flattened JWE (JSON) of FILE
 *   jose_tool decrypt PRIV.pem JWE.json   plaintext to stdout
 *   jose_tool jcs FILE.json               RFC 8785 form
 *   jose_tool reportdata NONCE JWK.json [ADDITIONAL]   hex REPORT_DATA
 *
 * KEY is a PEM public or private key, or a JWK (.json). Exit 0 ok, 1
 * rejected, 2 usage or I/O. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "attest/attest.h"

static int die(int code, const char *what, const struct vg_err *err)
{
	fprintf(stderr, "jose_tool: %s%s%s\n", what, err ? ": " : "", err ? err->msg : "");
	return code;
}

static int slurp(const char *path, uint8_t **buf, size_t *len)
{
	struct vg_err err = {0};
	if (vg_read_file(path, 64u << 20, buf, len, &err))
		return die(2, path, &err);
	return 0;
}

static json_t *load_json(const char *path)
{
	json_error_t je;
	json_t *v = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!v)
		fprintf(stderr, "jose_tool: %s: %s\n", path, je.text);
	return v;
}

static EVP_PKEY *load_key(const char *path, bool priv)
{
	size_t n = strlen(path);
	if (n > 5 && strcmp(path + n - 5, ".json") == 0) {
		json_t *j = load_json(path);
		EVP_PKEY *pk = NULL;
		struct vg_err err = {0};
		if (j && att_jwk_to_pkey(j, &pk, &err))
			die(1, path, &err);
		json_decref(j);
		return pk;
	}
	FILE *f = fopen(path, "r");
	if (!f) {
		perror(path);
		return NULL;
	}
	EVP_PKEY *pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	if (!pk && !priv) {
		rewind(f);
		pk = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	}
	fclose(f);
	if (!pk)
		fprintf(stderr, "jose_tool: %s: no %s key\n", path, priv ? "private" : "PEM");
	return pk;
}

static unsigned parse_algs(const char *s)
{
	unsigned m = 0;
	const enum att_jws_alg all[] = {ATT_JWS_ES256, ATT_JWS_ES384, ATT_JWS_EDDSA};
	char *dup = strdup(s), *save = NULL;
	for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save))
		for (size_t i = 0; i < 3; i++)
			if (strcmp(t, att_jws_alg_name(all[i])) == 0)
				m |= all[i];
	free(dup);
	return m;
}

static int print_json(json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!s)
		return 2;
	puts(s);
	free(s);
	return 0;
}

int main(int argc, char **argv)
{
	struct vg_err err = {0};
	if (argc < 3)
		return die(2, "usage: jose_tool jwk|thumbprint|sign|verify|encrypt|decrypt|jcs|reportdata ...", NULL);
	const char *cmd = argv[1];
	int rc = 2;
	EVP_PKEY *key = NULL;
	uint8_t *buf = NULL, *out = NULL;
	size_t len = 0, out_len = 0;
	json_t *j = NULL;
	if (strcmp(cmd, "jwk") == 0) {
		if (!(key = load_key(argv[2], false)))
			goto done;
		if (!(j = att_jwk_from_pkey(key, &err))) {
			rc = die(1, "jwk", &err);
			goto done;
		}
		rc = print_json(j);
	} else if (strcmp(cmd, "thumbprint") == 0) {
		char tp[44];
		if (!(j = load_json(argv[2])))
			goto done;
		if (att_jwk_thumbprint(j, tp, &err)) {
			rc = die(1, "thumbprint", &err);
			goto done;
		}
		puts(tp);
		rc = 0;
	} else if (strcmp(cmd, "sign") == 0 && argc == 5) {
		unsigned alg = parse_algs(argv[3]);
		char *jws = NULL;
		if (!alg || !(key = load_key(argv[2], true)) || slurp(argv[4], &buf, &len))
			goto done;
		if (att_jws_sign(key, (enum att_jws_alg)alg, "JWT", "vigil-test", buf, len, &jws, &err)) {
			rc = die(1, "sign", &err);
			goto done;
		}
		puts(jws);
		free(jws);
		rc = 0;
	} else if (strcmp(cmd, "verify") == 0 && argc == 5) {
		if (!(key = load_key(argv[2], false)) || slurp(argv[3], &buf, &len))
			goto done;
		while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
			len--;
		char *txt = strndup((const char *)buf, len);
		int r = att_jws_verify(txt, &key, 1, parse_algs(argv[4]), &out, &out_len, NULL, &err);
		free(txt);
		if (r) {
			rc = die(1, "verify", &err);
			goto done;
		}
		fwrite(out, 1, out_len, stdout);
		rc = 0;
	} else if (strcmp(cmd, "encrypt") == 0 && argc == 4) {
		if (!(key = load_key(argv[2], false)) || slurp(argv[3], &buf, &len))
			goto done;
		if (att_jwe_encrypt(key, buf, len, &j, &err)) {
			rc = die(1, "encrypt", &err);
			goto done;
		}
		rc = print_json(j);
	} else if (strcmp(cmd, "decrypt") == 0 && argc == 4) {
		if (!(key = load_key(argv[2], true)) || !(j = load_json(argv[3])))
			goto done;
		if (att_jwe_decrypt(key, j, &out, &out_len, &err)) {
			rc = die(1, "decrypt", &err);
			goto done;
		}
		fwrite(out, 1, out_len, stdout);
		vg_secure_zero(out, out_len);
		rc = 0;
	} else if (strcmp(cmd, "jcs") == 0) {
		json_error_t je;
		if (slurp(argv[2], &buf, &len))
			goto done;
		if (!(j = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je))) {
			fprintf(stderr, "jose_tool: %s: %s\n", argv[2], je.text);
			rc = 1;
			goto done;
		}
		struct vg_buf b = {0};
		rc = att_jcs_serialize(j, &b, &err) ? die(1, argv[2], &err) : 0;
		if (!rc)
			fwrite(b.data, 1, b.len, stdout);
		vg_buf_free(&b);
	} else if (strcmp(cmd, "reportdata") == 0 && (argc == 4 || argc == 5)) {
		uint8_t rd[ATT_REPORT_DATA_LEN];
		char hex[2 * ATT_REPORT_DATA_LEN + 1];
		if (!(j = load_json(argv[3])))
			goto done;
		if (att_kbs_report_data(argv[2], j, argc == 5 ? argv[4] : NULL, rd, &err)) {
			rc = die(1, "reportdata", &err);
			goto done;
		}
		vg_hex_encode(rd, sizeof(rd), hex);
		puts(hex);
		rc = 0;
	} else {
		rc = die(2, "unknown command or wrong number of arguments", NULL);
	}
done:
	EVP_PKEY_free(key);
	json_decref(j);
	free(buf);
	free(out);
	return rc;
}
