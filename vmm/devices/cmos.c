/*
 * MC146818 RTC/CMOS at ports 0x70 (index; bit 7 is the NMI mask) and 0x71 (data):
 * the real-time clock from the host clock, and the memory-size registers firmware
 * reads (as QEMU's hw/i386 fills them): 0x15/0x16 base memory in KiB (640),
 * 0x17/0x18 and 0x30/0x31 memory between 1 MiB and 64 MiB in KiB, 0x34/0x35 memory
 * between 16 MiB and 4 GiB in 64 KiB units (OVMF's CMOS fallback for the RAM size),
 * 0x5B..0x5D memory above 4 GiB in 64 KiB units, 0x5F the number of CPUs minus one.
 * The clock reads BCD or binary, 24- or 12-hour, as register B says; guest writes
 * to the clock registers set an offset from the host clock.
 */
#include "vmm/devices/devices.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REG_A 0x0A
#define REG_B 0x0B
#define REG_C 0x0C
#define REG_D 0x0D
#define REG_CENTURY 0x32
#define B_24H 0x02
#define B_BINARY 0x04
#define B_SET 0x80
#define B_INTERRUPTS 0x78 /* PIE, AIE, UIE, SQWE */

struct vmm_cmos {
	pthread_mutex_t lock;
	uint8_t index;
	uint8_t ram[128];
	int64_t offset; /* guest clock minus host clock, seconds */
	time_t (*now)(void);
};

static time_t host_now(void) { return time(NULL); }

static uint8_t to_bcd(unsigned v) { return (uint8_t)(((v / 10) << 4) | (v % 10)); }
static unsigned from_bcd(uint8_t v) { return (v >> 4) * 10 + (v & 0xf); }

void vmm_cmos_set_memory(struct vmm_cmos *c, uint64_t ram_size, unsigned vcpus)
{
	uint64_t low = ram_size < VMM_MMIO_HOLE_START ? ram_size : VMM_MMIO_HOLE_START;
	uint64_t high = ram_size - low;
	c->ram[0x15] = 0x80; /* 640 KiB */
	c->ram[0x16] = 0x02;
	uint64_t ext = low > (1u << 20) ? (low - (1u << 20)) / 1024 : 0;
	if (ext > 0xffff)
		ext = 0xffff;
	c->ram[0x17] = c->ram[0x30] = (uint8_t)ext;
	c->ram[0x18] = c->ram[0x31] = (uint8_t)(ext >> 8);
	uint64_t above16 = low > (16u << 20) ? (low - (16u << 20)) >> 16 : 0;
	if (above16 > 0xffff)
		above16 = 0xffff;
	c->ram[0x34] = (uint8_t)above16;
	c->ram[0x35] = (uint8_t)(above16 >> 8);
	uint64_t hi = high >> 16;
	if (hi > 0xffffff)
		hi = 0xffffff;
	c->ram[0x5b] = (uint8_t)hi;
	c->ram[0x5c] = (uint8_t)(hi >> 8);
	c->ram[0x5d] = (uint8_t)(hi >> 16);
	c->ram[0x5f] = (uint8_t)(vcpus ? vcpus - 1 : 0);
}

struct vmm_cmos *vmm_cmos_new(uint64_t ram_size, unsigned vcpus, time_t (*now)(void))
{
	struct vmm_cmos *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	pthread_mutex_init(&c->lock, NULL);
	c->now = now ? now : host_now;
	c->ram[REG_A] = 0x26; /* 32.768 kHz time base, 1024 Hz rate */
	c->ram[REG_B] = B_24H;
	c->ram[REG_D] = 0x80; /* valid RAM and time */
	vmm_cmos_set_memory(c, ram_size, vcpus);
	return c;
}

void vmm_cmos_free(struct vmm_cmos *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static uint8_t clock_byte(struct vmm_cmos *c, uint8_t reg, const struct tm *t)
{
	bool bin = c->ram[REG_B] & B_BINARY;
	unsigned v;
	switch (reg) {
	case 0x00: v = (unsigned)t->tm_sec; break;
	case 0x02: v = (unsigned)t->tm_min; break;
	case 0x04:
		if (!(c->ram[REG_B] & B_24H)) {
			unsigned h = (unsigned)t->tm_hour % 12;
			uint8_t pm = t->tm_hour >= 12 ? 0x80 : 0;
			h = h ? h : 12;
			return (uint8_t)((bin ? h : to_bcd(h)) | pm);
		}
		v = (unsigned)t->tm_hour;
		break;
	case 0x06: v = (unsigned)t->tm_wday + 1; break;
	case 0x07: v = (unsigned)t->tm_mday; break;
	case 0x08: v = (unsigned)t->tm_mon + 1; break;
	case 0x09: v = (unsigned)(t->tm_year % 100); break;
	case REG_CENTURY: v = (unsigned)((t->tm_year + 1900) / 100); break;
	default: return c->ram[reg];
	}
	return bin ? (uint8_t)v : to_bcd(v);
}

static bool is_clock(uint8_t reg)
{
	return reg == 0 || reg == 2 || reg == 4 || reg == 6 || reg == 7 || reg == 8 || reg == 9 || reg == REG_CENTURY;
}

uint8_t vmm_cmos_read(struct vmm_cmos *c, uint8_t reg)
{
	reg &= 0x7f;
	if (!is_clock(reg))
		return c->ram[reg];
	time_t now = c->now() + (time_t)c->offset;
	struct tm t;
	gmtime_r(&now, &t);
	return clock_byte(c, reg, &t);
}

/* A write to a clock register: the guest's new time becomes an offset. */
static void set_clock(struct vmm_cmos *c, uint8_t reg, uint8_t val)
{
	bool bin = c->ram[REG_B] & B_BINARY;
	time_t now = c->now() + (time_t)c->offset;
	struct tm t;
	gmtime_r(&now, &t);
	unsigned v = bin ? val : from_bcd(val & (reg == 0x04 ? 0x7f : 0xff));
	switch (reg) {
	case 0x00: t.tm_sec = (int)v; break;
	case 0x02: t.tm_min = (int)v; break;
	case 0x04:
		if (!(c->ram[REG_B] & B_24H))
			v = (v % 12) + ((val & 0x80) ? 12 : 0);
		t.tm_hour = (int)v;
		break;
	case 0x06: return; /* day of week follows the date */
	case 0x07: t.tm_mday = (int)v; break;
	case 0x08: t.tm_mon = (int)v - 1; break;
	case 0x09: t.tm_year = (t.tm_year / 100) * 100 + (int)v; break;
	case REG_CENTURY: t.tm_year = ((int)v - 19) * 100 + t.tm_year % 100; break;
	}
	time_t guest = timegm(&t);
	if (guest != (time_t)-1)
		c->offset = (int64_t)guest - (int64_t)c->now();
}

void vmm_cmos_write(struct vmm_cmos *c, uint8_t reg, uint8_t val)
{
	reg &= 0x7f;
	if (reg == REG_C || reg == REG_D)
		return; /* read-only */
	if (is_clock(reg)) {
		set_clock(c, reg, val);
		return;
	}
	if (reg == REG_A)
		val &= 0x7f; /* UIP is read-only */
	c->ram[reg] = val;
}

static uint64_t port_read(void *opaque, uint64_t off, unsigned size)
{
	struct vmm_cmos *c = opaque;
	(void)size;
	pthread_mutex_lock(&c->lock);
	uint8_t v = off == 0 ? c->index : vmm_cmos_read(c, c->index);
	pthread_mutex_unlock(&c->lock);
	return v;
}

static void port_write(void *opaque, uint64_t off, unsigned size, uint64_t value)
{
	struct vmm_cmos *c = opaque;
	(void)size;
	pthread_mutex_lock(&c->lock);
	if (off == 0)
		c->index = (uint8_t)(value & 0x7f); /* bit 7: NMI mask, not a register bit */
	else
		vmm_cmos_write(c, c->index, (uint8_t)value);
	pthread_mutex_unlock(&c->lock);
}

const struct vmm_dev_ops vmm_cmos_ops = {.name = "cmos-rtc", .read = port_read, .write = port_write};

void vmm_cmos_reset(struct vmm_cmos *c)
{
	pthread_mutex_lock(&c->lock);
	c->index = 0;
	c->ram[REG_B] &= (uint8_t)~B_INTERRUPTS;
	c->ram[REG_C] = 0;
	pthread_mutex_unlock(&c->lock);
}

static int cmos_reset(struct vmm *vm, void *state, struct vg_err *err)
{
	(void)vm, (void)err;
	vmm_cmos_reset(state);
	return 0;
}

static int cmos_setup(struct vmm *vm, void **state, struct vg_err *err)
{
	struct vmm_cmos *c = vmm_cmos_new(vmm_ram_size(vm), vmm_get_config(vm)->vcpus, NULL);
	if (!c)
		return vg_err_set(err, ENOMEM, "cmos: out of memory");
	*state = c;
	return vmm_register_device(vm, VMM_SPACE_PIO, VMM_CMOS_PORT, 2, &vmm_cmos_ops, c, err);
}

static void cmos_teardown(struct vmm *vm, void *state)
{
	(void)vm;
	vmm_cmos_free(state);
}

const struct vmm_device_ops vmm_cmos_device = {
	.name = "cmos", .setup = cmos_setup, .reset = cmos_reset, .teardown = cmos_teardown,
};
