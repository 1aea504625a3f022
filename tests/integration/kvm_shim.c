/*
 * kvm_shim.so (LD_PRELOAD): runs the REAL vigil-vmm binary against the KVM model of
 * tests/unit/kvm_model.c, so that `vigil-vmm --platform snp|tdx --firmware F --kernel K ...`
 * performs its whole launch on a machine without SEV-SNP or TDX, and a plain VM
 * (--platform none) its reboots (tests/integration/test_snp_protocol.sh,
 * test_tdx_protocol.sh; docs/testing.md says what this proves and what it does not).
 *
 * - open/openat of /dev/kvm and /dev/sev return descriptors the shim owns (memfds, so
 *   close, fcntl and poll work); so do the VM, vCPU and guest_memfd descriptors the
 *   model hands out. A vCPU's memfd is KVM_GET_VCPU_MMAP_SIZE long: the VMM's mmap of it
 *   goes to the real mmap and shares the kvm_run page with the shim.
 * - ioctl on those descriptors goes to the model (km_io), every other call to the C
 *   library (dlsym RTLD_NEXT).
 * - KVM_RUN of vCPU 0 runs a scripted guest (a coroutine: each port access is a
 *   KVM_EXIT_IO, each private/shared mismatch a KVM_EXIT_MEMORY_FAULT with -1/EFAULT as
 *   the model decides) that reads fw_cfg as OVMF's QemuFwCfgLib does (signature and
 *   features through 0x510/0x511, the file directory, the direct-boot items, the blobs
 *   by DMA into a window it first makes shared: on SNP 2 MiB with a page-state change,
 *   on a TD 4 MiB with MapGPA of the window's shared alias (two 2 MiB chunks), each a
 *   KVM_HC_MAP_GPA_RANGE exit as the model's KVM forwards it; a plain VM converts
 *   nothing; the device always gets plain GPAs), hashes them as OVMF's
 *   BlobVerifierLibSevHashes does (SHA-256 of setup||kernel, initrd, command line with
 *   its NUL), checks the setup blob's "HdrS", and on SNP finds the SEV hashes table in
 *   the memory the launch measured (the pages SNP_LAUNCH_UPDATE copied, read privately)
 *   and compares (a TD has no table: TDVF measures the blobs into RTMRs, not modelled).
 *   Its verdict goes to the debug-exit port 0x501: 0 when all matched, else the number
 *   of the failed check. Other vCPUs halt.
 * - The log (VIGIL_KVM_SHIM_LOG=FILE, else stderr), written as things happen: every
 *   ioctl the model saw, the SEV commands with their arguments, each LAUNCH_UPDATE (gpa,
 *   pages, type, and the SNP launch digest after it, computed here from the page
 *   contents as the firmware does: SNP ABI, PAGE_INFO), LAUNCH_FINISH's arguments, what
 *   the guest found; at exit the number of calls, the first model violation ("" when
 *   none) and "end".
 * - VIGIL_KVM_SHIM_RULES=word,...: a host or a VMM that breaks a rule, to show that a
 *   run can fail: no-snp (the host offers no SNP VMs), fw-slot-plain (the firmware slot
 *   is bound without its guest_memfd, issue 14 finding 1), no-psc (the guest skips the
 *   page-state change: its shared DMA access faults and the VMM must convert),
 *   corrupt-table (one byte of the launched hashes table flipped), cpuid-reject (the
 *   firmware insists on another CPUID leaf 1 EAX), dma-private (the guest's DMA buffer
 *   is a page it kept private: the device writes the shared backing, the guest reads
 *   its private page), td-cpuid-gpaw (KVM_TDX_INIT_VM gets CPUID 0x80000008 with GPAW 0,
 *   as KVM_GET_SUPPORTED_CPUID reports it), td-cpuid-fixed0 (the TDX module clears a
 *   configurable CPUID bit, leaf 1 ECX SSE3: KVM_TDX_GET_CPUID shows it). And KVM's own events (api.rst
 *   KVM_EXIT_SYSTEM_EVENT) on vCPU 0: reset-event (KVM_SYSTEM_EVENT_RESET at its first
 *   KVM_RUN, once, after moving its RIP away from the reset vector, so the VMM's
 *   register write-back shows in the log), shutdown-event (KVM_SYSTEM_EVENT_SHUTDOWN at
 *   the first KVM_RUN after that).
 *
 * vigil-vmm's seccomp filters apply to this code too: after the constructor it uses
 * only ioctl-free calls the filters allow (write to its log, futex, rt_sigprocmask for
 * the coroutine switch, memory allocation); memfds are made before the sandbox (VM and
 * vCPU creation precede it) and OpenSSL's digests are fetched in the constructor.
 */
#include "tests/unit/kvm_model.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/common.h"
#include "vmm/platform/platform.h" /* vmm_plat_sev_regs_get */

/* The interposed C library functions; everything else, including the model and the
 * vigil code linked in, stays hidden (-fvisibility=hidden). */
#define SHIM_EXPORT __attribute__((visibility("default")))

enum shim_kind { SK_NONE, SK_KVM, SK_SEV, SK_VM, SK_VCPU, SK_GMEM };
static const char *const kind_name[] = { "-", "kvm", "sev", "vm", "vcpu", "gmem" };

#define SHIM_MAX_FD 1024
static struct {
	uint8_t kind, index;
} fds[SHIM_MAX_FD];

static int (*real_openat)(int, const char *, int, ...);
static int (*real_close)(int);
static int (*real_ioctl)(int, unsigned long, ...);

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int log_fd = 2;

enum {
	R_NO_SNP = 1, R_FW_SLOT_PLAIN = 2, R_NO_PSC = 4, R_CORRUPT_TABLE = 8, R_CPUID_REJECT = 16,
	R_RESET_EVENT = 32, R_SHUTDOWN_EVENT = 64, R_DMA_PRIVATE = 128, R_TD_CPUID_GPAW = 256,
	R_TD_CPUID_FIXED0 = 512
};
static unsigned rules;

static struct kvm_run *runs[KM_MAX_VCPUS];
/* A hypercall exit userspace answers at the next KVM_RUN: an SNP page-state change,
 * or a chunk of a TD's MapGPA (the TDVMCALL status the guest gets when it is done). */
static enum { HC_NONE, HC_PSC, HC_MAP_GPA } hypercall_pending[KM_MAX_VCPUS];
static uint64_t map_gpa_status;
/* The reset event (R_RESET_EVENT): sent once; vCPU 0's registers written after it. */
static bool reset_sent;

static void shim_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void shim_log(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	ssize_t w = write(log_fd, line, (size_t)n);
	(void)w;
}

static void hex(const uint8_t *p, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[p[i] >> 4];
		out[2 * i + 1] = d[p[i] & 15];
	}
	out[2 * n] = 0;
}

static void digest(const EVP_MD *md, const void *p, size_t n, uint8_t *out)
{
	unsigned len = 0;
	if (!EVP_Digest(p, n, out, &len, md, NULL))
		memset(out, 0, (size_t)EVP_MD_get_size(md));
}

/* ------------------------------------------------ what SNP_LAUNCH_UPDATE launched */

/* The pages the firmware copied into private memory, as they were at the call (the
 * guest's private view of them), and the launch digest over them. */
struct launched {
	uint64_t gfn;
	uint8_t type;
	uint8_t data[4096];
};
static struct launched *pages;
static size_t npages, cap_pages;
static uint8_t ld[48]; /* the SNP launch digest (GCTX.LD) after the pages so far */
#define SNP_PAGE_TYPE_VMSA 2
#define SNP_VMSA_GPA 0xfffffffff000ull /* where KVM's VMSA pages are measured */
static uint64_t vmsa_features; /* KVM_SEV_INIT2's */
static struct sev_vcpu_reset vmsa_regs[KM_MAX_VCPUS];
static unsigned vmsa_n;

static void launch_page(uint64_t gpa, uint8_t type, const uint8_t *src)
{
	/* SNP ABI (56860) 8.17.2, PAGE_INFO: the digest so far, the SHA-384 of the page for
	 * NORMAL pages (zero for ZERO, UNMEASURED, SECRETS and CPUID), length 0x70, type,
	 * IMI 0, VMPL permissions 0, GPA; the new digest is its SHA-384. */
	uint8_t info[0x70] = { 0 };
	memcpy(info, ld, 48);
	if (type == KVM_SEV_SNP_PAGE_TYPE_NORMAL || type == SNP_PAGE_TYPE_VMSA)
		digest(EVP_sha384(), src, 4096, info + 48);
	info[96] = 0x70;
	info[98] = type;
	for (int i = 0; i < 8; i++)
		info[104 + i] = (uint8_t)(gpa >> (8 * i));
	digest(EVP_sha384(), info, sizeof(info), ld);
	if (npages == cap_pages) {
		size_t ncap = cap_pages ? cap_pages * 2 : 64;
		struct launched *p = realloc(pages, ncap * sizeof(*p));
		if (!p)
			return;
		pages = p;
		cap_pages = ncap;
	}
	struct launched *l = &pages[npages++];
	l->gfn = gpa >> 12;
	l->type = type;
	if (type == KVM_SEV_SNP_PAGE_TYPE_ZERO || !src)
		memset(l->data, 0, 4096);
	else
		memcpy(l->data, src, 4096);
}

static const char *page_type_name(unsigned t)
{
	switch (t) {
	case KVM_SEV_SNP_PAGE_TYPE_NORMAL: return "NORMAL";
	case KVM_SEV_SNP_PAGE_TYPE_ZERO: return "ZERO";
	case KVM_SEV_SNP_PAGE_TYPE_UNMEASURED: return "UNMEASURED";
	case KVM_SEV_SNP_PAGE_TYPE_SECRETS: return "SECRETS";
	case KVM_SEV_SNP_PAGE_TYPE_CPUID: return "CPUID";
	case SNP_PAGE_TYPE_VMSA: return "VMSA";
	}
	return "?";
}

/* ------------------------------------------------------------- descriptors */

static int shim_fd(enum shim_kind kind, unsigned index)
{
	int fd = memfd_create(kind_name[kind], MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fd >= SHIM_MAX_FD) {
		real_close(fd);
		return -EMFILE;
	}
	if (kind == SK_VCPU) {
		void *p = MAP_FAILED;
		if (ftruncate(fd, KM_RUN_SIZE) == 0)
			p = mmap(NULL, KM_RUN_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED) {
			int e = errno;
			real_close(fd);
			return -e;
		}
		runs[index] = p;
	}
	fds[fd].kind = (uint8_t)kind;
	fds[fd].index = (uint8_t)index;
	return fd;
}

static enum shim_kind dev_kind(const char *path)
{
	if (!path)
		return SK_NONE;
	if (!strcmp(path, "/dev/kvm"))
		return SK_KVM;
	if (!strcmp(path, "/dev/sev"))
		return SK_SEV;
	return SK_NONE;
}

static int open_dev(enum shim_kind k)
{
	pthread_mutex_lock(&lock);
	int fd = shim_fd(k, 0);
	pthread_mutex_unlock(&lock);
	shim_log("open /dev/%s -> fd %d", kind_name[k], fd);
	if (fd < 0) {
		errno = -fd;
		return -1;
	}
	return fd;
}

/* open and openat (and their 64 aliases): the devices are the shim's, the rest the
 * C library's openat. The mode argument exists only with O_CREAT or O_TMPFILE. */
static int shim_openat(int dirfd, const char *path, int flags, va_list ap)
{
	mode_t mode = flags & (O_CREAT | O_TMPFILE) ? va_arg(ap, mode_t) : 0;
	enum shim_kind k = dev_kind(path);
	return k ? open_dev(k) : real_openat(dirfd, path, flags, mode);
}

SHIM_EXPORT int open(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	int fd = shim_openat(AT_FDCWD, path, flags, ap);
	va_end(ap);
	return fd;
}

SHIM_EXPORT int open64(const char *path, int flags, ...) __attribute__((alias("open")));

SHIM_EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	int fd = shim_openat(dirfd, path, flags, ap);
	va_end(ap);
	return fd;
}

SHIM_EXPORT int openat64(int dirfd, const char *path, int flags, ...) __attribute__((alias("openat")));

SHIM_EXPORT int close(int fd)
{
	if (fd >= 0 && fd < SHIM_MAX_FD && fds[fd].kind) {
		pthread_mutex_lock(&lock);
		fds[fd].kind = SK_NONE;
		pthread_mutex_unlock(&lock);
	}
	return real_close(fd);
}

static int model_fd(int fd)
{
	switch (fds[fd].kind) {
	case SK_KVM: return KM_KVM_FD;
	case SK_SEV: return KM_SEV_FD;
	case SK_VM: return KM_VM_FD;
	case SK_VCPU: return KM_VCPU_FD;
	case SK_GMEM: return KM_GMEM_FD0 + fds[fd].index;
	}
	return -1;
}

/* ------------------------------------------------------------- the ioctls */

static const char *req_name(unsigned long req)
{
	static const struct {
		unsigned long req;
		const char *name;
	} names[] = {
#define N(x) { x, #x }
		N(KVM_GET_API_VERSION), N(KVM_CHECK_EXTENSION), N(KVM_GET_DEVICE_ATTR), N(KVM_CREATE_VM),
		N(KVM_GET_VCPU_MMAP_SIZE), N(KVM_GET_SUPPORTED_CPUID), N(KVM_SET_IDENTITY_MAP_ADDR),
		N(KVM_SET_TSS_ADDR), N(KVM_CREATE_GUEST_MEMFD), N(KVM_SET_USER_MEMORY_REGION2),
		N(KVM_SET_USER_MEMORY_REGION), N(KVM_SET_MEMORY_ATTRIBUTES), N(KVM_CREATE_IRQCHIP),
		N(KVM_CREATE_PIT2), N(KVM_ENABLE_CAP), N(KVM_IRQ_LINE), N(KVM_CREATE_VCPU), N(KVM_SET_CPUID2),
		N(KVM_GET_REGS), N(KVM_SET_REGS), N(KVM_GET_SREGS), N(KVM_SET_SREGS), N(KVM_GET_MSRS),
		N(KVM_SET_MSRS), N(KVM_GET_FPU), N(KVM_SET_FPU), N(KVM_GET_XSAVE), N(KVM_GET_XCRS),
		N(KVM_SET_XCRS), N(KVM_GET_DEBUGREGS), N(KVM_SET_DEBUGREGS), N(KVM_MEMORY_ENCRYPT_OP),
		N(KVM_RUN), N(KVM_GET_IRQCHIP), N(KVM_SET_IRQCHIP), N(KVM_GET_PIT2), N(KVM_SET_PIT2),
		N(KVM_GET_LAPIC), N(KVM_SET_LAPIC), N(KVM_GET_MP_STATE), N(KVM_SET_MP_STATE),
		N(KVM_GET_VCPU_EVENTS), N(KVM_SET_VCPU_EVENTS), N(KVM_SET_XSAVE),
#undef N
	};
	for (size_t i = 0; i < VG_ARRAY_SIZE(names); i++)
		if (names[i].req == req)
			return names[i].name;
	return NULL;
}

static void log_call(int fd, unsigned long req, int rc)
{
	const char *n = req_name(req);
	if (n)
		shim_log("call %s %s rc=%d", kind_name[fds[fd].kind], n, rc);
	else
		shim_log("call %s 0x%lx rc=%d", kind_name[fds[fd].kind], req, rc);
}

/* An SEV command: sev_fd translated to the model's /dev/sev; LAUNCH_UPDATE's pages
 * recorded as the firmware takes them. */
static int sev_cmd(struct kvm_sev_cmd *cmd)
{
	struct kvm_sev_cmd c = *cmd;
	if (c.sev_fd < SHIM_MAX_FD && fds[c.sev_fd].kind == SK_SEV)
		c.sev_fd = KM_SEV_FD;
	else
		c.sev_fd = 0xdead; /* not /dev/sev: the model refuses where the kernel does */
	struct kvm_sev_snp_launch_update *u = (void *)(uintptr_t)c.data;
	uint64_t gfn0 = 0, uaddr0 = 0;
	if (c.id == KVM_SEV_SNP_LAUNCH_UPDATE) {
		gfn0 = u->gfn_start;
		uaddr0 = u->uaddr;
	}
	int rc = km_io.fn(km_io.ctx, KM_VM_FD, KVM_MEMORY_ENCRYPT_OP, &c);
	cmd->error = c.error;
	switch (c.id) {
	case KVM_SEV_INIT2: {
		const struct kvm_sev_init *i = (void *)(uintptr_t)c.data;
		shim_log("sev INIT2 vmsa_features=0x%llx ghcb_version=%u rc=%d", (unsigned long long)i->vmsa_features,
			 i->ghcb_version, rc);
		if (!rc)
			vmsa_features = i->vmsa_features;
		break;
	}
	case KVM_SEV_SNP_LAUNCH_START: {
		const struct kvm_sev_snp_launch_start *s = (void *)(uintptr_t)c.data;
		shim_log("sev LAUNCH_START policy=0x%llx sev_fd=%s rc=%d", (unsigned long long)s->policy,
			 c.sev_fd == KM_SEV_FD ? "/dev/sev" : "other", rc);
		break;
	}
	case KVM_SEV_SNP_LAUNCH_UPDATE: {
		uint64_t done = u->gfn_start - gfn0;
		if (rc == 0 || rc == -EAGAIN) {
			for (uint64_t i = 0; i < done; i++)
				launch_page((gfn0 + i) << 12, u->type,
					    (const uint8_t *)(uintptr_t)(uaddr0 + (u->type == KVM_SEV_SNP_PAGE_TYPE_ZERO ? 0 : i << 12)));
		}
		char h[97], ph[97] = "-";
		hex(ld, 48, h);
		if (done == 1 && u->type == KVM_SEV_SNP_PAGE_TYPE_NORMAL) { /* a single measured page: its SHA-384 */
			uint8_t d[48];
			digest(EVP_sha384(), pages[npages - 1].data, 4096, d);
			hex(d, 48, ph);
		}
		shim_log("sev LAUNCH_UPDATE gpa=0x%llx pages=%llu type=%s rc=%d ld=%s page_sha384=%s",
			 (unsigned long long)(gfn0 << 12), (unsigned long long)done, page_type_name(u->type), rc, h, ph);
		break;
	}
	case KVM_SEV_SNP_LAUNCH_FINISH: {
		const struct kvm_sev_snp_launch_finish *f = (void *)(uintptr_t)c.data;
		char h[65], h2[97];
		hex(f->host_data, 32, h);
		shim_log("sev LAUNCH_FINISH id_block=%s id_auth=%s auth_key_en=%u vcpus=%u host_data=%s rc=%d",
			 f->id_block_en ? "yes" : "no", f->id_auth_uaddr ? "yes" : "no", f->auth_key_en, km.vcpus_created,
			 h, rc);
		/* svm/sev.c snp_launch_update_vmsa: one VMSA per vCPU, from its registers
		 * (sev_es_sync_vmsa), SEV features = INIT2's plus SNPActive, at the fixed GPA. */
		for (unsigned i = 0; !rc && i < vmsa_n; i++) {
			uint8_t page[SEV_VMSA_SIZE];
			char x[97];
			sev_vmsa_build(&vmsa_regs[i], vmsa_features | 1, page);
			launch_page(SNP_VMSA_GPA, SNP_PAGE_TYPE_VMSA, page);
			hex(ld, 48, x);
			shim_log("sev VMSA vcpu=%u rip=0x%llx cs_base=0x%llx rdx=0x%llx ld=%s", i,
				 (unsigned long long)vmsa_regs[i].rip, (unsigned long long)vmsa_regs[i].cs.base,
				 (unsigned long long)vmsa_regs[i].rdx, x);
		}
		hex(ld, 48, h2);
		if (!rc)
			shim_log("snp launch digest=%s", vmsa_n == km.vcpus_created ? h2 : "unknown (a VMSA missing)");
		break;
	}
	default:
		shim_log("sev cmd %u rc=%d", c.id, rc);
	}
	return rc;
}

/* The TD's MRTD as the TDX module builds it (TDX module ABI: TDH.MEM.PAGE.ADD extends
 * a 128-byte block "MEM.PAGE.ADD" || GPA; TDH.MR.EXTEND a block "MR.EXTEND" || GPA, then
 * the 256 bytes of the chunk), in the order upstream KVM issues them for
 * KVM_TDX_INIT_MEM_REGION (vmx/tdx.c tdx_gmem_post_populate: PAGE.ADD, then with
 * KVM_TDX_MEASURE_MEMORY_REGION MR.EXTEND of the page's 16 chunks). */
static EVP_MD_CTX *mrtd;

static void mrtd_block(const char *what, uint64_t gpa, const uint8_t *chunk)
{
	uint8_t b[128] = { 0 };
	memcpy(b, what, strlen(what));
	for (int i = 0; i < 8; i++)
		b[16 + i] = (uint8_t)(gpa >> (8 * i));
	EVP_DigestUpdate(mrtd, b, sizeof(b));
	if (chunk)
		EVP_DigestUpdate(mrtd, chunk, 256);
}

static int tdx_cmd(int mfd, struct kvm_tdx_cmd *cmd)
{
	static const char *const names[] = { "CAPABILITIES", "INIT_VM", "INIT_VCPU", "INIT_MEM_REGION", "FINALIZE_VM",
					     "GET_CPUID" };
	const char *name = cmd->id < VG_ARRAY_SIZE(names) ? names[cmd->id] : "?";
	struct kvm_tdx_init_mem_region *r = (void *)(uintptr_t)cmd->data;
	uint64_t gpa0 = 0, src0 = 0;
	if (cmd->id == KVM_TDX_INIT_MEM_REGION) {
		gpa0 = r->gpa;
		src0 = r->source_addr;
	}
	if (cmd->id == KVM_TDX_INIT_VM && (rules & R_TD_CPUID_GPAW)) {
		/* A VMM that passes KVM_GET_SUPPORTED_CPUID's leaf 0x80000008 through (GPAW
		 * 0, issue 14 finding 10 before its fix). */
		struct kvm_tdx_init_vm *iv = (void *)(uintptr_t)cmd->data;
		for (unsigned i = 0; i < iv->cpuid.nent; i++)
			if (iv->cpuid.entries[i].function == 0x80000008)
				iv->cpuid.entries[i].eax &= 0xff00ffffu;
	}
	int rc = km_io.fn(km_io.ctx, mfd, KVM_MEMORY_ENCRYPT_OP, cmd);
	if (cmd->id == KVM_TDX_INIT_VM && !rc && !mrtd && (mrtd = EVP_MD_CTX_new()))
		EVP_DigestInit_ex(mrtd, EVP_sha384(), NULL); /* TDH.MNG.INIT */
	if (cmd->id == KVM_TDX_INIT_MEM_REGION) {
		uint64_t done = (r->gpa - gpa0) >> 12;
		bool measure = cmd->flags & KVM_TDX_MEASURE_MEMORY_REGION;
		for (uint64_t i = 0; mrtd && i < done; i++) {
			uint64_t gpa = gpa0 + (i << 12);
			const uint8_t *src = (const uint8_t *)(uintptr_t)(src0 + (i << 12));
			mrtd_block("MEM.PAGE.ADD", gpa, NULL);
			for (unsigned c = 0; measure && c < 16; c++)
				mrtd_block("MR.EXTEND", gpa + c * 256, src + c * 256);
		}
		shim_log("tdx INIT_MEM_REGION gpa=0x%llx pages=%llu measure=%d rc=%d", (unsigned long long)gpa0,
			 (unsigned long long)done, measure, rc);
	} else if (cmd->id == KVM_TDX_FINALIZE_VM && !rc && mrtd) {
		uint8_t m[48];
		char h[97];
		unsigned len = 0;
		EVP_DigestFinal_ex(mrtd, m, &len);
		hex(m, 48, h);
		shim_log("tdx FINALIZE_VM rc=0 mrtd=%s", h);
	} else {
		shim_log("tdx %s rc=%d hw_error=0x%llx", name, rc, (unsigned long long)cmd->hw_error);
	}
	return rc;
}

static int vcpu_run(unsigned index);

/* Before SNP_LAUNCH_FINISH: each vCPU's registers as KVM holds them, read through
 * the model with the VMM's own read-back (what sim-snp builds its VMSAs from), in
 * KVM's view (the FPU state KVM owns). Outside the lock: it issues ioctls. */
static void vmsa_regs_read(void)
{
	vmsa_n = 0;
	for (unsigned i = 0; i < km.vcpus_created && i < KM_MAX_VCPUS; i++) {
		for (int fd = 0; fd < SHIM_MAX_FD; fd++) {
			if (fds[fd].kind != SK_VCPU || fds[fd].index != i)
				continue;
			struct vg_err err = { 0 };
			km.kvm_view = true;
			int rc = vmm_plat_sev_regs_get(fd, &vmsa_regs[i], &err);
			km.kvm_view = false;
			if (rc)
				shim_log("VMSA of vCPU %u: %s", i, err.msg);
			else
				vmsa_n = i + 1;
			break;
		}
	}
}

static int shim_ioctl(int fd, unsigned long req, void *arg)
{
	enum shim_kind kind = fds[fd].kind;
	if (kind == SK_VCPU && req == KVM_RUN)
		return vcpu_run(fds[fd].index);
	if (kind == SK_VM && req == KVM_MEMORY_ENCRYPT_OP && !km.tdx_mode &&
	    ((struct kvm_sev_cmd *)arg)->id == KVM_SEV_SNP_LAUNCH_FINISH)
		vmsa_regs_read();
	pthread_mutex_lock(&lock);
	km.vcpu = kind == SK_VCPU ? fds[fd].index : 0;
	int mfd = model_fd(fd), rc;
	if (req == KVM_MEMORY_ENCRYPT_OP && kind == SK_VM && !km.tdx_mode) {
		rc = sev_cmd(arg);
	} else if (req == KVM_MEMORY_ENCRYPT_OP && km.tdx_mode && (kind == SK_VM || kind == SK_VCPU)) {
		rc = tdx_cmd(mfd, arg);
	} else if (req == KVM_SET_USER_MEMORY_REGION2) {
		struct kvm_userspace_memory_region2 r = *(struct kvm_userspace_memory_region2 *)arg;
		if (r.flags & KVM_MEM_GUEST_MEMFD) {
			unsigned g = r.guest_memfd;
			r.guest_memfd = g < SHIM_MAX_FD && fds[g].kind == SK_GMEM ? (uint32_t)(KM_GMEM_FD0 + fds[g].index)
										  : 0xdead;
			if ((rules & R_FW_SLOT_PLAIN) && r.slot == 2) /* the firmware's slot (vmm/accel/kvm.c) */
				r.flags &= ~(uint32_t)KVM_MEM_GUEST_MEMFD;
		}
		rc = km_io.fn(km_io.ctx, mfd, req, &r);
		shim_log("slot %u gpa=0x%llx size=0x%llx %s rc=%d", r.slot, (unsigned long long)r.guest_phys_addr,
			 (unsigned long long)r.memory_size, r.flags & KVM_MEM_GUEST_MEMFD ? "guest_memfd" : "plain", rc);
	} else {
		rc = km_io.fn(km_io.ctx, mfd, req, arg);
	}
	if (req == KVM_SET_MEMORY_ATTRIBUTES && km.vcpus[0].ran) /* conversions at run time */
		shim_log("attributes 0x%llx+0x%llx %s rc=%d", (unsigned long long)((const struct kvm_memory_attributes *)arg)->address,
			 (unsigned long long)((const struct kvm_memory_attributes *)arg)->size,
			 ((const struct kvm_memory_attributes *)arg)->attributes & KVM_MEMORY_ATTRIBUTE_PRIVATE ? "private" : "shared", rc);
	if (reset_sent && kind == SK_VCPU && req == KVM_SET_REGS)
		shim_log("vcpu %u KVM_SET_REGS after the reset event: rip=0x%llx rc=%d", fds[fd].index,
			 (unsigned long long)((const struct kvm_regs *)arg)->rip, rc);
	if (reset_sent && kind == SK_VCPU && req == KVM_SET_SREGS)
		shim_log("vcpu %u KVM_SET_SREGS after the reset event: cs.selector=0x%x cs.base=0x%llx cr0=0x%llx rc=%d",
			 fds[fd].index, ((const struct kvm_sregs *)arg)->cs.selector,
			 (unsigned long long)((const struct kvm_sregs *)arg)->cs.base,
			 (unsigned long long)((const struct kvm_sregs *)arg)->cr0, rc);
	/* Descriptors the model hands out become real ones. */
	if (rc >= 0 && (req == KVM_CREATE_VM || req == KVM_CREATE_VCPU || req == KVM_CREATE_GUEST_MEMFD)) {
		enum shim_kind k = req == KVM_CREATE_VM ? SK_VM : req == KVM_CREATE_VCPU ? SK_VCPU : SK_GMEM;
		unsigned idx = req == KVM_CREATE_VCPU ? km.vcpus_created - 1 : req == KVM_CREATE_GUEST_MEMFD ? (unsigned)(rc - KM_GMEM_FD0) : 0;
		rc = shim_fd(k, idx);
	}
	log_call(fd, req, rc);
	pthread_mutex_unlock(&lock);
	return rc;
}

SHIM_EXPORT int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	va_start(ap, req);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	if (fd < 0 || fd >= SHIM_MAX_FD || !fds[fd].kind)
		return real_ioctl(fd, req, arg);
	int rc = shim_ioctl(fd, req, arg);
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	return rc;
}

/* ------------------------------------------------------ the scripted guest */

#define FW_CFG_SEL 0x510
#define FW_CFG_DATA 0x511
#define FW_CFG_DMA 0x514
#define DEBUG_EXIT 0x501
#define DMA_WINDOW 0x1000000ull /* 16 MiB: a 2 MiB window, descriptor then buffer */
#define DMA_BUF (DMA_WINDOW + 4096)
#define DMA_CHUNK ((2u << 20) - 4096)
#define PRIVATE_BUF (DMA_WINDOW + (8ull << 20)) /* R_DMA_PRIVATE: a buffer never made shared */
#define IO_DATA_OFFSET 4096 /* the PIO data page after kvm_run */

static ucontext_t host_ctx, guest_ctx;
static uint8_t guest_stack[256 * 1024] __attribute__((aligned(16)));
static enum { G_NEW, G_RUNNING, G_DONE } guest_state;
static int guest_rc;          /* what the current KVM_RUN returns */
static unsigned memory_faults; /* KVM_EXIT_MEMORY_FAULT exits the guest caused */

static struct kvm_run *grun(void) { return runs[0]; }

/* The guest leaves to KVM (an exit): KVM_RUN returns rc. */
static void guest_exit(int rc)
{
	guest_rc = rc;
	swapcontext(&guest_ctx, &host_ctx);
}

static uint32_t pio(uint16_t port, bool out, unsigned size, uint32_t v)
{
	struct kvm_run *r = grun();
	r->exit_reason = KVM_EXIT_IO;
	r->io.direction = out ? KVM_EXIT_IO_OUT : KVM_EXIT_IO_IN;
	r->io.size = (uint8_t)size;
	r->io.port = port;
	r->io.count = 1;
	r->io.data_offset = IO_DATA_OFFSET;
	uint8_t *d = (uint8_t *)r + IO_DATA_OFFSET;
	memset(d, 0, 4);
	if (out)
		memcpy(d, &v, size);
	guest_exit(0);
	v = 0;
	if (!out)
		memcpy(&v, (uint8_t *)grun() + IO_DATA_OFFSET, size);
	return v;
}

/* The host mapping of guest memory [gpa, gpa+len), from the memslot's userspace
 * address (the shared view), or NULL. */
static uint8_t *shared_view(uint64_t gpa, uint64_t len)
{
	const struct km_slot *s = km_slot_of(gpa);
	if (!s || !s->uaddr || gpa + len < gpa || gpa + len > s->gpa + s->size)
		return NULL;
	return (uint8_t *)(uintptr_t)(s->uaddr + (gpa - s->gpa));
}

/* The guest touches [gpa, gpa+len) privately or shared: each page whose attribute
 * differs is a KVM_EXIT_MEMORY_FAULT (KVM_RUN -1/EFAULT, the model's rule); the
 * guest retries after userspace converted it. false when it never matches. */
static bool guest_touch(uint64_t gpa, uint64_t len, bool private_)
{
	for (uint64_t a = gpa & ~0xfffull; a < gpa + len; a += 4096) {
		for (int tries = 0;; tries++) {
			pthread_mutex_lock(&lock);
			int rc = km_guest_access(a, private_, grun());
			pthread_mutex_unlock(&lock);
			if (!rc)
				break;
			if (tries == 2)
				return false;
			memory_faults++;
			guest_exit(rc);
		}
	}
	return true;
}

/* A page-state change of the 2 MiB at gpa (what OVMF's MemEncryptSevLib asks of the
 * GHCB and KVM forwards as KVM_HC_MAP_GPA_RANGE): the hypercall's result. */
static uint64_t guest_psc_2m(uint64_t gpa, bool private_)
{
	km_psc_exit(grun(), gpa, true, private_);
	hypercall_pending[0] = HC_PSC;
	guest_exit(0);
	return grun()->hypercall.ret;
}

/* A TD's TDG.VP.VMCALL<MapGPA> of [gpa, gpa+size) (the shared bit in gpa: to shared),
 * as TDVF's IoMmuDxe / MemEncryptTdxLib issue it: KVM exits once per 2 MiB chunk
 * (the model's rule); the TDVMCALL status. */
static uint64_t guest_map_gpa(uint64_t gpa, uint64_t size)
{
	pthread_mutex_lock(&lock);
	uint64_t st = km_tdx_map_gpa(grun(), gpa, size);
	pthread_mutex_unlock(&lock);
	if (st != KM_TDVMCALL_EXIT)
		return st;
	hypercall_pending[0] = HC_MAP_GPA;
	guest_exit(0); /* back when the last chunk is answered (vcpu_run) */
	return map_gpa_status;
}

static void fw_select(uint16_t key) { pio(FW_CFG_SEL, true, 2, key); }

static void fw_read(void *dst, uint32_t n)
{
	uint8_t *p = dst;
	for (uint32_t i = 0; i < n; i++)
		p[i] = (uint8_t)pio(FW_CFG_DATA, false, 1, 0);
}

static uint32_t fw_u32(uint16_t key)
{
	uint8_t b[4];
	fw_select(key);
	fw_read(b, 4);
	return vg_le32(b);
}

/* A DMA read (fw_cfg.rst: descriptor {be32 control, be32 length, be64 address},
 * its address written to 0x514 as two big-endian halves) of len bytes of the item,
 * selecting key first when select; the data, or NULL. */
static const uint8_t *fw_dma(uint16_t key, bool select, uint32_t len)
{
	/* R_DMA_PRIVATE: the buffer is a page the guest kept private (it made only the
	 * descriptor's window shared) and reads privately, as its own memory. */
	bool priv = rules & R_DMA_PRIVATE;
	uint64_t bgpa = priv ? PRIVATE_BUF : DMA_BUF;
	uint8_t *desc = shared_view(DMA_WINDOW, 16), *buf = shared_view(bgpa, len);
	if (!desc || !buf || !guest_touch(DMA_WINDOW, 16, false))
		return NULL;
	vg_put_be32(desc, (select ? (uint32_t)key << 16 | 0x08 : 0) | 0x02);
	vg_put_be32(desc + 4, len);
	vg_put_be32(desc + 8, (uint32_t)(bgpa >> 32));
	vg_put_be32(desc + 12, (uint32_t)bgpa);
	pio(FW_CFG_DMA, true, 4, __builtin_bswap32((uint32_t)(DMA_WINDOW >> 32)));
	pio(FW_CFG_DMA + 4, true, 4, __builtin_bswap32((uint32_t)DMA_WINDOW));
	if (!guest_touch(DMA_WINDOW, 16, false) || vg_be32(desc) != 0)
		return NULL;
	if (!guest_touch(bgpa, len, priv))
		return NULL;
	if (!priv)
		return buf;
	/* The device wrote the memslot's userspace mapping (the shared backing); the
	 * guest's private pages are its guest_memfd pages, which that write never
	 * reaches. Never written privately, they read as zeros (a TD's pages are
	 * zeroed when added or accepted). No error bit: neither KVM nor the device can
	 * tell; the data simply does not arrive. */
	static uint8_t private_view[DMA_CHUNK];
	static bool said;
	if (!said) {
		said = true;
		shim_log("guest DMA buffer 0x%llx is private: the device wrote its shared backing (%s at 0x202), "
			 "the guest reads its private page (zeros)", (unsigned long long)bgpa,
			 len >= 0x206 && !memcmp(buf + 0x202, "HdrS", 4) ? "HdrS" : "no HdrS");
	}
	memset(private_view, 0, len);
	return private_view;
}

/* Reads item key (size bytes) into the running SHA-256, by DMA in chunks or through
 * the data port; the number of bytes read, or -1. */
static uint8_t setup_head[0x206]; /* the first bytes of the setup item, as read */

static int64_t fw_hash_item(uint16_t key, uint32_t size, bool dma, EVP_MD_CTX *h)
{
	if (!dma) {
		fw_select(key);
		for (uint32_t i = 0; i < size; i++) {
			uint8_t b = (uint8_t)pio(FW_CFG_DATA, false, 1, 0);
			EVP_DigestUpdate(h, &b, 1);
			if (key == 0x18 && i < sizeof(setup_head))
				setup_head[i] = b;
		}
		return size;
	}
	uint32_t off = 0;
	do {
		uint32_t n = VG_MIN(size - off, DMA_CHUNK);
		const uint8_t *p = fw_dma(key, off == 0, n);
		if (!p)
			return -1;
		if (key == 0x18 && off == 0)
			memcpy(setup_head, p, VG_MIN(n, (uint32_t)sizeof(setup_head)));
		EVP_DigestUpdate(h, p, n);
		off += n;
	} while (off < size);
	return off;
}

static int fail(int n, const char *what)
{
	shim_log("guest FAIL %d %s", n, what);
	return n;
}

/* The SEV hashes table (QEMU target/i386/sev.c, OVMF BlobVerifierLibSevHashes): a
 * GUIDed header, then {GUID, u16 length 50, SHA-256} per blob. */
static const uint8_t table_guid[16] = { 0x06, 0xd6, 0x38, 0x94, 0x22, 0x4f, 0xc9, 0x4c,
					0xb4, 0x79, 0xa7, 0x93, 0xd4, 0x11, 0xfd, 0x21 };
static const uint8_t cmdline_guid[16] = { 0xd8, 0x2d, 0xd0, 0x97, 0x20, 0xbd, 0x94, 0x4c,
					  0xaa, 0x78, 0xe7, 0x71, 0x4d, 0x36, 0xab, 0x2a };
static const uint8_t initrd_guid[16] = { 0x31, 0xf7, 0xba, 0x44, 0x2f, 0x3a, 0xd7, 0x4b,
					 0x9a, 0xf1, 0x41, 0xe2, 0x91, 0x69, 0x78, 0x1d };
static const uint8_t kernel_guid[16] = { 0x37, 0x94, 0xe7, 0x4d, 0xd2, 0xab, 0x7f, 0x42,
					 0xb8, 0x35, 0xd5, 0xb1, 0x72, 0xd2, 0x04, 0x5b };

static const uint8_t *table_entry(const uint8_t *t, unsigned len, const uint8_t guid[16])
{
	for (unsigned off = 18; off + 50 <= len; off += 50)
		if (!memcmp(t + off, guid, 16) && vg_le16(t + off + 16) == 50)
			return t + off + 18;
	return NULL;
}

static int check_hashes(const uint8_t kernel[32], const uint8_t initrd[32], const uint8_t cmdline[32])
{
	/* The table in the memory the launch measured, read privately as OVMF reads it. */
	for (size_t i = 0; i < npages; i++) {
		struct launched *p = &pages[i];
		for (unsigned off = 0; off + 18 <= 4096; off += 16) {
			if (memcmp(p->data + off, table_guid, 16))
				continue;
			uint64_t gpa = (p->gfn << 12) + off;
			unsigned len = vg_le16(p->data + off + 16);
			char tb[2 * 176 + 1];
			hex(p->data + off, VG_MIN(176u, 4096 - off), tb);
			shim_log("guest hashes table at gpa=0x%llx len=%u page_type=%s bytes=%s", (unsigned long long)gpa, len,
				 page_type_name(p->type), tb);
			if (!guest_touch(gpa, 18, true))
				return fail(11, "the hashes table page is not private");
			if (p->type != KVM_SEV_SNP_PAGE_TYPE_NORMAL)
				return fail(7, "the hashes table was not launched as a measured NORMAL page");
			if (len < 18 || off + len > 4096)
				return fail(7, "hashes table length");
			if (rules & R_CORRUPT_TABLE)
				p->data[off + len - 1 - 14] ^= 1; /* in the kernel entry's hash */
			const uint8_t *k = table_entry(p->data + off, len, kernel_guid);
			const uint8_t *r = table_entry(p->data + off, len, initrd_guid);
			const uint8_t *c = table_entry(p->data + off, len, cmdline_guid);
			if (!k || memcmp(k, kernel, 32))
				return fail(8, "kernel hash differs from the table's");
			if (!r || memcmp(r, initrd, 32))
				return fail(9, "initrd hash differs from the table's");
			if (!c || memcmp(c, cmdline, 32))
				return fail(10, "command line hash differs from the table's");
			shim_log("guest hashes table matches kernel, initrd and command line");
			return 0;
		}
	}
	return fail(6, "no SEV hashes table in the launched memory");
}

static int finish_hash(EVP_MD_CTX *h, uint8_t out[32], const char *what, int64_t n)
{
	char x[65];
	unsigned len = 0;
	EVP_DigestFinal_ex(h, out, &len);
	hex(out, 32, x);
	shim_log("guest %s size=%lld sha256=%s", what, (long long)n, x);
	return 0;
}

static int guest_program(void)
{
	char sig[5] = { 0 };
	fw_select(0x0000);
	fw_read(sig, 4);
	shim_log("guest fw_cfg signature \"%s\"", sig);
	if (memcmp(sig, "QEMU", 4))
		return fail(1, "fw_cfg signature");
	uint32_t features = fw_u32(0x0001);
	shim_log("guest fw_cfg features 0x%x", features);
	if (!(features & 1))
		return fail(2, "no traditional fw_cfg interface");
	bool dma = features & 2;
	/* The file directory: be32 count, {be32 size, be16 select, u16, name[56]}. */
	fw_select(0x0019);
	uint8_t b[64];
	fw_read(b, 4);
	uint32_t count = vg_be32(b);
	if (count > 256)
		return fail(3, "fw_cfg file directory too long");
	for (uint32_t i = 0; i < count; i++) {
		fw_read(b, 64);
		b[63] = 0;
		shim_log("guest fw_cfg file %s size=%u select=0x%x", (const char *)b + 8, vg_be32(b), vg_be16(b + 4));
	}
	/* The DMA buffers must be shared (the VMM cannot write private memory): OVMF's
	 * bounce buffer is made shared first, on SNP with a page-state change, on a TD
	 * with MapGPA of its shared alias (TDVF IoMmuDxe: 4 MiB here, two chunks). A
	 * plain VM has nothing to convert. */
	if (dma && !(rules & R_NO_PSC) && km.tdx_mode) {
		uint64_t st = guest_map_gpa(DMA_WINDOW | KM_TDX_SHARED_BIT, 4ull << 20);
		shim_log("guest MapGPA 0x%llx+4M shared: status=0x%llx", (unsigned long long)(DMA_WINDOW | KM_TDX_SHARED_BIT),
			 (unsigned long long)st);
		if (st)
			return fail(5, "MapGPA refused");
	} else if (dma && !(rules & R_NO_PSC) && km.vm_type != KVM_X86_DEFAULT_VM) {
		uint64_t ret = guest_psc_2m(DMA_WINDOW, false);
		shim_log("guest page-state change 0x%llx+2M shared: ret=%llu", (unsigned long long)DMA_WINDOW,
			 (unsigned long long)ret);
		if (ret)
			return fail(5, "page-state change refused");
	}
	uint32_t setup = fw_u32(0x17), kernel = fw_u32(0x08), initrd = fw_u32(0x0b), cmdline = fw_u32(0x14);
	if (!cmdline) { /* with a kernel the command line has at least its NUL */
		shim_log("guest no direct boot: nothing to verify");
		return 0;
	}
	uint8_t hk[32], hi[32], hc[32];
	EVP_MD_CTX *h = EVP_MD_CTX_new();
	if (!h)
		return fail(12, "out of memory");
	int64_t n1, n2;
	int rc = 0;
	EVP_DigestInit_ex(h, EVP_sha256(), NULL);
	if ((n1 = fw_hash_item(0x18, setup, dma, h)) < 0 || (n2 = fw_hash_item(0x11, kernel, dma, h)) < 0)
		rc = fail(4, "DMA of the kernel failed");
	if (!rc) {
		finish_hash(h, hk, "kernel", n1 + n2);
		EVP_DigestInit_ex(h, EVP_sha256(), NULL);
		if ((n1 = fw_hash_item(0x12, initrd, dma, h)) < 0)
			rc = fail(4, "DMA of the initrd failed");
	}
	if (!rc) {
		finish_hash(h, hi, "initrd", n1);
		EVP_DigestInit_ex(h, EVP_sha256(), NULL);
		n1 = fw_hash_item(0x15, cmdline, false, h); /* the command line through the data port */
		finish_hash(h, hc, "cmdline", n1);
	}
	EVP_MD_CTX_free(h);
	if (rc)
		return rc;
	shim_log("guest memory_faults=%u", memory_faults);
	/* What the firmware's Linux loader checks first (OVMF X86QemuLoadImageLib: the
	 * boot protocol's "HdrS" at 0x202 of the setup blob). */
	if (setup >= sizeof(setup_head) && memcmp(setup_head + 0x202, "HdrS", 4))
		return fail(13, "the setup blob as read has no HdrS: the kernel did not arrive");
	if (km.tdx_mode) { /* TDVF measures the blobs into RTMR1/RTMR2; no table to check */
		shim_log("guest TD: blobs read, no hashes table (TDVF measures them into RTMRs)");
		return 0;
	}
	return check_hashes(hk, hi, hc);
}

static void guest_main(void)
{
	int verdict = guest_program();
	shim_log("guest verdict=%d", verdict);
	pio(DEBUG_EXIT, true, 1, (uint32_t)verdict);
	guest_state = G_DONE;
	for (;;) { /* halted for good */
		grun()->exit_reason = KVM_EXIT_HLT;
		guest_exit(0);
	}
}

static int vcpu_run(unsigned index)
{
	struct kvm_run *run = runs[index < KM_MAX_VCPUS ? index : 0];
	pthread_mutex_lock(&lock);
	km.vcpu = index;
	int rc = km_io.fn(km_io.ctx, KM_VCPU_FD, KVM_RUN, NULL); /* the model's launch-state rule */
	if (!rc && run && run->immediate_exit)
		rc = -EINTR; /* api.rst: KVM_RUN returns at once with EINTR */
	bool more = false; /* a TD's MapGPA: the next chunk's exit, without entering the guest */
	if (!rc && hypercall_pending[index] == HC_MAP_GPA) {
		map_gpa_status = km_tdx_map_gpa_complete(run, &rc);
		more = !rc && map_gpa_status == KM_TDVMCALL_EXIT;
		if (!more)
			hypercall_pending[index] = HC_NONE;
	} else if (!rc && hypercall_pending[index]) {
		hypercall_pending[index] = HC_NONE;
		rc = km_complete_hypercall(run);
	}
	pthread_mutex_unlock(&lock);
	if (rc || !run)
		return rc ? rc : -EINVAL;
	if (more)
		return 0;
	if (index != 0) { /* APs: halted (the script runs on the boot vCPU) */
		run->exit_reason = KVM_EXIT_HLT;
		return 0;
	}
	/* KVM's own system events (api.rst KVM_EXIT_SYSTEM_EVENT): R_RESET_EVENT once,
	 * at the first run, after the "guest" moved away from the reset state (so a
	 * write-back shows); R_SHUTDOWN_EVENT at the first run after that. */
	if (guest_state == G_NEW && (rules & (R_RESET_EVENT | R_SHUTDOWN_EVENT))) {
		bool reset = (rules & R_RESET_EVENT) && !reset_sent;
		if (reset || (rules & R_SHUTDOWN_EVENT)) {
			pthread_mutex_lock(&lock);
			struct km_vcpu *v = &km.vcpus[0];
			shim_log("vcpu 0 at the system event: rip=0x%llx cs.base=0x%llx", (unsigned long long)v->regs.rip,
				 (unsigned long long)v->sregs.cs.base);
			if (reset) {
				v->regs.rip = 0x1234;
				v->sregs.cs.base = 0;
				v->sregs.cs.selector = 0x10;
				reset_sent = true;
			}
			pthread_mutex_unlock(&lock);
			memset(&run->system_event, 0, sizeof(run->system_event));
			run->exit_reason = KVM_EXIT_SYSTEM_EVENT;
			run->system_event.type = reset ? KVM_SYSTEM_EVENT_RESET : KVM_SYSTEM_EVENT_SHUTDOWN;
			shim_log("guest system event %s", reset ? "RESET" : "SHUTDOWN");
			return 0;
		}
	}
	if (guest_state == G_NEW) {
		getcontext(&guest_ctx);
		guest_ctx.uc_stack.ss_sp = guest_stack;
		guest_ctx.uc_stack.ss_size = sizeof(guest_stack);
		guest_ctx.uc_link = NULL;
		makecontext(&guest_ctx, guest_main, 0);
		guest_state = G_RUNNING;
		if (reset_sent)
			shim_log("vcpu 0 runs the guest again from rip=0x%llx cs.base=0x%llx", (unsigned long long)km.vcpus[0].regs.rip,
				 (unsigned long long)km.vcpus[0].sregs.cs.base);
	}
	swapcontext(&host_ctx, &guest_ctx);
	return guest_rc;
}

/* ------------------------------------------------------------ set-up, exit */

static void parse_rules(const char *s)
{
	static const struct {
		const char *name;
		unsigned bit;
	} known[] = { { "no-snp", R_NO_SNP }, { "fw-slot-plain", R_FW_SLOT_PLAIN }, { "no-psc", R_NO_PSC },
		      { "corrupt-table", R_CORRUPT_TABLE }, { "cpuid-reject", R_CPUID_REJECT },
		      { "reset-event", R_RESET_EVENT }, { "shutdown-event", R_SHUTDOWN_EVENT },
		      { "dma-private", R_DMA_PRIVATE }, { "td-cpuid-gpaw", R_TD_CPUID_GPAW },
		      { "td-cpuid-fixed0", R_TD_CPUID_FIXED0 } };
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", s);
	for (char *save = NULL, *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		size_t i;
		for (i = 0; i < VG_ARRAY_SIZE(known) && strcmp(known[i].name, w); i++)
			;
		if (i == VG_ARRAY_SIZE(known)) {
			fprintf(stderr, "kvm_shim: VIGIL_KVM_SHIM_RULES: unknown rule \"%s\"\n", w);
			_exit(2);
		}
		rules |= known[i].bit;
	}
}

__attribute__((constructor)) static void shim_init(void)
{
	real_openat = (int (*)(int, const char *, int, ...))dlsym(RTLD_NEXT, "openat");
	real_close = (int (*)(int))dlsym(RTLD_NEXT, "close");
	real_ioctl = (int (*)(int, unsigned long, ...))dlsym(RTLD_NEXT, "ioctl");
	if (!real_openat || !real_close || !real_ioctl) {
		fprintf(stderr, "kvm_shim: cannot find the C library's openat/close/ioctl\n");
		_exit(2);
	}
	const char *r = getenv("VIGIL_KVM_SHIM_RULES");
	if (r)
		parse_rules(r);
	km_reset_bare();
	if (rules & R_NO_SNP)
		km.vm_types &= ~(1 << KVM_X86_SNP_VM);
	if (rules & R_TD_CPUID_FIXED0) /* a TDX module that clears SSE3, though configurable */
		km.tdx_fixed0_leaf1_ecx = 0x1;
	if (rules & R_CPUID_REJECT) {
		km.fw_cpuid[0] = (struct km_fw_cpuid_rule){ .leaf = 1, .subleaf = 0, .reg = 0, .value = 0x00a00f11 };
		km.n_fw_cpuid = 1;
	}
	const char *path = getenv("VIGIL_KVM_SHIM_LOG");
	if (path && *path) {
		log_fd = real_openat(AT_FDCWD, path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (log_fd < 0) {
			fprintf(stderr, "kvm_shim: %s: %s\n", path, strerror(errno));
			_exit(2);
		}
	}
	/* OpenSSL fetches its digests now, before any seccomp filter. */
	uint8_t d[48];
	digest(EVP_sha256(), "", 0, d);
	digest(EVP_sha384(), "", 0, d);
	shim_log("shim start rules=0x%x", rules);
}

__attribute__((destructor)) static void shim_fini(void)
{
	pthread_mutex_lock(&lock);
	shim_log("calls=%u", km.n);
	shim_log("violation=%s", km.violation);
	shim_log("end");
	pthread_mutex_unlock(&lock);
}
