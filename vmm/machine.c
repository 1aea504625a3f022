/* One VM from configuration to teardown: build, sandbox, run, stop. The
 * accelerator, the platform and the devices are reached through their seams
 * only. */
#include "vmm/accel/accel.h"

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

static struct vmm *vm_new(const struct vmm_config *c, const struct vmm_platform_ops *plat, struct vg_err *err)
{
	struct vmm *vm = calloc(1, sizeof(*vm));
	if (!vm) {
		vg_err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	vm->cfg = c;
	vm->kvm_fd = vm->vm_fd = -1;
	pthread_mutex_init(&vm->stop_lock, NULL);
	pthread_cond_init(&vm->stop_cond, NULL);
	pthread_mutex_init(&vm->go_lock, NULL);
	pthread_cond_init(&vm->go_cond, NULL);
	vm->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vm->bus = vmm_bus_new();
	vm->plat = plat ? plat : vmm_platform_find(c->platform ? c->platform : "none");
	if (vm->stop_fd < 0 || !vm->bus || !vm->plat) {
		vg_err_set(err, vm->plat ? ENOMEM : EINVAL, vm->plat ? "out of resources" : "unknown platform");
		free(vm); /* nothing else was acquired that matters at this point */
		return NULL;
	}
	/* A platform with a launch measured this boot: its guest cannot be reset (nor
	 * one that owns the vCPU registers: the core cannot put them back). */
	vm->reboots = !vm->plat->launch_start && !(vm->plat->flags & VMM_PLAT_PROTECTED_REGS);
	return vm;
}

/* The devices' lifecycle, for every device of the VM in order (stop and
 * teardown in reverse). */
static int devices_start(struct vmm *vm, struct vg_err *err)
{
	for (unsigned i = 0; i < vm->n_devs; i++) {
		const struct vmm_device *d = &vm->devs[i];
		int rc = d->ops->start ? d->ops->start(vm, d->state, err) : 0;
		if (rc)
			return rc;
	}
	return 0;
}

static void devices_stop(struct vmm *vm)
{
	for (unsigned i = vm->n_devs; i-- > 0;)
		if (vm->devs[i].ops->stop)
			vm->devs[i].ops->stop(vm, vm->devs[i].state);
}

static void devices_save(struct vmm *vm)
{
	for (unsigned i = 0; i < vm->n_devs; i++) {
		const struct vmm_device *d = &vm->devs[i];
		struct vg_err err = {0};
		if (d->ops->save && d->ops->save(vm, d->state, &err))
			vg_error("%s: state not saved: %s", d->ops->name, err.msg);
	}
}

static void devices_teardown(struct vmm *vm)
{
	for (unsigned i = vm->n_devs; i-- > 0;)
		if (vm->devs[i].ops->teardown)
			vm->devs[i].ops->teardown(vm, vm->devs[i].state);
	vm->n_devs = 0;
}

static void vm_free(struct vmm *vm)
{
	if (vm->accel)
		vmm_vcpus_destroy(vm);
	if (vm->plat_inited && vm->plat->destroy)
		vm->plat->destroy(vm, vm->plat_state);
	devices_teardown(vm);
	vmm_memory_teardown(vm);
	free(vm->fw_data);
	free(vm->kernel_data);
	free(vm->initrd_data);
	free(vm->boot_tables);
	vmm_measurements_free(vm);
	if (vm->accel && vm->accel->vm_destroy)
		vm->accel->vm_destroy(vm);
	if (vm->stop_fd >= 0)
		close(vm->stop_fd);
	vmm_bus_free(vm->bus);
	pthread_mutex_destroy(&vm->stop_lock);
	pthread_cond_destroy(&vm->stop_cond);
	pthread_mutex_destroy(&vm->go_lock);
	pthread_cond_destroy(&vm->go_cond);
	free(vm);
}

static int vm_build(struct vmm *vm, struct vg_err *err)
{
	int rc;
	if ((rc = vmm_accel_select(vm->cfg, &vm->accel, err)))
		return rc;
	if ((rc = vm->accel->vm_create(vm, err)) || (rc = vmm_memory_setup(vm, err)))
		return rc;
	if (vm->plat->init) {
		if ((rc = vm->plat->init(vm, &vm->plat_state, err)))
			return vg_err_prefix(err, "platform %s: init", vm->plat->name);
	}
	vm->plat_inited = true;
	/* The boot images are read once, before the devices that serve them (fw_cfg). */
	if ((rc = vmm_boot_read(vm, err)) || (rc = vmm_devices_setup(vm, err)))
		return rc;
	if (vm->plat->launch_start && (rc = vm->plat->launch_start(vm, vm->plat_state, &vm->launch_img, err)))
		return vg_err_prefix(err, "platform %s: launch_start", vm->plat->name);
	/* vm_ready after every memory region (kvm: the irqchip; slot changes
	 * after it cost a slow SRCU grace period on some hosts). */
	if ((rc = vmm_boot_load(vm, err)) || (rc = vm->accel->vm_ready(vm, err)) ||
	    (rc = vmm_vcpus_create(vm, err)))
		return rc;
	if (vm->plat->launch_finish && (rc = vm->plat->launch_finish(vm, vm->plat_state, err)))
		return vg_err_prefix(err, "platform %s: launch_finish", vm->plat->name);
	return 0;
}

/* The main loop: waits for a stop request, a reset's progress or a signal;
 * services the devices whose poll fd is readable. */
static void main_loop(struct vmm *vm, int sfd)
{
	for (;;) {
		struct pollfd p[2 + VMM_MAX_DEVICES];
		p[0] = (struct pollfd){.fd = vm->stop_fd, .events = POLLIN};
		p[1] = (struct pollfd){.fd = sfd, .events = POLLIN};
		for (unsigned i = 0; i < vm->n_devs; i++) {
			const struct vmm_device *d = &vm->devs[i];
			p[2 + i] = (struct pollfd){.fd = d->ops->poll_fd ? d->ops->poll_fd(d->state) : -1,
						   .events = POLLIN};
		}
		int n = poll(p, 2 + vm->n_devs, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			vmm_request_stop(vm, VMM_EXIT_ERROR, "poll failed");
			return;
		}
		/* Devices before a stop: a vCPU may wait for an answer. */
		for (unsigned i = 0; i < vm->n_devs; i++)
			if (p[2 + i].revents && vm->devs[i].ops->service)
				vm->devs[i].ops->service(vm, vm->devs[i].state);
		if (p[0].revents) {
			uint64_t n;
			if (read(vm->stop_fd, &n, sizeof(n)) < 0 && errno != EAGAIN) {
				vmm_request_stop(vm, VMM_EXIT_ERROR, "stop eventfd: read failed");
				return;
			}
			if (vmm_stopping(vm))
				return;
			/* A signal first: an operator's stop wins over a reboot. */
			if (!p[1].revents)
				vmm_reset_service(vm);
		}
		if (p[1].revents) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				char why[64];
				snprintf(why, sizeof(why), "stopped by %s", strsignal((int)si.ssi_signo));
				/* An operator's stop is orderly: exit 0 (as QEMU does). */
				vmm_request_stop(vm, 0, why);
				return;
			}
		}
	}
}

int vmm_run(const struct vmm_config *c, struct vmm_result *res, struct vg_err *err)
{
	return vmm_run_platform(c, NULL, res, err);
}

int vmm_run_platform(const struct vmm_config *c, const struct vmm_platform_ops *plat, struct vmm_result *res,
		     struct vg_err *err)
{
	memset(res, 0, sizeof(*res));
	struct vmm *vm = vm_new(c, plat, err);
	if (!vm)
		return -err->code;
	/* SIGTERM, SIGINT, SIGHUP go to the main loop through a signalfd. */
	sigset_t stop_sigs, old;
	sigemptyset(&stop_sigs);
	sigaddset(&stop_sigs, SIGTERM);
	sigaddset(&stop_sigs, SIGINT);
	sigaddset(&stop_sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &stop_sigs, &old);
	signal(SIGPIPE, SIG_IGN);
	int sfd = signalfd(-1, &stop_sigs, SFD_CLOEXEC);
	int rc = sfd < 0 ? vg_err_set(err, errno, "signalfd: %s", strerror(errno)) : vm_build(vm, err);
	if (!rc && c->launch_only) {
		/* The whole launch ran; print what the platform measured and stop. */
		uint8_t m[48];
		const char *what = "";
		char hex[97];
		if (!vm->plat->launch_measurement)
			rc = vg_err_set(err, ENOTSUP,
					"--launch-only: platform %s cannot report a launch measurement (the host cannot "
					"read one from hardware; use sim-snp or sim-tdx)", vm->plat->name);
		else if (!(rc = vm->plat->launch_measurement(vm, vm->plat_state, m, &what, err))) {
			vg_hex_encode(m, sizeof(m), hex);
			if (c->json)
				printf("{\"platform\":\"%s\",\"register\":\"%s\",\"measurement\":\"%s\",\"vcpus\":%u,"
				       "\"simulated\":true}\n", vm->plat->name, what, hex, c->vcpus);
			else
				printf("%s\n", hex);
			fflush(stdout);
			res->status = 0;
			snprintf(res->reason, sizeof(res->reason), "launch measured (%s); guest not started", what);
		}
		close(sfd);
		vm_free(vm);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		return rc;
	}
	if (!rc && c->print_measurements) {
		vmm_measurements_print(vm, c->json);
		if (c->event_log_out && vmm_measurements_write_log(vm, c->event_log_out, err))
			rc = vg_err_prefix(err, "--event-log");
		res->status = 0;
		snprintf(res->reason, sizeof(res->reason), "measurements printed; guest not started");
		close(sfd);
		vm_free(vm);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		return rc;
	}
	if (!rc && c->sandbox)
		rc = vmm_drop_privileges(c->chroot_dir, c->user, err);
	if (!rc)
		rc = devices_start(vm, err);
	if (!rc) {
		vmm_seccomp_set_extras(vm->accel, vm->plat->vcpu_ioctls, vm->reboots);
		rc = vmm_vcpus_start(vm, err);
	}
	if (!rc && c->sandbox)
		rc = vmm_seccomp_install(VMM_ROLE_MAIN, err);
	if (rc) {
		vmm_request_stop(vm, VMM_EXIT_ERROR, err->msg);
		devices_stop(vm);
		vmm_vcpus_go(vm); /* started threads see the stop and return */
		vmm_vcpus_join(vm);
	} else {
		vmm_vcpus_go(vm);
		main_loop(vm, sfd);
		devices_stop(vm);
		vmm_vcpus_kick(vm);
		vmm_vcpus_join(vm);
		devices_save(vm);
		pthread_mutex_lock(&vm->stop_lock);
		res->status = vm->stop_status;
		snprintf(res->reason, sizeof(res->reason), "%s", vm->stop_reason);
		pthread_mutex_unlock(&vm->stop_lock);
	}
	if (sfd >= 0)
		close(sfd);
	vm_free(vm);
	/* The stop signals stay blocked: one sent twice (timeout(1) signals the
	 * child and then its group) or late, while the VM is torn down, must not
	 * kill the process before it reports how the VM ended. */
	sigset_t after = old;
	sigaddset(&after, SIGTERM);
	sigaddset(&after, SIGINT);
	sigaddset(&after, SIGHUP);
	pthread_sigmask(SIG_SETMASK, &after, NULL);
	return rc;
}
