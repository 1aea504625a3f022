/* The guest runtime: port and MMIO access, COM1 output, exit. */
#ifndef VIGIL_GUEST_RT_H
#define VIGIL_GUEST_RT_H

#include <stddef.h>
#include <stdint.h>

#define COM1 0x3F8
#define DEBUG_EXIT_PORT 0x501

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint32_t inl(uint16_t port)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint32_t mmio_read32(uint64_t addr) { return *(volatile uint32_t *)addr; }
static inline void mmio_write32(uint64_t addr, uint32_t v) { *(volatile uint32_t *)addr = v; }
static inline uint8_t mmio_read8(uint64_t addr) { return *(volatile uint8_t *)addr; }
static inline void mmio_write8(uint64_t addr, uint8_t v) { *(volatile uint8_t *)addr = v; }

void putc_serial(char c);
void puts_serial(const char *s);
void put_hex(uint64_t v, int digits);
void put_dec(uint64_t v);
void put_bytes_hex(const uint8_t *p, size_t n);
__attribute__((noreturn)) void guest_exit(uint8_t status);

void *memcpy(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

#endif
