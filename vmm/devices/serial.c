/* The serial device: the COM1 16550A (uart.c) with its host side: output to
 * the serial setting (stdout, none or a file), input from stdin when it is a
 * terminal and the output goes to stdout (the main loop polls it). */
#include "vmm/devices/devices.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct serial {
	struct vmm_uart *uart;
	int out_fd;
	bool out_owned;
	bool input; /* stdin forwarded to the receive FIFO */
};

static void serial_teardown(struct vmm *vm, void *state)
{
	struct serial *s = state;
	(void)vm;
	vmm_uart_free(s->uart);
	if (s->out_owned)
		close(s->out_fd);
	free(s);
}

static int serial_setup(struct vmm *vm, void **state, struct vg_err *err)
{
	const struct vmm_config *c = vmm_get_config(vm);
	struct serial *s = calloc(1, sizeof(*s));
	if (!s)
		return vg_err_set(err, ENOMEM, "out of memory");
	*state = s;
	const char *where = c->serial ? c->serial : "stdout";
	s->out_fd = -1;
	if (strcmp(where, "stdout") == 0) {
		s->out_fd = STDOUT_FILENO;
		s->input = isatty(STDIN_FILENO);
	} else if (strcmp(where, "none") != 0) {
		s->out_fd = open(where, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0600);
		if (s->out_fd < 0)
			return vg_err_set(err, errno, "serial %s: %s", where, strerror(errno));
		s->out_owned = true;
	}
	s->uart = vmm_uart_new(vm, VMM_COM1_IRQ, s->out_fd);
	if (!s->uart)
		return vg_err_set(err, ENOMEM, "uart: out of memory");
	return vmm_register_device(vm, VMM_SPACE_PIO, VMM_COM1_BASE, 8, vmm_uart_ops(), s->uart, err);
}

static int serial_poll_fd(void *state) { return ((struct serial *)state)->input ? STDIN_FILENO : -1; }

static void serial_service(struct vmm *vm, void *state)
{
	struct serial *s = state;
	uint8_t buf[64];
	(void)vm;
	ssize_t r = read(STDIN_FILENO, buf, sizeof(buf));
	if (r > 0)
		vmm_uart_receive(s->uart, buf, (size_t)r);
	else
		s->input = false;
}

static int serial_reset(struct vmm *vm, void *state, struct vg_err *err)
{
	(void)vm, (void)err;
	vmm_uart_reset(((struct serial *)state)->uart);
	return 0;
}

const struct vmm_device_ops vmm_serial_device = {
	.name = "serial",
	.setup = serial_setup,
	.poll_fd = serial_poll_fd,
	.service = serial_service,
	.reset = serial_reset,
	.teardown = serial_teardown,
};
