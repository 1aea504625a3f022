/* vigil kbs: the operator's client of vigil-attestd's admin API. Each call
 * carries a short-lived admin JWT signed with the private key given here. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "attestd/attestd.h"
#include "cli/cli.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vigil kbs --url URL --admin-key ADMIN.key [--cacert CA.pem] [--json] COMMAND [ARGS]\n"
		"\n"
		"commands:\n"
		"  set-policy POLICY.json              upload and activate a policy (a new version)\n"
		"  get-policy                          print the active policy version\n"
		"  put-resource REPO/TYPE/TAG FILE     store a secret (FILE '-' reads stdin), sealed at rest\n"
		"  delete-resource REPO/TYPE/TAG\n"
		"  list-resources\n"
		"  audit [--from N] [--limit N]        show the audit log\n"
		"\n"
		"ADMIN.key is an Ed25519 or P-256 private key (PEM) whose public key the service was\n"
		"started with (--admin-key). Exit status: 0 ok, 1 refused by the service, 2 usage or I/O error.\n");
}

static int call(struct ad_http *h, EVP_PKEY *key, const char *method, const char *path, const char *ctype,
		const void *body, size_t len, bool json_out, json_t **answer)
{
	struct vg_err e = {0};
	char *jwt = NULL;
	if (ad_admin_token(key, 120, &jwt, &e)) {
		fprintf(stderr, "vigil kbs: %s\n", e.msg);
		return VG_EXIT_USAGE;
	}
	char authz[4096], ct[128];
	snprintf(authz, sizeof(authz), "Authorization: Bearer %s", jwt);
	snprintf(ct, sizeof(ct), "Content-Type: %s", ctype ? ctype : "application/json");
	free(jwt);
	const char *hdr[] = {authz, ct, NULL};
	struct ad_http_resp r;
	int rc = ad_http_do(h, method, path, hdr, body, len, &r, &e);
	vg_secure_zero(authz, sizeof(authz));
	if (rc) {
		fprintf(stderr, "vigil kbs: %s\n", e.msg);
		return VG_EXIT_USAGE;
	}
	json_t *j = json_loads((const char *)r.body.data, 0, NULL);
	if (r.status != 200) {
		const char *d = json_string_value(json_object_get(j, "detail"));
		if (json_out)
			printf("%s\n", (const char *)r.body.data);
		fprintf(stderr, "vigil kbs: HTTP %ld: %s\n", r.status, d ? d : (const char *)r.body.data);
		json_decref(j);
		ad_http_resp_free(&r);
		return VG_EXIT_REJECTED;
	}
	if (json_out)
		printf("%s\n", (const char *)r.body.data);
	ad_http_resp_free(&r);
	if (answer)
		*answer = j;
	else
		json_decref(j);
	return VG_EXIT_OK;
}

static int read_input(const char *file, uint8_t **buf, size_t *len)
{
	struct vg_err e = {0};
	if (strcmp(file, "-")) {
		if (vg_read_file(file, 16u << 20, buf, len, &e)) {
			fprintf(stderr, "vigil kbs: %s\n", e.msg);
			return VG_EXIT_USAGE;
		}
		return 0;
	}
	struct vg_buf b = {0};
	uint8_t tmp[4096];
	size_t n;
	while ((n = fread(tmp, 1, sizeof(tmp), stdin)) > 0)
		if (vg_buf_append(&b, tmp, n) || b.len > (16u << 20)) {
			vg_buf_free_secret(&b);
			fprintf(stderr, "vigil kbs: stdin too large\n");
			return VG_EXIT_USAGE;
		}
	vg_secure_zero(tmp, sizeof(tmp));
	*buf = b.data;
	*len = b.len;
	return 0;
}

static int valid_path(const char *p)
{
	char full[400], out[256];
	snprintf(full, sizeof(full), "/kbs/v0/resource/%s", p);
	struct vg_err e = {0};
	if (ad_parse_resource_path(full, out, &e)) {
		fprintf(stderr, "vigil kbs: %s: want REPOSITORY/TYPE/TAG ([A-Za-z0-9._-], 3 segments)\n", p);
		return 0;
	}
	return 1;
}

int cli_kbs(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "cache"))
		return cli_kbs_cache(argc - 1, argv + 1); /* kbs_cache.c (offline VCEK/collateral cache) */
	const char *url = NULL, *keyfile = NULL, *cacert = NULL;
	bool json_out = false;
	long from = 1, limit = 1000;
	static const struct option lo[] = {
		{"url", 1, NULL, 'u'},	 {"admin-key", 1, NULL, 'k'}, {"cacert", 1, NULL, 'c'}, {"json", 0, NULL, 'j'},
		{"from", 1, NULL, 'f'},	 {"limit", 1, NULL, 'l'},     {"help", 0, NULL, 'h'},	{NULL, 0, NULL, 0},
	};
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", lo, NULL)) != -1) {
		switch (c) {
		case 'u': url = optarg; break;
		case 'k': keyfile = optarg; break;
		case 'c': cacert = optarg; break;
		case 'j': json_out = true; break;
		case 'f': from = atol(optarg); break;
		case 'l': limit = atol(optarg); break;
		case 'h': usage(stdout); return VG_EXIT_OK;
		default:
			fprintf(stderr, "vigil kbs: unknown or incomplete option '%s'\n", argv[optind - 1]);
			return VG_EXIT_USAGE;
		}
	}
	/* options may also follow the command (vigil kbs audit --from 5) */
	int first = optind;
	if (first >= argc) {
		usage(stderr);
		return VG_EXIT_USAGE;
	}
	const char *cmd = argv[first];
	int nargs = 0;
	const char *args[4] = {0};
	for (int i = first + 1; i < argc; i++) {
		if (!strcmp(argv[i], "--from") && i + 1 < argc)
			from = atol(argv[++i]);
		else if (!strcmp(argv[i], "--limit") && i + 1 < argc)
			limit = atol(argv[++i]);
		else if (!strcmp(argv[i], "--json"))
			json_out = true;
		else if (nargs < 4)
			args[nargs++] = argv[i];
		else {
			fprintf(stderr, "vigil kbs: too many arguments\n");
			return VG_EXIT_USAGE;
		}
	}
	if (!url || !keyfile) {
		fprintf(stderr, "vigil kbs: --url and --admin-key are required (try --help)\n");
		return VG_EXIT_USAGE;
	}
	struct vg_err e = {0};
	EVP_PKEY *key = NULL;
	if (ad_load_private_key(keyfile, &key, &e)) {
		fprintf(stderr, "vigil kbs: --admin-key %s\n", e.msg);
		return VG_EXIT_USAGE;
	}
	struct ad_http h;
	if (ad_http_init(&h, url, cacert, &e)) {
		EVP_PKEY_free(key);
		fprintf(stderr, "vigil kbs: %s\n", e.msg);
		return VG_EXIT_USAGE;
	}
	int rc = VG_EXIT_USAGE;
	json_t *ans = NULL;
	if (!strcmp(cmd, "set-policy") && nargs == 1) {
		uint8_t *doc = NULL;
		size_t dl = 0;
		if (!(rc = read_input(args[0], &doc, &dl))) {
			char *b = att_b64_encode(doc, dl, true);
			free(doc);
			json_t *body = json_pack("{s:s}", "policy", b ? b : "");
			free(b);
			char *s = json_dumps(body, JSON_COMPACT);
			json_decref(body);
			rc = call(&h, key, "POST", "/kbs/v0/resource-policy", NULL, s, strlen(s), json_out, &ans);
			free(s);
			if (!rc && !json_out)
				printf("policy version %lld active (sha256 %s)\n",
				       (long long)json_integer_value(json_object_get(ans, "version")),
				       json_string_value(json_object_get(ans, "digest")));
		}
	} else if (!strcmp(cmd, "get-policy") && nargs == 0) {
		rc = call(&h, key, "GET", "/kbs/v0/resource-policy", NULL, NULL, 0, json_out, &ans);
		if (!rc && !json_out) {
			char *s = json_dumps(json_object_get(ans, "policy"), JSON_INDENT(2) | JSON_PRESERVE_ORDER);
			printf("# version %lld, sha256 %s, from %s\n%s\n",
			       (long long)json_integer_value(json_object_get(ans, "version")),
			       json_string_value(json_object_get(ans, "digest")),
			       json_string_value(json_object_get(ans, "source")), s ? s : "");
			free(s);
		}
	} else if (!strcmp(cmd, "put-resource") && nargs == 2) {
		if (valid_path(args[0])) {
			uint8_t *sec = NULL;
			size_t sl = 0;
			if (!(rc = read_input(args[1], &sec, &sl))) {
				char path[400];
				snprintf(path, sizeof(path), "/kbs/v0/resource/%s", args[0]);
				rc = call(&h, key, "POST", path, "application/octet-stream", sec, sl, json_out, &ans);
				vg_secure_zero(sec, sl);
				free(sec);
				if (!rc && !json_out)
					printf("%s: version %lld, %lld bytes\n", args[0],
					       (long long)json_integer_value(json_object_get(ans, "version")),
					       (long long)json_integer_value(json_object_get(ans, "size")));
			}
		}
	} else if (!strcmp(cmd, "delete-resource") && nargs == 1) {
		if (valid_path(args[0])) {
			char path[400];
			snprintf(path, sizeof(path), "/kbs/v0/resource/%s", args[0]);
			rc = call(&h, key, "DELETE", path, NULL, NULL, 0, json_out, &ans);
			if (!rc && !json_out)
				printf("%s: deleted\n", args[0]);
		}
	} else if (!strcmp(cmd, "list-resources") && nargs == 0) {
		rc = call(&h, key, "GET", "/kbs/v0/admin/resources", NULL, NULL, 0, json_out, &ans);
		if (!rc && !json_out) {
			size_t i;
			json_t *r;
			json_array_foreach(json_object_get(ans, "resources"), i, r)
			printf("%s\t%lld bytes\tversion %lld\n", json_string_value(json_object_get(r, "path")),
			       (long long)json_integer_value(json_object_get(r, "size")),
			       (long long)json_integer_value(json_object_get(r, "version")));
		}
	} else if (!strcmp(cmd, "audit") && nargs == 0) {
		char path[128];
		snprintf(path, sizeof(path), "/kbs/v0/admin/audit?from=%ld&limit=%ld", from, limit);
		rc = call(&h, key, "GET", path, NULL, NULL, 0, json_out, &ans);
		if (!rc && !json_out) {
			size_t i;
			json_t *r;
			json_array_foreach(json_object_get(ans, "records"), i, r)
			{
				char ts[32];
				vg_format_rfc3339(json_integer_value(json_object_get(r, "ts_ms")) / 1000, ts);
				char *d = json_dumps(json_object_get(r, "detail"), JSON_COMPACT | JSON_SORT_KEYS);
				printf("%lld\t%s\t%s\t%s\t%s\t%s\t%s\n", (long long)json_integer_value(json_object_get(r, "seq")),
				       ts, json_string_value(json_object_get(r, "kind")),
				       json_string_value(json_object_get(r, "actor")),
				       json_string_value(json_object_get(r, "resource"))[0]
					       ? json_string_value(json_object_get(r, "resource"))
					       : "-",
				       json_string_value(json_object_get(r, "outcome")), d ? d : "{}");
				free(d);
			}
		}
	} else {
		fprintf(stderr, "vigil kbs: unknown command or wrong arguments: %s (try --help)\n", cmd);
	}
	json_decref(ans);
	ad_http_free(&h);
	EVP_PKEY_free(key);
	return rc;
}
