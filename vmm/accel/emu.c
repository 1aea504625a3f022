/* The emu accelerator: a software x86 CPU on Unicorn 2 (QEMU's TCG as a
 * library), for our freestanding guests and the simulated platforms where
 * /dev/kvm is missing. docs/vmm.md says what it cannot do and why.
 *
 * Facts this file rests on (Unicorn 2.0.1, checked on Debian 12):
 *  - One engine per vCPU thread, created on that thread before its seccomp
 *    filter (each reserves a 1 GiB RWX code buffer when it first maps memory).
 *  - The 16-bit engine has no long mode (EFER.LME writes are dropped): the
 *    engine is 64-bit and brought to the reset state by a stub, since no API
 *    sets a segment base: the stub far-jumps to a 16-bit code descriptor with
 *    base 0xFFFF0000 at IP 0xFFF0, and a code hook on the reset vector turns
 *    protection off and puts GDTR, selectors and the stub's page back.
 *  - Port I/O: UC_HOOK_INSN on IN/OUT. MMIO: uc_mmio_map over everything
 *    below the firmware that is not RAM; unclaimed addresses above 4 GiB get
 *    a bus page mapped from the unmapped hook.
 *    8-byte MMIO arrives as 4+4.
 *  - hlt returns UC_ERR_OK with no stop requested: the vCPU parks, as under
 *    KVM's in-kernel LAPIC. #UD or any exception ends the run (no IDT
 *    delivery): the guest crashed, exit 1.
 *  - A run is never resumed after uc_emu_stop (2.0.1 re-executes
 *    instructions): every stop is final, or a reboot: the engine's CPU state
 *    as uc_open left it is saved (uc_context_save) and restored, the
 *    translations flushed, and the run starts again at the stub.
 *  - Only the boot vCPU runs: without a LAPIC there is no SIPI, so the other
 *    vCPUs wait for one forever, parked (as a guest that never starts them
 *    sees on hardware). No interrupts are delivered. */
#include "vmm/accel/emu.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define STUB_GPA 0x7000ull     /* one RAM page, zero again before the guest runs */
#define MAX_HOLE_PAGES 1024    /* unclaimed pages above 4 GiB mapped on the fly */

struct hole {
	struct emu_vcpu *ev;
	uint64_t base;
};

struct emu_vcpu {
	struct vmm_vcpu *v;
	uc_engine *uc;
	uc_context *ctx; /* the CPU state before the first run (a reboot restores it) */
	uint8_t *rom; /* the engine's copy of the firmware; writes are undone */
	uint64_t rom_gpa;
	size_t rom_len;
	const uint8_t *rom_pristine;
	bool rom_dirty;
	bool reset_done;
	bool ran; /* a run happened: never resume */
	atomic_bool in_run;
	uint64_t bus_start; /* [bus_start, firmware): the MMIO bus */
	unsigned n_holes;
	struct hole holes[MAX_HOLE_PAGES];
};

static void stop_if_stopping(struct emu_vcpu *ev)
{
	if (vmm_stopping(ev->v->vm) || vmm_reset_pending(ev->v->vm))
		vmm_uc.emu_stop(ev->uc);
}

static void rom_restore(struct emu_vcpu *ev)
{
	if (ev->rom_dirty) {
		memcpy(ev->rom, ev->rom_pristine, ev->rom_len);
		ev->rom_dirty = false;
	}
}

static uint64_t bus_access(struct emu_vcpu *ev, enum vmm_exit_kind kind, uint64_t addr, unsigned size, bool write,
			   uint64_t value)
{
	rom_restore(ev);
	struct vmm_exit e = {.kind = kind, .addr = addr, .size = size, .write = write, .value = value};
	vmm_vcpu_exit(ev->v, &e);
	stop_if_stopping(ev);
	return e.value;
}

static uint32_t pio_in(uc_engine *uc, uint32_t port, int size, void *user)
{
	(void)uc;
	return (uint32_t)bus_access(user, VMM_EXIT_PIO, port, (unsigned)size, false, 0);
}

static void pio_out(uc_engine *uc, uint32_t port, int size, uint32_t value, void *user)
{
	(void)uc;
	bus_access(user, VMM_EXIT_PIO, port, (unsigned)size, true, value);
}

/* Non-RAM below the firmware: offsets from ev->bus_start. */
static uint64_t hole_read(uc_engine *uc, uint64_t off, unsigned size, void *user)
{
	struct emu_vcpu *ev = user;
	(void)uc;
	return bus_access(ev, VMM_EXIT_MMIO, ev->bus_start + off, size, false, 0);
}

static void hole_write(uc_engine *uc, uint64_t off, unsigned size, uint64_t value, void *user)
{
	struct emu_vcpu *ev = user;
	(void)uc;
	bus_access(ev, VMM_EXIT_MMIO, ev->bus_start + off, size, true, value);
}

/* A page mapped on the fly for an unclaimed address. */
static uint64_t page_read(uc_engine *uc, uint64_t off, unsigned size, void *user)
{
	struct hole *h = user;
	(void)uc;
	return bus_access(h->ev, VMM_EXIT_MMIO, h->base + off, size, false, 0);
}

static void page_write(uc_engine *uc, uint64_t off, unsigned size, uint64_t value, void *user)
{
	struct hole *h = user;
	(void)uc;
	bus_access(h->ev, VMM_EXIT_MMIO, h->base + off, size, true, value);
}

static bool unmapped(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value, void *user)
{
	struct emu_vcpu *ev = user;
	(void)size, (void)value;
	if (type == UC_MEM_FETCH_UNMAPPED || ev->n_holes >= MAX_HOLE_PAGES)
		return false; /* the run ends: a crash with the address */
	struct hole *h = &ev->holes[ev->n_holes];
	*h = (struct hole){.ev = ev, .base = addr & ~0xFFFull};
	if (vmm_uc.mmio_map(uc, h->base, 0x1000, page_read, h, page_write, h) != UC_ERR_OK)
		return false;
	ev->n_holes++;
	return true;
}

/* Writes to the firmware: as under KVM (a read-only slot), the bus's ROM
 * device sees them (logged once) and they do not stick; the engine's copy is
 * put back before the next read. */
static void rom_write(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value, void *user)
{
	struct emu_vcpu *ev = user;
	(void)uc, (void)type;
	bus_access(ev, VMM_EXIT_MMIO, addr, (unsigned)size, true, (uint64_t)value);
	ev->rom_dirty = true;
}

static void rom_read(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value, void *user)
{
	(void)uc, (void)type, (void)addr, (void)size, (void)value;
	rom_restore(user);
}

/* The reset vector is reached in 16-bit protected mode with CS base
 * 0xFFFF0000: now the architectural reset state proper. */
static void at_reset_vector(uc_engine *uc, uint64_t addr, uint32_t size, void *user)
{
	struct emu_vcpu *ev = user;
	(void)addr, (void)size;
	if (ev->reset_done)
		return;
	ev->reset_done = true;
	uc_x86_msr efer = {.rid = 0xC0000080, .value = 0};
	uint64_t cr0 = 0x60000010, rdx = 0x600, zero = 0;
	uint16_t cs = 0xF000, sel = 0;
	uc_x86_mmr gdtr = {.base = 0, .limit = 0xFFFF};
	vmm_uc.reg_write(uc, UC_X86_REG_MSR, &efer);
	vmm_uc.reg_write(uc, UC_X86_REG_CR0, &cr0);
	vmm_uc.reg_write(uc, UC_X86_REG_GDTR, &gdtr);
	vmm_uc.reg_write(uc, UC_X86_REG_CS, &cs);
	const int segs[] = {UC_X86_REG_DS, UC_X86_REG_ES, UC_X86_REG_SS, UC_X86_REG_FS, UC_X86_REG_GS};
	for (size_t i = 0; i < VG_ARRAY_SIZE(segs); i++)
		vmm_uc.reg_write(uc, segs[i], &sel);
	vmm_uc.reg_write(uc, UC_X86_REG_RDX, &rdx);
	vmm_uc.reg_write(uc, UC_X86_REG_RAX, &zero);
	void *stub = vmm_gpa_ptr(ev->v->vm, STUB_GPA, 4096);
	if (stub)
		memset(stub, 0, 4096);
}

/* 64-bit code at STUB_GPA: load a GDT whose 0x08 is 16-bit code at base
 * 0xFFFF0000 and 0x10 16-bit data at base 0, load the data selectors, then
 * far-jump to 0x08:0xFFF0 (the reset vector 0xFFFFFFF0). */
static void build_stub(uint8_t *p)
{
	static const uint8_t code[] = {
		0x0F, 0x01, 0x15, 0x19, 0x00, 0x00, 0x00, /* lgdt [rip+0x19] -> 0x20 */
		0x66, 0xB8, 0x10, 0x00,                   /* mov ax, 0x10 */
		0x8E, 0xD8, 0x8E, 0xC0, 0x8E, 0xD0,       /* mov ds, es, ss */
		0x8E, 0xE0, 0x8E, 0xE8,                   /* mov fs, gs */
		0xFF, 0x2D, 0x15, 0x00, 0x00, 0x00,       /* ljmp [rip+0x15] -> 0x30 (m16:32) */
		0xF4,                                     /* hlt (not reached) */
	};
	memset(p, 0, 4096);
	memcpy(p, code, sizeof(code));
	/* 0x20: GDTR (limit, base); 0x30: far pointer; 0x40: the GDT. */
	vg_put_le16(p + 0x20, 3 * 8 - 1);
	vg_put_le64(p + 0x22, STUB_GPA + 0x40);
	vg_put_le32(p + 0x30, 0xFFF0);
	vg_put_le16(p + 0x34, 0x08);
	vg_put_le64(p + 0x48, 0xFF009BFF0000FFFFull); /* 16-bit code, base 0xFFFF0000, limit 0xFFFF */
	vg_put_le64(p + 0x50, 0x000093000000FFFFull); /* 16-bit data, base 0, limit 0xFFFF */
}

static int uc_fail(struct vg_err *err, uc_err e, const char *what)
{
	return vg_err_set(err, EIO, "emu: %s: %s", what, vmm_uc.strerror(e));
}

/* On the vCPU thread: the engine, its memory, hooks and the reset state. */
static int emu_thread_init(struct vmm_vcpu *v, struct vg_err *err)
{
	struct emu_vcpu *ev = v->accel;
	struct vmm *vm = v->vm;
	if (v->index != 0)
		return 0; /* waits for a SIPI that never comes */
	uc_err e = vmm_uc.open(UC_ARCH_X86, UC_MODE_64, &ev->uc);
	if (e != UC_ERR_OK)
		return uc_fail(err, e, "uc_open");
	uc_engine *uc = ev->uc;
	uint64_t hole_end = VMM_4GIB;
	for (unsigned i = 0; i < vm->n_regions; i++) {
		struct vmm_region *r = &vm->regions[i];
		void *host = r->host;
		if (r->rom) { /* the engine's writable copy; r->host stays pristine */
			ev->rom = mmap(NULL, r->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (ev->rom == MAP_FAILED) {
				ev->rom = NULL;
				return vg_err_set(err, errno, "emu: firmware copy: %s", strerror(errno));
			}
			memcpy(ev->rom, r->host, r->size);
			ev->rom_gpa = r->gpa;
			ev->rom_len = r->size;
			ev->rom_pristine = r->host;
			host = ev->rom;
		}
		/* The hole ends where the firmware starts (ROM, or RAM for platforms that
		 * launch it into RAM: VMM_PLAT_NO_ROM). */
		if (r->gpa < hole_end && r->gpa >= VMM_MMIO_HOLE_START)
			hole_end = r->gpa;
		if ((e = vmm_uc.mem_map_ptr(uc, r->gpa, r->size, UC_PROT_ALL, host)) != UC_ERR_OK)
			return uc_fail(err, e, "mapping guest memory");
	}
	uc_hook h;
	/* Below 4 GiB everything that is not RAM or firmware goes to the bus:
	 * the gap under the hole when RAM is small, and the hole itself. */
	uint64_t low_end = vm->regions[0].gpa + vm->regions[0].size;
	uint64_t bus_start = low_end < VMM_MMIO_HOLE_START ? low_end : VMM_MMIO_HOLE_START;
	if ((e = vmm_uc.mmio_map(uc, bus_start, hole_end - bus_start, hole_read, ev, hole_write, ev)) != UC_ERR_OK)
		return uc_fail(err, e, "mapping the MMIO hole");
	ev->bus_start = bus_start;
	if ((e = vmm_uc.hook_add(uc, &h, UC_HOOK_INSN, (void *)pio_in, ev, 1, 0, UC_X86_INS_IN)) != UC_ERR_OK ||
	    (e = vmm_uc.hook_add(uc, &h, UC_HOOK_INSN, (void *)pio_out, ev, 1, 0, UC_X86_INS_OUT)) != UC_ERR_OK ||
	    (e = vmm_uc.hook_add(uc, &h, UC_HOOK_MEM_UNMAPPED, (void *)unmapped, ev, 1, 0)) != UC_ERR_OK)
		return uc_fail(err, e, "hooks");
	if (ev->rom &&
	    ((e = vmm_uc.hook_add(uc, &h, UC_HOOK_MEM_WRITE, (void *)rom_write, ev, ev->rom_gpa,
				  ev->rom_gpa + ev->rom_len - 1)) != UC_ERR_OK ||
	     (e = vmm_uc.hook_add(uc, &h, UC_HOOK_MEM_READ, (void *)rom_read, ev, ev->rom_gpa,
				  ev->rom_gpa + ev->rom_len - 1)) != UC_ERR_OK))
		return uc_fail(err, e, "firmware hooks");
	if ((e = vmm_uc.hook_add(uc, &h, UC_HOOK_CODE, (void *)at_reset_vector, ev, VMM_RESET_VECTOR,
				 VMM_RESET_VECTOR)) != UC_ERR_OK)
		return uc_fail(err, e, "reset hook");
	/* Runs end only on a stop, hlt or an error, never at an address. */
	if ((e = vmm_uc.ctl(uc, UC_CTL_WRITE(UC_CTL_UC_USE_EXITS, 1), 1)) != UC_ERR_OK)
		return uc_fail(err, e, "exits");
	uint8_t *stub = vmm_gpa_ptr(vm, STUB_GPA, 4096);
	if (!stub)
		return vg_err_set(err, EFAULT, "emu: no RAM for the reset stub at 0x%llx", STUB_GPA);
	build_stub(stub);
	if (vm->reboots && ((e = vmm_uc.context_alloc(uc, &ev->ctx)) != UC_ERR_OK ||
			    (e = vmm_uc.context_save(uc, ev->ctx)) != UC_ERR_OK))
		return uc_fail(err, e, "saving the reset state");
	return 0;
}

/* A reboot, on the vCPU thread: the CPU as before the first run, no stale
 * translation, the stub again; the next run starts from it. */
static int emu_vcpu_reset(struct vmm_vcpu *v, struct vg_err *err)
{
	struct emu_vcpu *ev = v->accel;
	if (v->index != 0 || !ev || !ev->uc)
		return 0; /* an AP: it never ran */
	uc_err e = ev->ctx ? vmm_uc.context_restore(ev->uc, ev->ctx) : UC_ERR_ARG;
	if (e != UC_ERR_OK)
		return uc_fail(err, e, "restoring the reset state");
	if ((e = vmm_uc.ctl(ev->uc, UC_CTL_WRITE(UC_CTL_TB_FLUSH, 0))) != UC_ERR_OK)
		return uc_fail(err, e, "flushing translations");
	uint8_t *stub = vmm_gpa_ptr(v->vm, STUB_GPA, 4096);
	if (!stub)
		return vg_err_set(err, EFAULT, "emu: no RAM for the reset stub at 0x%llx", STUB_GPA);
	rom_restore(ev);
	build_stub(stub);
	ev->reset_done = false;
	ev->ran = false;
	return 0;
}

static const char *crash_reason(uc_err e)
{
	switch (e) {
	case UC_ERR_INSN_INVALID:
		return "guest crashed: invalid instruction or #UD (emu delivers no exceptions)";
	case UC_ERR_EXCEPTION:
		return "guest crashed: CPU exception (emu delivers no exceptions)";
	case UC_ERR_READ_UNMAPPED:
	case UC_ERR_WRITE_UNMAPPED:
		return "guest crashed: too many unclaimed memory pages touched";
	case UC_ERR_FETCH_UNMAPPED:
		return "guest crashed: instruction fetch from unmapped memory";
	default:
		return NULL;
	}
}

static void emu_run(struct vmm_vcpu *v, struct vmm_exit *e)
{
	struct emu_vcpu *ev = v->accel;
	memset(e, 0, sizeof(*e));
	if (v->index != 0 || ev->ran) {
		e->kind = VMM_EXIT_HALT; /* never resumed */
		return;
	}
	ev->ran = true;
	atomic_store(&ev->in_run, true);
	uc_err rc = vmm_stopping(v->vm) ? UC_ERR_OK : vmm_uc.emu_start(ev->uc, STUB_GPA, 0, 0, 0);
	atomic_store(&ev->in_run, false);
	if (vmm_stopping(v->vm) || vmm_reset_pending(v->vm))
		return; /* NONE: the core sees the stop or the reset */
	if (rc == UC_ERR_OK) {
		e->kind = VMM_EXIT_HALT;
		return;
	}
	const char *why = crash_reason(rc);
	e->kind = VMM_EXIT_CRASH;
	if (why)
		snprintf(e->reason, sizeof(e->reason), "%s", why);
	else
		snprintf(e->reason, sizeof(e->reason), "guest crashed: %s", vmm_uc.strerror(rc));
	e->has_rip = vmm_uc.reg_read(ev->uc, UC_X86_REG_RIP, &e->rip) == UC_ERR_OK;
}

/* uc_emu_stop is asynchronous and lost when it lands before uc_emu_start has
 * begun: repeat it until the run is over. */
static void emu_kick(struct vmm_vcpu *v)
{
	struct emu_vcpu *ev = v->accel;
	if (!ev || !ev->uc)
		return;
	for (int i = 0; i < 5000 && atomic_load(&ev->in_run); i++) {
		vmm_uc.emu_stop(ev->uc);
		poll(NULL, 0, 1);
	}
}

static int emu_check(const struct vmm_platform_ops *plat, const struct vmm_config *c, struct vg_err *err)
{
	int rc = vmm_emu_load(err);
	if (rc)
		return rc;
	if (plat && plat->probe && (rc = plat->probe(c, -1, err)))
		return vg_err_prefix(err, "platform %s", plat->name);
	if (plat && (plat->flags & (VMM_PLAT_GUEST_MEMFD | VMM_PLAT_PROTECTED_REGS)))
		return vg_err_set(err, ENOTSUP, "platform %s needs the kvm accelerator", plat->name);
	return 0;
}

static int emu_vm_create(struct vmm *vm, struct vg_err *err) { return emu_check(vm->plat, vm->cfg, err); }

static int emu_nothing(struct vmm *vm, struct vg_err *err)
{
	(void)vm, (void)err;
	return 0;
}

static int emu_mem_map(struct vmm *vm, struct vmm_region *r, struct vg_err *err)
{
	(void)vm, (void)r, (void)err; /* mapped into each engine by emu_thread_init */
	return 0;
}

static int emu_vcpu_create(struct vmm_vcpu *v, struct vg_err *err)
{
	struct emu_vcpu *ev = calloc(1, sizeof(*ev));
	if (!ev)
		return vg_err_set(err, ENOMEM, "emu: out of memory");
	ev->v = v;
	v->accel = ev;
	/* Checked here, after the kernel was parsed and measured: a broken kernel
	 * gets its own message, and --print-measurements works. */
	if (v->index == 0 && v->vm->boot.mode != VMM_BOOT_RESET && !v->vm->cfg->print_measurements)
		return vg_err_set(err, ENOTSUP,
				  "a Linux kernel cannot run under the emu accelerator: Unicorn 2 cannot inject "
				  "interrupts or deliver exceptions, which Linux needs (use --accel kvm)");
	return 0;
}

static void emu_vcpu_destroy(struct vmm_vcpu *v)
{
	struct emu_vcpu *ev = v->accel;
	if (!ev)
		return;
	if (ev->ctx)
		vmm_uc.context_free(ev->ctx);
	if (ev->uc)
		vmm_uc.close(ev->uc);
	if (ev->rom)
		munmap(ev->rom, ev->rom_len);
	free(ev);
	v->accel = NULL;
}

static int emu_irq_line(struct vmm *vm, unsigned irq, bool level)
{
	(void)vm, (void)irq, (void)level;
	return -ENOTSUP; /* no interrupt controller: devices are polled */
}

/* Unicorn on the vCPU thread after its filter: TCG grows and flushes its
 * translation buffers (mmap, munmap, mprotect, madvise are in the common
 * list) and maps the unclaimed pages (brk/mmap). Nothing else was needed in
 * runs of every guest; docs/sandbox.md. */
static const char *const emu_vcpu_syscalls[] = {NULL};

const struct vmm_accel_ops vmm_accel_emu = {
	.name = "emu",
	.check = emu_check,
	.vm_create = emu_vm_create,
	.mem_map = emu_mem_map,
	.vm_ready = emu_nothing,
	.vcpu_create = emu_vcpu_create,
	.vcpu_thread_init = emu_thread_init,
	.vcpu_run = emu_run,
	.vcpu_kick = emu_kick,
	.vcpu_reset = emu_vcpu_reset,
	.vcpu_destroy = emu_vcpu_destroy,
	.irq_line = emu_irq_line,
	.vcpu_syscalls = emu_vcpu_syscalls,
};
