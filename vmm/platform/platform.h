/* Private to vmm/: what the confidential platforms (platform/{snp,tdx,sim_snp,sim_tdx}.c)
 * share. Their launch inputs come from the configuration (vmm.h section 1: state_dir,
 * struct vmm_snp_config, struct vmm_tdx_config), checked by vmm_config_validate. */
#ifndef VIGIL_VMM_PLATFORM_H
#define VIGIL_VMM_PLATFORM_H

#include "firmware/firmware.h"
#include "sev/sev.h"
#include "tdx/tdx.h"
#include "vmm/devices/devices.h"
#include "vmm/vmm.h"

/* platform/common.c. The core calls destroy only after a successful init: a
 * failed one is undone here (steps leave *state for destroy to free). */
typedef int (*vmm_plat_init_fn)(struct vmm *vm, void **state, struct vg_err *err);
typedef void (*vmm_plat_destroy_fn)(struct vmm *vm, void *state);
int vmm_plat_init_or_undo(struct vmm *vm, void **state, struct vg_err *err, vmm_plat_init_fn steps,
			  vmm_plat_destroy_fn destroy);
/* Where the simulated identities live: c->state_dir, else /var/lib/vigil as
 * root, else $HOME/.local/state/vigil. */
const char *vmm_sim_state_dir(const struct vmm_config *c, char *buf, size_t cap);

/* platform/common.c: the vCPU CPUID set the core programs (the SNP CPUID page is
 * filled from it), and the guest-memory view a launch walk needs. */
const struct kvm_cpuid_entry2 *vmm_plat_cpuid(struct vmm *vm, unsigned *n);
/* The CPU signature (family, model, stepping) in leaf 1 EAX of a CPUID set. */
void vmm_plat_cpuid_signature(struct kvm_cpuid_entry2 *e, unsigned n, uint32_t sig);
void vmm_plat_guest_mem(struct vmm *vm, struct sev_guest_mem *m);
/* A region the core loaded through launch_update, for platforms that launch only
 * what their plan names (snp, sim-snp): anything else is refused at launch_finish. */
struct vmm_plat_loaded {
	uint64_t gpa, len;
};
#define VMM_PLAT_MAX_LOADED 8
/* 0 when every loaded region lies inside [gpa, gpa+len) of the plan's image. */
int vmm_plat_loaded_check(const struct vmm_plat_loaded *r, size_t n, uint64_t gpa, uint64_t len, const char *plat,
			  struct vg_err *err);

/* platform/sev_regs.c (kvm accelerator): a vCPU programmed with / read back as a
 * SEV-ES reset state (KVM's VMSA additions EFER.SVME, CR4.MCE, CR0.CD/NW cleared
 * applied on read); the fd of vCPU index (-1 under emu). */
int vmm_plat_sev_regs_set(int fd, const struct sev_vcpu_reset *st, struct vg_err *err);
int vmm_plat_sev_regs_get(int fd, struct sev_vcpu_reset *st, struct vg_err *err);
int vmm_plat_vcpu_fd(struct vmm *vm, unsigned index);

/* platform/snp.c: the SNP launch plan (sev.h section 2) of the image the core loaded
 * (parsed once, given to launch_start), as `vigil measure snp --vmm-type vigil`
 * builds it. The plan's steps point into img. */
int vmm_snp_plan(struct vmm *vm, const struct vmm_launch_image *img, uint64_t guest_features, uint32_t vcpu_sig,
		 struct sev_launch_plan *plan, struct vg_err *err);
/* Measured direct boot (--kernel with --firmware): the SHA-256 of the kernel, initrd
 * and command line the core read (the bytes fw_cfg serves) for OVMF's hashes table, as
 * QEMU's kernel-hashes=on; *has false without --kernel. */
int vmm_snp_kernel_hashes(const struct vmm_launch_image *img, struct fw_kernel_hashes *h, bool *has,
			  struct vg_err *err);
/* vcpu_init of snp and sim-snp (kvm): vCPU index programmed with the SEV-ES reset
 * state the plan predicts (BSP at the reset vector, APs at ap_eip, RDX = vcpu_sig). */
int vmm_snp_vcpu_regs(int vcpu_fd, unsigned index, uint32_t ap_eip, uint32_t vcpu_sig, struct vg_err *err);
/* The configured ID block and ID auth files (validated sizes), or NULLs. */
int vmm_snp_id_files(const struct vmm_config *c, uint8_t **id_block, uint8_t **id_auth, struct vg_err *err);

/* platform/tdx.c: the TDX launch plan of the image the core loaded (tdx.h section
 * 2), and the TD HOB for it written into guest memory. */
int vmm_tdx_plan(const struct vmm_launch_image *img, struct tdx_launch_plan *plan, struct vg_err *err);
int vmm_tdx_write_hob(struct vmm *vm, const struct tdx_launch_plan *plan, uint64_t *hob_gpa, struct vg_err *err);

#endif
