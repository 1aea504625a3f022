/* Unit tests for vmm/: the PIO/MMIO bus, the 16550A UART, the platform table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/devices/devices.h"
#include "vmm/vmm.h"

struct fake_dev {
	uint64_t last_off, last_val;
	unsigned last_size, reads, writes;
};

static uint64_t fake_read(void *o, uint64_t off, unsigned size)
{
	struct fake_dev *d = o;
	d->reads++;
	d->last_off = off;
	d->last_size = size;
	return 0x1122334455667788ull;
}

static void fake_write(void *o, uint64_t off, unsigned size, uint64_t v)
{
	struct fake_dev *d = o;
	d->writes++;
	d->last_off = off;
	d->last_size = size;
	d->last_val = v;
}

static const struct vmm_dev_ops fake_ops = {.name = "fake", .read = fake_read, .write = fake_write};
static const struct vmm_dev_ops other_ops = {.name = "other", .read = fake_read, .write = fake_write};

static void test_bus_register_overlap(void **state)
{
	(void)state;
	struct vmm_bus *b = vmm_bus_new();
	struct fake_dev d = {0};
	struct vg_err err = {0};
	assert_int_equal(vmm_bus_register(b, VMM_SPACE_PIO, 0x3F8, 8, &fake_ops, &d, &err), 0);
	assert_int_equal(vmm_bus_register(b, VMM_SPACE_PIO, 0x3FF, 1, &other_ops, &d, &err), -EBUSY);
	assert_non_null(strstr(err.msg, "overlaps fake"));
	assert_int_equal(vmm_bus_register(b, VMM_SPACE_PIO, 0x3F0, 9, &other_ops, &d, &err), -EBUSY);
	assert_int_equal(vmm_bus_register(b, VMM_SPACE_PIO, 0x3F0, 8, &other_ops, &d, &err), 0); /* adjacent */
	assert_int_equal(vmm_bus_register(b, VMM_SPACE_PIO, 0x400, 8, &other_ops, &d, &err), 0);
	/* The same range in the other space is fine. */
	assert_int_equal(vmm_bus_register(b, VMM_SPACE_MMIO, 0x3F8, 8, &fake_ops, &d, &err), 0);
	assert_int_equal(vmm_bus_register(b, VMM_SPACE_PIO, 0xFFFF, 2, &fake_ops, &d, &err), -EINVAL);
	assert_int_equal(vmm_bus_register(b, VMM_SPACE_MMIO, 0x1000, 0, &fake_ops, &d, &err), -EINVAL);
	assert_int_equal(vmm_bus_register(b, VMM_SPACE_MMIO, ~0ull, 2, &fake_ops, &d, &err), -EINVAL);
	assert_int_equal(vmm_bus_register(b, 7, 0, 1, &fake_ops, &d, &err), -EINVAL);
	vmm_bus_free(b);
}

static void test_bus_dispatch(void **state)
{
	(void)state;
	struct vmm_bus *b = vmm_bus_new();
	struct fake_dev d = {0}, e = {0};
	struct vg_err err = {0};
	assert_int_equal(vmm_bus_register(b, VMM_SPACE_MMIO, 0xFED40000, 0x5000, &fake_ops, &d, &err), 0);
	assert_int_equal(vmm_bus_register(b, VMM_SPACE_MMIO, 0xFEC00000, 0x1000, &other_ops, &e, &err), 0);
	uint64_t v = 0;
	assert_true(vmm_bus_read(b, VMM_SPACE_MMIO, 0xFED40044, 4, &v));
	assert_int_equal(v, 0x55667788); /* masked to the access size */
	assert_int_equal(d.last_off, 0x44);
	assert_int_equal(d.last_size, 4);
	assert_true(vmm_bus_write(b, VMM_SPACE_MMIO, 0xFED44FFF, 1, 0x1FF));
	assert_int_equal(d.last_val, 0xFF);
	assert_int_equal(d.last_off, 0x4FFF);
	assert_true(vmm_bus_read(b, VMM_SPACE_MMIO, 0xFEC00010, 8, &v));
	assert_int_equal(e.reads, 1);
	/* An access straddling the end of a range is nobody's. */
	assert_false(vmm_bus_read(b, VMM_SPACE_MMIO, 0xFED44FFE, 4, &v));
	assert_int_equal(v, 0xFFFFFFFF);
	vmm_bus_free(b);
}

static void test_bus_unclaimed(void **state)
{
	(void)state;
	struct vmm_bus *b = vmm_bus_new();
	uint64_t v = 0;
	assert_false(vmm_bus_read(b, VMM_SPACE_PIO, 0x1234, 1, &v));
	assert_int_equal(v, 0xFF);
	assert_false(vmm_bus_read(b, VMM_SPACE_PIO, 0x1234, 2, &v));
	assert_int_equal(v, 0xFFFF);
	assert_false(vmm_bus_read(b, VMM_SPACE_MMIO, 0xD0000000, 8, &v));
	assert_int_equal(v, ~0ull);
	assert_false(vmm_bus_write(b, VMM_SPACE_MMIO, 0xD0000000, 4, 1));
	/* Logged once per address and direction. */
	assert_int_equal(vmm_bus_unclaimed_count(b), 3);
	for (int i = 0; i < 200; i++)
		vmm_bus_read(b, VMM_SPACE_MMIO, 0xE0000000 + (uint64_t)i * 4, 4, &v);
	assert_int_equal(v, 0xFFFFFFFF); /* past the log limit: still all-ones, no crash */
	vmm_bus_free(b);
}

static void test_uart(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	struct vmm_uart *u = vmm_uart_new(NULL, 4, p[1]);
	const struct vmm_dev_ops *ops = vmm_uart_ops();
	/* LSR: THR empty, transmitter empty, no data. */
	assert_int_equal(ops->read(u, 5, 1), 0x60);
	ops->write(u, 0, 1, 'H');
	ops->write(u, 0, 1, 'i');
	char out[3] = {0};
	assert_int_equal(read(p[0], out, 2), 2);
	assert_string_equal(out, "Hi");
	/* Scratch register. */
	ops->write(u, 7, 1, 0xA5);
	assert_int_equal(ops->read(u, 7, 1), 0xA5);
	/* Divisor latch behind DLAB. */
	ops->write(u, 3, 1, 0x83);
	ops->write(u, 0, 1, 0x01);
	ops->write(u, 1, 1, 0x00);
	assert_int_equal(ops->read(u, 0, 1), 0x01);
	ops->write(u, 3, 1, 0x03);
	/* FIFO enabled shows in IIR; THRE interrupt pending once enabled, cleared by reading IIR. */
	ops->write(u, 2, 1, 0x07);
	assert_int_equal(ops->read(u, 2, 1), 0xC1);
	ops->write(u, 1, 1, 0x02);
	assert_int_equal(ops->read(u, 2, 1), 0xC2);
	assert_int_equal(ops->read(u, 2, 1), 0xC1);
	/* Loopback: what is sent comes back; MSR mirrors MCR (8250 autoconfig test). */
	ops->write(u, 4, 1, 0x1A); /* LOOP | OUT2 | RTS */
	assert_int_equal(ops->read(u, 6, 1) & 0xF0, 0x90);
	ops->write(u, 0, 1, 'x');
	assert_int_equal(ops->read(u, 5, 1) & 1, 1);
	assert_int_equal(ops->read(u, 0, 1), 'x');
	assert_int_equal(ops->read(u, 5, 1) & 1, 0);
	ops->write(u, 4, 1, 0x08);
	/* Host input: 16-byte FIFO, then overrun. */
	uint8_t in[20];
	memset(in, 'a', sizeof(in));
	vmm_uart_receive(u, in, sizeof(in));
	assert_int_equal(ops->read(u, 5, 1) & 0x03, 0x03); /* data ready + overrun */
	int n = 0;
	while (ops->read(u, 5, 1) & 1) {
		assert_int_equal(ops->read(u, 0, 1), 'a');
		n++;
	}
	assert_int_equal(n, 16);
	/* A reboot: power-on registers (8N1 at 9600, no FIFO, no interrupts, scratch 0, RX
	 * empty), and the output still goes where it went. */
	ops->write(u, 3, 1, 0x1B);
	ops->write(u, 1, 1, 0x0F);
	vmm_uart_receive(u, in, 3);
	vmm_uart_reset(u);
	assert_int_equal(ops->read(u, 3, 1), 0x03);
	assert_int_equal(ops->read(u, 1, 1), 0x00);
	assert_int_equal(ops->read(u, 2, 1), 0x01);
	assert_int_equal(ops->read(u, 4, 1), 0x00);
	assert_int_equal(ops->read(u, 7, 1), 0x00);
	assert_int_equal(ops->read(u, 5, 1), 0x60);
	ops->write(u, 3, 1, 0x83);
	assert_int_equal(ops->read(u, 0, 1), 12);
	ops->write(u, 3, 1, 0x03);
	ops->write(u, 0, 1, '!');
	assert_int_equal(read(p[0], out, 1), 1);
	assert_int_equal(out[0], '!');
	vmm_uart_free(u);
	close(p[0]);
	close(p[1]);
}

static void test_platform_table(void **state)
{
	(void)state;
	const struct vmm_platform_ops *p = vmm_platform_find("none");
	assert_ptr_equal(p, &vmm_platform_none);
	assert_int_equal(p->vm_type, 0);
	assert_null(vmm_platform_find("quantum"));
	assert_null(vmm_platform_find(NULL));
	assert_non_null(strstr(vmm_platform_names(), "none"));
}

static void test_firmware_check(void **state)
{
	(void)state;
	struct vg_err err = {0};
	assert_int_equal(vmm_firmware_check(16384, &err), 0);
	assert_int_equal(vmm_firmware_check(0, &err), -EINVAL);
	assert_int_equal(vmm_firmware_check(4097, &err), -EINVAL);
	assert_int_equal(vmm_firmware_check(VMM_FIRMWARE_MAX + 4096, &err), -EFBIG);
	assert_int_equal(vmm_firmware_base(16384), 0xFFFFC000ull);
	assert_int_equal(vmm_firmware_base(4u << 20) + (4u << 20), VMM_4GIB);
}

int main(void)
{
	vg_log_init("test_vmm", VG_LOG_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bus_register_overlap), cmocka_unit_test(test_bus_dispatch),
		cmocka_unit_test(test_bus_unclaimed),        cmocka_unit_test(test_uart),
		cmocka_unit_test(test_platform_table),       cmocka_unit_test(test_firmware_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
