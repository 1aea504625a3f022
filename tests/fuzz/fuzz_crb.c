/*
 * Fuzz target: the CRB register model driven by a guest that makes random
 * register accesses (vtpm.h section 4). Each input byte group is one access:
 * op (read/write/reset, size), a 16-bit offset, and for writes a value. The
 * backend checks that a command it receives lies within the data buffer and
 * answers with a response of an input-chosen size.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vtpm/vtpm.h"

static size_t g_rsp_len;

static int exec_cb(void *opaque, uint8_t locality, const uint8_t *cmd, size_t cmd_len, uint8_t *rsp,
		   size_t rsp_cap, size_t *rsp_len)
{
	(void)opaque;
	if (locality > 4 || cmd_len < 10 || cmd_len > VTPM_CRB_BUFFER_SIZE || rsp_cap < VTPM_CRB_BUFFER_SIZE)
		abort();
	volatile uint8_t sink = cmd[cmd_len - 1];
	(void)sink;
	size_t n = g_rsp_len;
	if (n > rsp_cap)
		n = rsp_cap + 1; /* an oversized answer must be refused by the model */
	else
		memset(rsp, 0xA5, n);
	if (n >= 6 && n <= rsp_cap)
		vg_put_be32(rsp + 2, (uint32_t)n);
	*rsp_len = n;
	return g_rsp_len == 7 ? -5 : 0;
}

static void cancel_cb(void *opaque) { (void)opaque; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vtpm_crb *crb = vtpm_crb_new(VTPM_CRB_BASE, exec_cb, cancel_cb, NULL);
	if (!crb)
		return 0;
	struct vg_reader r;
	vg_rd_init(&r, data, size);
	static const unsigned sizes[4] = {1, 2, 4, 8};
	while (vg_rd_remaining(&r) >= 3) {
		uint8_t op = 0;
		uint16_t off16 = 0;
		uint64_t v = 0;
		vg_rd_u8(&r, &op);
		vg_rd_le16(&r, &off16);
		uint64_t off = off16;
		if (op & 0x40)
			off = UINT64_MAX - off16; /* wrapping offsets */
		unsigned sz = sizes[op & 3];
		g_rsp_len = (size_t)(op >> 2) * 131 % (VTPM_CRB_BUFFER_SIZE + 16);
		switch ((op >> 4) & 3) {
		case 0:
		case 1:
			vtpm_crb_read(crb, off, sz, &v);
			break;
		case 2:
			if (vg_rd_le64(&r, &v))
				v = 0;
			vtpm_crb_write(crb, off, sz, v);
			break;
		default:
			if ((op & 0x0C) == 0x0C)
				vtpm_crb_reset(crb);
			else /* the common path: a valid control write */
				vtpm_crb_write(crb, (off16 % 5) * 0x1000 + (off16 & 0x7C), 4, op & 3);
			break;
		}
	}
	vtpm_crb_free(crb);
	return 0;
}
