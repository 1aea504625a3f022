/* Unit tests for the TDX MRTD model (tdx/ section 2): Debian's OVMF.fd in both
 * SEAMCALL orders against an independent computation written plainly over
 * the raw image bytes, plus the incremental API. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "firmware/firmware.h"
#include "tdx/tdx.h"

#define DEBIAN_OVMF "/usr/share/ovmf/OVMF.fd"

/* ---------------------------------------------- the independent computation */
/* Reads the TDVF descriptor by hand (footer entry located by a byte search for
 * the TDX metadata GUID) and hashes the 128-byte buffers in one SHA-384 stream. */
static uint32_t rd32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static void plain_buf(EVP_MD_CTX *h, const char *op, uint64_t gpa)
{
	uint8_t b[128];
	memset(b, 0, sizeof(b));
	memcpy(b, op, strlen(op));
	for (int i = 0; i < 8; i++)
		b[16 + i] = (uint8_t)(gpa >> (8 * i));
	EVP_DigestUpdate(h, b, sizeof(b));
}

static void plain_extend(EVP_MD_CTX *h, const uint8_t *img, uint32_t data_off, uint64_t gpa, uint64_t page)
{
	for (int c = 0; c < 16; c++) {
		plain_buf(h, "MR.EXTEND", gpa + page * 4096 + c * 256);
		EVP_DigestUpdate(h, img + data_off + page * 4096 + c * 256, 256);
	}
}

static void plain_mrtd(const uint8_t *img, size_t len, bool two_pass, uint8_t out[48])
{
	/* e47a6535-984a-4798-865e-4685a7bf8ec2 in EFI byte order */
	static const uint8_t guid[16] = {0x35, 0x65, 0x7a, 0xe4, 0x4a, 0x98, 0x98, 0x47,
					 0x86, 0x5e, 0x46, 0x85, 0xa7, 0xbf, 0x8e, 0xc2};
	size_t g = 0;
	for (size_t i = len - 4096; i + 16 <= len; i++)
		if (!memcmp(img + i, guid, 16))
			g = i;
	assert_int_not_equal(g, 0);
	const uint8_t *desc = img + len - rd32(img + g - 6); /* data (4 bytes) + size (2) precede the GUID */
	assert_memory_equal(desc, "TDVF", 4);
	uint32_t n = rd32(desc + 12);
	EVP_MD_CTX *h = EVP_MD_CTX_new();
	EVP_DigestInit_ex(h, EVP_sha384(), NULL);
	for (uint32_t s = 0; s < n; s++) {
		const uint8_t *e = desc + 16 + 32 * s;
		uint32_t data_off = rd32(e), attr = rd32(e + 28);
		uint64_t gpa = rd64(e + 8), pages = rd64(e + 16) / 4096;
		if (attr & 2)
			continue; /* PAGE.AUG */
		if (two_pass) {
			for (uint64_t p = 0; p < pages; p++)
				plain_buf(h, "MEM.PAGE.ADD", gpa + p * 4096);
			if (attr & 1)
				for (uint64_t p = 0; p < pages; p++)
					plain_extend(h, img, data_off, gpa, p);
		} else {
			for (uint64_t p = 0; p < pages; p++) {
				plain_buf(h, "MEM.PAGE.ADD", gpa + p * 4096);
				if (attr & 1)
					plain_extend(h, img, data_off, gpa, p);
			}
		}
	}
	unsigned int l;
	EVP_DigestFinal_ex(h, out, &l);
	EVP_MD_CTX_free(h);
}

/* ------------------------------------------------------------------ tests */
static void test_debian_mrtd_both_orders(void **state)
{
	(void)state;
	uint8_t *img = NULL;
	size_t len = 0;
	if (access(DEBIAN_OVMF, R_OK) || vg_read_file(DEBIAN_OVMF, FW_MAX_IMAGE, &img, &len, NULL)) {
		printf("SKIP: %s not found\n", DEBIAN_OVMF);
		skip();
	}
	struct fw_image fw;
	struct tdx_launch_plan plan;
	struct tdx_mrtd counts;
	struct vg_err err = {0};
	uint8_t kvm[48], two[48], want[48];
	assert_int_equal(fw_parse(img, len, &fw, &err), 0);
	assert_int_equal(tdx_launch_plan_build(&fw, &plan, &err), 0);
	assert_int_equal(plan.n, 6);
	assert_string_equal(plan.r[0].name, "BFV");
	assert_true(plan.r[0].measure);
	assert_ptr_equal(plan.r[0].data, img + 0x20000);
	assert_false(plan.r[1].measure);

	assert_int_equal(tdx_mrtd_compute(&plan, TDX_ORDER_KVM, kvm, &counts, &err), 0);
	plain_mrtd(img, len, false, want);
	assert_memory_equal(kvm, want, 48);
	/* every page of the 2 MiB image plus the TempMem/TD_HOB pages is added;
	 * the BFV (480 pages) is extended 16 times per page */
	assert_int_equal(counts.page_adds, 480 + 32 + 16 + 2 + 2 + 6);
	assert_int_equal(counts.extends, 480 * 16);

	assert_int_equal(tdx_mrtd_compute(&plan, TDX_ORDER_TWO_PASS, two, NULL, &err), 0);
	plain_mrtd(img, len, true, want);
	assert_memory_equal(two, want, 48);
	assert_memory_not_equal(kvm, two, 48); /* the order is part of the measurement */

	/* one changed byte in the measured BFV changes the MRTD */
	img[0x20000 + 100] ^= 1;
	assert_int_equal(tdx_mrtd_compute(&plan, TDX_ORDER_KVM, want, NULL, &err), 0);
	assert_memory_not_equal(kvm, want, 48);
	/* while a changed byte in the unmeasured CFV does not */
	img[0x20000 + 100] ^= 1;
	img[100] ^= 1;
	assert_int_equal(tdx_mrtd_compute(&plan, TDX_ORDER_KVM, want, NULL, &err), 0);
	assert_memory_equal(kvm, want, 48);

	/* a TD_HOB marked MR.EXTEND cannot be predicted: refused, not guessed */
	uint8_t *desc = img + len - fw.tdx_metadata_offset;
	assert_int_equal(rd32(desc + 16 + 32 * 4 + 24), FW_TDVF_TD_HOB);
	desc[16 + 32 * 4 + 28] = FW_TDVF_ATTR_MR_EXTEND;
	assert_int_equal(fw_parse(img, len, &fw, &err), 0);
	assert_int_equal(tdx_launch_plan_build(&fw, &plan, &err), -ENOTSUP);
	assert_non_null(strstr(err.msg, "TDVF section 4 (TD_HOB) is MR.EXTEND"));
	free(img);
}

static void test_incremental_api(void **state)
{
	(void)state;
	struct tdx_mrtd m;
	struct vg_err err = {0};
	uint8_t a[48], b[48], page[4096];
	for (size_t i = 0; i < sizeof(page); i++)
		page[i] = (uint8_t)i;
	assert_int_equal(tdx_mrtd_init(&m, &err), 0);
	assert_int_equal(tdx_mrtd_page_add(&m, 0x1001, &err), -EINVAL);
	assert_int_equal(tdx_mrtd_extend_chunk(&m, 0x1080, page, &err), -EINVAL);
	assert_int_equal(tdx_mrtd_page_add(&m, 0x1000, &err), 0);
	assert_int_equal(tdx_mrtd_extend_page(&m, 0x1000, page, &err), 0);
	assert_int_equal(m.page_adds, 1);
	assert_int_equal(m.extends, 16);
	assert_int_equal(tdx_mrtd_final(&m, a, &err), 0);
	assert_null(m.md_ctx);

	/* a one-region plan gives the same as the calls by hand */
	struct tdx_launch_plan p = {.n = 2};
	p.r[0] = (struct tdx_launch_region){.name = "BFV", .gpa = 0x1000, .len = 4096, .data = page, .add = true,
					    .measure = true};
	p.r[1] = (struct tdx_launch_region){.name = "PermMem", .gpa = 0x100000, .len = 0x10000, .add = false};
	assert_int_equal(tdx_mrtd_compute(&p, TDX_ORDER_KVM, b, NULL, &err), 0);
	assert_memory_equal(a, b, 48);
	/* PAGE.AUG sections are not measured; an added one is */
	p.r[1].add = true;
	assert_int_equal(tdx_mrtd_compute(&p, TDX_ORDER_KVM, b, NULL, &err), 0);
	assert_memory_not_equal(a, b, 48);
	/* a measured region without data measures zeros */
	p.n = 1;
	p.r[0].data = NULL;
	assert_int_equal(tdx_mrtd_compute(&p, TDX_ORDER_KVM, b, NULL, &err), 0);
	assert_memory_not_equal(a, b, 48);
	assert_int_equal(tdx_mrtd_compute(&p, (enum tdx_mrtd_order)7, b, NULL, &err), -EINVAL);
}

static void test_no_tdvf(void **state)
{
	(void)state;
	static uint8_t plain[8192];
	struct fw_image fw;
	struct tdx_launch_plan plan;
	struct vg_err err = {0};
	assert_int_equal(fw_parse(plain, sizeof(plain), &fw, &err), 0);
	assert_int_equal(tdx_launch_plan_build(&fw, &plan, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "not a TDX-capable firmware"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_debian_mrtd_both_orders),
		cmocka_unit_test(test_incremental_api),
		cmocka_unit_test(test_no_tdvf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
