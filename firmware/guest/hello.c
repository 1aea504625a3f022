/* hello: prints a greeting on COM1 and exits with status 0 via the debug-exit port. */
#include "rt.h"

int main(void)
{
	puts_serial("Hello from a Vigil guest!\n");
	return 0;
}
