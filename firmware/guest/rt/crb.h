/* The guest side of the TPM CRB interface at 0xFED40000 (TCG PC Client PTP
 * 1.05, 6.5), polled: locality 0, PCR_Read and PCR_Extend of the SHA-256 bank.
 * Used by the tpm and reboot guests. */
#ifndef VIGIL_GUEST_CRB_H
#define VIGIL_GUEST_CRB_H

#include <stdint.h>

/* 1 when a TPM answers at the CRB base (an empty bus reads all-ones). */
int crb_present(void);
/* 0 when locality 0 was granted. */
int crb_request_locality(void);
void crb_relinquish(void);
int crb_pcr_read(unsigned pcr, uint8_t out[32]);
int crb_pcr_extend(unsigned pcr, const uint8_t digest[32]);

#endif
