/* State directories (common.h, "PKI and state directories"): atomic file
 * writes and "generate once, rename into place". */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"

int vg_state_put(const char *dir, const char *name, const void *data, size_t len, mode_t mode, struct vg_err *err)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return vg_err_set(err, ENAMETOOLONG, "%s/%s: path too long", dir, name);
	return vg_write_file_atomic(path, data, len, mode, err);
}

/* Removes a temporary directory we made (only plain files inside). */
static void remove_tmp_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (d) {
		int dfd = dirfd(d);
		for (struct dirent *e; (e = readdir(d));)
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				unlinkat(dfd, e->d_name, 0);
		closedir(d);
	}
	rmdir(dir);
}

int vg_state_generate_once(const char *state_dir, const char *sub, vg_state_gen_fn gen, void *arg, bool *created,
			   struct vg_err *err)
{
	char final[PATH_MAX], tmp[PATH_MAX];
	struct stat st;
	if (created)
		*created = false;
	if (snprintf(final, sizeof(final), "%s/%s", state_dir, sub) >= (int)sizeof(final) ||
	    snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", state_dir, sub) >= (int)sizeof(tmp))
		return vg_err_set(err, ENAMETOOLONG, "%s/%s: path too long", state_dir, sub);
	if (stat(final, &st) == 0)
		return S_ISDIR(st.st_mode) ? 0 : vg_err_set(err, ENOTDIR, "%s: not a directory", final);
	if (mkdir(state_dir, 0700) != 0 && errno != EEXIST)
		return vg_err_set(err, errno, "cannot create state directory %s: %s", state_dir, strerror(errno));
	if (!mkdtemp(tmp))
		return vg_err_set(err, errno, "cannot create %s: %s", tmp, strerror(errno));
	int rc = gen(tmp, arg, err);
	if (!rc && rename(tmp, final) != 0) {
		if (errno != ENOTEMPTY && errno != EEXIST)
			rc = vg_err_set(err, errno, "cannot rename %s to %s: %s", tmp, final, strerror(errno));
		/* else another process won the race: use its directory */
	} else if (!rc && created) {
		*created = true;
	}
	if (rc || access(tmp, F_OK) == 0)
		remove_tmp_dir(tmp);
	return rc;
}
