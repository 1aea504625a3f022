/* TDX metadata: the TDVF descriptor and its sections, strictly checked. */
#include "firmware/fw_priv.h"

#include <string.h>

#define TDVF_SECTION 32 /* TDVF_SECTION */

const char *fw_tdvf_section_name(uint32_t type)
{
	switch (type) {
	case FW_TDVF_BFV: return "BFV";
	case FW_TDVF_CFV: return "CFV";
	case FW_TDVF_TD_HOB: return "TD_HOB";
	case FW_TDVF_TEMP_MEM: return "TempMem";
	case FW_TDVF_PERM_MEM: return "PermMem";
	case FW_TDVF_PAYLOAD: return "Payload";
	case FW_TDVF_PAYLOAD_PARAM: return "PayloadParam";
	default: return "unknown";
	}
}

static int check_section(const struct fw_image *fw, const struct fw_tdvf_metadata *md, size_t i,
			 struct vg_err *err)
{
	const struct fw_tdvf_section *s = &md->s[i];
	const char *name = fw_tdvf_section_name(s->type);
	if (!strcmp(name, "unknown"))
		return vg_err_set(err, EBADMSG, "TDVF metadata: section %zu has unknown type %u", i, s->type);
	if (s->attributes & ~(FW_TDVF_ATTR_MR_EXTEND | FW_TDVF_ATTR_PAGE_AUG))
		return vg_err_set(err, EBADMSG, "TDVF metadata: section %zu (%s) has unknown attributes 0x%x", i, name,
				  s->attributes);
	if ((s->attributes & FW_TDVF_ATTR_MR_EXTEND) && (s->attributes & FW_TDVF_ATTR_PAGE_AUG))
		return vg_err_set(err, EBADMSG,
				  "TDVF metadata: section %zu (%s) is both MR.EXTEND and PAGE.AUG (an added-later page cannot be measured)",
				  i, name);
	if (s->mem_size == 0)
		return vg_err_set(err, EBADMSG, "TDVF metadata: section %zu (%s) at 0x%llx is empty", i, name,
				  (unsigned long long)s->gpa);
	if (s->gpa % FW_PAGE_SIZE || s->mem_size % FW_PAGE_SIZE)
		return vg_err_set(err, EBADMSG, "TDVF metadata: section %zu (%s) 0x%llx+0x%llx is not 4 KiB-aligned", i,
				  name, (unsigned long long)s->gpa, (unsigned long long)s->mem_size);
	if (s->gpa + s->mem_size < s->gpa || s->gpa + s->mem_size > (1ull << 52))
		return vg_err_set(err, EBADMSG, "TDVF metadata: section %zu (%s) 0x%llx+0x%llx runs past the 52-bit address space",
				  i, name, (unsigned long long)s->gpa, (unsigned long long)s->mem_size);
	if (s->raw_size > s->mem_size)
		return vg_err_set(err, EBADMSG, "TDVF metadata: section %zu (%s) raw size 0x%x exceeds its memory size 0x%llx",
				  i, name, s->raw_size, (unsigned long long)s->mem_size);
	if ((uint64_t)s->data_offset + s->raw_size > fw->len)
		return vg_err_set(err, EBADMSG,
				  "TDVF metadata: section %zu (%s) data 0x%x+0x%x runs past the end of the %zu-byte image",
				  i, name, s->data_offset, s->raw_size, fw->len);
	if ((s->type == FW_TDVF_BFV || s->type == FW_TDVF_CFV) && s->raw_size == 0)
		return vg_err_set(err, EBADMSG, "TDVF metadata: section %zu (%s) has no raw data", i, name);
	if ((s->type == FW_TDVF_TD_HOB || s->type == FW_TDVF_TEMP_MEM) && s->raw_size != 0)
		return vg_err_set(err, EBADMSG, "TDVF metadata: section %zu (%s) must not carry raw data (0x%x bytes)", i,
				  name, s->raw_size);
	/* A measured section with raw data is copied page by page from the image
	 * (as QEMU does: memory-size bytes from the data offset). */
	if ((s->attributes & FW_TDVF_ATTR_MR_EXTEND) && s->raw_size &&
	    (uint64_t)s->data_offset + s->mem_size > fw->len)
		return vg_err_set(err, EBADMSG,
				  "TDVF metadata: measured section %zu (%s) 0x%x+0x%llx runs past the end of the %zu-byte image",
				  i, name, s->data_offset, (unsigned long long)s->mem_size, fw->len);
	for (size_t j = 0; j < i; j++) {
		const struct fw_tdvf_section *o = &md->s[j];
		if (s->gpa < o->gpa + o->mem_size && o->gpa < s->gpa + s->mem_size)
			return vg_err_set(err, EBADMSG, "TDVF metadata: section %zu (%s) 0x%llx+0x%llx overlaps section %zu (%s)",
					  i, name, (unsigned long long)s->gpa, (unsigned long long)s->mem_size, j,
					  fw_tdvf_section_name(o->type));
	}
	return 0;
}

int fw_tdvf_metadata_parse(const struct fw_image *fw, struct fw_tdvf_metadata *md, struct vg_err *err)
{
	memset(md, 0, sizeof(*md));
	if (!fw->has_table)
		return vg_err_set(err, ENOENT, "firmware has no OVMF footer table (GUID %s in the 50 bytes before its end): not an OVMF build, or truncated; so no TDVF metadata",
				  FW_GUID_OVMF_TABLE_FOOTER);
	if (!fw->has_tdx_metadata)
		return vg_err_set(err, ENOENT, "firmware has no TDVF metadata (footer entry %s)", FW_GUID_TDX_METADATA);
	struct vg_reader r;
	uint32_t n;
	int rc = fw_metadata_header(fw, fw->tdx_metadata_offset, "TDVF", TDVF_SECTION, FW_TDVF_MAX_SECTIONS, false,
				    "TDVF metadata", &r, &md->version, &n, err);
	if (rc)
		return rc;
	for (uint32_t i = 0; i < n; i++) {
		struct fw_tdvf_section *s = &md->s[i];
		vg_rd_le32(&r, &s->data_offset);
		vg_rd_le32(&r, &s->raw_size);
		vg_rd_le64(&r, &s->gpa);
		vg_rd_le64(&r, &s->mem_size);
		vg_rd_le32(&r, &s->type);
		vg_rd_le32(&r, &s->attributes);
		if (!vg_rd_ok(&r))
			return vg_err_set(err, EBADMSG, "TDVF metadata: section %u truncated", i);
		md->n = i + 1;
		if ((rc = check_section(fw, md, i, err)))
			return rc;
	}
	return 0;
}
