/* Boot path 1: a firmware image mapped read-only so that it ends at 4 GiB;
 * the vCPU starts at the reset vector 0xFFFFFFF0 (CS base 0xFFFF0000, IP 0xFFF0). */
#include "vmm/internal.h"

#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

int vmm_firmware_check(size_t len, struct vg_err *err)
{
	if (len == 0)
		return vg_err_set(err, EINVAL, "firmware image is empty");
	if (len % 4096)
		return vg_err_set(err, EINVAL, "firmware image is %zu bytes, not a multiple of 4096", len);
	if (len > VMM_FIRMWARE_MAX)
		return vg_err_set(err, EFBIG, "firmware image is %zu bytes, more than the %u allowed", len,
				  VMM_FIRMWARE_MAX);
	return 0;
}

/* The architectural reset state of the boot vCPU (SDM vol. 3, 9.1.4). KVM
 * starts vCPUs there; we set it explicitly so nothing depends on that. */
int vmm_firmware_regs(struct vmm_vcpu *v, struct vg_err *err)
{
	struct kvm_sregs s;
	if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		return vg_err_set(err, errno, "KVM_GET_SREGS: %s", strerror(errno));
	s.cs.selector = 0xF000;
	s.cs.base = 0xFFFF0000;
	s.cs.limit = 0xFFFF;
	struct kvm_segment *segs[] = {&s.ds, &s.es, &s.fs, &s.gs, &s.ss};
	for (size_t i = 0; i < VG_ARRAY_SIZE(segs); i++) {
		segs[i]->selector = 0;
		segs[i]->base = 0;
		segs[i]->limit = 0xFFFF;
	}
	s.cr0 = 0x60000010; /* CD, NW, ET */
	s.cr3 = 0;
	s.cr4 = 0;
	s.efer = 0;
	if (ioctl(v->fd, KVM_SET_SREGS, &s) < 0)
		return vg_err_set(err, errno, "KVM_SET_SREGS: %s", strerror(errno));
	struct kvm_regs r = {.rip = 0xFFF0, .rflags = 2, .rdx = 0x600};
	if (ioctl(v->fd, KVM_SET_REGS, &r) < 0)
		return vg_err_set(err, errno, "KVM_SET_REGS: %s", strerror(errno));
	return 0;
}
