/* Fuzz target: vigil-tpm's control channel (and, when the first byte is odd,
 * the data channel framing): the input is what a client sends on one
 * connection. It runs through vtpm_server_feed, the same request framing,
 * command table and handlers as the sockets, against a real libtpms TPM with
 * encrypted state in a temporary directory (migration enabled, so every
 * handler is reachable). Answers must stay within bounds and be well-formed. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vtpm/vtpm.h"

static struct vtpm *T;
static struct vtpm_server *S;
static char dir[] = "/tmp/fuzz-vtpm.XXXXXX";

static void cleanup(void)
{
	static const char *const names[] = {"st/permall.vst", "st/volatile.vst", "st", "key", ""};
	char p[sizeof(dir) + 32];
	vtpm_close(T);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		if (unlink(p) != 0)
			rmdir(p);
	}
}

static void setup(void)
{
	char key[sizeof(dir) + 8], state[sizeof(dir) + 8];
	if (!mkdtemp(dir))
		abort();
	atexit(cleanup);
	snprintf(key, sizeof(key), "%s/key", dir);
	snprintf(state, sizeof(state), "%s/st", dir);
	FILE *f = fopen(key, "w");
	if (!f || fputs("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n", f) < 0 || fclose(f))
		abort();
	vg_log_init("fuzz_vtpm_ctrl", VG_LOG_ERROR);
	struct vtpm_config cfg = {.state_dir = state, .key_file = key};
	static struct vtpm_server_config scfg;
	scfg.state_dir = strdup(state);
	scfg.allow_migration = true;
	scfg.startup_clear = true;
	if (vtpm_open(&cfg, &T, NULL) || vtpm_server_open(&scfg, &S, NULL) || vtpm_startup(T, true, NULL))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!T)
		setup();
	if (size < 1)
		return 0;
	bool ctrl = !(data[0] & 1);
	struct vg_buf out = {0};
	if (vtpm_server_feed(S, T, ctrl, data + 1, size - 1, &out) == 0 && !ctrl) {
		/* every data answer is a whole TPM response */
		for (size_t off = 0; off < out.len;) {
			if (out.len - off < 10 || vg_be32(out.data + off + 2) < 10 ||
			    vg_be32(out.data + off + 2) > out.len - off)
				__builtin_trap();
			off += vg_be32(out.data + off + 2);
		}
	}
	vg_buf_free_secret(&out);
	/* a later input starts from a powered, started TPM */
	if (!vtpm_is_powered(T)) {
		vtpm_reset(T, NULL);
		vtpm_startup(T, true, NULL);
	}
	return 0;
}
