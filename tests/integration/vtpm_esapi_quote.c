/*
 * ESAPI quote flow against vigil-tpm (tss2-esys over the swtpm TCTI):
 * startup, reset and extend PCR 16, create a restricted RSA signing key (AK), quote
 * PCR 16 with a nonce, then check independently with OpenSSL: signature
 * over the attestation, TPM_GENERATED magic, quote type, nonce and the PCR
 * digest recomputed from TPM2_PCR_Read.
 *   usage: vtpm_esapi_quote PORT      (exit 0 = verified)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tcti_swtpm.h>

#define CHECK(rc, what)                                                                   \
	do {                                                                              \
		if ((rc) != TSS2_RC_SUCCESS) {                                            \
			fprintf(stderr, "vtpm_esapi_quote: %s: %s\n", what, Tss2_RC_Decode(rc)); \
			return 1;                                                         \
		}                                                                         \
	} while (0)

static int verify_sig(const TPM2B_PUBLIC *pub, const TPM2B_ATTEST *quoted, const TPMT_SIGNATURE *sig)
{
	const TPM2B_PUBLIC_KEY_RSA *n = &pub->publicArea.unique.rsa;
	uint32_t exp = pub->publicArea.parameters.rsaDetail.exponent;
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	BIGNUM *bn = BN_bin2bn(n->buffer, n->size, NULL), *be = BN_new();
	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *key = NULL;
	OSSL_PARAM *params = NULL;
	int ok = bld && bn && be && pctx && BN_set_word(be, exp ? exp : 65537) &&
		 OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) &&
		 OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) && (params = OSSL_PARAM_BLD_to_param(bld)) &&
		 EVP_PKEY_fromdata_init(pctx) == 1 && EVP_PKEY_fromdata(pctx, &key, EVP_PKEY_PUBLIC_KEY, params) == 1;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	ok = ok && md && sig->sigAlg == TPM2_ALG_RSASSA &&
	     EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
	     EVP_DigestVerify(md, sig->signature.rsassa.sig.buffer, sig->signature.rsassa.sig.size,
			      quoted->attestationData, quoted->size) == 1;
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(pctx);
	BN_free(bn);
	BN_free(be);
	return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: vtpm_esapi_quote PORT\n");
		return 2;
	}
	char conf[64];
	snprintf(conf, sizeof(conf), "host=127.0.0.1,port=%s", argv[1]);
	size_t size = 0;
	TSS2_RC rc = Tss2_Tcti_Swtpm_Init(NULL, &size, conf);
	CHECK(rc, "TCTI size");
	TSS2_TCTI_CONTEXT *tcti = calloc(1, size);
	rc = Tss2_Tcti_Swtpm_Init(tcti, &size, conf);
	CHECK(rc, "TCTI init");
	ESYS_CONTEXT *ctx = NULL;
	rc = Esys_Initialize(&ctx, tcti, NULL);
	CHECK(rc, "Esys_Initialize");
	rc = Esys_Startup(ctx, TPM2_SU_CLEAR);
	if (rc != TPM2_RC_INITIALIZE)
		CHECK(rc, "Esys_Startup");

	/* reset (PCR 16 is the debug PCR, resettable at locality 0), extend */
	rc = Esys_PCR_Reset(ctx, ESYS_TR_PCR16, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE);
	CHECK(rc, "Esys_PCR_Reset");
	TPML_DIGEST_VALUES dv = {.count = 1};
	dv.digests[0].hashAlg = TPM2_ALG_SHA256;
	memset(dv.digests[0].digest.sha256, 0x5A, 32);
	rc = Esys_PCR_Extend(ctx, ESYS_TR_PCR16, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &dv);
	CHECK(rc, "Esys_PCR_Extend");

	/* AK: restricted RSA-2048 RSASSA-SHA256 signing key */
	TPM2B_SENSITIVE_CREATE in_sens = {0};
	TPM2B_PUBLIC in_pub = {
		.publicArea = {
			.type = TPM2_ALG_RSA,
			.nameAlg = TPM2_ALG_SHA256,
			.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
					    TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
					    TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT,
			.parameters.rsaDetail = {
				.symmetric = {.algorithm = TPM2_ALG_NULL},
				.scheme = {.scheme = TPM2_ALG_RSASSA, .details.rsassa.hashAlg = TPM2_ALG_SHA256},
				.keyBits = 2048,
			},
		},
	};
	TPM2B_DATA outside = {0};
	TPML_PCR_SELECTION creation_pcr = {0};
	ESYS_TR ak = ESYS_TR_NONE;
	TPM2B_PUBLIC *ak_pub = NULL;
	rc = Esys_CreatePrimary(ctx, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &in_sens,
				&in_pub, &outside, &creation_pcr, &ak, &ak_pub, NULL, NULL, NULL);
	CHECK(rc, "Esys_CreatePrimary(AK)");

	/* quote PCR 16 */
	TPM2B_DATA nonce = {.size = 20};
	memcpy(nonce.buffer, "vigil-esapi-nonce-01", 20);
	TPMT_SIG_SCHEME scheme = {.scheme = TPM2_ALG_NULL};
	TPML_PCR_SELECTION sel = {.count = 1};
	sel.pcrSelections[0].hash = TPM2_ALG_SHA256;
	sel.pcrSelections[0].sizeofSelect = 3;
	sel.pcrSelections[0].pcrSelect[2] = 0x01; /* PCR 16 */
	TPM2B_ATTEST *quoted = NULL;
	TPMT_SIGNATURE *sig = NULL;
	rc = Esys_Quote(ctx, ak, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &nonce, &scheme, &sel, &quoted, &sig);
	CHECK(rc, "Esys_Quote");

	UINT32 counter = 0;
	TPML_PCR_SELECTION *sel_out = NULL;
	TPML_DIGEST *vals = NULL;
	rc = Esys_PCR_Read(ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &sel, &counter, &sel_out, &vals);
	CHECK(rc, "Esys_PCR_Read");

	TPMS_ATTEST att;
	size_t off = 0;
	rc = Tss2_MU_TPMS_ATTEST_Unmarshal(quoted->attestationData, quoted->size, &off, &att);
	CHECK(rc, "unmarshal TPMS_ATTEST");

	int fails = 0;
	if (verify_sig(ak_pub, quoted, sig)) {
		fprintf(stderr, "vtpm_esapi_quote: quote signature does not verify\n");
		fails++;
	}
	if (att.magic != TPM2_GENERATED_VALUE || att.type != TPM2_ST_ATTEST_QUOTE) {
		fprintf(stderr, "vtpm_esapi_quote: not a TPM-generated quote\n");
		fails++;
	}
	if (att.extraData.size != nonce.size || memcmp(att.extraData.buffer, nonce.buffer, nonce.size)) {
		fprintf(stderr, "vtpm_esapi_quote: nonce mismatch\n");
		fails++;
	}
	uint8_t pcr_digest[32];
	unsigned int dl = 0;
	if (vals->count != 1 || vals->digests[0].size != 32 ||
	    !EVP_Digest(vals->digests[0].buffer, 32, pcr_digest, &dl, EVP_sha256(), NULL) ||
	    att.attested.quote.pcrDigest.size != 32 || memcmp(att.attested.quote.pcrDigest.buffer, pcr_digest, 32)) {
		fprintf(stderr, "vtpm_esapi_quote: PCR digest mismatch\n");
		fails++;
	}
	/* the PCR must hold SHA256(0^32 || 0x5A^32) */
	uint8_t buf[64], want[32];
	memset(buf, 0, 32);
	memset(buf + 32, 0x5A, 32);
	EVP_Digest(buf, 64, want, &dl, EVP_sha256(), NULL);
	if (memcmp(vals->digests[0].buffer, want, 32)) {
		fprintf(stderr, "vtpm_esapi_quote: PCR 16 has an unexpected value\n");
		fails++;
	}
	/* a tampered attestation must not verify */
	quoted->attestationData[quoted->size - 1] ^= 1;
	if (verify_sig(ak_pub, quoted, sig) == 0) {
		fprintf(stderr, "vtpm_esapi_quote: tampered quote verified\n");
		fails++;
	}

	Esys_FlushContext(ctx, ak);
	Esys_Free(ak_pub);
	Esys_Free(quoted);
	Esys_Free(sig);
	Esys_Free(sel_out);
	Esys_Free(vals);
	Esys_Finalize(&ctx);
	Tss2_Tcti_Finalize(tcti);
	free(tcti);
	if (fails)
		return 1;
	printf("ESAPI quote verified (RSASSA-SHA256, PCR 16, nonce)\n");
	return 0;
}
