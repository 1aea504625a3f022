/* Growable byte buffer. */
#include "common/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vg_buf_reserve(struct vg_buf *b, size_t extra)
{
	if (extra > SIZE_MAX - b->len - 1)
		return -ENOMEM;
	size_t need = b->len + extra + 1; /* room for a trailing NUL */
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	uint8_t *p = realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int vg_buf_append(struct vg_buf *b, const void *p, size_t n)
{
	int rc = vg_buf_reserve(b, n);
	if (rc)
		return rc;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = 0;
	return 0;
}

int vg_buf_append_u8(struct vg_buf *b, uint8_t v) { return vg_buf_append(b, &v, 1); }

int vg_buf_append_le16(struct vg_buf *b, uint16_t v)
{
	uint8_t t[2];
	vg_put_le16(t, v);
	return vg_buf_append(b, t, sizeof(t));
}

int vg_buf_append_le32(struct vg_buf *b, uint32_t v)
{
	uint8_t t[4];
	vg_put_le32(t, v);
	return vg_buf_append(b, t, sizeof(t));
}

int vg_buf_append_le64(struct vg_buf *b, uint64_t v)
{
	uint8_t t[8];
	vg_put_le64(t, v);
	return vg_buf_append(b, t, sizeof(t));
}

int vg_buf_printf(struct vg_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	int rc = vg_buf_reserve(b, (size_t)n);
	if (rc)
		return rc;
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void vg_buf_free(struct vg_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void vg_buf_free_secret(struct vg_buf *b)
{
	if (b->data)
		vg_secure_zero(b->data, b->cap);
	vg_buf_free(b);
}
