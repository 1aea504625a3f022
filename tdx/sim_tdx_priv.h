/* Private to tdx/: the simulated TDX module and quoting enclave (sim-tdx). */
#ifndef VIGIL_TDX_SIM_TDX_PRIV_H
#define VIGIL_TDX_SIM_TDX_PRIV_H

#include <openssl/bn.h>
#include <openssl/evp.h>

#include "tdx/tdx.h"

/* The simulated platform's PCK identity (what its PCK certificate says). */
static const uint8_t TDX_SIM_PPID[16] = { 0x51, 0x4d, 0x55, 0x4c, 0x41, 0x54, 0x45, 0x44,
					  0x2d, 0x50, 0x50, 0x49, 0x44, 0x2d, 0x30, 0x31 };
static const uint8_t TDX_SIM_CPUSVN[16] = { 3, 3, 2, 2, 2, 1, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0 };
static const uint8_t TDX_SIM_FMSPC[6] = { 0x00, 0x80, 0x6f, 0x05, 0x00, 0x00 };
static const uint8_t TDX_SIM_PCEID[2] = { 0x00, 0x00 };
#define TDX_SIM_PCESVN 13
/* TEE_TCB_SVN of the simulated TDX module (1.5, SVN 3). */
static const uint8_t TDX_SIM_TEE_TCB_SVN[16] = { 3, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
/* Intel's QE vendor ID (939a7233-f79c-4ca9-940a-0db3957f0607) and TD QE identity. */
static const uint8_t TDX_SIM_QE_VENDOR[16] = { 0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
					       0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07 };
#define TDX_SIM_QE_PROD_ID 2
#define TDX_SIM_QE_SVN 4

struct tdx_sim {
	char dir[4096];
	EVP_PKEY *pck; /* signs QE reports */
	EVP_PKEY *ak;  /* the QE's attestation key: signs quotes */
	uint8_t *chain; /* PCK chain PEM, leaf first */
	size_t chain_len;
};

#endif
