/* fault: does what a broken or hostile guest does: wild MMIO, unclaimed
 * ports, a write to its own ROM, then a triple fault. The VMM must survive,
 * answer like real hardware (reads as all-ones, writes dropped) and report. */
#include "rt.h"

#define WILD_MMIO 0xD0000000ull
#define UNCLAIMED_PORT 0x1234
#define ROM_BYTE 0xFFFFC000ull

int main(void)
{
	uint32_t v = mmio_read32(WILD_MMIO);
	puts_serial("fault: wild MMIO read 0x");
	put_hex(v, 8);
	putc_serial('\n');
	mmio_write32(WILD_MMIO, 0x12345678);
	v = mmio_read32(WILD_MMIO);
	puts_serial("fault: wild MMIO after write 0x");
	put_hex(v, 8);
	putc_serial('\n');
	uint8_t p = inb(UNCLAIMED_PORT);
	outb(UNCLAIMED_PORT, 0x42);
	puts_serial("fault: unclaimed port read 0x");
	put_hex(p, 2);
	putc_serial('\n');
	uint8_t before = mmio_read8(ROM_BYTE);
	mmio_write8(ROM_BYTE, (uint8_t)~before);
	puts_serial(mmio_read8(ROM_BYTE) == before ? "fault: ROM write ignored\n" : "fault: ROM write went through\n");
	puts_serial("fault: triple fault now\n");
	/* An empty IDT: the #UD cannot be delivered, nor the #DF: shutdown. */
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} idt = {0, 0};
	__asm__ volatile("lidt %0; ud2" : : "m"(idt));
	return 3; /* not reached */
}
