/* Helpers shared by the confidential platforms (vmm/platform.h). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "vmm/platform/platform.h"

int vmm_plat_init_or_undo(struct vmm *vm, void **state, struct vg_err *err, vmm_plat_init_fn steps,
			  vmm_plat_destroy_fn destroy)
{
	*state = NULL;
	int rc = steps(vm, state, err);
	if (rc) {
		destroy(vm, *state);
		*state = NULL;
	}
	return rc;
}

const char *vmm_sim_state_dir(const struct vmm_config *c, char *buf, size_t cap)
{
	const char *home = getenv("HOME");
	if (c->state_dir)
		snprintf(buf, cap, "%s", c->state_dir);
	else if (geteuid() == 0)
		snprintf(buf, cap, "/var/lib/vigil");
	else
		snprintf(buf, cap, "%s/.local/state/vigil", home && *home ? home : "/tmp");
	return buf;
}
