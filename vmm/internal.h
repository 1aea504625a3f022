/* Private to vmm/: the VM structure and the helpers its files share. */
#ifndef VIGIL_VMM_INTERNAL_H
#define VIGIL_VMM_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "firmware/firmware.h"
#include "vmm/vmm.h"
#include "vtpm/vtpm.h"

struct kvm_run;

struct vmm_region {
	uint64_t gpa, size;
	uint8_t *host;
	bool rom; /* read-only slot: guest writes exit as MMIO */
	unsigned slot;
	uint64_t ram_off; /* RAM: offset in the RAM mapping (guest_memfd offset) */
};

/* The boot vCPU's initial state, in the core's terms (the accelerator sets it). */
enum vmm_boot_mode {
	VMM_BOOT_RESET = 0, /* architectural reset: real mode, CS base 0xFFFF0000, IP 0xFFF0 */
	VMM_BOOT_LINUX64,   /* Linux 64-bit boot protocol: long mode, identity map, RSI = boot_params */
};
struct vmm_boot_state {
	enum vmm_boot_mode mode;
	uint64_t rip, rsi, cr3; /* LINUX64 */
	uint64_t gdt_base;      /* LINUX64: code selector 0x10, data 0x18 */
	uint16_t gdt_limit;
};

struct vmm_vcpu {
	struct vmm *vm;
	unsigned index;
	int fd;
	struct kvm_run *run; /* kvm */
	size_t run_size;
	void *accel;         /* the accelerator's per-vCPU state */
	pthread_t thread;
	bool started;
	atomic_bool running;
};

#define VMM_MAX_REGIONS 4

/* A device's lifecycle. The core calls these for every device of the VM and
 * names none (kvmtool's init lists, Firecracker's device/handler/persist):
 *   setup (bus registration; *state NULL = not part of this VM) -> start
 *   (after the jail, before the vCPUs) -> main loop: service when poll_fd is
 *   readable -> stop (release vCPUs waiting on the device) -> save (after the
 *   vCPUs are gone) -> teardown. Every hook but setup is optional. */
struct vmm_device_ops {
	const char *name;
	int (*setup)(struct vmm *vm, void **state, struct vg_err *err);
	int (*start)(struct vmm *vm, void *state, struct vg_err *err);
	int (*poll_fd)(void *state); /* -1: nothing to poll (now) */
	void (*service)(struct vmm *vm, void *state);
	void (*stop)(struct vmm *vm, void *state);
	/* A guest reset that reboots the VM (reset.c): on the main thread, every
	 * vCPU paused, back to the power-on state the guest sees (what a battery
	 * or the host keeps stays: CMOS NVRAM, the vTPM's persistent state). */
	int (*reset)(struct vmm *vm, void *state, struct vg_err *err);
	int (*save)(struct vmm *vm, void *state, struct vg_err *err);
	void (*teardown)(struct vmm *vm, void *state);
};
struct vmm_device {
	const struct vmm_device_ops *ops;
	void *state;
};
#define VMM_MAX_DEVICES 8

/* One region the loader wrote into guest RAM (vmm_load_region), written again
 * from the same bytes when the guest reboots. The bytes stay valid until the VM
 * is freed. */
struct vmm_reload {
	uint64_t gpa;
	const void *data;
	size_t len;
};
#define VMM_MAX_RELOADS 16
#define VMM_REBOOT_WINDOW_S 60 /* --max-reboots counts reboots within this many seconds */

struct vmm_measurement {
	enum vmm_image_kind kind;
	unsigned pcr;
	uint8_t sha256[32];
	char what[200];
};

struct vmm {
	const struct vmm_config *cfg;
	/* The firmware image: read and parsed once (boot/load.c vmm_boot_read). */
	uint8_t *fw_data, *kernel_data, *initrd_data; /* read once (vmm_boot_read) */
	size_t fw_len;
	struct fw_image fw_parsed;
	struct vmm_launch_image launch_img;
	const struct vmm_platform_ops *plat;
	void *plat_state;
	bool plat_inited;
	const struct vmm_accel_ops *accel;
	void *accel_state;
	int kvm_fd, vm_fd; /* kvm only; -1 under emu */
	int stop_fd; /* eventfd: a stop was requested */
	uint64_t ram_size;
	struct vmm_region regions[VMM_MAX_REGIONS];
	unsigned n_regions;
	uint8_t *ram_map; size_t ram_map_len; /* the RAM mapping (both RAM regions) */
	struct vmm_bus *bus;
	struct vmm_vcpu *vcpus;
	unsigned n_vcpus;
	struct vmm_boot_state boot; /* for vCPU 0 */
	/* Stop request. */
	pthread_mutex_t stop_lock;
	bool stopping;
	atomic_bool stop_flag; /* mirrors stopping, read lock-free on every exit */
	int stop_status;
	char stop_reason[256];
	pthread_cond_t stop_cond; /* broadcast on the first stop request (parked vCPUs) */
	/* vCPU thread start: each installs its filter, then waits for go. */
	pthread_mutex_t go_lock;
	pthread_cond_t go_cond;
	bool go;
	unsigned ready;
	int thread_rc;
	char thread_msg[256];
	/* Reboot (reset.c): a reset of a guest without a launch reboots it in place. */
	bool reboots;             /* false: a reset stops the VM (a confidential guest) */
	atomic_bool reset_flag;   /* a reset is pending: each vCPU leaves its run and pauses */
	bool resetting;           /* under stop_lock, as the fields below */
	bool reset_kicked;        /* the main loop kicked the vCPUs for it */
	unsigned reset_paused;    /* vCPUs out of their run for it */
	unsigned reset_restored;  /* vCPUs back in their reset state */
	uint64_t reset_gen;       /* bumped when the machine is reset: the vCPUs restore themselves */
	uint64_t reset_done;      /* bumped by the last vCPU restored: all run again */
	char reset_how[32];
	unsigned reboot_count;    /* reboots so far */
	unsigned window_reboots;  /* reboots in the current storm window */
	uint64_t window_start_ns;
	struct vmm_reload reloads[VMM_MAX_RELOADS];
	unsigned n_reloads;
	uint8_t *boot_tables;     /* Linux direct boot: GDT, page tables, boot_params, ACPI (boot/linux.c) */
	/* Measured boot. */
	struct vmm_mboot *mboot; /* what boot/ measured (boot/boot.h) */
	/* Devices, in setup order (devices/setup.c lists them). */
	struct vmm_device devs[VMM_MAX_DEVICES];
	unsigned n_devs;
};

/* accel/select.c: the accelerator for a run (cfg->accel; "auto" picks kvm
 * when the KVM device opens, else emu, and says so once on stderr). */
int vmm_accel_select(const struct vmm_config *c, const struct vmm_accel_ops **out, struct vg_err *err);
/* memory.c */
int vmm_memory_setup(struct vmm *vm, struct vg_err *err);
int vmm_memory_add_rom(struct vmm *vm, uint64_t gpa, const void *data, size_t len, struct vg_err *err);
void vmm_memory_teardown(struct vmm *vm);
/* Copies into guest memory and passes the region through launch_update. A RAM
 * region is recorded for reboots (vm->reloads): data must stay valid until the
 * VM is freed. */
int vmm_load_region(struct vmm *vm, uint64_t gpa, const void *data, size_t len, enum vmm_page_type type,
		    struct vg_err *err);
/* Writes every recorded region again (a reboot). */
int vmm_memory_reload(struct vmm *vm, struct vg_err *err);
/* vcpu.c */
/* Parks the calling vCPU thread until the VM stops or resets (no host CPU). */
void vmm_vcpu_park(struct vmm_vcpu *v);
int vmm_vcpus_create(struct vmm *vm, struct vg_err *err);
int vmm_vcpus_start(struct vmm *vm, struct vg_err *err);
void vmm_vcpus_go(struct vmm *vm);
void vmm_vcpus_kick(struct vmm *vm);
void vmm_vcpus_join(struct vmm *vm);
void vmm_vcpus_destroy(struct vmm *vm);
/* reset.c: a guest reset. vCPU side: true while one is pending (lock-free);
 * vmm_vcpu_reset_pause takes the calling vCPU back to its reset state and waits
 * until the main loop has reset the machine (or the VM stops). Main side:
 * vmm_reset_service, whenever the stop eventfd wakes it; it kicks the vCPUs,
 * and once all are paused reloads the images, resets the devices and the
 * accelerator's VM state, and releases them. */
bool vmm_reset_pending(const struct vmm *vm);
void vmm_vcpu_reset_pause(struct vmm_vcpu *v);
void vmm_reset_service(struct vmm *vm);
/* devices/setup.c: runs the setup of every device of the list into vm->devs. */
int vmm_devices_setup(struct vmm *vm, struct vg_err *err);
/* sandbox.c: what the running accelerator and platform add to the filters
 * (set before the threads start). */
void vmm_seccomp_set_extras(const struct vmm_accel_ops *accel, const unsigned long *platform_vcpu_ioctls,
			    bool reboots);
/* boot/: loads what the configuration names and fills vm->boot; prints
 * what measured boot recorded (--print-measurements). */
/* Reads and parses cfg->firmware once into vm->launch_img (before launch_start). */
int vmm_boot_read(struct vmm *vm, struct vg_err *err);
int vmm_boot_load(struct vmm *vm, struct vg_err *err);
void vmm_measurements_print(const struct vmm *vm, bool json);
/* The i-th measurement, NULL past the last (the vTPM extends them at start). */
const struct vmm_measurement *vmm_measurement_at(const struct vmm *vm, unsigned i);
/* --event-log: the TCG event log to path (0 when there is none: no vTPM). */
int vmm_measurements_write_log(const struct vmm *vm, const char *path, struct vg_err *err);
void vmm_measurements_free(struct vmm *vm);

#endif
