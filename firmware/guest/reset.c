/* reset: asks for a platform reset through the reset control register 0xCF9
 * (the FADT's RESET_REG, value 6). vigil-vmm stops the VM: no reboot. */
#include "rt.h"

int main(void)
{
	puts_serial("reset: writing 6 to 0xcf9\n");
	outb(0xCF9, 0x06);
	puts_serial("reset: still running\n"); /* not reached */
	return 9;
}
