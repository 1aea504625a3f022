/* Unit tests for the SEV / SEV-ES / SNP launch-digest model (sev/ section 2):
 * every value of ../shared/vectors/measure/README.md, Debian's OVMF.fd, and
 * the failures a tenant must see. */
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
#include "sev/sev.h"

#define DEBIAN_OVMF "/usr/share/ovmf/OVMF.fd"
#define EPYC_V4 0x00800f12u
#define CMDLINE "console=ttyS0 loglevel=7"

struct loaded {
	uint8_t *data;
	size_t len;
	struct fw_image fw;
};

static void load_path_or_skip(const char *path, struct loaded *l)
{
	struct vg_err err = {0};
	if (access(path, R_OK) || vg_read_file(path, FW_MAX_IMAGE, &l->data, &l->len, NULL)) {
		printf("SKIP: %s not found\n", path);
		skip();
	}
	assert_int_equal(fw_parse(l->data, l->len, &l->fw, &err), 0);
}

static void load(const char *name, struct loaded *l)
{
	char path[4096];
	const char *v = getenv("VIGIL_VECTORS");
	if (!strcmp(name, "debian"))
		snprintf(path, sizeof(path), "%s", DEBIAN_OVMF);
	else
		snprintf(path, sizeof(path), "%s/measure/%s", v ? v : "../shared/vectors", name);
	load_path_or_skip(path, l);
}

static void hexof(const uint8_t *p, size_t n, char *out) { vg_hex_encode(p, n, out); }

/* kernel: NULL = no kernel; "" = empty kernel (/dev/null) with initrd and cmdline as given. */
struct case_ {
	const char *fw;
	enum sev_mode mode;
	enum sev_vmm_type vmm;
	uint32_t vcpus;
	uint64_t features;
	bool kernel, initrd;
	const char *cmdline;
	const char *want;
};

static int run_case(const struct case_ *c, char *hex, struct vg_err *err)
{
	struct loaded l;
	struct fw_kernel_hashes kh;
	struct sev_launch_plan plan;
	uint8_t digest[SEV_DIGEST_MAX];
	size_t dlen;
	load(c->fw, &l);
	if (c->kernel)
		assert_int_equal(fw_kernel_hashes_from_files("/dev/null", c->initrd ? "/dev/null" : NULL, c->cmdline,
							     &kh, err), 0);
	struct sev_launch_opts o = {.mode = c->mode, .vmm = c->vmm ? c->vmm : SEV_VMM_QEMU, .vcpus = c->vcpus,
				    .vcpu_sig = EPYC_V4, .guest_features = c->features,
				    .kernel = c->kernel ? &kh : NULL};
	int rc = sev_launch_plan_build(&l.fw, &o, &plan, err);
	if (!rc) {
		rc = sev_launch_digest(&plan, NULL, digest, &dlen, NULL, err);
		sev_launch_plan_free(&plan);
		if (!rc)
			hexof(digest, dlen, hex);
	}
	free(l.data);
	return rc;
}

static void check_cases(const struct case_ *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char hex[2 * SEV_DIGEST_MAX + 1];
		struct vg_err err = {0};
		if (run_case(&cases[i], hex, &err))
			fail_msg("case %zu (%s): %s", i, cases[i].fw, err.msg);
		if (strcmp(hex, cases[i].want))
			fail_msg("case %zu (%s): got %s, want %s", i, cases[i].fw, hex, cases[i].want);
	}
}

#define AMDSEV "ovmf_AmdSev_suffix.bin"
#define OVMFX64 "ovmf_OvmfX64_suffix.bin"

static void test_snp_readme_values(void **state)
{
	(void)state;
	static const struct case_ cases[] = {
		{AMDSEV, SEV_MODE_SNP, 0, 1, 0x21, true, true, CMDLINE,
		 "803f691094946e42068aaa3a8f9e26a5c89f36f7b73ecfb28c653360fe4b3aba7e534442e7e1e17895dfe778d0228977"},
		{AMDSEV, SEV_MODE_SNP, 0, 1, 0x1, true, true, CMDLINE,
		 "6d287813eb5222d770f75005c664e34c204f385ce832cc2ce7d0d6f354454362f390ef83a92046c042e706363b4b08fa"},
		{AMDSEV, SEV_MODE_SNP, 0, 1, 0x21, true, false, "",
		 "329c8ce0972ae52343b64d34a434a86f245dfd74f5ed7aae15d22efc78fb9683632b9b50e4e1d7fa41179ef98a7ef198"},
		{AMDSEV, SEV_MODE_SNP, 0, 1, 0x21, false, false, NULL,
		 "e1e1ca029dd7973ab9513295be68198472dcd4fc834bd9af9b63f6e8a1674dbf281a9278a4a2ebe0eed9f22adbcd0e2b"},
		{AMDSEV, SEV_MODE_SNP, 0, 4, 0x21, true, false, "",
		 "4953b1fb416fa874980e8442b3706d345926d5f38879134e00813c5d7abcbe78eafe7b422907be0b4698e2414a631942"},
		{AMDSEV, SEV_MODE_SNP, SEV_VMM_EC2, 1, 0x21, true, false, "",
		 "0ce9ccc06bab55eebe8abc234f3df6514883977a68a591b71052498ab52b2f1aa415db338033946ef93aa8278c0d67fb"},
		{AMDSEV, SEV_MODE_SNP, SEV_VMM_GCE, 1, 0x1, true, false, "",
		 "5da7106cf14cf46b1725ebab123eb9e53bd46a1e9f400cd0c08e7827b04b688ea8b4e403c8404efed4397ea5d5d0722e"},
		{OVMFX64, SEV_MODE_SNP, 0, 1, 0x21, false, false, NULL,
		 "28797ae0afaba4005a81e629acebfb59e6687949d6be44007cd5506823b0dd66f146aaae26ff291eed7b493d8a64c385"},
	};
	check_cases(cases, VG_ARRAY_SIZE(cases));
}

/* Further values from the reference tool's own test suite (multi-vCPU GCE,
 * EC2 with SNP-only features, features 0x1 without a kernel). */
static void test_snp_reference_suite_values(void **state)
{
	(void)state;
	static const struct case_ cases[] = {
		{AMDSEV, SEV_MODE_SNP, SEV_VMM_EC2, 1, 0x1, true, false, "",
		 "0883bd0eeb716e65b7b977a321c278d1e51b33b5c655fab985443bbcc65c086b9c15e8a0bd8811050dec7e24964e5056"},
		{AMDSEV, SEV_MODE_SNP, SEV_VMM_GCE, 4, 0x1, true, false, "",
		 "5c5debf100fc339f90276e761ee1f1658d08922c3b20e2a2e6c7a6c3370b2452a15a00eae11886a93d6fd1e7ab81e29d"},
		{AMDSEV, SEV_MODE_SNP, 0, 1, 0x1, false, false, NULL,
		 "19358ba9a7615534a9a1e2f0dfc29384dcd4dcb7062ff9c6013b26869a5fc6ecabe033c48dd6f6db5d6d76e7c5df632d"},
		{AMDSEV, SEV_MODE_SNP, 0, 4, 0x1, true, false, "",
		 "5061fffb019493a903613d56d54b94912a1a2f9e4502385f5c194616753720a92441310ba6c4933de877c36e23046ad5"},
		{OVMFX64, SEV_MODE_SNP, 0, 1, 0x1, false, false, NULL,
		 "da0296de8193586a5512078dcd719eccecbd87e2b825ad4148c44f665dc87df21e5b49e21523a9ad993afdb6a30b4005"},
		{AMDSEV, SEV_MODE_SEV, 0, 1, 0, true, false, NULL,
		 "77f613d7bbcdf12a73782ea9e88b0172aeda50d1a54201cb903594ff52846898"},
	};
	check_cases(cases, VG_ARRAY_SIZE(cases));
}

static void test_sev_es_and_sev_values(void **state)
{
	(void)state;
	static const struct case_ cases[] = {
		{AMDSEV, SEV_MODE_SEV_ES, 0, 1, 0, true, false, "",
		 "13810ae661ea11e2bb205621f582fee268f0367c8f97bc297b7fadef3e12002c"},
		{AMDSEV, SEV_MODE_SEV_ES, 0, 4, 0, true, false, "",
		 "0dccbcaba8e90b261bd0d2e1863a2f9da714768b7b2a19363cd6ae35aa90de91"},
		{AMDSEV, SEV_MODE_SEV, 0, 1, 0, true, true, CMDLINE,
		 "82a3ee5d537c3620628270c292ae30cb40c3c878666a7890ee7ef2a08fb535ff"},
		{OVMFX64, SEV_MODE_SEV, 0, 1, 0, false, false, NULL,
		 "b4c021e085fb83ceffe6571a3d357b4a98773c83c474e47f76c876708fe316da"},
	};
	check_cases(cases, VG_ARRAY_SIZE(cases));
}

static void test_debian_snp(void **state)
{
	(void)state;
	static const struct case_ cases[] = {
		{"debian", SEV_MODE_SNP, 0, 1, 0x1, false, false, NULL,
		 "11570979c77a0adb515761a702527c8b9e11554e730552621d950988613a3a75c6ff1703f540bd22a9beede8fe7a97e3"},
		/* vigil-vmm programs QEMU's architectural reset state (sev_vcpu_reset_state) */
		{"debian", SEV_MODE_SNP, SEV_VMM_VIGIL, 1, 0x1, false, false, NULL,
		 "11570979c77a0adb515761a702527c8b9e11554e730552621d950988613a3a75c6ff1703f540bd22a9beede8fe7a97e3"},
	};
	check_cases(cases, VG_ARRAY_SIZE(cases));
}

/* The firmware-only digest, and a launch seeded with it instead of the image. */
static void test_ovmf_hash_seed(void **state)
{
	(void)state;
	struct loaded l;
	struct fw_kernel_hashes kh;
	struct sev_launch_plan plan;
	struct vg_err err = {0};
	uint8_t seed[48], digest[SEV_DIGEST_MAX];
	size_t dlen;
	char hex[97];
	load(AMDSEV, &l);
	struct sev_launch_opts o = {.mode = SEV_MODE_SNP, .firmware_only = true};
	assert_int_equal(sev_launch_plan_build(&l.fw, &o, &plan, &err), 0);
	assert_int_equal(plan.n, 1);
	assert_int_equal(sev_launch_digest(&plan, NULL, seed, &dlen, NULL, &err), 0);
	sev_launch_plan_free(&plan);
	hexof(seed, 48, hex);
	assert_string_equal(hex, "086e2e9149ebf45abdc3445fba5b2da8270bdbb04094d7a2c37faaa4b24af3aa16aff8c374c2a55c467a50da6d466b74");

	assert_int_equal(fw_kernel_hashes_from_files("/dev/null", "/dev/null", CMDLINE, &kh, &err), 0);
	o = (struct sev_launch_opts){.mode = SEV_MODE_SNP, .vmm = SEV_VMM_QEMU, .vcpus = 1, .vcpu_sig = EPYC_V4,
				     .guest_features = 0x21, .kernel = &kh};
	assert_int_equal(sev_launch_plan_build(&l.fw, &o, &plan, &err), 0);
	assert_int_equal(sev_launch_digest(&plan, seed, digest, &dlen, NULL, &err), 0);
	hexof(digest, dlen, hex);
	assert_string_equal(hex, "803f691094946e42068aaa3a8f9e26a5c89f36f7b73ecfb28c653360fe4b3aba7e534442e7e1e17895dfe778d0228977");
	/* a wrong seed changes the result */
	seed[0] ^= 1;
	assert_int_equal(sev_launch_digest(&plan, seed, digest, &dlen, NULL, &err), 0);
	hexof(digest, dlen, hex);
	assert_string_not_equal(hex, "803f691094946e42068aaa3a8f9e26a5c89f36f7b73ecfb28c653360fe4b3aba7e534442e7e1e17895dfe778d0228977");
	sev_launch_plan_free(&plan);
	free(l.data);
}

static void test_unit_values(void **state)
{
	(void)state;
	static const uint8_t zero_page[4096];
	uint8_t h[48];
	unsigned int len;
	char hex[97];
	/* SHA-384 of a zero page */
	assert_true(EVP_Digest(zero_page, sizeof(zero_page), h, &len, EVP_sha384(), NULL));
	hexof(h, 48, hex);
	assert_string_equal(hex, "c0e59a3e3ffbd3b5c75428fb36432facabc745944296ff515f737c4fef4efc64586809f7a16f56354a1eaecf2aa8d774");

	struct loaded l;
	struct sev_snp_digest d;
	struct vg_err err = {0};
	load("debian", &l);
	/* the digest after the first page of Debian's OVMF.fd */
	sev_snp_digest_init(&d, NULL);
	assert_int_equal(sev_snp_digest_update_page(&d, 0xffe00000, SEV_SNP_PAGE_NORMAL, l.data, &err), 0);
	hexof(d.ld, 48, hex);
	assert_string_equal(hex, "70fc16490a7d4d6ebdfed2a3cff294b87ba7175d2fbd8670b077ce238c2a605fb7aae264e161b87e926a12f81b7e24b4");
	/* the same through a precomputed page hash */
	assert_true(EVP_Digest(l.data, 4096, h, &len, EVP_sha384(), NULL));
	sev_snp_digest_init(&d, NULL);
	sev_snp_digest_update_hashed(&d, 0xffe00000, SEV_SNP_PAGE_NORMAL, h);
	hexof(d.ld, 48, hex);
	assert_string_equal(hex, "70fc16490a7d4d6ebdfed2a3cff294b87ba7175d2fbd8670b077ce238c2a605fb7aae264e161b87e926a12f81b7e24b4");

	/* BSP and AP VMSA pages for EPYC-v4, features 0x1 */
	struct sev_vcpu_reset st;
	uint8_t page[SEV_VMSA_SIZE];
	assert_int_equal(l.fw.sev_es_reset_eip, 0x0080b004);
	assert_int_equal(sev_vcpu_reset_state(SEV_VMM_QEMU, SEV_BSP_RESET_EIP, EPYC_V4, &st, &err), 0);
	assert_int_equal(st.cs.base, 0xffff0000);
	assert_int_equal(st.rip, 0xfff0);
	sev_vmsa_build(&st, 0x1, page);
	assert_true(EVP_Digest(page, sizeof(page), h, &len, EVP_sha384(), NULL));
	hexof(h, 48, hex);
	assert_string_equal(hex, "77920c4c629ff47e90c0e174fc1ad0eb6fa664f88cd4739488058a8c6cb1a77b3856f55378e9518d0da99452d51c553a");
	assert_int_equal(sev_vcpu_reset_state(SEV_VMM_QEMU, l.fw.sev_es_reset_eip, EPYC_V4, &st, &err), 0);
	assert_int_equal(st.cs.base, 0x00800000);
	assert_int_equal(st.rip, 0xb004);
	sev_vmsa_build(&st, 0x1, page);
	assert_true(EVP_Digest(page, sizeof(page), h, &len, EVP_sha384(), NULL));
	hexof(h, 48, hex);
	assert_string_equal(hex, "8413b852790765a310d95867a8b00bfca3a802b5a80830044b45e253fe96222657e11e53fcf63eb0e0afd722385bf7b4");
	free(l.data);

	/* the page holding the hashes table at offset 0xc00 */
	struct fw_kernel_hashes kh;
	uint8_t hp[4096] = {0};
	assert_int_equal(fw_kernel_hashes_from_files("/dev/null", "/dev/null", CMDLINE, &kh, &err), 0);
	fw_hashes_table_build(&kh, hp + 0xc00);
	assert_true(EVP_Digest(hp, sizeof(hp), h, &len, EVP_sha384(), NULL));
	hexof(h, 48, hex);
	assert_string_equal(hex, "adbef9bc7385f7a6dcb8774523cf024b403f193a47962309b277c4109aa70b4ba0355d1657b50e9625d5bd1129e7fd27");
}

/* Hashing the page contents on several threads gives the page-by-page chain. */
static void test_parallel_equals_sequential(void **state)
{
	(void)state;
	struct loaded l;
	struct sev_snp_digest a, b;
	struct vg_err err = {0};
	load("debian", &l);
	sev_snp_digest_init(&a, NULL);
	sev_snp_digest_init(&b, NULL);
	assert_int_equal(sev_snp_digest_update_pages(&a, l.fw.gpa, SEV_SNP_PAGE_NORMAL, l.data, l.len, &err), 0);
	for (size_t off = 0; off < l.len; off += 4096)
		assert_int_equal(sev_snp_digest_update_page(&b, l.fw.gpa + off, SEV_SNP_PAGE_NORMAL, l.data + off, &err), 0);
	assert_memory_equal(a.ld, b.ld, 48);
	/* misuse is refused */
	assert_int_equal(sev_snp_digest_update_page(&a, 0x1001, SEV_SNP_PAGE_ZERO, NULL, &err), -EINVAL);
	assert_int_equal(sev_snp_digest_update_page(&a, 0x1000, SEV_SNP_PAGE_NORMAL, NULL, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "needs its contents"));
	assert_int_equal(sev_snp_digest_update_page(&a, 0x1000, 9, l.data, &err), -EINVAL);
	free(l.data);
}

/* The plan: order and page types the KVM backend and sim-snp follow. */
static void test_plan_order(void **state)
{
	(void)state;
	struct loaded l;
	struct fw_kernel_hashes kh;
	struct sev_launch_plan plan;
	struct vg_err err = {0};
	load(AMDSEV, &l);
	assert_int_equal(fw_kernel_hashes_from_files("/dev/null", NULL, "", &kh, &err), 0);
	struct sev_launch_opts o = {.mode = SEV_MODE_SNP, .vmm = SEV_VMM_EC2, .vcpus = 2, .vcpu_sig = EPYC_V4,
				    .guest_features = 0x1, .kernel = &kh};
	assert_int_equal(sev_launch_plan_build(&l.fw, &o, &plan, &err), 0);
	static const char *const names[] = {"firmware", "SEC_MEM", "SEC_MEM", "SECRETS", "SVSM_CAA",
					    "KERNEL_HASHES", "SEC_MEM", "CPUID", "VMSA", "VMSA"};
	static const unsigned types[] = {1, 3, 3, 5, 3, 1, 3, 6, 2, 2};
	assert_int_equal(plan.n, VG_ARRAY_SIZE(names));
	for (size_t i = 0; i < plan.n; i++) {
		assert_string_equal(plan.steps[i].name, names[i]);
		assert_int_equal(plan.steps[i].page_type, types[i]);
	}
	assert_int_equal(plan.steps[0].gpa, 0xfffff000);
	assert_int_equal(plan.steps[5].gpa, 0x810000);
	assert_ptr_equal(plan.steps[5].data, plan.hashes);
	assert_int_equal(plan.hashes[0xc00], 0x06); /* the table's GUID starts at the table GPA */
	assert_int_equal(plan.steps[8].gpa, SEV_SNP_VMSA_GPA);
	assert_int_equal(plan.steps[9].vcpu, 1);
	assert_ptr_equal(plan.steps[9].data, plan.vmsa_ap);
	sev_launch_plan_free(&plan);
	free(l.data);
}

static void expect_plan_error(const char *fw, const struct sev_launch_opts *o, const char *want)
{
	struct loaded l;
	struct sev_launch_plan plan;
	struct vg_err err = {0};
	load(fw, &l);
	assert_int_not_equal(sev_launch_plan_build(&l.fw, o, &plan, &err), 0);
	if (!strstr(err.msg, want))
		fail_msg("error '%s' does not mention '%s'", err.msg, want);
	free(l.data);
}

static void test_failures(void **state)
{
	(void)state;
	struct fw_kernel_hashes kh;
	struct vg_err err = {0};
	assert_int_equal(fw_kernel_hashes_from_files("/dev/null", NULL, "", &kh, &err), 0);
	struct sev_launch_opts snp = {.mode = SEV_MODE_SNP, .vmm = SEV_VMM_QEMU, .vcpus = 1, .vcpu_sig = EPYC_V4,
				      .guest_features = 1, .kernel = &kh};
	expect_plan_error(OVMFX64, &snp, "no SNP_KERNEL_HASHES section");
	expect_plan_error("debian", &snp, "no SNP_KERNEL_HASHES section");
	struct sev_launch_opts sev = {.mode = SEV_MODE_SEV, .kernel = &kh};
	expect_plan_error(OVMFX64, &sev, "no kernel-hashes table");
	struct sev_launch_opts es = {.mode = SEV_MODE_SEV_ES, .vmm = SEV_VMM_QEMU, .vcpus = 1, .kernel = &kh};
	expect_plan_error("debian", &es, "no kernel-hashes table");
	snp.kernel = NULL;
	snp.vcpus = 0;
	expect_plan_error(AMDSEV, &snp, "vCPU count 0");
	struct sev_launch_opts seeded = {.mode = SEV_MODE_SEV, .firmware_only = true};
	expect_plan_error(AMDSEV, &seeded, "SNP only");

	/* Debian's split CODE image carries no SEV metadata: no SNP launch */
	struct loaded l;
	struct sev_launch_plan plan;
	load_path_or_skip("/usr/share/OVMF/OVMF_CODE_4M.fd", &l);
	snp.vcpus = 1;
	assert_int_equal(sev_launch_plan_build(&l.fw, &snp, &plan, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "not an SNP-capable OVMF build"));
	assert_non_null(strstr(err.msg, "no SEV metadata"));
	free(l.data);
}

static void test_vcpu_types(void **state)
{
	(void)state;
	struct vg_err err = {0};
	uint32_t sig;
	static const struct {
		const char *name;
		uint32_t sig;
	} want[] = {{"EPYC", 0x00800f12},       {"EPYC-v1", 0x00800f12},   {"EPYC-v2", 0x00800f12},
		    {"EPYC-v3", 0x00800f12},    {"EPYC-v4", 0x00800f12},   {"EPYC-Rome", 0x00830f10},
		    {"EPYC-Milan", 0x00a00f11}, {"EPYC-Genoa", 0x00a10f10}};
	for (size_t i = 0; i < VG_ARRAY_SIZE(want); i++) {
		assert_int_equal(sev_vcpu_type_lookup(want[i].name, &sig, &err), 0);
		assert_int_equal(sig, want[i].sig);
	}
	assert_int_equal(sev_cpu_signature(23, 1, 2), 0x00800f12);
	assert_int_equal(sev_cpu_signature(25, 17, 0), 0x00a10f10);
	assert_int_equal(sev_cpu_signature(6, 143, 8), 0x000806f8); /* family <= 0xf: no extended family */
	assert_int_equal(sev_vcpu_type_lookup("EPYC-v9", &sig, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "unknown vCPU type 'EPYC-v9'"));
	enum sev_vmm_type t;
	assert_int_equal(sev_vmm_type_parse("GCE", &t, &err), 0);
	assert_int_equal(t, SEV_VMM_GCE);
	assert_string_equal(sev_vmm_type_name(SEV_VMM_VIGIL), "vigil");
	assert_int_equal(sev_vmm_type_parse("kvmtool", &t, &err), -EINVAL);
	/* RDX carries the signature for qemu and vigil; EC2 and GCE use 0x600 */
	struct sev_vcpu_reset st;
	assert_int_equal(sev_vcpu_reset_state(SEV_VMM_VIGIL, SEV_BSP_RESET_EIP, 0x00a10f10, &st, &err), 0);
	assert_int_equal(st.rdx, 0x00a10f10);
	assert_int_equal(sev_vcpu_reset_state(SEV_VMM_EC2, SEV_BSP_RESET_EIP, 0x00a10f10, &st, &err), 0);
	assert_int_equal(st.rdx, 0x600);
	assert_int_equal(st.cs.attrib, 0x9a);
	assert_int_equal(sev_vcpu_reset_state((enum sev_vmm_type)9, SEV_BSP_RESET_EIP, 0, &st, &err), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snp_readme_values),
		cmocka_unit_test(test_snp_reference_suite_values),
		cmocka_unit_test(test_sev_es_and_sev_values),
		cmocka_unit_test(test_debian_snp),
		cmocka_unit_test(test_ovmf_hash_seed),
		cmocka_unit_test(test_unit_values),
		cmocka_unit_test(test_parallel_equals_sequential),
		cmocka_unit_test(test_plan_order),
		cmocka_unit_test(test_failures),
		cmocka_unit_test(test_vcpu_types),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
