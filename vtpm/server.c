/*
 * swtpm-compatible socket server (vtpm.h section 5): the TPM data channel
 * and swtpm's control channel (CMD_* of swtpm's tpm_ioctl.h, big endian).
 *
 * One thread, one poll loop, every socket non-blocking. A connection is a
 * small state machine: bytes are collected until a request is complete
 * (the control channel knows each request's size from the command table
 * below), the request runs, and the answer is queued and sent as the peer
 * reads it. Nothing ever waits on one client:
 *  - each poll round runs at most one request per connection (round robin);
 *  - a request must be complete, and its answer taken, within the command
 *    deadline (cmd_timeout_ms), or the connection is closed;
 *  - TCP connections idle for idle_timeout_ms are closed, and when every
 *    slot is taken the longest-idle TCP connection makes room;
 *  - while no slot is free the listeners are not polled: new clients wait
 *    in the kernel's bounded backlog (LISTEN_BACKLOG) instead of being reset.
 * Access model: docs/vtpm.md ("Who may talk to vigil-tpm").
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vtpm/tpm2.h"
#include "vtpm/vtpm.h"

/* ------------------------------------------------------ control protocol */
enum {
	CMD_GET_CAPABILITY = 1, CMD_INIT, CMD_SHUTDOWN, CMD_GET_TPMESTABLISHED, CMD_SET_LOCALITY,
	CMD_HASH_START, CMD_HASH_DATA, CMD_HASH_END, CMD_CANCEL_TPM_CMD, CMD_STORE_VOLATILE,
	CMD_RESET_TPMESTABLISHED, CMD_GET_STATEBLOB, CMD_SET_STATEBLOB, CMD_STOP, CMD_GET_CONFIG,
	CMD_SET_DATAFD, CMD_SET_BUFFERSIZE, CMD_GET_INFO,
};
/* capability bits (PTM_CAP_*) */
#define CAP_INIT (1u << 0)
#define CAP_SHUTDOWN (1u << 1)
#define CAP_GET_TPMESTABLISHED (1u << 2)
#define CAP_SET_LOCALITY (1u << 3)
#define CAP_HASHING (1u << 4)
#define CAP_CANCEL_TPM_CMD (1u << 5)
#define CAP_STORE_VOLATILE (1u << 6)
#define CAP_RESET_TPMESTABLISHED (1u << 7)
#define CAP_GET_STATEBLOB (1u << 8)
#define CAP_SET_STATEBLOB (1u << 9)
#define CAP_STOP (1u << 10)
#define CAP_GET_CONFIG (1u << 11)
#define CAP_SET_DATAFD (1u << 12)
#define CAP_SET_BUFFERSIZE (1u << 13)
#define CAP_GET_INFO (1u << 14)
#define BLOB_PERMANENT 1u
#define BLOB_VOLATILE 2u
#define BLOB_SAVESTATE 3u
#define STATE_FLAG_DECRYPTED 1u
#define STATE_FLAG_ENCRYPTED 2u
#define CONFIG_FLAG_FILE_KEY 1u
/* TPM 1.2-style results used by the control channel */
#define RES_OK 0u
#define RES_BAD_PARAMETER 3u
#define RES_DISABLED_CMD 8u
#define RES_FAIL 9u
#define RES_BAD_ORDINAL 10u
#define RES_INVALID_POSTINIT 0x26u
#define RES_BAD_LOCALITY 0x3Du

/* Request parts after the 4-byte command code (swtpm's ptm_* "req"
 * members), all big endian. Variable data follows where a length is named. */
struct ctrl_req_init { uint8_t flags[4]; };
struct ctrl_req_locality { uint8_t loc; };
struct ctrl_req_hash_data { uint8_t length[4]; /* then length bytes */ };
struct ctrl_req_get_stateblob { uint8_t flags[4], type[4], offset[4]; };
struct ctrl_req_set_stateblob { uint8_t flags[4], type[4], length[4]; /* then length bytes */ };
struct ctrl_req_buffersize { uint8_t size[4]; };
struct ctrl_req_get_info { uint8_t flags[8], offset[4], pad[4]; };
VG_ASSERT_SIZE(struct ctrl_req_init, 4, "swtpm tpm_ioctl.h");
VG_ASSERT_SIZE(struct ctrl_req_locality, 1, "swtpm tpm_ioctl.h");
VG_ASSERT_SIZE(struct ctrl_req_hash_data, 4, "swtpm tpm_ioctl.h");
VG_ASSERT_SIZE(struct ctrl_req_get_stateblob, 12, "swtpm tpm_ioctl.h");
VG_ASSERT_SIZE(struct ctrl_req_set_stateblob, 12, "swtpm tpm_ioctl.h");
VG_ASSERT_SIZE(struct ctrl_req_buffersize, 4, "swtpm tpm_ioctl.h");
VG_ASSERT_SIZE(struct ctrl_req_get_info, 16, "swtpm tpm_ioctl.h");

#define MAX_CONNS 64
#define LISTEN_BACKLOG 256
#define DEFAULT_IDLE_MS 60000
#define DEFAULT_CMD_MS 5000
#define MAX_CTRL_DATA (16u << 20)
#define RECV_CHUNK 65536
#define HEALTH_RETRY_MS 1000

struct conn {
	int fd;
	bool ctrl;            /* control channel, else data */
	bool unix_sock;       /* a UNIX control socket (may pass descriptors) */
	bool persistent;      /* the data channel passed with CMD_SET_DATAFD */
	bool closing;         /* close once the answer is out */
	struct vg_buf in;     /* request bytes received and not yet run */
	struct vg_buf out;    /* answer bytes not yet sent */
	size_t out_off;
	int passed_fd;        /* descriptor received with the current request */
	int64_t last_ms;      /* last byte in or out */
	int64_t req_ms;       /* first byte of the incomplete request, 0: none */
	int64_t out_ms;       /* answer queued at, 0: nothing pending */
};

struct server {
	struct vtpm *t;
	struct vtpm_server_config cfg;
	char *ctrl_path;      /* the UNIX control socket we created */
	int data_lfd, ctrl_lfd, unix_lfd;
	struct conn conns[MAX_CONNS + 1]; /* the last slot: the CMD_SET_DATAFD channel */
	uint8_t locality;
	bool shutdown;
	int64_t next_health_ms;
	uint8_t rsp[VTPM_MAX_CMD];
	uint8_t *blob_cache[3];
	size_t blob_cache_len[3];
	bool blob_cache_plain[3];
};
#define DATAFD_SLOT MAX_CONNS

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	return fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ? -1 : 0;
}

static int listen_tcp(const char *addr, uint16_t port, struct vg_err *err)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		return vg_err_set(err, EINVAL, "bad bind address \"%s\" (IPv4 expected)", addr);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), one = 1;
	if (fd < 0)
		return vg_err_set(err, errno, "socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* bound now (a busy port is found before any state is touched);
	 * listen() waits for vtpm_server_run, so clients see us once we serve */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int e = errno;
		close(fd);
		return vg_err_set(err, e, "cannot listen on %s:%u: %s", addr, port, strerror(e));
	}
	return fd;
}

/* The control socket: created 0600 (umask 077 around bind), replacing only
 * a stale socket of an earlier run, never a file of another kind. */
static int listen_unix(const char *path, struct vg_err *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return vg_err_set(err, ENAMETOOLONG, "control socket path too long: %s", path);
	strcpy(sa.sun_path, path);
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return vg_err_set(err, EEXIST, "%s exists and is not a socket: refusing to replace it", path);
		unlink(path); /* a stale socket of an earlier run (the state directory is locked) */
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return vg_err_set(err, errno, "socket: %s", strerror(errno));
	mode_t old = umask(0077);
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc || chmod(path, 0600) || listen(fd, LISTEN_BACKLOG)) {
		int e = errno;
		close(fd);
		return vg_err_set(err, e, "cannot listen on %s: %s", path, strerror(e));
	}
	return fd;
}

static void power_on_hook(struct server *s)
{
	struct vg_err err = {0};
	s->locality = 0;
	if (s->cfg.startup_clear && vtpm_startup(s->t, true, &err))
		vg_warn("startup-clear: %s", err.msg);
}

static void put_u32(struct vg_buf *o, uint32_t v)
{
	uint8_t p[4];
	vg_put_be32(p, v);
	vg_buf_append(o, p, 4);
}

/* ----------------------------------------------------------- health */
/* A failed state write leaves the TPM failing commands; once the directory
 * takes writes again the instance recovers (vtpm_recover). Tried at most
 * every HEALTH_RETRY_MS, and before a command is refused. */
static void health_tick(struct server *s, int64_t now, bool force)
{
	if (vtpm_health(s->t, NULL) == VTPM_HEALTH_OK || (!force && now < s->next_health_ms))
		return;
	s->next_health_ms = now + HEALTH_RETRY_MS;
	struct vg_err err = {0};
	if (vtpm_recover(s->t, &err) == 0) {
		vg_warn("vTPM state directory writable again: state saved, TPM power-cycled");
		power_on_hook(s);
	}
}

/* ---------------------------------------------------------------- data */
static void error_rsp(uint8_t *rsp, uint32_t rc)
{
	vg_put_be16(rsp, TPM2_ST_NO_SESSIONS);
	vg_put_be32(rsp + 2, TPM2_HEADER_SIZE);
	vg_put_be32(rsp + 6, rc);
}

/* Runs the complete command at the start of c->in (len bytes). The
 * command's bytes are never logged: they can hold authorization values. */
static void run_data_command(struct server *s, struct conn *c, uint32_t len)
{
	size_t rlen = TPM2_HEADER_SIZE;
	struct vg_err err = {0};
	if (vg_log_get_level() >= VG_LOG_DEBUG)
		vg_debug("data: command 0x%x, %u bytes, locality %u", vg_be32(c->in.data + 6), len, s->locality);
	health_tick(s, now_ms(), true);
	const char *why = NULL;
	if (vtpm_health(s->t, &why) != VTPM_HEALTH_OK) {
		vg_warn("command refused: %s", why);
		error_rsp(s->rsp, TPM2_RC_FAILURE);
	} else if (!vtpm_is_powered(s->t)) {
		error_rsp(s->rsp, TPM2_RC_FAILURE); /* not initialised */
	} else if (vtpm_execute(s->t, c->in.data, len, s->locality, s->rsp, sizeof(s->rsp), &rlen, &err)) {
		vg_warn("command failed: %s", err.msg);
		error_rsp(s->rsp, TPM2_RC_FAILURE);
		rlen = TPM2_HEADER_SIZE;
	}
	vg_buf_append(&c->out, s->rsp, rlen);
	vg_secure_zero(s->rsp, rlen);
}

/* 1: ran one command; 0: none complete yet; -1: close after the answer. */
static int step_data(struct server *s, struct conn *c)
{
	if (c->in.len < 6)
		return 0;
	uint32_t len = vg_be32(c->in.data + 2);
	if (len < TPM2_HEADER_SIZE || len > VTPM_MAX_CMD) {
		error_rsp(s->rsp, TPM2_RC_COMMAND_SIZE); /* framing lost: answer, then close */
		vg_buf_append(&c->out, s->rsp, TPM2_HEADER_SIZE);
		return -1;
	}
	if (c->in.len < len)
		return 0;
	run_data_command(s, c, len);
	return (int)len;
}

/* ------------------------------------------------------------- control */
struct ctrl_ctx {
	struct server *s;
	struct conn *c;
	const uint8_t *req;   /* the declared request part */
	const uint8_t *data;  /* variable data (length from the request) */
	uint32_t data_len;
	struct vg_buf *o;
};

static int blob_index(uint32_t type) { return type == BLOB_PERMANENT ? 0 : type == BLOB_VOLATILE ? 1 : -1; }

static void drop_blob_cache(struct server *s)
{
	for (int i = 0; i < 3; i++) {
		if (s->blob_cache[i])
			vg_secure_zero(s->blob_cache[i], s->blob_cache_len[i]);
		free(s->blob_cache[i]);
		s->blob_cache[i] = NULL;
		s->blob_cache_len[i] = 0;
	}
}

/* The answer is always the full ptm_getstate response header (QEMU reads
 * 16 bytes whatever the result), then the data. */
static void stateblob_header(struct vg_buf *o, uint32_t res, uint32_t flags, uint32_t tot, uint32_t len)
{
	put_u32(o, res);
	put_u32(o, flags);
	put_u32(o, tot);
	put_u32(o, len);
}

static void ctrl_get_capability(struct ctrl_ctx *x)
{
	uint32_t caps = CAP_INIT | CAP_SHUTDOWN | CAP_GET_TPMESTABLISHED | CAP_SET_LOCALITY | CAP_HASHING |
			CAP_CANCEL_TPM_CMD | CAP_STORE_VOLATILE | CAP_RESET_TPMESTABLISHED | CAP_GET_STATEBLOB |
			CAP_SET_STATEBLOB | CAP_STOP | CAP_GET_CONFIG | CAP_SET_BUFFERSIZE | CAP_GET_INFO;
	if (x->c->unix_sock)
		caps |= CAP_SET_DATAFD;
	put_u32(x->o, RES_OK); /* 64-bit big-endian capability word */
	put_u32(x->o, caps);
}

static void ctrl_init(struct ctrl_ctx *x)
{
	struct vg_err err = {0};
	/* INIT_FLAG_DELETE_VOLATILE needs nothing: volatile.vst is always
	 * deleted once read (vtpm_open), and a volatile blob set with
	 * CMD_SET_STATEBLOB is resumed once by this power-on. */
	drop_blob_cache(x->s);
	if (vtpm_reset(x->s->t, &err)) {
		vg_error("CMD_INIT: %s", err.msg);
		put_u32(x->o, RES_FAIL);
		return;
	}
	power_on_hook(x->s);
	put_u32(x->o, RES_OK);
}

static void ctrl_shutdown(struct ctrl_ctx *x)
{
	x->s->shutdown = true;
	put_u32(x->o, RES_OK);
}

static void ctrl_get_established(struct ctrl_ctx *x)
{
	struct vg_err err = {0};
	bool est = false;
	put_u32(x->o, vtpm_established_get(x->s->t, &est, &err) ? RES_FAIL : RES_OK);
	uint8_t bit[4] = {est ? 1 : 0, 0, 0, 0};
	vg_buf_append(x->o, bit, 4);
}

static void ctrl_set_locality(struct ctrl_ctx *x)
{
	const struct ctrl_req_locality *r = (const void *)x->req;
	if (r->loc > 4) {
		put_u32(x->o, RES_BAD_LOCALITY);
		return;
	}
	x->s->locality = r->loc;
	put_u32(x->o, RES_OK);
}

static void ctrl_hash_start(struct ctrl_ctx *x)
{
	struct vg_err err = {0};
	put_u32(x->o, vtpm_hash_start(x->s->t, &err) ? RES_FAIL : RES_OK);
}

static void ctrl_hash_data(struct ctrl_ctx *x)
{
	struct vg_err err = {0};
	put_u32(x->o, vtpm_hash_data(x->s->t, x->data, x->data_len, &err) ? RES_FAIL : RES_OK);
}

static void ctrl_hash_end(struct ctrl_ctx *x)
{
	struct vg_err err = {0};
	put_u32(x->o, vtpm_hash_end(x->s->t, &err) ? RES_FAIL : RES_OK);
}

static void ctrl_cancel(struct ctrl_ctx *x)
{
	vtpm_cancel(x->s->t);
	put_u32(x->o, RES_OK);
}

static void ctrl_store_volatile(struct ctrl_ctx *x)
{
	struct vg_err err = {0};
	if (vtpm_store_volatile(x->s->t, &err)) {
		vg_warn("CMD_STORE_VOLATILE: %s", err.msg);
		put_u32(x->o, RES_FAIL);
		return;
	}
	put_u32(x->o, RES_OK);
}

static void ctrl_reset_established(struct ctrl_ctx *x)
{
	struct vg_err err = {0};
	const struct ctrl_req_locality *r = (const void *)x->req;
	put_u32(x->o, r->loc > 4 || vtpm_established_reset(x->s->t, r->loc, &err) ? RES_BAD_LOCALITY : RES_OK);
}

static void ctrl_get_stateblob(struct ctrl_ctx *x)
{
	const struct ctrl_req_get_stateblob *r = (const void *)x->req;
	struct server *s = x->s;
	struct vg_err err = {0};
	uint32_t flags = vg_be32(r->flags), type = vg_be32(r->type), off = vg_be32(r->offset);
	vg_debug("control: state blob %u out, flags 0x%x, offset %u", type, flags, off);
	if (type == BLOB_SAVESTATE) { /* TPM 1.2 only: a TPM 2.0 has none */
		stateblob_header(x->o, RES_OK, 0, 0, 0);
		return;
	}
	int bi = blob_index(type);
	if (bi < 0) {
		stateblob_header(x->o, RES_BAD_PARAMETER, 0, 0, 0);
		return;
	}
	bool plain = flags & STATE_FLAG_DECRYPTED;
	if (plain && !s->cfg.allow_migration) {
		vg_warn("CMD_GET_STATEBLOB: a decrypted state blob was asked for and refused "
			"(migration is not enabled: start with --allow-migration)");
		stateblob_header(x->o, RES_DISABLED_CMD, 0, 0, 0);
		return;
	}
	if (off == 0 || !s->blob_cache[bi] || s->blob_cache_plain[bi] != plain) {
		drop_blob_cache(s);
		if (vtpm_get_state_blob(s->t, type == BLOB_PERMANENT, !plain, &s->blob_cache[bi],
					&s->blob_cache_len[bi], &err)) {
			vg_warn("CMD_GET_STATEBLOB: %s", err.msg);
			stateblob_header(x->o, RES_FAIL, 0, 0, 0);
			return;
		}
		s->blob_cache_plain[bi] = plain;
	}
	size_t tot = s->blob_cache_len[bi];
	if (off > tot) {
		stateblob_header(x->o, RES_BAD_PARAMETER, 0, 0, 0);
		return;
	}
	stateblob_header(x->o, RES_OK, plain ? 0 : STATE_FLAG_ENCRYPTED, (uint32_t)tot, (uint32_t)(tot - off));
	vg_buf_append(x->o, s->blob_cache[bi] + off, tot - off);
}

static void ctrl_set_stateblob(struct ctrl_ctx *x)
{
	const struct ctrl_req_set_stateblob *r = (const void *)x->req;
	struct vg_err err = {0};
	uint32_t flags = vg_be32(r->flags), type = vg_be32(r->type);
	bool sealed = flags & STATE_FLAG_ENCRYPTED;
	int bi = blob_index(type);
	vg_debug("control: state blob %u in, flags 0x%x, %u bytes", type, flags, x->data_len);
	uint32_t res = RES_OK;
	if (type == BLOB_SAVESTATE && x->data_len == 0) {
		res = RES_OK; /* TPM 1.2 only: nothing to set */
	} else if (bi < 0) {
		res = RES_BAD_PARAMETER;
	} else if (!sealed && !x->s->cfg.allow_migration) {
		vg_warn("CMD_SET_STATEBLOB: a plaintext state blob was refused (start with --allow-migration)");
		res = RES_DISABLED_CMD;
	} else if (vtpm_is_powered(x->s->t)) {
		res = RES_INVALID_POSTINIT;
	} else if (vtpm_set_state_blob(x->s->t, type == BLOB_PERMANENT, sealed, x->data, x->data_len, &err)) {
		vg_warn("CMD_SET_STATEBLOB: %s", err.msg);
		res = RES_FAIL;
	}
	put_u32(x->o, res);
}

static void ctrl_stop(struct ctrl_ctx *x)
{
	drop_blob_cache(x->s);
	vtpm_power_off(x->s->t);
	put_u32(x->o, RES_OK);
}

static void ctrl_get_config(struct ctrl_ctx *x)
{
	put_u32(x->o, RES_OK);
	put_u32(x->o, CONFIG_FLAG_FILE_KEY);
}

static void ctrl_set_datafd(struct ctrl_ctx *x)
{
	struct server *s = x->s;
	struct conn *d = &s->conns[DATAFD_SLOT];
	if (x->c->passed_fd < 0 || !x->c->unix_sock || set_nonblock(x->c->passed_fd)) {
		put_u32(x->o, RES_BAD_PARAMETER);
		return;
	}
	if (d->fd >= 0)
		close(d->fd);
	vg_buf_free_secret(&d->in);
	vg_buf_free(&d->out);
	*d = (struct conn){.fd = x->c->passed_fd, .persistent = true, .passed_fd = -1, .last_ms = now_ms()};
	x->c->passed_fd = -1;
	put_u32(x->o, RES_OK);
}

static void ctrl_set_buffersize(struct ctrl_ctx *x)
{
	const struct ctrl_req_buffersize *r = (const void *)x->req;
	struct vg_err err = {0};
	uint32_t in_use = 0, lo = 0, hi = 0;
	if (vtpm_buffer_size(x->s->t, vg_be32(r->size), &in_use, &lo, &hi, &err)) {
		put_u32(x->o, RES_INVALID_POSTINIT);
		in_use = lo = hi = 0;
	} else {
		put_u32(x->o, RES_OK);
	}
	put_u32(x->o, in_use);
	put_u32(x->o, lo);
	put_u32(x->o, hi);
}

static void ctrl_get_info(struct ctrl_ctx *x)
{
	const struct ctrl_req_get_info *r = (const void *)x->req;
	uint64_t flags = ((uint64_t)vg_be32(r->flags) << 32) | vg_be32(r->flags + 4);
	uint32_t off = vg_be32(r->offset);
	char *info = vtpm_get_info(flags);
	size_t tot = info ? strlen(info) + 1 : 0;
	if (!info || off > tot) {
		put_u32(x->o, RES_FAIL);
		put_u32(x->o, 0);
		put_u32(x->o, 0);
	} else {
		put_u32(x->o, RES_OK);
		put_u32(x->o, (uint32_t)tot);
		put_u32(x->o, (uint32_t)(tot - off));
		vg_buf_append(x->o, info + off, tot - off);
	}
	free(info);
}

/* Vigil's own: the TPM's health. Answer: result, state (VTPM_HEALTH_*),
 * message length, message (UTF-8, no NUL). */
static void ctrl_get_health(struct ctrl_ctx *x)
{
	health_tick(x->s, now_ms(), true);
	const char *why = NULL;
	enum vtpm_health h = vtpm_health(x->s->t, &why);
	put_u32(x->o, RES_OK);
	put_u32(x->o, (uint32_t)h);
	size_t n = why ? strlen(why) : 0;
	put_u32(x->o, (uint32_t)n);
	if (n)
		vg_buf_append(x->o, why, n);
}

struct ctrl_cmd {
	uint32_t code;
	const char *name;
	size_t req_size;      /* sizeof the declared request struct, 0: none */
	int len_off;          /* offset of a u32 data length in the request, -1: none */
	void (*run)(struct ctrl_ctx *x);
	bool tcp_ok;          /* unprivileged: also on the TCP control channel */
};

static const struct ctrl_cmd CTRL_CMDS[] = {
	{CMD_GET_CAPABILITY, "CMD_GET_CAPABILITY", 0, -1, ctrl_get_capability, true},
	{CMD_INIT, "CMD_INIT", sizeof(struct ctrl_req_init), -1, ctrl_init, false},
	{CMD_SHUTDOWN, "CMD_SHUTDOWN", 0, -1, ctrl_shutdown, false},
	{CMD_GET_TPMESTABLISHED, "CMD_GET_TPMESTABLISHED", 0, -1, ctrl_get_established, true},
	{CMD_SET_LOCALITY, "CMD_SET_LOCALITY", sizeof(struct ctrl_req_locality), -1, ctrl_set_locality, true},
	{CMD_HASH_START, "CMD_HASH_START", 0, -1, ctrl_hash_start, false},
	{CMD_HASH_DATA, "CMD_HASH_DATA", sizeof(struct ctrl_req_hash_data),
	 offsetof(struct ctrl_req_hash_data, length), ctrl_hash_data, false},
	{CMD_HASH_END, "CMD_HASH_END", 0, -1, ctrl_hash_end, false},
	{CMD_CANCEL_TPM_CMD, "CMD_CANCEL_TPM_CMD", 0, -1, ctrl_cancel, true},
	{CMD_STORE_VOLATILE, "CMD_STORE_VOLATILE", 0, -1, ctrl_store_volatile, false},
	{CMD_RESET_TPMESTABLISHED, "CMD_RESET_TPMESTABLISHED", sizeof(struct ctrl_req_locality), -1,
	 ctrl_reset_established, false},
	{CMD_GET_STATEBLOB, "CMD_GET_STATEBLOB", sizeof(struct ctrl_req_get_stateblob), -1, ctrl_get_stateblob, false},
	{CMD_SET_STATEBLOB, "CMD_SET_STATEBLOB", sizeof(struct ctrl_req_set_stateblob),
	 offsetof(struct ctrl_req_set_stateblob, length), ctrl_set_stateblob, false},
	{CMD_STOP, "CMD_STOP", 0, -1, ctrl_stop, false},
	{CMD_GET_CONFIG, "CMD_GET_CONFIG", 0, -1, ctrl_get_config, true},
	{CMD_SET_DATAFD, "CMD_SET_DATAFD", 0, -1, ctrl_set_datafd, false},
	{CMD_SET_BUFFERSIZE, "CMD_SET_BUFFERSIZE", sizeof(struct ctrl_req_buffersize), -1, ctrl_set_buffersize, false},
	{CMD_GET_INFO, "CMD_GET_INFO", sizeof(struct ctrl_req_get_info), -1, ctrl_get_info, true},
	{VTPM_CTRL_GET_HEALTH, "CMD_VIGIL_GET_HEALTH", 0, -1, ctrl_get_health, true},
};

static const struct ctrl_cmd *ctrl_find(uint32_t code)
{
	for (size_t i = 0; i < VG_ARRAY_SIZE(CTRL_CMDS); i++)
		if (CTRL_CMDS[i].code == code)
			return &CTRL_CMDS[i];
	return NULL;
}

/* Length of the complete request at the start of in, 0 if incomplete,
 * -1 if it can never be complete (unknown command, data too large). */
ssize_t vtpm_ctrl_request_size(const uint8_t *in, size_t have)
{
	if (have < 4)
		return 0;
	const struct ctrl_cmd *cmd = ctrl_find(vg_be32(in));
	if (!cmd)
		return -1;
	size_t need = 4 + cmd->req_size;
	if (have < need)
		return 0;
	if (cmd->len_off >= 0) {
		uint32_t dl = vg_be32(in + 4 + cmd->len_off);
		if (dl > MAX_CTRL_DATA)
			return -1;
		need += dl;
	}
	return have < need ? 0 : (ssize_t)need;
}

/* 1+: ran one request of that many bytes; 0: incomplete; -1: close after the answer. */
static int step_ctrl(struct server *s, struct conn *c)
{
	ssize_t n = vtpm_ctrl_request_size(c->in.data, c->in.len);
	if (n == 0)
		return 0;
	if (n < 0) {
		uint32_t code = vg_be32(c->in.data);
		if (ctrl_find(code)) {
			vg_warn("control: %s with too much data: closing", ctrl_find(code)->name);
		} else {
			vg_warn("unknown control command %u", code);
			put_u32(&c->out, RES_BAD_ORDINAL); /* its size is unknown: framing lost */
		}
		return -1;
	}
	const struct ctrl_cmd *cmd = ctrl_find(vg_be32(c->in.data));
	vg_debug("control: %s (%u)", cmd->name, cmd->code);
	if (!c->unix_sock && !cmd->tcp_ok) {
		/* TCP reaches every local user: what changes or reveals the TPM's
		 * state is served on the owner's UNIX socket only */
		vg_warn("control: %s refused on the TCP control channel (use the UNIX socket)", cmd->name);
		if (cmd->code == CMD_GET_STATEBLOB)
			stateblob_header(&c->out, RES_DISABLED_CMD, 0, 0, 0);
		else
			put_u32(&c->out, RES_DISABLED_CMD);
		return (int)n;
	}
	struct ctrl_ctx x = {.s = s, .c = c, .req = c->in.data + 4, .o = &c->out};
	if (cmd->len_off >= 0) {
		x.data_len = vg_be32(x.req + cmd->len_off);
		x.data = x.req + cmd->req_size;
	}
	cmd->run(&x);
	if (c->passed_fd >= 0) { /* a descriptor goes with CMD_SET_DATAFD only */
		close(c->passed_fd);
		c->passed_fd = -1;
	}
	return (int)n;
}

/* ---------------------------------------------------------- connections */
static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	if (c->passed_fd >= 0)
		close(c->passed_fd);
	vg_buf_free_secret(&c->in);
	vg_buf_free_secret(&c->out);
	*c = (struct conn){.fd = -1, .passed_fd = -1};
}

/* Most bytes a connection buffers: a request of that size is complete (or
 * invalid), so a full buffer always has something to run. */
static size_t in_cap(const struct conn *c) { return c->ctrl ? 4 + 16 + MAX_CTRL_DATA : VTPM_MAX_CMD; }

/* A complete (or never-completable) request is buffered. */
static bool request_ready(const struct conn *c)
{
	if (c->ctrl)
		return vtpm_ctrl_request_size(c->in.data, c->in.len) != 0;
	if (c->in.len < 6)
		return false;
	uint32_t len = vg_be32(c->in.data + 2);
	return len < TPM2_HEADER_SIZE || len > VTPM_MAX_CMD || c->in.len >= len;
}

/* Reads what is there (never waits). -1: peer gone or error. */
static int conn_recv(struct conn *c, int64_t now)
{
	uint8_t buf[RECV_CHUNK];
	size_t room = VG_MIN(sizeof(buf), in_cap(c) - c->in.len);
	ssize_t n;
	int passed = -1;
	if (room == 0)
		return 0;
	if (c->unix_sock) {
		char cbuf[CMSG_SPACE(sizeof(int))];
		struct iovec iov = {.iov_base = buf, .iov_len = room};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				    .msg_controllen = sizeof(cbuf)};
		n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n >= 0)
			for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
				if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
				    cm->cmsg_len == CMSG_LEN(sizeof(int)))
					memcpy(&passed, CMSG_DATA(cm), sizeof(int));
	} else {
		n = recv(c->fd, buf, room, MSG_DONTWAIT);
	}
	if (passed >= 0) {
		if (c->passed_fd >= 0)
			close(c->passed_fd);
		c->passed_fd = passed;
	}
	if (n == 0)
		return -1;
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
	if (c->in.len == 0)
		c->req_ms = now;
	c->last_ms = now;
	int rc = vg_buf_append(&c->in, buf, (size_t)n);
	vg_secure_zero(buf, (size_t)n);
	/* a data request never exceeds the buffer; step_data answers the size */
	return rc ? -1 : 0;
}

/* Sends what the peer takes now. -1: peer gone. */
static int conn_send(struct conn *c, int64_t now)
{
	while (c->out_off < c->out.len) {
		ssize_t n = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
		c->out_off += (size_t)n;
		c->last_ms = now;
	}
	vg_buf_free_secret(&c->out);
	c->out_off = 0;
	c->out_ms = 0;
	return c->closing ? -1 : 0;
}

/* Runs at most one complete request (fairness), queues its answer. */
static void conn_step(struct server *s, struct conn *c, int64_t now)
{
	if (c->closing || c->out.len)
		return;
	int n = c->ctrl ? step_ctrl(s, c) : step_data(s, c);
	if (n < 0) {
		c->closing = true;
	} else if (n > 0) {
		size_t rest = c->in.len - (size_t)n;
		vg_secure_zero(c->in.data, (size_t)n);
		memmove(c->in.data, c->in.data + n, rest);
		c->in.len = rest;
		c->req_ms = rest ? now : 0;
	}
	if (c->out.len)
		c->out_ms = now;
	else if (c->closing)
		c->out_ms = now;
}

/* Whose peer may use the control channel: the server's own user only. */
static bool peer_allowed(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0 || len != sizeof(cr)) {
		vg_warn("control connection refused: cannot read the peer's credentials");
		return false;
	}
	if (cr.uid != geteuid()) {
		vg_warn("control connection from uid %u (pid %d) refused: only uid %u may control this TPM",
			(unsigned)cr.uid, (int)cr.pid, (unsigned)geteuid());
		return false;
	}
	return true;
}

static struct conn *free_slot(struct server *s, int64_t now, bool evict)
{
	struct conn *victim = NULL;
	for (int i = 0; i < MAX_CONNS; i++) {
		struct conn *c = &s->conns[i];
		if (c->fd < 0)
			return c;
		/* only TCP connections with nothing under way may be evicted */
		if (!c->unix_sock && !c->in.len && !c->out.len && (!victim || c->last_ms < victim->last_ms))
			victim = c;
	}
	if (!evict || !victim)
		return NULL;
	vg_debug("all %d connection slots taken: closing the longest idle (%lld ms)", MAX_CONNS,
		 (long long)(now - victim->last_ms));
	conn_close(victim);
	return victim;
}

static void accept_one(struct server *s, int lfd, bool ctrl, bool unix_sock, int64_t now)
{
	struct conn *c = free_slot(s, now, true);
	if (!c)
		return; /* stays in the backlog until a slot frees */
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	if (unix_sock && !peer_allowed(fd)) {
		close(fd);
		return;
	}
	if (!unix_sock) {
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	*c = (struct conn){.fd = fd, .ctrl = ctrl, .unix_sock = unix_sock, .passed_fd = -1, .last_ms = now};
}

/* Deadlines; returns ms until the next one (capped). */
static int64_t enforce_deadlines(struct server *s, int64_t now)
{
	int64_t next = 1000, idle = s->cfg.idle_timeout_ms, cmd = s->cfg.cmd_timeout_ms;
	for (int i = 0; i <= MAX_CONNS; i++) {
		struct conn *c = &s->conns[i];
		if (c->fd < 0)
			continue;
		const char *why = NULL;
		int64_t left;
		if (c->out_ms && (left = c->out_ms + cmd - now) <= 0)
			why = "answer not taken in time";
		else if (c->req_ms && c->in.len && (left = c->req_ms + cmd - now) <= 0)
			why = "request not completed in time";
		else if (!c->persistent && !c->unix_sock && (left = c->last_ms + idle - now) <= 0)
			why = "idle";
		if (why) {
			vg_debug("closing %s connection: %s", c->ctrl ? "control" : "data", why);
			if (c->persistent)
				vg_warn("closing the CMD_SET_DATAFD data channel: %s", why);
			conn_close(c);
			continue;
		}
		if (c->out_ms)
			next = VG_MIN(next, c->out_ms + cmd - now);
		if (c->req_ms && c->in.len)
			next = VG_MIN(next, c->req_ms + cmd - now);
		if (!c->persistent && !c->unix_sock)
			next = VG_MIN(next, c->last_ms + idle - now);
	}
	return next < 0 ? 0 : next;
}

/* Runs every complete request in (in, len) as if it had arrived on one
 * connection, appending the answers to out (fuzzing and tests: the same
 * framing, table and handlers as the socket path). */
int vtpm_server_feed(struct vtpm_server *srv, struct vtpm *t, bool ctrl, const uint8_t *in, size_t len,
		     struct vg_buf *out)
{
	struct server *s = (struct server *)srv;
	struct conn c = {.fd = -1, .ctrl = ctrl, .unix_sock = ctrl, .passed_fd = -1};
	s->t = t;
	s->shutdown = false; /* each feed is a connection of its own */
	int rc = 0;
	if (len && vg_buf_append(&c.in, in, VG_MIN(len, in_cap(&c))))
		return -ENOMEM;
	while (!c.closing && !s->shutdown && request_ready(&c)) {
		conn_step(s, &c, 0);
		if (vg_buf_append(out, c.out.data, c.out.len)) {
			rc = -ENOMEM;
			break;
		}
		vg_buf_free_secret(&c.out);
	}
	if (c.out.len)
		rc = vg_buf_append(out, c.out.data, c.out.len) ? -ENOMEM : rc;
	conn_close(&c);
	return rc;
}

/* ------------------------------------------------------------- lifecycle */
int vtpm_server_open(const struct vtpm_server_config *cfg, struct vtpm_server **out, struct vg_err *err)
{
	*out = NULL;
	if (!cfg->ctrl_unix && !cfg->state_dir)
		return vg_err_set(err, EINVAL, "no control socket: give a state directory or a socket path");
	if (cfg->ctrl_tcp && !cfg->port)
		return vg_err_set(err, EINVAL, "a TCP control channel needs --port (it listens on port+1)");
	if (cfg->port == 65535)
		return vg_err_set(err, EINVAL, "port %u leaves no room for the control port", cfg->port);
	struct sockaddr_in probe;
	const char *addr = cfg->bind_addr ? cfg->bind_addr : "127.0.0.1";
	if (inet_pton(AF_INET, addr, &probe.sin_addr) != 1)
		return vg_err_set(err, EINVAL, "bad bind address \"%s\" (IPv4 expected)", addr);
	struct server *s = calloc(1, sizeof(*s));
	if (!s)
		return vg_err_set(err, ENOMEM, "out of memory");
	s->cfg = *cfg;
	if (!s->cfg.idle_timeout_ms)
		s->cfg.idle_timeout_ms = DEFAULT_IDLE_MS;
	if (!s->cfg.cmd_timeout_ms)
		s->cfg.cmd_timeout_ms = DEFAULT_CMD_MS;
	s->data_lfd = s->ctrl_lfd = s->unix_lfd = -1;
	for (int i = 0; i <= MAX_CONNS; i++)
		s->conns[i] = (struct conn){.fd = -1, .passed_fd = -1};
	int rc = 0;
	if (cfg->ctrl_unix)
		s->ctrl_path = strdup(cfg->ctrl_unix);
	else if (asprintf(&s->ctrl_path, "%s/%s", cfg->state_dir, VTPM_CTRL_SOCKET_NAME) < 0)
		s->ctrl_path = NULL;
	if (!s->ctrl_path) {
		rc = vg_err_set(err, ENOMEM, "out of memory");
		goto fail;
	}
	if (strlen(s->ctrl_path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		rc = vg_err_set(err, ENAMETOOLONG, "control socket path too long: %s", s->ctrl_path);
		goto fail;
	}
	if (cfg->port && (rc = s->data_lfd = listen_tcp(addr, cfg->port, err)) < 0)
		goto fail;
	if (cfg->ctrl_tcp && (rc = s->ctrl_lfd = listen_tcp(addr, (uint16_t)(cfg->port + 1), err)) < 0)
		goto fail;
	*out = (struct vtpm_server *)s;
	return 0;
fail:
	vtpm_server_free((struct vtpm_server *)s);
	return rc;
}

const char *vtpm_server_ctrl_path(const struct vtpm_server *srv)
{
	return ((const struct server *)srv)->ctrl_path;
}

void vtpm_server_free(struct vtpm_server *srv)
{
	struct server *s = (struct server *)srv;
	if (!s)
		return;
	for (int i = 0; i <= MAX_CONNS; i++)
		if (s->conns[i].fd >= 0 || s->conns[i].in.data || s->conns[i].out.data)
			conn_close(&s->conns[i]);
	int fds[3] = {s->data_lfd, s->ctrl_lfd, s->unix_lfd};
	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (s->unix_lfd >= 0 && s->ctrl_path)
		unlink(s->ctrl_path);
	free(s->ctrl_path);
	drop_blob_cache(s);
	vg_secure_zero(s, sizeof(*s));
	free(s);
}

int vtpm_server_run(struct vtpm_server *srv, struct vtpm *t, volatile sig_atomic_t *stop, struct vg_err *err)
{
	struct server *s = (struct server *)srv;
	int rc = 0;
	s->t = t;
	if (s->unix_lfd < 0 && (rc = s->unix_lfd = listen_unix(s->ctrl_path, err)) < 0)
		return rc;
	if ((s->data_lfd >= 0 && listen(s->data_lfd, LISTEN_BACKLOG)) ||
	    (s->ctrl_lfd >= 0 && listen(s->ctrl_lfd, LISTEN_BACKLOG)))
		return vg_err_set(err, errno, "listen: %s", strerror(errno));
	rc = 0;
	if (vtpm_is_powered(t))
		power_on_hook(s);

	struct pollfd pfd[3 + MAX_CONNS + 1];
	int who[3 + MAX_CONNS + 1]; /* -1..-3 listeners, >= 0 slot index */
	int64_t wait_ms = 0;
	while (!*stop && !s->shutdown) {
		int n = 0;
		int64_t now = now_ms();
		bool room = free_slot(s, now, false) != NULL;
		bool evictable = false;
		for (int i = 0; i < MAX_CONNS && !room; i++)
			evictable |= !s->conns[i].unix_sock && !s->conns[i].in.len && !s->conns[i].out.len;
		/* Listeners are polled only when a slot is free or can be made free:
		 * otherwise new clients wait in the kernel's backlog. */
		if (room || evictable) {
			if (s->data_lfd >= 0) { pfd[n] = (struct pollfd){s->data_lfd, POLLIN, 0}; who[n++] = -1; }
			if (s->ctrl_lfd >= 0) { pfd[n] = (struct pollfd){s->ctrl_lfd, POLLIN, 0}; who[n++] = -2; }
			if (s->unix_lfd >= 0) { pfd[n] = (struct pollfd){s->unix_lfd, POLLIN, 0}; who[n++] = -3; }
		}
		bool pending = false;
		for (int i = 0; i <= MAX_CONNS; i++) {
			struct conn *c = &s->conns[i];
			if (c->fd < 0)
				continue;
			bool ready = !c->out.len && !c->closing && request_ready(c);
			short ev = c->out.len || c->closing ? POLLOUT : ready || c->in.len >= in_cap(c) ? 0 : POLLIN;
			pfd[n] = (struct pollfd){c->fd, ev, 0};
			who[n++] = i;
			pending |= ready; /* a complete request still buffered: come back at once */
		}
		int r = poll(pfd, (nfds_t)n, pending ? 0 : (int)wait_ms);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = vg_err_set(err, errno, "poll: %s", strerror(errno));
			break;
		}
		now = now_ms();
		/* connections first, listeners after: an accept may evict a
		 * connection and reuse its descriptor number */
		for (int i = 0; i < n && !s->shutdown; i++) {
			if (who[i] < 0)
				continue;
			struct conn *c = &s->conns[who[i]];
			if (c->fd != pfd[i].fd)
				continue;
			if (pfd[i].revents & (POLLERR | POLLNVAL) ||
			    (pfd[i].revents & POLLHUP && !(pfd[i].revents & POLLIN))) {
				conn_close(c);
				continue;
			}
			if ((pfd[i].revents & POLLOUT && conn_send(c, now)) ||
			    (pfd[i].revents & POLLIN && conn_recv(c, now))) {
				conn_close(c);
				continue;
			}
		}
		for (int i = 0; i < n && !s->shutdown; i++)
			if (who[i] < 0 && pfd[i].revents & POLLIN)
				accept_one(s, pfd[i].fd, who[i] != -1, who[i] == -3, now);
		/* one request per connection per round, then answers go out */
		for (int i = 0; i <= MAX_CONNS && !s->shutdown; i++) {
			struct conn *c = &s->conns[i];
			if (c->fd < 0)
				continue;
			conn_step(s, c, now);
			if ((c->out.len || c->closing) && conn_send(c, now))
				conn_close(c);
		}
		health_tick(s, now, false);
		wait_ms = enforce_deadlines(s, now_ms());
	}
	/* the answer to CMD_SHUTDOWN goes out before we stop */
	for (int i = 0; i <= MAX_CONNS; i++)
		if (s->conns[i].fd >= 0 && s->conns[i].out.len) {
			int fl = fcntl(s->conns[i].fd, F_GETFL);
			if (fl >= 0)
				fcntl(s->conns[i].fd, F_SETFL, fl & ~O_NONBLOCK);
			struct timeval tv = {.tv_sec = 1};
			setsockopt(s->conns[i].fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
			vg_write_full(s->conns[i].fd, s->conns[i].out.data + s->conns[i].out_off,
				      s->conns[i].out.len - s->conns[i].out_off);
		}
	if (vtpm_is_powered(t) && vtpm_shutdown(t, err))
		rc = -(err && err->code ? err->code : EIO);
	return rc;
}
