/* Evidence options shared by `vigil verify` and `vigil appraise`: the option
 * table entries, their parsing, and loading + verifying the evidence. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define EVIDENCE_MAX_INPUT (64u << 20)

int cli_evidence_opt(struct cli_evidence *ev, int c, const char *arg)
{
	struct vg_err e = {0};
	switch (c) {
	case CLI_EV_VCEK: ev->vcek = arg; return 1;
	case CLI_EV_CHAIN: ev->chain = arg; return 1;
	case CLI_EV_CRL: ev->crl = arg; return 1;
	case CLI_EV_COLLATERAL: ev->coll = arg; return 1;
	case CLI_EV_CCEL: ev->ccel = arg; return 1;
	case CLI_EV_SIMROOT: ev->simroot = arg; return 1;
	case CLI_EV_AT:
		if (vg_parse_rfc3339(arg, &ev->trust.at, &e)) {
			fprintf(stderr, "%s: --at: %s\n", ev->prog, e.msg);
			return -1;
		}
		ev->trust.have_at = true;
		return 1;
	default: return 0;
	}
}

int cli_evidence_kind(struct cli_evidence *ev, const char *kind)
{
	ev->snp = !strcmp(kind, "snp");
	bool tdx = !strcmp(kind, "tdx");
	if (!ev->snp && !tdx) {
		fprintf(stderr, "%s: unknown evidence type '%s' (snp or tdx)\n", ev->prog, kind);
		return -1;
	}
	if (ev->snp && (ev->coll || ev->ccel)) {
		fprintf(stderr, "%s: --collateral and --ccel apply to tdx only\n", ev->prog);
		return -1;
	}
	if (tdx && (ev->vcek || ev->chain || ev->crl)) {
		fprintf(stderr, "%s: --vcek, --chain and --crl apply to snp only\n", ev->prog);
		return -1;
	}
	if (ev->snp && !ev->vcek) {
		fprintf(stderr, "%s: snp needs --vcek CERT (no live fetching from AMD KDS)\n", ev->prog);
		return -1;
	}
	return 0;
}

int cli_read(const char *prog, const char *path, const char *what, uint8_t **out, size_t *len)
{
	struct vg_err e = {0};
	if (vg_read_file(path, EVIDENCE_MAX_INPUT, out, len, &e)) {
		fprintf(stderr, "%s: %s: %s\n", prog, what, e.msg);
		return -1;
	}
	return 0;
}

int cli_evidence_verify(struct cli_evidence *ev, const char *path, struct att_result *res)
{
	int rc = -1;
	uint8_t *evd = NULL, *kc = NULL, *ch = NULL, *cr = NULL, *cc = NULL, *sr = NULL;
	size_t evl = 0, kcl = 0, chl = 0, crl_len = 0, ccl = 0, srl = 0;
	struct att_anchor *anchor = NULL;
	struct att_tdx_collateral col = {0};
	struct att_trust trust = ev->trust;
	struct vg_err e = {0};
	const char *p = ev->prog;

	if (cli_read(p, path, ev->snp ? "report" : "quote", &evd, &evl) ||
	    (ev->vcek && cli_read(p, ev->vcek, "--vcek", &kc, &kcl)) ||
	    (ev->chain && cli_read(p, ev->chain, "--chain", &ch, &chl)) ||
	    (ev->crl && cli_read(p, ev->crl, "--crl", &cr, &crl_len)) ||
	    (ev->ccel && cli_read(p, ev->ccel, "--ccel", &cc, &ccl)) ||
	    (ev->simroot && cli_read(p, ev->simroot, "--trust-sim-root", &sr, &srl)))
		goto out;
	if (ev->crl && crl_len == 0) {
		fprintf(stderr, "%s: --crl %s is empty: a revocation check needs a CRL\n", p, ev->crl);
		goto out;
	}
	if (sr) {
		if (att_anchor_load(sr, srl, &anchor, &e)) {
			fprintf(stderr, "%s: --trust-sim-root: %s\n", p, e.msg);
			goto out;
		}
		trust.sim_root = anchor;
	}
	if (ev->coll && att_tdx_collateral_load_dir(ev->coll, &col, &e)) {
		fprintf(stderr, "%s: --collateral: %s\n", p, e.msg);
		goto out;
	}
	int vr;
	if (ev->snp) {
		struct att_snp_input in = {kc, kcl, ch, chl, cr, crl_len};
		vr = att_snp_verify(evd, evl, &in, &trust, res);
	} else {
		struct att_tdx_input in = {ev->coll ? &col : NULL, cc, ccl};
		vr = att_tdx_verify(evd, evl, &in, &trust, res);
	}
	if (vr < 0) {
		fprintf(stderr, "%s: %s\n", p, strerror(-vr));
		goto out;
	}
	rc = 0;
out:
	att_tdx_collateral_free(&col);
	att_anchor_free(anchor);
	free(evd), free(kc), free(ch), free(cr), free(cc), free(sr);
	return rc;
}

int cli_print_json(const char *prog, json_t *j, bool compact)
{
	char *s = j ? json_dumps(j, (compact ? JSON_COMPACT : JSON_INDENT(2)) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(j);
	if (!s) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return -1;
	}
	printf("%s\n", s);
	free(s);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "%s: cannot write output\n", prog);
		return -1;
	}
	return 0;
}
