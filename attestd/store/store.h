/*
 * attestd/store/: the storage interface of vigil-attestd. The one public header
 * of this directory. Prefix: ad_store_ / ad_.
 *
 * One ops table per backend (sqlite.c; postgres.c is added behind the same
 * table). A struct ad_store is ONE connection: the service opens one per worker
 * thread, so a backend need not be thread-safe per handle, but concurrent
 * handles on one database must be (WAL for SQLite, MVCC for PostgreSQL).
 *
 * Transactions: every write happens between begin() and commit(). begin() takes
 * the database's write lock up front (SQLite BEGIN IMMEDIATE; PostgreSQL: the
 * audit head row is locked with SELECT ... FOR UPDATE by audit_head()), so the
 * audit chain is appended strictly in order and an action and its audit record
 * commit together or not at all. Reads outside a transaction see the last
 * committed state.
 *
 * Schema (portable SQL: TEXT, BIGINT, BLOB/BYTEA chosen by the backend; no
 * AUTOINCREMENT, no UPSERT syntax; ids are assigned by the caller):
 *   schema_migrations(version BIGINT PRIMARY KEY, description TEXT, applied_at BIGINT)
 *   sessions(id TEXT PK, state BIGINT, tee TEXT, nonce TEXT, created BIGINT, expires BIGINT,
 *            tee_pubkey TEXT, appraisal TEXT, token TEXT, token_hash TEXT)
 *   policies(id BIGINT PK, digest TEXT, source TEXT, body TEXT, created BIGINT)
 *   resources(path TEXT PK, kek_id TEXT, iv BLOB, ciphertext BLOB, size BIGINT,
 *             version BIGINT, created BIGINT, updated BIGINT)
 *   audit(seq BIGINT PK, ts BIGINT, kind TEXT, actor TEXT, resource TEXT, outcome TEXT,
 *         detail TEXT, prev_hash TEXT, hash TEXT)
 *   audit_head(id BIGINT PK (always 1), seq BIGINT, hash TEXT)
 * Migrations are numbered; migrate() applies the missing ones in order, each in
 * its own transaction with its schema_migrations row.
 *
 * Errors: 0 or -errno with err filled; -ENOENT = no such row; -EBUSY = the
 * database stayed locked past the busy timeout; -EIO = backend error (message
 * names the statement).
 */
#ifndef VIGIL_ATTESTD_STORE_H
#define VIGIL_ATTESTD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

#define AD_HASH_LEN 32 /* SHA-256 */
#define AD_HASH_HEX (2 * AD_HASH_LEN + 1)

/* ----------------------------------------------------------------- rows */
enum ad_session_state {
	AD_SESS_AUTHED = 1,   /* challenge issued, nonce unused */
	AD_SESS_ATTESTED = 2, /* evidence appraised; appraisal and token set */
	AD_SESS_FAILED = 3,   /* attestation failed; the nonce is spent */
};

struct ad_session {
	char id[40];        /* 32 lowercase hex (128 random bits) */
	int state;          /* enum ad_session_state */
	char tee[16];       /* "snp", "tdx", ... as the client said in /auth */
	char nonce[64];     /* standard base64 of 32 random bytes */
	int64_t created;    /* unix seconds */
	int64_t expires;
	char *tee_pubkey;   /* JWK as JSON text, or NULL (malloc'd) */
	char *appraisal;    /* pol_appraisal_json as JSON text, or NULL */
	char *token;        /* EAR JWT, or NULL */
	char token_hash[AD_HASH_HEX]; /* hex SHA-256 of token, "" when none */
};
void ad_session_clear(struct ad_session *s); /* frees the strings, zeroes the rest */

struct ad_policy_version {
	int64_t id;         /* 1, 2, ... */
	char digest[AD_HASH_HEX]; /* hex SHA-256 of body */
	char source[256];   /* "file:/path", "admin:<key id>" */
	char *body;         /* the policy document (malloc'd) */
	int64_t created;
};
void ad_policy_version_clear(struct ad_policy_version *p);

/* A resource as stored: AES-256-GCM ciphertext (tag appended) under the KEK
 * identified by kek_id, AAD = path. Never plaintext. */
struct ad_resource {
	char path[256];     /* "repository/type/tag" */
	char kek_id[24];    /* hex of the first 8 bytes of SHA-256(KEK) */
	uint8_t iv[12];
	uint8_t *ciphertext;/* ciphertext || 16-byte tag (malloc'd) */
	size_t ciphertext_len;
	int64_t size;       /* plaintext length */
	int64_t version;    /* 1 on first put, +1 on each replace */
	int64_t created, updated;
};
void ad_resource_clear(struct ad_resource *r);

/* One audit record. The chain: hash = SHA-256 over a length-prefixed encoding
 * of (seq, ts, kind, actor, resource, outcome, detail, prev_hash); see
 * ad_audit_hash(). prev_hash of record 1 is 64 zeros. */
struct ad_audit_rec {
	int64_t seq;        /* 1, 2, ... without gaps */
	int64_t ts;         /* unix milliseconds */
	char kind[32];      /* "auth", "attest", "release", "deny", "resource.put", ... */
	char actor[128];    /* "session:<id>", "admin:<kid>", "system" */
	char resource[256]; /* full path repository/type/tag, or "" */
	char outcome[32];   /* "ok", "affirming", "contraindicated", "denied", "error", ... */
	char *detail;       /* compact JSON object text (malloc'd) */
	char prev_hash[AD_HASH_HEX];
	char hash[AD_HASH_HEX];
};
void ad_audit_rec_clear(struct ad_audit_rec *r);

/* ------------------------------------------------------------- schema */
/* Numbered migrations in portable SQL, shared by every backend (store.c).
 * Binary columns are declared BLOB; a backend whose type is named otherwise
 * substitutes it (PostgreSQL: BYTEA). */
struct ad_migration {
	int64_t version;
	const char *description;
	const char *ddl;
};
extern const struct ad_migration ad_migrations[];
extern const size_t ad_n_migrations;

/* ------------------------------------------------------------ ops table */
struct ad_store; /* one connection, backend-defined */

struct ad_store_ops {
	const char *scheme; /* "sqlite", "postgres" */
	/* target: the part after "scheme:" ("PATH" for sqlite, the conninfo for postgres). */
	int (*open)(const char *target, struct ad_store **out, struct vg_err *err);
	void (*close)(struct ad_store *s);
	/* Creates or upgrades the schema (idempotent, safe with concurrent openers). */
	int (*migrate)(struct ad_store *s, struct vg_err *err);
	int (*schema_version)(struct ad_store *s, int64_t *version, struct vg_err *err);

	int (*begin)(struct ad_store *s, struct vg_err *err);  /* write transaction */
	int (*commit)(struct ad_store *s, struct vg_err *err);
	void (*rollback)(struct ad_store *s);                   /* no-op outside a transaction */

	/* sessions */
	int (*session_insert)(struct ad_store *s, const struct ad_session *ss, struct vg_err *err);
	/* Updates state, tee_pubkey, appraisal, token, token_hash and expires of row ss->id. */
	int (*session_update)(struct ad_store *s, const struct ad_session *ss, struct vg_err *err);
	int (*session_get)(struct ad_store *s, const char *id, struct ad_session *out, struct vg_err *err);
	int (*session_get_by_token)(struct ad_store *s, const char *token_hash_hex, struct ad_session *out,
				    struct vg_err *err);
	/* Deletes sessions with expires <= now; *n = rows deleted (may be NULL). */
	int (*session_purge)(struct ad_store *s, int64_t now, int64_t *n, struct vg_err *err);
	int (*session_count)(struct ad_store *s, int64_t now, int64_t *n, struct vg_err *err);

	/* policy versions */
	int (*policy_insert)(struct ad_store *s, const struct ad_policy_version *p, struct vg_err *err);
	int (*policy_latest)(struct ad_store *s, struct ad_policy_version *out, struct vg_err *err);
	/* -ENOENT when no version has this digest; else the newest such version. */
	int (*policy_by_digest)(struct ad_store *s, const char *digest_hex, struct ad_policy_version *out,
				struct vg_err *err);

	/* resources (ciphertext only) */
	int (*resource_put)(struct ad_store *s, const struct ad_resource *r, struct vg_err *err); /* insert or replace */
	int (*resource_get)(struct ad_store *s, const char *path, struct ad_resource *out, struct vg_err *err);
	int (*resource_delete)(struct ad_store *s, const char *path, struct vg_err *err); /* -ENOENT */
	/* Every resource in path order; cb returning non-zero stops and is returned. */
	int (*resource_each)(struct ad_store *s, int (*cb)(void *arg, const struct ad_resource *r), void *arg,
			     struct vg_err *err);

	/* audit (append only through ad_audit_append) */
	/* Last record's seq and hash (0 and 64 zeros when empty); inside a transaction it locks the head. */
	int (*audit_head)(struct ad_store *s, int64_t *seq, char hash[AD_HASH_HEX], struct vg_err *err);
	/* Inserts the record and moves the head to it, in the caller's transaction. */
	int (*audit_insert)(struct ad_store *s, const struct ad_audit_rec *r, struct vg_err *err);
	/* Records with seq >= from in seq order, at most limit (0 = all); cb non-zero stops. */
	int (*audit_each)(struct ad_store *s, int64_t from, int64_t limit,
			  int (*cb)(void *arg, const struct ad_audit_rec *r), void *arg, struct vg_err *err);
};

/* The backends compiled in. */
extern const struct ad_store_ops ad_store_sqlite_ops;
extern const struct ad_store_ops ad_store_postgres_ops; /* postgres.c */

/* A connection with its ops. */
struct ad_db {
	const struct ad_store_ops *ops;
	struct ad_store *s;
};

/* spec: "sqlite:PATH" (PATH relative to the working directory; append
 * "?sync=full" for fsync on every commit, the default is "normal": a commit
 * survives the process being killed, not power loss), "postgres://..." or
 * "postgresql://..." when that backend is built. Opens and migrates. */
int ad_db_open(const char *spec, struct ad_db *db, struct vg_err *err);
void ad_db_close(struct ad_db *db);

/* -------------------------------------------------------- audit chain */
/* hash = hex SHA-256 of the record's canonical encoding (fields above, each
 * as 8-byte big-endian length + bytes; integers as decimal text). */
void ad_audit_hash(const struct ad_audit_rec *r, char out[AD_HASH_HEX]);
/* Appends a record inside the caller's transaction: fills seq, ts (if 0),
 * prev_hash and hash from the head. detail may be NULL ("{}"). */
int ad_audit_append(struct ad_db *db, struct ad_audit_rec *r, struct vg_err *err);
/* Walks the whole chain. 0 = intact (*count records); -EBADMSG = broken, err
 * names the first bad record and why (edited, missing, reordered, inserted,
 * head mismatch). */
int ad_audit_verify(struct ad_db *db, int64_t *count, struct vg_err *err);

#endif /* VIGIL_ATTESTD_STORE_H */
