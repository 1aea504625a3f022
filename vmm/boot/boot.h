/* Private to vmm/: boot paths. */
#ifndef VIGIL_VMM_BOOT_H
#define VIGIL_VMM_BOOT_H

#include "vmm/internal.h"

int vmm_linux_load(struct vmm *vm, struct vg_err *err);
/* Measured boot: records what was loaded (vTPM PCRs, event log, printout). */
int vmm_measure(struct vmm *vm, enum vmm_image_kind kind, const char *what, const void *data, size_t len);

#endif
