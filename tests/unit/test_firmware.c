/* Unit tests for firmware/: OVMF footer table, SEV metadata, TDVF metadata,
 * kernel-hashes table; real images (vectors, Debian's OVMF) and malformed ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "firmware/firmware.h"

#define DEBIAN_OVMF "/usr/share/ovmf/OVMF.fd"
#define DEBIAN_CODE_4M "/usr/share/OVMF/OVMF_CODE_4M.fd"

/* Loads a file, or skips the test when it is absent. */
static uint8_t *load_or_skip(const char *path, size_t *len)
{
	uint8_t *d = NULL;
	if (access(path, R_OK) || vg_read_file(path, FW_MAX_IMAGE, &d, len, NULL)) {
		printf("SKIP: %s not found\n", path);
		skip();
	}
	return d;
}

static uint8_t *load_vector(const char *name, size_t *len)
{
	char path[4096];
	const char *v = getenv("VIGIL_VECTORS");
	snprintf(path, sizeof(path), "%s/measure/%s", v ? v : "../shared/vectors", name);
	return load_or_skip(path, len);
}

/* ------------------------------------------------------- synthetic images */
#define IMG_LEN 8192
#define SEV_AT 0x100  /* offset of the SEV metadata in the image */
#define TDVF_AT 0x400 /* offset of the TDVF descriptor */

struct img {
	uint8_t d[IMG_LEN];
	size_t pos; /* start of the table entries written so far */
};

static void put_guid(uint8_t *p, const char *text)
{
	struct fw_guid g;
	assert_int_equal(fw_guid_parse(text, &g), 0);
	memcpy(p, g.b, 16);
}

static void add_entry(struct img *im, const char *guid, const void *data, size_t dlen)
{
	im->pos -= 18 + dlen;
	memcpy(im->d + im->pos, data, dlen);
	vg_put_le16(im->d + im->pos + dlen, (uint16_t)(18 + dlen));
	put_guid(im->d + im->pos + dlen + 2, guid);
}

static void add_u32_entry(struct img *im, const char *guid, uint32_t v)
{
	uint8_t b[4];
	vg_put_le32(b, v);
	add_entry(im, guid, b, 4);
}

/* Writes the footer entry that covers every entry added so far. */
static void close_table(struct img *im)
{
	size_t footer = IMG_LEN - 32 - 18;
	vg_put_le16(im->d + footer, (uint16_t)(18 + footer - im->pos));
	put_guid(im->d + footer + 2, FW_GUID_OVMF_TABLE_FOOTER);
}

struct sev_item {
	uint32_t gpa, size, type;
};
struct tdvf_item {
	uint32_t off, raw;
	uint64_t gpa, size;
	uint32_t type, attr;
};

static const struct sev_item good_sev[] = {
	{0x800000, 0x9000, FW_SEV_SEC_MEM}, {0x80d000, 0x1000, FW_SEV_SECRETS},
	{0x80e000, 0x1000, FW_SEV_CPUID},   {0x810000, 0x1000, FW_SEV_KERNEL_HASHES},
};
static const struct tdvf_item good_tdvf[] = {
	{0x1000, 0x1000, 0xffffe000, 0x1000, FW_TDVF_BFV, FW_TDVF_ATTR_MR_EXTEND},
	{0x0, 0x1000, 0xfffff000, 0x1000, FW_TDVF_CFV, 0},
	{0, 0, 0x809000, 0x2000, FW_TDVF_TD_HOB, 0},
	{0, 0, 0x900000, 0x10000, FW_TDVF_PERM_MEM, FW_TDVF_ATTR_PAGE_AUG},
};

static void build(struct img *im, const struct sev_item *sev, size_t nsev, const struct tdvf_item *td, size_t ntd)
{
	memset(im, 0, sizeof(*im));
	im->pos = IMG_LEN - 32 - 18;
	uint8_t *s = im->d + SEV_AT;
	memcpy(s, "ASEV", 4);
	vg_put_le32(s + 4, (uint32_t)(16 + 12 * nsev));
	vg_put_le32(s + 8, 1);
	vg_put_le32(s + 12, (uint32_t)nsev);
	for (size_t i = 0; i < nsev; i++) {
		vg_put_le32(s + 16 + 12 * i, sev[i].gpa);
		vg_put_le32(s + 20 + 12 * i, sev[i].size);
		vg_put_le32(s + 24 + 12 * i, sev[i].type);
	}
	uint8_t *t = im->d + TDVF_AT;
	memcpy(t, "TDVF", 4);
	vg_put_le32(t + 4, (uint32_t)(16 + 32 * ntd));
	vg_put_le32(t + 8, 1);
	vg_put_le32(t + 12, (uint32_t)ntd);
	for (size_t i = 0; i < ntd; i++) {
		uint8_t *e = t + 16 + 32 * i;
		vg_put_le32(e, td[i].off);
		vg_put_le32(e + 4, td[i].raw);
		vg_put_le64(e + 8, td[i].gpa);
		vg_put_le64(e + 16, td[i].size);
		vg_put_le32(e + 24, td[i].type);
		vg_put_le32(e + 28, td[i].attr);
	}
	add_u32_entry(im, FW_GUID_SEV_ES_RESET_BLOCK, 0x0080b004);
	uint8_t ht[8];
	vg_put_le32(ht, 0x810c00);
	vg_put_le32(ht + 4, 0x400);
	add_entry(im, FW_GUID_SEV_HASH_TABLE, ht, 8);
	add_u32_entry(im, FW_GUID_SEV_METADATA, IMG_LEN - SEV_AT);
	add_u32_entry(im, FW_GUID_TDX_METADATA, IMG_LEN - TDVF_AT);
	close_table(im);
}

static void build_good(struct img *im)
{
	build(im, good_sev, VG_ARRAY_SIZE(good_sev), good_tdvf, VG_ARRAY_SIZE(good_tdvf));
}

/* Parses im; expects the table to fail with a message containing want. */
static void expect_table_error(struct img *im, const char *want)
{
	struct fw_image fw;
	struct vg_err err = {0};
	assert_int_not_equal(fw_parse(im->d, IMG_LEN, &fw, &err), 0);
	if (!strstr(err.msg, want))
		fail_msg("error '%s' does not mention '%s'", err.msg, want);
}

static void expect_sev_error(struct img *im, const char *want)
{
	struct fw_image fw;
	struct fw_sev_metadata md;
	struct vg_err err = {0};
	assert_int_equal(fw_parse(im->d, IMG_LEN, &fw, &err), 0);
	assert_int_not_equal(fw_sev_metadata_parse(&fw, &md, &err), 0);
	if (!strstr(err.msg, want))
		fail_msg("error '%s' does not mention '%s'", err.msg, want);
}

static void expect_tdvf_error(struct img *im, const char *want)
{
	struct fw_image fw;
	struct fw_tdvf_metadata md;
	struct vg_err err = {0};
	assert_int_equal(fw_parse(im->d, IMG_LEN, &fw, &err), 0);
	assert_int_not_equal(fw_tdvf_metadata_parse(&fw, &md, &err), 0);
	if (!strstr(err.msg, want))
		fail_msg("error '%s' does not mention '%s'", err.msg, want);
}

/* ------------------------------------------------------------------ tests */
static void test_guid(void **state)
{
	(void)state;
	struct fw_guid g;
	char text[37];
	assert_int_equal(fw_guid_parse(FW_GUID_OVMF_TABLE_FOOTER, &g), 0);
	/* EFI byte order: the first three fields are little-endian */
	static const uint8_t want[16] = {0xde, 0x82, 0xb5, 0x96, 0xb2, 0x1f, 0xf7, 0x45,
					 0xba, 0xea, 0xa3, 0x66, 0xc5, 0x5a, 0x08, 0x2d};
	assert_memory_equal(g.b, want, 16);
	fw_guid_format(&g, text);
	assert_string_equal(text, FW_GUID_OVMF_TABLE_FOOTER);
	assert_int_equal(fw_guid_parse("96b582de-1fb2-45f7-baea-a366c55a082", &g), -EINVAL);
	assert_int_equal(fw_guid_parse("96b582de-1fb2-45f7-baea+a366c55a082d", &g), -EINVAL);
	assert_int_equal(fw_guid_parse("96b582de-1fb2-45f7-baea-a366c55a08zd", &g), -EINVAL);
}

static void test_synthetic_good(void **state)
{
	(void)state;
	struct img im;
	struct fw_image fw;
	struct fw_sev_metadata sev;
	struct fw_tdvf_metadata td;
	struct vg_err err = {0};
	build_good(&im);
	assert_int_equal(fw_parse(im.d, IMG_LEN, &fw, &err), 0);
	assert_true(fw.has_table);
	assert_int_equal(fw.n_entries, 4);
	assert_int_equal(fw.gpa, FW_FOUR_GIB - IMG_LEN);
	assert_int_equal(fw.sev_es_reset_eip, 0x80b004);
	assert_true(fw_has_hash_table(&fw));
	assert_int_equal(fw.hash_table_gpa, 0x810c00);
	assert_int_equal(fw_sev_metadata_parse(&fw, &sev, &err), 0);
	assert_int_equal(sev.n, 4);
	assert_int_equal(fw_sev_metadata_find(&sev, FW_SEV_KERNEL_HASHES)->gpa, 0x810000);
	assert_null(fw_sev_metadata_find(&sev, FW_SEV_SVSM_CAA));
	assert_int_equal(fw_tdvf_metadata_parse(&fw, &td, &err), 0);
	assert_int_equal(td.n, 4);
	assert_int_equal(td.s[3].attributes, FW_TDVF_ATTR_PAGE_AUG);
	assert_string_equal(fw_tdvf_section_name(td.s[2].type), "TD_HOB");
	assert_string_equal(fw_sev_section_name(FW_SEV_CPUID), "CPUID");
}

static void test_no_table(void **state)
{
	(void)state;
	static uint8_t plain[IMG_LEN];
	struct fw_image fw;
	struct fw_sev_metadata sev;
	struct fw_tdvf_metadata td;
	struct vg_err err = {0};
	assert_int_equal(fw_parse(plain, IMG_LEN, &fw, &err), 0);
	assert_false(fw.has_table);
	assert_int_equal(fw_sev_metadata_parse(&fw, &sev, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "no OVMF footer table"));
	assert_int_equal(fw_tdvf_metadata_parse(&fw, &td, &err), -ENOENT);
	/* tiny and empty images */
	assert_int_equal(fw_parse(plain, 40, &fw, &err), 0);
	assert_false(fw.has_table);
	assert_int_equal(fw_parse(plain, 0, &fw, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "empty"));
	assert_int_equal(fw_parse(plain, (size_t)FW_MAX_IMAGE + 1, &fw, &err), -EFBIG);
}

static void test_table_malformed(void **state)
{
	(void)state;
	struct img im;
	size_t footer = IMG_LEN - 32 - 18;

	build_good(&im); /* footer smaller than its header */
	vg_put_le16(im.d + footer, 10);
	expect_table_error(&im, "smaller than its 18-byte header");

	build_good(&im); /* table reaching before the image start */
	vg_put_le16(im.d + footer, 0xffff);
	memmove(im.d, im.d + IMG_LEN - 1024, 1024); /* make the image short: parse only the last 1 KiB */
	{
		struct fw_image fw;
		struct vg_err err = {0};
		assert_int_not_equal(fw_parse(im.d, 1024, &fw, &err), 0);
		assert_non_null(strstr(err.msg, "extends past the start"));
	}

	build_good(&im); /* an entry size below the header size */
	vg_put_le16(im.d + footer - 18, 5);
	expect_table_error(&im, "smaller than its 18-byte header");

	build_good(&im); /* an entry larger than what is left of the table */
	vg_put_le16(im.d + footer - 18, 200);
	expect_table_error(&im, "exceeds the");

	build_good(&im); /* the footer covers 7 more bytes than the entries */
	vg_put_le16(im.d + footer, (uint16_t)(vg_le16(im.d + footer) + 7));
	expect_table_error(&im, "too few for an entry header");

	build_good(&im); /* the same GUID twice */
	put_guid(im.d + footer - 16, FW_GUID_SEV_METADATA);
	expect_table_error(&im, "appears twice");

	/* a known entry with the wrong data length */
	memset(&im, 0, sizeof(im));
	im.pos = footer;
	add_entry(&im, FW_GUID_SEV_ES_RESET_BLOCK, "\x04\xb0\x80\x00\x00\x00", 6);
	close_table(&im);
	expect_table_error(&im, "SEV-ES reset block entry has 6 data bytes, expected 4");
}

static void test_sev_metadata_malformed(void **state)
{
	(void)state;
	struct img im;
	uint8_t *s = im.d + SEV_AT;

	build_good(&im);
	memcpy(s, "ASEW", 4);
	expect_sev_error(&im, "bad signature");
	build_good(&im);
	vg_put_le32(s + 8, 2);
	expect_sev_error(&im, "unsupported version 2");
	build_good(&im);
	vg_put_le32(s + 12, 1000);
	expect_sev_error(&im, "more than 64");
	build_good(&im);
	vg_put_le32(s + 4, 20);
	expect_sev_error(&im, "too small for 4 sections");
	build_good(&im);
	vg_put_le32(s + 4, IMG_LEN);
	expect_sev_error(&im, "runs past the end");

	static const struct sev_item unaligned[] = {{0x800800, 0x1000, FW_SEV_SEC_MEM}};
	build(&im, unaligned, 1, good_tdvf, 1);
	expect_sev_error(&im, "not 4 KiB-aligned");
	static const struct sev_item empty[] = {{0x800000, 0, FW_SEV_SEC_MEM}};
	build(&im, empty, 1, good_tdvf, 1);
	expect_sev_error(&im, "is empty");
	static const struct sev_item overlap[] = {{0x800000, 0x9000, FW_SEV_SEC_MEM}, {0x808000, 0x1000, FW_SEV_SECRETS}};
	build(&im, overlap, 2, good_tdvf, 1);
	expect_sev_error(&im, "section 1 (SECRETS) 0x808000+0x1000 overlaps section 0 (SEC_MEM)");
	static const struct sev_item on_fw[] = {{0xfffff000, 0x1000, FW_SEV_SEC_MEM}};
	build(&im, on_fw, 1, good_tdvf, 1);
	expect_sev_error(&im, "overlaps the firmware image");
	static const struct sev_item past4g[] = {{0xfffff000, 0x2000, FW_SEV_SEC_MEM}};
	build(&im, past4g, 1, good_tdvf, 1);
	expect_sev_error(&im, "runs past 4 GiB");
	static const struct sev_item unknown[] = {{0x800000, 0x1000, 7}};
	build(&im, unknown, 1, good_tdvf, 1);
	expect_sev_error(&im, "unknown type 0x7");
	static const struct sev_item big_secrets[] = {{0x800000, 0x2000, FW_SEV_SECRETS}};
	build(&im, big_secrets, 1, good_tdvf, 1);
	expect_sev_error(&im, "expected one 4 KiB page");
	static const struct sev_item two_hashes[] = {{0x800000, 0x1000, FW_SEV_KERNEL_HASHES},
						     {0x801000, 0x1000, FW_SEV_KERNEL_HASHES}};
	build(&im, two_hashes, 2, good_tdvf, 1);
	expect_sev_error(&im, "more than one KERNEL_HASHES");

	/* the footer entry points outside the image */
	memset(&im, 0, sizeof(im));
	im.pos = IMG_LEN - 32 - 18;
	add_u32_entry(&im, FW_GUID_SEV_METADATA, IMG_LEN + 4);
	close_table(&im);
	expect_sev_error(&im, "outside the 8192-byte image");
	/* the header truncated at the end of the image */
	memset(&im, 0, sizeof(im));
	im.pos = IMG_LEN - 32 - 18;
	add_u32_entry(&im, FW_GUID_SEV_METADATA, 20);
	close_table(&im);
	memcpy(im.d + IMG_LEN - 20, "ASEV", 4);
	vg_put_le32(im.d + IMG_LEN - 16, 16 + 12 * 2);
	vg_put_le32(im.d + IMG_LEN - 12, 1);
	vg_put_le32(im.d + IMG_LEN - 8, 2);
	expect_sev_error(&im, "runs past the end");
}

static void test_tdvf_malformed(void **state)
{
	(void)state;
	struct img im;
	uint8_t *t = im.d + TDVF_AT;

	build_good(&im);
	memcpy(t, "TDVX", 4);
	expect_tdvf_error(&im, "bad signature");
	build_good(&im);
	vg_put_le32(t + 12, 0);
	expect_tdvf_error(&im, "no sections");
	build_good(&im);
	vg_put_le32(t + 4, 40);
	expect_tdvf_error(&im, "too small for 4 sections");

#define TDVF_CASE(want, ...)                                              \
	do {                                                              \
		static const struct tdvf_item items[] = {__VA_ARGS__};    \
		build(&im, good_sev, 1, items, VG_ARRAY_SIZE(items));     \
		expect_tdvf_error(&im, want);                             \
	} while (0)
	TDVF_CASE("not 4 KiB-aligned", {0, 0, 0x800100, 0x1000, FW_TDVF_TEMP_MEM, 0});
	TDVF_CASE("not 4 KiB-aligned", {0, 0, 0x800000, 0x1800, FW_TDVF_TEMP_MEM, 0});
	TDVF_CASE("is empty", {0, 0, 0x800000, 0, FW_TDVF_TEMP_MEM, 0});
	TDVF_CASE("raw size 0x2000 exceeds its memory size 0x1000", {0, 0x2000, 0xfffff000, 0x1000, FW_TDVF_BFV, 0});
	TDVF_CASE("data 0x1000+0x2000 runs past the end of the 8192-byte image",
		  {0x1000, 0x2000, 0xffff0000, 0x2000, FW_TDVF_BFV, 0});
	TDVF_CASE("measured section 0 (BFV) 0x1000+0x2000 runs past the end",
		  {0x1000, 0x1000, 0xffff0000, 0x2000, FW_TDVF_BFV, FW_TDVF_ATTR_MR_EXTEND});
	TDVF_CASE("unknown type 9", {0, 0, 0x800000, 0x1000, 9, 0});
	TDVF_CASE("unknown attributes 0x4", {0, 0, 0x800000, 0x1000, FW_TDVF_TEMP_MEM, 4});
	TDVF_CASE("both MR.EXTEND and PAGE.AUG",
		  {0, 0, 0x800000, 0x1000, FW_TDVF_TEMP_MEM, FW_TDVF_ATTR_MR_EXTEND | FW_TDVF_ATTR_PAGE_AUG});
	TDVF_CASE("has no raw data", {0, 0, 0xfffff000, 0x1000, FW_TDVF_CFV, 0});
	TDVF_CASE("must not carry raw data", {0, 0x1000, 0x809000, 0x1000, FW_TDVF_TD_HOB, 0});
	TDVF_CASE("runs past the 52-bit address space", {0, 0, 0xfffffffffffff000ull, 0x2000, FW_TDVF_TEMP_MEM, 0});
	TDVF_CASE("section 1 (TempMem) 0x801000+0x1000 overlaps section 0 (TD_HOB)",
		  {0, 0, 0x800000, 0x2000, FW_TDVF_TD_HOB, 0}, {0, 0, 0x801000, 0x1000, FW_TDVF_TEMP_MEM, 0});
#undef TDVF_CASE
}

static void test_vectors_suffix(void **state)
{
	(void)state;
	size_t len;
	uint8_t *d = load_vector("ovmf_AmdSev_suffix.bin", &len);
	struct fw_image fw;
	struct fw_sev_metadata md;
	struct fw_tdvf_metadata td;
	struct vg_err err = {0};
	assert_int_equal(fw_parse(d, len, &fw, &err), 0);
	assert_int_equal(fw.gpa, 0xfffff000);
	assert_int_equal(fw.sev_es_reset_eip, 0x80b004);
	assert_int_equal(fw.hash_table_gpa, 0x810c00);
	assert_int_equal(fw.hash_table_size, 0x400);
	assert_true(fw.has_secret_area);
	assert_int_equal(fw.secret_gpa, 0x810000);
	assert_int_equal(fw_sev_metadata_parse(&fw, &md, &err), 0);
	/* README: SEC_MEM, SEC_MEM, SECRETS, CPUID, SVSM_CAA, KERNEL_HASHES, SEC_MEM */
	static const struct sev_item want[] = {
		{0x800000, 0x9000, 1}, {0x80a000, 0x3000, 1}, {0x80d000, 0x1000, 2}, {0x80e000, 0x1000, 3},
		{0x80f000, 0x1000, 4}, {0x810000, 0x1000, 0x10}, {0x811000, 0xf000, 1}};
	assert_int_equal(md.n, VG_ARRAY_SIZE(want));
	for (size_t i = 0; i < md.n; i++) {
		assert_int_equal(md.s[i].gpa, want[i].gpa);
		assert_int_equal(md.s[i].size, want[i].size);
		assert_int_equal(md.s[i].type, want[i].type);
	}
	/* the TDVF sections point into the 4 MiB image this suffix was cut from */
	assert_int_equal(fw_tdvf_metadata_parse(&fw, &td, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "section 0 (BFV) data 0x84000+0x37c000 runs past the end of the 4096-byte image"));
	free(d);
}

static void test_debian_ovmf(void **state)
{
	(void)state;
	size_t len;
	uint8_t *d = load_or_skip(DEBIAN_OVMF, &len);
	struct fw_image fw;
	struct fw_sev_metadata md;
	struct fw_tdvf_metadata td;
	struct vg_err err = {0};
	assert_int_equal(len, 2u << 20);
	assert_int_equal(fw_parse(d, len, &fw, &err), 0);
	assert_int_equal(fw.gpa, 0xffe00000);
	assert_false(fw_has_hash_table(&fw)); /* entry present, gpa 0 */
	assert_true(fw.has_hash_table);
	assert_int_equal(fw_sev_metadata_parse(&fw, &md, &err), 0);
	assert_int_equal(md.n, 5);
	assert_null(fw_sev_metadata_find(&md, FW_SEV_KERNEL_HASHES));
	assert_int_equal(fw_tdvf_metadata_parse(&fw, &td, &err), 0);
	assert_int_equal(td.n, 6);
	assert_int_equal(td.s[0].type, FW_TDVF_BFV);
	assert_int_equal(td.s[0].gpa, 0xffe20000);
	assert_int_equal(td.s[0].attributes, FW_TDVF_ATTR_MR_EXTEND);
	assert_int_equal(td.s[1].type, FW_TDVF_CFV);
	assert_int_equal(td.s[4].type, FW_TDVF_TD_HOB);
	free(d);

	d = load_or_skip(DEBIAN_CODE_4M, &len);
	assert_int_equal(fw_parse(d, len, &fw, &err), 0);
	assert_true(fw.has_reset_block);
	assert_int_equal(fw_sev_metadata_parse(&fw, &md, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "no SEV metadata"));
	assert_int_equal(fw_tdvf_metadata_parse(&fw, &td, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "no TDVF metadata"));
	free(d);
}

static void test_hashes_table(void **state)
{
	(void)state;
	/* README unit value: kernel=/dev/null initrd=/dev/null cmdline "console=ttyS0 loglevel=7" */
	static const char want[] =
		"06d63894224fc94cb479a793d411fd21a800d82dd09720bd944caa78e7714d36ab2a3200321c8eec6a77bad179511397"
		"f913a083067ad8cb737bb260aacbfe8df70fc50a31f7ba442f3ad74b9af141e29169781d3200e3b0c44298fc1c149a"
		"fbf4c8996fb92427ae41e4649b934ca495991b7852b8553794e74dd2ab7f42b835d5b172d2045b3200e3b0c44298fc"
		"1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8550000000000000000";
	struct fw_kernel_hashes a, b;
	struct vg_err err = {0};
	uint8_t table[FW_HASHES_TABLE_PADDED];
	char hex[2 * FW_HASHES_TABLE_PADDED + 1];
	assert_int_equal(fw_kernel_hashes_from_files("/dev/null", "/dev/null", "console=ttyS0 loglevel=7", &a, &err), 0);
	fw_hashes_table_build(&a, table);
	vg_hex_encode(table, sizeof(table), hex);
	assert_string_equal(hex, want);
	/* buffers give the same; a missing initrd is an empty one */
	assert_int_equal(fw_kernel_hashes_from_buffers(NULL, 0, NULL, 0, "console=ttyS0 loglevel=7", &b, &err), 0);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_int_equal(fw_kernel_hashes_from_files("/dev/null", NULL, "console=ttyS0 loglevel=7", &b, &err), 0);
	assert_memory_equal(&a, &b, sizeof(a));
	/* the command line hash includes the NUL: "" hashes one zero byte */
	assert_int_equal(fw_kernel_hashes_from_buffers(NULL, 0, NULL, 0, "", &b, &err), 0);
	static const char nul_sha256[] = "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d";
	vg_hex_encode(b.cmdline, 32, hex);
	assert_string_equal(hex, nul_sha256);
	/* files are streamed: a kernel larger than the 1 MiB read buffer hashes like the buffer */
	size_t big = (5u << 19) + 123;
	uint8_t *kernel = malloc(big);
	assert_non_null(kernel);
	for (size_t i = 0; i < big; i++)
		kernel[i] = (uint8_t)(i * 7 + (i >> 12));
	char path[] = "/tmp/vigil-test-kernel.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(vg_write_full(fd, kernel, big), 0);
	close(fd);
	assert_int_equal(fw_kernel_hashes_from_files(path, NULL, "x", &a, &err), 0);
	assert_int_equal(fw_kernel_hashes_from_buffers(kernel, big, NULL, 0, "x", &b, &err), 0);
	assert_memory_equal(&a, &b, sizeof(a));
	unlink(path);
	free(kernel);
	assert_int_equal(fw_kernel_hashes_from_files("/nonexistent/vmlinuz", NULL, NULL, &b, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "kernel /nonexistent/vmlinuz"));
	assert_int_equal(fw_kernel_hashes_from_files("/", NULL, NULL, &b, &err), -EISDIR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guid),
		cmocka_unit_test(test_synthetic_good),
		cmocka_unit_test(test_no_table),
		cmocka_unit_test(test_table_malformed),
		cmocka_unit_test(test_sev_metadata_malformed),
		cmocka_unit_test(test_tdvf_malformed),
		cmocka_unit_test(test_vectors_suffix),
		cmocka_unit_test(test_debian_ovmf),
		cmocka_unit_test(test_hashes_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
