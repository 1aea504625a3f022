/* The guest runtime: polled COM1 output and the debug-exit port. */
#include "rt.h"

void putc_serial(char c)
{
	/* THR empty (LSR bit 5); both VMMs transmit at once, so this rarely spins. */
	for (int i = 0; i < 1000 && !(inb(COM1 + 5) & 0x20); i++)
		;
	outb(COM1, (uint8_t)c);
}

void puts_serial(const char *s)
{
	while (*s)
		putc_serial(*s++);
}

void put_hex(uint64_t v, int digits)
{
	for (int i = digits - 1; i >= 0; i--)
		putc_serial("0123456789abcdef"[(v >> (4 * i)) & 0xF]);
}

void put_dec(uint64_t v)
{
	char buf[21];
	int i = 20;
	buf[i] = 0;
	do
		buf[--i] = (char)('0' + v % 10);
	while ((v /= 10) && i > 0);
	puts_serial(&buf[i]);
}

void put_bytes_hex(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put_hex(p[i], 2);
}

void guest_exit(uint8_t status)
{
	outb(DEBUG_EXIT_PORT, status);
	for (;;)
		__asm__ volatile("cli; hlt");
}

void *memcpy(void *d, const void *s, size_t n)
{
	uint8_t *dp = d;
	const uint8_t *sp = s;
	while (n--)
		*dp++ = *sp++;
	return d;
}

void *memset(void *d, int c, size_t n)
{
	uint8_t *dp = d;
	while (n--)
		*dp++ = (uint8_t)c;
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *x = a, *y = b;
	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return x[i] - y[i];
	return 0;
}
