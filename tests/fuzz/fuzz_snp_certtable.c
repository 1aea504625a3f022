/* Fuzz target: the SNP certificate table (configfs-tsm auxblob, SNP_GET_EXT_REPORT) and the
 * guest serial evidence block, as vigil-agent reads them. Every certificate view must lie
 * inside the input; a parsed table must re-encode to a table that parses the same way. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sev_cert c[SEV_CERT_TABLE_MAX], c2[SEV_CERT_TABLE_MAX];
	size_t n = 0, n2 = 0;
	if (sev_snp_cert_table_parse(data, size, c, &n, NULL) == 0) {
		size_t keep = 0;
		for (size_t i = 0; i < n; i++) {
			if (c[i].data < data || c[i].data + c[i].len > data + size)
				abort();
			(void)c[i].data[c[i].len - 1];
			if (c[i].type != SEV_CERT_OTHER)
				c[keep++] = c[i];
		}
		uint8_t *t = NULL;
		size_t tl = 0;
		if (sev_snp_cert_table_build(c, keep, &t, &tl, NULL) == 0) {
			if (sev_snp_cert_table_parse(t, tl, c2, &n2, NULL) || n2 != keep)
				abort();
			for (size_t i = 0; i < keep; i++)
				if (c2[i].type != c[i].type || c2[i].len != c[i].len || memcmp(c2[i].data, c[i].data, c[i].len))
					abort();
			free(t);
		}
	}
	uint8_t *ev = NULL;
	size_t el = 0;
	if (ag_serial_block((const char *)data, size, "EVIDENCE", &ev, &el, NULL) == 0) {
		if (!el || el > AG_EVIDENCE_MAX)
			abort();
		free(ev);
	}
	return 0;
}
