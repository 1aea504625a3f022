/* Backend selection, row helpers and the audit hash chain (backend independent). */
#include "attestd/store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <openssl/evp.h>

/* The schema, once for every backend: numbered migrations in portable DDL. */
const struct ad_migration ad_migrations[] = {
	{1, "sessions, policies, resources, audit chain",
	 "CREATE TABLE sessions (id TEXT PRIMARY KEY, state BIGINT NOT NULL, tee TEXT NOT NULL, "
	 "  nonce TEXT NOT NULL, created BIGINT NOT NULL, expires BIGINT NOT NULL, tee_pubkey TEXT, "
	 "  appraisal TEXT, token TEXT, token_hash TEXT);"
	 "CREATE INDEX sessions_expires ON sessions (expires);"
	 "CREATE INDEX sessions_token ON sessions (token_hash);"
	 "CREATE TABLE policies (id BIGINT PRIMARY KEY, digest TEXT NOT NULL, source TEXT NOT NULL, "
	 "  body TEXT NOT NULL, created BIGINT NOT NULL);"
	 "CREATE INDEX policies_digest ON policies (digest);"
	 "CREATE TABLE resources (path TEXT PRIMARY KEY, kek_id TEXT NOT NULL, iv BLOB NOT NULL, "
	 "  ciphertext BLOB NOT NULL, size BIGINT NOT NULL, version BIGINT NOT NULL, created BIGINT NOT NULL, "
	 "  updated BIGINT NOT NULL);"
	 "CREATE TABLE audit (seq BIGINT PRIMARY KEY, ts BIGINT NOT NULL, kind TEXT NOT NULL, "
	 "  actor TEXT NOT NULL, resource TEXT NOT NULL, outcome TEXT NOT NULL, detail TEXT NOT NULL, "
	 "  prev_hash TEXT NOT NULL, hash TEXT NOT NULL);"
	 "CREATE TABLE audit_head (id BIGINT PRIMARY KEY, seq BIGINT NOT NULL, hash TEXT NOT NULL);"
	 "INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, "
	 "  '0000000000000000000000000000000000000000000000000000000000000000');"},
};
const size_t ad_n_migrations = VG_ARRAY_SIZE(ad_migrations);

static const struct ad_store_ops *const backends[] = {
	&ad_store_sqlite_ops,
	&ad_store_postgres_ops,
};

void ad_session_clear(struct ad_session *s)
{
	free(s->tee_pubkey);
	free(s->appraisal);
	free(s->token);
	memset(s, 0, sizeof(*s));
}

void ad_policy_version_clear(struct ad_policy_version *p)
{
	free(p->body);
	memset(p, 0, sizeof(*p));
}

void ad_resource_clear(struct ad_resource *r)
{
	free(r->ciphertext);
	memset(r, 0, sizeof(*r));
}

void ad_audit_rec_clear(struct ad_audit_rec *r)
{
	free(r->detail);
	memset(r, 0, sizeof(*r));
}

int ad_db_open(const char *spec, struct ad_db *db, struct vg_err *err)
{
	memset(db, 0, sizeof(*db));
	const char *colon = strchr(spec, ':');
	if (!colon)
		return vg_err_set(err, EINVAL, "--db %s: expected sqlite:PATH or postgres://...", spec);
	size_t n = (size_t)(colon - spec);
	char scheme[16];
	if (n >= sizeof(scheme))
		return vg_err_set(err, EINVAL, "--db: unknown backend in '%s'", spec);
	memcpy(scheme, spec, n);
	scheme[n] = 0;
	if (!strcmp(scheme, "postgresql"))
		strcpy(scheme, "postgres");
	for (size_t i = 0; i < VG_ARRAY_SIZE(backends); i++) {
		if (strcmp(backends[i]->scheme, scheme))
			continue;
		/* postgres takes the whole URI as its conninfo; sqlite the path. */
		const char *target = !strcmp(scheme, "postgres") ? spec : colon + 1;
		int rc = backends[i]->open(target, &db->s, err);
		if (rc)
			return rc;
		db->ops = backends[i];
		rc = db->ops->migrate(db->s, err);
		if (rc) {
			ad_db_close(db);
			return rc;
		}
		return 0;
	}
	return vg_err_set(err, EINVAL, "--db: backend '%s' is not built into this binary (have: sqlite, postgres)", scheme);
}

void ad_db_close(struct ad_db *db)
{
	if (db->ops && db->s)
		db->ops->close(db->s);
	db->ops = NULL;
	db->s = NULL;
}

/* ------------------------------------------------------------ audit chain */
static void put_field(EVP_MD_CTX *c, const void *p, size_t n)
{
	uint8_t l[8];
	for (int i = 0; i < 8; i++)
		l[i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
	EVP_DigestUpdate(c, l, 8);
	if (n)
		EVP_DigestUpdate(c, p, n);
}

static void put_str(EVP_MD_CTX *c, const char *s) { put_field(c, s ? s : "", s ? strlen(s) : 0); }

static void put_int(EVP_MD_CTX *c, int64_t v)
{
	char b[32];
	put_field(c, b, (size_t)snprintf(b, sizeof(b), "%lld", (long long)v));
}

void ad_audit_hash(const struct ad_audit_rec *r, char out[AD_HASH_HEX])
{
	uint8_t md[32];
	unsigned mdlen = 0;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	if (!c || !EVP_DigestInit_ex(c, EVP_sha256(), NULL)) {
		memset(out, 'x', AD_HASH_HEX - 1); /* never equals a real hash: verify fails closed */
		out[AD_HASH_HEX - 1] = 0;
		EVP_MD_CTX_free(c);
		return;
	}
	put_str(c, "vigil-audit-v1");
	put_int(c, r->seq);
	put_int(c, r->ts);
	put_str(c, r->kind);
	put_str(c, r->actor);
	put_str(c, r->resource);
	put_str(c, r->outcome);
	put_str(c, r->detail ? r->detail : "{}");
	put_str(c, r->prev_hash);
	EVP_DigestFinal_ex(c, md, &mdlen);
	EVP_MD_CTX_free(c);
	vg_hex_encode(md, sizeof(md), out);
}

static const char zero_hash[AD_HASH_HEX] = "0000000000000000000000000000000000000000000000000000000000000000";

int ad_audit_append(struct ad_db *db, struct ad_audit_rec *r, struct vg_err *err)
{
	int64_t seq = 0;
	char head[AD_HASH_HEX];
	int rc = db->ops->audit_head(db->s, &seq, head, err);
	if (rc)
		return rc;
	r->seq = seq + 1;
	if (!r->ts) {
		struct timeval tv;
		gettimeofday(&tv, NULL);
		r->ts = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
	}
	if (!r->detail) {
		r->detail = strdup("{}");
		if (!r->detail)
			return vg_err_set(err, ENOMEM, "audit: out of memory");
	}
	memcpy(r->prev_hash, head, AD_HASH_HEX);
	ad_audit_hash(r, r->hash);
	return db->ops->audit_insert(db->s, r, err);
}

struct verify_state {
	int64_t expect_seq;
	char prev[AD_HASH_HEX];
	struct vg_err *err;
	int bad;
};

static int verify_cb(void *arg, const struct ad_audit_rec *r)
{
	struct verify_state *v = arg;
	char h[AD_HASH_HEX];
	if (r->seq != v->expect_seq) {
		v->bad = vg_err_set(v->err, EBADMSG,
				    r->seq > v->expect_seq ? "audit record %lld is missing (next record is %lld): deleted"
							   : "audit record %lld appears where %lld belongs: inserted or reordered",
				    (long long)(r->seq > v->expect_seq ? v->expect_seq : r->seq),
				    (long long)(r->seq > v->expect_seq ? r->seq : v->expect_seq));
		return 1;
	}
	if (strcmp(r->prev_hash, v->prev)) {
		v->bad = vg_err_set(v->err, EBADMSG,
				    "audit record %lld: previous-record hash does not match record %lld: reordered, "
				    "inserted or a predecessor deleted",
				    (long long)r->seq, (long long)r->seq - 1);
		return 1;
	}
	ad_audit_hash(r, h);
	if (strcmp(h, r->hash)) {
		v->bad = vg_err_set(v->err, EBADMSG, "audit record %lld (%s %s): content does not match its hash: edited",
				    (long long)r->seq, r->kind, r->resource[0] ? r->resource : r->actor);
		return 1;
	}
	memcpy(v->prev, r->hash, AD_HASH_HEX);
	v->expect_seq++;
	return 0;
}

int ad_audit_verify(struct ad_db *db, int64_t *count, struct vg_err *err)
{
	struct verify_state v = {.expect_seq = 1, .err = err};
	memcpy(v.prev, zero_hash, AD_HASH_HEX);
	int rc = db->ops->audit_each(db->s, 1, 0, verify_cb, &v, err);
	if (v.bad)
		return v.bad;
	if (rc)
		return rc < 0 ? rc : -EIO;
	int64_t head_seq = 0;
	char head[AD_HASH_HEX];
	rc = db->ops->audit_head(db->s, &head_seq, head, err);
	if (rc)
		return rc;
	if (head_seq != v.expect_seq - 1 || strcmp(head, v.prev))
		return vg_err_set(err, EBADMSG,
				  "audit chain head names record %lld but the log ends at record %lld: records after "
				  "%lld were deleted or the head was edited",
				  (long long)head_seq, (long long)(v.expect_seq - 1), (long long)(v.expect_seq - 1));
	if (count)
		*count = v.expect_seq - 1;
	return 0;
}
