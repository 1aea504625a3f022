/*
 * The paravirtual guest-request device of the simulated platforms (sim-snp, sim-tdx):
 * the guest's path to the (simulated) security processor, standing in for the SNP
 * guest-request pages (SNP_GUEST_REQUEST / MSG_REPORT_REQ) and TDG.MR.REPORT + GetQuote.
 * One 4 KiB MMIO page at VMM_GREQ_BASE; requests and responses travel by DMA through
 * guest RAM, every guest-supplied address and length bounds-checked.
 *
 *   0x00 u32 r   MAGIC "VGRQ" (0x51524756)     0x04 u32 r   VERSION (1)
 *   0x08 u32 r   STATUS (0 idle, 1 done, 2 bad request, 3 platform error)
 *   0x0C u32 r   RESP_LEN (bytes written at RESP_GPA)
 *   0x10 u64 rw  REQ_GPA     0x18 u32 rw REQ_LEN (at most 4096)
 *   0x20 u64 rw  RESP_GPA    0x28 u32 rw RESP_CAP (at most 64 KiB)
 *   0x2C u32 w   COMMAND: 1 = submit the request to the platform
 *   0x30 u32 r   CHALLENGE_LEN (64 when the host supplied a challenge, else 0)
 *   0x34 u32 r   PLATFORM (1 sim-snp, 2 sim-tdx): what requests mean
 *   0x100..0x13F r  CHALLENGE: the verifier's nonce, from the host (vm.json
 *                "guest_challenge", --guest-challenge HEX), the stand-in for the network
 *                channel a real guest agent receives its nonce on.
 * A request is what the platform's guest_request hook takes: 64 bytes of REPORT_DATA
 * (sim-snp: optionally followed by a u32 VMPL; sim-tdx: a quote), or for sim-tdx a
 * u32 RTMR index (2, 3) and a 48-byte digest to extend it with.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/devices/devices.h"

#define GREQ_MAGIC 0x51524756u
#define GREQ_MAX_REQ 4096u
#define GREQ_MAX_RESP (64u * 1024)
#define GREQ_BASE 0xFED50000ull
#define GREQ_SIZE 0x1000ull

enum { ST_IDLE = 0, ST_DONE = 1, ST_BAD = 2, ST_PLATFORM = 3 };

struct vmm_greq {
	struct vmm *vm;
	pthread_mutex_t lock;
	uint64_t req_gpa, resp_gpa;
	uint32_t req_len, resp_cap, status, resp_len, platform;
	bool has_challenge;
	uint8_t challenge[64];
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
	if (off >= 0x100 && off + size <= 0x140) {
		if (g->has_challenge)
			memcpy(&v, g->challenge + (off - 0x100), size);
	} else {
		switch (off) {
		case 0x00: v = GREQ_MAGIC; break;
		case 0x04: v = 1; break;
		case 0x08: v = g->status; break;
		case 0x0C: v = g->resp_len; break;
		case 0x10: v = g->req_gpa; break;
		case 0x14: v = g->req_gpa >> 32; break;
		case 0x18: v = g->req_len; break;
		case 0x20: v = g->resp_gpa; break;
		case 0x24: v = g->resp_gpa >> 32; break;
		case 0x28: v = g->resp_cap; break;
		case 0x30: v = g->has_challenge ? 64 : 0; break;
		case 0x34: v = g->platform; break;
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
	if (off >= 0x10 && off < 0x18)
		set64(&g->req_gpa, off - 0x10, size, value);
	else if (off >= 0x20 && off < 0x28)
		set64(&g->resp_gpa, off - 0x20, size, value);
	else if (off == 0x18 && size >= 4)
		g->req_len = (uint32_t)value;
	else if (off == 0x28 && size >= 4)
		g->resp_cap = (uint32_t)value;
	else if (off == 0x2C && size >= 4 && (uint32_t)value == 1)
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
	int rc = vmm_register_device(vm, VMM_SPACE_MMIO, GREQ_BASE, GREQ_SIZE, &greq_ops, g, err);
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
