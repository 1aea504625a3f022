/* Private to vmm/: the VM structure and the helpers its files share. */
#ifndef VIGIL_VMM_INTERNAL_H
#define VIGIL_VMM_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "vmm/vmm.h"
#include "vtpm/vtpm.h"

struct kvm_run;

struct vmm_region {
	uint64_t gpa, size;
	uint8_t *host;
	bool rom; /* read-only slot: guest writes exit as MMIO */
	unsigned slot;
};

struct vmm_vcpu {
	struct vmm *vm;
	unsigned index;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	pthread_t thread;
	bool started;
	atomic_bool running;
};

#define VMM_MAX_REGIONS 4

struct vmm_measurement {
	enum vmm_image_kind kind;
	unsigned pcr;
	uint8_t sha256[32];
	char what[200];
};

struct vmm {
	const struct vmm_config *cfg;
	const struct vmm_platform_ops *plat;
	void *plat_state;
	bool plat_inited;
	int kvm_fd, vm_fd;
	int stop_fd; /* eventfd: a stop was requested */
	uint64_t ram_size;
	struct vmm_region regions[VMM_MAX_REGIONS];
	unsigned n_regions;
	uint8_t *ram_map; size_t ram_map_len; /* the RAM mapping (both RAM regions) */
	struct vmm_bus *bus;
	struct vmm_vcpu *vcpus;
	unsigned n_vcpus;
	struct kvm_cpuid2 *cpuid; /* filtered, shared by all vCPUs (APIC IDs patched per vCPU) */
	/* Boot state for vCPU 0. */
	bool linux_boot;
	uint64_t boot_rip, boot_rsi, boot_cr3;
	/* Stop request. */
	pthread_mutex_t stop_lock;
	bool stopping;
	atomic_bool stop_flag; /* mirrors stopping, read lock-free on every exit */
	int stop_status;
	char stop_reason[256];
	/* vCPU thread start: each installs its filter, then waits for go. */
	pthread_mutex_t go_lock;
	pthread_cond_t go_cond;
	bool go;
	unsigned ready;
	int thread_rc;
	char thread_msg[256];
	/* Measured boot. */
	struct vmm_measurement meas[8];
	unsigned n_meas;
	struct vtpm_evlog_writer evlog; /* TCG event log, with a vTPM */
	bool evlog_on;
	/* Devices. */
	struct vmm_uart *uart;
	struct vmm_crb_dev *crb;
	int serial_fd;
	bool serial_owned;
};

/* accel/kvm.c */
int vmm_kvm_open(struct vmm *vm, struct vg_err *err);
int vmm_kvm_irqchip(struct vmm *vm, struct vg_err *err);
/* memory.c */
int vmm_memory_setup(struct vmm *vm, struct vg_err *err);
int vmm_memory_add_rom(struct vmm *vm, uint64_t gpa, const void *data, size_t len, struct vg_err *err);
void vmm_memory_teardown(struct vmm *vm);
/* Copies into guest memory and passes the region through launch_update. */
int vmm_load_region(struct vmm *vm, uint64_t gpa, const void *data, size_t len, enum vmm_page_type type,
		    struct vg_err *err);
/* vcpu.c */
int vmm_vcpus_create(struct vmm *vm, struct vg_err *err);
int vmm_vcpus_start(struct vmm *vm, struct vg_err *err);
void vmm_vcpus_go(struct vmm *vm);
void vmm_vcpus_kick(struct vmm *vm);
void vmm_vcpus_join(struct vmm *vm);
void vmm_vcpus_destroy(struct vmm *vm);
/* accel/kvm_cpuid.c */
int vmm_cpuid_setup(struct vmm *vm, struct vg_err *err);
int vmm_cpuid_apply(struct vmm *vm, struct vmm_vcpu *v, struct vg_err *err);
int vmm_msrs_apply(struct vmm_vcpu *v, struct vg_err *err);
/* devices/ */
int vmm_devices_setup(struct vmm *vm, struct vg_err *err);
void vmm_devices_teardown(struct vmm *vm);
/* sandbox.c */
void vmm_seccomp_platform_ioctls(const unsigned long *list);
/* boot/ */
int vmm_boot_load(struct vmm *vm, struct vg_err *err);
int vmm_boot_regs(struct vmm_vcpu *v, struct vg_err *err);

#endif
