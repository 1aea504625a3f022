/*
 * PE/COFF Authenticode digest, the rule edk2 applies when it measures a loaded
 * image (OvmfPkg/Tcg/TdTcg2Dxe/MeasureBootPeCoff.c MeasurePeImageAndExtend, steps
 * numbered as there; header checks as BasePeCoffLib PeCoffLoaderGetPeHeader).
 * The image is untrusted: every offset is read through a vg_reader and checked
 * before a byte is hashed.
 */
#include "firmware/firmware.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#define DOS_MAGIC 0x5a4du       /* "MZ" */
#define PE_SIGNATURE 0x00004550u /* "PE\0\0" */
#define OPT_PE32 0x10bu
#define OPT_PE32PLUS 0x20bu
#define FILE_HEADER_SIZE 20u
#define SECTION_HEADER_SIZE 40u
#define DIR_SECURITY 4u          /* EFI_IMAGE_DIRECTORY_ENTRY_SECURITY */
#define MAX_DIRS 16u             /* EFI_IMAGE_NUMBER_OF_DIRECTORY_ENTRIES */

struct section {
	uint32_t off, size;
	unsigned index;
};

struct range {
	uint64_t off, len;
};

static int bad(struct vg_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(struct vg_err *err, const char *fmt, ...)
{
	char msg[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return vg_err_set(err, EBADMSG, "PE/COFF image: %s", msg);
}

/* Sections sorted by PointerToRawData, equal keys kept in table order (edk2's
 * insertion sort moves an entry only past strictly greater ones). */
static int cmp_section(const void *a, const void *b)
{
	const struct section *x = a, *y = b;
	if (x->off != y->off)
		return x->off < y->off ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* Parses the headers into the list of byte ranges to hash, in order. */
static int plan(const uint8_t *img, size_t len, struct fw_pe_info *pi, struct range *rg, size_t *nrg,
		struct vg_err *err)
{
	struct vg_reader r;
	uint16_t u16, nsec, optsize, magic;
	uint32_t u32, pe_off = 0, size_of_headers, ndirs;
	vg_rd_init(&r, img, len);
	memset(pi, 0, sizeof(*pi));
	/* DOS header: e_magic, e_lfanew at 0x3c (edk2: without "MZ", the PE header is at 0) */
	if (vg_rd_le16(&r, &u16))
		return bad(err, "%zu bytes: too short for a DOS header", len);
	if (u16 == DOS_MAGIC) {
		if (vg_rd_seek(&r, 0x3c) || vg_rd_le32(&r, &pe_off))
			return bad(err, "%zu bytes: too short for a DOS header (e_lfanew at 0x3c)", len);
	}
	if (vg_rd_seek(&r, pe_off) || vg_rd_le32(&r, &u32))
		return bad(err, "PE header offset 0x%x (e_lfanew) is beyond the file (%zu bytes)", pe_off, len);
	if (u32 != PE_SIGNATURE)
		return bad(err, "no \"PE\\0\\0\" signature at offset 0x%x: not a PE/COFF (EFI) image", pe_off);
	/* COFF file header */
	size_t fh = (size_t)pe_off + 4;
	if (vg_rd_le16(&r, &pi->machine) || vg_rd_le16(&r, &nsec) || vg_rd_skip(&r, 12) || vg_rd_le16(&r, &optsize) ||
	    vg_rd_skip(&r, 2))
		return bad(err, "COFF file header at 0x%zx is truncated", fh);
	pi->nsections = nsec;
	size_t opt = fh + FILE_HEADER_SIZE;
	if (vg_rd_le16(&r, &magic))
		return bad(err, "optional header at 0x%zx is truncated", opt);
	if (magic != OPT_PE32 && magic != OPT_PE32PLUS)
		return bad(err, "optional header magic 0x%x is neither PE32 (0x10b) nor PE32+ (0x20b)", magic);
	pi->pe32plus = magic == OPT_PE32PLUS;
	/* Fixed part: PE32 96 bytes, PE32+ 112; data directories follow, 8 bytes each. */
	size_t fixed = pi->pe32plus ? 112 : 96;
	size_t checksum = opt + 64, soh_at = opt + 60, subsys_at = opt + 68;
	size_t ndirs_at = opt + fixed - 4, dirs = opt + fixed;
	if (vg_rd_seek(&r, soh_at) || vg_rd_le32(&r, &size_of_headers) || vg_rd_seek(&r, subsys_at) ||
	    vg_rd_le16(&r, &pi->subsystem) || vg_rd_seek(&r, ndirs_at) || vg_rd_le32(&r, &ndirs))
		return bad(err, "optional header at 0x%zx is truncated", opt);
	if (ndirs > MAX_DIRS)
		return bad(err, "NumberOfRvaAndSizes %u is more than %u", ndirs, MAX_DIRS);
	if (optsize != fixed + (size_t)ndirs * 8)
		return bad(err, "SizeOfOptionalHeader %u does not match %u data directories (%zu expected)", optsize,
			   ndirs, fixed + (size_t)ndirs * 8);
	size_t sectab = opt + optsize;
	if (nsec > FW_PE_MAX_SECTIONS)
		return bad(err, "%u sections: more than %u", nsec, FW_PE_MAX_SECTIONS);
	pi->size_of_headers = size_of_headers;
	if (size_of_headers > len)
		return bad(err, "SizeOfHeaders 0x%x is beyond the file (%zu bytes)", size_of_headers, len);
	if (sectab + (size_t)nsec * SECTION_HEADER_SIZE > size_of_headers)
		return bad(err, "section table [0x%zx, 0x%zx) is not inside SizeOfHeaders 0x%x", sectab,
			   sectab + (size_t)nsec * SECTION_HEADER_SIZE, size_of_headers);
	size_t secdir = dirs + DIR_SECURITY * 8;
	if (ndirs > DIR_SECURITY) {
		if (vg_rd_seek(&r, secdir) || vg_rd_le32(&r, &pi->cert_offset) || vg_rd_le32(&r, &pi->cert_size))
			return bad(err, "certificate data directory is truncated");
	}
	/* 3-9: the headers without CheckSum and the certificate directory entry. */
	size_t n = 0;
	rg[n++] = (struct range){0, checksum};
	if (ndirs <= DIR_SECURITY) {
		rg[n++] = (struct range){checksum + 4, size_of_headers - (checksum + 4)};
	} else {
		rg[n++] = (struct range){checksum + 4, secdir - (checksum + 4)};
		rg[n++] = (struct range){secdir + 8, size_of_headers - (secdir + 8)};
	}
	/* 10-15: sections with raw data, sorted by file offset. */
	struct section *s = calloc(nsec ? nsec : 1, sizeof(*s));
	if (!s)
		return vg_err_set(err, ENOMEM, "out of memory");
	unsigned ns = 0;
	for (unsigned i = 0; i < nsec; i++) {
		uint32_t size, off;
		vg_rd_seek(&r, sectab + (size_t)i * SECTION_HEADER_SIZE + 16);
		vg_rd_le32(&r, &size);
		vg_rd_le32(&r, &off);
		if (!vg_rd_ok(&r)) {
			free(s);
			return bad(err, "section header %u is truncated", i);
		}
		if (size == 0)
			continue;
		if ((uint64_t)off + size > len) {
			free(s);
			return bad(err, "section %u raw data [0x%x, 0x%llx) is beyond the file (%zu bytes)", i, off,
				   (unsigned long long)off + size, len);
		}
		if (off < size_of_headers) {
			free(s);
			return bad(err, "section %u raw data at 0x%x overlaps the headers (SizeOfHeaders 0x%x)", i, off,
				   size_of_headers);
		}
		s[ns++] = (struct section){off, size, i};
	}
	qsort(s, ns, sizeof(*s), cmp_section);
	uint64_t sum = size_of_headers;
	for (unsigned i = 0; i < ns; i++) {
		if (i && (uint64_t)s[i - 1].off + s[i - 1].size > s[i].off) {
			unsigned a = s[i - 1].index, b = s[i].index;
			free(s);
			return bad(err, "sections %u and %u overlap in the file", a, b);
		}
		rg[n++] = (struct range){s[i].off, s[i].size};
		sum += s[i].size;
	}
	free(s);
	pi->sum_of_bytes_hashed = sum;
	/* 16: data after SUM_OF_BYTES_HASHED, less the certificate table. */
	uint64_t cert = ndirs > DIR_SECURITY ? pi->cert_size : 0;
	if (len > sum) {
		if (len > cert + sum)
			rg[n++] = (struct range){sum, len - cert - sum};
		else if (len < cert + sum)
			return bad(err, "certificate table of %llu bytes does not fit after the %llu hashed bytes "
				   "(file %zu bytes)", (unsigned long long)cert, (unsigned long long)sum, len);
		pi->trailing = len > cert + sum ? len - cert - sum : 0;
	}
	*nrg = n;
	return 0;
}

int fw_pe_authenticode(const uint8_t *img, size_t len, const char *md, uint8_t *out, size_t *out_len,
		       struct fw_pe_info *info, struct vg_err *err)
{
	struct fw_pe_info pi;
	/* headers: at most 3 ranges, sections, trailing data */
	struct range *rg = calloc(FW_PE_MAX_SECTIONS + 4, sizeof(*rg));
	size_t n = 0;
	if (!rg)
		return vg_err_set(err, ENOMEM, "out of memory");
	int rc = plan(img, len, &pi, rg, &n, err);
	EVP_MD *alg = rc ? NULL : EVP_MD_fetch(NULL, md, NULL);
	EVP_MD_CTX *ctx = alg ? EVP_MD_CTX_new() : NULL;
	if (!rc && (!alg || !ctx || !EVP_DigestInit_ex(ctx, alg, NULL)))
		rc = vg_err_set(err, EINVAL, "digest %s is not available", md);
	for (size_t i = 0; !rc && i < n; i++)
		if (!EVP_DigestUpdate(ctx, img + rg[i].off, rg[i].len))
			rc = vg_err_set(err, EIO, "%s failed", md);
	unsigned int dl = 0;
	if (!rc && !EVP_DigestFinal_ex(ctx, out, &dl))
		rc = vg_err_set(err, EIO, "%s failed", md);
	EVP_MD_CTX_free(ctx);
	EVP_MD_free(alg);
	free(rg);
	if (rc)
		return rc;
	*out_len = dl;
	if (info)
		*info = pi;
	return 0;
}
