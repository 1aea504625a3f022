/* agent/ private helpers shared by its files (not a public header). */
#ifndef VIGIL_AGENT_INTERNAL_H
#define VIGIL_AGENT_INTERNAL_H

#include "agent/agent.h"

/* The evidence carries exactly REPORT_DATA rd (tee "snp" or "tdx"). */
int ag_evidence_check_binding(const char *tee, const uint8_t *ev, size_t len, const uint8_t rd[AG_REPORT_DATA_LEN],
			      struct vg_err *err);
/* Reads a file to EOF, at most max bytes (configfs and sysfs report sizes that are not the
 * content's: never trust st_size). -EFBIG when longer. */
int ag_read_bounded(const char *path, size_t max, uint8_t **out, size_t *len, struct vg_err *err);

#endif
