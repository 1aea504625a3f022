/* The guest side of the TPM CRB interface (crb.h). */
#include "../../guest_abi.h"
#include "crb.h"
#include "rt.h"

#define CRB FW_ABI_TPM_CRB_BASE
#define LOC_STATE 0x00
#define LOC_CTRL 0x08
#define LOC_STS 0x0C
#define CTRL_REQ 0x40
#define CTRL_STS 0x44
#define CTRL_START 0x4C
#define DATA 0x80
#define SPIN 100000

static uint8_t rsp[512];

static void put_be16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v; }
static void put_be32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (24 - 8 * i));
}
static uint32_t be32(const uint8_t *p) { return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3]; }

static int wait_clear(uint64_t reg, uint32_t bit)
{
	for (int i = 0; i < SPIN; i++)
		if (!(mmio_read32(CRB + reg) & bit))
			return 0;
	return -1;
}

/* Sends one command; returns the response code, or -1 on an interface error. */
static long transact(const uint8_t *cmd, uint32_t len, uint32_t *rsp_len)
{
	mmio_write32(CRB + CTRL_REQ, 1); /* cmdReady */
	if (wait_clear(CTRL_REQ, 1) || (mmio_read32(CRB + CTRL_STS) & 1))
		return -1;
	for (uint32_t i = 0; i < len; i++)
		mmio_write8(CRB + DATA + i, cmd[i]);
	mmio_write32(CRB + CTRL_START, 1);
	if (wait_clear(CTRL_START, 1))
		return -1;
	for (int i = 0; i < 10; i++)
		rsp[i] = mmio_read8(CRB + DATA + i);
	uint32_t n = be32(rsp + 2);
	if (n < 10 || n > sizeof(rsp))
		return -1;
	for (uint32_t i = 10; i < n; i++)
		rsp[i] = mmio_read8(CRB + DATA + i);
	*rsp_len = n;
	return (long)be32(rsp + 6);
}

int crb_pcr_read(unsigned pcr, uint8_t out[32])
{
	uint8_t cmd[20];
	put_be16(cmd, 0x8001);           /* TPM_ST_NO_SESSIONS */
	put_be32(cmd + 2, sizeof(cmd));
	put_be32(cmd + 6, 0x0000017E);   /* TPM_CC_PCR_Read */
	put_be32(cmd + 10, 1);           /* one selection */
	put_be16(cmd + 14, 0x000B);      /* SHA-256 */
	cmd[16] = 3;
	cmd[17] = cmd[18] = cmd[19] = 0;
	cmd[17 + pcr / 8] = (uint8_t)(1u << (pcr % 8));
	uint32_t n;
	long rc = transact(cmd, sizeof(cmd), &n);
	/* rsp: header(10) updateCounter(4) selection(10) count(4) size(2) digest(32) */
	if (rc != 0 || n < 62 || be32(rsp + 24) != 1 || rsp[28] != 0 || rsp[29] != 32)
		return -1;
	memcpy(out, rsp + 30, 32);
	return 0;
}

int crb_pcr_extend(unsigned pcr, const uint8_t digest[32])
{
	uint8_t cmd[65];
	put_be16(cmd, 0x8002);           /* TPM_ST_SESSIONS */
	put_be32(cmd + 2, sizeof(cmd));
	put_be32(cmd + 6, 0x00000182);   /* TPM_CC_PCR_Extend */
	put_be32(cmd + 10, pcr);
	put_be32(cmd + 14, 9);           /* authorization area: password session, empty */
	put_be32(cmd + 18, 0x40000009);  /* TPM_RS_PW */
	put_be16(cmd + 22, 0);
	cmd[24] = 0;
	put_be16(cmd + 25, 0);
	put_be32(cmd + 27, 1);           /* TPML_DIGEST_VALUES: one */
	put_be16(cmd + 31, 0x000B);
	memcpy(cmd + 33, digest, 32);
	uint32_t n;
	return transact(cmd, sizeof(cmd), &n) == 0 ? 0 : -1;
}

int crb_present(void) { return mmio_read32(CRB + LOC_STATE) != 0xFFFFFFFFu; }

int crb_request_locality(void)
{
	mmio_write32(CRB + LOC_CTRL, 1); /* requestAccess, locality 0 */
	int i;
	for (i = 0; i < SPIN && !(mmio_read32(CRB + LOC_STS) & 1); i++)
		;
	return i == SPIN || !(mmio_read32(CRB + LOC_STATE) & 0x2) ? -1 : 0;
}

void crb_relinquish(void) { mmio_write32(CRB + LOC_CTRL, 2); }
