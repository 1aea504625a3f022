/* piomany: the pio guest with 200000 port writes, for the emu benchmark's
 * PIO round trip, where 10000 writes take less time than the noise of a
 * process start. */
#define PIO_WRITES 200000
#define PIO_NAME "piomany"
#include "pio.c"
