/* Capability probe shared by the SNP and TDX backends (common/linux_kvm_cc.h). */
#include "common/common.h"
#include "common/linux_kvm_cc.h"

static int check_ext(const struct vg_kvm_io *io, int kvm_fd, unsigned long cap)
{
	return vg_kvm_ioctl(io, kvm_fd, KVM_CHECK_EXTENSION, (void *)(uintptr_t)cap);
}

int vg_kvm_probe_private_memory(const struct vg_kvm_io *io, int kvm_fd, struct vg_err *err)
{
	if (check_ext(io, kvm_fd, KVM_CAP_GUEST_MEMFD) <= 0)
		return vg_err_set(err, ENOTSUP, "host KVM lacks KVM_CAP_GUEST_MEMFD (private memory)");
	if (check_ext(io, kvm_fd, KVM_CAP_USER_MEMORY2) <= 0)
		return vg_err_set(err, ENOTSUP, "host KVM lacks KVM_CAP_USER_MEMORY2 (KVM_SET_USER_MEMORY_REGION2)");
	int attrs = check_ext(io, kvm_fd, KVM_CAP_MEMORY_ATTRIBUTES);
	if (attrs < 0 || !((unsigned)attrs & KVM_MEMORY_ATTRIBUTE_PRIVATE))
		return vg_err_set(err, ENOTSUP, "host KVM cannot mark memory private (KVM_CAP_MEMORY_ATTRIBUTES 0x%x)",
				  attrs < 0 ? 0 : attrs);
	return 0;
}
