/* status: exits through the debug-exit port with status 42, so tests can
 * see the guest's own status become the VMM's exit status. */
#include "rt.h"

int main(void)
{
	puts_serial("status: exiting with 42\n");
	return 42;
}
