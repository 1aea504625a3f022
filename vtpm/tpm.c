/*
 * The libtpms TPM 2.0 instance (vtpm.h section 3): lifecycle, command
 * execution with locality, encrypted persistence through libtpms' NVRAM
 * callbacks. libtpms is a process-global singleton, so is this instance.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libtpms/tpm_error.h>
#include <libtpms/tpm_library.h>
#include <libtpms/tpm_nvfilename.h>
#include <libtpms/tpm_tis.h>

#include "vtpm/vtpm.h"
#include "vtpm/vtpm_priv.h"

struct vtpm {
	char *state_dir;
	uint8_t key[VTPM_KEY_SIZE];
	uint8_t *perm;     /* current permanent state (plaintext), served to libtpms */
	size_t perm_len;
	uint8_t *vol;      /* volatile state to restore at the next MainInit */
	size_t vol_len;
	bool powered;
	bool stored_error; /* a state write failed */
	uint32_t buffer_size;
	uint8_t locality;
	unsigned char *rspbuf; /* libtpms' response buffer, reused */
	uint32_t rspbuf_size;
	struct vg_err store_err;
};

static struct vtpm *g_tpm; /* libtpms is a process-global singleton */

static char *state_path(const struct vtpm *t, const char *name)
{
	char *p = NULL;
	if (asprintf(&p, "%s/%s", t->state_dir, name) < 0)
		return NULL;
	return p;
}

/* Replaces a secret buffer (zeroizing the old one); new may be NULL. */
static void set_secret(uint8_t **slot, size_t *slot_len, uint8_t *new, size_t len)
{
	if (*slot)
		vg_secure_zero(*slot, *slot_len);
	free(*slot);
	*slot = new;
	*slot_len = new ? len : 0;
}

static int write_sealed(struct vtpm *t, const char *file, const char *kind, const uint8_t *plain, size_t len,
			struct vg_err *err)
{
	uint8_t *blob = NULL;
	size_t blob_len = 0;
	int rc = vtpm_state_seal(t->key, kind, plain, len, &blob, &blob_len, err);
	if (rc)
		return rc;
	char *path = state_path(t, file);
	rc = path ? vg_write_file_atomic(path, blob, blob_len, 0600, err) : vg_err_set(err, ENOMEM, "out of memory");
	free(path);
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

/* Reads and decrypts a state file; -ENOENT (err untouched) when absent. */
static int read_sealed(struct vtpm *t, const char *file, const char *kind, uint8_t **plain, size_t *len,
		       struct vg_err *err)
{
	char *path = state_path(t, file);
	uint8_t *blob = NULL;
	size_t blob_len = 0;
	if (!path)
		return vg_err_set(err, ENOMEM, "out of memory");
	if (access(path, F_OK) != 0) {
		free(path);
		return -ENOENT;
	}
	int rc = vg_read_file(path, 64u << 20, &blob, &blob_len, err);
	if (rc == 0) {
		rc = vtpm_state_open(t->key, kind, blob, blob_len, plain, len, err);
		free(blob);
	}
	if (rc)
		vg_err_prefix(err, "%s", path);
	free(path);
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
			vg_error("vTPM state not saved: %s", t->store_err.msg);
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
	if (t && !strcmp(name, TPM_VOLATILESTATE_NAME)) {
		char *p = state_path(t, VTPM_STATE_VOLATILE_FILE);
		if (p)
			unlink(p);
		free(p);
	}
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

static int power_on(struct vtpm *t, struct vg_err *err)
{
	TPM_RESULT r;
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

static void free_instance(struct vtpm *t)
{
	if (!t)
		return;
	set_secret(&t->perm, &t->perm_len, NULL, 0);
	set_secret(&t->vol, &t->vol_len, NULL, 0);
	free(t->rspbuf);
	free(t->state_dir);
	vg_secure_zero(t->key, sizeof(t->key));
	free(t);
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
	if (!t || !(t->state_dir = strdup(cfg->state_dir))) {
		free(t);
		return vg_err_set(err, ENOMEM, "out of memory");
	}
	if (cfg->buffer_size > VTPM_MAX_CMD) {
		rc = vg_err_set(err, EINVAL, "vTPM: buffer size %u above %u", cfg->buffer_size, VTPM_MAX_CMD);
		goto fail;
	}
	t->buffer_size = cfg->buffer_size;
	if ((rc = vtpm_load_key(cfg->key_file, t->key, err)))
		goto fail;
	if (mkdir(cfg->state_dir, 0700) != 0 && errno != EEXIST) {
		rc = vg_err_set(err, errno, "state directory %s: %s", cfg->state_dir, strerror(errno));
		goto fail;
	}
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
	if (had_volatile) {
		char *p = state_path(t, VTPM_STATE_VOLATILE_FILE);
		if (p)
			unlink(p);
		free(p);
	}
	if (first_start && cfg->ek_ca_dir) {
		if ((rc = vtpm_provision_ek(t, cfg->ek_ca_dir, err)) || (rc = vtpm_reset(t, err))) {
			/* a half-provisioned TPM must not look provisioned next time */
			char *p = state_path(t, VTPM_STATE_PERM_FILE);
			if (p)
				unlink(p);
			free(p);
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
	if (r != TPM_SUCCESS || rsp_size < 10)
		return vg_err_set(err, EIO, "libtpms: command processing failed (0x%x)", r);
	if (rsp_size > rsp_cap)
		return vg_err_set(err, ENOBUFS, "vTPM: response of %u bytes exceeds the %zu-byte buffer", rsp_size,
				  rsp_cap);
	memcpy(rsp, t->rspbuf, rsp_size);
	*rsp_len = rsp_size;
	return 0;
}

int vtpm_call(struct vtpm *t, struct vg_buf *b, int build_rc, const char *what, uint8_t *rsp, size_t cap,
	      size_t *rsp_len, uint32_t *tpm_rc, struct vg_err *err)
{
	int rc;
	if (build_rc) {
		rc = vg_err_set(err, ENOMEM, "%s: out of memory", what);
	} else {
		vtpm_cmd_finish(b);
		rc = vtpm_execute(t, b->data, b->len, 0, rsp, cap, rsp_len, err);
	}
	vg_buf_free(b);
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
	struct vg_buf b = {0};
	uint8_t rsp[64];
	size_t n;
	uint32_t trc = 0;
	int brc = vtpm_put_u16(&b, 0x8001) | vtpm_put_u32(&b, 0) | vtpm_put_u32(&b, 0x144) |
		  vtpm_put_u16(&b, clear ? 0 : 1);
	int rc = vtpm_call(t, &b, brc, "TPM2_Startup", rsp, sizeof(rsp), &n, &trc, err);
	if (rc)
		return rc;
	if (trc != 0 && trc != 0x100 /* TPM_RC_INITIALIZE: already started */)
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
	struct vg_buf b = {0};
	uint8_t rsp[64];
	size_t rn;
	if (pcr > 23 || n == 0 || n > VTPM_EVLOG_MAX_ALGS)
		return vg_err_set(err, EINVAL, "PCR extend: PCR %u or %zu banks out of range", pcr, n);
	int rc = vtpm_put_u16(&b, 0x8002) | vtpm_put_u32(&b, 0) | vtpm_put_u32(&b, 0x182) | vtpm_put_u32(&b, pcr);
	/* password session TPM_RS_PW with empty auth */
	rc |= vtpm_put_u32(&b, 9) | vtpm_put_u32(&b, 0x40000009) | vtpm_put_u16(&b, 0) | vtpm_put_u8(&b, 0) |
	      vtpm_put_u16(&b, 0);
	rc |= vtpm_put_u32(&b, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		size_t sz = vtpm_alg_digest_size(algs[i]);
		if (!sz) {
			vg_buf_free(&b);
			return vg_err_set(err, EINVAL, "PCR extend: unknown algorithm 0x%04x", algs[i]);
		}
		rc |= vtpm_put_u16(&b, algs[i]) | vg_buf_append(&b, digests[i], sz);
	}
	return vtpm_call(t, &b, rc, "TPM2_PCR_Extend", rsp, sizeof(rsp), &rn, NULL, err);
}

int vtpm_pcr_read(struct vtpm *t, uint32_t pcr, uint16_t alg, uint8_t out[64], struct vg_err *err)
{
	struct vg_buf b = {0};
	uint8_t rsp[256];
	size_t rn = 0;
	size_t sz = vtpm_alg_digest_size(alg);
	if (pcr > 23 || !sz)
		return vg_err_set(err, EINVAL, "PCR read: PCR %u or algorithm 0x%04x out of range", pcr, alg);
	uint8_t sel[3] = {0};
	sel[pcr / 8] = (uint8_t)(1u << (pcr % 8));
	int rc = vtpm_put_u16(&b, 0x8001) | vtpm_put_u32(&b, 0) | vtpm_put_u32(&b, 0x17E) | vtpm_put_u32(&b, 1) |
		 vtpm_put_u16(&b, alg) | vtpm_put_u8(&b, 3) | vg_buf_append(&b, sel, 3);
	if ((rc = vtpm_call(t, &b, rc, "TPM2_PCR_Read", rsp, sizeof(rsp), &rn, NULL, err)))
		return rc;
	/* header, pcrUpdateCounter, TPML_PCR_SELECTION, TPML_DIGEST */
	struct vg_reader r;
	uint32_t nsel = 0, ndig = 0;
	uint8_t selsize = 0;
	uint16_t dsize = 0;
	vg_rd_init(&r, rsp, rn);
	vg_rd_skip(&r, 10 + 4);
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
