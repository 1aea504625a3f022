/* Unit tests for the VMM sandbox: the exact filters vigil-vmm installs
 * (vmm_seccomp_install), in child processes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "vmm/vmm.h"

/* Runs fn in a child after installing the role's filter; returns the wait status. */
static int run_filtered(enum vmm_thread_role role, void (*fn)(int fd), int *out_byte)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		struct vg_err err = {0};
		if (vmm_seccomp_install(role, &err))
			syscall(SYS_exit_group, 99);
		fn(p[1]);
		syscall(SYS_exit, 0); /* a vCPU thread ends with exit, never exit_group */
	}
	close(p[1]);
	uint8_t b = 0;
	*out_byte = read(p[0], &b, 1) == 1 ? b : -1;
	close(p[0]);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return st;
}

static void do_allowed(int fd)
{
	void *m = malloc(1 << 20); /* mmap: allowed */
	free(m);
	uint8_t ok = 'k';
	if (write(fd, &ok, 1) != 1) /* the UART writes */
		return;
}

/* The main loop runs libtpms: randomness, and its state files. */
static void do_main_allowed(int fd)
{
	uint8_t r[16];
	if (getrandom(r, sizeof(r), 0) < 0)
		return;
	int f = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/status", 0);
	if (f < 0)
		return;
	close(f);
	do_allowed(fd);
}

/* The simulated platforms sign evidence on the vCPU thread: OpenSSL's RNG there
 * needs getpid (fork detection: this child forked, so it reseeds) and getrandom
 * (RAND_poll forces a reseed of the primary DRBG, as hours of running would). */
static EVP_PKEY *sign_key;
static void do_vcpu_sign(int fd)
{
	uint8_t msg[1184] = {1}, sig[128];
	if (RAND_poll() != 1)
		return;
	for (int i = 0; i < 100; i++) { /* more than the 64 nonces once pre-computed per launch */
		size_t sl = sizeof(sig);
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		int ok = md && EVP_DigestSignInit(md, NULL, EVP_sha384(), NULL, sign_key) == 1 &&
			 EVP_DigestSign(md, sig, &sl, msg, sizeof(msg)) == 1;
		EVP_MD_CTX_free(md);
		if (!ok)
			return;
	}
	do_allowed(fd);
}

static void do_open(int fd)
{
	uint8_t ok = 'o';
	if (write(fd, &ok, 1) != 1)
		return;
	syscall(SYS_openat, AT_FDCWD, "/etc/passwd", 0); /* not allowed for a vCPU */
	ok = 'X';
	if (write(fd, &ok, 1) != 1)
		return;
}

static void do_socket(int fd)
{
	(void)fd;
	syscall(SYS_socket, AF_INET, SOCK_STREAM, 0); /* allowed for nobody */
}

static void do_execve(int fd)
{
	(void)fd;
	char *argv[] = {"/bin/true", NULL};
	execve("/bin/true", argv, NULL);
}

static void do_bad_ioctl(int fd)
{
	(void)fd;
	syscall(SYS_ioctl, 0, 0x5401 /* TCGETS */, 0); /* ioctl is allowed only for KVM requests */
}

static void test_vcpu_allowed_run(void **state)
{
	(void)state;
	int b;
	int st = run_filtered(VMM_ROLE_VCPU, do_allowed, &b);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(b, 'k');
}

static void test_vcpu_open_killed(void **state)
{
	(void)state;
	int b;
	int st = run_filtered(VMM_ROLE_VCPU, do_open, &b);
	assert_int_equal(b, 'o'); /* it ran up to the forbidden call */
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSYS);
}

static void test_vcpu_signs_evidence(void **state)
{
	(void)state;
	sign_key = EVP_EC_gen("P-384"); /* made before the filter, as the VCEK is */
	assert_non_null(sign_key);
	int b;
	int st = run_filtered(VMM_ROLE_VCPU, do_vcpu_sign, &b);
	EVP_PKEY_free(sign_key);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(b, 'k'); /* 100 signatures made */
}

static void test_kill_on_forbidden(void **state)
{
	(void)state;
	int b;
	enum vmm_thread_role roles[] = {VMM_ROLE_MAIN, VMM_ROLE_VCPU};
	for (size_t i = 0; i < 2; i++) {
		int st = run_filtered(roles[i], do_socket, &b);
		assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS);
		st = run_filtered(roles[i], do_execve, &b);
		assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS);
		st = run_filtered(roles[i], do_bad_ioctl, &b);
		assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS);
	}
}

/* KVM_RUN on a bad fd: allowed by the kvm vCPU filter (EBADF), a kill under emu's. */
static void do_kvm_run(int fd)
{
	syscall(SYS_ioctl, -1, 0xAE80 /* KVM_RUN */, 0);
	do_allowed(fd);
}

static void test_emu_filters(void **state)
{
	(void)state;
	struct vg_err err = {0};
	int b;
	int st = run_filtered(VMM_ROLE_VCPU, do_kvm_run, &b);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0 && b == 'k'); /* kvm's filter */
	assert_int_equal(vmm_seccomp_use_accel("emu", &err), 0);
	st = run_filtered(VMM_ROLE_VCPU, do_allowed, &b); /* the common list stays */
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0 && b == 'k');
	st = run_filtered(VMM_ROLE_VCPU, do_kvm_run, &b); /* no KVM ioctl under emu */
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS);
	st = run_filtered(VMM_ROLE_VCPU, do_open, &b);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS);
	assert_int_equal(vmm_seccomp_use_accel("tcg", &err), -EINVAL);
	assert_int_equal(vmm_seccomp_use_accel("kvm", &err), 0);
}

static void test_main_allowed_run(void **state)
{
	(void)state;
	int b;
	int st = run_filtered(VMM_ROLE_MAIN, do_main_allowed, &b);
	assert_true(WIFEXITED(st));
	assert_int_equal(b, 'k');
}

static void test_lists(void **state)
{
	(void)state;
	size_t n = 0;
	for (const char *const *s = vmm_seccomp_allowed(VMM_ROLE_VCPU); *s; s++) {
		n++;
		assert_int_not_equal(strcmp(*s, "execve"), 0);
		assert_int_not_equal(strcmp(*s, "openat"), 0);
		assert_int_not_equal(strcmp(*s, "exit_group"), 0);
	}
	assert_true(n > 0 && n < 30);
	for (const char *const *s = vmm_seccomp_allowed(VMM_ROLE_MAIN); *s; s++) {
		assert_int_not_equal(strcmp(*s, "execve"), 0);
		assert_int_not_equal(strcmp(*s, "socket"), 0);
		assert_int_not_equal(strcmp(*s, "connect"), 0);
	}
}

static void test_drop_privileges(void **state)
{
	(void)state;
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct vg_err err = {0};
		if (vmm_drop_privileges(NULL, NULL, &err))
			_exit(10);
		if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
			_exit(11);
		FILE *f = fopen("/proc/self/status", "r");
		char line[256];
		int ok = 0;
		while (f && fgets(line, sizeof(line), f))
			if (strcmp(line, "CapEff:\t0000000000000000\n") == 0)
				ok = 1;
		_exit(ok ? 0 : 12);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	struct vg_err err = {0};
	pid = fork();
	if (pid == 0)
		_exit(vmm_drop_privileges(NULL, "no-such-user-xyz", &err) == -EINVAL ? 0 : 1);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vcpu_allowed_run), cmocka_unit_test(test_vcpu_open_killed),
		cmocka_unit_test(test_vcpu_signs_evidence),
		cmocka_unit_test(test_kill_on_forbidden), cmocka_unit_test(test_main_allowed_run), cmocka_unit_test(test_emu_filters),
		cmocka_unit_test(test_lists),             cmocka_unit_test(test_drop_privileges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
