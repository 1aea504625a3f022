/*
 * The configfs-tsm evidence provider (Linux 6.7+, Documentation/ABI/testing/configfs-tsm):
 *
 *   mkdir <root>/report/<entry>          a report instance of our own
 *   read  provider                       "sev_guest" | "tdx_guest" (the outblob format)
 *   read  generation                     before any write
 *   write privlevel (SNP VMPL, optional), then inblob (the 64-byte REPORT_DATA)
 *   read  outblob, auxblob (SNP: the certificate table; may be absent or empty)
 *   read  generation                     must be the first value + our writes; otherwise
 *                                        someone else wrote the instance in between: the
 *                                        outblob may answer their inblob, so start over
 *   rmdir the entry
 * Attribute sizes reported by stat() are not the contents' on configfs: reads go to EOF,
 * bounded. Not yet run in a real CVM (docs/agent.md): tested against a directory tree
 * imitating configfs, with a fixture playing the kernel through ag_tsm_hook.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "agent/internal.h"

void (*ag_tsm_hook)(enum ag_tsm_event ev, const char *entry_dir, const char *attr, void *ctx);
void *ag_tsm_hook_ctx;

static void hook(enum ag_tsm_event ev, const char *dir, const char *attr)
{
	if (ag_tsm_hook)
		ag_tsm_hook(ev, dir, attr, ag_tsm_hook_ctx);
}

int ag_read_bounded(const char *path, size_t max, uint8_t **out, size_t *len, struct vg_err *err)
{
	*out = NULL;
	*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vg_err_set(err, errno, "%s: %s", path, strerror(errno));
	size_t cap = 4096, n = 0;
	uint8_t *buf = malloc(cap);
	if (!buf) {
		close(fd);
		return vg_err_set(err, ENOMEM, "out of memory");
	}
	for (;;) {
		if (n == cap) {
			if (cap > max) {
				free(buf);
				close(fd);
				return vg_err_set(err, EFBIG, "%s: more than %zu bytes", path, max);
			}
			uint8_t *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				close(fd);
				return vg_err_set(err, ENOMEM, "out of memory");
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(buf);
			close(fd);
			return vg_err_set(err, e, "%s: %s", path, strerror(e));
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (n > max) {
		free(buf);
		return vg_err_set(err, EFBIG, "%s: more than %zu bytes", path, max);
	}
	*out = buf;
	*len = n;
	return 0;
}

static int attr_path(char *out, size_t cap, const char *dir, const char *attr, struct vg_err *err)
{
	if ((size_t)snprintf(out, cap, "%s/%s", dir, attr) >= cap)
		return vg_err_set(err, ENAMETOOLONG, "%s/%s: path too long", dir, attr);
	return 0;
}

/* Writes one attribute in one write(2): configfs commits binary attributes on close. */
static int write_attr(const char *dir, const char *attr, const void *data, size_t len, struct vg_err *err)
{
	char p[4352];
	int rc = attr_path(p, sizeof(p), dir, attr, err);
	if (rc)
		return rc;
	int fd = open(p, O_WRONLY | O_CLOEXEC | O_TRUNC);
	if (fd < 0)
		return vg_err_set(err, errno, "configfs-tsm: %s: %s", p, strerror(errno));
	rc = vg_write_full(fd, data, len);
	if (close(fd) && !rc)
		rc = -errno;
	if (rc)
		return vg_err_set(err, -rc, "configfs-tsm: writing %s: %s", p, strerror(-rc));
	hook(AG_TSM_WRITE, dir, attr);
	return 0;
}

static int read_text(const char *dir, const char *attr, char *out, size_t cap, struct vg_err *err)
{
	char p[4352];
	uint8_t *b;
	size_t n;
	int rc = attr_path(p, sizeof(p), dir, attr, err) ?: ag_read_bounded(p, cap - 1, &b, &n, err);
	if (rc)
		return vg_err_prefix(err, "configfs-tsm");
	memcpy(out, b, n);
	free(b);
	while (n && (out[n - 1] == '\n' || out[n - 1] == '\r'))
		n--;
	out[n] = 0;
	if (strlen(out) != n)
		return vg_err_set(err, EBADMSG, "configfs-tsm: %s holds a NUL byte", p);
	return 0;
}

static int read_generation(const char *dir, uint64_t *gen, struct vg_err *err)
{
	char s[32];
	int rc = read_text(dir, "generation", s, sizeof(s), err);
	if (rc)
		return rc;
	if (vg_parse_u64(s, UINT32_MAX, gen, err))
		return vg_err_prefix(err, "configfs-tsm: %s/generation", dir);
	return 0;
}

/* configfs removes attribute files itself; rmdir is all it takes. */
static void remove_entry(const char *dir)
{
	hook(AG_TSM_RMDIR, dir, NULL);
	if (rmdir(dir))
		vg_warn("configfs-tsm: rmdir %s: %s", dir, strerror(errno));
}

static int make_entry(const char *reports, char *dir, size_t cap, struct vg_err *err);

/* One attempt. Returns 0, -EAGAIN when the generation moved underneath, or an error. */
static int attempt(const char *reports, const uint8_t *inblob, size_t inblob_len, int privlevel,
		   struct ag_tsm_report *out, struct vg_err *err)
{
	char dir[4096];
	int rc0 = make_entry(reports, dir, sizeof(dir), err);
	if (rc0)
		return rc0;

	uint64_t g0, g1, writes = 0;
	char p[4352];
	int rc = read_text(dir, "provider", out->provider, sizeof(out->provider), err) ?:
		 read_generation(dir, &g0, err);
	if (rc)
		goto out;
	if (privlevel >= 0) {
		char lv[16];
		int n = snprintf(lv, sizeof(lv), "%d\n", privlevel);
		if ((rc = write_attr(dir, "privlevel", lv, (size_t)n, err)))
			goto out;
		writes++;
	}
	if ((rc = write_attr(dir, "inblob", inblob, inblob_len, err)))
		goto out;
	writes++;
	if ((rc = attr_path(p, sizeof(p), dir, "outblob", err)) ||
	    (rc = ag_read_bounded(p, AG_EVIDENCE_MAX, &out->outblob, &out->outblob_len, err))) {
		vg_err_prefix(err, "configfs-tsm");
		goto out;
	}
	if (!out->outblob_len) {
		rc = vg_err_set(err, EIO, "configfs-tsm: %s is empty", p);
		goto out;
	}
	if ((rc = attr_path(p, sizeof(p), dir, "auxblob", err)))
		goto out;
	struct vg_err aerr = { 0 };
	rc = ag_read_bounded(p, AG_AUXBLOB_MAX, &out->auxblob, &out->auxblob_len, &aerr);
	if (rc == -ENOENT) { /* the attribute is only visible when the TSM has auxiliary data */
		rc = 0;
	} else if (rc) {
		*err = aerr;
		vg_err_prefix(err, "configfs-tsm");
		goto out;
	}
	if (out->auxblob && !out->auxblob_len) {
		free(out->auxblob);
		out->auxblob = NULL;
	}
	if ((rc = read_generation(dir, &g1, err)))
		goto out;
	if (g1 != g0 + writes) {
		rc = vg_err_set(err, EAGAIN,
				"configfs-tsm: generation went from %llu to %llu across our %llu write(s): another "
				"writer changed the report instance",
				(unsigned long long)g0, (unsigned long long)g1, (unsigned long long)writes);
		rc = -EAGAIN;
	}
out:
	remove_entry(dir);
	return rc;
}

static int reports_dir(const char *tsm_root, char *out, size_t cap, struct vg_err *err)
{
	if ((size_t)snprintf(out, cap, "%s/report", tsm_root ? tsm_root : "/sys/kernel/config/tsm") >= cap)
		return vg_err_set(err, ENAMETOOLONG, "configfs-tsm: path too long");
	struct stat st;
	if (stat(out, &st) || !S_ISDIR(st.st_mode))
		return vg_err_set(err, ENODEV, "configfs-tsm: %s is not there (Linux 6.7+ SNP or TDX guest with "
				  "configfs mounted)", out);
	return 0;
}

static int make_entry(const char *reports, char *dir, size_t cap, struct vg_err *err)
{
	uint8_t rnd[8];
	char rhex[17];
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return vg_err_set(err, EIO, "no randomness for the report entry name");
	vg_hex_encode(rnd, sizeof(rnd), rhex);
	if ((size_t)snprintf(dir, cap, "%s/vigil-agent-%ld-%s", reports, (long)getpid(), rhex) >= cap)
		return vg_err_set(err, ENAMETOOLONG, "configfs-tsm: path too long");
	if (mkdir(dir, 0700))
		return vg_err_set(err, errno, "configfs-tsm: mkdir %s: %s", dir, strerror(errno));
	hook(AG_TSM_MKDIR, dir, NULL);
	return 0;
}

int ag_tsm_provider(const char *tsm_root, char out[32], struct vg_err *err)
{
	char reports[4096], dir[4096];
	int rc = reports_dir(tsm_root, reports, sizeof(reports), err) ?: make_entry(reports, dir, sizeof(dir), err);
	if (rc)
		return rc;
	rc = read_text(dir, "provider", out, 32, err);
	remove_entry(dir);
	return rc;
}

int ag_tsm_report(const char *tsm_root, const uint8_t *inblob, size_t inblob_len, int privlevel,
		  struct ag_tsm_report *out, struct vg_err *err)
{
	memset(out, 0, sizeof(*out));
	if (!inblob_len || inblob_len > AG_REPORT_DATA_LEN)
		return vg_err_set(err, EINVAL, "configfs-tsm: inblob must be 1..64 bytes, not %zu", inblob_len);
	if (privlevel > 3)
		return vg_err_set(err, EINVAL, "configfs-tsm: privlevel %d is above 3", privlevel);
	char reports[4096];
	int rc = reports_dir(tsm_root, reports, sizeof(reports), err);
	if (rc)
		return rc;
	rc = -EAGAIN;
	for (unsigned i = 0; i < AG_TSM_ATTEMPTS && rc == -EAGAIN; i++) {
		ag_tsm_report_free(out);
		out->attempts = i + 1;
		rc = attempt(reports, inblob, inblob_len, privlevel, out, err);
		if (rc == -EAGAIN && i + 1 < AG_TSM_ATTEMPTS)
			vg_warn("%s; retrying (attempt %u of %d)", err->msg, i + 2, AG_TSM_ATTEMPTS);
	}
	if (rc == -EAGAIN)
		vg_err_prefix(err, "after %d attempts", AG_TSM_ATTEMPTS);
	if (rc) {
		unsigned a = out->attempts;
		ag_tsm_report_free(out);
		out->attempts = a;
	}
	return rc;
}

void ag_tsm_report_free(struct ag_tsm_report *r)
{
	free(r->outblob);
	free(r->auxblob);
	unsigned a = r->attempts;
	memset(r, 0, sizeof(*r));
	r->attempts = a;
}
