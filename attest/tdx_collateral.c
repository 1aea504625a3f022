/* Intel collateral for TDX: TCB info v3 and QE identity v2 (signature over
 * the exact value bytes, issuer chain), PCK and root CRLs, and the TCB level
 * evaluation as Intel's Quote Verification Library does it. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>

#include "attest/internal.h"

#define MAX_COLLATERAL (4u << 20)

/* ------------------------------------------------------------ loading */
static int load_opt(const char *dir, const char *name, uint8_t **out, size_t *len, bool required,
		    struct vg_err *err)
{
	char path[4096];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	/* lstat: only a name that does not exist at all is "absent"; a dangling
	 * link or an unreadable file is an error, never a skipped check */
	if (lstat(path, &st) != 0) {
		if (errno == ENOENT && !required)
			return 0;
		if (errno == ENOENT)
			return vg_err_set(err, ENOENT, "%s: missing (required)", path);
		return vg_err_set(err, errno, "%s: %s", path, strerror(errno));
	}
	if (S_ISLNK(st.st_mode) && stat(path, &st) != 0)
		return vg_err_set(err, errno, "%s: dangling link (%s)", path, strerror(errno));
	return vg_read_file(path, MAX_COLLATERAL, out, len, err);
}

int att_tdx_collateral_load_dir(const char *dir, struct att_tdx_collateral *c, struct vg_err *err)
{
	struct stat st;
	memset(c, 0, sizeof(*c));
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return vg_err_set(err, ENOTDIR, "%s: not a directory", dir);
	int rc = load_opt(dir, "tcb_info.json", &c->tcb_info, &c->tcb_info_len, true, err);
	if (!rc)
		rc = load_opt(dir, "qe_identity.json", &c->qe_identity, &c->qe_identity_len, true, err);
	if (!rc)
		rc = load_opt(dir, "tcb_info_issuer_chain.pem", &c->tcb_chain, &c->tcb_chain_len, true, err);
	if (!rc)
		rc = load_opt(dir, "qe_identity_issuer_chain.pem", &c->qe_chain, &c->qe_chain_len, false, err);
	if (!rc)
		rc = load_opt(dir, "pck_crl.der", &c->pck_crl, &c->pck_crl_len, false, err);
	if (!rc && !c->pck_crl)
		rc = load_opt(dir, "pck_crl.pem", &c->pck_crl, &c->pck_crl_len, false, err);
	if (!rc)
		rc = load_opt(dir, "pck_crl_issuer_chain.pem", &c->pck_crl_chain, &c->pck_crl_chain_len, false, err);
	if (!rc)
		rc = load_opt(dir, "root_crl.der", &c->root_crl, &c->root_crl_len, false, err);
	if (!rc && !c->root_crl)
		rc = load_opt(dir, "root_crl.pem", &c->root_crl, &c->root_crl_len, false, err);
	if (rc)
		att_tdx_collateral_free(c);
	return rc;
}

void att_tdx_collateral_free(struct att_tdx_collateral *c)
{
	free(c->tcb_info);
	free(c->qe_identity);
	free(c->tcb_chain);
	free(c->qe_chain);
	free(c->pck_crl);
	free(c->pck_crl_chain);
	free(c->root_crl);
	memset(c, 0, sizeof(*c));
}

/* ------------------------------------------------- signed value span */
/*
 * Intel signs the bytes of the "tcbInfo" / "enclaveIdentity" value exactly as
 * they appear in the response. jansson gives no byte offsets, so this scanner
 * walks the top-level object lexically (strings with escapes, nesting depth)
 * to find where that value starts and ends. It does not interpret values; the
 * caller parses the whole document with jansson (duplicates rejected) and
 * checks that the span parses to the same object, so the bytes that were
 * verified are the bytes whose meaning is used.
 */
static size_t skip_ws(const char *s, size_t i, size_t n)
{
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	return i;
}

/* s[i] == '"': returns the index after the closing quote, or n on error. */
static size_t skip_string(const char *s, size_t i, size_t n)
{
	for (i++; i < n; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == '"')
			return i + 1;
		else if ((unsigned char)s[i] < 0x20)
			return n;
	}
	return n;
}

/* A value starting at i; returns the index after it, or n on error. */
static size_t skip_value(const char *s, size_t i, size_t n)
{
	if (i >= n)
		return n;
	if (s[i] == '"')
		return skip_string(s, i, n);
	if (s[i] == '{' || s[i] == '[') {
		int depth = 0;
		while (i < n) {
			char ch = s[i];
			if (ch == '"') {
				i = skip_string(s, i, n);
				continue;
			}
			if (ch == '{' || ch == '[') {
				if (++depth > 64)
					return n;
			} else if (ch == '}' || ch == ']') {
				if (--depth == 0)
					return i + 1;
			}
			i++;
		}
		return n;
	}
	while (i < n && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' && s[i] != '\n' &&
	       s[i] != '\r' && s[i] != '\t')
		i++;
	return i;
}

int att_json_signed_span(const char *json, size_t len, const char *key, size_t *off, size_t *span_len,
			 struct vg_err *err)
{
	size_t i = skip_ws(json, 0, len), klen = strlen(key);
	bool found = false;
	if (i >= len || json[i] != '{')
		return vg_err_set(err, EBADMSG, "collateral is not a JSON object");
	i = skip_ws(json, i + 1, len);
	while (i < len && json[i] != '}') {
		if (json[i] != '"')
			return vg_err_set(err, EBADMSG, "collateral JSON: expected a key at byte %zu", i);
		size_t kend = skip_string(json, i, len);
		if (kend >= len)
			return vg_err_set(err, EBADMSG, "collateral JSON: unterminated key");
		bool match = kend - i - 2 == klen && !memcmp(json + i + 1, key, klen);
		i = skip_ws(json, kend, len);
		if (i >= len || json[i] != ':')
			return vg_err_set(err, EBADMSG, "collateral JSON: expected ':' at byte %zu", i);
		i = skip_ws(json, i + 1, len);
		size_t vend = skip_value(json, i, len);
		if (vend >= len || vend == i)
			return vg_err_set(err, EBADMSG, "collateral JSON: bad value at byte %zu", i);
		if (match) {
			if (found)
				return vg_err_set(err, EBADMSG, "collateral JSON: duplicate \"%s\"", key);
			found = true;
			*off = i;
			*span_len = vend - i;
		}
		i = skip_ws(json, vend, len);
		if (i < len && json[i] == ',')
			i = skip_ws(json, i + 1, len);
		else if (i < len && json[i] != '}')
			return vg_err_set(err, EBADMSG, "collateral JSON: expected ',' or '}' at byte %zu", i);
	}
	if (!found)
		return vg_err_set(err, EBADMSG, "collateral JSON has no \"%s\"", key);
	return 0;
}

/* ---------------------------------------------------- signed document */
struct signed_doc {
	json_t *root;
	json_t *body; /* borrowed from root */
	int64_t next_update, issue_date;
};

static int hex_field(json_t *o, const char *k, uint8_t *out, size_t n, struct vg_err *err)
{
	const char *s = json_string_value(json_object_get(o, k));
	if (!s || strlen(s) != 2 * n)
		return vg_err_set(err, EBADMSG, "\"%s\" is not a %zu-byte hex string", k, n);
	return vg_hex_decode(s, out, n, err);
}

static int time_field(json_t *o, const char *k, int64_t *out, struct vg_err *err)
{
	const char *s = json_string_value(json_object_get(o, k));
	if (!s)
		return vg_err_set(err, EBADMSG, "\"%s\" missing", k);
	if (vg_parse_rfc3339(s, out, err))
		return vg_err_prefix(err, "\"%s\"", k);
	return 0;
}

/* Parses doc, checks the signature over the value of key with the first
 * certificate of chain, and the chain to anchor (signatures only; expiry is
 * reported, as QVL does). */
static int verify_signed_doc(const uint8_t *buf, size_t len, const char *key, const uint8_t *chain_pem,
			     size_t chain_len, X509 *anchor, const struct att_trust *t, struct signed_doc *d,
			     struct att_tcb_eval *ev, struct vg_err *err)
{
	size_t off, span;
	json_error_t je;
	memset(d, 0, sizeof(*d));
	if (att_json_signed_span((const char *)buf, len, key, &off, &span, err))
		return -EBADMSG;
	d->root = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!d->root || !json_is_object(d->root))
		return vg_err_set(err, EBADMSG, "%s: invalid JSON: %s", key, d->root ? "not an object" : je.text);
	d->body = json_object_get(d->root, key);
	json_t *again = json_loadb((const char *)buf + off, span, JSON_REJECT_DUPLICATES, &je);
	bool same = again && json_is_object(d->body) && json_equal(again, d->body);
	json_decref(again);
	if (!same)
		return vg_err_set(err, EBADMSG, "%s: signed span does not parse to the document's value", key);
	uint8_t sig[64];
	if (hex_field(d->root, "signature", sig, 64, err))
		return vg_err_prefix(err, "%s", key);
	STACK_OF(X509) *certs = att_certs_parse(chain_pem, chain_len, "issuer chain", err);
	if (!certs)
		return vg_err_prefix(err, "%s", key);
	X509 *signer = sk_X509_value(certs, 0);
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	for (int i = 1; untrusted && i < sk_X509_num(certs); i++)
		if (X509_cmp(sk_X509_value(certs, i), anchor) != 0)
			sk_X509_push(untrusted, sk_X509_value(certs, i));
	int rc = att_chain_verify(signer, untrusted, anchor, t, false, err);
	sk_X509_free(untrusted);
	if (rc) {
		vg_err_prefix(err, "%s issuer chain", key);
	} else {
		EVP_PKEY *pk = X509_get0_pubkey(signer);
		if (!pk || !att_ecdsa_verify_be(pk, EVP_sha256(), buf + off, span, sig, sig + 32, 32))
			rc = vg_err_set(err, EACCES, "%s signature is invalid", key);
		int64_t na = att_cert_not_after(signer);
		if (!rc && na < att_now(t)) {
			char when[32];
			vg_format_rfc3339(na, when);
			ev->expired = true;
			snprintf(ev->note + strlen(ev->note), sizeof(ev->note) - strlen(ev->note),
				 "%s signing certificate expired %s; ", key, when);
		}
	}
	sk_X509_pop_free(certs, X509_free);
	if (rc)
		return rc;
	if (time_field(d->body, "nextUpdate", &d->next_update, err) ||
	    time_field(d->body, "issueDate", &d->issue_date, err))
		return vg_err_prefix(err, "%s", key);
	if (d->next_update < att_now(t)) {
		char when[32];
		vg_format_rfc3339(d->next_update, when);
		ev->expired = true;
		snprintf(ev->note + strlen(ev->note), sizeof(ev->note) - strlen(ev->note), "%s nextUpdate %s passed; ",
			 key, when);
	}
	return 0;
}

/* ------------------------------------------------------- TCB levels */
static enum att_tcb_status status_of(const char *s)
{
	static const struct { const char *n; enum att_tcb_status v; } tab[] = {
		{"UpToDate", ATT_TCB_UP_TO_DATE},
		{"SWHardeningNeeded", ATT_TCB_SW_HARDENING_NEEDED},
		{"ConfigurationNeeded", ATT_TCB_CONFIGURATION_NEEDED},
		{"ConfigurationAndSWHardeningNeeded", ATT_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED},
		{"OutOfDate", ATT_TCB_OUT_OF_DATE},
		{"OutOfDateConfigurationNeeded", ATT_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED},
		{"Revoked", ATT_TCB_REVOKED},
	};
	for (size_t i = 0; s && i < VG_ARRAY_SIZE(tab); i++)
		if (!strcmp(s, tab[i].n))
			return tab[i].v;
	return ATT_TCB_NOT_EVALUATED;
}

static void add_advisories(struct att_tcb_eval *ev, json_t *level)
{
	json_t *ids = json_object_get(level, "advisoryIDs"), *x;
	size_t i;
	if (!json_is_array(ids))
		return;
	if (!ev->advisories)
		ev->advisories = json_array();
	json_array_foreach(ids, i, x)
	{
		if (!json_is_string(x))
			continue;
		bool dup = false;
		size_t j;
		json_t *y;
		json_array_foreach(ev->advisories, j, y) dup = dup || json_equal(x, y);
		if (!dup)
			json_array_append(ev->advisories, x);
	}
}

static int svn_array(json_t *tcb, const char *k, int vals[16], struct vg_err *err)
{
	json_t *a = json_object_get(tcb, k);
	if (!json_is_array(a) || json_array_size(a) != 16)
		return vg_err_set(err, EBADMSG, "TCB level \"%s\" is not an array of 16 components", k);
	for (size_t i = 0; i < 16; i++) {
		json_t *svn = json_object_get(json_array_get(a, i), "svn");
		if (!json_is_integer(svn) || json_integer_value(svn) < 0 || json_integer_value(svn) > 255)
			return vg_err_set(err, EBADMSG, "TCB level \"%s\"[%zu].svn is not 0..255", k, i);
		vals[i] = (int)json_integer_value(svn);
	}
	return 0;
}

/* QVL: the first level (highest first) whose SGX components, PCESVN and TDX
 * components are all <= the platform's. */
static int platform_level(json_t *info, const struct tdx_quote *q, const struct att_pck_ext *pck,
			  bool skip_module_svns, json_t **match, struct vg_err *err)
{
	json_t *levels = json_object_get(info, "tcbLevels"), *lv;
	size_t i;
	*match = NULL;
	if (!json_is_array(levels))
		return vg_err_set(err, EBADMSG, "tcbInfo has no tcbLevels array");
	json_array_foreach(levels, i, lv)
	{
		json_t *tcb = json_object_get(lv, "tcb");
		int sgx[16], tdx[16];
		json_t *pce = json_object_get(tcb, "pcesvn");
		if (svn_array(tcb, "sgxtcbcomponents", sgx, err) || svn_array(tcb, "tdxtcbcomponents", tdx, err))
			return -EBADMSG;
		if (!json_is_integer(pce) || !json_is_string(json_object_get(lv, "tcbStatus")))
			return vg_err_set(err, EBADMSG, "TCB level %zu lacks pcesvn or tcbStatus", i);
		bool ok = pck->pcesvn >= json_integer_value(pce);
		for (int k = 0; k < 16 && ok; k++)
			ok = pck->sgx_comp[k] >= sgx[k];
		for (int k = skip_module_svns ? 2 : 0; k < 16 && ok; k++)
			ok = q->body.tee_tcb_svn[k] >= tdx[k];
		if (ok) {
			*match = lv;
			return 0;
		}
	}
	return 0;
}

/* The first level of an identity (QE or TDX module) with isvsvn <= svn. */
static json_t *isv_level(json_t *ident, unsigned svn)
{
	json_t *levels = json_object_get(ident, "tcbLevels"), *lv;
	size_t i;
	json_array_foreach(levels, i, lv)
	{
		json_t *s = json_object_get(json_object_get(lv, "tcb"), "isvsvn");
		if (json_is_integer(s) && json_integer_value(s) <= (json_int_t)svn)
			return lv;
	}
	return NULL;
}

static bool masked_equal(const uint8_t *have, const uint8_t *want, const uint8_t *mask, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((have[i] & mask[i]) != want[i])
			return false;
	return true;
}

/* QVL's convergence of the platform status with an OutOfDate/Revoked component. */
static enum att_tcb_status converge(enum att_tcb_status platform, enum att_tcb_status other)
{
	if (other == ATT_TCB_REVOKED)
		return ATT_TCB_REVOKED;
	if (other == ATT_TCB_OUT_OF_DATE) {
		if (platform == ATT_TCB_UP_TO_DATE || platform == ATT_TCB_SW_HARDENING_NEEDED)
			return ATT_TCB_OUT_OF_DATE;
		if (platform == ATT_TCB_CONFIGURATION_NEEDED || platform == ATT_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED)
			return ATT_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED;
	}
	return platform;
}

static int check_module(json_t *info, const struct tdx_quote *q, enum att_tcb_status *mstatus,
			struct att_tcb_eval *ev, struct vg_err *err)
{
	const struct tdx_td_body *b = &q->body;
	json_t *idents = json_object_get(info, "tdxModuleIdentities"), *id = NULL, *x;
	uint8_t mrsigner[48], attr[8], mask[8];
	*mstatus = ATT_TCB_NOT_EVALUATED;
	if (json_is_array(idents) && b->tee_tcb_svn[1] > 0) {
		char want[16];
		size_t i;
		snprintf(want, sizeof(want), "TDX_%02X", b->tee_tcb_svn[1]);
		json_array_foreach(idents, i, x)
		{
			const char *s = json_string_value(json_object_get(x, "id"));
			if (s && !strcasecmp(s, want))
				id = x;
		}
		if (!id)
			return vg_err_set(err, EACCES, "TDX module %s (TEE_TCB_SVN[1]) is not in tdxModuleIdentities", want);
	} else {
		id = json_object_get(info, "tdxModule");
		if (!json_is_object(id))
			return vg_err_set(err, EBADMSG, "tcbInfo has no tdxModule");
	}
	if (hex_field(id, "mrsigner", mrsigner, 48, err) || hex_field(id, "attributes", attr, 8, err) ||
	    hex_field(id, "attributesMask", mask, 8, err))
		return vg_err_prefix(err, "TDX module identity");
	if (memcmp(mrsigner, b->mr_signer_seam, 48))
		return vg_err_set(err, EACCES, "TDX module MRSIGNERSEAM does not match the TCB info");
	if (!masked_equal(b->seam_attributes, attr, mask, 8))
		return vg_err_set(err, EACCES, "TDX module SEAMATTRIBUTES do not match the TCB info");
	if (id != json_object_get(info, "tdxModule")) {
		json_t *lv = isv_level(id, b->tee_tcb_svn[0]);
		if (!lv) {
			*mstatus = ATT_TCB_NO_MATCHING_LEVEL;
			return 0;
		}
		*mstatus = status_of(json_string_value(json_object_get(lv, "tcbStatus")));
		add_advisories(ev, lv);
	}
	return 0;
}

static int check_qe(json_t *qe, const struct tdx_quote *q, enum att_tcb_status *qstatus, struct att_tcb_eval *ev,
		    struct vg_err *err)
{
	const char *id = json_string_value(json_object_get(qe, "id"));
	uint8_t misc[4], miscmask[4], attr[16], amask[16], mrsigner[32];
	const struct tdx_sgx_report *r = &q->qe_report;
	const struct tdx_sgx_report_raw *raw = (const struct tdx_sgx_report_raw *)q->qe_report_raw;
	if (!id || strcmp(id, "TD_QE"))
		return vg_err_set(err, EBADMSG, "QE identity id is \"%s\", expected TD_QE", id ? id : "");
	if (hex_field(qe, "miscselect", misc, 4, err) || hex_field(qe, "miscselectMask", miscmask, 4, err) ||
	    hex_field(qe, "attributes", attr, 16, err) || hex_field(qe, "attributesMask", amask, 16, err) ||
	    hex_field(qe, "mrsigner", mrsigner, 32, err))
		return vg_err_prefix(err, "QE identity");
	/* miscselect is written as a big-endian number; the report holds it little-endian. */
	uint32_t want = vg_be32(misc), m = vg_be32(miscmask);
	if ((r->misc_select & m) != want)
		return vg_err_set(err, EACCES, "QE MISCSELECT does not match the QE identity");
	if (!masked_equal(raw->attributes, attr, amask, 16))
		return vg_err_set(err, EACCES, "QE ATTRIBUTES do not match the QE identity");
	if (memcmp(mrsigner, r->mr_signer, 32))
		return vg_err_set(err, EACCES, "QE MRSIGNER does not match the QE identity (not Intel's TD quoting enclave)");
	json_t *pid = json_object_get(qe, "isvprodid");
	if (!json_is_integer(pid) || json_integer_value(pid) != r->isv_prod_id)
		return vg_err_set(err, EACCES, "QE ISVPRODID %u does not match the QE identity", r->isv_prod_id);
	json_t *lv = isv_level(qe, r->isv_svn);
	if (!lv) {
		*qstatus = ATT_TCB_NO_MATCHING_LEVEL;
		return 0;
	}
	*qstatus = status_of(json_string_value(json_object_get(lv, "tcbStatus")));
	add_advisories(ev, lv);
	return 0;
}

static int check_crls(const struct att_tdx_collateral *c, X509 *pck_leaf, STACK_OF(X509) *pck_chain, X509 *root,
		      const struct att_trust *t, struct att_tcb_eval *ev, bool *revoked, struct vg_err *err)
{
	*revoked = false;
	if (c->root_crl) {
		X509_CRL *crl = att_crl_parse(c->root_crl, c->root_crl_len, err);
		if (!crl)
			return vg_err_prefix(err, "root CRL");
		int rc = 0;
		for (int i = 0; i < sk_X509_num(pck_chain) && !rc; i++) {
			X509 *x = sk_X509_value(pck_chain, i);
			if (x != pck_leaf && X509_cmp(x, root) != 0 && X509_check_issued(root, x) == X509_V_OK) {
				rc = att_crl_check(crl, root, x, "root CRL", err);
				if (rc == -EKEYREVOKED) {
					*revoked = true;
					rc = 0;
				}
			}
		}
		if (!rc && X509_CRL_verify(crl, X509_get0_pubkey(root)) != 1)
			rc = vg_err_set(err, EACCES, "root CRL signature is invalid");
		const ASN1_TIME *nu = X509_CRL_get0_nextUpdate(crl);
		struct tm tm;
		if (!rc && nu && ASN1_TIME_to_tm(nu, &tm) && (int64_t)timegm(&tm) < att_now(t)) {
			ev->expired = true;
			snprintf(ev->note + strlen(ev->note), sizeof(ev->note) - strlen(ev->note), "root CRL nextUpdate passed; ");
		}
		X509_CRL_free(crl);
		ERR_clear_error();
		if (rc)
			return rc;
	}
	if (c->pck_crl) {
		X509_CRL *crl = att_crl_parse(c->pck_crl, c->pck_crl_len, err);
		if (!crl)
			return vg_err_prefix(err, "PCK CRL");
		STACK_OF(X509) *pool = c->pck_crl_chain ? att_certs_parse(c->pck_crl_chain, c->pck_crl_chain_len,
									 "PCK CRL issuer chain", err) : NULL;
		if (c->pck_crl_chain && !pool) {
			X509_CRL_free(crl);
			return -EBADMSG;
		}
		STACK_OF(X509) *search = pool ? pool : pck_chain;
		X509 *issuer = NULL;
		for (int i = 0; i < sk_X509_num(search); i++)
			if (!X509_NAME_cmp(X509_get_subject_name(sk_X509_value(search, i)), X509_CRL_get_issuer(crl)))
				issuer = sk_X509_value(search, i);
		int rc = 0;
		if (!issuer) {
			rc = vg_err_set(err, EACCES, "PCK CRL: its issuer is not in the issuer chain");
		} else if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_issuer_name(pck_leaf)) != 0) {
			snprintf(ev->note + strlen(ev->note), sizeof(ev->note) - strlen(ev->note),
				 "PCK CRL is for another CA, not applied; ");
		} else {
			STACK_OF(X509) *untrusted = sk_X509_new_null();
			for (int i = 0; untrusted && i < sk_X509_num(search); i++)
				if (sk_X509_value(search, i) != issuer && X509_cmp(sk_X509_value(search, i), root))
					sk_X509_push(untrusted, sk_X509_value(search, i));
			rc = att_chain_verify(issuer, untrusted, root, t, false, err);
			sk_X509_free(untrusted);
			if (!rc) {
				rc = att_crl_check(crl, issuer, pck_leaf, "PCK CRL", err);
				if (rc == -EKEYREVOKED) {
					*revoked = true;
					rc = 0;
				}
			}
			const ASN1_TIME *nu = X509_CRL_get0_nextUpdate(crl);
			struct tm tm;
			if (!rc && nu && ASN1_TIME_to_tm(nu, &tm) && (int64_t)timegm(&tm) < att_now(t)) {
				ev->expired = true;
				snprintf(ev->note + strlen(ev->note), sizeof(ev->note) - strlen(ev->note),
					 "PCK CRL nextUpdate passed; ");
			}
		}
		sk_X509_pop_free(pool, X509_free);
		X509_CRL_free(crl);
		ERR_clear_error();
		if (rc)
			return rc;
	}
	return 0;
}

/* Identity checks and TCB level matching on authenticated documents. */
static int evaluate(json_t *info, json_t *qe, const struct tdx_quote *q, const struct att_pck_ext *pck,
		    struct att_tcb_eval *out, struct vg_err *err)
{
	int rc;
	const char *id = json_string_value(json_object_get(info, "id"));
	json_t *ver = json_object_get(info, "version");
	uint8_t fmspc[6], pceid[2];
	if (!id || strcmp(id, "TDX") || !json_is_integer(ver) || json_integer_value(ver) != 3) {
		rc = vg_err_set(err, EBADMSG, "tcbInfo is not a TDX TCB info version 3");
		return rc;
	}
	if ((rc = hex_field(info, "fmspc", fmspc, 6, err)) || (rc = hex_field(info, "pceId", pceid, 2, err)))
		return rc;
	if (memcmp(fmspc, pck->fmspc, 6) || memcmp(pceid, pck->pceid, 2)) {
		char a[13], b[13];
		vg_hex_encode(fmspc, 6, a);
		vg_hex_encode(pck->fmspc, 6, b);
		rc = vg_err_set(err, EACCES, "TCB info is for FMSPC %s, the PCK certificate says %s", a, b);
		return rc;
	}
	enum att_tcb_status mstatus = ATT_TCB_NOT_EVALUATED, qstatus = ATT_TCB_NOT_EVALUATED;
	if ((rc = check_qe(qe, q, &qstatus, out, err)) || (rc = check_module(info, q, &mstatus, out, err)))
		return rc;
	bool skip = json_is_array(json_object_get(info, "tdxModuleIdentities")) && q->body.tee_tcb_svn[1] > 0;
	json_t *lv;
	if ((rc = platform_level(info, q, pck, skip, &lv, err)))
		return rc;
	out->module = mstatus;
	out->qe = qstatus;
	out->platform = lv ? ATT_TCB_NOT_EVALUATED : ATT_TCB_NO_MATCHING_LEVEL;
	if (!lv || mstatus == ATT_TCB_NO_MATCHING_LEVEL || qstatus == ATT_TCB_NO_MATCHING_LEVEL) {
		out->status = ATT_TCB_NO_MATCHING_LEVEL;
		snprintf(out->note + strlen(out->note), sizeof(out->note) - strlen(out->note), "no matching %s TCB level; ",
			 !lv ? "platform" : mstatus == ATT_TCB_NO_MATCHING_LEVEL ? "TDX module" : "QE");
		return 0;
	}
	enum att_tcb_status p = status_of(json_string_value(json_object_get(lv, "tcbStatus")));
	if (p == ATT_TCB_NOT_EVALUATED)
		return vg_err_set(err, EBADMSG, "TCB level has an unknown tcbStatus");
	out->platform = p;
	const char *date = json_string_value(json_object_get(lv, "tcbDate"));
	snprintf(out->tcb_date, sizeof(out->tcb_date), "%s", date ? date : "");
	add_advisories(out, lv);
	p = converge(p, mstatus);
	out->status = converge(p, qstatus);
	return 0;
}

int att_tdx_tcb_evaluate_trusted(const uint8_t *tcb_info, size_t tcb_info_len, const uint8_t *qe_identity,
				 size_t qe_identity_len, const struct tdx_quote *q, const struct att_pck_ext *pck,
				 struct att_tcb_eval *out, struct vg_err *err)
{
	json_error_t je;
	memset(out, 0, sizeof(*out));
	json_t *a = json_loadb((const char *)tcb_info, tcb_info_len, JSON_REJECT_DUPLICATES, &je);
	json_t *b = json_loadb((const char *)qe_identity, qe_identity_len, JSON_REJECT_DUPLICATES, &je);
	int rc;
	if (!json_is_object(json_object_get(a, "tcbInfo")) || !json_is_object(json_object_get(b, "enclaveIdentity")))
		rc = vg_err_set(err, EBADMSG, "collateral JSON lacks the tcbInfo / enclaveIdentity object");
	else
		rc = evaluate(json_object_get(a, "tcbInfo"), json_object_get(b, "enclaveIdentity"), q, pck, out, err);
	json_decref(a);
	json_decref(b);
	if (rc) {
		json_decref(out->advisories);
		out->advisories = NULL;
	}
	return rc;
}

int att_tdx_eval_collateral(const struct att_tdx_collateral *c, const struct tdx_quote *q,
			    const struct att_pck_ext *pck, X509 *pck_leaf, STACK_OF(X509) *pck_chain,
			    X509 *root, const struct att_trust *t, struct att_tcb_eval *out, struct vg_err *err)
{
	struct signed_doc ti = {0}, qi = {0};
	int rc;
	memset(out, 0, sizeof(*out));
	rc = verify_signed_doc(c->tcb_info, c->tcb_info_len, "tcbInfo", c->tcb_chain, c->tcb_chain_len, root, t, &ti,
			       out, err);
	if (!rc)
		rc = verify_signed_doc(c->qe_identity, c->qe_identity_len, "enclaveIdentity",
				       c->qe_chain ? c->qe_chain : c->tcb_chain,
				       c->qe_chain ? c->qe_chain_len : c->tcb_chain_len, root, t, &qi, out, err);
	if (rc)
		goto out;
	if ((rc = evaluate(ti.body, qi.body, q, pck, out, err)))
		goto out;
	bool revoked;
	if ((rc = check_crls(c, pck_leaf, pck_chain, root, t, out, &revoked, err)))
		goto out;
	if (revoked)
		out->status = ATT_TCB_REVOKED;
	size_t nl = strlen(out->note);
	if (nl >= 2 && out->note[nl - 2] == ';')
		out->note[nl - 2] = 0;
out:
	json_decref(ti.root);
	json_decref(qi.root);
	if (rc) {
		json_decref(out->advisories);
		out->advisories = NULL;
	}
	return rc;
}
