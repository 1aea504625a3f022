/* Helpers shared by the confidential platforms (vmm/platform.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/accel/kvm.h"
#include "vmm/internal.h"
#include "vmm/platform/platform.h"

#include <linux/kvm.h>

int vmm_plat_init_or_undo(struct vmm *vm, void **state, struct vg_err *err, vmm_plat_init_fn steps,
			  vmm_plat_destroy_fn destroy)
{
	*state = NULL;
	int rc = steps(vm, state, err);
	if (rc) {
		destroy(vm, *state);
		*state = NULL;
	}
	return rc;
}

const char *vmm_sim_state_dir(const struct vmm_config *c, char *buf, size_t cap)
{
	const char *home = getenv("HOME");
	if (c->state_dir)
		snprintf(buf, cap, "%s", c->state_dir);
	else if (geteuid() == 0)
		snprintf(buf, cap, "/var/lib/vigil");
	else
		snprintf(buf, cap, "%s/.local/state/vigil", home && *home ? home : "/tmp");
	return buf;
}

const struct kvm_cpuid_entry2 *vmm_plat_cpuid(struct vmm *vm, unsigned *n)
{
	/* The kvm accelerator's filtered set (vmm/accel/kvm_cpuid.c); emu has none. */
	const struct kvm_cpuid2 *c = vm->accel == &vmm_accel_kvm && vm->accel_state
					     ? ((const struct vmm_kvm *)vm->accel_state)->cpuid
					     : NULL;
	*n = c ? c->nent : 0;
	return c ? c->entries : NULL;
}

void vmm_plat_cpuid_signature(struct kvm_cpuid_entry2 *e, unsigned n, uint32_t sig)
{
	for (unsigned i = 0; i < n; i++)
		if (e[i].function == 0x1)
			e[i].eax = sig;
}

static uint8_t *guest_ptr(void *ctx, uint64_t gpa, uint64_t len) { return vmm_gpa_ptr(ctx, gpa, len); }

void vmm_plat_guest_mem(struct vmm *vm, struct sev_guest_mem *m)
{
	memset(m, 0, sizeof(*m));
	m->ctx = vm;
	m->gpa = guest_ptr;
	m->cpuid = vmm_plat_cpuid(vm, &m->ncpuid);
}

int vmm_plat_loaded_check(const struct vmm_plat_loaded *r, size_t n, uint64_t gpa, uint64_t len, const char *plat,
			  struct vg_err *err)
{
	for (size_t i = 0; i < n; i++)
		if (r[i].gpa < gpa || r[i].gpa + r[i].len > gpa + len)
			return vg_err_set(err, ENOTSUP,
					  "%s: 0x%llx+0x%llx was loaded but is not part of the launch plan (only the "
					  "firmware image and its sections are launched)",
					  plat, (unsigned long long)r[i].gpa, (unsigned long long)r[i].len);
	return 0;
}
