/* vtpm/ private helpers shared by the files of this directory only. */
#ifndef VIGIL_VTPM_PRIV_H
#define VIGIL_VTPM_PRIV_H

#include <openssl/evp.h>

#include "vtpm/vtpm.h"

/* OpenSSL digest of a TPM hash algorithm id, or NULL. */
const EVP_MD *vtpm_alg_md(uint16_t alg);
/* reg = H(reg || digest), both of the algorithm's size. */
int vtpm_hash_extend(uint16_t alg, uint8_t *reg, const uint8_t *digest, struct vg_err *err);

/* Big-endian appenders for building TPM commands. */
static inline int vtpm_put_u8(struct vg_buf *b, uint8_t v) { return vg_buf_append(b, &v, 1); }
static inline int vtpm_put_u16(struct vg_buf *b, uint16_t v)
{
	uint8_t p[2];
	vg_put_be16(p, v);
	return vg_buf_append(b, p, 2);
}
static inline int vtpm_put_u32(struct vg_buf *b, uint32_t v)
{
	uint8_t p[4];
	vg_put_be32(p, v);
	return vg_buf_append(b, p, 4);
}
/* TPM2B: u16 size then the bytes. */
static inline int vtpm_put_2b(struct vg_buf *b, const void *p, uint16_t n)
{
	return vtpm_put_u16(b, n) || (n && vg_buf_append(b, p, n)) ? -ENOMEM : 0;
}
/* Patches the commandSize field once the command is complete. */
static inline void vtpm_cmd_finish(struct vg_buf *b) { vg_put_be32(b->data + 2, (uint32_t)b->len); }

/* Finishes and runs the command in b at locality 0, then frees b. A
 * non-zero build_rc (a failed append) reports out of memory. A TPM error
 * response fails with "<what> failed: TPM rc 0x..." unless tpm_rc is given,
 * which then receives the response code. */
int vtpm_call(struct vtpm *t, struct vg_buf *b, int build_rc, const char *what, uint8_t *rsp, size_t cap,
	      size_t *rsp_len, uint32_t *tpm_rc, struct vg_err *err);
/* First-start EK provisioning (ek.c): EKs, CA, certificates into NV. */
int vtpm_provision_ek(struct vtpm *t, const char *ca_dir, struct vg_err *err);

#endif /* VIGIL_VTPM_PRIV_H */
