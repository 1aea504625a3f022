/*
 * Trustee's init-data on the guest's side (kbs/docs/initdata.md; docs/agent.md): the
 * document the VM was launched for, sent with the attestation as
 * "init-data": {"format": "toml"|"json", "body": <the file's text>}. Its digest
 * (att_init_data_digest, the service's own rule) must be the evidence's SNP HOST_DATA or TDX
 * MRCONFIGID; the agent checks that before sending, so a VM launched for other init-data is
 * told so locally instead of by a 401.
 */
#include <stdlib.h>
#include <string.h>

#include "agent/internal.h"
#include "attest/attest.h"
#include "sev/sev.h"
#include "tdx/tdx.h"

int ag_init_data_format(const char *path, const char *format, const char **out, struct vg_err *err)
{
	if (format) {
		if (strcmp(format, "toml") && strcmp(format, "json"))
			return vg_err_set(err, EINVAL, "--init-data-format \"%s\": toml or json", format);
		*out = !strcmp(format, "toml") ? "toml" : "json";
		return 0;
	}
	const char *dot = strrchr(path, '.');
	if (dot && !strchr(dot, '/') && (!strcmp(dot, ".toml") || !strcmp(dot, ".json"))) {
		*out = !strcmp(dot, ".toml") ? "toml" : "json";
		return 0;
	}
	return vg_err_set(err, EINVAL, "--init-data %s: name it *.toml or *.json, or give --init-data-format toml|json",
			  path);
}

int ag_init_data_parse(const char *format, const uint8_t *buf, size_t len, struct ag_init_data *out,
		       struct vg_err *err)
{
	memset(out, 0, sizeof(*out));
	if (strcmp(format, "toml") && strcmp(format, "json"))
		return vg_err_set(err, EINVAL, "init-data format \"%s\": toml or json", format);
	if (!len)
		return vg_err_set(err, EINVAL, "init-data: the document is empty");
	if (len > ATT_INIT_DATA_MAX)
		return vg_err_set(err, EFBIG, "init-data: larger than %u bytes", ATT_INIT_DATA_MAX);
	if (memchr(buf, 0, len))
		return vg_err_set(err, EINVAL, "init-data: contains a NUL byte (a text document is expected)");
	/* The body travels as a JSON string: it must be UTF-8. */
	json_t *s = json_stringn((const char *)buf, len);
	if (!s)
		return vg_err_set(err, EINVAL, "init-data: not UTF-8 text");
	json_decref(s);
	char *body = malloc(len + 1);
	if (!body)
		return vg_err_set(err, ENOMEM, "out of memory");
	memcpy(body, buf, len);
	body[len] = 0;
	int rc = att_init_data_digest(format, body, 48, out->tdx, &out->md_len, err);
	if (!rc)
		rc = att_init_data_digest(format, body, 32, out->snp, NULL, err);
	if (rc) {
		free(body);
		return rc;
	}
	snprintf(out->format, sizeof(out->format), "%s", format);
	out->body = body;
	return 0;
}

int ag_init_data_load(const char *path, const char *format, struct ag_init_data *out, struct vg_err *err)
{
	memset(out, 0, sizeof(*out));
	const char *fmt;
	int rc = ag_init_data_format(path, format, &fmt, err);
	if (rc)
		return rc;
	uint8_t *buf = NULL;
	size_t len = 0;
	if ((rc = ag_read_bounded(path, ATT_INIT_DATA_MAX, &buf, &len, err)))
		return rc == -EFBIG ? vg_err_set(err, EFBIG, "%s: larger than %u bytes", path, ATT_INIT_DATA_MAX) : rc;
	rc = ag_init_data_parse(fmt, buf, len, out, err);
	free(buf);
	return rc ? vg_err_prefix(err, "%s", path) : 0;
}

void ag_init_data_free(struct ag_init_data *d)
{
	if (d)
		free(d->body);
}

int ag_evidence_launch_field(const char *tee, const json_t *primary, uint8_t out[48], size_t *len,
			     const char **name, struct vg_err *err)
{
	bool snp = !strcmp(tee, "snp");
	const char *b64 = json_string_value(json_object_get(primary, snp ? "attestation_report" : "quote"));
	if (!b64)
		return vg_err_set(err, EBADMSG, "the %s evidence has no %s", tee, snp ? "attestation_report" : "quote");
	uint8_t *ev = NULL;
	size_t n = 0;
	int rc = att_b64_decode(b64, strlen(b64), false, &ev, &n, err);
	if (rc)
		return rc;
	if (snp) {
		struct sev_snp_report r;
		if (!(rc = sev_snp_report_parse(ev, VG_MIN(n, (size_t)SEV_SNP_REPORT_SIZE), &r, err))) {
			memcpy(out, r.host_data, 32);
			*len = 32;
			*name = "HOST_DATA";
		}
	} else {
		struct tdx_quote q;
		if (!(rc = tdx_quote_parse(ev, n, &q, err))) {
			memcpy(out, q.body.mr_config_id, 48);
			*len = 48;
			*name = "MRCONFIGID";
		}
	}
	free(ev);
	return rc;
}

int ag_init_data_check(const struct ag_init_data *d, const char *tee, const json_t *primary, struct vg_err *err)
{
	uint8_t f[48];
	size_t flen = 0;
	const char *name = NULL;
	int rc = ag_evidence_launch_field(tee, primary, f, &flen, &name, err);
	if (rc)
		return vg_err_prefix(err, "init-data check");
	const uint8_t *want = flen == 32 ? d->snp : d->tdx;
	if (!memcmp(f, want, flen))
		return 0;
	char wh[97], gh[97];
	vg_hex_encode(want, flen, wh);
	vg_hex_encode(f, flen, gh);
	return vg_err_set(err, EACCES,
			  "init-data digest %s does not match %s %s: the VM was launched with other init-data "
			  "(the attestation was not sent)", wh, name, gh);
}

json_t *ag_init_data_json(const struct ag_init_data *d)
{
	return json_pack("{s:s, s:s}", "format", d->format, "body", d->body);
}
