/*
 * The shared attestd store suite: every test runs against SQLite AND
 * PostgreSQL through the same ops table (issue 12: "both backends run by one
 * shared test suite").
 *
 * Backends:
 *   - default: sqlite:<tmp>/store.db and a throwaway PostgreSQL cluster started
 *     by tests/integration/pg_cluster.sh (initdb + pg_ctl in a temp dir, Unix
 *     socket only), stopped and removed at the end. If PostgreSQL cannot start
 *     the suite FAILS (it never skips).
 *   - VIGIL_STORE_SPEC=SPEC: runs the suite against that one backend instead
 *     (the database is emptied first!). The outage tests need the cluster
 *     directory too: VIGIL_TEST_PG_DIR=DIR (a pg_cluster.sh cluster).
 *
 * Cases: rows round trip; sessions written on one connection are read on
 * another; concurrent openers migrate once; audit chain tamper detection;
 * concurrent writers from several processes append one gap-free chain; a
 * session's nonce is consumed exactly once under concurrency; PostgreSQL
 * outage: calls fail cleanly, an interrupted transaction leaves nothing, the
 * same handle recovers by itself; several processes open one new SQLite file
 * at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "attestd/store/store.h"

struct backend {
	const char *name;
	char spec[700];
	char sqlite_path[600]; /* sqlite only */
	char pg_dir[600];      /* postgres: pg_cluster.sh directory ("" = cannot restart) */
	bool ready;
};

static struct backend be_sqlite = {.name = "sqlite"}, be_pg = {.name = "postgres"};
static char tmpdir[] = "/tmp/vigil-store-suite.XXXXXX";
static bool own_pg;
static char cluster_script[700];

/* ------------------------------------------------------------- helpers */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static bool is_pg(const struct backend *b) { return !strncmp(b->spec, "postgres", 8); }

static void no_notice(void *arg, const char *m)
{
	(void)arg;
	(void)m;
}

/* Raw SQL beside the store (the tamperer / the test's own view). */
static void raw_sql(const struct backend *b, const char *q)
{
	if (is_pg(b)) {
		PGconn *c = PQconnectdb(b->spec);
		if (PQstatus(c) != CONNECTION_OK)
			fail_msg("raw connect: %s", PQerrorMessage(c));
		PQsetNoticeProcessor(c, no_notice, NULL);
		PGresult *r = PQexec(c, q);
		if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
			fail_msg("%s: %s", q, PQresultErrorMessage(r));
		PQclear(r);
		PQfinish(c);
		return;
	}
	sqlite3 *d = NULL;
	assert_int_equal(sqlite3_open(b->sqlite_path, &d), SQLITE_OK);
	sqlite3_busy_timeout(d, 10000);
	char *m = NULL;
	if (sqlite3_exec(d, q, NULL, NULL, &m) != SQLITE_OK)
		fail_msg("%s: %s", q, m);
	sqlite3_close(d);
}

static void open_db(const struct backend *b, struct ad_db *db)
{
	struct vg_err e = {0};
	if (ad_db_open(b->spec, db, &e))
		fail_msg("%s: open: %s", b->name, e.msg);
}

/* An empty database (schema created by the next open). */
static void wipe(const struct backend *b)
{
	if (is_pg(b)) {
		raw_sql(b, "DROP TABLE IF EXISTS sessions, policies, resources, audit, audit_head, schema_migrations");
		return;
	}
	const char *sfx[] = {"", "-wal", "-shm"};
	for (size_t i = 0; i < 3; i++) {
		char p[700];
		snprintf(p, sizeof(p), "%s%s", b->sqlite_path, sfx[i]);
		unlink(p);
	}
}

static int append_one(struct ad_db *db, const char *kind, const char *actor, const char *res, struct vg_err *e)
{
	struct ad_audit_rec r;
	memset(&r, 0, sizeof(r));
	snprintf(r.kind, sizeof(r.kind), "%s", kind);
	snprintf(r.actor, sizeof(r.actor), "%s", actor);
	snprintf(r.resource, sizeof(r.resource), "%s", res);
	snprintf(r.outcome, sizeof(r.outcome), "ok");
	r.detail = strdup("{\"x\":1}");
	int rc = db->ops->begin(db->s, e);
	if (!rc)
		rc = ad_audit_append(db, &r, e);
	if (!rc)
		rc = db->ops->commit(db->s, e);
	else
		db->ops->rollback(db->s);
	ad_audit_rec_clear(&r);
	return rc;
}

static void append(struct ad_db *db, const char *kind, const char *res)
{
	struct vg_err e = {0};
	if (append_one(db, kind, "system", res, &e))
		fail_msg("append: %s", e.msg);
}

static void fresh(const struct backend *b, struct ad_db *db, int n)
{
	wipe(b);
	open_db(b, db);
	for (int i = 0; i < n; i++) {
		char res[64];
		snprintf(res, sizeof(res), "repo/key/%d", i);
		append(db, "release", res);
	}
}

static void expect_broken(struct ad_db *db, const char *needle)
{
	struct vg_err e = {0};
	int64_t n = 0;
	assert_int_equal(ad_audit_verify(db, &n, &e), -EBADMSG);
	if (!strstr(e.msg, needle))
		fail_msg("expected '%s' in: %s", needle, e.msg);
}

static void verify_ok(struct ad_db *db, int64_t want)
{
	struct vg_err e = {0};
	int64_t n = -1;
	if (ad_audit_verify(db, &n, &e))
		fail_msg("chain does not verify: %s", e.msg);
	assert_int_equal(n, want);
}

static struct backend *B(void **state)
{
	struct backend *b = *state;
	if (!b->ready)
		fail_msg("backend %s is not available (see the suite's setup output)", b->name);
	return b;
}

/* --------------------------------------------------------------- cases */
static void test_rows(void **state)
{
	struct backend *b = B(state);
	struct ad_db db;
	struct vg_err e = {0};
	fresh(b, &db, 0);
	int64_t v = 0;
	assert_int_equal(db.ops->schema_version(db.s, &v, &e), 0);
	assert_int_equal(v, 1);
	assert_string_equal(db.ops->scheme, b->name);

	struct ad_session s = {.state = AD_SESS_AUTHED, .created = 100, .expires = 400};
	strcpy(s.id, "00112233445566778899aabbccddeeff");
	strcpy(s.tee, "snp");
	strcpy(s.nonce, "bm9uY2U=");
	assert_int_equal(db.ops->begin(db.s, &e), 0);
	assert_int_equal(db.ops->session_insert(db.s, &s, &e), 0);
	assert_int_equal(db.ops->commit(db.s, &e), 0);
	/* a duplicate id is refused as such */
	assert_int_equal(db.ops->begin(db.s, &e), 0);
	assert_int_equal(db.ops->session_insert(db.s, &s, &e), -EEXIST);
	db.ops->rollback(db.s);
	struct ad_session g;
	assert_int_equal(db.ops->session_get(db.s, s.id, &g, &e), 0);
	assert_string_equal(g.nonce, s.nonce);
	assert_string_equal(g.tee, "snp");
	assert_int_equal(g.expires, 400);
	assert_null(g.token);
	assert_null(g.tee_pubkey);
	ad_session_clear(&g);
	s.state = AD_SESS_ATTESTED;
	s.token = strdup("a.b.c");
	s.tee_pubkey = strdup("{\"kty\":\"EC\",\"crv\":\"P-256\"}");
	s.appraisal = strdup("{\"status\":\"affirming\",\"note\":\"quote ' and \\\\ survive\"}");
	strcpy(s.token_hash, "abcd");
	assert_int_equal(db.ops->session_update(db.s, &s, &e), 0);
	assert_int_equal(db.ops->session_get_by_token(db.s, "abcd", &g, &e), 0);
	assert_int_equal(g.state, AD_SESS_ATTESTED);
	assert_string_equal(g.token, "a.b.c");
	assert_string_equal(g.tee_pubkey, s.tee_pubkey);
	assert_string_equal(g.appraisal, s.appraisal);
	ad_session_clear(&g);
	assert_int_equal(db.ops->session_get_by_token(db.s, "ffff", &g, &e), -ENOENT);
	struct ad_session ghost = s;
	strcpy(ghost.id, "ffffffffffffffffffffffffffffffff");
	assert_int_equal(db.ops->session_update(db.s, &ghost, &e), -ENOENT);
	int64_t n = -1;
	assert_int_equal(db.ops->session_count(db.s, 399, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(db.ops->session_purge(db.s, 400, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(db.ops->session_get(db.s, s.id, &g, &e), -ENOENT);
	free(s.token);
	free(s.tee_pubkey);
	free(s.appraisal);

	struct ad_resource r = {.size = 3, .version = 1, .created = 5, .updated = 5};
	strcpy(r.path, "repo/key/1");
	strcpy(r.kek_id, "0011223344556677");
	uint8_t ct[19] = {1, 2, 3, 0, 0xff, 0x5c, 0x27}; /* NUL, backslash, quote: binary-safe */
	for (size_t i = 0; i < 12; i++)
		r.iv[i] = (uint8_t)(0xf0 + i);
	r.ciphertext = ct;
	r.ciphertext_len = sizeof(ct);
	assert_int_equal(db.ops->resource_put(db.s, &r, &e), 0);
	r.version = 2;
	r.updated = 9;
	assert_int_equal(db.ops->resource_put(db.s, &r, &e), 0);
	strcpy(r.path, "repo/key/0");
	assert_int_equal(db.ops->resource_put(db.s, &r, &e), 0);
	struct ad_resource o;
	assert_int_equal(db.ops->resource_get(db.s, "repo/key/1", &o, &e), 0);
	assert_int_equal(o.version, 2);
	assert_int_equal(o.created, 5);
	assert_int_equal(o.updated, 9);
	assert_int_equal(o.ciphertext_len, sizeof(ct));
	assert_memory_equal(o.ciphertext, ct, sizeof(ct));
	assert_memory_equal(o.iv, r.iv, 12);
	ad_resource_clear(&o);
	assert_int_equal(db.ops->resource_delete(db.s, "repo/key/1", &e), 0);
	assert_int_equal(db.ops->resource_delete(db.s, "repo/key/1", &e), -ENOENT);
	assert_int_equal(db.ops->resource_get(db.s, "repo/key/1", &o, &e), -ENOENT);

	struct ad_policy_version p = {.id = 1, .created = 7};
	strcpy(p.digest, "d1");
	strcpy(p.source, "file:x");
	p.body = (char *)"{\"a\":1}";
	assert_int_equal(db.ops->policy_insert(db.s, &p, &e), 0);
	p.id = 2;
	strcpy(p.digest, "d2");
	assert_int_equal(db.ops->policy_insert(db.s, &p, &e), 0);
	assert_int_equal(db.ops->policy_insert(db.s, &p, &e), -EEXIST);
	struct ad_policy_version q;
	assert_int_equal(db.ops->policy_latest(db.s, &q, &e), 0);
	assert_int_equal(q.id, 2);
	assert_string_equal(q.body, "{\"a\":1}");
	ad_policy_version_clear(&q);
	assert_int_equal(db.ops->policy_by_digest(db.s, "d1", &q, &e), 0);
	assert_int_equal(q.id, 1);
	ad_policy_version_clear(&q);
	assert_int_equal(db.ops->policy_by_digest(db.s, "zz", &q, &e), -ENOENT);
	ad_db_close(&db);
	open_db(b, &db); /* reopening does not re-run migrations */
	assert_int_equal(db.ops->schema_version(db.s, &v, &e), 0);
	assert_int_equal(v, 1);
	ad_db_close(&db);
}

static int count_cb(void *arg, const struct ad_resource *r)
{
	(void)r;
	(*(int *)arg)++;
	return 0;
}

/* A rollback leaves nothing; resource_each sees committed rows in path order. */
static void test_transactions(void **state)
{
	struct backend *b = B(state);
	struct ad_db db;
	struct vg_err e = {0};
	fresh(b, &db, 2);
	struct ad_resource r = {.size = 1, .version = 1};
	strcpy(r.path, "a/b/c");
	strcpy(r.kek_id, "00");
	uint8_t ct[17] = {0};
	r.ciphertext = ct;
	r.ciphertext_len = sizeof(ct);
	assert_int_equal(db.ops->begin(db.s, &e), 0);
	assert_int_equal(db.ops->resource_put(db.s, &r, &e), 0);
	struct ad_audit_rec a = {0};
	strcpy(a.kind, "resource.put");
	strcpy(a.actor, "admin:test");
	strcpy(a.resource, "a/b/c");
	strcpy(a.outcome, "ok");
	assert_int_equal(ad_audit_append(&db, &a, &e), 0);
	assert_int_equal(a.seq, 3);
	ad_audit_rec_clear(&a);
	db.ops->rollback(db.s);
	struct ad_resource o;
	assert_int_equal(db.ops->resource_get(db.s, "a/b/c", &o, &e), -ENOENT);
	verify_ok(&db, 2);
	int n = 0;
	assert_int_equal(db.ops->resource_each(db.s, count_cb, &n, &e), 0);
	assert_int_equal(n, 0);
	ad_db_close(&db);
}

/* auth on instance A, attest on B, resource on C: sessions live in the database. */
static void test_session_across_connections(void **state)
{
	struct backend *b = B(state);
	struct ad_db A, Bc, C;
	struct vg_err e = {0};
	fresh(b, &A, 0);
	open_db(b, &Bc);
	open_db(b, &C);
	struct ad_session s = {.state = AD_SESS_AUTHED, .created = 1, .expires = 4000000000};
	strcpy(s.id, "0123456789abcdef0123456789abcdef");
	strcpy(s.tee, "tdx");
	strcpy(s.nonce, "Tk9OQ0U=");
	assert_int_equal(A.ops->begin(A.s, &e), 0);
	assert_int_equal(A.ops->session_insert(A.s, &s, &e), 0);
	assert_int_equal(A.ops->commit(A.s, &e), 0);

	struct ad_session g;
	assert_int_equal(Bc.ops->begin(Bc.s, &e), 0);
	assert_int_equal(Bc.ops->session_get(Bc.s, s.id, &g, &e), 0);
	assert_int_equal(g.state, AD_SESS_AUTHED);
	g.state = AD_SESS_ATTESTED;
	g.token = strdup("h.p.s");
	strcpy(g.token_hash, "77");
	assert_int_equal(Bc.ops->session_update(Bc.s, &g, &e), 0);
	assert_int_equal(Bc.ops->commit(Bc.s, &e), 0);
	ad_session_clear(&g);

	assert_int_equal(C.ops->session_get_by_token(C.s, "77", &g, &e), 0);
	assert_int_equal(g.state, AD_SESS_ATTESTED);
	assert_string_equal(g.id, s.id);
	ad_session_clear(&g);
	ad_db_close(&A);
	ad_db_close(&Bc);
	ad_db_close(&C);
}

static void test_audit_tamper(void **state)
{
	struct backend *b = B(state);
	struct ad_db db;
	fresh(b, &db, 5);
	verify_ok(&db, 5);
	ad_db_close(&db);
	static const struct {
		int records;
		const char *sql, *needle;
	} tamper[] = {
		{5, "UPDATE audit SET resource = 'repo/key/evil' WHERE seq = 3", "record 3"},
		{5, "DELETE FROM audit WHERE seq = 2", "record 2 is missing"},
		{5, "UPDATE audit SET seq = 100 WHERE seq = 2; UPDATE audit SET seq = 2 WHERE seq = 3; "
		    "UPDATE audit SET seq = 3 WHERE seq = 100",
		 "record 2"},
		{5, "DELETE FROM audit WHERE seq = 5", "head"},
		/* an inserted record, even a copy with a valid hash, breaks the next link */
		{3, "UPDATE audit SET seq = seq + 100 WHERE seq >= 2; UPDATE audit SET seq = seq - 99 WHERE seq >= 100; "
		    "INSERT INTO audit SELECT 2, ts, kind, actor, 'x/y/z', outcome, detail, prev_hash, hash FROM audit "
		    "WHERE seq = 1",
		 "record 2"},
	};
	for (size_t i = 0; i < VG_ARRAY_SIZE(tamper); i++) {
		fresh(b, &db, tamper[i].records);
		raw_sql(b, tamper[i].sql);
		expect_broken(&db, tamper[i].needle);
		ad_db_close(&db);
	}

	/* a long chain is read in pages and still verifies */
	fresh(b, &db, 0);
	struct vg_err e = {0};
	assert_int_equal(db.ops->begin(db.s, &e), 0);
	for (int i = 0; i < 1100; i++) {
		struct ad_audit_rec r = {0};
		strcpy(r.kind, "auth");
		strcpy(r.actor, "system");
		strcpy(r.outcome, "ok");
		assert_int_equal(ad_audit_append(&db, &r, &e), 0);
		ad_audit_rec_clear(&r);
	}
	assert_int_equal(db.ops->commit(db.s, &e), 0);
	verify_ok(&db, 1100);
	ad_db_close(&db);
}

/* ---------------------------------------------------------- concurrency */
#define WRITERS 6
#define PER_WRITER 40

static int writer_child(const struct backend *b, int id)
{
	struct ad_db db;
	struct vg_err e = {0};
	if (ad_db_open(b->spec, &db, &e)) {
		fprintf(stderr, "writer %d: open: %s\n", id, e.msg);
		return 1;
	}
	char actor[32];
	snprintf(actor, sizeof(actor), "writer:%d", id);
	for (int i = 0; i < PER_WRITER; i++) {
		char res[64];
		snprintf(res, sizeof(res), "repo/w%d/%d", id, i);
		if (append_one(&db, "release", actor, res, &e)) {
			fprintf(stderr, "writer %d: append %d: %s\n", id, i, e.msg);
			ad_db_close(&db);
			return 1;
		}
	}
	ad_db_close(&db);
	return 0;
}

struct actor_count {
	int per[WRITERS];
	int other;
};

static int actor_cb(void *arg, const struct ad_audit_rec *r)
{
	struct actor_count *c = arg;
	int id = -1;
	if (sscanf(r->actor, "writer:%d", &id) == 1 && id >= 0 && id < WRITERS)
		c->per[id]++;
	else
		c->other++;
	return 0;
}

static void wait_children(pid_t *pids, int n)
{
	int bad = 0;
	for (int i = 0; i < n; i++) {
		int st = 0;
		if (waitpid(pids[i], &st, 0) != pids[i] || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			bad++;
	}
	assert_int_equal(bad, 0);
}

/* Several processes (like several service instances) append concurrently: one
 * chain, no gaps, no lost record; first opens race the migrations. */
static void test_concurrent_writers(void **state)
{
	struct backend *b = B(state);
	wipe(b);
	if (!is_pg(b)) {
		/* One SQLite file is one instance's store: create it before the race
		 * (concurrent first opens of a new SQLite file are not a deployment). */
		struct ad_db pre;
		open_db(b, &pre);
		ad_db_close(&pre);
	} /* PostgreSQL: every child's open races to create the schema */
	pid_t pids[WRITERS];
	for (int i = 0; i < WRITERS; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0)
			_exit(writer_child(b, i));
	}
	wait_children(pids, WRITERS);
	struct ad_db db;
	open_db(b, &db);
	verify_ok(&db, WRITERS * PER_WRITER);
	struct actor_count c = {0};
	struct vg_err e = {0};
	assert_int_equal(db.ops->audit_each(db.s, 1, 0, actor_cb, &c, &e), 0);
	for (int i = 0; i < WRITERS; i++)
		assert_int_equal(c.per[i], PER_WRITER);
	assert_int_equal(c.other, 0);
	int64_t v = 0;
	assert_int_equal(db.ops->schema_version(db.s, &v, &e), 0);
	assert_int_equal(v, 1);
	ad_db_close(&db);
}

/* Several processes open one NEW SQLite file at the same moment: each open
 * succeeds (no "database is locked" from switching the file to WAL) and the
 * schema is created once. Bounded: every child has an alarm. */
#define FIRST_OPENERS 8
static void test_sqlite_first_open(void **state)
{
	(void)state;
	for (int round = 0; round < 3; round++) {
		char spec[700];
		snprintf(spec, sizeof(spec), "sqlite:%s/first-%d.db", tmpdir, round);
		int gate[2];
		assert_int_equal(pipe(gate), 0);
		pid_t pids[FIRST_OPENERS];
		for (int i = 0; i < FIRST_OPENERS; i++) {
			pids[i] = fork();
			assert_true(pids[i] >= 0);
			if (pids[i] == 0) {
				alarm(30);
				close(gate[1]);
				char c;
				if (read(gate[0], &c, 1) != 0) /* released together when the parent closes it */
					_exit(4);
				struct ad_db db;
				struct vg_err e = {0};
				if (ad_db_open(spec, &db, &e)) {
					fprintf(stderr, "first open %d: %s\n", i, e.msg);
					_exit(3);
				}
				int64_t v = 0;
				int rc = db.ops->schema_version(db.s, &v, &e);
				ad_db_close(&db);
				_exit(rc == 0 && v == 1 ? 0 : 5);
			}
		}
		close(gate[0]);
		close(gate[1]);
		wait_children(pids, FIRST_OPENERS);
	}
}

/* The nonce of a session is consumed once, whichever instance gets there first. */
#define RACERS 5
static int racer_child(const struct backend *b, const char *sid, int id)
{
	struct ad_db db;
	struct vg_err e = {0};
	if (ad_db_open(b->spec, &db, &e))
		return 3;
	int won = 0;
	if (db.ops->begin(db.s, &e))
		return 3;
	struct ad_session s;
	if (db.ops->session_get(db.s, sid, &s, &e))
		return 3;
	if (s.state == AD_SESS_AUTHED) {
		usleep(20000); /* widen the window: the others must wait, not double-spend */
		s.state = AD_SESS_ATTESTED;
		snprintf(s.token_hash, sizeof(s.token_hash), "racer%d", id);
		struct ad_audit_rec r = {0};
		strcpy(r.kind, "attest");
		snprintf(r.actor, sizeof(r.actor), "session:%s", sid);
		strcpy(r.outcome, "affirming");
		if (db.ops->session_update(db.s, &s, &e) || ad_audit_append(&db, &r, &e))
			return 3;
		ad_audit_rec_clear(&r);
		won = 1;
	}
	ad_session_clear(&s);
	if (db.ops->commit(db.s, &e))
		return 3;
	ad_db_close(&db);
	return won ? 0 : 1;
}

static void test_nonce_once(void **state)
{
	struct backend *b = B(state);
	struct ad_db db;
	struct vg_err e = {0};
	fresh(b, &db, 0);
	struct ad_session s = {.state = AD_SESS_AUTHED, .created = 1, .expires = 4000000000};
	strcpy(s.id, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	strcpy(s.tee, "snp");
	strcpy(s.nonce, "eA==");
	assert_int_equal(db.ops->begin(db.s, &e), 0);
	assert_int_equal(db.ops->session_insert(db.s, &s, &e), 0);
	assert_int_equal(db.ops->commit(db.s, &e), 0);
	pid_t pids[RACERS];
	for (int i = 0; i < RACERS; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0)
			_exit(racer_child(b, s.id, i));
	}
	int winners = 0, losers = 0;
	for (int i = 0; i < RACERS; i++) {
		int st = 0;
		assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
		assert_true(WIFEXITED(st));
		if (WEXITSTATUS(st) == 0)
			winners++;
		else if (WEXITSTATUS(st) == 1)
			losers++;
	}
	assert_int_equal(winners, 1);
	assert_int_equal(losers, RACERS - 1);
	verify_ok(&db, 1);
	ad_db_close(&db);
}

/* ----------------------------------------------------- PostgreSQL outage */
static void pg_ctl(const struct backend *b, const char *what)
{
	if (sh("'%s' %s '%s'", cluster_script, what, b->pg_dir))
		fail_msg("pg_cluster.sh %s failed", what);
}

static void test_pg_outage(void **state)
{
	struct backend *b = B(state);
	if (!b->pg_dir[0])
		skip(); /* only with VIGIL_STORE_SPEC without VIGIL_TEST_PG_DIR (user's choice) */
	struct ad_db db;
	struct vg_err e = {0};
	fresh(b, &db, 3);

	/* the database goes away between requests: the next call fails cleanly */
	pg_ctl(b, "stop");
	struct ad_session g;
	assert_int_equal(db.ops->session_get(db.s, "00", &g, &e), -EIO);
	assert_non_null(strstr(e.msg, "postgres"));
	assert_int_equal(db.ops->begin(db.s, &e), -EIO);
	int64_t n = 0;
	assert_int_equal(ad_audit_verify(&db, &n, &e), -EIO);
	pg_ctl(b, "start");
	/* the same handle recovers by itself */
	append(&db, "release", "after/restart/1");
	verify_ok(&db, 4);

	/* the database restarts while the handle is idle: begin() reconnects */
	pg_ctl(b, "stop");
	pg_ctl(b, "start");
	append(&db, "release", "after/restart/2");
	verify_ok(&db, 5);

	/* crash in the middle of a transaction: nothing of it is committed */
	assert_int_equal(db.ops->begin(db.s, &e), 0);
	struct ad_audit_rec r = {0};
	strcpy(r.kind, "release");
	strcpy(r.actor, "system");
	strcpy(r.resource, "half/done/x");
	strcpy(r.outcome, "ok");
	assert_int_equal(ad_audit_append(&db, &r, &e), 0);
	ad_audit_rec_clear(&r);
	pg_ctl(b, "kill");
	assert_int_equal(db.ops->commit(db.s, &e), -EIO);
	db.ops->rollback(db.s);
	pg_ctl(b, "start");
	verify_ok(&db, 5);
	append(&db, "release", "after/restart/3");
	verify_ok(&db, 6);
	ad_db_close(&db);

	/* opening while the database is down fails with one clear line */
	pg_ctl(b, "stop");
	struct ad_db x;
	assert_int_equal(ad_db_open(b->spec, &x, &e), -EIO);
	assert_non_null(strstr(e.msg, "postgres: cannot connect"));
	assert_null(strchr(e.msg, '\n'));
	pg_ctl(b, "start");
}

static void test_bad_specs(void **state)
{
	(void)state;
	struct ad_db db;
	struct vg_err e = {0};
	assert_int_equal(ad_db_open("mysql://x/y", &db, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "mysql"));
	assert_int_equal(ad_db_open("nothing", &db, &e), -EINVAL);
	assert_int_equal(ad_db_open("postgres:dbname=x", &db, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "postgresql://"));
	/* a socket directory with no server: fails, one line */
	char spec[800];
	snprintf(spec, sizeof(spec), "postgresql:///vigil?host=%s/none&connect_timeout=2", tmpdir);
	assert_int_equal(ad_db_open(spec, &db, &e), -EIO);
	assert_null(strchr(e.msg, '\n'));
}

/* --------------------------------------------------------------- setup */
static void find_script(void)
{
	const char *root = getenv("VIGIL_ROOT");
	const char *cands[] = {root, ".", "..", "../..", "../../.."};
	for (size_t i = 0; i < VG_ARRAY_SIZE(cands); i++) {
		if (!cands[i])
			continue;
		snprintf(cluster_script, sizeof(cluster_script), "%s/tests/integration/pg_cluster.sh", cands[i]);
		if (access(cluster_script, X_OK) == 0)
			return;
	}
	cluster_script[0] = 0;
}

static int start_pg(void)
{
	find_script();
	if (!cluster_script[0]) {
		fprintf(stderr, "store suite: tests/integration/pg_cluster.sh not found (run from the repository)\n");
		return -1;
	}
	char cmd[800];
	snprintf(cmd, sizeof(cmd), "'%s' init", cluster_script);
	FILE *f = popen(cmd, "r");
	if (!f || !fgets(be_pg.pg_dir, sizeof(be_pg.pg_dir), f)) {
		if (f)
			pclose(f);
		fprintf(stderr, "store suite: PostgreSQL cluster could not be created\n");
		return -1;
	}
	pclose(f);
	be_pg.pg_dir[strcspn(be_pg.pg_dir, "\n")] = 0;
	own_pg = true;
	if (sh("'%s' start '%s'", cluster_script, be_pg.pg_dir)) {
		fprintf(stderr, "store suite: PostgreSQL did not start\n");
		return -1;
	}
	snprintf(be_pg.spec, sizeof(be_pg.spec), "postgresql:///vigil?host=%s/sock&user=vigil", be_pg.pg_dir);
	be_pg.ready = true;
	return 0;
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(tmpdir))
		return -1;
	const char *spec = getenv("VIGIL_STORE_SPEC");
	if (spec && *spec) {
		struct backend *b = !strncmp(spec, "postgres", 8) ? &be_pg : &be_sqlite;
		snprintf(b->spec, sizeof(b->spec), "%s", spec);
		if (!strncmp(spec, "sqlite:", 7))
			snprintf(b->sqlite_path, sizeof(b->sqlite_path), "%s", spec + 7);
		const char *d = getenv("VIGIL_TEST_PG_DIR");
		find_script();
		if (d && b == &be_pg && cluster_script[0])
			snprintf(b->pg_dir, sizeof(b->pg_dir), "%s", d);
		b->ready = true;
		return 0;
	}
	snprintf(be_sqlite.sqlite_path, sizeof(be_sqlite.sqlite_path), "%s/store.db", tmpdir);
	snprintf(be_sqlite.spec, sizeof(be_sqlite.spec), "sqlite:%s", be_sqlite.sqlite_path);
	be_sqlite.ready = true;
	start_pg(); /* on failure the PostgreSQL cases fail (never skip) */
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (own_pg && be_pg.pg_dir[0])
		sh("'%s' destroy '%s'", cluster_script, be_pg.pg_dir);
	return sh("rm -rf '%s'", tmpdir) == 0 ? 0 : -1;
}

#define CASE(fn, be) {#be "/" #fn, fn, NULL, NULL, &be}

int main(void)
{
	const struct CMUnitTest all[] = {
		CASE(test_rows, be_sqlite),
		CASE(test_transactions, be_sqlite),
		CASE(test_session_across_connections, be_sqlite),
		CASE(test_audit_tamper, be_sqlite),
		CASE(test_concurrent_writers, be_sqlite),
		CASE(test_nonce_once, be_sqlite),
		CASE(test_sqlite_first_open, be_sqlite),
		CASE(test_rows, be_pg),
		CASE(test_transactions, be_pg),
		CASE(test_session_across_connections, be_pg),
		CASE(test_audit_tamper, be_pg),
		CASE(test_concurrent_writers, be_pg),
		CASE(test_nonce_once, be_pg),
		CASE(test_pg_outage, be_pg),
		cmocka_unit_test(test_bad_specs),
	};
	/* With VIGIL_STORE_SPEC only that backend's cases run. */
	const char *spec = getenv("VIGIL_STORE_SPEC");
	struct CMUnitTest sel[VG_ARRAY_SIZE(all)];
	size_t n = 0;
	for (size_t i = 0; i < VG_ARRAY_SIZE(all); i++) {
		const struct backend *b = all[i].initial_state;
		if (spec && *spec && b && (b == &be_pg) != !strncmp(spec, "postgres", 8))
			continue;
		sel[n++] = all[i];
	}
	return _cmocka_run_group_tests("store", sel, n, setup, teardown);
}
