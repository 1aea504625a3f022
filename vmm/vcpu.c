/* vCPUs: one thread each, run through the accelerator seam; the core's exit
 * handling (PIO/MMIO bus, halt, shutdown, crash). */
#include "vmm/accel/accel.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VCPU_KICK_SIGNAL SIGUSR1 /* the kvm accelerator's kick (kept deliverable) */

bool vmm_stopping(const struct vmm *vm)
{
	return atomic_load_explicit(&((struct vmm *)vm)->stop_flag, memory_order_acquire);
}

int vmm_vcpus_create(struct vmm *vm, struct vg_err *err)
{
	vm->vcpus = calloc(vm->cfg->vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return vg_err_set(err, ENOMEM, "vCPUs: out of memory");
	for (unsigned i = 0; i < vm->cfg->vcpus; i++) {
		struct vmm_vcpu *v = &vm->vcpus[i];
		v->vm = vm;
		v->index = i;
		v->fd = -1;
		vm->n_vcpus = i + 1;
		int rc = vm->accel->vcpu_create(v, err);
		if (rc)
			return rc;
		if (vm->plat->vcpu_init && (rc = vm->plat->vcpu_init(vm, vm->plat_state, i, v->fd, err)))
			return vg_err_prefix(err, "platform %s: vcpu_init %u", vm->plat->name, i);
	}
	return 0;
}

static void stop_at(struct vmm_vcpu *v, int status, const char *what, const struct vmm_exit *e)
{
	char why[224];
	if (e && e->has_rip)
		snprintf(why, sizeof(why), "%s (vCPU %u, RIP 0x%llx)", what, v->index, (unsigned long long)e->rip);
	else
		snprintf(why, sizeof(why), "%s (vCPU %u)", what, v->index);
	vmm_request_stop(v->vm, status, why);
}

void vmm_vcpu_park(struct vmm_vcpu *v)
{
	struct vmm *vm = v->vm;
	pthread_mutex_lock(&vm->stop_lock);
	while (!vm->stopping && !vm->resetting)
		pthread_cond_wait(&vm->stop_cond, &vm->stop_lock);
	pthread_mutex_unlock(&vm->stop_lock);
}

bool vmm_vcpu_exit(struct vmm_vcpu *v, struct vmm_exit *e)
{
	struct vmm *vm = v->vm;
	switch (e->kind) {
	case VMM_EXIT_NONE:
		break;
	case VMM_EXIT_PIO:
	case VMM_EXIT_MMIO: {
		enum vmm_space sp = e->kind == VMM_EXIT_PIO ? VMM_SPACE_PIO : VMM_SPACE_MMIO;
		if (e->size == 0 || e->size > 8)
			break;
		if (e->write) {
			vmm_bus_write(vm->bus, sp, e->addr, e->size, e->value);
		} else {
			e->value = 0;
			vmm_bus_read(vm->bus, sp, e->addr, e->size, &e->value);
		}
		break;
	}
	case VMM_EXIT_HALT:
		/* hlt with nothing to wake the vCPU: as KVM's in-kernel LAPIC
		 * does, it sleeps until the VM stops or resets, costing no host CPU. */
		vmm_vcpu_park(v);
		return false;
	case VMM_EXIT_SHUTDOWN:
		vmm_request_stop(vm, 0, "guest shut down");
		return false;
	case VMM_EXIT_RESET:
		vmm_request_reset(vm, "KVM reset event");
		return false;
	case VMM_EXIT_CRASH:
		stop_at(v, VMM_EXIT_GUEST_CRASH, e->reason, e);
		return false;
	case VMM_EXIT_HOST: {
		char msg[200];
		snprintf(msg, sizeof(msg), "vCPU %u: %s", v->index, e->reason);
		vmm_request_stop(vm, VMM_EXIT_ERROR, msg);
		return false;
	}
	case VMM_EXIT_PLATFORM:
		if (vm->plat->handle_exit && vm->plat->handle_exit(vm, vm->plat_state, v->index, e->raw) == 1)
			break;
		stop_at(v, VMM_EXIT_GUEST_CRASH, e->reason, e);
		return false;
	}
	return !vmm_stopping(vm) && !vmm_reset_pending(vm);
}

static void *vcpu_thread(void *arg)
{
	struct vmm_vcpu *v = arg;
	struct vmm *vm = v->vm;
	struct vg_err err = {0};
	int rc = 0;
	if (vm->accel->vcpu_thread_init)
		rc = vm->accel->vcpu_thread_init(v, &err);
	if (!rc && vm->cfg->sandbox)
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
	while (!vmm_stopping(vm)) {
		if (vmm_reset_pending(vm)) { /* a reboot: pause, back to the reset state */
			vmm_vcpu_reset_pause(v);
			continue;
		}
		struct vmm_exit e;
		vm->accel->vcpu_run(v, &e);
		vmm_vcpu_exit(v, &e); /* a stop or a reset is seen at the top */
	}
	atomic_store(&v->running, false);
	return NULL;
}

int vmm_vcpus_start(struct vmm *vm, struct vg_err *err)
{
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
	for (unsigned i = 0; i < vm->n_vcpus; i++)
		if (vm->vcpus[i].started)
			vm->accel->vcpu_kick(&vm->vcpus[i]);
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
	for (unsigned i = 0; i < vm->n_vcpus; i++)
		vm->accel->vcpu_destroy(&vm->vcpus[i]);
	free(vm->vcpus);
	vm->vcpus = NULL;
}
