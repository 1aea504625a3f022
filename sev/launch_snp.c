/*
 * SEV-SNP launch on the upstream KVM UAPI (Linux 6.11+). Every call goes through
 * the vg_kvm_io seam; see sev.h section 3 for the order and
 * Documentation/virt/kvm/x86/amd-memory-encryption.rst for the protocol.
 */
#include <string.h>

#include "common/linux_kvm_cc.h"
#include "sev/sev.h"

enum { ST_NEW = 0, ST_PROBED, ST_INIT, ST_STARTED, ST_FINISHED };

/* Bits KVM 6.11 accepts in SNP_LAUNCH_START's policy (SNP_POLICY_MASK_VALID). */
#define SNP_POLICY_KVM_VALID                                                                       \
	(0xffffull | SEV_SNP_POLICY_SMT | SEV_SNP_POLICY_RESERVED1 | SEV_SNP_POLICY_MIGRATE_MA |   \
	 SEV_SNP_POLICY_DEBUG | SEV_SNP_POLICY_SINGLE_SOCKET)

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
	if (!(policy & SEV_SNP_POLICY_RESERVED1))
		return vg_err_set(err, EINVAL, "SNP policy 0x%llx: bit 17 (reserved, must be one) is clear",
				  (unsigned long long)policy);
	if (policy & SEV_SNP_POLICY_SINGLE_SOCKET)
		return vg_err_set(err, ENOTSUP,
				  "SNP policy 0x%llx: SINGLE_SOCKET (bit 20) is refused by upstream KVM",
				  (unsigned long long)policy);
	if (policy & ~SNP_POLICY_KVM_VALID)
		return vg_err_set(err, ENOTSUP, "SNP policy 0x%llx: bits 0x%llx are not accepted by KVM 6.11",
				  (unsigned long long)policy,
				  (unsigned long long)(policy & ~SNP_POLICY_KVM_VALID));
	if (!(policy & SEV_SNP_POLICY_SMT))
		return vg_err_set(err, ENOTSUP,
				  "SNP policy 0x%llx: SMT (bit 16) must be allowed; KVM 6.11 refuses policies without it",
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
		return vg_err_set(err, -rc, "SNP_LAUNCH_START (policy 0x%llx) failed: %s (firmware error 0x%x)",
				  (unsigned long long)l->policy, strerror(-rc), l->fw_error);
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
			if (type == SEV_SNP_PAGE_CPUID && l->fw_error)
				return vg_err_set(err, -rc,
						  "SNP_LAUNCH_UPDATE: the firmware rejected the CPUID page at 0x%llx "
						  "(firmware error 0x%x); it wrote the values it accepts back",
						  (unsigned long long)(up.gfn_start << 12), l->fw_error);
			return vg_err_set(err, -rc,
					  "SNP_LAUNCH_UPDATE (%s) at 0x%llx, 0x%llx bytes left, failed: %s "
					  "(firmware error 0x%x)",
					  sev_snp_page_type_name(type), (unsigned long long)(up.gfn_start << 12),
					  (unsigned long long)up.len, strerror(-rc), l->fw_error);
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

int sev_cc_conversion_exit(const struct vg_kvm_io *io, int vm_fd, uint64_t ram_end, struct kvm_run *run,
			struct vg_err *err)
{
	if (run->exit_reason == KVM_EXIT_HYPERCALL) {
		if (run->hypercall.nr != KVM_HC_MAP_GPA_RANGE)
			return 0;
		uint64_t gpa = run->hypercall.args[0], npages = run->hypercall.args[1];
		uint64_t attrs = run->hypercall.args[2];
		/* Only 4 KiB granularity is announced to the guest (attrs bits 3:0 = 0). */
		if ((attrs & 0xf) != KVM_MAP_GPA_RANGE_PAGE_SZ_4K || npages > (ram_end >> 12)) {
			run->hypercall.ret = (uint64_t)-EINVAL;
			return 1;
		}
		int rc = convert(io, vm_fd, ram_end, gpa, npages << 12, attrs & KVM_MAP_GPA_RANGE_ENCRYPTED, err);
		/* A bad request is the guest's error: it gets -EINVAL and runs on. */
		run->hypercall.ret = rc == -EINVAL ? (uint64_t)-EINVAL : 0;
		return rc == -EINVAL ? 1 : (rc < 0 ? rc : 1);
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
