/* Private to vmm/accel/kvm*.c: the kvm accelerator's state. */
#ifndef VIGIL_VMM_ACCEL_KVM_H
#define VIGIL_VMM_ACCEL_KVM_H

#include "vmm/accel/accel.h"

struct kvm_cpuid2;
struct kvm_vm_snapshot;

struct vmm_kvm {
	int gmem_fd;              /* guest_memfd while the RAM slots are set, else -1 */
	int run_size;             /* KVM_GET_VCPU_MMAP_SIZE */
	struct kvm_cpuid2 *cpuid; /* filtered, shared by all vCPUs (APIC IDs patched per vCPU) */
	struct kvm_vm_snapshot *snapshot; /* PIC, IOAPIC, PIT as created (kvm_reset.c), when vm->reboots */
};

/* The KVM device: /dev/kvm, or VIGIL_KVM_DEVICE (test-only, docs/testing.md). */
const char *vmm_kvm_device(void);
/* 0 when the KVM device opens with every capability the core needs. */
int vmm_kvm_available(struct vg_err *err);

/* kvm.c: one memory region as a KVM slot, through io (the system's ioctl, or a
 * model in tests). Platforms with private memory: RAM in one guest_memfd (*ram_gmem,
 * created on first use), the firmware in its own; every such slot private from the
 * start. Others: plain slots, the firmware read-only. */
struct vg_kvm_io;
int vmm_kvm_map_region(const struct vg_kvm_io *io, struct vmm *vm, struct vmm_region *r, int *ram_gmem,
		       struct vg_err *err);

/* kvm_cpuid.c */
int vmm_kvm_cpuid_setup(struct vmm *vm, struct vg_err *err);
int vmm_kvm_cpuid_apply(struct vmm *vm, struct vmm_vcpu *v, struct vg_err *err);
int vmm_kvm_msrs_apply(struct vmm_vcpu *v, struct vg_err *err);

/* kvm_vcpu.c */
int vmm_kvm_vcpu_create(struct vmm_vcpu *v, struct vg_err *err);
void vmm_kvm_vcpu_run(struct vmm_vcpu *v, struct vmm_exit *e);
void vmm_kvm_vcpu_kick(struct vmm_vcpu *v);
void vmm_kvm_vcpu_destroy(struct vmm_vcpu *v);

/* kvm_reset.c: the reset state (a reboot, vm->reboots). The vCPU's is taken at
 * the end of vcpu_create and kept in v->accel; the VM's at the end of vm_ready. */
int vmm_kvm_vcpu_snapshot(struct vmm_vcpu *v, struct vg_err *err);
void vmm_kvm_vcpu_snapshot_free(struct vmm_vcpu *v);
int vmm_kvm_vcpu_reset(struct vmm_vcpu *v, struct vg_err *err);
int vmm_kvm_vm_snapshot(struct vmm *vm, struct vg_err *err);
int vmm_kvm_vm_reset(struct vmm *vm, struct vg_err *err);

#endif
