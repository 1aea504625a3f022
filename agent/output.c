/*
 * Writing the released secret: stdout, or a new file of mode 0600 that appears under its
 * name only when complete (temporary file with O_EXCL in the same directory, fsync, link(2)
 * into place, which also refuses to replace an existing file), then the directory fsync'd.
 */
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "agent/agent.h"

int ag_write_secret(const char *path, const uint8_t *data, size_t len, struct vg_err *err)
{
	if (!strcmp(path, "-")) {
		int rc = vg_write_full(STDOUT_FILENO, data, len);
		if (rc)
			return vg_err_set(err, -rc, "stdout: %s", strerror(-rc));
		return 0;
	}
	char dcopy[PATH_MAX], tmp[PATH_MAX + 64];
	if (strlen(path) >= sizeof(dcopy))
		return vg_err_set(err, ENAMETOOLONG, "%s: path too long", path);
	snprintf(dcopy, sizeof(dcopy), "%s", path);
	const char *dir = dirname(dcopy);
	uint8_t rnd[6];
	char rhex[13];
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return vg_err_set(err, EIO, "no randomness for a temporary name");
	vg_hex_encode(rnd, sizeof(rnd), rhex);
	snprintf(tmp, sizeof(tmp), "%s/.vigil-agent.%s.tmp", dir, rhex);
	if (!access(path, F_OK))
		return vg_err_set(err, EEXIST, "%s: already exists; not replaced", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return vg_err_set(err, errno, "%s: %s", tmp, strerror(errno));
	int rc = vg_write_full(fd, data, len);
	if (!rc && fsync(fd))
		rc = -errno;
	if (close(fd) && !rc)
		rc = -errno;
	if (!rc && link(tmp, path))
		rc = -errno;
	unlink(tmp);
	if (rc) {
		if (rc == -EEXIST)
			return vg_err_set(err, EEXIST, "%s: already exists; not replaced", path);
		return vg_err_set(err, -rc, "%s: %s", path, strerror(-rc));
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}
