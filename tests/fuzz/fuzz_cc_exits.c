/* Fuzz target: the guest-controlled exits of the confidential backends.
 * Byte 0 selects: KVM_EXIT_TDX (GetQuote over a guest buffer made of the input, and
 * the other TDVMCALLs), or the SNP/TDX private-shared conversion exits
 * (KVM_HC_MAP_GPA_RANGE, KVM_EXIT_MEMORY_FAULT) with a recorder that traps on any
 * attribute change outside guest RAM or off page boundaries. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/linux_kvm_cc.h"
#include "sev/sev.h"
#include "tdx/tdx.h"

#define GPA_BASE 0x10000ull
#define RAM_END (1ull << 30)

static uint8_t *buf;
static size_t buf_len;

static void *gpa_fn(void *ctx, uint64_t gpa, uint64_t len)
{
	(void)ctx;
	if (gpa < GPA_BASE || gpa - GPA_BASE > buf_len || len > buf_len - (gpa - GPA_BASE))
		return NULL;
	return buf + (gpa - GPA_BASE);
}

static int quote_fn(void *ctx, const uint8_t *rep, size_t len, uint8_t **q, size_t *qlen, struct vg_err *err)
{
	(void)ctx;
	(void)err;
	size_t n = (size_t)rep[0] * 64 + rep[len - 1];
	*q = calloc(1, n ? n : 1);
	*qlen = n;
	return *q ? 0 : -ENOMEM;
}

static int rec(void *ctx, int fd, unsigned long req, void *arg)
{
	(void)ctx;
	(void)fd;
	if (req != KVM_SET_MEMORY_ATTRIBUTES)
		__builtin_trap();
	struct kvm_memory_attributes *a = arg;
	if ((a->address | a->size) & 0xfff || !a->size || a->address + a->size > RAM_END ||
	    a->address + a->size < a->address)
		__builtin_trap();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 33)
		return 0;
	struct kvm_run run;
	memset(&run, 0, sizeof(run));
	uint64_t a[4];
	memcpy(a, data + 1, 32);
	if (data[0] & 1) {
		buf_len = size - 33;
		buf = malloc(buf_len ? buf_len : 1);
		memcpy(buf, data + 33, buf_len);
		run.exit_reason = KVM_EXIT_TDX;
		struct kvm_cc_exit_tdx *t = kvm_cc_run_exit(&run);
		t->nr = (data[0] & 2) ? KVM_CC_TDVMCALL_GET_QUOTE : a[3];
		t->get_quote.gpa = GPA_BASE + (a[0] & 0xffff);
		t->get_quote.size = a[1] & 0x1ffff;
		tdx_handle_exit(&run, gpa_fn, NULL, (data[0] & 4) ? quote_fn : NULL, NULL, NULL);
		free(buf);
	} else {
		struct vg_kvm_io io = { .fn = rec };
		if (data[0] & 2) {
			run.exit_reason = KVM_EXIT_HYPERCALL;
			run.hypercall.nr = KVM_HC_MAP_GPA_RANGE;
			memcpy(run.hypercall.args, a, 24);
		} else {
			run.exit_reason = KVM_EXIT_MEMORY_FAULT;
			memcpy(kvm_cc_run_exit(&run), a, 24);
		}
		sev_cc_conversion_exit(&io, 4, RAM_END, &run, NULL);
	}
	return 0;
}
