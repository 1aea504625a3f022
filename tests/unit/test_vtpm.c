/* Unit tests for the libtpms instance and its encrypted state (vtpm.h section 3). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "vtpm/vtpm.h"

static char g_dir[256], g_state[300], g_key[300], g_key2[300];

static void write_bytes(const char *path, const void *p, size_t n)
{
	struct vg_err err = {0};
	assert_int_equal(vg_write_file_atomic(path, p, n, 0600, &err), 0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(g_dir, sizeof(g_dir), "/tmp/vigil-test-vtpm.XXXXXX");
	if (!mkdtemp(g_dir))
		return -1;
	snprintf(g_state, sizeof(g_state), "%s/state", g_dir);
	snprintf(g_key, sizeof(g_key), "%s/key", g_dir);
	snprintf(g_key2, sizeof(g_key2), "%s/key2", g_dir);
	uint8_t k[32];
	memset(k, 0x11, 32);
	write_bytes(g_key, k, 32);
	write_bytes(g_key2, "2222222222222222222222222222222222222222222222222222222222222222\n", 65);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
	return system(cmd) == 0 ? 0 : -1;
}

static size_t file_bytes(const char *name, uint8_t **out)
{
	char p[400];
	size_t n = 0;
	struct vg_err err = {0};
	snprintf(p, sizeof(p), "%s/%s", g_state, name);
	assert_int_equal(vg_read_file(p, 1 << 24, out, &n, &err), 0);
	return n;
}

static void put_file(const char *name, const uint8_t *b, size_t n)
{
	char p[400];
	snprintf(p, sizeof(p), "%s/%s", g_state, name);
	write_bytes(p, b, n);
}

static int open_tpm_resume(const char *key, bool resume, struct vtpm **t, struct vg_err *err)
{
	struct vtpm_config cfg = {.state_dir = g_state, .key_file = key, .resume = resume};
	return vtpm_open(&cfg, t, err);
}

static int open_tpm(const char *key, struct vtpm **t, struct vg_err *err)
{
	struct vtpm_config cfg = {.state_dir = g_state, .key_file = key};
	return vtpm_open(&cfg, t, err);
}

static void test_state_format(void **state)
{
	(void)state;
	uint8_t key[32], other[32];
	memset(key, 1, 32);
	memset(other, 2, 32);
	struct vg_err err = {0};
	uint8_t *blob, *plain;
	size_t blen, plen;
	assert_int_equal(vtpm_state_seal(key, "permall", (const uint8_t *)"hello", 5, &blob, &blen, &err), 0);
	assert_int_equal(blen, 64 + 5 + 16);
	assert_memory_equal(blob, "VIGILTPM", 8);
	assert_null(memmem(blob, blen, "hello", 5)); /* encrypted */
	assert_int_equal(vtpm_state_open(key, "permall", blob, blen, &plain, &plen, &err), 0);
	assert_int_equal(plen, 5);
	assert_memory_equal(plain, "hello", 5);
	free(plain);
	assert_int_equal(vtpm_state_open(other, "permall", blob, blen, &plain, &plen, &err), -EKEYREJECTED);
	assert_non_null(strstr(err.msg, "wrong key"));
	assert_int_equal(vtpm_state_open(key, "volatile", blob, blen, &plain, &plen, &err), -EBADMSG);
	for (size_t i = 0; i < blen; i++) {
		blob[i] ^= 0x01;
		int rc = vtpm_state_open(key, "permall", blob, blen, &plain, &plen, &err);
		/* every flipped byte is tampering, the key-check field included
		 * (the right key still authenticates the rest) */
		assert_int_equal(rc, -EBADMSG);
		if (i >= 40 && i < 56)
			assert_non_null(strstr(err.msg, "key-check"));
		blob[i] ^= 0x01;
	}
	for (size_t n = 0; n < blen; n++)
		assert_int_equal(vtpm_state_open(key, "permall", blob, n, &plain, &plen, &err), -EBADMSG);
	vg_put_le16(blob + 8, 7);
	assert_int_equal(vtpm_state_open(key, "permall", blob, blen, &plain, &plen, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "unknown state file version 7"));
	free(blob);
}

static void test_lifecycle_and_persistence(void **state)
{
	(void)state;
	struct vg_err err = {0};
	struct vtpm *t = NULL, *t2 = NULL;
	uint8_t v[64], zero[64] = {0};

	assert_int_equal(open_tpm(g_key, &t, &err), 0);
	assert_int_equal(open_tpm(g_key, &t2, &err), -EBUSY); /* singleton */
	assert_int_equal(vtpm_startup(t, true, &err), 0);
	assert_int_equal(vtpm_startup(t, true, &err), 0); /* already started: fine */

	/* extend PCR 10 in sha256 and compare with our own hash */
	uint8_t d[2][64] = {{0}};
	const uint16_t algs[1] = {VTPM_ALG_SHA256};
	unsigned int dl;
	EVP_Digest("kernel", 6, d[0], &dl, EVP_sha256(), NULL);
	assert_int_equal(vtpm_pcr_extend(t, 10, algs, (const uint8_t(*)[64])d, 1, &err), 0);
	uint8_t want[64] = {0}, buf[64];
	memcpy(buf + 32, d[0], 32);
	memset(buf, 0, 32);
	EVP_Digest(buf, 64, want, &dl, EVP_sha256(), NULL);
	assert_int_equal(vtpm_pcr_read(t, 10, VTPM_ALG_SHA256, v, &err), 0);
	assert_memory_equal(v, want, 32);
	/* locality-4 PCR reads fine; extend from locality 0 to PCR 17 is refused by the TPM */
	assert_int_not_equal(vtpm_pcr_extend(t, 17, algs, (const uint8_t(*)[64])d, 1, &err), 0);

	/* GetRandom through vtpm_execute */
	const uint8_t getrandom[] = {0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x7B, 0, 16};
	uint8_t rsp[VTPM_MAX_CMD];
	size_t rl = 0;
	assert_int_equal(vtpm_execute(t, getrandom, sizeof(getrandom), 0, rsp, sizeof(rsp), &rl, &err), 0);
	assert_int_equal(rl, 10 + 2 + 16);
	assert_int_equal(vg_be32(rsp + 6), 0);
	/* a malformed command gets a TPM error response */
	assert_int_equal(vtpm_execute(t, getrandom, 7, 0, rsp, sizeof(rsp), &rl, &err), 0);
	assert_int_not_equal(vg_be32(rsp + 6), 0);
	assert_int_equal(vtpm_execute(t, getrandom, sizeof(getrandom), 0, rsp, 5, &rl, &err), -ENOBUFS);

	/* orderly shutdown saves the volatile state; a resume restores the PCRs */
	assert_int_equal(vtpm_shutdown(t, &err), 0);
	vtpm_close(t);
	struct stat st;
	char vp[400];
	snprintf(vp, sizeof(vp), "%s/%s", g_state, VTPM_STATE_VOLATILE_FILE);
	assert_int_equal(stat(vp, &st), 0);
	assert_int_equal(open_tpm_resume(g_key, true, &t, &err), 0);
	assert_int_not_equal(stat(vp, &st), 0); /* consumed */
	assert_int_equal(vtpm_pcr_read(t, 10, VTPM_ALG_SHA256, v, &err), 0);
	assert_memory_equal(v, want, 32);
	/* a plain restart powers on fresh */
	assert_int_equal(vtpm_shutdown(t, &err), 0);
	vtpm_close(t);
	assert_int_equal(stat(vp, &st), 0);
	assert_int_equal(open_tpm(g_key, &t, &err), 0);
	assert_int_not_equal(stat(vp, &st), 0);
	/* Startup(CLEAR) after the restart resets the PCRs */
	assert_int_equal(vtpm_startup(t, true, &err), 0);
	assert_int_equal(vtpm_pcr_read(t, 10, VTPM_ALG_SHA256, v, &err), 0);
	assert_memory_equal(v, zero, 32);

	/* reset = power cycle */
	assert_int_equal(vtpm_pcr_extend(t, 10, algs, (const uint8_t(*)[64])d, 1, &err), 0);
	assert_int_equal(vtpm_reset(t, &err), 0);
	assert_int_equal(vtpm_startup(t, true, &err), 0);
	assert_int_equal(vtpm_pcr_read(t, 10, VTPM_ALG_SHA256, v, &err), 0);
	assert_memory_equal(v, zero, 32);
	uint8_t *blob;
	size_t bl;
	assert_int_equal(vtpm_get_state_blob(t, true, false, &blob, &bl, &err), 0);
	assert_true(bl > 1000);
	free(blob);
	vtpm_close(t);
}

/* Damaged state: refuse to start, leave the file exactly as it was. */
static void test_refuse_bad_state(void **state)
{
	(void)state;
	struct vg_err err = {0};
	struct vtpm *t = NULL;
	uint8_t *orig, *now;
	size_t n = file_bytes(VTPM_STATE_PERM_FILE, &orig), m;

	/* flipped byte in the ciphertext */
	uint8_t *bad = malloc(n);
	memcpy(bad, orig, n);
	bad[n / 2] ^= 0x40;
	put_file(VTPM_STATE_PERM_FILE, bad, n);
	assert_int_equal(open_tpm(g_key, &t, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "authentication"));
	m = file_bytes(VTPM_STATE_PERM_FILE, &now);
	assert_int_equal(m, n);
	assert_memory_equal(now, bad, n);
	free(now);

	/* truncated */
	put_file(VTPM_STATE_PERM_FILE, orig, n - 100);
	assert_int_equal(open_tpm(g_key, &t, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "truncated"));
	assert_int_equal(file_bytes(VTPM_STATE_PERM_FILE, &now), n - 100);
	free(now);

	/* wrong key */
	put_file(VTPM_STATE_PERM_FILE, orig, n);
	assert_int_equal(open_tpm(g_key2, &t, &err), -EKEYREJECTED);
	assert_non_null(strstr(err.msg, "wrong key"));
	assert_int_equal(file_bytes(VTPM_STATE_PERM_FILE, &now), n);
	assert_memory_equal(now, orig, n);
	free(now);

	/* unknown version */
	memcpy(bad, orig, n);
	vg_put_le16(bad + 8, 2);
	put_file(VTPM_STATE_PERM_FILE, bad, n);
	assert_int_equal(open_tpm(g_key, &t, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "version 2"));

	/* bad key files */
	char kp[400];
	snprintf(kp, sizeof(kp), "%s/shortkey", g_dir);
	write_bytes(kp, "abc", 3);
	assert_int_equal(open_tpm(kp, &t, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "32 raw bytes"));

	/* restored: starts again */
	put_file(VTPM_STATE_PERM_FILE, orig, n);
	assert_int_equal(open_tpm(g_key, &t, &err), 0);
	vtpm_close(t);
	free(bad);
	free(orig);
}

/* A TPM started at locality 3 has PCR 0 = 0...03 (PTP; TPM 2.0 Part 1
 * 34.3): our writer's StartupLocality event and our replay reproduce the
 * PCRs libtpms reports after the same extends. */
static void test_startup_locality_matches_tpm(void **state)
{
	(void)state;
	struct vg_err err = {0};
	struct vtpm *t = NULL;
	assert_int_equal(open_tpm(g_key, &t, &err), 0);
	const uint8_t startup[] = {0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x44, 0, 0};
	uint8_t rsp[64];
	size_t rl;
	assert_int_equal(vtpm_execute(t, startup, sizeof(startup), 3, rsp, sizeof(rsp), &rl, &err), 0);
	assert_int_equal(vg_be32(rsp + 6), 0);

	struct vtpm_evlog_writer w;
	const uint16_t algs[2] = {VTPM_ALG_SHA256, VTPM_ALG_SHA384};
	assert_int_equal(vtpm_evlog_writer_init(&w, algs, 2, &err), 0);
	assert_int_equal(vtpm_evlog_writer_startup_locality(&w, 3, &err), 0);
	const char *items[3] = {"crtm", "firmware", "\0\0\0\0"};
	for (int i = 0; i < 3; i++) {
		uint8_t d[2][64];
		size_t n = i == 2 ? 4 : strlen(items[i]);
		assert_int_equal(vtpm_evlog_writer_measure(&w, i == 1 ? 2 : 0, VTPM_EV_POST_CODE, items[i], n,
							   items[i], n, d, &err), 0);
		assert_int_equal(vtpm_pcr_extend(t, i == 1 ? 2 : 0, algs, (const uint8_t(*)[64])d, 2, &err), 0);
	}
	struct vtpm_evlog log;
	assert_int_equal(vtpm_evlog_parse(w.buf.data, w.buf.len, &log, &err), 0);
	for (int b = 0; b < 2; b++) {
		uint8_t regs[24][64], v[64];
		assert_int_equal(vtpm_evlog_replay(&log, algs[b], regs, 24, &err), 0);
		for (int pcr = 0; pcr <= 2; pcr += 2) {
			assert_int_equal(vtpm_pcr_read(t, (uint32_t)pcr, algs[b], v, &err), 0);
			assert_memory_equal(v, regs[pcr], vtpm_alg_digest_size(algs[b]));
		}
	}
	vtpm_evlog_free(&log);
	vtpm_evlog_writer_free(&w);
	vtpm_close(t);
}

/* The control channel's framing (declared request sizes) and the command
 * table, through vtpm_server_feed (the socket path's code). */
static void test_ctrl_framing_and_table(void **state)
{
	(void)state;
	static const uint8_t cap[] = {0, 0, 0, 1}, init6[] = {0, 0, 0, 2, 0, 0}, init8[] = {0, 0, 0, 2, 0, 0, 0, 0},
			     hash[] = {0, 0, 0, 7, 0, 0, 0, 3, 'a', 'b', 'c'}, unknown[] = {0, 0, 0, 0x99},
			     big_set[] = {0, 0, 0, 0x0d, 0, 0, 0, 2, 0, 0, 0, 2, 0x01, 0x10, 0, 0},
			     get_plain[] = {0, 0, 0, 0x0c, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0};
	assert_int_equal(vtpm_ctrl_request_size(cap, 3), 0);
	assert_int_equal(vtpm_ctrl_request_size(cap, 4), 4);
	assert_int_equal(vtpm_ctrl_request_size(init6, 6), 0);
	assert_int_equal(vtpm_ctrl_request_size(init8, 8), 8);
	assert_int_equal(vtpm_ctrl_request_size(hash, 10), 0);
	assert_int_equal(vtpm_ctrl_request_size(hash, 11), 11);
	assert_int_equal(vtpm_ctrl_request_size(unknown, 4), -1);
	assert_int_equal(vtpm_ctrl_request_size(big_set, sizeof(big_set)), -1); /* 17 MiB of data */

	struct vtpm *t = NULL;
	struct vtpm_server *srv = NULL;
	struct vg_err err = {0};
	struct vtpm_server_config sc = {.state_dir = g_state};
	assert_int_equal(open_tpm(g_key, &t, &err), 0);
	assert_int_equal(vtpm_server_open(&sc, &srv, &err), 0);
	struct vg_buf out = {0};
	/* two requests in one buffer: both answered, in order */
	uint8_t two[8];
	memcpy(two, cap, 4);
	memcpy(two + 4, cap, 4);
	assert_int_equal(vtpm_server_feed(srv, t, true, two, sizeof(two), &out), 0);
	static const uint8_t caps[8] = {0, 0, 0, 0, 0, 0, 0x7f, 0xff};
	assert_int_equal(out.len, 16);
	assert_memory_equal(out.data, caps, 8);
	assert_memory_equal(out.data + 8, caps, 8);
	out.len = 0;
	/* decrypted state refused without allow_migration, with the full header */
	assert_int_equal(vtpm_server_feed(srv, t, true, get_plain, sizeof(get_plain), &out), 0);
	static const uint8_t refused[16] = {0, 0, 0, 8};
	assert_int_equal(out.len, 16);
	assert_memory_equal(out.data, refused, 16);
	out.len = 0;
	/* an unknown command is answered, then the connection ends */
	assert_int_equal(vtpm_server_feed(srv, t, true, unknown, sizeof(unknown), &out), 0);
	assert_int_equal(out.len, 4);
	assert_int_equal(vg_be32(out.data), 10);
	vg_buf_free(&out);
	vtpm_server_free(srv);
	vtpm_close(t);
}

/* The state directory is locked: a second instance (here: a second open in
 * another process) is refused. */
static void test_state_dir_locked(void **state)
{
	(void)state;
	struct vtpm *t = NULL;
	struct vg_err err = {0};
	assert_int_equal(open_tpm(g_key, &t, &err), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct vtpm *t2 = NULL;
		struct vg_err e2 = {0};
		vtpm_close(t); /* the child's copy of the singleton, without touching the lock's owner */
		_exit(open_tpm(g_key, &t2, &e2) == -EBUSY && strstr(e2.msg, "locked") ? 0 : 1);
	}
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	vtpm_close(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_format),
		cmocka_unit_test(test_lifecycle_and_persistence),
		cmocka_unit_test(test_refuse_bad_state),
		cmocka_unit_test(test_startup_locality_matches_tpm),
		cmocka_unit_test(test_ctrl_framing_and_table),
		cmocka_unit_test(test_state_dir_locked),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
