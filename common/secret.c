/* Secrets: zeroize with OpenSSL, compare in constant time. */
#include "common/common.h"

#include <openssl/crypto.h>

void vg_secure_zero(void *p, size_t n)
{
	if (p && n)
		OPENSSL_cleanse(p, n);
}

bool vg_ct_equal(const void *a, const void *b, size_t n) { return CRYPTO_memcmp(a, b, n) == 0; }
