/* One VM from configuration to teardown: build, sandbox, run, stop. */
#include "vmm/internal.h"

#include "vmm/boot/boot.h"
#include "vmm/devices/crb.h"
#include "vmm/devices/devices.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

int vmm_register_device(struct vmm *vm, enum vmm_space space, uint64_t base, uint64_t len,
			const struct vmm_dev_ops *ops, void *opaque, struct vg_err *err)
{
	return vmm_bus_register(vm->bus, space, base, len, ops, opaque, err);
}

void vmm_request_stop(struct vmm *vm, int status, const char *reason)
{
	pthread_mutex_lock(&vm->stop_lock);
	bool first = !vm->stopping;
	if (first) {
		vm->stopping = true;
		atomic_store(&vm->stop_flag, true);
		vm->stop_status = status;
		snprintf(vm->stop_reason, sizeof(vm->stop_reason), "%s", reason ? reason : "stopped");
	}
	pthread_mutex_unlock(&vm->stop_lock);
	if (first && vm->stop_fd >= 0) {
		uint64_t one = 1;
		ssize_t n = write(vm->stop_fd, &one, sizeof(one));
		(void)n;
	}
}

int vmm_platform_guest_request(struct vmm *vm, const void *req, size_t req_len, void *resp, size_t resp_cap,
			       size_t *resp_len, struct vg_err *err)
{
	if (!vm->plat->guest_request)
		return vg_err_set(err, ENOTSUP, "platform %s has no guest requests", vm->plat->name);
	return vm->plat->guest_request(vm, vm->plat_state, req, req_len, resp, resp_cap, resp_len, err);
}

static int open_serial(struct vmm *vm, struct vg_err *err)
{
	const char *s = vm->cfg->serial ? vm->cfg->serial : "stdout";
	vm->serial_fd = -1;
	if (strcmp(s, "none") == 0)
		return 0;
	if (strcmp(s, "stdout") == 0) {
		vm->serial_fd = STDOUT_FILENO;
		return 0;
	}
	int fd = open(s, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0)
		return vg_err_set(err, errno, "serial %s: %s", s, strerror(errno));
	vm->serial_fd = fd;
	vm->serial_owned = true;
	return 0;
}

static struct vmm *vm_new(const struct vmm_config *c, const struct vmm_platform_ops *plat, struct vg_err *err)
{
	struct vmm *vm = calloc(1, sizeof(*vm));
	if (!vm) {
		vg_err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	vm->cfg = c;
	vm->kvm_fd = vm->vm_fd = vm->serial_fd = -1;
	pthread_mutex_init(&vm->stop_lock, NULL);
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
	return vm;
}

static void vm_free(struct vmm *vm)
{
	vmm_vcpus_destroy(vm);
	if (vm->plat_inited && vm->plat->destroy)
		vm->plat->destroy(vm, vm->plat_state);
	vmm_devices_teardown(vm);
	vmm_memory_teardown(vm);
	if (vm->evlog_on)
		vtpm_evlog_writer_free(&vm->evlog);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	if (vm->serial_owned)
		close(vm->serial_fd);
	if (vm->stop_fd >= 0)
		close(vm->stop_fd);
	vmm_bus_free(vm->bus);
	pthread_mutex_destroy(&vm->stop_lock);
	pthread_mutex_destroy(&vm->go_lock);
	pthread_cond_destroy(&vm->go_cond);
	free(vm);
}

static int vm_build(struct vmm *vm, struct vg_err *err)
{
	int rc;
	if ((rc = open_serial(vm, err)) || (rc = vmm_kvm_open(vm, err)) || (rc = vmm_memory_setup(vm, err)))
		return rc;
	if (vm->plat->init) {
		if ((rc = vm->plat->init(vm, &vm->plat_state, err)))
			return vg_err_prefix(err, "platform %s: init", vm->plat->name);
	}
	vm->plat_inited = true;
	if ((rc = vmm_devices_setup(vm, err)))
		return rc;
	if (vm->plat->launch_start && (rc = vm->plat->launch_start(vm, vm->plat_state, err)))
		return vg_err_prefix(err, "platform %s: launch_start", vm->plat->name);
	/* The irqchip after every memory slot: slot changes after it cost a
	 * (slow) SRCU grace period on some hosts. */
	if ((rc = vmm_boot_load(vm, err)) || (rc = vmm_kvm_irqchip(vm, err)) || (rc = vmm_vcpus_create(vm, err)))
		return rc;
	if (vm->plat->launch_finish && (rc = vm->plat->launch_finish(vm, vm->plat_state, err)))
		return vg_err_prefix(err, "platform %s: launch_finish", vm->plat->name);
	return 0;
}

/* The main loop: waits for a stop request or a signal; forwards terminal
 * input to the UART. */
static void main_loop(struct vmm *vm, int sfd, bool input)
{
	for (;;) {
		struct pollfd p[4] = {{.fd = vm->stop_fd, .events = POLLIN},
				      {.fd = sfd, .events = POLLIN},
				      {.fd = input ? STDIN_FILENO : -1, .events = POLLIN},
				      {.fd = vmm_crb_fd(vm), .events = POLLIN}};
		int n = poll(p, 4, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			vmm_request_stop(vm, VMM_EXIT_ERROR, "poll failed");
			return;
		}
		if (p[3].revents)
			vmm_crb_service(vm); /* before a stop: the vCPU waits for its answer */
		if (p[0].revents)
			return;
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
		if (p[2].revents) {
			uint8_t buf[64];
			ssize_t r = read(STDIN_FILENO, buf, sizeof(buf));
			if (r > 0)
				vmm_uart_receive(vm->uart, buf, (size_t)r);
			else
				input = false;
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
	bool input = (!c->serial || strcmp(c->serial, "stdout") == 0) && isatty(STDIN_FILENO);
	int rc = sfd < 0 ? vg_err_set(err, errno, "signalfd: %s", strerror(errno)) : vm_build(vm, err);
	if (!rc && c->print_measurements) {
		vmm_measurements_print(vm, c->json);
		if (c->event_log_out && vm->evlog_on &&
		    vg_write_file_atomic(c->event_log_out, vm->evlog.buf.data, vm->evlog.buf.len, 0644, err))
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
		rc = vmm_crb_start(vm, err);
	if (!rc) {
		vmm_seccomp_platform_ioctls(vm->plat->vcpu_ioctls);
		rc = vmm_vcpus_start(vm, err);
	}
	if (!rc && c->sandbox)
		rc = vmm_seccomp_install(VMM_ROLE_MAIN, err);
	if (rc) {
		vmm_request_stop(vm, VMM_EXIT_ERROR, err->msg);
		vmm_crb_stop(vm);
		vmm_vcpus_go(vm); /* started threads see the stop and return */
		vmm_vcpus_join(vm);
	} else {
		vmm_vcpus_go(vm);
		main_loop(vm, sfd, input);
		vmm_crb_stop(vm);
		vmm_vcpus_kick(vm);
		vmm_vcpus_join(vm);
		struct vg_err serr = {0};
		if (vmm_crb_save(vm, &serr))
			vg_error("vTPM state not saved: %s", serr.msg);
		pthread_mutex_lock(&vm->stop_lock);
		res->status = vm->stop_status;
		snprintf(res->reason, sizeof(res->reason), "%s", vm->stop_reason);
		pthread_mutex_unlock(&vm->stop_lock);
	}
	if (sfd >= 0)
		close(sfd);
	vm_free(vm);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}
