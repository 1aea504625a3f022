/* Unit tests for policy/: the loader's one-line errors with JSON paths, the
 * appraisal of real SNP and TDX vectors under policies written for them, the
 * status derivation, and the resource rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "policy/policy.h"
#include "tests/unit/test_attest_vectors.h"

#define M_GOSEV "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01"
#define M_VIRTEE "7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d3e1a0dc39b2c60bd95b9c480cd81841f"
#define M_OTHER "6944034e4383745f36f1e228cc87892f9974950cd27ec70dd6e6c0a52faf5533763415b739ff665b3149323b3846e4f4"
#define Z96 "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"

static struct pol_policy *load_ok(const char *json)
{
	struct pol_policy *p = NULL;
	struct vg_err e = {0};
	int rc = pol_load(json, strlen(json), &p, &e);
	if (rc)
		fail_msg("policy did not load: %s", e.msg);
	return p;
}

/* ------------------------------------------------------------- loading */
static const struct {
	const char *doc, *msg; /* msg: the exact error line */
} bad[] = {
	{"{\"version\":1,\"workloads\":{\"payments\":{\"snp\":{\"measurement\":[\"" M_GOSEV "\",\"" M_VIRTEE
	 "\",\"" M_GOSEV "\"]}}}}",
	 "workloads.payments.snp.measurement[2]: duplicate of workloads.payments.snp.measurement[0]"},
	{"{\"version\":1,\"workloads\":{\"payments\":{\"snp\":{\"measurement\":[\"" M_GOSEV "\",\"" M_VIRTEE
	 "\",\"" M_OTHER "0\"]}}}}",
	 "workloads.payments.snp.measurement[2]: 97 hex digits, need 96"},
	{"{\"version\":1,\"workloads\":{\"payments\":{\"snp\":{\"measurement\":[\"" M_GOSEV "\",\"" M_VIRTEE
	 "\",\"6944034e4383745f36f1e228cc87892f9974950cd27ec70dd6e6c0a52faf5533763415b739ff665b3149323b3846e4f\"]}}}}",
	 "workloads.payments.snp.measurement[2]: 95 hex digits, need 96"},
	{"{\"version\":1,\"workloads\":{\"payments\":{\"snp\":{\"measurement\":[]}}}}",
	 "workloads.payments.snp.measurement: empty allowlist (remove the key to leave it unconstrained)"},
	{"{\"version\":1,\"workloads\":{\"payments\":{\"snp\":{\"measurement\":[\"" M_GOSEV "\"],\"debug\":true}}}}",
	 "workloads.payments.snp.debug: unknown key (expected one of: measurement, host_data, id_key_digest, "
	 "author_key_digest, family_id, image_id, min_guest_svn, vmpl, allow_debug, allow_migration_agent)"},
	{"{\"version\":1,\"workloads\":{\"payments\":{\"snp\":{\"measurement\":[\"" M_GOSEV "\"],\"allow_debug\":1}}}}",
	 "workloads.payments.snp.allow_debug: must be true or false, found an integer"},
	{"{\"version\":1,\"workloads\":{\"payments\":{\"snp\":{\"measurement\":[\"" M_GOSEV "\"]}},"
	 "\"payments\":{\"tdx\":{\"mrtd\":[\"" M_GOSEV "\"]}}}}",
	 "workloads.payments: duplicate key \"payments\" (line 1)"},
	{"{\"version\":2,\"workloads\":{}}", "version: unsupported (this loader reads \"version\": 1)"},
	{"{\"workloads\":{}}", "version: missing (this loader reads \"version\": 1)"},
	{"{\"version\":1}", "workloads: missing (required; an object of named workloads)"},
	{"{\"version\":1,\"workloads\":{},\"extra\":1}",
	 "extra: unknown key (expected one of: version, simulated, freshness, workloads, platform, resources, "
	 "description)"},
	{"{\"version\":1,\"workloads\":{\"w\":{}}}", "workloads.w: has neither an \"snp\" nor a \"tdx\" section"},
	{"{\"version\":1,\"workloads\":{\"w\":{\"snp\":{}}}}", "workloads.w.snp.measurement: missing (required)"},
	{"{\"version\":1,\"workloads\":{\"w\":{\"snp\":{\"measurement\":\"" M_GOSEV "\",\"vmpl\":[0,0]}}}}",
	 "workloads.w.snp.vmpl[1]: duplicate VMPL 0"},
	{"{\"version\":1,\"workloads\":{\"w\":{\"snp\":{\"measurement\":\"" M_GOSEV "\",\"family_id\":\"zz\"}}}}",
	 "workloads.w.snp.family_id: 'z' at offset 0 is not a hex digit"},
	{"{\"version\":1,\"workloads\":{\"w\":{\"tdx\":{\"mrtd\":[\"" M_GOSEV
	 "\"],\"td_attributes\":{\"value\":\"0100000000000000\"}}}}}",
	 "workloads.w.tdx.td_attributes: requires the DEBUG attribute (bit 0) but allow_debug is false"},
	{"{\"version\":1,\"workloads\":{\"w\":{\"tdx\":{\"mrtd\":[\"" M_GOSEV
	 "\"],\"xfam\":{\"value\":\"0300000000000000\",\"mask\":\"0100000000000000\"}}}}}",
	 "workloads.w.tdx.xfam: value has bits outside the mask (byte 0: value 0x03, mask 0x01)"},
	{"{\"version\":1,\"workloads\":{},\"platform\":{\"snp\":{\"minimum_tcb\":{\"Milan\":{\"fmc\":1}}}}}",
	 "platform.snp.minimum_tcb.Milan.fmc: unknown key (expected one of: bl, tee, snp, ucode)"},
	{"{\"version\":1,\"workloads\":{},\"platform\":{\"snp\":{\"minimum_tcb\":{\"Naples\":{\"bl\":1}}}}}",
	 "platform.snp.minimum_tcb.Naples: unknown product (Milan, Genoa or Turin)"},
	{"{\"version\":1,\"workloads\":{},\"platform\":{\"snp\":{\"minimum_tcb\":{\"Milan\":{\"snp\":256}}}}}",
	 "platform.snp.minimum_tcb.Milan.snp: 256 is out of range 0..255"},
	{"{\"version\":1,\"workloads\":{},\"platform\":{\"snp\":{\"signing_keys\":[]}}}",
	 "platform.snp.signing_keys: empty list"},
	{"{\"version\":1,\"workloads\":{},\"platform\":{\"snp\":{\"signing_keys\":[\"VCEK\",\"ARK\"]}}}",
	 "platform.snp.signing_keys[1]: \"ARK\" is not VCEK or VLEK"},
	{"{\"version\":1,\"workloads\":{},\"platform\":{\"tdx\":{\"accepted_tcb_status\":[\"UpToDate\",\"UpToDate\"]}}}",
	 "platform.tdx.accepted_tcb_status[1]: UpToDate is listed twice (also platform.tdx.accepted_tcb_status[0])"},
	{"{\"version\":1,\"workloads\":{},\"platform\":{\"tdx\":{\"accepted_tcb_status\":[\"Revoked\"]}}}",
	 "platform.tdx.accepted_tcb_status[0]: Revoked can never be accepted"},
	{"{\"version\":1,\"workloads\":{},\"platform\":{\"tdx\":{\"accepted_tcb_status\":[{\"status\":\"OutOfDate\","
	 "\"until\":\"yesterday\"}]}}}",
	 NULL},
	{"{\"version\":1,\"workloads\":{},\"platform\":{\"tdx\":{\"accepted_tcb_status\":[{\"status\":\"UpToDate\","
	 "\"advisory_ids\":[\"INTEL-SA-00001\"]}]}}}",
	 "platform.tdx.accepted_tcb_status[0].advisory_ids: UpToDate platforms have no advisories to accept"},
	{"{\"version\":1,\"workloads\":{\"w\":{\"snp\":{\"measurement\":\"" M_GOSEV "\"}}},\"resources\":[{\"path\":"
	 "\"default/keys/*\",\"workloads\":[\"v\"]}]}",
	 "resources[0].workloads[0]: no workload named \"v\""},
	{"{\"version\":1,\"workloads\":{\"w\":{\"snp\":{\"measurement\":\"" M_GOSEV "\"}}},\"resources\":[{\"path\":"
	 "\"default/keys/*\",\"workloads\":[\"w\"],\"allow_simulated\":true}]}",
	 "resources[0].allow_simulated: true, but the policy does not accept simulated platforms (\"simulated\": false)"},
	{"{\"version\":1,\"workloads\":{\"w\":{\"snp\":{\"measurement\":\"" M_GOSEV "\"}}},\"resources\":[{\"path\":"
	 "\"default/keys\",\"workloads\":[\"w\"]}]}",
	 NULL},
	{"{\"version\":1,\"workloads\":{\"w\":{\"snp\":{\"measurement\":\"" M_GOSEV "\"}}},\"resources\":[{\"path\":"
	 "\"a/b/c\",\"workloads\":[\"w\"],\"min_status\":\"none\"}]}",
	 "resources[0].min_status: \"none\": must be \"affirming\" or \"warning\""},
	{"{\"version\":1,\"workloads\":{}", NULL},
	{"[1]", "(document): must be a JSON object, found an array"},
};

static void test_load_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < VG_ARRAY_SIZE(bad); i++) {
		struct pol_policy *p = (struct pol_policy *)1;
		struct vg_err e = {0};
		int rc = pol_load(bad[i].doc, strlen(bad[i].doc), &p, &e);
		if (rc != -EINVAL)
			fail_msg("case %zu loaded (rc %d): %s", i, rc, bad[i].doc);
		assert_null(p);
		assert_null(strchr(e.msg, '\n'));
		if (bad[i].msg && strcmp(e.msg, bad[i].msg))
			fail_msg("case %zu:\n  got  %s\n  want %s", i, e.msg, bad[i].msg);
	}
	/* the cases without an exact line still name their path */
	struct pol_policy *p = NULL;
	struct vg_err e = {0};
	assert_int_equal(pol_load(bad[24].doc, strlen(bad[24].doc), &p, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "platform.tdx.accepted_tcb_status[0].until: "));
	assert_int_equal(pol_load(bad[28].doc, strlen(bad[28].doc), &p, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "resources[0].path: \"default/keys\" is not repository/type/tag"));
	assert_int_equal(pol_load(bad[30].doc, strlen(bad[30].doc), &p, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "line 1, column"));
}

static void test_load_ok_and_starter(void **state)
{
	(void)state;
	for (int sim = 0; sim < 2; sim++) {
		json_t *s = pol_starter_json(sim);
		char *t = json_dumps(s, 0);
		struct pol_policy *p = load_ok(t);
		assert_int_equal(pol_accepts_simulated(p), sim);
		json_t *sum = pol_summary_json(p);
		assert_int_equal(json_array_size(json_object_get(sum, "workloads")), 0);
		json_decref(sum);
		pol_free(p);
		free(t);
		json_decref(s);
	}
}

/* --------------------------------------------------------- appraisal */
static int verify_snp_at(const char *rep, const char *cert, const char *chain, const char *at,
			 struct att_result *res)
{
	size_t rl, cl, chl;
	uint8_t *r = vec(rep, &rl), *c = vec(cert, &cl), *ch = vec(chain, &chl);
	if (!r || !c || !ch) {
		free(r), free(c), free(ch);
		return -1;
	}
	att_result_init(res);
	struct att_snp_input in = {c, cl, ch, chl, NULL, 0};
	struct att_trust t = {0};
	if (at) {
		t.have_at = true;
		assert_int_equal(vg_parse_rfc3339(at, &t.at, NULL), 0);
	}
	assert_int_equal(att_snp_verify(r, rl, &in, &t, res), 0);
	if (!res->verified)
		fail_msg("vector %s not verified: %s", rep, res->reason);
	free(r), free(c), free(ch);
	return 0;
}

static int verify_snp(const char *rep, const char *cert, const char *chain, struct att_result *res)
{
	return verify_snp_at(rep, cert, chain, NULL, res);
}

static bool has_line(const struct pol_appraisal *a, const char *line)
{
	for (size_t i = 0; i < json_array_size(a->explanations); i++)
		if (strstr(json_string_value(json_array_get(a->explanations, i)), line))
			return true;
	return false;
}

static void dump(const struct pol_appraisal *a)
{
	for (size_t i = 0; i < json_array_size(a->explanations); i++)
		print_message("  # %s\n", json_string_value(json_array_get(a->explanations, i)));
}

static void appraise(const char *policy, const struct att_result *res, const uint8_t *rd, struct pol_appraisal *a)
{
	struct pol_policy *p = load_ok(policy);
	struct pol_context ctx = {.expected_report_data = rd};
	struct vg_err e = {0};
	assert_int_equal(pol_appraise(p, res, &ctx, a, &e), 0);
	pol_free(p);
}

static void test_snp_debug_contraindicated(void **state)
{
	(void)state;
	struct att_result res;
	if (verify_snp("snp/go-sev-guest/attestation.bin", "snp/go-sev-guest/vcek.testcer", "snp/amd_kds/ask_ark_milan.pem",
		       &res))
		skip();
	struct pol_appraisal a;
	appraise("{\"version\":1,\"workloads\":{\"payments\":{\"snp\":{\"measurement\":[\"" M_GOSEV "\"]}}}}", &res,
		 res.snp.report_data, &a);
	dump(&a);
	assert_int_equal(a.status, POL_CONTRAINDICATED);
	assert_string_equal(a.workload, "");
	assert_int_equal(a.vector[POL_CONFIGURATION], 96);
	assert_int_equal(a.vector[POL_EXECUTABLES], 2);
	assert_true(has_line(&a, "configuration: guest policy allows debug (policy 0x000b0000, bit 19)"));
	pol_appraisal_free(&a);
	/* a workload that allows debug matches it */
	appraise("{\"version\":1,\"workloads\":{\"dev\":{\"snp\":{\"measurement\":[\"" M_GOSEV
		 "\"],\"allow_debug\":true}}}}",
		 &res, res.snp.report_data, &a);
	assert_int_equal(a.status, POL_AFFIRMING);
	assert_string_equal(a.workload, "dev");
	pol_appraisal_free(&a);
	att_result_free(&res);
}

#define MILAN_POLICY(meas, extra)                                                                          \
	"{\"version\":1,\"workloads\":{\"payments\":{\"snp\":{\"measurement\":[" meas "]}}},"             \
	"\"platform\":{\"snp\":{\"minimum_tcb\":{\"Milan\":{\"bl\":3,\"tee\":0,\"snp\":" extra ",\"ucode\":115}}}}}"

static void test_snp_milan(void **state)
{
	(void)state;
	struct att_result res;
	if (verify_snp("snp/virtee-sev/report_milan.bin", "snp/virtee-sev/vcek_milan.der", "snp/virtee-sev/cert_chain_milan",
		       &res))
		skip();
	struct pol_appraisal a;
	appraise(MILAN_POLICY("\"" M_VIRTEE "\"", "8"), &res, res.snp.report_data, &a);
	dump(&a);
	assert_int_equal(a.status, POL_AFFIRMING);
	assert_string_equal(a.workload, "payments");
	assert_int_equal(json_array_size(a.explanations), 0);
	const int8_t want[8] = {2, 2, 2, 0, 2, 2, 0, 0};
	assert_memory_equal(a.vector, want, 8);
	assert_string_equal(json_string_value(json_object_get(a.claims, "measurement")), M_VIRTEE);
	pol_appraisal_free(&a);

	/* TCB minimum one above the reported value */
	appraise(MILAN_POLICY("\"" M_VIRTEE "\"", "9"), &res, res.snp.report_data, &a);
	assert_int_equal(a.status, POL_CONTRAINDICATED);
	assert_int_equal(a.vector[POL_HARDWARE], 96);
	assert_true(has_line(&a, "hardware: REPORTED_TCB snp=8 is below the minimum 9 for Milan"));
	pol_appraisal_free(&a);

	/* measurement not in the list */
	appraise(MILAN_POLICY("\"" M_OTHER "\",\"" M_GOSEV "\"", "8"), &res, res.snp.report_data, &a);
	dump(&a);
	assert_int_equal(a.status, POL_WARNING);
	assert_int_equal(a.vector[POL_EXECUTABLES], 33);
	assert_true(has_line(&a, "executables: SNP measurement 7a1e5c26\xe2\x80\xa6 is not among the 2 reference values "
				 "of workload \"payments\""));
	pol_appraisal_free(&a);

	/* nonce: wrong, and missing */
	uint8_t rd[64] = {1};
	appraise(MILAN_POLICY("\"" M_VIRTEE "\"", "8"), &res, rd, &a);
	assert_int_equal(a.status, POL_CONTRAINDICATED);
	assert_int_equal(a.vector[POL_INSTANCE_IDENTITY], 96);
	assert_true(has_line(&a, "instance-identity: REPORT_DATA d447b55d\xe2\x80\xa6 does not bind the session nonce"));
	pol_appraisal_free(&a);
	appraise(MILAN_POLICY("\"" M_VIRTEE "\"", "8"), &res, NULL, &a);
	assert_int_equal(a.status, POL_CONTRAINDICATED);
	assert_true(has_line(&a, "no expected value (session nonce) was given and the policy requires one"));
	pol_appraisal_free(&a);

	/* VCEK not accepted; product without a minimum; SMT forbidden; VMPL */
	appraise("{\"version\":1,\"workloads\":{\"w\":{\"snp\":{\"measurement\":[\"" M_VIRTEE "\"],\"vmpl\":[1,2]}}},"
		 "\"platform\":{\"snp\":{\"signing_keys\":[\"VLEK\"],\"allow_smt\":false,\"minimum_tcb\":{\"Genoa\":"
		 "{\"bl\":1}}}}}",
		 &res, res.snp.report_data, &a);
	dump(&a);
	assert_int_equal(a.status, POL_CONTRAINDICATED);
	assert_true(has_line(&a, "hardware: report signed with a VCEK; the policy accepts VLEK only"));
	assert_true(has_line(&a, "hardware: the policy sets no minimum REPORTED_TCB for product Milan"));
	assert_true(has_line(&a, "configuration: SMT is enabled on the platform (PLATFORM_INFO 0x1, bit 0)"));
	assert_true(has_line(&a, "configuration: report requested at VMPL 0; workload \"w\" allows VMPL 1, 2"));
	pol_appraisal_free(&a);

	/* no SNP workload at all */
	appraise("{\"version\":1,\"workloads\":{\"t\":{\"tdx\":{\"mrtd\":[\"" M_VIRTEE "\"]}}}}", &res,
		 res.snp.report_data, &a);
	assert_true(has_line(&a, "executables: the policy has no SNP workload"));
	assert_true(has_line(&a, "hardware: REPORTED_TCB not compared"));
	pol_appraisal_free(&a);

	/* simulated evidence is refused unless enabled */
	res.simulated = true;
	appraise(MILAN_POLICY("\"" M_VIRTEE "\"", "8"), &res, res.snp.report_data, &a);
	assert_int_equal(a.status, POL_CONTRAINDICATED);
	assert_true(a.simulated);
	assert_true(has_line(&a, "hardware: evidence is from a SIMULATED platform (sim-snp) and the policy does not "
				 "accept simulation"));
	pol_appraisal_free(&a);
	/* rejected evidence */
	res.simulated = false;
	res.verified = false;
	snprintf(res.reason, sizeof(res.reason), "report signature is invalid");
	appraise(MILAN_POLICY("\"" M_VIRTEE "\"", "8"), &res, res.snp.report_data, &a);
	assert_int_equal(a.status, POL_CONTRAINDICATED);
	assert_int_equal(a.vector[POL_INSTANCE_IDENTITY], 99);
	assert_true(has_line(&a, "instance-identity: evidence rejected by the verifier: report signature is invalid"));
	pol_appraisal_free(&a);
	att_result_free(&res);
}

static void test_snp_vlek_vmpl1(void **state)
{
	(void)state;
	struct att_result res;
	/* the VLEK expired on 2025-12-10: appraise it as of mid-2025 */
	if (verify_snp_at("snp/trustee/test-vlek-report.bin", "snp/trustee/test-vlek.der",
			  "snp/amd_kds/ask_ark_milan_vlek.pem", "2025-06-01T00:00:00Z", &res))
		skip();
	struct pol_appraisal a;
	appraise("{\"version\":1,\"workloads\":{\"aws\":{\"snp\":{\"measurement\":\"8922ebbdd00ec2c541f36a6e7a82a8773a7"
		 "accb451ed67bc94e740dbe92c93c4e8c9af857f5ceeb5a493df2a570d7bf0\",\"vmpl\":[1]}}},\"platform\":{\"snp\":"
		 "{\"signing_keys\":[\"VLEK\"]}}}",
		 &res, res.snp.report_data, &a);
	dump(&a);
	assert_int_equal(a.status, POL_AFFIRMING);
	assert_string_equal(a.workload, "aws");
	pol_appraisal_free(&a);
	att_result_free(&res);
}

/* TDX trustee quote 6 with its collateral, evaluated on 2025-05-01 (inside the collateral's window). */
static int verify_q6(struct att_result *res)
{
	char *root = realpath(getenv("VIGIL_VECTORS") ? getenv("VIGIL_VECTORS") : "../shared/vectors", NULL);
	if (!root)
		return -1;
	char dir[] = "/tmp/vigil-pol-c6.XXXXXX", src[1024], dst[1200];
	static const char *const links[][2] = {
		{"tdx/trustee/tcbInfo.json", "tcb_info.json"},
		{"tdx/trustee/enclaveIdentity.json", "qe_identity.json"},
		{"tdx/go-tdx-guest/tcbInfoIssuerChain.pem", "tcb_info_issuer_chain.pem"},
		{"tdx/go-tdx-guest/qeIdentityIssuerChain.pem", "qe_identity_issuer_chain.pem"},
	};
	size_t ql;
	uint8_t *q = vec("tdx/trustee/tdx_quote_6.dat", &ql);
	if (!q) {
		free(root);
		return -1;
	}
	assert_non_null(mkdtemp(dir));
	for (size_t i = 0; i < 4; i++) {
		snprintf(src, sizeof(src), "%s/%s", root, links[i][0]);
		snprintf(dst, sizeof(dst), "%s/%s", dir, links[i][1]);
		assert_int_equal(symlink(src, dst), 0);
	}
	struct att_tdx_collateral col = {0};
	struct vg_err e = {0};
	assert_int_equal(att_tdx_collateral_load_dir(dir, &col, &e), 0);
	for (size_t i = 0; i < 4; i++) {
		snprintf(dst, sizeof(dst), "%s/%s", dir, links[i][1]);
		unlink(dst);
	}
	rmdir(dir);
	free(root);
	struct att_tdx_input in = {&col, NULL, 0};
	struct att_trust t = {.have_at = true};
	assert_int_equal(vg_parse_rfc3339("2025-05-01T00:00:00Z", &t.at, NULL), 0);
	att_result_init(res);
	assert_int_equal(att_tdx_verify(q, ql, &in, &t, res), 0);
	assert_true(res->verified);
	assert_int_equal(res->tcb_status, ATT_TCB_OUT_OF_DATE);
	assert_false(res->collateral_expired);
	att_tdx_collateral_free(&col);
	free(q);
	return 0;
}

static void tdx_policy(char *out, size_t n, const uint8_t mrtd[48], const char *accepted)
{
	char h[97];
	vg_hex_encode(mrtd, 48, h);
	snprintf(out, n,
		 "{\"version\":1,\"workloads\":{\"td\":{\"tdx\":{\"mrtd\":[\"%s\"]}}},\"freshness\":{\"require_nonce\":false},"
		 "\"platform\":{\"tdx\":{\"accepted_tcb_status\":[%s]}}}",
		 h, accepted);
}

static void test_tdx_q6_out_of_date(void **state)
{
	(void)state;
	struct att_result res;
	if (verify_q6(&res))
		skip();
	char pol[2048];
	struct pol_appraisal a;
	tdx_policy(pol, sizeof(pol), res.tdx.body.mr_td, "\"UpToDate\"");
	appraise(pol, &res, NULL, &a);
	dump(&a);
	assert_int_equal(a.status, POL_CONTRAINDICATED);
	assert_true(has_line(&a, "hardware: TDX TCB status OutOfDate (tcbDate 2018-01-04T00:00:00Z) is not accepted "
				 "(accepted: UpToDate)"));
	assert_true(has_line(&a, "freshness: REPORT_DATA not checked"));
	pol_appraisal_free(&a);

	tdx_policy(pol, sizeof(pol), res.tdx.body.mr_td,
		   "\"UpToDate\",{\"status\":\"OutOfDate\",\"until\":\"2018-01-05T00:00:00Z\"}");
	appraise(pol, &res, NULL, &a);
	dump(&a);
	assert_int_equal(a.status, POL_WARNING);
	assert_string_equal(a.workload, "td");
	assert_int_equal(a.vector[POL_HARDWARE], 32);
	pol_appraisal_free(&a);

	tdx_policy(pol, sizeof(pol), res.tdx.body.mr_td,
		   "\"UpToDate\",{\"status\":\"OutOfDate\",\"until\":\"2018-01-03T00:00:00Z\"}");
	appraise(pol, &res, NULL, &a);
	assert_int_equal(a.status, POL_CONTRAINDICATED);
	assert_true(has_line(&a, "hardware: TDX TCB status OutOfDate with tcbDate 2018-01-04T00:00:00Z is accepted only "
				 "until tcbDate 2018-01-03T00:00:00Z"));
	pol_appraisal_free(&a);

	/* advisories: the quote's IDs must all be listed */
	size_t nadv = res.advisories ? json_array_size(res.advisories) : 0;
	if (nadv) {
		char acc[512];
		snprintf(acc, sizeof(acc), "{\"status\":\"OutOfDate\",\"advisory_ids\":[\"INTEL-SA-99999\"]}");
		tdx_policy(pol, sizeof(pol), res.tdx.body.mr_td, acc);
		appraise(pol, &res, NULL, &a);
		assert_int_equal(a.status, POL_CONTRAINDICATED);
		assert_true(has_line(&a, "which is not among the 1 accepted advisory IDs"));
		pol_appraisal_free(&a);
	}
	/* collateral expired is a failure */
	res.collateral_expired = true;
	snprintf(res.collateral_note, sizeof(res.collateral_note), "tcbInfo nextUpdate passed");
	tdx_policy(pol, sizeof(pol), res.tdx.body.mr_td, "\"UpToDate\",\"OutOfDate\"");
	appraise(pol, &res, NULL, &a);
	assert_int_equal(a.status, POL_CONTRAINDICATED);
	assert_true(has_line(&a, "hardware: TDX collateral is past its date: tcbInfo nextUpdate passed"));
	pol_appraisal_free(&a);
	att_result_free(&res);
}

static void test_tdx_gcp_ccel(void **state)
{
	(void)state;
	size_t ql, cl;
	uint8_t *q = vec("tdx/go-tdx-guest/cos-113-tdx-quote.dat", &ql), *c = vec("tdx/go-tdx-guest/ccel_data.dat", &cl);
	if (!q || !c) {
		free(q), free(c);
		skip();
	}
	struct att_result res;
	att_result_init(&res);
	struct att_tdx_input in = {NULL, c, cl};
	assert_int_equal(att_tdx_verify(q, ql, &in, NULL, &res), 0);
	assert_true(res.verified);
	json_t *rep = json_object_get(res.ccel, "replayed");
	char mrtd[97], pol[4096];
	vg_hex_encode(res.tdx.body.mr_td, 48, mrtd);
	snprintf(pol, sizeof(pol),
		 "{\"version\":1,\"workloads\":{\"cos\":{\"tdx\":{\"mrtd\":\"%s\",\"rtmr0\":\"%s\",\"rtmr1\":\"%s\","
		 "\"rtmr2\":\"%s\"}}},\"platform\":{\"tdx\":{\"collateral_required\":false}}}",
		 mrtd, json_string_value(json_object_get(rep, "rtmr0")), json_string_value(json_object_get(rep, "rtmr1")),
		 json_string_value(json_object_get(rep, "rtmr2")));
	struct pol_appraisal a;
	appraise(pol, &res, res.tdx.body.report_data, &a);
	dump(&a);
	assert_int_equal(a.status, POL_AFFIRMING);
	assert_string_equal(a.workload, "cos");
	assert_true(has_line(&a, "hardware: TDX TCB status not evaluated: no collateral given"));
	pol_appraisal_free(&a);
	/* collateral required by default */
	snprintf(pol, sizeof(pol), "{\"version\":1,\"workloads\":{\"cos\":{\"tdx\":{\"mrtd\":\"%s\",\"rtmr1\":\"%s\"}}}}",
		 mrtd, Z96);
	appraise(pol, &res, res.tdx.body.report_data, &a);
	dump(&a);
	assert_int_equal(a.status, POL_CONTRAINDICATED);
	assert_true(has_line(&a, "hardware: TDX TCB status not evaluated (no collateral given) and the policy requires "
				 "collateral"));
	assert_true(has_line(&a, "executables: TDX RTMR1 "));
	pol_appraisal_free(&a);
	att_result_free(&res);
	free(q), free(c);
}

static void test_tiers(void **state)
{
	(void)state;
	assert_int_equal(pol_claim_tier(0), POL_NONE);
	assert_int_equal(pol_claim_tier(1), POL_NONE);
	assert_int_equal(pol_claim_tier(-1), POL_NONE);
	assert_int_equal(pol_claim_tier(2), POL_AFFIRMING);
	assert_int_equal(pol_claim_tier(31), POL_AFFIRMING);
	assert_int_equal(pol_claim_tier(32), POL_WARNING);
	assert_int_equal(pol_claim_tier(95), POL_WARNING);
	assert_int_equal(pol_claim_tier(96), POL_CONTRAINDICATED);
	assert_int_equal(pol_claim_tier(99), POL_CONTRAINDICATED);
	assert_int_equal(pol_claim_tier(-128), POL_CONTRAINDICATED);
	assert_string_equal(pol_claim_name(POL_SOURCED_DATA), "sourced-data");
	assert_string_equal(pol_status_name(POL_CONTRAINDICATED), "contraindicated");
}

static void test_resources(void **state)
{
	(void)state;
	struct pol_policy *p = load_ok(
		"{\"version\":1,\"simulated\":true,\"workloads\":{\"a\":{\"snp\":{\"measurement\":\"" M_GOSEV "\"}},"
		"\"b\":{\"snp\":{\"measurement\":\"" M_VIRTEE "\"}}},\"resources\":["
		"{\"path\":\"default/keys/a-*\",\"workloads\":[\"a\"]},"
		"{\"path\":\"default/keys/shared\",\"workloads\":[\"*\"],\"min_status\":\"warning\"},"
		"{\"path\":\"dev/*/*\",\"workloads\":[\"b\"],\"allow_simulated\":true}]}");
	struct pol_appraisal a = {.status = POL_AFFIRMING};
	struct vg_err e = {0};
	pol_digest(p, a.policy_digest);
	snprintf(a.workload, sizeof(a.workload), "a");
	assert_int_equal(pol_resource_allowed(p, &a, "default/keys/a-1", &e), 0);
	assert_int_equal(pol_resource_allowed(p, &a, "default/keys/shared", &e), 0);
	assert_int_equal(pol_resource_allowed(p, &a, "default/keys/b-1", &e), -EACCES);
	assert_string_equal(e.msg, "no resource rule matches \"default/keys/b-1\" (default deny)");
	assert_int_equal(pol_resource_allowed(p, &a, "dev/x/y", &e), -EACCES);
	assert_string_equal(e.msg, "resources[2] (\"dev/*/*\") is not granted to workload \"a\"");
	assert_int_equal(pol_resource_allowed(p, &a, "../keys/a", &e), -EINVAL);
	assert_int_equal(pol_resource_allowed(p, &a, "default/keys/a-1/x", &e), -EINVAL);
	a.status = POL_WARNING;
	assert_int_equal(pol_resource_allowed(p, &a, "default/keys/a-1", &e), -EACCES);
	assert_string_equal(e.msg,
			    "resources[0] (\"default/keys/a-*\") requires status affirming or better, the appraisal is warning");
	assert_int_equal(pol_resource_allowed(p, &a, "default/keys/shared", &e), 0);
	a.status = POL_CONTRAINDICATED;
	assert_int_equal(pol_resource_allowed(p, &a, "default/keys/shared", &e), -EACCES);
	a.status = POL_AFFIRMING;
	a.simulated = true;
	assert_int_equal(pol_resource_allowed(p, &a, "default/keys/a-1", &e), -EACCES);
	assert_string_equal(e.msg, "resources[0] (\"default/keys/a-*\") is never released to SIMULATED platforms "
				   "(allow_simulated is false)");
	snprintf(a.workload, sizeof(a.workload), "b");
	assert_int_equal(pol_resource_allowed(p, &a, "dev/x/y", &e), 0);
	a.workload[0] = 0;
	assert_int_equal(pol_resource_allowed(p, &a, "default/keys/shared", &e), -EACCES);
	assert_string_equal(e.msg, "resources[1] (\"default/keys/shared\") requires a matched workload, none matched");
	/* a verdict stored as JSON and read back decides the same */
	snprintf(a.workload, sizeof(a.workload), "b");
	json_t *stored = pol_appraisal_json(&a);
	struct pol_appraisal b;
	assert_int_equal(pol_appraisal_from_json(stored, &b, &e), 0);
	assert_int_equal(b.status, a.status);
	assert_string_equal(b.workload, "b");
	assert_true(b.simulated);
	assert_int_equal(pol_resource_allowed(p, &b, "dev/x/y", &e), 0);
	pol_appraisal_free(&b);
	json_object_set_new(stored, "status", json_string("great"));
	assert_int_equal(pol_appraisal_from_json(stored, &b, &e), -EINVAL);
	assert_string_equal(e.msg, "appraisal.status: \"great\" is not a status");
	assert_int_equal(b.status, POL_CONTRAINDICATED);
	json_decref(stored);
	a.policy_digest[0] ^= 1;
	assert_int_equal(pol_resource_allowed(p, &a, "dev/x/y", &e), -EACCES);
	pol_free(p);
}

static void test_add_workload(void **state)
{
	(void)state;
	json_t *doc = pol_starter_json(false);
	struct vg_err e = {0};
	json_t *m = json_pack("{s:s, s:s, s:{}}", "mode", "snp", "digest", M_GOSEV, "inputs");
	const char *globs[] = {"default/keys/*"};
	assert_int_equal(pol_add_workload(doc, "payments", m, globs, 1, false, &e), 0);
	assert_int_equal(pol_add_workload(doc, "payments", m, NULL, 0, false, &e), -EEXIST);
	assert_string_equal(e.msg, "workloads.payments: already exists (edit the file to change it)");
	json_t *bad = json_pack("{s:s, s:s, s:{}}", "mode", "sev", "digest", M_GOSEV, "inputs");
	assert_int_equal(pol_add_workload(doc, "x", bad, NULL, 0, false, &e), -EINVAL);
	const char *badglob[] = {"nope"};
	assert_int_equal(pol_add_workload(doc, "y", m, badglob, 1, false, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "resources[1].path"));
	assert_null(json_object_get(json_object_get(doc, "workloads"), "y")); /* unchanged on error */
	char *t = json_dumps(doc, 0);
	struct pol_policy *p = load_ok(t);
	json_t *s = pol_summary_json(p);
	assert_int_equal(json_array_size(json_object_get(s, "workloads")), 1);
	assert_int_equal(json_array_size(json_object_get(s, "resources")), 1);
	json_decref(s);
	pol_free(p);
	free(t);
	json_decref(bad);
	json_decref(m);
	json_decref(doc);
}

/* Two add-workload calls with one glob share one rule (else only the first rule
 * is evaluated and the second workload is denied); --allow-simulated marks the
 * rules it creates and never joins a rule with other settings. */
static void test_add_workload_rules(void **state)
{
	(void)state;
	struct vg_err e = {0};
	json_t *m = json_pack("{s:s, s:s, s:{}}", "mode", "snp", "digest", M_GOSEV, "inputs");
	const char *g[] = {"dev/keys/*"}, *g2[] = {"dev/keys/*", "dev/other/*"};
	/* a production policy refuses the simulated opt-in, naming the field */
	json_t *prod = pol_starter_json(false);
	assert_int_equal(pol_add_workload(prod, "a", m, g, 1, true, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "allow_simulated"));
	json_decref(prod);

	json_t *doc = pol_starter_json(true);
	assert_int_equal(pol_add_workload(doc, "a", m, g, 1, true, &e), 0);
	assert_int_equal(pol_add_workload(doc, "b", m, g2, 2, true, &e), 0);
	assert_int_equal(pol_add_workload(doc, "c", m, g, 1, false, &e), 0); /* other settings: own rule */
	json_t *rs = json_object_get(doc, "resources");
	assert_int_equal(json_array_size(rs), 3);
	json_t *r0 = json_array_get(rs, 0), *r1 = json_array_get(rs, 1), *r2 = json_array_get(rs, 2);
	assert_string_equal(json_string_value(json_object_get(r0, "path")), "dev/keys/*");
	assert_true(json_is_true(json_object_get(r0, "allow_simulated")));
	assert_int_equal(json_array_size(json_object_get(r0, "workloads")), 2);
	assert_string_equal(json_string_value(json_array_get(json_object_get(r0, "workloads"), 1)), "b");
	assert_string_equal(json_string_value(json_object_get(r1, "path")), "dev/other/*");
	assert_true(json_is_true(json_object_get(r1, "allow_simulated")));
	assert_null(json_object_get(r2, "allow_simulated"));
	/* and the loaded policy releases dev/keys/x to a simulated "b" appraisal */
	char *t = json_dumps(doc, 0);
	struct pol_policy *p = load_ok(t);
	struct pol_appraisal a;
	memset(&a, 0, sizeof(a));
	a.status = POL_AFFIRMING;
	a.simulated = true;
	snprintf(a.workload, sizeof(a.workload), "b");
	pol_digest(p, a.policy_digest);
	assert_int_equal(pol_resource_allowed(p, &a, "dev/keys/x", &e), 0);
	snprintf(a.workload, sizeof(a.workload), "c");
	assert_int_equal(pol_resource_allowed(p, &a, "dev/keys/x", &e), -EACCES);
	pol_free(p);
	free(t);
	json_decref(doc);
	json_decref(m);
}

/* --------------------------------------------------------------- tokens */
static void sample_appraisal(struct pol_appraisal *a)
{
	memset(a, 0, sizeof(*a));
	a->status = POL_WARNING;
	snprintf(a->workload, sizeof(a->workload), "payments");
	a->vector[POL_INSTANCE_IDENTITY] = 2;
	a->vector[POL_EXECUTABLES] = 33;
	a->vector[POL_HARDWARE] = 2;
	a->appraised_at = 1760000000;
	a->explanations = json_pack("[s]", "executables: SNP measurement 7a1e5c26\xe2\x80\xa6 is not among ...");
	a->claims = json_pack("{s:s, s:i, s:b, s:n, s:[i,i], s:f}", "measurement", M_VIRTEE, "vmpl", 0, "simulated", 0,
			      "nothing", "list", 1, -2, "ratio", 0.5);
}

static void test_ear_jwt(void **state)
{
	(void)state;
	struct pol_appraisal a;
	sample_appraisal(&a);
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	struct pol_ear_opts o = {.issuer = "test", .kid = "k1", .nonce_b64 = "AQIDBAUGBwg", .ttl_seconds = 60};
	char *jwt = NULL;
	struct vg_err e = {0};
	assert_int_equal(pol_ear_jwt(&a, k, &o, &jwt, &e), 0);
	json_t *c = NULL;
	assert_int_equal(pol_ear_jwt_verify(jwt, &k, 1, &c, &e), 0);
	assert_string_equal(json_string_value(json_object_get(c, "eat_profile")), "tag:ietf.org,2026:rats/ear#03");
	assert_int_equal(json_integer_value(json_object_get(c, "exp")), 1760000060);
	assert_string_equal(json_string_value(json_object_get(c, "eat_nonce")), "AQIDBAUGBwg");
	json_t *sub = json_object_get(json_object_get(c, "submods"), "cpu0");
	assert_string_equal(json_string_value(json_object_get(sub, "ear_status")), "warning");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(sub, "ear_trustworthiness_vector"), "executables")), 33);
	assert_true(json_is_array(json_object_get(sub, "ear_appraisal_policy_ids")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(sub, "ear.veraison.annotated-evidence"),
							      "measurement")), M_VIRTEE);
	json_decref(c);
	/* tampered */
	size_t n = strlen(jwt);
	jwt[n - 2] = jwt[n - 2] == 'A' ? 'B' : 'A';
	assert_int_not_equal(pol_ear_jwt_verify(jwt, &k, 1, &c, &e), 0);
	free(jwt);
	/* Veraison names */
	o.names = POL_EAR_NAMES_VERAISON;
	c = pol_ear_claims_json(&a, &o);
	sub = json_object_get(json_object_get(c, "submods"), "cpu0");
	assert_string_equal(json_string_value(json_object_get(sub, "ear.status")), "warning");
	assert_true(json_is_string(json_object_get(sub, "ear.appraisal-policy-id")));
	assert_non_null(json_object_get(c, "ear.verifier-id"));
	json_decref(c);
	EVP_PKEY_free(k);
	pol_appraisal_free(&a);
}

static void test_ear_cwt(void **state)
{
	(void)state;
	struct pol_appraisal a;
	sample_appraisal(&a);
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"), *k2 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	struct pol_ear_opts o = {.kid = "k1", .nonce_b64 = "AQIDBAUGBwg", .names = POL_EAR_NAMES_VERAISON};
	uint8_t *cwt = NULL;
	size_t len = 0;
	struct vg_err e = {0};
	assert_int_equal(pol_ear_cwt(&a, k, &o, &cwt, &len, &e), 0);
	assert_int_equal(cwt[0], 0xd2); /* tag 18 */
	json_t *c = NULL;
	assert_int_equal(pol_ear_cwt_verify(cwt, len, &k, 1, &c, &e), 0);
	/* decodes to the draft names, same values as the JSON claims */
	struct pol_ear_opts d = o;
	d.names = POL_EAR_NAMES_DRAFT;
	json_t *want = pol_ear_claims_json(&a, &d);
	if (!json_equal(c, want)) {
		char *x = json_dumps(c, JSON_COMPACT), *y = json_dumps(want, JSON_COMPACT);
		fail_msg("CWT claims differ:\n%s\n%s", x, y);
	}
	json_decref(want);
	json_decref(c);
	assert_int_equal(pol_ear_cwt_verify(cwt, len, &k2, 1, &c, &e), -EBADMSG);
	assert_non_null(strstr(e.msg, "does not verify"));
	for (size_t i = 0; i < len; i += 7) {
		cwt[i] ^= 0x01;
		assert_int_not_equal(pol_ear_cwt_verify(cwt, len, &k, 1, &c, &e), 0);
		cwt[i] ^= 0x01;
	}
	assert_int_equal(pol_ear_cwt_verify(cwt, len - 1, &k, 1, &c, &e), -EBADMSG);
	free(cwt);
	EVP_PKEY_free(k);
	EVP_PKEY_free(k2);
	pol_appraisal_free(&a);
}

static void test_token_key(void **state)
{
	(void)state;
	char dir[] = "/tmp/vigil-pol-key.XXXXXX", sub[64], path[128];
	assert_non_null(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/state", dir);
	snprintf(path, sizeof(path), "%s/ear-signing-key.pem", sub);
	EVP_PKEY *k1 = NULL, *k2 = NULL;
	char kid1[64], kid2[64];
	struct vg_err e = {0};
	assert_int_equal(pol_token_key_load_or_create(NULL, sub, &k1, kid1, &e), 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(pol_token_key_load_or_create(NULL, sub, &k2, kid2, &e), 0);
	assert_string_equal(kid1, kid2); /* generated once, reused */
	assert_int_equal(strlen(kid1), 43);
	EVP_PKEY_free(k2);
	assert_int_equal(pol_token_key_load_or_create(path, NULL, &k2, kid2, &e), 0);
	assert_string_equal(kid1, kid2);
	const char *kids[] = {kid1};
	json_t *jwks = pol_jwks(&k1, kids, 1);
	json_t *jwk = json_array_get(json_object_get(jwks, "keys"), 0);
	assert_string_equal(json_string_value(json_object_get(jwk, "kid")), kid1);
	assert_string_equal(json_string_value(json_object_get(jwk, "alg")), "ES256");
	assert_null(json_object_get(jwk, "d"));
	json_decref(jwks);
	chmod(path, 0644);
	EVP_PKEY *k3 = NULL;
	assert_int_equal(pol_token_key_load_or_create(NULL, sub, &k3, kid2, &e), -EPERM);
	assert_non_null(strstr(e.msg, "it must be 0600"));
	unlink(path);
	rmdir(sub);
	rmdir(dir);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
}

int main(void)
{
	vg_log_init("test_policy", VG_LOG_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_errors),	     cmocka_unit_test(test_load_ok_and_starter),
		cmocka_unit_test(test_snp_debug_contraindicated), cmocka_unit_test(test_snp_milan),
		cmocka_unit_test(test_snp_vlek_vmpl1),	     cmocka_unit_test(test_tdx_q6_out_of_date),
		cmocka_unit_test(test_tdx_gcp_ccel),	     cmocka_unit_test(test_tiers),
		cmocka_unit_test(test_resources),	     cmocka_unit_test(test_add_workload), cmocka_unit_test(test_add_workload_rules),
		cmocka_unit_test(test_ear_jwt),		     cmocka_unit_test(test_ear_cwt),
		cmocka_unit_test(test_token_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
