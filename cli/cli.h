/* The `vigil` command: one file per subcommand, dispatched from main.c. */
#ifndef VIGIL_CLI_H
#define VIGIL_CLI_H

/* Each subcommand gets argv starting at its own name and returns the exit
 * code (0 ok, 1 rejected / failed check, 2 usage or I/O error). */
int cli_measure(int argc, char **argv);
int cli_verify(int argc, char **argv);
int cli_kbs(int argc, char **argv);
int cli_kbs_cache(int argc, char **argv); /* kbs_cache.c: `vigil kbs cache` */

#endif
