/* reboot: counts its boots in CMOS NVRAM byte 0x40 (plain battery-backed RAM
 * in the VMM's MC146818, kept across a reset), prints "reboot: boot N", and
 * resets the machine: through the reset control register 0xCF9 on boot 1, the
 * i8042 (0xFE to port 0x64) on boot 2; boot 3 exits with status 3 through the
 * debug-exit port. With more than one vCPU and a LAPIC (kvm), every boot checks
 * that AP 1 is not running ("ap idle": after a reboot it must wait for a SIPI
 * again, not go on with the last boot's code, which counts in RAM that a reboot
 * keeps), then starts it with INIT-SIPI-SIPI at a real-mode trampoline that
 * counts ("ap started"; "ap did not start" on hosts whose KVM does not deliver
 * INIT/SIPI). Every boot reads fw_cfg's data port without selecting an item
 * (after a reset: the signature's first byte, "fw_cfg 51") and leaves the read
 * position at its end. With a vTPM, every boot also prints PCR 0 (the VMM's
 * measurement of this firmware), PCR 16 and the SHA-256 of the TCG event log
 * area at 0xF0000 as found at boot, then extends PCR 16 and overwrites the
 * start of the log: only a TPM reset, measured boot again and the log written
 * again make the next boot print the same values. */
#include "crb.h"
#include "rt.h"
#include "sha256.h"

#define NVRAM_BOOTS 0x40
#define EVENT_LOG 0xF0000ull
#define EVENT_LOG_SIZE 0x10000u
#define CMOS_CPUS 0x5F              /* CPUs - 1 */
#define LAPIC 0xFEE00000ull
#define LAPIC_VERSION 0x030
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define TRAMPOLINE 0x8000ull       /* SIPI vector 0x08 */
#define AP_COUNTER 0x9000ull

static uint8_t cmos_read(uint8_t reg)
{
	outb(0x70, reg);
	return inb(0x71);
}

static void cmos_write(uint8_t reg, uint8_t v)
{
	outb(0x70, reg);
	outb(0x71, v);
}

static int tpm(unsigned boot)
{
	uint8_t pcr0[32], pcr16[32], log[32], digest[32];
	if (crb_request_locality() || crb_pcr_read(0, pcr0) || crb_pcr_read(16, pcr16)) {
		puts_serial("reboot: FAIL: TPM\n");
		return -1;
	}
	sha256((const void *)EVENT_LOG, EVENT_LOG_SIZE, log);
	puts_serial("reboot: boot ");
	put_dec(boot);
	puts_serial(" pcr0 ");
	put_bytes_hex(pcr0, 32);
	puts_serial(" pcr16 ");
	put_bytes_hex(pcr16, 32);
	puts_serial(" log ");
	put_bytes_hex(log, 32);
	putc_serial('\n');
	static const char msg[] = "vigil reboot guest";
	sha256(msg, sizeof(msg) - 1, digest);
	if (crb_pcr_extend(16, digest)) {
		puts_serial("reboot: FAIL: PCR_Extend 16\n");
		return -1;
	}
	crb_relinquish();
	memset((void *)EVENT_LOG, 0, 4096);
	return 0;
}

static uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

/* Waits up to `cycles` TSC cycles for the AP's counter to move from `from`. */
static int counter_moves(volatile uint32_t *counter, uint32_t from, uint64_t cycles)
{
	for (uint64_t t0 = rdtsc(); rdtsc() - t0 < cycles;)
		if (*counter != from)
			return 1;
	return *counter != from;
}

static void ipi(uint32_t lo)
{
	mmio_write32(LAPIC + LAPIC_ICR_HI, 1u << 24); /* APIC ID 1 */
	mmio_write32(LAPIC + LAPIC_ICR_LO, lo);
	for (int i = 0; i < 1000000 && (mmio_read32(LAPIC + LAPIC_ICR_LO) & (1u << 12)); i++)
		; /* delivery status: pending */
}

/* AP 1: idle (as at power-on) before the BSP starts it, running after. */
static void ap(unsigned boot)
{
	/* real mode at 0x800:0: cli; xor ax,ax; mov ds,ax; 1: lock inc dword [0x9000]; jmp 1b */
	static const uint8_t code[] = {0xFA, 0x31, 0xC0, 0x8E, 0xD8, 0xF0, 0x66, 0xFF, 0x06, 0x00, 0x90, 0xEB, 0xF8};
	volatile uint32_t *counter = (volatile uint32_t *)AP_COUNTER;
	puts_serial("reboot: boot ");
	put_dec(boot);
	puts_serial(counter_moves(counter, *counter, 1ull << 27) ? " ap running\n" : " ap idle\n");
	memcpy((void *)TRAMPOLINE, code, sizeof(code));
	uint32_t before = *counter;
	ipi(0x00004500); /* INIT */
	ipi(0x00004608); /* SIPI, vector 0x08 */
	ipi(0x00004608);
	puts_serial("reboot: boot ");
	put_dec(boot);
	puts_serial(counter_moves(counter, before, 1ull << 31) ? " ap started\n" : " ap did not start\n");
}

int main(void)
{
	unsigned boot = (unsigned)cmos_read(NVRAM_BOOTS) + 1;
	cmos_write(NVRAM_BOOTS, (uint8_t)boot);
	puts_serial("reboot: boot ");
	put_dec(boot);
	putc_serial('\n');
	/* fw_cfg: power-on selects the signature at offset 0; read it all (4 bytes). */
	uint8_t first = inb(0x511);
	for (int i = 0; i < 3; i++)
		(void)inb(0x511);
	puts_serial("reboot: boot ");
	put_dec(boot);
	puts_serial(" fw_cfg ");
	put_hex(first, 2);
	putc_serial('\n');
	if (crb_present() && tpm(boot))
		return 1;
	if (cmos_read(CMOS_CPUS) >= 1 && mmio_read32(LAPIC + LAPIC_VERSION) != 0xFFFFFFFFu)
		ap(boot);
	if (boot == 1) {
		puts_serial("reboot: resetting through 0xcf9\n");
		outb(0xCF9, 0x06);
	} else if (boot == 2) {
		puts_serial("reboot: resetting through the i8042\n");
		outb(0x64, 0xFE);
	} else {
		return (int)boot;
	}
	for (;;) /* the reset takes the vCPU away */
		__asm__ volatile("cli; hlt");
}
