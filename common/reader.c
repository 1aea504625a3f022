/* Bounded reader over untrusted bytes: every access checked, failure sticky. */
#include "common/common.h"

#include <string.h>

void vg_rd_init(struct vg_reader *r, const void *data, size_t len)
{
	r->data = data;
	r->len = data ? len : 0;
	r->off = 0;
	r->failed = false;
}

/* The one place that checks a read of n bytes against what is left. */
static const uint8_t *take(struct vg_reader *r, size_t n)
{
	if (r->failed || n > r->len - r->off) {
		r->failed = true;
		return NULL;
	}
	const uint8_t *p = r->data + r->off;
	r->off += n;
	return p;
}

int vg_rd_u8(struct vg_reader *r, uint8_t *out)
{
	const uint8_t *p = take(r, 1);
	if (!p)
		return -EBADMSG;
	*out = p[0];
	return 0;
}

#define RD_FIXED(name, type, n, load)                     \
	int name(struct vg_reader *r, type *out)          \
	{                                                 \
		const uint8_t *p = take(r, n);            \
		if (!p)                                   \
			return -EBADMSG;                  \
		*out = load(p);                           \
		return 0;                                 \
	}
RD_FIXED(vg_rd_le16, uint16_t, 2, vg_le16)
RD_FIXED(vg_rd_le32, uint32_t, 4, vg_le32)
RD_FIXED(vg_rd_le64, uint64_t, 8, vg_le64)
RD_FIXED(vg_rd_be16, uint16_t, 2, vg_be16)
RD_FIXED(vg_rd_be32, uint32_t, 4, vg_be32)

int vg_rd_bytes(struct vg_reader *r, void *out, size_t n)
{
	const uint8_t *p = take(r, n);
	if (!p)
		return -EBADMSG;
	if (n)
		memcpy(out, p, n);
	return 0;
}

int vg_rd_ptr(struct vg_reader *r, size_t n, const uint8_t **out)
{
	const uint8_t *p = take(r, n);
	if (!p)
		return -EBADMSG;
	*out = p;
	return 0;
}

int vg_rd_skip(struct vg_reader *r, size_t n) { return take(r, n) ? 0 : -EBADMSG; }

int vg_rd_seek(struct vg_reader *r, size_t off)
{
	if (r->failed || off > r->len) {
		r->failed = true;
		return -EBADMSG;
	}
	r->off = off;
	return 0;
}

int vg_rd_sub(struct vg_reader *r, size_t n, struct vg_reader *sub)
{
	const uint8_t *p = take(r, n);
	if (!p) {
		vg_rd_init(sub, NULL, 0);
		sub->failed = true;
		return -EBADMSG;
	}
	vg_rd_init(sub, p, n);
	return 0;
}
