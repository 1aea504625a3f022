/* 16550A UART (COM1). Enough of the chip for Linux's 8250 driver (FIFO
 * probing, loopback test, THRE and RX interrupts through OUT2 on IRQ 4) and
 * for polled output. Transmission is instant: THR is always empty. */
#include "vmm/devices/devices.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { REG_DATA = 0, REG_IER, REG_IIR_FCR, REG_LCR, REG_MCR, REG_LSR, REG_MSR, REG_SCR };
#define LCR_DLAB 0x80
#define MCR_LOOP 0x10
#define MCR_OUT2 0x08
#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define IER_RDI 0x01
#define IER_THRI 0x02
#define IER_MSI 0x08
#define IIR_NONE 0x01
#define IIR_MSI 0x00
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02
#define RX_FIFO 16

struct vmm_uart {
	pthread_mutex_t lock;
	struct vmm *vm;
	unsigned irq;
	int out_fd;
	uint8_t ier, fcr, lcr, mcr, lsr_extra, msr, scr, dll, dlm;
	bool thri_pending;
	bool irq_level;
	uint8_t rx[RX_FIFO];
	unsigned rx_head, rx_len;
};

static uint8_t uart_iir(struct vmm_uart *u)
{
	uint8_t fifo = (u->fcr & FCR_ENABLE) ? 0xC0 : 0;
	if ((u->ier & IER_RDI) && u->rx_len)
		return fifo | IIR_RDI;
	if ((u->ier & IER_THRI) && u->thri_pending)
		return fifo | IIR_THRI;
	if ((u->ier & IER_MSI) && (u->msr & 0x0F))
		return fifo | IIR_MSI;
	return fifo | IIR_NONE;
}

/* Called with the lock held. */
static void uart_update_irq(struct vmm_uart *u)
{
	bool level = !(uart_iir(u) & IIR_NONE) && (u->mcr & MCR_OUT2);
	if (level != u->irq_level && u->vm) {
		u->irq_level = level;
		vmm_irq_line(u->vm, u->irq, level);
	}
}

static uint8_t uart_msr(struct vmm_uart *u)
{
	if (u->mcr & MCR_LOOP) { /* DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD */
		uint8_t m = u->mcr;
		return (uint8_t)(((m & 0x01) << 5) | ((m & 0x02) << 3) | ((m & 0x04) << 4) | ((m & 0x08) << 4) |
				 (u->msr & 0x0F));
	}
	return 0xB0 | (u->msr & 0x0F); /* DCD, DSR, CTS */
}

static void rx_push(struct vmm_uart *u, uint8_t b)
{
	if (u->rx_len == RX_FIFO) {
		u->lsr_extra |= LSR_OE;
		return;
	}
	u->rx[(u->rx_head + u->rx_len) % RX_FIFO] = b;
	u->rx_len++;
}

static uint64_t uart_read(void *opaque, uint64_t off, unsigned size)
{
	struct vmm_uart *u = opaque;
	uint8_t v = 0xFF;
	(void)size;
	pthread_mutex_lock(&u->lock);
	switch (off) {
	case REG_DATA:
		if (u->lcr & LCR_DLAB) {
			v = u->dll;
		} else if (u->rx_len) {
			v = u->rx[u->rx_head];
			u->rx_head = (u->rx_head + 1) % RX_FIFO;
			u->rx_len--;
		} else {
			v = 0;
		}
		break;
	case REG_IER: v = (u->lcr & LCR_DLAB) ? u->dlm : u->ier; break;
	case REG_IIR_FCR:
		v = uart_iir(u);
		if ((v & 0x0F) == IIR_THRI)
			u->thri_pending = false; /* reading IIR clears a THRE interrupt */
		break;
	case REG_LCR: v = u->lcr; break;
	case REG_MCR: v = u->mcr; break;
	case REG_LSR:
		v = (uint8_t)(LSR_THRE | LSR_TEMT | (u->rx_len ? LSR_DR : 0) | u->lsr_extra);
		u->lsr_extra = 0;
		break;
	case REG_MSR:
		v = uart_msr(u);
		u->msr &= 0xF0; /* reading clears the delta bits */
		break;
	case REG_SCR: v = u->scr; break;
	}
	uart_update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return v;
}

static void uart_write(void *opaque, uint64_t off, unsigned size, uint64_t value)
{
	struct vmm_uart *u = opaque;
	uint8_t v = (uint8_t)value;
	(void)size;
	pthread_mutex_lock(&u->lock);
	switch (off) {
	case REG_DATA:
		if (u->lcr & LCR_DLAB) {
			u->dll = v;
		} else {
			if (u->mcr & MCR_LOOP)
				rx_push(u, v);
			else if (u->out_fd >= 0 && vg_write_full(u->out_fd, &v, 1) < 0)
				u->out_fd = -1; /* output gone: keep the guest running */
			u->thri_pending = true;
		}
		break;
	case REG_IER:
		if (u->lcr & LCR_DLAB) {
			u->dlm = v;
		} else {
			bool thri_on = (v & IER_THRI) && !(u->ier & IER_THRI);
			u->ier = v & 0x0F;
			if (thri_on)
				u->thri_pending = true; /* THR is empty: interrupt right away */
		}
		break;
	case REG_IIR_FCR:
		u->fcr = v & 0xC9;
		if (v & FCR_CLEAR_RX)
			u->rx_len = u->rx_head = 0;
		break;
	case REG_LCR: u->lcr = v; break;
	case REG_MCR: u->mcr = v & 0x1F; break;
	case REG_SCR: u->scr = v; break;
	default: break; /* LSR and MSR are read-only */
	}
	uart_update_irq(u);
	pthread_mutex_unlock(&u->lock);
}

static const struct vmm_dev_ops uart_ops = {.name = "uart-16550a", .read = uart_read, .write = uart_write};

/* The power-on registers (called with the lock held, or before any vCPU). */
static void power_on(struct vmm_uart *u)
{
	u->ier = u->fcr = u->mcr = u->lsr_extra = u->msr = u->scr = u->dlm = 0;
	u->dll = 12;   /* 9600 baud */
	u->lcr = 0x03; /* 8N1 */
	u->thri_pending = false;
	u->rx_head = u->rx_len = 0;
}

struct vmm_uart *vmm_uart_new(struct vmm *vm, unsigned irq, int out_fd)
{
	struct vmm_uart *u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	pthread_mutex_init(&u->lock, NULL);
	u->vm = vm;
	u->irq = irq;
	u->out_fd = out_fd;
	power_on(u);
	return u;
}

void vmm_uart_reset(struct vmm_uart *u)
{
	pthread_mutex_lock(&u->lock);
	power_on(u);
	uart_update_irq(u); /* OUT2 is off: the line goes low */
	pthread_mutex_unlock(&u->lock);
}

void vmm_uart_free(struct vmm_uart *u)
{
	if (!u)
		return;
	pthread_mutex_destroy(&u->lock);
	free(u);
}

const struct vmm_dev_ops *vmm_uart_ops(void) { return &uart_ops; }

void vmm_uart_receive(struct vmm_uart *u, const uint8_t *data, size_t n)
{
	pthread_mutex_lock(&u->lock);
	for (size_t i = 0; i < n; i++)
		rx_push(u, data[i]);
	uart_update_irq(u);
	pthread_mutex_unlock(&u->lock);
}
