/* Unit tests for the platform seam: a recording platform runs our guests
 * under /dev/kvm and sees its hooks called in the documented order, with the
 * firmware pages, and can serve its own device. Skips without /dev/kvm. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/vmm.h"

static char guest_dir[4096];

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
static int p_start(struct vmm *vm, void *state, struct vg_err *err)
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
	record(fd >= 0 ? "vcpu_init %u" : "vcpu_init-badfd %u", index);
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
	.name = "recorder", .init = p_init, .launch_start = p_start, .launch_update = p_update,
	.vcpu_init = p_vcpu, .launch_finish = p_finish, .destroy = p_destroy,
};

static bool have_kvm(void)
{
	int fd = open("/dev/kvm", O_RDWR);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

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
	int rc = vmm_config_validate(&c, err);
	if (!rc)
		rc = vmm_run_platform(&c, p, res, err);
	vmm_config_free(&c);
	return rc;
}

static void test_hook_order(void **state)
{
	(void)state;
	if (!have_kvm())
		skip();
	n_calls = 0;
	fw_len = 0;
	struct vmm_result res;
	struct vg_err err = {0};
	assert_int_equal(run_guest("hello", &recorder, 2, &res, &err), 0);
	assert_int_equal(res.status, 0);
	assert_true(mem_ok);
	const char *want[] = {"init", "launch_start", "launch_update 1", "vcpu_init 0", "vcpu_init 1", "launch_finish",
			      "destroy"};
	assert_int_equal(n_calls, VG_ARRAY_SIZE(want));
	for (size_t i = 0; i < VG_ARRAY_SIZE(want); i++)
		assert_string_equal(calls[i], want[i]);
	assert_int_equal(fw_gpa, 0xFFFFC000ull); /* the image ends at 4 GiB */
	assert_int_equal(fw_len, 16384);
}

static void test_platform_device(void **state)
{
	(void)state;
	if (!have_kvm())
		skip();
	dev_reads = dev_writes = 0;
	struct vmm_result res;
	struct vg_err err = {0};
	/* The fault guest reads and writes port 0x1234: now the platform's device answers. */
	assert_int_equal(run_guest("fault", &recorder, 1, &res, &err), 0);
	assert_int_equal(res.status, VMM_EXIT_GUEST_CRASH);
	assert_non_null(strstr(res.reason, "triple fault"));
	assert_int_equal(dev_reads, 1);
	assert_int_equal(dev_writes, 1);
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
	if (!have_kvm())
		skip();
	struct vmm_platform_ops p = {.name = "overlap", .init = bad_init};
	struct vmm_result res;
	struct vg_err err = {0};
	assert_int_equal(run_guest("hello", &p, 1, &res, &err), -EBUSY);
	assert_non_null(strstr(err.msg, "overlaps seam-test"));
	struct vmm_platform_ops q = {.name = "finicky", .launch_finish = failing_finish};
	assert_int_equal(run_guest("hello", &q, 1, &res, &err), -EPERM);
	assert_non_null(strstr(err.msg, "platform finicky: launch_finish: refused by the test"));
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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
