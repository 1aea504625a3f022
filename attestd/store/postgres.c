/*
 * PostgreSQL backend of the attestd store (libpq), behind the same ops table as SQLite:
 * `--db postgresql://user@host:port/db` (or any libpq conninfo URI). Several vigil-attestd
 * instances share one database: sessions, policies, resources and the audit chain live
 * there, so auth on one instance, attest on a second and resource on a third works.
 *
 * Concurrency: begin() opens a READ COMMITTED transaction and takes a transaction-level
 * advisory lock (pg_advisory_xact_lock), so write transactions run one at a time across
 * every instance, as SQLite's BEGIN IMMEDIATE makes them run on one file: the audit chain
 * is appended strictly in order and a read-modify-write of a session cannot interleave.
 * The lock is released by COMMIT or ROLLBACK (or by the server when a connection dies).
 * audit_head() inside a transaction also locks the head row (SELECT ... FOR UPDATE).
 *
 * Recovery: a connection found broken outside a transaction is re-established (PQreset)
 * and the statement run once more (nothing was half done); inside one the transaction
 * fails with -EIO and the caller rolls back, so nothing half-done commits. Migrations run under a session advisory lock,
 * so instances starting together apply each one exactly once.
 *
 * Portable SQL as in sqlite.c, with BYTEA for the binary columns. Parameters travel
 * out of band ($1..), bytea in binary format; results in text format.
 */
#include "attestd/store/store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#define PG_LOCK_WRITE 0x76696731LL   /* "vig1": write transactions */
#define PG_LOCK_MIGRATE 0x76696732LL /* "vig2": migrations */

static const struct {
	int64_t version;
	const char *description;
	const char *ddl;
} migrations[] = {
	{1, "sessions, policies, resources, audit chain",
	 "CREATE TABLE sessions (id TEXT PRIMARY KEY, state BIGINT NOT NULL, tee TEXT NOT NULL, "
	 "  nonce TEXT NOT NULL, created BIGINT NOT NULL, expires BIGINT NOT NULL, tee_pubkey TEXT, "
	 "  appraisal TEXT, token TEXT, token_hash TEXT);"
	 "CREATE INDEX sessions_expires ON sessions (expires);"
	 "CREATE INDEX sessions_token ON sessions (token_hash);"
	 "CREATE TABLE policies (id BIGINT PRIMARY KEY, digest TEXT NOT NULL, source TEXT NOT NULL, "
	 "  body TEXT NOT NULL, created BIGINT NOT NULL);"
	 "CREATE INDEX policies_digest ON policies (digest);"
	 "CREATE TABLE resources (path TEXT PRIMARY KEY, kek_id TEXT NOT NULL, iv BYTEA NOT NULL, "
	 "  ciphertext BYTEA NOT NULL, size BIGINT NOT NULL, version BIGINT NOT NULL, created BIGINT NOT NULL, "
	 "  updated BIGINT NOT NULL);"
	 "CREATE TABLE audit (seq BIGINT PRIMARY KEY, ts BIGINT NOT NULL, kind TEXT NOT NULL, "
	 "  actor TEXT NOT NULL, resource TEXT NOT NULL, outcome TEXT NOT NULL, detail TEXT NOT NULL, "
	 "  prev_hash TEXT NOT NULL, hash TEXT NOT NULL);"
	 "CREATE TABLE audit_head (id BIGINT PRIMARY KEY, seq BIGINT NOT NULL, hash TEXT NOT NULL);"
	 "INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, "
	 "  '0000000000000000000000000000000000000000000000000000000000000000');"},
};

struct ad_store {
	PGconn *c;
	bool in_tx;
};

/* ------------------------------------------------------------ plumbing */
struct params {
	int n;
	const char *v[10];
	int len[10], fmt[10];
	char num[10][24];
};

static void p_text(struct params *p, const char *s)
{
	p->v[p->n] = s;
	p->len[p->n] = 0;
	p->fmt[p->n++] = 0;
}

static void p_int(struct params *p, int64_t x)
{
	snprintf(p->num[p->n], sizeof(p->num[0]), "%" PRId64, x);
	p_text(p, p->num[p->n]);
}

static void p_bin(struct params *p, const void *d, size_t len)
{
	p->v[p->n] = d;
	p->len[p->n] = (int)len;
	p->fmt[p->n++] = 1;
}

static int pg_fail(struct ad_store *s, const PGresult *r, struct vg_err *err, const char *what)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	int code = EIO;
	if (state && !strcmp(state, "23505"))
		code = EEXIST; /* unique violation */
	else if (state && (!strcmp(state, "40001") || !strcmp(state, "40P01") || !strcmp(state, "55P03")))
		code = EBUSY; /* serialization failure, deadlock, lock not available */
	const char *m = r ? PQresultErrorMessage(r) : NULL;
	if (!m || !*m)
		m = PQerrorMessage(s->c);
	char one[300];
	snprintf(one, sizeof(one), "%s", m && *m ? m : "connection lost");
	for (char *q = one; *q; q++)
		if (*q == '\n')
			*q = ' ';
	size_t l = strlen(one);
	while (l && one[l - 1] == ' ')
		one[--l] = 0;
	return vg_err_set(err, code, "postgres: %s: %s", what, one);
}

/* A broken connection is re-established between transactions, never inside one. */
static int ready(struct ad_store *s, struct vg_err *err)
{
	if (PQstatus(s->c) == CONNECTION_OK)
		return 0;
	if (s->in_tx)
		return vg_err_set(err, EIO, "postgres: the connection broke inside a transaction");
	PQreset(s->c);
	if (PQstatus(s->c) != CONNECTION_OK)
		return pg_fail(s, NULL, err, "reconnect");
	vg_warn("postgres: connection re-established");
	return 0;
}

/* Runs a statement; *out the result when rows are expected (caller PQclear's it). */
static int run(struct ad_store *s, const char *sql, const struct params *p, PGresult **out, int *changed,
	       struct vg_err *err, const char *what)
{
	if (out)
		*out = NULL;
	int rc = ready(s, err);
	if (rc)
		return rc;
	PGresult *r = PQexecParams(s->c, sql, p ? p->n : 0, NULL, p ? p->v : NULL, p ? p->len : NULL,
				   p ? p->fmt : NULL, 0);
	ExecStatusType st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && PQstatus(s->c) == CONNECTION_BAD && !s->in_tx) {
		/* The server went away since the last statement (restart, failover): outside a
		 * transaction nothing was half done, so reconnect and run the statement once more. */
		PQclear(r);
		PQreset(s->c);
		if (PQstatus(s->c) != CONNECTION_OK)
			return pg_fail(s, NULL, err, "reconnect");
		vg_warn("postgres: connection re-established");
		r = PQexecParams(s->c, sql, p ? p->n : 0, NULL, p ? p->v : NULL, p ? p->len : NULL, p ? p->fmt : NULL,
				 0);
		st = PQresultStatus(r);
	}
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		rc = pg_fail(s, r, err, what);
		PQclear(r);
		return rc;
	}
	if (changed) {
		const char *t = PQcmdTuples(r);
		*changed = t && *t ? atoi(t) : 0;
	}
	if (out)
		*out = r;
	else
		PQclear(r);
	return 0;
}

static int exec_simple(struct ad_store *s, const char *sql, struct vg_err *err, const char *what)
{
	return run(s, sql, NULL, NULL, NULL, err, what);
}

static void copy(const PGresult *r, int row, int col, char *out, size_t cap)
{
	snprintf(out, cap, "%s", PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col));
}

static char *dup_col(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL : strdup(PQgetvalue(r, row, col));
}

static int64_t int_col(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* -------------------------------------------------------- connection */
static void pg_close(struct ad_store *s)
{
	if (!s)
		return;
	PQfinish(s->c);
	free(s);
}

static int pg_open(const char *target, struct ad_store **out, struct vg_err *err)
{
	struct ad_store *s = calloc(1, sizeof(*s));
	if (!s)
		return vg_err_set(err, ENOMEM, "postgres: out of memory");
	const char *keys[] = {"dbname", "connect_timeout", "application_name", NULL};
	const char *vals[] = {target, "5", "vigil-attestd", NULL};
	s->c = PQconnectdbParams(keys, vals, 1);
	if (!s->c || PQstatus(s->c) != CONNECTION_OK) {
		int rc = pg_fail(s, NULL, err, "connect");
		pg_close(s);
		return rc;
	}
	int rc = exec_simple(s, "SET client_min_messages = warning", err, "session settings");
	if (rc) {
		pg_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

static int pg_begin(struct ad_store *s, struct vg_err *err)
{
	int rc = exec_simple(s, "BEGIN ISOLATION LEVEL READ COMMITTED", err, "begin");
	if (rc)
		return rc;
	s->in_tx = true;
	struct params p = {0};
	p_int(&p, PG_LOCK_WRITE);
	rc = run(s, "SELECT pg_advisory_xact_lock($1::bigint)", &p, NULL, NULL, err, "write lock");
	if (rc) {
		PGresult *r = PQexec(s->c, "ROLLBACK");
		PQclear(r);
		s->in_tx = false;
	}
	return rc;
}

static int pg_commit(struct ad_store *s, struct vg_err *err)
{
	int rc = exec_simple(s, "COMMIT", err, "commit");
	if (rc && PQstatus(s->c) == CONNECTION_OK) {
		PGresult *r = PQexec(s->c, "ROLLBACK");
		PQclear(r);
	}
	s->in_tx = false;
	return rc;
}

static void pg_rollback(struct ad_store *s)
{
	if (s->in_tx && PQstatus(s->c) == CONNECTION_OK) {
		PGresult *r = PQexec(s->c, "ROLLBACK");
		PQclear(r);
	}
	s->in_tx = false;
}

static int pg_schema_version(struct ad_store *s, int64_t *version, struct vg_err *err)
{
	PGresult *r;
	*version = 0;
	int rc = run(s, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", NULL, &r, NULL, err,
		     "schema version");
	if (rc)
		return rc;
	if (PQntuples(r) == 1)
		*version = int_col(r, 0, 0);
	PQclear(r);
	return 0;
}

static int pg_migrate(struct ad_store *s, struct vg_err *err)
{
	struct params lk = {0};
	p_int(&lk, PG_LOCK_MIGRATE);
	int rc = run(s, "SELECT pg_advisory_lock($1::bigint)", &lk, NULL, NULL, err, "migration lock");
	if (rc)
		return rc;
	rc = exec_simple(s, "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, "
			    "description TEXT NOT NULL, applied_at BIGINT NOT NULL)",
			 err, "schema_migrations");
	for (size_t i = 0; !rc && i < VG_ARRAY_SIZE(migrations); i++) {
		int64_t have = 0;
		if ((rc = pg_begin(s, err)))
			break;
		if ((rc = pg_schema_version(s, &have, err)) || have >= migrations[i].version) {
			pg_rollback(s);
			continue;
		}
		struct params p = {0};
		p_int(&p, migrations[i].version);
		p_text(&p, migrations[i].description);
		p_int(&p, (int64_t)time(NULL));
		/* Multi-statement DDL goes through the simple query protocol. */
		PGresult *r = PQexec(s->c, migrations[i].ddl);
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			rc = pg_fail(s, r, err, "migration");
		PQclear(r);
		if (!rc)
			rc = run(s, "INSERT INTO schema_migrations (version, description, applied_at) VALUES ($1, $2, $3)",
				 &p, NULL, NULL, err, "schema_migrations");
		if (rc)
			pg_rollback(s);
		else
			rc = pg_commit(s, err);
	}
	struct vg_err ignore = {0};
	run(s, "SELECT pg_advisory_unlock($1::bigint)", &lk, NULL, NULL, &ignore, "migration unlock");
	return rc;
}

/* ------------------------------------------------------------ sessions */
#define SESS_COLS "id, state, tee, nonce, created, expires, tee_pubkey, appraisal, token, token_hash"

static void read_session(const PGresult *r, struct ad_session *o)
{
	memset(o, 0, sizeof(*o));
	copy(r, 0, 0, o->id, sizeof(o->id));
	o->state = (int)int_col(r, 0, 1);
	copy(r, 0, 2, o->tee, sizeof(o->tee));
	copy(r, 0, 3, o->nonce, sizeof(o->nonce));
	o->created = int_col(r, 0, 4);
	o->expires = int_col(r, 0, 5);
	o->tee_pubkey = dup_col(r, 0, 6);
	o->appraisal = dup_col(r, 0, 7);
	o->token = dup_col(r, 0, 8);
	copy(r, 0, 9, o->token_hash, sizeof(o->token_hash));
}

static int pg_session_insert(struct ad_store *s, const struct ad_session *ss, struct vg_err *err)
{
	struct params p = {0};
	p_text(&p, ss->id);
	p_int(&p, ss->state);
	p_text(&p, ss->tee);
	p_text(&p, ss->nonce);
	p_int(&p, ss->created);
	p_int(&p, ss->expires);
	p_text(&p, ss->tee_pubkey);
	p_text(&p, ss->appraisal);
	p_text(&p, ss->token);
	p_text(&p, ss->token_hash);
	return run(s, "INSERT INTO sessions (" SESS_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)", &p,
		   NULL, NULL, err, "insert session");
}

static int pg_session_update(struct ad_store *s, const struct ad_session *ss, struct vg_err *err)
{
	struct params p = {0};
	p_int(&p, ss->state);
	p_text(&p, ss->tee_pubkey);
	p_text(&p, ss->appraisal);
	p_text(&p, ss->token);
	p_text(&p, ss->token_hash);
	p_int(&p, ss->expires);
	p_text(&p, ss->id);
	int changed = 0;
	int rc = run(s, "UPDATE sessions SET state = $1, tee_pubkey = $2, appraisal = $3, token = $4, token_hash = $5, "
			"expires = $6 WHERE id = $7",
		     &p, NULL, &changed, err, "update session");
	if (!rc && changed != 1)
		return vg_err_set(err, ENOENT, "session not found");
	return rc;
}

static int session_query(struct ad_store *s, const char *sql, const char *key, struct ad_session *out,
			 struct vg_err *err)
{
	struct params p = {0};
	p_text(&p, key);
	PGresult *r;
	int rc = run(s, sql, &p, &r, NULL, err, "get session");
	if (rc)
		return rc;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return vg_err_set(err, ENOENT, "session not found");
	}
	read_session(r, out);
	PQclear(r);
	return 0;
}

static int pg_session_get(struct ad_store *s, const char *id, struct ad_session *out, struct vg_err *err)
{
	return session_query(s, "SELECT " SESS_COLS " FROM sessions WHERE id = $1", id, out, err);
}

static int pg_session_get_by_token(struct ad_store *s, const char *h, struct ad_session *out, struct vg_err *err)
{
	return session_query(s, "SELECT " SESS_COLS " FROM sessions WHERE token_hash = $1 LIMIT 1", h, out, err);
}

static int pg_session_purge(struct ad_store *s, int64_t now, int64_t *n, struct vg_err *err)
{
	struct params p = {0};
	p_int(&p, now);
	int changed = 0;
	int rc = run(s, "DELETE FROM sessions WHERE expires <= $1", &p, NULL, &changed, err, "purge sessions");
	if (!rc && n)
		*n = changed;
	return rc;
}

static int pg_session_count(struct ad_store *s, int64_t now, int64_t *n, struct vg_err *err)
{
	struct params p = {0};
	p_int(&p, now);
	PGresult *r;
	int rc = run(s, "SELECT COUNT(*) FROM sessions WHERE expires > $1", &p, &r, NULL, err, "count sessions");
	if (rc)
		return rc;
	*n = PQntuples(r) == 1 ? int_col(r, 0, 0) : 0;
	PQclear(r);
	return 0;
}

/* ------------------------------------------------------------- policies */
static int pg_policy_insert(struct ad_store *s, const struct ad_policy_version *pv, struct vg_err *err)
{
	struct params p = {0};
	p_int(&p, pv->id);
	p_text(&p, pv->digest);
	p_text(&p, pv->source);
	p_text(&p, pv->body);
	p_int(&p, pv->created);
	return run(s, "INSERT INTO policies (id, digest, source, body, created) VALUES ($1, $2, $3, $4, $5)", &p, NULL,
		   NULL, err, "insert policy");
}

static int policy_query(struct ad_store *s, const char *sql, const char *key, struct ad_policy_version *o,
			struct vg_err *err)
{
	struct params p = {0};
	if (key)
		p_text(&p, key);
	PGresult *r;
	int rc = run(s, sql, &p, &r, NULL, err, "get policy");
	if (rc)
		return rc;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return vg_err_set(err, ENOENT, "no policy version");
	}
	memset(o, 0, sizeof(*o));
	o->id = int_col(r, 0, 0);
	copy(r, 0, 1, o->digest, sizeof(o->digest));
	copy(r, 0, 2, o->source, sizeof(o->source));
	o->body = dup_col(r, 0, 3);
	o->created = int_col(r, 0, 4);
	PQclear(r);
	return o->body ? 0 : vg_err_set(err, ENOMEM, "postgres: out of memory");
}

static int pg_policy_latest(struct ad_store *s, struct ad_policy_version *out, struct vg_err *err)
{
	return policy_query(s, "SELECT id, digest, source, body, created FROM policies ORDER BY id DESC LIMIT 1", NULL,
			    out, err);
}

static int pg_policy_by_digest(struct ad_store *s, const char *d, struct ad_policy_version *out, struct vg_err *err)
{
	return policy_query(s,
			    "SELECT id, digest, source, body, created FROM policies WHERE digest = $1 "
			    "ORDER BY id DESC LIMIT 1",
			    d, out, err);
}

/* ------------------------------------------------------------ resources */
#define RES_COLS "path, kek_id, iv, ciphertext, size, version, created, updated"

static int read_resource(const PGresult *r, int row, struct ad_resource *o, struct vg_err *err)
{
	memset(o, 0, sizeof(*o));
	copy(r, row, 0, o->path, sizeof(o->path));
	copy(r, row, 1, o->kek_id, sizeof(o->kek_id));
	size_t n = 0;
	unsigned char *iv = PQunescapeBytea((const unsigned char *)PQgetvalue(r, row, 2), &n);
	if (!iv || n != 12) {
		PQfreemem(iv);
		return vg_err_set(err, EBADMSG, "resource %s: stored IV is not 12 bytes", o->path);
	}
	memcpy(o->iv, iv, 12);
	PQfreemem(iv);
	unsigned char *ct = PQunescapeBytea((const unsigned char *)PQgetvalue(r, row, 3), &n);
	if (!ct || n < 16) {
		PQfreemem(ct);
		return vg_err_set(err, EBADMSG, "resource %s: stored ciphertext is truncated", o->path);
	}
	o->ciphertext = malloc(n);
	if (!o->ciphertext) {
		PQfreemem(ct);
		return vg_err_set(err, ENOMEM, "postgres: out of memory");
	}
	memcpy(o->ciphertext, ct, n);
	o->ciphertext_len = n;
	PQfreemem(ct);
	o->size = int_col(r, row, 4);
	o->version = int_col(r, row, 5);
	o->created = int_col(r, row, 6);
	o->updated = int_col(r, row, 7);
	return 0;
}

static int pg_resource_get(struct ad_store *s, const char *path, struct ad_resource *out, struct vg_err *err)
{
	struct params p = {0};
	p_text(&p, path);
	PGresult *r;
	int rc = run(s, "SELECT " RES_COLS " FROM resources WHERE path = $1", &p, &r, NULL, err, "get resource");
	if (rc)
		return rc;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return vg_err_set(err, ENOENT, "resource %s not found", path);
	}
	rc = read_resource(r, 0, out, err);
	PQclear(r);
	if (rc)
		ad_resource_clear(out);
	return rc;
}

static int pg_resource_put(struct ad_store *s, const struct ad_resource *res, struct vg_err *err)
{
	struct params p = {0};
	p_text(&p, res->kek_id);
	p_bin(&p, res->iv, 12);
	p_bin(&p, res->ciphertext, res->ciphertext_len);
	p_int(&p, res->size);
	p_int(&p, res->version);
	p_int(&p, res->updated);
	p_text(&p, res->path);
	int changed = 0;
	int rc = run(s, "UPDATE resources SET kek_id = $1, iv = $2, ciphertext = $3, size = $4, version = $5, "
			"updated = $6 WHERE path = $7",
		     &p, NULL, &changed, err, "update resource");
	if (rc || changed == 1)
		return rc;
	struct params q = {0};
	p_text(&q, res->path);
	p_text(&q, res->kek_id);
	p_bin(&q, res->iv, 12);
	p_bin(&q, res->ciphertext, res->ciphertext_len);
	p_int(&q, res->size);
	p_int(&q, res->version);
	p_int(&q, res->created);
	p_int(&q, res->updated);
	return run(s, "INSERT INTO resources (" RES_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)", &q, NULL, NULL,
		   err, "insert resource");
}

static int pg_resource_delete(struct ad_store *s, const char *path, struct vg_err *err)
{
	struct params p = {0};
	p_text(&p, path);
	int changed = 0;
	int rc = run(s, "DELETE FROM resources WHERE path = $1", &p, NULL, &changed, err, "delete resource");
	if (!rc && changed != 1)
		return vg_err_set(err, ENOENT, "resource %s not found", path);
	return rc;
}

static int pg_resource_each(struct ad_store *s, int (*cb)(void *, const struct ad_resource *), void *arg,
			    struct vg_err *err)
{
	/* The whole result is read first: a callback may call back into the store. */
	PGresult *r;
	int rc = run(s, "SELECT " RES_COLS " FROM resources ORDER BY path", NULL, &r, NULL, err, "list resources");
	if (rc)
		return rc;
	for (int i = 0; i < PQntuples(r) && !rc; i++) {
		struct ad_resource res;
		if ((rc = read_resource(r, i, &res, err)))
			break;
		rc = cb(arg, &res);
		ad_resource_clear(&res);
	}
	PQclear(r);
	return rc;
}

/* ---------------------------------------------------------------- audit */
static int pg_audit_head(struct ad_store *s, int64_t *seq, char hash[AD_HASH_HEX], struct vg_err *err)
{
	PGresult *r;
	int rc = run(s,
		     s->in_tx ? "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE"
			      : "SELECT seq, hash FROM audit_head WHERE id = 1",
		     NULL, &r, NULL, err, "audit head");
	if (rc)
		return rc;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return vg_err_set(err, EBADMSG, "audit chain head row is missing");
	}
	*seq = int_col(r, 0, 0);
	copy(r, 0, 1, hash, AD_HASH_HEX);
	PQclear(r);
	return 0;
}

static int pg_audit_insert(struct ad_store *s, const struct ad_audit_rec *a, struct vg_err *err)
{
	struct params p = {0};
	p_int(&p, a->seq);
	p_int(&p, a->ts);
	p_text(&p, a->kind);
	p_text(&p, a->actor);
	p_text(&p, a->resource);
	p_text(&p, a->outcome);
	p_text(&p, a->detail ? a->detail : "{}");
	p_text(&p, a->prev_hash);
	p_text(&p, a->hash);
	int rc = run(s, "INSERT INTO audit (seq, ts, kind, actor, resource, outcome, detail, prev_hash, hash) "
			"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
		     &p, NULL, NULL, err, "insert audit record");
	if (rc)
		return rc;
	struct params h = {0};
	p_int(&h, a->seq);
	p_text(&h, a->hash);
	return run(s, "UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1", &h, NULL, NULL, err, "move audit head");
}

static int pg_audit_each(struct ad_store *s, int64_t from, int64_t limit,
			 int (*cb)(void *, const struct ad_audit_rec *), void *arg, struct vg_err *err)
{
	/* In pages, so a long log never sits in memory at once. */
	const int64_t page = 1000;
	int64_t next = from, left = limit > 0 ? limit : INT64_MAX;
	for (;;) {
		struct params p = {0};
		int64_t want = VG_MIN(page, left);
		p_int(&p, next);
		p_int(&p, want);
		PGresult *r;
		int rc = run(s, "SELECT seq, ts, kind, actor, resource, outcome, detail, prev_hash, hash FROM audit "
				"WHERE seq >= $1 ORDER BY seq LIMIT $2",
			     &p, &r, NULL, err, "read audit");
		if (rc)
			return rc;
		int n = PQntuples(r);
		for (int i = 0; i < n; i++) {
			struct ad_audit_rec a;
			memset(&a, 0, sizeof(a));
			a.seq = int_col(r, i, 0);
			a.ts = int_col(r, i, 1);
			copy(r, i, 2, a.kind, sizeof(a.kind));
			copy(r, i, 3, a.actor, sizeof(a.actor));
			copy(r, i, 4, a.resource, sizeof(a.resource));
			copy(r, i, 5, a.outcome, sizeof(a.outcome));
			a.detail = dup_col(r, i, 6);
			copy(r, i, 7, a.prev_hash, sizeof(a.prev_hash));
			copy(r, i, 8, a.hash, sizeof(a.hash));
			next = a.seq + 1;
			rc = cb(arg, &a);
			ad_audit_rec_clear(&a);
			if (rc) {
				PQclear(r);
				return rc;
			}
		}
		PQclear(r);
		left -= n;
		if (n < want || left <= 0)
			return 0;
	}
}

const struct ad_store_ops ad_store_postgres_ops = {
	.scheme = "postgres",
	.open = pg_open,
	.close = pg_close,
	.migrate = pg_migrate,
	.schema_version = pg_schema_version,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.session_insert = pg_session_insert,
	.session_update = pg_session_update,
	.session_get = pg_session_get,
	.session_get_by_token = pg_session_get_by_token,
	.session_purge = pg_session_purge,
	.session_count = pg_session_count,
	.policy_insert = pg_policy_insert,
	.policy_latest = pg_policy_latest,
	.policy_by_digest = pg_policy_by_digest,
	.resource_put = pg_resource_put,
	.resource_get = pg_resource_get,
	.resource_delete = pg_resource_delete,
	.resource_each = pg_resource_each,
	.audit_head = pg_audit_head,
	.audit_insert = pg_audit_insert,
	.audit_each = pg_audit_each,
};
