/* The header shared by the SEV ("ASEV") and TDX ("TDVF") metadata blocks. */
#include "firmware/fw_priv.h"

#include <string.h>

#define HEADER_LEN 16

int fw_metadata_header(const struct fw_image *fw, uint32_t from_end, const char *sig, size_t item_size,
		       uint32_t max_items, bool allow_empty, const char *what, struct vg_reader *r,
		       uint32_t *version, uint32_t *count, struct vg_err *err)
{
	uint8_t got[4];
	uint32_t length;
	if (from_end < HEADER_LEN || from_end > fw->len)
		return vg_err_set(err, EBADMSG, "%s: offset 0x%x from the end is outside the %zu-byte image", what,
				  from_end, fw->len);
	size_t start = fw->len - from_end;
	vg_rd_init(r, fw->data, fw->len);
	vg_rd_seek(r, start);
	vg_rd_bytes(r, got, 4);
	vg_rd_le32(r, &length);
	vg_rd_le32(r, version);
	vg_rd_le32(r, count);
	if (!vg_rd_ok(r))
		return vg_err_set(err, EBADMSG, "%s: header truncated at offset 0x%zx", what, start);
	if (memcmp(got, sig, 4))
		return vg_err_set(err, EBADMSG, "%s: bad signature at offset 0x%zx (expected \"%s\")", what, start, sig);
	if (*version != 1)
		return vg_err_set(err, EBADMSG, "%s: unsupported version %u (expected 1)", what, *version);
	if (*count == 0 && !allow_empty)
		return vg_err_set(err, EBADMSG, "%s: no sections", what);
	if (*count > max_items)
		return vg_err_set(err, EBADMSG, "%s: %u sections, more than %u", what, *count, max_items);
	if (length < HEADER_LEN + (uint64_t)*count * item_size)
		return vg_err_set(err, EBADMSG, "%s: length %u is too small for %u sections", what, length, *count);
	if (length > from_end)
		return vg_err_set(err, EBADMSG, "%s: length %u runs past the end of the image", what, length);
	return 0;
}
