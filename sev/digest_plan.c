/* The launch plan: the ordered SEV / SEV-ES / SNP launch steps for a firmware and options. */
#include "sev/sev.h"

#include <stdlib.h>
#include <string.h>

#include "firmware/firmware.h"

#define PAGE 4096u

const char *sev_mode_name(enum sev_mode m)
{
	switch (m) {
	case SEV_MODE_SEV: return "sev";
	case SEV_MODE_SEV_ES: return "sev-es";
	case SEV_MODE_SNP: return "snp";
	default: return "unknown";
	}
}

void sev_launch_plan_free(struct sev_launch_plan *p)
{
	free(p->steps);
	free(p->hashes);
	memset(p, 0, sizeof(*p));
}

static void add(struct sev_launch_plan *p, const char *name, uint64_t gpa, uint64_t len, unsigned type,
		const uint8_t *data, uint32_t vcpu)
{
	p->steps[p->n++] = (struct sev_launch_step){
		.kind = type == SEV_SNP_PAGE_VMSA ? SEV_STEP_VMSA : SEV_STEP_SECTION,
		.name = name, .gpa = gpa, .len = len, .page_type = type, .data = data, .vcpu = vcpu};
}

static int need_reset_block(const struct fw_image *fw, struct vg_err *err)
{
	if (!fw->has_table)
		return vg_err_set(err, ENOENT, "firmware has no OVMF footer table (GUID %s): it cannot launch an "
					       "SEV-ES or SNP guest", FW_GUID_OVMF_TABLE_FOOTER);
	if (!fw->has_reset_block)
		return vg_err_set(err, ENOENT, "firmware has no SEV-ES reset block (footer entry %s): the AP reset "
					       "vector is unknown", FW_GUID_SEV_ES_RESET_BLOCK);
	return 0;
}

static int need_hash_table(const struct fw_image *fw, const char *mode, struct vg_err *err)
{
	if (!fw_has_hash_table(fw))
		return vg_err_set(err, ENOENT, "firmware has no kernel-hashes table (footer entry %s %s): it cannot "
					       "measure a kernel for %s (use an OVMF built for measured direct boot, "
					       "e.g. OvmfPkg/AmdSev)",
				  FW_GUID_SEV_HASH_TABLE, fw->has_hash_table ? "is zero" : "missing", mode);
	if (fw->hash_table_size < FW_HASHES_TABLE_PADDED)
		return vg_err_set(err, EBADMSG, "firmware kernel-hashes area at 0x%x is %u bytes, smaller than the %d-byte table",
				  fw->hash_table_gpa, fw->hash_table_size, FW_HASHES_TABLE_PADDED);
	return 0;
}

static int build_vmsas(const struct fw_image *fw, const struct sev_launch_opts *o, struct sev_launch_plan *p,
		       struct vg_err *err)
{
	struct sev_vcpu_reset st;
	int rc = sev_vcpu_reset_state(o->vmm, SEV_BSP_RESET_EIP, o->vcpu_sig, &st, err);
	if (rc)
		return rc;
	sev_vmsa_build(&st, o->guest_features, p->vmsa_bsp);
	if ((rc = sev_vcpu_reset_state(o->vmm, fw->sev_es_reset_eip, o->vcpu_sig, &st, err)))
		return rc;
	sev_vmsa_build(&st, o->guest_features, p->vmsa_ap);
	p->ap_eip = fw->sev_es_reset_eip;
	for (uint32_t i = 0; i < o->vcpus; i++)
		add(p, "VMSA", SEV_SNP_VMSA_GPA, PAGE, SEV_SNP_PAGE_VMSA, i ? p->vmsa_ap : p->vmsa_bsp, i);
	return 0;
}

/* The KERNEL_HASHES section's contents: zeros with the table at its GPA. */
static int snp_hashes_page(const struct fw_image *fw, const struct fw_sev_section *s,
			   const struct fw_kernel_hashes *k, struct sev_launch_plan *p, struct vg_err *err)
{
	int rc = need_hash_table(fw, "SNP", err);
	if (rc)
		return rc;
	if (fw->hash_table_gpa < s->gpa || (uint64_t)fw->hash_table_gpa + FW_HASHES_TABLE_PADDED > (uint64_t)s->gpa + s->size)
		return vg_err_set(err, EBADMSG, "kernel-hashes table at 0x%x is outside the KERNEL_HASHES section 0x%x+0x%x",
				  fw->hash_table_gpa, s->gpa, s->size);
	p->hashes = calloc(1, s->size);
	if (!p->hashes)
		return vg_err_set(err, ENOMEM, "out of memory");
	p->hashes_len = s->size;
	fw_hashes_table_build(k, p->hashes + (fw->hash_table_gpa - s->gpa));
	return 0;
}

static int snp_section(const struct fw_image *fw, const struct fw_sev_section *s, const struct sev_launch_opts *o,
		       struct sev_launch_plan *p, struct vg_err *err)
{
	const char *name = fw_sev_section_name(s->type);
	switch (s->type) {
	case FW_SEV_SEC_MEM:
		add(p, name, s->gpa, s->size, o->vmm == SEV_VMM_GCE ? SEV_SNP_PAGE_UNMEASURED : SEV_SNP_PAGE_ZERO,
		    NULL, 0);
		return 0;
	case FW_SEV_SECRETS:
		add(p, name, s->gpa, s->size, SEV_SNP_PAGE_SECRETS, NULL, 0);
		return 0;
	case FW_SEV_CPUID:
		if (o->vmm != SEV_VMM_EC2) /* EC2 issues the CPUID page after every other section */
			add(p, name, s->gpa, s->size, SEV_SNP_PAGE_CPUID, NULL, 0);
		return 0;
	case FW_SEV_SVSM_CAA:
		add(p, name, s->gpa, s->size, SEV_SNP_PAGE_ZERO, NULL, 0);
		return 0;
	case FW_SEV_KERNEL_HASHES:
		if (o->kernel) {
			int rc = snp_hashes_page(fw, s, o->kernel, p, err);
			if (rc)
				return rc;
			add(p, name, s->gpa, s->size, SEV_SNP_PAGE_NORMAL, p->hashes, 0);
		} else {
			add(p, name, s->gpa, s->size, SEV_SNP_PAGE_ZERO, NULL, 0);
		}
		return 0;
	default:
		return vg_err_set(err, EBADMSG, "SEV metadata: unknown section type 0x%x", s->type);
	}
}

static int build_snp(const struct fw_image *fw, const struct sev_launch_opts *o, struct sev_launch_plan *p,
		     struct vg_err *err)
{
	if (fw->len % PAGE)
		return vg_err_set(err, EBADMSG, "firmware image of %zu bytes is not a whole number of 4 KiB pages", fw->len);
	add(p, "firmware", fw->gpa, fw->len, SEV_SNP_PAGE_NORMAL, fw->data, 0);
	p->steps[p->n - 1].kind = SEV_STEP_IMAGE;
	if (o->firmware_only)
		return 0;
	struct fw_sev_metadata md;
	int rc = fw_sev_metadata_parse(fw, &md, err);
	if (rc == -ENOENT)
		return vg_err_prefix(err, "not an SNP-capable OVMF build (no SEV-SNP launch is possible)");
	if (rc)
		return rc;
	if ((rc = need_reset_block(fw, err)))
		return rc;
	if (o->kernel && !fw_sev_metadata_find(&md, FW_SEV_KERNEL_HASHES))
		return vg_err_set(err, ENOENT, "firmware SEV metadata has no SNP_KERNEL_HASHES section: it cannot "
					       "measure a kernel (use an OVMF built for measured direct boot, e.g. "
					       "OvmfPkg/AmdSev)");
	for (size_t i = 0; i < md.n; i++)
		if ((rc = snp_section(fw, &md.s[i], o, p, err)))
			return rc;
	if (o->vmm == SEV_VMM_EC2)
		for (size_t i = 0; i < md.n; i++)
			if (md.s[i].type == FW_SEV_CPUID)
				add(p, "CPUID", md.s[i].gpa, md.s[i].size, SEV_SNP_PAGE_CPUID, NULL, 0);
	return build_vmsas(fw, o, p, err);
}

static int build_sev(const struct fw_image *fw, const struct sev_launch_opts *o, struct sev_launch_plan *p,
		     struct vg_err *err)
{
	int rc;
	add(p, "firmware", fw->gpa, fw->len, SEV_SNP_PAGE_NORMAL, fw->data, 0);
	p->steps[p->n - 1].kind = SEV_STEP_IMAGE;
	if (o->mode == SEV_MODE_SEV_ES && (rc = need_reset_block(fw, err)))
		return rc;
	if (o->kernel) {
		if ((rc = need_hash_table(fw, sev_mode_name(o->mode), err)))
			return rc;
		p->hashes = calloc(1, FW_HASHES_TABLE_PADDED);
		if (!p->hashes)
			return vg_err_set(err, ENOMEM, "out of memory");
		p->hashes_len = FW_HASHES_TABLE_PADDED;
		fw_hashes_table_build(o->kernel, p->hashes);
		add(p, "hashes table", fw->hash_table_gpa, FW_HASHES_TABLE_PADDED, SEV_SNP_PAGE_NORMAL, p->hashes, 0);
	}
	return o->mode == SEV_MODE_SEV_ES ? build_vmsas(fw, o, p, err) : 0;
}

int sev_launch_plan_build(const struct fw_image *fw, const struct sev_launch_opts *o, struct sev_launch_plan *p,
			  struct vg_err *err)
{
	memset(p, 0, sizeof(*p));
	if (o->mode != SEV_MODE_SEV && o->mode != SEV_MODE_SEV_ES && o->mode != SEV_MODE_SNP)
		return vg_err_set(err, EINVAL, "unknown SEV mode %d", (int)o->mode);
	if (o->mode != SEV_MODE_SEV && !o->firmware_only && (o->vcpus < 1 || o->vcpus > SEV_MAX_VCPUS))
		return vg_err_set(err, EINVAL, "vCPU count %u is outside 1..%d", o->vcpus, SEV_MAX_VCPUS);
	if (o->firmware_only && o->mode != SEV_MODE_SNP)
		return vg_err_set(err, EINVAL, "the firmware-only digest applies to SNP only");
	p->mode = o->mode;
	size_t cap = 4 + FW_SEV_MAX_SECTIONS + (o->mode == SEV_MODE_SEV ? 0 : o->vcpus);
	p->steps = calloc(cap, sizeof(*p->steps));
	if (!p->steps)
		return vg_err_set(err, ENOMEM, "out of memory");
	int rc = o->mode == SEV_MODE_SNP ? build_snp(fw, o, p, err) : build_sev(fw, o, p, err);
	if (rc)
		sev_launch_plan_free(p);
	return rc;
}
