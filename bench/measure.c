/* In-process timing of the SNP launch digest (what `vigil measure snp` does):
 * read + parse + plan + digest of a firmware, best of N runs, in milliseconds.
 * usage: build/bench/measure FIRMWARE [RUNS] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/common.h"
#include "firmware/firmware.h"
#include "sev/sev.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* mode 0: the library's plan digest (page contents hashed on all cores);
 * mode 1: page by page on this thread only (the single-core path). */
static int once(const char *path, int mode, uint8_t out[48])
{
	struct vg_err err = {0};
	uint8_t *data;
	size_t len, dlen;
	struct fw_image fw;
	struct sev_launch_plan plan;
	if (vg_read_file(path, FW_MAX_IMAGE, &data, &len, &err) || fw_parse(data, len, &fw, &err)) {
		fprintf(stderr, "bench: %s\n", err.msg);
		return -1;
	}
	struct sev_launch_opts o = {.mode = SEV_MODE_SNP, .vmm = SEV_VMM_QEMU, .vcpus = 1, .vcpu_sig = 0x00800f12,
				    .guest_features = 1};
	int rc = sev_launch_plan_build(&fw, &o, &plan, &err);
	if (!rc && mode == 0) {
		rc = sev_launch_digest(&plan, NULL, out, &dlen, NULL, &err);
	} else if (!rc) {
		struct sev_snp_digest d;
		sev_snp_digest_init(&d, NULL);
		for (size_t i = 0; !rc && i < plan.n; i++) {
			const struct sev_launch_step *s = &plan.steps[i];
			for (uint64_t off = 0; !rc && off < s->len; off += 4096)
				rc = sev_snp_digest_update_page(&d, s->gpa + (s->page_type == SEV_SNP_PAGE_VMSA ? 0 : off),
								s->page_type, s->data ? s->data + off : NULL, &err);
		}
		memcpy(out, d.ld, 48);
	}
	if (rc)
		fprintf(stderr, "bench: %s\n", err.msg);
	if (plan.steps)
		sev_launch_plan_free(&plan);
	free(data);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s FIRMWARE [RUNS]\n", argv[0]);
		return 2;
	}
	int runs = argc > 2 ? atoi(argv[2]) : 50;
	double best[2] = {1e9, 1e9};
	uint8_t d[2][48];
	for (int mode = 0; mode < 2; mode++)
		for (int i = 0; i < runs; i++) {
			double t = now_ms();
			if (once(argv[1], mode, d[mode]))
				return 2;
			t = now_ms() - t;
			if (t < best[mode])
				best[mode] = t;
		}
	if (memcmp(d[0], d[1], 48)) {
		fprintf(stderr, "bench: the two paths disagree\n");
		return 1;
	}
	char hex[97];
	vg_hex_encode(d[0], 48, hex);
	printf("digest %s\n", hex);
	printf("in_process_ms %.3f\n", best[0]);
	printf("one_core_ms %.3f\n", best[1]);
	return 0;
}
