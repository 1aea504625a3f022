/* attestd store: the SQLite backend through the ops table, and the audit chain
 * detecting edited, deleted, reordered, inserted and truncated records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "attestd/store/store.h"

static char dir[] = "/tmp/vigil-store.XXXXXX";
static char spec[600], path[600];

static void open_db(struct ad_db *db)
{
	struct vg_err e = {0};
	if (ad_db_open(spec, db, &e))
		fail_msg("open: %s", e.msg);
}

static void append(struct ad_db *db, const char *kind, const char *res)
{
	struct vg_err e = {0};
	struct ad_audit_rec r;
	memset(&r, 0, sizeof(r));
	snprintf(r.kind, sizeof(r.kind), "%s", kind);
	snprintf(r.actor, sizeof(r.actor), "system");
	snprintf(r.resource, sizeof(r.resource), "%s", res);
	snprintf(r.outcome, sizeof(r.outcome), "ok");
	r.detail = strdup("{\"x\":1}");
	assert_int_equal(db->ops->begin(db->s, &e), 0);
	assert_int_equal(ad_audit_append(db, &r, &e), 0);
	assert_int_equal(db->ops->commit(db->s, &e), 0);
	ad_audit_rec_clear(&r);
}

static void sql_exec(const char *q)
{
	sqlite3 *d = NULL;
	assert_int_equal(sqlite3_open(path, &d), SQLITE_OK);
	char *m = NULL;
	if (sqlite3_exec(d, q, NULL, NULL, &m) != SQLITE_OK)
		fail_msg("%s: %s", q, m);
	sqlite3_close(d);
}

static void fresh(struct ad_db *db, int n)
{
	unlink(path);
	char p[700];
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
	open_db(db);
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

static void test_sessions_resources_policies(void **state)
{
	(void)state;
	struct ad_db db;
	struct vg_err e = {0};
	fresh(&db, 0);
	int64_t v = 0;
	assert_int_equal(db.ops->schema_version(db.s, &v, &e), 0);
	assert_int_equal(v, 1);

	struct ad_session s = {.state = AD_SESS_AUTHED, .created = 100, .expires = 400};
	strcpy(s.id, "00112233445566778899aabbccddeeff");
	strcpy(s.tee, "snp");
	strcpy(s.nonce, "bm9uY2U=");
	assert_int_equal(db.ops->begin(db.s, &e), 0);
	assert_int_equal(db.ops->session_insert(db.s, &s, &e), 0);
	assert_int_equal(db.ops->commit(db.s, &e), 0);
	struct ad_session g;
	assert_int_equal(db.ops->session_get(db.s, s.id, &g, &e), 0);
	assert_string_equal(g.nonce, s.nonce);
	assert_null(g.token);
	ad_session_clear(&g);
	s.state = AD_SESS_ATTESTED;
	s.token = strdup("a.b.c");
	strcpy(s.token_hash, "abcd");
	assert_int_equal(db.ops->session_update(db.s, &s, &e), 0);
	assert_int_equal(db.ops->session_get_by_token(db.s, "abcd", &g, &e), 0);
	assert_int_equal(g.state, AD_SESS_ATTESTED);
	assert_string_equal(g.token, "a.b.c");
	ad_session_clear(&g);
	int64_t n = -1;
	assert_int_equal(db.ops->session_count(db.s, 399, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(db.ops->session_purge(db.s, 400, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(db.ops->session_get(db.s, s.id, &g, &e), -ENOENT);
	free(s.token);

	struct ad_resource r = {.size = 3, .version = 1, .created = 5, .updated = 5};
	strcpy(r.path, "repo/key/1");
	strcpy(r.kek_id, "0011223344556677");
	uint8_t ct[19] = {1, 2, 3};
	r.ciphertext = ct;
	r.ciphertext_len = sizeof(ct);
	assert_int_equal(db.ops->resource_put(db.s, &r, &e), 0);
	r.version = 2;
	assert_int_equal(db.ops->resource_put(db.s, &r, &e), 0);
	struct ad_resource o;
	assert_int_equal(db.ops->resource_get(db.s, "repo/key/1", &o, &e), 0);
	assert_int_equal(o.version, 2);
	assert_memory_equal(o.ciphertext, ct, sizeof(ct));
	ad_resource_clear(&o);
	assert_int_equal(db.ops->resource_delete(db.s, "repo/key/1", &e), 0);
	assert_int_equal(db.ops->resource_delete(db.s, "repo/key/1", &e), -ENOENT);
	assert_int_equal(db.ops->resource_get(db.s, "repo/key/1", &o, &e), -ENOENT);

	struct ad_policy_version p = {.id = 1, .created = 7};
	strcpy(p.digest, "d1");
	strcpy(p.source, "file:x");
	p.body = (char *)"{}";
	assert_int_equal(db.ops->policy_insert(db.s, &p, &e), 0);
	p.id = 2;
	strcpy(p.digest, "d2");
	assert_int_equal(db.ops->policy_insert(db.s, &p, &e), 0);
	struct ad_policy_version q;
	assert_int_equal(db.ops->policy_latest(db.s, &q, &e), 0);
	assert_int_equal(q.id, 2);
	ad_policy_version_clear(&q);
	assert_int_equal(db.ops->policy_by_digest(db.s, "d1", &q, &e), 0);
	assert_int_equal(q.id, 1);
	ad_policy_version_clear(&q);
	assert_int_equal(db.ops->policy_by_digest(db.s, "zz", &q, &e), -ENOENT);
	ad_db_close(&db);
	/* reopening does not re-run migrations */
	open_db(&db);
	assert_int_equal(db.ops->schema_version(db.s, &v, &e), 0);
	assert_int_equal(v, 1);
	ad_db_close(&db);
}

static void test_audit_chain(void **state)
{
	(void)state;
	struct ad_db db;
	struct vg_err e = {0};
	int64_t n = 0;
	fresh(&db, 5);
	assert_int_equal(ad_audit_verify(&db, &n, &e), 0);
	assert_int_equal(n, 5);

	sql_exec("UPDATE audit SET resource = 'repo/key/evil' WHERE seq = 3");
	expect_broken(&db, "record 3");
	ad_db_close(&db);

	fresh(&db, 5);
	sql_exec("DELETE FROM audit WHERE seq = 2");
	expect_broken(&db, "record 2 is missing");
	ad_db_close(&db);

	fresh(&db, 5);
	sql_exec("UPDATE audit SET seq = 100 WHERE seq = 2; UPDATE audit SET seq = 2 WHERE seq = 3; "
		 "UPDATE audit SET seq = 3 WHERE seq = 100");
	expect_broken(&db, "record 2");
	ad_db_close(&db);

	fresh(&db, 5);
	sql_exec("DELETE FROM audit WHERE seq = 5");
	expect_broken(&db, "head");
	ad_db_close(&db);

	fresh(&db, 3);
	/* an inserted record, even with a recomputed hash, breaks the next link */
	sql_exec("UPDATE audit SET seq = seq + 100 WHERE seq >= 2; UPDATE audit SET seq = seq - 99 WHERE seq >= 100; "
		 "INSERT INTO audit SELECT 2, ts, kind, actor, 'x/y/z', outcome, detail, prev_hash, hash FROM audit "
		 "WHERE seq = 1");
	expect_broken(&db, "record 2");
	ad_db_close(&db);
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/attestd.db", dir);
	snprintf(spec, sizeof(spec), "sqlite:%s", path);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sessions_resources_policies),
		cmocka_unit_test(test_audit_chain),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
