/* Capability probe shared by the SNP and TDX backends (common/linux_kvm_cc.h). */
#include "common/common.h"
#include "common/linux_kvm_cc.h"

#include <string.h>

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

int vg_kvm_gmem_create(const struct vg_kvm_io *io, int vm_fd, uint64_t size, struct vg_err *err)
{
	struct kvm_create_guest_memfd g = { .size = size };
	int fd = vg_kvm_ioctl(io, vm_fd, KVM_CREATE_GUEST_MEMFD, &g);
	if (fd < 0)
		return vg_err_set(err, -fd, "KVM_CREATE_GUEST_MEMFD (%llu bytes): %s", (unsigned long long)size,
				  strerror(-fd));
	return fd;
}

int vg_kvm_private_slot(const struct vg_kvm_io *io, int vm_fd, uint32_t slot, uint64_t gpa, uint64_t size,
			void *host, int gmem_fd, uint64_t gmem_off, struct vg_err *err)
{
	struct kvm_userspace_memory_region2 m = {
		.slot = slot,
		.flags = KVM_MEM_GUEST_MEMFD,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)host,
		.guest_memfd_offset = gmem_off,
		.guest_memfd = (uint32_t)gmem_fd,
	};
	int rc = vg_kvm_ioctl(io, vm_fd, KVM_SET_USER_MEMORY_REGION2, &m);
	if (rc < 0)
		return vg_err_set(err, -rc, "KVM_SET_USER_MEMORY_REGION2 slot %u (0x%llx+0x%llx): %s", slot,
				  (unsigned long long)gpa, (unsigned long long)size, strerror(-rc));
	rc = vg_kvm_set_private(io, vm_fd, gpa, size, 1);
	if (rc < 0)
		return vg_err_set(err, -rc, "KVM_SET_MEMORY_ATTRIBUTES(private) slot %u (0x%llx+0x%llx): %s", slot,
				  (unsigned long long)gpa, (unsigned long long)size, strerror(-rc));
	return 0;
}
