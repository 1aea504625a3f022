/* The KVM model behind the vg_kvm_io seam: see kvm_model.h. */
#include "tests/unit/kvm_model.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "sev/sev.h"
#include "tdx/tdx.h"

struct kvm_model km;

static int km_fn(void *ctx, int fd, unsigned long req, void *arg);
const struct vg_kvm_io km_io = { .fn = km_fn, .ctx = &km };

static void violation(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void violation(const char *fmt, ...)
{
	if (km.violation[0])
		return; /* keep the first */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(km.violation, sizeof(km.violation), fmt, ap);
	va_end(ap);
}

void km_reset_bare(void)
{
	uint64_t *bits = km.private_bits;
	memset(&km, 0, sizeof(km));
	size_t nbytes = (size_t)(KM_MAX_GPA >> 12) / 8;
	km.private_bits = bits ? bits : malloc(nbytes);
	memset(km.private_bits, 0, nbytes);
	km.vm_types = (1 << KVM_X86_DEFAULT_VM) | (1 << KVM_X86_SNP_VM) | (1 << KVM_X86_TDX_VM);
	km.hc_mask = 1 << KVM_HC_MAP_GPA_RANGE;
	km.mem_attrs = KVM_MEMORY_ATTRIBUTE_PRIVATE;
	km.vmsa_features = 0x3e; /* what a Genoa host reports (without SNPActive) */
	km.pages_per_call = 1u << 20;
	km.caps_nent = 3;
}

void km_reset(void)
{
	km_reset_bare();
	km_add_slot(0, 4ull << 30, true);
}

void km_add_slot(uint64_t gpa, uint64_t size, bool gmem)
{
	if (km.nslots < KM_MAX_SLOTS)
		km.slots[km.nslots++] = (struct km_slot){ .gpa = gpa, .size = size, .gmem = gmem };
}

const struct km_slot *km_slot_of(uint64_t gpa)
{
	for (unsigned i = 0; i < km.nslots; i++)
		if (gpa >= km.slots[i].gpa && gpa - km.slots[i].gpa < km.slots[i].size)
			return &km.slots[i];
	return NULL;
}

bool km_is_private(uint64_t gpa)
{
	uint64_t pfn = gpa >> 12;
	return gpa < KM_MAX_GPA && (km.private_bits[pfn / 64] >> (pfn % 64)) & 1;
}

static void set_private(uint64_t gpa, uint64_t size, bool p)
{
	for (uint64_t a = gpa; a < gpa + size && a < KM_MAX_GPA; a += 4096) {
		uint64_t pfn = a >> 12;
		if (p)
			km.private_bits[pfn / 64] |= 1ull << (pfn % 64);
		else
			km.private_bits[pfn / 64] &= ~(1ull << (pfn % 64));
	}
}

/*
 * virt/kvm/guest_memfd.c kvm_gmem_populate: the memslot of the first gfn must be able
 * to hold private memory (kvm_slot_can_be_private: it has a guest_memfd), and every
 * page populated must already be private (kvm_range_has_memory_attributes). Returns
 * how many of npages may be populated (clamped to the slot), or -EINVAL.
 */
static int64_t gmem_populate_check(uint64_t gpa, uint64_t npages, const char *who)
{
	const struct km_slot *s = km_slot_of(gpa);
	if (!s || !s->gmem) {
		violation("%s at 0x%llx: the memslot has no guest_memfd (kvm_slot_can_be_private)", who,
			  (unsigned long long)gpa);
		return -EINVAL;
	}
	uint64_t room = (s->gpa + s->size - gpa) >> 12;
	if (npages > room)
		npages = room;
	for (uint64_t i = 0; i < npages; i++)
		if (!km_is_private(gpa + (i << 12))) {
			violation("%s at 0x%llx: page not private (kvm_gmem_populate)", who,
				  (unsigned long long)(gpa + (i << 12)));
			return -EINVAL;
		}
	return (int64_t)npages;
}

int km_guest_access(uint64_t gpa, bool private_, struct kvm_run *run)
{
	/* arch/x86/kvm/mmu/mmu.c kvm_mmu_faultin_pfn: a private fault on a slot that cannot
	 * be private, or an access whose kind differs from the page's attribute, exits
	 * with KVM_EXIT_MEMORY_FAULT and KVM_RUN returns -EFAULT. */
	const struct km_slot *s = km_slot_of(gpa);
	bool mismatch = private_ != km_is_private(gpa) || (private_ && (!s || !s->gmem));
	if (!mismatch)
		return 0;
	run->exit_reason = KVM_EXIT_MEMORY_FAULT;
	struct kvm_cc_exit_memory_fault *mf = kvm_cc_run_exit(run);
	mf->flags = private_ ? KVM_MEMORY_EXIT_FLAG_PRIVATE : 0;
	mf->gpa = gpa & ~0xfffull;
	mf->size = 4096;
	return -EFAULT;
}

int km_complete_hypercall(const struct kvm_run *run)
{
	/* Userspace hypercall completion (arch/x86/kvm/x86.c; svm/sev.c snp_complete_psc,
	 * vmx/tdx.c tdx_complete_vmcall_map_gpa): KVM_HC_MAP_GPA_RANGE results other than 0,
	 * EINVAL and EAGAIN make the next KVM_RUN fail. */
	uint64_t r = run->hypercall.ret;
	if (r == 0 || r == EINVAL || r == EAGAIN)
		return 0;
	violation("hypercall.ret 0x%llx: KVM accepts only 0, EINVAL or EAGAIN", (unsigned long long)r);
	return -EINVAL;
}

void km_psc_exit(struct kvm_run *run, uint64_t gpa, bool huge, bool private_)
{
	/* arch/x86/kvm/svm/sev.c snp_begin_psc: one KVM_HC_MAP_GPA_RANGE per run of
	 * entries; a 2 MiB entry is 512 pages with KVM_MAP_GPA_RANGE_PAGE_SZ_2M. */
	memset(run, 0, sizeof(*run));
	run->exit_reason = KVM_EXIT_HYPERCALL;
	run->hypercall.nr = KVM_HC_MAP_GPA_RANGE;
	run->hypercall.args[0] = huge ? gpa & ~((1ull << 21) - 1) : gpa;
	run->hypercall.args[1] = huge ? 512 : 1;
	run->hypercall.args[2] = (private_ ? KVM_MAP_GPA_RANGE_ENCRYPTED : KVM_MAP_GPA_RANGE_DECRYPTED) |
				 (huge ? KVM_MAP_GPA_RANGE_PAGE_SZ_2M : KVM_MAP_GPA_RANGE_PAGE_SZ_4K);
	run->hypercall.ret = 0x77; /* stale */
}

static void tdx_map_gpa_exit(struct kvm_run *run)
{
	/* vmx/tdx.c __tdx_map_gpa: one chunk of at most TDX_MAP_GPA_MAX_LEN. */
	uint64_t gpa = km.map_gpa_next, size = VG_MIN(km.map_gpa_end - km.map_gpa_next, 2ull << 20);
	memset(&run->hypercall, 0, sizeof(run->hypercall));
	run->exit_reason = KVM_EXIT_HYPERCALL;
	run->hypercall.nr = KVM_HC_MAP_GPA_RANGE;
	run->hypercall.ret = 0; /* "ensuring that it is zero to not break QEMU" */
	run->hypercall.args[0] = gpa & ~KM_TDX_SHARED_BIT;
	run->hypercall.args[1] = size >> 12;
	run->hypercall.args[2] = gpa & KM_TDX_SHARED_BIT ? KVM_MAP_GPA_RANGE_DECRYPTED : KVM_MAP_GPA_RANGE_ENCRYPTED;
	run->hypercall.longmode = 1; /* flags = KVM_EXIT_HYPERCALL_LONG_MODE (6.1 headers: longmode) */
}

uint64_t km_tdx_map_gpa(struct kvm_run *run, uint64_t gpa, uint64_t size)
{
	/* vmx/tdx.c tdx_map_gpa: KVM_HC_MAP_GPA_RANGE must exit to userspace
	 * (user_exit_on_hypercall, else SUBFUNC_UNSUPPORTED); no wrap, both ends legal
	 * GPAs (below 2^GPAW) and on the same side of the shared bit (INVALID_OPERAND);
	 * page aligned (ALIGN_ERROR). */
	if (!(km.hc_enabled & (1u << KVM_HC_MAP_GPA_RANGE)))
		return 0x8000000000000003ull; /* TDVMCALL_STATUS_SUBFUNC_UNSUPPORTED */
	const uint64_t legal = 1ull << 48;
	if (gpa + size <= gpa || gpa >= legal || gpa + size - 1 >= legal ||
	    (gpa & KM_TDX_SHARED_BIT) != ((gpa + size - 1) & KM_TDX_SHARED_BIT))
		return KVM_CC_TDVMCALL_STATUS_INVALID_OPERAND;
	if ((gpa | size) & 0xfff)
		return 0x8000000000000002ull; /* TDVMCALL_STATUS_ALIGN_ERROR */
	km.map_gpa_next = gpa;
	km.map_gpa_end = gpa + size;
	tdx_map_gpa_exit(run);
	return KM_TDVMCALL_EXIT;
}

uint64_t km_tdx_map_gpa_complete(struct kvm_run *run, int *krc)
{
	/* vmx/tdx.c tdx_complete_vmcall_map_gpa */
	*krc = km_complete_hypercall(run);
	if (*krc)
		return KVM_CC_TDVMCALL_STATUS_INVALID_OPERAND;
	if (run->hypercall.ret == EAGAIN)
		return KVM_CC_TDVMCALL_STATUS_RETRY;
	if (run->hypercall.ret == EINVAL)
		return KVM_CC_TDVMCALL_STATUS_INVALID_OPERAND;
	km.map_gpa_next += 2ull << 20;
	if (km.map_gpa_next >= km.map_gpa_end)
		return KVM_CC_TDVMCALL_STATUS_SUCCESS;
	tdx_map_gpa_exit(run);
	return KM_TDVMCALL_EXIT;
}

/* ------------------------------------------------------------------ SEV-SNP */

#define KM_SNP_POLICY_VALID (0xffffull | (1ull << 16) | (1ull << 17) | (1ull << 19) | (1ull << 20))

/* The firmware's CPUID check: a page with values the firmware refuses is corrected
 * in place and rejected (SNP ABI: SNP_LAUNCH_UPDATE of a CPUID page). */
static bool fw_cpuid_check(uint8_t *page)
{
	struct sev_snp_cpuid_page t;
	memcpy(&t, page, sizeof(t));
	bool bad = t.count > SEV_SNP_CPUID_MAX;
	if (t.count == 0)
		violation("CPUID page with count 0: a Linux guest terminates in setup_cpuid_table");
	for (unsigned i = 0; i < t.count && i < SEV_SNP_CPUID_MAX; i++) {
		for (unsigned r = 0; r < km.n_fw_cpuid; r++) {
			const struct km_fw_cpuid_rule *x = &km.fw_cpuid[r];
			if (t.fn[i].eax_in != x->leaf || t.fn[i].ecx_in != x->subleaf)
				continue;
			uint32_t r4[4] = { t.fn[i].eax, t.fn[i].ebx, t.fn[i].ecx, t.fn[i].edx };
			if (r4[x->reg] != x->value) {
				r4[x->reg] = x->value;
				t.fn[i].eax = r4[0];
				t.fn[i].ebx = r4[1];
				t.fn[i].ecx = r4[2];
				t.fn[i].edx = r4[3];
				bad = true;
			}
		}
	}
	if (bad)
		memcpy(page, &t, sizeof(t));
	return !bad;
}

static int sev_op(struct km_call *c, struct kvm_sev_cmd *cmd)
{
	c->id = cmd->id;
	c->sev_fd = cmd->sev_fd;
	switch (cmd->id) {
	case KVM_SEV_INIT2: {
		struct kvm_sev_init *i = (void *)(uintptr_t)cmd->data;
		c->a[0] = i->vmsa_features;
		c->a[1] = i->flags;
		c->a[2] = i->ghcb_version;
		/* svm/sev.c sev_guest_init2 / __sev_guest_init: unsupported features, and
		 * INIT2 after vCPUs exist, are refused. */
		if (i->vmsa_features & ~km.vmsa_features)
			return -EINVAL;
		if (km.vcpus_created)
			return -EINVAL;
		km.snp_inited = true;
		return 0;
	}
	case KVM_SEV_SNP_LAUNCH_START: {
		struct kvm_sev_snp_launch_start *s = (void *)(uintptr_t)cmd->data;
		c->a[0] = s->policy;
		c->a[1] = s->flags;
		/* svm/sev.c snp_launch_start */
		if (!km.snp_inited || km.snp_started || s->flags)
			return -EINVAL;
		/* ... keeps argp->sev_fd for every later firmware command, which
		 * drivers/crypto/ccp/sev-dev.c sev_issue_cmd_external_user refuses (-EBADF)
		 * unless it is an open /dev/sev. */
		if (cmd->sev_fd != KM_SEV_FD) {
			violation("SNP_LAUNCH_START with sev_fd %u, not /dev/sev (sev_issue_cmd_external_user)", cmd->sev_fd);
			return -EBADF;
		}
		if (s->policy & ~KM_SNP_POLICY_VALID)
			return -EINVAL;
		if (!(s->policy & (1ull << 17)) || (s->policy & (1ull << 20)))
			return -EINVAL;
		if (km.snp_require_smt && !(s->policy & (1ull << 16)))
			return -EINVAL;
		km.snp_policy = s->policy;
		km.snp_started = true;
		return 0;
	}
	case KVM_SEV_SNP_LAUNCH_UPDATE: {
		struct kvm_sev_snp_launch_update *u = (void *)(uintptr_t)cmd->data;
		c->a[0] = u->gfn_start;
		c->a[1] = u->uaddr;
		c->a[2] = u->len;
		c->type = u->type;
		unsigned idx = km.update_calls++;
		/* svm/sev.c snp_launch_update: state, page type (no VMSA), flags, length
		 * page aligned and not zero, source page aligned except for ZERO pages. */
		if (!km.snp_started || km.snp_finished)
			return -EINVAL;
		if (u->type != KVM_SEV_SNP_PAGE_TYPE_NORMAL && u->type != KVM_SEV_SNP_PAGE_TYPE_ZERO &&
		    u->type != KVM_SEV_SNP_PAGE_TYPE_UNMEASURED && u->type != KVM_SEV_SNP_PAGE_TYPE_SECRETS &&
		    u->type != KVM_SEV_SNP_PAGE_TYPE_CPUID)
			return -EINVAL;
		if (!u->len || (u->len & 0xfff) || u->flags ||
		    (u->type != KVM_SEV_SNP_PAGE_TYPE_ZERO && (u->uaddr & 0xfff)))
			return -EINVAL;
		/* ... and kvm_gmem_populate's memslot and attribute checks. */
		int64_t can = gmem_populate_check(u->gfn_start << 12, u->len >> 12, "SNP_LAUNCH_UPDATE");
		if (can < 0)
			return (int)can;
		if (km.fail_update_rc) {
			cmd->error = km.fw_error;
			return km.fail_update_rc;
		}
		if (u->type == KVM_SEV_SNP_PAGE_TYPE_CPUID && !fw_cpuid_check((uint8_t *)(uintptr_t)u->uaddr)) {
			/* sev_gmem_post_populate: the corrected page goes back to uaddr. */
			cmd->error = 0x16; /* SEV_RET_INVALID_PARAM */
			return -EIO;
		}
		if (km.no_progress)
			return 0;
		bool eagain = idx < 32 && (km.eagain_calls & (1u << idx));
		uint64_t done = VG_MIN((uint64_t)can, km.pages_per_call);
		if (eagain && idx % 2 == 0)
			done = 0; /* interrupted before the first page */
		u->gfn_start += done;
		u->len -= done << 12;
		if (u->type != KVM_SEV_SNP_PAGE_TYPE_ZERO)
			u->uaddr += done << 12;
		return eagain ? -EAGAIN : 0;
	}
	case KVM_SEV_SNP_LAUNCH_FINISH: {
		struct kvm_sev_snp_launch_finish *f = (void *)(uintptr_t)cmd->data;
		c->a[0] = f->id_block_uaddr;
		c->a[1] = f->id_auth_uaddr;
		c->a[2] = f->id_block_en | (f->auth_key_en << 8) | (f->vcek_disabled << 16);
		c->a[3] = f->flags;
		memcpy(c->host_data, f->host_data, 32);
		if (!km.snp_started || km.snp_finished || f->flags)
			return -EINVAL;
		km.snp_finished = true;
		/* snp_launch_update_vmsa: every vCPU's VMSA is encrypted from its current
		 * registers; from now on they are guest_state_protected. */
		km.snp_vmsas_encrypted = km.vcpus_created > 0;
		return 0;
	}
	}
	violation("unexpected SEV command %u", cmd->id);
	return -EINVAL;
}

/* -------------------------------------------------------------------- TDX */

/* KVM_TDX_CAPABILITIES' configurable CPUID: leaf 1 (low 16 bits of each register
 * configurable), then 0x80000001.. */
static void caps_entry(unsigned i, struct kvm_cpuid_entry2 *e)
{
	memset(e, 0, sizeof(*e));
	e->function = i == 0 ? 1 : 0x80000000 + i;
	e->eax = e->ebx = e->ecx = e->edx = 0x0000ffff;
}

static const struct kvm_cpuid_entry2 *find(const struct kvm_cpuid_entry2 *e, unsigned n, uint32_t fn, uint32_t idx)
{
	for (unsigned i = 0; i < n; i++)
		if (e[i].function == fn && e[i].index == idx)
			return &e[i];
	return NULL;
}

static int tdx_op(int fd, struct km_call *c, struct kvm_tdx_cmd *cmd)
{
	c->id = cmd->id;
	c->flags = cmd->flags;
	c->data = cmd->data;
	if (km.fail_rc) {
		cmd->hw_error = km.hw_error;
		return km.fail_rc;
	}
	switch (cmd->id) {
	case KVM_TDX_CAPABILITIES: {
		struct kvm_tdx_capabilities *caps = (void *)(uintptr_t)cmd->data;
		c->a[0] = caps->cpuid.nent;
		if (fd != KM_VM_FD)
			return -ENOTTY; /* VM-scoped since 6.16 */
		if (caps->cpuid.nent < km.caps_nent) {
			caps->cpuid.nent = km.caps_nent;
			return -E2BIG;
		}
		caps->supported_attrs = TDX_ATTR_DEBUG | TDX_ATTR_SEPT_VE_DISABLE;
		caps->supported_xfam = 0x6e7;
		caps->cpuid.nent = km.caps_nent;
		for (unsigned i = 0; i < km.caps_nent; i++)
			caps_entry(i, &caps->cpuid.entries[i]);
		return 0;
	}
	case KVM_TDX_INIT_VM: {
		struct kvm_tdx_init_vm *iv = (void *)(uintptr_t)cmd->data;
		c->a[0] = iv->attributes;
		c->a[1] = iv->xfam;
		memcpy(c->mrconfigid, iv->mrconfigid, 48);
		c->ncpuid = iv->cpuid.nent;
		memcpy(c->cpuid, iv->cpuid.entries, VG_MIN(iv->cpuid.nent, 8u) * sizeof(struct kvm_cpuid_entry2));
		km.init_vm_calls++;
		/* vmx/tdx.c tdx_td_init: before any vCPU, once. */
		if (fd != KM_VM_FD || km.tdx_inited || km.vcpus_created)
			return -EINVAL;
		if (km.apic_bus_ns != TDX_APIC_BUS_CYCLES_NS)
			violation("KVM_TDX_INIT_VM with the APIC bus at %llu ns: the TDX module runs the TD's APIC "
				  "timer at 25 MHz (QEMU enables KVM_CAP_X86_APIC_BUS_CYCLES_NS = 40 first)",
				  (unsigned long long)km.apic_bus_ns);
		/* setup_tdparams_eptp_controls: CPUID 0x80000008 EAX[23:16] is 48 or 52. */
		const struct kvm_cpuid_entry2 *pa = find(iv->cpuid.entries, iv->cpuid.nent, 0x80000008, 0);
		unsigned gpaw = pa ? (pa->eax >> 16) & 0xff : 0;
		if (gpaw != 48 && gpaw != 52) {
			violation("KVM_TDX_INIT_VM: CPUID 0x80000008 EAX[23:16] = %u (48 or 52 accepted)", gpaw);
			return -EINVAL;
		}
		/* TDH.MNG.CREATE / KEY.CONFIG without entropy: -EAGAIN, userspace retries. */
		if (km.init_vm_eagain) {
			km.init_vm_eagain--;
			cmd->hw_error = 0x8000020300000000ull; /* TDX_RND_NO_ENTROPY */
			return -EAGAIN;
		}
		/* setup_tdparams_cpuids copies the configurable leaves; TDH.MNG.INIT refuses
		 * bits outside the configurable ones (TDX_OPERAND_INVALID: -EIO). */
		km.td_ncpuid = 0;
		for (unsigned i = 0; i < km.caps_nent; i++) {
			struct kvm_cpuid_entry2 cfg;
			caps_entry(i, &cfg);
			const struct kvm_cpuid_entry2 *f = find(iv->cpuid.entries, iv->cpuid.nent, cfg.function, cfg.index);
			if (!f)
				continue;
			struct kvm_cpuid_entry2 v = *f, *e = &v;
			/* KVM's own use of 0x80000008 EAX[23:16] (GPAW) is cleared before the
			 * values reach the TDX module. */
			if (e->function == 0x80000008)
				e->eax &= 0xff00ffffu;
			if ((e->eax & ~cfg.eax) || (e->ebx & ~cfg.ebx) || (e->ecx & ~cfg.ecx) || (e->edx & ~cfg.edx)) {
				cmd->hw_error = 0xc000010000000000ull; /* TDX_OPERAND_INVALID */
				return -EIO;
			}
			if (km.td_ncpuid < 64)
				km.td_cpuid[km.td_ncpuid++] = *e;
		}
		km.tdx_inited = true;
		return 0;
	}
	case KVM_TDX_INIT_VCPU:
		if (fd != KM_VCPU_FD || !km.tdx_inited || km.tdx_finalized)
			return -EINVAL;
		return 0;
	case KVM_TDX_GET_CPUID: {
		/* vmx/tdx.c tdx_vcpu_get_cpuid: vCPU scope; -E2BIG with the count needed. */
		struct kvm_cpuid2 *out = (void *)(uintptr_t)cmd->data;
		if (fd != KM_VCPU_FD || !km.tdx_inited)
			return -EINVAL;
		if (out->nent < km.td_ncpuid) {
			out->nent = km.td_ncpuid;
			return -E2BIG;
		}
		out->nent = km.td_ncpuid;
		for (unsigned i = 0; i < km.td_ncpuid; i++) {
			out->entries[i] = km.td_cpuid[i];
			if (out->entries[i].function == 1) {
				out->entries[i].ecx |= km.tdx_fixed1_leaf1_ecx;
				out->entries[i].ecx &= ~km.tdx_fixed0_leaf1_ecx;
			}
		}
		return 0;
	}
	case KVM_TDX_INIT_MEM_REGION: {
		struct kvm_tdx_init_mem_region *r = (void *)(uintptr_t)cmd->data;
		c->a[0] = r->source_addr;
		c->a[1] = r->gpa;
		c->a[2] = r->nr_pages;
		unsigned idx = km.mem_calls++;
		/* vmx/tdx.c tdx_vcpu_init_mem_region */
		if (fd != KM_VCPU_FD || !km.tdx_inited || km.tdx_finalized)
			return -EINVAL;
		if (cmd->flags & ~KVM_TDX_MEASURE_MEMORY_REGION)
			return -EINVAL;
		if ((r->source_addr | r->gpa) & 0xfff || !r->nr_pages || r->gpa + (r->nr_pages << 12) <= r->gpa)
			return -EINVAL;
		bool intr = idx < 32 && (km.intr_calls & (1u << idx));
		uint64_t done = VG_MIN(r->nr_pages, km.pages_per_call);
		if (intr && idx % 2 == 0)
			done = 0;
		for (uint64_t i = 0; i < done; i++) {
			/* one kvm_gmem_populate per page */
			int64_t ok = gmem_populate_check(r->gpa, 1, "KVM_TDX_INIT_MEM_REGION");
			if (ok < 0)
				return (int)ok;
			r->source_addr += 4096;
			r->gpa += 4096;
			r->nr_pages--;
		}
		return intr ? (idx % 4 < 2 ? -EINTR : -EAGAIN) : 0;
	}
	case KVM_TDX_FINALIZE_VM:
		if (fd != KM_VM_FD || !km.tdx_inited || km.tdx_finalized)
			return -EINVAL;
		km.tdx_finalized = true;
		return 0;
	}
	violation("unexpected TDX command %u", cmd->id);
	return -EINVAL;
}


/* -------------------------------------------------------------- plain KVM */

/* The CPUID a Genoa-like host returns for KVM_GET_SUPPORTED_CPUID (values, not a
 * kernel rule: the backends only filter and copy them). */
static const struct kvm_cpuid_entry2 km_host_cpuid[] = {
	{ .function = 0x0, .eax = 0x10, .ebx = 0x68747541, .ecx = 0x444d4163, .edx = 0x69746e65 },
	{ .function = 0x1, .eax = 0x00a10f11, .ebx = 0x00000800, .ecx = 0xfef83203, .edx = 0x178bfbff },
	{ .function = 0x7, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .ebx = 0xf1bf07a9, .ecx = 0x00405f4e },
	{ .function = 0xd, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 0x7, .ebx = 0x340, .ecx = 0x340 },
	{ .function = 0xd, .index = 1, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 0xf },
	{ .function = 0x80000000, .eax = 0x80000021, .ebx = 0x68747541, .ecx = 0x444d4163, .edx = 0x69746e65 },
	{ .function = 0x80000001, .eax = 0x00a10f11, .ecx = 0x75c237ff, .edx = 0x2fd3fbff },
	{ .function = 0x80000008, .eax = 0x00003030 },
};

static int vcpu_ioctl(unsigned long req, void *arg);

/* System and VM ioctls of the machine itself: what vigil-vmm issues around the
 * confidential commands. Plain bookkeeping needs no citation; each refusal does. */
static int plain_ioctl(int fd, struct km_call *c, unsigned long req, void *arg)
{
	switch (req) {
	case KVM_GET_API_VERSION:
		return KVM_API_VERSION;
	case KVM_GET_VCPU_MMAP_SIZE:
		return KM_RUN_SIZE;
	case KVM_CREATE_VM: {
		unsigned long type = (unsigned long)(uintptr_t)arg;
		c->a[0] = type;
		/* x86.c kvm_arch_init_vm: a type outside kvm_caps.supported_vm_types. */
		if (type >= 32 || !(km.vm_types & (1 << type)))
			return -EINVAL;
		km.vm_created = true;
		km.vm_type = type;
		km.tdx_mode = type == KVM_X86_TDX_VM;
		return KM_VM_FD;
	}
	case KVM_SET_IDENTITY_MAP_ADDR:
	case KVM_SET_TSS_ADDR:
		c->a[0] = req == KVM_SET_TSS_ADDR ? (uint64_t)(uintptr_t)arg : *(uint64_t *)arg;
		/* x86.c kvm_vm_ioctl_set_identity_map_addr: only before vCPUs exist. */
		if (req == KVM_SET_IDENTITY_MAP_ADDR && km.vcpus_created)
			return -EINVAL;
		return 0;
	case KVM_CREATE_IRQCHIP:
		/* x86.c kvm_arch_vm_ioctl(KVM_CREATE_IRQCHIP): once, before vCPUs. */
		if (km.irqchip)
			return -EEXIST;
		if (km.vcpus_created)
			return -EINVAL;
		km.irqchip = 1;
		return 0;
	case KVM_CREATE_PIT2: {
		const struct kvm_pit_config *p = arg;
		c->a[0] = p->flags;
		/* x86.c kvm_arch_vm_ioctl(KVM_CREATE_PIT2): one PIT, on an in-kernel PIC. */
		if (km.pit)
			return -EEXIST;
		if (km.irqchip != 1)
			return -ENOENT;
		km.pit = true;
		return 0;
	}
	case KVM_IRQ_LINE:
		/* x86.c kvm_vm_ioctl_irq_line: needs an in-kernel irqchip (-ENXIO). */
		return km.irqchip ? 0 : -ENXIO;
	case KVM_GET_IRQCHIP:
	case KVM_SET_IRQCHIP: {
		/* x86.c kvm_arch_vm_ioctl(KVM_GET/SET_IRQCHIP): only on the in-kernel PIC and
		 * IOAPIC (irqchip_kernel, else -ENXIO); chip_id 0..2 (-EINVAL). Bookkeeping:
		 * the model keeps no chip state (a reboot writes back what it read). */
		struct kvm_irqchip *ch = arg;
		c->a[0] = ch->chip_id;
		if (km.irqchip != 1)
			return -ENXIO;
		if (ch->chip_id > 2)
			return -EINVAL;
		if (req == KVM_GET_IRQCHIP)
			memset(&ch->chip, 0, sizeof(ch->chip));
		return 0;
	}
	case KVM_GET_PIT2:
	case KVM_SET_PIT2:
		/* x86.c kvm_arch_vm_ioctl(KVM_GET/SET_PIT2): -ENXIO without a PIT. */
		if (!km.pit)
			return -ENXIO;
		if (req == KVM_GET_PIT2)
			memset(arg, 0, sizeof(struct kvm_pit_state2));
		return 0;
	case KVM_GET_SUPPORTED_CPUID: {
		struct kvm_cpuid2 *cp = arg;
		unsigned n = VG_ARRAY_SIZE(km_host_cpuid);
		c->a[0] = cp->nent;
		/* cpuid.c kvm_dev_ioctl_get_cpuid: -E2BIG when nent is too small. */
		if (cp->nent < n)
			return -E2BIG;
		cp->nent = n;
		memcpy(cp->entries, km_host_cpuid, sizeof(km_host_cpuid));
		return 0;
	}
	case KVM_CREATE_VCPU: {
		unsigned long id = (unsigned long)(uintptr_t)arg;
		c->a[0] = id;
		/* kvm_main.c kvm_vm_ioctl_create_vcpu: id below KVM_MAX_VCPU_IDS, unique. */
		if (id >= 4096 || km.vcpus_created >= KM_MAX_VCPUS)
			return -EINVAL;
		for (unsigned i = 0; i < km.vcpus_created; i++)
			if (km.vcpus[i].id == id)
				return -EEXIST;
		/* vmx/tdx.c tdx_vcpu_create: a TD's vCPUs need the split irqchip (its
		 * APIC is virtualized by the TDX module), after KVM_TDX_INIT_VM. */
		if (km.tdx_mode && (km.irqchip != 2 || !km.tdx_inited)) {
			violation("KVM_CREATE_VCPU on a TD %s (tdx_vcpu_create)",
				  km.irqchip != 2 ? "without the split irqchip" : "before KVM_TDX_INIT_VM");
			return km.irqchip != 2 ? -EINVAL : -EIO;
		}
		struct km_vcpu *v = &km.vcpus[km.vcpus_created++];
		memset(v, 0, sizeof(*v));
		v->id = (uint32_t)id;
		/* KVM's vCPU reset state (x86.c kvm_vcpu_reset): the values GET returns. */
		v->sregs.cs.selector = 0xf000;
		v->sregs.cs.base = 0xffff0000;
		v->sregs.cr0 = 0x60000010;
		v->regs.rip = 0xfff0;
		v->regs.rflags = 2;
		v->dregs.dr6 = 0xffff0ff0;
		v->dregs.dr7 = 0x400;
		v->xcr0 = 1;
		v->pat = 0x0007040600070406ull;
		return KM_VCPU_FD;
	}
	}
	if (fd == KM_VCPU_FD)
		return vcpu_ioctl(req, arg);
	violation("unexpected ioctl 0x%lx", req);
	return -ENOTTY;
}

/* x86.c: KVM_{GET,SET}_{REGS,SREGS,DEBUGREGS,XCRS} refuse a vCPU whose state is
 * protected (has_protected_state && guest_state_protected, Linux 6.11+): an SNP
 * vCPU after SNP_LAUNCH_FINISH encrypted its VMSA, a TD vCPU always (tdx_vcpu_create). */
static bool regs_protected(void) { return km.snp_vmsas_encrypted || km.tdx_mode; }

static int vcpu_ioctl(unsigned long req, void *arg)
{
	struct km_vcpu *v = &km.vcpus[km.vcpu < KM_MAX_VCPUS ? km.vcpu : 0];
	bool prot = km.vm_type == KVM_X86_SNP_VM || km.tdx_mode; /* has_protected_state */
	switch (req) {
	case KVM_GET_REGS: case KVM_SET_REGS: case KVM_GET_SREGS: case KVM_SET_SREGS:
	case KVM_GET_DEBUGREGS: case KVM_SET_DEBUGREGS: case KVM_GET_XCRS: case KVM_SET_XCRS:
		if (regs_protected() && !km.kvm_view)
			return -EINVAL; /* refused, not a rule broken: the VMM may ask */
		break;
	}
	switch (req) {
	case KVM_GET_REGS: *(struct kvm_regs *)arg = v->regs; return 0;
	case KVM_SET_REGS: v->regs = *(const struct kvm_regs *)arg; return 0;
	case KVM_GET_SREGS: *(struct kvm_sregs *)arg = v->sregs; return 0;
	case KVM_SET_SREGS: v->sregs = *(const struct kvm_sregs *)arg; return 0;
	case KVM_GET_DEBUGREGS: *(struct kvm_debugregs *)arg = v->dregs; return 0;
	case KVM_SET_DEBUGREGS: v->dregs = *(const struct kvm_debugregs *)arg; return 0;
	case KVM_GET_XCRS: {
		struct kvm_xcrs *x = arg;
		memset(x, 0, sizeof(*x));
		x->nr_xcrs = 1;
		x->xcrs[0].value = v->xcr0;
		return 0;
	}
	case KVM_SET_XCRS: {
		const struct kvm_xcrs *x = arg;
		for (unsigned i = 0; i < x->nr_xcrs && i < KVM_MAX_XCRS; i++)
			if (x->xcrs[i].xcr == 0)
				v->xcr0 = x->xcrs[i].value;
		return 0;
	}
	case KVM_GET_FPU: case KVM_SET_FPU: case KVM_GET_XSAVE: case KVM_SET_XSAVE:
		/* x86.c kvm_arch_vcpu_ioctl_get_fpu & co.: a VM with protected state owns its
		 * FPU state (-EINVAL), as docs/platforms.md records the backend's reading. */
		if (prot && !km.kvm_view)
			return -EINVAL;
		if (req == KVM_SET_FPU || req == KVM_SET_XSAVE)
			return 0;
		/* KVM's FPU reset state (fpstate init): FCW 0x37f, MXCSR 0x1f80; the FPU
		 * is not settable through the model. */
		memset(arg, 0, req == KVM_GET_XSAVE ? sizeof(struct kvm_xsave) : sizeof(struct kvm_fpu));
		if (req == KVM_GET_XSAVE) {
			uint8_t *x = (uint8_t *)((struct kvm_xsave *)arg)->region;
			x[0] = 0x7f, x[1] = 0x03, x[24] = 0x80, x[25] = 0x1f;
		} else {
			((struct kvm_fpu *)arg)->fcw = 0x37f;
			((struct kvm_fpu *)arg)->mxcsr = 0x1f80;
		}
		return 0;
	case KVM_SET_MSRS: case KVM_GET_MSRS: {
		struct kvm_msrs *m = arg;
		for (unsigned i = 0; i < m->nmsrs; i++) {
			if (m->entries[i].index != 0x277) /* IA32_PAT */
				continue;
			if (req == KVM_SET_MSRS)
				v->pat = m->entries[i].data;
			else
				m->entries[i].data = v->pat;
		}
		return (int)m->nmsrs; /* the number processed */
	}
	case KVM_GET_LAPIC: case KVM_SET_LAPIC: case KVM_GET_MP_STATE: case KVM_SET_MP_STATE:
	case KVM_GET_VCPU_EVENTS: case KVM_SET_VCPU_EVENTS:
		/* Plain bookkeeping for a reboot's snapshot and write-back (vmm/accel/kvm_reset.c):
		 * x86.c kvm_arch_vcpu_ioctl. The LAPIC needs the in-kernel one (-EINVAL,
		 * lapic_in_kernel); a protected vCPU's events, MP state and LAPIC are refused
		 * like its registers. The model keeps no state: GETs report zeros (MP state
		 * RUNNABLE). */
		if (regs_protected() && !km.kvm_view)
			return -EINVAL;
		if ((req == KVM_GET_LAPIC || req == KVM_SET_LAPIC) && !km.irqchip)
			return -EINVAL;
		if (req == KVM_GET_LAPIC)
			memset(arg, 0, sizeof(struct kvm_lapic_state));
		else if (req == KVM_GET_MP_STATE)
			((struct kvm_mp_state *)arg)->mp_state = KVM_MP_STATE_RUNNABLE;
		else if (req == KVM_GET_VCPU_EVENTS)
			memset(arg, 0, sizeof(struct kvm_vcpu_events));
		return 0;
	case KVM_RUN:
		/* A confidential vCPU runs only after its launch: svm/sev.c (no VMSA before
		 * SNP_LAUNCH_FINISH), vmx/tdx.c tdx_vcpu_pre_run (TD_STATE_RUNNABLE after
		 * KVM_TDX_FINALIZE_VM). */
		if (km.vm_type == KVM_X86_SNP_VM && !km.snp_finished) {
			violation("KVM_RUN before SNP_LAUNCH_FINISH");
			return -EINVAL;
		}
		if (km.tdx_mode && !km.tdx_finalized) {
			violation("KVM_RUN before KVM_TDX_FINALIZE_VM (tdx_vcpu_pre_run)");
			return -EINVAL;
		}
		v->ran = true;
		return 0;
	}
	violation("unexpected vCPU ioctl 0x%lx", req);
	return -ENOTTY;
}

/* ------------------------------------------------------------------ ioctls */

static int km_fn(void *ctx, int fd, unsigned long req, void *arg)
{
	(void)ctx;
	static struct km_call overflow; /* stall tests issue thousands of calls */
	struct km_call *c = km.n < KM_MAX_CALLS ? &km.calls[km.n] : &overflow;
	km.n++;
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->req = req;
	int rc = 0;
	switch (req) {
	case KVM_CHECK_EXTENSION: {
		long cap = (long)(uintptr_t)arg;
		c->a[0] = (uint64_t)cap;
		rc = cap == KVM_CAP_VM_TYPES ? km.vm_types
		   : cap == KVM_CAP_EXIT_HYPERCALL ? km.hc_mask
		   : cap == KVM_CAP_MEMORY_ATTRIBUTES ? km.mem_attrs
		   : cap == KVM_CAP_MAX_VCPUS || cap == KVM_CAP_NR_VCPUS ? KM_MAX_VCPUS
		   : 1;
		break;
	}
	case KVM_GET_DEVICE_ATTR: {
		struct kvm_device_attr *a = arg;
		c->a[0] = a->group;
		c->a[1] = a->attr;
		*(uint64_t *)(uintptr_t)a->addr = km.vmsa_features;
		break;
	}
	case KVM_ENABLE_CAP: {
		struct kvm_enable_cap *e = arg;
		c->a[0] = e->cap;
		c->a[1] = e->args[0];
		/* arch/x86/kvm/x86.c kvm_vm_ioctl_enable_cap: the APIC bus period only before
		 * vCPUs exist. */
		if (e->cap == KVM_CAP_X86_APIC_BUS_CYCLES_NS) {
			if (km.vcpus_created || !e->args[0])
				rc = -EINVAL;
			else
				km.apic_bus_ns = e->args[0];
		}
		/* ... KVM_CAP_SPLIT_IRQCHIP: at most MAX_NR_RESERVED_IOAPIC_PINS routes, no
		 * in-kernel irqchip yet (-EEXIST), before vCPUs (-EINVAL). */
		/* ... KVM_CAP_EXIT_HYPERCALL: only hypercalls KVM can forward (-EINVAL). */
		if (e->cap == KVM_CAP_EXIT_HYPERCALL) {
			if (e->args[0] & ~(uint64_t)km.hc_mask)
				rc = -EINVAL;
			else
				km.hc_enabled = (unsigned)e->args[0];
		}
		if (e->cap == KVM_CAP_SPLIT_IRQCHIP) {
			if (e->args[0] > 256 || km.vcpus_created)
				rc = -EINVAL;
			else if (km.irqchip)
				rc = -EEXIST;
			else
				km.irqchip = 2;
		}
		break;
	}
	case KVM_SET_MEMORY_ATTRIBUTES: {
		struct kvm_memory_attributes *m = arg;
		c->a[0] = m->address;
		c->a[1] = m->size;
		c->a[2] = m->attributes;
		c->a[3] = m->flags;
		/* virt/kvm/kvm_main.c kvm_vm_ioctl_set_mem_attributes */
		if (m->flags || (m->attributes & ~(uint64_t)km.mem_attrs) || !m->size ||
		    m->address + m->size < m->address || (m->address | m->size) & 0xfff)
			rc = -EINVAL;
		else
			set_private(m->address, m->size, m->attributes & KVM_MEMORY_ATTRIBUTE_PRIVATE);
		break;
	}
	case KVM_CREATE_GUEST_MEMFD: {
		/* virt/kvm/guest_memfd.c kvm_gmem_create: page-aligned, non-zero size, no flags. */
		struct kvm_create_guest_memfd *g = arg;
		c->a[0] = g->size;
		if (!g->size || (g->size & 0xfff) || g->flags || km.ngmem >= 8)
			rc = -EINVAL;
		else {
			km.gmem_size[km.ngmem] = g->size;
			rc = KM_GMEM_FD0 + (int)km.ngmem++;
		}
		break;
	}
	case KVM_SET_USER_MEMORY_REGION2:
	case KVM_SET_USER_MEMORY_REGION: {
		struct kvm_userspace_memory_region2 r2 = { 0 };
		if (req == KVM_SET_USER_MEMORY_REGION)
			memcpy(&r2, arg, sizeof(struct kvm_userspace_memory_region));
		else
			r2 = *(struct kvm_userspace_memory_region2 *)arg;
		c->a[0] = r2.slot;
		c->a[1] = r2.guest_phys_addr;
		c->a[2] = r2.memory_size;
		c->a[3] = r2.flags;
		bool gmem = r2.flags & KVM_MEM_GUEST_MEMFD;
		/* kvm_main.c kvm_set_memory_region; guest_memfd.c kvm_gmem_bind: the
		 * guest_memfd range must lie inside the file, page aligned. */
		if ((r2.guest_phys_addr | r2.memory_size) & 0xfff || !r2.memory_size)
			rc = -EINVAL;
		else if (gmem && (r2.guest_memfd < KM_GMEM_FD0 || r2.guest_memfd >= KM_GMEM_FD0 + km.ngmem ||
				  (r2.guest_memfd_offset & 0xfff) ||
				  r2.guest_memfd_offset + r2.memory_size > km.gmem_size[r2.guest_memfd - KM_GMEM_FD0]))
			rc = -EINVAL;
		else {
			km_add_slot(r2.guest_phys_addr, r2.memory_size, gmem);
			if (km.nslots)
				km.slots[km.nslots - 1].uaddr = r2.userspace_addr;
		}
		break;
	}
	case KVM_SET_CPUID2: {
		struct kvm_cpuid2 *cp = arg;
		c->ncpuid = cp->nent;
		/* cpuid.c kvm_set_cpuid: after KVM_RUN the CPUID may not change
		 * (kvm_cpuid_check_equal; the shim's guest never changes it, so any call is one). */
		if (km.vcpus[km.vcpu < KM_MAX_VCPUS ? km.vcpu : 0].ran) {
			rc = -EINVAL;
			break;
		}
		memcpy(c->cpuid, cp->entries, VG_MIN(cp->nent, 8u) * sizeof(struct kvm_cpuid_entry2));
		km.vcpu_ncpuid = VG_MIN(cp->nent, 64u);
		memcpy(km.vcpu_cpuid, cp->entries, km.vcpu_ncpuid * sizeof(struct kvm_cpuid_entry2));
		break;
	}
	case KVM_MEMORY_ENCRYPT_OP:
		if (fd == KM_KVM_FD) {
			rc = -ENOTTY;
			break;
		}
		/* SEV and TDX share the ioctl: the VM type decides. */
		if (km.tdx_mode)
			rc = tdx_op(fd, c, arg);
		else
			rc = sev_op(c, arg);
		break;
	default:
		rc = plain_ioctl(fd, c, req, arg);
	}
	c->rc = rc;
	return rc;
}
