/*
 * sev/: AMD SEV, SEV-ES and SEV-SNP. The one public header of this directory.
 * Prefix: sev_.
 *
 * Sections (each owned by one line of work; keep them apart):
 *   1. SNP attestation report format        (used by attest/ and sim-snp)
 *   2. Launch digests and VMSA               (used by vigil measure and sim-snp)
 *   3. KVM launch flow and simulated platform (used by the VMM's platform seam)
 */
#ifndef VIGIL_SEV_H
#define VIGIL_SEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

/* ===================================== 1. SNP attestation report format === */

/* ======================================= 2. Launch digests and VMSA ======== */

/* ========================= 3. KVM launch flow and simulated platform ====== */

#endif /* VIGIL_SEV_H */
