/* Loads Unicorn on first use of the emu accelerator: dlopen, every entry
 * point resolved or a clear error naming the missing one. */
#include "vmm/accel/emu.h"

#include <dlfcn.h>
#include <stddef.h>
#include <string.h>
#include <pthread.h>
#include <stdio.h>

struct vmm_uc vmm_uc;

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;
static bool loaded;

int vmm_emu_load(struct vg_err *err)
{
	pthread_mutex_lock(&load_lock);
	int rc = 0;
	if (loaded)
		goto out;
	void *h = dlopen(VMM_EMU_LIBRARY, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		rc = vg_err_set(err, ENOENT, "emu accelerator: cannot load %s (Debian package libunicorn2): %s",
				VMM_EMU_LIBRARY, dlerror());
		goto out;
	}
	static const struct {
		const char *name;
		size_t off;
	} syms[] = {
#define SYM(f) {"uc_" #f, offsetof(struct vmm_uc, f)}
		SYM(open),	SYM(close),	  SYM(ctl),	  SYM(reg_write), SYM(reg_read),
		SYM(mem_write), SYM(mem_map_ptr), SYM(mmio_map),  SYM(mem_unmap), SYM(hook_add),
		SYM(emu_start), SYM(emu_stop),	  SYM(strerror), SYM(version),
		SYM(context_alloc), SYM(context_save), SYM(context_restore), SYM(context_free),
#undef SYM
	};
	struct vmm_uc uc;
	for (size_t i = 0; i < VG_ARRAY_SIZE(syms); i++) {
		void *f = dlsym(h, syms[i].name);
		if (!f) {
			dlclose(h);
			rc = vg_err_set(err, ENOENT, "emu accelerator: %s lacks %s", VMM_EMU_LIBRARY, syms[i].name);
			goto out;
		}
		memcpy((char *)&uc + syms[i].off, &f, sizeof(f));
	}
	unsigned major = 0, minor = 0;
	uc.version(&major, &minor);
	if (major != 2) {
		dlclose(h);
		rc = vg_err_set(err, ENOTSUP, "emu accelerator: %s is Unicorn %u.%u, need 2.x", VMM_EMU_LIBRARY, major,
				minor);
		goto out;
	}
	vmm_uc = uc;
	loaded = true; /* the library stays loaded for the life of the process */
out:
	pthread_mutex_unlock(&load_lock);
	return rc;
}
