/* The sandbox: privileges dropped and one seccomp filter per thread role,
 * default action kill-process. docs/sandbox.md explains every entry. */
#include "vmm/accel/accel.h"

#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The VMM main loop after the vCPUs start: wait for a stop request or a
 * signal, forward terminal input, stop the vCPUs, save vTPM state, tear down. */
static const char *const main_allowed[] = {
	"poll", "ppoll", "read", "write", "close", "futex", "tgkill", "rt_sigprocmask", "rt_sigreturn",
	"restart_syscall", "brk", "mmap", "munmap", "mprotect", "madvise", "openat", "fstat", "newfstatat",
	"fsync", "fdatasync", "fchmod", "rename", "renameat", "unlink", "unlinkat", "lseek", "getrandom", "clock_gettime",
	"getpid", "gettid", "sched_yield", "ioctl", "exit", "exit_group", NULL,
};

/* A vCPU thread: the accelerator's run and the device models it calls on
 * exits. The accelerator adds its own (kvm: KVM_RUN and friends as ioctl
 * requests; emu: what Unicorn's code buffer needs), docs/sandbox.md. */
static const char *const vcpu_allowed[] = {
	"ioctl", "write", "futex", "rt_sigreturn", "rt_sigprocmask", "brk", "mmap", "munmap", "mprotect",
	"madvise", "clock_gettime", "gettid", "sched_yield", "restart_syscall", "exit",
	/* OpenSSL's RNG on the vCPU thread (sim platforms sign evidence there):
	 * fork detection and reseeding. Neither has side effects. */
	"getpid", "getrandom", NULL,
};

/* The TDX GetQuote worker: one AF_UNIX connection to the quote-generation
 * service per request (socket is allowed for AF_UNIX only), then the quote
 * written into guest memory. */
static const char *const quote_allowed[] = {
	"connect", "read", "write", "close", "futex", "rt_sigreturn", "rt_sigprocmask", "brk", "mmap", "munmap",
	"madvise", "mprotect", "clock_gettime", "gettid", "sched_yield", "restart_syscall", "exit", "getpid", NULL,
};

/* AddressSanitizer builds only (make sanitize): ASan tears down each
 * thread's alternate signal stack when the thread exits. */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZER_EXTRAS "sigaltstack",
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZER_EXTRAS "sigaltstack",
#endif
#endif
#ifndef SANITIZER_EXTRAS
#define SANITIZER_EXTRAS
#endif
static const char *const sanitizer_extras[] = {SANITIZER_EXTRAS NULL};

const char *const *vmm_seccomp_allowed(enum vmm_thread_role role)
{
	return role == VMM_ROLE_VCPU ? vcpu_allowed : role == VMM_ROLE_QUOTE ? quote_allowed : main_allowed;
}

static int add_ioctls(scmp_filter_ctx ctx, const unsigned long *list)
{
	for (; list && *list; list++) {
		int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
					  SCMP_A1(SCMP_CMP_MASKED_EQ, 0xFFFFFFFFul, *list));
		if (rc)
			return rc;
	}
	return 0;
}

/* What the running accelerator and platform add (set before the threads
 * start). Without an accelerator (tests), kvm's. ioctl requests are the only
 * argument filter. */
static const struct vmm_accel_ops *extra_accel;
static const unsigned long *platform_ioctls;
static bool reboot_ioctls; /* the VM can reboot: the accelerator's reset ioctls too */

void vmm_seccomp_set_extras(const struct vmm_accel_ops *accel, const unsigned long *platform_vcpu_ioctls,
			    bool reboots)
{
	extra_accel = accel;
	platform_ioctls = platform_vcpu_ioctls;
	reboot_ioctls = reboots;
}

int vmm_seccomp_use_accel(const char *accel, struct vg_err *err)
{
	const struct vmm_accel_ops *const known[] = {&vmm_accel_kvm, &vmm_accel_emu};
	for (size_t i = 0; i < VG_ARRAY_SIZE(known); i++)
		if (strcmp(known[i]->name, accel) == 0) {
			vmm_seccomp_set_extras(known[i], NULL, true);
			return 0;
		}
	return vg_err_set(err, EINVAL, "accel \"%s\" is unknown (known: kvm, emu)", accel);
}

static int add_names(scmp_filter_ctx ctx, const char *const *names, struct vg_err *err)
{
	for (const char *const *s = names; s && *s; s++) {
		int nr = seccomp_syscall_resolve_name(*s);
		if (nr == __NR_SCMP_ERROR)
			return vg_err_set(err, EINVAL, "seccomp: unknown syscall %s", *s);
		if (nr == SCMP_SYS(ioctl))
			continue; /* by request number only */
		int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		if (rc)
			return vg_err_set(err, -rc, "seccomp: rule for %s: %s", *s, strerror(-rc));
	}
	return 0;
}

int vmm_seccomp_install(enum vmm_thread_role role, struct vg_err *err)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (!ctx)
		return vg_err_set(err, ENOMEM, "seccomp: init failed");
	const struct vmm_accel_ops *a = extra_accel ? extra_accel : &vmm_accel_kvm;
	int rc = add_names(ctx, vmm_seccomp_allowed(role), err);
	if (!rc)
		rc = add_names(ctx, sanitizer_extras, err);
	if (!rc && role == VMM_ROLE_VCPU)
		rc = add_names(ctx, a->vcpu_syscalls, err);
	if (!rc && role == VMM_ROLE_QUOTE) {
		int r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_MASKED_EQ, 0xFFFFFFFFul, AF_UNIX));
		if (r)
			rc = vg_err_set(err, -r, "seccomp: socket rule: %s", strerror(-r));
	}
	if (!rc && role != VMM_ROLE_QUOTE) {
		int r = add_ioctls(ctx, role == VMM_ROLE_VCPU ? a->vcpu_ioctls : a->main_ioctls);
		if (!r && role == VMM_ROLE_VCPU)
			r = add_ioctls(ctx, platform_ioctls);
		if (!r && reboot_ioctls)
			r = add_ioctls(ctx, role == VMM_ROLE_VCPU ? a->vcpu_reset_ioctls : a->main_reset_ioctls);
		if (r)
			rc = vg_err_set(err, -r, "seccomp: ioctl rule: %s", strerror(-r));
	}
	if (!rc && (rc = seccomp_load(ctx)))
		rc = vg_err_set(err, -rc, "seccomp: load: %s", strerror(-rc));
	seccomp_release(ctx);
	return rc;
}

int vmm_resolve_user(const char *user, uid_t *uid, gid_t *gid, struct vg_err *err)
{
	char name[256];
	snprintf(name, sizeof(name), "%s", user);
	char *colon = strchr(name, ':');
	if (colon)
		*colon++ = '\0';
	uint64_t v;
	struct passwd *pw = getpwnam(name);
	if (pw) {
		*uid = pw->pw_uid;
		*gid = pw->pw_gid;
	} else if (vg_parse_u64(name, 0xFFFFFFFEu, &v, NULL) == 0) {
		*uid = (uid_t)v;
		*gid = (gid_t)v;
	} else {
		return vg_err_set(err, EINVAL, "--user %s: no such user", name);
	}
	if (colon) {
		struct group *gr = getgrnam(colon);
		if (gr)
			*gid = gr->gr_gid;
		else if (vg_parse_u64(colon, 0xFFFFFFFEu, &v, NULL) == 0)
			*gid = (gid_t)v;
		else
			return vg_err_set(err, EINVAL, "--user %s: no such group %s", user, colon);
	}
	return 0;
}

int vmm_drop_privileges(const char *chroot_dir, const char *user, struct vg_err *err)
{
	uid_t uid = 0;
	gid_t gid = 0;
	int rc;
	if (user && (rc = vmm_resolve_user(user, &uid, &gid, err)))
		return rc;
	if (chroot_dir) {
		if (chdir(chroot_dir) < 0 || chroot(".") < 0 || chdir("/") < 0)
			return vg_err_set(err, errno, "--chroot %s: %s", chroot_dir, strerror(errno));
	}
	/* Empty the bounding set (needs CAP_SETPCAP; without it there is nothing to drop from). */
	for (int cap = 0; cap <= 63; cap++) {
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0)
			break; /* past the last capability this kernel knows */
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EPERM)
			return vg_err_set(err, errno, "dropping capability %d: %s", cap, strerror(errno));
	}
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (user) {
		if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
			return vg_err_set(err, errno, "--user %s: %s", user, strerror(errno));
	}
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) < 0)
		return vg_err_set(err, errno, "dropping capabilities: %s", strerror(errno));
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return vg_err_set(err, errno, "no_new_privs: %s", strerror(errno));
	return 0;
}
