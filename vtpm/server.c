/*
 * swtpm-compatible socket server (vtpm.h section 5): the TPM data channel
 * and swtpm's control channel (CMD_* of swtpm's tpm_ioctl.h, big endian).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vtpm/vtpm.h"

/* control commands */
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
#define RES_FAIL 9u
#define RES_BAD_ORDINAL 10u
#define RES_INVALID_POSTINIT 0x26u
#define RES_BAD_LOCALITY 0x3Du

#define MAX_CONNS 8
#define IO_TIMEOUT_SEC 5
#define MAX_CTRL_DATA (16u << 20)

struct conn {
	int fd;
	bool ctrl;
	bool unix_ctrl;
	size_t have;                 /* data channel: bytes of the command so far */
	uint8_t buf[VTPM_MAX_CMD];
};

struct server {
	struct vtpm *t;
	const struct vtpm_server_config *cfg;
	int data_lfd, ctrl_lfd, unix_lfd;
	struct conn datafd; /* data channel passed with CMD_SET_DATAFD */
	struct conn conns[MAX_CONNS];
	uint8_t locality;
	bool shutdown;
	uint8_t rsp[VTPM_MAX_CMD];
	uint8_t *blob_cache[3];
	size_t blob_cache_len[3];
	bool blob_cache_plain[3];
};

static void set_timeouts(int fd)
{
	struct timeval tv = {.tv_sec = IO_TIMEOUT_SEC};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int listen_tcp(const char *addr, uint16_t port, struct vg_err *err)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		return vg_err_set(err, EINVAL, "bad bind address \"%s\" (IPv4 expected)", addr);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	if (fd < 0)
		return vg_err_set(err, errno, "socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 16)) {
		int e = errno;
		close(fd);
		return vg_err_set(err, e, "cannot listen on %s:%u: %s", addr, port, strerror(e));
	}
	return fd;
}

static int listen_unix(const char *path, struct vg_err *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return vg_err_set(err, ENAMETOOLONG, "control socket path too long: %s", path);
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return vg_err_set(err, errno, "socket: %s", strerror(errno));
	struct stat st;
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path); /* a stale socket of an earlier run */
	mode_t old = umask(0077);
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc || listen(fd, 4)) {
		int e = errno;
		close(fd);
		return vg_err_set(err, e, "cannot listen on %s: %s", path, strerror(e));
	}
	return fd;
}

/* Reads exactly n bytes; 0 ok, -1 EOF/error/timeout. */
static int read_exact(int fd, void *p, size_t n)
{
	ssize_t r = vg_read_full(fd, p, n);
	return r == (ssize_t)n ? 0 : -1;
}

static void power_on_hook(struct server *s)
{
	struct vg_err err = {0};
	s->locality = 0;
	if (s->cfg->startup_clear && vtpm_startup(s->t, true, &err))
		vg_warn("startup-clear: %s", err.msg);
}

/* ---------------------------------------------------------------- data */
static void error_rsp(uint8_t *rsp, uint32_t rc)
{
	vg_put_be16(rsp, 0x8001);
	vg_put_be32(rsp + 2, 10);
	vg_put_be32(rsp + 6, rc);
}

/* Runs one complete command from c->buf. -1: the answer could not be sent. */
static int run_data_command(struct server *s, struct conn *c, uint32_t len)
{
	size_t rlen = 10;
	struct vg_err err = {0};
	if (vg_log_get_level() >= VG_LOG_DEBUG)
		vg_debug("data: command 0x%x, %u bytes, locality %u", vg_be32(c->buf + 6), len, s->locality);
	if (!vtpm_is_powered(s->t)) {
		error_rsp(s->rsp, 0x101); /* TPM_RC_FAILURE: not initialised */
	} else if (vtpm_execute(s->t, c->buf, len, s->locality, s->rsp, sizeof(s->rsp), &rlen, &err)) {
		vg_warn("command failed: %s", err.msg);
		error_rsp(s->rsp, 0x101);
		rlen = 10;
	}
	return vg_write_full(c->fd, s->rsp, rlen) ? -1 : 0;
}

/* Takes what has arrived on a data connection (never waits for a slow
 * client) and runs every complete command in it, in order. -1 closes the
 * connection. */
static int serve_data(struct server *s, struct conn *c)
{
	ssize_t n = recv(c->fd, c->buf + c->have, sizeof(c->buf) - c->have, MSG_DONTWAIT);
	if (n == 0)
		return -1;
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
	c->have += (size_t)n;
	while (c->have >= 6) {
		uint32_t len = vg_be32(c->buf + 2);
		if (len < 10 || len > sizeof(c->buf)) {
			error_rsp(s->rsp, 0x142); /* TPM_RC_COMMAND_SIZE; framing lost: close */
			vg_write_full(c->fd, s->rsp, 10);
			return -1;
		}
		if (c->have < len)
			break;
		if (run_data_command(s, c, len))
			return -1;
		memmove(c->buf, c->buf + len, c->have - len);
		c->have -= len;
	}
	return 0;
}

/* ------------------------------------------------------------- control */
static void put_res(struct vg_buf *o, uint32_t v)
{
	uint8_t p[4];
	vg_put_be32(p, v);
	vg_buf_append(o, p, 4);
}

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
	put_res(o, res);
	put_res(o, flags);
	put_res(o, tot);
	put_res(o, len);
}

static void ctrl_get_stateblob(struct server *s, int fd, struct vg_buf *o)
{
	uint8_t req[12];
	struct vg_err err = {0};
	if (read_exact(fd, req, 12))
		return;
	uint32_t flags = vg_be32(req), type = vg_be32(req + 4), off = vg_be32(req + 8);
	vg_debug("control: state blob %u out, flags 0x%x, offset %u", type, flags, off);
	if (type == BLOB_SAVESTATE) { /* TPM 1.2 only: a TPM 2.0 has none */
		stateblob_header(o, RES_OK, 0, 0, 0);
		return;
	}
	int bi = blob_index(type);
	if (bi < 0) {
		stateblob_header(o, RES_BAD_PARAMETER, 0, 0, 0);
		return;
	}
	bool plain = flags & STATE_FLAG_DECRYPTED;
	if (off == 0 || !s->blob_cache[bi] || s->blob_cache_plain[bi] != plain) {
		drop_blob_cache(s);
		if (vtpm_get_state_blob(s->t, type == BLOB_PERMANENT, !plain, &s->blob_cache[bi],
					&s->blob_cache_len[bi], &err)) {
			vg_warn("CMD_GET_STATEBLOB: %s", err.msg);
			stateblob_header(o, RES_FAIL, 0, 0, 0);
			return;
		}
		s->blob_cache_plain[bi] = plain;
	}
	size_t tot = s->blob_cache_len[bi];
	if (off > tot) {
		stateblob_header(o, RES_BAD_PARAMETER, 0, 0, 0);
		return;
	}
	stateblob_header(o, RES_OK, plain ? 0 : STATE_FLAG_ENCRYPTED, (uint32_t)tot, (uint32_t)(tot - off));
	vg_buf_append(o, s->blob_cache[bi] + off, tot - off);
}

static void ctrl_set_stateblob(struct server *s, int fd, struct vg_buf *o)
{
	uint8_t req[12];
	struct vg_err err = {0};
	if (read_exact(fd, req, 12))
		return;
	uint32_t flags = vg_be32(req), type = vg_be32(req + 4), len = vg_be32(req + 8);
	int bi = blob_index(type);
	vg_debug("control: state blob %u in, flags 0x%x, %u bytes", type, flags, len);
	if (len > MAX_CTRL_DATA) {
		put_res(o, RES_BAD_PARAMETER);
		return;
	}
	uint8_t *data = malloc(len ? len : 1);
	if (!data || read_exact(fd, data, len)) {
		free(data);
		return;
	}
	uint32_t res = RES_OK;
	if (type == BLOB_SAVESTATE && len == 0) {
		res = RES_OK; /* TPM 1.2 only: nothing to set */
	} else if (bi < 0) {
		res = RES_BAD_PARAMETER;
	} else if (vtpm_is_powered(s->t)) {
		res = RES_INVALID_POSTINIT;
	} else if (vtpm_set_state_blob(s->t, type == BLOB_PERMANENT, flags & STATE_FLAG_ENCRYPTED, data, len,
				       &err)) {
		vg_warn("CMD_SET_STATEBLOB: %s", err.msg);
		res = RES_FAIL;
	}
	vg_secure_zero(data, len);
	free(data);
	put_res(o, res);
}

/* Handles one control command; -1 closes the connection. */
static int serve_ctrl(struct server *s, struct conn *c)
{
	uint8_t hdr[4], b[16];
	int passed_fd = -1;
	struct vg_err err = {0};
	struct vg_buf o = {0};

	if (c->unix_ctrl) {
		char cbuf[CMSG_SPACE(sizeof(int))];
		struct iovec iov = {.iov_base = hdr, .iov_len = 4};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				    .msg_controllen = sizeof(cbuf)};
		ssize_t n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC);
		if (n <= 0)
			return -1;
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
			if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
			    cm->cmsg_len == CMSG_LEN(sizeof(int)))
				memcpy(&passed_fd, CMSG_DATA(cm), sizeof(int));
		if (n < 4 && read_exact(c->fd, hdr + n, 4 - (size_t)n)) {
			if (passed_fd >= 0)
				close(passed_fd);
			return -1;
		}
	} else if (read_exact(c->fd, hdr, 4)) {
		return -1;
	}
	uint32_t cmd = vg_be32(hdr);
	if (passed_fd >= 0 && cmd != CMD_SET_DATAFD) {
		close(passed_fd);
		passed_fd = -1;
	}
	static const char *const names[] = {
		"?", "CMD_GET_CAPABILITY", "CMD_INIT", "CMD_SHUTDOWN", "CMD_GET_TPMESTABLISHED",
		"CMD_SET_LOCALITY", "CMD_HASH_START", "CMD_HASH_DATA", "CMD_HASH_END", "CMD_CANCEL_TPM_CMD",
		"CMD_STORE_VOLATILE", "CMD_RESET_TPMESTABLISHED", "CMD_GET_STATEBLOB", "CMD_SET_STATEBLOB",
		"CMD_STOP", "CMD_GET_CONFIG", "CMD_SET_DATAFD", "CMD_SET_BUFFERSIZE", "CMD_GET_INFO",
	};
	vg_debug("control: %s (%u)", cmd < VG_ARRAY_SIZE(names) ? names[cmd] : "unknown", cmd);
	switch (cmd) {
	case CMD_GET_CAPABILITY: {
		uint32_t caps = CAP_INIT | CAP_SHUTDOWN | CAP_GET_TPMESTABLISHED | CAP_SET_LOCALITY | CAP_HASHING |
				CAP_CANCEL_TPM_CMD | CAP_STORE_VOLATILE | CAP_RESET_TPMESTABLISHED |
				CAP_GET_STATEBLOB | CAP_SET_STATEBLOB | CAP_STOP | CAP_GET_CONFIG |
				CAP_SET_BUFFERSIZE | CAP_GET_INFO;
		if (c->unix_ctrl)
			caps |= CAP_SET_DATAFD;
		put_res(&o, RES_OK); /* 64-bit big-endian capability word */
		put_res(&o, caps);
		break;
	}
	case CMD_INIT: {
		if (read_exact(c->fd, b, 4))
			goto drop;
		/* INIT_FLAG_DELETE_VOLATILE needs nothing: volatile.vst is always
		 * deleted once read (vtpm_open), and a volatile blob set with
		 * CMD_SET_STATEBLOB is resumed once by this power-on. */
		drop_blob_cache(s);
		if (vtpm_reset(s->t, &err)) {
			vg_error("CMD_INIT: %s", err.msg);
			put_res(&o, RES_FAIL);
		} else {
			power_on_hook(s);
			put_res(&o, RES_OK);
		}
		break;
	}
	case CMD_SHUTDOWN:
		s->shutdown = true;
		put_res(&o, RES_OK);
		break;
	case CMD_GET_TPMESTABLISHED: {
		bool est = false;
		put_res(&o, vtpm_established_get(s->t, &est, &err) ? RES_FAIL : RES_OK);
		uint8_t bit[4] = {est ? 1 : 0, 0, 0, 0};
		vg_buf_append(&o, bit, 4);
		break;
	}
	case CMD_SET_LOCALITY:
		if (read_exact(c->fd, b, 1))
			goto drop;
		if (b[0] > 4) {
			put_res(&o, RES_BAD_LOCALITY);
		} else {
			s->locality = b[0];
			put_res(&o, RES_OK);
		}
		break;
	case CMD_HASH_START:
		put_res(&o, vtpm_hash_start(s->t, &err) ? RES_FAIL : RES_OK);
		break;
	case CMD_HASH_DATA: {
		if (read_exact(c->fd, b, 4))
			goto drop;
		uint32_t len = vg_be32(b);
		if (len > MAX_CTRL_DATA)
			goto drop;
		uint8_t *data = malloc(len ? len : 1);
		if (!data || read_exact(c->fd, data, len)) {
			free(data);
			goto drop;
		}
		put_res(&o, vtpm_hash_data(s->t, data, len, &err) ? RES_FAIL : RES_OK);
		free(data);
		break;
	}
	case CMD_HASH_END:
		put_res(&o, vtpm_hash_end(s->t, &err) ? RES_FAIL : RES_OK);
		break;
	case CMD_CANCEL_TPM_CMD:
		vtpm_cancel(s->t);
		put_res(&o, RES_OK);
		break;
	case CMD_STORE_VOLATILE:
		if (vtpm_store_volatile(s->t, &err)) {
			vg_warn("CMD_STORE_VOLATILE: %s", err.msg);
			put_res(&o, RES_FAIL);
		} else {
			put_res(&o, RES_OK);
		}
		break;
	case CMD_RESET_TPMESTABLISHED:
		if (read_exact(c->fd, b, 1))
			goto drop;
		put_res(&o, b[0] > 4 ? RES_BAD_LOCALITY
				     : vtpm_established_reset(s->t, b[0], &err) ? RES_BAD_LOCALITY : RES_OK);
		break;
	case CMD_GET_STATEBLOB:
		ctrl_get_stateblob(s, c->fd, &o);
		if (!o.len)
			goto drop;
		break;
	case CMD_SET_STATEBLOB:
		ctrl_set_stateblob(s, c->fd, &o);
		if (!o.len)
			goto drop;
		break;
	case CMD_STOP:
		drop_blob_cache(s);
		vtpm_power_off(s->t);
		put_res(&o, RES_OK);
		break;
	case CMD_GET_CONFIG:
		put_res(&o, RES_OK);
		put_res(&o, CONFIG_FLAG_FILE_KEY);
		break;
	case CMD_SET_DATAFD:
		if (passed_fd < 0 || !c->unix_ctrl) {
			put_res(&o, RES_BAD_PARAMETER);
			break;
		}
		if (s->datafd.fd >= 0)
			close(s->datafd.fd);
		s->datafd.fd = passed_fd;
		s->datafd.have = 0;
		set_timeouts(passed_fd);
		passed_fd = -1;
		put_res(&o, RES_OK);
		break;
	case CMD_SET_BUFFERSIZE: {
		if (read_exact(c->fd, b, 4))
			goto drop;
		uint32_t in_use = 0, lo = 0, hi = 0;
		if (vtpm_buffer_size(s->t, vg_be32(b), &in_use, &lo, &hi, &err)) {
			put_res(&o, RES_INVALID_POSTINIT);
			in_use = lo = hi = 0;
		} else {
			put_res(&o, RES_OK);
		}
		put_res(&o, in_use);
		put_res(&o, lo);
		put_res(&o, hi);
		break;
	}
	case CMD_GET_INFO: {
		if (read_exact(c->fd, b, 16))
			goto drop;
		uint64_t flags = ((uint64_t)vg_be32(b) << 32) | vg_be32(b + 4);
		uint32_t off = vg_be32(b + 8);
		char *info = vtpm_get_info(flags);
		size_t tot = info ? strlen(info) + 1 : 0;
		if (!info || off > tot) {
			put_res(&o, RES_FAIL);
			put_res(&o, 0);
			put_res(&o, 0);
		} else {
			put_res(&o, RES_OK);
			put_res(&o, (uint32_t)tot);
			put_res(&o, (uint32_t)(tot - off));
			vg_buf_append(&o, info + off, tot - off);
		}
		free(info);
		break;
	}
	default:
		vg_warn("unknown control command %u", cmd);
		put_res(&o, RES_BAD_ORDINAL);
		break;
	}
	if (passed_fd >= 0)
		close(passed_fd);
	int rc = vg_write_full(c->fd, o.data, o.len) ? -1 : 0;
	vg_buf_free(&o);
	return rc;
drop:
	if (passed_fd >= 0)
		close(passed_fd);
	vg_buf_free(&o);
	return -1;
}

static void add_conn(struct server *s, int lfd, bool ctrl, bool unix_ctrl)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	for (int i = 0; i < MAX_CONNS; i++) {
		if (s->conns[i].fd < 0) {
			set_timeouts(fd);
			if (!unix_ctrl) {
				int one = 1;
				setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			}
			s->conns[i].fd = fd;
			s->conns[i].ctrl = ctrl;
			s->conns[i].unix_ctrl = unix_ctrl;
			s->conns[i].have = 0;
			return;
		}
	}
	vg_warn("too many connections; dropping one");
	close(fd);
}

int vtpm_server_run(struct vtpm *t, const struct vtpm_server_config *cfg, volatile sig_atomic_t *stop,
		    struct vg_err *err)
{
	struct server *s = calloc(1, sizeof(*s));
	int rc = 0;
	if (!s)
		return vg_err_set(err, ENOMEM, "out of memory");
	s->t = t;
	s->cfg = cfg;
	s->data_lfd = s->ctrl_lfd = s->unix_lfd = s->datafd.fd = -1;
	for (int i = 0; i < MAX_CONNS; i++)
		s->conns[i].fd = -1;
	const char *addr = cfg->bind_addr ? cfg->bind_addr : "127.0.0.1";
	if (cfg->port) {
		if (cfg->port == 65535) {
			rc = vg_err_set(err, EINVAL, "port %u leaves no room for the control port", cfg->port);
			goto out;
		}
		if ((rc = s->data_lfd = listen_tcp(addr, cfg->port, err)) < 0)
			goto out;
		if (!cfg->ctrl_unix && (rc = s->ctrl_lfd = listen_tcp(addr, (uint16_t)(cfg->port + 1), err)) < 0)
			goto out;
	}
	if (cfg->ctrl_unix && (rc = s->unix_lfd = listen_unix(cfg->ctrl_unix, err)) < 0)
		goto out;
	if (s->data_lfd < 0 && s->unix_lfd < 0) {
		rc = vg_err_set(err, EINVAL, "nothing to serve: give a port or a control socket");
		goto out;
	}
	rc = 0;
	if (vtpm_is_powered(t))
		power_on_hook(s);

	while (!*stop && !s->shutdown) {
		struct pollfd pfd[4 + MAX_CONNS];
		int who[4 + MAX_CONNS]; /* -1..-4 listeners/datafd, >= 0 conn index */
		int n = 0;
		if (s->data_lfd >= 0) { pfd[n] = (struct pollfd){s->data_lfd, POLLIN, 0}; who[n++] = -1; }
		if (s->ctrl_lfd >= 0) { pfd[n] = (struct pollfd){s->ctrl_lfd, POLLIN, 0}; who[n++] = -2; }
		if (s->unix_lfd >= 0) { pfd[n] = (struct pollfd){s->unix_lfd, POLLIN, 0}; who[n++] = -3; }
		if (s->datafd.fd >= 0) { pfd[n] = (struct pollfd){s->datafd.fd, POLLIN, 0}; who[n++] = -4; }
		for (int i = 0; i < MAX_CONNS; i++)
			if (s->conns[i].fd >= 0) {
				pfd[n] = (struct pollfd){s->conns[i].fd, POLLIN, 0};
				who[n++] = i;
			}
		int r = poll(pfd, (nfds_t)n, 500);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = vg_err_set(err, errno, "poll: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n && !s->shutdown; i++) {
			if (!pfd[i].revents)
				continue;
			switch (who[i]) {
			case -1: add_conn(s, s->data_lfd, false, false); break;
			case -2: add_conn(s, s->ctrl_lfd, true, false); break;
			case -3: add_conn(s, s->unix_lfd, true, true); break;
			case -4:
				if (serve_data(s, &s->datafd)) {
					close(s->datafd.fd);
					s->datafd.fd = -1;
				}
				break;
			default: {
				struct conn *c = &s->conns[who[i]];
				if ((c->ctrl ? serve_ctrl(s, c) : serve_data(s, c)) != 0) {
					close(c->fd);
					c->fd = -1;
				}
			}
			}
		}
	}
	if (vtpm_is_powered(t) && vtpm_shutdown(t, err))
		rc = -(err && err->code ? err->code : EIO);
out:
	for (int i = 0; i < MAX_CONNS; i++)
		if (s->conns[i].fd >= 0)
			close(s->conns[i].fd);
	int fds[4] = {s->data_lfd, s->ctrl_lfd, s->unix_lfd, s->datafd.fd};
	for (int i = 0; i < 4; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (s->unix_lfd >= 0 && cfg->ctrl_unix)
		unlink(cfg->ctrl_unix);
	drop_blob_cache(s);
	vg_secure_zero(s, sizeof(*s));
	free(s);
	return rc < 0 ? rc : 0;
}
