/* Private to vmm/: the TPM CRB device at 0xFED40000 (vtpm/ CRB model). */
#ifndef VIGIL_VMM_CRB_H
#define VIGIL_VMM_CRB_H

#include "vmm/internal.h"

int vmm_crb_setup(struct vmm *vm, struct vg_err *err);
void vmm_crb_teardown(struct vmm *vm);
/* Extends a PCR with a SHA-256 digest through the vTPM (measured boot). */
int vmm_crb_extend(struct vmm *vm, unsigned pcr, const uint8_t digest[32], struct vg_err *err);
/* After the jail is entered, before the vCPUs run: opens the TPM (state,
 * key), TPM2_Startup, extends the recorded measurements. */
int vmm_crb_start(struct vmm *vm, struct vg_err *err);
/* The main loop polls this fd and calls vmm_crb_service when it is readable. */
int vmm_crb_fd(const struct vmm *vm);
void vmm_crb_service(struct vmm *vm);
/* Releases a vCPU waiting for a command (the VM is stopping). */
void vmm_crb_stop(struct vmm *vm);
/* Saves the vTPM state (at shutdown). */
int vmm_crb_save(struct vmm *vm, struct vg_err *err);

#endif
