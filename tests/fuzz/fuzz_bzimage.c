/* Fuzz target: the bzImage setup header parser, the layout and boot_params
 * built from whatever it accepts. */
#include <stddef.h>
#include <stdint.h>

#include "vmm/vmm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmm_bzimage bz;
	struct vmm_linux_layout lay;
	struct vg_err err;
	if (vmm_bzimage_parse(data, size, &bz, &err))
		return 0;
	uint8_t bp[VMM_BOOT_PARAMS_SIZE];
	uint64_t ram = size > 0x300 ? ((uint64_t)data[0x2FF] + 1) << 24 : 256ull << 20;
	if (vmm_linux_layout(&bz, ram, 64, size, &lay, &err) == 0)
		vmm_boot_params_build(data, size, &bz, &lay, 64, ram, bp, &err);
	return 0;
}
