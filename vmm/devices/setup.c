/* The machine's core devices on the bus. */
#include "vmm/devices/devices.h"

#include "vmm/devices/crb.h"

int vmm_devices_setup(struct vmm *vm, struct vg_err *err)
{
	int rc;
	vm->uart = vmm_uart_new(vm, VMM_COM1_IRQ, vm->serial_fd);
	if (!vm->uart)
		return vg_err_set(err, ENOMEM, "uart: out of memory");
	if ((rc = vmm_register_device(vm, VMM_SPACE_PIO, VMM_COM1_BASE, 8, vmm_uart_ops(), vm->uart, err)) ||
	    (rc = vmm_register_device(vm, VMM_SPACE_PIO, VMM_DEBUG_EXIT_PORT, 1, &vmm_debug_exit_ops, vm, err)) ||
	    (rc = vmm_register_device(vm, VMM_SPACE_PIO, VMM_PM1A_EVT, 4, &vmm_pm1_evt_ops, vm, err)) ||
	    (rc = vmm_register_device(vm, VMM_SPACE_PIO, VMM_PM1A_CNT, 2, &vmm_pm1_cnt_ops, vm, err)) ||
	    (rc = vmm_register_device(vm, VMM_SPACE_PIO, VMM_RESET_PORT, 1, &vmm_reset_ops, vm, err)) ||
	    (rc = vmm_register_device(vm, VMM_SPACE_PIO, VMM_I8042_CMD, 1, &vmm_i8042_ops, vm, err)))
		return rc;
	if (vm->cfg->vtpm && (rc = vmm_crb_setup(vm, err)))
		return rc;
	return 0;
}

void vmm_devices_teardown(struct vmm *vm)
{
	vmm_crb_teardown(vm);
	vmm_uart_free(vm->uart);
	vm->uart = NULL;
}
