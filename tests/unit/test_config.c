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

/* The document is refused with one line containing msg. */
static void expect_rejected(const char *json, const char *msg)
{
	struct vmm_config c;
	vmm_config_init(&c);
	struct vg_err err = {0};
	assert_int_not_equal(parse(&c, json, &err), 0);
	if (!strstr(err.msg, msg))
		fail_msg("%s: got \"%s\", want \"%s\"", json, err.msg, msg);
	assert_null(strchr(err.msg, '\n'));
	vmm_config_free(&c);
}

static void test_defaults(void **state)
{
	(void)state;
	struct vmm_config c;
	vmm_config_init(&c);
	assert_int_equal(c.vcpus, 1);
	assert_int_equal(c.memory_mib, 128);
	assert_true(c.sandbox);
	assert_int_equal(c.max_reboots, VMM_DEFAULT_MAX_REBOOTS);
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
	assert_int_equal(parse(&c, "{\"max_reboots\": 0}", &err), 0); /* no limit */
	assert_int_equal(c.max_reboots, 0);
	assert_int_equal(vmm_config_set(&c, "max_reboots", "7", &err), 0);
	assert_int_equal(c.max_reboots, 7);
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
		{"{\"max_reboots\": 1000001}", "max_reboots: 1000001 is out of range"},
		{"{\"max_reboots\": \"10\"}", "max_reboots: expected a non-negative integer"},
		{"{\"vcpus\": 1, \"vcpus\": 2}", "duplicate"},
		{"[1]", "not a JSON object"},
		{"{\"vcpus\": ", "line 1"},
		{"", "line"},
	};
	for (size_t i = 0; i < VG_ARRAY_SIZE(bad); i++)
		expect_rejected(bad[i].json, bad[i].msg);
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
	/* accel: kvm, emu or auto; anything else named with the known ones. */
	static const char *const accels[] = {"kvm", "emu", "auto"};
	for (size_t i = 0; i < 3; i++) {
		vmm_config_init(&c);
		assert_int_equal(vmm_config_set(&c, "firmware", "/bin/sh", &err), 0);
		assert_int_equal(vmm_config_set(&c, "accel", accels[i], &err), 0);
		assert_int_equal(vmm_config_validate(&c, &err), 0);
		assert_string_equal(c.accel, accels[i]);
		vmm_config_free(&c);
	}
	vmm_config_init(&c);
	assert_int_equal(vmm_config_parse_json(&c, "{\"firmware\": \"/bin/sh\", \"accel\": \"tcg\"}", 39, "vm.json", &err),
			 0);
	assert_int_equal(vmm_config_validate(&c, &err), -EINVAL);
	assert_string_equal(err.msg, "accel \"tcg\" is unknown (known: kvm, emu, auto)");
	vmm_config_free(&c);
	vmm_config_init(&c);
	assert_int_not_equal(vmm_config_parse_json(&c, "{\"accel\": 1}", 12, "vm.json", &err), 0);
	assert_non_null(strstr(err.msg, "accel"));
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

/* The confidential platforms' launch inputs: vm.json objects "snp" / "tdx",
 * "state_dir", "guest_challenge", and the same by flag name. */
static void test_launch_inputs(void **state)
{
	(void)state;
	struct vmm_config c;
	vmm_config_init(&c);
	struct vg_err err = {0};
	assert_int_equal(c.snp.policy, 0x30000);
	assert_int_equal(c.snp.guest_features, 1);
	assert_int_equal(c.tdx.attributes, 0x10000000);
	assert_int_equal(c.tdx.xfam, 7);
	assert_false(c.snp.set || c.tdx.set || c.has_guest_challenge);
	char hd[65], ch[129];
	for (int i = 0; i < 64; i++)
		hd[i] = "0123456789abcdef"[i % 16];
	hd[64] = 0;
	for (int i = 0; i < 128; i++)
		ch[i] = "fedcba9876543210"[i % 16];
	ch[128] = 0;
	char json[1024];
	snprintf(json, sizeof(json),
		 "{\"platform\": \"sim-snp\", \"firmware\": \"/bin/sh\", \"state_dir\": \"/tmp\","
		 " \"guest_challenge\": \"%s\", \"snp\": {\"policy\": \"0xB0000\", \"guest_features\": 5,"
		 " \"host_data\": \"%s\", \"vcpu_type\": \"EPYC-Milan\"}}",
		 ch, hd);
	assert_int_equal(parse(&c, json, &err), 0);
	assert_int_equal(c.snp.policy, 0xB0000);
	assert_int_equal(c.snp.guest_features, 5);
	assert_int_equal(c.snp.host_data[0], 0x01);
	assert_int_equal(c.snp.host_data[31], 0xef);
	assert_string_equal(c.snp.vcpu_type, "EPYC-Milan");
	assert_string_equal(c.state_dir, "/tmp");
	assert_true(c.has_guest_challenge);
	assert_int_equal(c.guest_challenge[0], 0xfe);
	assert_true(c.snp.set);
	assert_false(c.tdx.set);
	assert_int_equal(vmm_config_validate(&c, &err), 0);
	/* A flag overrides the file, by its key name. */
	assert_int_equal(vmm_config_set(&c, "snp.guest_features", "0x1", &err), 0);
	assert_int_equal(c.snp.guest_features, 1);
	/* A bad value leaves the old one whole. */
	assert_int_equal(vmm_config_set(&c, "snp.host_data", "00zz", &err), -EINVAL);
	assert_string_equal(err.msg, "--host-data: expected 64 hex digits (32 bytes), got 4 characters");
	assert_int_equal(c.snp.host_data[0], 0x01);
	/* Settings for another platform than the one chosen are refused. */
	assert_int_equal(vmm_config_set(&c, "tdx.mrconfigid", "0x" "00112233445566778899aabbccddeeff"
				       "00112233445566778899aabbccddeeff" "00112233445566778899aabbccddeeff", &err), 0);
	assert_int_equal(c.tdx.mrconfigid[1], 0x11);
	assert_int_equal(vmm_config_validate(&c, &err), -EINVAL);
	assert_string_equal(err.msg, "TDX launch settings (tdx.*) given, but platform \"sim-snp\" reads none");
	assert_int_equal(vmm_config_set(&c, "platform", "sim-tdx", &err), 0);
	assert_int_equal(vmm_config_validate(&c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "SNP launch settings"));
	vmm_config_free(&c);

	/* Each rejection: one line naming the key. */
	static const struct {
		const char *json, *msg;
	} bad[] = {
		{"{\"snp\": {\"colour\": 1}}", "unknown key \"snp.colour\""},
		{"{\"tdx\": {\"policy\": 1}}", "unknown key \"tdx.policy\""},
		{"{\"snp\": 1}", "snp: expected an object"},
		{"{\"snp\": {\"host_data\": \"00\"}}", "snp.host_data: expected 64 hex digits"},
		{"{\"snp\": {\"host_data\": 7}}", "snp.host_data: expected a string"},
		{"{\"snp\": {\"policy\": -1}}", "snp.policy: expected a non-negative integer or"},
		{"{\"snp\": {\"policy\": \"0x1g\"}}", "snp.policy: \"0x1g\" is not a number"},
		{"{\"snp\": {\"policy\": \"0x10000000000000000\"}}", "is not a number"},
		{"{\"tdx\": {\"mrowner\": \"abcd\"}}", "tdx.mrowner: expected 96 hex digits"},
		{"{\"guest_challenge\": \"00\"}", "guest_challenge: expected 128 hex digits"},
		{"{\"state_dir\": \"\"}", "state_dir: empty"},
		{"{\"snp\": {\"author_key\": 1}}", "snp.author_key: expected true or false"},
		{"{\"snp.policy\": 1}", "unknown key \"snp.policy\""},
	};
	for (size_t i = 0; i < VG_ARRAY_SIZE(bad); i++)
		expect_rejected(bad[i].json, bad[i].msg);
}

/* What KVM or the firmware would refuse is refused by validation, before anything starts. */
static void test_launch_validate(void **state)
{
	(void)state;
	static const struct {
		const char *platform, *key, *value, *msg;
	} bad[] = {
		{"sim-snp", "snp.policy", "0x130000", "snp.policy: SNP policy 0x130000: SINGLE_SOCKET"},
		{"snp", "snp.guest_features", "0x4", "SNPActive (bit 0) must be set"},
		{"sim-snp", "snp.vcpu_type", "Pentium-II", "snp.vcpu_type"},
		{"sim-snp", "snp.id_block", "/bin/sh", "snp.id_block and snp.id_auth go together"},
		{"sim-snp", "snp.author_key", "true", "snp.author_key needs snp.id_block"},
		{"sim-tdx", "tdx.xfam", "0x4", "tdx.xfam 0x4: x87 and SSE"},
		{"tdx", "tdx.qgs_socket", "/bin/sh", "tdx.qgs_socket /bin/sh: not a socket"},
		{"none", "snp.host_data", "0000000000000000000000000000000000000000000000000000000000000000",
		 "platform \"none\" reads none"},
		{"snp", "guest_challenge",
		 "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
		 "guest_challenge: platform \"snp\" has no guest-request device"},
		{"sim-snp", "state_dir", "/bin/sh", "state_dir /bin/sh: not a directory"},
	};
	for (size_t i = 0; i < VG_ARRAY_SIZE(bad); i++) {
		struct vmm_config c;
		vmm_config_init(&c);
		struct vg_err err = {0};
		assert_int_equal(vmm_config_set(&c, "firmware", "/bin/sh", &err), 0);
		assert_int_equal(vmm_config_set(&c, "platform", bad[i].platform, &err), 0);
		assert_int_equal(vmm_config_validate(&c, &err), 0);
		assert_int_equal(vmm_config_set(&c, bad[i].key, bad[i].value, &err), 0);
		assert_int_not_equal(vmm_config_validate(&c, &err), 0);
		if (!strstr(err.msg, bad[i].msg))
			fail_msg("%s=%s: got \"%s\", want \"%s\"", bad[i].key, bad[i].value, err.msg, bad[i].msg);
		vmm_config_free(&c);
	}
	/* ID block and auth of the wrong size. */
	char blk[] = "/tmp/test_config_idb.XXXXXX", auth[] = "/tmp/test_config_ida.XXXXXX";
	int fb = mkstemp(blk), fa = mkstemp(auth);
	assert_true(fb >= 0 && fa >= 0);
	static uint8_t zero[4096];
	assert_int_equal(write(fb, zero, 96), 96);
	assert_int_equal(write(fa, zero, 100), 100);
	close(fb);
	close(fa);
	struct vmm_config c;
	vmm_config_init(&c);
	struct vg_err err = {0};
	assert_int_equal(vmm_config_set(&c, "firmware", "/bin/sh", &err), 0);
	assert_int_equal(vmm_config_set(&c, "platform", "sim-snp", &err), 0);
	assert_int_equal(vmm_config_set(&c, "snp.id_block", blk, &err), 0);
	assert_int_equal(vmm_config_set(&c, "snp.id_auth", auth, &err), 0);
	assert_int_equal(vmm_config_validate(&c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "100 bytes, must be 4096"));
	vmm_config_free(&c);
	unlink(blk);
	unlink(auth);
}

/* Every flag names a key vmm_config_set knows; the brief's common ones exist. */
static void test_flags(void **state)
{
	(void)state;
	struct vmm_config_flag f;
	const char *want[] = {"state-dir", "guest-challenge", "snp-policy", "host-data", "guest-features",
			      "mrconfigid", "tdx-attributes", "qgs-socket", "vcpus", "firmware", "max-reboots"};
	unsigned seen = 0;
	for (size_t i = 0; vmm_config_flag_at(i, &f); i++) {
		for (size_t k = 0; k < VG_ARRAY_SIZE(want); k++)
			seen += strcmp(f.flag, want[k]) == 0;
		struct vmm_config c;
		vmm_config_init(&c);
		struct vg_err err = {0};
		if (vmm_config_set(&c, f.key, f.boolean ? "true" : "x", &err) && strstr(err.msg, "unknown setting"))
			fail_msg("flag --%s: key %s unknown", f.flag, f.key);
		vmm_config_free(&c);
	}
	assert_int_equal(seen, VG_ARRAY_SIZE(want));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),      cmocka_unit_test(test_json_ok),
		cmocka_unit_test(test_json_rejects),  cmocka_unit_test(test_cmdline_limit),
		cmocka_unit_test(test_validate),      cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_launch_inputs), cmocka_unit_test(test_launch_validate),
		cmocka_unit_test(test_flags),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
