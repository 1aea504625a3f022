/*
 * Appraisal: verified evidence (struct att_result) against a policy. Every
 * check either passes, fails with a one-line explanation naming what was
 * expected and what was found, or says why it could not be made. The vector
 * holds AR4SI values; the status is the worst tier among them (EAR draft).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/internal.h"

/* One evaluation: explanations and a vector, for the whole appraisal or one candidate workload. */
struct run {
	json_t *lines;
	int8_t vec[POL_NCLAIMS];
	unsigned failures;
};

static int rank(int8_t v)
{
	switch (pol_claim_tier(v)) {
	case POL_AFFIRMING: return 1;
	case POL_WARNING: return 2;
	case POL_CONTRAINDICATED: return 3;
	default: return 0;
	}
}

static void set_worse(int8_t *slot, int8_t v)
{
	if (rank(v) > rank(*slot) || (rank(v) == rank(*slot) && v > *slot))
		*slot = v;
}

__attribute__((format(printf, 3, 0))) static void addline(struct run *r, const char *prefix, const char *fmt,
							    va_list ap)
{
	char msg[600];
	int n = snprintf(msg, sizeof(msg), "%s: ", prefix);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	json_array_append_new(r->lines, json_string(msg));
}

/* A failed check: the line, and the claim set to the failure's value. */
__attribute__((format(printf, 4, 5))) static void fail(struct run *r, enum pol_claim c, int8_t value,
						       const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	addline(r, pol_claim_name(c), fmt, ap);
	va_end(ap);
	set_worse(&r->vec[c], value);
	r->failures++;
}

/* A check that could not be made, or a condition the result must say in words. */
__attribute__((format(printf, 3, 4))) static void note(struct run *r, const char *what, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	addline(r, what, fmt, ap);
	va_end(ap);
}

/* First 8 hex digits and an ellipsis. */
static const char *short_hex(const uint8_t *p, char out[16])
{
	vg_hex_encode(p, 4, out);
	strcat(out, "\xe2\x80\xa6");
	return out;
}

static const char *plural(size_t n, const char *one, const char *many) { return n == 1 ? one : many; }

static void check_set(struct run *r, enum pol_claim c, int8_t value, const char *what, const uint8_t *found,
		      const struct pol_hexset *s, const char *wl)
{
	char h[16];
	if (s->n == 0 || pol_hexset_has(s, found))
		return;
	fail(r, c, value, "%s %s is not among the %zu reference %s of workload \"%s\"", what, short_hex(found, h),
	     s->n, plural(s->n, "value", "values"), wl);
}

/* ------------------------------------------------------------- SNP */
static void snp_workload(struct run *r, const struct pol_workload *w, const struct sev_snp_report *s)
{
	const struct pol_snp_wl *x = &w->snp;
	char h[16];
	check_set(r, POL_EXECUTABLES, POL_AR_UNRECOGNIZED_RUNTIME, "SNP measurement", s->measurement, &x->measurement,
		  w->name);
	check_set(r, POL_CONFIGURATION, POL_AR_UNSUPPORTABLE_CONFIG, "SNP HOST_DATA", s->host_data, &x->host_data,
		  w->name);
	check_set(r, POL_EXECUTABLES, POL_AR_UNRECOGNIZED_RUNTIME, "SNP ID key digest", s->id_key_digest,
		  &x->id_key_digest, w->name);
	if (x->author_key_digest.n && !s->author_key_en)
		fail(r, POL_EXECUTABLES, POL_AR_UNRECOGNIZED_RUNTIME,
		     "SNP author key digest required by workload \"%s\" but the launch used no author key "
		     "(AUTHOR_KEY_EN 0)", w->name);
	else
		check_set(r, POL_EXECUTABLES, POL_AR_UNRECOGNIZED_RUNTIME, "SNP author key digest",
			  s->author_key_digest, &x->author_key_digest, w->name);
	if (x->has_family_id && memcmp(x->family_id, s->family_id, 16)) {
		char e[16];
		fail(r, POL_EXECUTABLES, POL_AR_UNRECOGNIZED_RUNTIME,
		     "SNP FAMILY_ID %s is not %s as workload \"%s\" requires", short_hex(s->family_id, h),
		     short_hex(x->family_id, e), w->name);
	}
	if (x->has_image_id && memcmp(x->image_id, s->image_id, 16)) {
		char e[16];
		fail(r, POL_EXECUTABLES, POL_AR_UNRECOGNIZED_RUNTIME,
		     "SNP IMAGE_ID %s is not %s as workload \"%s\" requires", short_hex(s->image_id, h),
		     short_hex(x->image_id, e), w->name);
	}
	if (x->has_min_guest_svn && s->guest_svn < x->min_guest_svn)
		fail(r, POL_EXECUTABLES, POL_AR_UNSAFE_RUNTIME, "SNP GUEST_SVN %u is below the minimum %u of workload \"%s\"",
		     s->guest_svn, x->min_guest_svn, w->name);
	if (s->vmpl > 3 || !(x->vmpl_mask & (1u << s->vmpl))) {
		char list[32] = "";
		size_t off = 0;
		for (int i = 0; i < 4; i++)
			if (x->vmpl_mask & (1u << i))
				off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%d", off ? ", " : "", i);
		fail(r, POL_CONFIGURATION, POL_AR_UNSUPPORTABLE_CONFIG,
		     "report requested at VMPL %u; workload \"%s\" allows VMPL %s", s->vmpl, w->name, list);
	}
	if ((s->policy & SEV_SNP_POLICY_DEBUG) && !x->allow_debug)
		fail(r, POL_CONFIGURATION, POL_AR_UNSUPPORTABLE_CONFIG, "guest policy allows debug (policy 0x%08llx, bit 19)",
		     (unsigned long long)s->policy);
	if ((s->policy & SEV_SNP_POLICY_MIGRATE_MA) && !x->allow_migration_agent)
		fail(r, POL_CONFIGURATION, POL_AR_UNSUPPORTABLE_CONFIG,
		     "guest policy allows a migration agent (policy 0x%08llx, bit 18)", (unsigned long long)s->policy);
}

static void snp_platform(struct run *r, const struct pol_policy *p, const struct att_result *res)
{
	const struct sev_snp_report *s = &res->snp;
	const struct pol_snp_plat *sp = &p->snp;
	if (!sp->allow_smt && (s->platform_info & SEV_SNP_PLATINFO_SMT_EN))
		fail(r, POL_CONFIGURATION, POL_AR_UNSUPPORTABLE_CONFIG,
		     "SMT is enabled on the platform (PLATFORM_INFO 0x%llx, bit 0) and the policy forbids SMT",
		     (unsigned long long)s->platform_info);
	bool vlek = !strcmp(res->snp_key, "VLEK") || (!res->snp_key[0] && s->signing_key == SEV_SNP_KEY_VLEK);
	unsigned bit = vlek ? 2 : 1;
	if (!(sp->keys & bit))
		fail(r, POL_HARDWARE, POL_AR_CONTRAINDICATED_HARDWARE, "report signed with a %s; the policy accepts %s only",
		     vlek ? "VLEK" : "VCEK", vlek ? "VCEK" : "VLEK");
	if (!sp->has_minimum_tcb) {
		note(r, "hardware", "REPORTED_TCB not compared: the policy sets no platform.snp.minimum_tcb");
		return;
	}
	enum sev_snp_product pr = pol_product_of(res->product);
	if (pr == SEV_SNP_PRODUCT_UNKNOWN || !sp->min[pr].present) {
		fail(r, POL_HARDWARE, POL_AR_UNRECOGNIZED_HARDWARE,
		     "the policy sets no minimum REPORTED_TCB for product %s", res->product[0] ? res->product : "unknown");
		return;
	}
	struct sev_snp_tcb t;
	sev_snp_tcb_decode(s->reported_tcb, pr, &t);
	const uint8_t have[POL_TCB_NCOMP] = {t.bl, t.tee, t.snp, t.ucode, t.fmc};
	const struct pol_tcb_min *m = &sp->min[pr];
	for (int c = 0; c < POL_TCB_NCOMP; c++)
		if (m->has[c] && have[c] < m->v[c])
			fail(r, POL_HARDWARE, POL_AR_CONTRAINDICATED_HARDWARE, "REPORTED_TCB %s=%u is below the minimum %u for %s",
			     pol_tcb_comp_names[c], have[c], m->v[c], res->product);
}

/* ------------------------------------------------------------- TDX */
static void check_masked(struct run *r, const char *what, const uint8_t actual[8], const struct pol_masked *m,
			 const char *wl)
{
	if (!m->present)
		return;
	for (int i = 0; i < 8; i++)
		if ((actual[i] & m->mask[i]) != m->value[i]) {
			char a[17], v[17], k[17];
			vg_hex_encode(actual, 8, a);
			vg_hex_encode(m->value, 8, v);
			vg_hex_encode(m->mask, 8, k);
			fail(r, POL_CONFIGURATION, POL_AR_UNSUPPORTABLE_CONFIG,
			     "TDX %s %s does not match workload \"%s\" (value %s under mask %s)", what, a, wl, v, k);
			return;
		}
}

static void tdx_workload(struct run *r, const struct pol_workload *w, const struct tdx_td_body *b)
{
	static const char *const label[POL_TDX_NMR] = {"MRTD", "RTMR0", "RTMR1", "RTMR2", "RTMR3",
						       "MRCONFIGID", "MROWNER", "MROWNERCONFIG"};
	const uint8_t *found[POL_TDX_NMR] = {b->mr_td,	 b->rtmr[0],	 b->rtmr[1], b->rtmr[2],
					     b->rtmr[3], b->mr_config_id, b->mr_owner, b->mr_owner_config};
	for (int i = 0; i < POL_TDX_NMR; i++) {
		char what[32];
		snprintf(what, sizeof(what), "TDX %s", label[i]);
		bool cfg = i >= POL_MRCONFIGID;
		check_set(r, cfg ? POL_CONFIGURATION : POL_EXECUTABLES,
			  cfg ? POL_AR_UNSUPPORTABLE_CONFIG : POL_AR_UNRECOGNIZED_RUNTIME, what, found[i], &w->tdx.mr[i],
			  w->name);
	}
	check_masked(r, "TD_ATTRIBUTES", b->td_attributes, &w->tdx.td_attributes, w->name);
	check_masked(r, "XFAM", b->xfam, &w->tdx.xfam, w->name);
	if ((b->td_attributes[0] & 1) && !w->tdx.allow_debug) {
		char a[17];
		vg_hex_encode(b->td_attributes, 8, a);
		fail(r, POL_CONFIGURATION, POL_AR_UNSUPPORTABLE_CONFIG, "TD is a debug TD (TD_ATTRIBUTES %s, bit 0)", a);
	}
}

static bool advisory_listed(const struct pol_tdx_accept *a, const char *id)
{
	for (size_t i = 0; i < a->nadv; i++)
		if (!strcmp(a->advisories[i], id))
			return true;
	return false;
}

static void tdx_platform(struct run *r, const struct pol_policy *p, const struct att_result *res)
{
	const struct pol_tdx_plat *tp = &p->tdx;
	if (res->tcb_status == ATT_TCB_NOT_EVALUATED) {
		if (tp->collateral_required)
			fail(r, POL_HARDWARE, POL_AR_CONTRAINDICATED_HARDWARE,
			     "TDX TCB status not evaluated (no collateral given) and the policy requires collateral");
		else
			note(r, "hardware", "TDX TCB status not evaluated: no collateral given "
					    "(platform.tdx.collateral_required is false)");
		return;
	}
	if (res->collateral_expired)
		fail(r, POL_HARDWARE, POL_AR_CONTRAINDICATED_HARDWARE, "TDX collateral is past its date: %s",
		     res->collateral_note[0] ? res->collateral_note : "expired");
	const char *st = att_tcb_status_name(res->tcb_status);
	const struct pol_tdx_accept *a = NULL;
	for (size_t i = 0; i < tp->nacc; i++)
		if (tp->acc[i].status == res->tcb_status)
			a = &tp->acc[i];
	if (!a) {
		char list[256] = "";
		size_t off = 0;
		for (size_t i = 0; i < tp->nacc && off < sizeof(list); i++)
			off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s", i ? ", " : "",
						att_tcb_status_name(tp->acc[i].status));
		fail(r, POL_HARDWARE, POL_AR_CONTRAINDICATED_HARDWARE, "TDX TCB status %s%s%s%s is not accepted (accepted: %s)",
		     st, res->tcb_date[0] ? " (tcbDate " : "", res->tcb_date, res->tcb_date[0] ? ")" : "", list);
		return;
	}
	bool ok = true;
	if (a->has_advisories) {
		size_t n = res->advisories ? json_array_size(res->advisories) : 0;
		for (size_t i = 0; i < n; i++) {
			const char *id = json_string_value(json_array_get(res->advisories, i));
			if (id && !advisory_listed(a, id)) {
				fail(r, POL_HARDWARE, POL_AR_CONTRAINDICATED_HARDWARE,
				     "TDX TCB status %s with advisory %s, which is not among the %zu accepted advisory IDs", st,
				     id, a->nadv);
				ok = false;
			}
		}
	}
	if (a->has_until) {
		int64_t d;
		if (!res->tcb_date[0] || vg_parse_rfc3339(res->tcb_date, &d, NULL)) {
			fail(r, POL_HARDWARE, POL_AR_CONTRAINDICATED_HARDWARE,
			     "TDX TCB status %s is accepted only until tcbDate %s, and the TCB level has no readable tcbDate",
			     st, a->until_text);
			ok = false;
		} else if (d > a->until) {
			fail(r, POL_HARDWARE, POL_AR_CONTRAINDICATED_HARDWARE,
			     "TDX TCB status %s with tcbDate %s is accepted only until tcbDate %s", st, res->tcb_date,
			     a->until_text);
			ok = false;
		}
	}
	if (ok && res->tcb_status != ATT_TCB_UP_TO_DATE) {
		/* Accepted by the policy, still not up to date: a warning (AR4SI unsafe hardware). */
		set_worse(&r->vec[POL_HARDWARE], POL_AR_UNSAFE_HARDWARE);
		note(r, "hardware", "TDX TCB status %s%s%s%s accepted by the policy (not UpToDate: warning)", st,
		     res->tcb_date[0] ? " (tcbDate " : "", res->tcb_date, res->tcb_date[0] ? ")" : "");
	}
}

/* --------------------------------------------------------- freshness */
static void freshness(struct run *r, const struct pol_policy *p, const struct att_result *res,
		      const struct pol_context *ctx)
{
	const uint8_t *rd = res->platform == ATT_PLATFORM_SNP ? res->snp.report_data : res->tdx.body.report_data;
	char h[16], e[16];
	if (!ctx || !ctx->expected_report_data) {
		if (p->require_nonce)
			fail(r, POL_INSTANCE_IDENTITY, POL_AR_UNRECOGNIZED_INSTANCE,
			     "REPORT_DATA %s not checked: no expected value (session nonce) was given and the policy "
			     "requires one (freshness.require_nonce)", short_hex(rd, h));
		else
			note(r, "freshness", "REPORT_DATA not checked: no expected value was given "
					     "(freshness.require_nonce is false)");
	} else if (memcmp(rd, ctx->expected_report_data, 64)) {
		fail(r, POL_INSTANCE_IDENTITY, POL_AR_UNTRUSTWORTHY_INSTANCE,
		     "REPORT_DATA %s does not bind the session nonce (expected %s)", short_hex(rd, h),
		     short_hex(ctx->expected_report_data, e));
	}
	if (ctx && ctx->init_data_digest) {
		const uint8_t *f = res->platform == ATT_PLATFORM_SNP ? res->snp.host_data : res->tdx.body.mr_config_id;
		size_t flen = res->platform == ATT_PLATFORM_SNP ? 32 : 48;
		const char *fname = res->platform == ATT_PLATFORM_SNP ? "HOST_DATA" : "MRCONFIGID";
		bool ok = ctx->init_data_digest_len <= flen && !memcmp(f, ctx->init_data_digest, ctx->init_data_digest_len);
		for (size_t i = ctx->init_data_digest_len; ok && i < flen; i++)
			ok = f[i] == 0;
		if (!ok)
			fail(r, POL_CONFIGURATION, POL_AR_UNSUPPORTABLE_CONFIG,
			     "%s %s does not carry the init-data digest %s", fname, short_hex(f, h),
			     ctx->init_data_digest_len >= 4 ? short_hex(ctx->init_data_digest, e) : "(short)");
	}
}

/* --------------------------------------------------------- workloads */
static void run_init(struct run *r)
{
	memset(r, 0, sizeof(*r));
	r->lines = json_array();
}

static void merge(struct run *dst, struct run *src)
{
	for (int i = 0; i < POL_NCLAIMS; i++)
		set_worse(&dst->vec[i], src->vec[i]);
	json_array_extend(dst->lines, src->lines);
	dst->failures += src->failures;
}

static bool has_platform(const struct pol_workload *w, enum att_platform pl)
{
	return pl == ATT_PLATFORM_SNP ? w->snp.present : w->tdx.present;
}

/* Picks the first workload that passes every check, or the one with the fewest
 * failures (document order on ties) to explain against. */
static void workloads(struct run *r, const struct pol_policy *p, const struct att_result *res, char *matched,
		      size_t mlen)
{
	const char *pname = res->platform == ATT_PLATFORM_SNP ? "SNP" : "TDX";
	struct run best = {0};
	const struct pol_workload *bw = NULL;
	size_t candidates = 0;
	for (size_t i = 0; i < p->nwl; i++) {
		const struct pol_workload *w = &p->wl[i];
		if (!has_platform(w, res->platform))
			continue;
		candidates++;
		struct run t;
		run_init(&t);
		if (res->platform == ATT_PLATFORM_SNP)
			snp_workload(&t, w, &res->snp);
		else
			tdx_workload(&t, w, &res->tdx.body);
		if (!bw || t.failures < best.failures) {
			json_decref(best.lines);
			best = t;
			bw = w;
		} else {
			json_decref(t.lines);
		}
		if (best.failures == 0)
			break;
	}
	if (!bw) {
		fail(r, POL_EXECUTABLES, POL_AR_UNRECOGNIZED_RUNTIME, "the policy has no %s workload", pname);
		/* Without a workload nothing may allow debug. */
		struct pol_workload none;
		memset(&none, 0, sizeof(none));
		snprintf(none.name, sizeof(none.name), "(none)");
		none.snp.vmpl_mask = 0xf;
		struct run t;
		run_init(&t);
		if (res->platform == ATT_PLATFORM_SNP)
			snp_workload(&t, &none, &res->snp);
		else
			tdx_workload(&t, &none, &res->tdx.body);
		merge(r, &t);
		json_decref(t.lines);
		return;
	}
	if (best.failures == 0) {
		snprintf(matched, mlen, "%s", bw->name);
	} else if (candidates > 1) {
		note(r, "workloads", "none of the %zu %s workloads matched; explaining against the closest, \"%s\"",
		     candidates, pname, bw->name);
	}
	merge(r, &best);
	json_decref(best.lines);
}

/* ------------------------------------------------------------- entry */
static json_t *claims_of(const struct att_result *res)
{
	json_t *full = att_result_json(res);
	json_t *c = full ? json_object_get(full, "claims") : NULL;
	json_t *out = c ? json_incref(c) : json_object();
	json_decref(full);
	if (!out)
		return NULL;
	json_object_set_new(out, "platform", json_string(res->platform == ATT_PLATFORM_SNP ? "snp"
							: res->platform == ATT_PLATFORM_TDX ? "tdx"
							: "unknown"));
	json_object_set_new(out, "product", json_string(res->product[0] ? res->product : "unknown"));
	json_object_set_new(out, "simulated", json_boolean(res->simulated));
	return out;
}

int pol_appraise(const struct pol_policy *p, const struct att_result *res, const struct pol_context *ctx,
		 struct pol_appraisal *out, struct vg_err *err)
{
	if (!out)
		return vg_err_set(err, EINVAL, "no appraisal output");
	memset(out, 0, sizeof(*out));
	out->status = POL_CONTRAINDICATED;
	if (!p || !res)
		return vg_err_set(err, EINVAL, "appraisal needs a policy and a verification result");
	out->appraised_at = ctx && ctx->now ? (int64_t)ctx->now : (int64_t)time(NULL);
	memcpy(out->policy_digest, p->digest, 32);
	out->platform = res->platform;
	out->verified = res->verified;
	out->simulated = res->simulated;
	snprintf(out->product, sizeof(out->product), "%s", res->product);

	struct run r;
	run_init(&r);
	if (!r.lines)
		return vg_err_set(err, ENOMEM, "out of memory");

	if (!res->verified || !res->parsed ||
	    (res->platform != ATT_PLATFORM_SNP && res->platform != ATT_PLATFORM_TDX)) {
		fail(&r, POL_INSTANCE_IDENTITY, POL_AR_CRYPTO_FAILED, "evidence rejected by the verifier: %s",
		     res->verified ? "unknown platform" : res->reason);
		note(&r, "appraisal", "no reference-value, platform or freshness check was made on rejected evidence");
	} else {
		r.vec[POL_INSTANCE_IDENTITY] = POL_AR_TRUSTWORTHY_INSTANCE;
		r.vec[POL_CONFIGURATION] = POL_AR_APPROVED_CONFIG;
		r.vec[POL_EXECUTABLES] = POL_AR_APPROVED_RUNTIME;
		r.vec[POL_HARDWARE] = POL_AR_GENUINE_HARDWARE;
		r.vec[POL_RUNTIME_OPAQUE] = POL_AR_ENCRYPTED_MEMORY;
		const char *plat = res->platform == ATT_PLATFORM_SNP ? "sim-snp" : "sim-tdx";
		if (res->simulated) {
			r.vec[POL_RUNTIME_OPAQUE] = POL_AR_NO_CLAIM;
			if (!p->simulated)
				fail(&r, POL_HARDWARE, POL_AR_UNRECOGNIZED_HARDWARE,
				     "evidence is from a SIMULATED platform (%s) and the policy does not accept simulation",
				     plat);
			else
				note(&r, "hardware", "SIMULATED platform (%s), accepted because the policy sets "
						     "\"simulated\": true; not genuine hardware, guest memory not encrypted",
				     plat);
		}
		if (res->platform == ATT_PLATFORM_SNP)
			snp_platform(&r, p, res);
		else
			tdx_platform(&r, p, res);
		freshness(&r, p, res, ctx);
		workloads(&r, p, res, out->workload, sizeof(out->workload));
	}
	memcpy(out->vector, r.vec, sizeof(out->vector));
	enum pol_status st = POL_NONE;
	for (int i = 0; i < POL_NCLAIMS; i++) {
		enum pol_status t = pol_claim_tier(r.vec[i]);
		if (rank(t) > rank(st))
			st = t;
	}
	out->status = st;
	out->explanations = r.lines;
	out->claims = claims_of(res);
	if (!out->claims) {
		pol_appraisal_free(out);
		out->status = POL_CONTRAINDICATED;
		return vg_err_set(err, ENOMEM, "out of memory");
	}
	return 0;
}
