/* Service state: token key and JWKS, admin keys, simulated roots, KEK, and the
 * current policy with its stored versions. */
#include "attestd/attestd.h"
#include "attestd/collateral/collateral.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

int ad_audit(struct ad_db *db, const char *kind, const char *actor, const char *resource, const char *outcome,
	     json_t *detail, struct vg_err *err)
{
	struct ad_audit_rec r;
	memset(&r, 0, sizeof(r));
	snprintf(r.kind, sizeof(r.kind), "%s", kind);
	snprintf(r.actor, sizeof(r.actor), "%s", actor ? actor : "system");
	snprintf(r.resource, sizeof(r.resource), "%s", resource ? resource : "");
	snprintf(r.outcome, sizeof(r.outcome), "%s", outcome);
	if (detail)
		r.detail = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(detail);
	int rc = ad_audit_append(db, &r, err);
	ad_audit_rec_clear(&r);
	return rc;
}

/* -------------------------------------------------------------- policy */
struct ad_policy_ref *ad_policy_get(struct ad_service *s)
{
	pthread_mutex_lock(&s->lock);
	struct ad_policy_ref *r = s->policy;
	if (r)
		atomic_fetch_add(&r->refs, 1);
	pthread_mutex_unlock(&s->lock);
	return r;
}

void ad_policy_put(struct ad_policy_ref *r)
{
	if (r && atomic_fetch_sub(&r->refs, 1) == 1) {
		pol_free(r->pol);
		free(r);
	}
}

static void policy_swap(struct ad_service *s, struct ad_policy_ref *n)
{
	pthread_mutex_lock(&s->lock);
	struct ad_policy_ref *old = s->policy;
	s->policy = n;
	pthread_mutex_unlock(&s->lock);
	ad_policy_put(old);
}

static void digest_hex(const char *body, size_t len, char out[AD_HASH_HEX])
{
	uint8_t d[32];
	unsigned dl = 0;
	EVP_Digest(body, len, d, &dl, EVP_sha256(), NULL);
	vg_hex_encode(d, 32, out);
}

static struct ad_policy_ref *ref_new(struct pol_policy *p, int64_t version, const char *digest)
{
	struct ad_policy_ref *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->pol = p;
	r->version = version;
	snprintf(r->digest, sizeof(r->digest), "%s", digest);
	atomic_init(&r->refs, 1);
	return r;
}

int ad_policy_install(struct ad_service *s, struct ad_db *db, const char *json, size_t len, const char *source,
		      const char *actor, struct vg_err *err)
{
	struct pol_policy *p = NULL;
	int rc = pol_load(json, len, &p, err);
	if (rc)
		return rc;
	struct ad_policy_version v = {0};
	digest_hex(json, len, v.digest);
	snprintf(v.source, sizeof(v.source), "%s", source);
	v.created = time(NULL);
	v.body = strndup(json, len);
	if (!v.body) {
		pol_free(p);
		return vg_err_set(err, ENOMEM, "out of memory");
	}
	struct ad_policy_version last = {0};
	if ((rc = db->ops->begin(db->s, err)))
		goto out;
	rc = db->ops->policy_latest(db->s, &last, err);
	if (rc && rc != -ENOENT)
		goto fail;
	v.id = rc ? 1 : last.id + 1;
	ad_policy_version_clear(&last);
	if ((rc = db->ops->policy_insert(db->s, &v, err)))
		goto fail;
	json_t *sum = pol_summary_json(p);
	if ((rc = ad_audit(db, "policy.install", actor, "", "ok",
			   json_pack("{s:I,s:s,s:s,s:b,s:o?}", "version", (json_int_t)v.id, "digest", v.digest,
				     "source", source, "simulated", pol_accepts_simulated(p), "summary", sum),
			   err)))
		goto fail;
	if ((rc = db->ops->commit(db->s, err)))
		goto out;
	struct ad_policy_ref *r = ref_new(p, v.id, v.digest);
	if (!r) {
		rc = vg_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	p = NULL;
	policy_swap(s, r);
	ad_log(VG_LOG_INFO, "policy.installed",
	       json_pack("{s:I,s:s,s:s}", "version", (json_int_t)v.id, "digest", v.digest, "source", source));
	goto out;
fail:
	db->ops->rollback(db->s);
out:
	pol_free(p);
	ad_policy_version_clear(&v);
	return rc;
}

static int read_policy_file(struct ad_service *s, uint8_t **buf, size_t *len, struct vg_err *err)
{
	int rc = vg_read_file(s->cfg.policy, POL_MAX_SIZE, buf, len, err);
	if (rc)
		vg_err_prefix(err, "--policy");
	return rc;
}

int ad_policy_startup(struct ad_service *s, struct ad_db *db, struct vg_err *err)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = read_policy_file(s, &buf, &len, err);
	if (rc)
		return rc;
	char digest[AD_HASH_HEX], source[1100];
	digest_hex((const char *)buf, len, digest);
	snprintf(source, sizeof(source), "file:%s", s->cfg.policy);
	struct ad_policy_version known = {0}, latest = {0};
	if (db->ops->policy_by_digest(db->s, digest, &known, NULL) == 0 &&
	    db->ops->policy_latest(db->s, &latest, NULL) == 0) {
		/* The file was seen before: the newest stored version (maybe an admin upload) stays current. */
		struct pol_policy *p = NULL;
		struct vg_err e2 = {0};
		if (pol_load(latest.body, strlen(latest.body), &p, &e2) == 0) {
			struct ad_policy_ref *r = ref_new(p, latest.id, latest.digest);
			if (r) {
				policy_swap(s, r);
				ad_log(VG_LOG_INFO, "policy.current",
				       json_pack("{s:I,s:s,s:s}", "version", (json_int_t)latest.id, "digest", latest.digest,
						 "source", latest.source));
				ad_policy_version_clear(&known);
				ad_policy_version_clear(&latest);
				free(buf);
				return 0;
			}
			pol_free(p);
		} else {
			ad_logf(VG_LOG_WARN, "policy.stored_invalid", "stored policy version %lld no longer loads (%s); using --policy",
				(long long)latest.id, e2.msg);
		}
	}
	ad_policy_version_clear(&known);
	ad_policy_version_clear(&latest);
	rc = ad_policy_install(s, db, (const char *)buf, len, source, "system", err);
	free(buf);
	if (rc)
		vg_err_prefix(err, "--policy %s", s->cfg.policy);
	return rc;
}

int ad_policy_reload(struct ad_service *s, struct ad_db *db, struct vg_err *err)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = read_policy_file(s, &buf, &len, err);
	if (rc)
		return rc;
	char source[1100];
	snprintf(source, sizeof(source), "file:%s (SIGHUP)", s->cfg.policy);
	rc = ad_policy_install(s, db, (const char *)buf, len, source, "system", err);
	free(buf);
	return rc;
}

/* ---------------------------------------------------------------- keys */
static int load_admin_key(struct ad_service *s, const char *file, struct vg_err *err)
{
	uint8_t *b = NULL;
	size_t n = 0;
	int rc = vg_read_file(file, 65536, &b, &n, err);
	if (rc)
		return vg_err_prefix(err, "--admin-key");
	BIO *bio = BIO_new_mem_buf(b, (int)n);
	EVP_PKEY *k = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	free(b);
	if (!k)
		return vg_err_set(err, EINVAL, "--admin-key %s: not a PEM public key", file);
	enum att_jws_alg alg = att_jws_alg_for_key(k);
	if (alg != ATT_JWS_EDDSA && alg != ATT_JWS_ES256) {
		EVP_PKEY_free(k);
		return vg_err_set(err, EINVAL, "--admin-key %s: want an Ed25519 (EdDSA) or P-256 (ES256) public key", file);
	}
	json_t *jwk = att_jwk_from_pkey(k, err);
	size_t i = s->n_admin_keys;
	if (!jwk || att_jwk_thumbprint(jwk, s->admin_kids[i], err)) {
		json_decref(jwk);
		EVP_PKEY_free(k);
		return vg_err_prefix(err, "--admin-key %s", file);
	}
	json_decref(jwk);
	s->admin_keys[i] = k;
	s->n_admin_keys++;
	return 0;
}

static int load_sim_root(struct ad_service *s, const char *file, struct vg_err *err)
{
	uint8_t *b = NULL;
	size_t n = 0;
	int rc = vg_read_file(file, 1 << 20, &b, &n, err);
	if (rc)
		return vg_err_prefix(err, "--trust-sim-root");
	rc = att_anchor_load(b, n, &s->sim_roots[s->n_sim_roots], err);
	free(b);
	if (rc)
		return vg_err_prefix(err, "--trust-sim-root %s", file);
	s->n_sim_roots++;
	return 0;
}

struct kek_scan {
	const char *id;
	bool hit;
};

static int kek_scan_cb(void *arg, const struct ad_resource *res)
{
	struct kek_scan *sc = arg;
	if (!strcmp(res->kek_id, sc->id))
		sc->hit = true;
	return 0;
}

/* A rotate-kek interrupted after its commit leaves STATE/kek.new holding the KEK the rows use. */
static int kek_recover(struct ad_service *s, struct ad_db *db, struct vg_err *err)
{
	char nk[1100], ck[1100];
	snprintf(nk, sizeof(nk), "%s/kek.new", s->cfg.state_dir);
	snprintf(ck, sizeof(ck), "%s/kek", s->cfg.state_dir);
	if (s->cfg.kek_file[0] || access(nk, F_OK))
		return 0;
	struct ad_kek newk;
	if (ad_kek_read(nk, &newk, err))
		return vg_err_prefix(err, "recovering an interrupted rotate-kek");
	struct kek_scan sc = {newk.id, false};
	int rc = db->ops->resource_each(db->s, kek_scan_cb, &sc, err);
	if (rc) {
		ad_kek_clear(&newk);
		return rc;
	}
	if (sc.hit) {
		if (rename(nk, ck)) {
			ad_kek_clear(&newk);
			return vg_err_set(err, errno, "rename %s -> %s: %s", nk, ck, strerror(errno));
		}
		s->kek = newk;
		ad_logf(VG_LOG_WARN, "kek.recovered", "completed an interrupted rotate-kek: %s is now the KEK", ck);
	} else {
		unlink(nk);
	}
	ad_kek_clear(&newk);
	return 0;
}

struct kek_check {
	const char *id;
	char bad[256];
	char bad_id[24];
};

static int kek_check_cb(void *arg, const struct ad_resource *r)
{
	struct kek_check *k = arg;
	if (strcmp(r->kek_id, k->id)) {
		snprintf(k->bad, sizeof(k->bad), "%s", r->path);
		snprintf(k->bad_id, sizeof(k->bad_id), "%s", r->kek_id);
		return 1;
	}
	return 0;
}

int ad_service_init(struct ad_service *s, const struct ad_config *cfg, struct vg_err *err)
{
	memset(s, 0, sizeof(*s));
	s->cfg = *cfg;
	pthread_mutex_init(&s->lock, NULL);
	atomic_init(&s->live_sessions, 0);
	atomic_init(&s->stopping, false);
	atomic_init(&s->reload, false);
	if (mkdir(cfg->state_dir, 0700) && errno != EEXIST)
		return vg_err_set(err, errno, "--state-dir %s: %s", cfg->state_dir, strerror(errno));
	int rc;
	for (size_t i = 0; i < cfg->n_admin_keys; i++)
		if ((rc = load_admin_key(s, cfg->admin_keys[i], err)))
			return rc;
	for (size_t i = 0; i < cfg->n_sim_roots; i++)
		if ((rc = load_sim_root(s, cfg->sim_roots[i], err)))
			return rc;
	if (cfg->tdx_collateral[0]) {
		if ((rc = att_tdx_collateral_load_dir(cfg->tdx_collateral, &s->tdx_coll, err)))
			return vg_err_prefix(err, "--tdx-collateral");
		s->have_tdx_coll = true;
	}
	if (cfg->coll_dir[0]) { /* offline VCEK / collateral cache (attestd/collateral/) */
		struct ad_coll_cfg cc = {cfg->coll_dir, cfg->kds_url[0] ? cfg->kds_url : NULL,
					 cfg->pcs_url[0] ? cfg->pcs_url : NULL, 10};
		if ((rc = ad_coll_open(&cc, &s->coll, err)))
			return rc;
	} else if (cfg->kds_url[0] || cfg->pcs_url[0]) {
		return vg_err_set(err, EINVAL, "--kds-url / --pcs-url need --collateral-cache DIR");
	}
	if ((rc = pol_token_key_load_or_create(cfg->token_key[0] ? cfg->token_key : NULL, cfg->state_dir, &s->token_key,
					       s->token_kid, err)))
		return vg_err_prefix(err, "token key");
	const char *kids[1] = {s->token_kid};
	s->jwks = pol_jwks(&s->token_key, kids, 1);
	if (!s->jwks || !(s->jwks_text = json_dumps(s->jwks, JSON_COMPACT)))
		return vg_err_set(err, ENOMEM, "JWKS of the token key failed");
	if ((rc = ad_kek_load(cfg->kek_file, cfg->state_dir, &s->kek, err)))
		return rc;
	struct ad_db db;
	if ((rc = ad_db_open(cfg->db, &db, err)))
		return rc;
	if ((rc = kek_recover(s, &db, err)))
		goto out;
	struct kek_check kc = {.id = s->kek.id};
	rc = db.ops->resource_each(db.s, kek_check_cb, &kc, err);
	if (rc == 1) {
		rc = vg_err_set(err, EKEYREJECTED,
				"resource %s is sealed under KEK %s but this service has KEK %s (wrong --kek-file?)", kc.bad,
				kc.bad_id, s->kek.id);
		goto out;
	}
	if (rc)
		goto out;
	if ((rc = ad_policy_startup(s, &db, err)))
		goto out;
	int64_t live = 0;
	if (!db.ops->session_purge(db.s, time(NULL), NULL, NULL) && !db.ops->session_count(db.s, time(NULL), &live, NULL))
		atomic_store(&s->live_sessions, live);
	if (pol_accepts_simulated(s->policy->pol) && !s->n_sim_roots)
		ad_logf(VG_LOG_WARN, "policy.simulated", "the policy accepts simulated evidence but no --trust-sim-root is given");
	if (s->n_sim_roots)
		ad_logf(VG_LOG_WARN, "trust.simulated",
			"%zu simulated root(s) trusted: evidence chaining to them is marked simulated", s->n_sim_roots);
out:
	ad_db_close(&db);
	return rc;
}

void ad_service_free(struct ad_service *s)
{
	ad_policy_put(s->policy);
	s->policy = NULL;
	EVP_PKEY_free(s->token_key);
	json_decref(s->jwks);
	free(s->jwks_text);
	for (size_t i = 0; i < s->n_admin_keys; i++)
		EVP_PKEY_free(s->admin_keys[i]);
	for (size_t i = 0; i < s->n_sim_roots; i++)
		att_anchor_free(s->sim_roots[i]);
	if (s->have_tdx_coll)
		att_tdx_collateral_free(&s->tdx_coll);
	ad_coll_free(s->coll);
	s->coll = NULL;
	ad_kek_clear(&s->kek);
	pthread_mutex_destroy(&s->lock);
}

void ad_policy_follow(struct ad_service *s, struct ad_db *db)
{
	/* Staleness at most a second: skip only when a check COMPLETED less than
	 * 1000 ms ago (concurrent checkers may both look; the query is cheap). */
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	int64_t now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (now_ms - atomic_load(&s->policy_checked) < 1000)
		return;
	struct ad_policy_ref *cur = ad_policy_get(s);
	int64_t have = cur ? cur->version : 0;
	ad_policy_put(cur);
	struct ad_policy_version latest = {0};
	int rc = db->ops->policy_latest(db->s, &latest, NULL);
	if (!rc)
		atomic_store(&s->policy_checked, now_ms);
	if (rc || latest.id <= have) {
		ad_policy_version_clear(&latest);
		return;
	}
	struct pol_policy *p = NULL;
	struct vg_err e = {0};
	struct ad_policy_ref *r = NULL;
	if (pol_load(latest.body, strlen(latest.body), &p, &e) == 0 && (r = ref_new(p, latest.id, latest.digest))) {
		policy_swap(s, r);
		ad_log(VG_LOG_INFO, "policy.followed",
		       json_pack("{s:I,s:s,s:s}", "version", (json_int_t)latest.id, "digest", latest.digest, "source",
				 latest.source));
	} else {
		pol_free(p);
		ad_logf(VG_LOG_WARN, "policy.follow_failed", "stored policy version %lld does not load: %s",
			(long long)latest.id, e.msg[0] ? e.msg : "out of memory");
	}
	ad_policy_version_clear(&latest);
}
