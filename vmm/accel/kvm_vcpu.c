/* The kvm accelerator, vCPU level: KVM_CREATE_VCPU, CPUID, MSRs, the boot
 * state as KVM registers, KVM_RUN and its exits in the core's terms. */
#include "vmm/accel/kvm.h"

#include "common/linux_kvm_cc.h" /* vg_kvm_run_result, KVM_EXIT_MEMORY_FAULT */

#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define VCPU_KICK_SIGNAL SIGUSR1

static void kick_handler(int sig) { (void)sig; }

/* The architectural reset state of the boot vCPU (SDM vol. 3, 9.1.4). KVM
 * starts vCPUs there; we set it explicitly so nothing depends on that. */
static int reset_regs(struct vmm_vcpu *v, struct vg_err *err)
{
	struct kvm_sregs s;
	if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		return vg_err_set(err, errno, "KVM_GET_SREGS: %s", strerror(errno));
	s.cs.selector = 0xF000;
	s.cs.base = 0xFFFF0000;
	s.cs.limit = 0xFFFF;
	struct kvm_segment *segs[] = {&s.ds, &s.es, &s.fs, &s.gs, &s.ss};
	for (size_t i = 0; i < VG_ARRAY_SIZE(segs); i++) {
		segs[i]->selector = 0;
		segs[i]->base = 0;
		segs[i]->limit = 0xFFFF;
	}
	s.cr0 = 0x60000010; /* CD, NW, ET */
	s.cr3 = 0;
	s.cr4 = 0;
	s.efer = 0;
	if (ioctl(v->fd, KVM_SET_SREGS, &s) < 0)
		return vg_err_set(err, errno, "KVM_SET_SREGS: %s", strerror(errno));
	struct kvm_regs r = {.rip = 0xFFF0, .rflags = 2, .rdx = 0x600};
	if (ioctl(v->fd, KVM_SET_REGS, &r) < 0)
		return vg_err_set(err, errno, "KVM_SET_REGS: %s", strerror(errno));
	return 0;
}

/* The Linux 64-bit boot protocol's entry state (Documentation/arch/x86/boot.rst). */
static int linux64_regs(struct vmm_vcpu *v, const struct vmm_boot_state *b, struct vg_err *err)
{
	struct kvm_sregs s;
	if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		return vg_err_set(err, errno, "KVM_GET_SREGS: %s", strerror(errno));
	struct kvm_segment code = {.base = 0, .limit = 0xFFFFFFFF, .selector = 0x10, .type = 0xB, .present = 1,
				   .dpl = 0, .db = 0, .s = 1, .l = 1, .g = 1};
	struct kvm_segment data = code;
	data.selector = 0x18;
	data.type = 0x3;
	data.l = 0;
	data.db = 1;
	s.cs = code;
	s.ds = s.es = s.fs = s.gs = s.ss = data;
	s.gdt.base = b->gdt_base;
	s.gdt.limit = b->gdt_limit;
	s.cr3 = b->cr3;
	s.cr4 = 0x20;       /* PAE */
	s.cr0 = 0x80000011; /* PG, ET, PE */
	s.efer = 0x500;     /* LME, LMA */
	if (ioctl(v->fd, KVM_SET_SREGS, &s) < 0)
		return vg_err_set(err, errno, "KVM_SET_SREGS: %s", strerror(errno));
	struct kvm_regs r = {.rip = b->rip, .rsi = b->rsi, .rflags = 2};
	if (ioctl(v->fd, KVM_SET_REGS, &r) < 0)
		return vg_err_set(err, errno, "KVM_SET_REGS: %s", strerror(errno));
	return 0;
}

int vmm_kvm_vcpu_create(struct vmm_vcpu *v, struct vg_err *err)
{
	struct vmm *vm = v->vm;
	struct vmm_kvm *k = vm->accel_state;
	int rc;
	if (v->index == 0) {
		struct sigaction sa = {.sa_handler = kick_handler};
		sigemptyset(&sa.sa_mask);
		if (sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0)
			return vg_err_set(err, errno, "sigaction: %s", strerror(errno));
		k->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
		if (k->run_size < (int)sizeof(struct kvm_run))
			return vg_err_set(err, errno ? errno : EINVAL, "KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
		if ((rc = vmm_kvm_cpuid_setup(vm, err)))
			return rc;
	}
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)v->index);
	if (v->fd < 0)
		return vg_err_set(err, errno, "KVM_CREATE_VCPU %u: %s", v->index, strerror(errno));
	v->run = mmap(NULL, (size_t)k->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		return vg_err_set(err, errno, "vCPU %u: mmap of kvm_run: %s", v->index, strerror(errno));
	}
	v->run_size = (size_t)k->run_size;
	if ((rc = vmm_kvm_cpuid_apply(vm, v, err)))
		return rc;
	/* A platform that owns the initial vCPU state (TDX) gets no register writes. */
	if (vm->plat->flags & VMM_PLAT_PROTECTED_REGS)
		return 0;
	if ((rc = vmm_kvm_msrs_apply(v, err)))
		return rc;
	if (v->index == 0 &&
	    (rc = vm->boot.mode == VMM_BOOT_LINUX64 ? linux64_regs(v, &vm->boot, err) : reset_regs(v, err)))
		return rc;
	/* The state a reboot returns to. */
	return vm->reboots ? vmm_kvm_vcpu_snapshot(v, err) : 0;
}

/* e->reason is filled; the RIP is added. */
static void crash(struct vmm_vcpu *v, struct vmm_exit *e)
{
	e->kind = VMM_EXIT_CRASH;
	struct kvm_regs r;
	if (ioctl(v->fd, KVM_GET_REGS, &r) == 0) {
		e->has_rip = true;
		e->rip = r.rip;
	}
}

/* One KVM_RUN. String port I/O (count > 1) is dispatched here, element by
 * element; a single access goes back to the core as the exit. */
void vmm_kvm_vcpu_run(struct vmm_vcpu *v, struct vmm_exit *e)
{
	struct kvm_run *run = v->run;
	memset(e, 0, sizeof(*e));
	int rc = ioctl(v->fd, KVM_RUN, 0);
	/* -1/EFAULT with KVM_EXIT_MEMORY_FAULT is an exit (api.rst), handled below
	 * as the platform's; any other failure leaves exit_reason stale. */
	switch (vg_kvm_run_result(rc, errno, run)) {
	case VG_KVM_RUN_EXIT:
		break;
	case VG_KVM_RUN_AGAIN:
		run->immediate_exit = 0;
		e->kind = VMM_EXIT_NONE;
		return;
	case VG_KVM_RUN_FAILED:
		e->kind = VMM_EXIT_HOST;
		snprintf(e->reason, sizeof(e->reason), "KVM_RUN: %s", strerror(errno));
		return;
	}
	switch (run->exit_reason) {
	case KVM_EXIT_IO: {
		unsigned size = run->io.size;
		if (size != 1 && size != 2 && size != 4)
			return; /* NONE */
		/* data_offset is set by the kernel inside the shared page; count*size fits. */
		uint8_t *data = (uint8_t *)run + run->io.data_offset;
		for (uint32_t i = 0; i < run->io.count; i++, data += size) {
			struct vmm_exit io = {.kind = VMM_EXIT_PIO, .addr = run->io.port, .size = size,
					      .write = run->io.direction == KVM_EXIT_IO_OUT};
			if (io.write)
				memcpy(&io.value, data, size);
			vmm_vcpu_exit(v, &io);
			if (!io.write)
				memcpy(data, &io.value, size);
		}
		return; /* NONE: dispatched */
	}
	case KVM_EXIT_MMIO: {
		unsigned len = run->mmio.len;
		if (len == 0 || len > 8)
			return;
		struct vmm_exit io = {.kind = VMM_EXIT_MMIO, .addr = run->mmio.phys_addr, .size = len,
				      .write = run->mmio.is_write};
		if (io.write)
			memcpy(&io.value, run->mmio.data, len);
		vmm_vcpu_exit(v, &io);
		if (!io.write)
			memcpy(run->mmio.data, &io.value, len);
		return;
	}
	case KVM_EXIT_INTR:
		return;
	case KVM_EXIT_HLT:
		e->kind = VMM_EXIT_HALT;
		return;
	case KVM_EXIT_SHUTDOWN:
		snprintf(e->reason, sizeof(e->reason), "guest triple fault (shutdown)");
		crash(v, e);
		return;
	case KVM_EXIT_SYSTEM_EVENT:
		if (run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN)
			e->kind = VMM_EXIT_SHUTDOWN;
		else if (run->system_event.type == KVM_SYSTEM_EVENT_RESET)
			e->kind = VMM_EXIT_RESET;
		else {
			snprintf(e->reason, sizeof(e->reason), "guest system event %u", run->system_event.type);
			crash(v, e);
		}
		return;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(e->reason, sizeof(e->reason), "KVM entry failed, hardware reason 0x%llx",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		crash(v, e);
		return;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(e->reason, sizeof(e->reason), "KVM internal error, suberror %u%s", run->internal.suberror,
			 run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ? " (instruction emulation failed)" : "");
		crash(v, e);
		return;
	default:
		e->kind = VMM_EXIT_PLATFORM;
		e->raw = run;
		snprintf(e->reason, sizeof(e->reason), "unhandled KVM exit reason %u", run->exit_reason);
		return;
	}
}

void vmm_kvm_vcpu_kick(struct vmm_vcpu *v)
{
	if (v->run)
		v->run->immediate_exit = 1;
	pthread_kill(v->thread, VCPU_KICK_SIGNAL);
}

void vmm_kvm_vcpu_destroy(struct vmm_vcpu *v)
{
	vmm_kvm_vcpu_snapshot_free(v);
	if (v->run)
		munmap(v->run, v->run_size);
	v->run = NULL;
	if (v->fd >= 0)
		close(v->fd);
	v->fd = -1;
}
