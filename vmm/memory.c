/* Guest memory: one anonymous mapping split around the 32-bit MMIO hole,
 * plus the firmware image as a read-only region ending at 4 GiB; each region
 * is handed to the accelerator (kvm: memory slots). */
#include "vmm/accel/accel.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int vmm_memory_setup(struct vmm *vm, struct vg_err *err)
{
	uint64_t ram = vm->cfg->memory_mib << 20;
	vm->ram_size = ram;
	/* Huge pages are reserved at mmap time (no MAP_NORESERVE): a missing
	 * huge page must fail here, not as a fault the guest would see as MMIO. */
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | (vm->cfg->hugepages ? MAP_HUGETLB : MAP_NORESERVE);
	void *p = mmap(NULL, ram, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (p == MAP_FAILED)
		return vg_err_set(err, errno, "guest memory: mmap of %llu MiB%s: %s",
				  (unsigned long long)vm->cfg->memory_mib,
				  vm->cfg->hugepages ? " with hugepages" : "", strerror(errno));
	vm->ram_map = p;
	vm->ram_map_len = ram;
	madvise(p, ram, MADV_DONTDUMP);
	uint64_t low = VG_MIN(ram, VMM_MMIO_HOLE_START);
	vm->regions[0] = (struct vmm_region){.gpa = 0, .size = low, .host = p, .slot = 0};
	vm->n_regions = 1;
	int rc = vm->accel->mem_map(vm, &vm->regions[0], err);
	if (rc == 0 && ram > low) {
		vm->regions[1] = (struct vmm_region){.gpa = VMM_4GIB, .size = ram - low, .host = (uint8_t *)p + low,
						     .slot = 1, .ram_off = low};
		vm->n_regions = 2;
		rc = vm->accel->mem_map(vm, &vm->regions[1], err);
	}
	return rc;
}

int vmm_memory_add_rom(struct vmm *vm, uint64_t gpa, const void *data, size_t len, struct vg_err *err)
{
	if (vm->n_regions >= VMM_MAX_REGIONS)
		return vg_err_set(err, ENOSPC, "guest memory: too many regions");
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return vg_err_set(err, errno, "firmware: mmap: %s", strerror(errno));
	memcpy(p, data, len);
	bool rom = !(vm->plat->flags & VMM_PLAT_NO_ROM);
	struct vmm_region *r = &vm->regions[vm->n_regions];
	*r = (struct vmm_region){.gpa = gpa, .size = len, .host = p, .rom = rom, .slot = 2};
	vm->n_regions++;
	if (rom)
		mprotect(p, len, PROT_READ);
	return vm->accel->mem_map(vm, r, err);
}

void vmm_memory_teardown(struct vmm *vm)
{
	for (unsigned i = 0; i < vm->n_regions; i++)
		if (vm->regions[i].slot == 2)
			munmap(vm->regions[i].host, vm->regions[i].size);
	if (vm->ram_map)
		munmap(vm->ram_map, vm->ram_map_len);
	vm->ram_map = NULL;
	vm->n_regions = 0;
}

static struct vmm_region *find_region(struct vmm *vm, uint64_t gpa, uint64_t len, bool any)
{
	for (unsigned i = 0; i < vm->n_regions; i++) {
		struct vmm_region *r = &vm->regions[i];
		if (!any && r->rom)
			continue;
		if (gpa >= r->gpa && gpa - r->gpa < r->size && len <= r->size - (gpa - r->gpa))
			return r;
	}
	return NULL;
}

void *vmm_gpa_ptr(struct vmm *vm, uint64_t gpa, uint64_t len)
{
	struct vmm_region *r = find_region(vm, gpa, len, false);
	return r ? r->host + (gpa - r->gpa) : NULL;
}

int vmm_mem_write(struct vmm *vm, uint64_t gpa, const void *src, size_t len, struct vg_err *err)
{
	void *p = vmm_gpa_ptr(vm, gpa, len);
	if (!p)
		return vg_err_set(err, EFAULT, "guest memory: write of %zu bytes at 0x%llx is outside RAM", len,
				  (unsigned long long)gpa);
	memcpy(p, src, len);
	return 0;
}

int vmm_mem_read(struct vmm *vm, uint64_t gpa, void *dst, size_t len, struct vg_err *err)
{
	struct vmm_region *r = find_region(vm, gpa, len, true);
	if (!r)
		return vg_err_set(err, EFAULT, "guest memory: read of %zu bytes at 0x%llx is outside memory", len,
				  (unsigned long long)gpa);
	memcpy(dst, r->host + (gpa - r->gpa), len);
	return 0;
}

int vmm_load_region(struct vmm *vm, uint64_t gpa, const void *data, size_t len, enum vmm_page_type type,
		    struct vg_err *err)
{
	if (len == 0)
		return 0;
	/* The platform sees whole pages. */
	uint64_t start = gpa & ~0xFFFull;
	uint64_t end = (gpa + len + 0xFFF) & ~0xFFFull;
	struct vmm_region *r = find_region(vm, start, end - start, true);
	if (!r)
		return vg_err_set(err, EFAULT, "loading 0x%llx+0x%zx: outside guest memory", (unsigned long long)gpa, len);
	uint8_t *host = r->host + (start - r->gpa);
	if (!r->rom) { /* ROM contents were copied when it was mapped (and the guest cannot change them) */
		if (vm->n_reloads >= VMM_MAX_RELOADS)
			return vg_err_set(err, ENOSPC, "loading 0x%llx: more than %d regions", (unsigned long long)gpa,
					  VMM_MAX_RELOADS);
		vm->reloads[vm->n_reloads++] = (struct vmm_reload){.gpa = gpa, .data = data, .len = len};
		memcpy(host + (gpa - start), data, len);
	}
	if (vm->plat->launch_update) {
		int rc = vm->plat->launch_update(vm, vm->plat_state, start, host, end - start, type, err);
		if (rc)
			return vg_err_prefix(err, "platform %s: launch_update 0x%llx", vm->plat->name,
					     (unsigned long long)start);
	}
	return 0;
}

int vmm_memory_reload(struct vmm *vm, struct vg_err *err)
{
	for (unsigned i = 0; i < vm->n_reloads; i++) {
		const struct vmm_reload *l = &vm->reloads[i];
		int rc = vmm_mem_write(vm, l->gpa, l->data, l->len, err);
		if (rc)
			return vg_err_prefix(err, "reload");
	}
	return 0;
}
