/* vigil verify: check an SEV-SNP report or a TDX quote and print the result as JSON. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest/attest.h"
#include "cli/cli.h"
#include "common/common.h"

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

int cli_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_EVIDENCE_OPTIONS,
		{"compact", no_argument, NULL, 'j'},	{"json", no_argument, NULL, 'J'},
		{"help", no_argument, NULL, 'h'},	{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct cli_evidence ev = {.prog = "vigil verify"};
	bool compact = false;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		int r = cli_evidence_opt(&ev, c, optarg);
		if (r < 0)
			return VG_EXIT_USAGE;
		if (r > 0)
			continue;
		switch (c) {
		case 'j': compact = true; break;
		case 'J': break; /* JSON is the only output format */
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
	if (cli_evidence_kind(&ev, argv[optind]))
		return VG_EXIT_USAGE;

	int rc = VG_EXIT_USAGE;
	struct att_result res;
	att_result_init(&res);
	if (cli_evidence_verify(&ev, argv[optind + 1], &res) || cli_print_json(ev.prog, att_result_json(&res), compact))
		goto out;
	if (!res.verified)
		fprintf(stderr, "vigil verify: rejected: %s\n", res.reason);
	rc = res.verified ? VG_EXIT_OK : VG_EXIT_REJECTED;
out:
	att_result_free(&res);
	return rc;
}
