/*
 * Platform "tdx": an Intel TDX guest on the upstream KVM UAPI (Linux 6.16+), through
 * the backend in tdx/launch_*.c. Order (Documentation/virt/kvm/x86/intel-tdx.rst):
 * probe (before KVM_CREATE_VM): the VM-types mask, private memory, split irqchip;
 * init: KVM_TDX_CAPABILITIES, KVM_TDX_INIT_VM (before any vCPU), hypercall
 * exits for MapGPA; launch_update: the core's images are recorded (INIT_MEM_REGION is
 * vCPU-scoped, and no vCPU exists yet); vcpu_init: KVM_TDX_INIT_VCPU with the TD HOB
 * address; launch_finish: the TD HOB written into TD_HOB, KVM_TDX_INIT_MEM_REGION per
 * TDVF section (MEASURE for MR.EXTEND), KVM_TDX_FINALIZE_VM; run: MapGPA conversion
 * and GetQuote (to the quote-generation service at tdx.qgs_socket, if set).
 * Machine shape through the seam flags: split irqchip, no PIT, no register writes
 * (the TDX module sets a TD vCPU's initial state). Launch inputs: the "tdx" settings.
 * Not run on TDX hardware: see docs/platforms.md.
 */
#include <stdlib.h>
#include <string.h>

#include "common/linux_kvm_cc.h"
#include "firmware/firmware.h"
#include "vmm/platform/platform.h"

static const struct vg_kvm_io sys_io = { .fn = vg_kvm_sys_ioctl };

/* The TDX launch plan (tdx.h section 2) of the image the core loaded, as `vigil
 * measure tdx` builds it. The plan points into img. Shared with sim-tdx. */
int vmm_tdx_plan(const struct vmm_launch_image *img, struct tdx_launch_plan *plan, struct vg_err *err)
{
	memset(plan, 0, sizeof(*plan));
	if (!img->fw)
		return vg_err_set(err, EINVAL, "%s: %s", img->path ? img->path : "no firmware",
				  img->path ? img->fw_error : "a TDX launch needs --firmware");
	int rc = tdx_launch_plan_build(img->fw, plan, err);
	return rc ? vg_err_prefix(err, "%s", img->path) : 0;
}

/* The TD HOB: RAM the launch adds is accepted, the rest of RAM unaccepted. */
int vmm_tdx_write_hob(struct vmm *vm, const struct tdx_launch_plan *plan, uint64_t *hob_gpa, struct vg_err *err)
{
	const struct tdx_launch_region *hob = NULL;
	for (size_t i = 0; i < plan->n; i++)
		if (plan->r[i].type == FW_TDVF_TD_HOB)
			hob = &plan->r[i];
	if (!hob)
		return vg_err_set(err, EINVAL, "TDVF metadata has no TD_HOB section");
	uint64_t ram = vmm_ram_size(vm);
	uint64_t low = VG_MIN(ram, VMM_MMIO_HOLE_START);
	struct { uint64_t start, end; } rams[2] = { { 0, low }, { VMM_4GIB, VMM_4GIB + (ram - low) } };
	struct tdx_hob_range r[2 * TDX_PLAN_MAX_REGIONS + 4];
	size_t n = 0;
	for (int k = 0; k < 2; k++) {
		uint64_t cur = rams[k].start;
		while (cur < rams[k].end) {
			/* the added section starting lowest at or after cur, inside this RAM */
			const struct tdx_launch_region *next = NULL;
			for (size_t i = 0; i < plan->n; i++) {
				const struct tdx_launch_region *x = &plan->r[i];
				if (x->add && x->gpa >= cur && x->gpa + x->len <= rams[k].end && (!next || x->gpa < next->gpa))
					next = x;
			}
			uint64_t gap_end = next ? next->gpa : rams[k].end;
			if (gap_end > cur && n < VG_ARRAY_SIZE(r))
				r[n++] = (struct tdx_hob_range){ cur, gap_end - cur, TDX_HOB_RAM_UNACCEPTED };
			if (!next)
				break;
			if (n < VG_ARRAY_SIZE(r))
				r[n++] = (struct tdx_hob_range){ next->gpa, next->len, TDX_HOB_RAM_ACCEPTED };
			cur = next->gpa + next->len;
		}
	}
	uint8_t *mem = vmm_gpa_ptr(vm, hob->gpa, hob->len);
	if (!mem)
		return vg_err_set(err, EFAULT, "TD_HOB section 0x%llx+0x%llx is outside guest RAM",
				  (unsigned long long)hob->gpa, (unsigned long long)hob->len);
	size_t used = 0;
	int rc = tdx_hob_build(hob->gpa, r, n, mem, hob->len, &used, err);
	if (!rc)
		*hob_gpa = hob->gpa;
	return rc;
}

struct plat_tdx {
	struct tdx_launch l;
	struct tdx_caps caps;
	struct tdx_launch_plan plan; /* built at launch_start */
	uint64_t hob_gpa;
	int vcpu0_fd;
	const char *qgs;
	struct tdx_quote_service *qsvc; /* GetQuote worker, with a quote service configured */
};

static void tdx_destroy(struct vmm *vm, void *state)
{
	(void)vm;
	struct plat_tdx *p = state;
	if (!p)
		return;
	tdx_quote_service_stop(p->qsvc);
	tdx_caps_free(&p->caps);
	tdx_launch_release(&p->l);
	free(p);
}

static int tdx_plat_init_steps(struct vmm *vm, void **state, struct vg_err *err)
{
	const struct vmm_config *c = vmm_get_config(vm);
	if (!c->firmware)
		return vg_err_set(err, ENOTSUP, "tdx boots TDVF firmware (--firmware)");
	struct plat_tdx *p = calloc(1, sizeof(*p));
	if (!p)
		return vg_err_set(err, ENOMEM, "out of memory");
	*state = p;
	p->vcpu0_fd = -1;
	tdx_launch_init(&p->l, &sys_io);
	p->l.kvm_fd = vmm_kvm_fd(vm);
	p->l.vm_fd = vmm_vm_fd(vm);
	struct tdx_td_config cfg = { 0 };
	int rc;
	cfg.attributes = c->tdx.attributes;
	cfg.xfam = c->tdx.xfam;
	memcpy(cfg.mrconfigid, c->tdx.mrconfigid, 48);
	memcpy(cfg.mrowner, c->tdx.mrowner, 48);
	memcpy(cfg.mrownerconfig, c->tdx.mrownerconfig, 48);
	if ((rc = tdx_probe(&p->l, err)) || (rc = tdx_get_capabilities(&p->l, &p->caps, err)))
		return rc;
	/* The CPUID the TD sees: what KVM supports, made into the TD's CPUID by
	 * tdx_init_vm (tdx_td_cpuid); every vCPU gets the same in tdx_init_vcpu. */
	struct kvm_cpuid2 *cpuid = calloc(1, sizeof(*cpuid) + 256 * sizeof(struct kvm_cpuid_entry2));
	if (!cpuid)
		return vg_err_set(err, ENOMEM, "out of memory");
	cpuid->nent = 256;
	rc = vg_kvm_ioctl(&sys_io, p->l.kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid);
	if (rc < 0) {
		free(cpuid);
		return vg_err_set(err, -rc, "KVM_GET_SUPPORTED_CPUID: %s", strerror(-rc));
	}
	cfg.cpuid = cpuid->entries;
	cfg.ncpuid = cpuid->nent;
	rc = tdx_init_vm(&p->l, &p->caps, &cfg, err);
	free(cpuid);
	if (rc)
		return rc;
	struct kvm_enable_cap cap = { .cap = KVM_CAP_EXIT_HYPERCALL };
	cap.args[0] = 1ull << KVM_HC_MAP_GPA_RANGE;
	if ((rc = vg_kvm_ioctl(&sys_io, p->l.vm_fd, KVM_ENABLE_CAP, &cap)) < 0)
		return vg_err_set(err, -rc, "KVM_ENABLE_CAP(KVM_CAP_EXIT_HYPERCALL) failed: %s", strerror(-rc));
	p->qgs = c->tdx.qgs_socket;
	return 0;
}

/* Before KVM_CREATE_VM: a host without TDX says why (the VM-types mask). */
static int tdx_plat_probe(const struct vmm_config *c, int kvm_fd, struct vg_err *err)
{
	(void)c;
	if (kvm_fd < 0)
		return vg_err_set(err, ENOTSUP, "needs the kvm accelerator: a real TDX guest runs on Intel hardware "
				  "through /dev/kvm, which emu cannot give (use --accel kvm, or sim-tdx under emu)");
	struct tdx_launch l;
	tdx_launch_init(&l, &sys_io);
	l.kvm_fd = kvm_fd;
	return tdx_probe(&l, err);
}

static int tdx_plat_init(struct vmm *vm, void **state, struct vg_err *err)
{
	return vmm_plat_init_or_undo(vm, state, err, tdx_plat_init_steps, tdx_destroy);
}

static int tdx_plat_launch_start(struct vmm *vm, void *state, const struct vmm_launch_image *img,
				 struct vg_err *err)
{
	(void)vm;
	return vmm_tdx_plan(img, &((struct plat_tdx *)state)->plan, err);
}

static int tdx_plat_vcpu_init(struct vmm *vm, void *state, unsigned index, int vcpu_fd, struct vg_err *err)
{
	struct plat_tdx *p = state;
	if (index == 0) {
		int rc = vmm_tdx_write_hob(vm, &p->plan, &p->hob_gpa, err);
		if (rc)
			return rc;
		p->vcpu0_fd = vcpu_fd;
	}
	return tdx_init_vcpu(&p->l, &p->caps, vcpu_fd, index, p->hob_gpa, err);
}

static void *gpa_fn(void *ctx, uint64_t gpa, uint64_t len) { return vmm_gpa_ptr(ctx, gpa, len); }

static int quote_sandbox(void *ctx, struct vg_err *err)
{
	(void)ctx;
	return vmm_seccomp_install(VMM_ROLE_QUOTE, err);
}

static int tdx_plat_launch_finish(struct vmm *vm, void *state, struct vg_err *err)
{
	struct plat_tdx *p = state;
	int rc = tdx_launch_plan_mem(&p->l, p->vcpu0_fd, &p->plan, gpa_fn, vm, err);
	if (!rc)
		rc = tdx_finalize(&p->l, err);
	/* GetQuote is served by a worker thread with its own filter (started here, on
	 * the main thread, before any filter is installed): the vCPU's forbids sockets. */
	if (!rc && p->qgs)
		rc = tdx_quote_service_start(tdx_qgs_get_quote, (void *)p->qgs,
					     vmm_get_config(vm)->sandbox ? quote_sandbox : NULL, NULL, &p->qsvc, err);
	return rc;
}

static int tdx_plat_handle_exit(struct vmm *vm, void *state, unsigned index, struct kvm_run *run)
{
	(void)index;
	struct plat_tdx *p = state;
	struct vg_err err = { 0 };
	uint64_t ram = vmm_ram_size(vm), low = VG_MIN(ram, VMM_MMIO_HOLE_START);
	uint64_t ram_end = ram > low ? VMM_4GIB + (ram - low) : ram;
	int rc = sev_cc_conversion_exit(&sys_io, p->l.vm_fd, ram_end, run, &err);
	if (rc == 0)
		rc = tdx_handle_exit_async(run, gpa_fn, vm, p->qsvc, &err);
	if (rc < 0)
		vg_error("tdx: %s", err.msg);
	return rc;
}

static const unsigned long tdx_vcpu_ioctls[] = { KVM_SET_MEMORY_ATTRIBUTES, 0 };

const struct vmm_platform_ops vmm_platform_tdx = {
	.name = "tdx",
	.vm_type = KVM_X86_TDX_VM,
	/* --kernel: served to TDVF through fw_cfg, which measures it into RTMR1/RTMR2 */
	.flags = VMM_PLAT_GUEST_MEMFD | VMM_PLAT_NO_ROM | VMM_PLAT_SPLIT_IRQCHIP | VMM_PLAT_NO_PIT |
		 VMM_PLAT_PROTECTED_REGS | VMM_PLAT_MEASURED_KERNEL,
	.vcpu_ioctls = tdx_vcpu_ioctls,
	.config_section = "tdx",
	.probe = tdx_plat_probe,
	.init = tdx_plat_init,
	.launch_start = tdx_plat_launch_start,
	.vcpu_init = tdx_plat_vcpu_init,
	.launch_finish = tdx_plat_launch_finish,
	.handle_exit = tdx_plat_handle_exit,
	.destroy = tdx_destroy,
};
