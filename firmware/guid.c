/* GUID text <-> EFI byte order (first three fields little-endian). */
#include "firmware/firmware.h"

#include <stdio.h>
#include <string.h>

int fw_guid_parse(const char *str, struct fw_guid *out)
{
	/* Text byte order: 4-2-2-2-6; EFI order reverses the first three fields. */
	static const int pos[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
	char digits[33];
	uint8_t text[16];
	size_t n = 0;
	if (!str || strlen(str) != 36)
		return -EINVAL;
	for (size_t i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash != (str[i] == '-'))
			return -EINVAL;
		if (!dash)
			digits[n++] = str[i];
	}
	digits[n] = '\0';
	if (vg_hex_decode(digits, text, sizeof(text), NULL))
		return -EINVAL;
	for (int i = 0; i < 16; i++)
		out->b[pos[i]] = text[i];
	return 0;
}

void fw_guid_format(const struct fw_guid *g, char out[37])
{
	const uint8_t *b = g->b;
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[3], b[2],
		 b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}
