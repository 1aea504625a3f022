/* pio: 10000 port writes (the COM1 scratch register, which every 16550 has),
 * for the benchmark's PIO exit round trip; then exits 0. piomany.c builds
 * the same guest with more writes. */
#include "rt.h"

#ifndef PIO_WRITES
#define PIO_WRITES 10000
#define PIO_NAME "pio"
#endif

int main(void)
{
	puts_serial(PIO_NAME ": start\n");
	for (int i = 0; i < PIO_WRITES; i++)
		outb(COM1 + 7, (uint8_t)i);
	puts_serial(PIO_NAME ": done\n");
	return 0;
}
