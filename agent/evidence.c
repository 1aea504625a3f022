/*
 * Evidence: the KBS encodings of SNP reports and TDX quotes (docs/agent.md, CONTRACTS.md 4),
 * the choice of provider, and the check that what a provider returns is bound to the
 * REPORT_DATA the agent asked for.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agent/internal.h"
#include "attest/attest.h"
#include "sev/sev.h"
#include "tdx/tdx.h"

#define TSM_DEFAULT_ROOT "/sys/kernel/config/tsm"
#define CCEL_DEFAULT "/sys/firmware/acpi/tables/data/CCEL"
#define CCEL_MAX (16u << 20)

static json_t *b64_json(const uint8_t *p, size_t len)
{
	char *s = att_b64_encode(p, len, false);
	if (!s)
		return NULL;
	json_t *j = json_string(s);
	free(s);
	return j;
}

json_t *ag_snp_evidence_json(const uint8_t *report, size_t len, const struct sev_cert *certs, size_t n,
			     struct vg_err *err)
{
	if (len != AG_SNP_REPORT_LEN) {
		vg_err_set(err, EBADMSG, "SNP report is %zu bytes, not %u", len, AG_SNP_REPORT_LEN);
		return NULL;
	}
	json_t *o = json_object(), *chain = json_array();
	if (!o || !chain || json_object_set_new(o, "attestation_report", b64_json(report, len)) ||
	    json_object_set(o, "cert_chain", chain))
		goto oom;
	for (size_t i = 0; i < n; i++) {
		if (certs[i].type == SEV_CERT_OTHER)
			continue;
		json_t *e = json_pack("{s:s, s:o?}", "type", sev_cert_type_name(certs[i].type), "data",
				      b64_json(certs[i].data, certs[i].len));
		if (!e || !json_object_get(e, "data") || json_array_append_new(chain, e)) {
			json_decref(e);
			goto oom;
		}
	}
	json_decref(chain);
	return o;
oom:
	json_decref(chain);
	json_decref(o);
	vg_err_set(err, ENOMEM, "out of memory");
	return NULL;
}

json_t *ag_tdx_evidence_json(const uint8_t *quote, size_t len, const uint8_t *ccel, size_t ccel_len,
			     struct vg_err *err)
{
	json_t *o = json_pack("{s:o?, s:o}", "quote", b64_json(quote, len), "cc_eventlog",
			      ccel ? b64_json(ccel, ccel_len) : json_null());
	if (!o || !json_object_get(o, "quote") || !json_is_string(json_object_get(o, "quote")) ||
	    (ccel && !json_is_string(json_object_get(o, "cc_eventlog")))) {
		json_decref(o);
		vg_err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	return o;
}

json_t *ag_tee_evidence_json(json_t *primary)
{
	if (!primary)
		return NULL;
	return json_pack("{s:o, s:s}", "primary_evidence", primary, "additional_evidence", "");
}

int ag_tee_parse(const char *s, enum ag_tee *out, struct vg_err *err)
{
	static const struct {
		const char *name;
		enum ag_tee t;
	} names[] = { { "auto", AG_TEE_AUTO }, { "tsm", AG_TEE_TSM }, { "sim-snp", AG_TEE_SIM_SNP },
		      { "sim-tdx", AG_TEE_SIM_TDX } };
	for (size_t i = 0; i < VG_ARRAY_SIZE(names); i++)
		if (!strcmp(s, names[i].name)) {
			*out = names[i].t;
			return 0;
		}
	return vg_err_set(err, EINVAL, "--tee: unknown provider \"%s\" (tsm, sim-snp, sim-tdx)", s);
}

const char *ag_tee_name(enum ag_tee t)
{
	switch (t) {
	case AG_TEE_AUTO: return "auto";
	case AG_TEE_TSM: return "tsm";
	case AG_TEE_SIM_SNP: return "sim-snp";
	case AG_TEE_SIM_TDX: return "sim-tdx";
	}
	return "?";
}

/* vm.json "platform", when it names a simulated one. */
static int config_platform(const char *vm_config, enum ag_tee *out, struct vg_err *err)
{
	*out = AG_TEE_AUTO;
	json_error_t je;
	json_t *j = json_load_file(vm_config, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		return vg_err_set(err, EINVAL, "%s: line %d: %s", vm_config, je.line, je.text);
	const char *p = json_string_value(json_object_get(j, "platform"));
	if (p && !strcmp(p, "sim-snp"))
		*out = AG_TEE_SIM_SNP;
	else if (p && !strcmp(p, "sim-tdx"))
		*out = AG_TEE_SIM_TDX;
	json_decref(j);
	return 0;
}

int ag_provider_resolve(const struct ag_provider_opts *o, enum ag_tee *out, struct vg_err *err)
{
	*out = o->tee;
	if (o->tee != AG_TEE_AUTO)
		return 0;
	if (o->vm_config) {
		int rc = config_platform(o->vm_config, out, err);
		if (rc)
			return rc;
		if (*out != AG_TEE_AUTO)
			return 0;
	}
	char dir[4096];
	const char *root = o->tsm_root ? o->tsm_root : TSM_DEFAULT_ROOT;
	snprintf(dir, sizeof(dir), "%s/report", root);
	struct stat st;
	if (!stat(dir, &st) && S_ISDIR(st.st_mode)) {
		*out = AG_TEE_TSM;
		return 0;
	}
	return vg_err_set(err, ENODEV,
			  "no evidence provider: %s does not exist (configfs-tsm needs Linux 6.7+ in an SNP or TDX "
			  "guest) and no simulated launch was named (--tee sim-snp|sim-tdx, --vm-config)",
			  dir);
}

/* The evidence must carry exactly the REPORT_DATA we asked for. */
static int check_binding(const char *tee, const uint8_t *ev, size_t len, const uint8_t rd[AG_REPORT_DATA_LEN],
			 struct vg_err *err)
{
	const uint8_t *got;
	struct sev_snp_report r;
	struct tdx_quote q;
	if (!strcmp(tee, "snp")) {
		if (sev_snp_report_parse(ev, VG_MIN(len, (size_t)SEV_SNP_REPORT_SIZE), &r, err))
			return vg_err_prefix(err, "SNP report from the platform");
		got = r.report_data;
	} else {
		if (tdx_quote_parse(ev, len, &q, err))
			return vg_err_prefix(err, "TDX quote from the platform");
		got = q.body.report_data;
	}
	if (memcmp(got, rd, AG_REPORT_DATA_LEN))
		return vg_err_set(err, EBADMSG, "the platform's %s evidence carries a different REPORT_DATA",
				  tee);
	return 0;
}

static int tsm_evidence(const struct ag_provider_opts *o, const uint8_t rd[AG_REPORT_DATA_LEN], const char **tee,
			json_t **primary, struct vg_err *err)
{
	struct ag_tsm_report rep;
	int rc = ag_tsm_report(o->tsm_root ? o->tsm_root : TSM_DEFAULT_ROOT, rd, AG_REPORT_DATA_LEN, o->privlevel,
			       &rep, err);
	if (rc)
		return rc;
	if (!strcmp(rep.provider, "sev_guest")) {
		*tee = "snp";
		struct sev_cert certs[SEV_CERT_TABLE_MAX];
		size_t n = 0;
		if (rep.auxblob && (rc = sev_snp_cert_table_parse(rep.auxblob, rep.auxblob_len, certs, &n, err))) {
			vg_err_prefix(err, "configfs-tsm auxblob");
			goto out;
		}
		if (!n)
			vg_warn("configfs-tsm: no certificate table (auxblob empty): the service must find the "
				"VCEK itself");
		if ((rc = check_binding(*tee, rep.outblob, rep.outblob_len, rd, err)))
			goto out;
		/* The outblob is the MSG_REPORT_RSP report: exactly the 1184-byte structure. */
		*primary = ag_snp_evidence_json(rep.outblob, VG_MIN(rep.outblob_len, (size_t)AG_SNP_REPORT_LEN),
						certs, n, err);
	} else if (!strcmp(rep.provider, "tdx_guest")) {
		*tee = "tdx";
		if ((rc = check_binding(*tee, rep.outblob, rep.outblob_len, rd, err)))
			goto out;
		uint8_t *ccel = NULL;
		size_t ccel_len = 0;
		const char *cp = o->ccel_path ? o->ccel_path : CCEL_DEFAULT;
		struct vg_err cerr = { 0 };
		if (strcmp(cp, "none") && vg_read_file(cp, CCEL_MAX, &ccel, &ccel_len, &cerr)) {
			if (o->ccel_path) { /* asked for explicitly: fail loudly */
				*err = cerr;
				rc = -EIO;
				goto out;
			}
			vg_info("no CC event log (%s): cc_eventlog is null", cerr.msg);
		}
		*primary = ag_tdx_evidence_json(rep.outblob, rep.outblob_len, ccel, ccel_len, err);
		free(ccel);
	} else {
		rc = vg_err_set(err, ENOTSUP, "configfs-tsm provider \"%s\" is not supported (sev_guest, tdx_guest)",
				rep.provider);
		goto out;
	}
	rc = *primary ? 0 : -ENOMEM;
out:
	ag_tsm_report_free(&rep);
	return rc;
}

int ag_evidence_get(const struct ag_provider_opts *o, const uint8_t report_data[AG_REPORT_DATA_LEN],
		    const char **tee, json_t **primary, struct vg_err *err)
{
	*primary = NULL;
	*tee = NULL;
	enum ag_tee t;
	int rc = ag_provider_resolve(o, &t, err);
	if (rc)
		return rc;
	switch (t) {
	case AG_TEE_TSM: return tsm_evidence(o, report_data, tee, primary, err);
	case AG_TEE_SIM_SNP: *tee = "snp"; return ag_sim_evidence(o, true, report_data, primary, err);
	case AG_TEE_SIM_TDX: *tee = "tdx"; return ag_sim_evidence(o, false, report_data, primary, err);
	case AG_TEE_AUTO: break;
	}
	return vg_err_set(err, ENODEV, "no evidence provider");
}

int ag_evidence_check_binding(const char *tee, const uint8_t *ev, size_t len, const uint8_t rd[AG_REPORT_DATA_LEN],
			      struct vg_err *err)
{
	return check_binding(tee, ev, len, rd, err);
}
