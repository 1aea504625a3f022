/*
 * Protocol tests for the TDX backend (tdx/launch_*.c, tdx/hob.c) against a model of
 * KVM's documented checks (tests/unit/kvm_model.c: -E2BIG on KVM_TDX_CAPABILITIES,
 * INIT_VM's CPUID rules and -EAGAIN, guest_memfd slots and private pages for
 * INIT_MEM_REGION with partial progress and -EINTR/-EAGAIN, GET_CPUID, a TD's MapGPA
 * forwarded in 2 MiB KVM_HC_MAP_GPA_RANGE exits), which logs
 * every ioctl so order and arguments are checked against
 * Documentation/virt/kvm/x86/intel-tdx.rst. Not run on TDX hardware.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/linux_kvm_cc.h"
#include "sev/sev.h" /* sev_cc_conversion_exit: the conversion the tdx platform runs */
#include "tdx/tdx.h"
#include "vmm/vmm.h"

#include "tests/unit/kvm_model.h"

/* The KVM model (tests/unit/kvm_model.c) stands in for /dev/kvm, the VM and vCPU fds. */
#define KVM_FD KM_KVM_FD
#define VM_FD KM_VM_FD
#define VCPU_FD KM_VCPU_FD
#define R km
#define IO km_io
static uint8_t SRC[16 * 4096] __attribute__((aligned(4096)));

static void rec_reset(void)
{
	km_reset();
	km.tdx_mode = true;
}

/* A minimal CPUID for a TD: leaf 1 and the address-size leaf INIT_VM needs. */
static const struct kvm_cpuid_entry2 TD_CPUID[2] = {
	{ .function = 1, .eax = 0x806f8, .ecx = 0x1234 },
	{ .function = 0x80000008, .eax = 0x302e },
};

static void new_launch(struct tdx_launch *l)
{
	tdx_launch_init(l, &IO);
	l->kvm_fd = KVM_FD;
	l->vm_fd = VM_FD;
}

static void test_probe(void **state)
{
	(void)state;
	struct tdx_launch l;
	struct vg_err err = { 0 };
	rec_reset();
	R.vm_types = 0x1;
	new_launch(&l);
	assert_int_equal(tdx_probe(&l, &err), -ENOTSUP);
	assert_non_null(strstr(err.msg, "KVM_CAP_VM_TYPES mask is 0x1"));
	assert_non_null(strstr(err.msg, "KVM_X86_TDX_VM"));
	assert_int_equal(R.calls[0].fd, KVM_FD);
	rec_reset();
	new_launch(&l);
	assert_int_equal(tdx_probe(&l, &err), 0);
	for (unsigned i = 0; i < R.n; i++)
		assert_int_equal(R.calls[i].req, KVM_CHECK_EXTENSION);
}

/* A fresh model and launch with the capabilities read. */
static void caps_only(struct tdx_launch *l, struct tdx_caps *caps)
{
	struct vg_err err = { 0 };
	rec_reset();
	new_launch(l);
	assert_int_equal(tdx_get_capabilities(l, caps, &err), 0);
}

static void done(struct tdx_launch *l, struct tdx_caps *caps)
{
	tdx_caps_free(caps);
	tdx_launch_release(l);
}

static void caps_and_init(struct tdx_launch *l, struct tdx_caps *caps)
{
	struct vg_err err = { 0 };
	rec_reset();
	new_launch(l);
	assert_int_equal(tdx_get_capabilities(l, caps, &err), 0);
	struct tdx_td_config cfg = { .xfam = TDX_XFAM_DEFAULT, .attributes = TDX_ATTR_SEPT_VE_DISABLE,
				     .cpuid = TD_CPUID, .ncpuid = 2 };
	assert_int_equal(tdx_init_vm(l, caps, &cfg, &err), 0);
	R.n = 0;
}

static void test_full_launch_order_and_arguments(void **state)
{
	(void)state;
	struct tdx_launch l;
	struct tdx_caps caps;
	struct vg_err err = { 0 };
	rec_reset();
	R.caps_nent = 100; /* more than the first guess: -E2BIG, then a bigger buffer */
	new_launch(&l);
	assert_int_equal(tdx_get_capabilities(&l, &caps, &err), 0);
	assert_int_equal(R.n, 2);
	assert_int_equal(R.calls[0].fd, VM_FD); /* VM-scoped since 6.16 */
	assert_int_equal(R.calls[0].id, KVM_TDX_CAPABILITIES);
	assert_int_equal(R.calls[0].a[0], 64);
	assert_int_equal(R.calls[1].a[0], 128);
	assert_int_equal(caps.ncpuid, 100);
	assert_int_equal(caps.supported_xfam, 0x6e7);

	struct kvm_cpuid_entry2 want[4];
	memset(want, 0, sizeof(want));
	want[0].function = 1;
	want[0].eax = 0x12345678;
	want[0].edx = 0xffffffff;
	want[1].function = 0x40000000; /* not configurable: passed, KVM ignores it */
	want[2].function = 0x80000001;
	want[2].ecx = 0xabcdef;
	want[3].function = 0x80000008;
	want[3].eax = 0x3030;
	struct tdx_td_config cfg = {
		.attributes = TDX_ATTR_SEPT_VE_DISABLE,
		.xfam = TDX_XFAM_DEFAULT,
		.cpuid = want,
		.ncpuid = 4,
	};
	memset(cfg.mrconfigid, 0x5c, 48);
	R.n = 0;
	assert_int_equal(tdx_init_vm(&l, &caps, &cfg, &err), 0);
	assert_int_equal(tdx_init_vcpu(&l, &caps, VCPU_FD, 0, 0x809000, &err), 0);
	assert_int_equal(tdx_init_mem_region(&l, VCPU_FD, 0xffc00000, SRC, 4, true, &err), 0);
	assert_int_equal(tdx_init_mem_region(&l, VCPU_FD, 0x800000, SRC, 2, false, &err), 0);
	assert_int_equal(tdx_finalize(&l, &err), 0);

	struct km_call *c = R.calls;
	/* ENABLE_CAP(APIC bus), INIT_VM, SET_CPUID2, INIT_VCPU, GET_CPUID, (attrs, region) x2, FINALIZE */
	assert_int_equal(R.n, 1 + 1 + 3 + 2 + 2 + 1);
	assert_int_equal(c[0].req, KVM_ENABLE_CAP);
	assert_int_equal(c[0].a[0], KVM_CAP_X86_APIC_BUS_CYCLES_NS);
	assert_int_equal(c[0].a[1], 40);
	c++;
	assert_int_equal(c[0].fd, VM_FD);
	assert_int_equal(c[0].id, KVM_TDX_INIT_VM);
	assert_int_equal(c[0].flags, 0);
	assert_int_equal(c[0].a[0], TDX_ATTR_SEPT_VE_DISABLE);
	assert_int_equal(c[0].a[1], TDX_XFAM_DEFAULT);
	uint8_t five[48];
	memset(five, 0x5c, 48);
	assert_memory_equal(c[0].mrconfigid, five, 48);
	assert_int_equal(c[0].ncpuid, 4);
	assert_int_equal(c[0].cpuid[0].function, 1);
	assert_int_equal(c[0].cpuid[0].eax, 0x5678); /* masked by the configurable bits */
	assert_int_equal(c[0].cpuid[0].edx, 0xffff);
	assert_int_equal(c[0].cpuid[1].function, 0x40000000);
	assert_int_equal(c[0].cpuid[2].function, 0x80000001);
	assert_int_equal(c[0].cpuid[2].ecx, 0xcdef);
	assert_int_equal(c[0].cpuid[3].eax, 0x303030); /* GuestPhysAddrSize 48 */

	assert_int_equal(c[1].req, KVM_SET_CPUID2);
	assert_int_equal(c[1].fd, VCPU_FD);
	assert_int_equal(c[1].ncpuid, 4);
	assert_memory_equal(&c[1].cpuid[2], &c[0].cpuid[2], sizeof(c[0].cpuid[2])); /* the same CPUID */
	assert_int_equal(c[2].fd, VCPU_FD);
	assert_int_equal(c[2].id, KVM_TDX_INIT_VCPU);
	assert_int_equal(c[2].data, 0x809000); /* RCX = TD HOB */
	assert_int_equal(c[3].id, KVM_TDX_GET_CPUID);
	assert_int_equal(c[3].fd, VCPU_FD);

	assert_int_equal(c[4].req, KVM_SET_MEMORY_ATTRIBUTES);
	assert_int_equal(c[4].fd, VM_FD);
	assert_int_equal(c[4].a[0], 0xffc00000);
	assert_int_equal(c[4].a[1], 4 * 4096);
	assert_int_equal(c[4].a[2], KVM_MEMORY_ATTRIBUTE_PRIVATE);
	assert_int_equal(c[5].fd, VCPU_FD); /* vCPU-scoped */
	assert_int_equal(c[5].id, KVM_TDX_INIT_MEM_REGION);
	assert_int_equal(c[5].flags, KVM_TDX_MEASURE_MEMORY_REGION);
	assert_int_equal(c[5].a[0], (uint64_t)(uintptr_t)SRC);
	assert_int_equal(c[5].a[1], 0xffc00000);
	assert_int_equal(c[5].a[2], 4);
	assert_int_equal(c[7].flags, 0); /* not MR.EXTEND: added, not measured */
	assert_int_equal(c[8].fd, VM_FD);
	assert_int_equal(c[8].id, KVM_TDX_FINALIZE_VM);
	assert_int_equal(c[8].data, 0);
	assert_int_equal(l.pages_added, 6);
	assert_string_equal(km.violation, "");
	/* After finalization nothing more may be added. */
	assert_int_equal(tdx_init_mem_region(&l, VCPU_FD, 0x800000, SRC, 1, false, &err), -EINVAL);
	done(&l, &caps);
}

/* Finding 8: INIT_VM is retried while the TDX module has no entropy (-EAGAIN). */
static void test_init_vm_retries_eagain(void **state)
{
	(void)state;
	struct tdx_launch l;
	struct tdx_caps caps;
	struct vg_err err = { 0 };
	caps_only(&l, &caps);
	km.init_vm_eagain = 3;
	struct tdx_td_config cfg = { .xfam = TDX_XFAM_DEFAULT, .cpuid = TD_CPUID, .ncpuid = 2 };
	assert_int_equal(tdx_init_vm(&l, &caps, &cfg, &err), 0);
	assert_int_equal(km.init_vm_calls, 4);
	assert_true(km.tdx_inited);
	done(&l, &caps);

	caps_only(&l, &caps);
	km.init_vm_eagain = 1u << 30; /* never */
	assert_int_equal(tdx_init_vm(&l, &caps, &cfg, &err), -EAGAIN);
	assert_non_null(strstr(err.msg, "no entropy"));
	assert_non_null(strstr(err.msg, "0x8000020300000000"));
	done(&l, &caps);
}

/* Finding 9: the APIC bus runs at the TDX module's 25 MHz, set before INIT_VM. */
static void test_apic_bus_cycles(void **state)
{
	(void)state;
	struct tdx_launch l;
	struct tdx_caps caps;
	caps_and_init(&l, &caps);
	assert_int_equal(km.apic_bus_ns, 40);
	assert_string_equal(km.violation, "");
	done(&l, &caps);
}

/* Finding 10: one CPUID for INIT_VM and KVM_SET_CPUID2, 0x80000008 EAX[23:16] 48,
 * cross-checked with KVM_TDX_GET_CPUID. */
static void test_td_cpuid(void **state)
{
	(void)state;
	struct tdx_launch l;
	struct tdx_caps caps;
	struct vg_err err = { 0 };
	/* Missing 0x80000008: refused before any ioctl (KVM would say -EINVAL). */
	caps_only(&l, &caps);
	R.n = 0;
	struct tdx_td_config cfg = { .xfam = TDX_XFAM_DEFAULT, .cpuid = TD_CPUID, .ncpuid = 1 };
	assert_int_equal(tdx_init_vm(&l, &caps, &cfg, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "0x80000008"));
	assert_int_equal(R.n, 0);
	/* A GuestPhysAddrSize KVM_GET_SUPPORTED_CPUID left at 0x2e is made 48. */
	cfg.ncpuid = 2;
	assert_int_equal(tdx_init_vm(&l, &caps, &cfg, &err), 0);
	assert_string_equal(km.violation, "");
	assert_int_equal(tdx_init_vcpu(&l, &caps, VCPU_FD, 3, 0x809000, &err), 0);
	/* Every vCPU gets INIT_VM's CPUID, with its APIC ID. */
	assert_int_equal(km.vcpu_ncpuid, 2);
	assert_int_equal(km.vcpu_cpuid[0].ebx >> 24, 3);
	assert_int_equal(km.vcpu_cpuid[0].ecx, km.td_cpuid[0].ecx);
	assert_int_equal(km.vcpu_cpuid[1].eax, 0x30302e);
	done(&l, &caps);

	/* The TDX module clears a configurable bit we asked for: named, and fatal. */
	caps_and_init(&l, &caps);
	km.tdx_fixed0_leaf1_ecx = 0x0004;
	assert_int_equal(tdx_init_vcpu(&l, &caps, VCPU_FD, 0, 0x809000, &err), -EIO);
	assert_non_null(strstr(err.msg, "leaf 0x1 subleaf 0x0 ECX: ours 0x00001234, TDX module 0x00001230"));
	/* Bits the module forces on are only logged. */
	km.tdx_fixed0_leaf1_ecx = 0;
	km.tdx_fixed1_leaf1_ecx = 0x0001;
	assert_int_equal(tdx_init_vcpu(&l, &caps, VCPU_FD, 0, 0x809000, &err), 0);
	done(&l, &caps);
}

/* Finding 1 (model): INIT_MEM_REGION into a slot without guest_memfd is refused. */
static void test_mem_region_needs_gmem_slot(void **state)
{
	(void)state;
	struct tdx_launch l;
	struct tdx_caps caps;
	struct vg_err err = { 0 };
	caps_and_init(&l, &caps);
	km.nslots = 0;
	km_add_slot(0, 2ull << 30, true);
	km_add_slot(0xffc00000, 4u << 20, false);
	assert_int_equal(tdx_init_mem_region(&l, VCPU_FD, 0xffc00000, SRC, 1, true, &err), -EINVAL);
	assert_non_null(strstr(km.violation, "no guest_memfd"));
	done(&l, &caps);
}

static void test_init_vm_refusals(void **state)
{
	(void)state;
	struct tdx_launch l;
	struct tdx_caps caps;
	struct vg_err err = { 0 };
	rec_reset();
	new_launch(&l);
	struct tdx_td_config cfg = { .xfam = TDX_XFAM_DEFAULT, .attributes = TDX_ATTR_PERFMON,
				     .cpuid = TD_CPUID, .ncpuid = 2 };
	assert_int_equal(tdx_init_vm(&l, &caps, &cfg, &err), -EINVAL); /* no capabilities yet */
	assert_int_equal(tdx_get_capabilities(&l, &caps, &err), 0);
	R.n = 0;
	assert_int_equal(tdx_init_vm(&l, &caps, &cfg, &err), -ENOTSUP);
	assert_non_null(strstr(err.msg, "TD attributes"));
	cfg.attributes = 0;
	cfg.xfam = 1ull << 40;
	assert_int_equal(tdx_init_vm(&l, &caps, &cfg, &err), -ENOTSUP);
	assert_non_null(strstr(err.msg, "XFAM"));
	assert_int_equal(R.n, 0);
	R.fail_rc = -EIO;
	R.hw_error = 0xc000010000000000ull;
	cfg.xfam = TDX_XFAM_DEFAULT;
	assert_int_equal(tdx_init_vm(&l, &caps, &cfg, &err), -EIO);
	assert_non_null(strstr(err.msg, "0xc000010000000000"));
	done(&l, &caps);
}

static void test_mem_region_partial_and_interrupted(void **state)
{
	(void)state;
	struct tdx_launch l;
	struct tdx_caps caps;
	struct vg_err err = { 0 };
	caps_and_init(&l, &caps);
	R.pages_per_call = 3;
	assert_int_equal(tdx_init_mem_region(&l, VCPU_FD, 0x100000, SRC, 10, true, &err), 0);
	assert_int_equal(R.n, 1 + 4);
	uint64_t left[] = { 10, 7, 4, 1 };
	for (unsigned i = 0; i < 4; i++) {
		struct km_call *c = &R.calls[1 + i];
		assert_int_equal(c->a[0], (uint64_t)(uintptr_t)SRC + (10 - left[i]) * 4096);
		assert_int_equal(c->a[1], 0x100000 + (10 - left[i]) * 4096);
		assert_int_equal(c->a[2], left[i]);
		assert_int_equal(c->flags, KVM_TDX_MEASURE_MEMORY_REGION);
	}

	/* Signals: -EINTR without and with progress, -EAGAIN likewise; all re-issued. */
	R.n = 0;
	R.mem_calls = 0;
	R.pages_per_call = 2;
	R.intr_calls = 0xf;
	assert_int_equal(tdx_init_mem_region(&l, VCPU_FD, 0x200000, SRC, 6, false, &err), 0);
	assert_int_equal(R.mem_calls, 5);
	assert_int_equal(l.pages_added, 10 + 6);

	R.fail_rc = -EIO;
	R.hw_error = 0x8000020000000000ull;
	assert_int_equal(tdx_init_mem_region(&l, VCPU_FD, 0x300000, SRC, 1, true, &err), -EIO);
	assert_non_null(strstr(err.msg, "TDX module status 0x8000020000000000"));
	R.fail_rc = 0;
	unsigned before = R.n;
	assert_int_equal(tdx_init_mem_region(&l, VCPU_FD, 0x300800, SRC, 1, true, &err), -EINVAL);
	assert_int_equal(tdx_init_mem_region(&l, VCPU_FD, 0x300000, SRC, 0, true, &err), -EINVAL);
	assert_int_equal(R.n, before);
	done(&l, &caps);
}

/* ---------------------------------------------------------------- GetQuote */

static uint8_t GUEST[3 * 4096] __attribute__((aligned(4096)));

static void *gpa_fn(void *ctx, uint64_t gpa, uint64_t len)
{
	(void)ctx;
	if (gpa < 0x10000 || gpa - 0x10000 > sizeof(GUEST) || len > sizeof(GUEST) - (gpa - 0x10000))
		return NULL;
	return GUEST + (gpa - 0x10000);
}

static int fake_quote(void *ctx, const uint8_t *rep, size_t len, uint8_t **q, size_t *qlen, struct vg_err *err)
{
	(void)ctx;
	(void)err;
	assert_int_equal(len, TDX_REPORT_SIZE);
	*q = malloc(100);
	for (int i = 0; i < 100; i++)
		(*q)[i] = (uint8_t)(rep[i] ^ 0xff);
	*qlen = 100;
	return 0;
}

static void get_quote_exit(struct kvm_run *run, uint64_t gpa, uint64_t size)
{
	memset(run, 0, sizeof(*run));
	run->exit_reason = KVM_EXIT_TDX;
	struct kvm_cc_exit_tdx *t = kvm_cc_run_exit(run);
	t->nr = KVM_CC_TDVMCALL_GET_QUOTE;
	t->get_quote.gpa = gpa;
	t->get_quote.size = size;
	t->get_quote.ret = 99;
}

static void guest_request(uint32_t in_len)
{
	memset(GUEST, 0, sizeof(GUEST));
	vg_put_le64(GUEST, 1);
	vg_put_le64(GUEST + 8, TDX_GET_QUOTE_IN_FLIGHT);
	vg_put_le32(GUEST + 16, in_len);
	for (int i = 0; i < 1024; i++)
		GUEST[24 + i] = (uint8_t)i;
}

static void test_get_quote(void **state)
{
	(void)state;
	struct vg_err err = { 0 };
	struct kvm_run run;
	struct kvm_cc_exit_tdx *t = kvm_cc_run_exit(&run);

	guest_request(1024);
	get_quote_exit(&run, 0x10000, 2 * 4096);
	assert_int_equal(tdx_handle_exit(&run, gpa_fn, NULL, fake_quote, NULL, &err), 1);
	assert_int_equal(t->get_quote.ret, 0);
	assert_int_equal(vg_le64(GUEST + 8), TDX_GET_QUOTE_SUCCESS);
	assert_int_equal(vg_le32(GUEST + 20), 100);
	assert_int_equal(GUEST[24], 0xff);
	assert_int_equal(GUEST[24 + 99], (uint8_t)(99 ^ 0xff));

	/* No quote service configured. */
	guest_request(1024);
	get_quote_exit(&run, 0x10000, 2 * 4096);
	assert_int_equal(tdx_handle_exit(&run, gpa_fn, NULL, NULL, NULL, &err), 1);
	assert_int_equal(t->get_quote.ret, 0);
	assert_int_equal(vg_le64(GUEST + 8), TDX_GET_QUOTE_SERVICE_UNAVAILABLE);

	/* Bad header: wrong in_len. */
	guest_request(1000);
	get_quote_exit(&run, 0x10000, 2 * 4096);
	assert_int_equal(tdx_handle_exit(&run, gpa_fn, NULL, fake_quote, NULL, &err), 1);
	assert_int_equal(vg_le64(GUEST + 8), TDX_GET_QUOTE_ERROR);

	/* Buffer outside guest memory or misaligned: the TDVMCALL fails. */
	get_quote_exit(&run, 0x10000 + 2 * 4096, 2 * 4096);
	assert_int_equal(tdx_handle_exit(&run, gpa_fn, NULL, fake_quote, NULL, &err), 1);
	assert_int_equal(t->get_quote.ret, KVM_CC_TDVMCALL_STATUS_INVALID_OPERAND);
	get_quote_exit(&run, 0x10010, 4096);
	assert_int_equal(tdx_handle_exit(&run, gpa_fn, NULL, fake_quote, NULL, &err), 1);
	assert_int_equal(t->get_quote.ret, KVM_CC_TDVMCALL_STATUS_INVALID_OPERAND);

	/* Quote bigger than the guest's buffer. */
	guest_request(1024);
	get_quote_exit(&run, 0x10000, 24 + 1024);
	assert_int_equal(tdx_handle_exit(&run, gpa_fn, NULL, fake_quote, NULL, &err), 1);
	assert_int_equal(vg_le64(GUEST + 8), TDX_GET_QUOTE_SUCCESS); /* 100 fits in 1024 */
	get_quote_exit(&run, 0x10000, 24 + 50);
	guest_request(1024);
	assert_int_equal(tdx_handle_exit(&run, gpa_fn, NULL, fake_quote, NULL, &err), 1);
	assert_int_equal(vg_le64(GUEST + 8), TDX_GET_QUOTE_ERROR); /* in_len > buffer */

	/* Other exits. */
	memset(&run, 0, sizeof(run));
	run.exit_reason = KVM_EXIT_TDX;
	t->nr = 0x10001; /* not served */
	assert_int_equal(tdx_handle_exit(&run, gpa_fn, NULL, NULL, NULL, &err), 1);
	assert_int_equal(t->unknown.ret, KVM_CC_TDVMCALL_STATUS_INVALID_OPERAND);
	t->nr = KVM_CC_TDVMCALL_GET_TD_VM_CALL_INFO;
	t->get_tdvmcall_info.leaf = 1;
	assert_int_equal(tdx_handle_exit(&run, gpa_fn, NULL, NULL, NULL, &err), 1);
	assert_int_equal(t->get_tdvmcall_info.ret, 0);
	assert_int_equal(t->get_tdvmcall_info.r11, 1);
	run.exit_reason = KVM_EXIT_IO;
	assert_int_equal(tdx_handle_exit(&run, gpa_fn, NULL, NULL, NULL, &err), 0);
}

/* A one-shot QGS server on a UNIX socket, speaking Intel's framing. */
struct qgs {
	int lfd;
	uint32_t got_report_size;
	uint8_t first_byte;
};

static void *qgs_thread(void *arg)
{
	struct qgs *q = arg;
	int fd = accept(q->lfd, NULL, NULL);
	uint8_t lenb[4];
	if (fd < 0 || vg_read_full(fd, lenb, 4) != 4)
		return NULL;
	uint32_t n = vg_be32(lenb);
	uint8_t *m = malloc(n);
	if (vg_read_full(fd, m, n) != (ssize_t)n)
		return NULL;
	q->got_report_size = vg_le32(m + 16);
	q->first_byte = m + 24 < m + n ? m[24] : 0;
	free(m);
	uint8_t resp[4 + 16 + 8 + 3 + 5];
	vg_put_be32(resp, sizeof(resp) - 4);
	vg_put_le16(resp + 4, 1);
	vg_put_le16(resp + 6, 1);
	vg_put_le32(resp + 8, 1); /* GET_QUOTE_RESP */
	vg_put_le32(resp + 12, sizeof(resp) - 4);
	vg_put_le32(resp + 16, 0);
	vg_put_le32(resp + 20, 3); /* selected id */
	vg_put_le32(resp + 24, 5); /* quote */
	memcpy(resp + 28, "idq", 3);
	memcpy(resp + 31, "QUOTE", 5);
	vg_write_full(fd, resp, sizeof(resp));
	close(fd);
	return NULL;
}

static void test_qgs_client(void **state)
{
	(void)state;
	char dir[] = "/tmp/vigil-qgs.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof(path), "%s/qgs.sock", dir);
	struct qgs q = { 0 };
	q.lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, path);
	assert_int_equal(bind(q.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(q.lfd, 1), 0);
	pthread_t th;
	pthread_create(&th, NULL, qgs_thread, &q);
	uint8_t rep[1024];
	memset(rep, 0x42, sizeof(rep));
	uint8_t *quote = NULL;
	size_t qlen = 0;
	struct vg_err err = { 0 };
	assert_int_equal(tdx_qgs_get_quote(path, rep, sizeof(rep), &quote, &qlen, &err), 0);
	pthread_join(th, NULL);
	assert_int_equal(q.got_report_size, 1024);
	assert_int_equal(q.first_byte, 0x42);
	assert_int_equal(qlen, 5);
	assert_memory_equal(quote, "QUOTE", 5);
	free(quote);
	close(q.lfd);
	unlink(path);
	/* No service listening: a clear error. */
	assert_int_equal(tdx_qgs_get_quote(path, rep, sizeof(rep), &quote, &qlen, &err) < 0, 1);
	assert_non_null(strstr(err.msg, "cannot reach the quote service"));
	rmdir(dir);
}

/* ------------------------------------------- GetQuote off the vCPU thread */

/* A stand-in QGS that answers every request with one real quote (Trustee's vector). */
struct qgs_real {
	int lfd;
	uint8_t *quote;
	size_t len;
	unsigned served;
};

static void *qgs_real_thread(void *arg)
{
	struct qgs_real *q = arg;
	int fd = accept(q->lfd, NULL, NULL);
	uint8_t lenb[4];
	if (fd < 0 || vg_read_full(fd, lenb, 4) != 4)
		return NULL;
	uint32_t n = vg_be32(lenb);
	uint8_t *m = malloc(n);
	if (vg_read_full(fd, m, n) != (ssize_t)n || vg_le32(m + 16) != TDX_REPORT_SIZE)
		return NULL;
	free(m);
	size_t rl = 16 + 8 + q->len;
	uint8_t *resp = calloc(1, 4 + rl);
	vg_put_be32(resp, (uint32_t)rl);
	vg_put_le16(resp + 4, 1);
	vg_put_le16(resp + 6, 1);
	vg_put_le32(resp + 8, 1); /* GET_QUOTE_RESP */
	vg_put_le32(resp + 12, (uint32_t)rl);
	vg_put_le32(resp + 20, 0);              /* no selected id */
	vg_put_le32(resp + 24, (uint32_t)q->len);
	memcpy(resp + 28, q->quote, q->len);
	vg_write_full(fd, resp, 4 + rl);
	free(resp);
	close(fd);
	q->served++;
	return NULL;
}

static int quote_filter(void *ctx, struct vg_err *err)
{
	(void)ctx;
	return vmm_seccomp_install(VMM_ROLE_QUOTE, err);
}

struct vcpu_arg {
	struct tdx_quote_service *svc;
	int rc;
	uint64_t ret;
	uint64_t status_after_exit;
};

/* A vCPU thread: its filter forbids socket/connect. It takes the GetQuote exit and
 * runs on; the worker does the rest. */
static void *vcpu_thread(void *arg)
{
	struct vcpu_arg *a = arg;
	struct vg_err err = { 0 };
	if (vmm_seccomp_install(VMM_ROLE_VCPU, &err)) {
		a->rc = -1;
		return NULL;
	}
	struct kvm_run run;
	get_quote_exit(&run, 0x10000, 2 * 4096);
	a->rc = tdx_handle_exit_async(&run, gpa_fn, NULL, a->svc, &err);
	a->ret = kvm_cc_run_exit(&run) ? ((struct kvm_cc_exit_tdx *)kvm_cc_run_exit(&run))->get_quote.ret : 99;
	a->status_after_exit = vg_le64(GUEST + 8);
	return NULL;
}

static void test_get_quote_async(void **state)
{
	(void)state;
	const char *v = getenv("VIGIL_VECTORS");
	char qpath[4096];
	snprintf(qpath, sizeof(qpath), "%s/tdx/trustee/tdx_quote_4.dat", v ? v : "../shared/vectors");
	struct qgs_real q = { 0 };
	if (access(qpath, R_OK) || vg_read_file(qpath, 1 << 20, &q.quote, &q.len, NULL)) {
		printf("SKIP: %s not found\n", qpath);
		skip();
	}
	char dir[] = "/tmp/vigil-qgs.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof(path), "%s/qgs.sock", dir);
	q.lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, path);
	assert_int_equal(bind(q.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(q.lfd, 1), 0);
	pthread_t qt, vt;
	pthread_create(&qt, NULL, qgs_real_thread, &q);

	struct vg_err err = { 0 };
	struct tdx_quote_service *svc = NULL;
	assert_int_equal(tdx_quote_service_start(tdx_qgs_get_quote, path, quote_filter, NULL, &svc, &err), 0);
	guest_request(1024);
	struct vcpu_arg a = { .svc = svc };
	pthread_create(&vt, NULL, vcpu_thread, &a);
	pthread_join(vt, NULL);
	assert_int_equal(a.rc, 1);
	assert_int_equal(a.ret, KVM_CC_TDVMCALL_STATUS_SUCCESS);
	/* The vCPU went on before the quote existed (or just as it arrived). */
	assert_true(a.status_after_exit == TDX_GET_QUOTE_IN_FLIGHT || a.status_after_exit == TDX_GET_QUOTE_SUCCESS);
	for (int i = 0; i < 5000 && tdx_quote_service_done(svc) < 1; i++)
		usleep(1000);
	assert_int_equal(tdx_quote_service_done(svc), 1);
	assert_int_equal(vg_le64(GUEST + 8), TDX_GET_QUOTE_SUCCESS);
	assert_int_equal(vg_le32(GUEST + 20), q.len);
	assert_memory_equal(GUEST + 24, q.quote, q.len);
	struct tdx_quote parsed;
	assert_int_equal(tdx_quote_parse(GUEST + 24, q.len, &parsed, &err), 0);
	assert_int_equal(parsed.version, 4);
	pthread_join(qt, NULL);
	assert_int_equal(q.served, 1);

	/* No service: SERVICE_UNAVAILABLE at once; a malformed header: ERROR. */
	struct kvm_run run;
	guest_request(1024);
	get_quote_exit(&run, 0x10000, 2 * 4096);
	assert_int_equal(tdx_handle_exit_async(&run, gpa_fn, NULL, NULL, &err), 1);
	assert_int_equal(vg_le64(GUEST + 8), TDX_GET_QUOTE_SERVICE_UNAVAILABLE);
	guest_request(1000);
	get_quote_exit(&run, 0x10000, 2 * 4096);
	assert_int_equal(tdx_handle_exit_async(&run, gpa_fn, NULL, svc, &err), 1);
	assert_int_equal(vg_le64(GUEST + 8), TDX_GET_QUOTE_ERROR);
	tdx_quote_service_stop(svc);
	free(q.quote);
	close(q.lfd);
	unlink(path);
	rmdir(dir);
}

/* A TD's MapGPA as KVM forwards it (the model: vmx/tdx.c tdx_map_gpa) and answered by
 * the conversion code the tdx platform runs on every exit (sev_cc_conversion_exit). */
static void test_map_gpa(void **state)
{
	(void)state;
	struct vg_err err = { 0 };
	struct kvm_run run;
	uint64_t ram_end = 64ull << 20;
	int krc = 0;
	rec_reset();
	memset(&run, 0, sizeof(run));
	/* Without KVM_CAP_EXIT_HYPERCALL(MAP_GPA_RANGE) the guest gets SUBFUNC_UNSUPPORTED. */
	assert_int_equal(km_tdx_map_gpa(&run, 0x1000000 | KM_TDX_SHARED_BIT, 4 << 20), 0x8000000000000003ull);
	struct kvm_enable_cap cap = { .cap = KVM_CAP_EXIT_HYPERCALL };
	cap.args[0] = 1ull << KVM_HC_MAP_GPA_RANGE;
	assert_int_equal(vg_kvm_ioctl(&IO, VM_FD, KVM_ENABLE_CAP, &cap), 0);
	assert_int_equal(vg_kvm_set_private(&IO, VM_FD, 0, ram_end, true), 0); /* RAM private at creation */

	/* 4 MiB to shared: two 2 MiB exits, the shared bit stripped, no page-size hint. */
	uint64_t st = km_tdx_map_gpa(&run, 0x1000000 | KM_TDX_SHARED_BIT, 4 << 20);
	unsigned chunks = 0;
	while (st == KM_TDVMCALL_EXIT) {
		assert_int_equal(run.exit_reason, KVM_EXIT_HYPERCALL);
		assert_int_equal(run.hypercall.nr, KVM_HC_MAP_GPA_RANGE);
		assert_int_equal(run.hypercall.args[0], 0x1000000 + chunks * (2 << 20));
		assert_int_equal(run.hypercall.args[1], 512);
		assert_int_equal(run.hypercall.args[2], KVM_MAP_GPA_RANGE_DECRYPTED);
		assert_int_equal(sev_cc_conversion_exit(&IO, VM_FD, ram_end, &run, &err), 1);
		st = km_tdx_map_gpa_complete(&run, &krc);
		assert_int_equal(krc, 0);
		chunks++;
	}
	assert_int_equal(chunks, 2);
	assert_int_equal(st, KVM_CC_TDVMCALL_STATUS_SUCCESS);
	assert_false(km_is_private(0x1000000) || km_is_private(0x13ff000));
	assert_true(km_is_private(0x1400000));

	/* Back to private: the GPA without the shared bit. */
	assert_int_equal(km_tdx_map_gpa(&run, 0x1000000, 2 << 20), KM_TDVMCALL_EXIT);
	assert_int_equal(run.hypercall.args[2], KVM_MAP_GPA_RANGE_ENCRYPTED);
	assert_int_equal(sev_cc_conversion_exit(&IO, VM_FD, ram_end, &run, &err), 1);
	assert_int_equal(km_tdx_map_gpa_complete(&run, &krc), KVM_CC_TDVMCALL_STATUS_SUCCESS);
	assert_true(km_is_private(0x1000000) && km_is_private(0x11ff000));

	/* Refused by KVM before any exit: across the shared bit, past GPAW, unaligned. */
	assert_int_equal(km_tdx_map_gpa(&run, KM_TDX_SHARED_BIT - 4096, 8192), KVM_CC_TDVMCALL_STATUS_INVALID_OPERAND);
	assert_int_equal(km_tdx_map_gpa(&run, 1ull << 48, 4096), KVM_CC_TDVMCALL_STATUS_INVALID_OPERAND);
	assert_int_equal(km_tdx_map_gpa(&run, 0x1000800, 4096), 0x8000000000000002ull);

	/* Past guest RAM: vigil-vmm answers EINVAL, the guest gets INVALID_OPERAND. */
	assert_int_equal(km_tdx_map_gpa(&run, (ram_end + (2 << 20)) | KM_TDX_SHARED_BIT, 2 << 20), KM_TDVMCALL_EXIT);
	assert_int_equal(sev_cc_conversion_exit(&IO, VM_FD, ram_end, &run, &err), 1);
	assert_int_equal(run.hypercall.ret, EINVAL);
	assert_int_equal(km_tdx_map_gpa_complete(&run, &krc), KVM_CC_TDVMCALL_STATUS_INVALID_OPERAND);
	assert_int_equal(krc, 0);
	assert_string_equal(km.violation, "");

	/* A VMM answering anything but 0, EINVAL or EAGAIN makes KVM_RUN fail. */
	assert_int_equal(km_tdx_map_gpa(&run, 0x1000000 | KM_TDX_SHARED_BIT, 4096), KM_TDVMCALL_EXIT);
	run.hypercall.ret = (uint64_t)-EINVAL;
	km_tdx_map_gpa_complete(&run, &krc);
	assert_int_equal(krc, -EINVAL);
	assert_non_null(strstr(km.violation, "hypercall.ret"));
}

static void test_hob(void **state)
{
	(void)state;
	uint8_t buf[4096];
	size_t len = 0;
	struct vg_err err = { 0 };
	struct tdx_hob_range r[] = {
		{ 0x0, 0x800000, TDX_HOB_RAM_UNACCEPTED },
		{ 0x800000, 0x10000, TDX_HOB_RAM_ACCEPTED },
		{ 0x810000, 0x7f7f0000, TDX_HOB_RAM_UNACCEPTED },
		{ 0xfec00000, 0x1000, TDX_HOB_MMIO },
	};
	assert_int_equal(tdx_hob_build(0x809000, r, 4, buf, sizeof(buf), &len, &err), 0);
	assert_int_equal(len, 56 + 4 * 48 + 8);
	assert_int_equal(vg_le16(buf), 1);      /* PHIT */
	assert_int_equal(vg_le16(buf + 2), 56);
	assert_int_equal(vg_le32(buf + 8), 9);  /* EFI_HOB_HANDOFF_TABLE_VERSION */
	assert_int_equal(vg_le64(buf + 48), 0x809000 + len - 8); /* EfiEndOfHobList */
	const uint8_t *d = buf + 56;
	assert_int_equal(vg_le16(d), 3);
	assert_int_equal(vg_le16(d + 2), 48);
	assert_int_equal(vg_le32(d + 24), 7);   /* EFI_RESOURCE_MEMORY_UNACCEPTED */
	assert_int_equal(vg_le32(d + 28), 7);   /* present | initialized | tested */
	assert_int_equal(vg_le64(d + 40), 0x800000);
	assert_int_equal(vg_le32(d + 48 + 24), 0); /* system memory */
	assert_int_equal(vg_le64(d + 48 + 32), 0x800000);
	assert_int_equal(vg_le32(d + 3 * 48 + 24), 1); /* MMIO */
	assert_int_equal(vg_le32(d + 3 * 48 + 28), 0x403);
	assert_int_equal(vg_le16(buf + len - 8), 0xffff);
	assert_int_equal(vg_le16(buf + len - 6), 8);

	r[1].start = 0x7ff000; /* overlaps range 0 */
	assert_int_equal(tdx_hob_build(0, r, 4, buf, sizeof(buf), &len, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "overlap"));
	r[1].start = 0x800000;
	assert_int_equal(tdx_hob_build(0, r, 4, buf, 100, &len, &err), -ENOSPC);
	r[1].len = 0x10;
	assert_int_equal(tdx_hob_build(0, r, 4, buf, sizeof(buf), &len, &err), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe),
		cmocka_unit_test(test_full_launch_order_and_arguments),
		cmocka_unit_test(test_init_vm_refusals),
		cmocka_unit_test(test_init_vm_retries_eagain),
		cmocka_unit_test(test_apic_bus_cycles),
		cmocka_unit_test(test_td_cpuid),
		cmocka_unit_test(test_mem_region_needs_gmem_slot),
		cmocka_unit_test(test_mem_region_partial_and_interrupted),
		cmocka_unit_test(test_get_quote),
		cmocka_unit_test(test_qgs_client),
		cmocka_unit_test(test_get_quote_async),
		cmocka_unit_test(test_map_gpa),
		cmocka_unit_test(test_hob),
	};
	return cmocka_run_group_tests_name("tdx_launch (protocol tests)", tests, NULL, NULL);
}
