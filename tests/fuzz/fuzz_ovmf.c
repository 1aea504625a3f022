/* Fuzz target: the firmware metadata parsers (OVMF footer table, SEV metadata,
 * TDVF metadata) and the launch plans built on them must never read outside
 * the image, whatever its bytes. The input is the tail of a firmware image. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/common.h"
#include "firmware/firmware.h"
#include "sev/sev.h"
#include "tdx/tdx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fw_image fw;
	struct fw_sev_metadata sev;
	struct fw_tdvf_metadata td;
	struct vg_err err;
	if (size > (1u << 20))
		return 0;
	if (fw_parse(data, size, &fw, &err))
		return 0;
	for (size_t i = 0; i < fw.n_entries; i++)
		if (fw.entries[i].len)
			(void)fw.entries[i].data[fw.entries[i].len - 1];
	if (fw_sev_metadata_parse(&fw, &sev, &err) == 0)
		for (size_t i = 0; i < sev.n; i++)
			(void)fw_sev_section_name(sev.s[i].type);
	if (fw_tdvf_metadata_parse(&fw, &td, &err) == 0) {
		struct tdx_launch_plan plan;
		/* every measured region's data must lie inside the image */
		if (tdx_launch_plan_build(&fw, &plan, &err) == 0)
			for (size_t i = 0; i < plan.n; i++)
				if (plan.r[i].data && plan.r[i].len)
					(void)plan.r[i].data[plan.r[i].len - 1];
	}
	/* An SNP plan with direct boot walks every check of the metadata. */
	struct fw_kernel_hashes kh;
	memset(&kh, 0x5a, sizeof(kh));
	struct sev_launch_opts o = {.mode = SEV_MODE_SNP, .vmm = SEV_VMM_EC2, .vcpus = 2, .vcpu_sig = 0x00800f12,
				    .guest_features = 1, .kernel = (size & 1) ? &kh : NULL};
	struct sev_launch_plan plan;
	if (size % 4096 == 0 && sev_launch_plan_build(&fw, &o, &plan, &err) == 0) {
		for (size_t i = 0; i < plan.n; i++)
			if (plan.steps[i].data && plan.steps[i].len)
				(void)plan.steps[i].data[plan.steps[i].len - 1];
		sev_launch_plan_free(&plan);
	}
	o.mode = SEV_MODE_SEV_ES;
	o.kernel = &kh;
	if (sev_launch_plan_build(&fw, &o, &plan, &err) == 0)
		sev_launch_plan_free(&plan);
	return 0;
}
