/* vigil verify: placeholder until its issue lands; replaced by the real command. */
#include <stdio.h>

#include "cli/cli.h"

int cli_verify(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "vigil verify: not built yet\n");
	return 2;
}
