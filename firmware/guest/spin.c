/* spin: prints that it runs, then idles until the VMM is stopped from
 * outside. hlt with interrupts off parks the vCPU in the kernel (in-kernel
 * LAPIC), so an idle guest costs no host CPU. */
#include "rt.h"

int main(void)
{
	puts_serial("spin: running until stopped\n");
	for (;;)
		__asm__ volatile("cli; hlt");
	return 0;
}
