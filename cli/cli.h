/* The `vigil` command: one file per subcommand, dispatched from main.c. */
#ifndef VIGIL_CLI_H
#define VIGIL_CLI_H

/* Each subcommand gets argv starting at its own name and returns the exit
 * code (0 ok, 1 rejected / failed check, 2 usage or I/O error). */
int cli_measure(int argc, char **argv);
int cli_verify(int argc, char **argv);
int cli_kbs(int argc, char **argv);
int cli_kbs_cache(int argc, char **argv); /* kbs_cache.c: `vigil kbs cache` */

int cli_appraise(int argc, char **argv);
int cli_policy(int argc, char **argv);

/* ---- evidence options shared by verify and appraise (cli/evidence.c) ---- */
#include <getopt.h>
#include <stdbool.h>

#include "attest/attest.h"

enum { CLI_EV_VCEK = 0x100, CLI_EV_CHAIN, CLI_EV_CRL, CLI_EV_COLLATERAL, CLI_EV_CCEL, CLI_EV_AT, CLI_EV_SIMROOT };
/* struct option entries for an option table. */
#define CLI_EVIDENCE_OPTIONS                                                                                    \
	{"vcek", required_argument, NULL, CLI_EV_VCEK}, {"vlek", required_argument, NULL, CLI_EV_VCEK},           \
	{"chain", required_argument, NULL, CLI_EV_CHAIN}, {"crl", required_argument, NULL, CLI_EV_CRL},          \
	{"collateral", required_argument, NULL, CLI_EV_COLLATERAL}, {"ccel", required_argument, NULL, CLI_EV_CCEL}, \
	{"at", required_argument, NULL, CLI_EV_AT}, {"trust-sim-root", required_argument, NULL, CLI_EV_SIMROOT}

struct cli_evidence {
	const char *prog; /* "vigil verify": prefix of every message */
	const char *vcek, *chain, *crl, *coll, *ccel, *simroot;
	struct att_trust trust;
	bool snp;
};
/* 1: the option was an evidence option (consumed); 0: not one; -1: bad value (printed). */
int cli_evidence_opt(struct cli_evidence *ev, int c, const char *arg);
/* Checks "snp" / "tdx" against the options given; -1 with a message on misuse. */
int cli_evidence_kind(struct cli_evidence *ev, const char *kind);
/* Loads the files and verifies; 0 when a verdict was reached (see res->verified), -1 on I/O
 * or usage errors (printed). */
int cli_evidence_verify(struct cli_evidence *ev, const char *path, struct att_result *res);
/* Reads a whole input file; -1 with "prog: what: reason" printed. */
int cli_read(const char *prog, const char *path, const char *what, uint8_t **out, size_t *len);
/* Prints j (consumed) as JSON; -1 with a message if it cannot. */
int cli_print_json(const char *prog, json_t *j, bool compact);

#endif
