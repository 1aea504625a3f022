/*
 * TDX launch on the upstream KVM UAPI (Linux 6.16+). Every call goes through the
 * vg_kvm_io seam; see tdx.h section 3 and Documentation/virt/kvm/x86/intel-tdx.rst.
 */
#include <stdlib.h>
#include <string.h>

#include "common/linux_kvm_cc.h"
#include "tdx/tdx.h"

enum { ST_NEW = 0, ST_PROBED, ST_CAPS, ST_INIT_VM, ST_FINALIZED };

#define TDX_MAX_STALLS 10000u
#define TDX_MAX_CPUID 256u
/* QEMU target/i386/kvm/tdx.c retries KVM_TDX_INIT_VM this often on -EAGAIN. */
#define TDX_INIT_VM_RETRIES 10000u

void tdx_launch_init(struct tdx_launch *l, const struct vg_kvm_io *io)
{
	memset(l, 0, sizeof(*l));
	l->io = io;
	l->kvm_fd = l->vm_fd = -1;
}

void tdx_launch_release(struct tdx_launch *l)
{
	free(l->cpuid);
	l->cpuid = NULL;
	l->ncpuid = 0;
}

void tdx_caps_free(struct tdx_caps *c)
{
	free(c->cpuid);
	memset(c, 0, sizeof(*c));
}

static int tdx_cmd(struct tdx_launch *l, int fd, uint32_t id, uint32_t flags, uint64_t data)
{
	struct kvm_tdx_cmd cmd = { .id = id, .flags = flags, .data = data };
	int rc = vg_kvm_ioctl(l->io, fd, KVM_MEMORY_ENCRYPT_OP, &cmd);
	l->hw_error = rc < 0 ? cmd.hw_error : 0;
	return rc < 0 ? rc : 0;
}

int tdx_probe(struct tdx_launch *l, struct vg_err *err)
{
	int types = vg_kvm_ioctl(l->io, l->kvm_fd, KVM_CHECK_EXTENSION, (void *)(uintptr_t)KVM_CAP_VM_TYPES);
	if (types < 0)
		types = 0;
	if (!(types & (1 << KVM_X86_TDX_VM)))
		return vg_err_set(err, ENOTSUP,
				  "host KVM offers no TDX VMs: KVM_CAP_VM_TYPES mask is 0x%x, bit %d "
				  "(KVM_X86_TDX_VM) missing; needs Linux 6.16+ on a TDX-enabled Intel Xeon "
				  "with kvm_intel tdx=1",
				  types, KVM_X86_TDX_VM);
	int rc = vg_kvm_probe_private_memory(l->io, l->kvm_fd, err);
	if (rc)
		return rc;
	if (vg_kvm_ioctl(l->io, l->kvm_fd, KVM_CHECK_EXTENSION, (void *)(uintptr_t)KVM_CAP_SPLIT_IRQCHIP) <= 0)
		return vg_err_set(err, ENOTSUP, "host KVM lacks KVM_CAP_SPLIT_IRQCHIP, which TDX guests need");
	l->state = ST_PROBED;
	return 0;
}

int tdx_get_capabilities(struct tdx_launch *l, struct tdx_caps *caps, struct vg_err *err)
{
	memset(caps, 0, sizeof(*caps));
	for (uint32_t n = 64;; n *= 2) {
		size_t sz = sizeof(struct kvm_tdx_capabilities) + n * sizeof(struct kvm_cpuid_entry2);
		struct kvm_tdx_capabilities *c = calloc(1, sz);
		if (!c)
			return vg_err_set(err, ENOMEM, "out of memory");
		c->cpuid.nent = n;
		int rc = tdx_cmd(l, l->vm_fd, KVM_TDX_CAPABILITIES, 0, (uint64_t)(uintptr_t)c);
		if (rc == -E2BIG && n < TDX_MAX_CPUID) {
			free(c);
			continue;
		}
		if (rc < 0) {
			free(c);
			return vg_err_set(err, -rc, "KVM_TDX_CAPABILITIES failed: %s (TDX module status 0x%llx)",
					  strerror(-rc), (unsigned long long)l->hw_error);
		}
		if (c->cpuid.nent > n) {
			free(c);
			return vg_err_set(err, EIO, "KVM_TDX_CAPABILITIES returned more CPUID entries than room");
		}
		caps->supported_attrs = c->supported_attrs;
		caps->supported_xfam = c->supported_xfam;
		caps->user_tdvmcallinfo_1_r11 = c->user_tdvmcallinfo_1_r11;
		caps->user_tdvmcallinfo_1_r12 = c->user_tdvmcallinfo_1_r12;
		caps->ncpuid = c->cpuid.nent;
		caps->cpuid = calloc(c->cpuid.nent ? c->cpuid.nent : 1, sizeof(struct kvm_cpuid_entry2));
		if (!caps->cpuid) {
			free(c);
			return vg_err_set(err, ENOMEM, "out of memory");
		}
		memcpy(caps->cpuid, c->cpuid.entries, c->cpuid.nent * sizeof(struct kvm_cpuid_entry2));
		free(c);
		l->state = ST_CAPS;
		return 0;
	}
}

static const struct kvm_cpuid_entry2 *caps_leaf(const struct tdx_caps *caps, uint32_t fn, uint32_t idx)
{
	for (unsigned i = 0; i < caps->ncpuid; i++)
		if (caps->cpuid[i].function == fn && caps->cpuid[i].index == idx)
			return &caps->cpuid[i];
	return NULL;
}

int tdx_td_cpuid(const struct tdx_caps *caps, const struct kvm_cpuid_entry2 *want, unsigned n,
		 struct kvm_cpuid_entry2 **out, unsigned *nout, struct vg_err *err)
{
	*out = NULL;
	*nout = 0;
	if (n > TDX_MAX_CPUID)
		return vg_err_set(err, EINVAL, "too many CPUID entries (%u)", n);
	struct kvm_cpuid_entry2 *e = calloc(n ? n : 1, sizeof(*e));
	if (!e)
		return vg_err_set(err, ENOMEM, "out of memory");
	bool have_pa = false;
	for (unsigned i = 0; i < n; i++) {
		e[i] = want[i];
		const struct kvm_cpuid_entry2 *c = caps_leaf(caps, want[i].function, want[i].index);
		if (c) { /* configurable: only the bits the TDX module lets the VMM set */
			e[i].eax &= c->eax;
			e[i].ebx &= c->ebx;
			e[i].ecx &= c->ecx;
			e[i].edx &= c->edx;
		}
		if (e[i].function == 0x80000008 && e[i].index == 0) {
			/* GuestPhysAddrSize: vmx/tdx.c setup_tdparams_eptp_controls accepts 48 or
			 * 52 only; KVM_GET_SUPPORTED_CPUID may report anything (or 0). */
			e[i].eax = (e[i].eax & ~0x00ff0000u) | (TDX_GUEST_PA_BITS << 16);
			have_pa = true;
		}
	}
	if (!have_pa) {
		free(e);
		return vg_err_set(err, EINVAL, "the TD's CPUID lacks leaf 0x80000008, which KVM_TDX_INIT_VM requires");
	}
	*out = e;
	*nout = n;
	return 0;
}

int tdx_init_vm(struct tdx_launch *l, const struct tdx_caps *caps, const struct tdx_td_config *cfg,
		struct vg_err *err)
{
	if (l->state != ST_CAPS)
		return vg_err_set(err, EINVAL, "KVM_TDX_INIT_VM before KVM_TDX_CAPABILITIES");
	if (cfg->attributes & ~caps->supported_attrs)
		return vg_err_set(err, ENOTSUP, "TD attributes 0x%llx: bits 0x%llx not supported (host offers 0x%llx)",
				  (unsigned long long)cfg->attributes,
				  (unsigned long long)(cfg->attributes & ~caps->supported_attrs),
				  (unsigned long long)caps->supported_attrs);
	if (cfg->xfam & ~caps->supported_xfam)
		return vg_err_set(err, ENOTSUP, "XFAM 0x%llx: bits 0x%llx not supported (host offers 0x%llx)",
				  (unsigned long long)cfg->xfam, (unsigned long long)(cfg->xfam & ~caps->supported_xfam),
				  (unsigned long long)caps->supported_xfam);
	tdx_launch_release(l);
	int rc = tdx_td_cpuid(caps, cfg->cpuid, cfg->ncpuid, &l->cpuid, &l->ncpuid, err);
	if (rc)
		return rc;
	size_t sz = sizeof(struct kvm_tdx_init_vm) + l->ncpuid * sizeof(struct kvm_cpuid_entry2);
	struct kvm_tdx_init_vm *iv = calloc(1, sz);
	if (!iv)
		return vg_err_set(err, ENOMEM, "out of memory");
	iv->attributes = cfg->attributes;
	iv->xfam = cfg->xfam;
	memcpy(iv->mrconfigid, cfg->mrconfigid, 48);
	memcpy(iv->mrowner, cfg->mrowner, 48);
	memcpy(iv->mrownerconfig, cfg->mrownerconfig, 48);
	memcpy(iv->cpuid.entries, l->cpuid, l->ncpuid * sizeof(struct kvm_cpuid_entry2));
	iv->cpuid.nent = l->ncpuid;
	/* The TD's APIC timer runs at the TDX module's 25 MHz; KVM's default is 1 GHz.
	 * Must precede INIT_VM and any vCPU (QEMU: tdx_kvm_init). */
	struct kvm_enable_cap cap = { .cap = KVM_CAP_X86_APIC_BUS_CYCLES_NS };
	cap.args[0] = TDX_APIC_BUS_CYCLES_NS;
	rc = vg_kvm_ioctl(l->io, l->vm_fd, KVM_ENABLE_CAP, &cap);
	if (rc < 0) {
		free(iv);
		return vg_err_set(err, -rc, "KVM_ENABLE_CAP(KVM_CAP_X86_APIC_BUS_CYCLES_NS, %u ns) failed: %s",
				  TDX_APIC_BUS_CYCLES_NS, strerror(-rc));
	}
	/* -EAGAIN: TDH.MNG.CREATE/KEY.CONFIG found no entropy (TDX_RND_NO_ENTROPY); retry. */
	l->init_vm_tries = 0;
	do {
		rc = tdx_cmd(l, l->vm_fd, KVM_TDX_INIT_VM, 0, (uint64_t)(uintptr_t)iv);
		l->init_vm_tries++;
	} while (rc == -EAGAIN && l->init_vm_tries < TDX_INIT_VM_RETRIES);
	free(iv);
	if (rc < 0)
		return vg_err_set(err, -rc, "KVM_TDX_INIT_VM failed%s: %s (TDX module status 0x%llx)",
				  rc == -EAGAIN ? " (no entropy after every retry)" : "", strerror(-rc),
				  (unsigned long long)l->hw_error);
	l->state = ST_INIT_VM;
	return 0;
}

static struct kvm_cpuid_entry2 *find_leaf(struct kvm_cpuid_entry2 *e, unsigned n, uint32_t fn, uint32_t idx)
{
	for (unsigned i = 0; i < n; i++)
		if (e[i].function == fn && e[i].index == idx)
			return &e[i];
	return NULL;
}

/* KVM_TDX_GET_CPUID (vCPU scope, after INIT_VCPU): what the TD actually sees. */
static int cross_check_cpuid(struct tdx_launch *l, const struct tdx_caps *caps, int vcpu_fd,
			     const struct kvm_cpuid_entry2 *ours, unsigned n, struct vg_err *err)
{
	struct kvm_cpuid2 *got = NULL;
	int rc = 0;
	for (uint32_t cap = 64;; cap *= 2) {
		free(got);
		got = calloc(1, sizeof(*got) + cap * sizeof(struct kvm_cpuid_entry2));
		if (!got)
			return vg_err_set(err, ENOMEM, "out of memory");
		got->nent = cap;
		rc = tdx_cmd(l, vcpu_fd, KVM_TDX_GET_CPUID, 0, (uint64_t)(uintptr_t)got);
		if (rc == -E2BIG && cap < TDX_MAX_CPUID * 4)
			continue;
		break;
	}
	if (rc < 0) {
		free(got);
		return vg_err_set(err, -rc, "KVM_TDX_GET_CPUID failed: %s (TDX module status 0x%llx)", strerror(-rc),
				  (unsigned long long)l->hw_error);
	}
	static const char *const reg[] = { "EAX", "EBX", "ECX", "EDX" };
	for (unsigned i = 0; i < n && !rc; i++) {
		const struct kvm_cpuid_entry2 *c = caps_leaf(caps, ours[i].function, ours[i].index);
		if (!c)
			continue; /* not configurable: the TDX module decides, KVM_SET_CPUID2 only informs KVM */
		const struct kvm_cpuid_entry2 *t = find_leaf(got->entries, VG_MIN(got->nent, 4 * TDX_MAX_CPUID),
							    ours[i].function, ours[i].index);
		const uint32_t o[4] = { ours[i].eax, ours[i].ebx, ours[i].ecx, ours[i].edx };
		const uint32_t m[4] = { c->eax, c->ebx, c->ecx, c->edx };
		const uint32_t g[4] = { t ? t->eax : 0, t ? t->ebx : 0, t ? t->ecx : 0, t ? t->edx : 0 };
		for (int k = 0; k < 4 && !rc; k++) {
			uint32_t mask = m[k];
			if (ours[i].function == 0x80000008 && k == 0)
				mask &= 0xff00ffffu; /* GPAW: KVM's interface, not a TDX module value */
			uint32_t want = o[k] & mask, have = g[k] & mask;
			if (want & ~have)
				rc = vg_err_set(err, EIO,
						"TD CPUID leaf 0x%x subleaf 0x%x %s: ours 0x%08x, TDX module 0x%08x "
						"(bits 0x%08x missing; KVM_TDX_GET_CPUID)",
						ours[i].function, ours[i].index, reg[k], want, have, want & ~have);
			else if (have & ~want)
				vg_info("tdx: CPUID leaf 0x%x subleaf 0x%x %s: the TDX module sets bits 0x%08x itself",
					ours[i].function, ours[i].index, reg[k], have & ~want);
		}
	}
	free(got);
	return rc;
}

int tdx_init_vcpu(struct tdx_launch *l, const struct tdx_caps *caps, int vcpu_fd, unsigned index,
		  uint64_t hob_gpa, struct vg_err *err)
{
	if (l->state != ST_INIT_VM)
		return vg_err_set(err, EINVAL, "KVM_TDX_INIT_VCPU before KVM_TDX_INIT_VM or after finalization");
	/* The same CPUID INIT_VM got, with this vCPU's APIC ID (leaf 1 EBX[31:24],
	 * x2APIC ID in leaves 0xB/0x1F EDX). */
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + l->ncpuid * sizeof(struct kvm_cpuid_entry2));
	if (!c)
		return vg_err_set(err, ENOMEM, "out of memory");
	c->nent = l->ncpuid;
	memcpy(c->entries, l->cpuid, l->ncpuid * sizeof(struct kvm_cpuid_entry2));
	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		if (e->function == 1)
			e->ebx = (e->ebx & 0x00ffffffu) | ((index & 0xffu) << 24);
		else if (e->function == 0xb || e->function == 0x1f)
			e->edx = index;
	}
	int rc = vg_kvm_ioctl(l->io, vcpu_fd, KVM_SET_CPUID2, c);
	if (rc < 0) {
		free(c);
		return vg_err_set(err, -rc, "vCPU %u: KVM_SET_CPUID2 with the TD's CPUID failed: %s", index,
				  strerror(-rc));
	}
	rc = tdx_cmd(l, vcpu_fd, KVM_TDX_INIT_VCPU, 0, hob_gpa);
	if (rc < 0) {
		free(c);
		return vg_err_set(err, -rc, "KVM_TDX_INIT_VCPU failed: %s (TDX module status 0x%llx)", strerror(-rc),
				  (unsigned long long)l->hw_error);
	}
	rc = cross_check_cpuid(l, caps, vcpu_fd, c->entries, c->nent, err);
	free(c);
	return rc ? vg_err_prefix(err, "vCPU %u", index) : 0;
}

int tdx_init_mem_region(struct tdx_launch *l, int vcpu_fd, uint64_t gpa, const void *src, uint64_t nr_pages,
			bool measure, struct vg_err *err)
{
	if (l->state != ST_INIT_VM)
		return vg_err_set(err, EINVAL, "KVM_TDX_INIT_MEM_REGION outside INIT_VM..FINALIZE_VM");
	uint64_t len = nr_pages << 12;
	if (!nr_pages || (gpa | (uint64_t)(uintptr_t)src) & 0xfff || nr_pages > (UINT64_MAX >> 12) ||
	    gpa + len < gpa)
		return vg_err_set(err, EINVAL, "KVM_TDX_INIT_MEM_REGION: range 0x%llx (%llu pages) invalid",
				  (unsigned long long)gpa, (unsigned long long)nr_pages);
	int rc = vg_kvm_set_private(l->io, l->vm_fd, gpa, len, 1);
	if (rc < 0)
		return vg_err_set(err, -rc, "KVM_SET_MEMORY_ATTRIBUTES(private) 0x%llx+0x%llx failed: %s",
				  (unsigned long long)gpa, (unsigned long long)len, strerror(-rc));
	struct kvm_tdx_init_mem_region r = {
		.source_addr = (uint64_t)(uintptr_t)src,
		.gpa = gpa,
		.nr_pages = nr_pages,
	};
	unsigned stalls = 0;
	while (r.nr_pages) {
		uint64_t before = r.nr_pages;
		rc = tdx_cmd(l, vcpu_fd, KVM_TDX_INIT_MEM_REGION, measure ? KVM_TDX_MEASURE_MEMORY_REGION : 0,
			     (uint64_t)(uintptr_t)&r);
		l->ioctl_calls++;
		if (rc < 0 && rc != -EAGAIN && rc != -EINTR)
			return vg_err_set(err, -rc,
					  "KVM_TDX_INIT_MEM_REGION at 0x%llx (%llu pages left) failed: %s "
					  "(TDX module status 0x%llx)",
					  (unsigned long long)r.gpa, (unsigned long long)r.nr_pages, strerror(-rc),
					  (unsigned long long)l->hw_error);
		if (r.nr_pages > before || r.gpa != gpa + ((nr_pages - r.nr_pages) << 12) ||
		    r.source_addr != (uint64_t)(uintptr_t)src + ((nr_pages - r.nr_pages) << 12))
			return vg_err_set(err, EIO, "KVM_TDX_INIT_MEM_REGION: KVM reported inconsistent progress");
		if (r.nr_pages == before) {
			if (++stalls > TDX_MAX_STALLS)
				return vg_err_set(err, EIO, "KVM_TDX_INIT_MEM_REGION made no progress after %u calls",
						  stalls);
		} else {
			l->pages_added += before - r.nr_pages;
			stalls = 0;
		}
	}
	return 0;
}

int tdx_finalize(struct tdx_launch *l, struct vg_err *err)
{
	if (l->state != ST_INIT_VM)
		return vg_err_set(err, EINVAL, "KVM_TDX_FINALIZE_VM before KVM_TDX_INIT_VM");
	int rc = tdx_cmd(l, l->vm_fd, KVM_TDX_FINALIZE_VM, 0, 0);
	if (rc < 0)
		return vg_err_set(err, -rc, "KVM_TDX_FINALIZE_VM failed: %s (TDX module status 0x%llx)", strerror(-rc),
				  (unsigned long long)l->hw_error);
	l->state = ST_FINALIZED;
	return 0;
}
