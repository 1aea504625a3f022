/* Logging: one line per message on stderr, "prog: level: text". */
#include "common/common.h"

#include <stdio.h>

static const char *log_prog = "vigil";
static enum vg_log_level log_level = VG_LOG_WARN;

void vg_log_init(const char *prog, enum vg_log_level level)
{
	if (prog)
		log_prog = prog;
	log_level = level;
}

void vg_log_set_level(enum vg_log_level level) { log_level = level; }
enum vg_log_level vg_log_get_level(void) { return log_level; }

void vg_log(enum vg_log_level level, const char *fmt, ...)
{
	static const char *const names[] = {"error", "warning", "info", "debug"};
	if (level > log_level)
		return;
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s: %s\n", log_prog, names[level], line);
}
