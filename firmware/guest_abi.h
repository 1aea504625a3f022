/*
 * firmware/guest_abi.h: the ABI between Vigil's platform devices and the
 * programs that run in the guest (the C files of firmware/guest/, built freestanding, so
 * this header uses nothing but #define). Included by the devices (vmm/devices/,
 * vtpm/vtpm.h) and by the guest programs; the one place these numbers live.
 * Prefix: FW_ABI_.
 */
#ifndef VIGIL_FIRMWARE_GUEST_ABI_H
#define VIGIL_FIRMWARE_GUEST_ABI_H

/* The TPM CRB interface (TCG PC Client PTP 1.05, 6.5): localities 0..4, one
 * 4 KiB page each, at the standard base. */
#define FW_ABI_TPM_CRB_BASE 0xFED40000ull

/*
 * The guest-request device of the simulated platforms (sim-snp, sim-tdx): the
 * guest's path to the simulated security processor. One 4 KiB MMIO page;
 * requests and responses travel by DMA through guest RAM.
 */
#define FW_ABI_GREQ_BASE 0xFED50000ull
#define FW_ABI_GREQ_SIZE 0x1000ull
#define FW_ABI_GREQ_MAGIC 0x51524756u /* "VGRQ" */
#define FW_ABI_GREQ_VERSION 1u
/* registers (offsets in the page) */
#define FW_ABI_GREQ_REG_MAGIC 0x00         /* u32 r */
#define FW_ABI_GREQ_REG_VERSION 0x04       /* u32 r */
#define FW_ABI_GREQ_REG_STATUS 0x08        /* u32 r  FW_ABI_GREQ_ST_* */
#define FW_ABI_GREQ_REG_RESP_LEN 0x0C      /* u32 r  bytes written at RESP_GPA */
#define FW_ABI_GREQ_REG_REQ_GPA 0x10       /* u64 rw */
#define FW_ABI_GREQ_REG_REQ_LEN 0x18       /* u32 rw at most FW_ABI_GREQ_MAX_REQ */
#define FW_ABI_GREQ_REG_RESP_GPA 0x20      /* u64 rw */
#define FW_ABI_GREQ_REG_RESP_CAP 0x28      /* u32 rw at most FW_ABI_GREQ_MAX_RESP */
#define FW_ABI_GREQ_REG_COMMAND 0x2C       /* u32 w  FW_ABI_GREQ_CMD_SUBMIT */
#define FW_ABI_GREQ_REG_CHALLENGE_LEN 0x30 /* u32 r  64 when the host gave a challenge */
#define FW_ABI_GREQ_REG_PLATFORM 0x34      /* u32 r  FW_ABI_GREQ_PLATFORM_* */
#define FW_ABI_GREQ_REG_CHALLENGE 0x100    /* 64 bytes r: the verifier's nonce */
#define FW_ABI_GREQ_CHALLENGE_SIZE 64u
#define FW_ABI_GREQ_CMD_SUBMIT 1u
#define FW_ABI_GREQ_ST_IDLE 0u
#define FW_ABI_GREQ_ST_DONE 1u
#define FW_ABI_GREQ_ST_BAD 2u      /* bad request: lengths, addresses */
#define FW_ABI_GREQ_ST_PLATFORM 3u /* the platform refused it */
#define FW_ABI_GREQ_PLATFORM_SIM_SNP 1u
#define FW_ABI_GREQ_PLATFORM_SIM_TDX 2u
#define FW_ABI_GREQ_MAX_REQ 4096u
#define FW_ABI_GREQ_MAX_RESP (64u * 1024)
/* Requests: 64 bytes of REPORT_DATA (sim-snp: optionally followed by a u32
 * VMPL; sim-tdx: a quote), or for sim-tdx a u32 RTMR index (2, 3) and a
 * 48-byte digest to extend it with (FW_ABI_GREQ_RTMR_EXTEND_LEN bytes). */
#define FW_ABI_GREQ_REPORT_DATA_SIZE 64u
#define FW_ABI_GREQ_RTMR_EXTEND_LEN 52u
/* sim-snp extended request: REPORT_DATA, u32 VMPL, u32 flags; with
 * FW_ABI_GREQ_SNP_FLAG_EXTENDED the certificate table (sev.h) follows the report in the
 * response, as SNP_GET_EXT_REPORT returns it. */
#define FW_ABI_GREQ_SNP_EXT_REQ_LEN 72u
#define FW_ABI_GREQ_SNP_FLAG_EXTENDED 1u

#endif /* VIGIL_FIRMWARE_GUEST_ABI_H */
