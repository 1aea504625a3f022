/* A guest reset (0xCF9, the i8042, KVM's reset event). A confidential guest
 * (a platform with a launch) cannot be reset: the VM stops, as QEMU stops it.
 * Any other guest reboots in this process, as on QEMU: the images the loader
 * wrote are written again, every vCPU goes back to the state it was created in,
 * the devices to their power-on state (the vTPM with a TPM reset and measured
 * boot again), guest RAM otherwise kept. No thread is re-created (their seccomp
 * filters stay) and nothing is reopened (the images are in memory).
 *
 * The rendezvous (all under vm->stop_lock):
 *   request: resetting, reset_flag; parked vCPUs woken, main loop woken
 *   main loop: kicks every vCPU out of its run (once)
 *   each vCPU: paused++ (wakes the main loop), waits for reset_gen to move
 *   main loop, all paused: reload, devices, VM-wide accelerator state;
 *     reset_gen++ (the vCPUs restore their registers)
 *   each vCPU: vcpu_reset, restored++; the last one ends the reset
 *     (reset_done++), then all run. A vCPU runs only when every vCPU is
 *     restored, so no start-up IPI of the new boot lands in an old state.
 * A stop request wins at every step: every wait also ends on vm->stopping. */
#include "vmm/accel/accel.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

bool vmm_reset_pending(const struct vmm *vm)
{
	return atomic_load_explicit(&((struct vmm *)vm)->reset_flag, memory_order_acquire);
}

static void wake_main(struct vmm *vm)
{
	uint64_t one = 1;
	if (vm->stop_fd >= 0) {
		ssize_t n = write(vm->stop_fd, &one, sizeof(one));
		(void)n;
	}
}

void vmm_request_reset(struct vmm *vm, const char *how)
{
	char why[200];
	if (!vm->reboots) {
		/* A platform with a launch (snp, tdx, sim-*) measured this boot: its guest
		 * cannot be reset, as QEMU stops a confidential guest that asks for one. */
		snprintf(why, sizeof(why), "guest requested a reset (%s); a confidential guest cannot be reset: stopping",
			 how);
		vmm_request_stop(vm, 0, why);
		return;
	}
	pthread_mutex_lock(&vm->stop_lock);
	bool first = !vm->stopping && !vm->resetting;
	if (first) {
		vm->resetting = true;
		vm->reset_kicked = false;
		vm->reset_paused = vm->reset_restored = 0;
		snprintf(vm->reset_how, sizeof(vm->reset_how), "%s", how);
		atomic_store(&vm->reset_flag, true);
	}
	pthread_mutex_unlock(&vm->stop_lock);
	if (first) {
		pthread_cond_broadcast(&vm->stop_cond); /* parked vCPUs */
		wake_main(vm);
	}
}

void vmm_vcpu_reset_pause(struct vmm_vcpu *v)
{
	struct vmm *vm = v->vm;
	pthread_mutex_lock(&vm->stop_lock);
	if (!vm->resetting || vm->stopping) {
		pthread_mutex_unlock(&vm->stop_lock);
		return;
	}
	uint64_t gen = vm->reset_gen;
	vm->reset_paused++;
	pthread_mutex_unlock(&vm->stop_lock);
	wake_main(vm);
	pthread_mutex_lock(&vm->stop_lock);
	while (!vm->stopping && vm->reset_gen == gen)
		pthread_cond_wait(&vm->stop_cond, &vm->stop_lock);
	bool stop = vm->stopping;
	pthread_mutex_unlock(&vm->stop_lock);
	if (stop)
		return;
	/* The machine is reset: now this vCPU's registers. */
	struct vg_err err = {0};
	if (vm->accel->vcpu_reset && vm->accel->vcpu_reset(v, &err)) {
		char msg[300];
		snprintf(msg, sizeof(msg), "vCPU %u: reset: %s", v->index, err.msg);
		vmm_request_stop(vm, VMM_EXIT_ERROR, msg);
		return;
	}
	pthread_mutex_lock(&vm->stop_lock);
	uint64_t done = vm->reset_done;
	if (++vm->reset_restored == vm->n_vcpus) {
		vm->resetting = false;
		atomic_store(&vm->reset_flag, false);
		vm->reset_done++;
		pthread_cond_broadcast(&vm->stop_cond);
	}
	while (!vm->stopping && vm->reset_done == done)
		pthread_cond_wait(&vm->stop_cond, &vm->stop_lock);
	pthread_mutex_unlock(&vm->stop_lock);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The storm guard: more than cfg->max_reboots reboots within
 * VMM_REBOOT_WINDOW_S seconds (0: no limit). */
static bool storm(struct vmm *vm, char *why, size_t cap)
{
	uint64_t max = vm->cfg->max_reboots, t = now_ns();
	if (vm->window_reboots == 0 || t - vm->window_start_ns > (uint64_t)VMM_REBOOT_WINDOW_S * 1000000000u) {
		vm->window_start_ns = t;
		vm->window_reboots = 0;
	}
	vm->window_reboots++;
	if (!max || vm->window_reboots <= max)
		return false;
	snprintf(why, cap,
		 "guest requested a reset (%s): %u reboots within %d seconds, more than --max-reboots %llu allows: "
		 "stopping (a reset storm)",
		 vm->reset_how, vm->window_reboots, VMM_REBOOT_WINDOW_S, (unsigned long long)max);
	return true;
}

/* Every vCPU is paused: the machine back to its power-on state. */
static int reboot(struct vmm *vm, struct vg_err *err)
{
	int rc = vmm_memory_reload(vm, err);
	for (unsigned i = 0; !rc && i < vm->n_devs; i++) {
		const struct vmm_device *d = &vm->devs[i];
		if (d->ops->reset && (rc = d->ops->reset(vm, d->state, err)))
			vg_err_prefix(err, "%s", d->ops->name);
	}
	if (!rc && vm->accel->vm_reset)
		rc = vm->accel->vm_reset(vm, err);
	return rc;
}

void vmm_reset_service(struct vmm *vm)
{
	pthread_mutex_lock(&vm->stop_lock);
	if (!vm->resetting || vm->stopping || vm->reset_gen != vm->reset_done) {
		/* nothing pending, or the vCPUs are restoring their registers */
		pthread_mutex_unlock(&vm->stop_lock);
		return;
	}
	bool kick = !vm->reset_kicked;
	vm->reset_kicked = true;
	bool all = vm->reset_paused == vm->n_vcpus;
	pthread_mutex_unlock(&vm->stop_lock);
	if (kick)
		vmm_vcpus_kick(vm);
	if (!all)
		return; /* a pausing vCPU wakes the main loop again */
	char why[300];
	if (storm(vm, why, sizeof(why))) {
		vmm_request_stop(vm, VMM_EXIT_GUEST_CRASH, why);
		return;
	}
	struct vg_err err = {0};
	if (reboot(vm, &err)) {
		snprintf(why, sizeof(why), "guest requested a reset (%s): reboot failed: %s", vm->reset_how, err.msg);
		vmm_request_stop(vm, VMM_EXIT_ERROR, why);
		return;
	}
	vm->reboot_count++;
	vg_warn("guest requested a reset (%s): rebooting (reboot %u)", vm->reset_how, vm->reboot_count);
	pthread_mutex_lock(&vm->stop_lock);
	vm->reset_gen++; /* the vCPUs restore their registers, then run */
	pthread_mutex_unlock(&vm->stop_lock);
	pthread_cond_broadcast(&vm->stop_cond);
}
