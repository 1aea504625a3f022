/* pio: 10000 port writes (the COM1 scratch register, which every 16550 has),
 * for the benchmark's PIO exit round trip; then exits 0. */
#include "rt.h"

#define PIO_WRITES 10000

int main(void)
{
	puts_serial("pio: start\n");
	for (int i = 0; i < PIO_WRITES; i++)
		outb(COM1 + 7, (uint8_t)i);
	puts_serial("pio: done\n");
	return 0;
}
