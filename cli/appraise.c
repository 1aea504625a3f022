/*
 * vigil appraise: verify evidence (as `vigil verify` does), appraise it under
 * a policy (policy/), print the explained verdict as JSON, and issue an EAR
 * token when asked. Exit 0 affirming, 1 anything else, 2 usage or I/O.
 */
#include <getopt.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/cli.h"
#include "common/common.h"
#include "policy/policy.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vigil appraise snp REPORT --vcek CERT [--chain ASK_ARK.pem] [--crl FILE] --policy POLICY.json\n"
		"                      [--nonce HEX] [--token jwt|cwt|none] [--token-key KEY.pem] [options]\n"
		"       vigil appraise tdx QUOTE [--collateral DIR] [--ccel FILE] --policy POLICY.json [...]\n\n"
		"Verifies the evidence like 'vigil verify', appraises it under the policy (docs/policy.md) and\n"
		"prints JSON: {\"verification\", \"status\", \"workload\", \"simulated\", \"trustworthiness_vector\",\n"
		"\"explanations\", \"policy_digest\", \"claims\", \"token\"}. Every failed or unmade check is one line\n"
		"in \"explanations\".\n\n"
		"  --policy FILE          the appraisal policy (required)\n"
		"  --nonce HEX            expected REPORT_DATA (1..64 bytes, zero-padded to 64): the session\n"
		"                         nonce binding; also the token's eat_nonce\n"
		"  --init-data-digest HEX expected HOST_DATA (snp) / MRCONFIGID (tdx) prefix\n"
		"  --token jwt|cwt|none   issue an EAR attestation result (default none)\n"
		"  --token-key KEY.pem    EC P-256 (ES256) or P-384 (ES384) private key; default: generated once\n"
		"                         into the state directory (ear-signing-key.pem, 0600)\n"
		"  --state-dir DIR        state directory (default $VIGIL_STATE_DIR, else ~/.local/state/vigil)\n"
		"  --ear-names draft|veraison  JWT claim names: the draft's (ear_status, default) or the dotted\n"
		"                         names Veraison and Trustee read (ear.status)\n"
		"  --ttl SECONDS          token lifetime (exp = iat + ttl; default 300, 0 = no exp)\n"
		"  --token-out FILE       also write the token (JWT text or CWT bytes) to FILE\n"
		"  --jwks FILE            write the token key's public JWKS to FILE\n"
		"  evidence options as for 'vigil verify': --vcek/--vlek, --chain, --crl, --collateral, --ccel,\n"
		"                         --at RFC3339, --trust-sim-root PEM\n"
		"  --compact              one-line JSON\n\n"
		"Exit status: 0 affirming, 1 warning, contraindicated or rejected evidence, 2 usage or I/O error.\n");
}

enum { O_POLICY = 1, O_NONCE, O_TOKEN, O_TOKEN_KEY, O_STATE, O_NAMES, O_TTL, O_TOKEN_OUT, O_JWKS, O_INITDATA };

struct args {
	struct cli_evidence ev;
	const char *policy, *token_key, *state_dir, *token_out, *jwks;
	enum { TOK_NONE, TOK_JWT, TOK_CWT } token;
	enum pol_ear_names names;
	long ttl;
	bool compact, have_nonce;
	uint8_t nonce[64], initdata[48];
	size_t nonce_len, initdata_len;
};

static int hex_arg(const char *opt, const char *hex, uint8_t *out, size_t max, size_t *len)
{
	uint8_t *b = NULL;
	size_t n = 0;
	struct vg_err e = {0};
	if (vg_hex_decode_alloc(hex, &b, &n, &e) || n == 0 || n > max) {
		fprintf(stderr, "vigil appraise: %s: %s\n", opt, e.msg[0] ? e.msg : "wrong length");
		if (!e.msg[0])
			fprintf(stderr, "vigil appraise: %s takes 1..%zu bytes of hex\n", opt, max);
		free(b);
		return -1;
	}
	memcpy(out, b, n);
	*len = n;
	free(b);
	return 0;
}

static int parse(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		CLI_EVIDENCE_OPTIONS,
		{"policy", required_argument, NULL, O_POLICY},
		{"nonce", required_argument, NULL, O_NONCE},
		{"init-data-digest", required_argument, NULL, O_INITDATA},
		{"token", required_argument, NULL, O_TOKEN},
		{"token-key", required_argument, NULL, O_TOKEN_KEY},
		{"state-dir", required_argument, NULL, O_STATE},
		{"ear-names", required_argument, NULL, O_NAMES},
		{"ttl", required_argument, NULL, O_TTL},
		{"token-out", required_argument, NULL, O_TOKEN_OUT},
		{"jwks", required_argument, NULL, O_JWKS},
		{"compact", no_argument, NULL, 'j'},
		{"json", no_argument, NULL, 'J'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct vg_err e = {0};
	uint64_t u;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		int r = cli_evidence_opt(&a->ev, c, optarg);
		if (r < 0)
			return VG_EXIT_USAGE;
		if (r > 0)
			continue;
		switch (c) {
		case O_POLICY: a->policy = optarg; break;
		case O_NONCE:
			if (hex_arg("--nonce", optarg, a->nonce, 64, &a->nonce_len))
				return VG_EXIT_USAGE;
			a->have_nonce = true;
			break;
		case O_INITDATA:
			if (hex_arg("--init-data-digest", optarg, a->initdata, 48, &a->initdata_len))
				return VG_EXIT_USAGE;
			break;
		case O_TOKEN:
			if (!strcmp(optarg, "jwt"))
				a->token = TOK_JWT;
			else if (!strcmp(optarg, "cwt"))
				a->token = TOK_CWT;
			else if (!strcmp(optarg, "none"))
				a->token = TOK_NONE;
			else {
				fprintf(stderr, "vigil appraise: --token: '%s' is not jwt, cwt or none\n", optarg);
				return VG_EXIT_USAGE;
			}
			break;
		case O_TOKEN_KEY: a->token_key = optarg; break;
		case O_STATE: a->state_dir = optarg; break;
		case O_NAMES:
			if (!strcmp(optarg, "draft"))
				a->names = POL_EAR_NAMES_DRAFT;
			else if (!strcmp(optarg, "veraison"))
				a->names = POL_EAR_NAMES_VERAISON;
			else {
				fprintf(stderr, "vigil appraise: --ear-names: '%s' is not draft or veraison\n", optarg);
				return VG_EXIT_USAGE;
			}
			break;
		case O_TTL:
			if (vg_parse_u64(optarg, 10L * 365 * 86400, &u, &e)) {
				fprintf(stderr, "vigil appraise: --ttl: %s\n", e.msg);
				return VG_EXIT_USAGE;
			}
			a->ttl = (long)u;
			break;
		case O_TOKEN_OUT: a->token_out = optarg; break;
		case O_JWKS: a->jwks = optarg; break;
		case 'j': a->compact = true; break;
		case 'J': break;
		case 'h': usage(stdout); return VG_EXIT_OK;
		case 'V': printf("vigil %s\n", VG_VERSION); return VG_EXIT_OK;
		default:
			fprintf(stderr, "vigil appraise: unknown or incomplete option '%s' (try --help)\n", argv[optind - 1]);
			return VG_EXIT_USAGE;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "vigil appraise: expected 'snp REPORT' or 'tdx QUOTE' (try --help)\n");
		return VG_EXIT_USAGE;
	}
	if (!a->policy) {
		fprintf(stderr, "vigil appraise: --policy POLICY.json is required\n");
		return VG_EXIT_USAGE;
	}
	if (a->token == TOK_NONE && (a->token_key || a->token_out || a->jwks)) {
		fprintf(stderr, "vigil appraise: --token-key, --token-out and --jwks need --token jwt or cwt\n");
		return VG_EXIT_USAGE;
	}
	if (cli_evidence_kind(&a->ev, argv[optind]))
		return VG_EXIT_USAGE;
	return -1; /* go on */
}

static const char *default_state_dir(char *buf, size_t n)
{
	const char *s = getenv("VIGIL_STATE_DIR"), *home = getenv("HOME");
	if (s && *s)
		return s;
	if (!home || !*home)
		return NULL;
	snprintf(buf, n, "%s/.local/state/vigil", home);
	char parent[4096];
	snprintf(parent, sizeof(parent), "%s/.local", home);
	mkdir(parent, 0700);
	snprintf(parent, sizeof(parent), "%s/.local/state", home);
	mkdir(parent, 0700);
	return buf;
}

static int write_out(const char *path, const void *data, size_t len, mode_t mode, const char *what)
{
	struct vg_err e = {0};
	if (vg_write_file_atomic(path, data, len, mode, &e)) {
		fprintf(stderr, "vigil appraise: %s: %s\n", what, e.msg);
		return -1;
	}
	return 0;
}

/* The token as a JSON member; -1 on error (printed). */
static int make_token(const struct args *a, const struct pol_appraisal *ap, json_t *out)
{
	char sdbuf[4096], kid[64];
	const char *sd = a->state_dir ? a->state_dir : default_state_dir(sdbuf, sizeof(sdbuf));
	EVP_PKEY *key = NULL;
	struct vg_err e = {0};
	int rc = -1;
	char *nonce = NULL, *jwt = NULL, *val = NULL;
	uint8_t *cwt = NULL;
	size_t cl = 0;
	if (pol_token_key_load_or_create(a->token_key, sd, &key, kid, &e)) {
		fprintf(stderr, "vigil appraise: token key: %s\n", e.msg);
		return -1;
	}
	if (a->have_nonce && !(nonce = att_b64_encode(a->nonce, a->nonce_len, true)))
		goto oom;
	/* iat is the real time even when --at moved the appraisal into the past */
	struct pol_ear_opts o = {.issuer = "vigil", .kid = kid, .nonce_b64 = nonce, .ttl_seconds = a->ttl,
				 .names = a->names, .iat = time(NULL)};
	json_t *back = NULL;
	enum att_jws_alg alg = att_jws_alg_for_key(key);
	if (a->token == TOK_JWT) {
		if (pol_ear_jwt(ap, key, &o, &jwt, &e))
			goto fail;
		/* self-check: our own parser must read back what was signed */
		if (pol_ear_jwt_verify(jwt, &key, 1, &back, &e))
			goto fail;
		if (a->token_out && write_out(a->token_out, jwt, strlen(jwt), 0644, "--token-out"))
			goto out;
		val = strdup(jwt);
	} else {
		if (pol_ear_cwt(ap, key, &o, &cwt, &cl, &e))
			goto fail;
		if (pol_ear_cwt_verify(cwt, cl, &key, 1, &back, &e))
			goto fail;
		if (a->token_out && write_out(a->token_out, cwt, cl, 0644, "--token-out"))
			goto out;
		val = att_b64_encode(cwt, cl, true);
	}
	if (!val)
		goto oom;
	if (!json_is_object(json_object_get(json_object_get(back, "submods"), "cpu0"))) {
		snprintf(e.msg, sizeof(e.msg), "self-check: the token does not read back");
		goto fail;
	}
	json_object_set_new(out, "token", json_pack("{s:s, s:s, s:s, s:s}", "format", a->token == TOK_JWT ? "jwt" : "cwt",
						   "alg", att_jws_alg_name(alg), "kid", kid, "value", val));
	if (a->jwks) {
		const char *kids[] = {kid};
		json_t *j = pol_jwks(&key, kids, 1);
		char *s = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
		json_decref(j);
		if (!s)
			goto oom;
		int w = write_out(a->jwks, s, strlen(s), 0644, "--jwks");
		free(s);
		if (w)
			goto out;
	}
	rc = 0;
	goto out;
oom:
	snprintf(e.msg, sizeof(e.msg), "out of memory");
fail:
	fprintf(stderr, "vigil appraise: token: %s\n", e.msg);
out:
	json_decref(back);
	EVP_PKEY_free(key);
	free(nonce), free(jwt), free(cwt), free(val);
	return rc;
}

int cli_appraise(int argc, char **argv)
{
	struct args a = {.ev = {.prog = "vigil appraise"}, .ttl = 300};
	int rc = parse(argc, argv, &a);
	if (rc >= 0)
		return rc;
	rc = VG_EXIT_USAGE;
	struct pol_policy *pol = NULL;
	struct vg_err e = {0};
	struct att_result res;
	struct pol_appraisal ap = {0};
	att_result_init(&res);
	if (pol_load_file(a.policy, &pol, &e)) {
		fprintf(stderr, "vigil appraise: %s: %s\n", a.policy, e.msg);
		goto out;
	}
	if (cli_evidence_verify(&a.ev, argv[optind + 1], &res))
		goto out;
	uint8_t rd[64] = {0};
	memcpy(rd, a.nonce, a.nonce_len);
	struct pol_context ctx = {
		.expected_report_data = a.have_nonce ? rd : NULL,
		.now = a.ev.trust.have_at ? (time_t)a.ev.trust.at : 0,
		.init_data_digest = a.initdata_len ? a.initdata : NULL,
		.init_data_digest_len = a.initdata_len,
	};
	if (pol_appraise(pol, &res, &ctx, &ap, &e)) {
		fprintf(stderr, "vigil appraise: %s\n", e.msg);
		goto out;
	}
	json_t *out = pol_appraisal_json(&ap), *vr = att_result_json(&res);
	if (!out || !vr) {
		json_decref(out), json_decref(vr);
		fprintf(stderr, "vigil appraise: out of memory\n");
		goto out;
	}
	json_object_del(vr, "claims");
	json_t *doc = json_pack("{s:o}", "verification", vr);
	json_object_update(doc, out);
	json_decref(out);
	json_object_set(doc, "claims", ap.claims);
	if (a.token != TOK_NONE && make_token(&a, &ap, doc)) {
		json_decref(doc);
		goto out;
	}
	if (cli_print_json(a.ev.prog, doc, a.compact))
		goto out;
	if (ap.status != POL_AFFIRMING) {
		const char *first = json_string_value(json_array_get(ap.explanations, 0));
		fprintf(stderr, "vigil appraise: %s: %s\n", pol_status_name(ap.status), first ? first : "(no explanation)");
	}
	rc = ap.status == POL_AFFIRMING ? VG_EXIT_OK : VG_EXIT_REJECTED;
out:
	pol_appraisal_free(&ap);
	att_result_free(&res);
	pol_free(pol);
	return rc;
}
