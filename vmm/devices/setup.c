/* The machine's devices, in setup order. Each entry owns its lifecycle
 * (struct vmm_device_ops in vmm/internal.h); the core names none of them. A
 * future vsock or virtio device is one more line here. */
#include "vmm/devices/devices.h"

static const struct vmm_device_ops *const device_list[] = {
	&vmm_serial_device, /* COM1 16550A: output to the serial setting, input from a terminal */
	&vmm_power_device,  /* debug exit, ACPI PM1a, reset control, i8042 reset */
	&vmm_crb_device,    /* TPM CRB + vTPM, with --vtpm */
	&vmm_cmos_device,   /* MC146818 RTC/CMOS: clock and memory size */
	&vmm_fw_cfg_device, /* QEMU fw_cfg, with --firmware: e820, CPUs, direct-boot blobs */
};

int vmm_devices_setup(struct vmm *vm, struct vg_err *err)
{
	for (size_t i = 0; i < VG_ARRAY_SIZE(device_list); i++) {
		const struct vmm_device_ops *ops = device_list[i];
		void *state = NULL;
		if (vm->n_devs >= VMM_MAX_DEVICES)
			return vg_err_set(err, ENOSPC, "too many devices");
		int rc = ops->setup(vm, &state, err);
		if (state) /* teardown undoes a partial setup too */
			vm->devs[vm->n_devs++] = (struct vmm_device){.ops = ops, .state = state};
		if (rc)
			return rc;
	}
	return 0;
}
