/*
 * Protocol tests for the SEV-SNP backend (sev/launch_snp.c): a recorder stands in
 * for /dev/kvm and the VM fd, plays KVM's documented behaviour (partial progress and
 * -EAGAIN on KVM_SEV_SNP_LAUNCH_UPDATE) and records every ioctl, and the tests check
 * order and arguments against Documentation/virt/kvm/x86/amd-memory-encryption.rst.
 * Not run on SNP hardware.
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

#define KVM_FD 3
#define VM_FD 4
#define SEV_FD 5

struct call {
	int fd;
	unsigned long req;
	uint32_t sev_id;   /* KVM_MEMORY_ENCRYPT_OP sub-command */
	uint32_t sev_fd;
	uint64_t a[4];     /* decoded arguments, per call kind */
	uint8_t type;
	uint8_t host_data[32];
};

struct rec {
	struct call calls[512];
	unsigned n;
	/* KVM behaviour */
	int vm_types, hc_mask, mem_attrs;
	uint64_t vmsa_features;
	uint64_t pages_per_call;  /* LAUNCH_UPDATE processes at most this many pages */
	unsigned eagain_calls;    /* bitmask over LAUNCH_UPDATE call index: return -EAGAIN */
	unsigned update_calls;
	int fail_update_rc;
	uint32_t fw_error;
	bool no_progress;
	uint64_t priv_start, priv_end; /* last range made private */
};

static int rec_fn(void *ctx, int fd, unsigned long req, void *arg)
{
	struct rec *r = ctx;
	static struct call overflow; /* stall tests issue thousands of calls */
	struct call *c = r->n < 512 ? &r->calls[r->n] : &overflow;
	r->n++;
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->req = req;
	if (req == KVM_CHECK_EXTENSION) {
		long cap = (long)(uintptr_t)arg;
		c->a[0] = (uint64_t)cap;
		if (cap == KVM_CAP_VM_TYPES)
			return r->vm_types;
		if (cap == KVM_CAP_EXIT_HYPERCALL)
			return r->hc_mask;
		if (cap == KVM_CAP_MEMORY_ATTRIBUTES)
			return r->mem_attrs;
		return 1;
	}
	if (req == KVM_GET_DEVICE_ATTR) {
		struct kvm_device_attr *a = arg;
		c->a[0] = a->group;
		c->a[1] = a->attr;
		*(uint64_t *)(uintptr_t)a->addr = r->vmsa_features;
		return 0;
	}
	if (req == KVM_ENABLE_CAP) {
		struct kvm_enable_cap *e = arg;
		c->a[0] = e->cap;
		c->a[1] = e->args[0];
		return 0;
	}
	if (req == KVM_SET_MEMORY_ATTRIBUTES) {
		struct kvm_memory_attributes *m = arg;
		c->a[0] = m->address;
		c->a[1] = m->size;
		c->a[2] = m->attributes;
		c->a[3] = m->flags;
		if (m->attributes & KVM_MEMORY_ATTRIBUTE_PRIVATE) {
			r->priv_start = m->address;
			r->priv_end = m->address + m->size;
		}
		return 0;
	}
	assert_int_equal(req, KVM_MEMORY_ENCRYPT_OP);
	struct kvm_sev_cmd *cmd = arg;
	c->sev_id = cmd->id;
	c->sev_fd = cmd->sev_fd;
	switch (cmd->id) {
	case KVM_SEV_INIT2: {
		struct kvm_sev_init *i = (void *)(uintptr_t)cmd->data;
		c->a[0] = i->vmsa_features;
		c->a[1] = i->flags;
		c->a[2] = i->ghcb_version;
		return 0;
	}
	case KVM_SEV_SNP_LAUNCH_START: {
		struct kvm_sev_snp_launch_start *s = (void *)(uintptr_t)cmd->data;
		c->a[0] = s->policy;
		c->a[1] = s->flags;
		return 0;
	}
	case KVM_SEV_SNP_LAUNCH_UPDATE: {
		struct kvm_sev_snp_launch_update *u = (void *)(uintptr_t)cmd->data;
		c->a[0] = u->gfn_start;
		c->a[1] = u->uaddr;
		c->a[2] = u->len;
		c->type = u->type;
		unsigned idx = r->update_calls++;
		if (!u->len || (u->len & 0xfff))
			return -EINVAL; /* KVM: PAGE_ALIGNED(len), and nothing to do is refused */
		/* KVM requires the range to be private already. */
		assert_true((u->gfn_start << 12) >= r->priv_start);
		assert_true((u->gfn_start << 12) + u->len <= r->priv_end);
		if (r->fail_update_rc) {
			cmd->error = r->fw_error;
			return r->fail_update_rc;
		}
		if (r->no_progress)
			return 0;
		bool eagain = idx < 32 && (r->eagain_calls & (1u << idx));
		uint64_t pages = u->len >> 12;
		uint64_t done = VG_MIN(pages, r->pages_per_call);
		if (eagain && idx % 2 == 0)
			done = 0; /* interrupted before the first page */
		u->gfn_start += done;
		u->len -= done << 12;
		if (u->type != KVM_SEV_SNP_PAGE_TYPE_ZERO)
			u->uaddr += done << 12;
		return eagain ? -EAGAIN : 0;
	}
	case KVM_SEV_SNP_LAUNCH_FINISH: {
		struct kvm_sev_snp_launch_finish *f = (void *)(uintptr_t)cmd->data;
		c->a[0] = f->id_block_uaddr;
		c->a[1] = f->id_auth_uaddr;
		c->a[2] = f->id_block_en | (f->auth_key_en << 8) | (f->vcek_disabled << 16);
		c->a[3] = f->flags;
		memcpy(c->host_data, f->host_data, 32);
		return 0;
	}
	}
	fail_msg("unexpected SEV command %u", cmd->id);
	return -EINVAL;
}

static struct rec R;
static struct vg_kvm_io IO = { .fn = rec_fn, .ctx = &R };
static uint8_t PAGES[16 * 4096] __attribute__((aligned(4096)));

static void rec_reset(void)
{
	memset(&R, 0, sizeof(R));
	R.vm_types = (1 << KVM_X86_DEFAULT_VM) | (1 << KVM_X86_SNP_VM);
	R.hc_mask = 1 << KVM_HC_MAP_GPA_RANGE;
	R.mem_attrs = KVM_MEMORY_ATTRIBUTE_PRIVATE;
	R.vmsa_features = 0x3e; /* what a Genoa host reports without SNPActive */
	R.pages_per_call = 1u << 20;
}

static void started(struct sev_snp_launch *l)
{
	rec_reset();
	sev_snp_launch_init(l, &IO);
	l->kvm_fd = KVM_FD;
	l->vm_fd = VM_FD;
	l->sev_fd = SEV_FD;
	struct vg_err err = { 0 };
	assert_int_equal(sev_snp_probe(l, &err), 0);
	assert_int_equal(sev_snp_init(l, &err), 0);
	assert_int_equal(sev_snp_launch_start(l, &err), 0);
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
			 -ENOTSUP);
	assert_int_equal(sev_snp_policy_check(SEV_SNP_POLICY_VIGIL_DEFAULT | (1ull << 40), &err), -ENOTSUP);
	assert_int_equal(sev_snp_policy_check(SEV_SNP_POLICY_RESERVED1, &err), -ENOTSUP);
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
	assert_int_equal(sev_snp_launch_update(&l, 0x803000, PAGES, 4096, SEV_SNP_PAGE_CPUID, &err), 0);
	uint8_t hd[32];
	for (int i = 0; i < 32; i++)
		hd[i] = (uint8_t)(0xa0 + i);
	assert_int_equal(sev_snp_launch_finish(&l, hd, NULL, NULL, false, &err), 0);

	/* INIT2, ENABLE_CAP, LAUNCH_START, then (attributes, update) x4, FINISH. */
	assert_int_equal(R.n, 3 + 4 * 2 + 1);
	struct call *c = R.calls;
	assert_int_equal(c[0].fd, VM_FD);
	assert_int_equal(c[0].sev_id, KVM_SEV_INIT2);
	assert_int_equal(c[0].sev_fd, SEV_FD);
	assert_int_equal(c[0].a[0], 0x4); /* vmsa_features without SNPActive */
	assert_int_equal(c[0].a[1], 0);
	assert_int_equal(c[0].a[2], 0);
	assert_int_equal(c[1].req, KVM_ENABLE_CAP);
	assert_int_equal(c[1].a[0], KVM_CAP_EXIT_HYPERCALL);
	assert_int_equal(c[1].a[1], 1ull << KVM_HC_MAP_GPA_RANGE);
	assert_int_equal(c[2].sev_id, KVM_SEV_SNP_LAUNCH_START);
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
		struct call *a = &c[3 + 2 * i], *u = &c[4 + 2 * i];
		assert_int_equal(a->req, KVM_SET_MEMORY_ATTRIBUTES);
		assert_int_equal(a->a[0], want[i].gpa);
		assert_int_equal(a->a[1], want[i].len);
		assert_int_equal(a->a[2], KVM_MEMORY_ATTRIBUTE_PRIVATE);
		assert_int_equal(a->a[3], 0);
		assert_int_equal(u->sev_id, KVM_SEV_SNP_LAUNCH_UPDATE);
		assert_int_equal(u->a[0], want[i].gpa >> 12);
		assert_int_equal(u->a[1], (uint64_t)(uintptr_t)PAGES);
		assert_int_equal(u->a[2], want[i].len);
		assert_int_equal(u->type, want[i].type);
	}
	struct call *f = &c[11];
	assert_int_equal(f->sev_id, KVM_SEV_SNP_LAUNCH_FINISH);
	assert_int_equal(f->a[0], 0);
	assert_int_equal(f->a[1], 0);
	assert_int_equal(f->a[2], 0); /* no ID block, no author key, VCEK */
	assert_memory_equal(f->host_data, hd, 32);
	assert_int_equal(l.pages_updated, 8);
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
		struct call *u = &R.calls[1 + i];
		assert_int_equal(u->sev_id, KVM_SEV_SNP_LAUNCH_UPDATE);
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

	rec_reset();
	memset(&run, 0, sizeof(run));
	run.exit_reason = KVM_EXIT_HYPERCALL;
	run.hypercall.nr = KVM_HC_MAP_GPA_RANGE;
	run.hypercall.args[0] = 0x200000;
	run.hypercall.args[1] = 16;
	run.hypercall.args[2] = KVM_MAP_GPA_RANGE_DECRYPTED;
	run.hypercall.ret = 77;
	assert_int_equal(sev_cc_conversion_exit(&IO, VM_FD, ram_end, &run, &err), 1);
	assert_int_equal(run.hypercall.ret, 0);
	assert_int_equal(R.n, 1);
	assert_int_equal(R.calls[0].fd, VM_FD);
	assert_int_equal(R.calls[0].req, KVM_SET_MEMORY_ATTRIBUTES);
	assert_int_equal(R.calls[0].a[0], 0x200000);
	assert_int_equal(R.calls[0].a[1], 16 * 4096);
	assert_int_equal(R.calls[0].a[2], 0); /* shared */

	run.hypercall.args[2] = KVM_MAP_GPA_RANGE_ENCRYPTED;
	assert_int_equal(sev_cc_conversion_exit(&IO, VM_FD, ram_end, &run, &err), 1);
	assert_int_equal(R.calls[1].a[2], KVM_MEMORY_ATTRIBUTE_PRIVATE);

	/* A range past RAM or misaligned is the guest's error: -EINVAL, no ioctl. */
	run.hypercall.args[0] = ram_end - 4096;
	run.hypercall.args[1] = 2;
	assert_int_equal(sev_cc_conversion_exit(&IO, VM_FD, ram_end, &run, &err), 1);
	assert_int_equal(run.hypercall.ret, (uint64_t)-EINVAL);
	run.hypercall.args[0] = 0x200800;
	run.hypercall.args[1] = 1;
	assert_int_equal(sev_cc_conversion_exit(&IO, VM_FD, ram_end, &run, &err), 1);
	assert_int_equal(run.hypercall.ret, (uint64_t)-EINVAL);
	run.hypercall.args[0] = 0x200000;
	run.hypercall.args[2] = KVM_MAP_GPA_RANGE_ENCRYPTED | KVM_MAP_GPA_RANGE_PAGE_SZ_2M;
	assert_int_equal(sev_cc_conversion_exit(&IO, VM_FD, ram_end, &run, &err), 1);
	assert_int_equal(run.hypercall.ret, (uint64_t)-EINVAL);
	assert_int_equal(R.n, 2);

	/* Other hypercalls are not ours. */
	run.hypercall.nr = KVM_HC_KICK_CPU;
	assert_int_equal(sev_cc_conversion_exit(&IO, VM_FD, ram_end, &run, &err), 0);

	/* KVM_EXIT_MEMORY_FAULT: the guest touched a page in the other state. */
	memset(&run, 0, sizeof(run));
	run.exit_reason = KVM_EXIT_MEMORY_FAULT;
	struct kvm_cc_exit_memory_fault *mf = kvm_cc_run_exit(&run);
	mf->flags = KVM_MEMORY_EXIT_FLAG_PRIVATE;
	mf->gpa = 0x300000;
	mf->size = 4096;
	assert_int_equal(sev_cc_conversion_exit(&IO, VM_FD, ram_end, &run, &err), 1);
	assert_int_equal(R.calls[2].a[0], 0x300000);
	assert_int_equal(R.calls[2].a[1], 4096);
	assert_int_equal(R.calls[2].a[2], KVM_MEMORY_ATTRIBUTE_PRIVATE);
	mf->flags = 0;
	mf->gpa = ram_end; /* outside RAM: a host-side error */
	assert_int_equal(sev_cc_conversion_exit(&IO, VM_FD, ram_end, &run, &err), -EINVAL);
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
	};
	return cmocka_run_group_tests_name("snp_launch (protocol tests)", tests, NULL, NULL);
}
