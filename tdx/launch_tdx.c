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

void tdx_launch_init(struct tdx_launch *l, const struct vg_kvm_io *io)
{
	memset(l, 0, sizeof(*l));
	l->io = io;
	l->kvm_fd = l->vm_fd = -1;
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
	if (cfg->ncpuid > TDX_MAX_CPUID)
		return vg_err_set(err, EINVAL, "too many CPUID entries (%u)", cfg->ncpuid);
	size_t sz = sizeof(struct kvm_tdx_init_vm) + cfg->ncpuid * sizeof(struct kvm_cpuid_entry2);
	struct kvm_tdx_init_vm *iv = calloc(1, sz);
	if (!iv)
		return vg_err_set(err, ENOMEM, "out of memory");
	iv->attributes = cfg->attributes;
	iv->xfam = cfg->xfam;
	memcpy(iv->mrconfigid, cfg->mrconfigid, 48);
	memcpy(iv->mrowner, cfg->mrowner, 48);
	memcpy(iv->mrownerconfig, cfg->mrownerconfig, 48);
	/* Only configurable leaves go in, each masked to what the TDX module lets us set. */
	unsigned n = 0;
	for (unsigned i = 0; i < cfg->ncpuid; i++) {
		const struct kvm_cpuid_entry2 *want = &cfg->cpuid[i];
		const struct kvm_cpuid_entry2 *c = caps_leaf(caps, want->function, want->index);
		if (!c)
			continue;
		struct kvm_cpuid_entry2 *e = &iv->cpuid.entries[n++];
		*e = *want;
		e->eax &= c->eax;
		e->ebx &= c->ebx;
		e->ecx &= c->ecx;
		e->edx &= c->edx;
	}
	iv->cpuid.nent = n;
	int rc = tdx_cmd(l, l->vm_fd, KVM_TDX_INIT_VM, 0, (uint64_t)(uintptr_t)iv);
	free(iv);
	if (rc < 0)
		return vg_err_set(err, -rc, "KVM_TDX_INIT_VM failed: %s (TDX module status 0x%llx)", strerror(-rc),
				  (unsigned long long)l->hw_error);
	l->state = ST_INIT_VM;
	return 0;
}

int tdx_init_vcpu(struct tdx_launch *l, int vcpu_fd, uint64_t hob_gpa, struct vg_err *err)
{
	if (l->state != ST_INIT_VM)
		return vg_err_set(err, EINVAL, "KVM_TDX_INIT_VCPU before KVM_TDX_INIT_VM or after finalization");
	int rc = tdx_cmd(l, vcpu_fd, KVM_TDX_INIT_VCPU, 0, hob_gpa);
	if (rc < 0)
		return vg_err_set(err, -rc, "KVM_TDX_INIT_VCPU failed: %s (TDX module status 0x%llx)", strerror(-rc),
				  (unsigned long long)l->hw_error);
	return 0;
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
