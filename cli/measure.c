/*
 * vigil measure: predicts a guest's launch measurement (SNP launch digest,
 * SEV / SEV-ES GCTX.LD, TDX MRTD) from the same inputs the VMM launches with,
 * through the same plan code the VMM and the simulated platforms use.
 */
#include <getopt.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/common.h"
#include "firmware/firmware.h"
#include "sev/sev.h"
#include "tdx/tdx.h"

enum mode { M_SEV, M_SEV_ES, M_SNP, M_TDX };

/* Options, as bits, to say which apply to which mode. */
enum {
	O_KERNEL = 1 << 0, O_INITRD = 1 << 1, O_CMDLINE = 1 << 2, O_VCPUS = 1 << 3, O_VCPU_TYPE = 1 << 4,
	O_VCPU_SIG = 1 << 5, O_VMM = 1 << 6, O_FEATURES = 1 << 7, O_HASH_ONLY = 1 << 8, O_OVMF_HASH = 1 << 9,
	O_TWO_PASS = 1 << 10, O_EDK2 = 1 << 11,
};
static const char *const opt_names[] = {"--kernel", "--initrd", "--cmdline", "--vcpus", "--vcpu-type",
					"--vcpu-sig", "--vmm-type", "--guest-features", "--ovmf-hash-only",
					"--ovmf-hash", "--two-pass", "--edk2"};
static const unsigned allowed[] = {
	[M_SEV] = O_KERNEL | O_INITRD | O_CMDLINE,
	[M_SEV_ES] = O_KERNEL | O_INITRD | O_CMDLINE | O_VCPUS | O_VCPU_TYPE | O_VCPU_SIG | O_VMM | O_FEATURES,
	[M_SNP] = O_KERNEL | O_INITRD | O_CMDLINE | O_VCPUS | O_VCPU_TYPE | O_VCPU_SIG | O_VMM | O_FEATURES |
		  O_HASH_ONLY | O_OVMF_HASH,
	[M_TDX] = O_TWO_PASS | O_KERNEL | O_INITRD | O_CMDLINE | O_EDK2,
};
static const char *const mode_names[] = {"sev", "sev-es", "snp", "tdx"};

struct args {
	enum mode mode;
	unsigned seen;
	const char *firmware, *kernel, *initrd, *cmdline, *vcpu_type;
	uint64_t vcpus, vcpu_sig, features;
	enum sev_vmm_type vmm;
	bool json, two_pass, hash_only, has_seed;
	unsigned edk2;
	uint8_t seed[48];
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vigil measure snp --firmware F [--kernel K [--initrd I] [--cmdline S]] [--vcpus N]\n"
		"                         [--vcpu-type T | --vcpu-sig HEX] [--vmm-type qemu|ec2|gce|vigil]\n"
		"                         [--guest-features HEX] [--ovmf-hash HEX] [--json]\n"
		"       vigil measure snp --ovmf-hash-only --firmware F [--json]\n"
		"       vigil measure sev-es --firmware F [--kernel K ...] [--vcpus N] [--vcpu-type T | --vcpu-sig HEX]\n"
		"                         [--vmm-type T] [--guest-features HEX] [--json]\n"
		"       vigil measure sev --firmware F [--kernel K [--initrd I] [--cmdline S]] [--json]\n"
		"       vigil measure tdx --firmware F [--two-pass] [--kernel K [--initrd I] [--cmdline S]\n"
		"                         [--edk2 stableYYYYMM]] [--json]\n"
		"\n"
		"Prints the launch measurement the guest will report, in lowercase hex, on the first line:\n"
		"  snp     SEV-SNP launch digest (SHA-384, MEASUREMENT in the attestation report)\n"
		"  sev-es  SEV-ES launch digest (SHA-256 GCTX.LD, before LAUNCH_MEASURE's HMAC)\n"
		"  sev     SEV launch digest (SHA-256 GCTX.LD)\n"
		"  tdx     MRTD (SHA-384), in upstream KVM's order, or --two-pass for older stacks; with\n"
		"          --kernel also the RTMR1/RTMR2 events TDVF and the Linux EFI stub measure for a\n"
		"          direct boot, and the RTMR values they give (a prediction under stated assumptions)\n"
		"\n"
		"  --firmware F        OVMF image, mapped to end at 4 GiB (required)\n"
		"  --kernel K          measured direct boot: the kernel (bzImage) file; SEV needs a firmware\n"
		"                      with a kernel-hashes section (OvmfPkg/AmdSev); TDX an EFI-stub kernel\n"
		"  --initrd I          initrd file (default: empty)\n"
		"  --cmdline S         kernel command line (measured with its trailing NUL)\n"
		"  --vcpus N           number of vCPUs (default 1)\n"
		"  --vcpu-type T       QEMU CPU model: EPYC, EPYC-v1..v4, EPYC-Rome, EPYC-Milan, EPYC-Genoa,\n"
		"                      EPYC-Turin, ... (default %s)\n"
		"  --vcpu-sig HEX      CPUID signature instead of a model, e.g. 0x00a00f11\n"
		"  --vmm-type T        whose reset state the VMSAs carry: qemu (default), ec2, gce, vigil\n"
		"  --guest-features HEX  SEV_FEATURES (default 0x1 for snp, 0x0 for sev-es)\n"
		"  --ovmf-hash-only    snp: print the digest of the firmware pages only\n"
		"  --ovmf-hash HEX     snp: start from this precomputed firmware digest\n"
		"  --two-pass          tdx: PAGE.ADD every page of a section, then MR.EXTEND them\n"
		"  --edk2 TAG          tdx: the edk2 stable tag the TDVF was built from (default stable%u):\n"
		"                      where the separator and \"initrd=initrd\" go depends on it\n"
		"  --json              print inputs, digest and per-section breakdown as JSON instead\n"
		"\nExit status: 0 ok, 2 usage, I/O or firmware error (one line on stderr).\n",
		SEV_DEFAULT_VCPU_TYPE, TDX_EDK2_DEFAULT);
}

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;
	fputs("vigil measure: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return VG_EXIT_USAGE;
}

static int parse_hex(const char *opt, const char *s, uint64_t max, uint64_t *out)
{
	char buf[64];
	struct vg_err err = {0};
	if (strlen(s) > 40)
		return fail("%s: '%s' is not a hex number", opt, s);
	snprintf(buf, sizeof(buf), "%s%s", (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ? "" : "0x", s);
	if (vg_parse_u64(buf, max, out, &err))
		return fail("%s: '%s' is not a hex number up to 0x%llx", opt, s, (unsigned long long)max);
	return 0;
}

static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option longopts[] = {
		{"firmware", required_argument, NULL, 'f'},      {"kernel", required_argument, NULL, 'k'},
		{"initrd", required_argument, NULL, 'i'},        {"cmdline", required_argument, NULL, 'c'},
		{"append", required_argument, NULL, 'c'},        {"vcpus", required_argument, NULL, 'n'},
		{"vcpu-type", required_argument, NULL, 't'},     {"vcpu-sig", required_argument, NULL, 's'},
		{"vmm-type", required_argument, NULL, 'v'},      {"guest-features", required_argument, NULL, 'g'},
		{"ovmf-hash-only", no_argument, NULL, 'o'},      {"ovmf-hash", required_argument, NULL, 'O'},
		{"two-pass", no_argument, NULL, '2'},            {"json", no_argument, NULL, 'j'},
		{"edk2", required_argument, NULL, 'e'},
		{"help", no_argument, NULL, 'h'},                {0, 0, 0, 0},
	};
	struct vg_err err = {0};
	int c, rc;
	memset(a, 0, sizeof(*a));
	a->vcpus = 1;
	a->vmm = SEV_VMM_QEMU;
	a->features = ~0ull; /* unset */
	if (argc < 2)
		return usage(stderr), VG_EXIT_USAGE;
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return usage(stdout), -1;
	size_t m;
	for (m = 0; m < VG_ARRAY_SIZE(mode_names); m++)
		if (!strcmp(argv[1], mode_names[m]))
			break;
	if (m == VG_ARRAY_SIZE(mode_names))
		return fail("unknown mode '%s' (snp, sev-es, sev or tdx; see --help)", argv[1]);
	a->mode = (enum mode)m;
	optind = 2;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f': a->firmware = optarg; break;
		case 'k': a->kernel = optarg; a->seen |= O_KERNEL; break;
		case 'i': a->initrd = optarg; a->seen |= O_INITRD; break;
		case 'c': a->cmdline = optarg; a->seen |= O_CMDLINE; break;
		case 'n':
			a->seen |= O_VCPUS;
			if (vg_parse_u64(optarg, SEV_MAX_VCPUS, &a->vcpus, &err) || a->vcpus == 0)
				return fail("--vcpus: '%s' is not a count from 1 to %d", optarg, SEV_MAX_VCPUS);
			break;
		case 't': a->vcpu_type = optarg; a->seen |= O_VCPU_TYPE; break;
		case 's':
			a->seen |= O_VCPU_SIG;
			if ((rc = parse_hex("--vcpu-sig", optarg, UINT32_MAX, &a->vcpu_sig)))
				return rc;
			break;
		case 'v':
			a->seen |= O_VMM;
			if (sev_vmm_type_parse(optarg, &a->vmm, &err))
				return fail("--vmm-type: %s", err.msg);
			break;
		case 'g':
			a->seen |= O_FEATURES;
			if ((rc = parse_hex("--guest-features", optarg, UINT64_MAX - 1, &a->features)))
				return rc;
			break;
		case 'o': a->hash_only = true; a->seen |= O_HASH_ONLY; break;
		case 'O':
			a->seen |= O_OVMF_HASH;
			if (strlen(optarg) != 96 || vg_hex_decode(optarg, a->seed, 48, &err))
				return fail("--ovmf-hash: expected 96 hex digits (a SHA-384 digest)");
			a->has_seed = true;
			break;
		case '2': a->two_pass = true; a->seen |= O_TWO_PASS; break;
		case 'e':
			a->seen |= O_EDK2;
			if (tdx_edk2_tag_parse(optarg, &a->edk2, &err))
				return fail("--edk2: %s", err.msg);
			break;
		case 'j': a->json = true; break;
		case 'h': usage(stdout); return -1;
		default:
			if (optopt)
				return fail("option '%s' needs a value or is unknown (see --help)", argv[optind - 1]);
			return fail("unknown option '%s' (see --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return fail("unexpected argument '%s'", argv[optind]);
	if (!a->firmware)
		return fail("--firmware is required");
	for (size_t i = 0; i < VG_ARRAY_SIZE(opt_names); i++)
		if ((a->seen & (1u << i)) && !(allowed[a->mode] & (1u << i)))
			return fail("%s does not apply to %s", opt_names[i], mode_names[a->mode]);
	if ((a->seen & O_EDK2) && !a->kernel)
		return fail("--edk2 needs --kernel (it selects how TDVF measures a direct boot)");
	if ((a->seen & (O_INITRD | O_CMDLINE)) && !a->kernel)
		return fail("%s needs --kernel (without a kernel nothing is measured for it)",
			    a->initrd ? "--initrd" : "--cmdline");
	if (a->vcpu_type && (a->seen & O_VCPU_SIG))
		return fail("give either --vcpu-type or --vcpu-sig, not both");
	if (a->hash_only && (a->seen & ~(O_HASH_ONLY)))
		return fail("--ovmf-hash-only measures the firmware pages only; it takes no other options");
	if (a->features == ~0ull)
		a->features = a->mode == M_SNP ? 0x1 : 0x0;
	if (!(a->seen & O_VCPU_SIG)) {
		if (!a->vcpu_type)
			a->vcpu_type = SEV_DEFAULT_VCPU_TYPE;
		uint32_t sig;
		if (sev_vcpu_type_lookup(a->vcpu_type, &sig, &err))
			return fail("--vcpu-type: %s", err.msg);
		a->vcpu_sig = sig;
	}
	return 0;
}

/* ------------------------------------------------------------------ JSON */
static json_t *hexj(const void *p, size_t n)
{
	char buf[2 * 64 + 1];
	vg_hex_encode(p, VG_MIN(n, (size_t)64), buf);
	return json_string(buf);
}

static json_t *addrj(uint64_t v)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)v);
	return json_string(buf);
}

static json_t *strj(const char *s) { return s ? json_string(s) : json_null(); }

static json_t *file_info(const char *path, const uint8_t sha256[32])
{
	if (!path)
		return json_null();
	return json_pack("{s:s, s:o}", "path", path, "sha256", hexj(sha256, 32));
}

static json_t *inputs_json(const struct args *a, const struct fw_image *fw, const struct fw_kernel_hashes *kh)
{
	uint8_t fwsha[32];
	unsigned int len;
	EVP_Digest(fw->data, fw->len, fwsha, &len, EVP_sha256(), NULL);
	json_t *in = json_pack("{s:{s:s, s:I, s:o, s:o}}", "firmware", "path", a->firmware, "size",
			       (json_int_t)fw->len, "sha256", hexj(fwsha, 32), "gpa", addrj(fw->gpa));
	if (a->mode == M_TDX)
		json_object_set_new(in, "order", json_string(a->two_pass ? "two-pass" : "kvm"));
	if (a->mode == M_TDX && !a->kernel)
		return in;
	json_object_set_new(in, "kernel", file_info(a->kernel, kh ? kh->kernel : NULL));
	json_object_set_new(in, "initrd", a->kernel ? (a->initrd ? file_info(a->initrd, kh->initrd) : json_null())
						     : json_null());
	json_object_set_new(in, "cmdline", a->kernel ? json_string(a->cmdline ? a->cmdline : "") : json_null());
	if (kh)
		json_object_set_new(in, "cmdline_sha256", hexj(kh->cmdline, 32));
	if (a->mode == M_SEV || a->mode == M_TDX)
		return in;
	if (a->mode == M_SNP)
		json_object_set_new(in, "firmware_only", json_boolean(a->hash_only));
	if (a->hash_only)
		return in;
	char sig[16], feat[24];
	snprintf(sig, sizeof(sig), "0x%08llx", (unsigned long long)a->vcpu_sig);
	snprintf(feat, sizeof(feat), "0x%llx", (unsigned long long)a->features);
	json_object_set_new(in, "vcpus", json_integer((json_int_t)a->vcpus));
	json_object_set_new(in, "vcpu_type", strj(a->vcpu_type));
	json_object_set_new(in, "vcpu_sig", json_string(sig));
	json_object_set_new(in, "vmm_type", json_string(sev_vmm_type_name(a->vmm)));
	json_object_set_new(in, "guest_features", json_string(feat));
	json_object_set_new(in, "sev_es_reset_eip", addrj(fw->sev_es_reset_eip));
	if (a->has_seed)
		json_object_set_new(in, "ovmf_hash", hexj(a->seed, 48));
	return in;
}

static int print_json(json_t *root)
{
	char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (!s)
		return fail("out of memory");
	puts(s);
	free(s);
	return fflush(stdout) ? fail("writing output failed") : VG_EXIT_OK;
}

/* ------------------------------------------------------------ SEV / SNP */
static int measure_sev(const struct args *a, const struct fw_image *fw)
{
	struct vg_err err = {0};
	struct fw_kernel_hashes kh;
	if (a->kernel && fw_kernel_hashes_from_files(a->kernel, a->initrd, a->cmdline, &kh, &err))
		return fail("%s", err.msg);
	struct sev_launch_opts o = {
		.mode = a->mode == M_SNP ? SEV_MODE_SNP : a->mode == M_SEV_ES ? SEV_MODE_SEV_ES : SEV_MODE_SEV,
		.vmm = a->vmm,
		.vcpus = (uint32_t)a->vcpus,
		.vcpu_sig = (uint32_t)a->vcpu_sig,
		.guest_features = a->features,
		.kernel = a->kernel ? &kh : NULL,
		.firmware_only = a->hash_only,
	};
	struct sev_launch_plan plan;
	if (sev_launch_plan_build(fw, &o, &plan, &err))
		return fail("%s: %s", a->firmware, err.msg);
	uint8_t digest[SEV_DIGEST_MAX];
	size_t dlen;
	uint8_t (*after)[SEV_DIGEST_MAX] = a->json ? calloc(plan.n, SEV_DIGEST_MAX) : NULL;
	if (a->json && !after) {
		sev_launch_plan_free(&plan);
		return fail("out of memory");
	}
	if (sev_launch_digest(&plan, a->has_seed ? a->seed : NULL, digest, &dlen, after, &err)) {
		free(after);
		sev_launch_plan_free(&plan);
		return fail("%s", err.msg);
	}
	if (!a->json) {
		char hex[2 * SEV_DIGEST_MAX + 1];
		vg_hex_encode(digest, dlen, hex);
		free(after);
		sev_launch_plan_free(&plan);
		printf("%s\n", hex);
		return fflush(stdout) ? fail("writing output failed") : VG_EXIT_OK;
	}
	json_t *sections = json_array();
	for (size_t i = 0; i < plan.n; i++) {
		const struct sev_launch_step *s = &plan.steps[i];
		json_t *j = json_pack("{s:s}", "name", s->name);
		/* an SEV-ES VMSA has no GPA in the measurement (LAUNCH_UPDATE_VMSA) */
		if (o.mode == SEV_MODE_SNP || s->page_type != SEV_SNP_PAGE_VMSA)
			json_object_set_new(j, "gpa", addrj(s->gpa));
		json_object_set_new(j, "size", json_integer((json_int_t)s->len));
		if (o.mode == SEV_MODE_SNP) {
			json_object_set_new(j, "pages", json_integer((json_int_t)(s->len / 4096)));
			json_object_set_new(j, "page_type", json_string(sev_snp_page_type_name(s->page_type)));
			if (s->page_type == SEV_SNP_PAGE_VMSA)
				json_object_set_new(j, "vcpu", json_integer(s->vcpu));
			if (a->has_seed && s->kind == SEV_STEP_IMAGE)
				json_object_set_new(j, "replaced_by_ovmf_hash", json_true());
			json_object_set_new(j, "digest_after", hexj(after[i], 48));
		} else {
			if (s->page_type == SEV_SNP_PAGE_VMSA)
				json_object_set_new(j, "vcpu", json_integer(s->vcpu));
			json_object_set_new(j, "sha256", hexj(after[i], 32));
		}
		json_array_append_new(sections, j);
	}
	json_t *root = json_pack("{s:s, s:s, s:o, s:o, s:o}", "mode", mode_names[a->mode], "algorithm",
				 dlen == 48 ? "sha384" : "sha256", "digest", hexj(digest, dlen), "inputs",
				 inputs_json(a, fw, a->kernel ? &kh : NULL), "sections", sections);
	free(after);
	sev_launch_plan_free(&plan);
	return print_json(root);
}

/* ------------------------------------------------------------------ TDX */
/* Direct boot (--kernel): the blobs, read once, and what TDVF and the stub measure. */
struct tdx_direct {
	uint8_t *kernel, *initrd;
	size_t kernel_len, initrd_len;
	struct fw_kernel_hashes kh; /* SHA-256 of the inputs, for "inputs" */
	struct tdx_boot_prediction p;
	bool live;
};

static void tdx_direct_free(struct tdx_direct *d)
{
	if (d->live)
		tdx_boot_prediction_free(&d->p);
	free(d->kernel);
	free(d->initrd);
}

static int tdx_direct_predict(const struct args *a, struct tdx_direct *d)
{
	struct vg_err err = {0};
	if (vg_read_file(a->kernel, 1u << 30, &d->kernel, &d->kernel_len, &err))
		return fail("kernel %s", err.msg);
	if (a->initrd && vg_read_file(a->initrd, 1u << 30, &d->initrd, &d->initrd_len, &err))
		return fail("initrd %s", err.msg);
	if (fw_kernel_hashes_from_buffers(d->kernel, d->kernel_len, d->initrd, d->initrd_len, a->cmdline, &d->kh, &err))
		return fail("%s", err.msg);
	struct tdx_boot_inputs in = {.kernel = d->kernel, .kernel_len = d->kernel_len, .initrd = d->initrd,
				     .initrd_len = d->initrd_len, .cmdline = a->cmdline, .edk2 = a->edk2};
	if (tdx_boot_predict(&in, &d->p, &err))
		return fail("%s: %s", a->kernel, err.msg);
	d->live = true;
	return 0;
}

/* What the RTMR values rest on, said with every prediction (text and JSON). */
static json_t *tdx_assumptions(const struct tdx_direct *d, unsigned edk2)
{
	const struct tdx_boot_prediction *p = &d->p;
	json_t *as = json_array();
	char buf[400];
	snprintf(buf, sizeof(buf),
		 "TDVF is an edk2 OvmfPkg build (IntelTdxX64, or OvmfPkgX64 with TDX) following the rules of "
		 "edk2-stable%u (QemuKernelLoaderFsDxe, X86QemuLoadImageLib, DxeTpm2MeasureBootLib, TdTcg2Dxe); a "
		 "build with other boot-manager code may measure other events", edk2);
	json_array_append_new(as, json_string(buf));
	json_array_append_new(as, json_string("the VMM serves the kernel file unmodified through fw_cfg (vigil-vmm "
					      "does; QEMU patches the bzImage setup header, which changes the "
					      "Authenticode digest)"));
	json_array_append_new(as, json_string("nothing else from outside the firmware volume (PCI option ROM, "
					      "other EFI application) is measured into RTMR1 before the kernel "
					      "(none in a vigil-vmm TD)"));
	json_array_append_new(as, json_string("ExitBootServices succeeds at the first call (a retry adds "
					      "\"Exit Boot Services Returned with Failure\" to RTMR1)"));
	if (!p->separator_in_rtmr1)
		json_array_append_new(as, json_string("this edk2 (stable202302 to stable202408) extends the "
						      "ReadyToBoot separator into RTMR0, not RTMR1"));
	if (p->stub_cc == 1)
		snprintf(buf, sizeof(buf), "kernel %s: its EFI stub (Linux 6.9 or later) measures LoadOptions and "
			 "the initrd through EFI_CC_MEASUREMENT_PROTOCOL", p->kernel_version);
	else if (p->stub_cc == 0)
		snprintf(buf, sizeof(buf), "kernel %s predates Linux 6.9: unless its distribution backported the "
			 "CC measurement, its EFI stub measures nothing and RTMR2 stays zero", p->kernel_version);
	else
		snprintf(buf, sizeof(buf), "kernel version unknown (no bzImage version string): whether its EFI "
			 "stub measures LoadOptions and the initrd into RTMR2 (Linux 6.9 or later) is not known");
	json_array_append_new(as, json_string(buf));
	if (d->initrd_len)
		json_array_append_new(as, json_string("the stub loads the initrd through LoadFile2 "
						      "(LINUX_EFI_INITRD_MEDIA_GUID), which QemuKernelLoaderFsDxe "
						      "installs for a non-empty initrd"));
	json_array_append_new(as, json_string("RTMR1 and RTMR2 as at ExitBootServices: the OS may extend them "
					      "later; not verified against a real TD: the rules are read from "
					      "the edk2 and Linux sources"));
	return as;
}

static char *utf16_ascii(const uint8_t *u, size_t len)
{
	char *s = calloc(len / 2 + 1, 1);
	for (size_t i = 0; s && i + 1 < len && u[i]; i += 2)
		s[i / 2] = (char)u[i]; /* widened bytes: the high byte is 0 */
	return s;
}

static json_t *tdx_direct_json(const struct tdx_direct *d, unsigned edk2)
{
	const struct tdx_boot_prediction *p = &d->p;
	json_t *evs = json_array();
	for (size_t i = 0; i < p->n; i++) {
		const struct tdx_boot_event *e = &p->ev[i];
		char type[16];
		snprintf(type, sizeof(type), "0x%08x", e->type);
		json_t *j = json_pack("{s:I, s:I, s:I, s:I, s:s, s:s, s:o, s:s, s:s, s:s}", "index", (json_int_t)i,
				      "rtmr", (json_int_t)e->rtmr, "cc_mr_index", (json_int_t)e->rtmr + 1, "pcr",
				      (json_int_t)e->pcr, "event_type", e->type_name, "event_type_value", type,
				      "digest", hexj(e->digest, 48), "what", e->what, "by", e->by, "source", e->source);
		if (e->data) {
			char *hex = malloc(2 * e->data_len + 1);
			if (hex) {
				vg_hex_encode(e->data, e->data_len, hex);
				json_object_set_new(j, "event_data", json_string(hex));
				free(hex);
			}
		}
		json_array_append_new(evs, j);
	}
	char tag[24];
	snprintf(tag, sizeof(tag), "stable%u", edk2);
	char *lo = p->load_options ? utf16_ascii(p->load_options, p->load_options_len) : NULL;
	json_t *lo_j = lo ? json_string(lo) : json_null();
	free(lo);
	return json_pack("{s:s, s:s, s:o, s:s, s:o, s:o, s:o, s:b, s:o, s:b, s:o}", "model",
			 "edk2 TDVF direct boot through fw_cfg, Linux EFI stub, up to ExitBootServices", "edk2", tag,
			 "load_options", lo_j ? lo_j : json_null(), "kernel_version", p->kernel_version,
			 "kernel_authenticode_sha384", hexj(p->ev[0].digest, 48), "events", evs, "rtmr1",
			 hexj(p->rtmr1, 48), "rtmr1_complete", 1, "rtmr2", hexj(p->rtmr2, 48), "rtmr2_complete",
			 p->stub_cc == 1, "assumptions", tdx_assumptions(d, edk2));
}

static void tdx_direct_text(const struct tdx_direct *d, unsigned edk2)
{
	const struct tdx_boot_prediction *p = &d->p;
	char hex[97];
	vg_hex_encode(p->rtmr1, 48, hex);
	printf("rtmr1 %s predicted\n", hex);
	vg_hex_encode(p->rtmr2, 48, hex);
	printf("rtmr2 %s predicted%s\n", hex, p->stub_cc == 1 ? "" : " (incomplete: see the kernel assumption)");
	for (size_t i = 0; i < p->n; i++) {
		vg_hex_encode(p->ev[i].digest, 48, hex);
		printf("event %zu rtmr%u pcr%u %s %s %s\n", i, p->ev[i].rtmr, p->ev[i].pcr, p->ev[i].type_name, hex,
		       p->ev[i].what);
	}
	json_t *as = tdx_assumptions(d, edk2);
	size_t i;
	json_t *v;
	json_array_foreach(as, i, v)
		printf("assumption: %s\n", json_string_value(v));
	json_decref(as);
}

static int measure_tdx(const struct args *a, const struct fw_image *fw)
{
	struct vg_err err = {0};
	struct tdx_launch_plan plan;
	uint8_t mrtd[TDX_MRTD_LEN];
	struct tdx_direct d = {0};
	unsigned edk2 = a->edk2 ? a->edk2 : TDX_EDK2_DEFAULT;
	int rc;
	if (tdx_launch_plan_build(fw, &plan, &err))
		return fail("%s: %s", a->firmware, err.msg);
	if (tdx_mrtd_compute(&plan, a->two_pass ? TDX_ORDER_TWO_PASS : TDX_ORDER_KVM, mrtd, NULL, &err))
		return fail("%s", err.msg);
	/* MRTD covers the firmware only: the blobs reach TDVF through fw_cfg after the launch. */
	if (a->kernel && (rc = tdx_direct_predict(a, &d))) {
		tdx_direct_free(&d);
		return rc;
	}
	if (!a->json) {
		char hex[2 * TDX_MRTD_LEN + 1];
		vg_hex_encode(mrtd, sizeof(mrtd), hex);
		printf("%s\n", hex);
		if (a->kernel)
			tdx_direct_text(&d, edk2);
		tdx_direct_free(&d);
		return fflush(stdout) ? fail("writing output failed") : VG_EXIT_OK;
	}
	json_t *sections = json_array();
	for (size_t i = 0; i < plan.n; i++) {
		const struct tdx_launch_region *r = &plan.r[i];
		uint64_t pages = r->len / TDX_PAGE_SIZE;
		json_t *attrs = json_array();
		if (r->attributes & FW_TDVF_ATTR_MR_EXTEND)
			json_array_append_new(attrs, json_string("MR.EXTEND"));
		if (r->attributes & FW_TDVF_ATTR_PAGE_AUG)
			json_array_append_new(attrs, json_string("PAGE.AUG"));
		json_t *j = json_pack("{s:s, s:o, s:I, s:I, s:o, s:I, s:I}", "name", r->name, "gpa", addrj(r->gpa),
				      "size", (json_int_t)r->len, "pages", (json_int_t)pages, "attributes", attrs,
				      "page_adds", (json_int_t)(r->add ? pages : 0), "mr_extends",
				      (json_int_t)(r->add && r->measure ? pages * 16 : 0));
		if (r->add && r->measure) {
			uint8_t h[48];
			unsigned int len;
			if (r->data && EVP_Digest(r->data, r->len, h, &len, EVP_sha384(), NULL))
				json_object_set_new(j, "contents_sha384", hexj(h, 48));
		}
		json_array_append_new(sections, j);
	}
	json_t *root = json_pack("{s:s, s:s, s:o, s:o, s:o}", "mode", "tdx", "algorithm", "sha384", "digest",
				 hexj(mrtd, sizeof(mrtd)), "inputs", inputs_json(a, fw, a->kernel ? &d.kh : NULL),
				 "sections", sections);
	if (a->kernel)
		json_object_set_new(root, "direct_boot", tdx_direct_json(&d, edk2));
	tdx_direct_free(&d);
	return print_json(root);
}

/* Input checks (issue 13): what no platform could launch is refused, and
 * --json never drops or mangles an input it cannot carry. */
static bool utf8_ok(const char *s)
{
	json_t *t = s ? json_string(s) : NULL; /* jansson accepts valid UTF-8 only */
	json_decref(t);
	return !s || t != NULL;
}

static int check_inputs(const struct args *a, const struct fw_image *fw, size_t len)
{
	const char *const names[] = {"firmware path", "--kernel path", "--initrd path", "--cmdline"};
	const char *const vals[] = {a->firmware, a->kernel, a->initrd, a->cmdline};
	for (size_t i = 0; a->json && i < VG_ARRAY_SIZE(vals); i++)
		if (!utf8_ok(vals[i]))
			return fail("--json: the %s is not valid UTF-8, which JSON cannot carry; measure without --json",
				    names[i]);
	/* firmware is mapped page by page below 4 GiB: a size that is not whole
	 * pages is not an image as built (extra or missing bytes) */
	if (len % 4096)
		return fail("%s: %zu bytes is not a whole number of 4 KiB pages: not a firmware image a %s guest "
			    "could launch (truncated, or bytes added)", a->firmware, len, mode_names[a->mode]);
	if (a->mode != M_TDX && !fw->has_table)
		return fail("%s: not an OVMF build (no footer table at its end): no %s launch is possible", a->firmware,
			    mode_names[a->mode]);
	return 0;
}

int cli_measure(int argc, char **argv)
{
	struct args a;
	int rc = parse_args(argc, argv, &a);
	if (rc)
		return rc < 0 ? VG_EXIT_OK : rc;
	struct vg_err err = {0};
	uint8_t *data = NULL;
	size_t len = 0;
	if (vg_read_file(a.firmware, FW_MAX_IMAGE, &data, &len, &err))
		return fail("firmware %s", err.msg);
	struct fw_image fw;
	if (fw_parse(data, len, &fw, &err)) {
		free(data);
		return fail("%s: %s", a.firmware, err.msg);
	}
	if ((rc = check_inputs(&a, &fw, len))) {
		free(data);
		return rc;
	}
	rc = a.mode == M_TDX ? measure_tdx(&a, &fw) : measure_sev(&a, &fw);
	free(data);
	return rc;
}
