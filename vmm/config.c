/* Configuration: vm.json (jansson) and the command-line flags share one
 * table of settings; everything is checked before anything starts. */
#include "vmm/vmm.h"

#include "sev/sev.h"
#include "tdx/tdx.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum key_type { K_UINT, K_U64, K_HEX, K_STRING, K_BOOL, K_FWCFG };

struct key {
	const char *name;      /* dotted inside the "snp" / "tdx" objects */
	enum key_type type;
	size_t off;
	uint64_t min, max;     /* K_UINT, K_U64; K_HEX: max = bytes */
	size_t flag_off;       /* a bool set when the key is given, or NOFLAG */
	const char *flag;      /* its vigil-vmm flag without "--", or NULL */
};

#define OFF(f) offsetof(struct vmm_config, f)
#define NOFLAG SIZE_MAX
#define SNP OFF(snp.set)
#define TDX OFF(tdx.set)
static const struct key keys[] = {
	{"vcpus", K_UINT, OFF(vcpus), 1, VMM_MAX_VCPUS, NOFLAG, "vcpus"},
	{"memory_mib", K_UINT, OFF(memory_mib), VMM_MIN_MEMORY_MIB, VMM_MAX_MEMORY_MIB, NOFLAG, "memory-mib"},
	{"firmware", K_STRING, OFF(firmware), 0, 0, NOFLAG, "firmware"},
	{"kernel", K_STRING, OFF(kernel), 0, 0, NOFLAG, "kernel"},
	{"initrd", K_STRING, OFF(initrd), 0, 0, NOFLAG, "initrd"},
	{"cmdline", K_STRING, OFF(cmdline), 0, 0, NOFLAG, "cmdline"},
	{"serial", K_STRING, OFF(serial), 0, 0, NOFLAG, "serial"},
	{"vtpm_state", K_STRING, OFF(vtpm_state), 0, 0, NOFLAG, "vtpm-state"},
	{"vtpm_key_file", K_STRING, OFF(vtpm_key_file), 0, 0, NOFLAG, "vtpm-key-file"},
	{"platform", K_STRING, OFF(platform), 0, 0, NOFLAG, "platform"},
	{"accel", K_STRING, OFF(accel), 0, 0, NOFLAG, "accel"},
	{"chroot", K_STRING, OFF(chroot_dir), 0, 0, NOFLAG, "chroot"},
	{"user", K_STRING, OFF(user), 0, 0, NOFLAG, "user"},
	{"hugepages", K_BOOL, OFF(hugepages), 0, 0, NOFLAG, NULL},
	{"vtpm", K_BOOL, OFF(vtpm), 0, 0, NOFLAG, NULL},
	{"sandbox", K_BOOL, OFF(sandbox), 0, 0, NOFLAG, NULL},
	{"max_reboots", K_UINT, OFF(max_reboots), 0, 1000000, NOFLAG, "max-reboots"},
	{"state_dir", K_STRING, OFF(state_dir), 0, 0, NOFLAG, "state-dir"},
	{"guest_challenge", K_HEX, OFF(guest_challenge), 0, VMM_CHALLENGE_SIZE, OFF(has_guest_challenge), "guest-challenge"},
	{"snp.policy", K_U64, OFF(snp.policy), 0, UINT64_MAX, SNP, "snp-policy"},
	{"snp.guest_features", K_U64, OFF(snp.guest_features), 0, UINT64_MAX, SNP, "guest-features"},
	{"snp.host_data", K_HEX, OFF(snp.host_data), 0, 32, SNP, "host-data"},
	{"snp.vcpu_type", K_STRING, OFF(snp.vcpu_type), 0, 0, SNP, "vcpu-type"},
	{"snp.id_block", K_STRING, OFF(snp.id_block), 0, 0, SNP, "id-block"},
	{"snp.id_auth", K_STRING, OFF(snp.id_auth), 0, 0, SNP, "id-auth"},
	{"snp.author_key", K_BOOL, OFF(snp.author_key), 0, 0, SNP, "author-key"},
	{"tdx.attributes", K_U64, OFF(tdx.attributes), 0, UINT64_MAX, TDX, "tdx-attributes"},
	{"tdx.xfam", K_U64, OFF(tdx.xfam), 0, UINT64_MAX, TDX, "xfam"},
	{"tdx.mrconfigid", K_HEX, OFF(tdx.mrconfigid), 0, 48, TDX, "mrconfigid"},
	{"tdx.mrowner", K_HEX, OFF(tdx.mrowner), 0, 48, TDX, "mrowner"},
	{"tdx.mrownerconfig", K_HEX, OFF(tdx.mrownerconfig), 0, 48, TDX, "mrownerconfig"},
	{"tdx.qgs_socket", K_STRING, OFF(tdx.qgs_socket), 0, 0, TDX, "qgs-socket"},
	{"fw_cfg", K_FWCFG, OFF(fw_cfg), 0, 0, NOFLAG, "fw-cfg"},
};
/* JSON objects whose members are the dotted keys above. */
static const char *const sections[] = {"snp", "tdx"};

void vmm_config_init(struct vmm_config *c)
{
	memset(c, 0, sizeof(*c));
	c->vcpus = 1;
	c->memory_mib = 128;
	c->sandbox = true;
	c->max_reboots = VMM_DEFAULT_MAX_REBOOTS;
	c->snp.policy = SEV_SNP_POLICY_VIGIL_DEFAULT;
	c->snp.guest_features = SEV_FEATURE_SNP_ACTIVE;
	c->tdx.attributes = TDX_ATTR_SEPT_VE_DISABLE;
	c->tdx.xfam = TDX_XFAM_DEFAULT;
}

void vmm_config_free(struct vmm_config *c)
{
	for (size_t i = 0; i < VG_ARRAY_SIZE(keys); i++)
		if (keys[i].type == K_STRING) {
			char **p = (char **)((char *)c + keys[i].off);
			free(*p);
			*p = NULL;
		}
	for (unsigned i = 0; i < c->n_fw_cfg; i++) {
		free(c->fw_cfg[i].name);
		free(c->fw_cfg[i].file);
		free(c->fw_cfg[i].string);
	}
	c->n_fw_cfg = 0;
	vg_secure_zero(c->guest_challenge, sizeof(c->guest_challenge));
}

static const struct key *find_key(const char *name)
{
	for (size_t i = 0; i < VG_ARRAY_SIZE(keys); i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static void mark(struct vmm_config *c, const struct key *k)
{
	if (k->flag_off != NOFLAG)
		*(bool *)((char *)c + k->flag_off) = true;
}

static int set_uint(struct vmm_config *c, const struct key *k, uint64_t v, const char *what, struct vg_err *err)
{
	if (v < k->min || v > k->max)
		return vg_err_set(err, ERANGE, "%s: %llu is out of range (%llu..%llu)", what,
				  (unsigned long long)v, (unsigned long long)k->min, (unsigned long long)k->max);
	if (k->off == OFF(vcpus))
		c->vcpus = (unsigned)v;
	else
		*(uint64_t *)((char *)c + k->off) = v;
	mark(c, k);
	return 0;
}

static int set_string(struct vmm_config *c, const struct key *k, const char *v, size_t len, const char *what,
		      struct vg_err *err)
{
	if (strlen(v) != len)
		return vg_err_set(err, EINVAL, "%s: contains a NUL byte", what);
	if (len == 0)
		return vg_err_set(err, EINVAL, "%s: empty", what);
	if (k->off == OFF(cmdline) ? len > VMM_MAX_CMDLINE : len > 4096)
		return vg_err_set(err, ENAMETOOLONG, "%s: too long (%zu bytes)", what, len);
	char *d = strdup(v);
	if (!d)
		return vg_err_set(err, ENOMEM, "out of memory");
	char **p = (char **)((char *)c + k->off);
	free(*p);
	*p = d;
	mark(c, k);
	return 0;
}

/* A fixed number of bytes as hex digits (an optional 0x prefix allowed). */
static int set_hex(struct vmm_config *c, const struct key *k, const char *v, size_t len, const char *what,
		   struct vg_err *err)
{
	size_t n = (size_t)k->max;
	if (len >= 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X'))
		v += 2, len -= 2;
	struct vg_err ignored = {0};
	uint8_t buf[VMM_CHALLENGE_SIZE];
	if (n > sizeof(buf) || strlen(v) != len || len != 2 * n || vg_hex_decode(v, buf, n, &ignored)) {
		vg_secure_zero(buf, sizeof(buf));
		return vg_err_set(err, EINVAL, "%s: expected %zu hex digits (%zu bytes), got %zu characters", what,
				  2 * n, n, len);
	}
	memcpy((char *)c + k->off, buf, n); /* all or nothing */
	vg_secure_zero(buf, sizeof(buf));
	mark(c, k);
	return 0;
}

/* One --fw-cfg item (name, and exactly one of file and string), appended. */
static int fw_cfg_item_add(struct vmm_config *c, const char *name, const char *file, const char *string,
			   const char *what, struct vg_err *err)
{
	if (!name || !*name)
		return vg_err_set(err, EINVAL, "%s: no item name (name=opt/...)", what);
	if (strncmp(name, "opt/", 4) != 0 || !name[4])
		return vg_err_set(err, EINVAL, "%s: item name \"%s\" must start with \"opt/\" (the VMM's own items are etc/...)",
				  what, name);
	if (strlen(name) > VMM_FW_CFG_NAME_MAX)
		return vg_err_set(err, ENAMETOOLONG, "%s: item name \"%.60s...\" is longer than %d bytes", what, name,
				  VMM_FW_CFG_NAME_MAX);
	for (const char *p = name; *p; p++)
		if (*p <= ' ' || *p > '~')
			return vg_err_set(err, EINVAL, "%s: item name \"%s\" has a space or a non-printable byte", what, name);
	if (!file == !string)
		return vg_err_set(err, EINVAL, "%s: item %s needs exactly one of file= and string=", what, name);
	if (file && !*file)
		return vg_err_set(err, EINVAL, "%s: item %s: empty file name", what, name);
	if (string && strlen(string) > VMM_FW_CFG_USER_MAX)
		return vg_err_set(err, E2BIG, "%s: item %s: string longer than %u bytes", what, name, VMM_FW_CFG_USER_MAX);
	for (unsigned i = 0; i < c->n_fw_cfg; i++)
		if (strcmp(c->fw_cfg[i].name, name) == 0)
			return vg_err_set(err, EEXIST, "%s: item %s given twice", what, name);
	if (c->n_fw_cfg == VMM_MAX_FW_CFG_USER)
		return vg_err_set(err, ENOSPC, "%s: more than %d fw_cfg items", what, VMM_MAX_FW_CFG_USER);
	struct vmm_fw_cfg_user u = {strdup(name), file ? strdup(file) : NULL, string ? strdup(string) : NULL};
	if (!u.name || (file && !u.file) || (string && !u.string)) {
		free(u.name), free(u.file), free(u.string);
		return vg_err_set(err, ENOMEM, "out of memory");
	}
	c->fw_cfg[c->n_fw_cfg++] = u;
	return 0;
}

/* QEMU's -fw_cfg syntax: [name=]NAME,file=PATH or [name=]NAME,string=TEXT; a comma
 * inside a value is written twice (",,"). */
static int fw_cfg_item_parse(struct vmm_config *c, const char *v, size_t len, const char *what, struct vg_err *err)
{
	if (strlen(v) != len)
		return vg_err_set(err, EINVAL, "%s: contains a NUL byte", what);
	char *buf = malloc(len + 1);
	if (!buf)
		return vg_err_set(err, ENOMEM, "out of memory");
	char *fields[3] = {NULL, NULL, NULL}; /* name, file, string */
	int rc = 0;
	size_t i = 0, o = 0;
	for (unsigned tok = 0; !rc && i <= len; tok++) {
		char *start = buf + o;
		for (; i < len; i++) { /* one token, ",," unescaped */
			if (v[i] == ',' && i + 1 < len && v[i + 1] == ',')
				buf[o++] = ',', i++;
			else if (v[i] == ',')
				break;
			else
				buf[o++] = v[i];
		}
		buf[o++] = 0;
		i++;
		char *eq = strchr(start, '=');
		int slot = -1;
		if (eq && !strncmp(start, "name=", 5))
			slot = 0;
		else if (eq && !strncmp(start, "file=", 5))
			slot = 1;
		else if (eq && !strncmp(start, "string=", 7))
			slot = 2;
		else if (!eq && tok == 0)
			slot = 0, eq = start - 1;
		if (slot < 0)
			rc = vg_err_set(err, EINVAL, "%s: \"%.40s\": expected name=, file= or string=", what, start);
		else if (fields[slot])
			rc = vg_err_set(err, EINVAL, "%s: %.*s given twice", what, (int)(eq - start), start);
		else
			fields[slot] = eq + 1;
	}
	if (!rc)
		rc = fw_cfg_item_add(c, fields[0], fields[1], fields[2], what, err);
	free(buf);
	return rc;
}

/* vm.json "fw_cfg": an array of {"name": ..., "file": ...} / {"name": ..., "string": ...}. */
static int fw_cfg_items_json(struct vmm_config *c, json_t *v, const char *what, struct vg_err *err)
{
	if (!json_is_array(v))
		return vg_err_set(err, EINVAL, "%s: expected an array of {\"name\", \"file\" or \"string\"}", what);
	size_t i;
	json_t *e;
	json_array_foreach(v, i, e) {
		const char *k;
		json_t *m;
		if (!json_is_object(e))
			return vg_err_set(err, EINVAL, "%s[%zu]: expected an object", what, i);
		json_object_foreach(e, k, m) {
			if ((strcmp(k, "name") && strcmp(k, "file") && strcmp(k, "string")) || !json_is_string(m) ||
			    strlen(json_string_value(m)) != json_string_length(m))
				return vg_err_set(err, EINVAL, "%s[%zu]: \"%s\": expected name, file or string, as strings",
						  what, i, k);
		}
		char label[300];
		snprintf(label, sizeof(label), "%s[%zu]", what, i);
		int rc = fw_cfg_item_add(c, json_string_value(json_object_get(e, "name")),
					 json_string_value(json_object_get(e, "file")),
					 json_string_value(json_object_get(e, "string")), label, err);
		if (rc)
			return rc;
	}
	return 0;
}

static int set_from_string(struct vmm_config *c, const struct key *k, const char *v, size_t len,
			   const char *what, struct vg_err *err)
{
	uint64_t u;
	switch (k->type) {
	case K_UINT:
	case K_U64:
		if (strlen(v) != len || vg_parse_u64(v, UINT64_MAX, &u, NULL))
			return vg_err_set(err, EINVAL, "%s: \"%s\" is not a number", what, v);
		return set_uint(c, k, u, what, err);
	case K_HEX:
		return set_hex(c, k, v, len, what, err);
	case K_STRING:
		return set_string(c, k, v, len, what, err);
	case K_BOOL:
		if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
			*(bool *)((char *)c + k->off) = true;
		else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
			*(bool *)((char *)c + k->off) = false;
		else
			return vg_err_set(err, EINVAL, "%s: expected true or false", what);
		mark(c, k);
		return 0;
	case K_FWCFG:
		return fw_cfg_item_parse(c, v, len, what, err);
	}
	return 0;
}

static int set_json(struct vmm_config *c, const struct key *k, json_t *v, const char *what, struct vg_err *err)
{
	switch (k->type) {
	case K_UINT:
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return vg_err_set(err, EINVAL, "%s: expected a non-negative integer", what);
		return set_uint(c, k, (uint64_t)json_integer_value(v), what, err);
	case K_U64: /* 64-bit masks: an integer, or a string such as "0x30000" */
		if (json_is_integer(v) && json_integer_value(v) >= 0)
			return set_uint(c, k, (uint64_t)json_integer_value(v), what, err);
		if (json_is_string(v))
			return set_from_string(c, k, json_string_value(v), json_string_length(v), what, err);
		return vg_err_set(err, EINVAL, "%s: expected a non-negative integer or a \"0x...\" string",
				  what);
	case K_HEX:
	case K_STRING:
		if (!json_is_string(v))
			return vg_err_set(err, EINVAL, "%s: expected a string", what);
		return set_from_string(c, k, json_string_value(v), json_string_length(v), what, err);
	case K_BOOL:
		if (!json_is_boolean(v))
			return vg_err_set(err, EINVAL, "%s: expected true or false", what);
		*(bool *)((char *)c + k->off) = json_is_true(v);
		mark(c, k);
		return 0;
	case K_FWCFG:
		return fw_cfg_items_json(c, v, what, err);
	}
	return 0;
}

static bool is_section(const char *name)
{
	for (size_t i = 0; i < VG_ARRAY_SIZE(sections); i++)
		if (strcmp(sections[i], name) == 0)
			return true;
	return false;
}

/* The members of obj; prefix is "" at the top level or "snp." inside an object. */
static int parse_object(struct vmm_config *c, json_t *obj, const char *prefix, const char *what, struct vg_err *err)
{
	const char *name;
	json_t *v;
	json_object_foreach(obj, name, v) {
		char full[128];
		if (snprintf(full, sizeof(full), "%s%s", prefix, name) >= (int)sizeof(full))
			return vg_err_set(err, EINVAL, "%s: key \"%.40s...\" is too long", what, name);
		if (!*prefix && is_section(name)) {
			if (!json_is_object(v))
				return vg_err_set(err, EINVAL, "%s: %s: expected an object", what, name);
			char sub[16];
			snprintf(sub, sizeof(sub), "%s.", name);
			int rc = parse_object(c, v, sub, what, err);
			if (rc)
				return rc;
			continue;
		}
		const struct key *k = strchr(name, '.') ? NULL : find_key(full); /* "snp.x" only inside "snp" */
		if (!k)
			return vg_err_set(err, EINVAL, "%s: unknown key \"%s\"", what, full);
		char label[400];
		snprintf(label, sizeof(label), "%s: %s", what, full);
		int rc = set_json(c, k, v, label, err);
		if (rc)
			return rc;
	}
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
	int rc = parse_object(c, root, "", what, err);
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
	vg_secure_zero(data, len); /* may hold the guest challenge */
	free(data);
	return rc;
}

int vmm_config_set(struct vmm_config *c, const char *key, const char *value, struct vg_err *err)
{
	const struct key *k = find_key(key);
	if (!k)
		return vg_err_set(err, EINVAL, "unknown setting %s", key);
	char label[64];
	snprintf(label, sizeof(label), "--%s", k->flag ? k->flag : k->name);
	return set_from_string(c, k, value, strlen(value), label, err);
}

bool vmm_config_flag_at(size_t i, struct vmm_config_flag *out)
{
	for (size_t k = 0; k < VG_ARRAY_SIZE(keys); k++) {
		if (!keys[k].flag)
			continue;
		if (i-- == 0) {
			*out = (struct vmm_config_flag){keys[k].flag, keys[k].name, keys[k].type == K_BOOL};
			return true;
		}
	}
	return false;
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

static int need_size(const char *key, const char *path, off_t size, struct vg_err *err)
{
	struct stat st;
	int rc = need_file(key, path, err);
	if (!rc && stat(path, &st) == 0 && st.st_size != size)
		rc = vg_err_set(err, EINVAL, "%s %s: %lld bytes, must be %lld", key, path, (long long)st.st_size,
				(long long)size);
	return rc;
}

/* The platforms' launch inputs: each must be one the platform reads, and what
 * KVM and the firmware would refuse is refused now, before anything starts. */
static int validate_launch(const struct vmm_config *c, struct vg_err *err)
{
	const struct vmm_platform_ops *p = vmm_platform_find(c->platform ? c->platform : "none");
	const char *pname = c->platform ? c->platform : "none";
	const char *section = p ? p->config_section : NULL;
	int rc;
	if (c->snp.set && (!section || strcmp(section, "snp")))
		return vg_err_set(err, EINVAL, "SNP launch settings (snp.*) given, but platform \"%s\" reads none", pname);
	if (c->tdx.set && (!section || strcmp(section, "tdx")))
		return vg_err_set(err, EINVAL, "TDX launch settings (tdx.*) given, but platform \"%s\" reads none", pname);
	if (c->has_guest_challenge && p && !p->guest_request)
		return vg_err_set(err, EINVAL, "guest_challenge: platform \"%s\" has no guest-request device", pname);
	if (section && !strcmp(section, "snp")) {
		if (!(c->snp.guest_features & SEV_FEATURE_SNP_ACTIVE))
			return vg_err_set(err, EINVAL, "snp.guest_features 0x%llx: SNPActive (bit 0) must be set",
					  (unsigned long long)c->snp.guest_features);
		if ((rc = sev_snp_policy_check(c->snp.policy, err)))
			return vg_err_prefix(err, "snp.policy");
		uint32_t sig;
		if (c->snp.vcpu_type && (rc = sev_vcpu_type_lookup(c->snp.vcpu_type, &sig, err)))
			return vg_err_prefix(err, "snp.vcpu_type");
		if (!c->snp.id_block != !c->snp.id_auth)
			return vg_err_set(err, EINVAL, "snp.id_block and snp.id_auth go together");
		if (c->snp.author_key && !c->snp.id_block)
			return vg_err_set(err, EINVAL, "snp.author_key needs snp.id_block and snp.id_auth");
		if (c->snp.id_block && ((rc = need_size("snp.id_block", c->snp.id_block, 96, err)) ||
					(rc = need_size("snp.id_auth", c->snp.id_auth, 4096, err))))
			return rc;
	}
	if (section && !strcmp(section, "tdx")) {
		if ((c->tdx.xfam & 0x3) != 0x3)
			return vg_err_set(err, EINVAL, "tdx.xfam 0x%llx: x87 and SSE (bits 0, 1) must be set",
					  (unsigned long long)c->tdx.xfam);
		struct stat st;
		if (c->tdx.qgs_socket && (stat(c->tdx.qgs_socket, &st) < 0 || !S_ISSOCK(st.st_mode)))
			return vg_err_set(err, errno ? errno : ENOTSOCK, "tdx.qgs_socket %s: not a socket",
					  c->tdx.qgs_socket);
	}
	if (c->state_dir) {
		struct stat st;
		if (stat(c->state_dir, &st) == 0 && !S_ISDIR(st.st_mode))
			return vg_err_set(err, ENOTDIR, "state_dir %s: not a directory", c->state_dir);
	}
	return 0;
}

int vmm_config_validate(const struct vmm_config *c, struct vg_err *err)
{
	int rc;
	if (!c->firmware && !c->kernel)
		return vg_err_set(err, EINVAL, "nothing to boot: give --firmware or --kernel");
	const struct vmm_platform_ops *plat = vmm_platform_find(c->platform ? c->platform : "none");
	if (c->firmware && c->kernel && !(plat && (plat->flags & VMM_PLAT_MEASURED_KERNEL)))
		return vg_err_set(err, EINVAL, "--firmware and --kernel are exclusive (give one boot source; "
				  "measured direct boot of a kernel through the firmware is for snp, sim-snp, tdx and "
				  "sim-tdx)");
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
	if (c->n_fw_cfg && !c->firmware)
		return vg_err_set(err, EINVAL, "--fw-cfg needs --firmware (fw_cfg items are for the firmware)");
	for (unsigned i = 0; i < c->n_fw_cfg; i++) {
		struct stat st;
		const char *f = c->fw_cfg[i].file;
		if (f && (rc = need_file("fw_cfg file", f, err)))
			return vg_err_prefix(err, "%s", c->fw_cfg[i].name);
		if (f && stat(f, &st) == 0 && st.st_size > (off_t)VMM_FW_CFG_USER_MAX)
			return vg_err_set(err, E2BIG, "%s: fw_cfg file %s: %lld bytes, more than %u", c->fw_cfg[i].name, f,
					  (long long)st.st_size, VMM_FW_CFG_USER_MAX);
	}
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
	if (c->accel && strcmp(c->accel, "kvm") && strcmp(c->accel, "emu") && strcmp(c->accel, "auto"))
		return vg_err_set(err, EINVAL, "accel \"%s\" is unknown (known: kvm, emu, auto)", c->accel);
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
	if ((rc = validate_launch(c, err)))
		return rc;
	if (c->memory_mib > VMM_MAX_MEMORY_MIB || c->vcpus < 1 || c->vcpus > VMM_MAX_VCPUS)
		return vg_err_set(err, ERANGE, "vcpus or memory_mib out of range");
	return 0;
}
