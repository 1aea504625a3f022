/* vtpm/ private helpers shared by the files of this directory only. */
#ifndef VIGIL_VTPM_PRIV_H
#define VIGIL_VTPM_PRIV_H

#include <openssl/evp.h>

#include "vtpm/vtpm.h"

/* OpenSSL digest of a TPM hash algorithm id, or NULL. */
const EVP_MD *vtpm_alg_md(uint16_t alg);
/* reg = H(reg || digest), both of the algorithm's size. */
int vtpm_hash_extend(uint16_t alg, uint8_t *reg, const uint8_t *digest, struct vg_err *err);

/* An existing EK CA in ca_dir must load and match (checked before the state
 * directory is touched); an absent one is fine (made on first use). */
int vtpm_ek_ca_check(const char *ca_dir, struct vg_err *err);
/* First-start EK provisioning (ek.c): EKs, CA, certificates into NV. */
int vtpm_provision_ek(struct vtpm *t, const char *ca_dir, struct vg_err *err);

#endif /* VIGIL_VTPM_PRIV_H */
