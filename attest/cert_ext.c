/* X.509 extension decoding: AMD VCEK/VLEK (1.3.6.1.4.1.3704.1.x) and Intel
 * PCK SGX extensions (1.2.840.113741.1.13.1), through OpenSSL's ASN.1 decoders. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "attest/internal.h"

#define AMD_ARC "1.3.6.1.4.1.3704.1."

static int ia5_copy(const ASN1_OCTET_STRING *v, char *out, size_t cap)
{
	const unsigned char *p = ASN1_STRING_get0_data(v);
	ASN1_IA5STRING *s = d2i_ASN1_IA5STRING(NULL, &p, ASN1_STRING_length(v));
	if (!s)
		return -EBADMSG;
	int n = ASN1_STRING_length(s);
	const unsigned char *d = ASN1_STRING_get0_data(s);
	size_t k = 0;
	for (int i = 0; i < n && k + 1 < cap; i++)
		out[k++] = (d[i] >= 0x20 && d[i] < 0x7f) ? (char)d[i] : '?';
	out[k] = 0;
	ASN1_IA5STRING_free(s);
	return 0;
}

static int int_value(const ASN1_OCTET_STRING *v, int64_t *out)
{
	const unsigned char *p = ASN1_STRING_get0_data(v);
	ASN1_INTEGER *i = d2i_ASN1_INTEGER(NULL, &p, ASN1_STRING_length(v));
	int ok = i && ASN1_INTEGER_get_int64(out, i) == 1;
	ASN1_INTEGER_free(i);
	return ok ? 0 : -EBADMSG;
}

int att_amd_cert_ext_parse(const uint8_t *cert_der, size_t len, struct att_amd_cert_ext *out,
			   struct vg_err *err)
{
	memset(out, 0, sizeof(*out));
	const unsigned char *p = cert_der;
	X509 *c = len <= INT32_MAX ? d2i_X509(NULL, &p, (long)len) : NULL;
	int rc = 0;
	if (!c) {
		ERR_clear_error();
		return vg_err_set(err, EBADMSG, "certificate is not DER X.509");
	}
	for (int i = 0; i < X509_get_ext_count(c) && !rc; i++) {
		X509_EXTENSION *e = X509_get_ext(c, i);
		char oid[80];
		if (OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(e), 1) <= 0)
			continue;
		if (strncmp(oid, AMD_ARC, strlen(AMD_ARC)) != 0)
			continue;
		const char *arc = oid + strlen(AMD_ARC);
		const ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(e);
		const unsigned char *d = ASN1_STRING_get0_data(v);
		int n = ASN1_STRING_length(v);
		if (!strcmp(arc, "2")) {
			if (ia5_copy(v, out->product_name, sizeof(out->product_name)))
				rc = vg_err_set(err, EBADMSG, "AMD productName extension is not an IA5String");
		} else if (!strncmp(arc, "3.", 2)) {
			int idx = atoi(arc + 2);
			int64_t val;
			if (idx < 1 || idx > 9 || strlen(arc + 2) > 1)
				continue; /* unknown TCB arcs are ignored */
			if (int_value(v, &val) || val < 0 || val > 255)
				rc = vg_err_set(err, EBADMSG, "AMD TCB extension %s is not an INTEGER 0..255", oid);
			else {
				out->has_tcb[idx] = true;
				out->tcb[idx] = (uint8_t)val;
			}
		} else if (!strcmp(arc, "4")) {
			/* AMD stores the raw bytes; some producers wrap them in an OCTET STRING. */
			if (n == 64 || n == 8) {
				memcpy(out->hwid, d, (size_t)n);
				out->hwid_len = (size_t)n;
			} else {
				const unsigned char *q = d;
				ASN1_OCTET_STRING *o = d2i_ASN1_OCTET_STRING(NULL, &q, n);
				int m = o ? ASN1_STRING_length(o) : -1;
				if (o && q == d + n && (m == 64 || m == 8)) {
					memcpy(out->hwid, ASN1_STRING_get0_data(o), (size_t)m);
					out->hwid_len = (size_t)m;
				} else {
					rc = vg_err_set(err, EBADMSG, "AMD HWID extension has %d bytes, expected 64 or 8", n);
				}
				ASN1_OCTET_STRING_free(o);
			}
		} else if (!strcmp(arc, "5")) {
			if (ia5_copy(v, out->csp_id, sizeof(out->csp_id)))
				rc = vg_err_set(err, EBADMSG, "AMD CSP_ID extension is not an IA5String");
			else
				out->has_csp_id = true;
		}
	}
	X509_free(c);
	ERR_clear_error();
	return rc;
}

/* ------------------------------------------------------------ Intel PCK */
#define SGX_ARC "1.2.840.113741.1.13.1"

static int oid_of(const ASN1_TYPE *t, char *out, size_t cap)
{
	if (!t || t->type != V_ASN1_OBJECT)
		return -1;
	return OBJ_obj2txt(out, (int)cap, t->value.object, 1) > 0 ? 0 : -1;
}

static STACK_OF(ASN1_TYPE) *seq_of(const ASN1_TYPE *t)
{
	if (!t || t->type != V_ASN1_SEQUENCE)
		return NULL;
	const unsigned char *p = t->value.sequence->data;
	return d2i_ASN1_SEQUENCE_ANY(NULL, &p, t->value.sequence->length);
}

static int octets(const ASN1_TYPE *t, uint8_t *out, size_t n)
{
	if (!t || t->type != V_ASN1_OCTET_STRING || (size_t)ASN1_STRING_length(t->value.octet_string) != n)
		return -1;
	memcpy(out, ASN1_STRING_get0_data(t->value.octet_string), n);
	return 0;
}

static int small_int(const ASN1_TYPE *t, int64_t max, int64_t *out)
{
	int64_t v;
	if (!t)
		return -1;
	if (t->type == V_ASN1_INTEGER) {
		if (ASN1_INTEGER_get_int64(&v, t->value.integer) != 1)
			return -1;
	} else if (t->type == V_ASN1_ENUMERATED) {
		if (ASN1_ENUMERATED_get_int64(&v, t->value.enumerated) != 1)
			return -1;
	} else {
		return -1;
	}
	if (v < 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_tcb(const ASN1_TYPE *t, struct att_pck_ext *out, unsigned *seen)
{
	STACK_OF(ASN1_TYPE) *items = seq_of(t);
	int rc = items ? 0 : -1;
	for (int i = 0; items && i < sk_ASN1_TYPE_num(items) && !rc; i++) {
		STACK_OF(ASN1_TYPE) *kv = seq_of(sk_ASN1_TYPE_value(items, i));
		char oid[80];
		int64_t v;
		if (!kv || sk_ASN1_TYPE_num(kv) != 2 || oid_of(sk_ASN1_TYPE_value(kv, 0), oid, sizeof(oid))) {
			rc = -1;
		} else if (!strncmp(oid, SGX_ARC ".2.", strlen(SGX_ARC) + 3)) {
			int idx = atoi(oid + strlen(SGX_ARC) + 3);
			const ASN1_TYPE *val = sk_ASN1_TYPE_value(kv, 1);
			if (idx >= 1 && idx <= 16) {
				rc = small_int(val, 255, &v);
				if (!rc) {
					out->sgx_comp[idx - 1] = (uint8_t)v;
					*seen |= 1u << (idx - 1);
				}
			} else if (idx == 17) {
				rc = small_int(val, 65535, &v);
				if (!rc) {
					out->pcesvn = (uint16_t)v;
					*seen |= 1u << 16;
				}
			} else if (idx == 18) {
				rc = octets(val, out->cpusvn, 16);
				if (!rc)
					*seen |= 1u << 17;
			}
		}
		sk_ASN1_TYPE_pop_free(kv, ASN1_TYPE_free);
	}
	sk_ASN1_TYPE_pop_free(items, ASN1_TYPE_free);
	return rc;
}

int att_pck_ext_parse(const uint8_t *der, size_t len, struct att_pck_ext *out, struct vg_err *err)
{
	memset(out, 0, sizeof(*out));
	out->sgx_type = -1;
	const unsigned char *p = der;
	STACK_OF(ASN1_TYPE) *top = len <= INT32_MAX ? d2i_ASN1_SEQUENCE_ANY(NULL, &p, (long)len) : NULL;
	unsigned tcb_seen = 0;
	bool have_fmspc = false, have_pceid = false, have_ppid = false;
	int rc = 0;
	if (!top || p != der + len) {
		rc = vg_err_set(err, EBADMSG, "PCK SGX extension is not a DER SEQUENCE");
		goto out;
	}
	for (int i = 0; i < sk_ASN1_TYPE_num(top) && !rc; i++) {
		STACK_OF(ASN1_TYPE) *kv = seq_of(sk_ASN1_TYPE_value(top, i));
		char oid[80];
		if (!kv || sk_ASN1_TYPE_num(kv) != 2 || oid_of(sk_ASN1_TYPE_value(kv, 0), oid, sizeof(oid))) {
			rc = vg_err_set(err, EBADMSG, "PCK SGX extension entry %d is malformed", i);
		} else {
			const ASN1_TYPE *val = sk_ASN1_TYPE_value(kv, 1);
			int64_t v;
			if (!strcmp(oid, SGX_ARC ".1")) {
				if (octets(val, out->ppid, 16))
					rc = vg_err_set(err, EBADMSG, "PCK PPID is not a 16-byte OCTET STRING");
				have_ppid = true;
			} else if (!strcmp(oid, SGX_ARC ".2")) {
				if (parse_tcb(val, out, &tcb_seen))
					rc = vg_err_set(err, EBADMSG, "PCK TCB extension is malformed");
			} else if (!strcmp(oid, SGX_ARC ".3")) {
				if (octets(val, out->pceid, 2))
					rc = vg_err_set(err, EBADMSG, "PCK PCE-ID is not a 2-byte OCTET STRING");
				have_pceid = true;
			} else if (!strcmp(oid, SGX_ARC ".4")) {
				if (octets(val, out->fmspc, 6))
					rc = vg_err_set(err, EBADMSG, "PCK FMSPC is not a 6-byte OCTET STRING");
				have_fmspc = true;
			} else if (!strcmp(oid, SGX_ARC ".5")) {
				if (small_int(val, 2, &v))
					rc = vg_err_set(err, EBADMSG, "PCK SGX type is not 0..2");
				else
					out->sgx_type = (int)v;
			}
		}
		sk_ASN1_TYPE_pop_free(kv, ASN1_TYPE_free);
	}
	if (!rc && (!have_fmspc || !have_pceid || !have_ppid || tcb_seen != 0x3ffff))
		rc = vg_err_set(err, EBADMSG,
				"PCK SGX extension lacks %s", !have_fmspc ? "FMSPC" : !have_pceid ? "PCE-ID" :
				!have_ppid ? "PPID" : "a TCB component (SGX 1..16, PCESVN, CPUSVN)");
out:
	sk_ASN1_TYPE_pop_free(top, ASN1_TYPE_free);
	ERR_clear_error();
	return rc;
}
