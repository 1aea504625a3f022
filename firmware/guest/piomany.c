/* piomany: 200000 port writes (the COM1 scratch register), for the emu
 * benchmark's PIO round trip, where 10000 writes take less time than the
 * noise of a process start; then exits 0. */
#include "rt.h"

#define PIO_WRITES 200000

int main(void)
{
	puts_serial("piomany: start\n");
	for (int i = 0; i < PIO_WRITES; i++)
		outb(COM1 + 7, (uint8_t)i);
	puts_serial("piomany: done\n");
	return 0;
}
