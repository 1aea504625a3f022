/* File IO: bounded whole-file reads, atomic replacement, full transfers. */
#include "common/common.h"

#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int vg_write_full(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t vg_read_full(int fd, void *data, size_t len)
{
	uint8_t *p = data;
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, p + got, len - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int vg_read_file(const char *path, size_t max_len, uint8_t **out, size_t *out_len, struct vg_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vg_err_set(err, errno, "%s: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return vg_err_set(err, e, "%s: %s", path, strerror(e));
	}
	bool regular = S_ISREG(st.st_mode);
	if (!regular && !S_ISCHR(st.st_mode) && !S_ISFIFO(st.st_mode)) {
		close(fd);
		return vg_err_set(err, EINVAL, "%s: not a regular file", path);
	}
	if (regular && (uint64_t)st.st_size > max_len) {
		close(fd);
		return vg_err_set(err, EFBIG, "%s: file is %lld bytes, more than the %zu allowed", path,
				  (long long)st.st_size, max_len);
	}
	/* Character devices (/dev/null) and pipes: read up to max_len + 1 to detect overflow. */
	size_t cap = regular ? (size_t)st.st_size : 65536;
	uint8_t *buf = malloc(cap ? cap : 1);
	size_t len = 0;
	if (!buf) {
		close(fd);
		return vg_err_set(err, ENOMEM, "%s: out of memory", path);
	}
	for (;;) {
		if (len == cap) {
			if (regular || cap > max_len)
				break;
			size_t ncap = cap * 2;
			uint8_t *nb = realloc(buf, ncap);
			if (!nb) {
				free(buf);
				close(fd);
				return vg_err_set(err, ENOMEM, "%s: out of memory", path);
			}
			buf = nb;
			cap = ncap;
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			free(buf);
			close(fd);
			return vg_err_set(err, e, "%s: %s", path, strerror(e));
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (len > max_len) {
		free(buf);
		return vg_err_set(err, EFBIG, "%s: more than the %zu bytes allowed", path, max_len);
	}
	*out = buf;
	*out_len = len;
	return 0;
}

int vg_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, struct vg_err *err)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp) ||
	    snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return vg_err_set(err, ENAMETOOLONG, "%s: path too long", path);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return vg_err_set(err, errno, "%s: cannot create temporary file: %s", path, strerror(errno));
	int rc = 0;
	if (fchmod(fd, mode) < 0 || (rc = vg_write_full(fd, data, len)) < 0 || fsync(fd) < 0) {
		int e = rc < 0 ? -rc : errno;
		close(fd);
		unlink(tmp);
		return vg_err_set(err, e, "%s: write failed: %s", path, strerror(e));
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return vg_err_set(err, e, "%s: cannot replace: %s", path, strerror(e));
	}
	int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}
