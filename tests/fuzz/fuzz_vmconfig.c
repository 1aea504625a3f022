/* Fuzz target: vm.json parsing (jansson + our key table and range checks), and the
 * same bytes as one --fw-cfg option string (QEMU's -fw_cfg syntax, ",," escapes). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/vmm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmm_config c;
	struct vg_err err;
	vmm_config_init(&c);
	vmm_config_parse_json(&c, (const char *)data, size, "vm.json", &err);
	vmm_config_free(&c);
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	vmm_config_init(&c);
	vmm_config_set(&c, "fw_cfg", s, &err);
	vmm_config_set(&c, "fw_cfg", s, &err); /* a second time: the duplicate check */
	vmm_config_free(&c);
	free(s);
	return 0;
}
