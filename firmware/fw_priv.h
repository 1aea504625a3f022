/* Private to firmware/: the header shared by the SEV and TDVF metadata blocks. */
#ifndef VIGIL_FIRMWARE_PRIV_H
#define VIGIL_FIRMWARE_PRIV_H

#include "firmware/firmware.h"

/*
 * Reads the 16-byte metadata header (signature, length, version, count) that
 * lies from_end bytes before the end of the image, and checks it: signature,
 * version 1, 1 <= count <= max_items (0 allowed when allow_empty), length
 * covering count items of item_size and not running past the image. On
 * success r is positioned at the first item. what names the block in errors.
 */
int fw_metadata_header(const struct fw_image *fw, uint32_t from_end, const char *sig, size_t item_size,
		       uint32_t max_items, bool allow_empty, const char *what, struct vg_reader *r,
		       uint32_t *version, uint32_t *count, struct vg_err *err);

#endif
