/* The MC146818 RTC/CMOS model (vmm/devices/cmos.c): memory-size registers as firmware
 * reads them, the clock in BCD and binary, 12/24-hour, guest clock writes, the index
 * port's NMI bit, read-only registers, a reboot's reset (NVRAM and clock kept). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "vmm/devices/devices.h"

/* 2026-11-26 14:05:09 UTC, a Thursday. */
static time_t fixed(void) { return 1795701909; }

static unsigned rd16(struct vmm_cmos *c, uint8_t lo) { return vmm_cmos_read(c, lo) | vmm_cmos_read(c, lo + 1) << 8; }

static void test_memory_registers(void **state)
{
	(void)state;
	/* 512 MiB, 2 vCPUs: all below 4 GiB. */
	struct vmm_cmos *c = vmm_cmos_new(512ull << 20, 2, fixed);
	assert_int_equal(rd16(c, 0x15), 640);
	assert_int_equal(rd16(c, 0x17), 0xffff); /* 1..64 MiB in KiB, capped */
	assert_int_equal(rd16(c, 0x30), 0xffff);
	assert_int_equal(rd16(c, 0x34), (512 - 16) * 16); /* 64 KiB units above 16 MiB */
	assert_int_equal(vmm_cmos_read(c, 0x5b) | vmm_cmos_read(c, 0x5c) << 8 | vmm_cmos_read(c, 0x5d) << 16, 0);
	assert_int_equal(vmm_cmos_read(c, 0x5f), 1);
	vmm_cmos_free(c);
	/* 8 GiB: 3 GiB below the hole, 5 GiB above 4 GiB. */
	c = vmm_cmos_new(8ull << 30, 1, fixed);
	assert_int_equal(rd16(c, 0x34), ((3ull << 30) - (16u << 20)) >> 16);
	assert_int_equal(vmm_cmos_read(c, 0x5b) | vmm_cmos_read(c, 0x5c) << 8 | vmm_cmos_read(c, 0x5d) << 16,
			 (5ull << 30) >> 16);
	vmm_cmos_free(c);
	/* 16 MiB or less: nothing above 16 MiB; 8 MiB of extended memory in KiB. */
	c = vmm_cmos_new(16u << 20, 1, fixed);
	assert_int_equal(rd16(c, 0x34), 0);
	assert_int_equal(rd16(c, 0x17), 15 * 1024);
	vmm_cmos_free(c);
}

static void test_clock(void **state)
{
	(void)state;
	struct vmm_cmos *c = vmm_cmos_new(64u << 20, 1, fixed);
	assert_int_equal(vmm_cmos_read(c, 0x00), 0x09); /* BCD */
	assert_int_equal(vmm_cmos_read(c, 0x02), 0x05);
	assert_int_equal(vmm_cmos_read(c, 0x04), 0x14);
	assert_int_equal(vmm_cmos_read(c, 0x07), 0x26);
	assert_int_equal(vmm_cmos_read(c, 0x08), 0x11);
	assert_int_equal(vmm_cmos_read(c, 0x09), 0x26);
	assert_int_equal(vmm_cmos_read(c, 0x32), 0x20);
	assert_int_equal(vmm_cmos_read(c, 0x06), 5); /* Thursday = 5 (Sunday = 1) */
	assert_int_equal(vmm_cmos_read(c, 0x0d), 0x80);
	/* Binary, 12-hour: 2 PM. */
	vmm_cmos_write(c, 0x0b, 0x04);
	assert_int_equal(vmm_cmos_read(c, 0x04), 0x80 | 2);
	assert_int_equal(vmm_cmos_read(c, 0x07), 26);
	/* The guest sets the hour to 3 AM (binary, 12h): an offset from the host clock. */
	vmm_cmos_write(c, 0x04, 3);
	assert_int_equal(vmm_cmos_read(c, 0x04), 3);
	assert_int_equal(vmm_cmos_read(c, 0x02), 5);
	vmm_cmos_write(c, 0x0b, 0x02); /* back to BCD, 24h */
	assert_int_equal(vmm_cmos_read(c, 0x04), 0x03);
	/* Read-only C and D, UIP. */
	vmm_cmos_write(c, 0x0d, 0);
	assert_int_equal(vmm_cmos_read(c, 0x0d), 0x80);
	vmm_cmos_write(c, 0x0a, 0xa6);
	assert_int_equal(vmm_cmos_read(c, 0x0a), 0x26);
	/* General CMOS RAM keeps what the guest writes. */
	vmm_cmos_write(c, 0x40, 0x5a);
	assert_int_equal(vmm_cmos_read(c, 0x40), 0x5a);
	vmm_cmos_free(c);
}

static void test_ports(void **state)
{
	(void)state;
	struct vmm_cmos *c = vmm_cmos_new(512ull << 20, 4, fixed);
	/* Index with the NMI-disable bit, as firmware writes it. */
	vmm_cmos_ops.write(c, 0, 1, 0x80 | 0x5f);
	assert_int_equal(vmm_cmos_ops.read(c, 1, 1), 3);
	vmm_cmos_ops.write(c, 0, 1, 0x34);
	assert_int_equal(vmm_cmos_ops.read(c, 1, 1), ((512 - 16) * 16) & 0xff);
	vmm_cmos_ops.write(c, 0, 1, 0x35);
	assert_int_equal(vmm_cmos_ops.read(c, 1, 1), ((512 - 16) * 16) >> 8);
	vmm_cmos_ops.write(c, 0, 1, 0xff); /* any index is in range (7 bits) */
	vmm_cmos_ops.write(c, 1, 1, 0x11);
	assert_int_equal(vmm_cmos_read(c, 0x7f), 0x11);
	vmm_cmos_free(c);
}

static void test_reset(void **state)
{
	(void)state;
	struct vmm_cmos *c = vmm_cmos_new(512ull << 20, 2, fixed);
	vmm_cmos_write(c, 0x40, 0x5a);           /* NVRAM the guest wrote */
	vmm_cmos_write(c, 0x0b, 0x02 | 0x04 | 0x70); /* binary, interrupt enables */
	vmm_cmos_write(c, 0x04, 3);              /* the guest's clock */
	vmm_cmos_ops.write(c, 0, 1, 0x34);
	vmm_cmos_reset(c);
	assert_int_equal(vmm_cmos_ops.read(c, 0, 1), 0);       /* index */
	assert_int_equal(vmm_cmos_read(c, 0x0b), 0x02 | 0x04); /* interrupt enables off, mode kept */
	assert_int_equal(vmm_cmos_read(c, 0x0c), 0);
	assert_int_equal(vmm_cmos_read(c, 0x40), 0x5a);        /* battery-backed: kept */
	assert_int_equal(rd16(c, 0x34), (512 - 16) * 16);
	assert_int_equal(vmm_cmos_read(c, 0x5f), 1);
	assert_int_equal(vmm_cmos_read(c, 0x04), 3);           /* the clock offset too */
	vmm_cmos_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_memory_registers),
		cmocka_unit_test(test_clock),
		cmocka_unit_test(test_ports),
		cmocka_unit_test(test_reset),
	};
	return cmocka_run_group_tests_name("cmos", tests, NULL, NULL);
}
