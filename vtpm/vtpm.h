/*
 * vtpm/: the virtual TPM 2.0. The one public header of this directory.
 * Prefix: vtpm_.
 *
 * Sections (each owned by one line of work; keep them apart):
 *   1. TCG crypto-agile event log: parser and replay (also replays TDX CC
 *      event logs for the verifier)
 *   2. Event log writer
 *   3. TPM instance (libtpms), encrypted state, EK provisioning
 *   4. CRB interface model
 *   5. swtpm-compatible socket server
 */
#ifndef VIGIL_VTPM_H
#define VIGIL_VTPM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

/* ========================== 1. Event log: parser and replay =============== */

/* ========================== 2. Event log writer =========================== */

/* ========================== 3. TPM instance, state, EK ==================== */

/* ========================== 4. CRB interface model ======================== */

/* ========================== 5. swtpm-compatible server ==================== */

#endif /* VIGIL_VTPM_H */
