/* Fuzz target: the SEV-SNP report parser (a parsed report must serialize and
 * reparse identically), then the full verification, att_snp_verify, against a
 * fixed chain: a simulated ARK -> ASK -> VCEK (sim-snp, made once and kept in
 * BUILD/fuzz-state) trusted as the sim root. When the first input
 * byte is odd, the report is re-signed with that VCEK first, so verification
 * gets past the signature into the TCB, policy and chain-binding checks. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "attest/attest.h"
#include "sev/sev.h"

static struct {
	bool ready;
	EVP_PKEY *vcek;
	uint8_t *vcek_pem, *chain_pem, *ark_pem;
	size_t vcek_len, chain_len, ark_len;
	struct att_anchor *anchor;
} F;

static uint8_t *slurp(const char *dir, const char *name, size_t *len)
{
	char p[4200];
	uint8_t *d = NULL;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if (vg_read_file(p, 1 << 16, &d, len, NULL))
		abort();
	return d;
}

/* The chain is made once and kept beside the fuzz binaries (BUILD/fuzz-state),
 * so runs after the first skip the RSA-4096 key generation. */
static void setup(void)
{
	char state[4096], exe[4000];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		abort();
	exe[n] = 0;
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = 0;
	snprintf(state, sizeof(state), "%s/../fuzz-state", exe);
	struct sev_sim_snp *s = NULL;
	if (sev_sim_snp_open(state, &s, NULL))
		abort();
	const char *dir = sev_sim_snp_dir(s);
	size_t kl = 0;
	uint8_t *key = slurp(dir, "vcek.key", &kl);
	BIO *b = BIO_new_mem_buf(key, (int)kl);
	F.vcek = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	vg_secure_zero(key, kl);
	free(key);
	F.vcek_pem = slurp(dir, "vcek.pem", &F.vcek_len);
	F.chain_pem = slurp(dir, "cert_chain.pem", &F.chain_len);
	F.ark_pem = slurp(dir, "ark.pem", &F.ark_len);
	if (!F.vcek || att_anchor_load(F.ark_pem, F.ark_len, &F.anchor, NULL))
		abort();
	sev_sim_snp_free(s);
	F.ready = true;
}

/* Signs bytes 0..0x29F of rep with the VCEK (r, s little-endian, 72 bytes each). */
static void resign(uint8_t rep[SEV_SNP_REPORT_SIZE])
{
	uint8_t der[160];
	size_t dl = sizeof(der);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (md && EVP_DigestSignInit(md, NULL, EVP_sha384(), NULL, F.vcek) == 1 &&
	    EVP_DigestSign(md, der, &dl, rep, SEV_SNP_REPORT_SIGNED_LEN) == 1) {
		const unsigned char *p = der;
		ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)dl);
		if (sig) {
			BN_bn2lebinpad(ECDSA_SIG_get0_r(sig), rep + 0x2A0, 72);
			BN_bn2lebinpad(ECDSA_SIG_get0_s(sig), rep + 0x2E8, 72);
		}
		ECDSA_SIG_free(sig);
	}
	EVP_MD_CTX_free(md);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!F.ready)
		setup();
	struct sev_snp_report r, back;
	uint8_t out[SEV_SNP_REPORT_SIZE];
	/* Any length, and the exact report size with the input as a prefix. */
	sev_snp_report_parse(data, size, &r, NULL);
	uint8_t buf[SEV_SNP_REPORT_SIZE] = {0};
	memcpy(buf, data, size < sizeof(buf) ? size : sizeof(buf));
	if (sev_snp_report_parse(buf, sizeof(buf), &r, NULL) == 0) {
		sev_snp_report_serialize(&r, out);
		if (sev_snp_report_parse(out, sizeof(out), &back, NULL) != 0 || memcmp(&r, &back, sizeof(r)) != 0)
			__builtin_trap();
		struct sev_snp_tcb t;
		sev_snp_tcb_decode(r.reported_tcb, sev_snp_product_from_cpuid(r.cpuid_fam_id, r.cpuid_mod_id), &t);
	}
	/* Full verification with the fixed chain, of the raw input and (odd
	 * first byte) of the input re-signed by the chain's VCEK. */
	if (size && (data[0] & 1))
		resign(buf);
	struct att_snp_input in = {F.vcek_pem, F.vcek_len, F.chain_pem, F.chain_len, NULL, 0};
	struct att_trust trust = {.sim_root = F.anchor};
	struct att_result res;
	att_result_init(&res);
	int rc = att_snp_verify(size && (data[0] & 1) ? buf : data, size && (data[0] & 1) ? sizeof(buf) : size, &in,
				&trust, &res);
	/* verified only with a report that parses and a good signature */
	if (rc == 0 && res.verified && sev_snp_report_parse(size && (data[0] & 1) ? buf : data,
							    size && (data[0] & 1) ? sizeof(buf) : size, &r, NULL))
		__builtin_trap();
	json_decref(att_result_json(&res));
	att_result_free(&res);
	return 0;
}
