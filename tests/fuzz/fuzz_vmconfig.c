/* Fuzz target: vm.json parsing (jansson + our key table and range checks). */
#include <stddef.h>
#include <stdint.h>

#include "vmm/vmm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmm_config c;
	struct vg_err err;
	vmm_config_init(&c);
	vmm_config_parse_json(&c, (const char *)data, size, "vm.json", &err);
	vmm_config_free(&c);
	return 0;
}
