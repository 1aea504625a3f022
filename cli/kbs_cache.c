/*
 * `vigil kbs cache`: the offline VCEK / collateral cache of vigil-attestd
 * (attestd/collateral/), for air-gapped sites.
 *
 *   vigil kbs cache fill --cache DIR [--kds-url URL] [--pcs-url URL] [--crl]
 *                        [--trust-sim-root PEM]... [--max-wait SECONDS] [--json]
 *                        [--report SNP_REPORT]... [--quote TDX_QUOTE]...
 *       For each SNP report: the VCEK of its chip at its REPORTED_TCB and the
 *       ASK/ARK chain (and with --crl the AMD CRL); for each TDX quote: the
 *       PCS collateral of its platform (FMSPC). Already cached items are kept;
 *       missing ones are fetched, verified by attest/ and stored. A 429/503
 *       is waited out when its Retry-After is at most --max-wait (default 0).
 *   vigil kbs cache path --report SNP_REPORT [--product Milan|Genoa|Turin]
 *       Prints the KDS path of the report's VCEK (to mirror it by hand).
 * Exit 0 all present, 1 something could not be fetched or did not verify, 2 usage.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "attestd/collateral/collateral.h"
#include "cli/cli.h"

#define MAX_ITEMS 64
#define MAX_ROOTS 8

static void usage(FILE *f)
{
	fprintf(f, "usage: vigil kbs cache fill --cache DIR [--kds-url URL] [--pcs-url URL] [--crl]\n"
		   "                            [--trust-sim-root PEM]... [--max-wait S] [--json]\n"
		   "                            [--report SNP_REPORT]... [--quote TDX_QUOTE]...\n"
		   "       vigil kbs cache path --report SNP_REPORT [--product Milan|Genoa|Turin]\n");
}

struct fill_item {
	const char *file;
	bool snp;
};

static int one(struct ad_coll *c, const struct fill_item *it, const struct att_trust *tr, size_t nt, bool crl,
	       long max_wait, json_t *out, bool json_out)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	struct vg_err e = {0};
	if (vg_read_file(it->file, 1 << 20, &buf, &len, &e)) {
		fprintf(stderr, "vigil kbs cache: %s\n", e.msg);
		return VG_EXIT_USAGE;
	}
	int rc;
	long before = ad_coll_requests(c);
	char what[128] = "";
	bool expired = false;
	for (;;) {
		vg_err_clear(&e);
		if (it->snp) {
			struct ad_coll_snp s;
			rc = ad_coll_snp_get(c, buf, len, tr, nt, crl, &s, &e);
			if (!rc)
				snprintf(what, sizeof(what), "VCEK and ASK/ARK chain (%s)%s", s.product, s.crl ? " and CRL" : "");
			ad_coll_snp_free(&s);
		} else {
			struct att_tdx_collateral col;
			rc = ad_coll_tdx_get(c, buf, len, tr, nt, &col, &expired, &e);
			if (!rc) {
				snprintf(what, sizeof(what), "TCB info, QE identity%s%s", col.pck_crl ? ", PCK CRL" : "",
					 col.root_crl ? ", root CA CRL" : "");
				att_tdx_collateral_free(&col);
			}
		}
		if (rc != -EAGAIN)
			break;
		long wait = ad_coll_retry_in(c, it->snp);
		if (wait > max_wait)
			break;
		fprintf(stderr, "vigil kbs cache: %s: %s; waiting %ld s\n", it->file, e.msg, wait);
		sleep((unsigned)wait + 1);
	}
	free(buf);
	long sent = ad_coll_requests(c) - before;
	if (json_out)
		json_array_append_new(out, json_pack("{s:s,s:s,s:b,s:s,s:I,s:b}", "file", it->file, "kind",
						     it->snp ? "snp" : "tdx", "ok", rc == 0, "detail", rc ? e.msg : what,
						     "requests", (json_int_t)sent, "expired", expired));
	else if (rc)
		printf("%s: FAILED: %s\n", it->file, e.msg);
	else
		printf("%s: %s %s%s\n", it->file, what, sent ? "fetched and verified" : "already cached",
		       expired ? " (collateral past its nextUpdate: refresh it)" : "");
	return rc ? VG_EXIT_REJECTED : VG_EXIT_OK;
}

static int cmd_path(int argc, char **argv)
{
	const char *report = NULL, *product = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--report") && i + 1 < argc)
			report = argv[++i];
		else if (!strcmp(argv[i], "--product") && i + 1 < argc)
			product = argv[++i];
		else {
			usage(stderr);
			return VG_EXIT_USAGE;
		}
	}
	if (!report) {
		usage(stderr);
		return VG_EXIT_USAGE;
	}
	enum sev_snp_product p = SEV_SNP_PRODUCT_UNKNOWN;
	if (product) {
		if (!strcmp(product, "Milan"))
			p = SEV_SNP_PRODUCT_MILAN;
		else if (!strcmp(product, "Genoa"))
			p = SEV_SNP_PRODUCT_GENOA;
		else if (!strcmp(product, "Turin"))
			p = SEV_SNP_PRODUCT_TURIN;
		else {
			fprintf(stderr, "vigil kbs cache path: --product %s: expected Milan, Genoa or Turin\n", product);
			return VG_EXIT_USAGE;
		}
	}
	uint8_t *buf = NULL;
	size_t len = 0;
	struct vg_err e = {0};
	struct sev_snp_report r;
	char path[400];
	int rc = vg_read_file(report, 1 << 20, &buf, &len, &e);
	if (!rc && len < SEV_SNP_REPORT_SIZE)
		rc = vg_err_set(&e, EBADMSG, "%s: %zu bytes, an SNP report has %u", report, len, SEV_SNP_REPORT_SIZE);
	if (!rc)
		rc = sev_snp_report_parse(buf, SEV_SNP_REPORT_SIZE, &r, &e);
	if (!rc)
		rc = ad_coll_vcek_path(&r, p, path, sizeof(path), &e);
	free(buf);
	if (rc) {
		fprintf(stderr, "vigil kbs cache path: %s\n", e.msg);
		return VG_EXIT_USAGE;
	}
	printf("%s\n", path);
	return VG_EXIT_OK;
}

int cli_kbs_cache(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? VG_EXIT_USAGE : VG_EXIT_OK;
	}
	if (!strcmp(argv[1], "path"))
		return cmd_path(argc - 1, argv + 1);
	if (strcmp(argv[1], "fill")) {
		fprintf(stderr, "vigil kbs cache: unknown command '%s' (fill, path)\n", argv[1]);
		return VG_EXIT_USAGE;
	}
	struct ad_coll_cfg cfg = {0};
	struct fill_item items[MAX_ITEMS];
	size_t n = 0, nroots = 0;
	const char *roots[MAX_ROOTS];
	bool crl = false, json_out = false;
	long max_wait = 0;
	static const struct option lo[] = {
		{"cache", 1, NULL, 'd'},  {"kds-url", 1, NULL, 'k'},	    {"pcs-url", 1, NULL, 'p'},
		{"crl", 0, NULL, 'c'},	  {"trust-sim-root", 1, NULL, 's'}, {"max-wait", 1, NULL, 'w'},
		{"json", 0, NULL, 'j'},	  {"report", 1, NULL, 'r'},	    {"quote", 1, NULL, 'q'},
		{"help", 0, NULL, 'h'},	  {NULL, 0, NULL, 0}};
	int o;
	optind = 2;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (o) {
		case 'd': cfg.dir = optarg; break;
		case 'k': cfg.kds_url = optarg; break;
		case 'p': cfg.pcs_url = optarg; break;
		case 'c': crl = true; break;
		case 'j': json_out = true; break;
		case 'w': max_wait = atol(optarg); break;
		case 's':
			if (nroots == MAX_ROOTS) {
				fprintf(stderr, "vigil kbs cache: at most %d --trust-sim-root\n", MAX_ROOTS);
				return VG_EXIT_USAGE;
			}
			roots[nroots++] = optarg;
			break;
		case 'r':
		case 'q':
			if (n == MAX_ITEMS) {
				fprintf(stderr, "vigil kbs cache: at most %d evidence files per run\n", MAX_ITEMS);
				return VG_EXIT_USAGE;
			}
			items[n++] = (struct fill_item){optarg, o == 'r'};
			break;
		case 'h': usage(stdout); return VG_EXIT_OK;
		default:
			fprintf(stderr, "vigil kbs cache: unknown or incomplete option '%s'\n", argv[optind - 1]);
			return VG_EXIT_USAGE;
		}
	}
	if (optind < argc || !cfg.dir || !n || max_wait < 0) {
		fprintf(stderr, "vigil kbs cache fill: --cache and at least one --report or --quote are required\n");
		return VG_EXIT_USAGE;
	}
	struct vg_err e = {0};
	struct att_trust tr[1 + MAX_ROOTS];
	struct att_anchor *anchors[MAX_ROOTS] = {0};
	memset(tr, 0, sizeof(tr));
	int rc = VG_EXIT_OK;
	for (size_t i = 0; i < nroots; i++) {
		uint8_t *b = NULL;
		size_t bl = 0;
		if (vg_read_file(roots[i], 1 << 20, &b, &bl, &e) || att_anchor_load(b, bl, &anchors[i], &e)) {
			free(b);
			fprintf(stderr, "vigil kbs cache: --trust-sim-root %s: %s\n", roots[i], e.msg);
			rc = VG_EXIT_USAGE;
			goto out;
		}
		free(b);
		tr[1 + i].sim_root = anchors[i];
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	struct ad_coll *c = NULL;
	if (ad_coll_open(&cfg, &c, &e)) {
		fprintf(stderr, "vigil kbs cache: %s\n", e.msg);
		rc = VG_EXIT_USAGE;
		goto out;
	}
	json_t *out = json_array();
	for (size_t i = 0; i < n; i++) {
		int r = one(c, &items[i], tr, 1 + nroots, crl, max_wait, out, json_out);
		if (r > rc)
			rc = r;
	}
	if (json_out) {
		char *s = json_dumps(out, JSON_COMPACT);
		if (s)
			printf("%s\n", s);
		free(s);
	}
	json_decref(out);
	ad_coll_free(c);
out:
	for (size_t i = 0; i < nroots; i++)
		att_anchor_free(anchors[i]);
	return rc;
}
