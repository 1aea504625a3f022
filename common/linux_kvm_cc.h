/*
 * KVM UAPI for confidential guests (guest_memfd, SEV-SNP, TDX) that Debian 12's
 * kernel headers (linux-libc-dev 6.1) lack.
 *
 * Written from the upstream kernel's documented UAPI:
 *   include/uapi/linux/kvm.h          (guest_memfd, KVM_SET_USER_MEMORY_REGION2,
 *                                      KVM_SET_MEMORY_ATTRIBUTES, KVM_EXIT_MEMORY_FAULT: 6.8;
 *                                      KVM_EXIT_TDX: 6.16)
 *   arch/x86/include/uapi/asm/kvm.h   (KVM_X86_*_VM, KVM_SEV_INIT2: 6.10;
 *                                      KVM_SEV_SNP_LAUNCH_*: 6.11; KVM_TDX_*: 6.16)
 *   Documentation/virt/kvm/x86/amd-memory-encryption.rst, .../intel-tdx.rst, api.rst
 * Each group is defined only when the installed headers are older than the kernel
 * version that introduced it, so a newer linux-libc-dev takes over silently.
 *
 * This is the one second header allowed in common/ (besides common.h). It also holds
 * the small ioctl seam (struct vg_kvm_io) the SNP and TDX backends issue every KVM call
 * through, so protocol tests can stand a recorder in for the KVM file descriptors.
 */
#ifndef VIGIL_LINUX_KVM_CC_H
#define VIGIL_LINUX_KVM_CC_H

#include <errno.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>
#include <linux/kvm_para.h>
#include <linux/version.h>

/* ------------------------------------------------ 6.8: guest_memfd and friends */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 8, 0)
#define KVM_CAP_USER_MEMORY2 231
#define KVM_CAP_MEMORY_FAULT_INFO 232
#define KVM_CAP_MEMORY_ATTRIBUTES 233
#define KVM_CAP_GUEST_MEMFD 234
#define KVM_CAP_VM_TYPES 235

#define KVM_MEM_GUEST_MEMFD (1UL << 2)

struct kvm_userspace_memory_region2 {
	__u32 slot;
	__u32 flags;
	__u64 guest_phys_addr;
	__u64 memory_size;
	__u64 userspace_addr;
	__u64 guest_memfd_offset;
	__u32 guest_memfd;
	__u32 pad1;
	__u64 pad2[14];
};
#define KVM_SET_USER_MEMORY_REGION2 _IOW(KVMIO, 0x49, struct kvm_userspace_memory_region2)

#define KVM_MEMORY_ATTRIBUTE_PRIVATE (1ULL << 3)
struct kvm_memory_attributes {
	__u64 address;
	__u64 size;
	__u64 attributes;
	__u64 flags;
};
#define KVM_SET_MEMORY_ATTRIBUTES _IOW(KVMIO, 0xd2, struct kvm_memory_attributes)

struct kvm_create_guest_memfd {
	__u64 size;
	__u64 flags;
	__u64 reserved[6];
};
#define KVM_CREATE_GUEST_MEMFD _IOWR(KVMIO, 0xd4, struct kvm_create_guest_memfd)

#define KVM_EXIT_MEMORY_FAULT 39
#define KVM_MEMORY_EXIT_FLAG_PRIVATE (1ULL << 3)
#endif

/* ------------------------------- 6.8 / 6.10 / 6.11: VM types, SEV INIT2, SEV-SNP */
/*
 * Guarded per definition, not per group: a header set may carry part of this
 * (6.10 has the SEV/SEV-ES VM types, struct kvm_sev_init and KVM_SEV_INIT2 but
 * no SNP; 6.8 has KVM_X86_DEFAULT_VM and KVM_X86_SW_PROTECTED_VM only). Macros
 * are guarded by #ifndef; structures and enum constants by the version that
 * introduced them (tests/integration/test_kvm_headers.sh compiles this header
 * against simulated 6.8, 6.10 and 6.11 header sets).
 */
#ifndef KVM_X86_DEFAULT_VM
#define KVM_X86_DEFAULT_VM 0 /* 6.8 */
#endif
#ifndef KVM_X86_SW_PROTECTED_VM
#define KVM_X86_SW_PROTECTED_VM 1 /* 6.8 */
#endif
#ifndef KVM_X86_SEV_VM
#define KVM_X86_SEV_VM 2 /* 6.10 */
#endif
#ifndef KVM_X86_SEV_ES_VM
#define KVM_X86_SEV_ES_VM 3 /* 6.10 */
#endif
#ifndef KVM_X86_SNP_VM
#define KVM_X86_SNP_VM 4 /* 6.11 */
#endif

/* Device attributes of /dev/kvm (KVM_GET_DEVICE_ATTR, group KVM_X86_GRP_SEV): 6.10. */
#ifndef KVM_X86_GRP_SEV
#define KVM_X86_GRP_SEV 1
#endif
#ifndef KVM_X86_SEV_VMSA_FEATURES
#define KVM_X86_SEV_VMSA_FEATURES 0
#endif

/* KVM_CAP_X86_APIC_BUS_CYCLES_NS (6.11): the APIC bus period a TD's timer runs at. */
#ifndef KVM_CAP_X86_APIC_BUS_CYCLES_NS
#define KVM_CAP_X86_APIC_BUS_CYCLES_NS 237
#endif

/* enum sev_cmd_id continues after KVM_SEV_SEND_CANCEL (21) in 6.1's header; 6.10
 * adds KVM_SEV_INIT2 and struct kvm_sev_init, 6.11 the SNP commands. (Enum
 * constants cannot be tested with #ifdef; a macro of the same name and value is
 * harmless once the header's enum has been parsed.) */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 10, 0)
#define KVM_SEV_INIT2 22

struct kvm_sev_init {
	__u64 vmsa_features;
	__u32 flags;
	__u16 ghcb_version;
	__u16 pad1;
	__u32 pad2[8];
};
#endif

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 11, 0)
#define KVM_SEV_SNP_LAUNCH_START 100
#define KVM_SEV_SNP_LAUNCH_UPDATE 101
#define KVM_SEV_SNP_LAUNCH_FINISH 102

struct kvm_sev_snp_launch_start {
	__u64 policy;
	__u8 gosvw[16];
	__u16 flags;
	__u8 pad0[6];
	__u64 pad1[4];
};

#define KVM_SEV_PAGE_TYPE_INVALID 0x0
#define KVM_SEV_SNP_PAGE_TYPE_NORMAL 0x1
#define KVM_SEV_SNP_PAGE_TYPE_ZERO 0x3
#define KVM_SEV_SNP_PAGE_TYPE_UNMEASURED 0x4
#define KVM_SEV_SNP_PAGE_TYPE_SECRETS 0x5
#define KVM_SEV_SNP_PAGE_TYPE_CPUID 0x6

struct kvm_sev_snp_launch_update {
	__u64 gfn_start;
	__u64 uaddr;
	__u64 len;
	__u8 type;
	__u8 pad0;
	__u16 flags;
	__u32 pad1;
	__u64 pad2[4];
};

#define KVM_SEV_SNP_ID_BLOCK_SIZE 96
#define KVM_SEV_SNP_ID_AUTH_SIZE 4096
#define KVM_SEV_SNP_FINISH_DATA_SIZE 32

struct kvm_sev_snp_launch_finish {
	__u64 id_block_uaddr;
	__u64 id_auth_uaddr;
	__u8 id_block_en;
	__u8 auth_key_en;
	__u8 vcek_disabled;
	__u8 host_data[KVM_SEV_SNP_FINISH_DATA_SIZE];
	__u8 pad0[3];
	__u16 flags;
	__u64 pad1[4];
};
#endif

/* ------------------------------------------------------------------ 6.16: TDX */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 16, 0)
#define KVM_X86_TDX_VM 5

enum kvm_tdx_cmd_id {
	KVM_TDX_CAPABILITIES = 0,
	KVM_TDX_INIT_VM,
	KVM_TDX_INIT_VCPU,
	KVM_TDX_INIT_MEM_REGION,
	KVM_TDX_FINALIZE_VM,
	KVM_TDX_GET_CPUID,
	KVM_TDX_CMD_NR_MAX,
};

struct kvm_tdx_cmd {
	__u32 id;
	__u32 flags;
	__u64 data;
	__u64 hw_error;
};

struct kvm_tdx_capabilities {
	__u64 supported_attrs;
	__u64 supported_xfam;
	__u64 kernel_tdvmcallinfo_1_r11;
	__u64 user_tdvmcallinfo_1_r11;
	__u64 kernel_tdvmcallinfo_1_r12;
	__u64 user_tdvmcallinfo_1_r12;
	__u64 reserved[250];
	struct kvm_cpuid2 cpuid; /* flexible: the caller allocates nent entries after it */
};

struct kvm_tdx_init_vm {
	__u64 attributes;
	__u64 xfam;
	__u64 mrconfigid[6];
	__u64 mrowner[6];
	__u64 mrownerconfig[6];
	__u64 reserved[12];
	struct kvm_cpuid2 cpuid; /* flexible, as above */
};

#define KVM_TDX_MEASURE_MEMORY_REGION (1ULL << 0)

struct kvm_tdx_init_mem_region {
	__u64 source_addr;
	__u64 gpa;
	__u64 nr_pages;
};

#define KVM_EXIT_TDX 40
#endif

/* TDVMCALL leaves KVM forwards to userspace in KVM_EXIT_TDX (GHCI 1.5, KVM 6.16). */
#define KVM_CC_TDVMCALL_GET_TD_VM_CALL_INFO 0x10000ULL
#define KVM_CC_TDVMCALL_GET_QUOTE 0x10002ULL
#define KVM_CC_TDVMCALL_SETUP_EVENT_NOTIFY 0x10004ULL
#define KVM_CC_TDVMCALL_STATUS_SUCCESS 0x0ULL
#define KVM_CC_TDVMCALL_STATUS_RETRY 0x1ULL
#define KVM_CC_TDVMCALL_STATUS_INVALID_OPERAND 0x8000000000000000ULL

/*
 * Exit payloads that the 6.1 struct kvm_run does not name. Both live at the start of
 * the kvm_run exit union (the anonymous members `memory_fault` and `tdx` upstream);
 * use kvm_cc_run_exit() to reach them.
 */
struct kvm_cc_exit_memory_fault {
	__u64 flags;
	__u64 gpa;
	__u64 size;
};

struct kvm_cc_exit_tdx {
	__u64 flags;
	__u64 nr;
	union {
		struct {
			__u64 ret;
			__u64 data[5];
		} unknown;
		struct {
			__u64 ret;
			__u64 gpa;
			__u64 size;
		} get_quote;
		struct {
			__u64 ret;
			__u64 leaf;
			__u64 r11, r12, r13, r14;
		} get_tdvmcall_info;
		struct {
			__u64 ret;
			__u64 vector;
		} setup_event_notify;
	};
};

static inline void *kvm_cc_run_exit(struct kvm_run *run) { return (void *)&run->hw; }

/*
 * What a KVM_RUN result means. Documentation/virt/kvm/api.rst, KVM_EXIT_MEMORY_FAULT:
 * it "is unique among all KVM exit reasons in that it accompanies a return code of
 * '-1', not '0'! errno will always be set to EFAULT"; for any other errno the
 * exit_reason is stale. EINTR/EAGAIN: a signal or immediate_exit, run again.
 */
enum vg_kvm_run_result { VG_KVM_RUN_EXIT = 0, VG_KVM_RUN_AGAIN, VG_KVM_RUN_FAILED };
static inline enum vg_kvm_run_result vg_kvm_run_result(int rc, int err, const struct kvm_run *run)
{
	if (rc >= 0)
		return VG_KVM_RUN_EXIT;
	if (err == EINTR || err == EAGAIN)
		return VG_KVM_RUN_AGAIN;
	if (err == EFAULT && run->exit_reason == KVM_EXIT_MEMORY_FAULT)
		return VG_KVM_RUN_EXIT;
	return VG_KVM_RUN_FAILED;
}

/*
 * KVM_EXIT_HYPERCALL(KVM_HC_MAP_GPA_RANGE) results userspace may write into
 * run->hypercall.ret: 0, or the POSITIVE errno EINVAL (the guest's request is
 * invalid) or EAGAIN (retry). kvm-x86 (arch/x86/kvm/x86.c, the hypercall
 * completion for userspace exits; svm/sev.c snp_complete_psc, vmx/tdx.c
 * tdx_complete_vmcall_map_gpa) fails KVM_RUN for any other value.
 */
#define VG_KVM_HC_RET_OK 0ULL
#define VG_KVM_HC_RET_EINVAL ((__u64)EINVAL)
#define VG_KVM_HC_RET_EAGAIN ((__u64)EAGAIN)

_Static_assert(sizeof(struct kvm_userspace_memory_region2) == 160, "kvm_userspace_memory_region2 (uapi/linux/kvm.h)");
_Static_assert(sizeof(struct kvm_sev_init) == 48, "kvm_sev_init (uapi/asm/kvm.h)");
_Static_assert(sizeof(struct kvm_sev_snp_launch_start) == 64, "kvm_sev_snp_launch_start (uapi/asm/kvm.h)");
_Static_assert(sizeof(struct kvm_sev_snp_launch_update) == 64, "kvm_sev_snp_launch_update (uapi/asm/kvm.h)");
_Static_assert(sizeof(struct kvm_sev_snp_launch_finish) == 88, "kvm_sev_snp_launch_finish (uapi/asm/kvm.h)");
_Static_assert(sizeof(struct kvm_tdx_capabilities) == 2048 + 8, "kvm_tdx_capabilities (uapi/asm/kvm.h)");
_Static_assert(sizeof(struct kvm_tdx_init_vm) == 256 + 8, "kvm_tdx_init_vm: TD_PARAMS head is 256 bytes");
_Static_assert(sizeof(struct kvm_cc_exit_tdx) == 64, "kvm_run.tdx (uapi/linux/kvm.h)");

/* ------------------------------------------------------- the ioctl seam */
/*
 * Every KVM call of the confidential backends goes through one of these. The system
 * implementation calls ioctl(2); protocol tests install a recorder. fn returns the
 * ioctl's non-negative result or -errno.
 */
struct vg_kvm_io {
	int (*fn)(void *ctx, int fd, unsigned long req, void *arg);
	void *ctx;
};

static inline int vg_kvm_sys_ioctl(void *ctx, int fd, unsigned long req, void *arg)
{
	(void)ctx;
	int r;
	do {
		r = ioctl(fd, req, arg);
	} while (r < 0 && errno == EINTR && req != KVM_MEMORY_ENCRYPT_OP);
	return r < 0 ? -errno : r;
}

#define VG_KVM_IO_SYSTEM ((struct vg_kvm_io){ .fn = vg_kvm_sys_ioctl, .ctx = 0 })

static inline int vg_kvm_ioctl(const struct vg_kvm_io *io, int fd, unsigned long req, void *arg)
{
	return io->fn(io->ctx, fd, req, arg);
}

/* -------------------------------------- private memory shared by SNP and TDX */
/* Flips [gpa, gpa+size) between private (guest_memfd) and shared (hva) backing. */
static inline int vg_kvm_set_private(const struct vg_kvm_io *io, int vm_fd, uint64_t gpa,
				     uint64_t size, int private_)
{
	struct kvm_memory_attributes a = {
		.address = gpa,
		.size = size,
		.attributes = private_ ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0,
	};
	return vg_kvm_ioctl(io, vm_fd, KVM_SET_MEMORY_ATTRIBUTES, &a);
}

struct vg_err;
/*
 * Checks the capabilities private memory needs on any confidential VM type:
 * guest_memfd, KVM_SET_USER_MEMORY_REGION2 and the PRIVATE memory attribute.
 * 0, or -ENOTSUP with a message naming what the host lacks. (common/kvm_cc.c)
 */
int vg_kvm_probe_private_memory(const struct vg_kvm_io *io, int kvm_fd, struct vg_err *err);
/*
 * Private memory slots (common/kvm_cc.c). A platform with private memory backs every
 * slot it may launch into or the guest may access privately with a guest_memfd:
 * RAM, and the firmware image too (KVM's snp_launch_update and TDX's
 * kvm_gmem_populate refuse a slot without one; QEMU backs the BIOS with guest_memfd
 * whenever it is required). vg_kvm_gmem_create: a guest_memfd of size bytes (the fd).
 * vg_kvm_private_slot: KVM_SET_USER_MEMORY_REGION2 bound to [gmem_off, gmem_off+size)
 * of gmem_fd, then the whole range marked private (KVM_SET_MEMORY_ATTRIBUTES), as
 * QEMU does when it creates a guest_memfd slot: a guest that accepts its RAM by a
 * private access (TDVF, an SNP guest's PVALIDATE) must not meet a shared page.
 */
int vg_kvm_gmem_create(const struct vg_kvm_io *io, int vm_fd, uint64_t size, struct vg_err *err);
int vg_kvm_private_slot(const struct vg_kvm_io *io, int vm_fd, uint32_t slot, uint64_t gpa, uint64_t size,
			void *host, int gmem_fd, uint64_t gmem_off, struct vg_err *err);

#endif /* VIGIL_LINUX_KVM_CC_H */
