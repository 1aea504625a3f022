/* busy: prints that it runs, then spins without ever halting or touching a
 * device, until the VMM is stopped from outside (a vCPU the VMM must take
 * back by force: KVM's kick signal, emu's uc_emu_stop). */
#include "rt.h"

int main(void)
{
	puts_serial("busy: spinning until stopped\n");
	for (volatile unsigned long i = 0;; i++)
		;
	return 0;
}
