/*
 * attestd/: vigil-attestd, the remote-attestation service (Trustee KBS
 * protocol 0.4.0). The one public header of this directory; prefix ad_.
 * Storage lives behind attestd/store/store.h.
 *
 *   http.c      libevent evhttp front end (threads, TLS, bounds) -> ad_handle()
 *   route.c     routing, RFC 7807 errors, metrics accounting
 *   kbs.c       /kbs/v0/auth, /attest, GET /resource (the attester side)
 *   evidence.c  evidence decoding and the calls into attest/ (verification)
 *   admin.c     admin API (Bearer JWT signed by an admin key)
 *   parse.c     bounded parsers of request bodies, cookies, paths (fuzzed)
 *   service.c   keys, policy versions, KEK, shared state
 *   kek.c       AES-256-GCM sealing of resources under the KEK
 *   config.c    command line and --config JSON
 *   metrics.c   Prometheus counters and latency histogram
 *   log.c       JSON-lines logging on stderr
 *   tools.c     `audit verify|export`, `rotate-kek`
 */
#ifndef VIGIL_ATTESTD_H
#define VIGIL_ATTESTD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>
#include <openssl/types.h>

#include "attest/attest.h"
#include "attestd/store/store.h"
#include "common/common.h"
#include "policy/policy.h"

#define AD_KBS_VERSION "0.4.0"
#define AD_ERR_PREFIX "https://github.com/confidential-containers/kbs/errors/"
#define AD_MAX_ADMIN_KEYS 8
#define AD_MAX_SIM_ROOTS 8
#define AD_KEK_LEN 32

/* ---------------------------------------------------------------- config */
struct ad_config {
	char listen[256];          /* host:port */
	char state_dir[1024];
	char policy[1024];
	char db[1200];             /* "sqlite:PATH" etc.; default sqlite:STATE_DIR/attestd.db */
	char tls_cert[1024], tls_key[1024];
	char token_key[1024];
	char kek_file[1024];
	char tdx_collateral[1024]; /* optional collateral directory for TDX TCB evaluation */
	char coll_dir[1024];       /* --collateral-cache (attestd/collateral/), "" = none */
	char kds_url[512], pcs_url[512]; /* --kds-url / --pcs-url, "" = offline */
	char admin_keys[AD_MAX_ADMIN_KEYS][1024];
	size_t n_admin_keys;
	char sim_roots[AD_MAX_SIM_ROOTS][1024];
	size_t n_sim_roots;
	bool allow_plain_http;     /* plain HTTP on a non-loopback address */
	int threads;               /* worker threads (default 2) */
	int max_connections;       /* default 256 */
	int max_sessions;          /* default 10000 */
	int session_seconds;       /* default 300 */
	int timeout_seconds;       /* per-connection read/write timeout, default 10 */
	long max_body;             /* largest request body, default 1 MiB (policy upload: 2x) */
	long max_headers;          /* default 8 KiB */
	char issuer[256];          /* EAR "iss", default "vigil-attestd" */
	bool debug;
};
/* Defaults, then --config FILE (if any argv names one), then flags. Returns 0,
 * or 2 (usage; message printed) or 1 for --help/--version handled (exit 0). */
int ad_config_parse(int argc, char **argv, struct ad_config *c, struct vg_err *err);
void ad_config_usage(FILE *f);

/* --------------------------------------------------------------- logging */
/* One JSON object per line on stderr: {"ts","level","event", fields...}. fields
 * is stolen (may be NULL). Never pass secrets. */
void ad_log(enum vg_log_level level, const char *event, json_t *fields);
void ad_logf(enum vg_log_level level, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* --------------------------------------------------------------- metrics */
enum ad_ep { AD_EP_AUTH, AD_EP_ATTEST, AD_EP_RESOURCE, AD_EP_ADMIN, AD_EP_JWKS, AD_EP_OTHER, AD_EP_COUNT };
void ad_metrics_request(enum ad_ep ep, int status, double seconds);
void ad_metrics_verdict(enum pol_status st);
void ad_metrics_release(void);
void ad_metrics_denial(void);
void ad_metrics_sessions(int64_t live);
char *ad_metrics_text(void); /* Prometheus exposition format, malloc'd */

/* ------------------------------------------------------------------- KEK */
struct ad_kek {
	uint8_t key[AD_KEK_LEN];
	char id[24]; /* hex of the first 8 bytes of SHA-256(key) */
};
/* From file (32 raw bytes or 64 hex digits), or when file is NULL/"" generated
 * once into STATE_DIR/kek (0600) with a warning. */
int ad_kek_load(const char *file, const char *state_dir, struct ad_kek *k, struct vg_err *err);
int ad_kek_read(const char *file, struct ad_kek *k, struct vg_err *err);
int ad_kek_generate(struct ad_kek *k, struct vg_err *err);
void ad_kek_clear(struct ad_kek *k);
/* Seals plaintext for `path` into r (iv, ciphertext||tag, kek_id, size). */
int ad_kek_seal(const struct ad_kek *k, const char *path, const uint8_t *pt, size_t len, struct ad_resource *r,
		struct vg_err *err);
/* Opens r; *pt is malloc'd plaintext (caller cleanses and frees). */
int ad_kek_open(const struct ad_kek *k, const struct ad_resource *r, uint8_t **pt, size_t *len, struct vg_err *err);

/* ------------------------------------------------------------- parsers */
/* Bounded parsers of untrusted request parts (fuzzed in tests/fuzz). */
struct ad_auth_req {
	char version[32];
	char tee[16];
};
int ad_parse_auth(const uint8_t *body, size_t len, struct ad_auth_req *out, struct vg_err *err);

struct ad_attest_req {
	json_t *root;              /* owned: the whole body */
	const char *nonce;         /* runtime-data.nonce */
	json_t *tee_pubkey;        /* runtime-data.tee-pubkey (borrowed from root) */
	json_t *primary;           /* tee-evidence.primary_evidence (borrowed) */
	const char *additional;    /* tee-evidence.additional_evidence ("" when absent) */
	const char *init_format;   /* init-data.format or NULL */
	const char *init_body;     /* init-data.body or NULL */
};
int ad_parse_attest(const uint8_t *body, size_t len, struct ad_attest_req *out, struct vg_err *err);
void ad_attest_req_free(struct ad_attest_req *r);

/* Decoded evidence. SNP: report (1184 bytes) + certificates; TDX: quote + CCEL. */
struct ad_evidence {
	enum att_platform platform;
	uint8_t *report;           /* SNP report or TDX quote */
	size_t report_len;
	uint8_t *vcek;             /* SNP VCEK/VLEK DER or NULL */
	size_t vcek_len;
	bool vlek;
	uint8_t *ask, *ark;        /* SNP ASK (or ASVK) and ARK DER, or NULL */
	size_t ask_len, ark_len;
	uint8_t *ccel;             /* TDX CC event log or NULL */
	size_t ccel_len;
};
/* tee: "snp" or "tdx"; primary: the primary_evidence value (an object, or a
 * string holding the JSON of one). */
int ad_parse_evidence(const char *tee, const json_t *primary, struct ad_evidence *out, struct vg_err *err);
void ad_evidence_free(struct ad_evidence *e);

/* "kbs-session-id=<32 hex>" anywhere in a Cookie header. */
int ad_parse_cookie(const char *cookie, char id[40], struct vg_err *err);
/* "Bearer <token>" -> token (points into header). */
int ad_parse_bearer(const char *authz, const char **token, size_t *len, struct vg_err *err);
/* "/kbs/v0/resource/<repo>/<type>/<tag>" -> "repo/type/tag"; each segment
 * [A-Za-z0-9._-]{1,64}, not "." or "..". */
int ad_parse_resource_path(const char *uri_path, char out[256], struct vg_err *err);

/* --------------------------------------------------------------- service */
struct ad_policy_ref {
	struct pol_policy *pol;
	int64_t version;
	char digest[AD_HASH_HEX];
	atomic_int refs;
};

struct ad_service {
	struct ad_config cfg;
	EVP_PKEY *token_key;
	char token_kid[64];
	json_t *jwks;                 /* /.well-known/jwks.json body */
	char *jwks_text;
	EVP_PKEY *admin_keys[AD_MAX_ADMIN_KEYS];
	char admin_kids[AD_MAX_ADMIN_KEYS][64];
	size_t n_admin_keys;
	struct att_anchor *sim_roots[AD_MAX_SIM_ROOTS];
	size_t n_sim_roots;
	struct att_tdx_collateral tdx_coll;
	bool have_tdx_coll;
	struct ad_kek kek;
	pthread_mutex_t lock;         /* guards `policy` swaps */
	struct ad_policy_ref *policy;
	atomic_int_fast64_t live_sessions;
	atomic_bool stopping;
	struct ad_coll *coll;         /* offline VCEK / collateral cache or NULL (collateral.h) */
	atomic_int_fast64_t policy_checked; /* CLOCK_MONOTONIC ms of the last completed ad_policy_follow check */
	atomic_bool reload;
};

/* Per-thread state: its own database connection and verifier caches. */
struct ad_worker_cache;
struct ad_worker {
	struct ad_service *svc;
	struct ad_db db;
	struct ad_worker_cache *cache;
	int index;
};

int ad_service_init(struct ad_service *s, const struct ad_config *cfg, struct vg_err *err);
void ad_service_free(struct ad_service *s);
int ad_worker_init(struct ad_worker *w, struct ad_service *s, int index, struct vg_err *err);
void ad_worker_free(struct ad_worker *w);
/* The current policy (reference held until ad_policy_put). */
struct ad_policy_ref *ad_policy_get(struct ad_service *s);
void ad_policy_put(struct ad_policy_ref *r);
/* Loads a policy document, records it as a new version (audit record in the same
 * transaction) and makes it current. source: "file:PATH" / "admin:KID". */
int ad_policy_install(struct ad_service *s, struct ad_db *db, const char *json, size_t len, const char *source,
		      const char *actor, struct vg_err *err);
/* Startup: the --policy file, or the newest stored version when the file's
 * digest is already known (admin uploads survive restarts). */
int ad_policy_startup(struct ad_service *s, struct ad_db *db, struct vg_err *err);
/* Several instances on one database: adopt a newer stored policy version
 * (an admin upload through another instance): at most a second stale. */
void ad_policy_follow(struct ad_service *s, struct ad_db *db);
/* SIGHUP: reload the --policy file. */
int ad_policy_reload(struct ad_service *s, struct ad_db *db, struct vg_err *err);

/* Audit helper: one record in the caller's transaction. detail is stolen. */
int ad_audit(struct ad_db *db, const char *kind, const char *actor, const char *resource, const char *outcome,
	     json_t *detail, struct vg_err *err);

/* {"seq","ts_ms","kind","actor","resource" (repository/type/tag),"outcome","detail",
 *  "prev_hash","hash"}; new reference. */
json_t *ad_audit_rec_json(const struct ad_audit_rec *r);

/* ---------------------------------------------------------- request path */
struct ad_req {
	int method;                /* AD_GET, AD_POST, AD_DELETE, AD_OTHER */
	const char *path;          /* decoded path, no query */
	const char *query;         /* raw query or NULL */
	const char *cookie;        /* Cookie header or NULL */
	const char *authorization; /* Authorization header or NULL */
	const char *content_type;
	const uint8_t *body;
	size_t body_len;
	const char *peer;          /* "ip:port" for logs */
};
enum { AD_GET = 1, AD_POST, AD_DELETE, AD_PUT, AD_OTHER };

struct ad_resp {
	int status;
	const char *content_type;  /* default application/json */
	struct vg_buf body;
	char set_cookie[160];
	bool secret;               /* body carries key material: cleansed after sending */
	enum ad_ep ep;
};
void ad_resp_json(struct ad_resp *r, int status, json_t *j); /* j stolen */
void ad_resp_text(struct ad_resp *r, int status, const char *ctype, const char *text, size_t len);
/* RFC 7807 body {"type": AD_ERR_PREFIX type, "detail": ...}. */
void ad_resp_error(struct ad_resp *r, int status, const char *type, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void ad_resp_free(struct ad_resp *r);

/* Dispatch one request (any thread, its own worker). */
void ad_handle(struct ad_worker *w, const struct ad_req *req, struct ad_resp *resp);
void ad_kbs_auth(struct ad_worker *w, const struct ad_req *req, struct ad_resp *resp);
void ad_kbs_attest(struct ad_worker *w, const struct ad_req *req, struct ad_resp *resp);
void ad_kbs_resource(struct ad_worker *w, const struct ad_req *req, const char *path, struct ad_resp *resp);
void ad_admin(struct ad_worker *w, const struct ad_req *req, struct ad_resp *resp);
/* Verifies the evidence of an attestation with the worker's verifier caches
 * (attest/ does every check); res is filled. */
int ad_verify_evidence(struct ad_worker *w, const struct ad_evidence *ev, struct att_result *res,
		       struct vg_err *err);

/* ------------------------------------------------------------ front end */
/* Binds, serves with cfg.threads workers until SIGTERM; SIGHUP reloads policy. */
int ad_serve(struct ad_service *s, struct vg_err *err);

/* --------------------------------------------------------------- client */
/* client.c: libcurl KBS/admin client for `vigil kbs`, tests and bench/attestd. */
struct ad_http {
	void *curl;      /* CURL *: one keep-alive connection */
	char base[256];  /* "http://127.0.0.1:8080" */
	char cacert[1024];
};
struct ad_http_resp {
	long status;
	struct vg_buf body; /* NUL-terminated */
	char cookie[160];   /* "kbs-session-id=..." from Set-Cookie */
};
int ad_http_init(struct ad_http *h, const char *base_url, const char *cacert, struct vg_err *err);
void ad_http_free(struct ad_http *h);
/* headers: NULL-terminated "Name: value" strings (a NULL entry ends the list). */
int ad_http_do(struct ad_http *h, const char *method, const char *path, const char *const *headers,
	       const void *body, size_t len, struct ad_http_resp *out, struct vg_err *err);
void ad_http_resp_free(struct ad_http_resp *r);
/* An admin JWT {"iat","exp": now+ttl} signed EdDSA (Ed25519) or ES256 (P-256). */
int ad_admin_token(EVP_PKEY *key, long ttl, char **jwt, struct vg_err *err);
int ad_load_private_key(const char *file, EVP_PKEY **out, struct vg_err *err);

/* The simulated platforms as a development guest uses them (tests, bench). */
struct ad_sim {
	struct sev_sim_snp *snp;
	struct tdx_sim *tdx;
	struct sev_sim_snp_guest guest; /* what the SNP report says (measurement, policy, host_data) */
	struct tdx_sim_td td;           /* what the TDX quote says (mrtd, mrconfigid, ...) */
	uint8_t *vcek, *ask, *ark;      /* DER */
	size_t vcek_len, ask_len, ark_len;
};
int ad_sim_open(const char *state_dir, struct ad_sim *s, struct vg_err *err);
void ad_sim_close(struct ad_sim *s);
/* primary_evidence for tee "snp"/"tdx" over rd; tamper != 0 flips a signed bit. */
json_t *ad_sim_evidence(struct ad_sim *s, const char *tee, const uint8_t rd[64], int tamper, struct vg_err *err);
int ad_cli_auth(struct ad_http *h, const char *tee, const char *version, char cookie[160], char nonce[64],
		struct ad_http_resp *r, struct vg_err *err);
/* The Attestation body; evidence is stolen. */
json_t *ad_cli_attestation(const char *nonce, const json_t *tee_jwk, json_t *evidence, const char *init_data_toml);
int ad_cli_post_json(struct ad_http *h, const char *path, const char *cookie, const json_t *body,
		     struct ad_http_resp *r, struct vg_err *err);

/* ------------------------------------------------------------- commands */
int ad_cmd_audit(int argc, char **argv);     /* audit verify|export */
int ad_cmd_rotate_kek(int argc, char **argv);

#endif /* VIGIL_ATTESTD_H */
