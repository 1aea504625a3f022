/*
 * The paravirtual guest-request device of the simulated platforms (sim-snp, sim-tdx):
 * the guest's path to the (simulated) security processor, standing in for the SNP
 * guest-request pages (SNP_GUEST_REQUEST / MSG_REPORT_REQ) and TDG.MR.REPORT + GetQuote.
 * One 4 KiB MMIO page; the register layout, status codes and limits are the guest
 * ABI of firmware/guest_abi.h (FW_ABI_GREQ_*), shared with the guest programs. Every
 * guest-supplied address and length is bounds-checked. The CHALLENGE registers carry
 * the verifier's nonce from the host (vm.json "guest_challenge", --guest-challenge
 * HEX), the stand-in for the network channel a real guest agent receives it on.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/guest_abi.h"
#include "vmm/devices/devices.h"

#define GREQ_MAX_REQ FW_ABI_GREQ_MAX_REQ
#define GREQ_MAX_RESP FW_ABI_GREQ_MAX_RESP
#define CHALLENGE_END (FW_ABI_GREQ_REG_CHALLENGE + FW_ABI_GREQ_CHALLENGE_SIZE)

enum { ST_IDLE = FW_ABI_GREQ_ST_IDLE, ST_DONE = FW_ABI_GREQ_ST_DONE, ST_BAD = FW_ABI_GREQ_ST_BAD,
       ST_PLATFORM = FW_ABI_GREQ_ST_PLATFORM };

struct vmm_greq {
	struct vmm *vm;
	pthread_mutex_t lock;
	uint64_t req_gpa, resp_gpa;
	uint32_t req_len, resp_cap, status, resp_len, platform;
	bool has_challenge;
	uint8_t challenge[FW_ABI_GREQ_CHALLENGE_SIZE];
	uint8_t req[GREQ_MAX_REQ];
	uint8_t resp[GREQ_MAX_RESP];
};

static void submit(struct vmm_greq *g)
{
	struct vg_err err = { 0 };
	g->resp_len = 0;
	uint32_t cap = VG_MIN(g->resp_cap, GREQ_MAX_RESP);
	if (!g->req_len || g->req_len > GREQ_MAX_REQ || !cap ||
	    vmm_mem_read(g->vm, g->req_gpa, g->req, g->req_len, &err) ||
	    !vmm_gpa_ptr(g->vm, g->resp_gpa, cap)) {
		g->status = ST_BAD;
		return;
	}
	size_t n = 0;
	if (vmm_platform_guest_request(g->vm, g->req, g->req_len, g->resp, cap, &n, &err) || n > cap) {
		vg_warn("guest request: %s", err.msg[0] ? err.msg : "response too large");
		g->status = ST_PLATFORM;
		return;
	}
	if (vmm_mem_write(g->vm, g->resp_gpa, g->resp, n, &err)) {
		g->status = ST_BAD;
		return;
	}
	g->resp_len = (uint32_t)n;
	g->status = ST_DONE;
}

static uint64_t greq_read(void *opaque, uint64_t off, unsigned size)
{
	struct vmm_greq *g = opaque;
	uint64_t v = 0;
	pthread_mutex_lock(&g->lock);
	if (off >= FW_ABI_GREQ_REG_CHALLENGE && off + size <= CHALLENGE_END) {
		if (g->has_challenge)
			memcpy(&v, g->challenge + (off - FW_ABI_GREQ_REG_CHALLENGE), size);
	} else {
		switch (off) {
		case FW_ABI_GREQ_REG_MAGIC: v = FW_ABI_GREQ_MAGIC; break;
		case FW_ABI_GREQ_REG_VERSION: v = FW_ABI_GREQ_VERSION; break;
		case FW_ABI_GREQ_REG_STATUS: v = g->status; break;
		case FW_ABI_GREQ_REG_RESP_LEN: v = g->resp_len; break;
		case FW_ABI_GREQ_REG_REQ_GPA: v = g->req_gpa; break;
		case FW_ABI_GREQ_REG_REQ_GPA + 4: v = g->req_gpa >> 32; break;
		case FW_ABI_GREQ_REG_REQ_LEN: v = g->req_len; break;
		case FW_ABI_GREQ_REG_RESP_GPA: v = g->resp_gpa; break;
		case FW_ABI_GREQ_REG_RESP_GPA + 4: v = g->resp_gpa >> 32; break;
		case FW_ABI_GREQ_REG_RESP_CAP: v = g->resp_cap; break;
		case FW_ABI_GREQ_REG_CHALLENGE_LEN: v = g->has_challenge ? FW_ABI_GREQ_CHALLENGE_SIZE : 0; break;
		case FW_ABI_GREQ_REG_PLATFORM: v = g->platform; break;
		default: v = 0; break;
		}
	}
	pthread_mutex_unlock(&g->lock);
	return v;
}

static void set64(uint64_t *reg, uint64_t off_in_reg, unsigned size, uint64_t value)
{
	if (size == 8 && off_in_reg == 0)
		*reg = value;
	else if (size == 4 && off_in_reg == 0)
		*reg = (*reg & ~0xffffffffull) | (uint32_t)value;
	else if (size == 4 && off_in_reg == 4)
		*reg = (*reg & 0xffffffffull) | ((uint64_t)(uint32_t)value << 32);
}

static void greq_write(void *opaque, uint64_t off, unsigned size, uint64_t value)
{
	struct vmm_greq *g = opaque;
	pthread_mutex_lock(&g->lock);
	if (off >= FW_ABI_GREQ_REG_REQ_GPA && off < FW_ABI_GREQ_REG_REQ_GPA + 8)
		set64(&g->req_gpa, off - FW_ABI_GREQ_REG_REQ_GPA, size, value);
	else if (off >= FW_ABI_GREQ_REG_RESP_GPA && off < FW_ABI_GREQ_REG_RESP_GPA + 8)
		set64(&g->resp_gpa, off - FW_ABI_GREQ_REG_RESP_GPA, size, value);
	else if (off == FW_ABI_GREQ_REG_REQ_LEN && size >= 4)
		g->req_len = (uint32_t)value;
	else if (off == FW_ABI_GREQ_REG_RESP_CAP && size >= 4)
		g->resp_cap = (uint32_t)value;
	else if (off == FW_ABI_GREQ_REG_COMMAND && size >= 4 && (uint32_t)value == FW_ABI_GREQ_CMD_SUBMIT)
		submit(g);
	/* Anything else (read-only registers, odd sizes) is dropped, like hardware. */
	pthread_mutex_unlock(&g->lock);
}

static const struct vmm_dev_ops greq_ops = {
	.name = "guest-request",
	.read = greq_read,
	.write = greq_write,
};

int vmm_guest_request_register(struct vmm *vm, uint32_t platform, struct vmm_greq **out, struct vg_err *err)
{
	*out = NULL;
	struct vmm_greq *g = calloc(1, sizeof(*g));
	if (!g)
		return vg_err_set(err, ENOMEM, "guest-request device: out of memory");
	g->vm = vm;
	g->platform = platform;
	pthread_mutex_init(&g->lock, NULL);
	const struct vmm_config *c = vmm_get_config(vm);
	if (c->has_guest_challenge) {
		memcpy(g->challenge, c->guest_challenge, sizeof(g->challenge));
		g->has_challenge = true;
	}
	int rc = vmm_register_device(vm, VMM_SPACE_MMIO, FW_ABI_GREQ_BASE, FW_ABI_GREQ_SIZE, &greq_ops, g, err);
	if (rc) {
		pthread_mutex_destroy(&g->lock);
		free(g);
		return rc;
	}
	*out = g;
	return 0;
}

void vmm_guest_request_free(struct vmm_greq *g)
{
	if (!g)
		return;
	pthread_mutex_destroy(&g->lock);
	vg_secure_zero(g->resp, sizeof(g->resp));
	free(g);
}
