/* JSON-lines logging on stderr: one object per line, never secrets. */
#include "attestd/attestd.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void ad_log(enum vg_log_level level, const char *event, json_t *fields)
{
	static const char *const names[] = {"error", "warning", "info", "debug"};
	if (level > vg_log_get_level()) {
		json_decref(fields);
		return;
	}
	struct timeval tv;
	gettimeofday(&tv, NULL);
	struct tm tm;
	gmtime_r(&tv.tv_sec, &tm);
	char ts[40];
	snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000));
	json_t *o = json_object();
	json_object_set_new(o, "ts", json_string(ts));
	json_object_set_new(o, "level", json_string(names[level]));
	json_object_set_new(o, "event", json_string(event));
	if (json_is_object(fields))
		json_object_update(o, fields);
	json_decref(fields);
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!s)
		return;
	pthread_mutex_lock(&log_lock);
	fprintf(stderr, "%s\n", s);
	fflush(stderr);
	pthread_mutex_unlock(&log_lock);
	free(s);
}

void ad_logf(enum vg_log_level level, const char *event, const char *fmt, ...)
{
	if (level > vg_log_get_level())
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ad_log(level, event, json_pack("{s:s}", "msg", msg));
}
