/* vigil measure: placeholder until its issue lands; replaced by the real command. */
#include <stdio.h>

#include "cli/cli.h"

int cli_measure(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "vigil measure: not built yet\n");
	return 2;
}
