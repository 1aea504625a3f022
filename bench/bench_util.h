/* Helpers shared by the C benchmarks in bench/ (not a library header). */
#ifndef VIGIL_BENCH_UTIL_H
#define VIGIL_BENCH_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "common/common.h"

static inline double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A whole input file, or exit 2 with "prog: reason". */
static inline uint8_t *bench_load(const char *prog, const char *path, size_t *n)
{
	uint8_t *b = NULL;
	struct vg_err e = {0};
	if (vg_read_file(path, 1 << 24, &b, n, &e)) {
		fprintf(stderr, "%s: %s\n", prog, e.msg);
		exit(2);
	}
	return b;
}

#endif
