/* Small devices that stop the VM: the debug-exit port (like QEMU's
 * isa-debug-exit, but the VMM exits with the value written, 0..255), the ACPI
 * PM1a blocks (S5 = clean shutdown), the reset control register 0xCF9 and the
 * i8042 reset command (0xFE on port 0x64). A reset reboots the VM (vmm/reset.c), or
 * stops a confidential one, which cannot be reset. */
#include "vmm/devices/devices.h"

#include <stdio.h>

static uint64_t zero_read(void *opaque, uint64_t off, unsigned size)
{
	(void)opaque, (void)off, (void)size;
	return 0;
}

static void debug_exit_write(void *opaque, uint64_t off, unsigned size, uint64_t value)
{
	char why[96];
	(void)off, (void)size;
	snprintf(why, sizeof(why), "guest wrote %u to the debug-exit port", (unsigned)(value & 0xFF));
	vmm_request_stop(opaque, (int)(value & 0xFF), why);
}
const struct vmm_dev_ops vmm_debug_exit_ops = {.name = "debug-exit", .read = zero_read, .write = debug_exit_write};

/* PM1a status/enable: status bits are write-1-to-clear; nothing raises SCI. */
static uint16_t pm1_en;
static uint64_t pm1_evt_read(void *opaque, uint64_t off, unsigned size)
{
	(void)opaque, (void)size;
	return off >= 2 ? (uint64_t)pm1_en >> ((off - 2) * 8) : 0;
}
static void pm1_evt_write(void *opaque, uint64_t off, unsigned size, uint64_t value)
{
	(void)opaque;
	if (off == 2 && size >= 2)
		pm1_en = (uint16_t)value;
	else if (off == 0 && size == 4)
		pm1_en = (uint16_t)(value >> 16);
}
const struct vmm_dev_ops vmm_pm1_evt_ops = {.name = "acpi-pm1a-evt", .read = pm1_evt_read, .write = pm1_evt_write};

static uint64_t pm1_cnt_read(void *opaque, uint64_t off, unsigned size)
{
	(void)opaque, (void)off, (void)size;
	return 1; /* SCI_EN: ACPI mode, always */
}
static void pm1_cnt_write(void *opaque, uint64_t off, unsigned size, uint64_t value)
{
	(void)size;
	if (off != 0)
		return;
	unsigned slp_typ = (value >> 10) & 7;
	if ((value & (1u << 13)) && slp_typ == VMM_S5_SLP_TYP)
		vmm_request_stop(opaque, 0, "guest shut down (ACPI S5)");
}
const struct vmm_dev_ops vmm_pm1_cnt_ops = {.name = "acpi-pm1a-cnt", .read = pm1_cnt_read, .write = pm1_cnt_write};

static void reset_write(void *opaque, uint64_t off, unsigned size, uint64_t value)
{
	(void)off, (void)size;
	if (value & 0x04)
		vmm_request_reset(opaque, "0xCF9");
}
const struct vmm_dev_ops vmm_reset_ops = {.name = "reset-control", .read = zero_read, .write = reset_write};

static void i8042_write(void *opaque, uint64_t off, unsigned size, uint64_t value)
{
	(void)off, (void)size;
	if ((value & 0xFF) == 0xFE)
		vmm_request_reset(opaque, "i8042");
}
const struct vmm_dev_ops vmm_i8042_ops = {.name = "i8042-reset", .read = zero_read, .write = i8042_write};

static int power_setup(struct vmm *vm, void **state, struct vg_err *err)
{
	int rc;
	*state = vm;
	if ((rc = vmm_register_device(vm, VMM_SPACE_PIO, VMM_DEBUG_EXIT_PORT, 1, &vmm_debug_exit_ops, vm, err)) ||
	    (rc = vmm_register_device(vm, VMM_SPACE_PIO, VMM_PM1A_EVT, 4, &vmm_pm1_evt_ops, vm, err)) ||
	    (rc = vmm_register_device(vm, VMM_SPACE_PIO, VMM_PM1A_CNT, 2, &vmm_pm1_cnt_ops, vm, err)) ||
	    (rc = vmm_register_device(vm, VMM_SPACE_PIO, VMM_RESET_PORT, 1, &vmm_reset_ops, vm, err)) ||
	    (rc = vmm_register_device(vm, VMM_SPACE_PIO, VMM_I8042_CMD, 1, &vmm_i8042_ops, vm, err)))
		return rc;
	return 0;
}

static int power_reset(struct vmm *vm, void *state, struct vg_err *err)
{
	(void)vm, (void)state, (void)err;
	pm1_en = 0; /* PM1 enables off at power-on (every vCPU is paused) */
	return 0;
}

const struct vmm_device_ops vmm_power_device = {.name = "power", .setup = power_setup, .reset = power_reset};
