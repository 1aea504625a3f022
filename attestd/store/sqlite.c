/*
 * SQLite backend of the attestd store: one file, WAL journal, BEGIN IMMEDIATE
 * write transactions, prepared statements cached per connection.
 * SQLite-only syntax is confined to the PRAGMAs in sq_open (marked).
 */
#include "attestd/store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

enum {
	Q_SESS_INS, Q_SESS_UPD, Q_SESS_GET, Q_SESS_TOK, Q_SESS_PURGE, Q_SESS_COUNT,
	Q_POL_INS, Q_POL_LATEST, Q_POL_DIGEST,
	Q_RES_GET, Q_RES_INS, Q_RES_UPD, Q_RES_DEL, Q_RES_EACH,
	Q_AUD_HEAD, Q_AUD_INS, Q_AUD_HEAD_UPD, Q_AUD_EACH,
	Q_BEGIN, Q_COMMIT, Q_ROLLBACK,
	Q_COUNT
};

static const char *const sql[Q_COUNT] = {
	[Q_SESS_INS] = "INSERT INTO sessions (id, state, tee, nonce, created, expires, tee_pubkey, appraisal, token, "
		       "token_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[Q_SESS_UPD] = "UPDATE sessions SET state = ?, tee_pubkey = ?, appraisal = ?, token = ?, token_hash = ?, "
		       "expires = ? WHERE id = ?",
	[Q_SESS_GET] = "SELECT id, state, tee, nonce, created, expires, tee_pubkey, appraisal, token, token_hash "
		       "FROM sessions WHERE id = ?",
	[Q_SESS_TOK] = "SELECT id, state, tee, nonce, created, expires, tee_pubkey, appraisal, token, token_hash "
		       "FROM sessions WHERE token_hash = ?",
	[Q_SESS_PURGE] = "DELETE FROM sessions WHERE expires <= ?",
	[Q_SESS_COUNT] = "SELECT COUNT(*) FROM sessions WHERE expires > ?",
	[Q_POL_INS] = "INSERT INTO policies (id, digest, source, body, created) VALUES (?, ?, ?, ?, ?)",
	[Q_POL_LATEST] = "SELECT id, digest, source, body, created FROM policies ORDER BY id DESC LIMIT 1",
	[Q_POL_DIGEST] = "SELECT id, digest, source, body, created FROM policies WHERE digest = ? "
			 "ORDER BY id DESC LIMIT 1",
	[Q_RES_GET] = "SELECT path, kek_id, iv, ciphertext, size, version, created, updated FROM resources "
		      "WHERE path = ?",
	[Q_RES_INS] = "INSERT INTO resources (path, kek_id, iv, ciphertext, size, version, created, updated) "
		      "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
	[Q_RES_UPD] = "UPDATE resources SET kek_id = ?, iv = ?, ciphertext = ?, size = ?, version = ?, "
		      "updated = ? WHERE path = ?",
	[Q_RES_DEL] = "DELETE FROM resources WHERE path = ?",
	[Q_RES_EACH] = "SELECT path, kek_id, iv, ciphertext, size, version, created, updated FROM resources "
		       "ORDER BY path",
	[Q_AUD_HEAD] = "SELECT seq, hash FROM audit_head WHERE id = 1",
	[Q_AUD_INS] = "INSERT INTO audit (seq, ts, kind, actor, resource, outcome, detail, prev_hash, hash) "
		      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[Q_AUD_HEAD_UPD] = "UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1",
	[Q_AUD_EACH] = "SELECT seq, ts, kind, actor, resource, outcome, detail, prev_hash, hash FROM audit "
		       "WHERE seq >= ? ORDER BY seq LIMIT ?",
	/* Transaction control is prepared once too (three write transactions per KBS flow). */
	[Q_BEGIN] = "BEGIN IMMEDIATE",
	[Q_COMMIT] = "COMMIT",
	[Q_ROLLBACK] = "ROLLBACK",
};


struct ad_store {
	sqlite3 *db;
	sqlite3_stmt *st[Q_COUNT];
	bool in_tx;
};

static int sq_fail(struct ad_store *s, int rc, struct vg_err *err, const char *what)
{
	int code = (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) ? EBUSY : EIO;
	if (rc == SQLITE_CONSTRAINT)
		code = EEXIST;
	return vg_err_set(err, code, "sqlite: %s: %s", what, s && s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
}

static int exec(struct ad_store *s, const char *q, struct vg_err *err)
{
	char *msg = NULL;
	int rc = sqlite3_exec(s->db, q, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		int code = (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) ? EBUSY : EIO;
		vg_err_set(err, code, "sqlite: %.60s: %s", q, msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return -code;
	}
	return 0;
}

static sqlite3_stmt *stmt(struct ad_store *s, int q, struct vg_err *err)
{
	if (!s->st[q]) {
		int rc = sqlite3_prepare_v3(s->db, sql[q], -1, SQLITE_PREPARE_PERSISTENT, &s->st[q], NULL);
		if (rc != SQLITE_OK) {
			sq_fail(s, rc, err, sql[q]);
			return NULL;
		}
	}
	sqlite3_reset(s->st[q]);
	sqlite3_clear_bindings(s->st[q]);
	return s->st[q];
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

static void col_copy(sqlite3_stmt *st, int i, char *out, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	snprintf(out, cap, "%s", t ? (const char *)t : "");
}

static char *col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? strdup((const char *)t) : NULL;
}

/* Runs a statement that returns no rows. */
static int run(struct ad_store *s, sqlite3_stmt *st, struct vg_err *err, const char *what)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return sq_fail(s, rc, err, what);
	return 0;
}

static void sq_close(struct ad_store *s)
{
	if (!s)
		return;
	for (int i = 0; i < Q_COUNT; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_close(s->db);
	free(s);
}

#define SQ_BUSY_MS 10000

static int wal_mode(struct ad_store *s, struct vg_err *err)
{
	struct timespec t0, now, pause = {0, 5 * 1000 * 1000};
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		int rc = exec(s, "PRAGMA journal_mode=WAL", err);
		if (rc != -EBUSY)
			return rc;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000 >= SQ_BUSY_MS)
			return rc;
		nanosleep(&pause, NULL);
	}
}

static int sq_open(const char *target, struct ad_store **out, struct vg_err *err)
{
	char path[4096];
	const char *sync = "NORMAL";
	snprintf(path, sizeof(path), "%s", target);
	char *q = strchr(path, '?');
	if (q) {
		*q++ = 0;
		if (!strcmp(q, "sync=full"))
			sync = "FULL";
		else if (strcmp(q, "sync=normal"))
			return vg_err_set(err, EINVAL, "--db sqlite:%s: unknown option '%s' (sync=full|normal)", target, q);
	}
	if (!path[0])
		return vg_err_set(err, EINVAL, "--db sqlite: needs a file path");
	struct ad_store *s = calloc(1, sizeof(*s));
	if (!s)
		return vg_err_set(err, ENOMEM, "sqlite: out of memory");
	int rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		vg_err_set(err, EIO, "sqlite: open %s: %s", path, s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		sq_close(s);
		return -EIO;
	}
	/* The busy timeout first: every statement below may meet another opener. */
	sqlite3_busy_timeout(s->db, SQ_BUSY_MS);
	/* SQLite-only: journal and durability settings. Switching a new file to WAL
	 * can report SQLITE_BUSY at once (without the busy handler) while another
	 * process opens the same file: retried until the busy timeout is spent. */
	rc = wal_mode(s, err);
	char pragmas[256];
	snprintf(pragmas, sizeof(pragmas),
		 "PRAGMA synchronous=%s; PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON; "
		 "PRAGMA mmap_size=268435456; PRAGMA temp_store=MEMORY;",
		 sync);
	if (!rc)
		rc = exec(s, pragmas, err);
	if (rc) {
		vg_err_prefix(err, "%s", path);
		sq_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

static int sq_begin(struct ad_store *s, struct vg_err *err)
{
	sqlite3_stmt *st = stmt(s, Q_BEGIN, err);
	int rc = st ? run(s, st, err, "BEGIN IMMEDIATE") : -EIO;
	if (!rc)
		s->in_tx = true;
	return rc;
}

static void rollback_now(struct ad_store *s)
{
	sqlite3_stmt *st = stmt(s, Q_ROLLBACK, NULL);
	if (!st || run(s, st, NULL, "ROLLBACK"))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

static int sq_commit(struct ad_store *s, struct vg_err *err)
{
	sqlite3_stmt *st = stmt(s, Q_COMMIT, err);
	int rc = st ? run(s, st, err, "COMMIT") : -EIO;
	if (rc && !sqlite3_get_autocommit(s->db))
		rollback_now(s);
	s->in_tx = false;
	return rc;
}

static void sq_rollback(struct ad_store *s)
{
	if (s->in_tx)
		rollback_now(s);
	s->in_tx = false;
}

static int sq_schema_version(struct ad_store *s, int64_t *version, struct vg_err *err)
{
	sqlite3_stmt *st = NULL;
	*version = 0;
	int rc = sqlite3_prepare_v2(s->db, "SELECT MAX(version) FROM schema_migrations", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(s, rc, err, "schema version");
	if (sqlite3_step(st) == SQLITE_ROW)
		*version = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return 0;
}

static int sq_migrate(struct ad_store *s, struct vg_err *err)
{
	int rc = exec(s, "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, "
			 "description TEXT NOT NULL, applied_at BIGINT NOT NULL)",
		      err);
	if (rc)
		return rc;
	for (size_t i = 0; i < ad_n_migrations; i++) {
		if ((rc = sq_begin(s, err)))
			return rc;
		int64_t have = 0;
		if ((rc = sq_schema_version(s, &have, err)))
			goto fail;
		if (have >= ad_migrations[i].version) {
			sq_rollback(s);
			continue;
		}
		if ((rc = exec(s, ad_migrations[i].ddl, err)))
			goto fail;
		sqlite3_stmt *st = NULL;
		if (sqlite3_prepare_v2(s->db, "INSERT INTO schema_migrations (version, description, applied_at) "
					      "VALUES (?, ?, ?)", -1, &st, NULL) != SQLITE_OK) {
			rc = sq_fail(s, SQLITE_ERROR, err, "schema_migrations");
			goto fail;
		}
		sqlite3_bind_int64(st, 1, ad_migrations[i].version);
		sqlite3_bind_text(st, 2, ad_migrations[i].description, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, (int64_t)time(NULL));
		int r = sqlite3_step(st);
		sqlite3_finalize(st);
		if (r != SQLITE_DONE) {
			rc = sq_fail(s, r, err, "schema_migrations");
			goto fail;
		}
		if ((rc = sq_commit(s, err)))
			return rc;
	}
	return 0;
fail:
	sq_rollback(s);
	return rc;
}

/* ------------------------------------------------------------ sessions */
static void read_session(sqlite3_stmt *st, struct ad_session *o)
{
	memset(o, 0, sizeof(*o));
	col_copy(st, 0, o->id, sizeof(o->id));
	o->state = sqlite3_column_int(st, 1);
	col_copy(st, 2, o->tee, sizeof(o->tee));
	col_copy(st, 3, o->nonce, sizeof(o->nonce));
	o->created = sqlite3_column_int64(st, 4);
	o->expires = sqlite3_column_int64(st, 5);
	o->tee_pubkey = col_dup(st, 6);
	o->appraisal = col_dup(st, 7);
	o->token = col_dup(st, 8);
	col_copy(st, 9, o->token_hash, sizeof(o->token_hash));
}

static int sq_session_insert(struct ad_store *s, const struct ad_session *ss, struct vg_err *err)
{
	sqlite3_stmt *st = stmt(s, Q_SESS_INS, err);
	if (!st)
		return -err->code;
	bind_text(st, 1, ss->id);
	sqlite3_bind_int(st, 2, ss->state);
	bind_text(st, 3, ss->tee);
	bind_text(st, 4, ss->nonce);
	sqlite3_bind_int64(st, 5, ss->created);
	sqlite3_bind_int64(st, 6, ss->expires);
	bind_text(st, 7, ss->tee_pubkey);
	bind_text(st, 8, ss->appraisal);
	bind_text(st, 9, ss->token);
	bind_text(st, 10, ss->token_hash);
	return run(s, st, err, "insert session");
}

static int sq_session_update(struct ad_store *s, const struct ad_session *ss, struct vg_err *err)
{
	sqlite3_stmt *st = stmt(s, Q_SESS_UPD, err);
	if (!st)
		return -err->code;
	sqlite3_bind_int(st, 1, ss->state);
	bind_text(st, 2, ss->tee_pubkey);
	bind_text(st, 3, ss->appraisal);
	bind_text(st, 4, ss->token);
	bind_text(st, 5, ss->token_hash);
	sqlite3_bind_int64(st, 6, ss->expires);
	bind_text(st, 7, ss->id);
	int rc = run(s, st, err, "update session");
	if (!rc && sqlite3_changes(s->db) != 1)
		return vg_err_set(err, ENOENT, "session not found");
	return rc;
}

static int session_query(struct ad_store *s, int q, const char *key, struct ad_session *out, struct vg_err *err)
{
	sqlite3_stmt *st = stmt(s, q, err);
	if (!st)
		return -err->code;
	bind_text(st, 1, key);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		read_session(st, out);
		sqlite3_reset(st);
		return 0;
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return vg_err_set(err, ENOENT, "session not found");
	return sq_fail(s, rc, err, "get session");
}

static int sq_session_get(struct ad_store *s, const char *id, struct ad_session *out, struct vg_err *err)
{
	return session_query(s, Q_SESS_GET, id, out, err);
}

static int sq_session_get_by_token(struct ad_store *s, const char *h, struct ad_session *out, struct vg_err *err)
{
	return session_query(s, Q_SESS_TOK, h, out, err);
}

static int sq_session_purge(struct ad_store *s, int64_t now, int64_t *n, struct vg_err *err)
{
	sqlite3_stmt *st = stmt(s, Q_SESS_PURGE, err);
	if (!st)
		return -err->code;
	sqlite3_bind_int64(st, 1, now);
	int rc = run(s, st, err, "purge sessions");
	if (!rc && n)
		*n = sqlite3_changes(s->db);
	return rc;
}

static int sq_session_count(struct ad_store *s, int64_t now, int64_t *n, struct vg_err *err)
{
	sqlite3_stmt *st = stmt(s, Q_SESS_COUNT, err);
	if (!st)
		return -err->code;
	sqlite3_bind_int64(st, 1, now);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : sq_fail(s, rc, err, "count sessions");
}

/* ------------------------------------------------------------- policies */
static int sq_policy_insert(struct ad_store *s, const struct ad_policy_version *p, struct vg_err *err)
{
	sqlite3_stmt *st = stmt(s, Q_POL_INS, err);
	if (!st)
		return -err->code;
	sqlite3_bind_int64(st, 1, p->id);
	bind_text(st, 2, p->digest);
	bind_text(st, 3, p->source);
	bind_text(st, 4, p->body);
	sqlite3_bind_int64(st, 5, p->created);
	return run(s, st, err, "insert policy");
}

static int policy_query(struct ad_store *s, int q, const char *key, struct ad_policy_version *o, struct vg_err *err)
{
	sqlite3_stmt *st = stmt(s, q, err);
	if (!st)
		return -err->code;
	if (key)
		bind_text(st, 1, key);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		memset(o, 0, sizeof(*o));
		o->id = sqlite3_column_int64(st, 0);
		col_copy(st, 1, o->digest, sizeof(o->digest));
		col_copy(st, 2, o->source, sizeof(o->source));
		o->body = col_dup(st, 3);
		o->created = sqlite3_column_int64(st, 4);
		sqlite3_reset(st);
		return o->body ? 0 : vg_err_set(err, ENOMEM, "sqlite: out of memory");
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return vg_err_set(err, ENOENT, "no policy version");
	return sq_fail(s, rc, err, "get policy");
}

static int sq_policy_latest(struct ad_store *s, struct ad_policy_version *out, struct vg_err *err)
{
	return policy_query(s, Q_POL_LATEST, NULL, out, err);
}

static int sq_policy_by_digest(struct ad_store *s, const char *d, struct ad_policy_version *out, struct vg_err *err)
{
	return policy_query(s, Q_POL_DIGEST, d, out, err);
}

/* ------------------------------------------------------------ resources */
static int read_resource(sqlite3_stmt *st, struct ad_resource *o, struct vg_err *err)
{
	memset(o, 0, sizeof(*o));
	col_copy(st, 0, o->path, sizeof(o->path));
	col_copy(st, 1, o->kek_id, sizeof(o->kek_id));
	const void *iv = sqlite3_column_blob(st, 2);
	if (!iv || sqlite3_column_bytes(st, 2) != 12)
		return vg_err_set(err, EBADMSG, "resource %s: stored IV is not 12 bytes", o->path);
	memcpy(o->iv, iv, 12);
	int n = sqlite3_column_bytes(st, 3);
	const void *ct = sqlite3_column_blob(st, 3);
	if (!ct || n < 16)
		return vg_err_set(err, EBADMSG, "resource %s: stored ciphertext is truncated", o->path);
	o->ciphertext = malloc((size_t)n);
	if (!o->ciphertext)
		return vg_err_set(err, ENOMEM, "sqlite: out of memory");
	memcpy(o->ciphertext, ct, (size_t)n);
	o->ciphertext_len = (size_t)n;
	o->size = sqlite3_column_int64(st, 4);
	o->version = sqlite3_column_int64(st, 5);
	o->created = sqlite3_column_int64(st, 6);
	o->updated = sqlite3_column_int64(st, 7);
	return 0;
}

static int sq_resource_get(struct ad_store *s, const char *path, struct ad_resource *out, struct vg_err *err)
{
	sqlite3_stmt *st = stmt(s, Q_RES_GET, err);
	if (!st)
		return -err->code;
	bind_text(st, 1, path);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		int r = read_resource(st, out, err);
		sqlite3_reset(st);
		if (r)
			ad_resource_clear(out);
		return r;
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return vg_err_set(err, ENOENT, "resource %s not found", path);
	return sq_fail(s, rc, err, "get resource");
}

static int sq_resource_put(struct ad_store *s, const struct ad_resource *r, struct vg_err *err)
{
	sqlite3_stmt *st = stmt(s, Q_RES_UPD, err);
	if (!st)
		return -err->code;
	bind_text(st, 1, r->kek_id);
	sqlite3_bind_blob(st, 2, r->iv, 12, SQLITE_TRANSIENT);
	sqlite3_bind_blob(st, 3, r->ciphertext, (int)r->ciphertext_len, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, r->size);
	sqlite3_bind_int64(st, 5, r->version);
	sqlite3_bind_int64(st, 6, r->updated);
	bind_text(st, 7, r->path);
	int rc = run(s, st, err, "update resource");
	if (rc || sqlite3_changes(s->db) == 1)
		return rc;
	st = stmt(s, Q_RES_INS, err);
	if (!st)
		return -err->code;
	bind_text(st, 1, r->path);
	bind_text(st, 2, r->kek_id);
	sqlite3_bind_blob(st, 3, r->iv, 12, SQLITE_TRANSIENT);
	sqlite3_bind_blob(st, 4, r->ciphertext, (int)r->ciphertext_len, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 5, r->size);
	sqlite3_bind_int64(st, 6, r->version);
	sqlite3_bind_int64(st, 7, r->created);
	sqlite3_bind_int64(st, 8, r->updated);
	return run(s, st, err, "insert resource");
}

static int sq_resource_delete(struct ad_store *s, const char *path, struct vg_err *err)
{
	sqlite3_stmt *st = stmt(s, Q_RES_DEL, err);
	if (!st)
		return -err->code;
	bind_text(st, 1, path);
	int rc = run(s, st, err, "delete resource");
	if (!rc && sqlite3_changes(s->db) != 1)
		return vg_err_set(err, ENOENT, "resource %s not found", path);
	return rc;
}

static int sq_resource_each(struct ad_store *s, int (*cb)(void *, const struct ad_resource *), void *arg,
			    struct vg_err *err)
{
	/* Own statement: a callback may call back into the store (rotate-kek updates rows). */
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, sql[Q_RES_EACH], -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(s, rc, err, "list resources");
	int ret = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct ad_resource r;
		if ((ret = read_resource(st, &r, err)))
			break;
		ret = cb(arg, &r);
		ad_resource_clear(&r);
		if (ret)
			break;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = sq_fail(s, rc, err, "list resources");
	sqlite3_finalize(st);
	return ret;
}

/* ---------------------------------------------------------------- audit */
static int sq_audit_head(struct ad_store *s, int64_t *seq, char hash[AD_HASH_HEX], struct vg_err *err)
{
	sqlite3_stmt *st = stmt(s, Q_AUD_HEAD, err);
	if (!st)
		return -err->code;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*seq = sqlite3_column_int64(st, 0);
		col_copy(st, 1, hash, AD_HASH_HEX);
		sqlite3_reset(st);
		return 0;
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? vg_err_set(err, EBADMSG, "audit chain head row is missing")
				 : sq_fail(s, rc, err, "audit head");
}

static int sq_audit_insert(struct ad_store *s, const struct ad_audit_rec *r, struct vg_err *err)
{
	sqlite3_stmt *st = stmt(s, Q_AUD_INS, err);
	if (!st)
		return -err->code;
	sqlite3_bind_int64(st, 1, r->seq);
	sqlite3_bind_int64(st, 2, r->ts);
	bind_text(st, 3, r->kind);
	bind_text(st, 4, r->actor);
	bind_text(st, 5, r->resource);
	bind_text(st, 6, r->outcome);
	bind_text(st, 7, r->detail ? r->detail : "{}");
	bind_text(st, 8, r->prev_hash);
	bind_text(st, 9, r->hash);
	int rc = run(s, st, err, "insert audit record");
	if (rc)
		return rc;
	st = stmt(s, Q_AUD_HEAD_UPD, err);
	if (!st)
		return -err->code;
	sqlite3_bind_int64(st, 1, r->seq);
	bind_text(st, 2, r->hash);
	return run(s, st, err, "move audit head");
}

static int sq_audit_each(struct ad_store *s, int64_t from, int64_t limit,
			 int (*cb)(void *, const struct ad_audit_rec *), void *arg, struct vg_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, sql[Q_AUD_EACH], -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(s, rc, err, "read audit");
	sqlite3_bind_int64(st, 1, from);
	sqlite3_bind_int64(st, 2, limit > 0 ? limit : -1);
	int ret = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct ad_audit_rec r;
		memset(&r, 0, sizeof(r));
		r.seq = sqlite3_column_int64(st, 0);
		r.ts = sqlite3_column_int64(st, 1);
		col_copy(st, 2, r.kind, sizeof(r.kind));
		col_copy(st, 3, r.actor, sizeof(r.actor));
		col_copy(st, 4, r.resource, sizeof(r.resource));
		col_copy(st, 5, r.outcome, sizeof(r.outcome));
		r.detail = col_dup(st, 6);
		col_copy(st, 7, r.prev_hash, sizeof(r.prev_hash));
		col_copy(st, 8, r.hash, sizeof(r.hash));
		ret = cb(arg, &r);
		ad_audit_rec_clear(&r);
		if (ret)
			break;
	}
	if (!ret && rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = sq_fail(s, rc, err, "read audit");
	sqlite3_finalize(st);
	return ret;
}

const struct ad_store_ops ad_store_sqlite_ops = {
	.scheme = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.migrate = sq_migrate,
	.schema_version = sq_schema_version,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.session_insert = sq_session_insert,
	.session_update = sq_session_update,
	.session_get = sq_session_get,
	.session_get_by_token = sq_session_get_by_token,
	.session_purge = sq_session_purge,
	.session_count = sq_session_count,
	.policy_insert = sq_policy_insert,
	.policy_latest = sq_policy_latest,
	.policy_by_digest = sq_policy_by_digest,
	.resource_put = sq_resource_put,
	.resource_get = sq_resource_get,
	.resource_delete = sq_resource_delete,
	.resource_each = sq_resource_each,
	.audit_head = sq_audit_head,
	.audit_insert = sq_audit_insert,
	.audit_each = sq_audit_each,
};
