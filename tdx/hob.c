/*
 * The TD HOB list for TDVF (TDVF design guide 4.2 "TD HOB"; UEFI PI spec vol. 3,
 * 5.3 PHIT HOB, 5.5 Resource Descriptor HOB, 5.11 End of HOB list).
 */
#include <string.h>

#include "tdx/tdx.h"

#define HOB_TYPE_HANDOFF 0x0001
#define HOB_TYPE_RESOURCE_DESCRIPTOR 0x0003
#define HOB_TYPE_END_OF_HOB_LIST 0xffff
#define HOB_HANDOFF_TABLE_VERSION 0x0009
#define BOOT_WITH_FULL_CONFIGURATION 0

#define RES_SYSTEM_MEMORY 0x0
#define RES_MEMORY_MAPPED_IO 0x1
#define RES_MEMORY_UNACCEPTED 0x7
#define RES_ATTR_PRESENT 0x1
#define RES_ATTR_INITIALIZED 0x2
#define RES_ATTR_TESTED 0x4
#define RES_ATTR_UNCACHEABLE 0x400

#define PHIT_SIZE 56u
#define RESOURCE_SIZE 48u
#define END_SIZE 8u

static void put_hdr(uint8_t *p, uint16_t type, uint16_t len)
{
	vg_put_le16(p, type);
	vg_put_le16(p + 2, len);
	vg_put_le32(p + 4, 0);
}

int tdx_hob_build(uint64_t hob_gpa, const struct tdx_hob_range *r, size_t n, uint8_t *buf, size_t cap,
		  size_t *out_len, struct vg_err *err)
{
	if (n > 1024)
		return vg_err_set(err, EINVAL, "TD HOB: too many ranges (%zu)", n);
	size_t need = PHIT_SIZE + n * RESOURCE_SIZE + END_SIZE;
	if (need > cap)
		return vg_err_set(err, ENOSPC, "TD HOB needs %zu bytes, the TD_HOB section has %zu", need, cap);
	for (size_t i = 0; i < n; i++) {
		if (!r[i].len || (r[i].start | r[i].len) & 0xfff || r[i].start + r[i].len < r[i].start)
			return vg_err_set(err, EINVAL, "TD HOB: range %zu (0x%llx+0x%llx) invalid", i,
					  (unsigned long long)r[i].start, (unsigned long long)r[i].len);
		for (size_t j = 0; j < i; j++)
			if (r[i].start < r[j].start + r[j].len && r[j].start < r[i].start + r[i].len)
				return vg_err_set(err, EINVAL, "TD HOB: ranges %zu and %zu overlap", j, i);
	}
	memset(buf, 0, need);
	uint8_t *p = buf;
	put_hdr(p, HOB_TYPE_HANDOFF, PHIT_SIZE);
	vg_put_le32(p + 8, HOB_HANDOFF_TABLE_VERSION);
	vg_put_le32(p + 12, BOOT_WITH_FULL_CONFIGURATION);
	/* EfiMemoryTop/Bottom and EfiFreeMemoryTop/Bottom stay zero: TDVF finds its
	 * memory in the resource descriptors. EfiEndOfHobList points at the end HOB. */
	vg_put_le64(p + 48, hob_gpa + need - END_SIZE);
	p += PHIT_SIZE;
	for (size_t i = 0; i < n; i++, p += RESOURCE_SIZE) {
		uint32_t type, attr;
		switch (r[i].kind) {
		case TDX_HOB_RAM_ACCEPTED:
			type = RES_SYSTEM_MEMORY;
			attr = RES_ATTR_PRESENT | RES_ATTR_INITIALIZED | RES_ATTR_TESTED;
			break;
		case TDX_HOB_RAM_UNACCEPTED:
			type = RES_MEMORY_UNACCEPTED;
			attr = RES_ATTR_PRESENT | RES_ATTR_INITIALIZED | RES_ATTR_TESTED;
			break;
		case TDX_HOB_MMIO:
			type = RES_MEMORY_MAPPED_IO;
			attr = RES_ATTR_PRESENT | RES_ATTR_INITIALIZED | RES_ATTR_UNCACHEABLE;
			break;
		default:
			return vg_err_set(err, EINVAL, "TD HOB: range %zu has an unknown kind", i);
		}
		put_hdr(p, HOB_TYPE_RESOURCE_DESCRIPTOR, RESOURCE_SIZE);
		/* Owner GUID (bytes 8..23) zero. */
		vg_put_le32(p + 24, type);
		vg_put_le32(p + 28, attr);
		vg_put_le64(p + 32, r[i].start);
		vg_put_le64(p + 40, r[i].len);
	}
	put_hdr(p, HOB_TYPE_END_OF_HOB_LIST, END_SIZE);
	*out_len = need;
	return 0;
}
