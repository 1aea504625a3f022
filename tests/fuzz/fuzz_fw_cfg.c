/* Fuzz target: the fw_cfg device (vmm/devices/fw_cfg.c) driven by a guest making
 * arbitrary accesses to the selector, data and DMA registers, with DMA descriptors and
 * destinations anywhere: the first 4 KiB of the input are guest RAM (at 0x1000), the
 * rest a sequence of {op, offset/size, value} accesses. Every DMA must stay inside
 * the RAM the accessor hands out (ASan checks). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/devices/devices.h"

#define RAM_BASE 0x1000u
#define RAM_SIZE 4096u

static uint8_t *ram;

static uint8_t *gpa(void *ctx, uint64_t a, uint64_t len)
{
	(void)ctx;
	if (a < RAM_BASE || a - RAM_BASE > RAM_SIZE || len > RAM_SIZE - (a - RAM_BASE))
		return NULL;
	return ram + (a - RAM_BASE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ram = calloc(1, RAM_SIZE);
	memcpy(ram, data, size < RAM_SIZE ? size : RAM_SIZE);
	struct vmm_fw_cfg *f = vmm_fw_cfg_new(gpa, NULL);
	uint8_t e820[20] = { 1, 2, 3 };
	vmm_fw_cfg_add(f, 0, e820, sizeof(e820), "etc/e820");
	vmm_fw_cfg_add(f, 0x11, data, size < 300 ? size : 300, NULL);
	const uint8_t *p = data + (size < RAM_SIZE ? size : RAM_SIZE);
	const uint8_t *end = data + size;
	while (end - p >= 6) {
		uint8_t op = p[0] % 6, off = p[1];
		uint32_t v;
		memcpy(&v, p + 2, 4);
		p += 6;
		switch (op) {
		case 0: vmm_fw_cfg_sel_ops.write(f, 0, 2, v & 0xffff); break;
		case 1: (void)vmm_fw_cfg_sel_ops.read(f, 1, 1); break;
		case 2: vmm_fw_cfg_dma_ops.write(f, 0, 4, v); break;
		case 3: vmm_fw_cfg_dma_ops.write(f, 4, 4, v); break;
		case 4: vmm_fw_cfg_dma_ops.write(f, 0, 8, (uint64_t)v << 32 | (uint32_t)__builtin_bswap32(RAM_BASE + (off << 4))); break;
		case 5: (void)vmm_fw_cfg_dma_ops.read(f, off % 8, 1 + off % 4); break;
		}
	}
	vmm_fw_cfg_free(f);
	free(ram);
	return 0;
}
