/* vigil-attestd configuration: defaults, then --config attestd.json, then flags. */
#include "attestd/attestd.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ad_config_usage(FILE *f)
{
	fprintf(f,
		"usage: vigil-attestd --listen HOST:PORT --state-dir DIR --policy POLICY.json --admin-key ADMIN_PUB.pem\n"
		"                     [--db sqlite:PATH] [--tls-cert F --tls-key F] [--token-key KEY.pem]\n"
		"                     [--kek-file F] [--trust-sim-root PEM]... [--config attestd.json]\n"
		"       vigil-attestd audit verify --state-dir DIR [--db ...]   exit 0 intact, 1 broken\n"
		"       vigil-attestd audit export --state-dir DIR [--db ...]   JSON lines\n"
		"       vigil-attestd rotate-kek --state-dir DIR [--db ...] [--kek-file CURRENT] [--new-kek-file NEW]\n"
		"\n"
		"The Trustee KBS protocol 0.4.0 service: releases resources only to guests whose evidence\n"
		"verifies and whose appraisal the policy's resource rules accept (docs/attestd.md).\n"
		"\n"
		"  --listen HOST:PORT      address to serve (plain HTTP only on loopback unless\n"
		"                          --allow-plain-http; HTTPS with --tls-cert/--tls-key)\n"
		"  --state-dir DIR         keys generated once (0600) and the default database\n"
		"  --policy FILE           appraisal and resource-rule policy (docs/policy.md); SIGHUP reloads\n"
		"  --admin-key PEM         admin public key (Ed25519 or P-256), repeatable\n"
		"  --db sqlite:PATH        store (default sqlite:STATE_DIR/attestd.db; ?sync=full to fsync)\n"
		"  --token-key PEM         EAR token signing key (default generated in STATE_DIR)\n"
		"  --kek-file F            key-encryption key, 32 bytes or 64 hex (default generated in STATE_DIR)\n"
		"  --trust-sim-root PEM    accept evidence chaining to this SIMULATED root, repeatable\n"
		"  --tdx-collateral DIR    Intel PCS collateral for TDX TCB evaluation\n"
		"  --collateral-cache DIR  offline VCEK / PCS collateral cache (KDS/PCS URL layout)\n"
		"  --kds-url URL           fetch missing VCEKs and chains from AMD KDS into the cache\n"
		"  --pcs-url URL           fetch missing or expired TDX collateral from Intel PCS / a PCCS\n"
		"  --allow-plain-http      serve plain HTTP on a non-loopback address\n"
		"  --threads N             worker threads (default 2)\n"
		"  --max-connections N     open connections (default 256); beyond, clients wait in the backlog\n"
		"  --max-sessions N        live sessions (default 10000)\n"
		"  --session-seconds N     session and token lifetime (default 300)\n"
		"  --timeout N             per-connection read/write timeout in seconds (default 10)\n"
		"  --max-body BYTES        largest request body (default 1048576)\n"
		"  --issuer NAME           EAR token issuer (default vigil-attestd)\n"
		"  --config FILE           JSON object with the same names (state_dir, admin_keys: [...],\n"
		"                          trust_sim_roots: [...], ...); flags override it\n"
		"  --debug                 debug logging\n"
		"Logs are JSON lines on stderr. Exit status: 0 ok, 1 failed check, 2 usage or I/O error.\n");
}

static void defaults(struct ad_config *c)
{
	memset(c, 0, sizeof(*c));
	c->threads = 2;
	c->max_connections = 256;
	c->max_sessions = 10000;
	c->session_seconds = 300;
	c->timeout_seconds = 10;
	c->max_body = 1 << 20;
	c->max_headers = 8192;
	snprintf(c->issuer, sizeof(c->issuer), "vigil-attestd");
}

static int set_str(char *dst, size_t cap, const char *v, const char *name, struct vg_err *err)
{
	if (strlen(v) >= cap)
		return vg_err_set(err, ENAMETOOLONG, "%s: value too long", name);
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

static int set_int(int *dst, const char *v, long min, long max, const char *name, struct vg_err *err)
{
	uint64_t n = 0;
	if (vg_parse_u64(v, (uint64_t)max, &n, NULL) || (long)n < min)
		return vg_err_set(err, EINVAL, "%s: want an integer %ld..%ld, got '%s'", name, min, max, v);
	*dst = (int)n;
	return 0;
}

enum { O_LISTEN = 256, O_STATE, O_POLICY, O_ADMIN, O_DB, O_CERT, O_KEY, O_TOKEN, O_KEK, O_SIM, O_TDXC, O_PLAIN,
       O_THREADS, O_MAXCONN, O_MAXSESS, O_SESSSEC, O_TIMEOUT, O_MAXBODY, O_ISSUER, O_CONFIG, O_DEBUG, O_HELP,
       O_VERSION, O_COLL, O_KDS, O_PCS };

static const struct option opts[] = {
	{"listen", required_argument, NULL, O_LISTEN},
	{"state-dir", required_argument, NULL, O_STATE},
	{"policy", required_argument, NULL, O_POLICY},
	{"admin-key", required_argument, NULL, O_ADMIN},
	{"db", required_argument, NULL, O_DB},
	{"tls-cert", required_argument, NULL, O_CERT},
	{"tls-key", required_argument, NULL, O_KEY},
	{"token-key", required_argument, NULL, O_TOKEN},
	{"kek-file", required_argument, NULL, O_KEK},
	{"trust-sim-root", required_argument, NULL, O_SIM},
	{"tdx-collateral", required_argument, NULL, O_TDXC},
	{"collateral-cache", required_argument, NULL, O_COLL},
	{"kds-url", required_argument, NULL, O_KDS},
	{"pcs-url", required_argument, NULL, O_PCS},
	{"allow-plain-http", no_argument, NULL, O_PLAIN},
	{"threads", required_argument, NULL, O_THREADS},
	{"max-connections", required_argument, NULL, O_MAXCONN},
	{"max-sessions", required_argument, NULL, O_MAXSESS},
	{"session-seconds", required_argument, NULL, O_SESSSEC},
	{"timeout", required_argument, NULL, O_TIMEOUT},
	{"max-body", required_argument, NULL, O_MAXBODY},
	{"issuer", required_argument, NULL, O_ISSUER},
	{"config", required_argument, NULL, O_CONFIG},
	{"debug", no_argument, NULL, O_DEBUG},
	{"help", no_argument, NULL, O_HELP},
	{"version", no_argument, NULL, O_VERSION},
	{NULL, 0, NULL, 0},
};

static int apply(struct ad_config *c, int o, const char *v, bool *admin_reset, bool *sim_reset, struct vg_err *err)
{
	char numbuf[32];
	switch (o) {
	case O_LISTEN: return set_str(c->listen, sizeof(c->listen), v, "--listen", err);
	case O_STATE: return set_str(c->state_dir, sizeof(c->state_dir), v, "--state-dir", err);
	case O_POLICY: return set_str(c->policy, sizeof(c->policy), v, "--policy", err);
	case O_DB: return set_str(c->db, sizeof(c->db), v, "--db", err);
	case O_CERT: return set_str(c->tls_cert, sizeof(c->tls_cert), v, "--tls-cert", err);
	case O_KEY: return set_str(c->tls_key, sizeof(c->tls_key), v, "--tls-key", err);
	case O_TOKEN: return set_str(c->token_key, sizeof(c->token_key), v, "--token-key", err);
	case O_KEK: return set_str(c->kek_file, sizeof(c->kek_file), v, "--kek-file", err);
	case O_TDXC: return set_str(c->tdx_collateral, sizeof(c->tdx_collateral), v, "--tdx-collateral", err);
	case O_COLL: return set_str(c->coll_dir, sizeof(c->coll_dir), v, "--collateral-cache", err);
	case O_KDS: return set_str(c->kds_url, sizeof(c->kds_url), v, "--kds-url", err);
	case O_PCS: return set_str(c->pcs_url, sizeof(c->pcs_url), v, "--pcs-url", err);
	case O_ISSUER: return set_str(c->issuer, sizeof(c->issuer), v, "--issuer", err);
	case O_ADMIN:
		if (admin_reset && !*admin_reset) {
			c->n_admin_keys = 0;
			*admin_reset = true;
		}
		if (c->n_admin_keys >= AD_MAX_ADMIN_KEYS)
			return vg_err_set(err, E2BIG, "--admin-key: at most %d", AD_MAX_ADMIN_KEYS);
		return set_str(c->admin_keys[c->n_admin_keys++], sizeof(c->admin_keys[0]), v, "--admin-key", err);
	case O_SIM:
		if (sim_reset && !*sim_reset) {
			c->n_sim_roots = 0;
			*sim_reset = true;
		}
		if (c->n_sim_roots >= AD_MAX_SIM_ROOTS)
			return vg_err_set(err, E2BIG, "--trust-sim-root: at most %d", AD_MAX_SIM_ROOTS);
		return set_str(c->sim_roots[c->n_sim_roots++], sizeof(c->sim_roots[0]), v, "--trust-sim-root", err);
	case O_PLAIN: c->allow_plain_http = !v || !strcmp(v, "true"); return 0;
	case O_DEBUG: c->debug = !v || !strcmp(v, "true"); return 0;
	case O_THREADS: return set_int(&c->threads, v, 1, 64, "--threads", err);
	case O_MAXCONN: return set_int(&c->max_connections, v, 1, 100000, "--max-connections", err);
	case O_MAXSESS: return set_int(&c->max_sessions, v, 1, 10000000, "--max-sessions", err);
	case O_SESSSEC: return set_int(&c->session_seconds, v, 1, 86400, "--session-seconds", err);
	case O_TIMEOUT: return set_int(&c->timeout_seconds, v, 1, 3600, "--timeout", err);
	case O_MAXBODY: {
		int n = 0;
		int rc = set_int(&n, v, 1024, 64 << 20, "--max-body", err);
		c->max_body = n;
		return rc;
	}
	default:
		(void)numbuf;
		return vg_err_set(err, EINVAL, "unknown option");
	}
}

/* --config: keys are the long option names with '_' for '-'; lists for the repeatables. */
static int load_config(struct ad_config *c, const char *file, struct vg_err *err)
{
	json_error_t je;
	json_t *j = json_load_file(file, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		return vg_err_set(err, EINVAL, "--config %s: line %d: %s", file, je.line, je.text);
	if (!json_is_object(j)) {
		json_decref(j);
		return vg_err_set(err, EINVAL, "--config %s: not a JSON object", file);
	}
	int rc = 0;
	const char *k;
	json_t *v;
	json_object_foreach(j, k, v)
	{
		char name[64];
		snprintf(name, sizeof(name), "%s", k);
		for (char *p = name; *p; p++)
			if (*p == '_')
				*p = '-';
		if (!strcmp(name, "admin-keys"))
			snprintf(name, sizeof(name), "admin-key");
		if (!strcmp(name, "trust-sim-roots"))
			snprintf(name, sizeof(name), "trust-sim-root");
		if (!strcmp(name, "timeout-seconds"))
			snprintf(name, sizeof(name), "timeout");
		const struct option *o = NULL;
		for (size_t i = 0; opts[i].name; i++)
			if (!strcmp(opts[i].name, name))
				o = &opts[i];
		if (!o || o->val == O_CONFIG || o->val == O_HELP || o->val == O_VERSION) {
			rc = vg_err_set(err, EINVAL, "--config %s: unknown key \"%s\"", file, k);
			break;
		}
		if (json_is_array(v)) {
			if (o->val != O_ADMIN && o->val != O_SIM) {
				rc = vg_err_set(err, EINVAL, "--config %s: \"%s\" is not a list", file, k);
				break;
			}
			size_t i;
			json_t *e;
			json_array_foreach(v, i, e)
			{
				if (!json_is_string(e)) {
					rc = vg_err_set(err, EINVAL, "--config %s: %s[%zu] is not a string", file, k, i);
					break;
				}
				if ((rc = apply(c, o->val, json_string_value(e), NULL, NULL, err)))
					break;
			}
		} else if (json_is_boolean(v)) {
			if (o->has_arg != no_argument) {
				rc = vg_err_set(err, EINVAL, "--config %s: \"%s\" is not a boolean option", file, k);
				break;
			}
			rc = apply(c, o->val, json_is_true(v) ? "true" : "false", NULL, NULL, err);
		} else if (json_is_integer(v) || json_is_string(v)) {
			char buf[32];
			const char *s = json_string_value(v);
			if (json_is_integer(v)) {
				snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
				s = buf;
			}
			if (o->has_arg == no_argument) {
				rc = vg_err_set(err, EINVAL, "--config %s: \"%s\" must be true or false", file, k);
				break;
			}
			rc = apply(c, o->val, s, NULL, NULL, err);
		} else {
			rc = vg_err_set(err, EINVAL, "--config %s: \"%s\" has an unsupported type", file, k);
		}
		if (rc) {
			vg_err_prefix(err, "--config %s", file);
			break;
		}
	}
	json_decref(j);
	return rc;
}

int ad_config_parse(int argc, char **argv, struct ad_config *c, struct vg_err *err)
{
	defaults(c);
	for (int i = 1; i < argc; i++) {
		const char *cf = NULL;
		if (!strcmp(argv[i], "--config") && i + 1 < argc)
			cf = argv[i + 1];
		else if (!strncmp(argv[i], "--config=", 9))
			cf = argv[i] + 9;
		if (cf) {
			int rc = load_config(c, cf, err);
			if (rc)
				return 2;
		}
	}
	bool admin_reset = false, sim_reset = false;
	optind = 1;
	opterr = 0;
	int o;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o == O_HELP) {
			ad_config_usage(stdout);
			return 1;
		}
		if (o == O_VERSION) {
			printf("vigil-attestd %s (KBS protocol %s)\n", VG_VERSION, AD_KBS_VERSION);
			return 1;
		}
		if (o == O_CONFIG)
			continue;
		if (o == '?' || o == ':') {
			vg_err_set(err, EINVAL, "unknown or incomplete option '%s' (try --help)", argv[optind - 1]);
			return 2;
		}
		if (apply(c, o, optarg, &admin_reset, &sim_reset, err))
			return 2;
	}
	if (optind < argc) {
		vg_err_set(err, EINVAL, "unexpected argument '%s' (try --help)", argv[optind]);
		return 2;
	}
	if (!c->listen[0] || !c->state_dir[0] || !c->policy[0] || !c->n_admin_keys) {
		vg_err_set(err, EINVAL, "--listen, --state-dir, --policy and --admin-key are required (try --help)");
		return 2;
	}
	if (!!c->tls_cert[0] != !!c->tls_key[0]) {
		vg_err_set(err, EINVAL, "--tls-cert and --tls-key go together");
		return 2;
	}
	if (!c->db[0] && snprintf(c->db, sizeof(c->db), "sqlite:%s/attestd.db", c->state_dir) >= (int)sizeof(c->db)) {
		vg_err_set(err, ENAMETOOLONG, "--state-dir too long");
		return 2;
	}
	return 0;
}
