/* The kernel-hashes table for measured direct boot (QEMU's SEV hashes table). */
#include "firmware/firmware.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ENTRY_LEN 50 /* GUID + u16 length + SHA-256 */

static int sha256_buf(const void *p, size_t n, uint8_t out[32], struct vg_err *err)
{
	unsigned int len = 0;
	if (!EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) || len != 32)
		return vg_err_set(err, EIO, "SHA-256 failed");
	return 0;
}

/* Streams a file (regular file or /dev/null-like device) through SHA-256. */
static int sha256_file(const char *what, const char *path, uint8_t out[32], struct vg_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vg_err_set(err, errno, "%s %s: %s", what, path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) || S_ISDIR(st.st_mode)) {
		close(fd);
		return vg_err_set(err, EISDIR, "%s %s: not a file", what, path);
	}
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t cap = 1u << 20;
	uint8_t *buf = malloc(cap);
	int rc = 0;
	if (!ctx || !buf || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		rc = vg_err_set(err, ENOMEM, "%s %s: out of memory", what, path);
		goto out;
	}
	for (;;) {
		ssize_t n = vg_read_full(fd, buf, cap);
		if (n < 0) {
			rc = vg_err_set(err, (int)-n, "%s %s: %s", what, path, strerror((int)-n));
			goto out;
		}
		if (n > 0 && !EVP_DigestUpdate(ctx, buf, (size_t)n)) {
			rc = vg_err_set(err, EIO, "SHA-256 failed");
			goto out;
		}
		if ((size_t)n < cap)
			break;
	}
	unsigned int len = 0;
	if (!EVP_DigestFinal_ex(ctx, out, &len) || len != 32)
		rc = vg_err_set(err, EIO, "SHA-256 failed");
out:
	free(buf);
	EVP_MD_CTX_free(ctx);
	close(fd);
	return rc;
}

/* The command line is measured with its terminating NUL ("" gives "\0"). */
static int cmdline_hash(const char *cmdline, uint8_t out[32], struct vg_err *err)
{
	const char *s = cmdline ? cmdline : "";
	return sha256_buf(s, strlen(s) + 1, out, err);
}

int fw_kernel_hashes_from_files(const char *kernel, const char *initrd, const char *cmdline,
				struct fw_kernel_hashes *out, struct vg_err *err)
{
	int rc;
	if (!kernel)
		return vg_err_set(err, EINVAL, "kernel-hashes table needs a kernel");
	if ((rc = sha256_file("kernel", kernel, out->kernel, err)))
		return rc;
	if (initrd)
		rc = sha256_file("initrd", initrd, out->initrd, err);
	else
		rc = sha256_buf("", 0, out->initrd, err);
	if (rc)
		return rc;
	return cmdline_hash(cmdline, out->cmdline, err);
}

int fw_kernel_hashes_from_buffers(const uint8_t *kernel, size_t kernel_len, const uint8_t *initrd,
				  size_t initrd_len, const char *cmdline, struct fw_kernel_hashes *out,
				  struct vg_err *err)
{
	int rc;
	if ((rc = sha256_buf(kernel ? (const void *)kernel : "", kernel ? kernel_len : 0, out->kernel, err)))
		return rc;
	if ((rc = sha256_buf(initrd ? (const void *)initrd : "", initrd ? initrd_len : 0, out->initrd, err)))
		return rc;
	return cmdline_hash(cmdline, out->cmdline, err);
}

static void put_entry(uint8_t *p, const char *guid, const uint8_t hash[32])
{
	struct fw_guid g;
	fw_guid_parse(guid, &g);
	memcpy(p, g.b, 16);
	vg_put_le16(p + 16, ENTRY_LEN);
	memcpy(p + 18, hash, 32);
}

void fw_hashes_table_build(const struct fw_kernel_hashes *h, uint8_t out[FW_HASHES_TABLE_PADDED])
{
	struct fw_guid g;
	memset(out, 0, FW_HASHES_TABLE_PADDED);
	fw_guid_parse(FW_GUID_HASHES_TABLE, &g);
	memcpy(out, g.b, 16);
	vg_put_le16(out + 16, FW_HASHES_TABLE_LEN);
	put_entry(out + 18, FW_GUID_HASHES_CMDLINE, h->cmdline);
	put_entry(out + 18 + ENTRY_LEN, FW_GUID_HASHES_INITRD, h->initrd);
	put_entry(out + 18 + 2 * ENTRY_LEN, FW_GUID_HASHES_KERNEL, h->kernel);
}
