/* Unit tests for attest/: a simulated SNP chain generated here (RSA-PSS ARK ->
 * ASK -> P-384 VCEK with AMD extensions, Turin layout), the explicit trust
 * anchor, TCB/HWID binding, CRL, every-bit tampering of real evidence, the
 * collateral JSON span scanner and the certificate-extension parsers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "attest/attest.h"
#include "tests/unit/test_attest_vectors.h"

/* ------------------------------------------------ simulated AMD chain */
struct sim {
	EVP_PKEY *ark_key, *ask_key, *vcek_key;
	X509 *ark, *ask, *vcek;
	char *vcek_pem, *chain_pem, *ark_pem;
	size_t vcek_len, chain_len, ark_len;
};

static void name_of(X509_NAME *n, const char *cn)
{
	X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"Vigil SIMULATED AMD", -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
}

static void sign_pss(X509 *c, EVP_PKEY *key)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;
	assert_int_equal(EVP_DigestSignInit(md, &pc, EVP_sha384(), NULL, key), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, 48), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(pc, EVP_sha384()), 1);
	assert_true(X509_sign_ctx(c, md) > 0);
	EVP_MD_CTX_free(md);
}

static void add_ext_der(X509 *c, const char *oid, const uint8_t *der, int len)
{
	ASN1_OBJECT *o = OBJ_txt2obj(oid, 1);
	ASN1_OCTET_STRING *v = ASN1_OCTET_STRING_new();
	ASN1_OCTET_STRING_set(v, der, len);
	X509_EXTENSION *e = X509_EXTENSION_create_by_OBJ(NULL, o, 0, v);
	X509_add_ext(c, e, -1);
	X509_EXTENSION_free(e);
	ASN1_OCTET_STRING_free(v);
	ASN1_OBJECT_free(o);
}

static void add_int_ext(X509 *c, const char *oid, long val)
{
	ASN1_INTEGER *i = ASN1_INTEGER_new();
	unsigned char *der = NULL;
	ASN1_INTEGER_set(i, val);
	int n = i2d_ASN1_INTEGER(i, &der);
	add_ext_der(c, oid, der, n);
	OPENSSL_free(der);
	ASN1_INTEGER_free(i);
}

static X509 *make_cert(EVP_PKEY *subj_key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, bool ca, long serial)
{
	X509 *c = X509_new();
	X509_set_version(c, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c), serial);
	name_of(X509_get_subject_name(c), cn);
	X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : X509_get_subject_name(c));
	X509_gmtime_adj(X509_getm_notBefore(c), -3600);
	X509_gmtime_adj(X509_getm_notAfter(c), 3600L * 24 * 365);
	X509_set_pubkey(c, subj_key);
	if (ca) {
		X509V3_CTX ctx;
		X509V3_set_ctx(&ctx, issuer ? issuer : c, c, NULL, NULL, 0);
		X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints, "critical,CA:TRUE");
		X509_add_ext(c, e, -1);
		X509_EXTENSION_free(e);
		e = X509V3_EXT_conf_nid(NULL, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
		X509_add_ext(c, e, -1);
		X509_EXTENSION_free(e);
	}
	return c;
}

static char *pem_of(X509 *const *certs, int n, size_t *len)
{
	BIO *b = BIO_new(BIO_s_mem());
	for (int i = 0; i < n; i++)
		PEM_write_bio_X509(b, certs[i]);
	char *p;
	long l = BIO_get_mem_data(b, &p);
	char *out = malloc((size_t)l + 1);
	memcpy(out, p, (size_t)l);
	out[l] = 0;
	*len = (size_t)l;
	BIO_free(b);
	return out;
}

/* Turin VCEK: TCB fmc 3, bl 1, tee 2, snp 0x19, ucode 0x1d; HWID = 8 bytes. */
static const uint8_t sim_hwid[8] = {0x1e, 0x55, 0x0a, 0x8e, 0xe5, 0xcf, 0x9f, 0x4d};
static const uint64_t sim_tcb = 0x1d00000019020103ull;

static void sim_make(struct sim *s, const char *ark_cn)
{
	memset(s, 0, sizeof(*s));
	s->ark_key = EVP_RSA_gen(2048);
	s->ask_key = EVP_RSA_gen(2048);
	s->vcek_key = EVP_EC_gen("secp384r1");
	assert_non_null(s->ark_key);
	assert_non_null(s->ask_key);
	assert_non_null(s->vcek_key);
	s->ark = make_cert(s->ark_key, ark_cn, NULL, s->ark_key, true, 1);
	sign_pss(s->ark, s->ark_key);
	s->ask = make_cert(s->ask_key, "SEV-Turin", s->ark, s->ark_key, true, 2);
	sign_pss(s->ask, s->ark_key);
	s->vcek = make_cert(s->vcek_key, "SEV-VCEK", s->ask, s->ask_key, false, 0); /* AMD uses serial 0 */
	static const uint8_t turin_ia5[] = {0x16, 0x05, 'T', 'u', 'r', 'i', 'n'};
	add_int_ext(s->vcek, "1.3.6.1.4.1.3704.1.1", 1);
	add_ext_der(s->vcek, "1.3.6.1.4.1.3704.1.2", turin_ia5, sizeof(turin_ia5));
	add_int_ext(s->vcek, "1.3.6.1.4.1.3704.1.3.9", 3);
	add_int_ext(s->vcek, "1.3.6.1.4.1.3704.1.3.1", 1);
	add_int_ext(s->vcek, "1.3.6.1.4.1.3704.1.3.2", 2);
	add_int_ext(s->vcek, "1.3.6.1.4.1.3704.1.3.3", 0x19);
	add_int_ext(s->vcek, "1.3.6.1.4.1.3704.1.3.8", 0x1d);
	add_ext_der(s->vcek, "1.3.6.1.4.1.3704.1.4", sim_hwid, sizeof(sim_hwid));
	sign_pss(s->vcek, s->ask_key);
	X509 *chain[2] = {s->ask, s->ark};
	s->vcek_pem = pem_of(&s->vcek, 1, &s->vcek_len);
	s->chain_pem = pem_of(chain, 2, &s->chain_len);
	s->ark_pem = pem_of(&s->ark, 1, &s->ark_len);
}

static void sim_free(struct sim *s)
{
	EVP_PKEY_free(s->ark_key);
	EVP_PKEY_free(s->ask_key);
	EVP_PKEY_free(s->vcek_key);
	X509_free(s->ark);
	X509_free(s->ask);
	X509_free(s->vcek);
	free(s->vcek_pem);
	free(s->chain_pem);
	free(s->ark_pem);
}

static void sim_report(const struct sim *s, struct sev_snp_report *r)
{
	memset(r, 0, sizeof(*r));
	r->version = 3;
	r->policy = 0x30000;
	r->signature_algo = 1;
	r->reported_tcb = r->current_tcb = r->committed_tcb = r->launch_tcb = sim_tcb;
	r->cpuid_fam_id = 0x1a;
	r->cpuid_mod_id = 0x02;
	memcpy(r->chip_id, sim_hwid, 8);
	for (int i = 0; i < 48; i++)
		r->measurement[i] = (uint8_t)(0xa0 + i);
	(void)s;
}

static void sign_report(EVP_PKEY *key, const struct sev_snp_report *r, uint8_t out[SEV_SNP_REPORT_SIZE])
{
	sev_snp_report_serialize(r, out);
	uint8_t der[128];
	size_t dl = sizeof(der);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha384(), NULL, key), 1);
	assert_int_equal(EVP_DigestSign(md, der, &dl, out, SEV_SNP_REPORT_SIGNED_LEN), 1);
	EVP_MD_CTX_free(md);
	const unsigned char *p = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)dl);
	assert_non_null(sig);
	BN_bn2lebinpad(ECDSA_SIG_get0_r(sig), out + 0x2A0, 72);
	BN_bn2lebinpad(ECDSA_SIG_get0_s(sig), out + 0x2E8, 72);
	ECDSA_SIG_free(sig);
}

static int verify_sim(const struct sim *s, const uint8_t *report, const struct att_anchor *a,
		      const uint8_t *crl, size_t crl_len, struct att_result *res)
{
	struct att_snp_input in = {(const uint8_t *)s->vcek_pem, s->vcek_len, (const uint8_t *)s->chain_pem,
				   s->chain_len, crl, crl_len};
	struct att_trust t = {.sim_root = a};
	att_result_init(res);
	return att_snp_verify(report, SEV_SNP_REPORT_SIZE, &in, &t, res);
}

static void test_sim_root_required(void **state)
{
	(void)state;
	struct sim s;
	struct sev_snp_report r;
	uint8_t rep[SEV_SNP_REPORT_SIZE];
	struct att_result res;
	struct att_anchor *a = NULL;
	struct vg_err e = {0};

	sim_make(&s, "ARK-Turin SIMULATED");
	sim_report(&s, &r);
	sign_report(s.vcek_key, &r, rep);

	/* Without the explicit anchor: the pinned AMD roots do not accept it. */
	assert_int_equal(verify_sim(&s, rep, NULL, NULL, 0, &res), 0);
	assert_false(res.verified);
	assert_non_null(strstr(res.reason, "pinned fingerprint"));
	att_result_free(&res);

	/* With it: verified, marked simulated, Turin layout bound. */
	assert_int_equal(att_anchor_load((const uint8_t *)s.ark_pem, s.ark_len, &a, &e), 0);
	assert_int_equal(verify_sim(&s, rep, a, NULL, 0, &res), 0);
	assert_true(res.verified);
	assert_true(res.simulated);
	assert_string_equal(res.product, "Turin");
	json_t *j = att_result_json(&res);
	assert_true(json_is_true(json_object_get(j, "simulated")));
	json_t *tcb = json_object_get(json_object_get(j, "claims"), "reported_tcb");
	assert_int_equal(json_integer_value(json_object_get(tcb, "fmc")), 3);
	assert_int_equal(json_integer_value(json_object_get(tcb, "snp")), 0x19);
	json_decref(j);
	att_result_free(&res);

	/* TCB binding: REPORTED_TCB must equal the VCEK's SPL extensions. */
	r.reported_tcb = sim_tcb + 1; /* fmc 4 */
	sign_report(s.vcek_key, &r, rep);
	verify_sim(&s, rep, a, NULL, 0, &res);
	assert_false(res.verified);
	assert_non_null(strstr(res.reason, "TCB binding: certificate fmcSPL 3 != REPORTED_TCB fmcSPL 4"));
	att_result_free(&res);

	/* HWID binding: 8 bytes on Turin. */
	sim_report(&s, &r);
	r.chip_id[7] ^= 1;
	sign_report(s.vcek_key, &r, rep);
	verify_sim(&s, rep, a, NULL, 0, &res);
	assert_false(res.verified);
	assert_non_null(strstr(res.reason, "HWID binding"));
	att_result_free(&res);

	/* Report claims a VLEK signature but the certificate is a VCEK. */
	sim_report(&s, &r);
	r.flags = 1u << 2;
	sign_report(s.vcek_key, &r, rep);
	verify_sim(&s, rep, a, NULL, 0, &res);
	assert_false(res.verified);
	assert_non_null(strstr(res.reason, "signed by VLEK"));
	att_result_free(&res);

	/* CPUID says Milan: the key chains to a Turin certificate. */
	sim_report(&s, &r);
	r.cpuid_fam_id = 0x19;
	r.cpuid_mod_id = 0x01;
	sign_report(s.vcek_key, &r, rep);
	verify_sim(&s, rep, a, NULL, 0, &res);
	assert_false(res.verified);
	assert_non_null(strstr(res.reason, "is Milan"));
	att_result_free(&res);

	/* Validity: --at before the certificates exist. */
	sim_report(&s, &r);
	sign_report(s.vcek_key, &r, rep);
	struct att_snp_input in = {(const uint8_t *)s.vcek_pem, s.vcek_len, (const uint8_t *)s.chain_pem,
				   s.chain_len, NULL, 0};
	struct att_trust t = {.sim_root = a, .have_at = true, .at = (int64_t)time(NULL) - 86400 * 30};
	att_result_init(&res);
	att_snp_verify(rep, sizeof(rep), &in, &t, &res);
	assert_false(res.verified);
	assert_non_null(strstr(res.reason, "not yet valid"));
	att_result_free(&res);
	att_anchor_free(a);

	/* Another simulated root does not verify this chain. */
	struct sim other;
	sim_make(&other, "ARK-Turin SIMULATED");
	assert_int_equal(att_anchor_load((const uint8_t *)other.ark_pem, other.ark_len, &a, &e), 0);
	verify_sim(&s, rep, a, NULL, 0, &res);
	assert_false(res.verified);
	assert_non_null(strstr(res.reason, "certificate chain"));
	att_result_free(&res);
	att_anchor_free(a);
	sim_free(&other);
	sim_free(&s);
}

/* A root without "SIMULATED" in its subject cannot be passed as the simulated root. */
static void test_anchor_must_be_simulated(void **state)
{
	(void)state;
	struct sim s;
	struct att_anchor *a = NULL;
	struct vg_err e = {0};
	sim_make(&s, "ARK-Turin");
	X509_NAME *n = X509_NAME_new();
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"ARK-Turin", -1, -1, 0);
	X509_set_subject_name(s.ark, n);
	X509_set_issuer_name(s.ark, n);
	X509_NAME_free(n);
	sign_pss(s.ark, s.ark_key);
	size_t l;
	char *pem = pem_of(&s.ark, 1, &l);
	assert_int_equal(att_anchor_load((const uint8_t *)pem, l, &a, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "SIMULATED"));
	assert_null(a);
	assert_int_equal(att_anchor_load((const uint8_t *)"junk", 4, &a, &e), -EBADMSG);
	free(pem);
	sim_free(&s);
}

/* A DER CRL by issuer (RSA-PSS SHA-384 like AMD when pss, else ECDSA SHA-256), listing revoked if given. */
static unsigned char *crl_der(X509 *issuer, EVP_PKEY *k, X509 *revoked, bool pss, int *len)
{
	X509_CRL *crl = X509_CRL_new();
	X509_CRL_set_version(crl, 1);
	X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer));
	ASN1_TIME *t0 = ASN1_TIME_adj(NULL, time(NULL), -1, 0), *t1 = ASN1_TIME_adj(NULL, time(NULL), 30, 0);
	X509_CRL_set1_lastUpdate(crl, t0);
	X509_CRL_set1_nextUpdate(crl, t1);
	if (revoked) {
		X509_REVOKED *rv = X509_REVOKED_new();
		X509_REVOKED_set_serialNumber(rv, X509_get_serialNumber(revoked));
		X509_REVOKED_set_revocationDate(rv, t0);
		X509_CRL_add0_revoked(crl, rv);
	}
	if (pss) {
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		EVP_PKEY_CTX *pc = NULL;
		EVP_DigestSignInit(md, &pc, EVP_sha384(), NULL, k);
		EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING);
		EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, 48);
		assert_true(X509_CRL_sign_ctx(crl, md) > 0);
		EVP_MD_CTX_free(md);
	} else {
		assert_true(X509_CRL_sign(crl, k, EVP_sha256()) > 0);
	}
	unsigned char *d = NULL;
	*len = i2d_X509_CRL(crl, &d);
	ASN1_TIME_free(t0);
	ASN1_TIME_free(t1);
	X509_CRL_free(crl);
	return d;
}

/* An AMD CRL (signed by the ARK) that lists the ASK rejects; an empty one does not. */
static void test_snp_crl(void **state)
{
	(void)state;
	struct sim s;
	struct sev_snp_report r;
	uint8_t rep[SEV_SNP_REPORT_SIZE];
	struct att_result res;
	struct att_anchor *a = NULL;
	sim_make(&s, "ARK-Turin SIMULATED");
	sim_report(&s, &r);
	sign_report(s.vcek_key, &r, rep);
	assert_int_equal(att_anchor_load((const uint8_t *)s.ark_pem, s.ark_len, &a, NULL), 0);
	for (int revoke = 0; revoke < 2; revoke++) {
		int dl;
		unsigned char *der = crl_der(s.ark, s.ark_key, revoke ? s.ask : NULL, true, &dl);
		verify_sim(&s, rep, a, der, (size_t)dl, &res);
		if (revoke) {
			assert_false(res.verified);
			assert_non_null(strstr(res.reason, "revoked"));
		} else {
			assert_true(res.verified);
		}
		att_result_free(&res);
		OPENSSL_free(der);
	}
	/* Garbage CRL input is a rejection naming the CRL. */
	verify_sim(&s, rep, a, (const uint8_t *)"xx", 2, &res);
	assert_false(res.verified);
	assert_non_null(strstr(res.reason, "CRL"));
	att_result_free(&res);
	/* An empty CRL handed in is a rejection too, never a skipped check. */
	verify_sim(&s, rep, a, (const uint8_t *)"", 0, &res);
	assert_false(res.verified);
	assert_non_null(strstr(res.reason, "CRL"));
	att_result_free(&res);
	att_anchor_free(a);
	sim_free(&s);
}

/* ------------------------------------------------ every-bit tampering */
static void test_snp_tamper_every_bit(void **state)
{
	(void)state;
	size_t len, kl, cl;
	uint8_t *rep = vec("snp/virtee-sev/report_milan.bin", &len);
	uint8_t *vcek = vec("snp/virtee-sev/vcek_milan.der", &kl);
	uint8_t *chain = vec("snp/virtee-sev/cert_chain_milan", &cl);
	if (!rep || !vcek || !chain) {
		free(rep), free(vcek), free(chain);
		skip();
	}
	struct att_snp_input in = {vcek, kl, chain, cl, NULL, 0};
	struct att_result res;
	att_result_init(&res);
	struct att_snp_verifier *v = att_snp_verifier_new(&in, NULL, &res);
	assert_non_null(v);
	assert_int_equal(att_snp_verifier_check(v, rep, len, &res), 0);
	assert_true(res.verified);
	unsigned accepted = 0, tried = 0;
	for (size_t bit = 0; bit < SEV_SNP_REPORT_SIGNED_LEN * 8; bit++) {
		rep[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		att_snp_verifier_check(v, rep, len, &res);
		accepted += res.verified;
		tried++;
		rep[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	assert_int_equal(tried, 0x2A0 * 8);
	assert_int_equal(accepted, 0);
	/* The upstream negative: bit 0x80 of byte 21 (policy). */
	rep[21] ^= 0x80;
	att_snp_verifier_check(v, rep, len, &res);
	assert_false(res.verified);
	assert_non_null(strstr(res.reason, "signature is invalid"));
	att_snp_verifier_free(v);
	att_result_free(&res);
	free(rep), free(vcek), free(chain);
}

static void test_tdx_tamper_every_bit(void **state)
{
	(void)state;
	size_t len;
	uint8_t *q = vec("tdx/trustee/tdx_quote_4.dat", &len);
	if (!q) {
		skip();
		return;
	}
	struct att_tdx_input in = {0};
	struct att_tdx_verifier *v = att_tdx_verifier_new(&in, NULL);
	struct att_result res;
	att_result_init(&res);
	assert_int_equal(att_tdx_verifier_check(v, q, len, &res), 0);
	assert_true(res.verified);
	unsigned accepted = 0;
	size_t signed_len = 48 + 584;
	for (size_t bit = 0; bit < signed_len * 8; bit++) {
		q[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		att_tdx_verifier_check(v, q, len, &res);
		accepted += res.verified;
		q[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	assert_int_equal(accepted, 0);
	/* The README negative: REPORTDATA byte 0 changed -> quote signature invalid. */
	q[48 + 520] ^= 0x55;
	att_tdx_verifier_check(v, q, len, &res);
	assert_false(res.verified);
	assert_non_null(strstr(res.reason, "quote signature is invalid"));
	q[48 + 520] ^= 0x55;
	/* A flipped QE report byte breaks the QE report signature. */
	q[636 + 128 + 6 + 100] ^= 1;
	att_tdx_verifier_check(v, q, len, &res);
	assert_false(res.verified);
	assert_non_null(strstr(res.reason, "QE report signature"));
	att_tdx_verifier_free(v);
	att_result_free(&res);
	free(q);
}

/* The QVL synthetic sample chains to a test root: rejected against the pinned Intel root. */
static void test_tdx_qvl_sample_rejected(void **state)
{
	(void)state;
	size_t len;
	uint8_t *q = vec("tdx/intel-qvl-sample/quote.dat", &len);
	if (!q) {
		skip();
		return;
	}
	struct att_result res;
	att_result_init(&res);
	struct att_tdx_input in = {0};
	assert_int_equal(att_tdx_verify(q, len, &in, NULL, &res), 0);
	assert_false(res.verified);
	assert_false(res.simulated);
	att_result_free(&res);
	free(q);
}

/* ------------------------------------------------ collateral JSON span */
static void test_json_span(void **state)
{
	(void)state;
	size_t off, n;
	struct vg_err e = {0};
	const char *doc = " {\"a\": [1,{\"x\":\"}\"}], \"tcbInfo\" :{\"k\":\"v\\\"}\",\"n\":[{}]} ,\"signature\":\"00\"}";
	assert_int_equal(att_json_signed_span(doc, strlen(doc), "tcbInfo", &off, &n, &e), 0);
	assert_int_equal(n, strlen("{\"k\":\"v\\\"}\",\"n\":[{}]}"));
	assert_memory_equal(doc + off, "{\"k\":\"v\\\"}\",\"n\":[{}]}", n);
	const char *dup = "{\"tcbInfo\":{},\"tcbInfo\":{}}";
	assert_int_equal(att_json_signed_span(dup, strlen(dup), "tcbInfo", &off, &n, &e), -EBADMSG);
	assert_non_null(strstr(e.msg, "duplicate"));
	const char *none = "{\"other\":{}}";
	assert_int_equal(att_json_signed_span(none, strlen(none), "tcbInfo", &off, &n, &e), -EBADMSG);
	const char *open = "{\"tcbInfo\":{\"a\":1";
	assert_int_equal(att_json_signed_span(open, strlen(open), "tcbInfo", &off, &n, &e), -EBADMSG);
	const char *nested = "{\"x\":{\"tcbInfo\":{}}}";
	assert_int_equal(att_json_signed_span(nested, strlen(nested), "tcbInfo", &off, &n, &e), -EBADMSG);
	/* On the real Intel response, the span starts right after "tcbInfo": and ends before ,"signature". */
	size_t len;
	uint8_t *ti = vec("tdx/trustee/tcbInfo.json", &len);
	if (ti) {
		assert_int_equal(att_json_signed_span((char *)ti, len, "tcbInfo", &off, &n, &e), 0);
		assert_int_equal(off, strlen("{\"tcbInfo\":"));
		assert_memory_equal(ti + off + n, ",\"signature\"", 12);
		free(ti);
	}
}

/* ------------------------------------------------ extension parsers */
static void test_amd_ext(void **state)
{
	(void)state;
	size_t len;
	uint8_t *c = vec("snp/virtee-sev/vcek_turin.der", &len);
	if (!c) {
		skip();
		return;
	}
	struct att_amd_cert_ext x;
	assert_int_equal(att_amd_cert_ext_parse(c, len, &x, NULL), 0);
	assert_string_equal(x.product_name, "Turin");
	assert_int_equal(x.hwid_len, 8);
	assert_int_equal(x.hwid[0], 0x1e);
	assert_true(x.has_tcb[9]);
	free(c);
	c = vec("snp/trustee/test-vlek.der", &len);
	assert_non_null(c);
	assert_int_equal(att_amd_cert_ext_parse(c, len, &x, NULL), 0);
	assert_true(x.has_csp_id);
	assert_string_equal(x.csp_id, "CN=cc-us-east-2.amazonaws.com");
	assert_int_equal(x.hwid_len, 0);
	assert_int_equal(x.tcb[8], 0xd9);
	free(c);
	/* The "new" invalid VCEK wraps its HWID in an OCTET STRING: accepted as 64 bytes. */
	c = vec("snp/trustee/test-vcek-invalid-new.der", &len);
	assert_non_null(c);
	assert_int_equal(att_amd_cert_ext_parse(c, len, &x, NULL), 0);
	assert_int_equal(x.hwid_len, 64);
	assert_int_equal(x.hwid[63], 0x3f);
	free(c);
	struct vg_err e = {0};
	assert_int_equal(att_amd_cert_ext_parse((const uint8_t *)"xyz", 3, &x, &e), -EBADMSG);
}

/* The real Turin VCEK chains to the pinned Turin ARK (8-byte HWID, fmcSPL). */
static void test_turin_chain(void **state)
{
	(void)state;
	size_t kl, cl;
	uint8_t *k = vec("snp/virtee-sev/vcek_turin.der", &kl), *c = vec("snp/virtee-sev/cert_chain_turin", &cl);
	if (!k || !c) {
		free(k), free(c);
		skip();
	}
	struct att_snp_input in = {k, kl, c, cl, NULL, 0};
	struct att_result res;
	att_result_init(&res);
	struct att_snp_verifier *v = att_snp_verifier_new(&in, NULL, &res);
	if (!v)
		fail_msg("Turin chain rejected: %s", res.reason);
	assert_string_equal(res.product, "Turin");
	assert_string_equal(res.snp_key, "VCEK");
	/* A Milan report cannot be verified with the Turin key. */
	size_t rl;
	uint8_t *r = vec("snp/virtee-sev/report_milan.bin", &rl);
	assert_non_null(r);
	att_snp_verifier_check(v, r, rl, &res);
	assert_false(res.verified);
	att_snp_verifier_free(v);
	att_result_free(&res);
	free(k), free(c), free(r);
}

static void test_pck_ext(void **state)
{
	(void)state;
	struct att_pck_ext p;
	struct vg_err e = {0};
	assert_int_equal(att_pck_ext_parse((const uint8_t *)"\x30\x00", 2, &p, &e), -EBADMSG);
	assert_non_null(strstr(e.msg, "lacks FMSPC"));
	assert_int_equal(att_pck_ext_parse((const uint8_t *)"\x04\x00", 2, &p, &e), -EBADMSG);
	size_t len;
	uint8_t *q = vec("tdx/trustee/tdx_quote_6.dat", &len);
	if (!q) {
		skip();
		return;
	}
	struct att_result res;
	struct att_tdx_input in = {0};
	att_result_init(&res);
	att_tdx_verify(q, len, &in, NULL, &res);
	assert_true(res.verified);
	assert_true(res.have_pck);
	char h[13];
	vg_hex_encode(res.pck.fmspc, 6, h);
	assert_string_equal(h, "00a06d080000");
	assert_int_equal(res.pck.pcesvn, 11);
	att_result_free(&res);
	free(q);
}

/* ------------------------------------------------ QVL TCB evaluation */
static const char *tcb_next_update = "2099-01-01T00:00:00Z";

static char *tcb_info_doc(const char *platform_status, int sgx_svn, int tdx_svn2, const char *module_status)
{
	static char buf[8192];
	char sgx[512] = "", tdx[512] = "";
	for (int i = 0; i < 16; i++) {
		snprintf(sgx + strlen(sgx), sizeof(sgx) - strlen(sgx), "%s{\"svn\":%d}", i ? "," : "", sgx_svn);
		snprintf(tdx + strlen(tdx), sizeof(tdx) - strlen(tdx), "%s{\"svn\":%d}", i ? "," : "", i == 2 ? tdx_svn2 : 0);
	}
	const char *z48 = "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000";
	snprintf(buf, sizeof(buf),
		 "{\"tcbInfo\":{\"id\":\"TDX\",\"version\":3,\"issueDate\":\"2025-01-01T00:00:00Z\","
		 "\"nextUpdate\":\"%s\",\"fmspc\":\"00A06D080000\",\"pceId\":\"0000\","
		 "\"tdxModule\":{\"mrsigner\":\"%s\",\"attributes\":\"0000000000000000\",\"attributesMask\":\"FFFFFFFFFFFFFFFF\"},"
		 "\"tdxModuleIdentities\":[{\"id\":\"TDX_03\",\"mrsigner\":\"%s\",\"attributes\":\"0000000000000000\","
		 "\"attributesMask\":\"FFFFFFFFFFFFFFFF\",\"tcbLevels\":[{\"tcb\":{\"isvsvn\":5},\"tcbDate\":\"2024-03-13T00:00:00Z\","
		 "\"tcbStatus\":\"%s\",\"advisoryIDs\":[\"INTEL-SA-M\"]}]}],"
		 "\"tcbLevels\":[{\"tcb\":{\"sgxtcbcomponents\":[%s],\"pcesvn\":11,\"tdxtcbcomponents\":[%s]},"
		 "\"tcbDate\":\"2024-01-01T00:00:00Z\",\"tcbStatus\":\"%s\",\"advisoryIDs\":[\"INTEL-SA-P\",\"INTEL-SA-M\"]}]},"
		 "\"signature\":\"00\"}",
		 tcb_next_update, z48, z48, module_status, sgx, tdx, platform_status);
	return buf;
}

static const char qe_doc[] =
	"{\"enclaveIdentity\":{\"id\":\"TD_QE\",\"version\":2,\"issueDate\":\"2025-01-01T00:00:00Z\","
	"\"nextUpdate\":\"2099-01-01T00:00:00Z\",\"miscselect\":\"00000000\",\"miscselectMask\":\"FFFFFFFF\","
	"\"attributes\":\"11000000000000000000000000000000\",\"attributesMask\":\"FBFFFFFFFFFFFFFF0000000000000000\","
	"\"mrsigner\":\"DC9E2A7C6F948F17474E34A7FC43ED030F7C1563F1BABDDF6340C82E0E54A8C5\",\"isvprodid\":2,"
	"\"tcbLevels\":[{\"tcb\":{\"isvsvn\":4},\"tcbDate\":\"2023-02-15T00:00:00Z\",\"tcbStatus\":\"UpToDate\"},"
	"{\"tcb\":{\"isvsvn\":1},\"tcbDate\":\"2020-02-15T00:00:00Z\",\"tcbStatus\":\"OutOfDate\"}]}}";

static int eval(const char *ti, const struct tdx_quote *q, const struct att_pck_ext *pck, struct att_tcb_eval *ev,
		struct vg_err *e)
{
	int rc = att_tdx_tcb_evaluate_trusted((const uint8_t *)ti, strlen(ti), (const uint8_t *)qe_doc,
					      strlen(qe_doc), q, pck, ev, e);
	return rc;
}

static void test_tcb_evaluation(void **state)
{
	(void)state;
	static uint8_t qer[TDX_SGX_REPORT_BODY_SIZE];
	struct tdx_quote q;
	struct att_pck_ext pck;
	struct att_tcb_eval ev;
	struct vg_err e = {0};
	memset(&q, 0, sizeof(q));
	memset(&pck, 0, sizeof(pck));
	qer[48] = 0x11; /* QE attributes */
	static const uint8_t mrsigner[32] = {0xdc, 0x9e, 0x2a, 0x7c, 0x6f, 0x94, 0x8f, 0x17, 0x47, 0x4e, 0x34,
					     0xa7, 0xfc, 0x43, 0xed, 0x03, 0x0f, 0x7c, 0x15, 0x63, 0xf1, 0xba,
					     0xbd, 0xdf, 0x63, 0x40, 0xc8, 0x2e, 0x0e, 0x54, 0xa8, 0xc5};
	memcpy(qer + 128, mrsigner, 32);
	vg_put_le16(qer + 256, 2); /* isvprodid */
	vg_put_le16(qer + 258, 4); /* isvsvn */
	q.qe_report_raw = qer;
	tdx_sgx_report_decode(qer, &q.qe_report);
	q.body.tee_tcb_svn[0] = 5;
	q.body.tee_tcb_svn[1] = 3;
	q.body.tee_tcb_svn[2] = 1;
	memset(pck.sgx_comp, 3, 16);
	pck.pcesvn = 11;
	pck.fmspc[0] = 0x00, pck.fmspc[1] = 0xa0, pck.fmspc[2] = 0x6d, pck.fmspc[3] = 0x08;

	assert_int_equal(eval(tcb_info_doc("UpToDate", 3, 1, "UpToDate"), &q, &pck, &ev, &e), 0);
	assert_int_equal(ev.status, ATT_TCB_UP_TO_DATE);
	assert_string_equal(ev.tcb_date, "2024-01-01T00:00:00Z");
	assert_int_equal(json_array_size(ev.advisories), 2); /* P and M, deduplicated */
	json_decref(ev.advisories);

	static const struct {
		const char *platform;
		int sgx, tdx2;
		const char *module;
		enum att_tcb_status want;
	} cases[] = {
		/* An OutOfDate TDX module makes UpToDate OutOfDate, ConfigurationNeeded OutOfDateConfigurationNeeded. */
		{"UpToDate", 3, 1, "OutOfDate", ATT_TCB_OUT_OF_DATE},
		{"ConfigurationNeeded", 3, 1, "OutOfDate", ATT_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED},
		{"SWHardeningNeeded", 3, 1, "UpToDate", ATT_TCB_SW_HARDENING_NEEDED},
		{"UpToDate", 3, 1, "Revoked", ATT_TCB_REVOKED},
		/* An SGX component below the level's: no matching level. */
		{"UpToDate", 4, 1, "UpToDate", ATT_TCB_NO_MATCHING_LEVEL},
		/* TDX component 2 above TEE_TCB_SVN[2]: no match (components 0-1 are skipped with module identities). */
		{"UpToDate", 3, 2, "UpToDate", ATT_TCB_NO_MATCHING_LEVEL},
	};
	for (size_t i = 0; i < VG_ARRAY_SIZE(cases); i++) {
		assert_int_equal(eval(tcb_info_doc(cases[i].platform, cases[i].sgx, cases[i].tdx2, cases[i].module), &q,
				      &pck, &ev, &e), 0);
		assert_int_equal(ev.status, cases[i].want);
		json_decref(ev.advisories);
	}

	/* The QE at ISVSVN 2 falls to the OutOfDate QE level. */
	vg_put_le16(qer + 258, 2);
	tdx_sgx_report_decode(qer, &q.qe_report);
	assert_int_equal(eval(tcb_info_doc("UpToDate", 3, 1, "UpToDate"), &q, &pck, &ev, &e), 0);
	assert_int_equal(ev.status, ATT_TCB_OUT_OF_DATE);
	json_decref(ev.advisories);
	vg_put_le16(qer + 258, 4);

	/* Module TDX_05 is not in tdxModuleIdentities; module isvsvn below every level. */
	q.body.tee_tcb_svn[1] = 5;
	assert_int_equal(eval(tcb_info_doc("UpToDate", 3, 1, "UpToDate"), &q, &pck, &ev, &e), -EACCES);
	assert_non_null(strstr(e.msg, "TDX_05"));
	q.body.tee_tcb_svn[1] = 3;
	q.body.tee_tcb_svn[0] = 4;
	assert_int_equal(eval(tcb_info_doc("UpToDate", 3, 1, "UpToDate"), &q, &pck, &ev, &e), 0);
	assert_int_equal(ev.status, ATT_TCB_NO_MATCHING_LEVEL);
	json_decref(ev.advisories);
	q.body.tee_tcb_svn[0] = 5;

	/* Identity mismatches are errors naming the field. */
	q.body.mr_signer_seam[0] = 1;
	assert_int_equal(eval(tcb_info_doc("UpToDate", 3, 1, "UpToDate"), &q, &pck, &ev, &e), -EACCES);
	assert_non_null(strstr(e.msg, "MRSIGNERSEAM"));
	q.body.mr_signer_seam[0] = 0;
	qer[128] ^= 1;
	tdx_sgx_report_decode(qer, &q.qe_report);
	assert_int_equal(eval(tcb_info_doc("UpToDate", 3, 1, "UpToDate"), &q, &pck, &ev, &e), -EACCES);
	assert_non_null(strstr(e.msg, "QE MRSIGNER"));
	qer[128] ^= 1;
	tdx_sgx_report_decode(qer, &q.qe_report);
	pck.fmspc[5] = 1;
	assert_int_equal(eval(tcb_info_doc("UpToDate", 3, 1, "UpToDate"), &q, &pck, &ev, &e), -EACCES);
	assert_non_null(strstr(e.msg, "FMSPC"));
}

/* ------------------------------------- simulated TDX platform + collateral */
/* A tiny DER writer for the PCK SGX extension (test data only). */
static size_t der(uint8_t *out, uint8_t tag, const uint8_t *c, size_t n)
{
	size_t h = 0;
	out[h++] = tag;
	if (n < 128) {
		out[h++] = (uint8_t)n;
	} else {
		out[h++] = 0x82;
		out[h++] = (uint8_t)(n >> 8);
		out[h++] = (uint8_t)n;
	}
	memmove(out + h, c, n);
	return h + n;
}

static size_t der_oid_kv(uint8_t *out, const char *oid, const uint8_t *val, size_t vlen)
{
	uint8_t tmp[600], o[32];
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	unsigned char *p = o;
	int on = i2d_ASN1_OBJECT(obj, &p);
	ASN1_OBJECT_free(obj);
	memcpy(tmp, o, (size_t)on);
	memcpy(tmp + on, val, vlen);
	return der(out, 0x30, tmp, (size_t)on + vlen);
}

static void add_sgx_ext(X509 *c)
{
	uint8_t tcb[1200], item[64], v[32], top[1600], all[1700];
	size_t tl = 0, n = 0;
	const char *S = "1.2.840.113741.1.13.1";
	char oid[64];
	for (int i = 1; i <= 18; i++) {
		snprintf(oid, sizeof(oid), "%s.2.%d", S, i);
		uint8_t val[20];
		size_t vl;
		if (i <= 16) {
			v[0] = 3;
			vl = der(val, 0x02, v, 1);
		} else if (i == 17) {
			v[0] = 11;
			vl = der(val, 0x02, v, 1);
		} else {
			memset(v, 3, 16);
			vl = der(val, 0x04, v, 16);
		}
		tl += der_oid_kv(tcb + tl, oid, val, vl);
	}
	uint8_t tcbseq[1300];
	size_t tsl = der(tcbseq, 0x30, tcb, tl);
	snprintf(oid, sizeof(oid), "%s.1", S);
	memset(v, 0xaa, 16);
	n += der_oid_kv(top + n, oid, item, der(item, 0x04, v, 16));
	snprintf(oid, sizeof(oid), "%s.2", S);
	n += der_oid_kv(top + n, oid, tcbseq, tsl);
	snprintf(oid, sizeof(oid), "%s.3", S);
	memset(v, 0, 2);
	n += der_oid_kv(top + n, oid, item, der(item, 0x04, v, 2));
	snprintf(oid, sizeof(oid), "%s.4", S);
	static const uint8_t fmspc[6] = {0x00, 0xa0, 0x6d, 0x08, 0x00, 0x00};
	n += der_oid_kv(top + n, oid, item, der(item, 0x04, fmspc, 6));
	snprintf(oid, sizeof(oid), "%s.5", S);
	v[0] = 0;
	n += der_oid_kv(top + n, oid, item, der(item, 0x0a, v, 1));
	size_t al = der(all, 0x30, top, n);
	add_ext_der(c, S, all, (int)al);
}

struct tsim {
	EVP_PKEY *root_k, *ca_k, *pck_k, *ak, *tcb_k;
	X509 *root, *ca, *pck, *tcb;
	uint8_t *quote;
	size_t quote_len;
	char *root_pem, *tcb_chain;
	size_t root_pem_len, tcb_chain_len;
};

static X509 *ec_cert(EVP_PKEY *k, const char *cn, X509 *iss, EVP_PKEY *isk, bool ca, long serial, bool sgx)
{
	X509 *c = make_cert(k, cn, iss, isk, ca, serial);
	if (sgx)
		add_sgx_ext(c);
	assert_true(X509_sign(c, isk, EVP_sha256()) > 0);
	return c;
}

static void ecdsa_rs(EVP_PKEY *k, const uint8_t *msg, size_t len, uint8_t out[64])
{
	uint8_t d[80];
	size_t dl = sizeof(d);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k), 1);
	assert_int_equal(EVP_DigestSign(md, d, &dl, msg, len), 1);
	EVP_MD_CTX_free(md);
	const unsigned char *p = d;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)dl);
	BN_bn2binpad(ECDSA_SIG_get0_r(sig), out, 32);
	BN_bn2binpad(ECDSA_SIG_get0_s(sig), out + 32, 32);
	ECDSA_SIG_free(sig);
}

static void put(struct vg_buf *b, const void *p, size_t n) { assert_int_equal(vg_buf_append(b, p, n), 0); }

static void tsim_make(struct tsim *t)
{
	memset(t, 0, sizeof(*t));
	t->root_k = EVP_EC_gen("P-256");
	t->ca_k = EVP_EC_gen("P-256");
	t->pck_k = EVP_EC_gen("P-256");
	t->ak = EVP_EC_gen("P-256");
	t->tcb_k = EVP_EC_gen("P-256");
	t->root = ec_cert(t->root_k, "Intel SGX Root CA SIMULATED", NULL, t->root_k, true, 1, false);
	t->ca = ec_cert(t->ca_k, "Intel SGX PCK Platform CA SIMULATED", t->root, t->root_k, true, 2, false);
	t->pck = ec_cert(t->pck_k, "Intel SGX PCK Certificate SIMULATED", t->ca, t->ca_k, false, 77, true);
	t->tcb = ec_cert(t->tcb_k, "Intel SGX TCB Signing SIMULATED", t->root, t->root_k, false, 3, false);
	X509 *chain[3] = {t->pck, t->ca, t->root}, *tc[2] = {t->tcb, t->root};
	size_t pl;
	char *pem = pem_of(chain, 3, &pl);
	t->root_pem = pem_of(&t->root, 1, &t->root_pem_len);
	t->tcb_chain = pem_of(tc, 2, &t->tcb_chain_len);

	struct tdx_quote q;
	memset(&q, 0, sizeof(q));
	q.version = 4;
	q.att_key_type = 2;
	q.tee_type = 0x81;
	q.body_type = TDX_BODY_TYPE_TD10;
	q.body.tee_tcb_svn[0] = 5;
	q.body.tee_tcb_svn[1] = 3;
	q.body.tee_tcb_svn[2] = 1;
	memset(q.body.mr_td, 0x42, 48);
	uint8_t signed_part[700], sig[64], ak[65], qer[TDX_SGX_REPORT_BODY_SIZE] = {0}, qsig[64], auth[32];
	size_t sl = tdx_quote_serialize_signed(&q, signed_part, sizeof(signed_part)), akl = 0;
	assert_int_equal(sl, 632);
	ecdsa_rs(t->ak, signed_part, sl, sig);
	assert_int_equal(EVP_PKEY_get_octet_string_param(t->ak, "pub", ak, sizeof(ak), &akl), 1);
	assert_int_equal(akl, 65);
	for (int i = 0; i < 32; i++)
		auth[i] = (uint8_t)i;
	qer[48] = 0x11;
	static const uint8_t mrsigner[32] = {0xdc, 0x9e, 0x2a, 0x7c, 0x6f, 0x94, 0x8f, 0x17, 0x47, 0x4e, 0x34,
					     0xa7, 0xfc, 0x43, 0xed, 0x03, 0x0f, 0x7c, 0x15, 0x63, 0xf1, 0xba,
					     0xbd, 0xdf, 0x63, 0x40, 0xc8, 0x2e, 0x0e, 0x54, 0xa8, 0xc5};
	memcpy(qer + 128, mrsigner, 32);
	vg_put_le16(qer + 256, 2);
	vg_put_le16(qer + 258, 4);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	EVP_DigestUpdate(md, ak + 1, 64);
	EVP_DigestUpdate(md, auth, 32);
	EVP_DigestFinal_ex(md, qer + 320, NULL);
	EVP_MD_CTX_free(md);
	ecdsa_rs(t->pck_k, qer, sizeof(qer), qsig);

	struct vg_buf cert6 = {0}, out = {0};
	put(&cert6, qer, sizeof(qer));
	put(&cert6, qsig, 64);
	vg_buf_append_le16(&cert6, 32);
	put(&cert6, auth, 32);
	vg_buf_append_le16(&cert6, 5);
	vg_buf_append_le32(&cert6, (uint32_t)pl);
	put(&cert6, pem, pl);
	put(&out, signed_part, sl);
	vg_buf_append_le32(&out, (uint32_t)(128 + 6 + cert6.len));
	put(&out, sig, 64);
	put(&out, ak + 1, 64);
	vg_buf_append_le16(&out, 6);
	vg_buf_append_le32(&out, (uint32_t)cert6.len);
	put(&out, cert6.data, cert6.len);
	vg_buf_free(&cert6);
	free(pem);
	t->quote = out.data;
	t->quote_len = out.len;
}

static void tsim_free(struct tsim *t)
{
	EVP_PKEY *k[] = {t->root_k, t->ca_k, t->pck_k, t->ak, t->tcb_k};
	X509 *c[] = {t->root, t->ca, t->pck, t->tcb};
	for (size_t i = 0; i < VG_ARRAY_SIZE(k); i++)
		EVP_PKEY_free(k[i]);
	for (size_t i = 0; i < VG_ARRAY_SIZE(c); i++)
		X509_free(c[i]);
	free(t->quote);
	free(t->root_pem);
	free(t->tcb_chain);
}

/* {"<key>":BODY,"signature":"<hex r||s over BODY>"} signed by k. */
static char *signed_json(EVP_PKEY *k, const char *key, const char *body)
{
	uint8_t sig[64];
	char hex[129];
	ecdsa_rs(k, (const uint8_t *)body, strlen(body), sig);
	vg_hex_encode(sig, 64, hex);
	size_t n = strlen(body) + strlen(key) + 200;
	char *out = malloc(n);
	snprintf(out, n, "{\"%s\":%s,\"signature\":\"%s\"}", key, body, hex);
	return out;
}

/* The body of a {"key":{...},"signature":..} template. */
static char *inner(const char *doc, const char *key)
{
	size_t off, n;
	assert_int_equal(att_json_signed_span(doc, strlen(doc), key, &off, &n, NULL), 0);
	return strndup(doc + off, n);
}


static void tdx_sim_verify(const struct tsim *t, const struct att_tdx_collateral *c, bool trust_sim,
			   struct att_result *res)
{
	struct att_anchor *a = NULL;
	if (trust_sim)
		assert_int_equal(att_anchor_load((const uint8_t *)t->root_pem, t->root_pem_len, &a, NULL), 0);
	struct att_trust tr = {.sim_root = a};
	struct att_tdx_input in = {c, NULL, 0};
	att_result_init(res);
	assert_int_equal(att_tdx_verify(t->quote, t->quote_len, &in, &tr, res), 0);
	att_anchor_free(a);
}

static void test_tdx_sim_collateral(void **state)
{
	(void)state;
	struct tsim t;
	struct att_result res;
	tsim_make(&t);
	char *tb = inner(tcb_info_doc("UpToDate", 3, 1, "UpToDate"), "tcbInfo");
	char *qb = inner(qe_doc, "enclaveIdentity");
	char *ti = signed_json(t.tcb_k, "tcbInfo", tb), *qi = signed_json(t.tcb_k, "enclaveIdentity", qb);
	struct att_tdx_collateral c = {0};
	c.tcb_info = (uint8_t *)ti, c.tcb_info_len = strlen(ti);
	c.qe_identity = (uint8_t *)qi, c.qe_identity_len = strlen(qi);
	c.tcb_chain = (uint8_t *)t.tcb_chain, c.tcb_chain_len = t.tcb_chain_len;

	/* No collateral, no simulated root: rejected against the pinned Intel root. */
	tdx_sim_verify(&t, NULL, false, &res);
	assert_false(res.verified);
	att_result_free(&res);
	tdx_sim_verify(&t, &c, true, &res);
	if (!res.verified)
		fail_msg("simulated TDX quote rejected: %s", res.reason);
	assert_true(res.simulated);
	assert_int_equal(res.tcb_status, ATT_TCB_UP_TO_DATE);
	assert_false(res.collateral_expired);
	att_result_free(&res);

	/* PCK CRL: not listing the PCK is fine; listing it makes the status Revoked. */
	int dl;
	unsigned char *d = crl_der(t.ca, t.ca_k, NULL, false, &dl);
	c.pck_crl = d, c.pck_crl_len = (size_t)dl;
	tdx_sim_verify(&t, &c, true, &res);
	assert_true(res.verified);
	att_result_free(&res);
	OPENSSL_free(d);
	d = crl_der(t.ca, t.ca_k, t.pck, false, &dl);
	c.pck_crl = d, c.pck_crl_len = (size_t)dl;
	tdx_sim_verify(&t, &c, true, &res);
	assert_false(res.verified);
	assert_int_equal(res.tcb_status, ATT_TCB_REVOKED);
	assert_non_null(strstr(res.reason, "Revoked"));
	att_result_free(&res);
	OPENSSL_free(d);
	/* A PCK CRL signed by someone else is an error. */
	d = crl_der(t.ca, t.tcb_k, NULL, false, &dl);
	c.pck_crl = d, c.pck_crl_len = (size_t)dl;
	tdx_sim_verify(&t, &c, true, &res);
	assert_false(res.verified);
	assert_non_null(strstr(res.reason, "CRL signature is invalid"));
	att_result_free(&res);
	OPENSSL_free(d);
	c.pck_crl = NULL, c.pck_crl_len = 0;

	/* Root CRL listing the PCK CA: Revoked. */
	d = crl_der(t.root, t.root_k, t.ca, false, &dl);
	c.root_crl = d, c.root_crl_len = (size_t)dl;
	tdx_sim_verify(&t, &c, true, &res);
	assert_false(res.verified);
	assert_int_equal(res.tcb_status, ATT_TCB_REVOKED);
	att_result_free(&res);
	OPENSSL_free(d);
	c.root_crl = NULL, c.root_crl_len = 0;

	/* TCB info signed by a key that is not the TCB signing certificate's. */
	char *bad = signed_json(t.ca_k, "tcbInfo", tb);
	c.tcb_info = (uint8_t *)bad, c.tcb_info_len = strlen(bad);
	tdx_sim_verify(&t, &c, true, &res);
	assert_false(res.verified);
	assert_non_null(strstr(res.reason, "tcbInfo signature is invalid"));
	att_result_free(&res);
	free(bad);

	/* Past nextUpdate: still verified, marked expired. */
	tcb_next_update = "2020-01-01T00:00:00Z";
	char *old = inner(tcb_info_doc("OutOfDate", 3, 1, "UpToDate"), "tcbInfo");
	tcb_next_update = "2099-01-01T00:00:00Z";
	char *ot = signed_json(t.tcb_k, "tcbInfo", old);
	c.tcb_info = (uint8_t *)ot, c.tcb_info_len = strlen(ot);
	tdx_sim_verify(&t, &c, true, &res);
	assert_true(res.verified);
	assert_int_equal(res.tcb_status, ATT_TCB_OUT_OF_DATE);
	assert_true(res.collateral_expired);
	assert_non_null(strstr(res.collateral_note, "tcbInfo nextUpdate 2020-01-01T00:00:00Z passed"));
	att_result_free(&res);
	free(old);
	free(ot);

	free(tb), free(qb), free(ti), free(qi);
	tsim_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sim_root_required),   cmocka_unit_test(test_anchor_must_be_simulated),
		cmocka_unit_test(test_snp_crl),             cmocka_unit_test(test_snp_tamper_every_bit),
		cmocka_unit_test(test_tdx_tamper_every_bit), cmocka_unit_test(test_tdx_qvl_sample_rejected),
		cmocka_unit_test(test_json_span),           cmocka_unit_test(test_amd_ext),
		cmocka_unit_test(test_pck_ext),             cmocka_unit_test(test_turin_chain),
		cmocka_unit_test(test_tcb_evaluation),      cmocka_unit_test(test_tdx_sim_collateral),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
