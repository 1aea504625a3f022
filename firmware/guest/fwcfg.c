/* fwcfg: reads fw_cfg the way OVMF's QemuFwCfgLib does (signature and feature bits
 * through ports 0x510/0x511, the file directory, a DMA read of etc/e820 with the
 * descriptor address written as big-endian halves to 0x514/0x518), reads the CMOS
 * memory-size registers, and checks they agree. Prints what it found; exits 0 when
 * every check passed, else the number of the first failed check. */
#include "rt.h"

#define FW_CFG_SEL 0x510
#define FW_CFG_DATA 0x511
#define FW_CFG_DMA 0x514

static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static uint32_t bswap32(uint32_t v) { return __builtin_bswap32(v); }

static void select_item(uint16_t key) { outw(FW_CFG_SEL, key); }
static void read_bytes(void *dst, uint32_t n)
{
	uint8_t *p = dst;
	for (uint32_t i = 0; i < n; i++)
		p[i] = inb(FW_CFG_DATA);
}

struct dma_access {
	uint32_t control, length;
	uint64_t address;
} __attribute__((packed, aligned(16)));

static struct dma_access desc;
static uint8_t e820[20 * 8];

static uint8_t cmos(uint8_t reg)
{
	outb(0x70, (uint8_t)(0x80 | reg)); /* NMI disabled, as firmware does */
	return inb(0x71);
}

static int fail(int n, const char *what)
{
	puts_serial("fwcfg: FAIL ");
	put_dec((uint64_t)n);
	puts_serial(" ");
	puts_serial(what);
	puts_serial("\n");
	return n;
}

int main(void)
{
	char sig[5] = {0};
	select_item(0x0000);
	read_bytes(sig, 4);
	if (memcmp(sig, "QEMU", 4))
		return fail(1, "signature");
	uint32_t id = 0;
	select_item(0x0001);
	read_bytes(&id, 4);
	if (!(id & 2))
		return fail(2, "no DMA feature bit");
	/* The file directory: count and entries are big-endian. */
	select_item(0x0019);
	uint32_t count;
	read_bytes(&count, 4);
	count = bswap32(count);
	uint16_t e820_key = 0;
	uint32_t e820_size = 0;
	for (uint32_t i = 0; i < count && i < 64; i++) {
		uint8_t ent[64];
		read_bytes(ent, 64);
		if (!memcmp(ent + 8, "etc/e820", 9)) {
			e820_size = (uint32_t)ent[0] << 24 | (uint32_t)ent[1] << 16 | (uint32_t)ent[2] << 8 | ent[3];
			e820_key = (uint16_t)(ent[4] << 8 | ent[5]);
		}
	}
	if (!e820_key || !e820_size || e820_size > sizeof(e820) || e820_size % 20)
		return fail(3, "etc/e820 missing from the file directory");
	/* DMA read of etc/e820: SELECT | READ. */
	desc.control = bswap32((uint32_t)e820_key << 16 | 0x08 | 0x02);
	desc.length = bswap32(e820_size);
	desc.address = __builtin_bswap64((uint64_t)(uintptr_t)e820);
	uint64_t a = (uint64_t)(uintptr_t)&desc;
	outl(FW_CFG_DMA, bswap32((uint32_t)(a >> 32)));
	outl(FW_CFG_DMA + 4, bswap32((uint32_t)a));
	__asm__ volatile("" ::: "memory"); /* the device wrote desc and e820 */
	volatile uint32_t *ctl = &desc.control;
	for (int spin = 0; *ctl && spin < 1000000; spin++)
		;
	if (*ctl)
		return fail(4, "DMA did not complete");
	uint64_t below4g = 0, above4g = 0;
	for (uint32_t off = 0; off < e820_size; off += 20) {
		uint64_t base, len;
		uint32_t type;
		memcpy(&base, e820 + off, 8);
		memcpy(&len, e820 + off + 8, 8);
		memcpy(&type, e820 + off + 16, 4);
		if (type != 1)
			continue;
		if (base < 0x100000000ull)
			below4g += len;
		else
			above4g += len;
	}
	puts_serial("fwcfg: e820 RAM below 4G ");
	put_hex(below4g, 8);
	puts_serial(" above ");
	put_hex(above4g, 8);
	puts_serial("\n");
	/* CMOS: 64 KiB units above 16 MiB (0x34/0x35) and above 4 GiB (0x5b..0x5d). */
	uint64_t c16 = ((uint64_t)cmos(0x34) | (uint64_t)cmos(0x35) << 8) << 16;
	uint64_t c4g = ((uint64_t)cmos(0x5b) | (uint64_t)cmos(0x5c) << 8 | (uint64_t)cmos(0x5d) << 16) << 16;
	puts_serial("fwcfg: cmos above 16M ");
	put_hex(c16, 8);
	puts_serial(" above 4G ");
	put_hex(c4g, 8);
	puts_serial("\n");
	if (c16 + (16u << 20) != below4g)
		return fail(5, "CMOS memory below 4 GiB differs from etc/e820");
	if (c4g != above4g)
		return fail(6, "CMOS memory above 4 GiB differs from etc/e820");
	uint16_t cpus = 0;
	select_item(0x0005);
	read_bytes(&cpus, 2);
	if (cpus != (uint16_t)cmos(0x5f) + 1)
		return fail(7, "fw_cfg CPU count differs from CMOS");
	puts_serial("fwcfg: cpus ");
	put_dec(cpus);
	puts_serial("\nfwcfg: ok\n");
	return 0;
}
