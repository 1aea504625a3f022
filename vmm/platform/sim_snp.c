/*
 * Platform "sim-snp": the VMM plays the AMD secure processor. It applies the SNP
 * launch steps to guest memory in the order KVM issues them and computes the launch
 * digest with the same code as `vigil measure snp --vmm-type vigil` (sev.h section 2):
 * the pages the core loads (launch_update), then the firmware's SEV metadata sections
 * and one VMSA per vCPU from the launch plan. Guests ask for reports through the
 * guest-request device; reports are signed by the simulated VCEK (sev.h section 3).
 *
 * Launch inputs come from the configuration (vm.json "snp" and "state_dir", or the
 * flags): policy, guest features, HOST_DATA, vCPU type, ID block and ID auth.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "firmware/firmware.h"
#include "firmware/guest_abi.h"
#include "vmm/platform/platform.h"

struct sim_snp {
	struct sev_sim_snp *sp;
	struct vmm_greq *greq;
	struct sev_snp_digest digest;
	struct sev_sim_snp_guest guest;
	uint64_t guest_features;
	uint32_t vcpu_sig;
	bool started, finished;
	uint64_t pages;
	struct sev_launch_plan plan; /* built at launch_start */
	struct vmm_plat_loaded loaded[VMM_PLAT_MAX_LOADED];
	size_t nloaded;
	uint8_t *id_block, *id_auth; /* snp.id_block / snp.id_auth contents, or NULL */
	bool author_key;
	uint8_t *cert_table; /* what an extended report request returns after the report */
	size_t cert_table_len;
};

static void sim_destroy(struct vmm *vm, void *state)
{
	(void)vm;
	struct sim_snp *s = state;
	if (!s)
		return;
	vmm_guest_request_free(s->greq);
	sev_sim_snp_free(s->sp);
	sev_launch_plan_free(&s->plan);
	free(s->id_block);
	free(s->id_auth);
	free(s->cert_table);
	vg_secure_zero(s, sizeof(*s));
	free(s);
}

static int sim_init_steps(struct vmm *vm, void **state, struct vg_err *err)
{
	const struct vmm_config *c = vmm_get_config(vm);
	if (!c->firmware)
		return vg_err_set(err, ENOTSUP, "sim-snp boots a firmware image (--firmware), with --kernel for "
				  "measured direct boot");
	struct sim_snp *s = calloc(1, sizeof(*s));
	if (!s)
		return vg_err_set(err, ENOMEM, "out of memory");
	*state = s;
	char dir[4096];
	int rc;
	s->guest.policy = c->snp.policy;
	s->guest_features = c->snp.guest_features;
	memcpy(s->guest.host_data, c->snp.host_data, sizeof(s->guest.host_data));
	s->author_key = c->snp.author_key;
	if ((rc = sev_vcpu_type_lookup(c->snp.vcpu_type ? c->snp.vcpu_type : SEV_DEFAULT_VCPU_TYPE, &s->vcpu_sig,
				       err)) ||
	    (rc = vmm_snp_id_files(c, &s->id_block, &s->id_auth, err)))
		return rc;
	/* The secure processor enforces what KVM and the firmware would (also checked
	 * by vmm_config_validate, for a configuration built by hand). */
	if (!(s->guest_features & SEV_FEATURE_SNP_ACTIVE))
		return vg_err_set(err, EINVAL, "guest features 0x%llx lack SNPActive (bit 0)",
				  (unsigned long long)s->guest_features);
	if ((rc = sev_snp_policy_check(s->guest.policy, err)))
		return rc;
	if ((rc = sev_sim_snp_open(vmm_sim_state_dir(c, dir, sizeof(dir)), &s->sp, err)) ||
	    (rc = sev_sim_snp_cert_table(s->sp, &s->cert_table, &s->cert_table_len, err)))
		return rc;
	if (RAND_bytes(s->guest.report_id, sizeof(s->guest.report_id)) != 1)
		return vg_err_set(err, EIO, "sim-snp: no randomness for REPORT_ID");
	return vmm_guest_request_register(vm, 1, &s->greq, err);
}

static int sim_init(struct vmm *vm, void **state, struct vg_err *err)
{
	return vmm_plat_init_or_undo(vm, state, err, sim_init_steps, sim_destroy);
}

static int sim_launch_start(struct vmm *vm, void *state, const struct vmm_launch_image *img, struct vg_err *err)
{
	struct sim_snp *s = state;
	int rc = vmm_snp_plan(vm, img, s->guest_features, s->vcpu_sig, &s->plan, err);
	if (rc)
		return vg_err_prefix(err, "sim-snp");
	sev_snp_digest_init(&s->digest, NULL);
	s->started = true;
	return 0;
}

/* As on hardware: what the core loads is launched with the plan at launch_finish. */
static int sim_launch_update(struct vmm *vm, void *state, uint64_t gpa, const void *bytes, size_t len,
			     enum vmm_page_type type, struct vg_err *err)
{
	struct sim_snp *s = state;
	(void)vm;
	(void)bytes;
	if (!s->started || s->finished)
		return vg_err_set(err, EINVAL, "SNP_LAUNCH_UPDATE outside SNP_LAUNCH_START..FINISH");
	if (type == VMM_PAGE_SHARED)
		return 0;
	if (s->nloaded >= VMM_PLAT_MAX_LOADED)
		return vg_err_set(err, ENOSPC, "sim-snp: too many loaded regions");
	s->loaded[s->nloaded++] = (struct vmm_plat_loaded){ gpa, len };
	return 0;
}

/* Under kvm the vCPUs get the SEV-ES start state the plan predicts, as on snp. */
static int sim_vcpu_init(struct vmm *vm, void *state, unsigned index, int vcpu_fd, struct vg_err *err)
{
	(void)vm;
	struct sim_snp *s = state;
	return vcpu_fd < 0 ? 0 : vmm_snp_vcpu_regs(vcpu_fd, index, s->plan.ap_eip, s->vcpu_sig, err);
}

/* The VMSA the secure processor measures: built from the registers the VMM actually
 * programmed into the vCPU (read back), not from the prediction. */
static int sim_vmsa(void *ctx, uint32_t vcpu, uint64_t features, uint8_t page[SEV_VMSA_SIZE], struct vg_err *err)
{
	struct sev_vcpu_reset st;
	int rc = vmm_plat_sev_regs_get(vmm_plat_vcpu_fd(ctx, vcpu), &st, err);
	if (rc)
		return rc;
	sev_vmsa_build(&st, features, page);
	return 0;
}

static int sim_launch_finish(struct vmm *vm, void *state, struct vg_err *err)
{
	struct sim_snp *s = state;
	const struct sev_launch_step *img = &s->plan.steps[0];
	struct sev_guest_mem m;
	vmm_plat_guest_mem(vm, &m);
	/* Under emu there are no registers before the vCPU thread starts: the VMSAs are
	 * the plan's (docs/platforms.md). */
	if (vmm_plat_vcpu_fd(vm, 0) >= 0)
		m.vmsa = sim_vmsa;
	/* The plan walked over guest memory, measured as the secure processor does. */
	int rc = vmm_plat_loaded_check(s->loaded, s->nloaded, img->gpa, img->len, "sim-snp", err);
	if (!rc)
		rc = sev_sim_snp_launch_plan(&s->digest, &s->plan, &m, &s->pages, err);
	if (rc)
		return vg_err_prefix(err, "sim-snp");
	memcpy(s->guest.measurement, s->digest.ld, 48);
	/* SNP_LAUNCH_FINISH: the firmware checks the ID block against this launch. */
	if (s->id_block && (rc = sev_sim_snp_id_check(&s->guest, s->id_block, s->id_auth, s->author_key, err)))
		return rc;
	s->finished = true;
	char hex[97];
	vg_hex_encode(s->guest.measurement, 48, hex);
	vg_info("sim-snp: launch digest %s (%llu pages, %u vCPUs, policy 0x%llx)", hex,
		(unsigned long long)s->pages, vmm_vcpu_count(vm), (unsigned long long)s->guest.policy);
	vg_info("sim-snp: SIMULATED VCEK and chain in %s", sev_sim_snp_dir(s->sp));
	return 0;
}

static int sim_guest_request(struct vmm *vm, void *state, const void *req, size_t req_len, void *resp,
			     size_t resp_cap, size_t *resp_len, struct vg_err *err)
{
	(void)vm;
	struct sim_snp *s = state;
	if (!s->finished)
		return vg_err_set(err, EINVAL, "sim-snp: guest request before SNP_LAUNCH_FINISH");
	/* 64 bytes of REPORT_DATA [+ u32 VMPL [+ u32 flags: bit 0 = extended request, the
	 * certificate table (sev.h) follows the report, as SNP_GET_EXT_REPORT returns it]]. */
	if (req_len != 64 && req_len != 68 && req_len != FW_ABI_GREQ_SNP_EXT_REQ_LEN)
		return vg_err_set(err, EINVAL,
				  "sim-snp: a report request is 64 bytes of REPORT_DATA [+ u32 VMPL [+ u32 flags]]");
	uint32_t vmpl = req_len >= 68 ? vg_le32((const uint8_t *)req + 64) : 0;
	bool ext = req_len == FW_ABI_GREQ_SNP_EXT_REQ_LEN &&
		   (vg_le32((const uint8_t *)req + 68) & FW_ABI_GREQ_SNP_FLAG_EXTENDED);
	size_t need = SEV_SNP_REPORT_SIZE + (ext ? s->cert_table_len : 0);
	if (resp_cap < need)
		return vg_err_set(err, ENOSPC, "sim-snp: response buffer of %zu bytes, %zu needed", resp_cap, need);
	int rc = sev_sim_snp_report(s->sp, &s->guest, req, vmpl, resp, err);
	if (!rc && ext)
		memcpy((uint8_t *)resp + SEV_SNP_REPORT_SIZE, s->cert_table, s->cert_table_len);
	if (!rc)
		*resp_len = need;
	return rc;
}

static int sim_measurement(struct vmm *vm, void *state, uint8_t out[48], const char **what, struct vg_err *err)
{
	(void)vm;
	struct sim_snp *s = state;
	if (!s->finished)
		return vg_err_set(err, EINVAL, "sim-snp: no launch finished");
	memcpy(out, s->guest.measurement, 48);
	*what = "MEASUREMENT";
	return 0;
}

static void sim_cpuid_adjust(struct vmm *vm, void *state, struct kvm_cpuid_entry2 *e, unsigned n)
{
	(void)vm;
	vmm_plat_cpuid_signature(e, n, ((struct sim_snp *)state)->vcpu_sig);
}

const struct vmm_platform_ops vmm_platform_sim_snp = {
	.name = "sim-snp",
	.vm_type = 0, /* a plain KVM VM: the protection is simulated */
	.flags = VMM_PLAT_NO_ROM | VMM_PLAT_MEASURED_KERNEL, /* as on SNP: the firmware is launched into RAM */
	.config_section = "snp",
	.init = sim_init,
	.launch_start = sim_launch_start,
	.launch_update = sim_launch_update,
	.vcpu_init = sim_vcpu_init,
	.launch_finish = sim_launch_finish,
	.launch_measurement = sim_measurement,
	.guest_request = sim_guest_request,
	.cpuid_adjust = sim_cpuid_adjust,
	.destroy = sim_destroy,
};
