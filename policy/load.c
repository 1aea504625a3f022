/*
 * Policy loading: the JSON document (docs/policy.md) validated completely into
 * struct pol_policy. Every error is one line starting with the JSON path.
 */
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/internal.h"

const char *const pol_tdx_mr_names[POL_TDX_NMR] = {"mrtd",	 "rtmr0",   "rtmr1",  "rtmr2",
						   "rtmr3",	 "mrconfigid", "mrowner", "mrownerconfig"};
const char *const pol_tcb_comp_names[POL_TCB_NCOMP] = {"bl", "tee", "snp", "ucode", "fmc"};

/* ------------------------------------------------------------- errors */
struct ld {
	struct vg_err *err;
};

__attribute__((format(printf, 3, 4))) static int perr(struct ld *l, const char *path, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return vg_err_set(l->err, EINVAL, "%s: %s", path, msg);
}

static void join(char *out, size_t n, const char *path, const char *key)
{
	snprintf(out, n, "%s%s%s", path, path[0] ? "." : "", key);
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

/* Every key of o must be in keys (NULL-terminated). */
static int only_keys(struct ld *l, const char *path, const json_t *o, const char *const *keys)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)o, k, v) {
		bool ok = false;
		for (size_t i = 0; keys[i]; i++)
			ok |= !strcmp(k, keys[i]);
		if (!ok) {
			char p[256], list[256] = "";
			size_t off = 0;
			for (size_t i = 0; keys[i] && off < sizeof(list); i++)
				off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s", i ? ", " : "", keys[i]);
			join(p, sizeof(p), path, k);
			return perr(l, p, "unknown key (expected one of: %s)", list);
		}
	}
	return 0;
}

static int want_object(struct ld *l, const char *path, const json_t *v)
{
	if (!json_is_object(v))
		return perr(l, path, "must be an object, found %s", type_name(v));
	return 0;
}

static int get_bool(struct ld *l, const char *path, const json_t *o, const char *key, bool def, bool *out)
{
	json_t *v = json_object_get(o, key);
	*out = def;
	if (!v)
		return 0;
	if (!json_is_boolean(v)) {
		char p[256];
		join(p, sizeof(p), path, key);
		return perr(l, p, "must be true or false, found %s", type_name(v));
	}
	*out = json_is_true(v);
	return 0;
}

static int get_uint(struct ld *l, const char *path, const json_t *o, const char *key, uint64_t max, bool *has,
		    uint64_t *out)
{
	json_t *v = json_object_get(o, key);
	char p[256];
	*has = false;
	if (!v)
		return 0;
	join(p, sizeof(p), path, key);
	if (!json_is_integer(v))
		return perr(l, p, "must be an integer, found %s", type_name(v));
	json_int_t i = json_integer_value(v);
	if (i < 0 || (uint64_t)i > max)
		return perr(l, p, "%lld is out of range 0..%llu", (long long)i, (unsigned long long)max);
	*has = true;
	*out = (uint64_t)i;
	return 0;
}

/* Exactly n bytes of hex. */
static int parse_hex(struct ld *l, const char *path, const json_t *v, size_t n, uint8_t *out)
{
	if (!json_is_string(v))
		return perr(l, path, "must be a hex string, found %s", type_name(v));
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	for (size_t i = 0; i < len; i++)
		if (!strchr("0123456789abcdefABCDEF", s[i]) || !s[i])
			return perr(l, path, "'%c' at offset %zu is not a hex digit", s[i] ? s[i] : '?', i);
	if (len != 2 * n)
		return perr(l, path, "%zu hex digits, need %zu", len, 2 * n);
	return vg_hex_decode(s, out, n, NULL) ? perr(l, path, "not hex") : 0;
}

bool pol_hexset_has(const struct pol_hexset *s, const uint8_t *val)
{
	for (size_t i = 0; i < s->n; i++)
		if (!memcmp(pol_hexset_at(s, i), val, s->len))
			return true;
	return false;
}

/* key: non-empty array of distinct n-byte hex values (a single string is accepted as a one-value list). */
static int get_hexset(struct ld *l, const char *path, const json_t *o, const char *key, size_t n, bool required,
		      struct pol_hexset *out)
{
	json_t *v = json_object_get(o, key);
	char p[256], q[280];
	join(p, sizeof(p), path, key);
	out->n = 0;
	out->len = n;
	if (!v)
		return required ? perr(l, p, "missing (required)") : 0;
	if (json_is_string(v)) {
		if (!(out->v = malloc(n)))
			return vg_err_set(l->err, ENOMEM, "out of memory");
		out->n = 1;
		return parse_hex(l, p, v, n, out->v);
	}
	if (!json_is_array(v))
		return perr(l, p, "must be an array of hex strings, found %s", type_name(v));
	size_t cnt = json_array_size(v);
	if (cnt == 0)
		return perr(l, p, "empty allowlist (remove the key to leave it unconstrained)");
	if (!(out->v = calloc(cnt, n)))
		return vg_err_set(l->err, ENOMEM, "out of memory");
	for (size_t i = 0; i < cnt; i++) {
		snprintf(q, sizeof(q), "%s[%zu]", p, i);
		if (parse_hex(l, q, json_array_get(v, i), n, out->v + i * n))
			return -EINVAL;
		for (size_t j = 0; j < i; j++)
			if (!memcmp(out->v + j * n, out->v + i * n, n))
				return perr(l, q, "duplicate of %s[%zu]", p, j);
		out->n = i + 1;
	}
	return 0;
}

static int get_string_list(struct ld *l, const char *path, const json_t *o, const char *key, bool required,
			   char ***out, size_t *nout, bool *present)
{
	json_t *v = json_object_get(o, key);
	char p[256], q[280];
	join(p, sizeof(p), path, key);
	*out = NULL;
	*nout = 0;
	if (present)
		*present = v != NULL;
	if (!v)
		return required ? perr(l, p, "missing (required)") : 0;
	if (!json_is_array(v))
		return perr(l, p, "must be an array of strings, found %s", type_name(v));
	size_t cnt = json_array_size(v);
	if (cnt == 0)
		return perr(l, p, "empty list");
	if (!(*out = calloc(cnt, sizeof(char *))))
		return vg_err_set(l->err, ENOMEM, "out of memory");
	for (size_t i = 0; i < cnt; i++) {
		json_t *s = json_array_get(v, i);
		snprintf(q, sizeof(q), "%s[%zu]", p, i);
		if (!json_is_string(s))
			return perr(l, q, "must be a string, found %s", type_name(s));
		if (json_string_length(s) == 0 || json_string_length(s) > 255 ||
		    strlen(json_string_value(s)) != json_string_length(s))
			return perr(l, q, "must be 1..255 characters without NUL");
		for (size_t j = 0; j < i; j++)
			if (!strcmp((*out)[j], json_string_value(s)))
				return perr(l, q, "duplicate of %s[%zu]", p, j);
		if (!((*out)[i] = strdup(json_string_value(s))))
			return vg_err_set(l->err, ENOMEM, "out of memory");
		*nout = i + 1;
	}
	return 0;
}

static int get_masked(struct ld *l, const char *path, const json_t *o, const char *key, struct pol_masked *m)
{
	static const char *const keys[] = {"value", "mask", NULL};
	json_t *v = json_object_get(o, key);
	char p[256], q[280];
	join(p, sizeof(p), path, key);
	memset(m, 0, sizeof(*m));
	if (!v)
		return 0;
	if (want_object(l, p, v) || only_keys(l, p, v, keys))
		return -EINVAL;
	json_t *val = json_object_get(v, "value"), *mask = json_object_get(v, "mask");
	snprintf(q, sizeof(q), "%s.value", p);
	if (!val)
		return perr(l, q, "missing (required)");
	if (parse_hex(l, q, val, 8, m->value))
		return -EINVAL;
	snprintf(q, sizeof(q), "%s.mask", p);
	if (mask) {
		if (parse_hex(l, q, mask, 8, m->mask))
			return -EINVAL;
	} else {
		memset(m->mask, 0xff, 8);
	}
	for (int i = 0; i < 8; i++)
		if (m->value[i] & ~m->mask[i])
			return perr(l, p, "value has bits outside the mask (byte %d: value 0x%02x, mask 0x%02x)", i,
				    m->value[i], m->mask[i]);
	m->present = true;
	return 0;
}

/* ---------------------------------------------------------- workloads */
static int load_snp_wl(struct ld *l, const char *path, const json_t *o, struct pol_snp_wl *w)
{
	static const char *const keys[] = {"measurement", "host_data", "id_key_digest", "author_key_digest",
					   "family_id", "image_id", "min_guest_svn", "vmpl", "allow_debug",
					   "allow_migration_agent", NULL};
	char p[256];
	bool has;
	uint64_t u;
	if (want_object(l, path, o) || only_keys(l, path, o, keys))
		return -EINVAL;
	w->present = true;
	if (get_hexset(l, path, o, "measurement", 48, true, &w->measurement) ||
	    get_hexset(l, path, o, "host_data", 32, false, &w->host_data) ||
	    get_hexset(l, path, o, "id_key_digest", 48, false, &w->id_key_digest) ||
	    get_hexset(l, path, o, "author_key_digest", 48, false, &w->author_key_digest))
		return -EINVAL;
	json_t *v;
	if ((v = json_object_get(o, "family_id"))) {
		join(p, sizeof(p), path, "family_id");
		if (parse_hex(l, p, v, 16, w->family_id))
			return -EINVAL;
		w->has_family_id = true;
	}
	if ((v = json_object_get(o, "image_id"))) {
		join(p, sizeof(p), path, "image_id");
		if (parse_hex(l, p, v, 16, w->image_id))
			return -EINVAL;
		w->has_image_id = true;
	}
	if (get_uint(l, path, o, "min_guest_svn", UINT32_MAX, &has, &u))
		return -EINVAL;
	w->has_min_guest_svn = has;
	w->min_guest_svn = (uint32_t)u;
	w->vmpl_mask = 1; /* default: VMPL 0 only */
	if ((v = json_object_get(o, "vmpl"))) {
		join(p, sizeof(p), path, "vmpl");
		if (!json_is_array(v))
			return perr(l, p, "must be an array of VMPL numbers 0..3, found %s", type_name(v));
		if (json_array_size(v) == 0)
			return perr(l, p, "empty allowlist (no VMPL could match)");
		w->vmpl_mask = 0;
		for (size_t i = 0; i < json_array_size(v); i++) {
			json_t *e = json_array_get(v, i);
			char q[280];
			snprintf(q, sizeof(q), "%s[%zu]", p, i);
			if (!json_is_integer(e) || json_integer_value(e) < 0 || json_integer_value(e) > 3)
				return perr(l, q, "must be a VMPL number 0..3");
			unsigned bit = 1u << json_integer_value(e);
			if (w->vmpl_mask & bit)
				return perr(l, q, "duplicate VMPL %lld", (long long)json_integer_value(e));
			w->vmpl_mask |= bit;
		}
	}
	if (get_bool(l, path, o, "allow_debug", false, &w->allow_debug) ||
	    get_bool(l, path, o, "allow_migration_agent", false, &w->allow_migration_agent))
		return -EINVAL;
	return 0;
}

static int load_tdx_wl(struct ld *l, const char *path, const json_t *o, struct pol_tdx_wl *w)
{
	static const char *const keys[] = {"mrtd",	   "rtmr0",	    "rtmr1", "rtmr2",	    "rtmr3",
					   "mrconfigid",   "mrowner",	    "mrownerconfig", "td_attributes",
					   "xfam",	   "allow_debug", NULL};
	char p[256];
	if (want_object(l, path, o) || only_keys(l, path, o, keys))
		return -EINVAL;
	w->present = true;
	for (int i = 0; i < POL_TDX_NMR; i++)
		if (get_hexset(l, path, o, pol_tdx_mr_names[i], 48, i == POL_MRTD, &w->mr[i]))
			return -EINVAL;
	if (get_masked(l, path, o, "td_attributes", &w->td_attributes) || get_masked(l, path, o, "xfam", &w->xfam) ||
	    get_bool(l, path, o, "allow_debug", false, &w->allow_debug))
		return -EINVAL;
	/* TD attribute bit 0 is DEBUG. */
	if (w->td_attributes.present && (w->td_attributes.value[0] & 1) && !w->allow_debug) {
		join(p, sizeof(p), path, "td_attributes");
		return perr(l, p, "requires the DEBUG attribute (bit 0) but allow_debug is false");
	}
	if (w->td_attributes.present && (w->td_attributes.mask[0] & 1) && !(w->td_attributes.value[0] & 1) &&
	    w->allow_debug) {
		join(p, sizeof(p), path, "allow_debug");
		return perr(l, p, "true, but td_attributes requires the DEBUG attribute (bit 0) to be clear");
	}
	return 0;
}

static bool valid_name(const char *s, size_t len)
{
	if (len == 0 || len >= POL_NAME_MAX || strlen(s) != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!(s[i] >= 'a' && s[i] <= 'z') && !(s[i] >= 'A' && s[i] <= 'Z') && !(s[i] >= '0' && s[i] <= '9') &&
		    !strchr("._-", s[i]))
			return false;
	return true;
}

static int load_workloads(struct ld *l, const json_t *o, struct pol_policy *p)
{
	static const char *const keys[] = {"snp", "tdx", NULL};
	json_t *ws = json_object_get(o, "workloads");
	if (!ws)
		return perr(l, "workloads", "missing (required; an object of named workloads)");
	if (want_object(l, "workloads", ws))
		return -EINVAL;
	/* An empty set is allowed (a starter policy): then nothing matches. */
	if (!(p->wl = calloc(json_object_size(ws) + 1, sizeof(*p->wl))))
		return vg_err_set(l->err, ENOMEM, "out of memory");
	const char *name;
	json_t *w;
	json_object_foreach(ws, name, w) {
		char path[256], sub[280];
		snprintf(path, sizeof(path), "workloads.%s", name);
		if (!valid_name(name, strlen(name)))
			return perr(l, path, "workload names are 1..127 characters of A-Z a-z 0-9 . _ -");
		struct pol_workload *wl = &p->wl[p->nwl++];
		snprintf(wl->name, sizeof(wl->name), "%s", name);
		if (want_object(l, path, w) || only_keys(l, path, w, keys))
			return -EINVAL;
		json_t *s = json_object_get(w, "snp"), *t = json_object_get(w, "tdx");
		if (!s && !t)
			return perr(l, path, "has neither an \"snp\" nor a \"tdx\" section");
		snprintf(sub, sizeof(sub), "%s.snp", path);
		if (s && load_snp_wl(l, sub, s, &wl->snp))
			return -EINVAL;
		snprintf(sub, sizeof(sub), "%s.tdx", path);
		if (t && load_tdx_wl(l, sub, t, &wl->tdx))
			return -EINVAL;
	}
	return 0;
}

/* ----------------------------------------------------------- platform */
enum sev_snp_product pol_product_of(const char *name)
{
	for (int p = SEV_SNP_PRODUCT_MILAN; p <= SEV_SNP_PRODUCT_TURIN; p++)
		if (!strcmp(name, sev_snp_product_name((enum sev_snp_product)p)))
			return (enum sev_snp_product)p;
	return SEV_SNP_PRODUCT_UNKNOWN;
}

int pol_tcb_status_of(const char *name)
{
	for (int s = ATT_TCB_UP_TO_DATE; s <= ATT_TCB_NO_MATCHING_LEVEL; s++)
		if (!strcmp(name, att_tcb_status_name((enum att_tcb_status)s)))
			return s;
	return -1;
}

static int load_snp_plat(struct ld *l, const json_t *o, struct pol_snp_plat *s)
{
	static const char *const keys[] = {"allow_smt", "signing_keys", "minimum_tcb", NULL};
	const char *path = "platform.snp";
	s->allow_smt = true;
	s->keys = 1 | 2;
	if (!o)
		return 0;
	if (want_object(l, path, o) || only_keys(l, path, o, keys) ||
	    get_bool(l, path, o, "allow_smt", true, &s->allow_smt))
		return -EINVAL;
	json_t *v = json_object_get(o, "signing_keys");
	if (v) {
		char **names = NULL;
		size_t n = 0;
		int rc = get_string_list(l, path, o, "signing_keys", false, &names, &n, NULL);
		s->keys = 0;
		for (size_t i = 0; !rc && i < n; i++) {
			char q[64];
			snprintf(q, sizeof(q), "%s.signing_keys[%zu]", path, i);
			if (!strcmp(names[i], "VCEK"))
				s->keys |= 1;
			else if (!strcmp(names[i], "VLEK"))
				s->keys |= 2;
			else
				rc = perr(l, q, "\"%s\" is not VCEK or VLEK", names[i]);
		}
		for (size_t i = 0; i < n; i++)
			free(names[i]);
		free(names);
		if (rc)
			return rc;
	}
	v = json_object_get(o, "minimum_tcb");
	if (v) {
		if (want_object(l, "platform.snp.minimum_tcb", v))
			return -EINVAL;
		if (json_object_size(v) == 0)
			return perr(l, "platform.snp.minimum_tcb", "empty (name Milan, Genoa and/or Turin, or remove it)");
		s->has_minimum_tcb = true;
		const char *prod;
		json_t *t;
		json_object_foreach(v, prod, t) {
			char p[128];
			snprintf(p, sizeof(p), "platform.snp.minimum_tcb.%s", prod);
			enum sev_snp_product pr = pol_product_of(prod);
			if (pr == SEV_SNP_PRODUCT_UNKNOWN)
				return perr(l, p, "unknown product (Milan, Genoa or Turin)");
			static const char *const k4[] = {"bl", "tee", "snp", "ucode", NULL};
			static const char *const k5[] = {"bl", "tee", "snp", "ucode", "fmc", NULL};
			if (want_object(l, p, t) || only_keys(l, p, t, pr == SEV_SNP_PRODUCT_TURIN ? k5 : k4))
				return -EINVAL;
			if (json_object_size(t) == 0)
				return perr(l, p, "empty: name at least one of bl, tee, snp, ucode%s",
					    pr == SEV_SNP_PRODUCT_TURIN ? ", fmc" : "");
			struct pol_tcb_min *m = &s->min[pr];
			m->present = true;
			for (int c = 0; c < POL_TCB_NCOMP; c++) {
				uint64_t u;
				if (get_uint(l, p, t, pol_tcb_comp_names[c], 255, &m->has[c], &u))
					return -EINVAL;
				m->v[c] = (uint8_t)u;
			}
		}
	}
	return 0;
}

static int load_tdx_plat(struct ld *l, const json_t *o, struct pol_tdx_plat *t)
{
	static const char *const keys[] = {"accepted_tcb_status", "collateral_required", NULL};
	static const char *const akeys[] = {"status", "advisory_ids", "until", NULL};
	const char *path = "platform.tdx";
	t->collateral_required = true;
	json_t *v = o ? json_object_get(o, "accepted_tcb_status") : NULL;
	if (o && (want_object(l, path, o) || only_keys(l, path, o, keys) ||
		  get_bool(l, path, o, "collateral_required", true, &t->collateral_required)))
		return -EINVAL;
	if (!v) { /* default: UpToDate only */
		if (!(t->acc = calloc(1, sizeof(*t->acc))))
			return vg_err_set(l->err, ENOMEM, "out of memory");
		t->acc[0].status = ATT_TCB_UP_TO_DATE;
		t->nacc = 1;
		return 0;
	}
	const char *ap = "platform.tdx.accepted_tcb_status";
	if (!json_is_array(v))
		return perr(l, ap, "must be an array, found %s", type_name(v));
	if (json_array_size(v) == 0)
		return perr(l, ap, "empty allowlist: no TDX platform could be accepted");
	if (!(t->acc = calloc(json_array_size(v), sizeof(*t->acc))))
		return vg_err_set(l->err, ENOMEM, "out of memory");
	for (size_t i = 0; i < json_array_size(v); i++) {
		json_t *e = json_array_get(v, i);
		char p[128], q[160];
		snprintf(p, sizeof(p), "%s[%zu]", ap, i);
		struct pol_tdx_accept *a = &t->acc[t->nacc];
		const char *st;
		if (json_is_string(e)) {
			st = json_string_value(e);
		} else {
			if (want_object(l, p, e) || only_keys(l, p, e, akeys))
				return -EINVAL;
			json_t *sv = json_object_get(e, "status");
			snprintf(q, sizeof(q), "%s.status", p);
			if (!sv)
				return perr(l, q, "missing (required)");
			if (!json_is_string(sv))
				return perr(l, q, "must be a string, found %s", type_name(sv));
			st = json_string_value(sv);
		}
		int s = pol_tcb_status_of(st);
		snprintf(q, sizeof(q), "%s%s", p, json_is_string(e) ? "" : ".status");
		if (s < 0)
			return perr(l, q, "\"%s\" is not a TDX TCB status (UpToDate, SWHardeningNeeded, "
					  "ConfigurationNeeded, ConfigurationAndSWHardeningNeeded, OutOfDate, "
					  "OutOfDateConfigurationNeeded)", st);
		if (s == ATT_TCB_REVOKED || s == ATT_TCB_NO_MATCHING_LEVEL)
			return perr(l, q, "%s can never be accepted", st);
		for (size_t j = 0; j < t->nacc; j++)
			if ((int)t->acc[j].status == s)
				return perr(l, q, "%s is listed twice (also %s[%zu])", st, ap, j);
		a->status = (enum att_tcb_status)s;
		t->nacc++;
		if (json_is_string(e))
			continue;
		if (get_string_list(l, p, e, "advisory_ids", false, &a->advisories, &a->nadv, &a->has_advisories))
			return -EINVAL;
		if (a->has_advisories && s == ATT_TCB_UP_TO_DATE) {
			snprintf(q, sizeof(q), "%s.advisory_ids", p);
			return perr(l, q, "UpToDate platforms have no advisories to accept");
		}
		json_t *u = json_object_get(e, "until");
		if (u) {
			snprintf(q, sizeof(q), "%s.until", p);
			struct vg_err e2 = {0};
			if (!json_is_string(u))
				return perr(l, q, "must be an RFC 3339 date string, found %s", type_name(u));
			if (vg_parse_rfc3339(json_string_value(u), &a->until, &e2))
				return perr(l, q, "%s", e2.msg);
			if (s == ATT_TCB_UP_TO_DATE)
				return perr(l, q, "UpToDate needs no date limit");
			a->has_until = true;
			snprintf(a->until_text, sizeof(a->until_text), "%s", json_string_value(u));
		}
	}
	return 0;
}

/* ---------------------------------------------------------- resources */
static int load_rules(struct ld *l, const json_t *o, struct pol_policy *p)
{
	static const char *const keys[] = {"path", "workloads", "min_status", "allow_simulated", NULL};
	json_t *rs = json_object_get(o, "resources");
	if (!rs)
		return 0;
	if (!json_is_array(rs))
		return perr(l, "resources", "must be an array of rules, found %s", type_name(rs));
	if (!(p->rules = calloc(json_array_size(rs) + 1, sizeof(*p->rules))))
		return vg_err_set(l->err, ENOMEM, "out of memory");
	for (size_t i = 0; i < json_array_size(rs); i++) {
		json_t *r = json_array_get(rs, i);
		char path[64], q[96];
		snprintf(path, sizeof(path), "resources[%zu]", i);
		struct pol_rule *ru = &p->rules[p->nrules++];
		if (want_object(l, path, r) || only_keys(l, path, r, keys))
			return -EINVAL;
		json_t *g = json_object_get(r, "path");
		snprintf(q, sizeof(q), "%s.path", path);
		if (!g)
			return perr(l, q, "missing (required)");
		if (!json_is_string(g))
			return perr(l, q, "must be a string, found %s", type_name(g));
		if (strlen(json_string_value(g)) != json_string_length(g) ||
		    !pol_resource_path_valid(json_string_value(g), true))
			return perr(l, q, "\"%.100s\" is not repository/type/tag (three non-empty segments of "
					  "A-Z a-z 0-9 . _ - and the glob characters * ? [ ] !)",
				    json_string_value(g));
		if (!(ru->glob = strdup(json_string_value(g))))
			return vg_err_set(l->err, ENOMEM, "out of memory");
		if (get_string_list(l, path, r, "workloads", true, &ru->workloads, &ru->nworkloads, NULL))
			return -EINVAL;
		for (size_t j = 0; j < ru->nworkloads; j++) {
			snprintf(q, sizeof(q), "%s.workloads[%zu]", path, j);
			if (!strcmp(ru->workloads[j], "*")) {
				if (ru->nworkloads > 1)
					return perr(l, q, "\"*\" (any workload) cannot be combined with names");
				ru->any_workload = true;
				continue;
			}
			bool found = false;
			for (size_t k = 0; k < p->nwl; k++)
				found |= !strcmp(p->wl[k].name, ru->workloads[j]);
			if (!found)
				return perr(l, q, "no workload named \"%s\"", ru->workloads[j]);
		}
		ru->min_status = POL_AFFIRMING;
		json_t *ms = json_object_get(r, "min_status");
		if (ms) {
			snprintf(q, sizeof(q), "%s.min_status", path);
			if (!json_is_string(ms))
				return perr(l, q, "must be a string, found %s", type_name(ms));
			if (!strcmp(json_string_value(ms), "affirming"))
				ru->min_status = POL_AFFIRMING;
			else if (!strcmp(json_string_value(ms), "warning"))
				ru->min_status = POL_WARNING;
			else
				return perr(l, q, "\"%s\": must be \"affirming\" or \"warning\"", json_string_value(ms));
		}
		if (get_bool(l, path, r, "allow_simulated", false, &ru->allow_simulated))
			return -EINVAL;
		if (ru->allow_simulated && !p->simulated) {
			snprintf(q, sizeof(q), "%s.allow_simulated", path);
			return perr(l, q, "true, but the policy does not accept simulated platforms (\"simulated\": false)");
		}
	}
	return 0;
}

/* ------------------------------------------------------------ the top */
static int load_freshness(struct ld *l, const json_t *o, struct pol_policy *p)
{
	static const char *const keys[] = {"require_nonce", NULL};
	json_t *f = json_object_get(o, "freshness");
	p->require_nonce = true;
	if (!f)
		return 0;
	if (want_object(l, "freshness", f) || only_keys(l, "freshness", f, keys) ||
	    get_bool(l, "freshness", f, "require_nonce", true, &p->require_nonce))
		return -EINVAL;
	return 0;
}

/* jansson reports duplicate keys with a position only: name the object path when the
 * key occurs in exactly one object of the (last-wins) document. */
static bool find_key_path(const json_t *v, const char *key, const char *path, char *out, size_t n, int *hits)
{
	if (json_is_object(v)) {
		const char *k;
		json_t *c;
		json_object_foreach((json_t *)v, k, c) {
			char p[256];
			join(p, sizeof(p), path, k);
			if (!strcmp(k, key)) {
				(*hits)++;
				snprintf(out, n, "%s", p);
			}
			find_key_path(c, key, p, out, n, hits);
		}
	} else if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++) {
			char p[256];
			snprintf(p, sizeof(p), "%s[%zu]", path, i);
			find_key_path(json_array_get(v, i), key, p, out, n, hits);
		}
	}
	return *hits == 1;
}

static int parse_doc(struct ld *l, const char *json, size_t len, json_t **out)
{
	json_error_t je;
	*out = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (*out)
		return 0;
	if (strstr(je.text, "duplicate object key")) {
		const char *q1 = strchr(je.text, '\''), *q2 = q1 ? strrchr(je.text, '\'') : NULL;
		char key[200] = "", path[256] = "";
		int hits = 0;
		if (q1 && q2 > q1 + 1)
			snprintf(key, sizeof(key), "%.*s", (int)(q2 - q1 - 1), q1 + 1);
		/* the key as the parser saw it is quoted JSON: strip the quotes */
		size_t kl = strlen(key);
		if (kl >= 2 && key[0] == '"' && key[kl - 1] == '"') {
			memmove(key, key + 1, kl - 2);
			key[kl - 2] = 0;
		}
		json_t *doc = json_loadb(json, len, 0, NULL);
		bool one = doc && key[0] && find_key_path(doc, key, "", path, sizeof(path), &hits);
		json_decref(doc);
		if (one)
			return perr(l, path, "duplicate key \"%s\" (line %d)", key, je.line);
		return vg_err_set(l->err, EINVAL, "line %d, column %d: duplicate key \"%s\"", je.line, je.column, key);
	}
	return vg_err_set(l->err, EINVAL, "line %d, column %d: not valid JSON: %s", je.line, je.column, je.text);
}

void pol_free(struct pol_policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nwl; i++) {
		struct pol_workload *w = &p->wl[i];
		free(w->snp.measurement.v), free(w->snp.host_data.v), free(w->snp.id_key_digest.v);
		free(w->snp.author_key_digest.v);
		for (int j = 0; j < POL_TDX_NMR; j++)
			free(w->tdx.mr[j].v);
	}
	free(p->wl);
	for (size_t i = 0; i < p->tdx.nacc; i++) {
		for (size_t j = 0; j < p->tdx.acc[i].nadv; j++)
			free(p->tdx.acc[i].advisories[j]);
		free(p->tdx.acc[i].advisories);
	}
	free(p->tdx.acc);
	for (size_t i = 0; i < p->nrules; i++) {
		free(p->rules[i].glob);
		for (size_t j = 0; j < p->rules[i].nworkloads; j++)
			free(p->rules[i].workloads[j]);
		free(p->rules[i].workloads);
	}
	free(p->rules);
	json_decref(p->doc);
	free(p);
}

static int load_tree(struct ld *l, json_t *doc, struct pol_policy *p)
{
	static const char *const keys[] = {"version", "simulated", "freshness", "workloads", "platform",
					   "resources", "description", NULL};
	static const char *const pkeys[] = {"snp", "tdx", NULL};
	if (!json_is_object(doc))
		return perr(l, "(document)", "must be a JSON object, found %s", type_name(doc));
	json_t *v = json_object_get(doc, "version");
	if (!v)
		return perr(l, "version", "missing (this loader reads \"version\": %d)", POL_VERSION);
	if (!json_is_integer(v) || json_integer_value(v) != POL_VERSION)
		return perr(l, "version", "unsupported (this loader reads \"version\": %d)", POL_VERSION);
	if (only_keys(l, "", doc, keys))
		return -EINVAL;
	json_t *d = json_object_get(doc, "description");
	if (d && !json_is_string(d))
		return perr(l, "description", "must be a string, found %s", type_name(d));
	if (get_bool(l, "", doc, "simulated", false, &p->simulated) || load_freshness(l, doc, p) ||
	    load_workloads(l, doc, p))
		return -EINVAL;
	json_t *pl = json_object_get(doc, "platform");
	if (pl && (want_object(l, "platform", pl) || only_keys(l, "platform", pl, pkeys)))
		return -EINVAL;
	if (load_snp_plat(l, pl ? json_object_get(pl, "snp") : NULL, &p->snp) ||
	    load_tdx_plat(l, pl ? json_object_get(pl, "tdx") : NULL, &p->tdx) || load_rules(l, doc, p))
		return -EINVAL;
	/* Contradiction: a workload that needs a signing key the platform forbids is fine (keys are
	 * per platform); but SNP workloads with no acceptable key at all cannot happen (keys != 0). */
	return 0;
}

int pol_load(const char *json, size_t len, struct pol_policy **out, struct vg_err *err)
{
	struct ld l = {err};
	json_t *doc = NULL;
	*out = NULL;
	if (!json)
		return vg_err_set(err, EINVAL, "no policy document");
	if (len > POL_MAX_SIZE)
		return vg_err_set(err, EFBIG, "(document): %zu bytes, the limit is %u", len, POL_MAX_SIZE);
	int rc = parse_doc(&l, json, len, &doc);
	if (rc)
		return rc;
	struct pol_policy *p = calloc(1, sizeof(*p));
	if (!p) {
		json_decref(doc);
		return vg_err_set(err, ENOMEM, "out of memory");
	}
	p->doc = doc;
	if ((rc = load_tree(&l, doc, p))) {
		pol_free(p);
		return rc < 0 ? rc : -EINVAL;
	}
	unsigned int dl = 32;
	if (!EVP_Digest(json, len, p->digest, &dl, EVP_sha256(), NULL)) {
		pol_free(p);
		return vg_err_set(err, EIO, "SHA-256 failed");
	}
	if (p->simulated)
		vg_warn("policy accepts SIMULATED platforms (sim-snp, sim-tdx): development only, never production");
	*out = p;
	return 0;
}

int pol_load_file(const char *path, struct pol_policy **out, struct vg_err *err)
{
	uint8_t *b = NULL;
	size_t n = 0;
	*out = NULL;
	int rc = vg_read_file(path, POL_MAX_SIZE, &b, &n, err);
	if (rc)
		return rc;
	rc = pol_load((const char *)b, n, out, err);
	free(b);
	return rc;
}

bool pol_accepts_simulated(const struct pol_policy *p) { return p && p->simulated; }

void pol_digest(const struct pol_policy *p, uint8_t out[32]) { memcpy(out, p->digest, 32); }
