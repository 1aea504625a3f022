/* Configuration: vm.json (jansson) and the command-line flags share one
 * table of settings; everything is checked before anything starts. */
#include "vmm/vmm.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum key_type { K_UINT, K_STRING, K_BOOL };

struct key {
	const char *name;
	enum key_type type;
	size_t off;
	uint64_t min, max; /* K_UINT */
};

#define OFF(f) offsetof(struct vmm_config, f)
static const struct key keys[] = {
	{"vcpus", K_UINT, OFF(vcpus), 1, VMM_MAX_VCPUS},
	{"memory_mib", K_UINT, OFF(memory_mib), VMM_MIN_MEMORY_MIB, VMM_MAX_MEMORY_MIB},
	{"firmware", K_STRING, OFF(firmware), 0, 0},
	{"kernel", K_STRING, OFF(kernel), 0, 0},
	{"initrd", K_STRING, OFF(initrd), 0, 0},
	{"cmdline", K_STRING, OFF(cmdline), 0, 0},
	{"serial", K_STRING, OFF(serial), 0, 0},
	{"vtpm_state", K_STRING, OFF(vtpm_state), 0, 0},
	{"vtpm_key_file", K_STRING, OFF(vtpm_key_file), 0, 0},
	{"platform", K_STRING, OFF(platform), 0, 0},
	{"chroot", K_STRING, OFF(chroot_dir), 0, 0},
	{"user", K_STRING, OFF(user), 0, 0},
	{"hugepages", K_BOOL, OFF(hugepages), 0, 0},
	{"vtpm", K_BOOL, OFF(vtpm), 0, 0},
	{"sandbox", K_BOOL, OFF(sandbox), 0, 0},
};

void vmm_config_init(struct vmm_config *c)
{
	memset(c, 0, sizeof(*c));
	c->vcpus = 1;
	c->memory_mib = 128;
	c->sandbox = true;
}

void vmm_config_free(struct vmm_config *c)
{
	for (size_t i = 0; i < VG_ARRAY_SIZE(keys); i++)
		if (keys[i].type == K_STRING) {
			char **p = (char **)((char *)c + keys[i].off);
			free(*p);
			*p = NULL;
		}
}

static const struct key *find_key(const char *name)
{
	for (size_t i = 0; i < VG_ARRAY_SIZE(keys); i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static int set_uint(struct vmm_config *c, const struct key *k, uint64_t v, const char *what, struct vg_err *err)
{
	if (v < k->min || v > k->max)
		return vg_err_set(err, ERANGE, "%s%s: %llu is out of range (%llu..%llu)", what, k->name,
				  (unsigned long long)v, (unsigned long long)k->min, (unsigned long long)k->max);
	if (k->off == OFF(vcpus))
		c->vcpus = (unsigned)v;
	else
		*(uint64_t *)((char *)c + k->off) = v;
	return 0;
}

static int set_string(struct vmm_config *c, const struct key *k, const char *v, size_t len, const char *what,
		      struct vg_err *err)
{
	if (strlen(v) != len)
		return vg_err_set(err, EINVAL, "%s%s: contains a NUL byte", what, k->name);
	if (len == 0)
		return vg_err_set(err, EINVAL, "%s%s: empty", what, k->name);
	if (k->off == OFF(cmdline) ? len > VMM_MAX_CMDLINE : len > 4096)
		return vg_err_set(err, ENAMETOOLONG, "%s%s: too long (%zu bytes)", what, k->name, len);
	char *d = strdup(v);
	if (!d)
		return vg_err_set(err, ENOMEM, "out of memory");
	char **p = (char **)((char *)c + k->off);
	free(*p);
	*p = d;
	return 0;
}

int vmm_config_parse_json(struct vmm_config *c, const char *json, size_t len, const char *what, struct vg_err *err)
{
	json_error_t je;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return vg_err_set(err, EINVAL, "%s: line %d column %d: %s", what, je.line, je.column, je.text);
	if (!json_is_object(root)) {
		json_decref(root);
		return vg_err_set(err, EINVAL, "%s: not a JSON object", what);
	}
	char prefix[300];
	snprintf(prefix, sizeof(prefix), "%s: ", what);
	int rc = 0;
	const char *name;
	json_t *v;
	json_object_foreach(root, name, v) {
		const struct key *k = find_key(name);
		if (!k) {
			rc = vg_err_set(err, EINVAL, "%s: unknown key \"%s\"", what, name);
			break;
		}
		switch (k->type) {
		case K_UINT:
			if (!json_is_integer(v) || json_integer_value(v) < 0)
				rc = vg_err_set(err, EINVAL, "%s: %s: expected a non-negative integer", what, name);
			else
				rc = set_uint(c, k, (uint64_t)json_integer_value(v), prefix, err);
			break;
		case K_STRING:
			if (!json_is_string(v))
				rc = vg_err_set(err, EINVAL, "%s: %s: expected a string", what, name);
			else
				rc = set_string(c, k, json_string_value(v), json_string_length(v), prefix, err);
			break;
		case K_BOOL:
			if (!json_is_boolean(v))
				rc = vg_err_set(err, EINVAL, "%s: %s: expected true or false", what, name);
			else
				*(bool *)((char *)c + k->off) = json_is_true(v);
			break;
		}
		if (rc)
			break;
	}
	json_decref(root);
	return rc;
}

int vmm_config_load_file(struct vmm_config *c, const char *path, struct vg_err *err)
{
	uint8_t *data;
	size_t len;
	int rc = vg_read_file(path, 1 << 20, &data, &len, err);
	if (rc)
		return rc;
	rc = vmm_config_parse_json(c, (const char *)data, len, path, err);
	free(data);
	return rc;
}

int vmm_config_set(struct vmm_config *c, const char *key, const char *value, struct vg_err *err)
{
	const struct key *k = find_key(key);
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "--");
	if (!k)
		return vg_err_set(err, EINVAL, "unknown setting %s", key);
	uint64_t v;
	switch (k->type) {
	case K_UINT:
		if (vg_parse_u64(value, UINT64_MAX, &v, NULL))
			return vg_err_set(err, EINVAL, "--%s: \"%s\" is not a number", key, value);
		return set_uint(c, k, v, prefix, err);
	case K_STRING:
		return set_string(c, k, value, strlen(value), prefix, err);
	case K_BOOL:
		if (strcmp(value, "true") == 0 || strcmp(value, "1") == 0)
			*(bool *)((char *)c + k->off) = true;
		else if (strcmp(value, "false") == 0 || strcmp(value, "0") == 0)
			*(bool *)((char *)c + k->off) = false;
		else
			return vg_err_set(err, EINVAL, "--%s: expected true or false", key);
		return 0;
	}
	return 0;
}

static int need_file(const char *key, const char *path, struct vg_err *err)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return vg_err_set(err, errno, "%s %s: %s", key, path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return vg_err_set(err, EINVAL, "%s %s: not a regular file", key, path);
	if (access(path, R_OK) < 0)
		return vg_err_set(err, errno, "%s %s: %s", key, path, strerror(errno));
	return 0;
}

const char *vmm_jail_path(const char *jail, const char *path)
{
	if (!jail)
		return path;
	size_t n = strlen(jail);
	while (n > 1 && jail[n - 1] == '/')
		n--;
	if (!path || strncmp(path, jail, n) != 0 || path[n] != '/' || strstr(path, "/../"))
		return NULL;
	return path + n;
}

int vmm_config_validate(const struct vmm_config *c, struct vg_err *err)
{
	int rc;
	if (!c->firmware && !c->kernel)
		return vg_err_set(err, EINVAL, "nothing to boot: give --firmware or --kernel");
	if (c->firmware && c->kernel)
		return vg_err_set(err, EINVAL, "--firmware and --kernel are exclusive (give one boot source)");
	if ((c->initrd || c->cmdline) && !c->kernel)
		return vg_err_set(err, EINVAL, "--initrd and --cmdline need --kernel");
	if (c->firmware && (rc = need_file("firmware", c->firmware, err)))
		return rc;
	if (c->kernel && (rc = need_file("kernel", c->kernel, err)))
		return rc;
	if (c->initrd && (rc = need_file("initrd", c->initrd, err)))
		return rc;
	if (c->vtpm_key_file && (rc = need_file("vtpm_key_file", c->vtpm_key_file, err)))
		return rc;
	if ((c->vtpm || c->vtpm_state || c->vtpm_key_file) && (!c->vtpm_state || !c->vtpm_key_file))
		return vg_err_set(err, EINVAL, "a vTPM needs both --vtpm-state DIR and --vtpm-key-file FILE");
	if (c->vtpm_state) {
		struct stat st;
		if (stat(c->vtpm_state, &st) == 0 && !S_ISDIR(st.st_mode))
			return vg_err_set(err, ENOTDIR, "vtpm_state %s: not a directory", c->vtpm_state);
	}
	if (c->chroot_dir && c->vtpm_state && (!vmm_jail_path(c->chroot_dir, c->vtpm_state) ||
					       !vmm_jail_path(c->chroot_dir, c->vtpm_key_file)))
		return vg_err_set(err, EINVAL, "with --chroot %s, the vTPM state and key must lie inside it",
				  c->chroot_dir);
	if (c->platform && !vmm_platform_find(c->platform))
		return vg_err_set(err, EINVAL, "platform \"%s\" is unknown (known: %s)", c->platform,
				  vmm_platform_names());
	if (c->serial && strcmp(c->serial, "stdout") && strcmp(c->serial, "none")) {
		struct stat st;
		if (stat(c->serial, &st) == 0 && S_ISDIR(st.st_mode))
			return vg_err_set(err, EISDIR, "serial %s: is a directory", c->serial);
	}
	if (c->chroot_dir) {
		struct stat st;
		if (stat(c->chroot_dir, &st) < 0 || !S_ISDIR(st.st_mode))
			return vg_err_set(err, ENOTDIR, "chroot %s: not a directory", c->chroot_dir);
	}
	if (c->user) {
		uid_t uid;
		gid_t gid;
		if ((rc = vmm_resolve_user(c->user, &uid, &gid, err)))
			return rc;
	}
	if ((c->chroot_dir || c->user) && !c->sandbox)
		return vg_err_set(err, EINVAL, "--chroot and --user are part of the sandbox; they need it on");
	if (c->memory_mib > VMM_MAX_MEMORY_MIB || c->vcpus < 1 || c->vcpus > VMM_MAX_VCPUS)
		return vg_err_set(err, ERANGE, "vcpus or memory_mib out of range");
	return 0;
}
