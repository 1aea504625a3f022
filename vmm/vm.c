/* The VM handle's accessors: what devices, boot and platforms may ask of
 * or do to the VM (vmm.h section 2), apart from the code that builds and
 * runs it (machine.c). */
#include "vmm/accel/accel.h"

#include <stdio.h>
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
	if (first)
		pthread_cond_broadcast(&vm->stop_cond);
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

uint64_t vmm_ram_size(const struct vmm *vm) { return vm->ram_size; }
unsigned vmm_vcpu_count(const struct vmm *vm) { return vm->n_vcpus; }
int vmm_vm_fd(const struct vmm *vm) { return vm->vm_fd; }
int vmm_irq_line(struct vmm *vm, unsigned irq, bool level) { return vm->accel->irq_line(vm, irq, level); }
int vmm_kvm_fd(const struct vmm *vm) { return vm->kvm_fd; }
const struct vmm_config *vmm_get_config(const struct vmm *vm) { return vm->cfg; }
