/*
 * tdx/: Intel TDX. The one public header of this directory. Prefix: tdx_.
 *
 * Sections (each owned by one line of work; keep them apart):
 *   1. DCAP quote format (v4, v5)             (used by attest/ and sim-tdx)
 *   2. MRTD and RTMR model                    (used by vigil measure and sim-tdx)
 *   3. KVM launch flow, TD HOB, simulated platform (used by the VMM's platform seam)
 */
#ifndef VIGIL_TDX_H
#define VIGIL_TDX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"
#include "firmware/firmware.h"

/* ============================================ 1. DCAP quote format ======== */

/*
 * Intel TDX DCAP quote (Intel TDX DCAP Quoting Library API, rev 0.9 / 1.x,
 * appendix A.3 "Version 4 Quote Format" and A.4 "Version 5 Quote Format";
 * the SGX REPORT body from the Intel SDM vol. 3D, 38.15 "REPORT").
 * Integers little-endian, signatures and keys big-endian (r||s, x||y).
 *
 *   v4: header(48) | TD body 1.0 (584) | sig_data_len u32 | sig_data
 *   v5: header(48) | body_type u16 | body_size u32 | body | sig_data_len u32 | sig_data
 *   sig_data (ECDSA-256): sig(64) | attest_key(64) | cert data type 6:
 *       QE report(384) | QE report sig(64) | qe_auth_len u16 | qe_auth |
 *       cert data type 5 (PCK leaf..root, PEM)
 */
#define TDX_QUOTE_HEADER_SIZE 48u
#define TDX_TD10_BODY_SIZE 584u
#define TDX_TD15_BODY_SIZE 648u
#define TDX_SGX_REPORT_BODY_SIZE 384u
#define TDX_ATT_KEY_TYPE_ECDSA_P256 2u
#define TDX_TEE_TYPE_TDX 0x81u
#define TDX_TEE_TYPE_SGX 0x00u
#define TDX_BODY_TYPE_SGX 1u
#define TDX_BODY_TYPE_TD10 2u
#define TDX_BODY_TYPE_TD15 3u
#define TDX_CERT_TYPE_PCK_CHAIN 5u
#define TDX_CERT_TYPE_QE_REPORT 6u

struct tdx_quote_header_raw {
	uint8_t version[2];
	uint8_t att_key_type[2];
	uint8_t tee_type[4];
	uint8_t qe_svn[2];  /* reserved in v4/v5 TDX quotes */
	uint8_t pce_svn[2]; /* reserved in v4/v5 TDX quotes */
	uint8_t qe_vendor_id[16];
	uint8_t user_data[20];
};
VG_ASSERT_SIZE(struct tdx_quote_header_raw, 48, "DCAP Quote v4 A.3.1 Quote Header");

/* TD Quote Body: TDX 1.0 (584 B, v4 and v5 type 2) and 1.5 (648 B, v5 type 3). */
struct tdx_td_body_raw {
	uint8_t tee_tcb_svn[16];
	uint8_t mr_seam[48];
	uint8_t mr_signer_seam[48];
	uint8_t seam_attributes[8];
	uint8_t td_attributes[8];
	uint8_t xfam[8];
	uint8_t mr_td[48];
	uint8_t mr_config_id[48];
	uint8_t mr_owner[48];
	uint8_t mr_owner_config[48];
	uint8_t rtmr[4][48];
	uint8_t report_data[64];
	/* TDX 1.5 only: */
	uint8_t tee_tcb_svn2[16];
	uint8_t mr_service_td[48];
};
VG_ASSERT_SIZE(struct tdx_td_body_raw, 648, "DCAP Quote v5 A.4.2 TD Quote Body 1.5 (1.0 = first 584)");

/* SGX REPORT body as carried for the QE report. */
struct tdx_sgx_report_raw {
	uint8_t cpu_svn[16];
	uint8_t misc_select[4];
	uint8_t reserved1[28];
	uint8_t attributes[16];
	uint8_t mr_enclave[32];
	uint8_t reserved2[32];
	uint8_t mr_signer[32];
	uint8_t reserved3[96];
	uint8_t isv_prod_id[2];
	uint8_t isv_svn[2];
	uint8_t reserved4[60];
	uint8_t report_data[64];
};
VG_ASSERT_SIZE(struct tdx_sgx_report_raw, 384, "SDM vol 3D 38.15 REPORT body / DCAP A.3.10");

struct tdx_td_body {
	bool is_td15;
	uint8_t tee_tcb_svn[16], mr_seam[48], mr_signer_seam[48];
	uint8_t seam_attributes[8], td_attributes[8], xfam[8];
	uint8_t mr_td[48], mr_config_id[48], mr_owner[48], mr_owner_config[48];
	uint8_t rtmr[4][48];
	uint8_t report_data[64];
	uint8_t tee_tcb_svn2[16], mr_service_td[48]; /* TDX 1.5 only (zero otherwise) */
};

struct tdx_sgx_report {
	uint8_t cpu_svn[16];
	uint32_t misc_select;
	uint8_t attributes[16];
	uint8_t mr_enclave[32], mr_signer[32];
	uint16_t isv_prod_id, isv_svn;
	uint8_t report_data[64];
};

/* A parsed quote. Pointers are views into the caller's buffer, valid while it is. */
struct tdx_quote {
	uint16_t version, att_key_type;
	uint32_t tee_type;
	uint16_t qe_svn, pce_svn;
	uint8_t qe_vendor_id[16], user_data[20];
	uint16_t body_type; /* v5: from the descriptor; v4: TDX_BODY_TYPE_TD10 */
	uint32_t body_size;
	struct tdx_td_body body;
	const uint8_t *signed_data; /* header || [descriptor] || body */
	size_t signed_len;
	const uint8_t *signature;   /* 64 B r||s */
	const uint8_t *att_key;     /* 64 B x||y */
	const uint8_t *qe_report_raw; /* 384 B */
	struct tdx_sgx_report qe_report;
	const uint8_t *qe_report_sig; /* 64 B r||s */
	const uint8_t *qe_auth;
	size_t qe_auth_len;
	const uint8_t *pck_chain; /* PEM, leaf first */
	size_t pck_chain_len;
	const uint8_t *cert_region; /* att_key .. end of sig data (what the PCK part covers) */
	size_t cert_region_len;
	size_t sig_data_len;
	size_t trailing; /* bytes after the signature data (unsigned, ignored) */
};

/* Parses a v4 or v5 TDX quote with ECDSA-P256 signature data and QE report
 * certification data. Bytes after the signature data (zero padding of fixed
 * buffers) are counted in q->trailing and ignored. Returns 0 or -EBADMSG/-ENOTSUP. */
int tdx_quote_parse(const uint8_t *data, size_t len, struct tdx_quote *q, struct vg_err *err);
/* Decodes an SGX REPORT body (384 bytes). */
void tdx_sgx_report_decode(const uint8_t raw[TDX_SGX_REPORT_BODY_SIZE], struct tdx_sgx_report *out);
/* Serializes header || [v5 descriptor] || body of q into out (the bytes the
 * quote signature covers). Returns the length written, or 0 when cap is too
 * small or the version/body type is unsupported. For the simulated platform. */
size_t tdx_quote_serialize_signed(const struct tdx_quote *q, uint8_t *out, size_t cap);

/* ============================================ 2. MRTD and RTMR model ====== */
/*
 * MRTD: the TDX module's SHA-384 over the 128-byte buffers of every
 * TDH.MEM.PAGE.ADD ("MEM.PAGE.ADD", GPA at byte 16) and TDH.MR.EXTEND
 * ("MR.EXTEND", GPA at byte 16, followed by the 256-byte chunk) a launch
 * issues, finalized by TDH.MR.FINALIZE. Shared by `vigil measure tdx`
 * (prediction), the KVM backend (which issues KVM_TDX_INIT_MEM_REGION from
 * the same plan) and sim-tdx (which computes the MRTD it reports with the
 * same context). RTMR replay from a CC event log is vtpm_evlog_replay
 * (vtpm/vtpm.h section 1), not duplicated here.
 */
struct fw_image;

#define TDX_MRTD_LEN 48
#define TDX_MRTD_BUF_LEN 128        /* one TDH.MEM.PAGE.ADD / TDH.MR.EXTEND buffer */
#define TDX_MR_EXTEND_CHUNK 256     /* bytes measured per TDH.MR.EXTEND */
#define TDX_PAGE_SIZE 4096u

/* An MRTD being built (the TDCS measurement context). */
struct tdx_mrtd {
	void *md_ctx;         /* EVP_MD_CTX (SHA-384) */
	uint64_t page_adds;   /* TDH.MEM.PAGE.ADD calls hashed */
	uint64_t extends;     /* TDH.MR.EXTEND calls hashed */
};
int tdx_mrtd_init(struct tdx_mrtd *m, struct vg_err *err);
/* TDH.MEM.PAGE.ADD of the page at gpa (4 KiB-aligned). */
int tdx_mrtd_page_add(struct tdx_mrtd *m, uint64_t gpa, struct vg_err *err);
/* TDH.MR.EXTEND of the 256-byte chunk at gpa (256-byte aligned). */
int tdx_mrtd_extend_chunk(struct tdx_mrtd *m, uint64_t gpa, const uint8_t chunk[TDX_MR_EXTEND_CHUNK],
			  struct vg_err *err);
/* The 16 TDH.MR.EXTENDs of one page, as KVM issues them (contents NULL: zeros). */
int tdx_mrtd_extend_page(struct tdx_mrtd *m, uint64_t gpa, const uint8_t *page, struct vg_err *err);
/* TDH.MR.FINALIZE: the MRTD; frees the context. */
int tdx_mrtd_final(struct tdx_mrtd *m, uint8_t out[TDX_MRTD_LEN], struct vg_err *err);
void tdx_mrtd_free(struct tdx_mrtd *m);

/* In which order the SEAMCALLs are issued. */
enum tdx_mrtd_order {
	/* Upstream KVM's KVM_TDX_INIT_MEM_REGION, one call per TDVF section in
	 * metadata order: per page, PAGE.ADD then (MR.EXTEND sections) its 16
	 * MR.EXTENDs. */
	TDX_ORDER_KVM = 0,
	/* Older QEMU/KVM TDX stacks: per section, PAGE.ADD of every page, then
	 * MR.EXTEND of every page. */
	TDX_ORDER_TWO_PASS = 1,
};

/* One TDVF section as the launch loads it (one KVM_TDX_INIT_MEM_REGION). */
struct tdx_launch_region {
	const char *name;     /* "BFV", "CFV", "TD_HOB", "TempMem", ... */
	uint32_t type;        /* enum fw_tdvf_section_type (firmware/firmware.h) */
	uint32_t attributes;  /* FW_TDVF_ATTR_* */
	uint64_t gpa, len;    /* 4 KiB-aligned */
	const uint8_t *data;  /* len bytes from the image, or NULL: zero-filled
				 (TD_HOB: the VMM writes the HOB there before adding it) */
	bool add;             /* TDH.MEM.PAGE.ADD at launch; false: PAGE.AUG, accepted later */
	bool measure;         /* KVM_TDX_MEASURE_MEMORY_REGION (TDH.MR.EXTEND) */
};
#define TDX_PLAN_MAX_REGIONS 64
struct tdx_launch_plan {
	size_t n;
	struct tdx_launch_region r[TDX_PLAN_MAX_REGIONS];
};
/*
 * The launch regions from a firmware's TDVF metadata, in metadata order.
 * Fails (-ENOENT) when the firmware has no TDVF metadata, and when a
 * measured section's contents are built by the VMM at launch (TD_HOB,
 * PayloadParam, a Payload without raw data): -ENOTSUP.
 */
int tdx_launch_plan_build(const struct fw_image *fw, struct tdx_launch_plan *plan, struct vg_err *err);
/*
 * One walk of a TDX launch plan, shared by the MRTD prediction, sim-tdx and the KVM
 * backend, each with its own sink: every page TDH.MEM.PAGE.ADDed at launch, in KVM's
 * order (sections in metadata order; one KVM_TDX_INIT_MEM_REGION per page: PAGE.ADD,
 * then for MR.EXTEND sections its 16 MR.EXTENDs). src: the page's bytes in the plan
 * (the image), or NULL (zeros, or contents the VMM builds: the TD HOB).
 */
struct tdx_plan_sink {
	void *ctx;
	int (*page)(void *ctx, const struct tdx_launch_region *r, uint64_t gpa, const uint8_t *src,
		    struct vg_err *err);
};
int tdx_launch_plan_walk(const struct tdx_launch_plan *plan, const struct tdx_plan_sink *sink, struct vg_err *err);
/* MRTD of a plan in the given order. */
int tdx_mrtd_compute(const struct tdx_launch_plan *plan, enum tdx_mrtd_order order, uint8_t out[TDX_MRTD_LEN],
		     struct tdx_mrtd *counts, struct vg_err *err);


/* TDG.MR.RTMR.EXTEND (TDX module ABI): rtmr = SHA-384(rtmr || digest). */
int tdx_rtmr_extend(uint8_t rtmr[TDX_MRTD_LEN], const uint8_t digest[TDX_MRTD_LEN], struct vg_err *err);

/*
 * Measured direct boot on TDX: what TDVF (edk2 OvmfPkg, IntelTdxX64 or OvmfPkgX64
 * with TDX) and the Linux EFI stub extend into RTMR1 and RTMR2 for a kernel,
 * initrd and command line handed over through fw_cfg, up to ExitBootServices. The
 * rules, each with the edk2 / Linux file and function it comes from, are in
 * tdx/rtmr_boot.c and docs/measurement.md. A prediction under assumptions: the
 * events of the modelled build only (no option ROMs, no other boot application),
 * the kernel file served unmodified (vigil-vmm does; QEMU patches the setup header).
 */
#define TDX_EV_SEPARATOR 0x00000004u
#define TDX_EV_EVENT_TAG 0x00000006u
#define TDX_EV_EFI_BOOT_SERVICES_APPLICATION 0x80000003u
#define TDX_EV_EFI_ACTION 0x80000007u
/* edk2-stable tags (YYYYMM) where the modelled rules change. */
#define TDX_EDK2_FIRST 202208u       /* TdTcg2Dxe added (OvmfPkg/IntelTdx) */
#define TDX_EDK2_SEP_RTMR0 202302u   /* PCR->MR mapping fixed: separator(1) now hits RTMR0 */
#define TDX_EDK2_SEP_RTMR1 202411u   /* "Fix the SeparatorEvent issue in RTMRs": back in RTMR1 */
#define TDX_EDK2_INITRD_FIRST 202508u /* "Prefix initrd=initrd in cmdline" */
#define TDX_EDK2_DEFAULT 202508u

struct tdx_boot_event {
	unsigned rtmr;          /* 1 or 2 (CC MR index rtmr + 1) */
	unsigned pcr;           /* the TCG PCR the measuring code names */
	uint32_t type;          /* TDX_EV_* */
	const char *type_name;  /* "EV_EFI_ACTION", ... */
	uint8_t digest[TDX_MRTD_LEN];
	const char *what;       /* what was hashed */
	const char *by;         /* "TDVF" or "Linux EFI stub" */
	const char *source;     /* file and function the rule comes from */
	const uint8_t *data;    /* event data as logged when it is fixed (else NULL) */
	size_t data_len;
};

struct tdx_boot_inputs {
	const uint8_t *kernel;  /* the kernel file as served (setup || kernel) */
	size_t kernel_len;
	const uint8_t *initrd;  /* NULL or empty: no initrd */
	size_t initrd_len;
	const char *cmdline;    /* NULL: empty */
	unsigned edk2;          /* edk2-stable tag YYYYMM the TDVF was built from */
};

#define TDX_BOOT_MAX_EVENTS 8
struct tdx_boot_prediction {
	size_t n;
	struct tdx_boot_event ev[TDX_BOOT_MAX_EVENTS];
	uint8_t rtmr1[TDX_MRTD_LEN], rtmr2[TDX_MRTD_LEN];
	bool separator_in_rtmr1;  /* else the firmware puts it into RTMR0 */
	bool initrd_first;        /* LoadOptions "initrd=initrd <cmdline>" (else "<cmdline> initrd=initrd") */
	char kernel_version[64];  /* from the bzImage header, "" when absent */
	int stub_cc;              /* 1: Linux >= 6.9 measures via the CC protocol, 0: older, -1: unknown */
	struct fw_pe_info pe;
	uint8_t *load_options;    /* UTF-16LE LoadOptions with the NUL (malloc'd), NULL when none */
	size_t load_options_len;
};
/* Fails for a kernel that is not a PE/COFF EFI application (TDVF would boot it
 * through its legacy loader, which measures nothing), or an unknown edk2 tag. */
int tdx_boot_predict(const struct tdx_boot_inputs *in, struct tdx_boot_prediction *p, struct vg_err *err);
void tdx_boot_prediction_free(struct tdx_boot_prediction *p);
/* "stable202508", "edk2-stable202508" or "202508" -> 202508. */
int tdx_edk2_tag_parse(const char *s, unsigned *out, struct vg_err *err);


/* ===================== 3. KVM launch flow, TD HOB, simulated platform ===== */

/*
 * The TDX launch on the upstream KVM UAPI (Linux 6.16+,
 * Documentation/virt/kvm/x86/intel-tdx.rst). Order:
 *
 *   tdx_probe (/dev/kvm) -> KVM_CREATE_VM(KVM_X86_TDX_VM) -> tdx_get_capabilities
 *   -> tdx_init_vm (before any vCPU) -> guest_memfd memslots -> vCPUs created,
 *   KVM_SET_CPUID2 -> tdx_init_vcpu (RCX = TD HOB address) -> tdx_init_mem_region per
 *   TDVF section (MEASURE for MR.EXTEND) -> tdx_finalize -> run, with
 *   tdx_handle_exit for KVM_EXIT_TDX (GetQuote).
 *
 * Every KVM call goes through l->io (struct vg_kvm_io in common/linux_kvm_cc.h).
 */
struct vg_kvm_io;
struct kvm_run;
struct kvm_cpuid_entry2;

#define TDX_ATTR_DEBUG (1ull << 0)
#define TDX_ATTR_SEPT_VE_DISABLE (1ull << 28)
#define TDX_ATTR_PKS (1ull << 30)
#define TDX_ATTR_PERFMON (1ull << 63)
/* XFAM Vigil asks for unless told otherwise: x87, SSE, AVX (what KVM always allows). */
#define TDX_XFAM_DEFAULT 0x7ull

struct tdx_caps {
	uint64_t supported_attrs, supported_xfam;
	uint64_t user_tdvmcallinfo_1_r11, user_tdvmcallinfo_1_r12;
	unsigned ncpuid;
	struct kvm_cpuid_entry2 *cpuid; /* configurable CPUID bits (malloc'd) */
};
void tdx_caps_free(struct tdx_caps *c);

struct tdx_td_config {
	uint64_t attributes; /* TD_ATTRIBUTES: debug off unless asked */
	uint64_t xfam;
	uint8_t mrconfigid[48], mrowner[48], mrownerconfig[48];
	/* CPUID the VMM wants; masked by the configurable bits of the capabilities. */
	const struct kvm_cpuid_entry2 *cpuid;
	unsigned ncpuid;
};

struct tdx_launch {
	const struct vg_kvm_io *io;
	int kvm_fd, vm_fd;
	uint64_t hw_error;     /* SEAMCALL status of the last failed command */
	uint64_t pages_added;  /* pages KVM reported as added by INIT_MEM_REGION */
	unsigned ioctl_calls;  /* INIT_MEM_REGION calls issued */
	unsigned init_vm_tries; /* KVM_TDX_INIT_VM calls (retried on -EAGAIN) */
	/* The TD's CPUID: built once by tdx_init_vm (tdx_td_cpuid), given to INIT_VM and
	 * to every vCPU's KVM_SET_CPUID2, so the two cannot disagree. */
	struct kvm_cpuid_entry2 *cpuid;
	unsigned ncpuid;
	int state;
};

void tdx_launch_init(struct tdx_launch *l, const struct vg_kvm_io *io);
/* Frees what tdx_init_vm allocated (the TD's CPUID). */
void tdx_launch_release(struct tdx_launch *l);

/* TDX_APIC_BUS_CYCLES_NS: the TDX module runs a TD's APIC timer at 25 MHz; KVM must
 * be told (KVM_CAP_X86_APIC_BUS_CYCLES_NS) before KVM_TDX_INIT_VM, as QEMU does. */
#define TDX_APIC_BUS_CYCLES_NS 40u
/* Guest physical address width KVM_TDX_INIT_VM accepts in CPUID 0x80000008
 * EAX[23:16] (vmx/tdx.c setup_tdparams_eptp_controls: 48 or 52, 52 only with
 * 5-level EPT). Vigil asks for 48. */
#define TDX_GUEST_PA_BITS 48u
/*
 * The CPUID of a TD from the VMM's wanted set: every entry kept; entries the TDX
 * module lets the VMM configure (caps) masked to the configurable bits; 0x80000008
 * EAX[23:16] set to TDX_GUEST_PA_BITS (the leaf is required). *out is malloc'd.
 */
int tdx_td_cpuid(const struct tdx_caps *caps, const struct kvm_cpuid_entry2 *want, unsigned n,
		 struct kvm_cpuid_entry2 **out, unsigned *nout, struct vg_err *err);
/* Probes /dev/kvm: KVM_CAP_VM_TYPES offers KVM_X86_TDX_VM, guest_memfd, memory
 * attributes, split irqchip. Refuses with a message naming what the host lacks. */
int tdx_probe(struct tdx_launch *l, struct vg_err *err);
/* KVM_TDX_CAPABILITIES (VM scope), growing the CPUID array on -E2BIG. */
int tdx_get_capabilities(struct tdx_launch *l, struct tdx_caps *caps, struct vg_err *err);
/* KVM_TDX_INIT_VM: checks attributes and XFAM against caps first, builds the TD's
 * CPUID (tdx_td_cpuid), enables KVM_CAP_X86_APIC_BUS_CYCLES_NS (25 MHz), then issues
 * INIT_VM, again while it fails with -EAGAIN (TDX_RND_NO_ENTROPY), as QEMU does. */
int tdx_init_vm(struct tdx_launch *l, const struct tdx_caps *caps, const struct tdx_td_config *cfg,
		struct vg_err *err);
/* For vCPU `index`: KVM_SET_CPUID2 with the TD's CPUID (APIC ID patched), then
 * KVM_TDX_INIT_VCPU (RCX = hob_gpa), then KVM_TDX_GET_CPUID to cross-check: a
 * configurable bit the VMM asked for that the TD lacks fails, naming leaf, subleaf,
 * register, ours and the TDX module's; bits the module set on its own are logged. */
int tdx_init_vcpu(struct tdx_launch *l, const struct tdx_caps *caps, int vcpu_fd, unsigned index,
		  uint64_t hob_gpa, struct vg_err *err);
/* Marks [gpa, gpa + nr_pages*4K) private, then KVM_TDX_INIT_MEM_REGION (vCPU scope)
 * until every page is added, re-issuing on partial progress, -EAGAIN and -EINTR.
 * measure: KVM_TDX_MEASURE_MEMORY_REGION (TDH.MR.EXTEND) for MR.EXTEND sections. */
int tdx_init_mem_region(struct tdx_launch *l, int vcpu_fd, uint64_t gpa, const void *src,
			uint64_t nr_pages, bool measure, struct vg_err *err);
/* The KVM backend's walk of a plan: KVM_TDX_INIT_MEM_REGION of every page from guest
 * memory (where the VMM loaded the image and wrote the TD HOB; gpa_fn NULL or
 * unmapped: the plan's bytes, else zeros), MEASURE for MR.EXTEND sections. */
typedef void *(*tdx_gpa_fn)(void *ctx, uint64_t gpa, uint64_t len);
int tdx_launch_plan_mem(struct tdx_launch *l, int vcpu_fd, const struct tdx_launch_plan *plan, tdx_gpa_fn gpa_fn,
			void *gpa_ctx, struct vg_err *err);
/* sim-tdx's walk: the same pages measured into m as the TDX module does. */
int tdx_sim_launch_plan(struct tdx_mrtd *m, const struct tdx_launch_plan *plan, tdx_gpa_fn gpa_fn, void *gpa_ctx,
			struct vg_err *err);
/* KVM_TDX_FINALIZE_VM: MRTD is final after this. */
int tdx_finalize(struct tdx_launch *l, struct vg_err *err);

/*
 * GetQuote (GHCI 1.5 TDG.VP.VMCALL<GetQuote>) arrives as KVM_EXIT_TDX. The shared
 * buffer at gpa holds a header (version 1, status, in_len, out_len) then the
 * TDREPORT; the VMM forwards it to a quote-generation service (QGS, Intel's
 * protocol over a UNIX socket) and writes the quote back. Without a service the
 * guest gets GET_QUOTE_SERVICE_UNAVAILABLE.
 */
#define TDX_GET_QUOTE_SUCCESS 0ull
#define TDX_GET_QUOTE_IN_FLIGHT 0xffffffffffffffffull
#define TDX_GET_QUOTE_ERROR 0x8000000000000000ull
#define TDX_GET_QUOTE_SERVICE_UNAVAILABLE 0x8000000000000001ull
#define TDX_GET_QUOTE_HDR_SIZE 24u
#define TDX_REPORT_SIZE 1024u

/* Turns a TDREPORT into a quote: the QGS client below, or sim-tdx. */
typedef int (*tdx_quote_fn)(void *ctx, const uint8_t *tdreport, size_t len, uint8_t **quote,
			    size_t *quote_len, struct vg_err *err);
/* Host view of a guest range (NULL when outside guest RAM): tdx_gpa_fn, above. */
/* Handles KVM_EXIT_TDX: GetQuote through quote_fn (NULL = no service),
 * GetTdVmCallInfo, anything else answered INVALID_OPERAND. 1 handled, 0 not a TDX
 * exit, -errno on a host failure. */
int tdx_handle_exit(struct kvm_run *run, tdx_gpa_fn gpa_fn, void *gpa_ctx, tdx_quote_fn quote_fn,
		    void *quote_ctx, struct vg_err *err);
/*
 * GetQuote served off the vCPU thread, asynchronously as the GHCI specifies: the
 * vCPU validates the shared buffer, sets its status to IN_FLIGHT, queues the TDREPORT
 * and runs on; a worker thread (whose own seccomp filter allows the quote service's
 * socket, which the vCPU filter forbids) gets the quote and writes it, out_len and
 * then the status into the shared buffer. thread_init runs first on the worker (its
 * filter), NULL for none. Stop the service before guest memory goes away.
 */
struct tdx_quote_service;
int tdx_quote_service_start(tdx_quote_fn fn, void *fn_ctx, int (*thread_init)(void *ctx, struct vg_err *err),
			    void *init_ctx, struct tdx_quote_service **out, struct vg_err *err);
void tdx_quote_service_stop(struct tdx_quote_service *s);
/* Requests completed by the worker so far (tests). */
unsigned tdx_quote_service_done(struct tdx_quote_service *s);
/* tdx_handle_exit with GetQuote handed to svc (NULL: SERVICE_UNAVAILABLE). */
int tdx_handle_exit_async(struct kvm_run *run, tdx_gpa_fn gpa_fn, void *gpa_ctx, struct tdx_quote_service *svc,
			  struct vg_err *err);
/* QGS client: sends the TDREPORT to the UNIX socket at ctx (a path), returns the quote. */
int tdx_qgs_get_quote(void *path, const uint8_t *tdreport, size_t len, uint8_t **quote,
		      size_t *quote_len, struct vg_err *err);

/*
 * The TD HOB TDVF expects in its TD_HOB section (TDVF design guide 4.2; PI spec
 * vol. 3 HOBs): a PHIT handoff HOB, one resource descriptor per RAM range
 * (accepted for the ranges the VMM added, unaccepted for the rest) and MMIO, then
 * the end-of-list HOB.
 */
enum tdx_hob_kind { TDX_HOB_RAM_ACCEPTED = 0, TDX_HOB_RAM_UNACCEPTED, TDX_HOB_MMIO };
struct tdx_hob_range {
	uint64_t start, len;
	enum tdx_hob_kind kind;
};
/* Writes the HOB list for a HOB placed at guest address hob_gpa into buf. */
int tdx_hob_build(uint64_t hob_gpa, const struct tdx_hob_range *r, size_t n, uint8_t *buf, size_t cap,
		  size_t *out_len, struct vg_err *err);

/*
 * sim-tdx: the simulated TDX module and quoting enclave. Its identity (root CA ->
 * PCK Platform CA -> PCK certificate with SGX extensions, and the QE attestation
 * key; ECDSA P-256, subjects say SIMULATED) is generated once into
 * STATE_DIR/sim-tdx/ and reused. Quotes are v4 with a TDX 1.0 body, signed by the
 * attestation key, which a QE report signed by the PCK key certifies
 * (REPORTDATA = SHA-256(attestation key || QE auth data) || zeros).
 * Verify with: vigil verify tdx Q --trust-sim-root DIR/sim-tdx/root.pem
 */
struct tdx_sim;
int tdx_sim_open(const char *state_dir, struct tdx_sim **out, struct vg_err *err);
void tdx_sim_free(struct tdx_sim *s);
const char *tdx_sim_dir(const struct tdx_sim *s); /* STATE_DIR/sim-tdx */

/* The TD as the (simulated) TDX module holds it. */
struct tdx_sim_td {
	uint64_t attributes, xfam;
	uint8_t mrtd[48]; /* from the MRTD model (section 2), as KVM_TDX_INIT_MEM_REGION built it */
	uint8_t mrconfigid[48], mrowner[48], mrownerconfig[48];
	uint8_t rtmr[4][48];
};
/* TDG.MR.RTMR.EXTEND: RTMR[index] = SHA-384(RTMR[index] || digest). */
int tdx_sim_rtmr_extend(struct tdx_sim_td *td, unsigned index, const uint8_t digest[48], struct vg_err *err);
/* TDG.MR.REPORT + the QE: a v4 quote over this TD and report_data (malloc'd). */
int tdx_sim_quote(struct tdx_sim *s, const struct tdx_sim_td *td, const uint8_t report_data[64],
		  uint8_t **quote, size_t *quote_len, struct vg_err *err);

#endif /* VIGIL_TDX_H */
