/*
 * vtpm/ private: the TPM 2.0 constants this directory uses (TPM 2.0 Library
 * Specification, Part 2: Structures) and the one command builder. Included
 * by the files of vtpm/ only.
 */
#ifndef VIGIL_VTPM_TPM2_H
#define VIGIL_VTPM_TPM2_H

#include <stdint.h>

#include "vtpm/vtpm.h"

/* TPM_ST (Part 2, 6.9) and the command/response header */
#define TPM2_ST_NO_SESSIONS 0x8001u
#define TPM2_ST_SESSIONS 0x8002u
#define TPM2_HEADER_SIZE 10u /* tag, size, command code / response code */

/* TPM_CC (Part 2, 6.5.2) */
#define TPM2_CC_NV_DEFINE_SPACE 0x0000012Au
#define TPM2_CC_CREATE_PRIMARY 0x00000131u
#define TPM2_CC_NV_WRITE 0x00000137u
#define TPM2_CC_NV_WRITELOCK 0x00000138u
#define TPM2_CC_STARTUP 0x00000144u
#define TPM2_CC_FLUSH_CONTEXT 0x00000165u
#define TPM2_CC_GET_CAPABILITY 0x0000017Au
#define TPM2_CC_PCR_READ 0x0000017Eu
#define TPM2_CC_PCR_EXTEND 0x00000182u

/* TPM_RC (Part 2, 6.6) */
#define TPM2_RC_SUCCESS 0x000u
#define TPM2_RC_INITIALIZE 0x100u
#define TPM2_RC_FAILURE 0x101u
#define TPM2_RC_COMMAND_SIZE 0x142u

/* TPM_SU (Part 2, 6.10) */
#define TPM2_SU_CLEAR 0x0000u
#define TPM2_SU_STATE 0x0001u

/* Handles (Part 2, 7.4) */
#define TPM2_RS_PW 0x40000009u
#define TPM2_RH_ENDORSEMENT 0x4000000Bu
#define TPM2_RH_PLATFORM 0x4000000Cu

/* Capabilities and properties (Part 2, 6.12, 6.13) */
#define TPM2_CAP_TPM_PROPERTIES 0x00000006u
#define TPM2_PT_MANUFACTURER 0x00000105u
#define TPM2_PT_FIRMWARE_VERSION_1 0x0000010Bu

/* Algorithms (TCG Algorithm Registry); hash ids are VTPM_ALG_* in vtpm.h */
#define TPM2_ALG_RSA 0x0001u
#define TPM2_ALG_AES 0x0006u
#define TPM2_ALG_NULL 0x0010u
#define TPM2_ALG_ECC 0x0023u
#define TPM2_ALG_CFB 0x0043u
#define TPM2_ECC_NIST_P256 0x0003u

/*
 * The command builder: begin with the tag and command code, append
 * big-endian fields (a failed append is remembered and reported by
 * vtpm_cmd_run as out of memory), run. vtpm_cmd_run patches the size,
 * executes at locality 0, zeroizes and frees the command, and fails with
 * "<what> failed: TPM rc 0x..." on a TPM error unless tpm_rc is given.
 */
struct vtpm_cmd {
	struct vg_buf b;
	int rc;
};

void vtpm_cmd_begin(struct vtpm_cmd *c, uint16_t tag, uint32_t cc);
void vtpm_cmd_u8(struct vtpm_cmd *c, uint8_t v);
void vtpm_cmd_u16(struct vtpm_cmd *c, uint16_t v);
void vtpm_cmd_u32(struct vtpm_cmd *c, uint32_t v);
void vtpm_cmd_bytes(struct vtpm_cmd *c, const void *p, size_t n);
/* TPM2B: u16 size, then the bytes. */
void vtpm_cmd_2b(struct vtpm_cmd *c, const void *p, uint16_t n);
/* An authorization area with one password session (TPM_RS_PW), empty auth. */
void vtpm_cmd_pw_session(struct vtpm_cmd *c);
int vtpm_cmd_run(struct vtpm *t, struct vtpm_cmd *c, const char *what, uint8_t *rsp, size_t cap, size_t *rsp_len,
		 uint32_t *tpm_rc, struct vg_err *err);

#endif /* VIGIL_VTPM_TPM2_H */
