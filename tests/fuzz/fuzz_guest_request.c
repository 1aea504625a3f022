/* Fuzz target: the guest-request device (vmm/devices/guest_request.c), the
 * simulated platforms' guest-facing MMIO page. The input is a program of
 * register reads and writes (any offset in and around the page, sizes 1, 2,
 * 4, 8, guest-chosen addresses and lengths) against the real device on a real
 * bus, over 64 KiB of guest RAM the input also fills, and a platform whose
 * answers vary in size and may fail. ASan watches every access the device
 * makes to guest RAM; the invariants below trap. Needs vmm/internal.h (the
 * device lives in the VMM): kept in step with it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/guest_abi.h"
#include "vmm/devices/devices.h"
#include "vmm/vmm.h"

#define RAM_SIZE 0x10000u

static int fake_request(struct vmm *vm, void *state, const void *req, size_t req_len, void *resp, size_t cap,
			size_t *resp_len, struct vg_err *err)
{
	(void)vm;
	(void)state;
	const uint8_t *r = req;
	if (req_len == 0 || req_len > FW_ABI_GREQ_MAX_REQ)
		__builtin_trap(); /* the device must bound the request */
	if (r[0] == 0xEE)
		return vg_err_set(err, EINVAL, "fuzz platform refused");
	size_t n = ((size_t)r[0] << 8 | r[req_len - 1]) % (cap + 1);
	memset(resp, 0xA5, n);
	*resp_len = n;
	return 0;
}

static const struct vmm_platform_ops fuzz_plat = {
	.name = "fuzz",
	.guest_request = fake_request,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	struct vmm_config cfg;
	vmm_config_init(&cfg);
	cfg.has_guest_challenge = data[0] & 1;
	memset(cfg.guest_challenge, 0x5C, sizeof(cfg.guest_challenge));
	struct vmm vm;
	memset(&vm, 0, sizeof(vm));
	vm.cfg = &cfg;
	vm.plat = &fuzz_plat;
	vm.stop_fd = -1;
	vm.bus = vmm_bus_new();
	uint8_t *ram = malloc(RAM_SIZE);
	struct vmm_greq *g = NULL;
	if (!vm.bus || !ram)
		goto out;
	memset(ram, 0, RAM_SIZE);
	memcpy(ram, data, size < RAM_SIZE ? size : RAM_SIZE);
	vm.regions[0] = (struct vmm_region){.gpa = 0, .size = RAM_SIZE, .host = ram};
	vm.n_regions = 1;
	if (vmm_guest_request_register(&vm, data[1] % 3, &g, NULL))
		goto out;
	/* ops: kind(1) offset(2) value(8): 11 bytes each */
	for (size_t i = 2; i + 11 <= size; i += 11) {
		const uint8_t *op = data + i;
		static const unsigned sizes[4] = {1, 2, 4, 8};
		unsigned sz = sizes[op[0] & 3];
		uint64_t off = (uint64_t)(op[1] | op[2] << 8) % (FW_ABI_GREQ_SIZE + 0x20);
		uint64_t v;
		memcpy(&v, op + 3, 8);
		if (op[0] & 4) {
			/* steer some writes at the registers that matter */
			if ((op[0] & 0x18) == 0x08)
				off = FW_ABI_GREQ_REG_COMMAND, v = FW_ABI_GREQ_CMD_SUBMIT, sz = 4;
			vmm_bus_write(vm.bus, VMM_SPACE_MMIO, FW_ABI_GREQ_BASE + off, sz, v);
		} else {
			uint64_t got = 0;
			vmm_bus_read(vm.bus, VMM_SPACE_MMIO, FW_ABI_GREQ_BASE + off, sz, &got);
		}
		uint64_t st = 0, rl = 0;
		vmm_bus_read(vm.bus, VMM_SPACE_MMIO, FW_ABI_GREQ_BASE + FW_ABI_GREQ_REG_STATUS, 4, &st);
		vmm_bus_read(vm.bus, VMM_SPACE_MMIO, FW_ABI_GREQ_BASE + FW_ABI_GREQ_REG_RESP_LEN, 4, &rl);
		if (st > FW_ABI_GREQ_ST_PLATFORM || rl > FW_ABI_GREQ_MAX_RESP || (st != FW_ABI_GREQ_ST_DONE && rl))
			__builtin_trap();
	}
out:
	vmm_bus_free(vm.bus); /* the device is unregistered with its bus */
	vmm_guest_request_free(g);
	free(ram);
	vmm_config_free(&cfg);
	return 0;
}
