/*
 * tdx/: Intel TDX. The one public header of this directory. Prefix: tdx_.
 *
 * Sections (each owned by one line of work; keep them apart):
 *   1. DCAP quote format (v4, v5)             (used by attest/ and sim-tdx)
 *   2. MRTD and RTMR model                    (used by vigil measure and sim-tdx)
 *   3. KVM launch flow, TD HOB, simulated platform (used by the VMM's platform seam)
 */
#ifndef VIGIL_TDX_H
#define VIGIL_TDX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

/* ============================================ 1. DCAP quote format ======== */

/* ============================================ 2. MRTD and RTMR model ====== */

/* ===================== 3. KVM launch flow, TD HOB, simulated platform ===== */

#endif /* VIGIL_TDX_H */
