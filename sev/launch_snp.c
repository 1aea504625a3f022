/*
 * SEV-SNP launch on the upstream KVM UAPI (Linux 6.11+). Every call goes through
 * the vg_kvm_io seam; see sev.h section 3 for the order and
 * Documentation/virt/kvm/x86/amd-memory-encryption.rst for the protocol.
 */
#include <stdio.h>
#include <string.h>

#include "common/linux_kvm_cc.h"
#include "sev/sev.h"

enum { ST_NEW = 0, ST_PROBED, ST_INIT, ST_STARTED, ST_FINISHED };

/* arch/x86/kvm/svm/sev.c SNP_POLICY_MASK_VALID (KVM_SNP_POLICY_MASK_VALID since the
 * policy bits moved to include/linux/psp-sev.h): ABI minor and major, SMT, the
 * must-be-one bit, DEBUG, SINGLE_SOCKET. MIGRATE_MA (bit 18) was never valid. */
#define SNP_POLICY_KVM_VALID                                                                       \
	(0xffffull | SEV_SNP_POLICY_SMT | SEV_SNP_POLICY_RESERVED1 | SEV_SNP_POLICY_DEBUG |        \
	 SEV_SNP_POLICY_SINGLE_SOCKET)

/* include/uapi/linux/psp-sev.h SEV_RET_INVALID_PARAM: what SNP_LAUNCH_UPDATE reports
 * when the firmware rejects a CPUID page (svm/sev.c sev_gmem_post_populate then copies
 * the firmware's corrected page back to uaddr). */
#define SEV_RET_INVALID_PARAM 0x16u

/* Upper bound on LAUNCH_UPDATE calls that make no progress (-EAGAIN storms). */
#define SNP_MAX_STALLS 10000u

void sev_snp_launch_init(struct sev_snp_launch *l, const struct vg_kvm_io *io)
{
	memset(l, 0, sizeof(*l));
	l->io = io;
	l->kvm_fd = l->vm_fd = l->sev_fd = -1;
	l->policy = SEV_SNP_POLICY_VIGIL_DEFAULT;
	l->guest_features = SEV_FEATURE_SNP_ACTIVE;
}

int sev_snp_policy_check(uint64_t policy, struct vg_err *err)
{
	/* Same order as snp_launch_start: unknown bits, the must-be-one bit, SINGLE_SOCKET. */
	if (policy & ~SNP_POLICY_KVM_VALID)
		return vg_err_set(err, EINVAL,
				  "SNP policy 0x%llx: bits 0x%llx are outside KVM's SNP_POLICY_MASK_VALID%s",
				  (unsigned long long)policy, (unsigned long long)(policy & ~SNP_POLICY_KVM_VALID),
				  policy & SEV_SNP_POLICY_MIGRATE_MA ? " (MIGRATE_MA, bit 18, is not supported by KVM)"
								     : "");
	if (!(policy & SEV_SNP_POLICY_RESERVED1))
		return vg_err_set(err, EINVAL, "SNP policy 0x%llx: bit 17 (reserved, must be one) is clear",
				  (unsigned long long)policy);
	if (policy & SEV_SNP_POLICY_SINGLE_SOCKET)
		return vg_err_set(err, EINVAL,
				  "SNP policy 0x%llx: SINGLE_SOCKET (bit 20) is refused by upstream KVM",
				  (unsigned long long)policy);
	return 0;
}

static int sev_cmd(struct sev_snp_launch *l, uint32_t id, void *data)
{
	struct kvm_sev_cmd cmd = {
		.id = id,
		.data = (uint64_t)(uintptr_t)data,
		.sev_fd = (uint32_t)l->sev_fd,
	};
	int rc = vg_kvm_ioctl(l->io, l->vm_fd, KVM_MEMORY_ENCRYPT_OP, &cmd);
	l->fw_error = rc < 0 ? cmd.error : 0;
	return rc < 0 ? rc : 0;
}

int sev_snp_probe(struct sev_snp_launch *l, struct vg_err *err)
{
	int types = vg_kvm_ioctl(l->io, l->kvm_fd, KVM_CHECK_EXTENSION, (void *)(uintptr_t)KVM_CAP_VM_TYPES);
	if (types < 0)
		types = 0;
	if (!(types & (1 << KVM_X86_SNP_VM)))
		return vg_err_set(err, ENOTSUP,
				  "host KVM offers no SEV-SNP VMs: KVM_CAP_VM_TYPES mask is 0x%x, bit %d "
				  "(KVM_X86_SNP_VM) missing; needs Linux 6.11+ on an SNP-enabled AMD EPYC "
				  "with kvm_amd sev_snp=1",
				  types, KVM_X86_SNP_VM);
	int rc = vg_kvm_probe_private_memory(l->io, l->kvm_fd, err);
	if (rc)
		return rc;
	int hc = vg_kvm_ioctl(l->io, l->kvm_fd, KVM_CHECK_EXTENSION, (void *)(uintptr_t)KVM_CAP_EXIT_HYPERCALL);
	if (hc < 0 || !(hc & (1 << KVM_HC_MAP_GPA_RANGE)))
		return vg_err_set(err, ENOTSUP,
				  "host KVM cannot forward KVM_HC_MAP_GPA_RANGE (KVM_CAP_EXIT_HYPERCALL mask 0x%x)",
				  hc < 0 ? 0 : hc);
	uint64_t supported = 0;
	struct kvm_device_attr attr = {
		.group = KVM_X86_GRP_SEV,
		.attr = KVM_X86_SEV_VMSA_FEATURES,
		.addr = (uint64_t)(uintptr_t)&supported,
	};
	rc = vg_kvm_ioctl(l->io, l->kvm_fd, KVM_GET_DEVICE_ATTR, &attr);
	if (rc < 0)
		return vg_err_set(err, -rc, "cannot read KVM_X86_SEV_VMSA_FEATURES from /dev/kvm: %s",
				  strerror(-rc));
	uint64_t want = l->guest_features & ~SEV_FEATURE_SNP_ACTIVE;
	if (want & ~supported)
		return vg_err_set(err, ENOTSUP,
				  "guest features 0x%llx: bits 0x%llx not supported by this host (KVM offers 0x%llx)",
				  (unsigned long long)l->guest_features,
				  (unsigned long long)(want & ~supported), (unsigned long long)supported);
	l->state = ST_PROBED;
	return 0;
}

int sev_snp_init(struct sev_snp_launch *l, struct vg_err *err)
{
	if (l->vm_fd < 0 || l->sev_fd < 0)
		return vg_err_set(err, EINVAL, "SNP init: VM or /dev/sev descriptor missing");
	int rc = sev_snp_policy_check(l->policy, err);
	if (rc)
		return rc;
	struct kvm_sev_init init = { .vmsa_features = l->guest_features & ~SEV_FEATURE_SNP_ACTIVE };
	rc = sev_cmd(l, KVM_SEV_INIT2, &init);
	if (rc < 0)
		return vg_err_set(err, -rc, "KVM_SEV_INIT2 (vmsa_features 0x%llx) failed: %s (firmware error 0x%x)",
				  (unsigned long long)init.vmsa_features, strerror(-rc), l->fw_error);
	struct kvm_enable_cap cap = { .cap = KVM_CAP_EXIT_HYPERCALL };
	cap.args[0] = 1ull << KVM_HC_MAP_GPA_RANGE;
	rc = vg_kvm_ioctl(l->io, l->vm_fd, KVM_ENABLE_CAP, &cap);
	if (rc < 0)
		return vg_err_set(err, -rc, "KVM_ENABLE_CAP(KVM_CAP_EXIT_HYPERCALL) failed: %s", strerror(-rc));
	l->state = ST_INIT;
	return 0;
}

int sev_snp_launch_start(struct sev_snp_launch *l, struct vg_err *err)
{
	if (l->state != ST_INIT)
		return vg_err_set(err, EINVAL, "SNP_LAUNCH_START before KVM_SEV_INIT2");
	struct kvm_sev_snp_launch_start start = { .policy = l->policy };
	int rc = sev_cmd(l, KVM_SEV_SNP_LAUNCH_START, &start);
	if (rc < 0)
		return vg_err_set(err, -rc, "SNP_LAUNCH_START (policy 0x%llx) failed: %s (firmware error 0x%x)%s",
				  (unsigned long long)l->policy, strerror(-rc), l->fw_error,
				  rc == -EINVAL && !(l->policy & SEV_SNP_POLICY_SMT)
					  ? "; Linux 6.11-6.1x refuse SNP policies without SMT (bit 16)"
					  : "");
	l->state = ST_STARTED;
	return 0;
}

int sev_snp_launch_update(struct sev_snp_launch *l, uint64_t gpa, const void *hva, uint64_t len,
			  enum sev_snp_page_type type, struct vg_err *err)
{
	if (l->state != ST_STARTED)
		return vg_err_set(err, EINVAL, "SNP_LAUNCH_UPDATE outside SNP_LAUNCH_START..FINISH");
	if ((gpa | len | (uint64_t)(uintptr_t)hva) & 0xfff || !len || gpa + len < gpa)
		return vg_err_set(err, EINVAL, "SNP_LAUNCH_UPDATE: range 0x%llx+0x%llx not page aligned",
				  (unsigned long long)gpa, (unsigned long long)len);
	if (type == SEV_SNP_PAGE_VMSA || type < SEV_SNP_PAGE_NORMAL || type > SEV_SNP_PAGE_CPUID)
		return vg_err_set(err, EINVAL, "SNP_LAUNCH_UPDATE: page type %d not accepted (VMSAs are added by "
				  "SNP_LAUNCH_FINISH)", (int)type);
	/* KVM requires the range to be private before it is populated. */
	int rc = vg_kvm_set_private(l->io, l->vm_fd, gpa, len, 1);
	if (rc < 0)
		return vg_err_set(err, -rc, "KVM_SET_MEMORY_ATTRIBUTES(private) 0x%llx+0x%llx failed: %s",
				  (unsigned long long)gpa, (unsigned long long)len, strerror(-rc));

	/* A CPUID page the firmware rejects comes back corrected: keep ours to compare. */
	static _Thread_local uint8_t cpuid_ours[4096];
	if (type == SEV_SNP_PAGE_CPUID) {
		if (len != 4096)
			return vg_err_set(err, EINVAL, "SNP_LAUNCH_UPDATE: a CPUID section is one page, not 0x%llx bytes",
					  (unsigned long long)len);
		memcpy(cpuid_ours, hva, sizeof(cpuid_ours));
	}
	struct kvm_sev_snp_launch_update up = {
		.gfn_start = gpa >> 12,
		.uaddr = (uint64_t)(uintptr_t)hva,
		.len = len,
		.type = (uint8_t)type,
	};
	/* Documented contract: re-issue with the fields as KVM left them until len is 0;
	 * -EAGAIN (interrupted) is not a failure, whatever progress it made. */
	unsigned stalls = 0;
	while (up.len) {
		uint64_t before = up.len;
		rc = sev_cmd(l, KVM_SEV_SNP_LAUNCH_UPDATE, &up);
		l->ioctl_calls++;
		if (rc < 0 && rc != -EAGAIN) {
			if (type == SEV_SNP_PAGE_CPUID && l->fw_error == SEV_RET_INVALID_PARAM) {
				/* As QEMU does: name what the firmware corrected, then fail. */
				struct vg_err why = { 0 };
				int d = sev_snp_cpuid_page_diff(cpuid_ours, hva, &why);
				return vg_err_set(err, EIO,
						  "SNP_LAUNCH_UPDATE: the firmware rejected the CPUID page at 0x%llx "
						  "(firmware error 0x%x): %s",
						  (unsigned long long)(up.gfn_start << 12), l->fw_error,
						  d ? why.msg : "no differing entry written back");
			}
			return vg_err_set(err, -rc,
					  "SNP_LAUNCH_UPDATE (%s) at 0x%llx, 0x%llx bytes left, failed: %s "
					  "(firmware error 0x%x)%s",
					  sev_snp_page_type_name(type), (unsigned long long)(up.gfn_start << 12),
					  (unsigned long long)up.len, strerror(-rc), l->fw_error,
					  rc == -EINVAL ? "; KVM needs the range in a guest_memfd memslot, private" : "");
		}
		if (up.len > before || (up.len & 0xfff))
			return vg_err_set(err, EIO, "SNP_LAUNCH_UPDATE: KVM reported an inconsistent remaining length");
		if (up.len == before && ++stalls > SNP_MAX_STALLS)
			return vg_err_set(err, EIO, "SNP_LAUNCH_UPDATE made no progress after %u calls", stalls);
		if (up.len < before) {
			l->pages_updated += (before - up.len) >> 12;
			stalls = 0;
		}
	}
	if ((up.gfn_start << 12) != gpa + len)
		return vg_err_set(err, EIO,
				  "SNP_LAUNCH_UPDATE: expected GPA range 0x%llx-0x%llx, KVM stopped at 0x%llx",
				  (unsigned long long)gpa, (unsigned long long)(gpa + len),
				  (unsigned long long)(up.gfn_start << 12));
	return 0;
}

int sev_snp_launch_finish(struct sev_snp_launch *l, const uint8_t host_data[32],
			  const uint8_t *id_block, const uint8_t *id_auth, bool auth_key_en,
			  struct vg_err *err)
{
	if (l->state != ST_STARTED)
		return vg_err_set(err, EINVAL, "SNP_LAUNCH_FINISH before SNP_LAUNCH_START");
	if (!id_block != !id_auth)
		return vg_err_set(err, EINVAL, "SNP_LAUNCH_FINISH: an ID block needs its ID authentication and vice versa");
	if (auth_key_en && !id_block)
		return vg_err_set(err, EINVAL, "SNP_LAUNCH_FINISH: an author key needs an ID block");
	struct kvm_sev_snp_launch_finish fin = {
		.id_block_uaddr = (uint64_t)(uintptr_t)id_block,
		.id_auth_uaddr = (uint64_t)(uintptr_t)id_auth,
		.id_block_en = id_block ? 1 : 0,
		.auth_key_en = auth_key_en ? 1 : 0,
	};
	if (host_data)
		memcpy(fin.host_data, host_data, sizeof(fin.host_data));
	int rc = sev_cmd(l, KVM_SEV_SNP_LAUNCH_FINISH, &fin);
	if (rc < 0)
		return vg_err_set(err, -rc, "SNP_LAUNCH_FINISH failed: %s (firmware error 0x%x)%s", strerror(-rc),
				  l->fw_error, id_block ? "; check the ID block's measurement and policy" : "");
	l->state = ST_FINISHED;
	return 0;
}

/* ---------------------------------------------- private/shared conversion */

static int convert(const struct vg_kvm_io *io, int vm_fd, uint64_t ram_end, uint64_t gpa, uint64_t size,
		   bool private_, struct vg_err *err)
{
	if (!size || (gpa | size) & 0xfff || gpa + size < gpa || gpa + size > ram_end)
		return vg_err_set(err, EINVAL, "guest asked to convert an invalid range 0x%llx+0x%llx",
				  (unsigned long long)gpa, (unsigned long long)size);
	int rc = vg_kvm_set_private(io, vm_fd, gpa, size, private_);
	if (rc < 0)
		return vg_err_set(err, -rc, "KVM_SET_MEMORY_ATTRIBUTES(%s) 0x%llx+0x%llx failed: %s",
				  private_ ? "private" : "shared", (unsigned long long)gpa,
				  (unsigned long long)size, strerror(-rc));
	return 0;
}

/* The page-size hint of KVM_HC_MAP_GPA_RANGE (attrs bits 3:0,
 * Documentation/virt/kvm/x86/hypercalls.rst): the range must be aligned to it. KVM's
 * SNP page-state-change path (svm/sev.c snp_begin_psc) forwards 2 MiB entries as
 * 512 pages with KVM_MAP_GPA_RANGE_PAGE_SZ_2M; Linux guests use them when aligned. */
static uint64_t hint_bytes(uint64_t attrs)
{
	switch (attrs & 0xf) {
	case KVM_MAP_GPA_RANGE_PAGE_SZ_4K: return 1ull << 12;
	case KVM_MAP_GPA_RANGE_PAGE_SZ_2M: return 1ull << 21;
	case KVM_MAP_GPA_RANGE_PAGE_SZ_1G: return 1ull << 30;
	}
	return 0;
}

int sev_cc_conversion_exit(const struct vg_kvm_io *io, int vm_fd, uint64_t ram_end, struct kvm_run *run,
			struct vg_err *err)
{
	if (run->exit_reason == KVM_EXIT_HYPERCALL) {
		if (run->hypercall.nr != KVM_HC_MAP_GPA_RANGE)
			return 0;
		uint64_t gpa = run->hypercall.args[0], npages = run->hypercall.args[1];
		uint64_t attrs = run->hypercall.args[2];
		uint64_t align = hint_bytes(attrs);
		/* A bad request is the guest's error: it gets EINVAL and runs on. */
		if (!align || (attrs & ~(0xfull | KVM_MAP_GPA_RANGE_ENCRYPTED)) || npages > (ram_end >> 12) ||
		    ((gpa | (npages << 12)) & (align - 1))) {
			run->hypercall.ret = VG_KVM_HC_RET_EINVAL;
			return 1;
		}
		int rc = convert(io, vm_fd, ram_end, gpa, npages << 12, attrs & KVM_MAP_GPA_RANGE_ENCRYPTED, err);
		if (rc == -EINVAL) {
			run->hypercall.ret = VG_KVM_HC_RET_EINVAL;
			return 1;
		}
		if (rc == -EAGAIN) { /* KVM_SET_MEMORY_ATTRIBUTES interrupted: the guest retries */
			run->hypercall.ret = VG_KVM_HC_RET_EAGAIN;
			return 1;
		}
		if (rc < 0)
			return rc;
		run->hypercall.ret = VG_KVM_HC_RET_OK;
		return 1;
	}
	if (run->exit_reason == KVM_EXIT_MEMORY_FAULT) {
		const struct kvm_cc_exit_memory_fault *mf = kvm_cc_run_exit(run);
		uint64_t start = mf->gpa & ~0xfffull;
		uint64_t end = (mf->gpa + mf->size + 0xfff) & ~0xfffull;
		if (end <= start)
			return vg_err_set(err, EINVAL, "memory fault exit with an empty range at 0x%llx",
					  (unsigned long long)mf->gpa);
		int rc = convert(io, vm_fd, ram_end, start, end - start, mf->flags & KVM_MEMORY_EXIT_FLAG_PRIVATE, err);
		return rc < 0 ? rc : 1;
	}
	return 0;
}

/* ------------------------------------------------------------- CPUID page */

int sev_snp_cpuid_page_fill(const struct kvm_cpuid_entry2 *e, unsigned n, uint8_t page[4096], struct vg_err *err)
{
	_Static_assert(sizeof(struct sev_snp_cpuid_page) == 4096, "one page");
	struct sev_snp_cpuid_page t;
	memset(&t, 0, sizeof(t));
	unsigned k = 0;
	for (unsigned i = 0; i < n; i++) {
		/* All-zero leaves are left out: a guest reads a leaf inside the valid ranges
		 * that the table lacks as zeros (Linux arch/x86/coco/sev snp_cpuid: "some
		 * hypervisors don't include zero'd out leaves"). */
		if (!(e[i].eax | e[i].ebx | e[i].ecx | e[i].edx))
			continue;
		if (k == SEV_SNP_CPUID_MAX)
			return vg_err_set(err, E2BIG, "SNP CPUID page: more than %d non-zero CPUID entries",
					  SEV_SNP_CPUID_MAX);
		struct sev_snp_cpuid_fn *f = &t.fn[k++];
		f->eax_in = e[i].function;
		if (e[i].flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX)
			f->ecx_in = e[i].index;
		f->eax = e[i].eax;
		f->ebx = e[i].ebx;
		f->ecx = e[i].ecx;
		f->edx = e[i].edx;
		/* The guest computes the XSAVE size of its XCR0 from the 0xD subleaves:
		 * subleaves 0 and 1 carry only the base size for XCR0 = 1 (x87). */
		if (f->eax_in == 0xd && (f->ecx_in == 0 || f->ecx_in == 1)) {
			f->ebx = 0x240;
			f->xcr0_in = 1;
			f->xss_in = 0;
		}
	}
	t.count = k;
	memcpy(page, &t, sizeof(t));
	return 0;
}

int sev_snp_cpuid_page_diff(const uint8_t ours[4096], const uint8_t theirs[4096], struct vg_err *err)
{
	struct sev_snp_cpuid_page a, b;
	memcpy(&a, ours, sizeof(a));
	memcpy(&b, theirs, sizeof(b));
	char msg[sizeof(err->msg)];
	size_t off = 0;
	unsigned diffs = 0;
	msg[0] = 0;
	if (a.count != b.count) {
		off += (size_t)snprintf(msg + off, sizeof(msg) - off, "count: ours %u firmware %u; ", a.count, b.count);
		diffs++;
	}
	unsigned n = VG_MIN(a.count, (uint32_t)SEV_SNP_CPUID_MAX);
	static const char *const reg[] = { "EAX", "EBX", "ECX", "EDX" };
	for (unsigned i = 0; i < n; i++) {
		const uint32_t ra[4] = { a.fn[i].eax, a.fn[i].ebx, a.fn[i].ecx, a.fn[i].edx };
		const uint32_t rb[4] = { b.fn[i].eax, b.fn[i].ebx, b.fn[i].ecx, b.fn[i].edx };
		for (int k = 0; k < 4; k++) {
			if (ra[k] == rb[k])
				continue;
			diffs++;
			if (off < sizeof(msg))
				off += (size_t)snprintf(msg + off, sizeof(msg) - off,
							"leaf 0x%x subleaf 0x%x %s: ours 0x%08x firmware 0x%08x; ",
							a.fn[i].eax_in, a.fn[i].ecx_in, reg[k], ra[k], rb[k]);
		}
	}
	if (!diffs)
		return 0;
	if (off >= sizeof(msg))
		off = sizeof(msg) - 1;
	while (off && (msg[off - 1] == ' ' || msg[off - 1] == ';'))
		msg[--off] = 0;
	return vg_err_set(err, EIO, "%u CPUID value(s) corrected by the firmware: %s", diffs, msg);
}
