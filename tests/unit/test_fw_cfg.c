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
#include <stdlib.h>
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
	/* The directory: count, then entries with BE size and select, and a name, sorted
	 * by name with selectors in that order, as QEMU's (etc/e820 was added first). */
	sel(f, 0x0019);
	uint8_t dir[4 + 2 * 64];
	for (size_t i = 0; i < sizeof(dir); i++)
		dir[i] = data(f);
	assert_int_equal(vg_be32(dir), 2);
	assert_int_equal(vg_be32(dir + 4), 4);
	assert_int_equal(vg_be16(dir + 8), 0x20);
	assert_string_equal((char *)dir + 12, "etc/boot-fail-wait");
	assert_int_equal(vg_be32(dir + 4 + 64), 20);
	assert_int_equal(vg_be16(dir + 4 + 64 + 4), 0x21);
	assert_string_equal((char *)dir + 4 + 64 + 8, "etc/e820");
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
	assert_int_equal(dma(f, 0x21u << 16 | 0x08 | 0x02, 32, RAM_BASE + 0x1000), 0);
	assert_int_equal(vg_le64(RAM + 0x1000 + 8), 512ull << 20);
	assert_int_equal(vg_le32(RAM + 0x1000 + 16), 1);
	for (int i = 20; i < 32; i++)
		assert_int_equal(RAM[0x1000 + i], 0);
	/* SKIP then READ continue from the offset; one 64-bit write also starts DMA. */
	assert_int_equal(dma(f, 0x21u << 16 | 0x08 | 0x04, 8, 0), 0);
	vg_put_be32(RAM, 0x02);
	vg_put_be32(RAM + 4, 8);
	vg_put_be32(RAM + 8, 0);
	vg_put_be32(RAM + 12, (uint32_t)(RAM_BASE + 0x2000));
	vmm_fw_cfg_dma_ops.write(f, 0, 8, __builtin_bswap64(RAM_BASE));
	assert_int_equal(vg_be32(RAM), 0);
	assert_int_equal(vg_le64(RAM + 0x2000), 512ull << 20);
	/* A destination outside guest RAM, or wrapping: ERROR, nothing written. */
	assert_int_equal(dma(f, 0x21u << 16 | 0x08 | 0x02, 16, RAM_BASE + sizeof(RAM) - 8), 0x01);
	assert_int_equal(dma(f, 0x21u << 16 | 0x08 | 0x02, 16, UINT64_MAX - 4), 0x01);
	assert_int_equal(dma(f, 0x21u << 16 | 0x08 | 0x02, 0xffffffffu, RAM_BASE), 0x01);
	/* WRITE: no writable item. */
	assert_int_equal(dma(f, 0x21u << 16 | 0x08 | 0x10, 4, RAM_BASE + 0x1000), 0x01);
	/* A descriptor outside RAM is ignored (nowhere to report). */
	uint64_t before = vmm_fw_cfg_dma_count(f);
	dma_kick(f, 0x10);
	assert_int_equal(vmm_fw_cfg_dma_count(f), before + 1);
	/* An item bigger than the request: exactly len bytes, then the rest on the next READ. */
	assert_int_equal(dma(f, 0x0019u << 16 | 0x08 | 0x02, 4, RAM_BASE + 0x3000), 0);
	assert_int_equal(vg_be32(RAM + 0x3000), 2);
	assert_int_equal(dma(f, 0x02, 4, RAM_BASE + 0x3000), 0);
	assert_int_equal(vg_be32(RAM + 0x3000), 4); /* the first entry's size (etc/boot-fail-wait) */
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
	for (int i = 0; i < 64 && !rc; i++) {
		char n[16];
		snprintf(n, sizeof(n), "opt/f%d", i);
		rc = vmm_fw_cfg_add(f, 0, &b, 1, n);
	}
	assert_int_equal(rc, -ENOSPC);
	vmm_fw_cfg_free(f);
}

/* Reads a whole file item through the directory and the data port. */
static uint8_t *read_file(struct vmm_fw_cfg *f, const char *name, uint32_t *len)
{
	sel(f, 0x0019);
	uint8_t c[4];
	for (int i = 0; i < 4; i++)
		c[i] = data(f);
	uint32_t n = vg_be32(c);
	for (uint32_t i = 0; i < n; i++) {
		uint8_t e[64];
		for (int k = 0; k < 64; k++)
			e[k] = data(f);
		if (strcmp((char *)e + 8, name))
			continue;
		*len = vg_be32(e);
		uint8_t *b = malloc(*len ? *len : 1);
		sel(f, vg_be16(e + 4));
		for (uint32_t k = 0; k < *len; k++)
			b[k] = data(f);
		return b;
	}
	return NULL;
}

static uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* OVMF's AcpiPlatformDxe, reduced: run etc/table-loader over the two blobs placed at
 * chosen addresses, then follow RSDP -> XSDT -> tables -> DSDT and check every sum. */
static void test_acpi_table_loader(void **state)
{
	(void)state;
	struct vmm_fw_cfg *f = vmm_fw_cfg_new(gpa, NULL);
	struct vmm_acpi_opts ao = { .vcpus = 2, .tpm = true, .log_addr = 0xF0000, .log_size = 0x10000 };
	struct vg_err err = { 0 };
	assert_int_equal(vmm_fw_cfg_add_acpi(f, &ao, &err), 0);
	uint32_t tl = 0, rl = 0, sl = 0;
	uint8_t *tables = read_file(f, "etc/acpi/tables", &tl), *rsdp = read_file(f, "etc/acpi/rsdp", &rl);
	uint8_t *script = read_file(f, "etc/table-loader", &sl);
	assert_non_null(tables);
	assert_non_null(rsdp);
	assert_non_null(script);
	assert_int_equal(rl, 36);
	assert_int_equal(sl % 128, 0);
	const uint64_t base_t = 0x7f000000, base_r = 0xe0000; /* where "firmware" put them */
	bool alloc_t = false, alloc_r = false;
	for (uint32_t o = 0; o < sl; o += 128) {
		const uint8_t *e = script + o;
		uint32_t c = vg_le32(e);
		const char *f1 = (const char *)e + 4;
		if (c == 1) {
			if (!strcmp(f1, "etc/acpi/tables"))
				alloc_t = e[4 + 56 + 4] == 1; /* HIGH */
			if (!strcmp(f1, "etc/acpi/rsdp"))
				alloc_r = e[4 + 56 + 4] == 2; /* FSEG */
		} else if (c == 2) {
			const char *src = (const char *)e + 4 + 56;
			uint32_t off = vg_le32(e + 4 + 112);
			uint8_t size = e[4 + 116];
			uint8_t *dst = !strcmp(f1, "etc/acpi/rsdp") ? rsdp : tables;
			uint32_t dl = dst == rsdp ? rl : tl;
			assert_true(size == 4 || size == 8);
			assert_true(off + size <= dl);
			uint64_t v = size == 8 ? vg_le64(dst + off) : vg_le32(dst + off);
			v += !strcmp(src, "etc/acpi/rsdp") ? base_r : base_t;
			if (size == 8)
				vg_put_le64(dst + off, v);
			else
				vg_put_le32(dst + off, (uint32_t)v);
		} else if (c == 3) {
			uint8_t *dst = !strcmp(f1, "etc/acpi/rsdp") ? rsdp : tables;
			uint32_t off = vg_le32(e + 4 + 56), start = vg_le32(e + 4 + 60), len = vg_le32(e + 4 + 64);
			assert_true(start + len <= (dst == rsdp ? rl : tl) && off >= start && off < start + len);
			dst[off] = (uint8_t)(0 - sum8(dst + start, len)); /* CalculateCheckSum8 */
		} else {
			fail_msg("unknown loader command %u", c);
		}
	}
	assert_true(alloc_t && alloc_r);
	assert_memory_equal(rsdp, "RSD PTR ", 8);
	assert_int_equal(sum8(rsdp, 20), 0);
	assert_int_equal(sum8(rsdp, 36), 0);
	uint64_t xsdt = vg_le64(rsdp + 24) - base_t;
	assert_memory_equal(tables + xsdt, "XSDT", 4);
	uint32_t xl = vg_le32(tables + xsdt + 4);
	assert_int_equal(sum8(tables + xsdt, xl), 0);
	unsigned seen = 0;
	bool dsdt_ok = false;
	for (uint32_t p = 36; p < xl; p += 8) {
		uint64_t t = vg_le64(tables + xsdt + p) - base_t;
		assert_true(t < tl);
		assert_int_equal(sum8(tables + t, vg_le32(tables + t + 4)), 0);
		seen++;
		if (!memcmp(tables + t, "FACP", 4)) {
			uint64_t d = vg_le64(tables + t + 140) - base_t;
			assert_int_equal(vg_le32(tables + t + 40), (uint32_t)(d + base_t));
			assert_memory_equal(tables + d, "DSDT", 4);
			assert_int_equal(sum8(tables + d, vg_le32(tables + d + 4)), 0);
			dsdt_ok = true;
		}
	}
	assert_int_equal(seen, 3); /* FACP, APIC, TPM2 */
	assert_true(dsdt_ok);
	free(tables);
	free(rsdp);
	free(script);
	vmm_fw_cfg_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_traditional_interface),
		cmocka_unit_test(test_dma),
		cmocka_unit_test(test_store_limits),
		cmocka_unit_test(test_acpi_table_loader),
	};
	return cmocka_run_group_tests_name("fw_cfg", tests, NULL, NULL);
}
