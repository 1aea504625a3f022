/* Private to sev/: the simulated AMD secure processor (sim-snp). */
#ifndef VIGIL_SEV_SIM_SNP_PRIV_H
#define VIGIL_SEV_SIM_SNP_PRIV_H

#include <openssl/bn.h>
#include <openssl/evp.h>

#include "sev/sev.h"

/* The TCB the simulated platform runs (Genoa layout; values like a 2024 Genoa). */
#define SEV_SIM_SNP_TCB_BL 7
#define SEV_SIM_SNP_TCB_TEE 0
#define SEV_SIM_SNP_TCB_SNP 17
#define SEV_SIM_SNP_TCB_UCODE 72
/* Firmware version reported as current and committed (1.55 build 33). */
#define SEV_SIM_SNP_FW_MAJOR 1
#define SEV_SIM_SNP_FW_MINOR 55
#define SEV_SIM_SNP_FW_BUILD 33
/* CPUID of a Genoa (family 19h, model 11h, stepping 1). */
#define SEV_SIM_SNP_CPUID_FAM 0x19
#define SEV_SIM_SNP_CPUID_MOD 0x11
#define SEV_SIM_SNP_CPUID_STEP 0x01

struct sev_sim_snp {
	char dir[4096];
	EVP_PKEY *vcek;
	uint8_t chip_id[64];
	uint64_t tcb;
};

#endif
