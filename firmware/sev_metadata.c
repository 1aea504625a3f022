/* OVMF SEV metadata ("ASEV" header and section descriptors), strictly checked. */
#include "firmware/fw_priv.h"

#include <string.h>

#define SEV_MD_ITEM 12   /* gpa, size, type */

const char *fw_sev_section_name(uint32_t type)
{
	switch (type) {
	case FW_SEV_SEC_MEM: return "SEC_MEM";
	case FW_SEV_SECRETS: return "SECRETS";
	case FW_SEV_CPUID: return "CPUID";
	case FW_SEV_SVSM_CAA: return "SVSM_CAA";
	case FW_SEV_KERNEL_HASHES: return "KERNEL_HASHES";
	default: return "unknown";
	}
}

const struct fw_sev_section *fw_sev_metadata_find(const struct fw_sev_metadata *md, uint32_t type)
{
	for (size_t i = 0; i < md->n; i++)
		if (md->s[i].type == type)
			return &md->s[i];
	return NULL;
}

static int check_section(const struct fw_image *fw, const struct fw_sev_metadata *md, size_t i,
			 struct vg_err *err)
{
	const struct fw_sev_section *s = &md->s[i];
	const char *name = fw_sev_section_name(s->type);
	uint64_t end = (uint64_t)s->gpa + s->size;
	if (!strcmp(name, "unknown"))
		return vg_err_set(err, EBADMSG, "SEV metadata: section %zu has unknown type 0x%x", i, s->type);
	if (s->size == 0)
		return vg_err_set(err, EBADMSG, "SEV metadata: section %zu (%s) at 0x%x is empty", i, name, s->gpa);
	if (s->gpa % FW_PAGE_SIZE || s->size % FW_PAGE_SIZE)
		return vg_err_set(err, EBADMSG,
				  "SEV metadata: section %zu (%s) 0x%x+0x%x is not 4 KiB-aligned", i, name, s->gpa,
				  s->size);
	if (end > FW_FOUR_GIB)
		return vg_err_set(err, EBADMSG, "SEV metadata: section %zu (%s) 0x%x+0x%x runs past 4 GiB", i,
				  name, s->gpa, s->size);
	if ((s->type == FW_SEV_SECRETS || s->type == FW_SEV_CPUID || s->type == FW_SEV_KERNEL_HASHES) &&
	    s->size != FW_PAGE_SIZE)
		return vg_err_set(err, EBADMSG, "SEV metadata: section %zu (%s) is 0x%x bytes, expected one 4 KiB page",
				  i, name, s->size);
	if (end > fw->gpa) /* the image ends at 4 GiB */
		return vg_err_set(err, EBADMSG,
				  "SEV metadata: section %zu (%s) 0x%x+0x%x overlaps the firmware image at 0x%llx", i,
				  name, s->gpa, s->size, (unsigned long long)fw->gpa);
	for (size_t j = 0; j < i; j++) {
		const struct fw_sev_section *o = &md->s[j];
		if (s->gpa < (uint64_t)o->gpa + o->size && o->gpa < end)
			return vg_err_set(err, EBADMSG, "SEV metadata: section %zu (%s) 0x%x+0x%x overlaps section %zu (%s)",
					  i, name, s->gpa, s->size, j, fw_sev_section_name(o->type));
		if (s->type == FW_SEV_KERNEL_HASHES && o->type == FW_SEV_KERNEL_HASHES)
			return vg_err_set(err, EBADMSG, "SEV metadata: more than one KERNEL_HASHES section");
	}
	return 0;
}

int fw_sev_metadata_parse(const struct fw_image *fw, struct fw_sev_metadata *md, struct vg_err *err)
{
	memset(md, 0, sizeof(*md));
	if (!fw->has_table)
		return vg_err_set(err, ENOENT, "firmware has no OVMF footer table (GUID %s in the 50 bytes before its end): not an OVMF build, or truncated; so no SEV metadata",
				  FW_GUID_OVMF_TABLE_FOOTER);
	if (!fw->has_sev_metadata)
		return vg_err_set(err, ENOENT, "firmware has no SEV metadata (footer entry %s)", FW_GUID_SEV_METADATA);
	struct vg_reader r;
	uint32_t n;
	int rc = fw_metadata_header(fw, fw->sev_metadata_offset, "ASEV", SEV_MD_ITEM, FW_SEV_MAX_SECTIONS, true,
				    "SEV metadata", &r, &md->version, &n, err);
	if (rc)
		return rc;
	for (uint32_t i = 0; i < n; i++) {
		struct fw_sev_section *s = &md->s[i];
		vg_rd_le32(&r, &s->gpa);
		vg_rd_le32(&r, &s->size);
		vg_rd_le32(&r, &s->type);
		if (!vg_rd_ok(&r))
			return vg_err_set(err, EBADMSG, "SEV metadata: section %u truncated", i);
		md->n = i + 1;
		if ((rc = check_section(fw, md, i, err)))
			return rc;
	}
	return 0;
}
