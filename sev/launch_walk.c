/*
 * One walk of an SEV-SNP launch plan (sev.h section 2), and the two sinks that apply
 * it to guest memory: the KVM backend's (SNP_LAUNCH_UPDATE) and sim-snp's (the
 * secure processor's digest). The prediction's sink is in digest_snp.c. A prediction
 * and a launch agree because they walk the same plan with the same code.
 */
#include <string.h>

#include <openssl/rand.h>

#include "common/linux_kvm_cc.h"
#include "sev/sev.h"

int sev_launch_plan_walk(const struct sev_launch_plan *p, const struct sev_plan_sink *sink, struct vg_err *err)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct sev_launch_step *st = &p->steps[i];
		int rc = sink->step(sink->ctx, i, st, err);
		if (rc)
			return st->kind == SEV_STEP_VMSA ? vg_err_prefix(err, "VMSA of vCPU %u", st->vcpu)
							 : vg_err_prefix(err, "%s", st->name);
	}
	return 0;
}

int sev_snp_step_prepare(const struct sev_guest_mem *m, const struct sev_launch_step *st, uint8_t **mem,
			 struct vg_err *err)
{
	*mem = NULL;
	if (st->kind == SEV_STEP_VMSA)
		return 0;
	uint8_t *p = m->gpa(m->ctx, st->gpa, st->len);
	if (!p)
		return vg_err_set(err, EFAULT, "0x%llx+0x%llx is outside guest memory", (unsigned long long)st->gpa,
				  (unsigned long long)st->len);
	if (st->kind == SEV_STEP_IMAGE) {
		/* The VMM loaded the image there: what is launched is what is in memory. */
		if (st->data && memcmp(p, st->data, st->len))
			return vg_err_set(err, EIO, "guest memory at 0x%llx does not hold the image the plan was built from",
					  (unsigned long long)st->gpa);
	} else if (st->page_type == SEV_SNP_PAGE_ZERO || st->page_type == SEV_SNP_PAGE_UNMEASURED) {
		memset(p, 0, st->len);
	} else if (st->page_type == SEV_SNP_PAGE_CPUID) {
		if (st->len != 4096)
			return vg_err_set(err, EINVAL, "CPUID section of 0x%llx bytes (one page expected)",
					  (unsigned long long)st->len);
		int rc = sev_snp_cpuid_page_fill(m->cpuid, m->ncpuid, p, err);
		if (rc)
			return rc;
	} else if (st->page_type == SEV_SNP_PAGE_NORMAL && st->data) {
		memcpy(p, st->data, st->len);
	}
	*mem = p;
	return 0;
}

/* ------------------------------------------------------ the KVM backend */

struct kvm_sink {
	struct sev_snp_launch *l;
	const struct sev_guest_mem *m;
};

static int kvm_step(void *ctx, size_t i, const struct sev_launch_step *st, struct vg_err *err)
{
	(void)i;
	struct kvm_sink *k = ctx;
	if (st->kind == SEV_STEP_VMSA)
		return 0; /* KVM encrypts and measures one VMSA per vCPU at SNP_LAUNCH_FINISH */
	uint8_t *mem;
	int rc = sev_snp_step_prepare(k->m, st, &mem, err);
	if (rc)
		return rc;
	return sev_snp_launch_update(k->l, st->gpa, mem, st->len, (enum sev_snp_page_type)st->page_type, err);
}

int sev_snp_launch_plan(struct sev_snp_launch *l, const struct sev_launch_plan *p, const struct sev_guest_mem *m,
			struct vg_err *err)
{
	struct kvm_sink k = { .l = l, .m = m };
	struct sev_plan_sink sink = { .ctx = &k, .step = kvm_step };
	return sev_launch_plan_walk(p, &sink, err);
}

/* ------------------------------------------------------------- sim-snp */

struct sim_sink {
	struct sev_snp_digest *d;
	const struct sev_launch_plan *p;
	const struct sev_guest_mem *m;
	uint64_t pages;
};

/* What the secure processor puts in the secrets page: fresh VM communication keys
 * (VMPCK0-3), secrets page version 3. */
static int fill_secrets(uint8_t *page, size_t len, struct vg_err *err)
{
	memset(page, 0, len);
	vg_put_le32(page, 3);
	if (RAND_bytes(page + 0x20, 4 * 32) != 1)
		return vg_err_set(err, EIO, "no randomness for the VMPCKs");
	return 0;
}

static int sim_step(void *ctx, size_t i, const struct sev_launch_step *st, struct vg_err *err)
{
	(void)i;
	struct sim_sink *k = ctx;
	int rc;
	if (st->kind == SEV_STEP_VMSA) {
		uint8_t page[SEV_VMSA_SIZE];
		const uint8_t *vmsa = st->data;
		if (k->m->vmsa) {
			uint64_t features;
			memcpy(&features, (st->vcpu ? k->p->vmsa_ap : k->p->vmsa_bsp) + offsetof(struct sev_vmsa, sev_features),
			       sizeof(features));
			if ((rc = k->m->vmsa(k->m->ctx, st->vcpu, features, page, err)))
				return rc;
			vmsa = page;
		}
		k->pages++;
		return sev_snp_digest_update_page(k->d, st->gpa, SEV_SNP_PAGE_VMSA, vmsa, err);
	}
	uint8_t *mem;
	if ((rc = sev_snp_step_prepare(k->m, st, &mem, err)))
		return rc;
	if (st->page_type == SEV_SNP_PAGE_SECRETS && (rc = fill_secrets(mem, st->len, err)))
		return rc;
	k->pages += st->len / 4096;
	return sev_snp_digest_update_pages(k->d, st->gpa, st->page_type,
					   st->page_type == SEV_SNP_PAGE_NORMAL ? mem : NULL, st->len, err);
}

int sev_sim_snp_launch_plan(struct sev_snp_digest *d, const struct sev_launch_plan *p, const struct sev_guest_mem *m,
			    uint64_t *pages, struct vg_err *err)
{
	struct sim_sink k = { .d = d, .p = p, .m = m };
	struct sev_plan_sink sink = { .ctx = &k, .step = sim_step };
	int rc = sev_launch_plan_walk(p, &sink, err);
	if (pages)
		*pages = k.pages;
	return rc;
}
