/* The platforms vigil-vmm knows, by name. One line per platform; backends
 * (sev/, tdx/) add their entries here and nothing else of vmm/. */
#include "vmm/vmm.h"

#include <stdio.h>
#include <string.h>

/* Confidential platforms (issue 6): vmm/platform/{snp,tdx,sim_snp,sim_tdx}.c. */
extern const struct vmm_platform_ops vmm_platform_snp, vmm_platform_tdx, vmm_platform_sim_snp,
	vmm_platform_sim_tdx;

static const struct vmm_platform_ops *const platforms[] = {
	&vmm_platform_none,
	&vmm_platform_snp,
	&vmm_platform_tdx,
	&vmm_platform_sim_snp,
	&vmm_platform_sim_tdx,
};

const struct vmm_platform_ops *vmm_platform_find(const char *name)
{
	for (size_t i = 0; i < VG_ARRAY_SIZE(platforms); i++)
		if (name && strcmp(platforms[i]->name, name) == 0)
			return platforms[i];
	return NULL;
}

const char *vmm_platform_names(void)
{
	static char names[256];
	if (!names[0]) {
		size_t off = 0;
		for (size_t i = 0; i < VG_ARRAY_SIZE(platforms) && off < sizeof(names); i++)
			off += (size_t)snprintf(names + off, sizeof(names) - off, "%s%s", i ? ", " : "",
						platforms[i]->name);
	}
	return names;
}
