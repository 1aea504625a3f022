/*
 * The libtpms TPM 2.0 instance (vtpm.h section 3): lifecycle, command
 * execution with locality, encrypted persistence through libtpms' NVRAM
 * callbacks. libtpms is a process-global singleton, so is this instance.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libtpms/tpm_error.h>
#include <libtpms/tpm_library.h>
#include <libtpms/tpm_nvfilename.h>
#include <libtpms/tpm_tis.h>

#include "vtpm/tpm2.h"
#include "vtpm/vtpm.h"
#include "vtpm/vtpm_priv.h"

struct vtpm {
	char *state_dir;
	int dir_fd;        /* the state directory, flock'ed for the instance's life */
	uint8_t *key;      /* VTPM_KEY_SIZE bytes on a page kept out of core dumps */
	uint8_t *perm;     /* current permanent state (plaintext), served to libtpms */
	size_t perm_len;
	uint8_t *vol;      /* volatile state to restore at the next MainInit */
	size_t vol_len;
	bool powered;
	bool stored_error; /* a state write failed (health: VTPM_HEALTH_STATE_WRITE) */
	uint32_t buffer_size;
	uint8_t locality;
	unsigned char *rspbuf; /* libtpms' response buffer, reused */
	uint32_t rspbuf_size;
	struct vg_err store_err;
};

static struct vtpm *g_tpm; /* libtpms is a process-global singleton */

/* Replaces a secret buffer (zeroizing the old one); new may be NULL. */
static void set_secret(uint8_t **slot, size_t *slot_len, uint8_t *new, size_t len)
{
	if (*slot)
		vg_secure_zero(*slot, *slot_len);
	free(*slot);
	*slot = new;
	*slot_len = new ? len : 0;
}

/* Atomic replace of one state file inside the locked directory: a
 * temporary created with O_EXCL|O_NOFOLLOW, fsync, renameat over the name
 * (which replaces a link, never follows it), fsync of the directory. */
static int write_state_file(struct vtpm *t, const char *file, const uint8_t *data, size_t len, struct vg_err *err)
{
	static unsigned seq;
	char tmp[64];
	snprintf(tmp, sizeof(tmp), "%s" VTPM_STATE_TMP_INFIX "%ld.%u", file, (long)getpid(), seq++);
	int fd = openat(t->dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return vg_err_set(err, errno, "%s/%s: cannot create: %s", t->state_dir, file, strerror(errno));
	int rc = vg_write_full(fd, data, len);
	if (rc == 0 && fsync(fd) != 0)
		rc = -errno;
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && renameat(t->dir_fd, tmp, t->dir_fd, file) != 0)
		rc = -errno;
	if (rc) {
		unlinkat(t->dir_fd, tmp, 0);
		return vg_err_set(err, -rc, "%s/%s: not written: %s", t->state_dir, file, strerror(-rc));
	}
	fsync(t->dir_fd);
	return 0;
}

static int write_sealed(struct vtpm *t, const char *file, const char *kind, const uint8_t *plain, size_t len,
			struct vg_err *err)
{
	uint8_t *blob = NULL;
	size_t blob_len = 0;
	int rc = vtpm_state_seal(t->key, kind, plain, len, &blob, &blob_len, err);
	if (rc)
		return rc;
	rc = write_state_file(t, file, blob, blob_len, err);
	free(blob);
	return rc;
}

/* Seals and writes the permanent state, then makes it the current one.
 * Takes ownership of plain (freed on failure). */
static int commit_perm(struct vtpm *t, uint8_t *plain, size_t len, struct vg_err *err)
{
	int rc = write_sealed(t, VTPM_STATE_PERM_FILE, "permall", plain, len, err);
	if (rc) {
		vg_secure_zero(plain, len);
		free(plain);
		return rc;
	}
	set_secret(&t->perm, &t->perm_len, plain, len);
	return 0;
}

/* Reads and decrypts a state file; -ENOENT (err untouched) when there is no
 * such name at all. A link (dangling or not), a FIFO, a device or a
 * directory under the name is refused, never followed or waited on. */
static int read_sealed(struct vtpm *t, const char *file, const char *kind, uint8_t **plain, size_t *len,
		       struct vg_err *err)
{
	int fd = openat(t->dir_fd, file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return -ENOENT;
		int e = errno;
		return vg_err_set(err, e == ELOOP ? EBADMSG : e, "%s/%s: %s: refusing to start", t->state_dir, file,
				  e == ELOOP ? "is a symbolic link (state files must be regular files)" : strerror(e));
	}
	struct stat st;
	int rc = 0;
	uint8_t *blob = NULL;
	if (fstat(fd, &st) != 0) {
		rc = vg_err_set(err, errno, "%s/%s: %s", t->state_dir, file, strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		rc = vg_err_set(err, EBADMSG, "%s/%s: not a regular file: refusing to start", t->state_dir, file);
	} else if (st.st_size > (off_t)(64u << 20)) {
		rc = vg_err_set(err, EBADMSG, "%s/%s: %lld bytes is too large for a state file", t->state_dir, file,
				(long long)st.st_size);
	} else if (!(blob = malloc(st.st_size ? (size_t)st.st_size : 1))) {
		rc = vg_err_set(err, ENOMEM, "out of memory");
	} else {
		ssize_t n = vg_read_full(fd, blob, (size_t)st.st_size);
		if (n != (ssize_t)st.st_size)
			rc = vg_err_set(err, EIO, "%s/%s: short read", t->state_dir, file);
		else if ((rc = vtpm_state_open(t->key, kind, blob, (size_t)n, plain, len, err)))
			vg_err_prefix(err, "%s/%s", t->state_dir, file);
	}
	close(fd);
	free(blob);
	return rc;
}

/* ------------------------------------------------------- libtpms callbacks */
static TPM_RESULT cb_nvram_init(void) { return TPM_SUCCESS; }

static TPM_RESULT cb_loaddata(unsigned char **data, uint32_t *length, uint32_t tpm_number, const char *name)
{
	struct vtpm *t = g_tpm;
	const uint8_t *src = NULL;
	size_t len = 0;
	(void)tpm_number;
	if (!t)
		return TPM_FAIL;
	if (!strcmp(name, TPM_PERMANENT_ALL_NAME)) {
		src = t->perm;
		len = t->perm_len;
	} else if (!strcmp(name, TPM_VOLATILESTATE_NAME)) {
		src = t->vol;
		len = t->vol_len;
	}
	if (!src)
		return TPM_RETRY; /* "no such state": libtpms manufactures / starts fresh */
	*data = malloc(len);
	if (!*data)
		return TPM_FAIL;
	memcpy(*data, src, len);
	*length = (uint32_t)len;
	return TPM_SUCCESS;
}

static TPM_RESULT cb_storedata(const unsigned char *data, uint32_t length, uint32_t tpm_number, const char *name)
{
	struct vtpm *t = g_tpm;
	(void)tpm_number;
	if (!t)
		return TPM_FAIL;
	if (!strcmp(name, TPM_PERMANENT_ALL_NAME)) {
		uint8_t *copy = malloc(length ? length : 1);
		if (!copy)
			return TPM_FAIL;
		memcpy(copy, data, length);
		if (commit_perm(t, copy, length, &t->store_err)) {
			vg_error("vTPM state not saved: %s (the TPM fails commands until the state directory "
				 "can be written again)", t->store_err.msg);
			t->stored_error = true;
			return TPM_FAIL;
		}
		return TPM_SUCCESS;
	}
	if (!strcmp(name, TPM_VOLATILESTATE_NAME)) {
		if (write_sealed(t, VTPM_STATE_VOLATILE_FILE, "volatile", data, length, &t->store_err)) {
			vg_error("vTPM volatile state not saved: %s", t->store_err.msg);
			return TPM_FAIL;
		}
		return TPM_SUCCESS;
	}
	return TPM_SUCCESS; /* savestate (TPM 1.2 only) is not kept */
}

static TPM_RESULT cb_deletename(uint32_t tpm_number, const char *name, TPM_BOOL must_exist)
{
	(void)tpm_number;
	(void)must_exist;
	struct vtpm *t = g_tpm;
	if (t && !strcmp(name, TPM_VOLATILESTATE_NAME))
		unlinkat(t->dir_fd, VTPM_STATE_VOLATILE_FILE, 0);
	return TPM_SUCCESS;
}

static TPM_RESULT cb_io_init(void) { return TPM_SUCCESS; }

static TPM_RESULT cb_getlocality(TPM_MODIFIER_INDICATOR *loc, uint32_t tpm_number)
{
	(void)tpm_number;
	*loc = g_tpm ? g_tpm->locality : 0;
	return TPM_SUCCESS;
}

static TPM_RESULT cb_getpp(TPM_BOOL *pp, uint32_t tpm_number)
{
	(void)tpm_number;
	*pp = FALSE;
	return TPM_SUCCESS;
}

static struct libtpms_callbacks g_callbacks = {
	.sizeOfStruct = sizeof(struct libtpms_callbacks),
	.tpm_nvram_init = cb_nvram_init,
	.tpm_nvram_loaddata = cb_loaddata,
	.tpm_nvram_storedata = cb_storedata,
	.tpm_nvram_deletename = cb_deletename,
	.tpm_io_init = cb_io_init,
	.tpm_io_getlocality = cb_getlocality,
	.tpm_io_getphysicalpresence = cb_getpp,
};

/* libtpms' own diagnostics (TPMLIB_LogPrintf, its failure-mode dumps,
 * which can hold command bytes and so authorization values) never reach our
 * logs: its debug descriptor is /dev/null, its level 0. */
static void quiet_libtpms(void)
{
	static int null_fd = -1;
	if (null_fd < 0)
		null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	TPMLIB_SetDebugLevel(0);
	TPMLIB_SetDebugFD(null_fd >= 0 ? null_fd : -1);
}

static int power_on(struct vtpm *t, struct vg_err *err)
{
	TPM_RESULT r;
	quiet_libtpms();
	if ((r = TPMLIB_ChooseTPMVersion(TPMLIB_TPM_VERSION_2)) != TPM_SUCCESS)
		return vg_err_set(err, EIO, "libtpms: cannot select TPM 2.0 (0x%x)", r);
	if ((r = TPMLIB_RegisterCallbacks(&g_callbacks)) != TPM_SUCCESS)
		return vg_err_set(err, EIO, "libtpms: cannot register callbacks (0x%x)", r);
	/* libtpms keeps the size across instances: always set it */
	uint32_t lo = 0, hi = 0, want = t->buffer_size ? t->buffer_size : VTPM_MAX_CMD;
	uint32_t got = TPMLIB_SetBufferSize(want, &lo, &hi);
	if (t->buffer_size && got != t->buffer_size)
		return vg_err_set(err, EINVAL, "libtpms: buffer size %u not possible (%u..%u)", t->buffer_size, lo, hi);
	r = TPMLIB_MainInit();
	if (r != TPM_SUCCESS)
		return vg_err_set(err, EIO, "libtpms: TPM power-on failed (0x%x)%s%s", r,
				  t->stored_error ? ": " : "", t->stored_error ? t->store_err.msg : "");
	t->powered = true;
	set_secret(&t->vol, &t->vol_len, NULL, 0); /* a volatile state is resumed once */
	return 0;
}

/* The key on its own page: locked in RAM where allowed, never in a core dump. */
static uint8_t *key_page(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	void *p = mmap(NULL, (size_t)pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	madvise(p, (size_t)pg, MADV_DONTDUMP);
	mlock(p, (size_t)pg); /* best effort: RLIMIT_MEMLOCK may forbid it */
	return p;
}

static void key_page_free(uint8_t *p)
{
	if (!p)
		return;
	long pg = sysconf(_SC_PAGESIZE);
	vg_secure_zero(p, (size_t)pg);
	munmap(p, (size_t)pg); /* also unlocks it (no munlock: the VMM's seccomp filter has none) */
}

static void free_instance(struct vtpm *t)
{
	if (!t)
		return;
	set_secret(&t->perm, &t->perm_len, NULL, 0);
	set_secret(&t->vol, &t->vol_len, NULL, 0);
	free(t->rspbuf);
	free(t->state_dir);
	key_page_free(t->key);
	if (t->dir_fd >= 0)
		close(t->dir_fd); /* releases the lock */
	free(t);
}

/* Removes temporaries a crash left behind (NAME.tmp.*) of our state files. */
static void clean_stale_temporaries(struct vtpm *t)
{
	int fd = dup(t->dir_fd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	static const char *const prefixes[] = {VTPM_STATE_PERM_FILE VTPM_STATE_TMP_INFIX,
					       VTPM_STATE_VOLATILE_FILE VTPM_STATE_TMP_INFIX};
	for (struct dirent *e; (e = readdir(d));) {
		for (size_t i = 0; i < VG_ARRAY_SIZE(prefixes); i++) {
			if (strncmp(e->d_name, prefixes[i], strlen(prefixes[i])) != 0)
				continue;
			if (unlinkat(t->dir_fd, e->d_name, 0) == 0)
				vg_info("removed %s/%s left by an interrupted write", t->state_dir, e->d_name);
		}
	}
	closedir(d);
}

/* Opens and locks the state directory, refuses one that cannot take a state
 * write now (full, read-only, not ours to write). */
static int open_state_dir(struct vtpm *t, struct vg_err *err)
{
	if (mkdir(t->state_dir, 0700) != 0 && errno != EEXIST)
		return vg_err_set(err, errno, "state directory %s: %s", t->state_dir, strerror(errno));
	t->dir_fd = open(t->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (t->dir_fd < 0)
		return vg_err_set(err, errno, "state directory %s: %s", t->state_dir, strerror(errno));
	if (flock(t->dir_fd, LOCK_EX | LOCK_NB) != 0)
		return vg_err_set(err, errno == EWOULDBLOCK ? EBUSY : errno,
				  "state directory %s is in use by another vTPM (locked): refusing to share it",
				  t->state_dir);
	clean_stale_temporaries(t);
	/* A write probe as large as a big permanent state: a full or read-only
	 * directory is refused now, not found out at the first NV write. */
	static const uint8_t probe[VTPM_STATE_PROBE_SIZE];
	struct vg_err perr = {0};
	if (write_state_file(t, VTPM_STATE_PROBE_FILE, probe, sizeof(probe), &perr)) {
		unlinkat(t->dir_fd, VTPM_STATE_PROBE_FILE, 0);
		return vg_err_set(err, perr.code, "state directory %s is not writable (%s): refusing to start",
				  t->state_dir, strerror(perr.code));
	}
	unlinkat(t->dir_fd, VTPM_STATE_PROBE_FILE, 0);
	return 0;
}

int vtpm_open(const struct vtpm_config *cfg, struct vtpm **out, struct vg_err *err)
{
	int rc;
	*out = NULL;
	if (!cfg || !cfg->state_dir || !cfg->key_file)
		return vg_err_set(err, EINVAL, "vTPM: state directory and key file are required");
	if (g_tpm)
		return vg_err_set(err, EBUSY, "vTPM: libtpms already runs a TPM in this process");
	struct vtpm *t = calloc(1, sizeof(*t));
	if (!t)
		return vg_err_set(err, ENOMEM, "out of memory");
	t->dir_fd = -1;
	if (!(t->state_dir = strdup(cfg->state_dir)) || !(t->key = key_page())) {
		rc = vg_err_set(err, ENOMEM, "out of memory");
		goto fail;
	}
	if (cfg->buffer_size > VTPM_MAX_CMD) {
		rc = vg_err_set(err, EINVAL, "vTPM: buffer size %u above %u", cfg->buffer_size, VTPM_MAX_CMD);
		goto fail;
	}
	t->buffer_size = cfg->buffer_size;
	if ((rc = vtpm_load_key(cfg->key_file, t->key, err)))
		goto fail;
	if (cfg->ek_ca_dir && (rc = vtpm_ek_ca_check(cfg->ek_ca_dir, err)))
		goto fail;
	if ((rc = open_state_dir(t, err)))
		goto fail;
	rc = read_sealed(t, VTPM_STATE_PERM_FILE, "permall", &t->perm, &t->perm_len, err);
	if (rc && rc != -ENOENT)
		goto fail;
	bool first_start = rc == -ENOENT;
	rc = read_sealed(t, VTPM_STATE_VOLATILE_FILE, "volatile", &t->vol, &t->vol_len, err);
	if (rc && rc != -ENOENT)
		goto fail;
	if (first_start && t->vol) {
		rc = vg_err_set(err, EBADMSG, "%s/%s exists without %s: refusing to start", cfg->state_dir,
				VTPM_STATE_VOLATILE_FILE, VTPM_STATE_PERM_FILE);
		goto fail;
	}
	/* Validated above either way; resumed only when asked. */
	bool had_volatile = t->vol != NULL;
	if (!cfg->resume)
		set_secret(&t->vol, &t->vol_len, NULL, 0);
	g_tpm = t;
	if ((rc = power_on(t, err))) {
		g_tpm = NULL;
		TPMLIB_Terminate();
		goto fail;
	}
	/* The volatile snapshot is used once: a crash later must not resume it. */
	if (had_volatile)
		unlinkat(t->dir_fd, VTPM_STATE_VOLATILE_FILE, 0);
	if (first_start && cfg->ek_ca_dir) {
		if ((rc = vtpm_provision_ek(t, cfg->ek_ca_dir, err)) || (rc = vtpm_reset(t, err))) {
			/* a half-provisioned TPM must not look provisioned next time */
			unlinkat(t->dir_fd, VTPM_STATE_PERM_FILE, 0);
			vtpm_close(t);
			return rc;
		}
	}
	*out = t;
	return 0;
fail:
	free_instance(t);
	return rc;
}

int vtpm_execute(struct vtpm *t, const uint8_t *cmd, size_t cmd_len, uint8_t locality, uint8_t *rsp,
		 size_t rsp_cap, size_t *rsp_len, struct vg_err *err)
{
	unsigned char buf[VTPM_MAX_CMD];
	uint32_t rsp_size = 0;
	if (!t || !t->powered)
		return vg_err_set(err, ENODEV, "vTPM is not powered on");
	if (cmd_len > sizeof(buf) || locality > 4)
		return vg_err_set(err, EINVAL, "vTPM: command of %zu bytes or locality %u out of range", cmd_len,
				  locality);
	memcpy(buf, cmd, cmd_len);
	t->locality = locality;
	TPM_RESULT r = TPMLIB_Process(&t->rspbuf, &rsp_size, &t->rspbuf_size, buf, (uint32_t)cmd_len);
	vg_secure_zero(buf, cmd_len); /* commands carry authorization values */
	if (r != TPM_SUCCESS || rsp_size < TPM2_HEADER_SIZE)
		return vg_err_set(err, EIO, "libtpms: command processing failed (0x%x)", r);
	if (rsp_size > rsp_cap)
		return vg_err_set(err, ENOBUFS, "vTPM: response of %u bytes exceeds the %zu-byte buffer", rsp_size,
				  rsp_cap);
	memcpy(rsp, t->rspbuf, rsp_size);
	vg_secure_zero(t->rspbuf, rsp_size); /* responses carry secrets too (unsealed data) */
	*rsp_len = rsp_size;
	return 0;
}

/* ------------------------------------------------------ command builder */
void vtpm_cmd_begin(struct vtpm_cmd *c, uint16_t tag, uint32_t cc)
{
	*c = (struct vtpm_cmd){0};
	vtpm_cmd_u16(c, tag);
	vtpm_cmd_u32(c, 0); /* commandSize, patched by vtpm_cmd_run */
	vtpm_cmd_u32(c, cc);
}

void vtpm_cmd_bytes(struct vtpm_cmd *c, const void *p, size_t n)
{
	if (n && vg_buf_append(&c->b, p, n))
		c->rc = -ENOMEM;
}

void vtpm_cmd_u8(struct vtpm_cmd *c, uint8_t v) { vtpm_cmd_bytes(c, &v, 1); }

void vtpm_cmd_u16(struct vtpm_cmd *c, uint16_t v)
{
	uint8_t p[2];
	vg_put_be16(p, v);
	vtpm_cmd_bytes(c, p, 2);
}

void vtpm_cmd_u32(struct vtpm_cmd *c, uint32_t v)
{
	uint8_t p[4];
	vg_put_be32(p, v);
	vtpm_cmd_bytes(c, p, 4);
}

void vtpm_cmd_2b(struct vtpm_cmd *c, const void *p, uint16_t n)
{
	vtpm_cmd_u16(c, n);
	vtpm_cmd_bytes(c, p, n);
}

void vtpm_cmd_pw_session(struct vtpm_cmd *c)
{
	vtpm_cmd_u32(c, 9); /* authorizationSize */
	vtpm_cmd_u32(c, TPM2_RS_PW);
	vtpm_cmd_u16(c, 0); /* nonce */
	vtpm_cmd_u8(c, 0);  /* sessionAttributes */
	vtpm_cmd_u16(c, 0); /* hmac (empty password) */
}

int vtpm_cmd_run(struct vtpm *t, struct vtpm_cmd *c, const char *what, uint8_t *rsp, size_t cap, size_t *rsp_len,
		 uint32_t *tpm_rc, struct vg_err *err)
{
	int rc;
	if (c->rc || c->b.len < TPM2_HEADER_SIZE) {
		rc = vg_err_set(err, ENOMEM, "%s: out of memory", what);
	} else {
		vg_put_be32(c->b.data + 2, (uint32_t)c->b.len);
		rc = vtpm_execute(t, c->b.data, c->b.len, 0, rsp, cap, rsp_len, err);
	}
	vg_buf_free_secret(&c->b);
	if (rc)
		return vg_err_prefix(err, "%s", what);
	uint32_t trc = vg_be32(rsp + 6);
	if (tpm_rc)
		*tpm_rc = trc;
	else if (trc)
		return vg_err_set(err, EIO, "%s failed: TPM rc 0x%03x", what, trc);
	return 0;
}

int vtpm_startup(struct vtpm *t, bool clear, struct vg_err *err)
{
	struct vtpm_cmd c;
	uint8_t rsp[64];
	size_t n;
	uint32_t trc = 0;
	vtpm_cmd_begin(&c, TPM2_ST_NO_SESSIONS, TPM2_CC_STARTUP);
	vtpm_cmd_u16(&c, clear ? TPM2_SU_CLEAR : TPM2_SU_STATE);
	int rc = vtpm_cmd_run(t, &c, "TPM2_Startup", rsp, sizeof(rsp), &n, &trc, err);
	if (rc)
		return rc;
	if (trc != TPM2_RC_SUCCESS && trc != TPM2_RC_INITIALIZE /* already started */)
		return vg_err_set(err, EIO, "TPM2_Startup failed: TPM rc 0x%03x", trc);
	return 0;
}

void vtpm_cancel(struct vtpm *t)
{
	if (t && t->powered)
		TPMLIB_CancelCommand();
}

int vtpm_reset(struct vtpm *t, struct vg_err *err)
{
	if (!t)
		return vg_err_set(err, EINVAL, "no vTPM");
	if (t->powered)
		TPMLIB_Terminate();
	t->powered = false;
	return power_on(t, err);
}

int vtpm_pcr_extend(struct vtpm *t, uint32_t pcr, const uint16_t *algs, const uint8_t (*digests)[64],
		    size_t n, struct vg_err *err)
{
	struct vtpm_cmd c;
	uint8_t rsp[64];
	size_t rn;
	if (pcr > 23 || n == 0 || n > VTPM_EVLOG_MAX_ALGS)
		return vg_err_set(err, EINVAL, "PCR extend: PCR %u or %zu banks out of range", pcr, n);
	for (size_t i = 0; i < n; i++)
		if (!vtpm_alg_digest_size(algs[i]))
			return vg_err_set(err, EINVAL, "PCR extend: unknown algorithm 0x%04x", algs[i]);
	vtpm_cmd_begin(&c, TPM2_ST_SESSIONS, TPM2_CC_PCR_EXTEND);
	vtpm_cmd_u32(&c, pcr);
	vtpm_cmd_pw_session(&c);
	vtpm_cmd_u32(&c, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		vtpm_cmd_u16(&c, algs[i]);
		vtpm_cmd_bytes(&c, digests[i], vtpm_alg_digest_size(algs[i]));
	}
	return vtpm_cmd_run(t, &c, "TPM2_PCR_Extend", rsp, sizeof(rsp), &rn, NULL, err);
}

int vtpm_pcr_read(struct vtpm *t, uint32_t pcr, uint16_t alg, uint8_t out[64], struct vg_err *err)
{
	struct vtpm_cmd c;
	uint8_t rsp[256];
	size_t rn = 0;
	size_t sz = vtpm_alg_digest_size(alg);
	int rc;
	if (pcr > 23 || !sz)
		return vg_err_set(err, EINVAL, "PCR read: PCR %u or algorithm 0x%04x out of range", pcr, alg);
	uint8_t sel[3] = {0};
	sel[pcr / 8] = (uint8_t)(1u << (pcr % 8));
	vtpm_cmd_begin(&c, TPM2_ST_NO_SESSIONS, TPM2_CC_PCR_READ);
	vtpm_cmd_u32(&c, 1); /* TPML_PCR_SELECTION count */
	vtpm_cmd_u16(&c, alg);
	vtpm_cmd_u8(&c, sizeof(sel));
	vtpm_cmd_bytes(&c, sel, sizeof(sel));
	if ((rc = vtpm_cmd_run(t, &c, "TPM2_PCR_Read", rsp, sizeof(rsp), &rn, NULL, err)))
		return rc;
	/* header, pcrUpdateCounter, TPML_PCR_SELECTION, TPML_DIGEST */
	struct vg_reader r;
	uint32_t nsel = 0, ndig = 0;
	uint8_t selsize = 0;
	uint16_t dsize = 0;
	vg_rd_init(&r, rsp, rn);
	vg_rd_skip(&r, TPM2_HEADER_SIZE + 4);
	vg_rd_be32(&r, &nsel);
	for (uint32_t i = 0; i < nsel && i < 16 && vg_rd_ok(&r); i++) {
		vg_rd_skip(&r, 2);
		vg_rd_u8(&r, &selsize);
		vg_rd_skip(&r, selsize);
	}
	vg_rd_be32(&r, &ndig);
	vg_rd_be16(&r, &dsize);
	if (!vg_rd_ok(&r) || ndig != 1 || dsize != sz || vg_rd_bytes(&r, out, sz))
		return vg_err_set(err, EBADMSG, "TPM2_PCR_Read: unexpected response (bank not allocated?)");
	return 0;
}

int vtpm_shutdown(struct vtpm *t, struct vg_err *err)
{
	int rc = 0;
	if (!t || !t->powered)
		return 0;
	unsigned char *buf = NULL;
	uint32_t len = 0;
	TPM_RESULT r = TPMLIB_VolatileAll_Store(&buf, &len);
	if (r != TPM_SUCCESS || !buf) {
		rc = vg_err_set(err, EIO, "libtpms: cannot get the volatile state (0x%x)", r);
	} else {
		rc = write_sealed(t, VTPM_STATE_VOLATILE_FILE, "volatile", buf, len, err);
		vg_secure_zero(buf, len);
	}
	free(buf);
	TPMLIB_Terminate();
	t->powered = false;
	if (rc == 0 && t->stored_error)
		rc = vg_err_set(err, EIO, "an earlier state write failed: %s", t->store_err.msg);
	return rc;
}

void vtpm_close(struct vtpm *t)
{
	if (!t)
		return;
	if (t->powered)
		TPMLIB_Terminate();
	if (g_tpm == t)
		g_tpm = NULL;
	free_instance(t);
}

static int plain_state_blob(struct vtpm *t, bool permanent, uint8_t **out, size_t *out_len, struct vg_err *err)
{
	unsigned char *buf = NULL;
	uint32_t len = 0;
	if (!t)
		return vg_err_set(err, EINVAL, "no vTPM");
	if (permanent) { /* the last stored permanent state, also while stopped */
		if (!t->perm)
			return vg_err_set(err, ENOENT, "vTPM: no permanent state yet");
		if (!(*out = malloc(t->perm_len)))
			return vg_err_set(err, ENOMEM, "out of memory");
		memcpy(*out, t->perm, t->perm_len);
		*out_len = t->perm_len;
		return 0;
	}
	if (!t->powered)
		return vg_err_set(err, ENODEV, "vTPM is not powered on: no volatile state");
	TPM_RESULT r = TPMLIB_VolatileAll_Store(&buf, &len);
	if (r != TPM_SUCCESS)
		return vg_err_set(err, EIO, "libtpms: cannot get the volatile state (0x%x)", r);
	*out = buf;
	*out_len = len;
	return 0;
}

int vtpm_get_state_blob(struct vtpm *t, bool permanent, bool sealed, uint8_t **out, size_t *out_len,
			struct vg_err *err)
{
	uint8_t *plain = NULL;
	size_t len = 0;
	int rc = plain_state_blob(t, permanent, &plain, &len, err);
	if (rc || !sealed) {
		*out = plain;
		*out_len = len;
		return rc;
	}
	rc = vtpm_state_seal(t->key, permanent ? "permall" : "volatile", plain, len, out, out_len, err);
	vg_secure_zero(plain, len);
	free(plain);
	return rc;
}

enum vtpm_health vtpm_health(const struct vtpm *t, const char **why)
{
	if (t && t->stored_error) {
		if (why)
			*why = t->store_err.msg;
		return VTPM_HEALTH_STATE_WRITE_FAILED;
	}
	if (why)
		*why = NULL;
	return VTPM_HEALTH_OK;
}

int vtpm_recover(struct vtpm *t, struct vg_err *err)
{
	if (!t || !t->stored_error)
		return 0;
	/* Can the directory take the state again? Write the last saved
	 * permanent state back first: it is what the TPM restarts from. */
	if (t->perm && write_sealed(t, VTPM_STATE_PERM_FILE, "permall", t->perm, t->perm_len, err))
		return vg_err_set(err, EIO, "%s", t->store_err.msg);
	/* The failed command's changes are gone (its client got an error);
	 * keep the volatile state (PCRs, sessions) when libtpms still has it. */
	unsigned char *vol = NULL;
	uint32_t vol_len = 0;
	if (t->powered && TPMLIB_VolatileAll_Store(&vol, &vol_len) == TPM_SUCCESS && vol)
		set_secret(&t->vol, &t->vol_len, vol, vol_len);
	else
		free(vol);
	if (t->powered)
		TPMLIB_Terminate();
	t->powered = false;
	t->stored_error = false;
	int rc = power_on(t, err);
	if (rc && t->vol == NULL)
		return rc;
	if (rc) { /* the saved volatile state did not load: a fresh power-on */
		set_secret(&t->vol, &t->vol_len, NULL, 0);
		TPMLIB_Terminate();
		rc = power_on(t, err);
	}
	return rc;
}

void vtpm_power_off(struct vtpm *t)
{
	if (t && t->powered) {
		TPMLIB_Terminate();
		t->powered = false;
	}
}

bool vtpm_is_powered(const struct vtpm *t) { return t && t->powered; }

int vtpm_store_volatile(struct vtpm *t, struct vg_err *err)
{
	unsigned char *buf = NULL;
	uint32_t len = 0;
	if (!t || !t->powered)
		return vg_err_set(err, ENODEV, "vTPM is not powered on");
	TPM_RESULT r = TPMLIB_VolatileAll_Store(&buf, &len);
	if (r != TPM_SUCCESS || !buf) {
		free(buf);
		return vg_err_set(err, EIO, "libtpms: cannot get the volatile state (0x%x)", r);
	}
	int rc = write_sealed(t, VTPM_STATE_VOLATILE_FILE, "volatile", buf, len, err);
	vg_secure_zero(buf, len);
	free(buf);
	return rc;
}

int vtpm_set_state_blob(struct vtpm *t, bool permanent, bool sealed, const uint8_t *blob, size_t len,
			struct vg_err *err)
{
	if (!t || t->powered)
		return vg_err_set(err, EBUSY, "vTPM: state can only be set while the TPM is stopped");
	if (len == 0 || len > (16u << 20))
		return vg_err_set(err, EINVAL, "vTPM: state blob of %zu bytes", len);
	uint8_t *copy = NULL;
	size_t clen = len;
	if (sealed) {
		int rc = vtpm_state_open(t->key, permanent ? "permall" : "volatile", blob, len, &copy, &clen, err);
		if (rc)
			return rc;
	} else {
		if (!(copy = malloc(len)))
			return vg_err_set(err, ENOMEM, "out of memory");
		memcpy(copy, blob, len);
	}
	if (permanent)
		return commit_perm(t, copy, clen, err);
	set_secret(&t->vol, &t->vol_len, copy, clen);
	return 0;
}

int vtpm_established_get(struct vtpm *t, bool *established, struct vg_err *err)
{
	TPM_BOOL b = 0;
	if (!t || !t->powered)
		return vg_err_set(err, ENODEV, "vTPM is not powered on");
	if (TPM_IO_TpmEstablished_Get(&b) != TPM_SUCCESS)
		return vg_err_set(err, EIO, "libtpms: cannot read the TPM-established flag");
	*established = b != 0;
	return 0;
}

int vtpm_established_reset(struct vtpm *t, uint8_t locality, struct vg_err *err)
{
	if (!t || !t->powered)
		return vg_err_set(err, ENODEV, "vTPM is not powered on");
	uint8_t saved = t->locality;
	t->locality = locality;
	TPM_RESULT r = TPM_IO_TpmEstablished_Reset();
	t->locality = saved;
	if (r != TPM_SUCCESS)
		return vg_err_set(err, EPERM, "TPM-established flag not reset (locality %u, rc 0x%x)", locality, r);
	return 0;
}

int vtpm_hash_start(struct vtpm *t, struct vg_err *err)
{
	if (!t || !t->powered || TPM_IO_Hash_Start() != TPM_SUCCESS)
		return vg_err_set(err, EIO, "_TPM_Hash_Start failed");
	return 0;
}

int vtpm_hash_data(struct vtpm *t, const uint8_t *data, size_t len, struct vg_err *err)
{
	if (!t || !t->powered || len > UINT32_MAX || TPM_IO_Hash_Data(data, (uint32_t)len) != TPM_SUCCESS)
		return vg_err_set(err, EIO, "_TPM_Hash_Data failed");
	return 0;
}

int vtpm_hash_end(struct vtpm *t, struct vg_err *err)
{
	if (!t || !t->powered || TPM_IO_Hash_End() != TPM_SUCCESS)
		return vg_err_set(err, EIO, "_TPM_Hash_End failed");
	return 0;
}

int vtpm_buffer_size(struct vtpm *t, uint32_t wanted, uint32_t *in_use, uint32_t *min, uint32_t *max,
		     struct vg_err *err)
{
	uint32_t lo = 0, hi = 0;
	if (!t)
		return vg_err_set(err, EINVAL, "no vTPM");
	if (wanted && t->powered)
		return vg_err_set(err, EBUSY, "vTPM: the buffer size can only be set while the TPM is stopped");
	if (wanted > VTPM_MAX_CMD)
		wanted = VTPM_MAX_CMD;
	uint32_t size = TPMLIB_SetBufferSize(wanted, &lo, &hi);
	if (wanted)
		t->buffer_size = size; /* kept across power cycles */
	*in_use = size;
	if (min)
		*min = lo;
	if (max)
		*max = VG_MIN(hi, VTPM_MAX_CMD);
	return 0;
}

char *vtpm_get_info(uint64_t flags)
{
	return TPMLIB_GetInfo((enum TPMLIB_InfoFlags)flags);
}
