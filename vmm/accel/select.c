/* Which accelerator runs a VM: --accel / vm.json "accel" = kvm | emu | auto
 * (default). auto takes kvm when the KVM device opens with every capability
 * the core needs, else emu, and says so once on stderr. */
#include "vmm/accel/kvm.h"

#include <string.h>

static const struct vmm_accel_ops *const accels[] = {&vmm_accel_kvm, &vmm_accel_emu};

int vmm_accel_select(const struct vmm_config *c, const struct vmm_accel_ops **out, struct vg_err *err)
{
	const char *name = c->accel ? c->accel : "auto";
	for (size_t i = 0; i < VG_ARRAY_SIZE(accels); i++)
		if (strcmp(name, accels[i]->name) == 0) {
			*out = accels[i];
			return 0;
		}
	if (strcmp(name, "auto") != 0)
		return vg_err_set(err, EINVAL, "accel \"%s\" is unknown (known: kvm, emu, auto)", name);
	struct vg_err why = {0};
	if (vmm_kvm_available(&why) == 0) {
		*out = &vmm_accel_kvm;
		return 0;
	}
	vg_warn("%s; using the emu accelerator (software emulation, slower)", why.msg);
	*out = &vmm_accel_emu;
	return 0;
}

int vmm_kvm_check(const struct vmm_platform_ops *plat, const struct vmm_config *c, struct vg_err *err)
{
	return vmm_accel_kvm.check(plat, c, err);
}
