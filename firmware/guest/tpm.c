/* tpm: talks to the TPM through the CRB interface at 0xFED40000 (TCG PC
 * Client PTP 1.05, 6.5): reads PCR 0 (the VMM measured this firmware into
 * it), extends PCR 16 with SHA-256("vigil tpm guest"), reads it back and
 * exits 0 only if the TPM's value equals SHA-256(old || digest) computed here. */
#include "crb.h"
#include "rt.h"
#include "sha256.h"

static int fail(const char *what)
{
	puts_serial("tpm: FAIL: ");
	puts_serial(what);
	putc_serial('\n');
	return 1;
}

int main(void)
{
	if (crb_request_locality())
		return fail("locality 0 not granted");
	uint8_t pcr0[32], before[32], after[32], digest[32], expect[32], buf[64];
	if (crb_pcr_read(0, pcr0))
		return fail("PCR_Read 0");
	puts_serial("tpm: pcr0 ");
	put_bytes_hex(pcr0, 32);
	putc_serial('\n');
	if (crb_pcr_read(16, before))
		return fail("PCR_Read 16");
	static const char msg[] = "vigil tpm guest";
	sha256(msg, sizeof(msg) - 1, digest);
	if (crb_pcr_extend(16, digest))
		return fail("PCR_Extend 16");
	if (crb_pcr_read(16, after))
		return fail("PCR_Read 16 after extend");
	memcpy(buf, before, 32);
	memcpy(buf + 32, digest, 32);
	sha256(buf, 64, expect);
	puts_serial("tpm: pcr16 ");
	put_bytes_hex(after, 32);
	putc_serial('\n');
	if (memcmp(after, expect, 32) != 0)
		return fail("PCR 16 differs from SHA-256(old || digest)");
	crb_relinquish();
	puts_serial("tpm: PCR_Extend verified\n");
	return 0;
}
