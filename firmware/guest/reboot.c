/* reboot: counts its boots in CMOS NVRAM byte 0x40 (plain battery-backed RAM
 * in the VMM's MC146818, kept across a reset), prints "reboot: boot N", and
 * resets the machine: through the reset control register 0xCF9 on boot 1, the
 * i8042 (0xFE to port 0x64) on boot 2; boot 3 exits with status 3 through the
 * debug-exit port. With a vTPM, every boot also prints PCR 0 (the VMM's
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

int main(void)
{
	unsigned boot = (unsigned)cmos_read(NVRAM_BOOTS) + 1;
	cmos_write(NVRAM_BOOTS, (uint8_t)boot);
	puts_serial("reboot: boot ");
	put_dec(boot);
	putc_serial('\n');
	if (crb_present() && tpm(boot))
		return 1;
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
