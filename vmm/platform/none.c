/* Platform "none": a plain KVM guest. No launch measurement, no private
 * memory, no security processor; every hook is a no-op. */
#include "vmm/vmm.h"

const struct vmm_platform_ops vmm_platform_none = {
	.name = "none",
	.vm_type = 0, /* KVM_X86_DEFAULT_VM */
};
