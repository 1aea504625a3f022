/* Fuzz target: what attestd/collateral parses from KDS/PCS responses before
 * attest/ sees them: the Retry-After header (delay or HTTP-date) and the
 * percent-encoded issuer-chain headers; plus the path-component check that
 * guards every name we put into a URL or a cache file name. First input byte
 * selects the parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attestd/collateral/collateral.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *s = (const char *)data + 1;
	size_t n = size - 1;
	switch (data[0] % 3) {
	case 0: {
		long secs = -1;
		if (ad_coll_parse_retry_after(s, n, 1700000000, &secs) == 0 && (secs < 0 || secs > 86400))
			abort();
		break;
	}
	case 1: {
		char *o = NULL;
		size_t ol = 0;
		if (ad_coll_url_decode(s, n, &o, &ol) == 0) {
			if (ol > n || o[ol] != 0)
				abort();
			free(o);
		}
		break;
	}
	default: {
		char b[80];
		size_t k = n < sizeof(b) - 1 ? n : sizeof(b) - 1;
		memcpy(b, s, k);
		b[k] = 0;
		if (ad_coll_safe_component(b, 64) && (strchr(b, '/') || b[0] == '.'))
			abort();
		break;
	}
	}
	return 0;
}
