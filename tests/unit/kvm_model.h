/*
 * A small model of KVM's documented checks for confidential VMs, standing in for
 * /dev/kvm, the VM fd and the vCPU fds behind the vg_kvm_io seam
 * (common/linux_kvm_cc.h). It does not replay our expectations: it enforces the rules
 * the kernel enforces, each citing the kernel source it comes from, and refuses what
 * the kernel refuses with the errno the kernel returns:
 *
 *   memslots and guest_memfd      virt/kvm/kvm_main.c, virt/kvm/guest_memfd.c
 *   memory attributes             virt/kvm/kvm_main.c kvm_vm_ioctl_set_mem_attributes
 *   private/shared faults         arch/x86/kvm/mmu/mmu.c kvm_mmu_faultin_pfn,
 *                                 Documentation/virt/kvm/api.rst KVM_EXIT_MEMORY_FAULT
 *   SEV-SNP launch                arch/x86/kvm/svm/sev.c snp_launch_start,
 *                                 snp_launch_update, sev_gmem_post_populate
 *   page-state changes            arch/x86/kvm/svm/sev.c snp_begin_psc
 *   hypercall completion          arch/x86/kvm/x86.c (userspace hypercall exits)
 *   a TD's MapGPA                 arch/x86/kvm/vmx/tdx.c tdx_map_gpa, __tdx_map_gpa,
 *                                 tdx_complete_vmcall_map_gpa
 *   TDX launch                    arch/x86/kvm/vmx/tdx.c tdx_td_init,
 *                                 setup_tdparams_eptp_controls, tdx_vcpu_init_mem_region,
 *                                 tdx_vcpu_get_cpuid; Documentation/virt/kvm/x86/intel-tdx.rst
 *   the machine (plain KVM)       virt/kvm/kvm_main.c, arch/x86/kvm/x86.c, cpuid.c: VM types,
 *                                 irqchip/PIT/TSS order, vCPU ids, protected register state,
 *                                 the irqchip/PIT/LAPIC/MP-state/events ioctls of a reboot
 *                                 (bookkeeping only: no state kept)
 *                                 (what vigil-vmm itself issues; tests/integration/kvm_shim.c
 *                                 runs the real binary against this model)
 *
 * Every ioctl is logged (km.calls) so tests can also check order and arguments. The
 * first rule the VMM breaks is kept in km.violation. Linked into every unit test.
 */
#ifndef VIGIL_TESTS_KVM_MODEL_H
#define VIGIL_TESTS_KVM_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "common/linux_kvm_cc.h"

#define KM_KVM_FD 3
#define KM_VM_FD 4
#define KM_SEV_FD 5
#define KM_VCPU_FD 7
#define KM_GMEM_FD0 40

#define KM_MAX_CALLS 512
#define KM_MAX_SLOTS 8
#define KM_MAX_GPA (16ull << 30) /* the model tracks attributes below 16 GiB */
#define KM_MAX_VCPUS 8
#define KM_RUN_SIZE (3 * 4096) /* KVM_GET_VCPU_MMAP_SIZE: kvm_run, PIO data, coalesced MMIO */

struct km_call {
	int fd;
	unsigned long req;
	uint32_t id;     /* KVM_MEMORY_ENCRYPT_OP sub-command (SEV or TDX) */
	uint32_t sev_fd; /* SEV commands */
	uint32_t flags;  /* TDX commands */
	uint64_t data;   /* TDX commands */
	uint64_t a[4];   /* decoded arguments, per call kind */
	uint8_t type;
	uint8_t host_data[32];
	uint8_t mrconfigid[48];
	struct kvm_cpuid_entry2 cpuid[8]; /* first entries of INIT_VM / SET_CPUID2 */
	unsigned ncpuid;
	int rc;
};

struct km_slot {
	uint64_t gpa, size;
	bool gmem;
	uint64_t uaddr; /* the shared (host) mapping; 0 for slots made by km_add_slot */
};

/* One vCPU's register state as userspace set it (reset values at KVM_CREATE_VCPU). */
struct km_vcpu {
	uint32_t id;
	bool ran;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_debugregs dregs;
	uint64_t xcr0, pat;
};

/* A CPUID value the (simulated) SNP firmware insists on: a CPUID page carrying a
 * different value for this leaf/subleaf/register is rejected and corrected. */
struct km_fw_cpuid_rule {
	uint32_t leaf, subleaf;
	int reg; /* 0 EAX .. 3 EDX */
	uint32_t value;
};

struct kvm_model {
	/* ---- what the host offers */
	int vm_types, hc_mask, mem_attrs;
	uint64_t vmsa_features;
	bool snp_require_smt; /* Linux 6.11: snp_launch_start refused policies without SMT */
	/* ---- SNP firmware behaviour */
	uint64_t pages_per_call; /* LAUNCH_UPDATE processes at most this many pages */
	unsigned eagain_calls;   /* bitmask over LAUNCH_UPDATE calls: -EAGAIN */
	bool no_progress;
	int fail_update_rc;
	uint32_t fw_error;
	struct km_fw_cpuid_rule fw_cpuid[4];
	unsigned n_fw_cpuid;
	/* ---- TDX module behaviour (tdx_mode: the VM is a KVM_X86_TDX_VM) */
	bool tdx_mode;
	unsigned caps_nent;          /* configurable CPUID entries KVM_TDX_CAPABILITIES returns */
	unsigned init_vm_eagain;     /* INIT_VM fails with -EAGAIN this many times first */
	uint32_t tdx_fixed1_leaf1_ecx; /* bits the TDX module forces on in leaf 1 ECX */
	uint32_t tdx_fixed0_leaf1_ecx; /* configurable bits the module nevertheless clears */
	int fail_rc;                 /* every TDX command fails with this (0: no) */
	uint64_t hw_error;
	unsigned intr_calls;         /* bitmask over INIT_MEM_REGION calls: -EINTR */
	/* ---- the machine: plain KVM (KVM_CREATE_VM .. KVM_RUN), used by the shim */
	bool vm_created;
	unsigned long vm_type;
	int irqchip; /* 0 none, 1 in-kernel (PIC+IOAPIC), 2 split */
	bool pit, snp_vmsas_encrypted;
	unsigned vcpu; /* which vCPU a call on KM_VCPU_FD is on (set by the caller; 0 in unit tests) */
	bool kvm_view; /* the caller is KVM itself (building a VMSA): its own view of the FPU state */
	struct km_vcpu vcpus[KM_MAX_VCPUS];
	/* ---- state */
	struct km_slot slots[KM_MAX_SLOTS];
	unsigned nslots;
	uint64_t gmem_size[8]; /* guest_memfds created: fd KM_GMEM_FD0 + i */
	unsigned ngmem;
	uint64_t *private_bits; /* one bit per 4 KiB page below KM_MAX_GPA */
	bool snp_inited, snp_started, snp_finished;
	uint64_t snp_policy;
	bool tdx_inited, tdx_finalized;
	unsigned hc_enabled; /* KVM_CAP_EXIT_HYPERCALL as enabled */
	uint64_t map_gpa_next, map_gpa_end; /* a TD's MapGPA in progress (vmx/tdx.c struct vcpu_tdx) */
	uint64_t apic_bus_ns; /* KVM_CAP_X86_APIC_BUS_CYCLES_NS, 0 = KVM's 1 GHz default */
	unsigned vcpus_created;
	struct kvm_cpuid_entry2 td_cpuid[64]; /* what INIT_VM configured */
	unsigned td_ncpuid;
	struct kvm_cpuid_entry2 vcpu_cpuid[64]; /* last KVM_SET_CPUID2 */
	unsigned vcpu_ncpuid;
	unsigned update_calls, mem_calls, init_vm_calls;
	/* ---- log */
	struct km_call calls[KM_MAX_CALLS];
	unsigned n;
	char violation[256];
};

extern struct kvm_model km;
extern const struct vg_kvm_io km_io;

/* Resets the model to a host that offers SNP and TDX with private memory, and one
 * guest_memfd slot covering [0, 4 GiB) (what the VMM creates for a confidential VM);
 * km_reset_bare leaves no slot. */
void km_reset(void);
void km_reset_bare(void);
void km_add_slot(uint64_t gpa, uint64_t size, bool gmem);
bool km_is_private(uint64_t gpa);
const struct km_slot *km_slot_of(uint64_t gpa);
/* The guest touches gpa with a private (encrypted) or shared access during KVM_RUN.
 * Returns 0 when the access matches the page's attribute, else -EFAULT with
 * run->exit_reason = KVM_EXIT_MEMORY_FAULT (mmu.c kvm_mmu_prepare_memory_fault_exit). */
int km_guest_access(uint64_t gpa, bool private_, struct kvm_run *run);
/* Resumes after a KVM_EXIT_HYPERCALL: 0, or -EINVAL when userspace left a
 * hypercall.ret KVM refuses (anything but 0, EINVAL, EAGAIN). */
int km_complete_hypercall(const struct kvm_run *run);
/* The SNP guest's page-state change: KVM forwards it as KVM_HC_MAP_GPA_RANGE
 * (svm/sev.c snp_begin_psc); 2 MiB entries as 512 pages with the 2M hint. */
void km_psc_exit(struct kvm_run *run, uint64_t gpa, bool huge, bool private_);

/* A TD's TDG.VP.VMCALL<MapGPA>(gpa, size) as KVM handles it (vmx/tdx.c tdx_map_gpa,
 * __tdx_map_gpa): the GPA carries the shared bit (bit 47 at GPAW 48) to make the range
 * shared; KVM forwards it in chunks of at most 2 MiB (TDX_MAP_GPA_MAX_LEN), each a
 * KVM_EXIT_HYPERCALL(KVM_HC_MAP_GPA_RANGE) with args[0] = the GPA without the shared
 * bit, args[1] = pages, args[2] = ENCRYPTED or DECRYPTED with no page-size hint (4K),
 * hypercall.ret = 0. KM_TDVMCALL_EXIT: an exit is set up in run; anything else is
 * the TDVMCALL status the guest gets at once (bad operand, unaligned, no exit cap). */
#define KM_TDVMCALL_EXIT 0xffffffffffffffffull
#define KM_TDX_SHARED_BIT (1ull << 47)
uint64_t km_tdx_map_gpa(struct kvm_run *run, uint64_t gpa, uint64_t size);
/* After userspace answered a MapGPA chunk (vmx/tdx.c tdx_complete_vmcall_map_gpa):
 * KM_TDVMCALL_EXIT with the next chunk's exit set up, the guest's TDVMCALL status
 * (SUCCESS, RETRY for EAGAIN, INVALID_OPERAND for EINVAL), or -EINVAL through *krc
 * when hypercall.ret is none of 0/EINVAL/EAGAIN (KVM_RUN fails). */
uint64_t km_tdx_map_gpa_complete(struct kvm_run *run, int *krc);

/* An SNP launch on the model up to SNP_LAUNCH_START (probe, INIT2, START), with the
 * model's fds; 0 or the failing step's -errno (err filled). */
struct sev_snp_launch;
int km_snp_start(struct sev_snp_launch *l, struct vg_err *err);

#endif
