/* shutdown: powers the machine off the ACPI way (SLP_TYP 5 | SLP_EN written
 * to the PM1a control block, as the DSDT's \_S5 and the FADT tell an OS). */
#include "rt.h"

#define PM1A_CNT 0x604
#define SLP_EN (1u << 13)
#define SLP_TYP_S5 (5u << 10)

int main(void)
{
	puts_serial("shutdown: entering S5\n");
	__asm__ volatile("outw %0, %1" : : "a"((uint16_t)(SLP_TYP_S5 | SLP_EN)), "Nd"((uint16_t)PM1A_CNT));
	puts_serial("shutdown: still running\n"); /* not reached */
	return 9;
}
