/* Fuzz target: TCG event log parser and replay (vtpm.h section 1). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "vtpm/vtpm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vtpm_evlog log;
	struct vg_err err;
	if (vtpm_evlog_parse(data, size, &log, &err) != 0)
		return 0;
	/* every view must lie inside the log's own copy */
	for (size_t i = 0; i < log.nevents; i++) {
		const struct vtpm_evlog_event *ev = &log.events[i];
		if (ev->data_len)
			(void)ev->data[ev->data_len - 1];
		for (size_t d = 0; d < ev->ndigests; d++)
			(void)ev->digests[d].bytes[ev->digests[d].size - 1];
	}
	static const uint16_t algs[] = {VTPM_ALG_SHA1, VTPM_ALG_SHA256, VTPM_ALG_SHA384, VTPM_ALG_SHA512};
	uint8_t regs[24][64];
	uint64_t ext;
	for (size_t a = 0; a < sizeof(algs) / sizeof(algs[0]); a++) {
		vtpm_evlog_replay(&log, algs[a], regs, 24, &err);
		vtpm_evlog_replay_range(&log, algs[a], 1, regs, 4, &ext, &err);
	}
	vtpm_evlog_free(&log);
	return 0;
}
