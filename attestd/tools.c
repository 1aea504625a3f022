/* Offline commands on a state directory: `audit verify`, `audit export`, `rotate-kek`. */
#include "attestd/attestd.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct tool_opts {
	char state_dir[1024];
	char db[1200];
	char kek_file[1024];
	char new_kek_file[1024];
	bool json;
};

static int tool_args(int argc, char **argv, bool kek, struct tool_opts *o, const char *usage)
{
	static const struct option lo[] = {
		{"state-dir", required_argument, NULL, 's'}, {"db", required_argument, NULL, 'd'},
		{"kek-file", required_argument, NULL, 'k'},  {"new-kek-file", required_argument, NULL, 'n'},
		{"json", no_argument, NULL, 'j'},            {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	memset(o, 0, sizeof(*o));
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's': snprintf(o->state_dir, sizeof(o->state_dir), "%s", optarg); break;
		case 'd': snprintf(o->db, sizeof(o->db), "%s", optarg); break;
		case 'k':
			if (!kek)
				goto bad;
			snprintf(o->kek_file, sizeof(o->kek_file), "%s", optarg);
			break;
		case 'n':
			if (!kek)
				goto bad;
			snprintf(o->new_kek_file, sizeof(o->new_kek_file), "%s", optarg);
			break;
		case 'j': o->json = true; break;
		case 'h': printf("%s", usage); return 1;
		default:
		bad:
			fprintf(stderr, "vigil-attestd: unknown or incomplete option '%s'\n%s", argv[optind - 1], usage);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vigil-attestd: unexpected argument '%s'\n%s", argv[optind], usage);
		return 2;
	}
	if (!o->state_dir[0] && !o->db[0]) {
		fprintf(stderr, "vigil-attestd: --state-dir (or --db) is required\n%s", usage);
		return 2;
	}
	if (!o->db[0])
		snprintf(o->db, sizeof(o->db), "sqlite:%s/attestd.db", o->state_dir);
	return 0;
}

static int open_existing(const struct tool_opts *o, struct ad_db *db)
{
	struct vg_err e = {0};
	if (!strncmp(o->db, "sqlite:", 7)) {
		char p[1200];
		snprintf(p, sizeof(p), "%s", o->db + 7);
		char *q = strchr(p, '?');
		if (q)
			*q = 0;
		if (access(p, R_OK)) {
			fprintf(stderr, "vigil-attestd: %s: no database there\n", p);
			return 2;
		}
	}
	if (ad_db_open(o->db, db, &e)) {
		fprintf(stderr, "vigil-attestd: %s\n", e.msg);
		return 2;
	}
	return 0;
}

static int export_cb(void *arg, const struct ad_audit_rec *r)
{
	(void)arg;
	json_t *j = ad_audit_rec_json(r);
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(j);
	if (!s)
		return -ENOMEM;
	printf("%s\n", s);
	free(s);
	return 0;
}

int ad_cmd_audit(int argc, char **argv)
{
	static const char usage[] = "usage: vigil-attestd audit verify --state-dir DIR [--db SPEC] [--json]\n"
				    "       vigil-attestd audit export --state-dir DIR [--db SPEC]\n"
				    "verify: exit 0 when the chain is intact, 1 when broken (the first bad record is named)\n"
				    "export: one JSON object per record, resources by full path repository/type/tag\n";
	if (argc < 2 || (strcmp(argv[1], "verify") && strcmp(argv[1], "export"))) {
		if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
			printf("%s", usage);
			return 0;
		}
		fprintf(stderr, "vigil-attestd: audit needs 'verify' or 'export'\n%s", usage);
		return 2;
	}
	bool verify = !strcmp(argv[1], "verify");
	struct tool_opts o;
	int rc = tool_args(argc - 1, argv + 1, false, &o, usage);
	if (rc)
		return rc == 1 ? 0 : rc;
	struct ad_db db;
	if ((rc = open_existing(&o, &db)))
		return rc;
	struct vg_err e = {0};
	if (verify) {
		int64_t n = 0;
		rc = ad_audit_verify(&db, &n, &e);
		ad_db_close(&db);
		if (rc == -EBADMSG) {
			if (o.json)
				printf("{\"intact\":false,\"error\":\"%s\"}\n", e.msg);
			fprintf(stderr, "vigil-attestd: audit chain BROKEN: %s\n", e.msg);
			return 1;
		}
		if (rc) {
			fprintf(stderr, "vigil-attestd: %s\n", e.msg);
			return 2;
		}
		if (o.json)
			printf("{\"intact\":true,\"records\":%lld}\n", (long long)n);
		else
			printf("audit chain intact: %lld records\n", (long long)n);
		return 0;
	}
	rc = db.ops->audit_each(db.s, 1, 0, export_cb, NULL, &e);
	ad_db_close(&db);
	if (rc) {
		fprintf(stderr, "vigil-attestd: audit export: %s\n", e.msg[0] ? e.msg : "out of memory");
		return 2;
	}
	return fflush(stdout) ? 2 : 0;
}

/* ----------------------------------------------------------- rotate-kek */
struct rot {
	struct ad_db *db;
	const struct ad_kek *oldk, *newk;
	int64_t n;
	struct vg_err *err;
};

static int rot_cb(void *arg, const struct ad_resource *r)
{
	struct rot *x = arg;
	uint8_t *pt = NULL;
	size_t len = 0;
	if (!strcmp(r->kek_id, x->newk->id))
		return 0; /* already under the new KEK */
	int rc = ad_kek_open(x->oldk, r, &pt, &len, x->err);
	if (rc)
		return rc;
	struct ad_resource n = {0};
	rc = ad_kek_seal(x->newk, r->path, pt, len, &n, x->err);
	vg_secure_zero(pt, len);
	free(pt);
	if (rc)
		return rc;
	n.version = r->version;
	n.created = r->created;
	n.updated = r->updated;
	rc = x->db->ops->resource_put(x->db->s, &n, x->err);
	ad_resource_clear(&n);
	if (!rc)
		x->n++;
	return rc;
}

int ad_cmd_rotate_kek(int argc, char **argv)
{
	static const char usage[] =
		"usage: vigil-attestd rotate-kek --state-dir DIR [--db SPEC] [--kek-file CURRENT] [--new-kek-file NEW]\n"
		"Re-encrypts every resource under the new KEK in one transaction. Without --new-kek-file a new KEK\n"
		"is generated into STATE_DIR/kek (the old one is replaced only after the commit). Stop the service\n"
		"first, and start it again with the new --kek-file.\n";
	struct tool_opts o;
	int rc = tool_args(argc, argv, true, &o, usage);
	if (rc)
		return rc == 1 ? 0 : rc;
	struct vg_err e = {0};
	struct ad_kek oldk, newk;
	if (o.kek_file[0])
		rc = ad_kek_read(o.kek_file, &oldk, &e);
	else {
		char p[1100];
		snprintf(p, sizeof(p), "%s/kek", o.state_dir);
		rc = ad_kek_read(p, &oldk, &e);
	}
	if (rc) {
		fprintf(stderr, "vigil-attestd: current KEK: %s\n", e.msg);
		return 2;
	}
	char newpath[1100] = "";
	if (o.new_kek_file[0]) {
		rc = ad_kek_read(o.new_kek_file, &newk, &e);
	} else {
		if (!o.state_dir[0]) {
			fprintf(stderr, "vigil-attestd: rotate-kek without --new-kek-file needs --state-dir\n");
			return 2;
		}
		snprintf(newpath, sizeof(newpath), "%s/kek.new", o.state_dir);
		rc = ad_kek_generate(&newk, &e);
		if (!rc)
			rc = vg_write_file_atomic(newpath, newk.key, AD_KEK_LEN, 0600, &e);
	}
	if (rc) {
		fprintf(stderr, "vigil-attestd: new KEK: %s\n", e.msg);
		ad_kek_clear(&oldk);
		return 2;
	}
	struct ad_db db;
	if ((rc = open_existing(&o, &db))) {
		ad_kek_clear(&oldk), ad_kek_clear(&newk);
		return rc;
	}
	struct rot x = {&db, &oldk, &newk, 0, &e};
	int ret = 0;
	if ((rc = db.ops->begin(db.s, &e)) || (rc = db.ops->resource_each(db.s, rot_cb, &x, &e)) ||
	    (rc = ad_audit(&db, "kek.rotate", "system", "", "ok",
			   json_pack("{s:s,s:s,s:I}", "from", oldk.id, "to", newk.id, "resources", (json_int_t)x.n), &e)) ||
	    (rc = db.ops->commit(db.s, &e))) {
		db.ops->rollback(db.s);
		fprintf(stderr, "vigil-attestd: rotate-kek failed, nothing changed: %s\n", e.msg);
		if (newpath[0])
			unlink(newpath);
		ret = 2;
	} else {
		if (newpath[0]) {
			char cur[1100];
			snprintf(cur, sizeof(cur), "%s/kek", o.state_dir);
			if (rename(newpath, cur)) {
				fprintf(stderr, "vigil-attestd: rotated, but %s could not replace %s (the service will finish it): %s\n",
					newpath, cur, strerror(errno));
				ret = 2;
			}
		}
		if (!ret)
			printf("re-encrypted %lld resources under KEK %s (was %s)\n", (long long)x.n, newk.id, oldk.id);
	}
	ad_db_close(&db);
	ad_kek_clear(&oldk);
	ad_kek_clear(&newk);
	return ret;
}
