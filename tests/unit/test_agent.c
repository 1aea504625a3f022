/*
 * Unit tests for agent/: the SNP certificate table, the configfs-tsm provider against a
 * directory tree imitating configfs (a fixture plays the kernel: attributes, generation,
 * outblob made by the simulated SNP secure processor / TDX module, auxblob), generation
 * conflicts and retry, bad auxblobs, the evidence encodings (verified back with attest/),
 * serial evidence parsing, resource paths, RFC 7807 messages, and the secret file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "agent/agent.h"
#include "attest/attest.h"
#include "sev/sev.h"
#include "tdx/tdx.h"

static char STATE[64], TSM[64];
static struct sev_sim_snp *SNP;
static struct tdx_sim *TDX;

/* ------------------------------------------------------------ the fake kernel */
enum aux_mode { AUX_TABLE, AUX_NONE, AUX_EMPTY, AUX_GARBAGE };
static struct {
	const char *provider;
	enum aux_mode aux;
	int conflicts;     /* next N inblob writes race with "another writer" */
	bool wrong_rd;     /* outblob answers a different REPORT_DATA */
	unsigned gen;
	char privlevel[8]; /* last value written */
} FX;

static void put(const char *dir, const char *name, const void *data, size_t len)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "wb");
	assert_non_null(f);
	if (len)
		assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

static void put_gen(const char *dir)
{
	char g[16];
	int n = snprintf(g, sizeof(g), "%u\n", FX.gen);
	put(dir, "generation", g, (size_t)n);
}

/* The simulated secure processor's certificate table, as the host supplies it. */
static void sim_table(uint8_t **tab, size_t *len)
{
	struct vg_err err = { 0 };
	assert_int_equal(sev_sim_snp_cert_table(SNP, tab, len, &err), 0);
}

static void kernel(enum ag_tsm_event ev, const char *dir, const char *attr, void *ctx)
{
	(void)ctx;
	struct vg_err err = { 0 };
	if (ev == AG_TSM_MKDIR) {
		FX.gen = 0;
		put(dir, "provider", FX.provider, strlen(FX.provider));
		put(dir, "inblob", "", 0);
		put(dir, "outblob", "", 0);
		if (FX.aux != AUX_NONE)
			put(dir, "auxblob", "", 0);
		if (!strncmp(FX.provider, "sev", 3))
			put(dir, "privlevel", "", 0);
		put_gen(dir);
		return;
	}
	if (ev == AG_TSM_RMDIR) { /* configfs drops the attributes itself */
		DIR *d = opendir(dir);
		struct dirent *e;
		while (d && (e = readdir(d))) {
			char p[512];
			if (e->d_name[0] == '.')
				continue;
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			unlink(p);
		}
		if (d)
			closedir(d);
		return;
	}
	FX.gen++;
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", dir, attr);
	uint8_t *in = NULL;
	size_t inl = 0;
	assert_int_equal(vg_read_file(p, 4096, &in, &inl, &err), 0);
	if (!strcmp(attr, "privlevel")) {
		snprintf(FX.privlevel, sizeof(FX.privlevel), "%.*s", (int)inl, (const char *)in);
	} else {
		assert_int_equal(inl, 64);
		uint8_t rd[64];
		memcpy(rd, in, 64);
		if (FX.wrong_rd)
			rd[0] ^= 1;
		if (!strcmp(FX.provider, "sev_guest\n")) {
			struct sev_sim_snp_guest g = { .policy = 0x30000 };
			uint8_t rep[SEV_SNP_REPORT_SIZE];
			assert_int_equal(sev_sim_snp_report(SNP, &g, rd, 0, rep, &err), 0);
			put(dir, "outblob", rep, sizeof(rep));
		} else {
			struct tdx_sim_td td = { .attributes = 0x10000000, .xfam = 7 };
			uint8_t *q = NULL;
			size_t ql = 0;
			assert_int_equal(tdx_sim_quote(TDX, &td, rd, &q, &ql, &err), 0);
			put(dir, "outblob", q, ql);
			free(q);
		}
		if (FX.aux == AUX_TABLE) {
			uint8_t *t;
			size_t tl;
			sim_table(&t, &tl);
			put(dir, "auxblob", t, tl);
			free(t);
		} else if (FX.aux == AUX_GARBAGE) {
			uint8_t g[40];
			memset(g, 0xA5, sizeof(g)); /* an entry whose offset points far outside */
			put(dir, "auxblob", g, sizeof(g));
		}
		if (FX.conflicts > 0) { /* someone else wrote the instance meanwhile */
			FX.conflicts--;
			FX.gen++;
		}
	}
	free(in);
	put_gen(dir);
}

static int count_entries(void)
{
	char p[128];
	snprintf(p, sizeof(p), "%s/report", TSM);
	DIR *d = opendir(p);
	int n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

static int setup(void **state)
{
	(void)state;
	snprintf(STATE, sizeof(STATE), "/tmp/vigil-agent-ut.XXXXXX");
	snprintf(TSM, sizeof(TSM), "/tmp/vigil-agent-tsm.XXXXXX");
	if (!mkdtemp(STATE) || !mkdtemp(TSM))
		return -1;
	char p[128];
	snprintf(p, sizeof(p), "%s/report", TSM);
	if (mkdir(p, 0700))
		return -1;
	struct vg_err err = { 0 };
	if (sev_sim_snp_open(STATE, &SNP, &err) || tdx_sim_open(STATE, &TDX, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	ag_tsm_hook = kernel;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sev_sim_snp_free(SNP);
	tdx_sim_free(TDX);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", STATE, TSM);
	return system(cmd) == 0 ? 0 : -1;
}

static void fx_reset(const char *provider, enum aux_mode aux)
{
	memset(&FX, 0, sizeof(FX));
	FX.provider = provider;
	FX.aux = aux;
}

static struct ag_provider_opts tsm_opts(void)
{
	return (struct ag_provider_opts){ .tee = AG_TEE_TSM, .tsm_root = TSM, .ccel_path = "none", .privlevel = -1 };
}

static uint8_t *b64_field(json_t *o, const char *key, size_t *len)
{
	const char *s = json_string_value(json_object_get(o, key));
	assert_non_null(s);
	uint8_t *d = NULL;
	struct vg_err err = { 0 };
	assert_int_equal(att_b64_decode(s, strlen(s), false, &d, len, &err), 0);
	return d;
}

/* -------------------------------------------------------------- cert table */
static void test_cert_table(void **state)
{
	(void)state;
	uint8_t a[10], b[20], c[3];
	memset(a, 1, sizeof(a));
	memset(b, 2, sizeof(b));
	memset(c, 3, sizeof(c));
	struct sev_cert in[3] = { { SEV_CERT_VCEK, a, sizeof(a) }, { SEV_CERT_ASK, b, sizeof(b) },
				 { SEV_CERT_ARK, c, sizeof(c) } };
	uint8_t *t;
	size_t tl, n;
	struct vg_err err = { 0 };
	assert_int_equal(sev_snp_cert_table_build(in, 3, &t, &tl, &err), 0);
	assert_int_equal(tl, 4 * 24 + 33);
	/* GUID in RFC 4122 byte order: 63da758d-e664-... */
	assert_int_equal(t[0], 0x63);
	assert_int_equal(t[1], 0xda);
	struct sev_cert out[SEV_CERT_TABLE_MAX];
	assert_int_equal(sev_snp_cert_table_parse(t, tl, out, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(out[0].type, SEV_CERT_VCEK);
	assert_int_equal(out[1].type, SEV_CERT_ASK);
	assert_int_equal(out[2].type, SEV_CERT_ARK);
	assert_int_equal(out[1].len, 20);
	assert_memory_equal(out[1].data, b, 20);
	assert_string_equal(sev_cert_type_name(out[2].type), "ark");

	/* no terminator: cut inside the terminator entry */
	assert_int_equal(sev_snp_cert_table_parse(t, 3 * 24 + 10, out, &n, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "terminator"));
	/* a certificate past the end */
	assert_int_equal(sev_snp_cert_table_parse(t, tl - 1, out, &n, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "ends past"));
	/* an offset into the entry array */
	uint8_t *m = malloc(tl);
	memcpy(m, t, tl);
	vg_put_le32(m + 16, 8);
	assert_int_equal(sev_snp_cert_table_parse(m, tl, out, &n, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "overlaps"));
	/* length 0 */
	memcpy(m, t, tl);
	vg_put_le32(m + 20, 0);
	assert_int_equal(sev_snp_cert_table_parse(m, tl, out, &n, &err), -EBADMSG);
	/* two VCEKs */
	memcpy(m, t, tl);
	memcpy(m + 24, m, 16);
	assert_int_equal(sev_snp_cert_table_parse(m, tl, out, &n, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "two vcek"));
	/* a terminator with an offset */
	memcpy(m, t, tl);
	vg_put_le32(m + 3 * 24 + 16, 1);
	assert_int_equal(sev_snp_cert_table_parse(m, tl, out, &n, &err), -EBADMSG);
	/* an unknown GUID is kept as "other" (and left out of the evidence JSON) */
	memcpy(m, t, tl);
	m[24] ^= 0xff;
	assert_int_equal(sev_snp_cert_table_parse(m, tl, out, &n, &err), 0);
	assert_int_equal(out[1].type, SEV_CERT_OTHER);
	/* an empty table is just a terminator */
	uint8_t z[24] = { 0 };
	assert_int_equal(sev_snp_cert_table_parse(z, sizeof(z), out, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_int_equal(sev_snp_cert_table_parse(z, 0, out, &n, &err), -EBADMSG);
	/* too many entries */
	uint8_t big[18 * 24] = { 0 };
	for (int i = 0; i < 17; i++) {
		big[i * 24] = 0x11;
		vg_put_le32(big + i * 24 + 16, 17 * 24);
		vg_put_le32(big + i * 24 + 20, 1);
	}
	assert_int_equal(sev_snp_cert_table_parse(big, sizeof(big), out, &n, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "more than"));
	free(m);
	free(t);
}

/* ---------------------------------------------------------------- tsm: SNP */
static void test_tsm_snp(void **state)
{
	(void)state;
	fx_reset("sev_guest\n", AUX_TABLE);
	struct ag_provider_opts o = tsm_opts();
	uint8_t rd[64];
	for (int i = 0; i < 64; i++)
		rd[i] = (uint8_t)(i * 7);
	const char *tee;
	json_t *ev = NULL;
	struct vg_err err = { 0 };
	assert_int_equal(ag_evidence_get(&o, rd, &tee, &ev, &err), 0);
	assert_string_equal(tee, "snp");
	assert_int_equal(count_entries(), 0); /* the report instance was removed */
	size_t rl;
	uint8_t *rep = b64_field(ev, "attestation_report", &rl);
	assert_int_equal(rl, 1184);
	json_t *chain = json_object_get(ev, "cert_chain");
	assert_int_equal(json_array_size(chain), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(chain, 0), "type")), "vcek");
	assert_string_equal(json_string_value(json_object_get(json_array_get(chain, 1), "type")), "ask");
	assert_string_equal(json_string_value(json_object_get(json_array_get(chain, 2), "type")), "ark");
	/* What the service will do with it: the chain from the evidence verifies the report. */
	size_t vl, kl, al;
	uint8_t *vcek = b64_field(json_array_get(chain, 0), "data", &vl);
	uint8_t *ark = b64_field(json_array_get(chain, 2), "data", &al);
	uint8_t *ask = b64_field(json_array_get(chain, 1), "data", &kl);
	/* ASK and ARK as one PEM chain */
	BIO *bio = BIO_new(BIO_s_mem());
	const uint8_t *pa = ask, *pk = ark;
	X509 *xa = d2i_X509(NULL, &pa, (long)kl), *xk = d2i_X509(NULL, &pk, (long)al);
	assert_non_null(xa);
	assert_non_null(xk);
	PEM_write_bio_X509(bio, xa);
	PEM_write_bio_X509(bio, xk);
	char *pem;
	long pl = BIO_get_mem_data(bio, &pem);
	struct att_anchor *an = NULL;
	assert_int_equal(att_anchor_load(ark, al, &an, &err), 0);
	struct att_trust t = { .sim_root = an };
	struct att_snp_input in = { .key_cert = vcek, .key_cert_len = vl, .chain = (uint8_t *)pem,
				    .chain_len = (size_t)pl };
	struct att_result res;
	att_result_init(&res);
	assert_int_equal(att_snp_verify(rep, rl, &in, &t, &res), 0);
	assert_true(res.verified);
	assert_true(res.simulated);
	assert_memory_equal(res.snp.report_data, rd, 64);
	att_result_free(&res);
	att_anchor_free(an);
	X509_free(xa);
	X509_free(xk);
	BIO_free(bio);
	free(vcek);
	free(ask);
	free(ark);
	free(rep);

	/* the tee-evidence wrapper */
	json_t *te = ag_tee_evidence_json(ev);
	assert_non_null(json_object_get(te, "primary_evidence"));
	assert_string_equal(json_string_value(json_object_get(te, "additional_evidence")), "");
	assert_int_equal(json_object_size(te), 2);
	json_decref(te);
}

static void test_tsm_privlevel(void **state)
{
	(void)state;
	fx_reset("sev_guest\n", AUX_NONE);
	struct ag_tsm_report r;
	uint8_t rd[64] = { 1 };
	struct vg_err err = { 0 };
	/* two writes (privlevel, inblob): generation must have moved by exactly two */
	assert_int_equal(ag_tsm_report(TSM, rd, 64, 2, &r, &err), 0);
	assert_string_equal(FX.privlevel, "2\n");
	assert_string_equal(r.provider, "sev_guest");
	assert_null(r.auxblob); /* attribute absent: no table */
	assert_int_equal(r.outblob_len, 1184);
	assert_int_equal(r.attempts, 1);
	ag_tsm_report_free(&r);
	assert_int_equal(ag_tsm_report(TSM, rd, 64, 4, &r, &err), -EINVAL);
	assert_int_equal(ag_tsm_report(TSM, rd, 65, -1, &r, &err), -EINVAL);
	/* auxblob present but empty: no table, and the evidence says so by an empty chain */
	fx_reset("sev_guest\n", AUX_EMPTY);
	struct ag_provider_opts o = tsm_opts();
	const char *tee;
	json_t *ev = NULL;
	assert_int_equal(ag_evidence_get(&o, rd, &tee, &ev, &err), 0);
	assert_int_equal(json_array_size(json_object_get(ev, "cert_chain")), 0);
	json_decref(ev);
}

static void test_tsm_generation_retry(void **state)
{
	(void)state;
	uint8_t rd[64] = { 9 };
	struct ag_tsm_report r;
	struct vg_err err = { 0 };
	/* one conflicting writer: the second instance succeeds */
	fx_reset("tdx_guest\n", AUX_NONE);
	FX.conflicts = 1;
	assert_int_equal(ag_tsm_report(TSM, rd, 64, -1, &r, &err), 0);
	assert_int_equal(r.attempts, 2);
	assert_true(r.outblob_len > 0);
	ag_tsm_report_free(&r);
	assert_int_equal(count_entries(), 0);
	/* always conflicting: gives up after AG_TSM_ATTEMPTS, saying why */
	fx_reset("tdx_guest\n", AUX_NONE);
	FX.conflicts = 100;
	assert_int_equal(ag_tsm_report(TSM, rd, 64, -1, &r, &err), -EAGAIN);
	assert_int_equal(r.attempts, AG_TSM_ATTEMPTS);
	assert_null(r.outblob);
	assert_non_null(strstr(err.msg, "generation"));
	assert_non_null(strstr(err.msg, "after 3 attempts"));
	assert_int_equal(count_entries(), 0);
}

static void test_tsm_bad(void **state)
{
	(void)state;
	uint8_t rd[64] = { 3 };
	struct ag_provider_opts o = tsm_opts();
	const char *tee;
	json_t *ev = NULL;
	struct vg_err err = { 0 };
	fx_reset("sev_guest\n", AUX_GARBAGE);
	assert_int_equal(ag_evidence_get(&o, rd, &tee, &ev, &err), -EBADMSG);
	assert_null(ev);
	assert_non_null(strstr(err.msg, "auxblob"));
	/* evidence for someone else's REPORT_DATA */
	fx_reset("sev_guest\n", AUX_TABLE);
	FX.wrong_rd = true;
	assert_int_equal(ag_evidence_get(&o, rd, &tee, &ev, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "different REPORT_DATA"));
	fx_reset("tdx_guest\n", AUX_NONE);
	FX.wrong_rd = true;
	assert_int_equal(ag_evidence_get(&o, rd, &tee, &ev, &err), -EBADMSG);
	/* a provider we do not know */
	fx_reset("arm_cca_guest\n", AUX_NONE);
	char p[32];
	assert_int_equal(ag_tsm_provider(TSM, p, &err), 0);
	assert_string_equal(p, "arm_cca_guest");
	assert_int_equal(count_entries(), 0);
	/* no configfs-tsm at all */
	o.tsm_root = "/nonexistent/tsm";
	assert_int_equal(ag_evidence_get(&o, rd, &tee, &ev, &err), -ENODEV);
	assert_non_null(strstr(err.msg, "/nonexistent/tsm/report"));
	o.tee = AG_TEE_AUTO;
	assert_int_equal(ag_evidence_get(&o, rd, &tee, &ev, &err), -ENODEV);
	assert_non_null(strstr(err.msg, "no evidence provider"));
	assert_int_equal(count_entries(), 0);
}

static void test_tsm_tdx(void **state)
{
	(void)state;
	uint8_t rd[64];
	memset(rd, 0x5a, sizeof(rd));
	fx_reset("tdx_guest\n", AUX_NONE);
	struct ag_provider_opts o = tsm_opts();
	o.tee = AG_TEE_AUTO; /* detected: the report directory exists */
	const char *tee;
	json_t *ev = NULL;
	struct vg_err err = { 0 };
	assert_int_equal(ag_evidence_get(&o, rd, &tee, &ev, &err), 0);
	assert_string_equal(tee, "tdx");
	assert_true(json_is_null(json_object_get(ev, "cc_eventlog")));
	size_t ql;
	uint8_t *q = b64_field(ev, "quote", &ql);
	struct tdx_quote tq;
	assert_int_equal(tdx_quote_parse(q, ql, &tq, &err), 0);
	assert_memory_equal(tq.body.report_data, rd, 64);
	free(q);
	json_decref(ev);
	/* an event log given explicitly travels base64; a missing one named explicitly fails */
	char ccel[128];
	snprintf(ccel, sizeof(ccel), "%s/ccel.bin", STATE);
	put(STATE, "ccel.bin", "CCEL-bytes", 10);
	o.ccel_path = ccel;
	assert_int_equal(ag_evidence_get(&o, rd, &tee, &ev, &err), 0);
	assert_string_equal(json_string_value(json_object_get(ev, "cc_eventlog")), "Q0NFTC1ieXRlcw==");
	json_decref(ev);
	o.ccel_path = "/nonexistent/ccel";
	assert_int_not_equal(ag_evidence_get(&o, rd, &tee, &ev, &err), 0);
	assert_int_equal(count_entries(), 0);
}

/* ------------------------------------------------------------ encodings etc. */
static void test_encodings(void **state)
{
	(void)state;
	uint8_t rep[1184] = { 0 };
	struct vg_err err = { 0 };
	assert_null(ag_snp_evidence_json(rep, 1183, NULL, 0, &err));
	assert_non_null(strstr(err.msg, "1183"));
	json_t *j = ag_snp_evidence_json(rep, sizeof(rep), NULL, 0, &err);
	assert_non_null(j);
	assert_int_equal(json_object_size(j), 2);
	assert_true(json_is_array(json_object_get(j, "cert_chain")));
	json_decref(j);
	j = ag_tdx_evidence_json((const uint8_t *)"abc", 3, NULL, 0, &err);
	assert_string_equal(json_string_value(json_object_get(j, "quote")), "YWJj");
	assert_true(json_is_null(json_object_get(j, "cc_eventlog")));
	json_decref(j);
	enum ag_tee t;
	assert_int_equal(ag_tee_parse("sim-tdx", &t, &err), 0);
	assert_int_equal(t, AG_TEE_SIM_TDX);
	assert_int_equal(ag_tee_parse("sgx", &t, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "sgx"));
}

static void test_serial(void **state)
{
	(void)state;
	struct vg_err err = { 0 };
	uint8_t *o;
	size_t n;
	const char *good = "attest: start\r\nEVIDENCE-BEGIN\r\n00ff10\r\nAB\nEVIDENCE-END\nrest\n";
	assert_int_equal(ag_serial_block(good, strlen(good), "EVIDENCE", &o, &n, &err), 0);
	assert_int_equal(n, 4);
	assert_memory_equal(o, "\x00\xff\x10\xab", 4);
	free(o);
	const char *bad[] = { "EVIDENCE-BEGIN\n00ff\n", "EVIDENCE-BEGIN\n0g\nEVIDENCE-END\n",
			      "EVIDENCE-BEGIN\n0\nEVIDENCE-END\n", "nothing\n", "EVIDENCE-BEGIN\nEVIDENCE-END\n" };
	for (size_t i = 0; i < VG_ARRAY_SIZE(bad); i++)
		assert_int_equal(ag_serial_block(bad[i], strlen(bad[i]), "EVIDENCE", &o, &n, &err), -EBADMSG);
}

static void test_paths_and_problems(void **state)
{
	(void)state;
	struct vg_err err = { 0 };
	assert_int_equal(ag_resource_path_check("default/key/disk-1", &err), 0);
	assert_int_equal(ag_resource_path_check("a/b.c/d_e", &err), 0);
	const char *bad[] = { "a/b", "a/b/c/d", "a//c", "../b/c", "a/./c", "a/b/c?x", "a/b/c d", "", "/a/b" };
	for (size_t i = 0; i < VG_ARRAY_SIZE(bad); i++)
		assert_int_equal(ag_resource_path_check(bad[i], &err), -EINVAL);
	char m[200];
	const char *p = "{\"type\":\"https://github.com/confidential-containers/kbs/errors/PolicyDeny\","
			"\"detail\":\"measurement: expected ab, found cd\\nnext\"}";
	ag_problem_message(403, p, strlen(p), m, sizeof(m));
	assert_string_equal(m, "measurement: expected ab, found cd next (PolicyDeny)");
	ag_problem_message(401, "{\"type\":\"Plain\"}", 16, m, sizeof(m));
	assert_string_equal(m, "Plain");
	ag_problem_message(502, "<html>", 6, m, sizeof(m));
	assert_string_equal(m, "HTTP 502 without a problem description");
	ag_problem_message(404, NULL, 0, m, sizeof(m));
	assert_non_null(strstr(m, "404"));
}

static void test_write_secret(void **state)
{
	(void)state;
	char p[128];
	snprintf(p, sizeof(p), "%s/secret.bin", STATE);
	struct vg_err err = { 0 };
	assert_int_equal(ag_write_secret(p, (const uint8_t *)"s3cr3t", 6, &err), 0);
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 6);
	assert_int_equal(ag_write_secret(p, (const uint8_t *)"other", 5, &err), -EEXIST);
	uint8_t *d;
	size_t n;
	assert_int_equal(vg_read_file(p, 64, &d, &n, &err), 0);
	assert_memory_equal(d, "s3cr3t", 6);
	free(d);
	/* no temporary file left behind */
	DIR *dir = opendir(STATE);
	struct dirent *e;
	while ((e = readdir(dir)))
		assert_null(strstr(e->d_name, ".vigil-agent."));
	closedir(dir);
	assert_int_not_equal(ag_write_secret("/nonexistent/dir/x", (const uint8_t *)"a", 1, &err), 0);
	unlink(p);
}

/* ------------------------------------------------------------------ init-data */
static const char ID_TOML[] = "algorithm = \"sha384\"\nversion = \"0.1.0\"\n\n[data]\n\"k\" = '''v'''\n";

static void test_init_data_parse(void **state)
{
	(void)state;
	struct vg_err err = { 0 };
	const char *f;
	assert_int_equal(ag_init_data_format("x.toml", NULL, &f, &err), 0);
	assert_string_equal(f, "toml");
	assert_int_equal(ag_init_data_format("/a.b/x.json", NULL, &f, &err), 0);
	assert_string_equal(f, "json");
	assert_int_equal(ag_init_data_format("x.txt", "json", &f, &err), 0); /* the flag wins */
	assert_string_equal(f, "json");
	assert_int_equal(ag_init_data_format("x.txt", NULL, &f, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "--init-data-format"));
	assert_int_equal(ag_init_data_format("a.toml/x", NULL, &f, &err), -EINVAL);
	assert_int_equal(ag_init_data_format("x.TOML", NULL, &f, &err), -EINVAL);
	assert_int_equal(ag_init_data_format("x.toml", "yaml", &f, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "yaml"));

	/* sha384 TOML: MRCONFIGID is the whole digest, HOST_DATA its first 32 bytes */
	struct ag_init_data d;
	uint8_t md[64];
	unsigned ml;
	assert_int_equal(ag_init_data_parse("toml", (const uint8_t *)ID_TOML, strlen(ID_TOML), &d, &err), 0);
	EVP_Digest(ID_TOML, strlen(ID_TOML), md, &ml, EVP_sha384(), NULL);
	assert_int_equal(d.md_len, 48);
	assert_memory_equal(d.tdx, md, 48);
	assert_memory_equal(d.snp, md, 32);
	assert_string_equal(d.body, ID_TOML);
	json_t *j = ag_init_data_json(&d);
	assert_string_equal(json_string_value(json_object_get(j, "format")), "toml");
	assert_string_equal(json_string_value(json_object_get(j, "body")), ID_TOML);
	assert_int_equal(json_object_size(j), 2);
	json_decref(j);
	ag_init_data_free(&d);

	/* sha256 JSON: HOST_DATA is the digest, MRCONFIGID the digest then 16 zero bytes */
	const char *js = "{\"algorithm\": \"sha-256\", \"version\": \"0.1.0\", \"data\": {}}";
	assert_int_equal(ag_init_data_parse("json", (const uint8_t *)js, strlen(js), &d, &err), 0);
	EVP_Digest(js, strlen(js), md, &ml, EVP_sha256(), NULL);
	static const uint8_t zero[16];
	assert_int_equal(d.md_len, 32);
	assert_memory_equal(d.snp, md, 32);
	assert_memory_equal(d.tdx, md, 32);
	assert_memory_equal(d.tdx + 32, zero, 16);
	ag_init_data_free(&d);

	/* sha512: both truncated */
	const char *t5 = "algorithm = 'sha512'\n";
	assert_int_equal(ag_init_data_parse("toml", (const uint8_t *)t5, strlen(t5), &d, &err), 0);
	EVP_Digest(t5, strlen(t5), md, &ml, EVP_sha512(), NULL);
	assert_int_equal(d.md_len, 64);
	assert_memory_equal(d.tdx, md, 48);
	assert_memory_equal(d.snp, md, 32);
	ag_init_data_free(&d);

	/* the same rule as the service's (one implementation: att_init_data_digest) */
	uint8_t a[48];
	size_t al = 0;
	assert_int_equal(att_init_data_digest("toml", ID_TOML, 48, a, &al, &err), 0);
	assert_int_equal(al, 48);
	assert_int_equal(att_init_data_digest("toml", ID_TOML, 65, a, &al, &err), -EINVAL);

	/* malformed documents: one reason each */
	static const struct {
		const char *fmt, *body;
		size_t len;
		const char *why;
	} bad[] = {
		{ "toml", "", 0, "empty" },
		{ "toml", "algorithm = \"sha384\"\n\0x", 23, "NUL" },
		{ "toml", "algorithm = \"sha384\"\n\xff\xfe", 23, "UTF-8" },
		{ "toml", "version = \"0.1.0\"\n", 18, "algorithm" },
		{ "toml", "[data]\nalgorithm = \"sha384\"\n", 28, "algorithm" },
		{ "toml", "algorithm = \"md5\"\n", 18, "md5" },
		{ "json", "[1]", 3, "not a JSON object" },
		{ "json", "{\"algorithm\": \"sha384\"", 22, "not a JSON object" },
		{ "json", "{\"algorithm\": \"sha384\", \"algorithm\": \"sha256\"}", 46, "not a JSON object" },
		{ "json", "{\"version\": \"0.1.0\"}", 20, "algorithm" },
		{ "yaml", "algorithm: sha384\n", 18, "yaml" },
	};
	for (size_t i = 0; i < VG_ARRAY_SIZE(bad); i++) {
		err.msg[0] = 0;
		assert_int_equal(ag_init_data_parse(bad[i].fmt, (const uint8_t *)bad[i].body, bad[i].len, &d, &err),
				 -EINVAL);
		if (!strstr(err.msg, bad[i].why))
			fail_msg("case %zu: \"%s\" does not name %s", i, err.msg, bad[i].why);
		assert_null(d.body);
	}
}

static void test_init_data_load(void **state)
{
	(void)state;
	struct vg_err err = { 0 };
	struct ag_init_data d;
	char p[128];
	snprintf(p, sizeof(p), "%s/init.toml", STATE);
	put(STATE, "init.toml", ID_TOML, strlen(ID_TOML));
	assert_int_equal(ag_init_data_load(p, NULL, &d, &err), 0);
	assert_string_equal(d.format, "toml");
	assert_string_equal(d.body, ID_TOML);
	ag_init_data_free(&d);
	/* the flag overrides the extension, and the document must then be JSON */
	assert_int_equal(ag_init_data_load(p, "json", &d, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "init.toml"));
	snprintf(p, sizeof(p), "%s/missing.toml", STATE);
	assert_int_not_equal(ag_init_data_load(p, NULL, &d, &err), 0);
	/* bounded: one byte over 1 MiB is refused */
	size_t n = ATT_INIT_DATA_MAX + 1;
	char *big = malloc(n);
	assert_non_null(big);
	memset(big, '#', n);
	memcpy(big, "algorithm = \"sha384\"\n", 21);
	put(STATE, "big.toml", big, n);
	snprintf(p, sizeof(p), "%s/big.toml", STATE);
	assert_int_equal(ag_init_data_load(p, NULL, &d, &err), -EFBIG);
	assert_non_null(strstr(err.msg, "larger than"));
	put(STATE, "big.toml", big, n - 1); /* exactly 1 MiB is accepted */
	assert_int_equal(ag_init_data_load(p, NULL, &d, &err), 0);
	ag_init_data_free(&d);
	free(big);
}

static json_t *snp_ev(const uint8_t host_data[32])
{
	struct vg_err err = { 0 };
	struct sev_sim_snp_guest g = { .policy = 0x30000 };
	uint8_t rd[64] = { 1 }, rep[SEV_SNP_REPORT_SIZE];
	memcpy(g.host_data, host_data, 32);
	assert_int_equal(sev_sim_snp_report(SNP, &g, rd, 0, rep, &err), 0);
	return ag_snp_evidence_json(rep, sizeof(rep), NULL, 0, &err);
}

static json_t *tdx_ev(const uint8_t mrconfigid[48])
{
	struct vg_err err = { 0 };
	struct tdx_sim_td td = { .attributes = 0x10000000, .xfam = 7 };
	uint8_t rd[64] = { 1 }, *q = NULL;
	size_t ql = 0;
	memcpy(td.mrconfigid, mrconfigid, 48);
	assert_int_equal(tdx_sim_quote(TDX, &td, rd, &q, &ql, &err), 0);
	json_t *ev = ag_tdx_evidence_json(q, ql, NULL, 0, &err);
	free(q);
	return ev;
}

/* The local check against real simulated evidence: bound -> 0, other init-data -> -EACCES. */
static void test_init_data_check(void **state)
{
	(void)state;
	struct vg_err err = { 0 };
	struct ag_init_data d;
	assert_int_equal(ag_init_data_parse("toml", (const uint8_t *)ID_TOML, strlen(ID_TOML), &d, &err), 0);
	uint8_t f[48], other[48];
	size_t fl = 0;
	const char *name = NULL;

	json_t *ev = snp_ev(d.snp);
	assert_int_equal(ag_evidence_launch_field("snp", ev, f, &fl, &name, &err), 0);
	assert_int_equal(fl, 32);
	assert_string_equal(name, "HOST_DATA");
	assert_memory_equal(f, d.snp, 32);
	assert_int_equal(ag_init_data_check(&d, "snp", ev, &err), 0);
	json_decref(ev);
	memcpy(other, d.snp, 32);
	other[31] ^= 1; /* launched for other init-data */
	ev = snp_ev(other);
	assert_int_equal(ag_init_data_check(&d, "snp", ev, &err), -EACCES);
	char h[97];
	vg_hex_encode(d.snp, 32, h);
	assert_non_null(strstr(err.msg, h));
	assert_non_null(strstr(err.msg, "does not match HOST_DATA"));
	assert_non_null(strstr(err.msg, "launched with other init-data"));
	json_decref(ev);

	ev = tdx_ev(d.tdx);
	assert_int_equal(ag_evidence_launch_field("tdx", ev, f, &fl, &name, &err), 0);
	assert_int_equal(fl, 48);
	assert_string_equal(name, "MRCONFIGID");
	assert_int_equal(ag_init_data_check(&d, "tdx", ev, &err), 0);
	json_decref(ev);
	memset(other, 0, 48); /* launched without init-data */
	ev = tdx_ev(other);
	assert_int_equal(ag_init_data_check(&d, "tdx", ev, &err), -EACCES);
	assert_non_null(strstr(err.msg, "does not match MRCONFIGID 0000"));
	json_decref(ev);
	ag_init_data_free(&d);

	/* a sha256 document on TDX: the digest then zeros, exactly what the service's policy wants */
	const char *js = "{\"algorithm\": \"sha256\"}";
	assert_int_equal(ag_init_data_parse("json", (const uint8_t *)js, strlen(js), &d, &err), 0);
	memcpy(other, d.snp, 32);
	ev = tdx_ev(other);
	assert_int_equal(ag_init_data_check(&d, "tdx", ev, &err), 0);
	json_decref(ev);
	other[40] = 1; /* the padding must be zero */
	ev = tdx_ev(other);
	assert_int_equal(ag_init_data_check(&d, "tdx", ev, &err), -EACCES);
	json_decref(ev);
	/* evidence without its report / quote */
	ev = json_pack("{s:s}", "quote", "!!");
	assert_int_not_equal(ag_init_data_check(&d, "tdx", ev, &err), 0);
	json_decref(ev);
	ev = json_object();
	assert_int_equal(ag_init_data_check(&d, "snp", ev, &err), -EBADMSG);
	json_decref(ev);
	ag_init_data_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cert_table),      cmocka_unit_test(test_tsm_snp),
		cmocka_unit_test(test_tsm_privlevel),   cmocka_unit_test(test_tsm_generation_retry),
		cmocka_unit_test(test_tsm_bad),         cmocka_unit_test(test_tsm_tdx),
		cmocka_unit_test(test_encodings),       cmocka_unit_test(test_serial),
		cmocka_unit_test(test_paths_and_problems), cmocka_unit_test(test_write_secret),
		cmocka_unit_test(test_init_data_parse), cmocka_unit_test(test_init_data_load),
		cmocka_unit_test(test_init_data_check),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
