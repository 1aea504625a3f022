/* Resource rules: which appraisals may receive which repository/type/tag paths. Default deny. */
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include "policy/internal.h"

bool pol_resource_path_valid(const char *p, bool glob)
{
	int seg = 0;
	size_t seglen = 0, len = strlen(p);
	if (len == 0 || len > 255)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '/') {
			if (seglen == 0)
				return false;
			seg++, seglen = 0;
			continue;
		}
		if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= '0' && p[i] <= '9') ||
		      strchr("._-", p[i]) || (glob && strchr("*?[]!", p[i]))))
			return false;
		seglen++;
	}
	return seg == 2 && seglen > 0 && (glob || !strstr(p, ".."));
}

static int tier_rank(enum pol_status s)
{
	return s == POL_AFFIRMING ? 1 : s == POL_WARNING ? 2 : s == POL_CONTRAINDICATED ? 3 : 4;
}

/* 0 when the rule grants the path to this appraisal, else the reason in why. */
static int rule_allows(const struct pol_rule *ru, size_t idx, const struct pol_appraisal *a, struct vg_err *why)
{
	/* status: affirming passes "affirming"; affirming or warning pass "warning"; none never. */
	if (a->status == POL_NONE || tier_rank(a->status) > tier_rank(ru->min_status))
		return vg_err_set(why, EACCES, "resources[%zu] (\"%s\") requires status %s or better, the appraisal is %s",
				  idx, ru->glob, pol_status_name(ru->min_status), pol_status_name(a->status));
	if (!a->workload[0])
		return vg_err_set(why, EACCES, "resources[%zu] (\"%s\") requires a matched workload, none matched", idx,
				  ru->glob);
	bool wl = ru->any_workload;
	for (size_t i = 0; !wl && i < ru->nworkloads; i++)
		wl = !strcmp(ru->workloads[i], a->workload);
	if (!wl)
		return vg_err_set(why, EACCES, "resources[%zu] (\"%s\") is not granted to workload \"%s\"", idx, ru->glob,
				  a->workload);
	if (a->simulated && !ru->allow_simulated)
		return vg_err_set(why, EACCES, "resources[%zu] (\"%s\") is never released to SIMULATED platforms "
					       "(allow_simulated is false)", idx, ru->glob);
	return 0;
}

int pol_resource_allowed(const struct pol_policy *p, const struct pol_appraisal *a, const char *path,
			 struct vg_err *why)
{
	if (!p || !a || !path)
		return vg_err_set(why, EINVAL, "resource check needs a policy, an appraisal and a path");
	if (!pol_resource_path_valid(path, false))
		return vg_err_set(why, EINVAL, "\"%.100s\" is not a resource path repository/type/tag", path);
	if (memcmp(a->policy_digest, p->digest, 32))
		return vg_err_set(why, EACCES, "the appraisal was made under another policy version");
	struct vg_err first = {0};
	bool matched = false;
	for (size_t i = 0; i < p->nrules; i++) {
		if (fnmatch(p->rules[i].glob, path, FNM_PATHNAME | FNM_PERIOD) != 0)
			continue;
		struct vg_err e = {0};
		if (rule_allows(&p->rules[i], i, a, &e) == 0) {
			vg_err_clear(why);
			return 0;
		}
		if (!matched)
			first = e;
		matched = true;
	}
	if (!matched)
		return vg_err_set(why, EACCES, "no resource rule matches \"%s\" (default deny)", path);
	return vg_err_set(why, EACCES, "%s", first.msg);
}
