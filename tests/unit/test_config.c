/* Unit tests for vmm/ configuration: vm.json and flags. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "vmm/vmm.h"

static int parse(struct vmm_config *c, const char *json, struct vg_err *err)
{
	return vmm_config_parse_json(c, json, strlen(json), "vm.json", err);
}

static void test_defaults(void **state)
{
	(void)state;
	struct vmm_config c;
	vmm_config_init(&c);
	assert_int_equal(c.vcpus, 1);
	assert_int_equal(c.memory_mib, 128);
	assert_true(c.sandbox);
	assert_null(c.firmware);
	struct vg_err err = {0};
	assert_int_equal(vmm_config_validate(&c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "nothing to boot"));
	vmm_config_free(&c);
}

static void test_json_ok(void **state)
{
	(void)state;
	struct vmm_config c;
	vmm_config_init(&c);
	struct vg_err err = {0};
	assert_int_equal(parse(&c,
			       "{\"vcpus\": 4, \"memory_mib\": 512, \"firmware\": \"/bin/sh\", \"serial\": \"none\","
			       " \"platform\": \"none\", \"hugepages\": true, \"sandbox\": false}",
			       &err),
			 0);
	assert_int_equal(c.vcpus, 4);
	assert_int_equal(c.memory_mib, 512);
	assert_string_equal(c.firmware, "/bin/sh");
	assert_string_equal(c.serial, "none");
	assert_true(c.hugepages);
	assert_false(c.sandbox);
	assert_int_equal(vmm_config_validate(&c, &err), 0);
	/* A flag overrides what the file said. */
	assert_int_equal(vmm_config_set(&c, "vcpus", "2", &err), 0);
	assert_int_equal(c.vcpus, 2);
	assert_int_equal(vmm_config_set(&c, "memory_mib", "0x100", &err), 0);
	assert_int_equal(c.memory_mib, 256);
	vmm_config_free(&c);
}

static void test_json_rejects(void **state)
{
	(void)state;
	static const struct {
		const char *json, *msg;
	} bad[] = {
		{"{\"colour\": 1}", "unknown key \"colour\""},
		{"{\"vcpus\": 0}", "vcpus: 0 is out of range"},
		{"{\"vcpus\": 65}", "vcpus: 65 is out of range"},
		{"{\"vcpus\": -1}", "vcpus: expected a non-negative integer"},
		{"{\"vcpus\": 1.5}", "vcpus: expected a non-negative integer"},
		{"{\"memory_mib\": 1}", "memory_mib: 1 is out of range"},
		{"{\"firmware\": 7}", "firmware: expected a string"},
		{"{\"firmware\": \"\"}", "firmware: empty"},
		{"{\"firmware\": \"a\\u0000b\"}", "NUL"},
		{"{\"hugepages\": \"yes\"}", "hugepages: expected true or false"},
		{"{\"vcpus\": 1, \"vcpus\": 2}", "duplicate"},
		{"[1]", "not a JSON object"},
		{"{\"vcpus\": ", "line 1"},
		{"", "line"},
	};
	for (size_t i = 0; i < VG_ARRAY_SIZE(bad); i++) {
		struct vmm_config c;
		vmm_config_init(&c);
		struct vg_err err = {0};
		assert_int_not_equal(parse(&c, bad[i].json, &err), 0);
		if (!strstr(err.msg, bad[i].msg))
			fail_msg("%s: got \"%s\", want \"%s\"", bad[i].json, err.msg, bad[i].msg);
		assert_null(strchr(err.msg, '\n'));
		vmm_config_free(&c);
	}
}

static void test_cmdline_limit(void **state)
{
	(void)state;
	struct vmm_config c;
	vmm_config_init(&c);
	struct vg_err err = {0};
	char *big = malloc(VMM_MAX_CMDLINE + 2);
	memset(big, 'a', VMM_MAX_CMDLINE + 1);
	big[VMM_MAX_CMDLINE + 1] = 0;
	assert_int_equal(vmm_config_set(&c, "cmdline", big, &err), -ENAMETOOLONG);
	big[VMM_MAX_CMDLINE] = 0;
	assert_int_equal(vmm_config_set(&c, "cmdline", big, &err), 0);
	free(big);
	assert_int_equal(vmm_config_set(&c, "vcpus", "lots", &err), -EINVAL);
	assert_int_equal(vmm_config_set(&c, "nope", "1", &err), -EINVAL);
	vmm_config_free(&c);
}

static void test_validate(void **state)
{
	(void)state;
	struct vg_err err = {0};
	struct vmm_config c;
	vmm_config_init(&c);
	assert_int_equal(vmm_config_set(&c, "firmware", "/nonexistent/fw.bin", &err), 0);
	assert_int_equal(vmm_config_validate(&c, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "/nonexistent/fw.bin"));
	assert_int_equal(vmm_config_set(&c, "firmware", "/tmp", &err), 0);
	assert_int_equal(vmm_config_validate(&c, &err), -EINVAL); /* a directory */
	assert_int_equal(vmm_config_set(&c, "firmware", "/bin/sh", &err), 0);
	assert_int_equal(vmm_config_set(&c, "kernel", "/bin/sh", &err), 0);
	assert_int_equal(vmm_config_validate(&c, &err), -EINVAL); /* two boot sources */
	vmm_config_free(&c);
	vmm_config_init(&c);
	assert_int_equal(vmm_config_set(&c, "firmware", "/bin/sh", &err), 0);
	assert_int_equal(vmm_config_set(&c, "cmdline", "console=ttyS0", &err), 0);
	assert_int_equal(vmm_config_validate(&c, &err), -EINVAL); /* cmdline needs a kernel */
	vmm_config_free(&c);
	vmm_config_init(&c);
	assert_int_equal(vmm_config_set(&c, "firmware", "/bin/sh", &err), 0);
	assert_int_equal(vmm_config_set(&c, "platform", "sev-quantum", &err), 0);
	assert_int_equal(vmm_config_validate(&c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "unknown"));
	vmm_config_free(&c);
	vmm_config_init(&c);
	assert_int_equal(vmm_config_set(&c, "firmware", "/bin/sh", &err), 0);
	assert_int_equal(vmm_config_set(&c, "vtpm_state", "/nonexistent-state", &err), 0);
	assert_int_not_equal(vmm_config_validate(&c, &err), 0);
	vmm_config_free(&c);
	vmm_config_init(&c);
	assert_int_equal(vmm_config_set(&c, "firmware", "/bin/sh", &err), 0);
	assert_int_equal(vmm_config_set(&c, "sandbox", "false", &err), 0);
	assert_int_equal(vmm_config_set(&c, "chroot", "/tmp", &err), 0);
	assert_int_equal(vmm_config_validate(&c, &err), -EINVAL); /* a jail without the sandbox */
	vmm_config_free(&c);
}

static void test_load_file(void **state)
{
	(void)state;
	struct vg_err err = {0};
	struct vmm_config c;
	vmm_config_init(&c);
	assert_int_equal(vmm_config_load_file(&c, "/nonexistent/vm.json", &err), -ENOENT);
	char path[] = "/tmp/test_config.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	fputs("{\"vcpus\": 3}", f);
	fclose(f);
	assert_int_equal(vmm_config_load_file(&c, path, &err), 0);
	assert_int_equal(c.vcpus, 3);
	unlink(path);
	vmm_config_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),      cmocka_unit_test(test_json_ok),
		cmocka_unit_test(test_json_rejects),  cmocka_unit_test(test_cmdline_limit),
		cmocka_unit_test(test_validate),      cmocka_unit_test(test_load_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
