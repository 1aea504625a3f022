/* Fuzz target: the EAR token parsers. The input is tried as a CWT (COSE_Sign1
 * with a fixed key: signature checks fail, the structure walk must not), as a
 * CWT claims map (CBOR -> JSON mapping of the integer keys), and as a JWT. */
#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static EVP_PKEY *keys[2];
	if (!keys[0]) {
		keys[0] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		keys[1] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	}
	json_t *c = NULL;
	if (pol_ear_cwt_verify(data, size, keys, 2, &c, NULL) == 0)
		__builtin_trap(); /* nobody can sign with these keys */
	json_decref(c);
	c = NULL;
	if (pol_ear_cwt_claims_decode(data, size, &c, NULL) == 0) {
		if (!json_is_object(c))
			__builtin_trap();
		char *s = json_dumps(c, JSON_COMPACT);
		free(s);
	}
	json_decref(c);
	char *jwt = malloc(size + 1);
	if (!jwt)
		return 0;
	memcpy(jwt, data, size);
	jwt[size] = 0;
	c = NULL;
	if (pol_ear_jwt_verify(jwt, keys, 2, &c, NULL) == 0)
		__builtin_trap();
	json_decref(c);
	free(jwt);
	return 0;
}
