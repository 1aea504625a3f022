/*
 * QEMU's firmware configuration device (docs/specs/fw_cfg.rst), as OVMF's
 * QemuFwCfgLib reads it: selector 0x510 (16-bit write), data 0x511 (8-bit read, the
 * selected item byte by byte, zeros past its end), DMA address 0x514 (64-bit
 * big-endian, written as two 32-bit halves; the low half at 0x518 starts the
 * transfer; reading 0x514 gives "QEMU CFG"). Items: the signature "QEMU", the
 * feature bits (traditional interface, DMA), the file directory, the CPU count, RAM
 * size, and named files: etc/e820, etc/boot-fail-wait, the kernel, setup, initrd
 * and command line for direct boot, and the operator's --fw-cfg items (opt/...,
 * read here once, before the sandbox). The guest controls the selector, the DMA
 * descriptor and its address: every address and length is checked against guest
 * RAM before use, and nothing the guest writes reaches an item (no writable items).
 */
#include "vmm/devices/devices.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FW_CFG_SIGNATURE 0x00
#define FW_CFG_ID 0x01
#define FW_CFG_RAM_SIZE 0x03
#define FW_CFG_NB_CPUS 0x05
#define FW_CFG_MAX_CPUS 0x0f
#define FW_CFG_KERNEL_SIZE 0x08
#define FW_CFG_INITRD_SIZE 0x0b
#define FW_CFG_KERNEL_DATA 0x11
#define FW_CFG_INITRD_DATA 0x12
#define FW_CFG_CMDLINE_SIZE 0x14
#define FW_CFG_CMDLINE_DATA 0x15
#define FW_CFG_SETUP_SIZE 0x17
#define FW_CFG_SETUP_DATA 0x18
#define FW_CFG_FILE_DIR 0x19
#define FW_CFG_FILE_FIRST 0x20
#define FW_CFG_E820_TABLE 0x8003

#define DMA_ERROR 0x01u
#define DMA_READ 0x02u
#define DMA_SKIP 0x04u
#define DMA_SELECT 0x08u
#define DMA_WRITE 0x10u

#define MAX_ITEMS 64
#define MAX_FILES 40 /* the VMM's own files and up to VMM_MAX_FW_CFG_USER --fw-cfg items */
#define FILE_NAME 56

struct item {
	uint16_t key;
	uint8_t *data;
	uint32_t len;
	char name[FILE_NAME]; /* files only */
};

struct vmm_fw_cfg {
	pthread_mutex_t lock;
	struct item items[MAX_ITEMS];
	unsigned n, nfiles;
	uint16_t cur;    /* selected key */
	uint32_t offset; /* read position in it */
	uint32_t dma_hi;
	uint8_t *(*gpa)(void *ctx, uint64_t gpa, uint64_t len);
	void *gpa_ctx;
	uint64_t dma_count;
};

static uint64_t be64(const uint8_t *p) { return (uint64_t)vg_be32(p) << 32 | vg_be32(p + 4); }

struct vmm_fw_cfg *vmm_fw_cfg_new(uint8_t *(*gpa)(void *ctx, uint64_t gpa, uint64_t len), void *gpa_ctx)
{
	struct vmm_fw_cfg *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	pthread_mutex_init(&f->lock, NULL);
	f->gpa = gpa;
	f->gpa_ctx = gpa_ctx;
	static const uint8_t sig[4] = { 'Q', 'E', 'M', 'U' };
	uint8_t id[4];
	vg_put_le32(id, 0x3); /* traditional interface and DMA */
	if (vmm_fw_cfg_add(f, FW_CFG_SIGNATURE, sig, 4, NULL) || vmm_fw_cfg_add(f, FW_CFG_ID, id, 4, NULL)) {
		vmm_fw_cfg_free(f);
		return NULL;
	}
	return f;
}

void vmm_fw_cfg_free(struct vmm_fw_cfg *f)
{
	if (!f)
		return;
	for (unsigned i = 0; i < f->n; i++)
		free(f->items[i].data);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

static struct item *find(struct vmm_fw_cfg *f, uint16_t key)
{
	for (unsigned i = 0; i < f->n; i++)
		if (f->items[i].key == key)
			return &f->items[i];
	return NULL;
}

/* The file directory item: u32 BE count, then {u32 BE size, u16 BE select, u16, name[56]},
 * sorted by name with the selectors numbered in that order, as QEMU does (machine
 * types since 2.6), so a guest sees the same directory under both. */
static int rebuild_dir(struct vmm_fw_cfg *f)
{
	size_t len = 4 + (size_t)f->nfiles * 64;
	uint8_t *d = calloc(1, len);
	if (!d)
		return -ENOMEM;
	vg_put_be32(d, f->nfiles);
	uint8_t *e = d + 4;
	const char *prev = "";
	for (unsigned rank = 0; rank < f->nfiles; rank++) {
		struct item *next = NULL; /* the smallest name after prev (names are unique) */
		for (unsigned i = 0; i < f->n; i++) {
			struct item *it = &f->items[i];
			if (it->name[0] && strcmp(it->name, prev) > 0 && (!next || strcmp(it->name, next->name) < 0))
				next = it;
		}
		if (!next)
			break;
		next->key = (uint16_t)(FW_CFG_FILE_FIRST + rank);
		vg_put_be32(e, next->len);
		vg_put_be16(e + 4, next->key);
		memcpy(e + 8, next->name, strnlen(next->name, FILE_NAME - 1));
		e += 64;
		prev = next->name;
	}
	struct item *dir = find(f, FW_CFG_FILE_DIR);
	if (!dir) {
		if (f->n == MAX_ITEMS) {
			free(d);
			return -ENOSPC;
		}
		dir = &f->items[f->n++];
		dir->key = FW_CFG_FILE_DIR;
	}
	free(dir->data);
	dir->data = d;
	dir->len = (uint32_t)len;
	return 0;
}

int vmm_fw_cfg_add(struct vmm_fw_cfg *f, uint16_t key, const void *data, size_t len, const char *file)
{
	if (len > UINT32_MAX || f->n >= MAX_ITEMS - 1 || (file && (f->nfiles >= MAX_FILES || strlen(file) >= FILE_NAME)))
		return -ENOSPC;
	if (file) {
		for (unsigned i = 0; i < f->n; i++)
			if (!strcmp(f->items[i].name, file))
				return -EEXIST;
		key = (uint16_t)(FW_CFG_FILE_FIRST + f->nfiles); /* renumbered in name order (rebuild_dir) */
	}
	if (find(f, key))
		return -EEXIST;
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy)
		return -ENOMEM;
	if (len)
		memcpy(copy, data, len);
	struct item *it = &f->items[f->n++];
	memset(it, 0, sizeof(*it));
	it->key = key;
	it->data = copy;
	it->len = (uint32_t)len;
	if (file) {
		snprintf(it->name, sizeof(it->name), "%s", file);
		f->nfiles++;
		return rebuild_dir(f);
	}
	return 0;
}

static void select_key(struct vmm_fw_cfg *f, uint16_t key)
{
	f->cur = key;
	f->offset = 0;
}

static uint8_t data_byte(struct vmm_fw_cfg *f)
{
	const struct item *it = find(f, f->cur);
	if (!it || f->offset >= it->len)
		return 0;
	return it->data[f->offset++];
}

/* One DMA descriptor at gpa: {u32 BE control, u32 BE length, u64 BE address}. */
static void dma(struct vmm_fw_cfg *f, uint64_t gpa)
{
	f->dma_count++;
	uint8_t *d = f->gpa ? f->gpa(f->gpa_ctx, gpa, 16) : NULL;
	if (!d)
		return; /* not guest RAM: nothing to report the error into */
	uint32_t control = vg_be32(d), len = vg_be32(d + 4);
	uint64_t addr = be64(d + 8);
	uint32_t status = 0;
	if (control & DMA_SELECT)
		select_key(f, (uint16_t)(control >> 16));
	const struct item *it = find(f, f->cur);
	if (control & DMA_WRITE) {
		status = DMA_ERROR; /* no writable item */
	} else if (control & (DMA_READ | DMA_SKIP)) {
		uint32_t avail = it && f->offset < it->len ? it->len - f->offset : 0;
		uint32_t n = len < avail ? len : avail;
		if (control & DMA_READ) {
			uint8_t *dst = len ? (f->gpa ? f->gpa(f->gpa_ctx, addr, len) : NULL) : NULL;
			if (len && !dst) {
				status = DMA_ERROR; /* outside guest RAM */
			} else if (len) {
				if (n)
					memcpy(dst, it->data + f->offset, n);
				memset(dst + n, 0, len - n); /* past the end of the item: zeros */
			}
		}
		if (!status)
			f->offset += n;
	}
	/* Done: control becomes 0, or keeps only the error bit. */
	uint8_t st[4];
	vg_put_be32(st, status);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy(d, st, 4);
}

uint64_t vmm_fw_cfg_dma_count(struct vmm_fw_cfg *f) { return f->dma_count; }

static uint64_t sel_read(void *opaque, uint64_t off, unsigned size)
{
	struct vmm_fw_cfg *f = opaque;
	(void)size;
	pthread_mutex_lock(&f->lock);
	uint64_t v = off == 1 ? data_byte(f) : 0;
	pthread_mutex_unlock(&f->lock);
	return v;
}

static void sel_write(void *opaque, uint64_t off, unsigned size, uint64_t value)
{
	struct vmm_fw_cfg *f = opaque;
	pthread_mutex_lock(&f->lock);
	if (off == 0 && size == 2)
		select_key(f, (uint16_t)value);
	/* data register writes: ignored (no writable items) */
	pthread_mutex_unlock(&f->lock);
}

/* DMA address register, 0x514..0x51B, big-endian. */
static uint64_t dma_read(void *opaque, uint64_t off, unsigned size)
{
	(void)opaque;
	static const uint8_t sig[8] = { 'Q', 'E', 'M', 'U', ' ', 'C', 'F', 'G' };
	uint64_t v = 0;
	for (unsigned i = 0; i < size && off + i < 8; i++)
		v |= (uint64_t)sig[off + i] << (8 * i); /* byte order as in guest memory */
	return v;
}

static uint32_t bswap32v(uint64_t v) { return __builtin_bswap32((uint32_t)v); }

static void dma_write(void *opaque, uint64_t off, unsigned size, uint64_t value)
{
	struct vmm_fw_cfg *f = opaque;
	pthread_mutex_lock(&f->lock);
	if (size == 4 && off == 0) {
		f->dma_hi = bswap32v(value);
	} else if (size == 4 && off == 4) {
		dma(f, (uint64_t)f->dma_hi << 32 | bswap32v(value));
		f->dma_hi = 0;
	} else if (size == 8 && off == 0) {
		dma(f, __builtin_bswap64(value));
	}
	pthread_mutex_unlock(&f->lock);
}

const struct vmm_dev_ops vmm_fw_cfg_sel_ops = {.name = "fw_cfg", .read = sel_read, .write = sel_write};
const struct vmm_dev_ops vmm_fw_cfg_dma_ops = {.name = "fw_cfg-dma", .read = dma_read, .write = dma_write};

/* --------------------------------------------------------------- the VM's */

static uint8_t *guest(void *ctx, uint64_t gpa, uint64_t len) { return vmm_gpa_ptr(ctx, gpa, len); }

/* etc/e820: {u64 address, u64 length, u32 type} little-endian, RAM = 1. */
static int add_e820(struct vmm_fw_cfg *f, uint64_t ram)
{
	uint64_t low = ram < VMM_MMIO_HOLE_START ? ram : VMM_MMIO_HOLE_START;
	uint8_t e[2 * 20];
	size_t n = 0;
	vg_put_le64(e, 0);
	vg_put_le64(e + 8, low);
	vg_put_le32(e + 16, 1);
	n = 20;
	if (ram > low) {
		vg_put_le64(e + 20, VMM_4GIB);
		vg_put_le64(e + 28, ram - low);
		vg_put_le32(e + 36, 1);
		n = 40;
	}
	return vmm_fw_cfg_add(f, 0, e, n, "etc/e820");
}

/* Direct boot through the firmware: setup (the real-mode part, (setup_sects+1)*512
 * bytes) and kernel split as QEMU's x86 loader does, the initrd, the command line
 * with its NUL. */
static int add_kernel(struct vmm_fw_cfg *f, const struct vmm_launch_image *img, struct vg_err *err)
{
	const uint8_t *k = img->kernel, *rd = img->initrd;
	size_t klen = img->kernel_len, rdlen = img->initrd_len;
	int rc;
	size_t setup = klen > 0x1f1 ? ((size_t)(k[0x1f1] ? k[0x1f1] : 4) + 1) * 512 : 0;
	if (setup > klen || klen < 0x206 || memcmp(k + 0x202, "HdrS", 4))
		setup = 0; /* not a bzImage: the whole file as the kernel */
	const char *cmd = img->cmdline ? img->cmdline : "";
	uint8_t sz[4];
	rc = 0;
#define ADD(key, d, l) (rc = rc ? rc : vmm_fw_cfg_add(f, key, d, l, NULL))
	vg_put_le32(sz, (uint32_t)setup);
	ADD(FW_CFG_SETUP_SIZE, sz, 4);
	ADD(FW_CFG_SETUP_DATA, k, setup);
	vg_put_le32(sz, (uint32_t)(klen - setup));
	ADD(FW_CFG_KERNEL_SIZE, sz, 4);
	ADD(FW_CFG_KERNEL_DATA, k ? k + setup : NULL, klen - setup);
	vg_put_le32(sz, (uint32_t)rdlen);
	ADD(FW_CFG_INITRD_SIZE, sz, 4);
	ADD(FW_CFG_INITRD_DATA, rd, rdlen);
	vg_put_le32(sz, (uint32_t)strlen(cmd) + 1);
	ADD(FW_CFG_CMDLINE_SIZE, sz, 4);
	ADD(FW_CFG_CMDLINE_DATA, cmd, strlen(cmd) + 1);
#undef ADD
	return rc ? vg_err_set(err, -rc, "fw_cfg: cannot add the direct-boot items") : 0;
}

/* --fw-cfg: each item as a named file; a file is read now, before the jail. */
static int add_user_items(struct vmm_fw_cfg *f, const struct vmm_config *c, struct vg_err *err)
{
	for (unsigned i = 0; i < c->n_fw_cfg; i++) {
		const struct vmm_fw_cfg_user *u = &c->fw_cfg[i];
		uint8_t *data = NULL;
		size_t len = 0;
		int rc;
		if (u->file && (rc = vg_read_file(u->file, VMM_FW_CFG_USER_MAX, &data, &len, err)))
			return vg_err_prefix(err, "--fw-cfg %s", u->name);
		rc = vmm_fw_cfg_add(f, 0, u->file ? data : (const uint8_t *)u->string, u->file ? len : strlen(u->string),
				    u->name);
		free(data);
		if (rc)
			return vg_err_set(err, -rc, "--fw-cfg %s: %s", u->name,
					  rc == -EEXIST ? "item exists" : "too many fw_cfg items");
	}
	return 0;
}

static int fw_cfg_setup(struct vmm *vm, void **state, struct vg_err *err)
{
	const struct vmm_config *c = vmm_get_config(vm);
	if (!c->firmware)
		return 0; /* a directly booted kernel reads nothing from fw_cfg */
	struct vmm_fw_cfg *f = vmm_fw_cfg_new(guest, vm);
	if (!f)
		return vg_err_set(err, ENOMEM, "fw_cfg: out of memory");
	*state = f;
	uint8_t b[8];
	int rc;
	vg_put_le16(b, (uint16_t)c->vcpus);
	if ((rc = vmm_fw_cfg_add(f, FW_CFG_NB_CPUS, b, 2, NULL)) || (rc = vmm_fw_cfg_add(f, FW_CFG_MAX_CPUS, b, 2, NULL)))
		return vg_err_set(err, -rc, "fw_cfg: items");
	vg_put_le64(b, vmm_ram_size(vm));
	if ((rc = vmm_fw_cfg_add(f, FW_CFG_RAM_SIZE, b, 8, NULL)) || (rc = add_e820(f, vmm_ram_size(vm))))
		return vg_err_set(err, -rc, "fw_cfg: items");
	vg_put_le32(b, 0);
	if ((rc = vmm_fw_cfg_add(f, 0, b, 4, "etc/boot-fail-wait")))
		return vg_err_set(err, -rc, "fw_cfg: items");
	if (vm->launch_img.kernel && (rc = add_kernel(f, &vm->launch_img, err)))
		return rc;
	if ((rc = add_user_items(f, c, err)))
		return rc;
	struct vmm_acpi_opts ao = {.vcpus = c->vcpus, .tpm = c->vtpm, .log_addr = VMM_TPM_LOG_ADDR,
				   .log_size = VMM_TPM_LOG_SIZE};
	if ((rc = vmm_fw_cfg_add_acpi(f, &ao, err)))
		return rc;
	if ((rc = vmm_register_device(vm, VMM_SPACE_PIO, VMM_FW_CFG_PORT, 2, &vmm_fw_cfg_sel_ops, f, err)))
		return rc;
	return vmm_register_device(vm, VMM_SPACE_PIO, VMM_FW_CFG_DMA_PORT, 8, &vmm_fw_cfg_dma_ops, f, err);
}

/* A reboot: nothing selected, no DMA address half written. */
static int fw_cfg_reset(struct vmm *vm, void *state, struct vg_err *err)
{
	struct vmm_fw_cfg *f = state;
	(void)vm, (void)err;
	pthread_mutex_lock(&f->lock);
	select_key(f, FW_CFG_SIGNATURE);
	f->dma_hi = 0;
	pthread_mutex_unlock(&f->lock);
	return 0;
}

static void fw_cfg_teardown(struct vmm *vm, void *state)
{
	(void)vm;
	vmm_fw_cfg_free(state);
}

const struct vmm_device_ops vmm_fw_cfg_device = {
	.name = "fw_cfg", .setup = fw_cfg_setup, .reset = fw_cfg_reset, .teardown = fw_cfg_teardown,
};
