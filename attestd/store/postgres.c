/*
 * PostgreSQL backend of the attestd store (libpq): several vigil-attestd
 * instances share one database.
 *
 * - Connection: the whole "postgresql://..." / "postgres://..." URI is libpq's
 *   conninfo (host may be a Unix socket directory: ?host=/path). Defaults added
 *   unless the URI sets them: connect_timeout=5, application_name=vigil-attestd.
 * - Write transactions serialise on the audit_head row: begin() is
 *   "BEGIN; SELECT ... FROM audit_head WHERE id = 1 FOR UPDATE", the same
 *   semantics as SQLite's BEGIN IMMEDIATE. So the audit chain is appended by
 *   one writer at a time across every instance, and each statement after the
 *   lock (READ COMMITTED) sees every write committed before it.
 * - Migrations run in ONE transaction under a transaction-scoped advisory lock
 *   (PostgreSQL-only: pg_advisory_xact_lock), so concurrent openers wait for
 *   the first and then find the schema current.
 * - Reconnect: a connection found broken is reset before the next use; begin()
 *   and reads outside a transaction retry once on a fresh connection (nothing
 *   was done yet). A failure inside a transaction is returned (-EIO) and the
 *   caller rolls back: nothing half-done is committed. While the database is
 *   down every call fails fast with "postgres: ... connection ..." (-EIO).
 * - SQL is portable except where marked "PostgreSQL-only".
 */
#include "attestd/store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>


/* The shared schema (ad_migrations, store.c) names the binary column type BLOB;
 * PostgreSQL's is BYTEA. */
static char *pg_ddl(const char *ddl)
{
	struct vg_buf b = {0};
	const char *p = ddl, *hit;
	while ((hit = strstr(p, " BLOB "))) {
		if (vg_buf_append(&b, p, (size_t)(hit - p)) || vg_buf_append(&b, " BYTEA ", 7)) {
			vg_buf_free(&b);
			return NULL;
		}
		p = hit + 6;
	}
	if (vg_buf_append(&b, p, strlen(p) + 1)) {
		vg_buf_free(&b);
		return NULL;
	}
	return (char *)b.data;
}

/* Key of the advisory lock that serialises migrations ("vigilmig"). */
#define PG_MIGRATE_LOCK "7618078807169049959"
#define PG_AUDIT_BATCH 512
#define PG_MAX_PREPARED 48

struct ad_store {
	PGconn *conn;
	bool in_tx;
	/* The audit head as locked by begin() and moved by audit_insert() in this
	 * transaction (saves a round trip per append). */
	bool head_valid;
	int64_t head_seq;
	char head_hash[AD_HASH_HEX];
	/* Statements prepared on this connection (server-side; gone after a reset). */
	const char *prep[PG_MAX_PREPARED];
	int nprep;
};

/* ------------------------------------------------------------- helpers */
static bool conn_bad(struct ad_store *s) { return !s->conn || PQstatus(s->conn) != CONNECTION_OK; }

static void one_line(char *m)
{
	for (char *p = m; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	size_t n = strlen(m);
	while (n && m[n - 1] == ' ')
		m[--n] = 0;
}

/* Connection-level failure (server gone, restart, network). */
static int conn_fail(struct ad_store *s, struct vg_err *err, const char *what)
{
	char m[200];
	snprintf(m, sizeof(m), "%s", s->conn ? PQerrorMessage(s->conn) : "no connection");
	one_line(m);
	return vg_err_set(err, EIO, "postgres: %s: database connection unavailable: %s", what, m[0] ? m : "closed");
}

/* Maps a failed result to -errno: unique violation -EEXIST, serialisation,
 * deadlock, lock or statement timeout -EBUSY, connection loss and the rest -EIO. */
static int res_fail(struct ad_store *s, PGresult *r, struct vg_err *err, const char *what)
{
	if (!r || conn_bad(s)) {
		PQclear(r);
		return conn_fail(s, err, what);
	}
	char state_buf[8] = "";
	const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	if (st)
		snprintf(state_buf, sizeof(state_buf), "%s", st); /* r is cleared below */
	const char *state = st ? state_buf : NULL;
	int code = EIO;
	if (state) {
		if (!strcmp(state, "23505"))
			code = EEXIST;
		else if (!strcmp(state, "40001") || !strcmp(state, "40P01") || !strcmp(state, "55P03") ||
			 !strcmp(state, "57014"))
			code = EBUSY;
		else if (!strncmp(state, "08", 2) || !strncmp(state, "57P", 3))
			code = EIO; /* connection exception, admin shutdown */
	}
	char m[200];
	const char *pm = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
	snprintf(m, sizeof(m), "%s", pm ? pm : PQresultErrorMessage(r));
	one_line(m);
	PQclear(r);
	return vg_err_set(err, code, "postgres: %s: %s%s%s", what, m, state ? " (SQLSTATE " : "", state ? state : "");
}

/* Re-establishes a broken connection (outside transactions only). */
static int ensure_conn(struct ad_store *s, struct vg_err *err, const char *what)
{
	if (!conn_bad(s))
		return 0;
	if (s->in_tx)
		return conn_fail(s, err, what);
	PQreset(s->conn);
	s->nprep = 0; /* a new server session: nothing is prepared there */
	if (conn_bad(s))
		return conn_fail(s, err, what);
	PGresult *r = PQexec(s->conn, "SET lock_timeout = '10s'"); /* PostgreSQL-only */
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	return ok ? 0 : conn_fail(s, err, what);
}

/* Each SQL text (a string constant of this file: its address is its key) is
 * prepared once per connection and then executed by name: PostgreSQL parses
 * and plans it once. Returns the result of the execution (or of a failed
 * prepare). */
static PGresult *run_prepared(struct ad_store *s, const char *q, int n, const char *const *vals, const int *lens,
			      const int *fmts)
{
	int k = 0;
	while (k < s->nprep && s->prep[k] != q)
		k++;
	char name[16];
	snprintf(name, sizeof(name), "v%d", k);
	if (k == s->nprep) {
		if (k == PG_MAX_PREPARED) /* not expected: fall back to the one-shot form */
			return PQexecParams(s->conn, q, n, NULL, vals, lens, fmts, 0);
		PGresult *p = PQprepare(s->conn, name, q, n, NULL);
		if (PQresultStatus(p) != PGRES_COMMAND_OK)
			return p;
		PQclear(p);
		s->prep[s->nprep++] = q;
	}
	return PQexecPrepared(s->conn, name, n, vals, lens, fmts, 0);
}

/* Runs one statement with text parameters (NULL = SQL NULL); binary marks
 * parameters passed as raw bytes (BYTEA) with their lengths in lens.
 * want: PGRES_COMMAND_OK or PGRES_TUPLES_OK. retry: a read outside a
 * transaction may be retried once on a fresh connection. */
static int q_exec(struct ad_store *s, const char *q, int n, const char *const *vals, const int *lens, const int *fmts,
		  ExecStatusType want, bool retry, PGresult **out, struct vg_err *err, const char *what)
{
	*out = NULL;
	for (int attempt = 0;; attempt++) {
		int rc = ensure_conn(s, err, what);
		if (rc)
			return rc;
		PGresult *r = run_prepared(s, q, n, vals, lens, fmts);
		if (r && PQresultStatus(r) == want) {
			*out = r;
			return 0;
		}
		if (retry && !s->in_tx && attempt == 0 && conn_bad(s)) {
			PQclear(r);
			continue;
		}
		return res_fail(s, r, err, what);
	}
}

static int q_cmd(struct ad_store *s, const char *q, int n, const char *const *vals, const int *lens,
		 const int *fmts, int64_t *changed, struct vg_err *err, const char *what)
{
	PGresult *r = NULL;
	int rc = q_exec(s, q, n, vals, lens, fmts, PGRES_COMMAND_OK, false, &r, err, what);
	if (rc)
		return rc;
	if (changed)
		*changed = strtoll(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return 0;
}

static int q_rows(struct ad_store *s, const char *q, int n, const char *const *vals, PGresult **out,
		  struct vg_err *err, const char *what)
{
	return q_exec(s, q, n, vals, NULL, NULL, PGRES_TUPLES_OK, true, out, err, what);
}

static void fmt_i64(char b[24], int64_t v) { snprintf(b, 24, "%lld", (long long)v); }

static int64_t col_i64(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static void col_copy(const PGresult *r, int row, int col, char *out, size_t cap)
{
	snprintf(out, cap, "%s", PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col));
}

static int col_dup(const PGresult *r, int row, int col, char **out)
{
	*out = NULL;
	if (PQgetisnull(r, row, col))
		return 0;
	*out = strdup(PQgetvalue(r, row, col));
	return *out ? 0 : -ENOMEM;
}

/* BYTEA column in text format (hex) -> malloc'd bytes. */
static int col_bytes(const PGresult *r, int row, int col, uint8_t **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	if (PQgetisnull(r, row, col))
		return -EBADMSG;
	size_t n = 0;
	unsigned char *b = PQunescapeBytea((const unsigned char *)PQgetvalue(r, row, col), &n);
	if (!b)
		return -ENOMEM;
	uint8_t *c = malloc(n ? n : 1);
	if (!c) {
		PQfreemem(b);
		return -ENOMEM;
	}
	memcpy(c, b, n);
	PQfreemem(b);
	*out = c;
	*len = n;
	return 0;
}

/* ---------------------------------------------------- open, transactions */
/* Server notices (NOTICE/WARNING) are not errors and must not reach the
 * service's JSON-lines stderr; failures arrive as results and are reported. */
static void quiet_notice(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

static void pg_close(struct ad_store *s)
{
	if (!s)
		return;
	if (s->conn)
		PQfinish(s->conn);
	free(s);
}

static int pg_open(const char *target, struct ad_store **out, struct vg_err *err)
{
	if (strncmp(target, "postgres://", 11) && strncmp(target, "postgresql://", 13))
		return vg_err_set(err, EINVAL, "--db %.80s: expected postgresql://[user@]host[:port]/dbname[?...]", target);
	struct ad_store *s = calloc(1, sizeof(*s));
	if (!s)
		return vg_err_set(err, ENOMEM, "postgres: out of memory");
	/* Defaults first: the expanded URI (processed later) overrides them. */
	const char *const keys[] = {"connect_timeout", "application_name", "dbname", NULL};
	const char *const vals[] = {"5", "vigil-attestd", target, NULL};
	s->conn = PQconnectdbParams(keys, vals, 1);
	if (!s->conn) {
		free(s);
		return vg_err_set(err, ENOMEM, "postgres: out of memory");
	}
	PQsetNoticeProcessor(s->conn, quiet_notice, NULL);
	if (PQstatus(s->conn) != CONNECTION_OK) {
		char m[200];
		snprintf(m, sizeof(m), "%s", PQerrorMessage(s->conn));
		one_line(m);
		pg_close(s);
		return vg_err_set(err, EIO, "postgres: cannot connect: %s", m);
	}
	PGresult *r = PQexec(s->conn, "SET lock_timeout = '10s'"); /* PostgreSQL-only */
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		int rc = res_fail(s, r, err, "set lock_timeout");
		pg_close(s);
		return rc;
	}
	PQclear(r);
	*out = s;
	return 0;
}

static void pg_rollback(struct ad_store *s);

static int plain(struct ad_store *s, const char *q, struct vg_err *err)
{
	return q_cmd(s, q, 0, NULL, NULL, NULL, NULL, err, q);
}

static int pg_begin(struct ad_store *s, struct vg_err *err)
{
	if (s->in_tx)
		return vg_err_set(err, EINVAL, "postgres: begin inside a transaction");
	/* BEGIN and the write lock in one round trip: one writer at a time, like
	 * SQLite's BEGIN IMMEDIATE. Retried once on a fresh connection (nothing
	 * has happened yet). */
	PGresult *r = NULL;
	for (int attempt = 0;; attempt++) {
		int rc = ensure_conn(s, err, "begin");
		if (rc)
			return rc;
		r = PQexec(s->conn, "BEGIN; SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE");
		if (PQresultStatus(r) == PGRES_TUPLES_OK)
			break;
		bool retry = attempt == 0 && conn_bad(s);
		if (!conn_bad(s)) { /* BEGIN may have succeeded before the SELECT failed */
			PGresult *x = PQexec(s->conn, "ROLLBACK");
			PQclear(x);
		}
		if (retry) {
			PQclear(r);
			continue;
		}
		return res_fail(s, r, err, "begin (lock audit head)");
	}
	s->in_tx = true;
	if (PQntuples(r) != 1) {
		PQclear(r);
		pg_rollback(s);
		return vg_err_set(err, EBADMSG, "audit chain head row is missing");
	}
	s->head_seq = col_i64(r, 0, 0);
	col_copy(r, 0, 1, s->head_hash, sizeof(s->head_hash));
	s->head_valid = true;
	PQclear(r);
	return 0;
}

static int pg_commit(struct ad_store *s, struct vg_err *err)
{
	if (!s->in_tx)
		return vg_err_set(err, EINVAL, "postgres: commit outside a transaction");
	PGresult *r = PQexec(s->conn, "COMMIT");
	s->in_tx = false;
	s->head_valid = false;
	/* A failed statement earlier leaves the transaction aborted: PostgreSQL
	 * answers COMMIT with ROLLBACK, which is not a commit. */
	if (PQresultStatus(r) == PGRES_COMMAND_OK && !strcmp(PQcmdStatus(r), "COMMIT")) {
		PQclear(r);
		return 0;
	}
	if (PQresultStatus(r) == PGRES_COMMAND_OK) {
		PQclear(r);
		return vg_err_set(err, EIO, "postgres: commit: the transaction was rolled back after an earlier error");
	}
	return res_fail(s, r, err, "commit");
}

static void pg_rollback(struct ad_store *s)
{
	if (!s->in_tx)
		return;
	s->in_tx = false;
	s->head_valid = false;
	if (conn_bad(s))
		return; /* the server rolls back a transaction whose connection is gone */
	PGresult *r = PQexec(s->conn, "ROLLBACK");
	PQclear(r);
}

static int pg_schema_version(struct ad_store *s, int64_t *version, struct vg_err *err)
{
	PGresult *r = NULL;
	*version = 0;
	int rc = q_rows(s, "SELECT MAX(version) FROM schema_migrations", 0, NULL, &r, err, "schema version");
	if (rc)
		return rc;
	if (PQntuples(r) == 1)
		*version = col_i64(r, 0, 0);
	PQclear(r);
	return 0;
}

static int pg_migrate(struct ad_store *s, struct vg_err *err)
{
	int rc = plain(s, "BEGIN", err);
	if (rc)
		return rc;
	s->in_tx = true;
	/* PostgreSQL-only: transaction-scoped advisory lock; concurrent openers queue here. */
	PGresult *r = NULL;
	if ((rc = q_rows(s, "SELECT pg_advisory_xact_lock(" PG_MIGRATE_LOCK ")", 0, NULL, &r, err, "migration lock")))
		goto fail;
	PQclear(r);
	if ((rc = plain(s,
			"CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, "
			"description TEXT NOT NULL, applied_at BIGINT NOT NULL)",
			err)))
		goto fail;
	int64_t have = 0;
	if ((rc = pg_schema_version(s, &have, err)))
		goto fail;
	for (size_t i = 0; i < ad_n_migrations; i++) {
		if (have >= ad_migrations[i].version)
			continue;
		/* Multi-statement DDL: PQexec (no parameters) runs it in this transaction. */
		char *ddl = pg_ddl(ad_migrations[i].ddl);
		if (!ddl) {
			rc = vg_err_set(err, ENOMEM, "schema migration %lld: out of memory",
					(long long)ad_migrations[i].version);
			goto fail;
		}
		PGresult *d = PQexec(s->conn, ddl);
		free(ddl);
		if (PQresultStatus(d) != PGRES_COMMAND_OK) {
			rc = res_fail(s, d, err, "migration");
			vg_err_prefix(err, "schema migration %lld", (long long)ad_migrations[i].version);
			goto fail;
		}
		PQclear(d);
		char v[24], at[24];
		fmt_i64(v, ad_migrations[i].version);
		fmt_i64(at, (int64_t)time(NULL));
		const char *p[] = {v, ad_migrations[i].description, at};
		if ((rc = q_cmd(s, "INSERT INTO schema_migrations (version, description, applied_at) VALUES ($1, $2, $3)",
				3, p, NULL, NULL, NULL, err, "schema_migrations")))
			goto fail;
	}
	return pg_commit(s, err);
fail:
	pg_rollback(s);
	return rc;
}

/* ------------------------------------------------------------ sessions */
#define SESS_COLS "id, state, tee, nonce, created, expires, tee_pubkey, appraisal, token, token_hash"

static int read_session(const PGresult *r, int i, struct ad_session *o, struct vg_err *err)
{
	memset(o, 0, sizeof(*o));
	col_copy(r, i, 0, o->id, sizeof(o->id));
	o->state = (int)col_i64(r, i, 1);
	col_copy(r, i, 2, o->tee, sizeof(o->tee));
	col_copy(r, i, 3, o->nonce, sizeof(o->nonce));
	o->created = col_i64(r, i, 4);
	o->expires = col_i64(r, i, 5);
	if (col_dup(r, i, 6, &o->tee_pubkey) || col_dup(r, i, 7, &o->appraisal) || col_dup(r, i, 8, &o->token)) {
		ad_session_clear(o);
		return vg_err_set(err, ENOMEM, "postgres: out of memory");
	}
	col_copy(r, i, 9, o->token_hash, sizeof(o->token_hash));
	return 0;
}

static int pg_session_insert(struct ad_store *s, const struct ad_session *ss, struct vg_err *err)
{
	char st[24], cr[24], ex[24];
	fmt_i64(st, ss->state);
	fmt_i64(cr, ss->created);
	fmt_i64(ex, ss->expires);
	const char *p[] = {ss->id, st, ss->tee, ss->nonce, cr, ex, ss->tee_pubkey, ss->appraisal, ss->token,
			   ss->token_hash};
	return q_cmd(s, "INSERT INTO sessions (" SESS_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)", 10, p,
		     NULL, NULL, NULL, err, "insert session");
}

static int pg_session_update(struct ad_store *s, const struct ad_session *ss, struct vg_err *err)
{
	char st[24], ex[24];
	fmt_i64(st, ss->state);
	fmt_i64(ex, ss->expires);
	const char *p[] = {st, ss->tee_pubkey, ss->appraisal, ss->token, ss->token_hash, ex, ss->id};
	int64_t n = 0;
	int rc = q_cmd(s,
		       "UPDATE sessions SET state = $1, tee_pubkey = $2, appraisal = $3, token = $4, token_hash = $5, "
		       "expires = $6 WHERE id = $7",
		       7, p, NULL, NULL, &n, err, "update session");
	if (!rc && n != 1)
		return vg_err_set(err, ENOENT, "session not found");
	return rc;
}

static int session_query(struct ad_store *s, const char *q, const char *key, struct ad_session *out,
			 struct vg_err *err)
{
	PGresult *r = NULL;
	const char *p[] = {key};
	int rc = q_rows(s, q, 1, p, &r, err, "get session");
	if (rc)
		return rc;
	if (PQntuples(r) < 1)
		rc = vg_err_set(err, ENOENT, "session not found");
	else
		rc = read_session(r, 0, out, err);
	PQclear(r);
	return rc;
}

static int pg_session_get(struct ad_store *s, const char *id, struct ad_session *out, struct vg_err *err)
{
	return session_query(s, "SELECT " SESS_COLS " FROM sessions WHERE id = $1", id, out, err);
}

static int pg_session_get_by_token(struct ad_store *s, const char *h, struct ad_session *out, struct vg_err *err)
{
	return session_query(s, "SELECT " SESS_COLS " FROM sessions WHERE token_hash = $1", h, out, err);
}

static int pg_session_purge(struct ad_store *s, int64_t now, int64_t *n, struct vg_err *err)
{
	char t[24];
	fmt_i64(t, now);
	const char *p[] = {t};
	int64_t k = 0;
	int rc = q_cmd(s, "DELETE FROM sessions WHERE expires <= $1", 1, p, NULL, NULL, &k, err, "purge sessions");
	if (!rc && n)
		*n = k;
	return rc;
}

static int pg_session_count(struct ad_store *s, int64_t now, int64_t *n, struct vg_err *err)
{
	char t[24];
	fmt_i64(t, now);
	const char *p[] = {t};
	PGresult *r = NULL;
	int rc = q_rows(s, "SELECT COUNT(*) FROM sessions WHERE expires > $1", 1, p, &r, err, "count sessions");
	if (rc)
		return rc;
	*n = PQntuples(r) == 1 ? col_i64(r, 0, 0) : 0;
	PQclear(r);
	return 0;
}

/* ------------------------------------------------------------- policies */
static int pg_policy_insert(struct ad_store *s, const struct ad_policy_version *pv, struct vg_err *err)
{
	char id[24], cr[24];
	fmt_i64(id, pv->id);
	fmt_i64(cr, pv->created);
	const char *p[] = {id, pv->digest, pv->source, pv->body, cr};
	return q_cmd(s, "INSERT INTO policies (id, digest, source, body, created) VALUES ($1, $2, $3, $4, $5)", 5, p,
		     NULL, NULL, NULL, err, "insert policy");
}

static int policy_query(struct ad_store *s, const char *q, const char *key, struct ad_policy_version *o,
			struct vg_err *err)
{
	PGresult *r = NULL;
	const char *p[] = {key};
	int rc = q_rows(s, q, key ? 1 : 0, key ? p : NULL, &r, err, "get policy");
	if (rc)
		return rc;
	if (PQntuples(r) < 1) {
		PQclear(r);
		return vg_err_set(err, ENOENT, "no policy version");
	}
	memset(o, 0, sizeof(*o));
	o->id = col_i64(r, 0, 0);
	col_copy(r, 0, 1, o->digest, sizeof(o->digest));
	col_copy(r, 0, 2, o->source, sizeof(o->source));
	rc = col_dup(r, 0, 3, &o->body);
	o->created = col_i64(r, 0, 4);
	PQclear(r);
	return rc || !o->body ? vg_err_set(err, ENOMEM, "postgres: out of memory") : 0;
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

static int read_resource(const PGresult *r, int i, struct ad_resource *o, struct vg_err *err)
{
	memset(o, 0, sizeof(*o));
	col_copy(r, i, 0, o->path, sizeof(o->path));
	col_copy(r, i, 1, o->kek_id, sizeof(o->kek_id));
	uint8_t *iv = NULL;
	size_t ivlen = 0;
	int rc = col_bytes(r, i, 2, &iv, &ivlen);
	if (rc == -ENOMEM)
		return vg_err_set(err, ENOMEM, "postgres: out of memory");
	if (rc || ivlen != 12) {
		free(iv);
		return vg_err_set(err, EBADMSG, "resource %s: stored IV is not 12 bytes", o->path);
	}
	memcpy(o->iv, iv, 12);
	free(iv);
	rc = col_bytes(r, i, 3, &o->ciphertext, &o->ciphertext_len);
	if (rc == -ENOMEM)
		return vg_err_set(err, ENOMEM, "postgres: out of memory");
	if (rc || o->ciphertext_len < 16) {
		ad_resource_clear(o);
		return vg_err_set(err, EBADMSG, "resource %.200s: stored ciphertext is truncated", o->path);
	}
	o->size = col_i64(r, i, 4);
	o->version = col_i64(r, i, 5);
	o->created = col_i64(r, i, 6);
	o->updated = col_i64(r, i, 7);
	return 0;
}

static int pg_resource_get(struct ad_store *s, const char *path, struct ad_resource *out, struct vg_err *err)
{
	PGresult *r = NULL;
	const char *p[] = {path};
	int rc = q_rows(s, "SELECT " RES_COLS " FROM resources WHERE path = $1", 1, p, &r, err, "get resource");
	if (rc)
		return rc;
	if (PQntuples(r) < 1)
		rc = vg_err_set(err, ENOENT, "resource %s not found", path);
	else if ((rc = read_resource(r, 0, out, err)))
		ad_resource_clear(out);
	PQclear(r);
	return rc;
}

static int pg_resource_put(struct ad_store *s, const struct ad_resource *res, struct vg_err *err)
{
	if (res->ciphertext_len > 0x7fffffff)
		return vg_err_set(err, EFBIG, "resource %s: ciphertext too large", res->path);
	char sz[24], ver[24], cr[24], up[24];
	fmt_i64(sz, res->size);
	fmt_i64(ver, res->version);
	fmt_i64(cr, res->created);
	fmt_i64(up, res->updated);
	/* Portable "insert or replace": update, then insert when no row matched. */
	const char *u[] = {res->kek_id, (const char *)res->iv, (const char *)res->ciphertext, sz, ver, up, res->path};
	const int ul[] = {0, 12, (int)res->ciphertext_len, 0, 0, 0, 0};
	const int uf[] = {0, 1, 1, 0, 0, 0, 0};
	int64_t n = 0;
	int rc = q_cmd(s,
		       "UPDATE resources SET kek_id = $1, iv = $2, ciphertext = $3, size = $4, version = $5, "
		       "updated = $6 WHERE path = $7",
		       7, u, ul, uf, &n, err, "update resource");
	if (rc || n == 1)
		return rc;
	const char *in[] = {res->path, res->kek_id, (const char *)res->iv, (const char *)res->ciphertext, sz, ver,
			    cr, up};
	const int il[] = {0, 0, 12, (int)res->ciphertext_len, 0, 0, 0, 0};
	const int inf[] = {0, 0, 1, 1, 0, 0, 0, 0};
	return q_cmd(s, "INSERT INTO resources (" RES_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)", 8, in, il, inf,
		     NULL, err, "insert resource");
}

static int pg_resource_delete(struct ad_store *s, const char *path, struct vg_err *err)
{
	const char *p[] = {path};
	int64_t n = 0;
	int rc = q_cmd(s, "DELETE FROM resources WHERE path = $1", 1, p, NULL, NULL, &n, err, "delete resource");
	if (!rc && n != 1)
		return vg_err_set(err, ENOENT, "resource %s not found", path);
	return rc;
}

static int pg_resource_each(struct ad_store *s, int (*cb)(void *, const struct ad_resource *), void *arg,
			    struct vg_err *err)
{
	/* The whole result is fetched first, so a callback may use the connection. */
	PGresult *r = NULL;
	int rc = q_rows(s, "SELECT " RES_COLS " FROM resources ORDER BY path", 0, NULL, &r, err, "list resources");
	if (rc)
		return rc;
	int ret = 0;
	for (int i = 0; i < PQntuples(r) && !ret; i++) {
		struct ad_resource o;
		if ((ret = read_resource(r, i, &o, err)))
			break;
		ret = cb(arg, &o);
		ad_resource_clear(&o);
	}
	PQclear(r);
	return ret;
}

/* ---------------------------------------------------------------- audit */
static int pg_audit_head(struct ad_store *s, int64_t *seq, char hash[AD_HASH_HEX], struct vg_err *err)
{
	/* Inside a transaction the row is locked by begin(), which read it. */
	if (s->in_tx && s->head_valid) {
		*seq = s->head_seq;
		memcpy(hash, s->head_hash, AD_HASH_HEX);
		return 0;
	}
	PGresult *r = NULL;
	int rc = q_rows(s, "SELECT seq, hash FROM audit_head WHERE id = 1", 0, NULL, &r, err, "audit head");
	if (rc)
		return rc;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return vg_err_set(err, EBADMSG, "audit chain head row is missing");
	}
	*seq = col_i64(r, 0, 0);
	col_copy(r, 0, 1, hash, AD_HASH_HEX);
	PQclear(r);
	return 0;
}

static int pg_audit_insert(struct ad_store *s, const struct ad_audit_rec *a, struct vg_err *err)
{
	if (!s->in_tx)
		return vg_err_set(err, EINVAL, "postgres: audit records are appended inside a write transaction");
	char seq[24], ts[24];
	fmt_i64(seq, a->seq);
	fmt_i64(ts, a->ts);
	const char *p[] = {seq, ts, a->kind, a->actor, a->resource, a->outcome, a->detail ? a->detail : "{}",
			   a->prev_hash, a->hash};
	/* PostgreSQL-only (data-modifying WITH): the record and the head move in one round trip. */
	int64_t n = 0;
	int rc = q_cmd(s,
		       "WITH rec AS (INSERT INTO audit (seq, ts, kind, actor, resource, outcome, detail, prev_hash, hash) "
		       "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING seq, hash) "
		       "UPDATE audit_head SET seq = rec.seq, hash = rec.hash FROM rec WHERE audit_head.id = 1",
		       9, p, NULL, NULL, &n, err, "append audit record");
	if (!rc && n != 1)
		return vg_err_set(err, EBADMSG, "audit chain head row is missing");
	if (!rc) {
		s->head_seq = a->seq;
		snprintf(s->head_hash, sizeof(s->head_hash), "%s", a->hash);
		s->head_valid = true;
	} else {
		s->head_valid = false;
	}
	return rc;
}

/* Pages through the log by seq (bounded memory for long chains). */
static int pg_audit_each(struct ad_store *s, int64_t from, int64_t limit,
			 int (*cb)(void *, const struct ad_audit_rec *), void *arg, struct vg_err *err)
{
	int64_t next = from, left = limit > 0 ? limit : INT64_MAX;
	bool first = true;
	while (left > 0) {
		char f[24], l[24];
		fmt_i64(f, next);
		fmt_i64(l, left < PG_AUDIT_BATCH ? left : PG_AUDIT_BATCH);
		const char *p[] = {f, l};
		PGresult *r = NULL;
		/* Later pages start strictly after the last seq seen, so a duplicate or
		 * reordered seq in a tampered table still reaches the verifier once. */
		int rc = q_rows(s,
				first ? "SELECT seq, ts, kind, actor, resource, outcome, detail, prev_hash, hash FROM audit "
					"WHERE seq >= $1 ORDER BY seq LIMIT $2"
				      : "SELECT seq, ts, kind, actor, resource, outcome, detail, prev_hash, hash FROM audit "
					"WHERE seq > $1 ORDER BY seq LIMIT $2",
				2, p, &r, err, "read audit");
		if (rc)
			return rc;
		first = false;
		int n = PQntuples(r);
		for (int i = 0; i < n; i++) {
			struct ad_audit_rec a;
			memset(&a, 0, sizeof(a));
			a.seq = col_i64(r, i, 0);
			a.ts = col_i64(r, i, 1);
			col_copy(r, i, 2, a.kind, sizeof(a.kind));
			col_copy(r, i, 3, a.actor, sizeof(a.actor));
			col_copy(r, i, 4, a.resource, sizeof(a.resource));
			col_copy(r, i, 5, a.outcome, sizeof(a.outcome));
			if (col_dup(r, i, 6, &a.detail)) {
				PQclear(r);
				return vg_err_set(err, ENOMEM, "postgres: out of memory");
			}
			col_copy(r, i, 7, a.prev_hash, sizeof(a.prev_hash));
			col_copy(r, i, 8, a.hash, sizeof(a.hash));
			next = a.seq;
			int ret = cb(arg, &a);
			ad_audit_rec_clear(&a);
			if (ret) {
				PQclear(r);
				return ret;
			}
		}
		PQclear(r);
		left -= n;
		if (n < PG_AUDIT_BATCH)
			break;
	}
	return 0;
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
