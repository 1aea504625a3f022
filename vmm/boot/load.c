/* Loads what the configuration names into guest memory, through the
 * platform's launch_update, and sets up the boot vCPU. */
#include "vmm/internal.h"

#include "vmm/boot/boot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Guest writes to the read-only firmware exit as MMIO: dropped, logged once. */
struct rom_dev {
	struct vmm *vm;
	uint64_t base, len;
	bool warned;
};
static struct rom_dev rom_dev;

static uint64_t rom_read(void *opaque, uint64_t off, unsigned size)
{
	struct rom_dev *r = opaque;
	uint64_t v = 0;
	vmm_mem_read(r->vm, r->base + off, &v, size, NULL);
	return v;
}

static void rom_write(void *opaque, uint64_t off, unsigned size, uint64_t value)
{
	struct rom_dev *r = opaque;
	(void)value;
	if (!__atomic_exchange_n(&r->warned, true, __ATOMIC_RELAXED))
		vg_warn("guest: write to read-only firmware at 0x%llx (%u bytes): dropped (logged once)",
			(unsigned long long)(r->base + off), size);
}

static const struct vmm_dev_ops rom_ops = {.name = "firmware-rom", .read = rom_read, .write = rom_write};

static int vmm_rom_device(struct vmm *vm, uint64_t base, uint64_t len, struct vg_err *err)
{
	rom_dev = (struct rom_dev){.vm = vm, .base = base, .len = len};
	return vmm_register_device(vm, VMM_SPACE_MMIO, base, len, &rom_ops, &rom_dev, err);
}

int vmm_boot_read(struct vmm *vm, struct vg_err *err)
{
	const struct vmm_config *c = vm->cfg;
	struct vmm_launch_image *li = &vm->launch_img;
	memset(li, 0, sizeof(*li));
	if (!c->firmware)
		return 0;
	int rc = vg_read_file(c->firmware, VMM_FIRMWARE_MAX, &vm->fw_data, &vm->fw_len, err);
	if (rc)
		return vg_err_prefix(err, "firmware");
	if ((rc = vmm_firmware_check(vm->fw_len, err)))
		return vg_err_prefix(err, "%s", c->firmware);
	li->data = vm->fw_data;
	li->len = vm->fw_len;
	li->gpa = vmm_firmware_base(vm->fw_len);
	li->path = c->firmware;
	/* Measured direct boot: the blobs are read here once, hashed by the platform and
	 * served by fw_cfg from the same bytes. */
	if (c->kernel && (vm->plat->flags & VMM_PLAT_MEASURED_KERNEL)) {
		size_t n = 0;
		if ((rc = vg_read_file(c->kernel, 1u << 30, &vm->kernel_data, &n, err)))
			return vg_err_prefix(err, "kernel");
		li->kernel = vm->kernel_data;
		li->kernel_len = n;
		if (c->initrd) {
			if ((rc = vg_read_file(c->initrd, 1u << 30, &vm->initrd_data, &n, err)))
				return vg_err_prefix(err, "initrd");
			li->initrd = vm->initrd_data;
			li->initrd_len = n;
		}
		li->cmdline = c->cmdline;
	}
	/* Parsed once for every platform that needs its tables; not every image the
	 * core boots is firmware the parser knows (the test guests are plain code). */
	struct vg_err perr = {0};
	if (fw_parse(vm->fw_data, vm->fw_len, &vm->fw_parsed, &perr) == 0)
		li->fw = &vm->fw_parsed;
	else
		snprintf(li->fw_error, sizeof(li->fw_error), "%s", perr.msg);
	return 0;
}

int vmm_boot_load(struct vmm *vm, struct vg_err *err)
{
	const struct vmm_config *c = vm->cfg;
	int rc;
	struct vmm_mboot *mb = vm->mboot = calloc(1, sizeof(*vm->mboot));
	if (!mb)
		return vg_err_set(err, ENOMEM, "out of memory");
	if (c->vtpm) {
		static const uint16_t algs[1] = {VTPM_ALG_SHA256};
		if ((rc = vtpm_evlog_writer_init(&mb->evlog, algs, 1, err)))
			return rc;
		mb->evlog_on = true;
	}
	if (c->firmware) {
		const uint8_t *img = vm->fw_data;
		size_t len = vm->fw_len;
		uint64_t base = vm->launch_img.gpa;
		rc = vmm_memory_add_rom(vm, base, img, len, err);
		if (!rc)
			rc = vmm_rom_device(vm, base, len, err);
		if (!rc)
			rc = vmm_measure(vm, VMM_IMAGE_FIRMWARE, c->firmware, img, len);
		if (!rc)
			rc = vmm_load_region(vm, base, img, len, VMM_PAGE_NORMAL, err);
		if (rc)
			return rc;
		vm->boot = (struct vmm_boot_state){.mode = VMM_BOOT_RESET};
	}
	/* Measured direct boot: the platform measured the kernel; the firmware loads it. */
	bool by_firmware = c->firmware && (vm->plat->flags & VMM_PLAT_MEASURED_KERNEL);
	if (c->kernel && !by_firmware) {
		if ((rc = vmm_linux_load(vm, err)))
			return rc;
	}
	/* The TCG event log where the TPM2 ACPI table says (LASA). */
	if (mb->evlog_on) {
		if (mb->evlog.buf.len > VMM_TPM_LOG_SIZE)
			return vg_err_set(err, ENOSPC, "event log: %zu bytes, more than the %llu-byte area",
					  mb->evlog.buf.len, (unsigned long long)VMM_TPM_LOG_SIZE);
		if ((rc = vmm_load_region(vm, VMM_TPM_LOG_ADDR, mb->evlog.buf.data, mb->evlog.buf.len, VMM_PAGE_SHARED,
					  err)))
			return rc;
	}
	return 0;
}
