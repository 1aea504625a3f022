/* Intel DCAP quote v4/v5 (TDX): bounds-checked parser and signed-part serializer. */
#include <string.h>

#include "tdx/tdx.h"

void tdx_sgx_report_decode(const uint8_t raw[TDX_SGX_REPORT_BODY_SIZE], struct tdx_sgx_report *out)
{
	const struct tdx_sgx_report_raw *r = (const struct tdx_sgx_report_raw *)raw;
	memset(out, 0, sizeof(*out));
	memcpy(out->cpu_svn, r->cpu_svn, 16);
	out->misc_select = vg_le32(r->misc_select);
	memcpy(out->attributes, r->attributes, 16);
	memcpy(out->mr_enclave, r->mr_enclave, 32);
	memcpy(out->mr_signer, r->mr_signer, 32);
	out->isv_prod_id = vg_le16(r->isv_prod_id);
	out->isv_svn = vg_le16(r->isv_svn);
	memcpy(out->report_data, r->report_data, 64);
}

static void body_decode(const uint8_t *p, bool td15, struct tdx_td_body *b)
{
	const struct tdx_td_body_raw *r = (const struct tdx_td_body_raw *)p;
	memset(b, 0, sizeof(*b));
	b->is_td15 = td15;
	memcpy(b->tee_tcb_svn, r->tee_tcb_svn, 16);
	memcpy(b->mr_seam, r->mr_seam, 48);
	memcpy(b->mr_signer_seam, r->mr_signer_seam, 48);
	memcpy(b->seam_attributes, r->seam_attributes, 8);
	memcpy(b->td_attributes, r->td_attributes, 8);
	memcpy(b->xfam, r->xfam, 8);
	memcpy(b->mr_td, r->mr_td, 48);
	memcpy(b->mr_config_id, r->mr_config_id, 48);
	memcpy(b->mr_owner, r->mr_owner, 48);
	memcpy(b->mr_owner_config, r->mr_owner_config, 48);
	memcpy(b->rtmr, r->rtmr, sizeof(b->rtmr));
	memcpy(b->report_data, r->report_data, 64);
	if (td15) {
		memcpy(b->tee_tcb_svn2, r->tee_tcb_svn2, 16);
		memcpy(b->mr_service_td, r->mr_service_td, 48);
	}
}

static int parse_sig_data(struct vg_reader *s, struct tdx_quote *q, struct vg_err *err)
{
	uint16_t ctype, auth_len;
	uint32_t csize;
	struct vg_reader cert, inner;
	const uint8_t *qer;

	if (vg_rd_ptr(s, 64, &q->signature) || vg_rd_ptr(s, 64, &q->att_key))
		return vg_err_set(err, EBADMSG, "quote signature data truncated (signature/attestation key)");
	q->cert_region = q->att_key;
	q->cert_region_len = vg_rd_remaining(s) + 64;
	if (vg_rd_le16(s, &ctype) || vg_rd_le32(s, &csize))
		return vg_err_set(err, EBADMSG, "quote certification data header truncated");
	if (ctype != TDX_CERT_TYPE_QE_REPORT)
		return vg_err_set(err, ENOTSUP,
				  "quote certification data type %u is not supported (expected 6, QE report)",
				  ctype);
	if (csize != vg_rd_remaining(s))
		return vg_err_set(err, EBADMSG,
				  "quote certification data size %u does not match the %zu bytes left",
				  csize, vg_rd_remaining(s));
	if (vg_rd_sub(s, csize, &cert))
		return vg_err_set(err, EBADMSG, "quote certification data truncated");
	if (vg_rd_ptr(&cert, TDX_SGX_REPORT_BODY_SIZE, &qer) || vg_rd_ptr(&cert, 64, &q->qe_report_sig))
		return vg_err_set(err, EBADMSG, "QE report certification data truncated");
	q->qe_report_raw = qer;
	tdx_sgx_report_decode(qer, &q->qe_report);
	if (vg_rd_le16(&cert, &auth_len) || vg_rd_ptr(&cert, auth_len, &q->qe_auth))
		return vg_err_set(err, EBADMSG, "QE authentication data truncated");
	q->qe_auth_len = auth_len;
	if (vg_rd_le16(&cert, &ctype) || vg_rd_le32(&cert, &csize))
		return vg_err_set(err, EBADMSG, "PCK certification data header truncated");
	if (ctype != TDX_CERT_TYPE_PCK_CHAIN)
		return vg_err_set(err, ENOTSUP,
				  "inner certification data type %u is not supported (expected 5, PCK chain)",
				  ctype);
	if (csize != vg_rd_remaining(&cert) || vg_rd_sub(&cert, csize, &inner))
		return vg_err_set(err, EBADMSG, "PCK certification data size %u does not match the %zu bytes left",
				  csize, vg_rd_remaining(&cert));
	q->pck_chain = inner.data;
	q->pck_chain_len = inner.len;
	return 0;
}

int tdx_quote_parse(const uint8_t *data, size_t len, struct tdx_quote *q, struct vg_err *err)
{
	struct vg_reader r, s;
	const uint8_t *body;
	uint32_t sig_len;

	memset(q, 0, sizeof(*q));
	vg_rd_init(&r, data, len);
	vg_rd_le16(&r, &q->version);
	vg_rd_le16(&r, &q->att_key_type);
	vg_rd_le32(&r, &q->tee_type);
	vg_rd_le16(&r, &q->qe_svn);
	vg_rd_le16(&r, &q->pce_svn);
	vg_rd_bytes(&r, q->qe_vendor_id, 16);
	vg_rd_bytes(&r, q->user_data, 20);
	if (!vg_rd_ok(&r))
		return vg_err_set(err, EBADMSG, "quote truncated: %zu bytes, header needs 48", len);
	if (q->version != 4 && q->version != 5)
		return vg_err_set(err, ENOTSUP, "quote version %u is not supported (supported: 4, 5)",
				  q->version);
	if (q->tee_type != TDX_TEE_TYPE_TDX)
		return vg_err_set(err, ENOTSUP, "quote TEE type 0x%x is not TDX (0x81)", q->tee_type);
	if (q->att_key_type != TDX_ATT_KEY_TYPE_ECDSA_P256)
		return vg_err_set(err, ENOTSUP,
				  "quote attestation key type %u is not supported (expected 2, ECDSA P-256)",
				  q->att_key_type);
	if (q->version == 4) {
		q->body_type = TDX_BODY_TYPE_TD10;
		q->body_size = TDX_TD10_BODY_SIZE;
	} else {
		if (vg_rd_le16(&r, &q->body_type) || vg_rd_le32(&r, &q->body_size))
			return vg_err_set(err, EBADMSG, "quote v5 body descriptor truncated");
		if (q->body_type == TDX_BODY_TYPE_TD10 && q->body_size != TDX_TD10_BODY_SIZE)
			return vg_err_set(err, EBADMSG, "quote v5 TDX 1.0 body size %u, expected 584",
					  q->body_size);
		else if (q->body_type == TDX_BODY_TYPE_TD15 && q->body_size != TDX_TD15_BODY_SIZE)
			return vg_err_set(err, EBADMSG, "quote v5 TDX 1.5 body size %u, expected 648",
					  q->body_size);
		else if (q->body_type != TDX_BODY_TYPE_TD10 && q->body_type != TDX_BODY_TYPE_TD15)
			return vg_err_set(err, ENOTSUP,
					  "quote v5 body type %u is not supported (2 = TDX 1.0, 3 = TDX 1.5)",
					  q->body_type);
	}
	if (vg_rd_ptr(&r, q->body_size, &body))
		return vg_err_set(err, EBADMSG, "quote body truncated: %zu bytes left, need %u",
				  len - TDX_QUOTE_HEADER_SIZE, q->body_size);
	body_decode(body, q->body_type == TDX_BODY_TYPE_TD15, &q->body);
	q->signed_data = data;
	q->signed_len = r.off;
	if (vg_rd_le32(&r, &sig_len))
		return vg_err_set(err, EBADMSG, "quote signature data length missing");
	if (sig_len > vg_rd_remaining(&r))
		return vg_err_set(err, EBADMSG, "quote signature data length %u exceeds the %zu bytes left",
				  sig_len, vg_rd_remaining(&r));
	q->sig_data_len = sig_len;
	if (vg_rd_sub(&r, sig_len, &s))
		return vg_err_set(err, EBADMSG, "quote signature data truncated");
	int rc = parse_sig_data(&s, q, err);
	if (rc)
		return rc;
	/* Bytes after the signature data are covered by no signature and never
	 * read: fixed-size buffers (zero padding) and test files with appended
	 * text both occur. Their count is reported, their content ignored. */
	q->trailing = vg_rd_remaining(&r);
	return 0;
}

size_t tdx_quote_serialize_signed(const struct tdx_quote *q, uint8_t *out, size_t cap)
{
	struct tdx_quote_header_raw h;
	struct tdx_td_body_raw b;
	size_t body_len, need;

	if (q->version == 4 && q->body_type == TDX_BODY_TYPE_TD10)
		body_len = TDX_TD10_BODY_SIZE;
	else if (q->version == 5 && q->body_type == TDX_BODY_TYPE_TD10)
		body_len = TDX_TD10_BODY_SIZE;
	else if (q->version == 5 && q->body_type == TDX_BODY_TYPE_TD15)
		body_len = TDX_TD15_BODY_SIZE;
	else
		return 0;
	need = TDX_QUOTE_HEADER_SIZE + (q->version == 5 ? 6 : 0) + body_len;
	if (cap < need)
		return 0;
	vg_put_le16(h.version, q->version);
	vg_put_le16(h.att_key_type, q->att_key_type);
	vg_put_le32(h.tee_type, q->tee_type);
	vg_put_le16(h.qe_svn, q->qe_svn);
	vg_put_le16(h.pce_svn, q->pce_svn);
	memcpy(h.qe_vendor_id, q->qe_vendor_id, 16);
	memcpy(h.user_data, q->user_data, 20);
	memset(&b, 0, sizeof(b));
	const struct tdx_td_body *s = &q->body;
	memcpy(b.tee_tcb_svn, s->tee_tcb_svn, 16);
	memcpy(b.mr_seam, s->mr_seam, 48);
	memcpy(b.mr_signer_seam, s->mr_signer_seam, 48);
	memcpy(b.seam_attributes, s->seam_attributes, 8);
	memcpy(b.td_attributes, s->td_attributes, 8);
	memcpy(b.xfam, s->xfam, 8);
	memcpy(b.mr_td, s->mr_td, 48);
	memcpy(b.mr_config_id, s->mr_config_id, 48);
	memcpy(b.mr_owner, s->mr_owner, 48);
	memcpy(b.mr_owner_config, s->mr_owner_config, 48);
	memcpy(b.rtmr, s->rtmr, sizeof(b.rtmr));
	memcpy(b.report_data, s->report_data, 64);
	memcpy(b.tee_tcb_svn2, s->tee_tcb_svn2, 16);
	memcpy(b.mr_service_td, s->mr_service_td, 48);

	size_t off = 0;
	memcpy(out, &h, sizeof(h));
	off += sizeof(h);
	if (q->version == 5) {
		vg_put_le16(out + off, q->body_type);
		vg_put_le32(out + off + 2, (uint32_t)body_len);
		off += 6;
	}
	memcpy(out + off, &b, body_len);
	return off + body_len;
}
