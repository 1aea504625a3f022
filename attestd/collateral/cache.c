/* The collateral cache directory: open/free, safe relative paths, reads and
 * atomic stores. Every relative path is built by kds.c / pcs.c from fixed
 * strings and components checked by ad_coll_safe_component (or hex/decimal
 * we format ourselves), so nothing from the network names a file. */
#include "attestd/collateral/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

bool ad_coll_safe_component(const char *s, size_t max)
{
	if (!s)
		return false;
	size_t n = strnlen(s, max + 1);
	if (n == 0 || n > max || s[0] == '.') /* not ".", "..", nor a hidden name */
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
		      ch == '.' || ch == '-'))
			return false;
	}
	return true;
}

static int trim_url(const char *in, char *out, size_t cap, const char *what, struct vg_err *err)
{
	out[0] = 0;
	if (!in || !*in)
		return 0;
	if (strncmp(in, "http://", 7) && strncmp(in, "https://", 8))
		return vg_err_set(err, EINVAL, "%s %s: expected an http:// or https:// URL", what, in);
	size_t n = strlen(in);
	if (n >= cap)
		return vg_err_set(err, ENAMETOOLONG, "%s: URL too long", what);
	memcpy(out, in, n + 1);
	while (n && out[n - 1] == '/')
		out[--n] = 0;
	return 0;
}

int ad_coll_open(const struct ad_coll_cfg *cfg, struct ad_coll **out, struct vg_err *err)
{
	*out = NULL;
	if (!cfg->dir || !*cfg->dir)
		return vg_err_set(err, EINVAL, "collateral cache: a directory is required");
	struct ad_coll *c = calloc(1, sizeof(*c));
	if (!c)
		return vg_err_set(err, ENOMEM, "out of memory");
	if (strlen(cfg->dir) >= sizeof(c->dir) - 300) {
		free(c);
		return vg_err_set(err, ENAMETOOLONG, "collateral cache: directory name too long");
	}
	snprintf(c->dir, sizeof(c->dir), "%s", cfg->dir);
	int rc = trim_url(cfg->kds_url, c->kds, sizeof(c->kds), "--kds-url", err);
	if (!rc)
		rc = trim_url(cfg->pcs_url, c->pcs, sizeof(c->pcs), "--pcs-url", err);
	if (rc) {
		free(c);
		return rc;
	}
	c->timeout = cfg->timeout_seconds > 0 ? cfg->timeout_seconds : 10;
	if (mkdir(c->dir, 0755) && errno != EEXIST) {
		rc = vg_err_set(err, errno, "collateral cache %s: %s", c->dir, strerror(errno));
		free(c);
		return rc;
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->fetch, NULL);
	*out = c;
	return 0;
}

void ad_coll_free(struct ad_coll *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->fetch);
	free(c);
}

long ad_coll_requests(const struct ad_coll *c)
{
	pthread_mutex_lock((pthread_mutex_t *)&c->lock);
	long n = c->requests;
	pthread_mutex_unlock((pthread_mutex_t *)&c->lock);
	return n;
}

int coll_path(const struct ad_coll *c, const char *rel, const char *suffix, char *out, size_t cap,
	      struct vg_err *err)
{
	/* Each component: a safe name, the last one optionally followed by a
	 * query of [A-Za-z0-9_.=&-] (the KDS/PCS URL layout). */
	size_t rl = rel ? strnlen(rel, 512) : 512;
	if (!rel || rl >= 512)
		return vg_err_set(err, EINVAL, "collateral cache: bad relative path");
	const char *q = strchr(rel, '?');
	for (const char *p = rel; p;) {
		const char *slash = strchr(p, '/');
		const char *end = slash && (!q || slash < q) ? slash : (q ? q : rel + rl);
		char comp[256];
		size_t cl = (size_t)(end - p);
		if (cl >= sizeof(comp))
			return vg_err_set(err, EINVAL, "collateral cache: bad relative path");
		memcpy(comp, p, cl);
		comp[cl] = 0;
		if (!ad_coll_safe_component(comp, sizeof(comp) - 1))
			return vg_err_set(err, EINVAL, "collateral cache: bad path component in %.80s", rel);
		p = slash && (!q || slash < q) ? slash + 1 : NULL;
	}
	for (const char *p = q ? q + 1 : ""; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.=&-", *p))
			return vg_err_set(err, EINVAL, "collateral cache: bad query in %.80s", rel);
	int n = snprintf(out, cap, "%s/%s%s", c->dir, rel, suffix ? suffix : "");
	if (n < 0 || (size_t)n >= cap)
		return vg_err_set(err, ENAMETOOLONG, "collateral cache: path too long");
	return 0;
}

int coll_read(const struct ad_coll *c, const char *rel, const char *suffix, uint8_t **data, size_t *len,
	      struct vg_err *err)
{
	char p[2048];
	int rc = coll_path(c, rel, suffix, p, sizeof(p), err);
	if (rc)
		return rc;
	struct stat st;
	if (stat(p, &st))
		return errno == ENOENT ? -ENOENT : vg_err_set(err, errno, "%s: %s", p, strerror(errno));
	return vg_read_file(p, AD_COLL_MAX_BODY, data, len, err);
}

static int mkdirs_for(char *path, struct vg_err *err)
{
	for (char *p = strchr(path + 1, '/'); p; p = strchr(p + 1, '/')) {
		*p = 0;
		if (mkdir(path, 0755) && errno != EEXIST) {
			int e = errno;
			vg_err_set(err, e, "collateral cache: mkdir %s: %s", path, strerror(e));
			*p = '/';
			return -e;
		}
		*p = '/';
	}
	return 0;
}

int coll_store(const struct ad_coll *c, const char *rel, const char *suffix, const void *data, size_t len,
	       struct vg_err *err)
{
	char p[2048];
	int rc = coll_path(c, rel, suffix, p, sizeof(p), err);
	if (!rc)
		rc = mkdirs_for(p, err);
	if (!rc)
		rc = vg_write_file_atomic(p, data, len, 0644, err);
	return rc;
}

long ad_coll_retry_in(struct ad_coll *c, bool kds)
{
	pthread_mutex_lock(&c->lock);
	time_t nb = kds ? c->kds_bo.not_before : c->pcs_bo.not_before;
	pthread_mutex_unlock(&c->lock);
	time_t now = time(NULL);
	return nb > now ? (long)(nb - now) : 0;
}

int coll_verify_any_trust(const struct att_trust *trusts, size_t nt, coll_trust_check check, void *ctx,
			  struct vg_err *err)
{
	struct att_trust vendor = {0};
	if (!trusts || !nt) {
		trusts = &vendor;
		nt = 1;
	}
	char why[400] = "", this[400];
	for (size_t i = 0; i < nt; i++) {
		this[0] = 0;
		if (check(ctx, &trusts[i], this, sizeof(this)))
			return 0;
		if (!why[0])
			snprintf(why, sizeof(why), "%s", this);
	}
	return vg_err_set(err, EACCES, "%s", why[0] ? why : "does not verify");
}
