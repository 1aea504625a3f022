/* Attestation results: lifetime and the JSON the CLI and the service print. */
#include <stdio.h>
#include <string.h>

#include "attest/internal.h"

static const char *const tcb_names[] = {
	[ATT_TCB_NOT_EVALUATED] = "NotEvaluated",
	[ATT_TCB_UP_TO_DATE] = "UpToDate",
	[ATT_TCB_SW_HARDENING_NEEDED] = "SWHardeningNeeded",
	[ATT_TCB_CONFIGURATION_NEEDED] = "ConfigurationNeeded",
	[ATT_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED] = "ConfigurationAndSWHardeningNeeded",
	[ATT_TCB_OUT_OF_DATE] = "OutOfDate",
	[ATT_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED] = "OutOfDateConfigurationNeeded",
	[ATT_TCB_REVOKED] = "Revoked",
	[ATT_TCB_NO_MATCHING_LEVEL] = "NoMatchingTcbLevel",
};

const char *att_tcb_status_name(enum att_tcb_status s)
{
	if ((size_t)s >= VG_ARRAY_SIZE(tcb_names) || !tcb_names[s])
		return "NotEvaluated";
	return tcb_names[s];
}

void att_result_init(struct att_result *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->reason, sizeof(r->reason), "not verified");
}

void att_result_free(struct att_result *r)
{
	if (!r)
		return;
	json_decref(r->advisories);
	json_decref(r->ccel);
	r->advisories = r->ccel = NULL;
}

static json_t *hexj(const void *p, size_t n)
{
	char buf[2 * 128 + 1];
	if (n > 128)
		return json_null();
	vg_hex_encode(p, n, buf);
	return json_string(buf);
}

static json_t *hex64(uint64_t v)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "0x%016llx", (unsigned long long)v);
	return json_string(buf);
}

static json_t *tcb_json(uint64_t raw, enum sev_snp_product p)
{
	struct sev_snp_tcb t;
	sev_snp_tcb_decode(raw, p, &t);
	json_t *o = json_object();
	json_object_set_new(o, "raw", hex64(raw));
	if (p == SEV_SNP_PRODUCT_TURIN)
		json_object_set_new(o, "fmc", json_integer(t.fmc));
	json_object_set_new(o, "bl", json_integer(t.bl));
	json_object_set_new(o, "tee", json_integer(t.tee));
	json_object_set_new(o, "snp", json_integer(t.snp));
	json_object_set_new(o, "ucode", json_integer(t.ucode));
	return o;
}

static enum sev_snp_product product_of(const char *name)
{
	if (!strcmp(name, "Milan"))
		return SEV_SNP_PRODUCT_MILAN;
	if (!strcmp(name, "Genoa"))
		return SEV_SNP_PRODUCT_GENOA;
	if (!strcmp(name, "Turin"))
		return SEV_SNP_PRODUCT_TURIN;
	return SEV_SNP_PRODUCT_UNKNOWN;
}

static json_t *snp_claims(const struct att_result *r)
{
	const struct sev_snp_report *s = &r->snp;
	enum sev_snp_product p = product_of(r->product);
	json_t *c = json_object(), *pol = json_object(), *pi = json_object();
	char v[32];

	json_object_set_new(c, "version", json_integer(s->version));
	json_object_set_new(c, "measurement", hexj(s->measurement, 48));
	json_object_set_new(c, "report_data", hexj(s->report_data, 64));
	json_object_set_new(c, "host_data", hexj(s->host_data, 32));
	json_object_set_new(pol, "raw", hex64(s->policy));
	json_object_set_new(pol, "abi_major", json_integer(s->abi_major));
	json_object_set_new(pol, "abi_minor", json_integer(s->abi_minor));
	json_object_set_new(pol, "smt", json_boolean(s->policy & SEV_SNP_POLICY_SMT));
	json_object_set_new(pol, "migrate_ma", json_boolean(s->policy & SEV_SNP_POLICY_MIGRATE_MA));
	json_object_set_new(pol, "debug", json_boolean(s->policy & SEV_SNP_POLICY_DEBUG));
	json_object_set_new(pol, "single_socket", json_boolean(s->policy & SEV_SNP_POLICY_SINGLE_SOCKET));
	json_object_set_new(pol, "cxl_allow", json_boolean(s->policy & SEV_SNP_POLICY_CXL_ALLOW));
	json_object_set_new(pol, "mem_aes_256_xts", json_boolean(s->policy & SEV_SNP_POLICY_MEM_AES_256_XTS));
	json_object_set_new(pol, "rapl_dis", json_boolean(s->policy & SEV_SNP_POLICY_RAPL_DIS));
	json_object_set_new(pol, "ciphertext_hiding", json_boolean(s->policy & SEV_SNP_POLICY_CIPHERTEXT_HIDING));
	json_object_set_new(pol, "page_swap_disable", json_boolean(s->policy & SEV_SNP_POLICY_PAGE_SWAP_DISABLE));
	json_object_set_new(c, "policy", pol);
	json_object_set_new(c, "reported_tcb", tcb_json(s->reported_tcb, p));
	json_object_set_new(c, "current_tcb", tcb_json(s->current_tcb, p));
	json_object_set_new(c, "committed_tcb", tcb_json(s->committed_tcb, p));
	json_object_set_new(c, "launch_tcb", tcb_json(s->launch_tcb, p));
	json_object_set_new(c, "chip_id", hexj(s->chip_id, 64));
	json_object_set_new(c, "vmpl", json_integer(s->vmpl));
	json_object_set_new(c, "guest_svn", json_integer(s->guest_svn));
	json_object_set_new(c, "family_id", hexj(s->family_id, 16));
	json_object_set_new(c, "image_id", hexj(s->image_id, 16));
	json_object_set_new(c, "id_key_digest", hexj(s->id_key_digest, 48));
	json_object_set_new(c, "author_key_digest", hexj(s->author_key_digest, 48));
	json_object_set_new(c, "author_key_en", json_boolean(s->author_key_en));
	json_object_set_new(c, "mask_chip_key", json_boolean(s->mask_chip_key));
	json_object_set_new(c, "report_id", hexj(s->report_id, 32));
	json_object_set_new(c, "report_id_ma", hexj(s->report_id_ma, 32));
	json_object_set_new(c, "signature_algo", json_integer(s->signature_algo));
	json_object_set_new(c, "signing_key", json_string(s->signing_key == SEV_SNP_KEY_VCEK ? "VCEK"
							: s->signing_key == SEV_SNP_KEY_VLEK ? "VLEK"
							: "none"));
	json_object_set_new(pi, "raw", hex64(s->platform_info));
	json_object_set_new(pi, "smt_en", json_boolean(s->platform_info & SEV_SNP_PLATINFO_SMT_EN));
	json_object_set_new(pi, "tsme_en", json_boolean(s->platform_info & SEV_SNP_PLATINFO_TSME_EN));
	json_object_set_new(pi, "ecc_en", json_boolean(s->platform_info & SEV_SNP_PLATINFO_ECC_EN));
	json_object_set_new(pi, "rapl_dis", json_boolean(s->platform_info & SEV_SNP_PLATINFO_RAPL_DIS));
	json_object_set_new(pi, "ciphertext_hiding_en",
			    json_boolean(s->platform_info & SEV_SNP_PLATINFO_CIPHERTEXT_HIDING_EN));
	json_object_set_new(pi, "alias_check_complete",
			    json_boolean(s->platform_info & SEV_SNP_PLATINFO_ALIAS_CHECK_COMPLETE));
	json_object_set_new(pi, "tio_en", json_boolean(s->platform_info & SEV_SNP_PLATINFO_TIO_EN));
	json_object_set_new(c, "platform_info", pi);
	snprintf(v, sizeof(v), "%u.%u.%u", s->current_major, s->current_minor, s->current_build);
	json_object_set_new(c, "current_firmware", json_string(v));
	snprintf(v, sizeof(v), "%u.%u.%u", s->committed_major, s->committed_minor, s->committed_build);
	json_object_set_new(c, "committed_firmware", json_string(v));
	if (s->has_cpuid) {
		json_t *cp = json_object();
		json_object_set_new(cp, "family", json_integer(s->cpuid_fam_id));
		json_object_set_new(cp, "model", json_integer(s->cpuid_mod_id));
		json_object_set_new(cp, "stepping", json_integer(s->cpuid_step));
		json_object_set_new(c, "cpuid", cp);
	}
	if (s->has_mit_vectors) {
		json_object_set_new(c, "launch_mit_vector", hex64(s->launch_mit_vector));
		json_object_set_new(c, "current_mit_vector", hex64(s->current_mit_vector));
	}
	if (r->snp_key[0])
		json_object_set_new(c, "key_certificate", json_string(r->snp_key));
	if (r->snp_csp_id[0])
		json_object_set_new(c, "csp_id", json_string(r->snp_csp_id));
	return c;
}

static json_t *tdx_claims(const struct att_result *r)
{
	const struct tdx_quote *q = &r->tdx;
	const struct tdx_td_body *b = &q->body;
	json_t *c = json_object(), *attr = json_object();
	static const char *const rt[4] = {"rtmr0", "rtmr1", "rtmr2", "rtmr3"};

	json_object_set_new(c, "version", json_integer(q->version));
	json_object_set_new(c, "body_type", json_string(b->is_td15 ? "TDX 1.5" : "TDX 1.0"));
	json_object_set_new(c, "mrtd", hexj(b->mr_td, 48));
	for (int i = 0; i < 4; i++)
		json_object_set_new(c, rt[i], hexj(b->rtmr[i], 48));
	json_object_set_new(c, "report_data", hexj(b->report_data, 64));
	json_object_set_new(c, "mrconfigid", hexj(b->mr_config_id, 48));
	json_object_set_new(c, "mrowner", hexj(b->mr_owner, 48));
	json_object_set_new(c, "mrownerconfig", hexj(b->mr_owner_config, 48));
	json_object_set_new(c, "mrseam", hexj(b->mr_seam, 48));
	json_object_set_new(c, "mrsignerseam", hexj(b->mr_signer_seam, 48));
	json_object_set_new(c, "seam_attributes", hexj(b->seam_attributes, 8));
	json_object_set_new(c, "td_attributes", hexj(b->td_attributes, 8));
	uint64_t a = vg_le64(b->td_attributes);
	json_object_set_new(attr, "debug", json_boolean(a & 1));
	json_object_set_new(attr, "sept_ve_disable", json_boolean(a & (1ull << 28)));
	json_object_set_new(attr, "pks", json_boolean(a & (1ull << 30)));
	json_object_set_new(attr, "kl", json_boolean(a & (1ull << 31)));
	json_object_set_new(attr, "perfmon", json_boolean(a & (1ull << 63)));
	json_object_set_new(c, "td_attributes_decoded", attr);
	json_object_set_new(c, "xfam", hexj(b->xfam, 8));
	json_object_set_new(c, "tee_tcb_svn", hexj(b->tee_tcb_svn, 16));
	if (b->is_td15) {
		json_object_set_new(c, "tee_tcb_svn2", hexj(b->tee_tcb_svn2, 16));
		json_object_set_new(c, "mrservicetd", hexj(b->mr_service_td, 48));
	}
	json_object_set_new(c, "qe_vendor_id", hexj(q->qe_vendor_id, 16));
	json_object_set_new(c, "user_data", hexj(q->user_data, 20));
	json_object_set_new(c, "trailing_bytes", json_integer((json_int_t)q->trailing));
	if (r->have_pck) {
		json_object_set_new(c, "fmspc", hexj(r->pck.fmspc, 6));
		json_object_set_new(c, "pceid", hexj(r->pck.pceid, 2));
		json_object_set_new(c, "pcesvn", json_integer(r->pck.pcesvn));
		json_object_set_new(c, "cpusvn", hexj(r->pck.cpusvn, 16));
		json_object_set_new(c, "qe_svn", json_integer(q->qe_report.isv_svn));
	}
	json_object_set_new(c, "tcb_status", json_string(r->tcb_status == ATT_TCB_NOT_EVALUATED
							      ? "not evaluated (no collateral)"
							      : att_tcb_status_name(r->tcb_status)));
	if (r->tcb_status != ATT_TCB_NOT_EVALUATED) {
		if (r->tcb_date[0])
			json_object_set_new(c, "tcb_date", json_string(r->tcb_date));
		json_t *parts = json_object();
		json_object_set_new(parts, "platform", json_string(att_tcb_status_name(r->tcb_platform)));
		json_object_set_new(parts, "tdx_module", json_string(att_tcb_status_name(r->tcb_module)));
		json_object_set_new(parts, "qe", json_string(att_tcb_status_name(r->tcb_qe)));
		json_object_set_new(c, "tcb_components", parts);
		json_object_set_new(c, "advisory_ids", r->advisories ? json_incref(r->advisories) : json_array());
		json_object_set_new(c, "collateral_expired", json_boolean(r->collateral_expired));
		if (r->collateral_note[0])
			json_object_set_new(c, "collateral_note", json_string(r->collateral_note));
	}
	if (r->ccel)
		json_object_set_new(c, "ccel", json_incref(r->ccel));
	return c;
}

json_t *att_result_json(const struct att_result *r)
{
	json_t *o = json_object();
	json_object_set_new(o, "verdict", json_string(r->verified ? "verified" : "rejected"));
	json_object_set_new(o, "reason", json_string(r->reason));
	json_object_set_new(o, "platform", json_string(r->platform == ATT_PLATFORM_SNP ? "snp"
						       : r->platform == ATT_PLATFORM_TDX ? "tdx"
						       : "unknown"));
	json_object_set_new(o, "product", json_string(r->product[0] ? r->product : "unknown"));
	json_object_set_new(o, "simulated", json_boolean(r->simulated));
	if (r->parsed)
		json_object_set_new(o, "claims", r->platform == ATT_PLATFORM_SNP ? snp_claims(r) : tdx_claims(r));
	else
		json_object_set_new(o, "claims", json_object());
	return o;
}
