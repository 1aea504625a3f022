/* Private to vmm/: boot paths. */
#ifndef VIGIL_VMM_BOOT_H
#define VIGIL_VMM_BOOT_H

#include "vmm/internal.h"

/* Measured boot's record of one VM. */
struct vmm_mboot {
	struct vmm_measurement meas[8];
	unsigned n_meas;
	struct vtpm_evlog_writer evlog; /* TCG event log, with a vTPM */
	bool evlog_on;
};

int vmm_linux_load(struct vmm *vm, struct vg_err *err);
/* Measured boot: records what was loaded (vTPM PCRs, event log, printout). */
int vmm_measure(struct vmm *vm, enum vmm_image_kind kind, const char *what, const void *data, size_t len);

#endif
