/* Unit tests for the CRB interface model (vtpm.h section 4). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vtpm/vtpm.h"

struct fake {
	int calls;
	uint8_t locality;
	size_t cmd_len;
	int fail;
	int cancels;
};

/* Echoes the command code back as the response code. */
static int fake_exec(void *opaque, uint8_t locality, const uint8_t *cmd, size_t cmd_len, uint8_t *rsp,
		     size_t rsp_cap, size_t *rsp_len)
{
	struct fake *f = opaque;
	f->calls++;
	f->locality = locality;
	f->cmd_len = cmd_len;
	if (f->fail)
		return -EIO;
	assert_true(rsp_cap >= 14);
	vg_put_be16(rsp, 0x8001);
	vg_put_be32(rsp + 2, 14);
	memcpy(rsp + 6, cmd + 6, 4);
	memcpy(rsp + 10, "\xde\xad\xbe\xef", 4);
	*rsp_len = 14;
	return 0;
}

static void fake_cancel(void *opaque) { ((struct fake *)opaque)->cancels++; }

static uint32_t rd32(struct vtpm_crb *c, uint64_t off)
{
	uint64_t v = 0;
	assert_int_equal(vtpm_crb_read(c, off, 4, &v), 0);
	return (uint32_t)v;
}

static void wr32(struct vtpm_crb *c, uint64_t off, uint32_t v) { assert_int_equal(vtpm_crb_write(c, off, 4, v), 0); }

static void put_cmd(struct vtpm_crb *c, uint64_t page, uint32_t size, uint32_t cc)
{
	uint8_t cmd[12];
	vg_put_be16(cmd, 0x8001);
	vg_put_be32(cmd + 2, size);
	vg_put_be32(cmd + 6, cc);
	vg_put_be16(cmd + 10, 0);
	for (int i = 0; i < 12; i++)
		assert_int_equal(vtpm_crb_write(c, page + VTPM_CRB_DATA_BUFFER + i, 1, cmd[i]), 0);
}

static uint32_t rsp_code(struct vtpm_crb *c, uint64_t page)
{
	uint64_t v;
	assert_int_equal(vtpm_crb_read(c, page + VTPM_CRB_DATA_BUFFER + 6, 4, &v), 0);
	return vg_be32((const uint8_t *)&(uint32_t){(uint32_t)v}); /* bytes as read from the buffer */
}

/* The sequence the Linux tpm_crb driver uses. */
static void test_linux_flow(void **state)
{
	(void)state;
	struct fake f = {0};
	struct vtpm_crb *c = vtpm_crb_new(VTPM_CRB_BASE, fake_exec, fake_cancel, &f);
	assert_non_null(c);
	assert_true(rd32(c, VTPM_CRB_LOC_STATE) & (1u << 7)); /* tpmRegValidSts */
	uint64_t id;
	assert_int_equal(vtpm_crb_read(c, VTPM_CRB_INTF_ID, 8, &id), 0);
	assert_int_equal(id & 0xF, 1);          /* CRB */
	assert_int_equal((id >> 14) & 1, 1);    /* CapCRB */
	assert_int_equal(rd32(c, VTPM_CRB_CTRL_CMD_SIZE), VTPM_CRB_BUFFER_SIZE);
	assert_int_equal(rd32(c, VTPM_CRB_CTRL_CMD_LADDR), (uint32_t)(VTPM_CRB_BASE + 0x80));
	uint64_t rsp_addr;
	assert_int_equal(vtpm_crb_read(c, VTPM_CRB_CTRL_RSP_ADDR, 8, &rsp_addr), 0);
	assert_int_equal(rsp_addr, VTPM_CRB_BASE + 0x80);

	wr32(c, VTPM_CRB_LOC_CTRL, 1); /* requestAccess */
	assert_int_equal(rd32(c, VTPM_CRB_LOC_STS) & 1, 1);
	assert_int_equal(rd32(c, VTPM_CRB_LOC_STATE) & 0x1E, 0x02); /* assigned, locality 0 */
	assert_int_equal(rd32(c, VTPM_CRB_CTRL_STS), 2);             /* idle */
	wr32(c, VTPM_CRB_CTRL_REQ, 1);                               /* cmdReady */
	assert_int_equal(rd32(c, VTPM_CRB_CTRL_STS), 0);
	put_cmd(c, 0, 12, 0x17B);
	wr32(c, VTPM_CRB_CTRL_START, 1);
	assert_int_equal(f.calls, 1);
	assert_int_equal(f.cmd_len, 12);
	assert_int_equal(f.locality, 0);
	assert_int_equal(rd32(c, VTPM_CRB_CTRL_START), 0);
	uint64_t hdr;
	assert_int_equal(vtpm_crb_read(c, VTPM_CRB_DATA_BUFFER, 8, &hdr), 0);
	assert_int_equal(hdr & 0xFFFF, 0x0180); /* 80 01 little-endian view */
	assert_int_equal(rsp_code(c, 0), 0x17B);
	wr32(c, VTPM_CRB_CTRL_CANCEL, 1);
	assert_int_equal(f.cancels, 1);
	assert_int_equal(rd32(c, VTPM_CRB_CTRL_CANCEL), 1);
	wr32(c, VTPM_CRB_CTRL_CANCEL, 0);
	wr32(c, VTPM_CRB_CTRL_REQ, 2); /* goIdle */
	assert_int_equal(rd32(c, VTPM_CRB_CTRL_STS), 2);
	wr32(c, VTPM_CRB_LOC_CTRL, 2); /* relinquish */
	assert_int_equal(rd32(c, VTPM_CRB_LOC_STATE) & 2, 0);
	vtpm_crb_free(c);
}

static void test_malformed(void **state)
{
	(void)state;
	struct fake f = {0};
	struct vtpm_crb *c = vtpm_crb_new(VTPM_CRB_BASE, fake_exec, NULL, &f);
	uint64_t v;

	/* START with no locality, and while idle: ignored */
	wr32(c, VTPM_CRB_CTRL_START, 1);
	wr32(c, VTPM_CRB_LOC_CTRL, 1);
	wr32(c, VTPM_CRB_CTRL_START, 1);
	assert_int_equal(f.calls, 0);
	/* buffer writes while idle are dropped */
	put_cmd(c, 0, 12, 0x17B);
	assert_int_equal(vtpm_crb_read(c, VTPM_CRB_DATA_BUFFER, 4, &v), 0);
	assert_int_equal(v, 0);

	wr32(c, VTPM_CRB_CTRL_REQ, 1);
	/* command size beyond the buffer: TPM_RC_COMMAND_SIZE, no exec */
	put_cmd(c, 0, 0x10000, 0x17B);
	wr32(c, VTPM_CRB_CTRL_START, 1);
	assert_int_equal(f.calls, 0);
	assert_int_equal(rsp_code(c, 0), 0x142);
	put_cmd(c, 0, 3, 0x17B); /* smaller than a header */
	wr32(c, VTPM_CRB_CTRL_START, 1);
	assert_int_equal(f.calls, 0);
	assert_int_equal(rsp_code(c, 0), 0x142);

	/* a failing backend: TPM_RC_FAILURE and tpmSts until cmdReady */
	f.fail = 1;
	put_cmd(c, 0, 12, 0x17B);
	wr32(c, VTPM_CRB_CTRL_START, 1);
	assert_int_equal(rsp_code(c, 0), 0x101);
	assert_int_equal(rd32(c, VTPM_CRB_CTRL_STS) & 1, 1);
	wr32(c, VTPM_CRB_CTRL_START, 1); /* refused while in error */
	assert_int_equal(f.calls, 1);
	f.fail = 0;
	wr32(c, VTPM_CRB_CTRL_REQ, 1);
	assert_int_equal(rd32(c, VTPM_CRB_CTRL_STS) & 1, 0);

	/* locality games: 2 cannot take over from 0 by request, but can seize */
	wr32(c, 0x2000 + VTPM_CRB_LOC_CTRL, 1);
	assert_int_equal(rd32(c, 0x2000 + VTPM_CRB_LOC_STS) & 1, 0);
	wr32(c, 0x2000 + VTPM_CRB_CTRL_START, 1); /* not active: ignored */
	assert_int_equal(f.calls, 1);
	assert_int_equal(vtpm_crb_read(c, 0x2000 + VTPM_CRB_DATA_BUFFER, 4, &v), 0);
	assert_int_equal(v, 0xFFFFFFFFu); /* buffer not visible from another locality */
	wr32(c, 0x2000 + VTPM_CRB_LOC_CTRL, 4); /* seize */
	assert_int_equal(rd32(c, 0x2000 + VTPM_CRB_LOC_STS) & 1, 1);
	assert_int_equal(rd32(c, VTPM_CRB_LOC_STS), 2); /* locality 0: beenSeized */
	assert_int_equal((rd32(c, VTPM_CRB_LOC_STATE) >> 2) & 7, 2);
	wr32(c, 0x2000 + VTPM_CRB_CTRL_REQ, 1);
	put_cmd(c, 0x2000, 12, 0x182);
	wr32(c, 0x2000 + VTPM_CRB_CTRL_START, 1);
	assert_int_equal(f.calls, 2);
	assert_int_equal(f.locality, 2);
	/* a lower locality cannot seize */
	wr32(c, 0x1000 + VTPM_CRB_LOC_CTRL, 4);
	assert_int_equal((rd32(c, VTPM_CRB_LOC_STATE) >> 2) & 7, 2);

	/* unaligned, odd-sized and out-of-range accesses */
	assert_int_equal(vtpm_crb_read(c, 3, 3, &v), -EINVAL);
	assert_int_equal(vtpm_crb_write(c, 0, 0, 0), -EINVAL);
	assert_int_equal(vtpm_crb_read(c, VTPM_CRB_SIZE - 2, 8, &v), 0);
	assert_int_equal(v >> 16, 0xFFFFFFFFFFFFull);
	assert_int_equal(vtpm_crb_read(c, UINT64_MAX - 3, 8, &v), 0);
	assert_int_equal(v, UINT64_MAX);
	assert_int_equal(vtpm_crb_write(c, UINT64_MAX - 3, 8, 0x1234), 0);
	assert_int_equal(vtpm_crb_write(c, 0x2000 + 0xFFC, 8, ~0ull), 0); /* buffer end + next page */
	assert_int_equal(vtpm_crb_read(c, 0x2000 + VTPM_CRB_LOC_STS - 1, 2, &v), 0);
	assert_int_equal(v, 0x100);
	assert_int_equal(vtpm_crb_read(c, VTPM_CRB_INTF_ID + 1, 1, &v), 0);
	assert_int_equal(v, 0x59); /* byte 1 of INTF_ID: CapLocality, 64-byte xfer, CapCRB */
	assert_int_equal(vtpm_crb_read(c, 0, 4, NULL), -EINVAL);

	vtpm_crb_reset(c);
	assert_int_equal(rd32(c, VTPM_CRB_LOC_STATE) & 2, 0);
	assert_int_equal(rd32(c, VTPM_CRB_CTRL_STS), 2);
	vtpm_crb_free(c);
	assert_null(vtpm_crb_new(0, NULL, NULL, NULL));
}

/* Byte-wise, as a guest might: command into the buffer, START, response out. */
static void crb_command(struct vtpm_crb *c, const uint8_t *cmd, size_t len, uint8_t *rsp, size_t rsp_len)
{
	for (size_t i = 0; i < len; i++)
		assert_int_equal(vtpm_crb_write(c, VTPM_CRB_DATA_BUFFER + i, 1, cmd[i]), 0);
	wr32(c, VTPM_CRB_CTRL_START, 1);
	for (size_t i = 0; i < rsp_len; i++) {
		uint64_t v;
		assert_int_equal(vtpm_crb_read(c, VTPM_CRB_DATA_BUFFER + i, 1, &v), 0);
		rsp[i] = (uint8_t)v;
	}
}

/* A real TPM behind the CRB: GetRandom from the guest's point of view. */
static void test_with_vtpm(void **state)
{
	(void)state;
	char dir[] = "/tmp/vigil-test-crb.XXXXXX", key[64], sd[64];
	assert_non_null(mkdtemp(dir));
	snprintf(key, sizeof(key), "%s/key", dir);
	snprintf(sd, sizeof(sd), "%s/state", dir);
	struct vg_err err = {0};
	uint8_t k[32] = {7};
	assert_int_equal(vg_write_file_atomic(key, k, 32, 0600, &err), 0);
	struct vtpm_config cfg = {.state_dir = sd, .key_file = key, .buffer_size = VTPM_CRB_BUFFER_SIZE};
	struct vtpm *t;
	assert_int_equal(vtpm_open(&cfg, &t, &err), 0);
	assert_int_equal(vtpm_startup(t, true, &err), 0);
	struct vtpm_crb *c = vtpm_crb_new(VTPM_CRB_BASE, vtpm_crb_exec_vtpm, vtpm_crb_cancel_vtpm, t);
	wr32(c, VTPM_CRB_LOC_CTRL, 1);
	wr32(c, VTPM_CRB_CTRL_REQ, 1);
	const uint8_t getrandom[] = {0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x7B, 0, 8};
	uint8_t rsp[20];
	crb_command(c, getrandom, sizeof(getrandom), rsp, sizeof(rsp));
	assert_int_equal(vg_be32(rsp + 2), 20);
	assert_int_equal(vg_be32(rsp + 6), 0);
	assert_int_equal(vg_be16(rsp + 10), 8);

	/* the TPM announces the CRB buffer as its max response size */
	const uint8_t getcap[] = {0x80, 0x01, 0, 0, 0, 22, 0, 0, 0x01, 0x7A, 0, 0, 0, 6, 0, 0, 0x01, 0x1F, 0, 0, 0, 1};
	uint8_t cap[27];
	crb_command(c, getcap, sizeof(getcap), cap, sizeof(cap));
	assert_int_equal(vg_be32(cap + 6), 0);
	assert_int_equal(vg_be32(cap + 19), 0x11F); /* TPM_PT_MAX_RESPONSE_SIZE */
	assert_int_equal(vg_be32(cap + 23), VTPM_CRB_BUFFER_SIZE);
	vtpm_crb_free(c);
	vtpm_close(t);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_linux_flow),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_with_vtpm),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
