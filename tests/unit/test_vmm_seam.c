/* Unit tests for the platform seam: a recording platform runs our guests
 * under each accelerator (emu everywhere, kvm where /dev/kvm opens;
 * VIGIL_TEST_ACCELS=emu acts as a host without KVM) and sees its hooks called
 * in the documented order, with the firmware pages, and can serve its own
 * device; its probe runs before KVM_CREATE_VM, and the machine-shape flags
 * change the core's KVM calls as documented (seen through an ioctl
 * interposer). Only the machine-shape test needs real KVM (split irqchip). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <libgen.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/linux_kvm_cc.h" /* <linux/kvm.h> and the newer constants */
#include "vmm/vmm.h"

static char guest_dir[4096];

/* Every ioctl of this process goes through here: the test binary's own ioctl
 * takes precedence over libc's at link time, so the core's KVM calls (vmm/ calls
 * ioctl directly) are recorded, in order, then issued for real. */
#define MAX_IOCTLS 8192
static unsigned long ioctl_req[MAX_IOCTLS];
static uint64_t ioctl_cap[MAX_IOCTLS][2]; /* KVM_ENABLE_CAP: cap, args[0] */
static atomic_uint n_ioctls;

int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	va_start(ap, req);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	unsigned i = atomic_fetch_add(&n_ioctls, 1);
	if (i < MAX_IOCTLS) {
		ioctl_req[i] = req;
		if (req == KVM_ENABLE_CAP && arg) {
			const struct kvm_enable_cap *c = arg;
			ioctl_cap[i][0] = c->cap;
			ioctl_cap[i][1] = c->args[0];
		}
	}
	return (int)syscall(SYS_ioctl, fd, req, arg);
}

/* Index of the first recorded ioctl `req` at or after `from`, or -1. */
static int find_ioctl(unsigned long req, unsigned from)
{
	unsigned n = VG_MIN(atomic_load(&n_ioctls), MAX_IOCTLS);
	for (unsigned i = from; i < n; i++)
		if (ioctl_req[i] == req)
			return (int)i;
	return -1;
}

static const char *cur_accel = "kvm"; /* the accelerator of the running case */
static bool under_kvm(void) { return strcmp(cur_accel, "kvm") == 0; }

#define MAX_CALLS 64
static char calls[MAX_CALLS][48];
static unsigned n_calls;
static uint64_t fw_gpa, fw_len;
static unsigned dev_reads, dev_writes;
static bool mem_ok;

static void record(const char *fmt, ...)
{
	if (n_calls >= MAX_CALLS)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(calls[n_calls++], sizeof(calls[0]), fmt, ap);
	va_end(ap);
}

static uint64_t dev_read(void *o, uint64_t off, unsigned size)
{
	(void)o, (void)off, (void)size;
	dev_reads++;
	return 0x5A;
}
static void dev_write(void *o, uint64_t off, unsigned size, uint64_t v)
{
	(void)o, (void)off, (void)size, (void)v;
	dev_writes++;
}
static const struct vmm_dev_ops test_dev = {.name = "seam-test", .read = dev_read, .write = dev_write};

static int p_probe(const struct vmm_config *c, int kvm_fd, struct vg_err *err)
{
	(void)err;
	/* On the open /dev/kvm, with the configuration, before any VM exists. */
	record((kvm_fd >= 0) == under_kvm() && c && c->memory_mib == 64 && find_ioctl(KVM_CREATE_VM, 0) < 0
		       ? "probe"
		       : "probe-late");
	return 0;
}

static int p_init(struct vmm *vm, void **state, struct vg_err *err)
{
	*state = (void *)0x1234;
	record("init");
	/* Guest memory is there, and the platform's device goes on the bus. */
	uint32_t v = 0xA5A5A5A5, back = 0;
	mem_ok = vmm_mem_write(vm, 0x100000, &v, 4, err) == 0 && vmm_mem_read(vm, 0x100000, &back, 4, err) == 0 &&
		 back == v && vmm_gpa_ptr(vm, 0x100000, 4) != NULL && vmm_gpa_ptr(vm, 0xFEC00000, 4) == NULL &&
		 vmm_ram_size(vm) == 64ull << 20;
	return vmm_register_device(vm, VMM_SPACE_PIO, 0x1234, 1, &test_dev, NULL, err);
}
static int p_start(struct vmm *vm, void *state, const struct vmm_launch_image *img, struct vg_err *err)
{
	(void)vm, (void)err;
	record(state == (void *)0x1234 ? "launch_start" : "launch_start-badstate");
	return 0;
}
static int p_update(struct vmm *vm, void *state, uint64_t gpa, const void *bytes, size_t len, enum vmm_page_type t,
		    struct vg_err *err)
{
	(void)vm, (void)state, (void)bytes, (void)err;
	record("launch_update %d", (int)t);
	if (!fw_len) {
		fw_gpa = gpa;
		fw_len = len;
	}
	return 0;
}
static int p_vcpu(struct vmm *vm, void *state, unsigned index, int fd, struct vg_err *err)
{
	(void)vm, (void)state, (void)err;
	/* A vCPU fd under kvm; none under emu. */
	record((fd >= 0) == under_kvm() ? "vcpu_init %u" : "vcpu_init-badfd %u", index);
	return 0;
}
static int p_finish(struct vmm *vm, void *state, struct vg_err *err)
{
	(void)vm, (void)state, (void)err;
	record("launch_finish");
	return 0;
}
static void p_destroy(struct vmm *vm, void *state)
{
	(void)vm, (void)state;
	record("destroy");
}

static const struct vmm_platform_ops recorder = {
	.name = "recorder", .probe = p_probe, .init = p_init, .launch_start = p_start, .launch_update = p_update,
	.vcpu_init = p_vcpu, .launch_finish = p_finish, .destroy = p_destroy,
};

static bool have_kvm(void)
{
	const char *only = getenv("VIGIL_TEST_ACCELS");
	if (only && !strstr(only, "kvm"))
		return false;
	const char *dev = getenv("VIGIL_KVM_DEVICE");
	int fd = open(dev && *dev ? dev : "/dev/kvm", O_RDWR);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* Each case runs once per accelerator present: kvm (where it opens), then emu. */
#define FOR_EACH_ACCEL                                                                                   \
	for (int ai_ = have_kvm() ? 0 : 1; ai_ < 2 && ((cur_accel = ai_ ? "emu" : "kvm"), 1); ai_++)

static int run_guest(const char *name, const struct vmm_platform_ops *p, unsigned vcpus, struct vmm_result *res,
		     struct vg_err *err)
{
	char path[4300];
	snprintf(path, sizeof(path), "%s/%s.bin", guest_dir, name);
	struct vmm_config c;
	vmm_config_init(&c);
	c.firmware = strdup(path);
	c.serial = strdup("none");
	c.memory_mib = 64;
	c.vcpus = vcpus;
	c.sandbox = false; /* the test process must survive */
	c.accel = strdup(cur_accel);
	int rc = vmm_config_validate(&c, err);
	if (!rc)
		rc = vmm_run_platform(&c, p, res, err);
	vmm_config_free(&c);
	return rc;
}

static void test_hook_order(void **state)
{
	(void)state;
	FOR_EACH_ACCEL {
	n_calls = 0;
	fw_len = 0;
	atomic_store(&n_ioctls, 0);
	struct vmm_result res;
	struct vg_err err = {0};
	assert_int_equal(run_guest("hello", &recorder, 2, &res, &err), 0);
	assert_int_equal(res.status, 0);
	assert_true(mem_ok);
	if (under_kvm()) {
		/* The default machine: in-kernel irqchip and PIT, registers set by the core. */
		assert_true(find_ioctl(KVM_CREATE_IRQCHIP, 0) >= 0);
		assert_true(find_ioctl(KVM_CREATE_PIT2, 0) >= 0);
		assert_true(find_ioctl(KVM_SET_SREGS, 0) >= 0);
		assert_true(find_ioctl(KVM_SET_REGS, 0) >= 0);
		assert_true(find_ioctl(KVM_SET_MSRS, 0) >= 0);
	} else {
		assert_int_equal(find_ioctl(KVM_CREATE_VM, 0), -1); /* emu never touches KVM */
		assert_int_equal(find_ioctl(KVM_RUN, 0), -1);
	}
	const char *want[] = {"probe", "init", "launch_start", "launch_update 1", "vcpu_init 0", "vcpu_init 1", "launch_finish",
			      "destroy"};
	assert_int_equal(n_calls, VG_ARRAY_SIZE(want));
	for (size_t i = 0; i < VG_ARRAY_SIZE(want); i++)
		assert_string_equal(calls[i], want[i]);
	assert_int_equal(fw_gpa, 0xFFFFC000ull); /* the image ends at 4 GiB */
	assert_int_equal(fw_len, 16384);
	}
}

static void test_platform_device(void **state)
{
	(void)state;
	FOR_EACH_ACCEL {
	dev_reads = dev_writes = 0;
	struct vmm_result res;
	struct vg_err err = {0};
	/* The fault guest reads and writes port 0x1234: now the platform's device answers. */
	assert_int_equal(run_guest("fault", &recorder, 1, &res, &err), 0);
	assert_int_equal(res.status, VMM_EXIT_GUEST_CRASH);
	assert_non_null(strstr(res.reason, under_kvm() ? "triple fault" : "guest crashed: invalid instruction"));
	assert_int_equal(dev_reads, 1);
	assert_int_equal(dev_writes, 1);
	}
}

static int bad_init(struct vmm *vm, void **state, struct vg_err *err)
{
	(void)state;
	/* COM1 belongs to the core: registering it first makes the core's UART collide. */
	return vmm_register_device(vm, VMM_SPACE_PIO, 0x3F8, 8, &test_dev, NULL, err);
}

static int failing_finish(struct vmm *vm, void *state, struct vg_err *err)
{
	(void)vm, (void)state;
	return vg_err_set(err, EPERM, "refused by the test");
}

static void test_failures_stop_before_run(void **state)
{
	(void)state;
	FOR_EACH_ACCEL {
	struct vmm_platform_ops p = {.name = "overlap", .init = bad_init};
	struct vmm_result res;
	struct vg_err err = {0};
	assert_int_equal(run_guest("hello", &p, 1, &res, &err), -EBUSY);
	assert_non_null(strstr(err.msg, "overlaps seam-test"));
	struct vmm_platform_ops q = {.name = "finicky", .launch_finish = failing_finish};
	assert_int_equal(run_guest("hello", &q, 1, &res, &err), -EPERM);
	assert_non_null(strstr(err.msg, "platform finicky: launch_finish: refused by the test"));
	}
}

static int refusing_probe(const struct vmm_config *c, int kvm_fd, struct vg_err *err)
{
	(void)c, (void)kvm_fd;
	record("probe");
	return vg_err_set(err, ENOTSUP, "host offers no such VMs (VM types mask 0x1)");
}

/* A probe that refuses stops everything before KVM_CREATE_VM, with its own words. */
static void test_probe_refusal(void **state)
{
	(void)state;
	FOR_EACH_ACCEL {
	n_calls = 0;
	atomic_store(&n_ioctls, 0);
	struct vmm_platform_ops p = recorder;
	p.name = "picky";
	p.probe = refusing_probe;
	struct vmm_result res;
	struct vg_err err = {0};
	assert_int_equal(run_guest("hello", &p, 1, &res, &err), -ENOTSUP);
	assert_string_equal(err.msg, "platform picky: host offers no such VMs (VM types mask 0x1)");
	assert_int_equal(n_calls, 1); /* probe only: no init, no destroy */
	assert_string_equal(calls[0], "probe");
	assert_int_equal(find_ioctl(KVM_CREATE_VM, 0), -1);
	if (!under_kvm())
		continue;
	/* vigil-vmm --check-kvm --platform runs the same probe. */
	assert_int_equal(vmm_kvm_check(&p, NULL, &err), -ENOTSUP);
	assert_non_null(strstr(err.msg, "VM types mask 0x1"));
	assert_int_equal(vmm_kvm_check(&recorder, NULL, &err), 0);
	}
}

/* The real snp and tdx platforms on a host without them: the VM-types mask, not
 * KVM_CREATE_VM's EINVAL. */
static void test_real_probe_messages(void **state)
{
	(void)state;
	/* Under emu they refuse in their probe: real SNP and TDX need KVM. */
	cur_accel = "emu";
	for (int i = 0; i < 2; i++) {
		struct vmm_result res;
		struct vg_err err = {0};
		const char *name = i ? "tdx" : "snp";
		assert_int_equal(run_guest("hello", vmm_platform_find(name), 1, &res, &err), -ENOTSUP);
		char want[64];
		snprintf(want, sizeof(want), "platform %s: needs the kvm accelerator", name);
		assert_non_null(strstr(err.msg, want));
	}
	if (!have_kvm())
		return;
	cur_accel = "kvm";
	int kfd = open("/dev/kvm", O_RDWR);
	int types = ioctl(kfd, KVM_CHECK_EXTENSION, KVM_CAP_VM_TYPES);
	close(kfd);
	static const struct { const char *name, *want; int bit; } cases[] = {
		{"snp", "host KVM offers no SEV-SNP VMs: KVM_CAP_VM_TYPES mask is 0x", KVM_X86_SNP_VM},
		{"tdx", "host KVM offers no TDX VMs: KVM_CAP_VM_TYPES mask is 0x", KVM_X86_TDX_VM},
	};
	for (size_t i = 0; i < VG_ARRAY_SIZE(cases); i++) {
		if (types > 0 && (types & (1 << cases[i].bit)))
			continue; /* this host has it: nothing to refuse */
		atomic_store(&n_ioctls, 0);
		struct vmm_result res;
		struct vg_err err = {0};
		assert_int_equal(run_guest("hello", vmm_platform_find(cases[i].name), 1, &res, &err), -ENOTSUP);
		assert_non_null(strstr(err.msg, cases[i].want));
		assert_null(strstr(err.msg, "KVM_CREATE_VM"));
		assert_int_equal(find_ioctl(KVM_CREATE_VM, 0), -1);
	}
}

/* A TD-shaped machine (tdx's flags) on plain KVM: split irqchip with 24 IOAPIC
 * routes before any vCPU, no in-kernel PIC/IOAPIC or PIT, no register writes;
 * the hello guest still runs from the architectural reset state. */
static void test_machine_shape_flags(void **state)
{
	(void)state;
	if (!have_kvm()) {
		print_message("SKIP: the TD machine shape needs real KVM (split irqchip, in-kernel LAPIC)\n");
		skip();
	}
	cur_accel = "kvm";
	const struct vmm_platform_ops *tdx = vmm_platform_find("tdx");
	const uint32_t shape = VMM_PLAT_SPLIT_IRQCHIP | VMM_PLAT_NO_PIT | VMM_PLAT_PROTECTED_REGS;
	assert_int_equal(tdx->flags & shape, shape);
	assert_int_equal(vmm_platform_find("snp")->flags & shape, 0);
	struct vmm_platform_ops p = recorder;
	p.name = "td-shaped";
	p.flags = shape;
	n_calls = 0;
	atomic_store(&n_ioctls, 0);
	struct vmm_result res;
	struct vg_err err = {0};
	assert_int_equal(run_guest("hello", &p, 2, &res, &err), 0);
	assert_int_equal(res.status, 0);
	int cap = -1;
	for (int i = find_ioctl(KVM_ENABLE_CAP, 0); i >= 0; i = find_ioctl(KVM_ENABLE_CAP, (unsigned)i + 1))
		if (ioctl_cap[i][0] == KVM_CAP_SPLIT_IRQCHIP) {
			cap = i;
			break;
		}
	assert_true(cap >= 0);
	assert_int_equal(ioctl_cap[cap][1], 24);
	int vcpu = find_ioctl(KVM_CREATE_VCPU, 0);
	assert_true(vcpu > cap);
	assert_int_equal(find_ioctl(KVM_CREATE_IRQCHIP, 0), -1);
	assert_int_equal(find_ioctl(KVM_CREATE_PIT2, 0), -1);
	assert_int_equal(find_ioctl(KVM_SET_SREGS, 0), -1);
	assert_int_equal(find_ioctl(KVM_SET_REGS, 0), -1);
	assert_int_equal(find_ioctl(KVM_SET_MSRS, 0), -1);
	assert_true(find_ioctl(KVM_SET_CPUID2, 0) >= 0); /* CPUID stays the core's */
}

int main(int argc, char **argv)
{
	(void)argc;
	/* <build>/tests/unit/test_vmm_seam -> <build>/guest */
	char self[4096];
	snprintf(self, sizeof(self), "%s", argv[0]);
	snprintf(guest_dir, sizeof(guest_dir), "%s/../../guest", dirname(self));
	vg_log_init("test_vmm_seam", VG_LOG_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hook_order),
		cmocka_unit_test(test_platform_device),
		cmocka_unit_test(test_failures_stop_before_run),
		cmocka_unit_test(test_probe_refusal),
		cmocka_unit_test(test_real_probe_messages),
		cmocka_unit_test(test_machine_shape_flags),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
