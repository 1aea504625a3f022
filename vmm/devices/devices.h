/* Private to vmm/: the device models. */
#ifndef VIGIL_VMM_DEVICES_H
#define VIGIL_VMM_DEVICES_H

#include "vmm/internal.h"

#define VMM_COM1_BASE 0x3F8
#define VMM_COM1_IRQ 4
#define VMM_DEBUG_EXIT_PORT 0x501
#define VMM_PM1A_EVT 0x600 /* PM1a status + enable, 4 bytes */
#define VMM_PM1A_CNT 0x604 /* PM1a control, 2 bytes */
#define VMM_RESET_PORT 0xCF9
#define VMM_I8042_CMD 0x64
#define VMM_CMOS_PORT 0x70 /* index 0x70, data 0x71 */
#define VMM_FW_CFG_PORT 0x510     /* selector 0x510, data 0x511 */
#define VMM_FW_CFG_DMA_PORT 0x514 /* DMA address, 0x514..0x51B */
#define VMM_SCI_IRQ 9
#define VMM_S5_SLP_TYP 5

/* The device list (setup.c) and its entries. */
extern const struct vmm_device_ops vmm_serial_device, vmm_power_device, vmm_crb_device, vmm_cmos_device,
	vmm_fw_cfg_device;

/* QEMU fw_cfg (fw_cfg.c): the item store and register model, usable without a VM.
 * gpa: the host view of guest RAM for DMA (NULL when a range is not RAM). file:
 * NULL for a numbered item at key, else a named file (key chosen, directory kept). */
struct vmm_fw_cfg;
struct vmm_fw_cfg *vmm_fw_cfg_new(uint8_t *(*gpa)(void *ctx, uint64_t gpa, uint64_t len), void *gpa_ctx);
void vmm_fw_cfg_free(struct vmm_fw_cfg *f);
int vmm_fw_cfg_add(struct vmm_fw_cfg *f, uint16_t key, const void *data, size_t len, const char *file);
uint64_t vmm_fw_cfg_dma_count(struct vmm_fw_cfg *f);
/* The VMM's ACPI tables as QEMU hands them to OVMF (fw_cfg_acpi.c): etc/acpi/tables,
 * etc/acpi/rsdp and the etc/table-loader script that links and checksums them. */
int vmm_fw_cfg_add_acpi(struct vmm_fw_cfg *f, const struct vmm_acpi_opts *o, struct vg_err *err);
extern const struct vmm_dev_ops vmm_fw_cfg_sel_ops, vmm_fw_cfg_dma_ops;

/* MC146818 RTC/CMOS (cmos.c): the register model, usable without a VM. now: the
 * host clock (NULL: time()). */
#include <time.h>
struct vmm_cmos;
struct vmm_cmos *vmm_cmos_new(uint64_t ram_size, unsigned vcpus, time_t (*now)(void));
void vmm_cmos_free(struct vmm_cmos *c);
void vmm_cmos_set_memory(struct vmm_cmos *c, uint64_t ram_size, unsigned vcpus);
uint8_t vmm_cmos_read(struct vmm_cmos *c, uint8_t reg);
void vmm_cmos_write(struct vmm_cmos *c, uint8_t reg, uint8_t val);
/* A reboot: the index and the interrupt enables and flags reset, as the chip's
 * RESET pin does; the clock and the NVRAM bytes (memory size, whatever the guest
 * wrote) kept, as a battery keeps them. */
void vmm_cmos_reset(struct vmm_cmos *c);
extern const struct vmm_dev_ops vmm_cmos_ops;

/* 16550A UART. out_fd < 0 drops output. The vm may be NULL (unit tests: no IRQ). */
struct vmm_uart *vmm_uart_new(struct vmm *vm, unsigned irq, int out_fd);
void vmm_uart_free(struct vmm_uart *u);
/* Power-on registers (a reboot); the output stays where it goes. */
void vmm_uart_reset(struct vmm_uart *u);
const struct vmm_dev_ops *vmm_uart_ops(void);
/* Host input: queued into the receive FIFO (overrun beyond 16 bytes). */
void vmm_uart_receive(struct vmm_uart *u, const uint8_t *data, size_t n);

/* Debug exit, power (ACPI PM1a, reset control, i8042 reset): opaque is the vm. */
extern const struct vmm_dev_ops vmm_debug_exit_ops;
extern const struct vmm_dev_ops vmm_pm1_evt_ops;
extern const struct vmm_dev_ops vmm_pm1_cnt_ops;
extern const struct vmm_dev_ops vmm_reset_ops;
extern const struct vmm_dev_ops vmm_i8042_ops;

/* The paravirtual guest-request device of the simulated platforms, at
 * 0xFED50000 (guest_request.c). platform: 1 sim-snp, 2 sim-tdx (what requests
 * mean). Offers the guest cfg->guest_challenge when set. *out is owned by the
 * caller: free it with vmm_guest_request_free after the VM is gone. */
struct vmm_greq;
int vmm_guest_request_register(struct vmm *vm, uint32_t platform, struct vmm_greq **out, struct vg_err *err);
void vmm_guest_request_free(struct vmm_greq *g);

#endif
