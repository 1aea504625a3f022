/*
 * vigil policy: check, init, add-workload. The policy file stays the tenant's
 * to edit by hand; these commands only save typing (docs/policy.md).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "common/common.h"
#include "policy/policy.h"

#define PROG "vigil policy"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vigil policy check POLICY.json\n"
		"       vigil policy init [--simulated] > POLICY.json\n"
		"       vigil policy add-workload POLICY.json --name NAME --from FILE [--resources GLOB]...\n"
		"                                [--allow-simulated]\n\n"
		"  check         validate the whole policy and print a JSON summary; an error is one line\n"
		"                starting with the JSON path (exit 2)\n"
		"  init          print a starter production policy: no simulation, debug forbidden, TDX\n"
		"                UpToDate only, no workloads yet; --simulated: a development policy that\n"
		"                accepts the simulated platforms sim-snp and sim-tdx\n"
		"  add-workload  add workload NAME to POLICY.json (rewritten in place, atomically) from\n"
		"                'vigil measure snp|tdx ... --json' output (the predicted measurement) or\n"
		"                'vigil verify ... --json' output of a known-good guest (its measurements,\n"
		"                HOST_DATA, ID key, VMPL; TDX MRTD, RTMRs, MRCONFIGID/MROWNER/MROWNERCONFIG,\n"
		"                attributes, XFAM); each --resources GLOB (repository/type/tag) grants it a path,\n"
		"                joining an existing rule with the same glob and settings or adding one;\n"
		"                --allow-simulated: those rules also release to simulated evidence\n"
		"                (development only; the policy must say \"simulated\": true)\n\n"
		"Exit status: 0 ok, 2 usage, I/O or an invalid policy.\n");
}

static int load_json(const char *path, const char *what, json_t **out)
{
	uint8_t *b = NULL;
	size_t n = 0;
	if (cli_read(PROG, path, what, &b, &n))
		return -1;
	json_error_t je;
	*out = json_loadb((const char *)b, n, JSON_REJECT_DUPLICATES, &je);
	free(b);
	if (!*out) {
		fprintf(stderr, PROG ": %s: line %d, column %d: not valid JSON: %s\n", path, je.line, je.column, je.text);
		return -1;
	}
	return 0;
}

static int cmd_check(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, PROG " check: expected one POLICY.json (try --help)\n");
		return VG_EXIT_USAGE;
	}
	struct pol_policy *p = NULL;
	struct vg_err e = {0};
	if (pol_load_file(argv[1], &p, &e)) {
		fprintf(stderr, PROG ": %s: %s\n", argv[1], e.msg);
		return VG_EXIT_USAGE;
	}
	json_t *s = pol_summary_json(p);
	if (json_array_size(json_object_get(s, "workloads")) == 0)
		fprintf(stderr, PROG ": %s: warning: no workloads yet, nothing can be affirmed\n", argv[1]);
	pol_free(p);
	return cli_print_json(PROG, s, false) ? VG_EXIT_USAGE : VG_EXIT_OK;
}

static int cmd_init(int argc, char **argv)
{
	bool sim = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--simulated"))
			sim = true;
		else {
			fprintf(stderr, PROG " init: unknown argument '%s' (try --help)\n", argv[i]);
			return VG_EXIT_USAGE;
		}
	}
	if (sim)
		fprintf(stderr, PROG ": the policy accepts SIMULATED platforms (sim-snp, sim-tdx): development only\n");
	return cli_print_json(PROG, pol_starter_json(sim), false) ? VG_EXIT_USAGE : VG_EXIT_OK;
}

static int cmd_add(int argc, char **argv)
{
	static const struct option opts[] = {
		{"name", required_argument, NULL, 'n'},
		{"from", required_argument, NULL, 'f'},
		{"resources", required_argument, NULL, 'r'},
		{"allow-simulated", no_argument, NULL, 's'},
		{NULL, 0, NULL, 0},
	};
	const char *name = NULL, *from = NULL;
	const char **res = calloc((size_t)argc, sizeof(char *));
	size_t nres = 0;
	int c, rc = VG_EXIT_USAGE;
	bool allow_sim = false;
	json_t *doc = NULL, *fj = NULL;
	if (!res)
		return VG_EXIT_USAGE;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n': name = optarg; break;
		case 'f': from = optarg; break;
		case 'r': res[nres++] = optarg; break;
		case 's': allow_sim = true; break;
		default:
			fprintf(stderr, PROG " add-workload: unknown or incomplete option '%s' (try --help)\n",
				argv[optind - 1]);
			goto out;
		}
	}
	if (allow_sim && !nres) {
		fprintf(stderr, PROG " add-workload: --allow-simulated applies to --resources rules; none given\n");
		goto out;
	}
	if (argc - optind != 1 || !name || !from) {
		fprintf(stderr, PROG " add-workload: expected POLICY.json --name NAME --from FILE (try --help)\n");
		goto out;
	}
	const char *path = argv[optind];
	struct pol_policy *p = NULL;
	struct vg_err e = {0};
	/* the file must be a valid policy before it is changed */
	if (pol_load_file(path, &p, &e)) {
		fprintf(stderr, PROG ": %s: %s\n", path, e.msg);
		goto out;
	}
	pol_free(p);
	if (load_json(path, "policy", &doc) || load_json(from, "--from", &fj))
		goto out;
	if (pol_add_workload(doc, name, fj, res, nres, allow_sim, &e)) {
		fprintf(stderr, PROG ": %s: %s\n", path, e.msg);
		goto out;
	}
	char *dump = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER), *text = NULL;
	if (dump && asprintf(&text, "%s\n", dump) < 0)
		text = NULL;
	free(dump);
	struct stat st;
	mode_t mode = stat(path, &st) == 0 ? (st.st_mode & 0777) : 0644;
	if (!text || vg_write_file_atomic(path, text, strlen(text), mode, &e)) {
		fprintf(stderr, PROG ": %s: %s\n", path, text ? e.msg : "out of memory");
		free(text);
		goto out;
	}
	free(text);
	fprintf(stderr, PROG ": %s: added workload \"%s\"%s\n", path, name, nres ? " and its resource rules" : "");
	rc = VG_EXIT_OK;
out:
	json_decref(doc);
	json_decref(fj);
	free(res);
	return rc;
}

int cli_policy(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return VG_EXIT_USAGE;
	}
	const char *sub = argv[1];
	if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
		usage(stdout);
		return VG_EXIT_OK;
	}
	if (!strcmp(sub, "--version")) {
		printf("vigil %s\n", VG_VERSION);
		return VG_EXIT_OK;
	}
	for (int i = 2; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return VG_EXIT_OK;
		}
	if (!strcmp(sub, "check"))
		return cmd_check(argc - 1, argv + 1);
	if (!strcmp(sub, "init"))
		return cmd_init(argc - 1, argv + 1);
	if (!strcmp(sub, "add-workload"))
		return cmd_add(argc - 1, argv + 1);
	fprintf(stderr, PROG ": unknown subcommand '%s' (check, init or add-workload)\n", sub);
	return VG_EXIT_USAGE;
}
