/*
 * KVM_EXIT_TDX handling (Linux 6.16 UAPI): GetQuote forwarded to a quote service,
 * GetTdVmCallInfo answered, the rest refused. And the client of Intel's quote
 * generation service (QGS) protocol over a UNIX socket: a 4-byte big-endian length,
 * then a message header {u16 major 1, u16 minor 1, u32 type, u32 size, u32 error}
 * and for GET_QUOTE_REQ {u32 report_size, u32 id_list_size, report}; the response
 * GET_QUOTE_RESP carries {u32 selected_id_size, u32 quote_size, id, quote}.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/linux_kvm_cc.h"
#include "tdx/quote_priv.h"

#define QGS_MSG_HDR 16u
#define QGS_GET_QUOTE_REQ 0u
#define QGS_GET_QUOTE_RESP 1u
#define QGS_MAX_MSG (1u << 20)

int tdx_qgs_get_quote(void *path, const uint8_t *tdreport, size_t len, uint8_t **quote, size_t *quote_len,
		      struct vg_err *err)
{
	const char *p = path;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(p) >= sizeof(sa.sun_path))
		return vg_err_set(err, ENAMETOOLONG, "quote service socket path too long");
	strcpy(sa.sun_path, p);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return vg_err_set(err, errno, "socket: %s", strerror(errno));
	int rc;
	uint8_t *msg = NULL;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = vg_err_set(err, errno, "cannot reach the quote service at %s: %s", p, strerror(errno));
		goto out;
	}
	uint32_t req_len = QGS_MSG_HDR + 8 + (uint32_t)len;
	msg = malloc(4 + req_len);
	if (!msg) {
		rc = vg_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	vg_put_be32(msg, req_len);
	uint8_t *h = msg + 4;
	vg_put_le16(h, 1);
	vg_put_le16(h + 2, 1);
	vg_put_le32(h + 4, QGS_GET_QUOTE_REQ);
	vg_put_le32(h + 8, req_len);
	vg_put_le32(h + 12, 0);
	vg_put_le32(h + 16, (uint32_t)len);
	vg_put_le32(h + 20, 0);
	memcpy(h + 24, tdreport, len);
	if (vg_write_full(fd, msg, 4 + req_len) < 0) {
		rc = vg_err_set(err, EIO, "quote service: write failed");
		goto out;
	}
	free(msg);
	msg = NULL;
	uint8_t lenbuf[4];
	if (vg_read_full(fd, lenbuf, 4) != 4) {
		rc = vg_err_set(err, EIO, "quote service closed the connection");
		goto out;
	}
	uint32_t resp_len = vg_be32(lenbuf);
	if (resp_len < QGS_MSG_HDR + 8 || resp_len > QGS_MAX_MSG) {
		rc = vg_err_set(err, EBADMSG, "quote service: response length %u out of range", resp_len);
		goto out;
	}
	msg = malloc(resp_len);
	if (!msg || vg_read_full(fd, msg, resp_len) != (ssize_t)resp_len) {
		rc = vg_err_set(err, EIO, "quote service: short response");
		goto out;
	}
	struct vg_reader r;
	uint16_t major, minor;
	uint32_t type, size, error, id_size, q_size;
	vg_rd_init(&r, msg, resp_len);
	vg_rd_le16(&r, &major);
	vg_rd_le16(&r, &minor);
	vg_rd_le32(&r, &type);
	vg_rd_le32(&r, &size);
	vg_rd_le32(&r, &error);
	vg_rd_le32(&r, &id_size);
	vg_rd_le32(&r, &q_size);
	if (!vg_rd_ok(&r) || major != 1 || type != QGS_GET_QUOTE_RESP || size != resp_len) {
		rc = vg_err_set(err, EBADMSG, "quote service: malformed response header");
		goto out;
	}
	if (error) {
		rc = vg_err_set(err, EIO, "quote service reported error 0x%x", error);
		goto out;
	}
	const uint8_t *qp;
	if (vg_rd_skip(&r, id_size) || vg_rd_ptr(&r, q_size, &qp) || !q_size) {
		rc = vg_err_set(err, EBADMSG, "quote service: quote length %u exceeds the response", q_size);
		goto out;
	}
	*quote = malloc(q_size);
	if (!*quote) {
		rc = vg_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	memcpy(*quote, qp, q_size);
	*quote_len = q_size;
	rc = 0;
out:
	free(msg);
	close(fd);
	return rc;
}

uint8_t *tdx_get_quote_buffer(struct kvm_cc_exit_tdx *t, tdx_gpa_fn gpa_fn, void *gpa_ctx, uint64_t *size,
			      bool *hdr_ok)
{
	uint64_t gpa = t->get_quote.gpa;
	*size = t->get_quote.size;
	t->get_quote.ret = KVM_CC_TDVMCALL_STATUS_INVALID_OPERAND;
	if ((gpa & 0xfff) || *size < TDX_GET_QUOTE_HDR_SIZE || *size > (4u << 20))
		return NULL;
	uint8_t *buf = gpa_fn(gpa_ctx, gpa, *size);
	if (!buf)
		return NULL;
	t->get_quote.ret = KVM_CC_TDVMCALL_STATUS_SUCCESS;
	uint64_t version = vg_le64(buf);
	uint32_t in_len = vg_le32(buf + 16);
	*hdr_ok = version == 1 && in_len == TDX_REPORT_SIZE && in_len <= *size - TDX_GET_QUOTE_HDR_SIZE;
	return buf;
}

static void get_quote(struct kvm_cc_exit_tdx *t, tdx_gpa_fn gpa_fn, void *gpa_ctx, tdx_quote_fn quote_fn,
		      void *quote_ctx)
{
	uint64_t size;
	bool hdr_ok;
	uint8_t *buf = tdx_get_quote_buffer(t, gpa_fn, gpa_ctx, &size, &hdr_ok);
	if (!buf)
		return;
	uint64_t status = TDX_GET_QUOTE_ERROR;
	uint32_t out_len = 0;
	if (!hdr_ok) {
		status = TDX_GET_QUOTE_ERROR;
	} else if (!quote_fn) {
		status = TDX_GET_QUOTE_SERVICE_UNAVAILABLE;
	} else {
		uint8_t report[TDX_REPORT_SIZE];
		memcpy(report, buf + TDX_GET_QUOTE_HDR_SIZE, sizeof(report)); /* one read of guest memory */
		uint8_t *q = NULL;
		size_t qlen = 0;
		struct vg_err e = { 0 };
		if (quote_fn(quote_ctx, report, sizeof(report), &q, &qlen, &e) < 0) {
			vg_warn("GetQuote: %s", e.msg);
			status = TDX_GET_QUOTE_SERVICE_UNAVAILABLE;
		} else if (qlen > size - TDX_GET_QUOTE_HDR_SIZE || qlen > UINT32_MAX) {
			status = TDX_GET_QUOTE_ERROR; /* the guest's buffer is too small */
		} else {
			memcpy(buf + TDX_GET_QUOTE_HDR_SIZE, q, qlen);
			out_len = (uint32_t)qlen;
			status = TDX_GET_QUOTE_SUCCESS;
		}
		free(q);
	}
	vg_put_le32(buf + 20, out_len);
	vg_put_le64(buf + 8, status);
}

int tdx_handle_exit(struct kvm_run *run, tdx_gpa_fn gpa_fn, void *gpa_ctx, tdx_quote_fn quote_fn,
		    void *quote_ctx, struct vg_err *err)
{
	if (run->exit_reason != KVM_EXIT_TDX)
		return 0;
	struct kvm_cc_exit_tdx *t = kvm_cc_run_exit(run);
	switch (t->nr) {
	case KVM_CC_TDVMCALL_GET_QUOTE:
		get_quote(t, gpa_fn, gpa_ctx, quote_fn, quote_ctx);
		return 1;
	case KVM_CC_TDVMCALL_GET_TD_VM_CALL_INFO:
		/* Leaf 1: which optional TDVMCALLs userspace serves (r11 bit 0: GetQuote,
		 * always answered, with SERVICE_UNAVAILABLE when no service is configured). */
		if (t->get_tdvmcall_info.leaf == 1) {
			t->get_tdvmcall_info.r11 = 1;
			t->get_tdvmcall_info.r12 = 0;
			t->get_tdvmcall_info.r13 = 0;
			t->get_tdvmcall_info.r14 = 0;
			t->get_tdvmcall_info.ret = KVM_CC_TDVMCALL_STATUS_SUCCESS;
		} else {
			t->get_tdvmcall_info.ret = KVM_CC_TDVMCALL_STATUS_INVALID_OPERAND;
		}
		return 1;
	default:
		t->unknown.ret = KVM_CC_TDVMCALL_STATUS_INVALID_OPERAND;
		return 1;
	}
	(void)err;
}
