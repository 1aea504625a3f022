/* Error type: one-line messages carried to the binary's top level. */
#include "common/common.h"

#include <stdio.h>
#include <string.h>

int vg_err_set(struct vg_err *err, int code, const char *fmt, ...)
{
	if (code < 0)
		code = -code;
	if (code == 0)
		code = EIO;
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
		err->code = code;
		for (char *p = err->msg; *p; p++)
			if (*p == '\n' || *p == '\r')
				*p = ' ';
	}
	return -code;
}

int vg_err_prefix(struct vg_err *err, const char *fmt, ...)
{
	if (!err)
		return -EIO;
	char prefix[256];
	char old[sizeof(err->msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
	if (err->code == 0)
		err->code = EIO;
	return -err->code;
}

void vg_err_clear(struct vg_err *err)
{
	if (err) {
		err->code = 0;
		err->msg[0] = '\0';
	}
}
