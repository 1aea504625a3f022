/* Boot path 1: a firmware image mapped read-only so that it ends at 4 GiB;
 * the vCPU starts at the reset vector 0xFFFFFFF0 (CS base 0xFFFF0000, IP 0xFFF0,
 * VMM_BOOT_RESET: the accelerator sets it). */
#include "vmm/internal.h"

int vmm_firmware_check(size_t len, struct vg_err *err)
{
	if (len == 0)
		return vg_err_set(err, EINVAL, "firmware image is empty");
	if (len % 4096)
		return vg_err_set(err, EINVAL, "firmware image is %zu bytes, not a multiple of 4096", len);
	if (len > VMM_FIRMWARE_MAX)
		return vg_err_set(err, EFBIG, "firmware image is %zu bytes, more than the %u allowed", len,
				  VMM_FIRMWARE_MAX);
	return 0;
}
