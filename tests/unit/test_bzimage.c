/* Unit tests for the Linux boot path: bzImage header checks, layout,
 * boot_params and the e820 map; against synthetic images and, when
 * scripts/deps.sh downloaded it, Debian's cloud kernel. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/vmm.h"

/* A minimal, valid bzImage: setup header of protocol 2.15, 64-bit, relocatable. */
static uint8_t *make_image(size_t *len)
{
	size_t setup = 5 * 512, kernel = 64 * 1024;
	uint8_t *img = calloc(1, setup + kernel);
	img[0x1F1] = 4;                             /* setup_sects */
	vg_put_le32(img + 0x1F4, (uint32_t)(kernel / 16)); /* syssize */
	vg_put_le16(img + 0x1FE, 0xAA55);
	img[0x200] = 0xEB;
	img[0x201] = 0x6A;                          /* header ends at 0x26C */
	memcpy(img + 0x202, "HdrS", 4);
	vg_put_le16(img + 0x206, 0x020F);
	vg_put_le16(img + 0x20E, 0x300 - 0x200);    /* version string offset */
	strcpy((char *)img + 0x300, "6.1.0-test (builder@vigil) #1 SMP");
	img[0x211] = 0x01;                          /* LOADED_HIGH */
	vg_put_le32(img + 0x22C, 0x7FFFFFFF);       /* initrd_addr_max */
	vg_put_le32(img + 0x230, 0x200000);         /* kernel_alignment */
	img[0x234] = 1;                             /* relocatable */
	vg_put_le16(img + 0x236, 0x7F);             /* XLF_KERNEL_64 and friends */
	vg_put_le32(img + 0x238, 2047);             /* cmdline_size */
	vg_put_le64(img + 0x258, 0x1000000);        /* pref_address */
	vg_put_le32(img + 0x260, 0x400000);         /* init_size */
	*len = setup + kernel;
	return img;
}

static void test_parse_synthetic(void **state)
{
	(void)state;
	size_t len;
	uint8_t *img = make_image(&len);
	struct vmm_bzimage bz;
	struct vg_err err = {0};
	assert_int_equal(vmm_bzimage_parse(img, len, &bz, &err), 0);
	assert_int_equal(bz.protocol, 0x020F);
	assert_int_equal(bz.setup_size, 2560);
	assert_int_equal(bz.kernel_size, 65536);
	assert_true(bz.relocatable);
	assert_int_equal(bz.kernel_alignment, 0x200000);
	assert_string_equal(bz.version, "6.1.0-test (builder@vigil) #1 SMP");
	free(img);
}

struct corruption {
	size_t off;
	uint8_t val;
	const char *msg;
};

static void test_parse_corrupted(void **state)
{
	(void)state;
	static const struct corruption bad[] = {
		{0x1FE, 0x00, "0xAA55"},
		{0x202, 'X', "HdrS"},
		{0x207, 0x01, "protocol 1."},
		{0x206, 0x0B, "need 2.12"},
		{0x211, 0x00, "LOADED_HIGH"},
		{0x236, 0x00, "XLF_KERNEL_64"},
		{0x234, 0x00, "not relocatable"},
		{0x232, 0x30, "kernel_alignment"},  /* 0x302000: not a power of two */
		{0x230, 0x10, "kernel_alignment"},  /* 0x200010 */
		{0x1F1, 0xFF, "setup"},             /* setup larger than the file */
		{0x1F6, 0x01, "truncated"},         /* syssize beyond the file */
		{0x263, 0x80, "init_size"},         /* init_size > 1 GiB */
		{0x262, 0x00, "init_size"},         /* init_size < kernel: 0x00 in byte 2 -> 0 */
		{0x201, 0x10, "setup header too short"},
		{0x22E, 0x00, "initrd_addr_max"},   /* 0x0000FFFF */
	};
	for (size_t i = 0; i < VG_ARRAY_SIZE(bad); i++) {
		size_t len;
		uint8_t *img = make_image(&len);
		img[bad[i].off] = bad[i].val;
		if (bad[i].off == 0x262)
			vg_put_le32(img + 0x260, 0x100);
		if (bad[i].off == 0x22E)
			vg_put_le32(img + 0x22C, 0xFFFF);
		struct vmm_bzimage bz;
		struct vg_err err = {0};
		assert_int_not_equal(vmm_bzimage_parse(img, len, &bz, &err), 0);
		if (!strstr(err.msg, bad[i].msg))
			fail_msg("corruption at 0x%zx: \"%s\" lacks \"%s\"", bad[i].off, err.msg, bad[i].msg);
		free(img);
	}
}

static void test_parse_truncated(void **state)
{
	(void)state;
	size_t len;
	uint8_t *img = make_image(&len);
	struct vmm_bzimage bz;
	struct vg_err err = {0};
	/* Every truncation is rejected with an error, never a crash. */
	for (size_t cut = 0; cut < len; cut += (cut < 4096 ? 1 : 4093)) {
		uint8_t *c = malloc(cut ? cut : 1);
		memcpy(c, img, cut);
		assert_int_not_equal(vmm_bzimage_parse(c, cut, &bz, &err), 0);
		free(c);
	}
	assert_int_equal(vmm_bzimage_parse(img, len - 1, &bz, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "truncated"));
	free(img);
}

static void test_layout_and_boot_params(void **state)
{
	(void)state;
	size_t len;
	uint8_t *img = make_image(&len);
	struct vmm_bzimage bz;
	struct vmm_linux_layout lay;
	struct vg_err err = {0};
	assert_int_equal(vmm_bzimage_parse(img, len, &bz, &err), 0);
	uint64_t ram = 512ull << 20;
	assert_int_equal(vmm_linux_layout(&bz, ram, 20, 1 << 20, &lay, &err), 0);
	assert_int_equal(lay.kernel_addr, 0x1000000);
	assert_int_equal(lay.entry64, 0x1000200);
	assert_int_equal(lay.initrd_addr % 4096, 0);
	assert_true(lay.initrd_addr + lay.initrd_size <= ram);
	assert_true(lay.initrd_addr >= lay.kernel_addr + bz.init_size);
	uint8_t bp[VMM_BOOT_PARAMS_SIZE];
	assert_int_equal(vmm_boot_params_build(img, len, &bz, &lay, 20, ram, bp, &err), 0);
	assert_memory_equal(bp + 0x202, "HdrS", 4);       /* setup header copied */
	assert_int_equal(bp[0x210], 0xFF);                /* type_of_loader */
	assert_int_equal(vg_le32(bp + 0x228), lay.cmdline_addr);
	assert_int_equal(vg_le32(bp + 0x218), lay.initrd_addr);
	assert_int_equal(vg_le32(bp + 0x21C), 1 << 20);
	assert_int_equal(vg_le64(bp + 0x070), VMM_ACPI_BASE); /* acpi_rsdp_addr */
	unsigned n = bp[0x1E8];
	assert_true(n >= 5);
	uint64_t total_ram = 0;
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *e = bp + 0x2D0 + i * 20;
		if (vg_le32(e + 16) == 1)
			total_ram += vg_le64(e + 8);
	}
	assert_true(total_ram <= ram && total_ram > ram - (1 << 20));
	/* A command line longer than the kernel takes; no room for the kernel. */
	assert_int_equal(vmm_linux_layout(&bz, ram, 5000, 0, &lay, &err), -E2BIG);
	assert_int_equal(vmm_linux_layout(&bz, 16ull << 20, 10, 0, &lay, &err), -ENOMEM);
	assert_int_equal(vmm_linux_layout(&bz, ram, 10, 600ull << 20, &lay, &err), -ENOMEM);
	free(img);
}

static void test_e820_split(void **state)
{
	(void)state;
	struct vmm_e820 m[8];
	size_t n = vmm_e820_map(8ull << 30, m, 8);
	uint64_t ram = 0;
	bool high = false;
	for (size_t i = 0; i < n; i++) {
		if (m[i].type == 1)
			ram += m[i].size;
		if (m[i].addr == VMM_4GIB) {
			high = true;
			assert_int_equal(m[i].size, (8ull << 30) - VMM_MMIO_HOLE_START);
		}
		/* Nothing in the MMIO hole. */
		assert_false(m[i].addr < VMM_4GIB && m[i].addr + m[i].size > VMM_MMIO_HOLE_START);
	}
	assert_true(high);
	assert_int_equal(ram, (8ull << 30) - 0x60400); /* everything but 0x9FC00..0x100000 */
}

/* Debian's cloud kernel, extracted from the package scripts/deps.sh downloaded. */
static void test_debian_cloud_kernel(void **state)
{
	(void)state;
	const char *cache = getenv("VIGIL_KERNEL_CACHE") ? getenv("VIGIL_KERNEL_CACHE") : "/var/cache/vigil/kernel";
	char pattern[512];
	snprintf(pattern, sizeof(pattern), "%s/linux-image-*-cloud-amd64_*.deb", cache);
	glob_t g;
	if (glob(pattern, 0, NULL, &g) != 0 || g.gl_pathc == 0) {
		print_message("SKIP: Debian cloud kernel package not downloaded (scripts/deps.sh)\n");
		skip();
	}
	char dir[] = "/tmp/test_bzimage.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char cmd[1200];
	snprintf(cmd, sizeof(cmd), "dpkg-deb -x '%s' '%s' && cp %s/boot/vmlinuz-* %s/vmlinuz", g.gl_pathv[0], dir, dir,
		 dir);
	globfree(&g);
	assert_int_equal(system(cmd), 0);
	char path[600];
	snprintf(path, sizeof(path), "%s/vmlinuz", dir);
	uint8_t *img;
	size_t len;
	struct vg_err err = {0};
	assert_int_equal(vg_read_file(path, 256u << 20, &img, &len, &err), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	struct vmm_bzimage bz;
	assert_int_equal(vmm_bzimage_parse(img, len, &bz, &err), 0);
	assert_true(bz.protocol >= 0x020F);
	assert_true(bz.relocatable);
	assert_true(bz.xloadflags & 1);
	assert_true(bz.init_size > bz.kernel_size);
	assert_non_null(strstr(bz.version, "cloud-amd64"));
	struct vmm_linux_layout lay;
	assert_int_equal(vmm_linux_layout(&bz, 256ull << 20, 30, 8 << 20, &lay, &err), 0);
	assert_int_equal(lay.kernel_addr % bz.kernel_alignment, 0);
	uint8_t bp[VMM_BOOT_PARAMS_SIZE];
	assert_int_equal(vmm_boot_params_build(img, len, &bz, &lay, 30, 256ull << 20, bp, &err), 0);
	assert_int_equal(vg_le16(bp + 0x206), bz.protocol);
	/* Truncated copies of the real kernel are refused (Debian appends an
	 * Authenticode signature after syssize: cutting that alone is fine). */
	size_t kernel_end = bz.setup_size + (size_t)vg_le32(img + 0x1F4) * 16;
	assert_true(kernel_end <= len);
	size_t cuts[] = {100, 0x1F1, 0x268, bz.setup_size, bz.setup_size + 4096, len / 2, kernel_end - 1};
	for (size_t i = 0; i < VG_ARRAY_SIZE(cuts); i++)
		assert_int_not_equal(vmm_bzimage_parse(img, cuts[i], &bz, &err), 0);
	/* A corrupted magic too. */
	img[0x203] ^= 0xFF;
	assert_int_equal(vmm_bzimage_parse(img, len, &bz, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "HdrS"));
	free(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_synthetic),   cmocka_unit_test(test_parse_corrupted),
		cmocka_unit_test(test_parse_truncated),   cmocka_unit_test(test_layout_and_boot_params),
		cmocka_unit_test(test_e820_split),        cmocka_unit_test(test_debian_cloud_kernel),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
