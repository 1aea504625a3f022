/*
 * attest: asks the (simulated) security processor for evidence through the
 * guest-request device and prints it over the serial port in hex.
 *
 *   REPORT_DATA = the host-supplied challenge (the verifier's nonce) when there is one,
 *                 else 64 zero bytes
 *   serial:  "attest: report_data <128 hex>"
 *            "attest: evidence <N> bytes"
 *            "EVIDENCE-BEGIN" / lines of 64 hex digits / "EVIDENCE-END"
 *   sim-snp: an extended request (flags bit 0), so the platform's certificate table (VCEK,
 *            ASK, ARK; sev.h) follows the report, as SNP_GET_EXT_REPORT gives it:
 *            "attest: certificate table <N> bytes", "CERTTABLE-BEGIN" / hex / "CERTTABLE-END"
 *   exit:    0 evidence printed, 1 no device, 2 the platform refused the request
 * On sim-tdx it first extends RTMR2 with SHA-384("vigil attest guest v1"), as a TD's OS
 * measures what it runs (printed as "attest: rtmr2 extended with <96 hex>").
 *
 * The image carries an OVMF-style GUIDed footer table with SEV metadata (SEC_MEM,
 * SECRETS, CPUID), an SEV-ES reset block and TDVF metadata (BFV measured, TempMem,
 * TD_HOB), so `vigil measure snp|tdx --firmware attest.bin` predicts exactly what the
 * simulated platforms measure. sev/sim_guest.mk places the table so it ends 32 bytes
 * before 4 GiB, where firmware tables live.
 */
#include <stdbool.h>
#include <stddef.h>

#include "../guest_abi.h"
#include "rt.h"
#include "ovmf_footer.h"
#include "tdvf_table.h"

#define GREQ FW_ABI_GREQ_BASE
#define REQ_BUF 0x100000ull  /* 1 MiB: identity-mapped RAM the VMM reads the request from */
#define RESP_BUF 0x101000ull /* the VMM writes the evidence here */
#define RESP_CAP 0x8000u

static inline void mmio_write64(uint64_t a, uint64_t v) { *(volatile uint64_t *)a = v; }

/* SHA-384("vigil attest guest v1"): what this guest "measures" into RTMR2 on TDX. */
static const uint8_t APP_DIGEST[48] = {
	0x11, 0xae, 0x8f, 0x2b, 0x1f, 0xc2, 0x34, 0x88, 0xc3, 0xfd, 0x5d, 0x58, 0x92, 0xf9, 0x78, 0xd0,
	0x50, 0x5f, 0xc9, 0x0a, 0xb4, 0x1f, 0x40, 0x16, 0xa4, 0xdd, 0xe1, 0x8a, 0xbe, 0x5c, 0x5a, 0x1a,
	0x9e, 0x2a, 0x17, 0xb7, 0xde, 0xfe, 0x67, 0x7a, 0x5b, 0x35, 0xb7, 0xf0, 0xb3, 0x4d, 0x48, 0x91,
};

#define SNP_REPORT_LEN 1184u

/* NAME-BEGIN, the bytes as lines of 64 hex digits, NAME-END. */
static void print_block(const char *name, const uint8_t *p, uint32_t len)
{
	puts_serial(name);
	puts_serial("-BEGIN\n");
	for (uint32_t off = 0; off < len; off += 32) {
		put_bytes_hex(p + off, len - off < 32 ? len - off : 32);
		putc_serial('\n');
	}
	puts_serial(name);
	puts_serial("-END\n");
}

/* One request through the device; returns STATUS. */
static uint32_t request(uint32_t len)
{
	mmio_write64(GREQ + FW_ABI_GREQ_REG_REQ_GPA, REQ_BUF);
	mmio_write32(GREQ + FW_ABI_GREQ_REG_REQ_LEN, len);
	mmio_write64(GREQ + FW_ABI_GREQ_REG_RESP_GPA, RESP_BUF);
	mmio_write32(GREQ + FW_ABI_GREQ_REG_RESP_CAP, RESP_CAP);
	mmio_write32(GREQ + FW_ABI_GREQ_REG_COMMAND, FW_ABI_GREQ_CMD_SUBMIT);
	return mmio_read32(GREQ + FW_ABI_GREQ_REG_STATUS);
}

int main(void)
{
	puts_serial("attest: start\n");
	uint32_t sig, b, c, d; /* the CPU model the platform presents (leaf 1 EAX) */
	__asm__ volatile("cpuid" : "=a"(sig), "=b"(b), "=c"(c), "=d"(d) : "a"(1u), "c"(0u));
	puts_serial("attest: cpu signature ");
	put_hex(sig, 8);
	puts_serial("\n");
	if (mmio_read32(GREQ + FW_ABI_GREQ_REG_MAGIC) != FW_ABI_GREQ_MAGIC) {
		puts_serial("attest: no guest-request device (platform is not sim-snp or sim-tdx)\n");
		return 1;
	}
	uint8_t *req = (uint8_t *)REQ_BUF;
	if (mmio_read32(GREQ + FW_ABI_GREQ_REG_PLATFORM) == FW_ABI_GREQ_PLATFORM_SIM_TDX) { /* sim-tdx: TDG.MR.RTMR.EXTEND of RTMR2 */
		uint32_t idx = 2;
		memcpy(req, &idx, 4);
		memcpy(req + 4, APP_DIGEST, 48);
		if (request(FW_ABI_GREQ_RTMR_EXTEND_LEN) != FW_ABI_GREQ_ST_DONE) {
			puts_serial("attest: RTMR2 extend refused\n");
			return 2;
		}
		puts_serial("attest: rtmr2 extended with ");
		put_bytes_hex(APP_DIGEST, 48);
		puts_serial("\n");
	}
	if (mmio_read32(GREQ + FW_ABI_GREQ_REG_CHALLENGE_LEN) == FW_ABI_GREQ_CHALLENGE_SIZE) {
		for (unsigned i = 0; i < 64; i += 4) {
			uint32_t w = mmio_read32(GREQ + FW_ABI_GREQ_REG_CHALLENGE + i);
			memcpy(req + i, &w, 4);
		}
	} else {
		memset(req, 0, 64);
		puts_serial("attest: no challenge from the host; REPORT_DATA is zero\n");
	}
	puts_serial("attest: report_data ");
	put_bytes_hex(req, 64);
	puts_serial("\n");
	bool snp = mmio_read32(GREQ + FW_ABI_GREQ_REG_PLATFORM) == FW_ABI_GREQ_PLATFORM_SIM_SNP;
	uint32_t req_len = FW_ABI_GREQ_REPORT_DATA_SIZE;
	if (snp) { /* u32 VMPL 0, u32 flags: an extended request */
		uint32_t vmpl = 0, flags = FW_ABI_GREQ_SNP_FLAG_EXTENDED;
		memcpy(req + FW_ABI_GREQ_REPORT_DATA_SIZE, &vmpl, 4);
		memcpy(req + FW_ABI_GREQ_REPORT_DATA_SIZE + 4, &flags, 4);
		req_len = FW_ABI_GREQ_SNP_EXT_REQ_LEN;
	}
	uint32_t status = request(req_len);
	uint32_t len = mmio_read32(GREQ + FW_ABI_GREQ_REG_RESP_LEN);
	if (status != FW_ABI_GREQ_ST_DONE || len == 0 || len > RESP_CAP || (snp && len < SNP_REPORT_LEN)) {
		puts_serial("attest: request failed, status ");
		put_dec(status);
		puts_serial("\n");
		return 2;
	}
	const uint8_t *resp = (const uint8_t *)RESP_BUF;
	uint32_t ev_len = snp ? SNP_REPORT_LEN : len;
	puts_serial("attest: evidence ");
	put_dec(ev_len);
	puts_serial(" bytes\n");
	print_block("EVIDENCE", resp, ev_len);
	if (len > ev_len) {
		puts_serial("attest: certificate table ");
		put_dec(len - ev_len);
		puts_serial(" bytes\n");
		print_block("CERTTABLE", resp + ev_len, len - ev_len);
	}
	return 0;
}

/* ------------------------------------------------ firmware metadata for measurement */
struct fw_tables {
	uint8_t pad[8]; /* the compiler aligns the object to 32 bytes: 256 in all */
	/* SEV metadata ("ASEV", OVMF ResetVector/X64/OvmfSevMetadata.asm) */
	char asev[4];
	uint32_t asev_len, asev_version, asev_n;
	struct sev_item sev[3];
	/* TDX metadata ("TDVF", TDVF design guide 11.1) */
	struct tdvf_desc tdvf;
	/* GUIDed footer table entries, read backwards from the footer */
	struct entry4 tdx_off, sev_off, reset_eip;
	uint16_t table_len;
	uint8_t footer_guid[16];
} __attribute__((packed));

__attribute__((used, retain, section(".ovmf_table"))) static const struct fw_tables fw_tables = {
	.asev = { 'A', 'S', 'E', 'V' },
	.asev_len = 16 + 3 * sizeof(struct sev_item),
	.asev_version = 1,
	.asev_n = 3,
	.sev = {
		{ 0x1E0000, 0x10000, 1 }, /* SEC_MEM: zero pages */
		{ 0x1F0000, 0x1000, 2 },  /* SECRETS */
		{ 0x1F1000, 0x1000, 3 },  /* CPUID */
	},
	.tdvf = GUEST_TDVF_DESC(ROM_BASE, ROM_SIZE, 0x1F0000),
	/* e47a6535-984a-4798-865e-4685a7bf8ec2 */
	.tdx_off = { OFF_FROM_END(tdvf), 22, GUEST_GUID_TDX_METADATA },
	.sev_off = { OFF_FROM_END(asev), 22, GUEST_GUID_SEV_METADATA },
	/* 00f771de-1a7e-4fcb-890e-68c77e2fb44e: SEV-ES AP reset EIP (the ROM's 16-bit entry) */
	.reset_eip = { (uint32_t)ROM_BASE, 22, GUEST_GUID_SEV_ES_RESET },
	.table_len = 3 * sizeof(struct entry4) + 18,
	.footer_guid = GUEST_GUID_FOOTER,
};
_Static_assert(sizeof(struct fw_tables) == 256, "footer tables layout (sev/sim_guest.mk places them)");
