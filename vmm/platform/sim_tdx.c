/*
 * Platform "sim-tdx": the VMM plays the TDX module and the quoting enclave. At
 * launch it walks the firmware's TDVF sections in metadata order exactly as
 * KVM_TDX_INIT_MEM_REGION would (TD HOB written into TD_HOB, TDH.MEM.PAGE.ADD of every
 * added page, TDH.MR.EXTEND of MR.EXTEND sections) and builds MRTD with the same
 * context `vigil measure tdx` uses (tdx.h section 2). Guests ask for quotes through the
 * guest-request device, which also carries TDG.MR.RTMR.EXTEND for RTMR2/3; RTMRs
 * start at zero, as on hardware.
 *
 * Launch inputs come from the configuration (vm.json "tdx" and "state_dir", or the
 * flags): ATTRIBUTES, XFAM, MRCONFIGID, MROWNER, MROWNERCONFIG.
 */
#include <stdlib.h>
#include <string.h>

#include "firmware/firmware.h"
#include "vmm/platform/platform.h"

struct sim_tdx {
	struct tdx_sim *sim;
	struct tdx_launch_plan plan; /* built at launch_start */
	struct vmm_greq *greq;
	struct tdx_sim_td td;
	bool started, finished;
	uint64_t pages_added, pages_extended;
};

static void sim_destroy(struct vmm *vm, void *state)
{
	(void)vm;
	struct sim_tdx *s = state;
	if (!s)
		return;
	vmm_guest_request_free(s->greq);
	tdx_sim_free(s->sim);
	free(s);
}

static int sim_init_steps(struct vmm *vm, void **state, struct vg_err *err)
{
	const struct vmm_config *c = vmm_get_config(vm);
	if (!c->firmware)
		return vg_err_set(err, ENOTSUP,
				  "sim-tdx boots a firmware image with TDVF metadata (--firmware); a kernel goes "
				  "to that firmware through fw_cfg (--firmware F --kernel K)");
	struct sim_tdx *s = calloc(1, sizeof(*s));
	if (!s)
		return vg_err_set(err, ENOMEM, "out of memory");
	*state = s;
	char dir[4096];
	int rc;
	s->td.attributes = c->tdx.attributes;
	s->td.xfam = c->tdx.xfam;
	memcpy(s->td.mrconfigid, c->tdx.mrconfigid, 48);
	memcpy(s->td.mrowner, c->tdx.mrowner, 48);
	memcpy(s->td.mrownerconfig, c->tdx.mrownerconfig, 48);
	/* What the TDX module accepts (TDX module ABI: ATTRIBUTES / XFAM fixed bits). */
	if ((s->td.xfam & 0x3) != 0x3)
		return vg_err_set(err, EINVAL, "XFAM 0x%llx: x87 and SSE (bits 0, 1) must be set",
				  (unsigned long long)s->td.xfam);
	if ((rc = tdx_sim_open(vmm_sim_state_dir(c, dir, sizeof(dir)), &s->sim, err)))
		return rc;
	return vmm_guest_request_register(vm, 2, &s->greq, err);
}

static int sim_init(struct vmm *vm, void **state, struct vg_err *err)
{
	return vmm_plat_init_or_undo(vm, state, err, sim_init_steps, sim_destroy);
}

static int sim_launch_start(struct vmm *vm, void *state, const struct vmm_launch_image *img, struct vg_err *err)
{
	(void)vm;
	struct sim_tdx *s = state;
	int rc = vmm_tdx_plan(img, &s->plan, err);
	if (rc)
		return vg_err_prefix(err, "sim-tdx");
	s->started = true; /* KVM_TDX_INIT_VM */
	return 0;
}

static void *gpa_fn(void *ctx, uint64_t gpa, uint64_t len) { return vmm_gpa_ptr(ctx, gpa, len); }

static int sim_launch_finish(struct vmm *vm, void *state, struct vg_err *err)
{
	struct sim_tdx *s = state;
	const struct tdx_launch_plan *plan = &s->plan;
	struct tdx_mrtd m;
	bool m_live = false;
	uint64_t hob_gpa = 0;
	int rc;
	if ((rc = vmm_tdx_write_hob(vm, plan, &hob_gpa, err)) || (rc = tdx_mrtd_init(&m, err)))
		goto out;
	m_live = true;
	/* The plan walked over guest memory (the image, the TD HOB just written),
	 * measured as the TDX module does. */
	rc = tdx_sim_launch_plan(&m, plan, gpa_fn, vm, err);
	s->pages_added = m.page_adds;
	s->pages_extended = m.extends / 16;
	if (!rc) {
		rc = tdx_mrtd_final(&m, s->td.mrtd, err); /* TDH.MR.FINALIZE */
		m_live = false;
	}
	if (rc)
		goto out;
	s->finished = true;
	char hex[97];
	vg_hex_encode(s->td.mrtd, 48, hex);
	vg_info("sim-tdx: MRTD %s (%llu pages added, %llu measured, TD HOB at 0x%llx)", hex,
		(unsigned long long)s->pages_added, (unsigned long long)s->pages_extended,
		(unsigned long long)hob_gpa);
	vg_info("sim-tdx: SIMULATED root in %s/root.pem", tdx_sim_dir(s->sim));
out:
	if (m_live)
		tdx_mrtd_free(&m);
	return rc;
}

static int sim_guest_request(struct vmm *vm, void *state, const void *req, size_t req_len, void *resp,
			     size_t resp_cap, size_t *resp_len, struct vg_err *err)
{
	(void)vm;
	struct sim_tdx *s = state;
	if (!s->finished)
		return vg_err_set(err, EINVAL, "sim-tdx: guest request before KVM_TDX_FINALIZE_VM");
	if (req_len == 4 + 48) {
		/* TDG.MR.RTMR.EXTEND: u32 index (2 or 3: the ones a TD's OS and
		 * applications extend) and a 48-byte digest. No response bytes. */
		uint32_t idx = vg_le32(req);
		if (idx != 2 && idx != 3)
			return vg_err_set(err, EINVAL, "sim-tdx: a guest may extend RTMR2 or RTMR3, not %u", idx);
		*resp_len = 0;
		return tdx_sim_rtmr_extend(&s->td, idx, (const uint8_t *)req + 4, err);
	}
	if (req_len != 64)
		return vg_err_set(err, EINVAL, "sim-tdx: a request is 64 bytes of REPORT_DATA (quote) or "
				  "u32 index + 48-byte digest (RTMR extend)");
	uint8_t *q = NULL;
	size_t ql = 0;
	int rc = tdx_sim_quote(s->sim, &s->td, req, &q, &ql, err);
	if (rc)
		return rc;
	if (ql > resp_cap) {
		free(q);
		return vg_err_set(err, ENOSPC, "sim-tdx: quote (%zu bytes) larger than the response buffer", ql);
	}
	memcpy(resp, q, ql);
	*resp_len = ql;
	free(q);
	return 0;
}

static int sim_measurement(struct vmm *vm, void *state, uint8_t out[48], const char **what, struct vg_err *err)
{
	(void)vm;
	struct sim_tdx *s = state;
	if (!s->finished)
		return vg_err_set(err, EINVAL, "sim-tdx: no launch finished");
	memcpy(out, s->td.mrtd, 48);
	*what = "MRTD";
	return 0;
}

const struct vmm_platform_ops vmm_platform_sim_tdx = {
	.name = "sim-tdx",
	.vm_type = 0, /* a plain KVM VM: the protection is simulated */
	/* as in a TD: the firmware is private RAM; --kernel goes to TDVF through fw_cfg
	 * (measured by TDVF into RTMRs, not into MRTD) */
	.flags = VMM_PLAT_NO_ROM | VMM_PLAT_MEASURED_KERNEL,
	.config_section = "tdx",
	.init = sim_init,
	.launch_start = sim_launch_start,
	.launch_finish = sim_launch_finish,
	.launch_measurement = sim_measurement,
	.guest_request = sim_guest_request,
	.destroy = sim_destroy,
};
