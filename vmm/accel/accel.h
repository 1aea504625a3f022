/* Private to vmm/: the accelerator seam. The core runs vCPUs through these
 * hooks and sees only its own exit kinds; everything KVM- or Unicorn-specific
 * (irqchip, PIT, CPUID/MSR setup, memory slots, engines) lives behind them.
 *
 *   kvm  vmm/accel/kvm*.c   /dev/kvm (the product)
 *   emu  vmm/accel/emu*.c   a software x86 CPU on Unicorn, dlopen'd when used
 *
 * Order the core calls them in (vmm/machine.c, vmm/vcpu.c):
 *   vm_create -> mem_map (each RAM/ROM region) -> vm_ready -> vcpu_create (each
 *   vCPU; the boot state is vm->boot) -> [vCPU thread: vcpu_thread_init, then
 *   its seccomp filter, then vcpu_run until a stop] -> vcpu_kick (other
 *   threads) -> vcpu_destroy -> vm_destroy.
 * A reboot (vm->reboots, reset.c): vcpu_kick -> [each vCPU thread, out of
 *   vcpu_run: vcpu_reset] -> [main thread, every vCPU paused: vm_reset] ->
 *   the vCPUs run again. */
#ifndef VIGIL_VMM_ACCEL_H
#define VIGIL_VMM_ACCEL_H

#include "vmm/internal.h"

/* What stopped a vCPU run: the core's own exit kinds. */
enum vmm_exit_kind {
	VMM_EXIT_NONE = 0,  /* interrupted (a kick): the core re-checks the stop flag and resumes */
	VMM_EXIT_PIO,       /* port I/O: dispatched on the bus, then the vCPU resumes */
	VMM_EXIT_MMIO,      /* MMIO: same */
	VMM_EXIT_HALT,      /* idle with nothing to wake it: parked until the VM stops */
	VMM_EXIT_SHUTDOWN,  /* the guest powered off */
	VMM_EXIT_RESET,     /* the guest asked for a reset (a reboot, or the VM stops) */
	VMM_EXIT_CRASH,     /* the guest cannot go on: reason, RIP; exit status 1 */
	VMM_EXIT_HOST,      /* the accelerator failed on the host side: exit status 2 */
	VMM_EXIT_PLATFORM,  /* an accelerator exit for the platform's handle_exit (raw) */
};

struct vmm_exit {
	enum vmm_exit_kind kind;
	/* PIO, MMIO: one access of 1, 2, 4 or 8 bytes; reads fill value. */
	uint64_t addr;
	unsigned size;
	bool write;
	uint64_t value;
	/* CRASH, HOST: why, and where when known. */
	bool has_rip;
	uint64_t rip;
	char reason[160];
	void *raw; /* PLATFORM: the accelerator's exit record (kvm: struct kvm_run) */
};

struct vmm_accel_ops {
	const char *name;
	/* Can this host run this accelerator with this platform and
	 * configuration? Runs the platform's probe (kvm_fd -1 under emu). Used by
	 * --check-kvm and before anything is built. */
	int (*check)(const struct vmm_platform_ops *plat, const struct vmm_config *c, struct vg_err *err);
	/* The VM itself (kvm: /dev/kvm, platform probe, KVM_CREATE_VM). */
	int (*vm_create)(struct vmm *vm, struct vg_err *err);
	/* A region of guest memory (RAM or the firmware ROM) as the core set it up. */
	int (*mem_map)(struct vmm *vm, struct vmm_region *r, struct vg_err *err);
	/* After every region, before any vCPU (kvm: irqchip, PIT). */
	int (*vm_ready)(struct vmm *vm, struct vg_err *err);
	/* vCPU v: CPUID, MSRs and, for the boot vCPU, vm->boot (unless the
	 * platform owns the registers). */
	int (*vcpu_create)(struct vmm_vcpu *v, struct vg_err *err);
	/* On the vCPU's own thread, before its seccomp filter (optional). */
	int (*vcpu_thread_init)(struct vmm_vcpu *v, struct vg_err *err);
	/* Runs until an exit; fills e. May dispatch PIO/MMIO itself through
	 * vmm_vcpu_exit() and return only the exit that ends the run. */
	void (*vcpu_run)(struct vmm_vcpu *v, struct vmm_exit *e);
	/* From another thread, after a stop or reset request: make vcpu_run return. */
	void (*vcpu_kick)(struct vmm_vcpu *v);
	/* Reboot, on the vCPU's own thread, out of vcpu_run: the vCPU back to the
	 * state vcpu_create left it in (registers, MSRs, LAPIC, FPU, waiting for
	 * a SIPI for an AP). Only when vm->reboots. */
	int (*vcpu_reset)(struct vmm_vcpu *v, struct vg_err *err);
	/* Reboot, on the main thread, every vCPU paused: the VM-wide state back
	 * to what vm_ready left (kvm: PIC, IOAPIC, PIT). Optional. */
	int (*vm_reset)(struct vmm *vm, struct vg_err *err);
	void (*vcpu_destroy)(struct vmm_vcpu *v);
	/* A level-triggered ISA interrupt line; -ENOTSUP when there is no
	 * interrupt controller. */
	int (*irq_line)(struct vmm *vm, unsigned irq, bool level);
	void (*vm_destroy)(struct vmm *vm);
	/* What the vCPU seccomp filter allows beyond the common list, for this
	 * accelerator only (NULL-terminated, 0-terminated). */
	const char *const *vcpu_syscalls;
	const unsigned long *vcpu_ioctls;
	const unsigned long *main_ioctls;
	/* Added to the filters only when the VM can reboot (vcpu_reset, vm_reset). */
	const unsigned long *vcpu_reset_ioctls;
	const unsigned long *main_reset_ioctls;
};

extern const struct vmm_accel_ops vmm_accel_kvm, vmm_accel_emu;

/* The core's handling of one exit (vcpu.c); accelerators call it for the
 * PIO/MMIO they dispatch inline. Returns false when the vCPU must leave its
 * run (a stop, or a reset: vmm_reset_pending). */
bool vmm_vcpu_exit(struct vmm_vcpu *v, struct vmm_exit *e);
/* True once a stop was requested (lock-free). */
bool vmm_stopping(const struct vmm *vm);

/* emu_lib.c: Unicorn's entry points, loaded with dlopen on first use. */
int vmm_emu_load(struct vg_err *err);

#endif
