/* OVMF GUIDed footer table: bounds-checked backwards walk from the end of the image. */
#include "firmware/firmware.h"

#include <string.h>

#define FOOTER_FROM_END 32 /* the table ends 32 bytes before the end of the image */

static bool guid_is(const struct fw_guid *g, const char *text)
{
	struct fw_guid want;
	return fw_guid_parse(text, &want) == 0 && memcmp(g->b, want.b, 16) == 0;
}

const struct fw_table_entry *fw_table_find(const struct fw_image *fw, const char *guid)
{
	for (size_t i = 0; i < fw->n_entries; i++)
		if (guid_is(&fw->entries[i].guid, guid))
			return &fw->entries[i];
	return NULL;
}

bool fw_has_hash_table(const struct fw_image *fw)
{
	return fw->has_hash_table && fw->hash_table_gpa != 0;
}

/* The well-known entries: data of exactly 4 (one u32) or 8 bytes (two u32s). */
static int decode_known(struct fw_image *fw, struct vg_err *err)
{
	const struct {
		const char *guid, *name;
		size_t len;
		bool *has;
		uint32_t *a, *b;
	} known[] = {
		{FW_GUID_SEV_ES_RESET_BLOCK, "SEV-ES reset block", 4, &fw->has_reset_block, &fw->sev_es_reset_eip, NULL},
		{FW_GUID_SEV_HASH_TABLE, "SEV hash table", 8, &fw->has_hash_table, &fw->hash_table_gpa,
		 &fw->hash_table_size},
		{FW_GUID_SEV_SECRET_AREA, "SEV secret area", 8, &fw->has_secret_area, &fw->secret_gpa, &fw->secret_size},
		{FW_GUID_SEV_METADATA, "SEV metadata", 4, &fw->has_sev_metadata, &fw->sev_metadata_offset, NULL},
		{FW_GUID_TDX_METADATA, "TDX metadata", 4, &fw->has_tdx_metadata, &fw->tdx_metadata_offset, NULL},
	};
	for (size_t i = 0; i < VG_ARRAY_SIZE(known); i++) {
		const struct fw_table_entry *e = fw_table_find(fw, known[i].guid);
		if (!e)
			continue;
		if (e->len != known[i].len)
			return vg_err_set(err, EBADMSG, "firmware footer table: %s entry has %zu data bytes, expected %zu",
					  known[i].name, e->len, known[i].len);
		*known[i].has = true;
		*known[i].a = vg_le32(e->data);
		if (known[i].b)
			*known[i].b = vg_le32(e->data + 4);
	}
	return 0;
}

int fw_parse(const uint8_t *data, size_t len, struct fw_image *fw, struct vg_err *err)
{
	memset(fw, 0, sizeof(*fw));
	if (!data || len == 0)
		return vg_err_set(err, EINVAL, "firmware image is empty");
	if (len > FW_MAX_IMAGE)
		return vg_err_set(err, EFBIG, "firmware image of %zu bytes is larger than the %u-byte limit", len,
				  FW_MAX_IMAGE);
	fw->data = data;
	fw->len = len;
	fw->gpa = FW_FOUR_GIB - len;
	if (len < FOOTER_FROM_END + FW_TABLE_ENTRY_HEADER)
		return 0; /* too small to hold a footer table: no table */

	size_t footer = len - FOOTER_FROM_END - FW_TABLE_ENTRY_HEADER;
	struct vg_reader r;
	uint16_t size;
	struct fw_guid g;
	vg_rd_init(&r, data, len);
	vg_rd_seek(&r, footer);
	vg_rd_le16(&r, &size);
	vg_rd_bytes(&r, g.b, 16);
	if (!vg_rd_ok(&r))
		return vg_err_set(err, EBADMSG, "firmware footer table: truncated footer entry");
	if (!guid_is(&g, FW_GUID_OVMF_TABLE_FOOTER))
		return 0; /* no footer GUID: an image without the table */
	fw->has_table = true;
	if (size < FW_TABLE_ENTRY_HEADER)
		return vg_err_set(err, EBADMSG, "firmware footer table: footer size %u is smaller than its %d-byte header",
				  size, FW_TABLE_ENTRY_HEADER);
	size_t table_len = size - FW_TABLE_ENTRY_HEADER;
	if (table_len > footer)
		return vg_err_set(err, EBADMSG,
				  "firmware footer table: table of %zu bytes extends past the start of the %zu-byte image",
				  table_len, len);
	size_t start = footer - table_len, end = footer;
	while (end > start) {
		size_t left = end - start;
		if (left < FW_TABLE_ENTRY_HEADER)
			return vg_err_set(err, EBADMSG,
					  "firmware footer table: %zu bytes left at offset 0x%zx are too few for an entry header",
					  left, start);
		uint16_t esize;
		struct fw_table_entry e;
		vg_rd_seek(&r, end - FW_TABLE_ENTRY_HEADER);
		vg_rd_le16(&r, &esize);
		vg_rd_bytes(&r, e.guid.b, 16);
		if (!vg_rd_ok(&r))
			return vg_err_set(err, EBADMSG, "firmware footer table: truncated entry");
		char gtext[37];
		fw_guid_format(&e.guid, gtext);
		if (esize < FW_TABLE_ENTRY_HEADER)
			return vg_err_set(err, EBADMSG,
					  "firmware footer table: entry %s has size %u, smaller than its %d-byte header",
					  gtext, esize, FW_TABLE_ENTRY_HEADER);
		if (esize > left)
			return vg_err_set(err, EBADMSG,
					  "firmware footer table: entry %s of %u bytes exceeds the %zu bytes left in the table",
					  gtext, esize, left);
		if (fw_table_find(fw, gtext))
			return vg_err_set(err, EBADMSG, "firmware footer table: entry %s appears twice", gtext);
		if (fw->n_entries == FW_TABLE_MAX_ENTRIES)
			return vg_err_set(err, EBADMSG, "firmware footer table: more than %d entries",
					  FW_TABLE_MAX_ENTRIES);
		e.offset = end - esize;
		e.len = esize - FW_TABLE_ENTRY_HEADER;
		e.data = data + e.offset;
		fw->entries[fw->n_entries++] = e;
		end -= esize;
	}
	return decode_known(fw, err);
}
