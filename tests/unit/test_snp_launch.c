/*
 * Protocol tests for the SEV-SNP backend (sev/launch_snp.c) against a model of KVM's
 * documented checks (tests/unit/kvm_model.c: memslots and guest_memfd, memory
 * attributes, snp_launch_start's policy mask, snp_launch_update, the firmware's CPUID
 * check, page-state changes, hypercall completion, memory-fault exits), which also
 * logs every ioctl so order and arguments are checked against
 * Documentation/virt/kvm/x86/amd-memory-encryption.rst. Not run on SNP hardware.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/linux_kvm_cc.h"
#include "sev/sev.h"

#include "tests/unit/kvm_model.h"

/* The KVM model (tests/unit/kvm_model.c) stands in for /dev/kvm and the VM fd. */
#define KVM_FD KM_KVM_FD
#define VM_FD KM_VM_FD
#define SEV_FD KM_SEV_FD
#define R km
#define IO km_io
static uint8_t PAGES[16 * 4096] __attribute__((aligned(4096)));

static void rec_reset(void) { km_reset(); }

static void started(struct sev_snp_launch *l)
{
	rec_reset();
	struct vg_err err = { 0 };
	assert_int_equal(km_snp_start(l, &err), 0);
	R.n = 0;
}

static void test_probe_refuses_host_without_snp(void **state)
{
	(void)state;
	struct sev_snp_launch l;
	rec_reset();
	R.vm_types = 0x1; /* only KVM_X86_DEFAULT_VM, like this machine */
	sev_snp_launch_init(&l, &IO);
	l.kvm_fd = KVM_FD;
	struct vg_err err = { 0 };
	assert_int_equal(sev_snp_probe(&l, &err), -ENOTSUP);
	assert_non_null(strstr(err.msg, "KVM_CAP_VM_TYPES mask is 0x1"));
	assert_non_null(strstr(err.msg, "KVM_X86_SNP_VM"));
	assert_int_equal(R.calls[0].req, KVM_CHECK_EXTENSION);
	assert_int_equal(R.calls[0].a[0], KVM_CAP_VM_TYPES);
	assert_int_equal(R.calls[0].fd, KVM_FD);

	rec_reset();
	R.vmsa_features = 0x4; /* DebugSwap only */
	sev_snp_launch_init(&l, &IO);
	l.kvm_fd = KVM_FD;
	l.guest_features = 0x1 | 0x20;
	assert_int_equal(sev_snp_probe(&l, &err), -ENOTSUP);
	assert_non_null(strstr(err.msg, "bits 0x20 not supported"));

	rec_reset();
	R.hc_mask = 0;
	sev_snp_launch_init(&l, &IO);
	l.kvm_fd = KVM_FD;
	assert_int_equal(sev_snp_probe(&l, &err), -ENOTSUP);
	assert_non_null(strstr(err.msg, "KVM_HC_MAP_GPA_RANGE"));

	rec_reset();
	R.mem_attrs = 0;
	sev_snp_launch_init(&l, &IO);
	l.kvm_fd = KVM_FD;
	assert_int_equal(sev_snp_probe(&l, &err), -ENOTSUP);
	assert_non_null(strstr(err.msg, "private"));
}

static void test_policy_checks(void **state)
{
	(void)state;
	struct vg_err err = { 0 };
	assert_int_equal(sev_snp_policy_check(SEV_SNP_POLICY_VIGIL_DEFAULT, &err), 0);
	assert_int_equal(sev_snp_policy_check(SEV_SNP_POLICY_VIGIL_DEFAULT | SEV_SNP_POLICY_DEBUG, &err), 0);
	assert_int_equal(sev_snp_policy_check(SEV_SNP_POLICY_SMT, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "bit 17"));
	assert_int_equal(sev_snp_policy_check(SEV_SNP_POLICY_VIGIL_DEFAULT | SEV_SNP_POLICY_SINGLE_SOCKET, &err),
			 -EINVAL);
	assert_int_equal(sev_snp_policy_check(SEV_SNP_POLICY_VIGIL_DEFAULT | (1ull << 40), &err), -EINVAL);
	/* Finding 7: MIGRATE_MA is outside SNP_POLICY_MASK_VALID; SMT is not required. */
	assert_int_equal(sev_snp_policy_check(SEV_SNP_POLICY_VIGIL_DEFAULT | SEV_SNP_POLICY_MIGRATE_MA, &err),
			 -EINVAL);
	assert_non_null(strstr(err.msg, "MIGRATE_MA"));
	assert_int_equal(sev_snp_policy_check(SEV_SNP_POLICY_RESERVED1, &err), 0);
}

/* Finding 7: our policy check agrees with KVM's snp_launch_start (the model) on every
 * policy bit, alone and with the defaults: what we accept, KVM accepts, and back. */
static void test_policy_as_kvm(void **state)
{
	(void)state;
	struct vg_err err = { 0 };
	for (int newer = 0; newer < 2; newer++) {
		for (int bit = -1; bit < 64; bit++) {
			uint64_t pol = SEV_SNP_POLICY_RESERVED1 | (newer ? 0 : SEV_SNP_POLICY_SMT);
			if (bit >= 0)
				pol ^= 1ull << bit;
			struct sev_snp_launch l;
			km_reset();
			sev_snp_launch_init(&l, &IO);
			l.kvm_fd = KVM_FD;
			l.vm_fd = VM_FD;
			l.sev_fd = SEV_FD;
			l.policy = pol;
			assert_int_equal(sev_snp_probe(&l, &err), 0);
			bool ours = sev_snp_policy_check(pol, &err) == 0;
			bool kvm = false;
			if (ours) {
				assert_int_equal(sev_snp_init(&l, &err), 0);
				kvm = sev_snp_launch_start(&l, &err) == 0;
			} else {
				/* what KVM would have said: issue LAUNCH_START directly */
				struct kvm_sev_init init = { 0 };
				struct kvm_sev_cmd c = { .id = KVM_SEV_INIT2, .data = (uintptr_t)&init };
				assert_int_equal(km_io.fn(km_io.ctx, VM_FD, KVM_MEMORY_ENCRYPT_OP, &c), 0);
				struct kvm_sev_snp_launch_start st = { .policy = pol };
				c = (struct kvm_sev_cmd){ .id = KVM_SEV_SNP_LAUNCH_START, .data = (uintptr_t)&st };
				kvm = km_io.fn(km_io.ctx, VM_FD, KVM_MEMORY_ENCRYPT_OP, &c) == 0;
			}
			if (ours != kvm)
				fail_msg("policy 0x%llx: ours %s, KVM %s", (unsigned long long)pol,
					 ours ? "accepts" : "refuses", kvm ? "accepts" : "refuses");
		}
	}
	/* Linux 6.11 still refuses a policy without SMT: the error says so. */
	struct sev_snp_launch l;
	km_reset();
	km.snp_require_smt = true;
	sev_snp_launch_init(&l, &IO);
	l.kvm_fd = KVM_FD;
	l.vm_fd = VM_FD;
	l.sev_fd = SEV_FD;
	l.policy = SEV_SNP_POLICY_RESERVED1;
	assert_int_equal(sev_snp_probe(&l, &err), 0);
	assert_int_equal(sev_snp_init(&l, &err), 0);
	assert_int_equal(sev_snp_launch_start(&l, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "without SMT"));
}

/* The whole launch, call for call. */
static void test_full_launch_order_and_arguments(void **state)
{
	(void)state;
	struct sev_snp_launch l;
	rec_reset();
	sev_snp_launch_init(&l, &IO);
	l.kvm_fd = KVM_FD;
	l.vm_fd = VM_FD;
	l.sev_fd = SEV_FD;
	l.guest_features = 0x1 | 0x4; /* SNPActive + DebugSwap */
	struct vg_err err = { 0 };
	assert_int_equal(sev_snp_probe(&l, &err), 0);
	unsigned probe_calls = R.n;
	for (unsigned i = 0; i < probe_calls; i++)
		assert_int_equal(R.calls[i].fd, KVM_FD); /* probing touches /dev/kvm only */
	assert_int_equal(R.calls[probe_calls - 1].req, KVM_GET_DEVICE_ATTR);
	assert_int_equal(R.calls[probe_calls - 1].a[0], KVM_X86_GRP_SEV);
	assert_int_equal(R.calls[probe_calls - 1].a[1], KVM_X86_SEV_VMSA_FEATURES);
	R.n = 0;

	assert_int_equal(sev_snp_init(&l, &err), 0);
	assert_int_equal(sev_snp_launch_start(&l, &err), 0);
	assert_int_equal(sev_snp_launch_update(&l, 0xffc00000, PAGES, 4 * 4096, SEV_SNP_PAGE_NORMAL, &err), 0);
	assert_int_equal(sev_snp_launch_update(&l, 0x800000, PAGES, 2 * 4096, SEV_SNP_PAGE_ZERO, &err), 0);
	assert_int_equal(sev_snp_launch_update(&l, 0x802000, PAGES, 4096, SEV_SNP_PAGE_SECRETS, &err), 0);
	static uint8_t cpuid_page[4096] __attribute__((aligned(4096)));
	struct kvm_cpuid_entry2 set[2] = { { .function = 0, .eax = 0xd }, { .function = 1, .eax = 0xa00f11 } };
	assert_int_equal(sev_snp_cpuid_page_fill(set, 2, cpuid_page, &err), 0);
	assert_int_equal(sev_snp_launch_update(&l, 0x803000, cpuid_page, 4096, SEV_SNP_PAGE_CPUID, &err), 0);
	uint8_t hd[32];
	for (int i = 0; i < 32; i++)
		hd[i] = (uint8_t)(0xa0 + i);
	assert_int_equal(sev_snp_launch_finish(&l, hd, NULL, NULL, false, &err), 0);

	/* INIT2, ENABLE_CAP, LAUNCH_START, then (attributes, update) x4, FINISH. */
	assert_int_equal(R.n, 3 + 4 * 2 + 1);
	struct km_call *c = R.calls;
	assert_int_equal(c[0].fd, VM_FD);
	assert_int_equal(c[0].id, KVM_SEV_INIT2);
	assert_int_equal(c[0].sev_fd, SEV_FD);
	assert_int_equal(c[0].a[0], 0x4); /* vmsa_features without SNPActive */
	assert_int_equal(c[0].a[1], 0);
	assert_int_equal(c[0].a[2], 0);
	assert_int_equal(c[1].req, KVM_ENABLE_CAP);
	assert_int_equal(c[1].a[0], KVM_CAP_EXIT_HYPERCALL);
	assert_int_equal(c[1].a[1], 1ull << KVM_HC_MAP_GPA_RANGE);
	assert_int_equal(c[2].id, KVM_SEV_SNP_LAUNCH_START);
	assert_int_equal(c[2].a[0], 0x30000); /* SMT + reserved-1; debug and MA off */
	assert_int_equal(c[2].a[1], 0);
	static const struct {
		uint64_t gpa, len;
		uint8_t type;
	} want[] = {
		{ 0xffc00000, 4 * 4096, KVM_SEV_SNP_PAGE_TYPE_NORMAL },
		{ 0x800000, 2 * 4096, KVM_SEV_SNP_PAGE_TYPE_ZERO },
		{ 0x802000, 4096, KVM_SEV_SNP_PAGE_TYPE_SECRETS },
		{ 0x803000, 4096, KVM_SEV_SNP_PAGE_TYPE_CPUID },
	};
	for (unsigned i = 0; i < 4; i++) {
		struct km_call *a = &c[3 + 2 * i], *u = &c[4 + 2 * i];
		assert_int_equal(a->req, KVM_SET_MEMORY_ATTRIBUTES);
		assert_int_equal(a->a[0], want[i].gpa);
		assert_int_equal(a->a[1], want[i].len);
		assert_int_equal(a->a[2], KVM_MEMORY_ATTRIBUTE_PRIVATE);
		assert_int_equal(a->a[3], 0);
		assert_int_equal(u->id, KVM_SEV_SNP_LAUNCH_UPDATE);
		assert_int_equal(u->a[0], want[i].gpa >> 12);
		if (i < 3)
			assert_int_equal(u->a[1], (uint64_t)(uintptr_t)PAGES);
		assert_int_equal(u->a[2], want[i].len);
		assert_int_equal(u->type, want[i].type);
	}
	struct km_call *f = &c[11];
	assert_int_equal(f->id, KVM_SEV_SNP_LAUNCH_FINISH);
	assert_int_equal(f->a[0], 0);
	assert_int_equal(f->a[1], 0);
	assert_int_equal(f->a[2], 0); /* no ID block, no author key, VCEK */
	assert_memory_equal(f->host_data, hd, 32);
	assert_int_equal(l.pages_updated, 8);
	assert_string_equal(km.violation, "");
}

/* KVM may process only part of the range per call: the caller re-issues with the
 * remaining range as KVM left it in the struct. */
static void test_update_partial_progress(void **state)
{
	(void)state;
	struct sev_snp_launch l;
	started(&l);
	R.pages_per_call = 3;
	struct vg_err err = { 0 };
	assert_int_equal(sev_snp_launch_update(&l, 0x100000, PAGES, 10 * 4096, SEV_SNP_PAGE_NORMAL, &err), 0);
	/* attributes, then 4 updates: 10 -> 7 -> 4 -> 1 -> 0 pages */
	assert_int_equal(R.n, 5);
	uint64_t left[] = { 10, 7, 4, 1 };
	for (unsigned i = 0; i < 4; i++) {
		struct km_call *u = &R.calls[1 + i];
		assert_int_equal(u->id, KVM_SEV_SNP_LAUNCH_UPDATE);
		assert_int_equal(u->a[0], (0x100000 >> 12) + (10 - left[i]));
		assert_int_equal(u->a[1], (uint64_t)(uintptr_t)PAGES + (10 - left[i]) * 4096);
		assert_int_equal(u->a[2], left[i] * 4096);
	}
	assert_int_equal(l.pages_updated, 10);

	/* ZERO pages: KVM leaves uaddr alone; the loop must still finish. */
	started(&l);
	R.pages_per_call = 2;
	assert_int_equal(sev_snp_launch_update(&l, 0x200000, PAGES, 5 * 4096, SEV_SNP_PAGE_ZERO, &err), 0);
	assert_int_equal(R.n, 1 + 3);
	assert_int_equal(R.calls[3].a[1], (uint64_t)(uintptr_t)PAGES);
	assert_int_equal(R.calls[3].a[0], (0x200000 >> 12) + 4);
}

/* -EAGAIN (signal pending) with or without progress: re-issue, never give up early. */
static void test_update_eagain(void **state)
{
	(void)state;
	struct sev_snp_launch l;
	started(&l);
	R.pages_per_call = 2;
	R.eagain_calls = 0x0f; /* calls 0..3: -EAGAIN, even ones without progress */
	struct vg_err err = { 0 };
	assert_int_equal(sev_snp_launch_update(&l, 0x100000, PAGES, 6 * 4096, SEV_SNP_PAGE_NORMAL, &err), 0);
	/* call0 EAGAIN 0 pages, call1 EAGAIN 2, call2 EAGAIN 0, call3 EAGAIN 2, call4 ok 2 */
	assert_int_equal(R.update_calls, 5);
	assert_int_equal(l.pages_updated, 6);
	assert_int_equal(R.calls[R.n - 1].a[2], 2 * 4096);

	/* -EAGAIN on the very call that finishes the range: len is 0, the range is done;
	 * no further call (KVM refuses a zero length). */
	started(&l);
	R.eagain_calls = 0x2; /* call 1 */
	R.pages_per_call = 3;
	assert_int_equal(sev_snp_launch_update(&l, 0x100000, PAGES, 6 * 4096, SEV_SNP_PAGE_NORMAL, &err), 0);
	assert_int_equal(R.update_calls, 2);
	assert_int_equal(R.calls[R.n - 1].a[2], 3 * 4096);
	assert_int_equal(l.pages_updated, 6);
}

static void test_update_errors(void **state)
{
	(void)state;
	struct sev_snp_launch l;
	struct vg_err err = { 0 };
	started(&l);
	R.fail_update_rc = -EIO;
	R.fw_error = 0x16;
	assert_int_equal(sev_snp_launch_update(&l, 0x100000, PAGES, 4096, SEV_SNP_PAGE_NORMAL, &err), -EIO);
	assert_non_null(strstr(err.msg, "firmware error 0x16"));
	assert_int_equal(l.fw_error, 0x16);

	started(&l);
	R.fail_update_rc = -EIO;
	R.fw_error = 0x16;
	assert_int_equal(sev_snp_launch_update(&l, 0x100000, PAGES, 4096, SEV_SNP_PAGE_CPUID, &err), -EIO);
	assert_non_null(strstr(err.msg, "rejected the CPUID page"));

	started(&l);
	R.no_progress = true;
	assert_int_equal(sev_snp_launch_update(&l, 0x100000, PAGES, 4096, SEV_SNP_PAGE_NORMAL, &err), -EIO);
	assert_non_null(strstr(err.msg, "no progress"));

	started(&l);
	unsigned before = R.n;
	assert_int_equal(sev_snp_launch_update(&l, 0x100800, PAGES, 4096, SEV_SNP_PAGE_NORMAL, &err), -EINVAL);
	assert_int_equal(sev_snp_launch_update(&l, 0x100000, PAGES, 4096, SEV_SNP_PAGE_VMSA, &err), -EINVAL);
	assert_int_equal(sev_snp_launch_update(&l, 0x100000, PAGES, 0, SEV_SNP_PAGE_NORMAL, &err), -EINVAL);
	assert_int_equal(R.n, before); /* refused before any ioctl */
}

static void test_order_enforced(void **state)
{
	(void)state;
	struct sev_snp_launch l;
	struct vg_err err = { 0 };
	rec_reset();
	sev_snp_launch_init(&l, &IO);
	l.vm_fd = VM_FD;
	l.sev_fd = SEV_FD;
	assert_int_equal(sev_snp_launch_start(&l, &err), -EINVAL);
	assert_int_equal(sev_snp_launch_update(&l, 0, PAGES, 4096, SEV_SNP_PAGE_NORMAL, &err), -EINVAL);
	assert_int_equal(sev_snp_launch_finish(&l, NULL, NULL, NULL, false, &err), -EINVAL);
	assert_int_equal(R.n, 0);
	l.policy = SEV_SNP_POLICY_SMT; /* missing the must-be-one bit: refused before INIT2 */
	assert_int_equal(sev_snp_init(&l, &err), -EINVAL);
	assert_int_equal(R.n, 0);
}

static void test_finish_id_block(void **state)
{
	(void)state;
	struct sev_snp_launch l;
	struct vg_err err = { 0 };
	static uint8_t idb[96], ida[4096];
	started(&l);
	assert_int_equal(sev_snp_launch_finish(&l, NULL, idb, NULL, false, &err), -EINVAL);
	assert_int_equal(sev_snp_launch_finish(&l, NULL, NULL, NULL, true, &err), -EINVAL);
	assert_int_equal(R.n, 0);
	assert_int_equal(sev_snp_launch_finish(&l, NULL, idb, ida, true, &err), 0);
	assert_int_equal(R.n, 1);
	assert_int_equal(R.calls[0].a[0], (uint64_t)(uintptr_t)idb);
	assert_int_equal(R.calls[0].a[1], (uint64_t)(uintptr_t)ida);
	assert_int_equal(R.calls[0].a[2], 0x101); /* id_block_en, auth_key_en */
	uint8_t zero[32] = { 0 };
	assert_memory_equal(R.calls[0].host_data, zero, 32);
}

static void test_conversion_exits(void **state)
{
	(void)state;
	struct vg_err err = { 0 };
	struct kvm_run run;
	uint64_t ram_end = 1ull << 30;

	km_reset();
	memset(&run, 0, sizeof(run));
	run.exit_reason = KVM_EXIT_HYPERCALL;
	run.hypercall.nr = KVM_HC_MAP_GPA_RANGE;
	run.hypercall.args[0] = 0x200000;
	run.hypercall.args[1] = 16;
	run.hypercall.args[2] = KVM_MAP_GPA_RANGE_DECRYPTED;
	run.hypercall.ret = 77;
	assert_int_equal(sev_cc_conversion_exit(&IO, VM_FD, ram_end, &run, &err), 1);
	assert_int_equal(run.hypercall.ret, 0);
	assert_int_equal(km_complete_hypercall(&run), 0);
	assert_int_equal(R.n, 1);
	assert_int_equal(R.calls[0].fd, VM_FD);
	assert_int_equal(R.calls[0].req, KVM_SET_MEMORY_ATTRIBUTES);
	assert_int_equal(R.calls[0].a[0], 0x200000);
	assert_int_equal(R.calls[0].a[1], 16 * 4096);
	assert_int_equal(R.calls[0].a[2], 0); /* shared */

	run.hypercall.args[2] = KVM_MAP_GPA_RANGE_ENCRYPTED;
	assert_int_equal(sev_cc_conversion_exit(&IO, VM_FD, ram_end, &run, &err), 1);
	assert_int_equal(R.calls[1].a[2], KVM_MEMORY_ATTRIBUTE_PRIVATE);
	assert_true(km_is_private(0x200000) && km_is_private(0x20f000));

	/* A range past RAM or misaligned is the guest's error: EINVAL (positive, finding
	 * 11: KVM fails KVM_RUN on anything but 0, EINVAL, EAGAIN), no ioctl. */
	run.hypercall.args[0] = ram_end - 4096;
	run.hypercall.args[1] = 2;
	assert_int_equal(sev_cc_conversion_exit(&IO, VM_FD, ram_end, &run, &err), 1);
	assert_int_equal(run.hypercall.ret, EINVAL);
	assert_int_equal(km_complete_hypercall(&run), 0);
	run.hypercall.args[0] = 0x200800;
	run.hypercall.args[1] = 1;
	assert_int_equal(sev_cc_conversion_exit(&IO, VM_FD, ram_end, &run, &err), 1);
	assert_int_equal(run.hypercall.ret, EINVAL);
	assert_int_equal(km_complete_hypercall(&run), 0);
	assert_int_equal(R.n, 2);

	/* Other hypercalls are not ours. */
	run.hypercall.nr = KVM_HC_KICK_CPU;
	assert_int_equal(sev_cc_conversion_exit(&IO, VM_FD, ram_end, &run, &err), 0);
	assert_string_equal(km.violation, "");
}

/* Finding 4: 2 MiB page-state changes, as KVM forwards them (snp_begin_psc). */
static void test_psc_2m(void **state)
{
	(void)state;
	struct vg_err err = { 0 };
	struct kvm_run run;
	uint64_t ram_end = 1ull << 30;
	km_reset();
	km_psc_exit(&run, 0x400000, true, true);
	assert_int_equal(sev_cc_conversion_exit(&IO, VM_FD, ram_end, &run, &err), 1);
	assert_int_equal(run.hypercall.ret, 0);
	assert_int_equal(km_complete_hypercall(&run), 0);
	assert_true(km_is_private(0x400000));
	assert_true(km_is_private(0x5ff000));
	assert_false(km_is_private(0x600000));
	km_psc_exit(&run, 0x400000, true, false);
	assert_int_equal(sev_cc_conversion_exit(&IO, VM_FD, ram_end, &run, &err), 1);
	assert_int_equal(run.hypercall.ret, 0);
	assert_false(km_is_private(0x5ff000));
	/* 4K entries still work; a 2M hint on an unaligned range is the guest's error. */
	km_psc_exit(&run, 0x401000, false, true);
	assert_int_equal(sev_cc_conversion_exit(&IO, VM_FD, ram_end, &run, &err), 1);
	assert_int_equal(run.hypercall.ret, 0);
	assert_true(km_is_private(0x401000));
	km_psc_exit(&run, 0x400000, true, true);
	run.hypercall.args[0] = 0x401000;
	assert_int_equal(sev_cc_conversion_exit(&IO, VM_FD, ram_end, &run, &err), 1);
	assert_int_equal(run.hypercall.ret, EINVAL);
	assert_int_equal(km_complete_hypercall(&run), 0);
	/* 1 GiB hint, aligned */
	km_psc_exit(&run, 0, false, true);
	run.hypercall.args[1] = 1u << 18;
	run.hypercall.args[2] = KVM_MAP_GPA_RANGE_ENCRYPTED | KVM_MAP_GPA_RANGE_PAGE_SZ_1G;
	assert_int_equal(sev_cc_conversion_exit(&IO, VM_FD, ram_end, &run, &err), 1);
	assert_int_equal(run.hypercall.ret, 0);
	assert_true(km_is_private(0x3ffff000));
	assert_string_equal(km.violation, "");
}

/* Finding 2: KVM_EXIT_MEMORY_FAULT comes with KVM_RUN = -1/EFAULT; it is an exit to
 * handle, not a failure, and converting the page lets the access through. */
static void test_memory_fault_exit(void **state)
{
	(void)state;
	struct vg_err err = { 0 };
	struct kvm_run run;
	uint64_t ram_end = 1ull << 30;
	km_reset();
	memset(&run, 0, sizeof(run));
	int rc = km_guest_access(0x300000, true, &run); /* private access, page shared */
	assert_int_equal(rc, -EFAULT);
	assert_int_equal(vg_kvm_run_result(-1, EFAULT, &run), VG_KVM_RUN_EXIT);
	assert_int_equal(sev_cc_conversion_exit(&IO, VM_FD, ram_end, &run, &err), 1);
	assert_int_equal(R.calls[0].a[0], 0x300000);
	assert_int_equal(R.calls[0].a[1], 4096);
	assert_int_equal(R.calls[0].a[2], KVM_MEMORY_ATTRIBUTE_PRIVATE);
	assert_int_equal(km_guest_access(0x300000, true, &run), 0);
	/* and back: a shared access to the now-private page */
	assert_int_equal(km_guest_access(0x300000, false, &run), -EFAULT);
	assert_int_equal(sev_cc_conversion_exit(&IO, VM_FD, ram_end, &run, &err), 1);
	assert_int_equal(km_guest_access(0x300000, false, &run), 0);
	/* Other errors leave exit_reason stale: a real failure. EINTR: run again. */
	run.exit_reason = KVM_EXIT_MEMORY_FAULT;
	assert_int_equal(vg_kvm_run_result(-1, EIO, &run), VG_KVM_RUN_FAILED);
	assert_int_equal(vg_kvm_run_result(-1, EINTR, &run), VG_KVM_RUN_AGAIN);
	run.exit_reason = KVM_EXIT_IO;
	assert_int_equal(vg_kvm_run_result(-1, EFAULT, &run), VG_KVM_RUN_FAILED);
	/* Outside RAM: a host-side error. */
	struct kvm_cc_exit_memory_fault *mf = kvm_cc_run_exit(&run);
	run.exit_reason = KVM_EXIT_MEMORY_FAULT;
	mf->flags = 0;
	mf->gpa = ram_end;
	mf->size = 4096;
	assert_int_equal(sev_cc_conversion_exit(&IO, VM_FD, ram_end, &run, &err), -EINVAL);
}

/* Finding 1 (model): LAUNCH_UPDATE on a slot without guest_memfd is refused by KVM
 * (snp_launch_update / kvm_gmem_populate), and so is a range not yet private. */
static void test_update_needs_private_gmem_slot(void **state)
{
	(void)state;
	struct sev_snp_launch l;
	struct vg_err err = { 0 };
	started(&l);
	km.nslots = 0;
	km_add_slot(0, 2ull << 30, true);
	km_add_slot(0xffc00000, 4u << 20, false); /* firmware mapped without guest_memfd */
	assert_int_equal(sev_snp_launch_update(&l, 0xffc00000, PAGES, 4096, SEV_SNP_PAGE_NORMAL, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "guest_memfd"));
	assert_non_null(strstr(km.violation, "no guest_memfd"));
	km.violation[0] = 0;
	assert_int_equal(sev_snp_launch_update(&l, 0x100000, PAGES, 4096, SEV_SNP_PAGE_NORMAL, &err), 0);
	assert_string_equal(km.violation, "");
}

/* Finding 5: the CPUID page is filled from the vCPU CPUID set as QEMU's
 * sev_snp_cpuid_info_fill does; a rejection names what the firmware corrected. */
static void test_cpuid_page(void **state)
{
	(void)state;
	struct vg_err err = { 0 };
	static uint8_t page[4096] __attribute__((aligned(4096)));
	struct kvm_cpuid_entry2 set[4];
	memset(set, 0, sizeof(set));
	set[0] = (struct kvm_cpuid_entry2){ .function = 0, .eax = 0x10, .ebx = 0x68747541 };
	set[1] = (struct kvm_cpuid_entry2){ .function = 7, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
					    .ebx = 0xf1bf07ab };
	set[2] = (struct kvm_cpuid_entry2){ .function = 0xd, .index = 1, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
					    .eax = 0xf, .ebx = 0x988 };
	set[3] = (struct kvm_cpuid_entry2){ .function = 0x80000008, .index = 3, .eax = 0x3030 }; /* index ignored */
	assert_int_equal(sev_snp_cpuid_page_fill(set, 4, page, &err), 0);
	struct sev_snp_cpuid_page t;
	memcpy(&t, page, sizeof(t));
	assert_int_equal(t.count, 4);
	assert_int_equal(t.fn[0].eax_in, 0);
	assert_int_equal(t.fn[0].ebx, 0x68747541);
	assert_int_equal(t.fn[1].eax_in, 7);
	assert_int_equal(t.fn[1].ebx, 0xf1bf07ab);
	assert_int_equal(t.fn[2].ecx_in, 1);
	assert_int_equal(t.fn[2].ebx, 0x240); /* XSAVE size for XCR0 = 1 */
	assert_int_equal(t.fn[2].xcr0_in, 1);
	assert_int_equal(t.fn[2].eax, 0xf);
	assert_int_equal(t.fn[3].ecx_in, 0);
	struct kvm_cpuid_entry2 many[70];
	memset(many, 0, sizeof(many));
	assert_int_equal(sev_snp_cpuid_page_fill(many, 70, page, &err), 0); /* all zero: left out */
	memcpy(&t, page, sizeof(t));
	assert_int_equal(t.count, 0);
	for (int i = 0; i < 70; i++)
		many[i].eax = 1;
	assert_int_equal(sev_snp_cpuid_page_fill(many, 70, page, &err), -E2BIG);

	/* The firmware refuses leaf 7 EBX as given and writes its value back. */
	struct sev_snp_launch l;
	started(&l);
	km.fw_cpuid[0] = (struct km_fw_cpuid_rule){ 7, 0, 1, 0xf1bf03ab };
	km.n_fw_cpuid = 1;
	assert_int_equal(sev_snp_cpuid_page_fill(set, 4, page, &err), 0);
	assert_int_equal(sev_snp_launch_update(&l, 0x803000, page, 4096, SEV_SNP_PAGE_CPUID, &err), -EIO);
	assert_non_null(strstr(err.msg, "rejected the CPUID page"));
	assert_non_null(strstr(err.msg, "leaf 0x7 subleaf 0x0 EBX: ours 0xf1bf07ab firmware 0xf1bf03ab"));
	/* An empty page is what a Linux guest cannot boot with: the model says so. */
	started(&l);
	memset(page, 0, sizeof(page));
	assert_int_equal(sev_snp_launch_update(&l, 0x803000, page, 4096, SEV_SNP_PAGE_CPUID, &err), 0);
	assert_non_null(strstr(km.violation, "count 0"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_refuses_host_without_snp),
		cmocka_unit_test(test_policy_checks),
		cmocka_unit_test(test_full_launch_order_and_arguments),
		cmocka_unit_test(test_update_partial_progress),
		cmocka_unit_test(test_update_eagain),
		cmocka_unit_test(test_update_errors),
		cmocka_unit_test(test_order_enforced),
		cmocka_unit_test(test_finish_id_block),
		cmocka_unit_test(test_conversion_exits),
		cmocka_unit_test(test_policy_as_kvm),
		cmocka_unit_test(test_psc_2m),
		cmocka_unit_test(test_memory_fault_exit),
		cmocka_unit_test(test_update_needs_private_gmem_slot),
		cmocka_unit_test(test_cpuid_page),
	};
	return cmocka_run_group_tests_name("snp_launch (protocol tests)", tests, NULL, NULL);
}
