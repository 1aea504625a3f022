/* attestd/collateral/ private: the cache handle, file and fetch helpers. */
#ifndef VIGIL_ATTESTD_COLLATERAL_INTERNAL_H
#define VIGIL_ATTESTD_COLLATERAL_INTERNAL_H

#include <pthread.h>

#include "attestd/collateral/collateral.h"

struct ad_coll_backoff {
	time_t not_before; /* no request before this time */
	int failures;      /* consecutive 429/5xx/network failures */
};

struct ad_coll {
	char dir[1024];
	char kds[512], pcs[512]; /* "" = offline */
	long timeout;
	pthread_mutex_t lock;    /* backoff state and counters */
	pthread_mutex_t fetch;   /* one fetch at a time: concurrent misses of one item fetch it once */
	struct ad_coll_backoff kds_bo, pcs_bo;
	long requests;
};

/* cache.c: DIR/rel (rel is built by us from safe components). */
int coll_path(const struct ad_coll *c, const char *rel, const char *suffix, char *out, size_t cap,
	      struct vg_err *err);
/* Reads a cached file: 0, -ENOENT, or another -errno. */
int coll_read(const struct ad_coll *c, const char *rel, const char *suffix, uint8_t **data, size_t *len,
	      struct vg_err *err);
/* Stores atomically (directories created 0755, file 0644). */
int coll_store(const struct ad_coll *c, const char *rel, const char *suffix, const void *data, size_t len,
	       struct vg_err *err);

/* cache.c: what is stored must verify under one of the trusted roots (the vendor's
 * pinned root when none is given): calls check with each until one accepts it;
 * otherwise -EACCES naming the first refusal. check fills why (cap bytes) when
 * it refuses. */
typedef bool (*coll_trust_check)(void *ctx, const struct att_trust *trust, char *why, size_t cap);
int coll_verify_any_trust(const struct att_trust *trusts, size_t nt, coll_trust_check check, void *ctx,
			  struct vg_err *err);

/* fetch.c */
struct coll_resp {
	long status;
	struct vg_buf body;
	char *header_value; /* the value of the header asked for (URL-decoded), or NULL */
	size_t header_len;
};
void coll_resp_free(struct coll_resp *r);
/* GET base/rel. which: "KDS" or "PCS" (backoff state and messages); header:
 * a response header to capture (or NULL). Returns 0 with r->status 200 and the
 * body; -ENOENT on 404/400 (not known to the service); -EAGAIN while backing
 * off or on 429/503 (err names the wait); -EIO for other failures. */
int coll_get(struct ad_coll *c, bool kds, const char *rel, const char *header, struct coll_resp *r,
	     struct vg_err *err);

#endif
