/* Fuzz target: the bounded reader must never read outside its buffer. */
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vg_reader r, sub;
	vg_rd_init(&r, data, size);
	/* Interpret the input as a little program of reads over itself. */
	while (vg_rd_ok(&r) && vg_rd_remaining(&r)) {
		uint8_t op, u8;
		uint16_t u16;
		uint32_t u32;
		uint64_t u64;
		const uint8_t *p;
		if (vg_rd_u8(&r, &op))
			break;
		switch (op % 7) {
		case 0: vg_rd_le16(&r, &u16); break;
		case 1: vg_rd_le32(&r, &u32); break;
		case 2: vg_rd_le64(&r, &u64); break;
		case 3:
			if (vg_rd_u8(&r, &u8) == 0 && vg_rd_ptr(&r, u8, &p) == 0 && u8)
				(void)p[u8 - 1];
			break;
		case 4:
			if (vg_rd_u8(&r, &u8) == 0 && vg_rd_sub(&r, u8, &sub) == 0)
				while (vg_rd_u8(&sub, &u8) == 0) {}
			break;
		case 5: /* forward only, so the program terminates */
			if (vg_rd_be32(&r, &u32) == 0 && u32 > r.off)
				vg_rd_seek(&r, u32);
			break;
		default: vg_rd_skip(&r, op); break;
		}
	}
	return 0;
}
