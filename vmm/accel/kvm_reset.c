/* The kvm accelerator, reboot: every vCPU's state and the VM-wide in-kernel
 * state (PIC, IOAPIC, PIT) are read once, right after they were created and set
 * up (the state a reset returns to), and written back on a reboot: the vCPU's
 * on its own thread, the VM's on the main thread while every vCPU is paused.
 * Only for VMs that can reboot (vm->reboots). What a snapshot holds:
 * registers, segment and control registers (EFER, APIC base), the FPU/XSAVE
 * area and XCR0, the MSRs below that KVM has (those the core sets, PAT, MTRRs,
 * TSC deadline, KVM's paravirtual MSRs: a rebooted Linux must not find its old
 * kvmclock page still updated), the LAPIC, the MP state (an AP waits for
 * INIT/SIPI again), pending events (none) and debug registers. */
#include "vmm/accel/kvm.h"

#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

/* MSRs a reset puts back; those KVM does not have are left out at snapshot time. */
static const uint32_t reset_msrs[] = {
	0x10,                                           /* IA32_TSC */
	0x174, 0x175, 0x176,                            /* SYSENTER_CS/ESP/EIP */
	0xC0000081, 0xC0000082, 0xC0000083, 0xC0000084, /* STAR, LSTAR, CSTAR, SYSCALL_MASK */
	0xC0000102, 0xC0000103,                         /* KERNEL_GS_BASE, TSC_AUX */
	0x1A0,                                          /* MISC_ENABLE */
	0x277,                                          /* PAT */
	0x2FF,                                          /* MTRR default type */
	0x200, 0x201, 0x202, 0x203, 0x204, 0x205, 0x206, 0x207, /* variable MTRRs */
	0x208, 0x209, 0x20A, 0x20B, 0x20C, 0x20D, 0x20E, 0x20F,
	0x250, 0x258, 0x259,                            /* fixed MTRRs */
	0x268, 0x269, 0x26A, 0x26B, 0x26C, 0x26D, 0x26E, 0x26F,
	0x48,                                           /* SPEC_CTRL */
	0xDA0,                                          /* XSS */
	0x6E0,                                          /* TSC_DEADLINE */
	0x11, 0x12,                                     /* kvmclock (old numbers) */
	0x4b564d00, 0x4b564d01, 0x4b564d02, 0x4b564d03, /* wall clock, system time, async PF, steal time */
	0x4b564d04, 0x4b564d05, 0x4b564d06,             /* PV EOI, poll control, async PF interrupt */
};
#define N_RESET_MSRS (sizeof(reset_msrs) / sizeof(reset_msrs[0]))

struct kvm_snapshot {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
	struct kvm_xsave *xsave; /* NULL: the FPU above */
	struct kvm_xcrs xcrs;
	bool has_xcrs, has_events, has_debugregs;
	struct kvm_lapic_state lapic;
	struct kvm_mp_state mp;
	struct kvm_vcpu_events events;
	struct kvm_debugregs debugregs;
	struct kvm_msrs *msrs; /* the MSRs KVM has, with their values */
};

static int ck(int fd, int cap) { return ioctl(fd, KVM_CHECK_EXTENSION, cap); }

static int get(int fd, unsigned long req, void *arg, const char *name, unsigned index, struct vg_err *err)
{
	if (ioctl(fd, req, arg) < 0)
		return vg_err_set(err, errno, "vCPU %u: %s (reset state): %s", index, name, strerror(errno));
	return 0;
}

/* Runs KVM_GET_MSRS or KVM_SET_MSRS (req) over m, dropping each MSR KVM refuses:
 * both stop at the first one they cannot do and return how many they did. */
static int msrs_keep_accepted(int fd, unsigned long req, struct kvm_msrs *m, struct kvm_msrs *q)
{
	uint32_t kept = 0;
	for (uint32_t next = 0; next < m->nmsrs;) {
		q->nmsrs = m->nmsrs - next;
		memcpy(q->entries, &m->entries[next], q->nmsrs * sizeof(q->entries[0]));
		int n = ioctl(fd, req, q);
		if (n < 0)
			return -errno;
		memmove(&m->entries[kept], q->entries, (size_t)n * sizeof(q->entries[0]));
		kept += (uint32_t)n;
		next += (uint32_t)n + 1; /* the one at n is refused */
	}
	m->nmsrs = kept;
	return 0;
}

/* The MSRs of reset_msrs that KVM has and takes back (written with the values
 * just read, a no-op apart from the TSC's few cycles). */
static int snapshot_msrs(struct vmm_vcpu *v, struct kvm_snapshot *s, struct vg_err *err)
{
	size_t sz = sizeof(struct kvm_msrs) + N_RESET_MSRS * sizeof(struct kvm_msr_entry);
	struct kvm_msrs *m = s->msrs = calloc(1, sz);
	struct kvm_msrs *q = calloc(1, sz);
	int rc = 0;
	if (!m || !q) {
		free(q);
		return vg_err_set(err, ENOMEM, "out of memory");
	}
	m->nmsrs = N_RESET_MSRS;
	for (uint32_t i = 0; i < N_RESET_MSRS; i++)
		m->entries[i] = (struct kvm_msr_entry){.index = reset_msrs[i]};
	if ((rc = msrs_keep_accepted(v->fd, KVM_GET_MSRS, m, q)) || (rc = msrs_keep_accepted(v->fd, KVM_SET_MSRS, m, q)))
		vg_err_set(err, -rc, "vCPU %u: KVM_GET/SET_MSRS (reset state): %s", v->index, strerror(-rc));
	free(q);
	return rc;
}

int vmm_kvm_vcpu_snapshot(struct vmm_vcpu *v, struct vg_err *err)
{
	struct vmm *vm = v->vm;
	struct kvm_snapshot *s = calloc(1, sizeof(*s));
	if (!s)
		return vg_err_set(err, ENOMEM, "out of memory");
	v->accel = s;
	int fd = v->fd, rc;
	unsigned i = v->index;
	if ((rc = get(fd, KVM_GET_REGS, &s->regs, "KVM_GET_REGS", i, err)) ||
	    (rc = get(fd, KVM_GET_SREGS, &s->sregs, "KVM_GET_SREGS", i, err)))
		return rc;
	int xsave2 = ck(vm->vm_fd, KVM_CAP_XSAVE2);
	if (ck(vm->kvm_fd, KVM_CAP_XSAVE) > 0) {
		size_t len = xsave2 > (int)sizeof(struct kvm_xsave) ? (size_t)xsave2 : sizeof(struct kvm_xsave);
		if (!(s->xsave = calloc(1, len)))
			return vg_err_set(err, ENOMEM, "out of memory");
		rc = len > sizeof(struct kvm_xsave) ? get(fd, KVM_GET_XSAVE2, s->xsave, "KVM_GET_XSAVE2", i, err)
						    : get(fd, KVM_GET_XSAVE, s->xsave, "KVM_GET_XSAVE", i, err);
	} else {
		rc = get(fd, KVM_GET_FPU, &s->fpu, "KVM_GET_FPU", i, err);
	}
	if (rc)
		return rc;
	if ((s->has_xcrs = ck(vm->kvm_fd, KVM_CAP_XCRS) > 0) &&
	    (rc = get(fd, KVM_GET_XCRS, &s->xcrs, "KVM_GET_XCRS", i, err)))
		return rc;
	if ((rc = snapshot_msrs(v, s, err)) || (rc = get(fd, KVM_GET_MP_STATE, &s->mp, "KVM_GET_MP_STATE", i, err)) ||
	    (rc = get(fd, KVM_GET_LAPIC, &s->lapic, "KVM_GET_LAPIC", i, err)))
		return rc;
	/* Written back at once, as QEMU writes every vCPU's LAPIC at start: on this
	 * machine's KVM (kvm_pvm) an AP whose LAPIC was never written takes no
	 * INIT/SIPI (the reboot guest's AP did not start on the first boot, only after
	 * a reboot had written it). */
	if (ioctl(fd, KVM_SET_LAPIC, &s->lapic) < 0)
		return vg_err_set(err, errno, "vCPU %u: KVM_SET_LAPIC: %s", i, strerror(errno));
	if ((s->has_events = ck(vm->kvm_fd, KVM_CAP_VCPU_EVENTS) > 0) &&
	    (rc = get(fd, KVM_GET_VCPU_EVENTS, &s->events, "KVM_GET_VCPU_EVENTS", i, err)))
		return rc;
	/* Written back: no NMI pending, no SIPI vector (the snapshot has neither). */
	s->events.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR;
	if ((s->has_debugregs = ck(vm->kvm_fd, KVM_CAP_DEBUGREGS) > 0) &&
	    (rc = get(fd, KVM_GET_DEBUGREGS, &s->debugregs, "KVM_GET_DEBUGREGS", i, err)))
		return rc;
	return 0;
}

void vmm_kvm_vcpu_snapshot_free(struct vmm_vcpu *v)
{
	struct kvm_snapshot *s = v->accel;
	if (!s)
		return;
	free(s->xsave);
	free(s->msrs);
	free(s);
	v->accel = NULL;
}

static int put(int fd, unsigned long req, const void *arg, const char *name, struct vg_err *err)
{
	if (ioctl(fd, req, arg) < 0)
		return vg_err_set(err, errno, "%s: %s", name, strerror(errno));
	return 0;
}

/* On the vCPU's thread, out of KVM_RUN. In QEMU's order (kvm_arch_put_registers). */
int vmm_kvm_vcpu_reset(struct vmm_vcpu *v, struct vg_err *err)
{
	struct kvm_snapshot *s = v->accel;
	int fd = v->fd, rc;
	if (!s)
		return vg_err_set(err, ENOTSUP, "no reset state was recorded");
	/* An I/O exit completes at the next KVM_RUN (it may move RIP, or finish an
	 * emulated read into a register): complete it now, without running the
	 * guest (immediate_exit, api.rst), before the registers are written. */
	v->run->immediate_exit = 1;
	int r = ioctl(fd, KVM_RUN, 0);
	(void)r; /* -EINTR: nothing ran */
	v->run->immediate_exit = 0;
	if ((rc = put(fd, KVM_SET_REGS, &s->regs, "KVM_SET_REGS", err)))
		return rc;
	rc = s->xsave ? put(fd, KVM_SET_XSAVE, s->xsave, "KVM_SET_XSAVE", err)
		      : put(fd, KVM_SET_FPU, &s->fpu, "KVM_SET_FPU", err);
	if (rc || (s->has_xcrs && (rc = put(fd, KVM_SET_XCRS, &s->xcrs, "KVM_SET_XCRS", err))) ||
	    (rc = put(fd, KVM_SET_SREGS, &s->sregs, "KVM_SET_SREGS", err)))
		return rc;
	int n = ioctl(fd, KVM_SET_MSRS, s->msrs);
	if (n < 0 || (uint32_t)n != s->msrs->nmsrs)
		return vg_err_set(err, n < 0 ? errno : EINVAL, "KVM_SET_MSRS: MSR 0x%x refused",
				  n < 0 ? 0 : s->msrs->entries[n].index);
	if ((rc = put(fd, KVM_SET_MP_STATE, &s->mp, "KVM_SET_MP_STATE", err)) ||
	    (rc = put(fd, KVM_SET_LAPIC, &s->lapic, "KVM_SET_LAPIC", err)) ||
	    (s->has_events && (rc = put(fd, KVM_SET_VCPU_EVENTS, &s->events, "KVM_SET_VCPU_EVENTS", err))) ||
	    (s->has_debugregs && (rc = put(fd, KVM_SET_DEBUGREGS, &s->debugregs, "KVM_SET_DEBUGREGS", err))))
		return rc;
	return 0;
}

struct kvm_vm_snapshot {
	struct kvm_irqchip chips[3];
	unsigned n_chips;
	struct kvm_pit_state2 pit;
	bool has_pit;
};

/* After KVM_CREATE_IRQCHIP and KVM_CREATE_PIT2 (vm_ready). */
int vmm_kvm_vm_snapshot(struct vmm *vm, struct vg_err *err)
{
	struct vmm_kvm *kv = vm->accel_state;
	struct kvm_vm_snapshot *k = kv->snapshot = calloc(1, sizeof(*k));
	if (!k)
		return vg_err_set(err, ENOMEM, "out of memory");
	if (!(vm->plat->flags & VMM_PLAT_SPLIT_IRQCHIP)) {
		for (uint32_t chip = 0; chip < 3; chip++) { /* PIC master, PIC slave, IOAPIC */
			k->chips[chip] = (struct kvm_irqchip){.chip_id = chip};
			if (ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &k->chips[chip]) < 0)
				return vg_err_set(err, errno, "KVM_GET_IRQCHIP %u (reset state): %s", chip, strerror(errno));
		}
		k->n_chips = 3;
	}
	if (!(vm->plat->flags & VMM_PLAT_NO_PIT)) {
		if (ioctl(vm->vm_fd, KVM_GET_PIT2, &k->pit) < 0)
			return vg_err_set(err, errno, "KVM_GET_PIT2 (reset state): %s", strerror(errno));
		k->has_pit = true;
	}
	return 0;
}

int vmm_kvm_vm_reset(struct vmm *vm, struct vg_err *err)
{
	const struct kvm_vm_snapshot *k = ((struct vmm_kvm *)vm->accel_state)->snapshot;
	if (!k)
		return vg_err_set(err, ENOTSUP, "no reset state was recorded");
	for (unsigned i = 0; i < k->n_chips; i++)
		if (ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &k->chips[i]) < 0)
			return vg_err_set(err, errno, "KVM_SET_IRQCHIP %u: %s", i, strerror(errno));
	if (k->has_pit && ioctl(vm->vm_fd, KVM_SET_PIT2, &k->pit) < 0)
		return vg_err_set(err, errno, "KVM_SET_PIT2: %s", strerror(errno));
	return 0;
}
