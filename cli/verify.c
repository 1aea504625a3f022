/* vigil verify: check an SEV-SNP report or a TDX quote and print the result as JSON. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest/attest.h"
#include "cli/cli.h"
#include "common/common.h"

#define VERIFY_MAX_INPUT (64u << 20)

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vigil verify snp REPORT --vcek CERT [--chain ASK_ARK.pem] [--crl FILE]\n"
		"                        [--at RFC3339] [--trust-sim-root PEM]\n"
		"       vigil verify tdx QUOTE [--collateral DIR] [--ccel FILE] [--at RFC3339]\n"
		"                        [--trust-sim-root PEM]\n\n"
		"Verifies an AMD SEV-SNP attestation report (versions 2, 3, 5) against the pinned\n"
		"AMD ARK of its product (Milan, Genoa, Turin), or an Intel TDX DCAP quote (v4, v5)\n"
		"against the pinned Intel SGX Root CA, and prints JSON:\n"
		"  {\"verdict\": \"verified\"|\"rejected\", \"reason\", \"platform\", \"product\",\n"
		"   \"simulated\", \"claims\": {...}}\n\n"
		"  --vcek CERT            VCEK or VLEK certificate (PEM or DER; a PEM may carry ASK/ARK too);\n"
		"                         --vlek is the same option\n"
		"  --chain FILE           ASK (or ASVK) and ARK, PEM, as AMD KDS cert_chain returns them\n"
		"  --crl FILE             AMD CRL (ARK/ASK level), PEM or DER\n"
		"  --collateral DIR       Intel PCS collateral: tcb_info.json, qe_identity.json,\n"
		"                         tcb_info_issuer_chain.pem [, qe_identity_issuer_chain.pem,\n"
		"                         pck_crl.der, pck_crl_issuer_chain.pem, root_crl.der]\n"
		"  --ccel FILE            TDX CC event log (TCG crypto-agile): replayed against RTMR0-3\n"
		"  --at RFC3339           check certificate and collateral validity at this time, not now\n"
		"  --trust-sim-root PEM   trust this SIMULATED root instead of the vendor root (test only)\n"
		"  --compact              one-line JSON\n\n"
		"Exit status: 0 verified, 1 rejected (the reason names the failed check), 2 usage or I/O error.\n");
}

static int load(const char *path, const char *what, uint8_t **out, size_t *len)
{
	struct vg_err e = {0};
	if (vg_read_file(path, VERIFY_MAX_INPUT, out, len, &e)) {
		fprintf(stderr, "vigil verify: %s: %s\n", what, e.msg);
		return -1;
	}
	return 0;
}

int cli_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{"vcek", required_argument, NULL, 'k'},    {"vlek", required_argument, NULL, 'k'},
		{"chain", required_argument, NULL, 'c'},
		{"crl", required_argument, NULL, 'r'},     {"collateral", required_argument, NULL, 'C'},
		{"ccel", required_argument, NULL, 'e'},    {"at", required_argument, NULL, 'a'},
		{"trust-sim-root", required_argument, NULL, 's'}, {"compact", no_argument, NULL, 'j'},
		{"json", no_argument, NULL, 'J'},          {"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},       {NULL, 0, NULL, 0},
	};
	const char *vcek = NULL, *chain = NULL, *crl = NULL, *coll = NULL, *ccel = NULL, *simroot = NULL;
	struct att_trust trust = {0};
	bool compact = false;
	struct vg_err e = {0};
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'k': vcek = optarg; break;
		case 'c': chain = optarg; break;
		case 'r': crl = optarg; break;
		case 'C': coll = optarg; break;
		case 'e': ccel = optarg; break;
		case 's': simroot = optarg; break;
		case 'j': compact = true; break;
		case 'J': break; /* JSON is the only output format */
		case 'a':
			if (vg_parse_rfc3339(optarg, &trust.at, &e)) {
				fprintf(stderr, "vigil verify: --at: %s\n", e.msg);
				return VG_EXIT_USAGE;
			}
			trust.have_at = true;
			break;
		case 'h': usage(stdout); return VG_EXIT_OK;
		case 'V': printf("vigil %s\n", VG_VERSION); return VG_EXIT_OK;
		default:
			fprintf(stderr, "vigil verify: unknown or incomplete option '%s' (try --help)\n",
				argv[optind - 1]);
			return VG_EXIT_USAGE;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "vigil verify: expected 'snp REPORT' or 'tdx QUOTE' (try --help)\n");
		return VG_EXIT_USAGE;
	}
	const char *kind = argv[optind], *evidence = argv[optind + 1];
	bool snp = !strcmp(kind, "snp"), tdx = !strcmp(kind, "tdx");
	if (!snp && !tdx) {
		fprintf(stderr, "vigil verify: unknown evidence type '%s' (snp or tdx)\n", kind);
		return VG_EXIT_USAGE;
	}
	if (snp && (coll || ccel)) {
		fprintf(stderr, "vigil verify: --collateral and --ccel apply to tdx only\n");
		return VG_EXIT_USAGE;
	}
	if (tdx && (vcek || chain || crl)) {
		fprintf(stderr, "vigil verify: --vcek, --chain and --crl apply to snp only\n");
		return VG_EXIT_USAGE;
	}
	if (snp && !vcek) {
		fprintf(stderr, "vigil verify: snp needs --vcek CERT (no live fetching from AMD KDS)\n");
		return VG_EXIT_USAGE;
	}

	int rc = VG_EXIT_USAGE;
	uint8_t *ev = NULL, *kc = NULL, *ch = NULL, *cr = NULL, *cc = NULL, *sr = NULL;
	size_t evl = 0, kcl = 0, chl = 0, crl_len = 0, ccl = 0, srl = 0;
	struct att_anchor *anchor = NULL;
	struct att_tdx_collateral col = {0};
	struct att_result res;
	att_result_init(&res);

	if (load(evidence, snp ? "report" : "quote", &ev, &evl) || (vcek && load(vcek, "--vcek", &kc, &kcl)) ||
	    (chain && load(chain, "--chain", &ch, &chl)) || (crl && load(crl, "--crl", &cr, &crl_len)) ||
	    (ccel && load(ccel, "--ccel", &cc, &ccl)) || (simroot && load(simroot, "--trust-sim-root", &sr, &srl)))
		goto out;
	if (crl && crl_len == 0) {
		fprintf(stderr, "vigil verify: --crl %s is empty: a revocation check needs a CRL\n", crl);
		goto out;
	}
	if (sr) {
		if (att_anchor_load(sr, srl, &anchor, &e)) {
			fprintf(stderr, "vigil verify: --trust-sim-root: %s\n", e.msg);
			goto out;
		}
		trust.sim_root = anchor;
	}
	if (coll && att_tdx_collateral_load_dir(coll, &col, &e)) {
		fprintf(stderr, "vigil verify: --collateral: %s\n", e.msg);
		goto out;
	}
	int vr;
	if (snp) {
		struct att_snp_input in = {kc, kcl, ch, chl, cr, crl_len};
		vr = att_snp_verify(ev, evl, &in, &trust, &res);
	} else {
		struct att_tdx_input in = {coll ? &col : NULL, cc, ccl};
		vr = att_tdx_verify(ev, evl, &in, &trust, &res);
	}
	if (vr < 0) {
		fprintf(stderr, "vigil verify: %s\n", strerror(-vr));
		goto out;
	}
	json_t *j = att_result_json(&res);
	char *s = j ? json_dumps(j, (compact ? JSON_COMPACT : JSON_INDENT(2)) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(j);
	if (!s) {
		fprintf(stderr, "vigil verify: out of memory\n");
		goto out;
	}
	printf("%s\n", s);
	free(s);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "vigil verify: cannot write output\n");
		goto out;
	}
	if (!res.verified)
		fprintf(stderr, "vigil verify: rejected: %s\n", res.reason);
	rc = res.verified ? VG_EXIT_OK : VG_EXIT_REJECTED;
out:
	att_result_free(&res);
	att_tdx_collateral_free(&col);
	att_anchor_free(anchor);
	free(ev);
	free(kc);
	free(ch);
	free(cr);
	free(cc);
	free(sr);
	return rc;
}
