/* Fuzz target: the JOSE parsers of attest/. First byte selects: JWS verify,
 * JWE decrypt, JWK import (+ thumbprint, export), base64/base64url decode
 * (accepted input must re-encode to itself) and JCS of arbitrary JSON (the
 * canonical form must be a fixed point). The keys are fixed test keys made for
 * this target only, so the seeds in tests/fuzz/seeds/fuzz_jose reach the
 * signature check and the AES-GCM tag check. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/pem.h>

#include "attest/attest.h"

static const char p256_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgakk1S9CBVjJ8/VGO\n"
	"5B03Cg5lyIzACU4XuGe3m0IguaqhRANCAATnnwBUN3PvpNiYf0mxVOlh9aprfcaS\n"
	"fMMkQ2I/Zov0qbKgPbvuw+MuO5M6ngNRwWsOFOUNWT0M1iM/HYcHvXYZ\n"
	"-----END PRIVATE KEY-----\n";
static const char rsa_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDb1X5GJ+d7BE+Z\n"
	"n0ej9sBXAXuYa6M7R/DqMlqgPCTO/THDkNQjfnsdbm75C8WnB2y+1z3joEjVPuPs\n"
	"yqqEiKWKrgbUzd+nvH6tKxjJp2oJRhiZq1G8ey7F+tmxkJJzV+81s6C4zN9f+z4c\n"
	"c4NiOfdaBD9AmvTHkQXiLagudjONWsNUax0LYsk3buQT5Jdh4aAb/3Biqg+BlxV3\n"
	"jKNHjVHX5W27CMwc/lvaaI6nEUuXhlSDW4GtBiuWGVoWSz6Ousr2FUpBNFBAjPBC\n"
	"7LZwe1ZSpaLRFF7c5+09I9pMyQXP8+uK3WbCM2FPVyKcxlgPIeYkpWLcvdQnRpSu\n"
	"3CuFJ485AgMBAAECggEAIssA79CcAevWP12mxIwmt/6Llb2feZ/ywNZUYpzyRHJt\n"
	"YGL5OF7p1GgolzEmSL/TlcbSTEcPj/SitVUENPK9pJvTh/XHirA6KmUySKQ/E5Wt\n"
	"ChFD3/1tEzeXIdPcYfYObaTu8KC4T+QfWfhsWG0NOYmHi02bJUTONhR81FGv6hSi\n"
	"xsEb1GSUT438vn//HWHGRleXxKdOMTwyZzYSzs8gnyBF9bWz6aJsh2zhJpOkYfSf\n"
	"C1V8kp/dgVl3FTjHhqLcGBEVs2gc/tXHqaAref1xQm47+lJdKCOHLCTuokeJhfJJ\n"
	"Y5OZuPXYeTcl3UK2tF4zXc+5Xig361oWWPEe3ZriaQKBgQD1xSwzZ4VBvZs1RC/s\n"
	"aCtIZwOvWlmdj4OIbbMRXKjCQS+UWsQBo5GLjhsLaOzDWtK3dh+/YZuUHM5Am6BW\n"
	"JwPOptuOyFzXH5nbb7kfTRCgUFPkwdQcE0D+H59FUfV1ByB2fZcT1tgUGE1hDasT\n"
	"WIABAjO1AvDFmOot+zu/0+G6jQKBgQDk+/RZsLBuwUH2AMPRpyurp8ICzOGlKC3Y\n"
	"QUh/Jpv26HFiBVdZBXq6wW1S+xcrKfszH5t/W6ISEdIK6bi5DrHMBgsBV9knYz9O\n"
	"vY+MRmEEhXXHRsL+q0cqW2CaYS9oOOSmv+0CdX4XMywvAfGSQgsaVVh88vLN1FFs\n"
	"+2+OyGRyXQKBgQDa999XtUXeuqXMIYJpKK5XhaCc3Oy3GqRgKwy9zUZ2PEm97dhw\n"
	"dWE5a1ThJ4y6yPKwjkfe5YINxlRk78M8vun/dl5rqkw9RmR4Q+Q15R2JF8iHKcJn\n"
	"eSgQwe/PfSQqLj1YFLFD9cjyrmxSqjDfvZveSi3zejk2c/VBHnOvh4G4CQKBgA0H\n"
	"bQrha9iRdIBb4MiAG5MD0503LSupkpo4dLiPaNZuuWzbYvH0xtvzf5X2JYZWOC3b\n"
	"gYyImTsv+mSWkeUtud4jBeNIrVl5YzPGw3E22/RW57G0DApTkpQNaPy/xOPIQPJf\n"
	"/0thhhAp4Dy4fpdU3K7d5lANvtUJXKy3zcwxCM4dAoGBALtRW+VkkeewcDyBCyG6\n"
	"2FFFgEwe1mnBmtpSqrU6XdmWfxwvb4HJMF8MKz03va4L6OxGiE+ooxuYcB4RyXRN\n"
	"4NL3x95VW99kC6tDpcOUYkW0PzHipbfRWDlI7dPdLzsWhSNOxjT7m55fIzmZicyL\n"
	"vW/7zUiLU8IsX+2Uo3jFfQBo\n"
	"-----END PRIVATE KEY-----\n";
static const char ed_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MC4CAQAwBQYDK2VwBCIEIPR4IT08nJwoFzcAKTfhQnDaj8a35pFzfa35M5A6O1pJ\n"
	"-----END PRIVATE KEY-----\n";

static EVP_PKEY *keys[3];

static EVP_PKEY *pem_key(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	if (!k)
		__builtin_trap();
	return k;
}

static void jcs_fixed_point(const json_t *v)
{
	struct vg_buf a = {0}, b = {0};
	if (att_jcs_serialize(v, &a, NULL) == 0) {
		/* jansson cannot read back integers beyond int64 (ECMAScript prints
		 * 1e20 as 100000000000000000000): only a parsed result is compared. */
		json_t *again = json_loadb((const char *)a.data, a.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
		if (again && (att_jcs_serialize(again, &b, NULL) != 0 || a.len != b.len || memcmp(a.data, b.data, a.len)))
			__builtin_trap();
		json_decref(again);
	}
	vg_buf_free(&a);
	vg_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!keys[0]) {
		keys[0] = pem_key(p256_pem);
		keys[1] = pem_key(rsa_pem);
		keys[2] = pem_key(ed_pem);
	}
	if (size < 1)
		return 0;
	const uint8_t *in = data + 1;
	size_t n = size - 1;
	switch (data[0] % 5) {
	case 0: { /* JWS verify */
		char *s = strndup((const char *)in, n);
		uint8_t *pl = NULL;
		size_t pl_len = 0;
		json_t *hdr = NULL;
		if (s && att_jws_verify(s, keys, 3, ATT_JWS_ES256 | ATT_JWS_ES384 | ATT_JWS_EDDSA, &pl, &pl_len, &hdr, NULL) == 0 &&
		    (!pl || !json_is_object(hdr)))
			__builtin_trap();
		free(pl);
		json_decref(hdr);
		free(s);
		break;
	}
	case 1: { /* JWE decrypt */
		json_t *j = json_loadb((const char *)in, n, 0, NULL);
		for (int k = 0; j && k < 2; k++) {
			uint8_t *pt = NULL;
			size_t len = 0;
			if (att_jwe_decrypt(keys[k], j, &pt, &len, NULL) == 0 && !pt)
				__builtin_trap();
			free(pt);
		}
		json_decref(j);
		break;
	}
	case 2: { /* JWK import, thumbprint, export */
		json_t *j = json_loadb((const char *)in, n, 0, NULL);
		EVP_PKEY *pk = NULL;
		char tp[44];
		if (j && att_jwk_to_pkey(j, &pk, NULL) == 0) {
			json_t *back = att_jwk_from_pkey(pk, NULL);
			if (!back || att_jwk_thumbprint(j, tp, NULL) != 0 || strlen(tp) != 43)
				__builtin_trap();
			json_decref(back);
		} else if (j) {
			att_jwk_thumbprint(j, tp, NULL);
		}
		EVP_PKEY_free(pk);
		json_decref(j);
		break;
	}
	case 3: { /* base64 / base64url */
		for (int url = 0; url < 2; url++) {
			uint8_t *out = NULL;
			size_t len = 0;
			if (att_b64_decode((const char *)in, n, url, &out, &len, NULL) == 0) {
				char *e = att_b64_encode(out, len, url);
				if (!e || strlen(e) != n || memcmp(e, in, n))
					__builtin_trap();
				free(e);
			}
			free(out);
		}
		break;
	}
	default: { /* JCS, and the REPORT_DATA of an object */
		json_t *j = json_loadb((const char *)in, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
		if (j) {
			jcs_fixed_point(j);
			uint8_t rd[ATT_REPORT_DATA_LEN];
			att_kbs_report_data("nonce", j, NULL, rd, NULL);
		}
		json_decref(j);
		break;
	}
	}
	return 0;
}
