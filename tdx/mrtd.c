/* MRTD: SHA-384 over the TDH.MEM.PAGE.ADD and TDH.MR.EXTEND buffers (TDX module ABI). */
#include "tdx/tdx.h"

#include <openssl/evp.h>
#include <string.h>

int tdx_mrtd_init(struct tdx_mrtd *m, struct vg_err *err)
{
	memset(m, 0, sizeof(*m));
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha384(), NULL)) {
		EVP_MD_CTX_free(ctx);
		return vg_err_set(err, ENOMEM, "MRTD: cannot start SHA-384");
	}
	m->md_ctx = ctx;
	return 0;
}

void tdx_mrtd_free(struct tdx_mrtd *m)
{
	EVP_MD_CTX_free(m->md_ctx);
	m->md_ctx = NULL;
}

static int hash_buf(struct tdx_mrtd *m, const char *op, uint64_t gpa, struct vg_err *err)
{
	uint8_t buf[TDX_MRTD_BUF_LEN] = {0};
	memcpy(buf, op, strlen(op)); /* "MEM.PAGE.ADD" (12) or "MR.EXTEND" (9), zero padded */
	vg_put_le64(buf + 16, gpa);
	if (!m->md_ctx || !EVP_DigestUpdate(m->md_ctx, buf, sizeof(buf)))
		return vg_err_set(err, EIO, "MRTD: SHA-384 update failed");
	return 0;
}

int tdx_mrtd_page_add(struct tdx_mrtd *m, uint64_t gpa, struct vg_err *err)
{
	if (gpa % TDX_PAGE_SIZE)
		return vg_err_set(err, EINVAL, "MRTD: TDH.MEM.PAGE.ADD at unaligned GPA 0x%llx", (unsigned long long)gpa);
	int rc = hash_buf(m, "MEM.PAGE.ADD", gpa, err);
	if (!rc)
		m->page_adds++;
	return rc;
}

int tdx_mrtd_extend_chunk(struct tdx_mrtd *m, uint64_t gpa, const uint8_t chunk[TDX_MR_EXTEND_CHUNK],
			  struct vg_err *err)
{
	if (gpa % TDX_MR_EXTEND_CHUNK)
		return vg_err_set(err, EINVAL, "MRTD: TDH.MR.EXTEND at unaligned GPA 0x%llx", (unsigned long long)gpa);
	int rc = hash_buf(m, "MR.EXTEND", gpa, err);
	if (rc)
		return rc;
	if (!EVP_DigestUpdate(m->md_ctx, chunk, TDX_MR_EXTEND_CHUNK))
		return vg_err_set(err, EIO, "MRTD: SHA-384 update failed");
	m->extends++;
	return 0;
}

int tdx_mrtd_extend_page(struct tdx_mrtd *m, uint64_t gpa, const uint8_t *page, struct vg_err *err)
{
	static const uint8_t zeros[TDX_PAGE_SIZE];
	if (gpa % TDX_PAGE_SIZE)
		return vg_err_set(err, EINVAL, "MRTD: page at unaligned GPA 0x%llx", (unsigned long long)gpa);
	for (unsigned off = 0; off < TDX_PAGE_SIZE; off += TDX_MR_EXTEND_CHUNK) {
		int rc = tdx_mrtd_extend_chunk(m, gpa + off, (page ? page : zeros) + off, err);
		if (rc)
			return rc;
	}
	return 0;
}

int tdx_mrtd_final(struct tdx_mrtd *m, uint8_t out[TDX_MRTD_LEN], struct vg_err *err)
{
	unsigned int len = 0;
	int ok = m->md_ctx && EVP_DigestFinal_ex(m->md_ctx, out, &len) && len == TDX_MRTD_LEN;
	tdx_mrtd_free(m);
	return ok ? 0 : vg_err_set(err, EIO, "MRTD: SHA-384 final failed");
}
