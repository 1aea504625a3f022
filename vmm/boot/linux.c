/* Boot path 2: the Linux x86 boot protocol with the 64-bit entry point.
 * Guest layout (low memory):
 *   0x00500 GDT          0x07000 boot_params      0x09000 page tables (PML4,
 *   PDPT, 4 PDs: 4 GiB identity map)   0x20000 command line
 *   0xE0000 ACPI tables  0xF0000 TCG event log    kernel at pref_address
 *   (or 16 MiB), initrd at the top of low RAM. */
#include "vmm/boot/boot.h"

#include <stdlib.h>
#include <string.h>

#define GDT_ADDR 0x500ull
#define BOOT_PARAMS_ADDR 0x7000ull
#define PML4_ADDR 0x9000ull
#define PDPT_ADDR 0xA000ull
#define PD_ADDR 0xB000ull /* four pages */
#define CMDLINE_ADDR 0x20000ull
#define KERNEL_DEFAULT_ADDR 0x1000000ull
#define EBDA_START 0x9FC00ull
#define HIGH_MEMORY 0x100000ull
#define KERNEL_MAX (256u << 20)
#define INITRD_MAX (1u << 30)

/* boot_params offsets (arch/x86/include/uapi/asm/bootparam.h) */
#define BP_ACPI_RSDP 0x070
#define BP_EXT_RAMDISK_IMAGE 0x0C0
#define BP_EXT_RAMDISK_SIZE 0x0C4
#define BP_EXT_CMD_LINE_PTR 0x0C8
#define BP_E820_ENTRIES 0x1E8
#define BP_HDR 0x1F1
#define BP_VID_MODE 0x1FA
#define BP_TYPE_OF_LOADER 0x210
#define BP_LOADFLAGS 0x211
#define BP_RAMDISK_IMAGE 0x218
#define BP_RAMDISK_SIZE 0x21C
#define BP_HEAP_END_PTR 0x224
#define BP_CMD_LINE_PTR 0x228
#define BP_E820_TABLE 0x2D0
#define BP_E820_MAX 128
#define CAN_USE_HEAP 0x80

static uint64_t low_ram_end(uint64_t ram) { return VG_MIN(ram, VMM_MMIO_HOLE_START); }

size_t vmm_e820_map(uint64_t ram, struct vmm_e820 *out, size_t cap)
{
	struct vmm_e820 m[6];
	size_t n = 0;
	uint64_t low = low_ram_end(ram);
	m[n++] = (struct vmm_e820){0, EBDA_START, 1};
	m[n++] = (struct vmm_e820){EBDA_START, 0xA0000 - EBDA_START, 2};
	m[n++] = (struct vmm_e820){VMM_ACPI_BASE, VMM_ACPI_SIZE, 3};
	m[n++] = (struct vmm_e820){VMM_TPM_LOG_ADDR, HIGH_MEMORY - VMM_TPM_LOG_ADDR, 2};
	if (low > HIGH_MEMORY)
		m[n++] = (struct vmm_e820){HIGH_MEMORY, low - HIGH_MEMORY, 1};
	if (ram > low)
		m[n++] = (struct vmm_e820){VMM_4GIB, ram - low, 1};
	for (size_t i = 0; i < n && i < cap; i++)
		out[i] = m[i];
	return VG_MIN(n, cap);
}

int vmm_linux_layout(const struct vmm_bzimage *bz, uint64_t ram, size_t cmdline_len, uint64_t initrd_size,
		     struct vmm_linux_layout *lay, struct vg_err *err)
{
	memset(lay, 0, sizeof(*lay));
	uint64_t low = low_ram_end(ram);
	uint64_t align = bz->kernel_alignment;
	uint64_t addr = bz->pref_address >= KERNEL_DEFAULT_ADDR ? bz->pref_address : KERNEL_DEFAULT_ADDR;
	addr = (addr + align - 1) & ~(align - 1);
	if (addr + bz->init_size > low)
		return vg_err_set(err, ENOMEM, "kernel needs 0x%x bytes at 0x%llx; guest RAM below 3 GiB ends at 0x%llx",
				  bz->init_size, (unsigned long long)addr, (unsigned long long)low);
	lay->kernel_addr = addr;
	lay->entry64 = addr + 0x200;
	lay->boot_params_addr = BOOT_PARAMS_ADDR;
	if (cmdline_len + 1 > VG_MIN((uint64_t)bz->cmdline_size + 1, (uint64_t)VMM_MAX_CMDLINE + 1))
		return vg_err_set(err, E2BIG, "command line is %zu bytes; the kernel takes at most %u", cmdline_len,
				  bz->cmdline_size);
	lay->cmdline_addr = CMDLINE_ADDR;
	lay->rsdp_addr = VMM_ACPI_BASE;
	if (initrd_size) {
		uint64_t top = VG_MIN(low, (uint64_t)bz->initrd_addr_max + 1);
		uint64_t kernel_end = addr + bz->init_size;
		if (initrd_size > top || ((top - initrd_size) & ~0xFFFull) < kernel_end)
			return vg_err_set(err, ENOMEM, "initrd of %llu bytes does not fit between the kernel and 0x%llx",
					  (unsigned long long)initrd_size, (unsigned long long)top);
		lay->initrd_addr = (top - initrd_size) & ~0xFFFull;
		lay->initrd_size = initrd_size;
	}
	return 0;
}

int vmm_boot_params_build(const uint8_t *img, size_t img_len, const struct vmm_bzimage *bz,
			  const struct vmm_linux_layout *lay, size_t cmdline_len, uint64_t ram,
			  uint8_t bp[VMM_BOOT_PARAMS_SIZE], struct vg_err *err)
{
	memset(bp, 0, VMM_BOOT_PARAMS_SIZE);
	/* Copy the image's setup header (0x1F1 .. 0x202 + jump offset). */
	size_t hdr_end = 0x202 + (size_t)img[0x201];
	if (hdr_end > img_len || hdr_end > 0x290 || bz->protocol < 0x020C)
		return vg_err_set(err, EINVAL, "bzImage: bad setup header length");
	memcpy(bp + BP_HDR, img + BP_HDR, hdr_end - BP_HDR);
	vg_put_le16(bp + BP_VID_MODE, 0xFFFF); /* "normal" */
	bp[BP_TYPE_OF_LOADER] = 0xFF;          /* undefined loader */
	bp[BP_LOADFLAGS] |= CAN_USE_HEAP;
	vg_put_le16(bp + BP_HEAP_END_PTR, 0xFE00);
	vg_put_le32(bp + BP_CMD_LINE_PTR, (uint32_t)lay->cmdline_addr);
	vg_put_le32(bp + BP_EXT_CMD_LINE_PTR, (uint32_t)(lay->cmdline_addr >> 32));
	(void)cmdline_len;
	if (lay->initrd_size) {
		vg_put_le32(bp + BP_RAMDISK_IMAGE, (uint32_t)lay->initrd_addr);
		vg_put_le32(bp + BP_RAMDISK_SIZE, (uint32_t)lay->initrd_size);
		vg_put_le32(bp + BP_EXT_RAMDISK_IMAGE, (uint32_t)(lay->initrd_addr >> 32));
		vg_put_le32(bp + BP_EXT_RAMDISK_SIZE, (uint32_t)(lay->initrd_size >> 32));
	}
	if (bz->protocol >= 0x020E)
		vg_put_le64(bp + BP_ACPI_RSDP, lay->rsdp_addr);
	struct vmm_e820 map[BP_E820_MAX];
	size_t n = vmm_e820_map(ram, map, BP_E820_MAX);
	bp[BP_E820_ENTRIES] = (uint8_t)n;
	for (size_t i = 0; i < n; i++) {
		uint8_t *e = bp + BP_E820_TABLE + i * 20;
		vg_put_le64(e, map[i].addr);
		vg_put_le64(e + 8, map[i].size);
		vg_put_le32(e + 16, map[i].type);
	}
	return 0;
}

static int load_optional(const char *path, size_t max, uint8_t **out, size_t *len, struct vg_err *err)
{
	*out = NULL;
	*len = 0;
	return path ? vg_read_file(path, max, out, len, err) : 0;
}

/* What the loader builds, kept with the VM (vm->boot_tables) so that a reboot
 * writes the same bytes again (vmm_memory_reload); the kernel and initrd files
 * stay in vm->kernel_data and vm->initrd_data for the same reason. */
struct linux_tables {
	uint64_t gdt[4];
	uint8_t pt[6 * 4096]; /* PML4, PDPT, 4 PDs */
	uint8_t bp[VMM_BOOT_PARAMS_SIZE];
	uint8_t acpi[VMM_ACPI_SIZE];
};

int vmm_linux_load(struct vmm *vm, struct vg_err *err)
{
	const struct vmm_config *c = vm->cfg;
	uint8_t *img = NULL, *initrd = NULL;
	size_t img_len = 0, initrd_len = 0;
	struct vmm_bzimage bz;
	struct vmm_linux_layout lay;
	const char *cmdline = c->cmdline ? c->cmdline : "";
	size_t cl = strlen(cmdline);
	int rc;
	if ((rc = vg_read_file(c->kernel, KERNEL_MAX, &img, &img_len, err)))
		return vg_err_prefix(err, "kernel");
	vm->kernel_data = img; /* freed with the VM */
	if ((rc = vmm_bzimage_parse(img, img_len, &bz, err)))
		return vg_err_prefix(err, "%s", c->kernel);
	if ((rc = load_optional(c->initrd, INITRD_MAX, &initrd, &initrd_len, err)))
		return vg_err_prefix(err, "initrd");
	vm->initrd_data = initrd;
	struct linux_tables *t = calloc(1, sizeof(*t));
	if (!t)
		return vg_err_set(err, ENOMEM, "out of memory");
	vm->boot_tables = (uint8_t *)t; /* freed with the VM */
	if ((rc = vmm_linux_layout(&bz, vm->ram_size, cl, initrd_len, &lay, err)) ||
	    (rc = vmm_boot_params_build(img, img_len, &bz, &lay, cl, vm->ram_size, t->bp, err)))
		return rc;
	/* ACPI tables. */
	size_t acpi_len = 0;
	struct vmm_acpi_opts ao = {.vcpus = c->vcpus, .tpm = c->vtpm, .log_addr = VMM_TPM_LOG_ADDR,
				   .log_size = VMM_TPM_LOG_SIZE};
	if ((rc = vmm_acpi_build(&ao, VMM_ACPI_BASE, t->acpi, VMM_ACPI_SIZE, &acpi_len, err)))
		return rc;
	/* Identity map of the low 4 GiB with 2 MiB pages, and the GDT. */
	vg_put_le64(t->pt, PDPT_ADDR | 3);
	for (int i = 0; i < 4; i++)
		vg_put_le64(t->pt + 4096 + i * 8, (PD_ADDR + (uint64_t)i * 4096) | 3);
	for (uint64_t i = 0; i < 2048; i++)
		vg_put_le64(t->pt + 2 * 4096 + i * 8, (i << 21) | 0x83);
	static const uint64_t gdt[4] = {0, 0, 0x00AF9B000000FFFFull, 0x00CF93000000FFFFull};
	for (int i = 0; i < 4; i++)
		vg_put_le64((uint8_t *)&t->gdt[i], gdt[i]);
	const struct {
		uint64_t gpa;
		const void *data;
		size_t len;
		enum vmm_page_type type;
		enum vmm_image_kind kind;
		const char *what;
	} parts[] = {
		{GDT_ADDR, t->gdt, sizeof(t->gdt), VMM_PAGE_NORMAL, VMM_IMAGE_PAGE_TABLES, NULL},
		{PML4_ADDR, t->pt, sizeof(t->pt), VMM_PAGE_NORMAL, VMM_IMAGE_PAGE_TABLES, NULL},
		{lay.kernel_addr, img + bz.setup_size, bz.kernel_size, VMM_PAGE_NORMAL, VMM_IMAGE_KERNEL, c->kernel},
		{lay.initrd_addr, initrd, initrd_len, VMM_PAGE_NORMAL, VMM_IMAGE_INITRD, c->initrd},
		{lay.cmdline_addr, cmdline, cl + 1, VMM_PAGE_NORMAL, VMM_IMAGE_CMDLINE, cmdline},
		{VMM_ACPI_BASE, t->acpi, acpi_len, VMM_PAGE_NORMAL, VMM_IMAGE_ACPI, NULL},
		{BOOT_PARAMS_ADDR, t->bp, sizeof(t->bp), VMM_PAGE_NORMAL, VMM_IMAGE_BOOT_PARAMS, NULL},
	};
	for (size_t i = 0; !rc && i < VG_ARRAY_SIZE(parts); i++) {
		if (!parts[i].len)
			continue;
		if (parts[i].what) { /* measured: kernel (whole file), initrd, cmdline */
			const void *d = parts[i].kind == VMM_IMAGE_KERNEL ? (const void *)img : parts[i].data;
			size_t l = parts[i].kind == VMM_IMAGE_KERNEL ? img_len
				   : parts[i].kind == VMM_IMAGE_CMDLINE ? cl : parts[i].len;
			if ((rc = vmm_measure(vm, parts[i].kind, parts[i].what, d, l)))
				rc = vg_err_set(err, -rc, "measuring %s failed", parts[i].what);
		}
		if (!rc)
			rc = vmm_load_region(vm, parts[i].gpa, parts[i].data, parts[i].len, parts[i].type, err);
	}
	vm->boot = (struct vmm_boot_state){.mode = VMM_BOOT_LINUX64, .rip = lay.entry64, .rsi = lay.boot_params_addr,
					   .cr3 = PML4_ADDR, .gdt_base = GDT_ADDR, .gdt_limit = sizeof(gdt) - 1};
	if (!rc)
		vg_info("Linux %s: protocol %u.%02u, kernel at 0x%llx, entry 0x%llx%s", bz.version[0] ? bz.version : "?",
			bz.protocol >> 8, bz.protocol & 0xFF, (unsigned long long)lay.kernel_addr,
			(unsigned long long)lay.entry64, initrd_len ? ", initrd loaded" : "");
	return rc;
}
