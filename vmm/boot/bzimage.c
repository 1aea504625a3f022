/* Linux bzImage setup header parsing and checks (Documentation/arch/x86/boot.rst). */
#include "vmm/vmm.h"

#include <string.h>

#define HDR_SETUP_SECTS 0x1F1
#define HDR_SYSSIZE 0x1F4
#define HDR_BOOT_FLAG 0x1FE
#define HDR_JUMP 0x200
#define HDR_MAGIC 0x202
#define HDR_VERSION 0x206
#define HDR_KERNEL_VERSION 0x20E
#define HDR_LOADFLAGS 0x211
#define HDR_INITRD_ADDR_MAX 0x22C
#define HDR_KERNEL_ALIGNMENT 0x230
#define HDR_RELOCATABLE 0x234
#define HDR_XLOADFLAGS 0x236
#define HDR_CMDLINE_SIZE 0x238
#define HDR_PREF_ADDRESS 0x258
#define HDR_INIT_SIZE 0x260
#define HDR_HANDOVER_OFFSET 0x264
#define HDR_END_2_12 0x268 /* the header of protocol 2.12 ends here */

#define LOADED_HIGH 0x01
#define XLF_KERNEL_64 0x01
#define MIN_PROTOCOL 0x020C

int vmm_bzimage_parse(const uint8_t *img, size_t len, struct vmm_bzimage *out, struct vg_err *err)
{
	memset(out, 0, sizeof(*out));
	if (len < HDR_END_2_12)
		return vg_err_set(err, EINVAL, "bzImage: %zu bytes, too short for a setup header", len);
	if (vg_le16(img + HDR_BOOT_FLAG) != 0xAA55)
		return vg_err_set(err, EINVAL, "bzImage: no boot sector signature 0xAA55 at 0x1fe");
	if (memcmp(img + HDR_MAGIC, "HdrS", 4) != 0)
		return vg_err_set(err, EINVAL, "bzImage: no \"HdrS\" setup header magic at 0x202");
	out->protocol = vg_le16(img + HDR_VERSION);
	if (out->protocol < MIN_PROTOCOL)
		return vg_err_set(err, ENOTSUP, "bzImage: boot protocol %u.%02u, need 2.12 or later (64-bit entry)",
				  out->protocol >> 8, out->protocol & 0xFF);
	/* The header is 0x202 + jump offset bytes long; it must cover what we read. */
	size_t hdr_end = 0x202 + img[HDR_JUMP + 1];
	if (img[HDR_JUMP] != 0xEB || hdr_end < HDR_END_2_12)
		return vg_err_set(err, EINVAL, "bzImage: setup header too short for protocol %u.%02u",
				  out->protocol >> 8, out->protocol & 0xFF);
	out->setup_sects = img[HDR_SETUP_SECTS] ? img[HDR_SETUP_SECTS] : 4;
	out->setup_size = ((uint32_t)out->setup_sects + 1) * 512;
	if (out->setup_size >= len)
		return vg_err_set(err, EINVAL, "bzImage: setup (%u bytes) is not smaller than the file (%zu bytes)",
				  out->setup_size, len);
	uint64_t syssize = (uint64_t)vg_le32(img + HDR_SYSSIZE) * 16;
	out->kernel_size = (uint32_t)(len - out->setup_size);
	if (syssize == 0 || syssize > out->kernel_size)
		return vg_err_set(err, EINVAL, "bzImage: truncated: header says %llu bytes of kernel, file has %u",
				  (unsigned long long)syssize, out->kernel_size);
	out->loadflags = img[HDR_LOADFLAGS];
	if (!(out->loadflags & LOADED_HIGH))
		return vg_err_set(err, ENOTSUP, "bzImage: not a bzImage (LOADED_HIGH clear): zImage is not supported");
	out->xloadflags = vg_le16(img + HDR_XLOADFLAGS);
	if (!(out->xloadflags & XLF_KERNEL_64))
		return vg_err_set(err, ENOTSUP, "bzImage: no 64-bit entry point (XLF_KERNEL_64 clear)");
	out->relocatable = img[HDR_RELOCATABLE] != 0;
	if (!out->relocatable)
		return vg_err_set(err, ENOTSUP, "bzImage: kernel is not relocatable");
	out->kernel_alignment = vg_le32(img + HDR_KERNEL_ALIGNMENT);
	if (out->kernel_alignment < 4096 || out->kernel_alignment > (1u << 30) ||
	    (out->kernel_alignment & (out->kernel_alignment - 1)))
		return vg_err_set(err, EINVAL, "bzImage: kernel_alignment 0x%x is not a power of two in 4 KiB..1 GiB",
				  out->kernel_alignment);
	out->initrd_addr_max = vg_le32(img + HDR_INITRD_ADDR_MAX);
	out->cmdline_size = vg_le32(img + HDR_CMDLINE_SIZE);
	out->pref_address = vg_le64(img + HDR_PREF_ADDRESS);
	out->init_size = vg_le32(img + HDR_INIT_SIZE);
	out->handover_offset = vg_le32(img + HDR_HANDOVER_OFFSET);
	if (out->init_size < syssize || out->init_size > (1u << 30))
		return vg_err_set(err, EINVAL, "bzImage: init_size 0x%x is smaller than the kernel or above 1 GiB",
				  out->init_size);
	if (out->initrd_addr_max < 0x100000)
		return vg_err_set(err, EINVAL, "bzImage: initrd_addr_max 0x%x is below 1 MiB", out->initrd_addr_max);
	/* Optional version string, NUL-terminated inside the setup area. */
	uint16_t kv = vg_le16(img + HDR_KERNEL_VERSION);
	if (kv) {
		size_t off = (size_t)kv + 0x200;
		if (off < out->setup_size) {
			size_t n = 0;
			while (off + n < out->setup_size && n < sizeof(out->version) - 1 && img[off + n] &&
			       img[off + n] >= 0x20 && img[off + n] < 0x7F)
				n++;
			memcpy(out->version, img + off, n);
			out->version[n] = 0;
		}
	}
	return 0;
}
