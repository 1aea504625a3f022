/* Test helper: prints the PE/COFF Authenticode digest of a file as edk2 measures it
 * (fw_pe_authenticode) with any OpenSSL digest, so an integration test can compare it
 * with a signature made by someone else (Debian's SHA-256 Secure Boot signature).
 * usage: pe_digest_tool FILE [SHA256|SHA384] */
#include <stdio.h>
#include <stdlib.h>

#include "firmware/firmware.h"

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: pe_digest_tool FILE [SHA256|SHA384]\n");
		return 2;
	}
	struct vg_err err = {0};
	uint8_t *img = NULL, out[64];
	size_t len = 0, n = 0;
	if (vg_read_file(argv[1], 1u << 30, &img, &len, &err)) {
		fprintf(stderr, "pe_digest_tool: %s\n", err.msg);
		return 2;
	}
	int rc = fw_pe_authenticode(img, len, argc > 2 ? argv[2] : "SHA384", out, &n, NULL, &err);
	free(img);
	if (rc) {
		fprintf(stderr, "pe_digest_tool: %s\n", err.msg);
		return 1;
	}
	char hex[129];
	vg_hex_encode(out, n, hex);
	printf("%s\n", hex);
	return 0;
}
