/* Private to vmm/accel/emu*.c: Unicorn's entry points, resolved with dlopen
 * (headers only at build time; libunicorn is never linked, so a KVM run does
 * not pay its load time nor map its code buffer). */
#ifndef VIGIL_VMM_ACCEL_EMU_H
#define VIGIL_VMM_ACCEL_EMU_H

#include <unicorn/unicorn.h>

#include "vmm/accel/accel.h"

#define VMM_EMU_LIBRARY "libunicorn.so.2"

struct vmm_uc {
	uc_err (*open)(uc_arch, uc_mode, uc_engine **);
	uc_err (*close)(uc_engine *);
	uc_err (*ctl)(uc_engine *, uc_control_type, ...);
	uc_err (*reg_write)(uc_engine *, int, const void *);
	uc_err (*reg_read)(uc_engine *, int, void *);
	uc_err (*mem_write)(uc_engine *, uint64_t, const void *, size_t);
	uc_err (*mem_map_ptr)(uc_engine *, uint64_t, size_t, uint32_t, void *);
	uc_err (*mmio_map)(uc_engine *, uint64_t, size_t, uc_cb_mmio_read_t, void *, uc_cb_mmio_write_t, void *);
	uc_err (*mem_unmap)(uc_engine *, uint64_t, size_t);
	uc_err (*hook_add)(uc_engine *, uc_hook *, int, void *, void *, uint64_t, uint64_t, ...);
	uc_err (*emu_start)(uc_engine *, uint64_t, uint64_t, uint64_t, size_t);
	uc_err (*emu_stop)(uc_engine *);
	uc_err (*context_alloc)(uc_engine *, uc_context **);
	uc_err (*context_save)(uc_engine *, uc_context *);
	uc_err (*context_restore)(uc_engine *, uc_context *);
	uc_err (*context_free)(uc_context *);
	const char *(*strerror)(uc_err);
	unsigned (*version)(unsigned *, unsigned *);
};

/* Filled by vmm_emu_load (accel.h). */
extern struct vmm_uc vmm_uc;

#endif
