/*
 * The SNP certificate table (sev.h section "certificate table") (GHCB specification 2.03, 4.1.8.1 MSG_REPORT_REQ / the
 * extended guest request): what SNP_GET_EXT_REPORT and configfs-tsm's auxblob return.
 *
 *   entry  { GUID[16]; u32 offset; u32 length; }   (24 bytes, little-endian numbers)
 *   ...    the last entry is all zero; certificate bytes follow the entry array,
 *          at offsets counted from the start of the table.
 * GUIDs are in RFC 4122 byte order (as virtee/sev and go-sev-guest read them).
 */
#include <stdlib.h>
#include <string.h>

#include "sev/sev.h"

#define ENTRY_LEN 24u

static const struct {
	enum sev_cert_type type;
	uint8_t guid[16];
} known[] = {
	/* 63da758d-e664-4564-adc5-f4b93be8accd */
	{ SEV_CERT_VCEK, { 0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64, 0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd } },
	/* a8074bc2-a25a-483e-aae6-39c045a0b8a1 */
	{ SEV_CERT_VLEK, { 0xa8, 0x07, 0x4b, 0xc2, 0xa2, 0x5a, 0x48, 0x3e, 0xaa, 0xe6, 0x39, 0xc0, 0x45, 0xa0, 0xb8, 0xa1 } },
	/* 4ab7b379-bbac-4fe4-a02f-05aef327c782 */
	{ SEV_CERT_ASK, { 0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4, 0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7, 0x82 } },
	/* c0b406a4-a803-4952-9743-3fb6014cd0ae */
	{ SEV_CERT_ARK, { 0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52, 0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0, 0xae } },
};

const char *sev_cert_type_name(enum sev_cert_type t)
{
	switch (t) {
	case SEV_CERT_VCEK: return "vcek";
	case SEV_CERT_VLEK: return "vlek";
	case SEV_CERT_ASK: return "ask";
	case SEV_CERT_ARK: return "ark";
	case SEV_CERT_OTHER: break;
	}
	return "other";
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

int sev_snp_cert_table_parse(const uint8_t *table, size_t len, struct sev_cert out[SEV_CERT_TABLE_MAX], size_t *n,
			    struct vg_err *err)
{
	*n = 0;
	struct vg_reader r;
	vg_rd_init(&r, table, len);
	struct {
		const uint8_t *guid;
		uint32_t off, len;
	} ent[SEV_CERT_TABLE_MAX];
	size_t count = 0;
	for (;;) {
		const uint8_t *guid;
		uint32_t off, clen;
		if (vg_rd_ptr(&r, 16, &guid) || vg_rd_le32(&r, &off) || vg_rd_le32(&r, &clen))
			return vg_err_set(err, EBADMSG,
					  "SNP certificate table: entry %zu runs past the %zu-byte table (no terminator)",
					  count, len);
		if (all_zero(guid, 16)) {
			if (off || clen)
				return vg_err_set(err, EBADMSG,
						  "SNP certificate table: terminator entry %zu has offset/length set", count);
			break;
		}
		if (count == SEV_CERT_TABLE_MAX)
			return vg_err_set(err, EBADMSG, "SNP certificate table: more than %d entries",
					  SEV_CERT_TABLE_MAX);
		ent[count].guid = guid;
		ent[count].off = off;
		ent[count].len = clen;
		count++;
	}
	size_t entries_end = (count + 1) * ENTRY_LEN;
	for (size_t i = 0; i < count; i++) {
		uint64_t end = (uint64_t)ent[i].off + ent[i].len;
		if (!ent[i].len)
			return vg_err_set(err, EBADMSG, "SNP certificate table: entry %zu has length 0", i);
		if (ent[i].off < entries_end)
			return vg_err_set(err, EBADMSG,
					  "SNP certificate table: entry %zu offset %u overlaps the entry array (%zu bytes)",
					  i, ent[i].off, entries_end);
		if (end > len)
			return vg_err_set(err, EBADMSG,
					  "SNP certificate table: entry %zu (offset %u, length %u) ends past the %zu-byte table",
					  i, ent[i].off, ent[i].len, len);
		out[i].type = SEV_CERT_OTHER;
		for (size_t k = 0; k < VG_ARRAY_SIZE(known); k++)
			if (!memcmp(known[k].guid, ent[i].guid, 16))
				out[i].type = known[k].type;
		for (size_t j = 0; j < i; j++)
			if (out[i].type != SEV_CERT_OTHER && out[j].type == out[i].type)
				return vg_err_set(err, EBADMSG, "SNP certificate table: two %s entries",
						  sev_cert_type_name(out[i].type));
		out[i].data = table + ent[i].off;
		out[i].len = ent[i].len;
	}
	*n = count;
	return 0;
}

int sev_snp_cert_table_build(const struct sev_cert *certs, size_t n, uint8_t **out, size_t *len,
			    struct vg_err *err)
{
	*out = NULL;
	*len = 0;
	if (n > SEV_CERT_TABLE_MAX)
		return vg_err_set(err, EINVAL, "SNP certificate table: more than %d entries", SEV_CERT_TABLE_MAX);
	struct vg_buf b = { 0 };
	size_t off = (n + 1) * ENTRY_LEN;
	int rc = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		const uint8_t *guid = NULL;
		for (size_t k = 0; k < VG_ARRAY_SIZE(known); k++)
			if (known[k].type == certs[i].type)
				guid = known[k].guid;
		if (!guid || certs[i].len > UINT32_MAX - off) {
			vg_buf_free(&b);
			return vg_err_set(err, EINVAL, "SNP certificate table: entry %zu cannot be encoded", i);
		}
		rc = vg_buf_append(&b, guid, 16) ?: vg_buf_append_le32(&b, (uint32_t)off) ?:
		     vg_buf_append_le32(&b, (uint32_t)certs[i].len);
		off += certs[i].len;
	}
	uint8_t zero[ENTRY_LEN] = { 0 };
	rc = rc ?: vg_buf_append(&b, zero, sizeof(zero));
	for (size_t i = 0; i < n && !rc; i++)
		rc = vg_buf_append(&b, certs[i].data, certs[i].len);
	if (rc) {
		vg_buf_free(&b);
		return vg_err_set(err, ENOMEM, "out of memory");
	}
	*out = b.data;
	*len = b.len;
	return 0;
}
