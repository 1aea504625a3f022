/* Fuzz target: the PE/COFF Authenticode parser (firmware.h fw_pe_authenticode)
 * and the TDX direct-boot model over whatever kernel it accepts (tdx.h section 2:
 * bzImage version string, LoadOptions). */
#include <stddef.h>
#include <stdint.h>

#include "firmware/firmware.h"
#include "tdx/tdx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t out[64];
	size_t n = 0;
	struct fw_pe_info pi;
	struct vg_err err;
	if (fw_pe_authenticode(data, size, "SHA384", out, &n, &pi, &err))
		return 0;
	/* the last bytes double as a command line and an initrd */
	char cmd[33] = {0};
	for (size_t i = 0; i < 32 && i < size; i++)
		cmd[i] = (char)(data[size - 1 - i] | 1);
	struct tdx_boot_inputs in = {.kernel = data, .kernel_len = size, .initrd = data, .initrd_len = size % 64,
				     .cmdline = cmd, .edk2 = 202208u + (size % 4) * 100u};
	struct tdx_boot_prediction p;
	if (tdx_boot_predict(&in, &p, &err) == 0)
		tdx_boot_prediction_free(&p);
	return 0;
}
