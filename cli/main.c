/* vigil: the tenant and operator command line. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/common.h"

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{"measure", cli_measure, "predict a guest's launch measurement (SNP, SEV, SEV-ES, TDX)"},
	{"verify", cli_verify, "verify an SEV-SNP report or a TDX quote against the vendor roots"},
	{"appraise", cli_appraise, "verify and appraise evidence under a policy; explained verdict, EAR token"},
	{"policy", cli_policy, "check, start or extend an appraisal policy"},
	{"kbs", cli_kbs, "administer vigil-attestd: policy, resources, audit log"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: vigil [--version] [--help] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < VG_ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'vigil COMMAND --help' describes a command.\n"
		   "Exit status: 0 ok, 1 rejected or failed check, 2 usage or I/O error.\n");
}

int main(int argc, char **argv)
{
	vg_log_init("vigil", VG_LOG_WARN);
	if (argc < 2) {
		usage(stderr);
		return VG_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return VG_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("vigil %s\n", VG_VERSION);
		return VG_EXIT_OK;
	}
	for (size_t i = 0; i < VG_ARRAY_SIZE(commands); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "vigil: unknown command '%s' (try 'vigil --help')\n", argv[1]);
	return VG_EXIT_USAGE;
}
