/*
 * The fw_cfg device model (vmm/devices/fw_cfg.c) driven the way OVMF's QemuFwCfgLib
 * drives it: the signature and feature bits through the selector/data ports, the file
 * directory, a DMA read of etc/e820 with the descriptor and address written as
 * big-endian halves; and the guest-controlled corners: reads past an item, DMA outside
 * RAM, SKIP, WRITE, descriptors outside RAM.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "vmm/devices/devices.h"

#define RAM_BASE 0x100000ull
static uint8_t RAM[64 * 1024];

static uint8_t *gpa(void *ctx, uint64_t a, uint64_t len)
{
	(void)ctx;
	if (a < RAM_BASE || a - RAM_BASE > sizeof(RAM) || len > sizeof(RAM) - (a - RAM_BASE))
		return NULL;
	return RAM + (a - RAM_BASE);
}

static void sel(struct vmm_fw_cfg *f, uint16_t key) { vmm_fw_cfg_sel_ops.write(f, 0, 2, key); }
static uint8_t data(struct vmm_fw_cfg *f) { return (uint8_t)vmm_fw_cfg_sel_ops.read(f, 1, 1); }

/* As QemuFwCfgLib: IoWrite32(0x514, SwapBytes32(hi)); IoWrite32(0x518, SwapBytes32(lo)). */
static void dma_kick(struct vmm_fw_cfg *f, uint64_t desc)
{
	vmm_fw_cfg_dma_ops.write(f, 0, 4, __builtin_bswap32((uint32_t)(desc >> 32)));
	vmm_fw_cfg_dma_ops.write(f, 4, 4, __builtin_bswap32((uint32_t)desc));
}

static uint32_t dma(struct vmm_fw_cfg *f, uint32_t control, uint32_t len, uint64_t addr)
{
	uint8_t *d = RAM; /* descriptor at RAM_BASE */
	vg_put_be32(d, control);
	vg_put_be32(d + 4, len);
	vg_put_be32(d + 8, (uint32_t)(addr >> 32));
	vg_put_be32(d + 12, (uint32_t)addr);
	dma_kick(f, RAM_BASE);
	return vg_be32(d);
}

static struct vmm_fw_cfg *make(void)
{
	struct vmm_fw_cfg *f = vmm_fw_cfg_new(gpa, NULL);
	assert_non_null(f);
	uint8_t e820[20];
	vg_put_le64(e820, 0);
	vg_put_le64(e820 + 8, 512ull << 20);
	vg_put_le32(e820 + 16, 1);
	assert_int_equal(vmm_fw_cfg_add(f, 0, e820, sizeof(e820), "etc/e820"), 0);
	uint8_t w[4] = { 0 };
	assert_int_equal(vmm_fw_cfg_add(f, 0, w, 4, "etc/boot-fail-wait"), 0);
	uint8_t cpus[2] = { 4, 0 };
	assert_int_equal(vmm_fw_cfg_add(f, 0x05, cpus, 2, NULL), 0);
	return f;
}

static void test_traditional_interface(void **state)
{
	(void)state;
	struct vmm_fw_cfg *f = make();
	sel(f, 0x0000);
	char sig[5] = { 0 };
	for (int i = 0; i < 4; i++)
		sig[i] = (char)data(f);
	assert_string_equal(sig, "QEMU");
	sel(f, 0x0001);
	uint32_t id = 0;
	for (int i = 0; i < 4; i++)
		id |= (uint32_t)data(f) << (8 * i);
	assert_int_equal(id, 3); /* traditional + DMA */
	sel(f, 0x0005);
	assert_int_equal(data(f), 4);
	assert_int_equal(data(f), 0);
	assert_int_equal(data(f), 0); /* past the end: zeros */
	/* The directory: count, then entries with BE size and select, and a name. */
	sel(f, 0x0019);
	uint8_t dir[4 + 2 * 64];
	for (size_t i = 0; i < sizeof(dir); i++)
		dir[i] = data(f);
	assert_int_equal(vg_be32(dir), 2);
	assert_int_equal(vg_be32(dir + 4), 20);
	assert_int_equal(vg_be16(dir + 8), 0x20);
	assert_string_equal((char *)dir + 12, "etc/e820");
	assert_string_equal((char *)dir + 4 + 64 + 8, "etc/boot-fail-wait");
	/* Unknown selector: zeros; the DMA register reads "QEMU CFG". */
	sel(f, 0x1234);
	assert_int_equal(data(f), 0);
	assert_int_equal(vmm_fw_cfg_dma_ops.read(f, 0, 4), 0x554d4551); /* "QEMU" in memory order */
	vmm_fw_cfg_free(f);
}

static void test_dma(void **state)
{
	(void)state;
	struct vmm_fw_cfg *f = make();
	memset(RAM, 0xee, sizeof(RAM));
	/* SELECT + READ of etc/e820 into RAM_BASE + 0x1000, 32 bytes: 20 of the item, zeros after. */
	assert_int_equal(dma(f, 0x20u << 16 | 0x08 | 0x02, 32, RAM_BASE + 0x1000), 0);
	assert_int_equal(vg_le64(RAM + 0x1000 + 8), 512ull << 20);
	assert_int_equal(vg_le32(RAM + 0x1000 + 16), 1);
	for (int i = 20; i < 32; i++)
		assert_int_equal(RAM[0x1000 + i], 0);
	/* SKIP then READ continue from the offset; one 64-bit write also starts DMA. */
	assert_int_equal(dma(f, 0x20u << 16 | 0x08 | 0x04, 8, 0), 0);
	vg_put_be32(RAM, 0x02);
	vg_put_be32(RAM + 4, 8);
	vg_put_be32(RAM + 8, 0);
	vg_put_be32(RAM + 12, (uint32_t)(RAM_BASE + 0x2000));
	vmm_fw_cfg_dma_ops.write(f, 0, 8, __builtin_bswap64(RAM_BASE));
	assert_int_equal(vg_be32(RAM), 0);
	assert_int_equal(vg_le64(RAM + 0x2000), 512ull << 20);
	/* A destination outside guest RAM, or wrapping: ERROR, nothing written. */
	assert_int_equal(dma(f, 0x20u << 16 | 0x08 | 0x02, 16, RAM_BASE + sizeof(RAM) - 8), 0x01);
	assert_int_equal(dma(f, 0x20u << 16 | 0x08 | 0x02, 16, UINT64_MAX - 4), 0x01);
	assert_int_equal(dma(f, 0x20u << 16 | 0x08 | 0x02, 0xffffffffu, RAM_BASE), 0x01);
	/* WRITE: no writable item. */
	assert_int_equal(dma(f, 0x20u << 16 | 0x08 | 0x10, 4, RAM_BASE + 0x1000), 0x01);
	/* A descriptor outside RAM is ignored (nowhere to report). */
	uint64_t before = vmm_fw_cfg_dma_count(f);
	dma_kick(f, 0x10);
	assert_int_equal(vmm_fw_cfg_dma_count(f), before + 1);
	/* An item bigger than the request: exactly len bytes, then the rest on the next READ. */
	assert_int_equal(dma(f, 0x0019u << 16 | 0x08 | 0x02, 4, RAM_BASE + 0x3000), 0);
	assert_int_equal(vg_be32(RAM + 0x3000), 2);
	assert_int_equal(dma(f, 0x02, 4, RAM_BASE + 0x3000), 0);
	assert_int_equal(vg_be32(RAM + 0x3000), 20); /* the first entry's size */
	vmm_fw_cfg_free(f);
}

static void test_store_limits(void **state)
{
	(void)state;
	struct vmm_fw_cfg *f = vmm_fw_cfg_new(gpa, NULL);
	uint8_t b = 1;
	assert_int_equal(vmm_fw_cfg_add(f, 0x05, &b, 1, NULL), 0);
	assert_int_equal(vmm_fw_cfg_add(f, 0x05, &b, 1, NULL), -EEXIST);
	char name[80];
	memset(name, 'a', sizeof(name) - 1);
	name[79] = 0;
	assert_int_equal(vmm_fw_cfg_add(f, 0, &b, 1, name), -ENOSPC); /* names are at most 55 bytes */
	int rc = 0;
	for (int i = 0; i < 40 && !rc; i++) {
		char n[16];
		snprintf(n, sizeof(n), "opt/f%d", i);
		rc = vmm_fw_cfg_add(f, 0, &b, 1, n);
	}
	assert_int_equal(rc, -ENOSPC);
	vmm_fw_cfg_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_traditional_interface),
		cmocka_unit_test(test_dma),
		cmocka_unit_test(test_store_limits),
	};
	return cmocka_run_group_tests_name("fw_cfg", tests, NULL, NULL);
}
