/*
 * sim-snp: the simulated AMD secure processor. Its reports verify with the attest/
 * library only when its root is given explicitly, are rejected against the pinned AMD
 * roots, flag debug policies, and change with every launch input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "attest/attest.h"
#include "sev/sev.h"

static char DIR_[64];
static struct sev_sim_snp *SIM;

static int setup(void **state)
{
	(void)state;
	snprintf(DIR_, sizeof(DIR_), "/tmp/vigil-simsnp.XXXXXX");
	if (!mkdtemp(DIR_))
		return -1;
	struct vg_err err = { 0 };
	if (sev_sim_snp_open(DIR_, &SIM, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sev_sim_snp_free(SIM);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", DIR_);
	return system(cmd) == 0 ? 0 : -1;
}

static uint8_t *slurp(const char *name, size_t *len)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", sev_sim_snp_dir(SIM), name);
	uint8_t *d = NULL;
	struct vg_err err = { 0 };
	assert_int_equal(vg_read_file(p, 1 << 20, &d, len, &err), 0);
	return d;
}

static void guest_defaults(struct sev_sim_snp_guest *g)
{
	memset(g, 0, sizeof(*g));
	g->policy = SEV_SNP_POLICY_VIGIL_DEFAULT;
	for (int i = 0; i < 48; i++)
		g->measurement[i] = (uint8_t)i;
	memset(g->host_data, 0x11, 32);
	memset(g->report_id, 0x22, 32);
}

/* Verifies `report` against the simulated root (sim = true) or the pinned roots. */
static void verify(const uint8_t *report, bool sim, struct att_result *res)
{
	size_t vl, cl, al;
	uint8_t *vcek = slurp("vcek.pem", &vl), *chain = slurp("cert_chain.pem", &cl), *ark = slurp("ark.pem", &al);
	struct att_anchor *anchor = NULL;
	struct vg_err err = { 0 };
	assert_int_equal(att_anchor_load(ark, al, &anchor, &err), 0);
	struct att_snp_input in = { .key_cert = vcek, .key_cert_len = vl, .chain = chain, .chain_len = cl };
	struct att_trust t = { .sim_root = sim ? anchor : NULL };
	att_result_init(res);
	assert_int_equal(att_snp_verify(report, SEV_SNP_REPORT_SIZE, &in, &t, res), 0);
	att_anchor_free(anchor);
	free(vcek);
	free(chain);
	free(ark);
}

static void test_state_generated_once(void **state)
{
	(void)state;
	size_t l1, l2;
	uint8_t *before = slurp("vcek.pem", &l1);
	struct stat st;
	char p[256];
	snprintf(p, sizeof(p), "%s/vcek.key", sev_sim_snp_dir(SIM));
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	struct sev_sim_snp *again = NULL;
	struct vg_err err = { 0 };
	assert_int_equal(sev_sim_snp_open(DIR_, &again, &err), 0);
	uint8_t *after = slurp("vcek.pem", &l2);
	assert_int_equal(l1, l2);
	assert_memory_equal(before, after, l1); /* reused, not regenerated */
	sev_sim_snp_free(again);
	free(before);
	free(after);
	/* Every subject says SIMULATED. */
	static const char *const files[] = { "cert_chain.pem", "vcek.pem" };
	unsigned seen = 0;
	for (int f = 0; f < 2; f++) {
		size_t n;
		uint8_t *pem = slurp(files[f], &n);
		BIO *b = BIO_new_mem_buf(pem, (int)n);
		X509 *x;
		while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
			char name[512];
			X509_NAME_oneline(X509_get_subject_name(x), name, sizeof(name));
			assert_non_null(strstr(name, "SIMULATED"));
			X509_free(x);
			seen++;
		}
		BIO_free(b);
		free(pem);
	}
	assert_int_equal(seen, 3); /* ASK, ARK, VCEK */
}

static void test_report_verifies_with_sim_root(void **state)
{
	(void)state;
	struct sev_sim_snp_guest g;
	guest_defaults(&g);
	uint8_t rd[64], rep[SEV_SNP_REPORT_SIZE];
	for (int i = 0; i < 64; i++)
		rd[i] = (uint8_t)(0x80 + i);
	struct vg_err err = { 0 };
	assert_int_equal(sev_sim_snp_report(SIM, &g, rd, 0, rep, &err), 0);
	struct att_result res;
	verify(rep, true, &res);
	assert_true(res.verified);
	assert_true(res.simulated);
	assert_string_equal(res.product, "Genoa");
	assert_string_equal(res.snp_key, "VCEK");
	assert_int_equal(res.snp.version, 3);
	assert_memory_equal(res.snp.report_data, rd, 64);
	assert_memory_equal(res.snp.measurement, g.measurement, 48);
	assert_memory_equal(res.snp.host_data, g.host_data, 32);
	assert_int_equal(res.snp.policy, 0x30000);
	assert_int_equal(res.snp.vmpl, 0);
	assert_true(res.snp.has_cpuid);
	assert_int_equal(res.snp.cpuid_fam_id, 0x19);
	assert_int_equal(res.snp.reported_tcb, res.snp.launch_tcb);
	uint8_t ff[32];
	memset(ff, 0xff, 32);
	assert_memory_equal(res.snp.report_id_ma, ff, 32);
	json_t *j = att_result_json(&res);
	char *s = json_dumps(j, JSON_COMPACT);
	assert_non_null(strstr(s, "\"simulated\":true"));
	assert_non_null(strstr(s, "\"debug\":false"));
	free(s);
	json_decref(j);
	att_result_free(&res);
}

static void test_rejected_without_sim_root(void **state)
{
	(void)state;
	struct sev_sim_snp_guest g;
	guest_defaults(&g);
	uint8_t rd[64] = { 0 }, rep[SEV_SNP_REPORT_SIZE];
	struct vg_err err = { 0 };
	assert_int_equal(sev_sim_snp_report(SIM, &g, rd, 0, rep, &err), 0);
	struct att_result res;
	verify(rep, false, &res); /* the pinned AMD roots */
	assert_false(res.verified);
	assert_false(res.simulated);
	att_result_free(&res);

	/* A flipped bit in the signed region breaks the signature. */
	rep[0x90] ^= 1;
	verify(rep, true, &res);
	assert_false(res.verified);
	assert_non_null(strstr(res.reason, "signature"));
	att_result_free(&res);
}

static void test_debug_policy_flagged(void **state)
{
	(void)state;
	struct sev_sim_snp_guest g;
	guest_defaults(&g);
	g.policy |= SEV_SNP_POLICY_DEBUG;
	uint8_t rd[64] = { 0 }, rep[SEV_SNP_REPORT_SIZE];
	struct vg_err err = { 0 };
	assert_int_equal(sev_sim_snp_report(SIM, &g, rd, 0, rep, &err), 0);
	struct att_result res;
	verify(rep, true, &res);
	assert_true(res.verified);
	json_t *j = att_result_json(&res);
	char *s = json_dumps(j, JSON_COMPACT);
	assert_non_null(strstr(s, "\"debug\":true"));
	free(s);
	json_decref(j);
	att_result_free(&res);
}

/* Every launch input lands in its own field; nothing else moves. */
static void test_inputs_change_evidence(void **state)
{
	(void)state;
	struct sev_sim_snp_guest g;
	uint8_t rd[64] = { 0 }, base[SEV_SNP_REPORT_SIZE], rep[SEV_SNP_REPORT_SIZE];
	struct vg_err err = { 0 };
	guest_defaults(&g);
	assert_int_equal(sev_sim_snp_report(SIM, &g, rd, 0, base, &err), 0);
	struct {
		size_t off, len;
	} fields[] = { { 0x90, 48 }, { 0xC0, 32 }, { 0x08, 8 }, { 0x50, 64 }, { 0x30, 4 } };
	for (int k = 0; k < 5; k++) {
		guest_defaults(&g);
		uint8_t rd2[64] = { 0 };
		uint32_t vmpl = 0;
		switch (k) {
		case 0: g.measurement[47] ^= 1; break;
		case 1: g.host_data[0] ^= 1; break;
		case 2: g.policy |= SEV_SNP_POLICY_MIGRATE_MA; break;
		case 3: rd2[63] = 1; break;
		case 4: vmpl = 2; break;
		}
		assert_int_equal(sev_sim_snp_report(SIM, &g, rd2, vmpl, rep, &err), 0);
		for (size_t i = 0; i < SEV_SNP_REPORT_SIGNED_LEN; i++) {
			bool inside = i >= fields[k].off && i < fields[k].off + fields[k].len;
			if (!inside && rep[i] != base[i])
				fail_msg("input %d changed byte 0x%zx outside its field", k, i);
		}
		assert_memory_not_equal(rep + fields[k].off, base + fields[k].off, fields[k].len);
	}
	assert_int_equal(sev_sim_snp_report(SIM, &g, rd, 4, rep, &err), -EINVAL);
}

/* Firmware-format public key (curve 2, Qx, Qy 72 bytes LE) and signature (R, S LE). */
static void fw_pubkey(EVP_PKEY *k, uint8_t out[0x404])
{
	BIGNUM *x = NULL, *y = NULL;
	memset(out, 0, 0x404);
	assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, &x), 1);
	assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, &y), 1);
	vg_put_le32(out, 2);
	assert_int_equal(BN_bn2lebinpad(x, out + 4, 72), 72);
	assert_int_equal(BN_bn2lebinpad(y, out + 76, 72), 72);
	BN_free(x);
	BN_free(y);
}

static void fw_sign(EVP_PKEY *k, const uint8_t *msg, size_t len, uint8_t out[0x200])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char der[128];
	size_t dl = sizeof(der);
	assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha384(), NULL, k), 1);
	assert_int_equal(EVP_DigestSign(md, der, &dl, msg, len), 1);
	const unsigned char *p = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)dl);
	memset(out, 0, 0x200);
	assert_int_equal(BN_bn2lebinpad(ECDSA_SIG_get0_r(sig), out, 72), 72);
	assert_int_equal(BN_bn2lebinpad(ECDSA_SIG_get0_s(sig), out + 72, 72), 72);
	ECDSA_SIG_free(sig);
	EVP_MD_CTX_free(md);
}

/* The ID block check of SNP_LAUNCH_FINISH, and the report fields it fills. */
static void test_id_block(void **state)
{
	(void)state;
	struct sev_sim_snp_guest g;
	guest_defaults(&g);
	EVP_PKEY *idk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	EVP_PKEY *ak = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	static uint8_t idb[96], ida[4096];
	memcpy(idb, g.measurement, 48);
	memset(idb + 48, 0xfa, 16); /* family */
	memset(idb + 64, 0x1a, 16); /* image */
	vg_put_le32(idb + 80, 1);
	vg_put_le32(idb + 84, 7); /* guest SVN */
	vg_put_le64(idb + 88, g.policy);
	memset(ida, 0, sizeof(ida));
	vg_put_le32(ida, 1);
	vg_put_le32(ida + 4, 1);
	fw_pubkey(idk, ida + 0x240);
	fw_pubkey(ak, ida + 0x880);
	fw_sign(idk, idb, 96, ida + 0x40);
	fw_sign(ak, ida + 0x240, 0x404, ida + 0x680);
	struct vg_err err = { 0 };
	assert_int_equal(sev_sim_snp_id_check(&g, idb, ida, true, &err), 0);
	uint8_t want[48];
	unsigned int n;
	EVP_Digest(ida + 0x240, 0x404, want, &n, EVP_sha384(), NULL);
	assert_memory_equal(g.id_key_digest, want, 48);
	EVP_Digest(ida + 0x880, 0x404, want, &n, EVP_sha384(), NULL);
	assert_memory_equal(g.author_key_digest, want, 48);
	assert_int_equal(g.guest_svn, 7);
	assert_true(g.author_key_en);
	uint8_t rd[64] = { 0 }, rep[SEV_SNP_REPORT_SIZE];
	assert_int_equal(sev_sim_snp_report(SIM, &g, rd, 0, rep, &err), 0);
	struct att_result res;
	verify(rep, true, &res);
	assert_true(res.verified);
	assert_memory_equal(res.snp.id_key_digest, g.id_key_digest, 48);
	assert_memory_equal(res.snp.author_key_digest, g.author_key_digest, 48);
	assert_int_equal(res.snp.guest_svn, 7);
	assert_true(res.snp.author_key_en);
	uint8_t fam[16];
	memset(fam, 0xfa, 16);
	assert_memory_equal(res.snp.family_id, fam, 16);
	att_result_free(&res);

	/* What the firmware refuses. */
	struct sev_sim_snp_guest g2;
	guest_defaults(&g2);
	g2.measurement[0] ^= 1;
	assert_int_equal(sev_sim_snp_id_check(&g2, idb, ida, true, &err), -EPERM);
	assert_non_null(strstr(err.msg, "measurement"));
	guest_defaults(&g2);
	g2.policy |= SEV_SNP_POLICY_DEBUG;
	assert_int_equal(sev_sim_snp_id_check(&g2, idb, ida, true, &err), -EPERM);
	assert_non_null(strstr(err.msg, "policy"));
	guest_defaults(&g2);
	ida[0x40] ^= 1;
	assert_int_equal(sev_sim_snp_id_check(&g2, idb, ida, false, &err), -EPERM);
	assert_non_null(strstr(err.msg, "ID block signature"));
	ida[0x40] ^= 1;
	ida[0x680] ^= 1;
	assert_int_equal(sev_sim_snp_id_check(&g2, idb, ida, true, &err), -EPERM);
	assert_non_null(strstr(err.msg, "author key"));
	assert_int_equal(sev_sim_snp_id_check(&g2, idb, ida, false, &err), 0); /* no author key: fine */
	uint8_t zero[48] = { 0 };
	assert_memory_equal(g2.author_key_digest, zero, 48);
	EVP_PKEY_free(idk);
	EVP_PKEY_free(ak);
}

/* The ID block, ID auth and secrets page as declared structures: field offsets
 * from the SNP ABI tables, and the simulated PSP's secrets page. */
static void test_abi_structures(void **state)
{
	(void)state;
	assert_int_equal(offsetof(struct sev_snp_id_block, version), 0x50);
	assert_int_equal(offsetof(struct sev_snp_id_block, policy), 0x58);
	assert_int_equal(offsetof(struct sev_snp_id_auth, id_block_sig), 0x040);
	assert_int_equal(offsetof(struct sev_snp_id_auth, id_key), 0x240);
	assert_int_equal(offsetof(struct sev_snp_id_auth, id_key_sig), 0x680);
	assert_int_equal(offsetof(struct sev_snp_id_auth, author_key), 0x880);
	assert_int_equal(offsetof(struct sev_snp_secrets_page, vmpck), 0x020);
	assert_int_equal(offsetof(struct sev_snp_secrets_page, guest_area), 0x0A0);
	assert_int_equal(offsetof(struct sev_snp_secrets_page, tsc_factor), 0x160);
	static uint8_t page[4096], zero[4096];
	memset(page, 0xAA, sizeof(page));
	assert_int_equal(sev_sim_snp_secrets_fill(page), 0);
	const struct sev_snp_secrets_page *sp = (const void *)page;
	assert_int_equal(vg_le32(sp->version), 3);
	assert_memory_not_equal(sp->vmpck, zero, sizeof(sp->vmpck));
	assert_memory_equal(sp->guest_area, zero, sizeof(sp->guest_area));
	assert_memory_equal(sp->reserved3, zero, sizeof(sp->reserved3));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_generated_once),
		cmocka_unit_test(test_report_verifies_with_sim_root),
		cmocka_unit_test(test_rejected_without_sim_root),
		cmocka_unit_test(test_debug_policy_flagged),
		cmocka_unit_test(test_inputs_change_evidence),
		cmocka_unit_test(test_id_block),
		cmocka_unit_test(test_abi_structures),
	};
	return cmocka_run_group_tests_name("sim_snp", tests, setup, teardown);
}
