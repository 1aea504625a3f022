/* Fuzz target: the SEV-SNP report parser; a parsed report must serialize and reparse identically. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sev/sev.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sev_snp_report r, back;
	uint8_t out[SEV_SNP_REPORT_SIZE];
	/* Any length, and the exact report size with the input as a prefix. */
	sev_snp_report_parse(data, size, &r, NULL);
	uint8_t buf[SEV_SNP_REPORT_SIZE] = {0};
	memcpy(buf, data, size < sizeof(buf) ? size : sizeof(buf));
	if (sev_snp_report_parse(buf, sizeof(buf), &r, NULL) == 0) {
		sev_snp_report_serialize(&r, out);
		if (sev_snp_report_parse(out, sizeof(out), &back, NULL) != 0 || memcmp(&r, &back, sizeof(r)) != 0)
			__builtin_trap();
		struct sev_snp_tcb t;
		sev_snp_tcb_decode(r.reported_tcb, sev_snp_product_from_cpuid(r.cpuid_fam_id, r.cpuid_mod_id), &t);
	}
	return 0;
}
