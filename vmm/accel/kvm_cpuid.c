/* CPUID and initial MSRs. CPUID starts from KVM_GET_SUPPORTED_CPUID and is
 * filtered to the set documented in docs/vmm.md: the hypervisor bit set,
 * nested virtualization, SMX, monitor/mwait, thermal and power management,
 * the architectural PMU and debug-store features hidden; APIC IDs and the
 * topology leaves describe one socket with one thread per core. */
#include "vmm/accel/kvm.h"

#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#define CPUID_MAX_ENTRIES 256

int vmm_kvm_cpuid_setup(struct vmm *vm, struct vg_err *err)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2));
	if (!c)
		return vg_err_set(err, ENOMEM, "cpuid: out of memory");
	c->nent = CPUID_MAX_ENTRIES;
	if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
		int e = errno;
		free(c);
		return vg_err_set(err, e, "KVM_GET_SUPPORTED_CPUID: %s", strerror(e));
	}
	unsigned n = 0;
	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		bool keep = true;
		switch (e->function) {
		case 0x1:
			/* ECX: hide DTES64(2) MONITOR(3) DS-CPL(4) VMX(5) SMX(6) EST(7) TM2(8)
			 * xTPR(14) PDCM(15); set hypervisor(31). EDX: hide DS(21) ACPI(22) TM(29) PBE(31). */
			e->ecx &= ~((1u << 2) | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 7) |
				    (1u << 8) | (1u << 14) | (1u << 15));
			e->ecx |= 1u << 31;
			e->edx &= ~((1u << 21) | (1u << 22) | (1u << 29) | (1u << 31));
			e->edx |= 1u << 28; /* HTT: EBX[23:16] is valid */
			e->ebx = (e->ebx & 0x0000FFFFu) | ((vm->cfg->vcpus & 0xFFu) << 16);
			break;
		case 0x5: /* MONITOR/MWAIT */
		case 0x6: /* thermal and power management */
		case 0xA: /* architectural PMU */
			e->eax = e->ebx = e->ecx = e->edx = 0;
			break;
		case 0x4: /* deterministic cache: cores per package */
			e->eax = (e->eax & 0x03FFFFFFu) | (((vm->cfg->vcpus - 1) & 0x3Fu) << 26);
			e->eax &= ~(0xFFFu << 14); /* each cache shared by one thread */
			break;
		case 0xB:
		case 0x1F: /* x2APIC topology: level 0 SMT (1 thread), level 1 core */
			if (e->index == 0) {
				e->eax = 0;
				e->ebx = 1;
				e->ecx = (1u << 8) | 0;
			} else if (e->index == 1) {
				unsigned bits = 0;
				while ((1u << bits) < vm->cfg->vcpus)
					bits++;
				e->eax = bits;
				e->ebx = vm->cfg->vcpus;
				e->ecx = (2u << 8) | 1;
			} else {
				e->eax = e->ebx = 0;
				e->ecx = e->index;
			}
			break;
		case 0x80000001: /* hide SVM (ECX bit 2) */
			e->ecx &= ~(1u << 2);
			break;
		default:
			break;
		}
		if (keep)
			c->entries[n++] = *e;
	}
	c->nent = n;
	if (vm->plat->cpuid_adjust)
		vm->plat->cpuid_adjust(vm, vm->plat_state, c->entries, c->nent);
	((struct vmm_kvm *)vm->accel_state)->cpuid = c;
	return 0;
}

int vmm_kvm_cpuid_apply(struct vmm *vm, struct vmm_vcpu *v, struct vg_err *err)
{
	struct kvm_cpuid2 *c = ((struct vmm_kvm *)vm->accel_state)->cpuid;
	size_t sz = sizeof(*c) + c->nent * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid2 *mine = malloc(sz);
	if (!mine)
		return vg_err_set(err, ENOMEM, "cpuid: out of memory");
	memcpy(mine, c, sz);
	for (unsigned i = 0; i < mine->nent; i++) {
		struct kvm_cpuid_entry2 *e = &mine->entries[i];
		if (e->function == 0x1)
			e->ebx = (e->ebx & 0x00FFFFFFu) | (v->index << 24);
		if (e->function == 0xB || e->function == 0x1F)
			e->edx = v->index;
	}
	int rc = 0;
	if (ioctl(v->fd, KVM_SET_CPUID2, mine) < 0)
		rc = vg_err_set(err, errno, "vCPU %u: KVM_SET_CPUID2: %s", v->index, strerror(errno));
	free(mine);
	return rc;
}

int vmm_kvm_msrs_apply(struct vmm_vcpu *v, struct vg_err *err)
{
	static const struct {
		uint32_t index;
		uint64_t value;
	} init[] = {
		{0x174, 0},          /* IA32_SYSENTER_CS */
		{0x175, 0},          /* IA32_SYSENTER_ESP */
		{0x176, 0},          /* IA32_SYSENTER_EIP */
		{0xC0000081, 0},     /* STAR */
		{0xC0000082, 0},     /* LSTAR */
		{0xC0000083, 0},     /* CSTAR */
		{0xC0000084, 0},     /* SYSCALL_MASK */
		{0xC0000102, 0},     /* KERNEL_GS_BASE */
		{0x10, 0},           /* IA32_TSC */
		{0x1A0, 1},          /* IA32_MISC_ENABLE: fast strings */
		{0x2FF, (1u << 11) | 6}, /* IA32_MTRR_DEF_TYPE: enabled, write-back */
	};
	/* struct kvm_msrs ends in a flexible array: header and entries in one buffer. */
	_Alignas(struct kvm_msrs) uint8_t buf[sizeof(struct kvm_msrs) + VG_ARRAY_SIZE(init) * sizeof(struct kvm_msr_entry)];
	memset(buf, 0, sizeof(buf));
	struct kvm_msrs *m = (struct kvm_msrs *)buf;
	m->nmsrs = VG_ARRAY_SIZE(init);
	for (size_t i = 0; i < VG_ARRAY_SIZE(init); i++) {
		m->entries[i].index = init[i].index;
		m->entries[i].data = init[i].value;
	}
	int n = ioctl(v->fd, KVM_SET_MSRS, m);
	if (n < 0)
		return vg_err_set(err, errno, "vCPU %u: KVM_SET_MSRS: %s", v->index, strerror(errno));
	if ((size_t)n != VG_ARRAY_SIZE(init))
		return vg_err_set(err, EINVAL, "vCPU %u: KVM_SET_MSRS: MSR 0x%x refused", v->index, init[n].index);
	return 0;
}
