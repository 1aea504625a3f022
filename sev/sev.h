/*
 * sev/: AMD SEV, SEV-ES and SEV-SNP. The one public header of this directory.
 * Prefix: sev_.
 *
 * Sections (each owned by one line of work; keep them apart):
 *   1. SNP attestation report format        (used by attest/ and sim-snp)
 *   2. Launch digests and VMSA               (used by vigil measure and sim-snp)
 *   3. KVM launch flow and simulated platform (used by the VMM's platform seam)
 */
#ifndef VIGIL_SEV_H
#define VIGIL_SEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

/* ===================================== 1. SNP attestation report format === */

/*
 * AMD SEV-SNP ATTESTATION_REPORT (SEV Secure Nested Paging Firmware ABI
 * Specification, publication 56860, rev 1.57, section 7.3 "ATTESTATION_REPORT
 * Structure", Table 23; TCB_VERSION Table 3; GUEST_POLICY Table 9;
 * PLATFORM_INFO Table 24). All multi-byte fields are little-endian.
 * Versions 2, 3 (adds CPUID_FAM/MOD/STEP) and 5 (adds mitigation vectors)
 * share the layout below; other versions are rejected by the parser.
 */
#define SEV_SNP_REPORT_SIZE 0x4A0u      /* 1184 bytes */
#define SEV_SNP_REPORT_SIGNED_LEN 0x2A0u /* signature covers bytes 0x000..0x29F */
#define SEV_SNP_SIG_COMPONENT_LEN 72u    /* R and S, little-endian, zero-extended */
#define SEV_SNP_SIG_ALGO_ECDSA_P384_SHA384 1u

struct sev_snp_report_raw {
	uint8_t version[4];              /* 0x000 */
	uint8_t guest_svn[4];            /* 0x004 */
	uint8_t policy[8];               /* 0x008 */
	uint8_t family_id[16];           /* 0x010 */
	uint8_t image_id[16];            /* 0x020 */
	uint8_t vmpl[4];                 /* 0x030 */
	uint8_t signature_algo[4];       /* 0x034 */
	uint8_t current_tcb[8];          /* 0x038 */
	uint8_t platform_info[8];        /* 0x040 */
	uint8_t flags[4];                /* 0x048: AUTHOR_KEY_EN, MASK_CHIP_KEY, SIGNING_KEY */
	uint8_t reserved0[4];            /* 0x04C */
	uint8_t report_data[64];         /* 0x050 */
	uint8_t measurement[48];         /* 0x090 */
	uint8_t host_data[32];           /* 0x0C0 */
	uint8_t id_key_digest[48];       /* 0x0E0 */
	uint8_t author_key_digest[48];   /* 0x110 */
	uint8_t report_id[32];           /* 0x140 */
	uint8_t report_id_ma[32];        /* 0x160 */
	uint8_t reported_tcb[8];         /* 0x180 */
	uint8_t cpuid_fam_id;            /* 0x188 (v3+) */
	uint8_t cpuid_mod_id;            /* 0x189 (v3+) */
	uint8_t cpuid_step;              /* 0x18A (v3+) */
	uint8_t reserved1[21];           /* 0x18B */
	uint8_t chip_id[64];             /* 0x1A0 */
	uint8_t committed_tcb[8];        /* 0x1E0 */
	uint8_t current_build, current_minor, current_major, reserved2;       /* 0x1E8 */
	uint8_t committed_build, committed_minor, committed_major, reserved3; /* 0x1EC */
	uint8_t launch_tcb[8];           /* 0x1F0 */
	uint8_t launch_mit_vector[8];    /* 0x1F8 (v5) */
	uint8_t current_mit_vector[8];   /* 0x200 (v5) */
	uint8_t reserved4[0x2A0 - 0x208];/* 0x208 */
	uint8_t sig_r[72];               /* 0x2A0 */
	uint8_t sig_s[72];               /* 0x2E8 */
	uint8_t sig_reserved[0x4A0 - 0x330]; /* 0x330 */
};
VG_ASSERT_SIZE(struct sev_snp_report_raw, 0x4A0, "SNP ABI 56860 rev 1.57 Table 23 ATTESTATION_REPORT");

/* GUEST_POLICY bits (Table 9). */
#define SEV_SNP_POLICY_SMT (1ull << 16)
#define SEV_SNP_POLICY_RESERVED1 (1ull << 17) /* must be 1 */
#define SEV_SNP_POLICY_MIGRATE_MA (1ull << 18)
#define SEV_SNP_POLICY_DEBUG (1ull << 19)
#define SEV_SNP_POLICY_SINGLE_SOCKET (1ull << 20)
#define SEV_SNP_POLICY_CXL_ALLOW (1ull << 21)
#define SEV_SNP_POLICY_MEM_AES_256_XTS (1ull << 22)
#define SEV_SNP_POLICY_RAPL_DIS (1ull << 23)
#define SEV_SNP_POLICY_CIPHERTEXT_HIDING (1ull << 24)
#define SEV_SNP_POLICY_PAGE_SWAP_DISABLE (1ull << 25)

/* PLATFORM_INFO bits (Table 24); unknown bits are kept, never an error. */
#define SEV_SNP_PLATINFO_SMT_EN (1ull << 0)
#define SEV_SNP_PLATINFO_TSME_EN (1ull << 1)
#define SEV_SNP_PLATINFO_ECC_EN (1ull << 2)
#define SEV_SNP_PLATINFO_RAPL_DIS (1ull << 3)
#define SEV_SNP_PLATINFO_CIPHERTEXT_HIDING_EN (1ull << 4)
#define SEV_SNP_PLATINFO_ALIAS_CHECK_COMPLETE (1ull << 5)
#define SEV_SNP_PLATINFO_TIO_EN (1ull << 7)

/* Which key signed the report (flags bits 4:2). */
enum sev_snp_signing_key { SEV_SNP_KEY_VCEK = 0, SEV_SNP_KEY_VLEK = 1, SEV_SNP_KEY_NONE = 7 };

/* Product generation: the TCB_VERSION layout depends on it. */
enum sev_snp_product { SEV_SNP_PRODUCT_UNKNOWN = 0, SEV_SNP_PRODUCT_MILAN, SEV_SNP_PRODUCT_GENOA,
		       SEV_SNP_PRODUCT_TURIN };
const char *sev_snp_product_name(enum sev_snp_product p); /* "Milan", ... or "unknown" */
/* Product from CPUID family/model (report v3+); UNKNOWN when not recognised. */
enum sev_snp_product sev_snp_product_from_cpuid(uint8_t family, uint8_t model);

/* A decoded TCB_VERSION. Milan/Genoa: bl[0] tee[1] snp[6] ucode[7];
 * Turin: fmc[0] bl[1] tee[2] snp[3] ucode[7]. */
struct sev_snp_tcb {
	uint64_t raw;
	uint8_t fmc, bl, tee, snp, ucode;
};
void sev_snp_tcb_decode(uint64_t raw, enum sev_snp_product p, struct sev_snp_tcb *out);

/* The parsed report: every field, host-endian. */
struct sev_snp_report {
	uint32_t version, guest_svn;
	uint64_t policy;
	uint8_t abi_minor, abi_major; /* from policy */
	uint8_t family_id[16], image_id[16];
	uint32_t vmpl, signature_algo;
	uint64_t current_tcb, platform_info;
	uint32_t flags;
	bool author_key_en, mask_chip_key;
	uint8_t signing_key; /* enum sev_snp_signing_key */
	uint8_t report_data[64], measurement[48], host_data[32];
	uint8_t id_key_digest[48], author_key_digest[48];
	uint8_t report_id[32], report_id_ma[32];
	uint64_t reported_tcb, committed_tcb, launch_tcb;
	bool has_cpuid; /* v3+ */
	uint8_t cpuid_fam_id, cpuid_mod_id, cpuid_step;
	uint8_t chip_id[64];
	uint8_t current_build, current_minor, current_major;
	uint8_t committed_build, committed_minor, committed_major;
	bool has_mit_vectors; /* v5 */
	uint64_t launch_mit_vector, current_mit_vector;
	uint8_t sig_r[72], sig_s[72]; /* little-endian as in the report */
};

/* Parses exactly one report (len must be SEV_SNP_REPORT_SIZE; for buffers that
 * carry more, pass the first 0x4A0 bytes). Rejects unsupported versions by
 * number. Returns 0 or -EBADMSG / -ENOTSUP with err filled. */
int sev_snp_report_parse(const uint8_t *data, size_t len, struct sev_snp_report *out,
			 struct vg_err *err);
/* Serializes into out[SEV_SNP_REPORT_SIZE] (reserved fields zero). For v2 the
 * CPUID and mitigation fields are written as zero. Inverse of the parser. */
void sev_snp_report_serialize(const struct sev_snp_report *r, uint8_t out[SEV_SNP_REPORT_SIZE]);

/* ======================================= 2. Launch digests and VMSA ======== */
/*
 * The launch-measurement model for SEV, SEV-ES and SEV-SNP, shared by
 * `vigil measure` (prediction), the KVM backend (which issues the launch
 * commands from the same plan) and sim-snp (which computes the digest it
 * reports with the same code). See docs/measurement.md.
 *
 *   plan   = sev_launch_plan_build(firmware, options)   ordered launch steps
 *   digest = sev_launch_digest(plan)                     what the PSP reports
 *
 * Incremental use (sim-snp): sev_snp_digest_init, then one
 * sev_snp_digest_update_page per page in launch order.
 */
struct fw_image;
struct fw_kernel_hashes;
struct kvm_cpuid_entry2;

enum sev_mode {
	SEV_MODE_SEV = 1,
	SEV_MODE_SEV_ES = 2,
	SEV_MODE_SNP = 3,
};
const char *sev_mode_name(enum sev_mode m); /* "sev", "sev-es", "snp" */

/* Whose reset state the VMSAs carry: each VMM programs slightly different
 * initial registers. SEV_VMM_VIGIL is our own VMM (sev_vcpu_reset_state). */
enum sev_vmm_type {
	SEV_VMM_QEMU = 1,
	SEV_VMM_EC2 = 2,
	SEV_VMM_GCE = 3,
	SEV_VMM_VIGIL = 4,
};
const char *sev_vmm_type_name(enum sev_vmm_type t); /* "qemu", "ec2", "gce", "vigil" */
int sev_vmm_type_parse(const char *s, enum sev_vmm_type *out, struct vg_err *err);

/* SNP_LAUNCH_UPDATE page types: enum sev_snp_page_type (section 3). */
const char *sev_snp_page_type_name(unsigned type); /* "NORMAL", "VMSA", ... */

/* -------------------------------------------------------------- vCPU types */
/* CPUID Fn0000_0001_EAX signature from family, model, stepping (AMD pub. 25481). */
uint32_t sev_cpu_signature(unsigned family, unsigned model, unsigned stepping);
struct sev_vcpu_type {
	const char *name; /* QEMU -cpu model: "EPYC-v4", "EPYC-Milan", ... */
	uint32_t sig;
};
extern const struct sev_vcpu_type sev_vcpu_types[];
extern const size_t sev_vcpu_types_count;
/* Looks a QEMU CPU model name up (case-sensitive, as QEMU spells it). */
int sev_vcpu_type_lookup(const char *name, uint32_t *sig, struct vg_err *err);
#define SEV_DEFAULT_VCPU_TYPE "EPYC-v4"

/* ------------------------------------------------------ vCPU reset state */
/*
 * The initial register state of a vCPU as the VMSA records it. For
 * SEV_VMM_VIGIL this is the one definition of what vigil-vmm programs into a
 * confidential vCPU (KVM_SET_SREGS / KVM_SET_REGS / KVM_SET_FPU / XCR0 /
 * IA32_PAT): the VMM must program exactly these values, so that the VMSA KVM
 * builds from them is the one we predict. It is the architectural reset
 * state (APM Vol 2 "Processor Initialization State") at the firmware's reset
 * vector, with KVM's own additions for SEV-ES (EFER.SVME, CR4.MCE), RDX =
 * the vCPU's CPUID signature, MXCSR 0x1f80, FCW 0x37f, XCR0 1 and the
 * default PAT. The AP state starts at the firmware's SEV-ES AP reset EIP.
 * (This is also KVM's own vCPU reset state once CPUID is set, and QEMU's:
 * today SEV_VMM_VIGIL and SEV_VMM_QEMU give the same VMSA.)
 */
struct sev_segment {
	uint16_t selector;
	uint16_t attrib; /* VMCB-packed attributes */
	uint32_t limit;
	uint64_t base;
};
struct sev_vcpu_reset {
	struct sev_segment es, cs, ss, ds, fs, gs, gdtr, ldtr, idtr, tr;
	uint64_t efer, cr0, cr4, dr6, dr7, rflags, rip, rdx, g_pat, xcr0;
	uint32_t mxcsr;
	uint16_t fcw;
};
#define SEV_BSP_RESET_EIP 0xfffffff0u
/* Fills the reset state of a vCPU starting at eip (BSP: SEV_BSP_RESET_EIP;
 * APs: the firmware's SEV-ES reset block EIP): CS base eip & 0xffff0000,
 * RIP eip & 0xffff. */
int sev_vcpu_reset_state(enum sev_vmm_type vmm, uint32_t eip, uint32_t vcpu_sig, struct sev_vcpu_reset *out,
			 struct vg_err *err);

/* ------------------------------------------------------------------- VMSA */
/* The SEV-ES/SNP VMCB save area (AMD APM Vol 2, Table B-4 "VMSA Layout,
 * State Save Area for SEV-ES"), one 4 KiB page. Fields not named are zero at
 * launch. Little-endian, as the hardware reads it. */
struct sev_vmsa_seg {
	uint16_t selector;
	uint16_t attrib;
	uint32_t limit;
	uint64_t base;
} __attribute__((packed));
struct sev_vmsa {
	struct sev_vmsa_seg es, cs, ss, ds, fs, gs, gdtr, ldtr, idtr, tr; /* 0x000 */
	uint8_t reserved_0a0[0x30];                                        /* 0x0a0: SSPs, U_CET, VMPL, CPL */
	uint64_t efer;                                                     /* 0x0d0 */
	uint8_t reserved_0d8[0x68];
	uint64_t xss, cr4, cr3, cr0, dr7, dr6, rflags, rip; /* 0x140 */
	uint8_t reserved_180[0xe8];                           /* DRx masks, RSP, RAX, MSRs, ... */
	uint64_t g_pat;                                       /* 0x268 */
	uint8_t reserved_270[0x98];
	uint64_t rcx, rdx, rbx; /* 0x308 */
	uint8_t reserved_320[0x90];
	uint64_t sev_features; /* 0x3b0 */
	uint8_t reserved_3b8[0x30];
	uint64_t xcr0; /* 0x3e8 */
	uint8_t reserved_3f0[0x18];
	uint32_t mxcsr; /* 0x408 */
	uint16_t x87_ftw, x87_fsw, x87_fcw, x87_fop, x87_ds, x87_cs; /* 0x40c */
	uint8_t reserved_418[0xbe8];
} __attribute__((packed));
VG_ASSERT_SIZE(struct sev_vmsa, 4096, "AMD APM Vol 2 Table B-4, VMSA page");
#define SEV_VMSA_SIZE 4096u

/* Serializes a reset state and SEV_FEATURES into a VMSA page. */
void sev_vmsa_build(const struct sev_vcpu_reset *st, uint64_t sev_features, uint8_t page[SEV_VMSA_SIZE]);

/* ----------------------------------------------------- SNP launch digest */
/* PAGE_INFO (SNP ABI spec 8.17.2, "PAGE_INFO Structure"): the 112 bytes
 * hashed into the launch digest for every page of SNP_LAUNCH_UPDATE. */
struct sev_snp_page_info {
	uint8_t digest_cur[48];
	uint8_t contents[48]; /* SHA-384 of the page, or zeros (ZERO, UNMEASURED, SECRETS, CPUID) */
	uint16_t length;      /* 0x70 */
	uint8_t page_type;
	uint8_t imi_page;
	uint8_t vmpl3_perms, vmpl2_perms, vmpl1_perms;
	uint8_t reserved;
	uint64_t gpa;
} __attribute__((packed));
VG_ASSERT_SIZE(struct sev_snp_page_info, 0x70, "SNP ABI spec 8.17.2, PAGE_INFO");

#define SEV_SNP_DIGEST_LEN 48
#define SEV_DIGEST_MAX 48
/* The RMP records VMSA pages at GPA (u64)-1 with bits 51 and above cleared, page-aligned. */
#define SEV_SNP_VMSA_GPA 0xFFFFFFFFF000ull

struct sev_snp_digest {
	uint8_t ld[SEV_SNP_DIGEST_LEN];
};
/* Starts from 48 zero bytes, or from seed (a precomputed firmware digest). */
void sev_snp_digest_init(struct sev_snp_digest *d, const uint8_t *seed);
/* One page of SNP_LAUNCH_UPDATE. contents: the 4096 bytes of a NORMAL or
 * VMSA page (required for those), ignored for the other types (measured as
 * zeros). gpa must be page-aligned. */
int sev_snp_digest_update_page(struct sev_snp_digest *d, uint64_t gpa, unsigned page_type,
			       const uint8_t *contents, struct vg_err *err);
/* Same with the page's SHA-384 already computed (NULL: zeros). */
void sev_snp_digest_update_hashed(struct sev_snp_digest *d, uint64_t gpa, unsigned page_type,
				  const uint8_t contents_hash[48]);
/* len/4096 consecutive pages; NORMAL/VMSA contents are hashed on all cores. */
int sev_snp_digest_update_pages(struct sev_snp_digest *d, uint64_t gpa, unsigned page_type,
				const uint8_t *contents, size_t len, struct vg_err *err);

/* ---------------------------------------------------------- launch plan */
/* One launch command, in order. SNP: SNP_LAUNCH_UPDATE of len/4096 pages of
 * page_type at gpa (VMSA steps: one vCPU, measured at SEV_SNP_VMSA_GPA).
 * SEV/SEV-ES: LAUNCH_UPDATE_DATA of len bytes at gpa, or LAUNCH_UPDATE_VMSA. */
/* What a step launches: the firmware image the VMM loaded, a section the launch
 * prepares in guest memory (SEV metadata sections, the hashes table), or a VMSA. */
enum sev_step_kind { SEV_STEP_IMAGE = 0, SEV_STEP_SECTION = 1, SEV_STEP_VMSA = 2 };
struct sev_launch_step {
	enum sev_step_kind kind;
	const char *name;    /* "firmware", "SEC_MEM", "SECRETS", "CPUID", "SVSM_CAA",
				"KERNEL_HASHES", "hashes table", "VMSA" */
	uint64_t gpa;        /* VMSA steps: SEV_SNP_VMSA_GPA */
	uint64_t len;        /* bytes (SNP: a multiple of 4096) */
	unsigned page_type;  /* enum sev_snp_page_type (SEV/SEV-ES: NORMAL or VMSA) */
	const uint8_t *data; /* len bytes, or NULL: zero / unmeasured pages, or pages whose
				contents the platform supplies (SECRETS, CPUID) */
	uint32_t vcpu;       /* VMSA steps: vCPU index (0 = BSP) */
};

struct sev_launch_opts {
	enum sev_mode mode;
	enum sev_vmm_type vmm;         /* SEV-ES, SNP */
	uint32_t vcpus;                /* SEV-ES, SNP: at least 1 */
	uint32_t vcpu_sig;             /* SEV-ES, SNP: CPUID signature (RDX at reset) */
	uint64_t guest_features;       /* SEV_FEATURES in the VMSA (SNP default 0x1) */
	const struct fw_kernel_hashes *kernel; /* measured direct boot, or NULL */
	bool firmware_only;            /* SNP: the firmware pages only ("OVMF hash") */
};
#define SEV_MAX_VCPUS 4096

struct sev_launch_plan {
	enum sev_mode mode;
	size_t n;
	struct sev_launch_step *steps;
	uint8_t *hashes; /* SNP: the KERNEL_HASHES page(s); SEV/SEV-ES: the padded table */
	size_t hashes_len;
	uint8_t vmsa_bsp[SEV_VMSA_SIZE];
	uint8_t vmsa_ap[SEV_VMSA_SIZE];
	uint32_t ap_eip; /* SEV-ES/SNP: the APs' start (the firmware's SEV-ES reset block) */
};

/*
 * The launch steps in the order QEMU and KVM issue them. SNP: the firmware
 * pages ending at 4 GiB, the SEV metadata sections in order (SEC_MEM as ZERO
 * (GCE: UNMEASURED), SECRETS, CPUID (EC2: after all other sections),
 * SVSM_CAA as ZERO, KERNEL_HASHES as the hashes page or ZERO), then one VMSA
 * per vCPU. SEV/SEV-ES: the firmware, the hashes table, and for SEV-ES the
 * VMSAs. Errors: missing footer table / SEV metadata / reset block, a kernel
 * with firmware that has no kernel-hashes section, misaligned image size.
 */
int sev_launch_plan_build(const struct fw_image *fw, const struct sev_launch_opts *o,
			  struct sev_launch_plan *plan, struct vg_err *err);
void sev_launch_plan_free(struct sev_launch_plan *plan);

/*
 * The launch digest of a plan: SNP: the 48-byte SHA-384 launch digest,
 * starting from seed (48 bytes, a precomputed firmware digest, in which case
 * the "firmware" step is skipped) or zeros; SEV/SEV-ES: the 32-byte SHA-256
 * GCTX.LD. after, when not NULL, has plan->n entries: SNP: the digest after
 * each step; SEV/SEV-ES: the SHA-256 of each step's bytes alone.
 */
int sev_launch_digest(const struct sev_launch_plan *plan, const uint8_t *seed, uint8_t out[SEV_DIGEST_MAX],
		      size_t *out_len, uint8_t (*after)[SEV_DIGEST_MAX], struct vg_err *err);

/*
 * One walk of the launch plan, shared by the prediction (sev_launch_digest), the
 * simulated secure processor (sim-snp) and the KVM backend: each supplies a sink
 * that receives every step in launch order. The walk stops at the first error
 * (prefixed with the step's name).
 */
struct sev_plan_sink {
	void *ctx;
	int (*step)(void *ctx, size_t index, const struct sev_launch_step *st, struct vg_err *err);
};
int sev_launch_plan_walk(const struct sev_launch_plan *plan, const struct sev_plan_sink *sink, struct vg_err *err);

/*
 * What a launch in guest memory needs from the VMM (sim-snp and the KVM backend):
 * the host view of guest memory, the vCPU CPUID set (the CPUID page is filled from
 * it), and, for sim-snp, the VMSA of the registers the VMM actually programmed into
 * a vCPU (NULL: the plan's predicted VMSA).
 */
struct sev_guest_mem {
	void *ctx;
	uint8_t *(*gpa)(void *ctx, uint64_t gpa, uint64_t len);
	const struct kvm_cpuid_entry2 *cpuid;
	unsigned ncpuid;
	int (*vmsa)(void *ctx, uint32_t vcpu, uint64_t sev_features, uint8_t page[SEV_VMSA_SIZE],
		    struct vg_err *err);
};
/* Puts a step's contents into guest memory as the launch does: the image must
 * already be there (the VMM loaded it) and is checked; ZERO and UNMEASURED pages
 * are zeroed, the CPUID page filled (sev_snp_cpuid_page_fill), NORMAL data (the
 * hashes page) copied; SECRETS left to the caller. *mem: the step's host view. */
int sev_snp_step_prepare(const struct sev_guest_mem *m, const struct sev_launch_step *st, uint8_t **mem,
			 struct vg_err *err);


/* ========================= 3. KVM launch flow and simulated platform ====== */

/*
 * The SEV-SNP launch on the upstream KVM UAPI (Linux 6.11+,
 * Documentation/virt/kvm/x86/amd-memory-encryption.rst). Order:
 *
 *   sev_snp_probe (/dev/kvm) -> KVM_CREATE_VM(KVM_X86_SNP_VM) -> sev_snp_init
 *   (KVM_SEV_INIT2, hypercall exits) -> guest_memfd memslots -> sev_snp_launch_start
 *   -> sev_snp_launch_update per range (private first, then loop) -> vCPUs created
 *   and their registers set -> sev_snp_launch_finish (KVM encrypts and measures one
 *   VMSA per vCPU) -> run, with sev_cc_conversion_exit for private/shared conversion.
 *
 * Every KVM call goes through l->io (struct vg_kvm_io in common/linux_kvm_cc.h), so
 * protocol tests can stand a recorder in for the file descriptors.
 */
struct vg_kvm_io;
struct kvm_run;

/* SNP launch page types (KVM_SEV_SNP_PAGE_TYPE_*, SNP ABI Table 67 PAGE_TYPE). */
enum sev_snp_page_type {
	SEV_SNP_PAGE_NORMAL = 1,
	SEV_SNP_PAGE_VMSA = 2,
	SEV_SNP_PAGE_ZERO = 3,
	SEV_SNP_PAGE_UNMEASURED = 4,
	SEV_SNP_PAGE_SECRETS = 5,
	SEV_SNP_PAGE_CPUID = 6,
};

/* Policy Vigil launches with unless asked otherwise: SMT allowed, the must-be-one bit,
 * debug off, migration agent off, ABI 0.0 minimum. */
#define SEV_SNP_POLICY_VIGIL_DEFAULT (SEV_SNP_POLICY_SMT | SEV_SNP_POLICY_RESERVED1)
/* SEV_FEATURES bit 0 (SNPActive): KVM sets it itself for an SNP VM. */
#define SEV_FEATURE_SNP_ACTIVE 1ull

struct sev_snp_launch {
	const struct vg_kvm_io *io;
	int kvm_fd;              /* /dev/kvm (for probing) */
	int vm_fd;               /* from KVM_CREATE_VM(KVM_X86_SNP_VM) */
	int sev_fd;              /* /dev/sev: proves the right to use the PSP */
	uint64_t policy;         /* GUEST_POLICY for SNP_LAUNCH_START */
	uint64_t guest_features; /* SEV_FEATURES of the VMSAs (bit 0 SNPActive included) */
	uint32_t fw_error;       /* firmware status of the last failed command */
	uint64_t pages_updated;  /* pages KVM reported as processed by LAUNCH_UPDATE */
	unsigned ioctl_calls;    /* LAUNCH_UPDATE calls issued (partial progress shows here) */
	int state;               /* internal: which step came last */
};

/* Fills l with defaults (policy SEV_SNP_POLICY_VIGIL_DEFAULT, features 0x1, fds -1). */
void sev_snp_launch_init(struct sev_snp_launch *l, const struct vg_kvm_io *io);
/* Checks a policy before any KVM call as KVM's snp_launch_start does
 * (arch/x86/kvm/svm/sev.c): only SNP_POLICY_MASK_VALID bits (ABI minor/major, SMT,
 * reserved-1, DEBUG, SINGLE_SOCKET; MIGRATE_MA bit 18 is not among them), the
 * reserved-1 bit set, SINGLE_SOCKET refused. SMT is not required (newer kernels
 * dropped that check; Linux 6.11 still refuses a policy without it, and says so). */
int sev_snp_policy_check(uint64_t policy, struct vg_err *err);

/*
 * The SNP CPUID page (SNP firmware ABI 56860, "CPUID Reporting" / SNP_CPUID_FUNCTION;
 * the guest's view: Linux arch/x86/include/asm/sev.h struct snp_cpuid_table): a
 * count, then up to 64 functions. Linux's setup_cpuid_table terminates a guest
 * whose page has count 0.
 */
#define SEV_SNP_CPUID_MAX 64
struct sev_snp_cpuid_fn {
	uint32_t eax_in, ecx_in;
	uint64_t xcr0_in, xss_in;
	uint32_t eax, ebx, ecx, edx;
	uint64_t reserved;
} __attribute__((packed));
VG_ASSERT_SIZE(struct sev_snp_cpuid_fn, 48, "SNP ABI SNP_CPUID_FUNCTION entry");
struct sev_snp_cpuid_page {
	uint32_t count;
	uint32_t reserved1;
	uint64_t reserved2;
	struct sev_snp_cpuid_fn fn[SEV_SNP_CPUID_MAX];
	uint8_t pad[4096 - 16 - SEV_SNP_CPUID_MAX * 48];
} __attribute__((packed));
VG_ASSERT_SIZE(struct sev_snp_cpuid_page, 4096, "SNP ABI CPUID page");
struct kvm_cpuid_entry2;
/* Fills the CPUID page from the vCPU CPUID set as QEMU's sev_snp_cpuid_info_fill
 * does: one function per entry (ECX_IN only for entries with a significant index),
 * and for leaf 0xD subleaves 0 and 1 EBX 0x240 with XCR0_IN 1 (the initial XCR0 = 1
 * state). All-zero entries are left out (the guest reads absent leaves as zeros);
 * more than 64 others: -E2BIG. */
int sev_snp_cpuid_page_fill(const struct kvm_cpuid_entry2 *e, unsigned n, uint8_t page[4096],
			    struct vg_err *err);
/* After the firmware rejected a CPUID page (and KVM wrote the firmware's values
 * back): 0 when the pages agree, else -EIO with every differing register named
 * ("leaf 0x7 subleaf 0x0 EBX: ours 0x.. firmware 0x.."). */
int sev_snp_cpuid_page_diff(const uint8_t ours[4096], const uint8_t theirs[4096], struct vg_err *err);
/* Probes /dev/kvm: KVM_CAP_VM_TYPES offers KVM_X86_SNP_VM, guest_memfd, memory
 * attributes with PRIVATE, KVM_CAP_EXIT_HYPERCALL with MAP_GPA_RANGE, and the
 * requested SEV_FEATURES (minus SNPActive) within KVM_X86_SEV_VMSA_FEATURES.
 * Refuses with a message naming what the host lacks. */
int sev_snp_probe(struct sev_snp_launch *l, struct vg_err *err);
/* KVM_SEV_INIT2 with vmsa_features, then KVM_ENABLE_CAP(KVM_CAP_EXIT_HYPERCALL) for
 * KVM_HC_MAP_GPA_RANGE. vm_fd and sev_fd must be set. */
int sev_snp_init(struct sev_snp_launch *l, struct vg_err *err);
/* KVM_SEV_SNP_LAUNCH_START with l->policy. */
int sev_snp_launch_start(struct sev_snp_launch *l, struct vg_err *err);
/* Marks [gpa, gpa+len) private (KVM_SET_MEMORY_ATTRIBUTES), then issues
 * KVM_SEV_SNP_LAUNCH_UPDATE until KVM reports the whole range processed (len 0),
 * re-issuing on partial progress and on -EAGAIN. gpa, hva and len page aligned;
 * hva is ignored for ZERO pages. A rejected CPUID page is reported as such (the
 * firmware wrote the values it accepts back into hva). */
int sev_snp_launch_update(struct sev_snp_launch *l, uint64_t gpa, const void *hva, uint64_t len,
			  enum sev_snp_page_type type, struct vg_err *err);
/* KVM_SEV_SNP_LAUNCH_FINISH: HOST_DATA (32 bytes), optional ID block (96 bytes)
 * and ID authentication (4096 bytes; auth_key_en when it carries an author key). */
int sev_snp_launch_finish(struct sev_snp_launch *l, const uint8_t host_data[32],
			  const uint8_t *id_block, const uint8_t *id_auth, bool auth_key_en,
			  struct vg_err *err);
/* The KVM backend's walk of a launch plan: every IMAGE and SECTION step prepared in
 * guest memory (sev_snp_step_prepare) and issued as SNP_LAUNCH_UPDATE with its page
 * type; VMSA steps are KVM's own at SNP_LAUNCH_FINISH (from the vCPUs' registers). */
int sev_snp_launch_plan(struct sev_snp_launch *l, const struct sev_launch_plan *plan, const struct sev_guest_mem *m,
			struct vg_err *err);
/* Private/shared conversion at run time: KVM_EXIT_HYPERCALL(KVM_HC_MAP_GPA_RANGE,
 * page-size hint 4K, 2M or 1G; the count is always in 4 KiB pages,
 * Documentation/virt/kvm/x86/hypercalls.rst) and KVM_EXIT_MEMORY_FAULT (which
 * KVM_RUN reports with -1/EFAULT: vg_kvm_run_result). A guest's invalid request gets
 * hypercall.ret = EINVAL (positive, as KVM requires). Returns 1 handled, 0 not a
 * conversion exit, -errno. ram_end bounds the GPAs a guest may convert. Shared with
 * TDX (MapGPA arrives the same way). */
int sev_cc_conversion_exit(const struct vg_kvm_io *io, int vm_fd, uint64_t ram_end,
			struct kvm_run *run, struct vg_err *err);

/*
 * sim-snp: the simulated AMD secure processor. Its identity (ARK, ASK: RSA-4096
 * signing RSA-PSS SHA-384; VCEK: ECDSA P-384 with AMD's TCB and HWID extensions;
 * every subject says SIMULATED) is generated once into STATE_DIR/sim-snp/ and reused:
 * ark.pem, ask.pem, cert_chain.pem (ASK then ARK), vcek.pem, vcek.key, platform.
 * Verify its reports with: vigil verify snp R --vcek DIR/sim-snp/vcek.pem
 *   --chain DIR/sim-snp/cert_chain.pem --trust-sim-root DIR/sim-snp/ark.pem
 */
#define SEV_SIM_SNP_PRODUCT "Genoa"
struct sev_sim_snp;
int sev_sim_snp_open(const char *state_dir, struct sev_sim_snp **out, struct vg_err *err);
void sev_sim_snp_free(struct sev_sim_snp *s);
const char *sev_sim_snp_dir(const struct sev_sim_snp *s); /* STATE_DIR/sim-snp */

/* What the secure processor remembers of a launch, as SNP_LAUNCH_START/FINISH set it. */
struct sev_sim_snp_guest {
	uint64_t policy;
	uint8_t measurement[48]; /* the launch digest (section 2) */
	uint8_t host_data[32];
	uint8_t id_key_digest[48], author_key_digest[48]; /* zero without an ID block */
	uint8_t family_id[16], image_id[16];
	uint32_t guest_svn;
	bool author_key_en;
	uint8_t report_id[32]; /* random per guest */
};
/* MSG_REPORT_REQ: a version 3 ATTESTATION_REPORT for this guest, every field set as
 * the firmware sets it, signed with the VCEK (R, S little-endian in 72-byte fields). */
int sev_sim_snp_report(struct sev_sim_snp *s, const struct sev_sim_snp_guest *g,
		       const uint8_t report_data[64], uint32_t vmpl, uint8_t out[SEV_SNP_REPORT_SIZE],
		       struct vg_err *err);
/* SNP ABI 56860 rev 1.57, Table 75 ID_BLOCK (SNP_LAUNCH_FINISH), little endian. */
struct sev_snp_id_block {
	uint8_t ld[48];        /* 0x00 the launch digest the guest must have */
	uint8_t family_id[16]; /* 0x30 */
	uint8_t image_id[16];  /* 0x40 */
	uint8_t version[4];    /* 0x50 u32, 1 */
	uint8_t guest_svn[4];  /* 0x54 u32 */
	uint8_t policy[8];     /* 0x58 u64, the guest policy */
};
VG_ASSERT_SIZE(struct sev_snp_id_block, 96, "SNP ABI 56860 rev 1.57 Table 75 ID_BLOCK");
/* Chapter 10 formats: an ECDSA signature (r, s little endian) and public key. */
struct sev_snp_ecdsa_sig {
	uint8_t r[72], s[72];
	uint8_t reserved[368];
};
VG_ASSERT_SIZE(struct sev_snp_ecdsa_sig, 512, "SNP ABI 56860 Table 123 ECDSA signature");
struct sev_snp_ecdsa_pubkey {
	uint8_t curve[4];      /* u32, 2 = P-384 */
	uint8_t qx[72], qy[72];
	uint8_t reserved[880];
};
VG_ASSERT_SIZE(struct sev_snp_ecdsa_pubkey, 0x404, "SNP ABI 56860 Table 124 ECDSA public key");
/* Table 76 ID_AUTH. */
struct sev_snp_id_auth {
	uint8_t id_key_algo[4];                  /* 0x000 u32, 1 = ECDSA P-384 SHA-384 */
	uint8_t auth_key_algo[4];                /* 0x004 */
	uint8_t reserved1[0x38];
	struct sev_snp_ecdsa_sig id_block_sig;   /* 0x040, by the ID key over the ID block */
	struct sev_snp_ecdsa_pubkey id_key;      /* 0x240 */
	uint8_t reserved2[0x3C];
	struct sev_snp_ecdsa_sig id_key_sig;     /* 0x680, by the author key over id_key */
	struct sev_snp_ecdsa_pubkey author_key;  /* 0x880 */
	uint8_t reserved3[0x37C];
};
VG_ASSERT_SIZE(struct sev_snp_id_auth, 4096, "SNP ABI 56860 rev 1.57 Table 76 ID_AUTH");
/* Table 71 secrets page (version 3), what the PSP writes into the SECRETS page. */
struct sev_snp_secrets_page {
	uint8_t version[4];            /* 0x000 u32, 3 */
	uint8_t flags[4];              /* 0x004 bit 0 IMIEN */
	uint8_t fms[4];                /* 0x008 */
	uint8_t reserved1[4];
	uint8_t gosvw[16];             /* 0x010 */
	uint8_t vmpck[4][32];          /* 0x020 VM communication keys VMPCK0..3 */
	uint8_t guest_area[96];        /* 0x0A0 for the guest OS */
	uint8_t vmsa_tweak_bitmap[64]; /* 0x100 */
	uint8_t reserved2[32];
	uint8_t tsc_factor[4];         /* 0x160 */
	uint8_t reserved3[0xE9C];
};
VG_ASSERT_SIZE(struct sev_snp_secrets_page, 4096, "SNP ABI 56860 rev 1.57 Table 71 secrets page");
/* sim-snp: the secrets page (struct sev_snp_secrets_page) the simulated PSP
 * writes at launch: version 3, fresh random VMPCK0..3, everything else zero.
 * -EIO when the RNG fails. */
int sev_sim_snp_secrets_fill(uint8_t page[4096]);

/* SNP_LAUNCH_FINISH's ID block check (SNP ABI 8.18, ID_BLOCK 96 bytes, ID_AUTH 4096
 * bytes): the ID block must carry g's measurement and policy and verify with the ID key
 * (and, with author_key_en, the ID key with the author key). On success fills g's
 * ID_KEY_DIGEST, AUTHOR_KEY_DIGEST, FAMILY_ID, IMAGE_ID, GUEST_SVN, AUTHOR_KEY_EN. */
int sev_sim_snp_id_check(struct sev_sim_snp_guest *g, const uint8_t id_block[96], const uint8_t id_auth[4096],
			 bool author_key_en, struct vg_err *err);


/* ================================================ SNP certificate table ======== */
/* The certificate table of the extended guest request (GHCB specification 2.03,
 * 4.1.8.1 MSG_REPORT_REQ; SNP_GET_EXT_REPORT; configfs-tsm auxblob): 24-byte entries
 * {GUID (16 bytes, RFC 4122 byte order), offset u32 LE, length u32 LE} ending with an
 * all-zero entry, offsets counted from the start of the table, certificates (DER) after. */
enum sev_cert_type { SEV_CERT_VCEK = 1, SEV_CERT_VLEK, SEV_CERT_ASK, SEV_CERT_ARK, SEV_CERT_OTHER };
const char *sev_cert_type_name(enum sev_cert_type t); /* "vcek", "vlek", "ask", "ark", "other" */
struct sev_cert {
	enum sev_cert_type type;
	const uint8_t *data; /* a view into the table */
	size_t len;
};
#define SEV_CERT_TABLE_MAX 16
/* Bounds-checked: every entry and certificate inside len, a terminator, no certificate
 * overlapping the entry array, no zero length, no duplicate known type. Unknown GUIDs (CRL,
 * extra platform info) come back as SEV_CERT_OTHER. -EBADMSG with the reason. */
int sev_snp_cert_table_parse(const uint8_t *table, size_t len, struct sev_cert out[SEV_CERT_TABLE_MAX],
			     size_t *n, struct vg_err *err);
/* Builds a table of known types (malloc'd). */
int sev_snp_cert_table_build(const struct sev_cert *certs, size_t n, uint8_t **out, size_t *len,
			     struct vg_err *err);
/* sim-snp: the table its secure processor returns with an extended report: VCEK, ASK,
 * ARK (DER) from the simulated identity (malloc'd). */
int sev_sim_snp_cert_table(const struct sev_sim_snp *s, uint8_t **out, size_t *len, struct vg_err *err);

/* sim-snp's walk of a launch plan: every step prepared in guest memory
 * (sev_snp_step_prepare; SECRETS filled with fresh VMPCKs) and measured into d as the
 * secure processor does, NORMAL pages from what is in guest memory, VMSAs from
 * m->vmsa (the registers programmed) or the plan's prediction. *pages counts them. */
int sev_sim_snp_launch_plan(struct sev_snp_digest *d, const struct sev_launch_plan *plan,
			    const struct sev_guest_mem *m, uint64_t *pages, struct vg_err *err);
/* Pre-computes n (at most 256) ECDSA signing nonces on a thread that may use the RNG.
 * From then on reports are signed without any randomness, as a sandboxed vCPU thread
 * needs (OpenSSL's RNG checks getpid(), which the vCPU seccomp filter does not allow);
 * once the n nonces are used up, reports fail with a clear error. */
int sev_sim_snp_presign(struct sev_sim_snp *s, unsigned n, struct vg_err *err);

#endif /* VIGIL_SEV_H */
