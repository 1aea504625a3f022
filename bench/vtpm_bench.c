/*
 * vTPM benchmark driver (bench/vtpm.sh).
 *   vtpm_bench socket PORT SECONDS
 *       the command mix over swtpm's data channel (one TCP connection):
 *       PCR_Extend, GetRandom(32), Sign (ECDSA P-256) -> "commands/s N"
 *   vtpm_bench inproc ITERATIONS DIR
 *       the same mix in-process: raw libtpms (TPMLIB_Process) and vtpm_execute
 *       (encrypted state, locality) -> "raw_us X" / "vtpm_us Y" per command
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libtpms/tpm_error.h>
#include <libtpms/tpm_library.h>
#include <libtpms/tpm_nvfilename.h>

#include "vtpm/vtpm.h"

#define PW_AUTH 0x00, 0x00, 0x00, 0x09, 0x40, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00

static const uint8_t STARTUP[] = {0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x44, 0, 0};
static const uint8_t GETRANDOM[] = {0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x7B, 0, 32};
/* CreatePrimary(owner): ECC P-256 unrestricted signing key, ECDSA-SHA256 */
static const uint8_t CREATE_SIGNER[] = {
	0x80, 0x02, 0, 0, 0, 65, 0, 0, 0x01, 0x31, 0x40, 0, 0, 0x01, PW_AUTH,
	0, 4, 0, 0, 0, 0,                                   /* inSensitive */
	0, 24,                                              /* inPublic size */
	0x00, 0x23, 0x00, 0x0B, 0x00, 0x04, 0x00, 0x72,     /* ECC, SHA256, sign|userWithAuth|... */
	0, 0,                                               /* authPolicy */
	0x00, 0x10, 0x00, 0x18, 0x00, 0x0B, 0x00, 0x03, 0x00, 0x10, /* sym NULL, ECDSA-SHA256, P256, kdf NULL */
	0, 0, 0, 0,                                         /* unique x, y */
	0, 0, 0, 0, 0, 0,                                   /* outsideInfo, creationPCR */
};
_Static_assert(sizeof(CREATE_SIGNER) == 65, "CreatePrimary size field");
static uint8_t EXTEND[10 + 4 + 13 + 4 + 2 + 32];
static uint8_t SIGN[10 + 4 + 13 + 2 + 32 + 2 + 2 + 4 + 2];

static void build_cmds(uint32_t key_handle)
{
	static const uint8_t ext_hdr[] = {0x80, 0x02, 0, 0, 0, sizeof(EXTEND), 0, 0, 0x01, 0x82, 0, 0, 0, 16, PW_AUTH,
					  0, 0, 0, 1, 0x00, 0x0B};
	memcpy(EXTEND, ext_hdr, sizeof(ext_hdr));
	memset(EXTEND + sizeof(ext_hdr), 0x42, 32);
	static const uint8_t sign_hdr[] = {0x80, 0x02, 0, 0, 0, sizeof(SIGN), 0, 0, 0x01, 0x5D};
	uint8_t *p = SIGN;
	memcpy(p, sign_hdr, sizeof(sign_hdr));
	p += sizeof(sign_hdr);
	vg_put_be32(p, key_handle);
	p += 4;
	static const uint8_t auth[] = {PW_AUTH};
	memcpy(p, auth, sizeof(auth));
	p += sizeof(auth);
	vg_put_be16(p, 32);
	memset(p + 2, 0x17, 32);
	p += 34;
	vg_put_be16(p, 0x0010); /* inScheme: the key's */
	vg_put_be16(p + 2, 0x8024); /* TPM_ST_HASHCHECK */
	vg_put_be32(p + 4, 0x40000007); /* TPM_RH_NULL */
	vg_put_be16(p + 8, 0);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------ socket */
static int xfer_once(int fd, const uint8_t *cmd, size_t len, uint8_t *rsp, size_t cap)
{
	if (vg_write_full(fd, cmd, len))
		return -1;
	if (vg_read_full(fd, rsp, 10) != 10)
		return -1;
	uint32_t n = vg_be32(rsp + 2);
	if (n < 10 || n > cap || vg_read_full(fd, rsp + 10, n - 10) != (ssize_t)(n - 10))
		return -1;
	return (int)vg_be32(rsp + 6);
}

/* TPM_RC_RETRY is answered by resending, as a TSS does. */
static int xfer(int fd, const uint8_t *cmd, size_t len, uint8_t *rsp, size_t cap)
{
	int rc;
	for (int i = 0; (rc = xfer_once(fd, cmd, len, rsp, cap)) == 0x922 && i < 8; i++) {}
	return rc;
}

static int run_socket(int port, double seconds)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("vtpm_bench: connect");
		return 2;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	uint8_t rsp[4096];
	int rc = xfer(fd, STARTUP, sizeof(STARTUP), rsp, sizeof(rsp));
	if (rc != 0 && rc != 0x100) {
		fprintf(stderr, "vtpm_bench: startup rc 0x%x\n", rc);
		return 1;
	}
	if ((rc = xfer(fd, CREATE_SIGNER, sizeof(CREATE_SIGNER), rsp, sizeof(rsp))) != 0) {
		fprintf(stderr, "vtpm_bench: CreatePrimary rc 0x%x\n", rc);
		return 1;
	}
	build_cmds(vg_be32(rsp + 10));
	unsigned long n = 0;
	double t0 = now(), t;
	do {
		if (xfer(fd, EXTEND, sizeof(EXTEND), rsp, sizeof(rsp)) ||
		    xfer(fd, GETRANDOM, sizeof(GETRANDOM), rsp, sizeof(rsp)) ||
		    xfer(fd, SIGN, sizeof(SIGN), rsp, sizeof(rsp))) {
			fprintf(stderr, "vtpm_bench: command failed\n");
			return 1;
		}
		n += 3;
	} while ((t = now()) - t0 < seconds);
	printf("commands/s %.0f\n", n / (t - t0));
	close(fd);
	return 0;
}

/* ----------------------------------------------------------- in-process */
static unsigned char *g_perm;
static uint32_t g_perm_len;

static TPM_RESULT mem_load(unsigned char **data, uint32_t *len, uint32_t n, const char *name)
{
	(void)n;
	if (strcmp(name, TPM_PERMANENT_ALL_NAME) || !g_perm)
		return TPM_RETRY;
	*data = malloc(g_perm_len);
	memcpy(*data, g_perm, g_perm_len);
	*len = g_perm_len;
	return TPM_SUCCESS;
}

static TPM_RESULT mem_store(const unsigned char *data, uint32_t len, uint32_t n, const char *name)
{
	(void)n;
	if (!strcmp(name, TPM_PERMANENT_ALL_NAME)) {
		free(g_perm);
		g_perm = malloc(len);
		memcpy(g_perm, data, len);
		g_perm_len = len;
	}
	return TPM_SUCCESS;
}

typedef int (*exec_fn)(const uint8_t *cmd, size_t len, uint8_t *rsp, size_t cap);
static exec_fn g_ex;

/* TPM_RC_RETRY is answered by resending, as a TSS does. */
static int retrying(const uint8_t *cmd, size_t len, uint8_t *rsp, size_t cap)
{
	int rc;
	for (int i = 0; (rc = g_ex(cmd, len, rsp, cap)) == 0x922 && i < 8; i++) {}
	return rc;
}
static struct vtpm *g_vtpm;
static unsigned char *g_rbuf;
static uint32_t g_rbuf_size;

static int raw_exec(const uint8_t *cmd, size_t len, uint8_t *rsp, size_t cap)
{
	unsigned char buf[4096];
	uint32_t n = 0;
	memcpy(buf, cmd, len);
	if (TPMLIB_Process(&g_rbuf, &n, &g_rbuf_size, buf, (uint32_t)len) != TPM_SUCCESS || n > cap)
		return -1;
	memcpy(rsp, g_rbuf, n);
	return (int)vg_be32(rsp + 6);
}

static int vtpm_exec(const uint8_t *cmd, size_t len, uint8_t *rsp, size_t cap)
{
	size_t n = 0;
	if (vtpm_execute(g_vtpm, cmd, len, 0, rsp, cap, &n, NULL))
		return -1;
	return (int)vg_be32(rsp + 6);
}

/* Microseconds per command of the mix. */
static double time_mix(exec_fn raw_ex, unsigned iters)
{
	g_ex = raw_ex;
	exec_fn ex = retrying;
	uint8_t rsp[4096];
	int rc = ex(STARTUP, sizeof(STARTUP), rsp, sizeof(rsp));
	if (rc != 0 && rc != 0x100) {
		fprintf(stderr, "vtpm_bench: TPM2_Startup rc 0x%x\n", rc);
		return -1;
	}
	if ((rc = ex(CREATE_SIGNER, sizeof(CREATE_SIGNER), rsp, sizeof(rsp))) != 0) {
		fprintf(stderr, "vtpm_bench: TPM2_CreatePrimary rc 0x%x\n", rc);
		return -1;
	}
	build_cmds(vg_be32(rsp + 10));
	double t0 = now();
	for (unsigned i = 0; i < iters; i++) {
		if ((rc = ex(EXTEND, sizeof(EXTEND), rsp, sizeof(rsp))) || (rc = ex(GETRANDOM, sizeof(GETRANDOM), rsp, sizeof(rsp))) ||
		    (rc = ex(SIGN, sizeof(SIGN), rsp, sizeof(rsp)))) {
			fprintf(stderr, "vtpm_bench: command failed, rc 0x%x\n", rc);
			return -1;
		}
	}
	return (now() - t0) * 1e6 / (3.0 * iters);
}

static int run_inproc(unsigned iters, const char *dir)
{
	struct libtpms_callbacks cb = {
		.sizeOfStruct = sizeof(cb), .tpm_nvram_loaddata = mem_load, .tpm_nvram_storedata = mem_store,
	};
	if (TPMLIB_ChooseTPMVersion(TPMLIB_TPM_VERSION_2) || TPMLIB_RegisterCallbacks(&cb) || TPMLIB_MainInit()) {
		fprintf(stderr, "vtpm_bench: raw libtpms init failed\n");
		return 1;
	}
	double raw = time_mix(raw_exec, iters);
	TPMLIB_Terminate();

	char key[4096], state[4096];
	struct vg_err err = {0};
	snprintf(key, sizeof(key), "%s/bench.key", dir);
	snprintf(state, sizeof(state), "%s/bench-state", dir);
	uint8_t k[32];
	memset(k, 0x3C, sizeof(k));
	if (vg_write_file_atomic(key, k, sizeof(k), 0600, &err)) {
		fprintf(stderr, "vtpm_bench: %s\n", err.msg);
		return 2;
	}
	struct vtpm_config cfg = {.state_dir = state, .key_file = key};
	if (vtpm_open(&cfg, &g_vtpm, &err)) {
		fprintf(stderr, "vtpm_bench: %s\n", err.msg);
		return 2;
	}
	double vt = time_mix(vtpm_exec, iters);
	vtpm_close(g_vtpm);
	if (raw <= 0 || vt <= 0) {
		fprintf(stderr, "vtpm_bench: in-process run failed\n");
		return 1;
	}
	printf("raw_us %.2f\nvtpm_us %.2f\n", raw, vt);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "socket"))
		return run_socket(atoi(argv[2]), atof(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "inproc"))
		return run_inproc((unsigned)atoi(argv[2]), argv[3]);
	fprintf(stderr, "usage: vtpm_bench socket PORT SECONDS | inproc ITERATIONS DIR\n");
	return 2;
}
