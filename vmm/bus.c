/* The PIO/MMIO bus: devices register ranges, exits are dispatched by address.
 * Ranges are kept sorted per space; lookup is a binary search. Registration
 * happens before the vCPUs run, so dispatch takes no lock. Unclaimed
 * accesses behave like an empty bus on real hardware: reads return all-ones,
 * writes are dropped, and each address is logged once. */
#include "vmm/vmm.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct bus_range {
	uint64_t base, len;
	const struct vmm_dev_ops *ops;
	void *opaque;
};

#define UNCLAIMED_MAX 64

struct vmm_bus {
	struct bus_range *r[2];
	size_t n[2];
	pthread_mutex_t lock; /* guards the unclaimed log only */
	uint64_t unclaimed[UNCLAIMED_MAX];
	unsigned n_unclaimed;
	bool unclaimed_overflow;
};

struct vmm_bus *vmm_bus_new(void)
{
	struct vmm_bus *b = calloc(1, sizeof(*b));
	if (b)
		pthread_mutex_init(&b->lock, NULL);
	return b;
}

void vmm_bus_free(struct vmm_bus *b)
{
	if (!b)
		return;
	free(b->r[0]);
	free(b->r[1]);
	pthread_mutex_destroy(&b->lock);
	free(b);
}

static const char *space_name(enum vmm_space s) { return s == VMM_SPACE_PIO ? "port" : "MMIO"; }

int vmm_bus_register(struct vmm_bus *b, enum vmm_space space, uint64_t base, uint64_t len,
		     const struct vmm_dev_ops *ops, void *opaque, struct vg_err *err)
{
	if (space != VMM_SPACE_PIO && space != VMM_SPACE_MMIO)
		return vg_err_set(err, EINVAL, "bus: bad address space %d", (int)space);
	const char *name = ops && ops->name ? ops->name : "?";
	if (!ops || !ops->read || !ops->write)
		return vg_err_set(err, EINVAL, "bus: device %s has no read/write handlers", name);
	if (len == 0 || base + len < base)
		return vg_err_set(err, EINVAL, "bus: device %s: empty or wrapping range", name);
	if (space == VMM_SPACE_PIO && base + len > 0x10000)
		return vg_err_set(err, EINVAL, "bus: device %s: port range beyond 0xffff", name);
	size_t n = b->n[space], i = 0;
	struct bus_range *r = b->r[space];
	while (i < n && r[i].base < base)
		i++;
	/* Overlap with the neighbour before or the one at i. */
	if (i > 0 && r[i - 1].base + r[i - 1].len > base)
		return vg_err_set(err, EBUSY, "bus: %s range 0x%llx+0x%llx of %s overlaps %s", space_name(space),
				  (unsigned long long)base, (unsigned long long)len, name, r[i - 1].ops->name);
	if (i < n && base + len > r[i].base)
		return vg_err_set(err, EBUSY, "bus: %s range 0x%llx+0x%llx of %s overlaps %s", space_name(space),
				  (unsigned long long)base, (unsigned long long)len, name, r[i].ops->name);
	struct bus_range *nr = realloc(r, (n + 1) * sizeof(*r));
	if (!nr)
		return vg_err_set(err, ENOMEM, "bus: out of memory");
	memmove(&nr[i + 1], &nr[i], (n - i) * sizeof(*nr));
	nr[i] = (struct bus_range){base, len, ops, opaque};
	b->r[space] = nr;
	b->n[space] = n + 1;
	return 0;
}

static const struct bus_range *bus_find(const struct vmm_bus *b, enum vmm_space space, uint64_t addr,
					unsigned size)
{
	const struct bus_range *r = b->r[space];
	size_t lo = 0, hi = b->n[space];
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (addr < r[mid].base)
			hi = mid;
		else if (addr - r[mid].base >= r[mid].len)
			lo = mid + 1;
		else /* the access must fit inside the range */
			return (size <= r[mid].len - (addr - r[mid].base)) ? &r[mid] : NULL;
	}
	return NULL;
}

static void bus_unclaimed(struct vmm_bus *b, enum vmm_space space, uint64_t addr, unsigned size,
			  bool write)
{
	uint64_t key = (addr << 2) | ((uint64_t)write << 1) | (uint64_t)space;
	pthread_mutex_lock(&b->lock);
	bool seen = false;
	for (unsigned i = 0; i < b->n_unclaimed; i++)
		if (b->unclaimed[i] == key)
			seen = true;
	bool log = false;
	if (!seen) {
		if (b->n_unclaimed < UNCLAIMED_MAX) {
			b->unclaimed[b->n_unclaimed++] = key;
			log = true;
		} else if (!b->unclaimed_overflow) {
			b->unclaimed_overflow = true;
			vg_warn("guest: more than %d unclaimed addresses; no longer logging them", UNCLAIMED_MAX);
		}
	}
	pthread_mutex_unlock(&b->lock);
	if (log)
		vg_warn("guest: unclaimed %s %s at 0x%llx (%u bytes): %s", space_name(space),
			write ? "write" : "read", (unsigned long long)addr, size,
			write ? "dropped" : "reads as all-ones");
}

static uint64_t size_mask(unsigned size) { return size >= 8 ? ~0ull : ((1ull << (size * 8)) - 1); }

bool vmm_bus_read(struct vmm_bus *b, enum vmm_space space, uint64_t addr, unsigned size, uint64_t *value)
{
	const struct bus_range *r = (space <= VMM_SPACE_MMIO) ? bus_find(b, space, addr, size) : NULL;
	if (!r) {
		*value = size_mask(size);
		bus_unclaimed(b, space, addr, size, false);
		return false;
	}
	*value = r->ops->read(r->opaque, addr - r->base, size) & size_mask(size);
	return true;
}

bool vmm_bus_write(struct vmm_bus *b, enum vmm_space space, uint64_t addr, unsigned size, uint64_t value)
{
	const struct bus_range *r = (space <= VMM_SPACE_MMIO) ? bus_find(b, space, addr, size) : NULL;
	if (!r) {
		bus_unclaimed(b, space, addr, size, true);
		return false;
	}
	r->ops->write(r->opaque, addr - r->base, size, value & size_mask(size));
	return true;
}

unsigned vmm_bus_unclaimed_count(const struct vmm_bus *b)
{
	return b->n_unclaimed;
}
