/* bzguest: a freestanding test guest in the Linux bzImage format (head.S), booted
 * directly by vigil-vmm --kernel (kvm only: emu runs no kernels). It counts its
 * boots in CMOS NVRAM byte 0x40 and prints, every boot, a value of its own .data
 * (from the kernel image), the e820 entry count from boot_params and the command
 * line, then overwrites all three: only a reboot that writes the kernel,
 * boot_params and command line into guest memory again makes the next boot print
 * the same. Boot 1 resets through 0xCF9, boot 2 through the i8042, boot 3 exits
 * with status 3. */
#include "rt.h"

#define NVRAM_BOOTS 0x40
#define BP_E820_ENTRIES 0x1E8
#define BP_CMD_LINE_PTR 0x228

static volatile uint32_t marker = 0x5EED1234; /* .data: part of the loaded image */

static uint8_t cmos_read(uint8_t reg)
{
	outb(0x70, reg);
	return inb(0x71);
}

int bzmain(uint8_t *bp);
int bzmain(uint8_t *bp)
{
	unsigned boot = (unsigned)cmos_read(NVRAM_BOOTS) + 1;
	outb(0x70, NVRAM_BOOTS);
	outb(0x71, (uint8_t)boot);
	char *cmdline = (char *)(uintptr_t)(*(volatile uint32_t *)(bp + BP_CMD_LINE_PTR));
	puts_serial("bzguest: boot ");
	put_dec(boot);
	puts_serial(" marker ");
	put_hex(marker, 8);
	puts_serial(" e820 ");
	put_dec(bp[BP_E820_ENTRIES]);
	puts_serial(" cmdline ");
	puts_serial(cmdline);
	putc_serial('\n');
	marker = 0xDEAD0000u + boot;
	bp[BP_E820_ENTRIES] = 0;
	cmdline[0] = 'X';
	if (boot == 1)
		outb(0xCF9, 0x06);
	else if (boot == 2)
		outb(0x64, 0xFE);
	else
		return (int)boot;
	for (;;) /* the reset takes the vCPU away */
		__asm__ volatile("cli; hlt");
}
