/* vCPUs: creation, initial state, one thread each, exit dispatch. */
#include "vmm/internal.h"

#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define VCPU_KICK_SIGNAL SIGUSR1

int vmm_vcpus_create(struct vmm *vm, struct vg_err *err)
{
	int mmap_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (mmap_size < (int)sizeof(struct kvm_run))
		return vg_err_set(err, errno ? errno : EINVAL, "KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
	vm->vcpus = calloc(vm->cfg->vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return vg_err_set(err, ENOMEM, "vCPUs: out of memory");
	int rc = vmm_cpuid_setup(vm, err);
	if (rc)
		return rc;
	for (unsigned i = 0; i < vm->cfg->vcpus; i++) {
		struct vmm_vcpu *v = &vm->vcpus[i];
		v->vm = vm;
		v->index = i;
		v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)i);
		if (v->fd < 0)
			return vg_err_set(err, errno, "KVM_CREATE_VCPU %u: %s", i, strerror(errno));
		vm->n_vcpus = i + 1;
		v->run = mmap(NULL, (size_t)mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
		if (v->run == MAP_FAILED) {
			v->run = NULL;
			return vg_err_set(err, errno, "vCPU %u: mmap of kvm_run: %s", i, strerror(errno));
		}
		v->run_size = (size_t)mmap_size;
		if ((rc = vmm_cpuid_apply(vm, v, err)))
			return rc;
		/* A platform that owns the initial vCPU state (TDX) gets no register writes. */
		bool regs = !(vm->plat->flags & VMM_PLAT_PROTECTED_REGS);
		if (regs && (rc = vmm_msrs_apply(v, err)))
			return rc;
		if (regs && i == 0 && (rc = vmm_boot_regs(v, err)))
			return rc;
		if (vm->plat->vcpu_init && (rc = vm->plat->vcpu_init(vm, vm->plat_state, i, v->fd, err)))
			return vg_err_prefix(err, "platform %s: vcpu_init %u", vm->plat->name, i);
	}
	return 0;
}

static void kick_handler(int sig) { (void)sig; }

static void stop_with_regs(struct vmm_vcpu *v, int status, const char *what)
{
	struct kvm_regs r;
	char why[200];
	if (ioctl(v->fd, KVM_GET_REGS, &r) == 0)
		snprintf(why, sizeof(why), "%s (vCPU %u, RIP 0x%llx)", what, v->index, (unsigned long long)r.rip);
	else
		snprintf(why, sizeof(why), "%s (vCPU %u)", what, v->index);
	vmm_request_stop(v->vm, status, why);
}

static void handle_io(struct vmm_vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	unsigned size = run->io.size;
	if (size != 1 && size != 2 && size != 4)
		return;
	/* data_offset is set by the kernel inside the shared page; count*size fits. */
	for (uint32_t i = 0; i < run->io.count; i++, data += size) {
		uint64_t val = 0;
		if (run->io.direction == KVM_EXIT_IO_OUT) {
			memcpy(&val, data, size);
			vmm_bus_write(v->vm->bus, VMM_SPACE_PIO, run->io.port, size, val);
		} else {
			vmm_bus_read(v->vm->bus, VMM_SPACE_PIO, run->io.port, size, &val);
			memcpy(data, &val, size);
		}
	}
}

static void handle_mmio(struct vmm_vcpu *v)
{
	struct kvm_run *run = v->run;
	unsigned len = run->mmio.len;
	if (len == 0 || len > 8)
		return;
	uint64_t val = 0;
	if (run->mmio.is_write) {
		memcpy(&val, run->mmio.data, len);
		vmm_bus_write(v->vm->bus, VMM_SPACE_MMIO, run->mmio.phys_addr, len, val);
	} else {
		vmm_bus_read(v->vm->bus, VMM_SPACE_MMIO, run->mmio.phys_addr, len, &val);
		memcpy(run->mmio.data, &val, len);
	}
}

/* Returns false when the vCPU must stop. */
static bool handle_exit(struct vmm_vcpu *v)
{
	struct kvm_run *run = v->run;
	char msg[160];
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		handle_io(v);
		return true;
	case KVM_EXIT_MMIO:
		handle_mmio(v);
		return true;
	case KVM_EXIT_INTR:
		return true;
	case KVM_EXIT_HLT:
		stop_with_regs(v, 0, "guest halted with interrupts off");
		return false;
	case KVM_EXIT_SHUTDOWN:
		stop_with_regs(v, VMM_EXIT_GUEST_CRASH, "guest triple fault (shutdown)");
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		if (run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN) {
			vmm_request_stop(v->vm, 0, "guest shut down");
		} else if (run->system_event.type == KVM_SYSTEM_EVENT_RESET) {
			vmm_request_stop(v->vm, 0, "guest requested a reset; stopping (reboot is not supported)");
		} else {
			snprintf(msg, sizeof(msg), "guest system event %u", run->system_event.type);
			vmm_request_stop(v->vm, VMM_EXIT_GUEST_CRASH, msg);
		}
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(msg, sizeof(msg), "KVM entry failed, hardware reason 0x%llx",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		stop_with_regs(v, VMM_EXIT_GUEST_CRASH, msg);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(msg, sizeof(msg), "KVM internal error, suberror %u%s", run->internal.suberror,
			 run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ? " (instruction emulation failed)" : "");
		stop_with_regs(v, VMM_EXIT_GUEST_CRASH, msg);
		return false;
	default:
		if (v->vm->plat->handle_exit) {
			int rc = v->vm->plat->handle_exit(v->vm, v->vm->plat_state, v->index, run);
			if (rc == 1)
				return true;
		}
		snprintf(msg, sizeof(msg), "unhandled KVM exit reason %u", run->exit_reason);
		stop_with_regs(v, VMM_EXIT_GUEST_CRASH, msg);
		return false;
	}
}

static bool vm_stopping(struct vmm *vm) { return atomic_load_explicit(&vm->stop_flag, memory_order_acquire); }

static void *vcpu_thread(void *arg)
{
	struct vmm_vcpu *v = arg;
	struct vmm *vm = v->vm;
	struct vg_err err = {0};
	int rc = 0;
	if (vm->cfg->sandbox)
		rc = vmm_seccomp_install(VMM_ROLE_VCPU, &err);
	pthread_mutex_lock(&vm->go_lock);
	if (rc && !vm->thread_rc) {
		vm->thread_rc = rc;
		snprintf(vm->thread_msg, sizeof(vm->thread_msg), "vCPU %u: %s", v->index, err.msg);
	}
	vm->ready++;
	pthread_cond_broadcast(&vm->go_cond);
	while (!vm->go)
		pthread_cond_wait(&vm->go_cond, &vm->go_lock);
	pthread_mutex_unlock(&vm->go_lock);
	if (rc)
		return NULL;
	atomic_store(&v->running, true);
	while (!vm_stopping(vm)) {
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				v->run->immediate_exit = 0;
				continue;
			}
			char msg[128];
			snprintf(msg, sizeof(msg), "vCPU %u: KVM_RUN: %s", v->index, strerror(errno));
			vmm_request_stop(vm, VMM_EXIT_ERROR, msg);
			break;
		}
		if (!handle_exit(v))
			break;
	}
	atomic_store(&v->running, false);
	struct kvm_regs r;
	struct kvm_sregs sr;
	if (vg_log_get_level() >= VG_LOG_DEBUG && ioctl(v->fd, KVM_GET_REGS, &r) == 0 &&
	    ioctl(v->fd, KVM_GET_SREGS, &sr) == 0)
		vg_debug("vCPU %u stopped at RIP 0x%llx CS 0x%x base 0x%llx CR0 0x%llx EFER 0x%llx", v->index,
			 (unsigned long long)r.rip, sr.cs.selector, (unsigned long long)sr.cs.base,
			 (unsigned long long)sr.cr0, (unsigned long long)sr.efer);
	return NULL;
}

int vmm_vcpus_start(struct vmm *vm, struct vg_err *err)
{
	struct sigaction sa = {.sa_handler = kick_handler};
	sigemptyset(&sa.sa_mask);
	if (sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0)
		return vg_err_set(err, errno, "sigaction: %s", strerror(errno));
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	/* vCPU threads take only the kick signal; the main loop takes the rest. */
	sigset_t all, old;
	sigfillset(&all);
	sigdelset(&all, VCPU_KICK_SIGNAL);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGSYS);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = 0;
	for (unsigned i = 0; i < vm->n_vcpus; i++) {
		int e = pthread_create(&vm->vcpus[i].thread, &attr, vcpu_thread, &vm->vcpus[i]);
		if (e) {
			rc = vg_err_set(err, e, "vCPU %u: pthread_create: %s", i, strerror(e));
			break;
		}
		vm->vcpus[i].started = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	/* Wait until every started thread has installed its filter. */
	unsigned started = 0;
	for (unsigned i = 0; i < vm->n_vcpus; i++)
		started += vm->vcpus[i].started;
	pthread_mutex_lock(&vm->go_lock);
	while (vm->ready < started)
		pthread_cond_wait(&vm->go_cond, &vm->go_lock);
	if (!rc && vm->thread_rc)
		rc = vg_err_set(err, -vm->thread_rc, "%s", vm->thread_msg);
	pthread_mutex_unlock(&vm->go_lock);
	return rc;
}

/* Lets the vCPU threads run (or, after a failure, return). */
void vmm_vcpus_go(struct vmm *vm)
{
	pthread_mutex_lock(&vm->go_lock);
	vm->go = true;
	pthread_cond_broadcast(&vm->go_cond);
	pthread_mutex_unlock(&vm->go_lock);
}

void vmm_vcpus_kick(struct vmm *vm)
{
	for (unsigned i = 0; i < vm->n_vcpus; i++) {
		struct vmm_vcpu *v = &vm->vcpus[i];
		if (!v->started)
			continue;
		if (v->run)
			v->run->immediate_exit = 1;
		pthread_kill(v->thread, VCPU_KICK_SIGNAL);
	}
}

void vmm_vcpus_join(struct vmm *vm)
{
	for (unsigned i = 0; i < vm->n_vcpus; i++) {
		if (vm->vcpus[i].started) {
			pthread_join(vm->vcpus[i].thread, NULL);
			vm->vcpus[i].started = false;
		}
	}
}

void vmm_vcpus_destroy(struct vmm *vm)
{
	if (!vm->vcpus)
		return;
	for (unsigned i = 0; i < vm->n_vcpus; i++) {
		struct vmm_vcpu *v = &vm->vcpus[i];
		if (v->run)
			munmap(v->run, v->run_size);
		if (v->fd >= 0)
			close(v->fd);
	}
	free(vm->vcpus);
	vm->vcpus = NULL;
	free(vm->cpuid);
	vm->cpuid = NULL;
}
