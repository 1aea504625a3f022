/* Fuzz target: certificate extension decoding. First byte selects: AMD
 * VCEK/VLEK extensions of a DER certificate, or the Intel PCK SGX extension. */
#include <stddef.h>
#include <stdint.h>

#include "attest/attest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1) {
		struct att_amd_cert_ext x;
		if (att_amd_cert_ext_parse(data + 1, size - 1, &x, NULL) == 0 && x.hwid_len > sizeof(x.hwid))
			__builtin_trap();
	} else {
		struct att_pck_ext p;
		att_pck_ext_parse(data + 1, size - 1, &p, NULL);
	}
	return 0;
}
