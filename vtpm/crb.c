/*
 * CRB interface model (vtpm.h section 4). TCG PC Client Platform TPM
 * Profile (PTP) for TPM 2.0, section 6.5 (CRB) and 6.5.3 (register space).
 *
 * Every access is decomposed into bytes: a byte in 0x00..0x7F of a locality
 * page belongs to a 32-bit register (reads see the register image, writes
 * are collected per register and applied once), a byte in 0x80..0xFFF is the
 * data buffer. So unaligned and odd-sized accesses behave like byte-enabled
 * bus cycles and never leave the model.
 */
#include <stdlib.h>
#include <string.h>

#include "vtpm/tpm2.h"
#include "vtpm/vtpm.h"

#define NLOC 5
#define NO_LOCALITY 0xFF

/* LOC_STATE bits */
#define LOC_STATE_ESTABLISHED (1u << 0)
#define LOC_STATE_ASSIGNED (1u << 1)
#define LOC_STATE_ACTIVE_SHIFT 2
#define LOC_STATE_REG_VALID (1u << 7)
/* LOC_CTRL bits */
#define LOC_CTRL_REQUEST (1u << 0)
#define LOC_CTRL_RELINQUISH (1u << 1)
#define LOC_CTRL_SEIZE (1u << 2)
#define LOC_CTRL_RESET_ESTABLISHMENT (1u << 3)
/* LOC_STS bits */
#define LOC_STS_GRANTED (1u << 0)
#define LOC_STS_SEIZED (1u << 1)
/* CTRL_REQ / CTRL_STS bits */
#define CTRL_REQ_CMD_READY (1u << 0)
#define CTRL_REQ_GO_IDLE (1u << 1)
#define CTRL_STS_ERROR (1u << 0)
#define CTRL_STS_IDLE (1u << 1)

/* INTF_ID (PTP table 40): CRB type and version, 64-byte transfers, CRB
 * capable and selected, multi-locality capable, VID/DID. */
#define INTF_ID_LO (0x1u | (0x1u << 4) | (1u << 8) | (3u << 11) | (1u << 14) | (1u << 17))
#define INTF_ID_HI (0x1014u | (0x0001u << 16))


struct vtpm_crb {
	uint64_t base;
	vtpm_crb_exec_fn exec;
	vtpm_crb_cancel_fn cancel;
	void *opaque;
	uint8_t active;          /* active locality or NO_LOCALITY */
	bool seized[NLOC];
	bool established;
	bool idle;
	bool error;
	uint32_t cancel_reg;
	uint32_t int_enable;
	uint8_t buffer[VTPM_CRB_BUFFER_SIZE];
	uint8_t rsp[VTPM_CRB_BUFFER_SIZE];
};

struct vtpm_crb *vtpm_crb_new(uint64_t base, vtpm_crb_exec_fn exec, vtpm_crb_cancel_fn cancel,
			      void *opaque)
{
	if (!exec)
		return NULL;
	struct vtpm_crb *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->base = base;
	c->exec = exec;
	c->cancel = cancel;
	c->opaque = opaque;
	vtpm_crb_reset(c);
	return c;
}

void vtpm_crb_free(struct vtpm_crb *crb)
{
	if (!crb)
		return;
	vg_secure_zero(crb, sizeof(*crb));
	free(crb);
}

void vtpm_crb_reset(struct vtpm_crb *c)
{
	c->active = NO_LOCALITY;
	memset(c->seized, 0, sizeof(c->seized));
	c->idle = true;
	c->error = false;
	c->cancel_reg = 0;
	c->int_enable = 0;
	memset(c->buffer, 0, sizeof(c->buffer));
}

static uint32_t reg_read(const struct vtpm_crb *c, unsigned loc, unsigned reg)
{
	uint64_t buf_addr = c->base + (uint64_t)loc * 0x1000 + VTPM_CRB_DATA_BUFFER;
	switch (reg) {
	case VTPM_CRB_LOC_STATE: {
		uint32_t v = LOC_STATE_REG_VALID | (c->established ? LOC_STATE_ESTABLISHED : 0);
		if (c->active != NO_LOCALITY)
			v |= LOC_STATE_ASSIGNED | ((uint32_t)c->active << LOC_STATE_ACTIVE_SHIFT);
		return v;
	}
	case VTPM_CRB_LOC_STS:
		return (c->active == loc ? LOC_STS_GRANTED : 0) | (c->seized[loc] ? LOC_STS_SEIZED : 0);
	case VTPM_CRB_INTF_ID: return INTF_ID_LO;
	case VTPM_CRB_INTF_ID + 4: return INTF_ID_HI;
	case VTPM_CRB_CTRL_REQ: return 0; /* requests complete immediately */
	case VTPM_CRB_CTRL_STS: return (c->error ? CTRL_STS_ERROR : 0) | (c->idle ? CTRL_STS_IDLE : 0);
	case VTPM_CRB_CTRL_CANCEL: return c->cancel_reg;
	case VTPM_CRB_CTRL_START: return 0; /* commands run synchronously */
	case VTPM_CRB_CTRL_INT_ENABLE: return c->int_enable;
	case VTPM_CRB_CTRL_CMD_SIZE:
	case VTPM_CRB_CTRL_RSP_SIZE: return VTPM_CRB_BUFFER_SIZE;
	case VTPM_CRB_CTRL_CMD_LADDR:
	case VTPM_CRB_CTRL_RSP_ADDR: return (uint32_t)buf_addr;
	case VTPM_CRB_CTRL_CMD_HADDR:
	case VTPM_CRB_CTRL_RSP_ADDR + 4: return (uint32_t)(buf_addr >> 32);
	default: return 0;
	}
}

static void error_response(uint8_t *rsp, uint32_t rc)
{
	vg_put_be16(rsp, TPM2_ST_NO_SESSIONS);
	vg_put_be32(rsp + 2, TPM2_HEADER_SIZE);
	vg_put_be32(rsp + 6, rc);
}

static void run_command(struct vtpm_crb *c)
{
	uint32_t len = vg_be32(c->buffer + 2);
	size_t rsp_len = 0;
	if (len < 10 || len > VTPM_CRB_BUFFER_SIZE) {
		memset(c->buffer, 0, sizeof(c->buffer));
		error_response(c->buffer, TPM2_RC_COMMAND_SIZE);
		return;
	}
	int rc = c->exec(c->opaque, c->active, c->buffer, len, c->rsp, sizeof(c->rsp), &rsp_len);
	if (rc || rsp_len < 10 || rsp_len > sizeof(c->rsp)) {
		c->error = true;
		memset(c->buffer, 0, sizeof(c->buffer));
		error_response(c->buffer, TPM2_RC_FAILURE);
		return;
	}
	memcpy(c->buffer, c->rsp, rsp_len);
	memset(c->buffer + rsp_len, 0, sizeof(c->buffer) - rsp_len);
	vg_secure_zero(c->rsp, rsp_len);
}

static void reg_write(struct vtpm_crb *c, unsigned loc, unsigned reg, uint32_t v)
{
	switch (reg) {
	case VTPM_CRB_LOC_CTRL:
		if (v & LOC_CTRL_RESET_ESTABLISHMENT) {
			/* only localities 3 and 4 may reset it (PTP 6.5.3.2) */
			if (loc >= 3)
				c->established = false;
		}
		if (v & LOC_CTRL_RELINQUISH) {
			if (c->active == loc)
				c->active = NO_LOCALITY;
			c->seized[loc] = false;
		}
		if (v & LOC_CTRL_SEIZE) {
			if (c->active != NO_LOCALITY && c->active < loc) {
				c->seized[c->active] = true;
				c->active = (uint8_t)loc;
				c->idle = true;
			}
		} else if (v & LOC_CTRL_REQUEST) {
			if (c->active == NO_LOCALITY) {
				c->active = (uint8_t)loc;
				c->seized[loc] = false;
			}
		}
		return;
	}
	if (c->active != loc)
		return; /* only the active locality drives the interface */
	switch (reg) {
	case VTPM_CRB_CTRL_REQ:
		if (v & CTRL_REQ_CMD_READY) {
			c->idle = false;
			c->error = false;
		} else if (v & CTRL_REQ_GO_IDLE) {
			c->idle = true;
			c->error = false;
		}
		return;
	case VTPM_CRB_CTRL_CANCEL:
		c->cancel_reg = v & 1;
		if ((v & 1) && c->cancel)
			c->cancel(c->opaque);
		return;
	case VTPM_CRB_CTRL_START:
		if ((v & 1) && !c->idle && !c->error)
			run_command(c);
		return;
	case VTPM_CRB_CTRL_INT_ENABLE:
		c->int_enable = v & 0x8000000Fu;
		return;
	default:
		return; /* read-only or reserved */
	}
}

int vtpm_crb_read(struct vtpm_crb *c, uint64_t offset, unsigned size, uint64_t *value)
{
	if (!c || !value || (size != 1 && size != 2 && size != 4 && size != 8))
		return -EINVAL;
	uint64_t v = 0;
	for (unsigned i = 0; i < size; i++) {
		uint64_t a = offset + i;
		uint8_t byte = 0;
		if (a < offset || a >= VTPM_CRB_SIZE) {
			byte = 0xFF; /* unbacked addresses float high */
		} else {
			unsigned loc = (unsigned)(a >> 12), r = (unsigned)(a & 0xFFF);
			if (r >= VTPM_CRB_DATA_BUFFER)
				byte = c->active == loc ? c->buffer[r - VTPM_CRB_DATA_BUFFER] : 0xFF;
			else
				byte = (uint8_t)(reg_read(c, loc, r & ~3u) >> (8 * (r & 3)));
		}
		v |= (uint64_t)byte << (8 * i);
	}
	*value = v;
	return 0;
}

int vtpm_crb_write(struct vtpm_crb *c, uint64_t offset, unsigned size, uint64_t value)
{
	if (!c || (size != 1 && size != 2 && size != 4 && size != 8))
		return -EINVAL;
	/* Collect the bytes meant for each register, apply each register once. */
	int cur_loc = -1, cur_reg = -1;
	uint32_t cur_val = 0;
	for (unsigned i = 0; i <= size; i++) {
		uint64_t a = offset + i;
		int loc = -1, reg = -1;
		bool in = i < size && a >= offset && a < VTPM_CRB_SIZE;
		if (in) {
			loc = (int)(a >> 12);
			unsigned r = (unsigned)(a & 0xFFF);
			if (r >= VTPM_CRB_DATA_BUFFER) {
				if (c->active == loc && !c->idle)
					c->buffer[r - VTPM_CRB_DATA_BUFFER] = (uint8_t)(value >> (8 * i));
			} else {
				reg = (int)(r & ~3u);
			}
		}
		if (cur_reg >= 0 && (reg != cur_reg || loc != cur_loc)) {
			reg_write(c, (unsigned)cur_loc, (unsigned)cur_reg, cur_val);
			cur_reg = -1;
		}
		if (reg >= 0) {
			if (cur_reg < 0) {
				cur_loc = loc;
				cur_reg = reg;
				cur_val = 0;
			}
			cur_val |= (uint32_t)(uint8_t)(value >> (8 * i)) << (8 * ((offset + i) & 3));
		}
	}
	return 0;
}

int vtpm_crb_exec_vtpm(void *opaque, uint8_t locality, const uint8_t *cmd, size_t cmd_len,
		       uint8_t *rsp, size_t rsp_cap, size_t *rsp_len)
{
	return vtpm_execute(opaque, cmd, cmd_len, locality, rsp, rsp_cap, rsp_len, NULL);
}

void vtpm_crb_cancel_vtpm(void *opaque)
{
	vtpm_cancel(opaque);
}
