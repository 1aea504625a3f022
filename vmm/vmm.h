/*
 * vmm/: the Vigil VMM core, on KVM or on the emu software CPU (accelerators:
 * vmm/accel/, docs/vmm.md). The one public header of this directory.
 * Prefix: vmm_.
 *
 * Sections:
 *   1. Configuration (vm.json and flags)
 *   2. The VM handle, guest memory and the PIO/MMIO bus (used by devices
 *      and by platform backends)
 *   3. The platform seam (none | snp | tdx | sim-snp | sim-tdx)
 *   4. Boot: firmware image, Linux bzImage, boot_params, ACPI tables
 *   5. Sandbox (seccomp filters per thread role, privileges)
 *   6. Running a VM
 *
 * Guest memory map (x86-64, see docs/vmm.md):
 *   [0, min(ram, 3 GiB))           RAM, memslot 0
 *   [3 GiB, 4 GiB)                 32-bit PCI/MMIO hole: IOAPIC 0xFEC00000,
 *                                  TPM CRB 0xFED40000, LAPIC 0xFEE00000,
 *                                  firmware image ending at 4 GiB
 *   [4 GiB, 4 GiB + rest)          RAM above the hole, memslot 1
 */
#ifndef VIGIL_VMM_H
#define VIGIL_VMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/common.h"
#include "firmware/guest_abi.h"

/* ======================================================= 1. Configuration */

#define VMM_MAX_VCPUS 64
#define VMM_DEFAULT_MAX_REBOOTS 100 /* --max-reboots: reboots allowed within a minute */
#define VMM_MIN_MEMORY_MIB 2
#define VMM_MAX_MEMORY_MIB (1024 * 1024) /* 1 TiB */
#define VMM_MAX_CMDLINE 2048             /* bytes, without the NUL */
#define VMM_MAX_FW_CFG_USER 16           /* --fw-cfg items */
#define VMM_FW_CFG_NAME_MAX 55           /* a fw_cfg file name, without its NUL */
#define VMM_FW_CFG_USER_MAX (16u << 20)  /* bytes of one --fw-cfg item */

#define VMM_CHALLENGE_SIZE 64 /* bytes of the attest guest's nonce (REPORT_DATA) */

/* Launch inputs of the SEV-SNP platforms (snp, sim-snp): vm.json object "snp". */
struct vmm_snp_config {
	bool set;                /* some snp.* key was given */
	uint64_t policy;         /* snp.policy, --snp-policy: guest policy (default 0x30000) */
	uint64_t guest_features; /* snp.guest_features, --guest-features: SEV_FEATURES (default 0x1) */
	uint8_t host_data[32];   /* snp.host_data, --host-data HEX (default zeros) */
	char *vcpu_type;         /* snp.vcpu_type, --vcpu-type: VMSA CPU model of sim-snp (EPYC-v4) */
	char *id_block;          /* snp.id_block, --id-block FILE: 96 bytes, with id_auth */
	char *id_auth;           /* snp.id_auth, --id-auth FILE: 4096 bytes */
	bool author_key;         /* snp.author_key, --author-key: ID auth carries an author key */
};

/* Launch inputs of the TDX platforms (tdx, sim-tdx): vm.json object "tdx". */
struct vmm_tdx_config {
	bool set;                /* some tdx.* key was given */
	uint64_t attributes;     /* tdx.attributes, --tdx-attributes (default SEPT_VE_DISABLE) */
	uint64_t xfam;           /* tdx.xfam, --xfam (default 0x7) */
	uint8_t mrconfigid[48];  /* tdx.mrconfigid, --mrconfigid HEX (default zeros) */
	uint8_t mrowner[48];     /* tdx.mrowner, --mrowner HEX */
	uint8_t mrownerconfig[48]; /* tdx.mrownerconfig, --mrownerconfig HEX */
	char *qgs_socket;        /* tdx.qgs_socket, --qgs-socket PATH: quote-generation service */
};

struct vmm_config {
	unsigned vcpus;        /* 1..VMM_MAX_VCPUS, default 1 */
	uint64_t memory_mib;   /* default 128 */
	char *firmware;        /* flat image mapped to end at 4 GiB */
	char *kernel;          /* bzImage (Linux boot protocol, 64-bit entry) */
	char *initrd;
	char *cmdline;
	char *serial;          /* "stdout" (default), "none", or a file path */
	char *vtpm_state;      /* directory of the vTPM's persistent state */
	char *vtpm_key_file;   /* key encrypting that state */
	char *platform;        /* "none" (default), see vmm_platform_find() */
	char *accel;           /* accel, --accel: "kvm", "emu" or "auto" (default, NULL):
				* kvm when /dev/kvm opens, else emu (docs/vmm.md) */
	char *chroot_dir;      /* --chroot DIR: jail before the first instruction */
	char *user;            /* --user NAME|UID[:GID]: drop to this user */
	bool hugepages;        /* back guest RAM with MAP_HUGETLB */
	bool vtpm;             /* serve a vTPM (implied by vtpm_state) */
	bool print_measurements;
	bool launch_only; /* --launch-only: launch on sim-snp/sim-tdx, print the launch measurement, stop */
	bool json;             /* --print-measurements as JSON */
	const char *event_log_out; /* --event-log FILE: with --print-measurements, the TCG log */
	bool sandbox;          /* seccomp + no_new_privs + caps dropped (default true) */
	uint64_t max_reboots;  /* max_reboots, --max-reboots N: more reboots than this within
				* a minute stop the VM (a reset storm); 0: no limit (default 100) */
	char *state_dir;       /* state_dir, --state-dir: the simulated platforms' identities
				* (default /var/lib/vigil as root, else ~/.local/state/vigil) */
	/* guest_challenge, --guest-challenge HEX: 64 bytes the guest-request device
	 * offers the guest as its verifier's nonce (the attest guest's REPORT_DATA). */
	bool has_guest_challenge;
	uint8_t guest_challenge[VMM_CHALLENGE_SIZE];
	struct vmm_snp_config snp;
	struct vmm_tdx_config tdx;
	/* fw_cfg, --fw-cfg name=opt/...,string=TEXT|file=PATH (QEMU's -fw_cfg, repeatable):
	 * named items the firmware reads, e.g. OVMF's opt/ovmf/... and opt/org.tianocore/...
	 * knobs. Names start with "opt/" (the VMM's own items are etc/...). */
	struct vmm_fw_cfg_user {
		char *name;
		char *file;   /* exactly one of file and string */
		char *string; /* served without a NUL, as QEMU does */
	} fw_cfg[VMM_MAX_FW_CFG_USER];
	unsigned n_fw_cfg;
};

/* Defaults: 1 vCPU, 128 MiB, serial stdout, platform none, sandbox on, and
 * the SNP/TDX launch defaults above. */
void vmm_config_init(struct vmm_config *c);
void vmm_config_free(struct vmm_config *c);
/* Parses a vm.json document into c (keys absent from the document keep their
 * value). Unknown keys, wrong types and out-of-range values are rejected with
 * one line naming the key. `what` names the source in messages. */
int vmm_config_parse_json(struct vmm_config *c, const char *json, size_t len, const char *what,
			  struct vg_err *err);
int vmm_config_load_file(struct vmm_config *c, const char *path, struct vg_err *err);
/* Sets one setting by its JSON key name from a command-line string
 * ("vcpus", "memory_mib", "firmware", "snp.host_data", ...): the flags and
 * vm.json share it. Keys inside the "snp" and "tdx" objects are dotted. */
int vmm_config_set(struct vmm_config *c, const char *key, const char *value, struct vg_err *err);
/* The flags that set one key (vigil-vmm builds its options from them): the
 * i-th, false past the end. A boolean flag takes no argument. */
struct vmm_config_flag {
	const char *flag; /* without "--" */
	const char *key;  /* for vmm_config_set */
	bool boolean;
};
bool vmm_config_flag_at(size_t i, struct vmm_config_flag *out);
/* Final checks before anything starts: a boot source, files readable,
 * platform known, consistent settings. */
int vmm_config_validate(const struct vmm_config *c, struct vg_err *err);
/* A host path as seen from inside the jail (its suffix after `jail`), or NULL
 * when it lies outside. With jail NULL, the path itself. */
const char *vmm_jail_path(const char *jail, const char *path);

/* ============================= 2. VM handle, guest memory, PIO/MMIO bus */

struct vmm; /* one VM: accelerator, memory, bus, vCPUs, devices */

enum vmm_space { VMM_SPACE_PIO = 0, VMM_SPACE_MMIO = 1 };

/* A device model. Accesses are 1, 2, 4 or 8 bytes; `off` is relative to the
 * registered base. Called on vCPU threads; a device shared by several vCPUs
 * locks itself. Values read are zero-extended; the bus masks to size. */
struct vmm_dev_ops {
	const char *name;
	uint64_t (*read)(void *opaque, uint64_t off, unsigned size);
	void (*write)(void *opaque, uint64_t off, unsigned size, uint64_t value);
};

/* Registers [base, base+len) in a space. Overlap with an existing range, an
 * empty or wrapping range, or a PIO range beyond 0xFFFF is refused.
 * Registration happens before the vCPUs start (platform init, devices). */
int vmm_register_device(struct vmm *vm, enum vmm_space space, uint64_t base, uint64_t len,
			const struct vmm_dev_ops *ops, void *opaque, struct vg_err *err);

/* Host view of guest RAM: a pointer to [gpa, gpa+len) when the whole range lies
 * in one RAM region, else NULL. Never for the firmware ROM. */
void *vmm_gpa_ptr(struct vmm *vm, uint64_t gpa, uint64_t len);
int vmm_mem_write(struct vmm *vm, uint64_t gpa, const void *src, size_t len, struct vg_err *err);
int vmm_mem_read(struct vmm *vm, uint64_t gpa, void *dst, size_t len, struct vg_err *err);
uint64_t vmm_ram_size(const struct vmm *vm);
unsigned vmm_vcpu_count(const struct vmm *vm);
int vmm_vm_fd(const struct vmm *vm);
int vmm_kvm_fd(const struct vmm *vm);
const struct vmm_config *vmm_get_config(const struct vmm *vm);
/* Raises a level-triggered ISA interrupt line (in-kernel irqchip). */
int vmm_irq_line(struct vmm *vm, unsigned irq, bool level);
/* Asks the VM to stop with an exit status and a reason (first request wins);
 * callable from any thread, async-signal-unsafe callers excluded. */
void vmm_request_stop(struct vmm *vm, int status, const char *reason);

/* The bus on its own (unit tests and the core). */
struct vmm_bus;
struct vmm_bus *vmm_bus_new(void);
void vmm_bus_free(struct vmm_bus *bus);
int vmm_bus_register(struct vmm_bus *bus, enum vmm_space space, uint64_t base, uint64_t len,
		     const struct vmm_dev_ops *ops, void *opaque, struct vg_err *err);
/* Dispatch. Unclaimed reads return all-ones, unclaimed writes are dropped;
 * each unclaimed address is logged once. Returns true when a device claimed it. */
bool vmm_bus_read(struct vmm_bus *bus, enum vmm_space space, uint64_t addr, unsigned size,
		  uint64_t *value);
bool vmm_bus_write(struct vmm_bus *bus, enum vmm_space space, uint64_t addr, unsigned size,
		   uint64_t value);
/* Number of distinct unclaimed addresses seen (for reports and tests). */
unsigned vmm_bus_unclaimed_count(const struct vmm_bus *bus);

/* ============================================== 3. The platform seam === */
/*
 * One interface for every way of launching a guest. The core calls these in
 * this order and never tests which platform it runs:
 *
 *   probe(/dev/kvm) -> KVM_CREATE_VM(vm_type) -> memory slots -> init -> core devices ->
 *   launch_start -> for each image the core loads: copy into guest memory,
 *   then launch_update(gpa, bytes, len, type) -> for each vCPU: registers,
 *   CPUID, MSRs, then vcpu_init -> launch_finish -> sandbox -> run ->
 *   (exits the core does not know go to handle_exit) -> destroy.
 *
 * Every hook is optional (NULL = nothing to do). `state` is what init stored.
 * Hooks return 0 or -errno and fill err.
 */
enum vmm_page_type {
	VMM_PAGE_NORMAL = 1,     /* measured contents (firmware, kernel, ...) */
	VMM_PAGE_ZERO = 2,       /* measured as zero pages */
	VMM_PAGE_UNMEASURED = 3, /* private but not measured */
	VMM_PAGE_SECRETS = 4,    /* SNP secrets page */
	VMM_PAGE_CPUID = 5,      /* SNP CPUID page */
	VMM_PAGE_SHARED = 6,     /* stays shared with the host (boot_params, ACPI, logs) */
};

/* What an image region is, for launch_update callers and measurements. */
enum vmm_image_kind {
	VMM_IMAGE_FIRMWARE = 0,
	VMM_IMAGE_KERNEL,
	VMM_IMAGE_INITRD,
	VMM_IMAGE_CMDLINE,
	VMM_IMAGE_BOOT_PARAMS,
	VMM_IMAGE_ACPI,
	VMM_IMAGE_PAGE_TABLES,
	VMM_IMAGE_EVENT_LOG,
};

/* Platform flags: the machine shape the platform needs; the core honours them. */
#define VMM_PLAT_GUEST_MEMFD (1u << 0) /* back RAM with KVM guest_memfd (private memory) */
#define VMM_PLAT_NO_ROM (1u << 1)      /* map firmware as RAM, not a read-only slot */
/* Split irqchip (KVM_CAP_SPLIT_IRQCHIP, 24 IOAPIC routes): LAPICs in KVM, no
 * in-kernel PIC or IOAPIC. ISA interrupt lines are then not delivered
 * (vmm_irq_line returns -ENOTSUP): devices are polled. */
#define VMM_PLAT_SPLIT_IRQCHIP (1u << 2)
#define VMM_PLAT_NO_PIT (1u << 3)       /* no in-kernel PIT (KVM_CREATE_PIT2 skipped) */
/* The vCPUs' initial state belongs to the platform (a TD's is set by the TDX
 * module): the core issues no KVM_SET_REGS, KVM_SET_SREGS or KVM_SET_MSRS. */
#define VMM_PLAT_PROTECTED_REGS (1u << 4)
/* Measured direct boot: with --firmware, --kernel/--initrd/--cmdline are for the
 * firmware (the platform measures them, the firmware loads them); the core does not
 * load the kernel itself. */
#define VMM_PLAT_MEASURED_KERNEL (1u << 5)

struct kvm_run;
struct kvm_cpuid_entry2;

/* The firmware image of a launch (cfg->firmware), read once by the core before
 * launch_start and parsed once: data/len/gpa are what the core copies into guest
 * memory; fw is the parsed image (OVMF footer table, SEV and TDVF metadata), or NULL
 * without --firmware or when the image is not firmware the parser recognises
 * (fw_error says why). */
struct fw_image;
struct vmm_launch_image {
	const uint8_t *data;
	size_t len;
	uint64_t gpa;
	const struct fw_image *fw;
	const char *path;
	char fw_error[200];
	/* Measured direct boot (VMM_PLAT_MEASURED_KERNEL with --kernel): the kernel,
	 * initrd and command line, read once; the platform hashes these bytes and fw_cfg
	 * serves the same bytes. kernel NULL otherwise. */
	const uint8_t *kernel, *initrd;
	size_t kernel_len, initrd_len;
	const char *cmdline;
};

struct vmm_platform_ops {
	const char *name;
	unsigned long vm_type; /* KVM_CREATE_VM type: 0 = KVM_X86_DEFAULT_VM */
	uint32_t flags;        /* VMM_PLAT_* */
	/* Extra ioctl request numbers (0-terminated) the vCPU-thread hooks
	 * (handle_exit, devices) issue: the vCPU seccomp filter allows them. */
	const unsigned long *vcpu_ioctls;
	/* The vm.json object of launch inputs this platform reads ("snp", "tdx"), or
	 * NULL: vmm_config_validate refuses settings no platform of this run reads. */
	const char *config_section;
	/* Before KVM_CREATE_VM, on the open /dev/kvm: can this host run the
	 * platform with this configuration? Fails with the platform's own reason
	 * (e.g. the VM-types mask KVM reports), so that the user never sees a bare
	 * "KVM_CREATE_VM: Invalid argument". Also run by vigil-vmm --check-kvm.
	 * Under the emu accelerator kvm_fd is -1: a platform that needs real
	 * KVM refuses there with its reason. */
	int (*probe)(const struct vmm_config *c, int kvm_fd, struct vg_err *err);
	/* After the VM and its memory exist, before any device or image. May
	 * register devices (vmm_register_device) and read/write guest memory. */
	int (*init)(struct vmm *vm, void **state, struct vg_err *err);
	/* img: the firmware image the core loads, read once and parsed once (its
	 * bytes are what reaches guest memory). */
	int (*launch_start)(struct vmm *vm, void *state, const struct vmm_launch_image *img, struct vg_err *err);
	/* `bytes` is the host copy of [gpa, gpa+len) already in guest memory;
	 * len is a multiple of 4096 (the core pads). */
	int (*launch_update)(struct vmm *vm, void *state, uint64_t gpa, const void *bytes, size_t len,
			     enum vmm_page_type type, struct vg_err *err);
	/* After the core set registers, CPUID and MSRs of vCPU `index`. */
	int (*vcpu_init)(struct vmm *vm, void *state, unsigned index, int vcpu_fd, struct vg_err *err);
	int (*launch_finish)(struct vmm *vm, void *state, struct vg_err *err);
	/* The launch measurement the (simulated) platform computed: SNP MEASUREMENT or
	 * TDX MRTD, named by *what. Only platforms that can know it (sim-snp, sim-tdx);
	 * a host cannot read a hardware launch measurement. For --launch-only. */
	int (*launch_measurement)(struct vmm *vm, void *state, uint8_t out[48], const char **what,
				  struct vg_err *err);
	/* A guest's request to the (real or simulated) security processor:
	 * request and response pages. Platforms without one leave it NULL. */
	int (*guest_request)(struct vmm *vm, void *state, const void *req, size_t req_len, void *resp,
			     size_t resp_cap, size_t *resp_len, struct vg_err *err);
	/* A KVM exit reason the core does not handle (hypercalls, memory faults,
	 * TDX/SNP exits). Return 1 handled (resume), 0 not handled (the core
	 * stops the VM with an error), or -errno. Runs on the vCPU thread. */
	int (*handle_exit)(struct vmm *vm, void *state, unsigned index, struct kvm_run *run);
	/* The vCPU CPUID set (kvm accelerator), once, before any KVM_SET_CPUID2 and the SNP
	 * CPUID page: the platform presents its CPU model (snp, sim-snp: leaf 1 EAX is the
	 * --vcpu-type signature, as QEMU's -cpu model gives it, which is also the RDX the
	 * VMSAs are measured with). NULL: the host's filtered set as it is. */
	void (*cpuid_adjust)(struct vmm *vm, void *state, struct kvm_cpuid_entry2 *e, unsigned n);
	void (*destroy)(struct vmm *vm, void *state);
};

/* The platform named `name`, or NULL. Table in vmm/platform/table.c. */
const struct vmm_platform_ops *vmm_platform_find(const char *name);
/* Comma-separated list of known names, for messages and --help. */
const char *vmm_platform_names(void);
extern const struct vmm_platform_ops vmm_platform_none;
/* The running platform's guest_request (for platform devices and tests). */
int vmm_platform_guest_request(struct vmm *vm, const void *req, size_t req_len, void *resp,
			       size_t resp_cap, size_t *resp_len, struct vg_err *err);

/* ============================================================= 4. Boot */

#define VMM_4GIB 0x100000000ull
#define VMM_MMIO_HOLE_START 0xC0000000ull
#define VMM_FIRMWARE_MAX (16u * 1024 * 1024) /* a firmware image is at most 16 MiB */
#define VMM_RESET_VECTOR 0xFFFFFFF0ull

/* Checks a firmware image: non-empty, 4 KiB multiple, at most VMM_FIRMWARE_MAX. */
int vmm_firmware_check(size_t len, struct vg_err *err);
/* Where an image of len bytes starts so it ends at 4 GiB. */
static inline uint64_t vmm_firmware_base(size_t len) { return VMM_4GIB - len; }

/* Linux x86 boot protocol (Documentation/arch/x86/boot.rst). */
struct vmm_bzimage {
	uint16_t protocol;        /* e.g. 0x020f */
	uint8_t setup_sects;
	uint32_t setup_size;      /* (setup_sects + 1) * 512: offset of the protected-mode kernel */
	uint32_t kernel_size;     /* bytes of protected-mode kernel in the file */
	uint8_t loadflags;
	uint32_t kernel_alignment;
	bool relocatable;
	uint16_t xloadflags;
	uint32_t cmdline_size;    /* maximum command line length */
	uint32_t initrd_addr_max;
	uint64_t pref_address;
	uint32_t init_size;       /* bytes of memory the kernel needs from its load address */
	uint32_t handover_offset;
	char version[128];        /* kernel version string when present */
};
/* Parses and checks the setup header: boot sector magic 0xAA55, "HdrS",
 * protocol >= 2.12, LOADED_HIGH, XLF_KERNEL_64, relocatable, alignment a power
 * of two >= 4 KiB, sizes consistent with the file. */
int vmm_bzimage_parse(const uint8_t *img, size_t len, struct vmm_bzimage *out, struct vg_err *err);

struct vmm_e820 {
	uint64_t addr, size;
	uint32_t type; /* 1 RAM, 2 reserved, 3 ACPI, 4 NVS */
};

/* The zero page (boot_params) and where everything goes. */
struct vmm_linux_layout {
	uint64_t kernel_addr;     /* protected-mode kernel load address */
	uint64_t entry64;         /* kernel_addr + 0x200 */
	uint64_t boot_params_addr;
	uint64_t cmdline_addr;
	uint64_t initrd_addr;     /* 0 when none */
	uint64_t initrd_size;
	uint64_t rsdp_addr;       /* 0 when none */
};

#define VMM_BOOT_PARAMS_SIZE 4096
/* Builds boot_params (4096 bytes) from the image's setup header plus our
 * fields: e820 map for ram_size, cmdline pointer, initrd, rsdp. Places the
 * kernel and initrd (lay->kernel_addr, lay->initrd_addr) for ram_size.
 * Fails when they do not fit. */
int vmm_linux_layout(const struct vmm_bzimage *bz, uint64_t ram_size, size_t cmdline_len,
		     uint64_t initrd_size, struct vmm_linux_layout *lay, struct vg_err *err);
int vmm_boot_params_build(const uint8_t *img, size_t img_len, const struct vmm_bzimage *bz,
			  const struct vmm_linux_layout *lay, size_t cmdline_len, uint64_t ram_size,
			  uint8_t out[VMM_BOOT_PARAMS_SIZE], struct vg_err *err);
/* The e820 map for ram_size (RAM split around the hole, low 640 KiB, BIOS area). */
size_t vmm_e820_map(uint64_t ram_size, struct vmm_e820 *out, size_t cap);

/* ACPI tables (RSDP, XSDT, FADT, MADT, DSDT with COM1 and MSFT0101, TPM2). */
#define VMM_ACPI_BASE 0x000E0000ull /* RSDP here; tables follow */
#define VMM_ACPI_SIZE 0x00010000ull
#define VMM_TPM_CRB_BASE FW_ABI_TPM_CRB_BASE /* firmware/guest_abi.h */
#define VMM_TPM_CRB_SIZE 0x5000ull
#define VMM_TPM_LOG_ADDR 0x000F0000ull /* TCG event log area (LASA) */
#define VMM_TPM_LOG_SIZE 0x00010000ull /* LAML */
struct vmm_acpi_opts {
	unsigned vcpus;
	bool tpm;        /* DSDT TPM device + TPM2 table */
	uint64_t log_addr, log_size;
};
/* Builds every table into buf (placed at guest address base); fills *rsdp_off
 * and *len. Checksums computed. */
int vmm_acpi_build(const struct vmm_acpi_opts *o, uint64_t base, uint8_t *buf, size_t cap,
		   size_t *len, struct vg_err *err);
/* Writes each table to DIR/<signature>.dat (and rsdp.dat), for iasl -d. */
int vmm_acpi_dump(const struct vmm_acpi_opts *o, const char *dir, struct vg_err *err);

/* ========================================================== 5. Sandbox */

/* VMM_ROLE_QUOTE: the TDX GetQuote worker (tdx_quote_service): AF_UNIX sockets to
 * the quote-generation service, nothing the vCPU needs. */
enum vmm_thread_role { VMM_ROLE_MAIN = 0, VMM_ROLE_VCPU = 1, VMM_ROLE_QUOTE = 2 };
/* Builds the seccomp filter of a role (default action: kill the process) and
 * loads it in the calling thread. The same function the VMM uses; tests
 * install it in a child to prove a disallowed syscall kills. */
int vmm_seccomp_install(enum vmm_thread_role role, struct vg_err *err);
/* From now on, the filters of accelerator `accel` ("kvm", the default, or
 * "emu"): their ioctls and syscalls (vmm_run selects its own; for tests). */
int vmm_seccomp_use_accel(const char *accel, struct vg_err *err);
/* The syscall names allowed for a role (NULL-terminated), for docs and tests. */
const char *const *vmm_seccomp_allowed(enum vmm_thread_role role);
/* "NAME|UID[:GROUP|GID]" to ids; -EINVAL naming what is unknown. */
int vmm_resolve_user(const char *user, uid_t *uid, gid_t *gid, struct vg_err *err);
/* no_new_privs, optional chroot/user, every capability dropped. */
int vmm_drop_privileges(const char *chroot_dir, const char *user, struct vg_err *err);

/* ======================================================= 6. Running */

/* Exit statuses of vigil-vmm (docs/vmm.md). A guest writing N to the
 * debug-exit port makes the VMM exit N (0..255). */
#define VMM_EXIT_GUEST_CRASH 1 /* triple fault, emulation failure, VMM-side guest error */
#define VMM_EXIT_ERROR 2       /* usage, configuration, host or KVM error */
/* A guest reset (how: what the guest did, "0xCF9"). A confidential guest (a
 * platform with a launch) cannot be reset: the VM stops with status 0 and says why.
 * Any other guest reboots in place (vmm/reset.c, docs/vmm.md), unless it reset more
 * than cfg->max_reboots times within a minute: then the VM stops with status 1. */
void vmm_request_reset(struct vmm *vm, const char *how);

struct vmm_result {
	int status;        /* exit status of vigil-vmm */
	char reason[256];  /* why the VM stopped, one line */
};

/* Builds the VM from a validated configuration, runs it until it stops, tears
 * it down. Returns 0 with *res filled when the VM ran (whatever the guest
 * did), or -errno with err when the VM could not be started. SIGTERM, SIGINT
 * and SIGHUP stop the VM (orderly) and stay blocked in the calling thread
 * afterwards, so a late one cannot kill the process before it reports. */
int vmm_run(const struct vmm_config *c, struct vmm_result *res, struct vg_err *err);

/* The same with the platform given directly instead of by cfg->platform
 * (tests of the seam, out-of-tree platforms). */
int vmm_run_platform(const struct vmm_config *c, const struct vmm_platform_ops *plat, struct vmm_result *res,
		     struct vg_err *err);

/* KVM capability check on its own (vigil-vmm --check-kvm): the core's
 * capabilities, then, with plat non-NULL, the platform's probe for c. */
int vmm_kvm_check(const struct vmm_platform_ops *plat, const struct vmm_config *c, struct vg_err *err);

#endif /* VIGIL_VMM_H */
