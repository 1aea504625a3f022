/*
 * One walk of the launch plan per vendor (issue 14): the prediction, the simulated
 * platform and the KVM backend (against the KVM model, tests/unit/kvm_model.c) all
 * drive sev_launch_plan_walk / tdx_launch_plan_walk with their own sink, over Debian's
 * OVMF (SNP- and TDX-capable). A prediction and a simulated launch agree because they
 * walk the same plan; the KVM backend issues exactly the plan's pages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "firmware/firmware.h"
#include "sev/sev.h"
#include "tdx/tdx.h"
#include "tests/unit/kvm_model.h"

#define DEBIAN_OVMF "/usr/share/ovmf/OVMF.fd"
#define LOW_SIZE (16u << 20)

/* Guest memory of the test: 16 MiB of low RAM and the firmware ending at 4 GiB. */
struct gmem {
	uint8_t *low;
	uint8_t *fw;
	uint64_t fw_gpa, fw_len;
};

static void *gptr(void *ctx, uint64_t gpa, uint64_t len)
{
	struct gmem *g = ctx;
	if (gpa < LOW_SIZE && len <= LOW_SIZE - gpa)
		return g->low + gpa;
	if (gpa >= g->fw_gpa && gpa - g->fw_gpa < g->fw_len && len <= g->fw_len - (gpa - g->fw_gpa))
		return g->fw + (gpa - g->fw_gpa);
	return NULL;
}
static uint8_t *gptr8(void *ctx, uint64_t gpa, uint64_t len) { return gptr(ctx, gpa, len); }

struct fixture {
	uint8_t *img;
	size_t len;
	struct fw_image fw;
	struct gmem g;
};

static void load_from(struct fixture *f, const char *path)
{
	struct vg_err err = { 0 };
	memset(f, 0, sizeof(*f));
	if (access(path, R_OK) || vg_read_file(path, FW_MAX_IMAGE, &f->img, &f->len, NULL)) {
		printf("SKIP: %s not found\n", path);
		skip();
	}
	assert_int_equal(fw_parse(f->img, f->len, &f->fw, &err), 0);
	f->g.low = aligned_alloc(4096, LOW_SIZE);
	memset(f->g.low, 0, LOW_SIZE);
	f->g.fw = aligned_alloc(4096, f->len);
	memcpy(f->g.fw, f->img, f->len); /* what the VMM loaded */
	f->g.fw_gpa = f->fw.gpa;
	f->g.fw_len = f->len;
}

static void load(struct fixture *f) { load_from(f, DEBIAN_OVMF); }

static void unload(struct fixture *f)
{
	free(f->img);
	free(f->g.low);
	free(f->g.fw);
}

static const struct kvm_cpuid_entry2 CPUID[3] = {
	{ .function = 0, .eax = 0xd, .ebx = 0x68747541 },
	{ .function = 1, .eax = 0x00a00f11 },
	{ .function = 0x80000008, .eax = 0x3030 },
};

/* The KVM backend walks the plan against the model (call log reset before the walk). */
static void snp_backend_walk(const struct sev_launch_plan *plan, const struct sev_guest_mem *m)
{
	struct sev_snp_launch l;
	struct vg_err err = { 0 };
	km_reset();
	assert_int_equal(km_snp_start(&l, &err), 0);
	km.n = 0;
	if (sev_snp_launch_plan(&l, plan, m, &err))
		fail_msg("%s / %s", err.msg, km.violation);
}

static void test_snp_one_walk(void **state)
{
	(void)state;
	struct fixture f;
	load(&f);
	struct vg_err err = { 0 };
	struct sev_launch_opts o = { .mode = SEV_MODE_SNP, .vmm = SEV_VMM_VIGIL, .vcpus = 2, .vcpu_sig = 0x00a00f11,
				     .guest_features = 1 };
	struct sev_launch_plan plan;
	assert_int_equal(sev_launch_plan_build(&f.fw, &o, &plan, &err), 0);
	uint8_t want[SEV_DIGEST_MAX];
	size_t wl;
	assert_int_equal(sev_launch_digest(&plan, NULL, want, &wl, NULL, &err), 0);

	/* sim-snp: the same walk over guest memory gives the predicted digest. */
	struct sev_guest_mem m = { .ctx = &f.g, .gpa = gptr8, .cpuid = CPUID, .ncpuid = 3 };
	struct sev_snp_digest d;
	uint64_t pages = 0;
	sev_snp_digest_init(&d, NULL);
	assert_int_equal(sev_sim_snp_launch_plan(&d, &plan, &m, &pages, &err), 0);
	assert_memory_equal(d.ld, want, 48);
	assert_true(pages > f.len / 4096 + 2); /* the image, the sections, two VMSAs */
	/* The CPUID page the guest finds is filled (count 3), the secrets page too. */
	for (size_t i = 0; i < plan.n; i++) {
		const struct sev_launch_step *st = &plan.steps[i];
		if (st->page_type == SEV_SNP_PAGE_CPUID)
			assert_int_equal(vg_le32(gptr(&f.g, st->gpa, 4096)), 3);
		if (st->page_type == SEV_SNP_PAGE_SECRETS)
			assert_int_equal(vg_le32(gptr(&f.g, st->gpa, 4096)), 3);
	}

	/* The KVM backend: exactly the plan's non-VMSA steps, in order, each private. */
	snp_backend_walk(&plan, &m);
	unsigned u = 0;
	for (size_t i = 0; i < plan.n; i++) {
		const struct sev_launch_step *st = &plan.steps[i];
		if (st->kind == SEV_STEP_VMSA)
			continue;
		while (u < km.n && km.calls[u].id != KVM_SEV_SNP_LAUNCH_UPDATE)
			u++;
		assert_true(u < km.n);
		assert_int_equal(km.calls[u].a[0], st->gpa >> 12);
		assert_int_equal(km.calls[u].a[2], st->len);
		assert_int_equal(km.calls[u].type, st->page_type);
		u++;
	}
	assert_string_equal(km.violation, "");

	/* Memory that does not hold the image is refused, by both. */
	f.g.fw[100] ^= 1;
	sev_snp_digest_init(&d, NULL);
	assert_int_equal(sev_sim_snp_launch_plan(&d, &plan, &m, NULL, &err), -EIO);
	assert_non_null(strstr(err.msg, "firmware"));
	sev_launch_plan_free(&plan);
	unload(&f);
}

static void test_tdx_one_walk(void **state)
{
	(void)state;
	struct fixture f;
	load(&f);
	struct vg_err err = { 0 };
	struct tdx_launch_plan plan;
	assert_int_equal(tdx_launch_plan_build(&f.fw, &plan, &err), 0);
	uint8_t want[48], got[48];
	assert_int_equal(tdx_mrtd_compute(&plan, TDX_ORDER_KVM, want, NULL, &err), 0);

	/* sim-tdx over guest memory (sections outside it are zero pages). */
	struct tdx_mrtd m;
	assert_int_equal(tdx_mrtd_init(&m, &err), 0);
	assert_int_equal(tdx_sim_launch_plan(&m, &plan, gptr, &f.g, &err), 0);
	assert_int_equal(tdx_mrtd_final(&m, got, &err), 0);
	assert_memory_equal(got, want, 48);

	/* The KVM backend: one INIT_MEM_REGION per added page, in plan order. */
	struct tdx_launch l;
	struct tdx_caps caps;
	km_reset();
	km.tdx_mode = true;
	tdx_launch_init(&l, &km_io);
	l.kvm_fd = KM_KVM_FD;
	l.vm_fd = KM_VM_FD;
	assert_int_equal(tdx_get_capabilities(&l, &caps, &err), 0);
	struct tdx_td_config cfg = { .xfam = TDX_XFAM_DEFAULT, .cpuid = CPUID, .ncpuid = 3 };
	assert_int_equal(tdx_init_vm(&l, &caps, &cfg, &err), 0);
	km.n = 0;
	assert_int_equal(tdx_launch_plan_mem(&l, KM_VCPU_FD, &plan, gptr, &f.g, &err), 0);
	uint64_t pages = 0, measured = 0;
	for (size_t i = 0; i < plan.n; i++)
		if (plan.r[i].add) {
			pages += plan.r[i].len / 4096;
			measured += plan.r[i].measure ? plan.r[i].len / 4096 : 0;
		}
	assert_int_equal(l.pages_added, pages);
	uint64_t seen_measured = 0;
	for (unsigned i = 0; i < km.n && i < KM_MAX_CALLS; i++)
		if (km.calls[i].id == KVM_TDX_INIT_MEM_REGION && km.calls[i].req == KVM_MEMORY_ENCRYPT_OP)
			seen_measured += km.calls[i].flags & KVM_TDX_MEASURE_MEMORY_REGION ? 1 : 0;
	if (km.n <= KM_MAX_CALLS)
		assert_int_equal(seen_measured, measured);
	assert_string_equal(km.violation, "");
	tdx_caps_free(&caps);
	tdx_launch_release(&l);
	unload(&f);
}

/* Measured direct boot through the snp backend (issue 14, "done means"): OVMF's AmdSev
 * build (the vector's image, with a KERNEL_HASHES section) launched with a kernel, an
 * initrd and a command line. The KVM backend's sink fills the hashes page with QEMU's
 * table and launches it as a measured page, every call passing the KVM model; the
 * simulated walk over the same memory gives sev-snp-measure's digest for those inputs
 * (../shared/vectors/measure/README.md: empty kernel and initrd, "console=ttyS0
 * loglevel=7", 1 vCPU, EPYC-v4, vmm type qemu, guest features 0x21). */
static void test_snp_kernel_hashes(void **state)
{
	(void)state;
	char path[4096];
	const char *v = getenv("VIGIL_VECTORS");
	snprintf(path, sizeof(path), "%s/measure/ovmf_AmdSev_suffix.bin", v ? v : "../shared/vectors");
	struct fixture f;
	load_from(&f, path);
	struct vg_err err = { 0 };
	struct fw_kernel_hashes kh;
	static const uint8_t none[1];
	assert_int_equal(fw_kernel_hashes_from_buffers(none, 0, none, 0, "console=ttyS0 loglevel=7", &kh, &err), 0);
	uint8_t table[FW_HASHES_TABLE_PADDED];
	fw_hashes_table_build(&kh, table);
	struct sev_launch_opts o = { .mode = SEV_MODE_SNP, .vmm = SEV_VMM_QEMU, .vcpus = 1, .vcpu_sig = 0x00800f12,
				     .guest_features = 0x21, .kernel = &kh };
	struct sev_launch_plan plan;
	assert_int_equal(sev_launch_plan_build(&f.fw, &o, &plan, &err), 0);
	uint8_t want[SEV_DIGEST_MAX];
	size_t wl;
	char hex[97];
	assert_int_equal(sev_launch_digest(&plan, NULL, want, &wl, NULL, &err), 0);
	vg_hex_encode(want, 48, hex);
	assert_string_equal(hex, "803f691094946e42068aaa3a8f9e26a5c89f36f7b73ecfb28c653360fe4b3aba7e534442e7e1e17895dfe778d0228977");

	/* The KVM backend over guest memory whose hashes page is still empty. */
	const uint64_t hashes_page = 0x810000, table_gpa = 0x810c00; /* the vector's metadata */
	struct sev_guest_mem m = { .ctx = &f.g, .gpa = gptr8, .cpuid = CPUID, .ncpuid = 3 };
	snp_backend_walk(&plan, &m);
	assert_string_equal(km.violation, "");
	assert_memory_equal(gptr(&f.g, table_gpa, sizeof(table)), table, sizeof(table));
	bool launched = false;
	for (unsigned i = 0; i < km.n && i < KM_MAX_CALLS; i++)
		if (km.calls[i].id == KVM_SEV_SNP_LAUNCH_UPDATE && km.calls[i].a[0] == hashes_page >> 12) {
			assert_int_equal(km.calls[i].type, KVM_SEV_SNP_PAGE_TYPE_NORMAL); /* measured, as QEMU does */
			assert_int_equal(km.calls[i].a[1], (uint64_t)(uintptr_t)gptr(&f.g, hashes_page, 4096));
			launched = true;
		}
	assert_true(launched);

	/* sim-snp: the same walk over that memory is the predicted, reference digest. */
	struct sev_snp_digest d;
	sev_snp_digest_init(&d, NULL);
	assert_int_equal(sev_sim_snp_launch_plan(&d, &plan, &m, NULL, &err), 0);
	assert_memory_equal(d.ld, want, 48);
	/* Another command line is another table, another digest. */
	sev_launch_plan_free(&plan);
	assert_int_equal(fw_kernel_hashes_from_buffers(none, 0, none, 0, "console=ttyS0", &kh, &err), 0);
	assert_int_equal(sev_launch_plan_build(&f.fw, &o, &plan, &err), 0);
	sev_snp_digest_init(&d, NULL);
	assert_int_equal(sev_sim_snp_launch_plan(&d, &plan, &m, NULL, &err), 0);
	assert_memory_not_equal(d.ld, want, 48);
	sev_launch_plan_free(&plan);
	unload(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snp_one_walk),
		cmocka_unit_test(test_tdx_one_walk),
		cmocka_unit_test(test_snp_kernel_hashes),
	};
	return cmocka_run_group_tests_name("launch_walk", tests, NULL, NULL);
}
