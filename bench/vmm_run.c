/* bench/vmm_run: runs a VMM command line and measures, from just before
 * exec: the first byte on its stdout (the guest's first serial output),
 * its exit, and its peak RSS. With --rss: waits for the first byte, then
 * reports VmHWM (and RssAnon) minus the resident part of the guest-RAM mapping (the
 * largest anonymous mapping of at least --guest-mib), and kills it.
 * usage: vmm_run [--runs N] [--rss --guest-mib M] -- CMD ARGS...
 * prints: first_ms=... total_ms=... maxrss_kib=... (medians over N runs) */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <fcntl.h>
#include <stdbool.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* VmHWM minus the resident guest RAM, in KiB; *anon gets RssAnon minus it
 * (the VMM's private memory, without shared library pages). */
static long overhead_kib(pid_t pid, long guest_kib, long *anon)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	long hwm = -1, ra = 0;
	while (f && fgets(line, sizeof(line), f)) {
		sscanf(line, "VmHWM: %ld", &hwm);
		sscanf(line, "RssAnon: %ld", &ra);
	}
	if (f)
		fclose(f);
	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	f = fopen(path, "r");
	long size = 0, best_size = 0, best_rss = 0, v;
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Size: %ld kB", &v) == 1)
			size = v;
		else if (sscanf(line, "Rss: %ld kB", &v) == 1 && size >= guest_kib && size > best_size) {
			best_size = size;
			best_rss = v;
		}
	}
	if (f)
		fclose(f);
	*anon = ra - best_rss;
	return hwm < 0 ? -1 : hwm - best_rss;
}

int main(int argc, char **argv)
{
	int runs = 10, i = 1;
	bool rss = false;
	long guest_mib = 128;
	for (; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "--runs") && i + 1 < argc)
			runs = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--rss"))
			rss = true;
		else if (!strcmp(argv[i], "--guest-mib") && i + 1 < argc)
			guest_mib = atol(argv[++i]);
	}
	if (i >= argc - 1 || runs < 1) {
		fprintf(stderr, "usage: vmm_run [--runs N] [--rss --guest-mib M] -- CMD ARGS...\n");
		return 2;
	}
	char **cmd = argv + i + 1;
	double *first = calloc((size_t)runs, sizeof(double)), *total = calloc((size_t)runs, sizeof(double));
	long *mem = calloc((size_t)runs, sizeof(long)), anon = 0, maxanon = 0;
	for (int r = 0; r < runs; r++) {
		int p[2];
		if (pipe(p))
			return 2;
		double t0 = now_ms();
		pid_t pid = fork();
		if (pid == 0) {
			dup2(p[1], 1);
			close(p[0]);
			close(p[1]);
			int devnull = open("/dev/null", 1);
			dup2(devnull, 2);
			execvp(cmd[0], cmd);
			_exit(127);
		}
		close(p[1]);
		char buf[4096];
		ssize_t n = read(p[0], buf, 1);
		first[r] = n > 0 ? now_ms() - t0 : -1;
		if (rss) {
			usleep(100000);
			mem[r] = overhead_kib(pid, guest_mib * 1024, &anon);
			maxanon = anon > maxanon ? anon : maxanon;
			kill(pid, SIGKILL);
		}
		while (read(p[0], buf, sizeof(buf)) > 0)
			;
		close(p[0]);
		int st;
		struct rusage ru;
		wait4(pid, &st, 0, &ru);
		total[r] = now_ms() - t0;
		if (!rss)
			mem[r] = ru.ru_maxrss;
	}
	qsort(first, (size_t)runs, sizeof(double), cmp);
	qsort(total, (size_t)runs, sizeof(double), cmp);
	long maxmem = 0;
	for (int r = 0; r < runs; r++)
		maxmem = mem[r] > maxmem ? mem[r] : maxmem;
	printf("first_ms=%.3f total_ms=%.3f mem_kib=%ld anon_kib=%ld\n", first[runs / 2], total[runs / 2], maxmem,
	       maxanon);
	free(first);
	free(total);
	free(mem);
	return 0;
}
