/*
 * Platform "snp": an AMD SEV-SNP guest on the upstream KVM UAPI (Linux 6.11+), through
 * the backend in sev/launch_snp.c. init: /dev/sev, probe, KVM_SEV_INIT2 (before any
 * vCPU); launch_start: SNP_LAUNCH_START; launch_update: SNP_LAUNCH_UPDATE of what the
 * core loads; launch_finish: the firmware's SEV metadata sections from the launch plan
 * (sev.h section 2), then SNP_LAUNCH_FINISH with HOST_DATA (KVM adds one VMSA per vCPU
 * from the registers the core set); run: private/shared conversion exits.
 * probe (before KVM_CREATE_VM): the VM-types mask, private memory, the hypercall exit
 * and the VMSA features KVM offers. Launch inputs come from the configuration ("snp":
 * policy, guest features, HOST_DATA, ID block, ID auth, author key).
 * Not run on SNP hardware: see docs/platforms.md.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/linux_kvm_cc.h"
#include "firmware/firmware.h"
#include "vmm/platform/platform.h"

static const struct vg_kvm_io sys_io = { .fn = vg_kvm_sys_ioctl };

/* snp.id_block and snp.id_auth (files of 96 and 4096 bytes, both or neither, as
 * vmm_config_validate checked; read again here, sizes checked again). Shared with sim-snp. */
int vmm_snp_id_files(const struct vmm_config *c, uint8_t **id_block, uint8_t **id_auth, struct vg_err *err)
{
	size_t bl = 0, al = 0;
	int rc;
	*id_block = *id_auth = NULL;
	if (!c->snp.id_block != !c->snp.id_auth)
		return vg_err_set(err, EINVAL, "snp.id_block and snp.id_auth go together");
	if (!c->snp.id_block)
		return 0;
	if ((rc = vg_read_file(c->snp.id_block, 4096, id_block, &bl, err)) ||
	    (rc = vg_read_file(c->snp.id_auth, 8192, id_auth, &al, err)))
		return rc;
	if (bl != KVM_SEV_SNP_ID_BLOCK_SIZE || al != KVM_SEV_SNP_ID_AUTH_SIZE)
		return vg_err_set(err, EINVAL, "ID block must be %d bytes and ID auth %d bytes (got %zu, %zu)",
				  KVM_SEV_SNP_ID_BLOCK_SIZE, KVM_SEV_SNP_ID_AUTH_SIZE, bl, al);
	return 0;
}

/* The SNP launch plan (sev.h section 2) of the image the core loaded, for this VM,
 * as `vigil measure snp --vmm-type vigil` builds it. Shared with sim-snp. */
int vmm_snp_plan(struct vmm *vm, const struct vmm_launch_image *img, uint64_t guest_features, uint32_t vcpu_sig,
		 struct sev_launch_plan *plan, struct vg_err *err)
{
	const struct vmm_config *c = vmm_get_config(vm);
	struct fw_kernel_hashes kh;
	bool has_kernel = false;
	int rc = vmm_snp_kernel_hashes(img, &kh, &has_kernel, err);
	if (rc)
		return rc;
	struct sev_launch_opts o = {
		.kernel = has_kernel ? &kh : NULL,
		.mode = SEV_MODE_SNP,
		.vmm = SEV_VMM_VIGIL,
		.vcpus = c->vcpus,
		.vcpu_sig = vcpu_sig,
		.guest_features = guest_features,
	};
	memset(plan, 0, sizeof(*plan));
	if (!img->fw)
		return vg_err_set(err, EINVAL, "%s: %s", img->path ? img->path : "no firmware",
				  img->path ? img->fw_error : "an SNP launch needs --firmware");
	rc = sev_launch_plan_build(img->fw, &o, plan, err);
	return rc ? vg_err_prefix(err, "%s", img->path) : 0;
}

int vmm_snp_kernel_hashes(const struct vmm_launch_image *img, struct fw_kernel_hashes *h, bool *has,
			  struct vg_err *err)
{
	*has = false;
	if (!img->kernel)
		return 0;
	int rc = fw_kernel_hashes_from_buffers(img->kernel, img->kernel_len, img->initrd, img->initrd_len, img->cmdline,
					       h, err);
	if (rc)
		return vg_err_prefix(err, "measured direct boot");
	*has = true;
	return 0;
}

struct plat_snp {
	struct sev_snp_launch l;
	uint32_t vcpu_sig; /* snp.vcpu_type's CPUID signature: RDX at reset */
	struct sev_launch_plan plan; /* built at launch_start */
	struct vmm_plat_loaded loaded[VMM_PLAT_MAX_LOADED];
	size_t nloaded;
	uint8_t host_data[32];
	uint8_t *id_block, *id_auth; /* snp.id_block / snp.id_auth contents, or NULL */
	bool author_key;             /* snp.author_key: the ID auth carries an author key */
};

static void snp_destroy(struct vmm *vm, void *state)
{
	(void)vm;
	struct plat_snp *p = state;
	if (!p)
		return;
	if (p->l.sev_fd >= 0)
		close(p->l.sev_fd);
	sev_launch_plan_free(&p->plan);
	free(p->id_block);
	free(p->id_auth);
	free(p);
}

static int snp_init_steps(struct vmm *vm, void **state, struct vg_err *err)
{
	const struct vmm_config *c = vmm_get_config(vm);
	if (!c->firmware)
		return vg_err_set(err, ENOTSUP, "snp boots SNP-capable firmware (--firmware), with --kernel for "
				  "measured direct boot");
	struct plat_snp *p = calloc(1, sizeof(*p));
	if (!p)
		return vg_err_set(err, ENOMEM, "out of memory");
	*state = p;
	sev_snp_launch_init(&p->l, &sys_io);
	p->l.kvm_fd = vmm_kvm_fd(vm);
	p->l.vm_fd = vmm_vm_fd(vm);
	int rc;
	p->l.policy = c->snp.policy;
	if ((rc = sev_vcpu_type_lookup(c->snp.vcpu_type ? c->snp.vcpu_type : SEV_DEFAULT_VCPU_TYPE, &p->vcpu_sig,
				       err)))
		return rc;
	p->l.guest_features = c->snp.guest_features;
	memcpy(p->host_data, c->snp.host_data, sizeof(p->host_data));
	p->author_key = c->snp.author_key;
	if ((rc = vmm_snp_id_files(c, &p->id_block, &p->id_auth, err)))
		return rc;
	/* Probed before KVM_CREATE_VM already (snp_probe); again here, as the backend's
	 * order requires. */
	if ((rc = sev_snp_probe(&p->l, err)))
		return rc;
	p->l.sev_fd = open("/dev/sev", O_RDWR | O_CLOEXEC);
	if (p->l.sev_fd < 0)
		return vg_err_set(err, errno, "/dev/sev: %s (the AMD secure processor driver, ccp, is needed)",
				  strerror(errno));
	return sev_snp_init(&p->l, err);
}

/* Before KVM_CREATE_VM: a host without SNP says why (the VM-types mask), and guest
 * features this host cannot give are refused before anything exists. */
static int snp_probe(const struct vmm_config *c, int kvm_fd, struct vg_err *err)
{
	if (kvm_fd < 0)
		return vg_err_set(err, ENOTSUP, "needs the kvm accelerator: a real SEV-SNP guest runs on AMD hardware "
				  "through /dev/kvm, which emu cannot give (use --accel kvm, or sim-snp under emu)");
	struct sev_snp_launch l;
	sev_snp_launch_init(&l, &sys_io);
	l.kvm_fd = kvm_fd;
	l.policy = c->snp.policy;
	l.guest_features = c->snp.guest_features;
	return sev_snp_probe(&l, err);
}

static int snp_init(struct vmm *vm, void **state, struct vg_err *err)
{
	return vmm_plat_init_or_undo(vm, state, err, snp_init_steps, snp_destroy);
}

static int snp_launch_start(struct vmm *vm, void *state, const struct vmm_launch_image *img, struct vg_err *err)
{
	struct plat_snp *p = state;
	/* The plan: the firmware image, its SEV metadata sections, and the vCPUs' start
	 * state (KVM measures the VMSAs from the registers vcpu_init programs). */
	int rc = vmm_snp_plan(vm, img, p->l.guest_features, p->vcpu_sig, &p->plan, err);
	return rc ? rc : sev_snp_launch_start(&p->l, err);
}

/* The core loads the firmware image into guest memory; it is launched, with the
 * rest of the plan, at launch_finish. Shared regions stay shared. */
static int snp_launch_update(struct vmm *vm, void *state, uint64_t gpa, const void *bytes, size_t len,
			     enum vmm_page_type type, struct vg_err *err)
{
	(void)vm;
	(void)bytes;
	struct plat_snp *p = state;
	if (type == VMM_PAGE_SHARED)
		return 0;
	if (p->nloaded >= VMM_PLAT_MAX_LOADED)
		return vg_err_set(err, ENOSPC, "snp: too many loaded regions");
	p->loaded[p->nloaded++] = (struct vmm_plat_loaded){ gpa, len };
	return 0;
}

int vmm_snp_vcpu_regs(int vcpu_fd, unsigned index, uint32_t ap_eip, uint32_t vcpu_sig, struct vg_err *err)
{
	struct sev_vcpu_reset st;
	int rc = sev_vcpu_reset_state(SEV_VMM_VIGIL, index ? ap_eip : SEV_BSP_RESET_EIP, vcpu_sig, &st, err);
	if (!rc)
		rc = vmm_plat_sev_regs_set(vcpu_fd, &st, err);
	return rc ? vg_err_prefix(err, "vCPU %u start state", index) : 0;
}

static int snp_vcpu_init(struct vmm *vm, void *state, unsigned index, int vcpu_fd, struct vg_err *err)
{
	(void)vm;
	struct plat_snp *p = state;
	return vmm_snp_vcpu_regs(vcpu_fd, index, p->plan.ap_eip, p->vcpu_sig, err);
}

static int snp_launch_finish(struct vmm *vm, void *state, struct vg_err *err)
{
	struct plat_snp *p = state;
	const struct sev_launch_step *img = &p->plan.steps[0];
	struct sev_guest_mem m;
	vmm_plat_guest_mem(vm, &m);
	int rc = vmm_plat_loaded_check(p->loaded, p->nloaded, img->gpa, img->len, "snp", err);
	if (!rc)
		rc = sev_snp_launch_plan(&p->l, &p->plan, &m, err);
	if (!rc)
		rc = sev_snp_launch_finish(&p->l, p->host_data, p->id_block, p->id_auth, p->author_key, err);
	return rc;
}

static int snp_handle_exit(struct vmm *vm, void *state, unsigned index, struct kvm_run *run)
{
	(void)index;
	struct plat_snp *p = state;
	struct vg_err err = { 0 };
	uint64_t ram = vmm_ram_size(vm), low = VG_MIN(ram, VMM_MMIO_HOLE_START);
	uint64_t ram_end = ram > low ? VMM_4GIB + (ram - low) : ram;
	int rc = sev_cc_conversion_exit(p->l.io, p->l.vm_fd, ram_end, run, &err);
	if (rc < 0)
		vg_error("snp: %s", err.msg);
	return rc;
}

static const unsigned long snp_vcpu_ioctls[] = { KVM_SET_MEMORY_ATTRIBUTES, 0 };

static void snp_cpuid_adjust(struct vmm *vm, void *state, struct kvm_cpuid_entry2 *e, unsigned n)
{
	(void)vm;
	vmm_plat_cpuid_signature(e, n, ((struct plat_snp *)state)->vcpu_sig);
}

const struct vmm_platform_ops vmm_platform_snp = {
	.name = "snp",
	.vm_type = KVM_X86_SNP_VM,
	.flags = VMM_PLAT_GUEST_MEMFD | VMM_PLAT_NO_ROM | VMM_PLAT_MEASURED_KERNEL,
	.vcpu_ioctls = snp_vcpu_ioctls,
	.config_section = "snp",
	.probe = snp_probe,
	.init = snp_init,
	.launch_start = snp_launch_start,
	.launch_update = snp_launch_update,
	.vcpu_init = snp_vcpu_init,
	.launch_finish = snp_launch_finish,
	.handle_exit = snp_handle_exit,
	.cpuid_adjust = snp_cpuid_adjust,
	.destroy = snp_destroy,
};
