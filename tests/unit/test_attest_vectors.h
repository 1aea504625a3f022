/* Shared by the attest/, SNP report and TDX quote unit tests: vectors read in
 * place from $VIGIL_VECTORS (NULL when absent: the caller skips). */
#ifndef VIGIL_TEST_ATTEST_VECTORS_H
#define VIGIL_TEST_ATTEST_VECTORS_H

#include <stdio.h>
#include <stdlib.h>

#include "common/common.h"

static inline uint8_t *vec(const char *rel, size_t *len)
{
	const char *root = getenv("VIGIL_VECTORS");
	char path[1024];
	uint8_t *buf = NULL;
	snprintf(path, sizeof(path), "%s/%s", root ? root : "../shared/vectors", rel);
	if (vg_read_file(path, 1 << 20, &buf, len, NULL))
		return NULL;
	return buf;
}

/* Asserts that n bytes at b are the lowercase hex `want`. */
static inline void hexeq(const uint8_t *b, size_t n, const char *want)
{
	char h[257];
	vg_hex_encode(b, n < 128 ? n : 128, h);
	assert_string_equal(h, want);
}

#endif
