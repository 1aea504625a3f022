/* The REPORT_DATA that binds a KBS protocol 0.4.0 attestation to its session,
 * computed as Trustee's KBS and guest-components' KBS client do (checked
 * against their sources; see docs/jose.md): SHA-384 over the RFC 8785 form of
 * {"additional-evidence": <string, "" when none>, "nonce": <challenge nonce>,
 *  "tee-pubkey": <the guest's JWK>}, zero-padded to 64 bytes. */
#include <string.h>

#include <openssl/evp.h>

#include "attest/jose_priv.h"

int att_kbs_report_data(const char *nonce, const json_t *tee_pubkey, const char *additional_evidence,
			uint8_t out[ATT_REPORT_DATA_LEN], struct vg_err *err)
{
	memset(out, 0, ATT_REPORT_DATA_LEN);
	if (!nonce)
		return vg_err_set(err, EINVAL, "report data: no nonce");
	if (!json_is_object(tee_pubkey))
		return vg_err_set(err, EINVAL, "report data: tee-pubkey is not a JSON object");
	json_t *jn = json_string(nonce);
	if (!jn)
		return vg_err_set(err, EINVAL, "report data: nonce is not valid UTF-8");
	json_t *ja = json_string(additional_evidence ? additional_evidence : "");
	if (!ja) {
		json_decref(jn);
		return vg_err_set(err, EINVAL, "report data: additional evidence is not valid UTF-8");
	}
	json_t *rd = json_object();
	struct vg_buf b = {0};
	int rc;
	/* json_object_set_new takes the reference even when it fails. */
	int bad = json_object_set_new(rd, "nonce", jn);
	bad |= json_object_set_new(rd, "tee-pubkey", json_deep_copy(tee_pubkey));
	bad |= json_object_set_new(rd, "additional-evidence", ja);
	if (bad) {
		rc = vg_err_set(err, ENOMEM, "report data: out of memory");
		goto out;
	}
	if ((rc = att_jcs_serialize(rd, &b, err))) {
		vg_err_prefix(err, "report data");
		goto out;
	}
	unsigned int n = 0;
	if (!EVP_Digest(b.data, b.len, out, &n, EVP_sha384(), NULL) || n != 48) {
		rc = vg_err_set(err, EIO, "report data: SHA-384 failed");
		goto out;
	}
	rc = 0;
out:
	vg_buf_free(&b);
	json_decref(rd);
	return rc;
}
