/* The policy as a document: summary, starter documents, adding a workload from
 * `vigil measure --json` or `vigil verify --json` output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/internal.h"

static json_t *workload_summary(const struct pol_workload *w)
{
	json_t *o = json_pack("{s:s}", "name", w->name), *pl = json_array();
	json_t *refs = json_object();
	if (w->snp.present) {
		json_array_append_new(pl, json_string("snp"));
		json_object_set_new(refs, "snp_measurements", json_integer((json_int_t)w->snp.measurement.n));
		json_object_set_new(refs, "snp_allow_debug", json_boolean(w->snp.allow_debug));
	}
	if (w->tdx.present) {
		json_array_append_new(pl, json_string("tdx"));
		json_object_set_new(refs, "tdx_mrtds", json_integer((json_int_t)w->tdx.mr[POL_MRTD].n));
		json_object_set_new(refs, "tdx_allow_debug", json_boolean(w->tdx.allow_debug));
	}
	json_object_set_new(o, "platforms", pl);
	json_object_set_new(o, "references", refs);
	return o;
}

json_t *pol_summary_json(const struct pol_policy *p)
{
	if (!p)
		return NULL;
	char dg[65];
	vg_hex_encode(p->digest, 32, dg);
	json_t *o = json_object(), *ws = json_array(), *rs = json_array(), *acc = json_array(), *keys = json_array();
	for (size_t i = 0; i < p->nwl; i++)
		json_array_append_new(ws, workload_summary(&p->wl[i]));
	for (size_t i = 0; i < p->nrules; i++) {
		const struct pol_rule *r = &p->rules[i];
		json_t *wl = json_array();
		for (size_t j = 0; j < r->nworkloads; j++)
			json_array_append_new(wl, json_string(r->workloads[j]));
		json_array_append_new(rs, json_pack("{s:s, s:o, s:s, s:b}", "path", r->glob, "workloads", wl, "min_status",
						    pol_status_name(r->min_status), "allow_simulated", r->allow_simulated));
	}
	for (size_t i = 0; i < p->tdx.nacc; i++)
		json_array_append_new(acc, json_string(att_tcb_status_name(p->tdx.acc[i].status)));
	if (p->snp.keys & 1)
		json_array_append_new(keys, json_string("VCEK"));
	if (p->snp.keys & 2)
		json_array_append_new(keys, json_string("VLEK"));
	json_t *mins = json_object();
	static const char *const prods[] = {NULL, "Milan", "Genoa", "Turin"};
	for (int pr = 1; pr <= 3; pr++) {
		if (!p->snp.min[pr].present)
			continue;
		json_t *m = json_object();
		for (int c = 0; c < POL_TCB_NCOMP; c++)
			if (p->snp.min[pr].has[c])
				json_object_set_new(m, pol_tcb_comp_names[c], json_integer(p->snp.min[pr].v[c]));
		json_object_set_new(mins, prods[pr], m);
	}
	json_object_set_new(o, "version", json_integer(POL_VERSION));
	json_object_set_new(o, "digest", json_string(dg));
	json_object_set_new(o, "simulated", json_boolean(p->simulated));
	json_object_set_new(o, "require_nonce", json_boolean(p->require_nonce));
	json_object_set_new(o, "workloads", ws);
	json_object_set_new(o, "platform",
			    json_pack("{s:{s:b, s:o, s:o}, s:{s:o, s:b}}", "snp", "allow_smt", p->snp.allow_smt,
				      "signing_keys", keys, "minimum_tcb", mins, "tdx", "accepted_tcb_status", acc,
				      "collateral_required", p->tdx.collateral_required));
	json_object_set_new(o, "resources", rs);
	return o;
}

json_t *pol_starter_json(bool simulated)
{
	json_t *o = json_object();
	json_object_set_new(o, "version", json_integer(POL_VERSION));
	json_object_set_new(o, "description",
			    json_string(simulated ? "development policy: accepts the SIMULATED platforms sim-snp and "
						    "sim-tdx; never use it in production"
						  : "production policy: no simulation, debug forbidden; add workloads with "
						    "'vigil policy add-workload'"));
	json_object_set_new(o, "simulated", json_boolean(simulated));
	json_object_set_new(o, "freshness", json_pack("{s:b}", "require_nonce", 1));
	json_object_set_new(o, "workloads", json_object());
	json_object_set_new(o, "platform",
			    json_pack("{s:{s:b, s:[s,s]}, s:{s:[s], s:b}}", "snp", "allow_smt", 1, "signing_keys", "VCEK",
				      "VLEK", "tdx", "accepted_tcb_status", "UpToDate", "collateral_required",
				      !simulated));
	json_object_set_new(o, "resources", json_array());
	return o;
}

static bool all_zero(const char *hex)
{
	for (; hex && *hex; hex++)
		if (*hex != '0')
			return false;
	return true;
}

static int claim_str(const json_t *c, const char *key, const char **out, struct vg_err *err)
{
	json_t *v = json_object_get(c, key);
	if (!json_is_string(v))
		return vg_err_set(err, EINVAL, "--from: claims.%s missing or not a string", key);
	*out = json_string_value(v);
	return 0;
}

static int from_verify(const json_t *from, json_t **wl, struct vg_err *err)
{
	const char *verdict = json_string_value(json_object_get(from, "verdict"));
	const char *plat = json_string_value(json_object_get(from, "platform"));
	json_t *c = json_object_get(from, "claims");
	if (!verdict || strcmp(verdict, "verified"))
		return vg_err_set(err, EINVAL, "--from: the verify output is not \"verified\": only a verified "
					       "known-good guest can give reference values");
	if (!json_is_object(c) || !plat)
		return vg_err_set(err, EINVAL, "--from: verify output without platform or claims");
	json_t *s = json_object();
	const char *v = NULL;
	if (!strcmp(plat, "snp")) {
		if (claim_str(c, "measurement", &v, err))
			goto bad;
		json_object_set_new(s, "measurement", json_pack("[s]", v));
		if (claim_str(c, "host_data", &v, err))
			goto bad;
		if (!all_zero(v))
			json_object_set_new(s, "host_data", json_pack("[s]", v));
		if (claim_str(c, "id_key_digest", &v, err))
			goto bad;
		if (!all_zero(v)) {
			json_object_set_new(s, "id_key_digest", json_pack("[s]", v));
			const char *fam = NULL, *img = NULL;
			if (claim_str(c, "family_id", &fam, err) || claim_str(c, "image_id", &img, err))
				goto bad;
			json_object_set_new(s, "family_id", json_string(fam));
			json_object_set_new(s, "image_id", json_string(img));
			json_object_set_new(s, "min_guest_svn", json_incref(json_object_get(c, "guest_svn")));
		}
		if (json_is_true(json_object_get(c, "author_key_en"))) {
			if (claim_str(c, "author_key_digest", &v, err))
				goto bad;
			json_object_set_new(s, "author_key_digest", json_pack("[s]", v));
		}
		json_t *vmpl = json_object_get(c, "vmpl");
		if (!json_is_integer(vmpl)) {
			vg_err_set(err, EINVAL, "--from: claims.vmpl missing");
			goto bad;
		}
		json_object_set_new(s, "vmpl", json_pack("[O]", vmpl));
		*wl = json_pack("{s:o}", "snp", s);
		return 0;
	}
	if (!strcmp(plat, "tdx")) {
		for (int i = 0; i < POL_TDX_NMR; i++) {
			if (claim_str(c, pol_tdx_mr_names[i], &v, err))
				goto bad;
			json_object_set_new(s, pol_tdx_mr_names[i], json_pack("[s]", v));
		}
		const char *attr = NULL, *xfam = NULL;
		if (claim_str(c, "td_attributes", &attr, err) || claim_str(c, "xfam", &xfam, err))
			goto bad;
		uint8_t a[8];
		if (vg_hex_decode(attr, a, 8, err))
			goto bad;
		a[0] &= 0xfe; /* DEBUG is decided by allow_debug */
		char av[17];
		vg_hex_encode(a, 8, av);
		json_object_set_new(s, "td_attributes", json_pack("{s:s, s:s}", "value", av, "mask", "feffffffffffffff"));
		json_object_set_new(s, "xfam", json_pack("{s:s, s:s}", "value", xfam, "mask", "ffffffffffffffff"));
		*wl = json_pack("{s:o}", "tdx", s);
		return 0;
	}
	vg_err_set(err, EINVAL, "--from: unknown platform \"%s\"", plat);
bad:
	json_decref(s);
	return -EINVAL;
}

static int from_measure(const json_t *from, json_t **wl, struct vg_err *err)
{
	const char *mode = json_string_value(json_object_get(from, "mode"));
	const char *digest = json_string_value(json_object_get(from, "digest"));
	json_t *in = json_object_get(from, "inputs");
	if (!mode || !digest)
		return vg_err_set(err, EINVAL, "--from: measure output without mode or digest");
	if (json_is_true(json_object_get(in, "firmware_only")))
		return vg_err_set(err, EINVAL, "--from: an --ovmf-hash-only digest is not a launch measurement");
	if (!strcmp(mode, "snp"))
		*wl = json_pack("{s:{s:[s]}}", "snp", "measurement", digest);
	else if (!strcmp(mode, "tdx"))
		*wl = json_pack("{s:{s:[s]}}", "tdx", "mrtd", digest);
	else
		return vg_err_set(err, EINVAL, "--from: %s launch digests do not appear in attestation evidence "
					       "(use vigil measure snp or tdx)", mode);
	return *wl ? 0 : vg_err_set(err, ENOMEM, "out of memory");
}

/* The rule an add-workload call with this glob would create: same path, the
 * default minimum status and the same simulated opt-in (a "*" rule is left as is). */
static json_t *same_rule(json_t *rs, const char *glob, bool allow_simulated)
{
	for (size_t i = 0; i < json_array_size(rs); i++) {
		json_t *r = json_array_get(rs, i);
		const char *path = json_string_value(json_object_get(r, "path"));
		json_t *ms = json_object_get(r, "min_status"), *sim = json_object_get(r, "allow_simulated");
		if (!path || strcmp(path, glob) || !json_is_array(json_object_get(r, "workloads")))
			continue;
		if (ms && !(json_is_string(ms) && !strcmp(json_string_value(ms), "affirming")))
			continue;
		if (json_is_true(sim) != allow_simulated)
			continue;
		return r;
	}
	return NULL;
}

static bool has_workload(const json_t *rule, const char *name)
{
	const json_t *ws = json_object_get(rule, "workloads");
	for (size_t i = 0; i < json_array_size(ws); i++) {
		const char *w = json_string_value(json_array_get(ws, i));
		if (w && (!strcmp(w, name) || !strcmp(w, "*")))
			return true;
	}
	return false;
}

int pol_add_workload(json_t *doc, const char *name, const json_t *from, const char *const *resources,
		     size_t nresources, bool allow_simulated, struct vg_err *err)
{
	if (!json_is_object(doc) || !name || !json_is_object(from))
		return vg_err_set(err, EINVAL, "add-workload needs a policy document, a name and an input object");
	json_t *ws = json_object_get(doc, "workloads");
	if (ws && !json_is_object(ws))
		return vg_err_set(err, EINVAL, "workloads: must be an object");
	if (ws && json_object_get(ws, name))
		return vg_err_set(err, EEXIST, "workloads.%s: already exists (edit the file to change it)", name);
	json_t *wl = NULL;
	int rc;
	if (json_object_get(from, "verdict"))
		rc = from_verify(from, &wl, err);
	else if (json_object_get(from, "mode") && json_object_get(from, "digest"))
		rc = from_measure(from, &wl, err);
	else
		rc = vg_err_set(err, EINVAL, "--from: neither 'vigil measure --json' nor 'vigil verify --json' output");
	if (rc)
		return rc;
	json_t *copy = json_deep_copy(doc);
	if (!copy) {
		json_decref(wl);
		return vg_err_set(err, ENOMEM, "out of memory");
	}
	if (!json_object_get(copy, "workloads"))
		json_object_set_new(copy, "workloads", json_object());
	json_object_set_new(json_object_get(copy, "workloads"), name, wl);
	if (nresources) {
		json_t *rs = json_object_get(copy, "resources");
		if (!rs) {
			rs = json_array();
			json_object_set_new(copy, "resources", rs);
		}
		if (!json_is_array(rs)) {
			json_decref(copy);
			return vg_err_set(err, EINVAL, "resources: must be an array");
		}
		for (size_t i = 0; i < nresources; i++) {
			json_t *same = same_rule(rs, resources[i], allow_simulated);
			if (same) {
				if (!has_workload(same, name))
					json_array_append_new(json_object_get(same, "workloads"), json_string(name));
				continue;
			}
			json_t *r = json_pack("{s:s, s:[s]}", "path", resources[i], "workloads", name);
			if (r && allow_simulated)
				json_object_set_new(r, "allow_simulated", json_true());
			json_array_append_new(rs, r);
		}
	}
	/* Validate the result exactly as a loader will. */
	char *text = json_dumps(copy, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	struct pol_policy *p = NULL;
	enum vg_log_level lv = vg_log_get_level();
	vg_log_set_level(VG_LOG_ERROR); /* the caller warns about simulation once */
	rc = text ? pol_load(text, strlen(text), &p, err) : vg_err_set(err, ENOMEM, "out of memory");
	vg_log_set_level(lv);
	free(text);
	pol_free(p);
	if (rc) {
		json_decref(copy);
		return rc;
	}
	json_object_clear(doc);
	json_object_update(doc, copy);
	json_decref(copy);
	return 0;
}
