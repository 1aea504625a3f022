/* Fuzz target: the policy loader (any bytes as a policy document). A document
 * that loads is then exercised whole: summary, appraisal of a synthetic SNP and
 * TDX result, resource decisions and token claims. Nothing may crash or leak. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "policy/policy.h"

static void exercise(const struct pol_policy *p, enum att_platform pl, bool sim)
{
	struct att_result r;
	att_result_init(&r);
	r.verified = r.parsed = true;
	r.platform = pl;
	r.simulated = sim;
	snprintf(r.product, sizeof(r.product), "%s", pl == ATT_PLATFORM_SNP ? "Milan" : "TDX");
	if (pl == ATT_PLATFORM_SNP) {
		memset(r.snp.measurement, 0x11, 48);
		r.snp.policy = 0xb0000;
		r.snp.reported_tcb = 0x7308000000000003ull;
		r.snp.platform_info = 1;
		snprintf(r.snp_key, sizeof(r.snp_key), "VCEK");
	} else {
		memset(r.tdx.body.mr_td, 0x22, 48);
		r.tdx.body.td_attributes[0] = 1;
		r.tcb_status = ATT_TCB_OUT_OF_DATE;
		snprintf(r.tcb_date, sizeof(r.tcb_date), "2018-01-04T00:00:00Z");
		r.advisories = json_pack("[s]", "INTEL-SA-00001");
	}
	uint8_t rd[64] = {0};
	struct pol_context ctx = {.expected_report_data = sim ? rd : NULL, .now = 1700000000};
	struct pol_appraisal a;
	if (pol_appraise(p, &r, &ctx, &a, NULL) == 0) {
		json_t *j = pol_appraisal_json(&a);
		struct pol_appraisal b;
		if (pol_appraisal_from_json(j, &b, NULL) != 0 || b.status != a.status || strcmp(b.workload, a.workload))
			__builtin_trap(); /* a verdict must survive being stored */
		pol_appraisal_free(&b);
		json_decref(j);
		struct pol_ear_opts o = {.names = sim ? POL_EAR_NAMES_VERAISON : POL_EAR_NAMES_DRAFT};
		json_decref(pol_ear_claims_json(&a, &o));
		static const char *const paths[] = {"default/keys/a", "dev/x/y", "a/b/c", "bad"};
		for (size_t i = 0; i < 4; i++)
			pol_resource_allowed(p, &a, paths[i], NULL);
		snprintf(a.workload, sizeof(a.workload), "w");
		a.status = POL_AFFIRMING;
		pol_resource_allowed(p, &a, "default/keys/a", NULL);
	}
	pol_appraisal_free(&a);
	att_result_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool quiet;
	if (!quiet) {
		vg_log_init("fuzz_policy", VG_LOG_ERROR);
		quiet = true;
	}
	struct pol_policy *p = NULL;
	struct vg_err e;
	if (pol_load((const char *)data, size, &p, &e) != 0) {
		if (p || !memchr(e.msg, 0, sizeof(e.msg)) || strchr(e.msg, '\n'))
			__builtin_trap(); /* an error is one bounded line and no policy */
		return 0;
	}
	json_decref(pol_summary_json(p));
	exercise(p, ATT_PLATFORM_SNP, false);
	exercise(p, ATT_PLATFORM_TDX, true);
	pol_free(p);
	return 0;
}
