/* /dev/kvm: API version and capabilities checked up front, the VM, its
 * in-kernel irqchip and PIT. */
#include "vmm/internal.h"

#include <fcntl.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define KVM_IDENTITY_MAP_ADDR 0xFEFFC000ull /* one page, below the TSS (as QEMU) */
#define KVM_TSS_ADDR 0xFEFFD000ull          /* three pages */
#define VMM_IOAPIC_PINS 24                  /* routes reserved for a split irqchip's IOAPIC */

struct kvm_cap_need {
	int cap;
	const char *name;
	const char *why;
};

static const struct kvm_cap_need caps_needed[] = {
	{KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP", "in-kernel interrupt controllers"},
	{KVM_CAP_HLT, "KVM_CAP_HLT", "HLT handled in the kernel"},
	{KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY", "guest memory slots"},
	{KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR", "real-mode TSS"},
	{KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID", "filtered CPUID"},
	{KVM_CAP_PIT2, "KVM_CAP_PIT2", "in-kernel PIT"},
	{KVM_CAP_IRQ_INJECT_STATUS, "KVM_CAP_IRQ_INJECT_STATUS", "interrupt lines"},
	{KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE", "vCPU states"},
	{KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT", "stopping vCPUs without races"},
	{KVM_CAP_SET_IDENTITY_MAP_ADDR, "KVM_CAP_SET_IDENTITY_MAP_ADDR", "identity map page"},
	{KVM_CAP_READONLY_MEM, "KVM_CAP_READONLY_MEM", "firmware mapped as ROM"},
};

static int open_kvm(struct vg_err *err)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return vg_err_set(err, errno, "/dev/kvm: %s%s", strerror(errno),
				  errno == ENOENT ? " (is KVM enabled in the kernel?)"
				  : errno == EACCES ? " (is this user in the kvm group?)" : "");
	int v = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (v != KVM_API_VERSION) {
		close(fd);
		return vg_err_set(err, ENOTSUP, "/dev/kvm: API version %d, need %d", v, KVM_API_VERSION);
	}
	for (size_t i = 0; i < VG_ARRAY_SIZE(caps_needed); i++) {
		if (ioctl(fd, KVM_CHECK_EXTENSION, caps_needed[i].cap) <= 0) {
			close(fd);
			return vg_err_set(err, ENOTSUP, "/dev/kvm: missing capability %s (%s)", caps_needed[i].name,
					  caps_needed[i].why);
		}
	}
	return fd;
}

int vmm_kvm_check(const struct vmm_platform_ops *plat, const struct vmm_config *c, struct vg_err *err)
{
	int fd = open_kvm(err);
	if (fd < 0)
		return fd;
	int rc = plat && plat->probe ? plat->probe(c, fd, err) : 0;
	if (rc)
		vg_err_prefix(err, "platform %s", plat->name);
	close(fd);
	return rc;
}

int vmm_kvm_open(struct vmm *vm, struct vg_err *err)
{
	int fd = open_kvm(err);
	if (fd < 0)
		return fd;
	vm->kvm_fd = fd;
	int max = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (max <= 0)
		max = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (max > 0 && vm->cfg->vcpus > (unsigned)max)
		return vg_err_set(err, EINVAL, "/dev/kvm: %u vCPUs asked, KVM allows %d", vm->cfg->vcpus, max);
	/* The platform's own verdict first: a host without SNP or TDX gets its
	 * reason, not KVM_CREATE_VM's EINVAL. */
	int rc = vm->plat->probe ? vm->plat->probe(vm->cfg, fd, err) : 0;
	if (rc)
		return vg_err_prefix(err, "platform %s", vm->plat->name);
	int vfd;
	do
		vfd = ioctl(fd, KVM_CREATE_VM, vm->plat->vm_type);
	while (vfd < 0 && errno == EINTR);
	if (vfd < 0)
		return vg_err_set(err, errno, "KVM_CREATE_VM (type %lu, platform %s): %s", vm->plat->vm_type,
				  vm->plat->name, strerror(errno));
	vm->vm_fd = vfd;
	if (ioctl(vfd, KVM_SET_IDENTITY_MAP_ADDR, &(uint64_t){KVM_IDENTITY_MAP_ADDR}) < 0)
		return vg_err_set(err, errno, "KVM_SET_IDENTITY_MAP_ADDR: %s", strerror(errno));
	if (ioctl(vfd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) < 0)
		return vg_err_set(err, errno, "KVM_SET_TSS_ADDR: %s", strerror(errno));
	return 0;
}

/* After the memory slots, before any vCPU: the in-kernel interrupt
 * controllers and PIT, in the shape the platform asks for. */
int vmm_kvm_irqchip(struct vmm *vm, struct vg_err *err)
{
	int vfd = vm->vm_fd;
	if (vm->plat->flags & VMM_PLAT_SPLIT_IRQCHIP) {
		struct kvm_enable_cap cap = {.cap = KVM_CAP_SPLIT_IRQCHIP, .args = {VMM_IOAPIC_PINS}};
		if (ioctl(vfd, KVM_ENABLE_CAP, &cap) < 0)
			return vg_err_set(err, errno, "KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP): %s", strerror(errno));
	} else if (ioctl(vfd, KVM_CREATE_IRQCHIP, 0) < 0) {
		return vg_err_set(err, errno, "KVM_CREATE_IRQCHIP: %s", strerror(errno));
	}
	if (vm->plat->flags & VMM_PLAT_NO_PIT)
		return 0;
	struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
	if (ioctl(vfd, KVM_CREATE_PIT2, &pit) < 0)
		return vg_err_set(err, errno, "KVM_CREATE_PIT2: %s", strerror(errno));
	return 0;
}

int vmm_irq_line(struct vmm *vm, unsigned irq, bool level)
{
	if (vm->plat->flags & VMM_PLAT_SPLIT_IRQCHIP)
		return -ENOTSUP; /* no in-kernel IOAPIC/PIC, and no userspace one yet */
	struct kvm_irq_level l = {.irq = irq, .level = level ? 1 : 0};
	return ioctl(vm->vm_fd, KVM_IRQ_LINE, &l) < 0 ? -errno : 0;
}
