/* The kvm accelerator, VM level: /dev/kvm (API version and capabilities
 * checked up front), the VM, its memory slots (guest_memfd for private
 * memory), the in-kernel irqchip and PIT. vCPUs: kvm_vcpu.c. */
#include "vmm/accel/kvm.h"

#include "common/linux_kvm_cc.h" /* guest_memfd UAPI, newer than these kernel headers */

#include <fcntl.h>
#include <stdlib.h>
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

const char *vmm_kvm_device(void)
{
	const char *p = getenv("VIGIL_KVM_DEVICE"); /* test-only: docs/testing.md */
	return p && *p ? p : "/dev/kvm";
}

static int open_kvm(struct vg_err *err)
{
	const char *dev = vmm_kvm_device();
	int fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return vg_err_set(err, errno, "%s: %s%s", dev, strerror(errno),
				  errno == ENOENT ? " (is KVM enabled in the kernel?)"
				  : errno == EACCES ? " (is this user in the kvm group?)" : "");
	int v = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (v != KVM_API_VERSION) {
		close(fd);
		return vg_err_set(err, ENOTSUP, "%s: API version %d, need %d", dev, v, KVM_API_VERSION);
	}
	for (size_t i = 0; i < VG_ARRAY_SIZE(caps_needed); i++) {
		if (ioctl(fd, KVM_CHECK_EXTENSION, caps_needed[i].cap) <= 0) {
			close(fd);
			return vg_err_set(err, ENOTSUP, "%s: missing capability %s (%s)", dev, caps_needed[i].name,
					  caps_needed[i].why);
		}
	}
	return fd;
}

int vmm_kvm_available(struct vg_err *err)
{
	int fd = open_kvm(err);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

static int kvm_check(const struct vmm_platform_ops *plat, const struct vmm_config *c, struct vg_err *err)
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

static int kvm_vm_create(struct vmm *vm, struct vg_err *err)
{
	struct vmm_kvm *k = calloc(1, sizeof(*k));
	if (!k)
		return vg_err_set(err, ENOMEM, "kvm: out of memory");
	k->gmem_fd = -1;
	vm->accel_state = k;
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

static int set_slot(struct vmm *vm, struct vmm_region *r, int gmem_fd, struct vg_err *err)
{
	if (gmem_fd >= 0) {
		struct kvm_userspace_memory_region2 m = {
			.slot = r->slot,
			.flags = KVM_MEM_GUEST_MEMFD,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uintptr_t)r->host,
			.guest_memfd_offset = r->ram_off,
			.guest_memfd = (uint32_t)gmem_fd,
		};
		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION2, &m) < 0)
			return vg_err_set(err, errno, "KVM_SET_USER_MEMORY_REGION2 slot %u: %s", r->slot,
					  strerror(errno));
		return 0;
	}
	struct kvm_userspace_memory_region m = {
		.slot = r->slot,
		.flags = r->rom ? KVM_MEM_READONLY : 0,
		.guest_phys_addr = r->gpa,
		.memory_size = r->size,
		.userspace_addr = (uintptr_t)r->host,
	};
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &m) < 0)
		return vg_err_set(err, errno, "KVM_SET_USER_MEMORY_REGION slot %u (0x%llx+0x%llx): %s", r->slot,
				  (unsigned long long)r->gpa, (unsigned long long)r->size, strerror(errno));
	return 0;
}

static const struct vg_kvm_io sys_io = {.fn = vg_kvm_sys_ioctl};

int vmm_kvm_map_region(const struct vg_kvm_io *io, struct vmm *vm, struct vmm_region *r, int *ram_gmem,
		       struct vg_err *err)
{
	/* Without private memory: plain slots (the firmware read-only). */
	if (r->rom || !(vm->plat->flags & VMM_PLAT_GUEST_MEMFD))
		return io == &sys_io ? set_slot(vm, r, -1, err)
				     : vg_err_set(err, EINVAL, "plain slots go through the system ioctl");
	if (vg_kvm_ioctl(io, vm->kvm_fd, KVM_CHECK_EXTENSION, (void *)(uintptr_t)KVM_CAP_GUEST_MEMFD) <= 0)
		return vg_err_set(err, ENOTSUP, "platform %s needs guest_memfd, which this kernel lacks", vm->plat->name);
	bool ram = r->slot < 2; /* slots 0 and 1: the RAM mapping; 2: the firmware image */
	int fd;
	if (ram) {
		/* RAM: one guest_memfd for the whole RAM mapping, offset = RAM offset. */
		if (*ram_gmem < 0 && (*ram_gmem = vg_kvm_gmem_create(io, vm->vm_fd, vm->ram_size, err)) < 0)
			return *ram_gmem;
		fd = *ram_gmem;
	} else if ((fd = vg_kvm_gmem_create(io, vm->vm_fd, r->size, err)) < 0) {
		return fd; /* the firmware: a guest_memfd of its own (finding 1 of issue 14) */
	}
	int rc = vg_kvm_private_slot(io, vm->vm_fd, r->slot, r->gpa, r->size, r->host, fd, ram ? r->ram_off : 0, err);
	if (!ram && io == &sys_io)
		close(fd); /* the memslot holds its own reference */
	return rc;
}

/* Memory of a platform with private memory: guest_memfd slots, private from the
 * start (vmm_kvm_map_region); the RAM's guest_memfd is closed in vm_ready. */
static int kvm_mem_map(struct vmm *vm, struct vmm_region *r, struct vg_err *err)
{
	struct vmm_kvm *k = vm->accel_state;
	return vmm_kvm_map_region(&sys_io, vm, r, &k->gmem_fd, err);
}

/* After the memory slots, before any vCPU: the in-kernel interrupt
 * controllers and PIT, in the shape the platform asks for. */
static int kvm_vm_ready(struct vmm *vm, struct vg_err *err)
{
	struct vmm_kvm *k = vm->accel_state;
	if (k->gmem_fd >= 0) { /* the memslots hold their own reference */
		close(k->gmem_fd);
		k->gmem_fd = -1;
	}
	int vfd = vm->vm_fd;
	if (vm->plat->flags & VMM_PLAT_SPLIT_IRQCHIP) {
		struct kvm_enable_cap cap = {.cap = KVM_CAP_SPLIT_IRQCHIP, .args = {VMM_IOAPIC_PINS}};
		if (ioctl(vfd, KVM_ENABLE_CAP, &cap) < 0)
			return vg_err_set(err, errno, "KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP): %s", strerror(errno));
	} else if (ioctl(vfd, KVM_CREATE_IRQCHIP, 0) < 0) {
		return vg_err_set(err, errno, "KVM_CREATE_IRQCHIP: %s", strerror(errno));
	}
	if (!(vm->plat->flags & VMM_PLAT_NO_PIT)) {
		struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
		if (ioctl(vfd, KVM_CREATE_PIT2, &pit) < 0)
			return vg_err_set(err, errno, "KVM_CREATE_PIT2: %s", strerror(errno));
	}
	return vm->reboots ? vmm_kvm_vm_snapshot(vm, err) : 0;
}

static int kvm_irq_line(struct vmm *vm, unsigned irq, bool level)
{
	if (vm->plat->flags & VMM_PLAT_SPLIT_IRQCHIP)
		return -ENOTSUP; /* no in-kernel IOAPIC/PIC, and no userspace one yet */
	struct kvm_irq_level l = {.irq = irq, .level = level ? 1 : 0};
	return ioctl(vm->vm_fd, KVM_IRQ_LINE, &l) < 0 ? -errno : 0;
}

static void kvm_vm_destroy(struct vmm *vm)
{
	struct vmm_kvm *k = vm->accel_state;
	if (k) {
		if (k->gmem_fd >= 0)
			close(k->gmem_fd);
		free(k->cpuid);
		free(k->snapshot);
		free(k);
		vm->accel_state = NULL;
	}
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->vm_fd = vm->kvm_fd = -1;
}

static const unsigned long kvm_vcpu_ioctls[] = {KVM_RUN, KVM_GET_REGS, KVM_GET_SREGS, KVM_IRQ_LINE, 0};
static const unsigned long kvm_main_ioctls[] = {KVM_IRQ_LINE, 0};
/* A reboot (kvm_reset.c): the vCPU writes its reset state, the main thread the VM's. */
static const unsigned long kvm_vcpu_reset_ioctls[] = {
	KVM_SET_REGS, KVM_SET_SREGS, KVM_SET_FPU, KVM_SET_XSAVE, KVM_SET_XCRS, KVM_SET_MSRS, KVM_SET_MP_STATE,
	KVM_SET_LAPIC, KVM_SET_VCPU_EVENTS, KVM_SET_DEBUGREGS, 0,
};
static const unsigned long kvm_main_reset_ioctls[] = {KVM_SET_IRQCHIP, KVM_SET_PIT2, 0};

const struct vmm_accel_ops vmm_accel_kvm = {
	.name = "kvm",
	.check = kvm_check,
	.vm_create = kvm_vm_create,
	.mem_map = kvm_mem_map,
	.vm_ready = kvm_vm_ready,
	.vcpu_create = vmm_kvm_vcpu_create,
	.vcpu_run = vmm_kvm_vcpu_run,
	.vcpu_kick = vmm_kvm_vcpu_kick,
	.vcpu_reset = vmm_kvm_vcpu_reset,
	.vm_reset = vmm_kvm_vm_reset,
	.vcpu_destroy = vmm_kvm_vcpu_destroy,
	.irq_line = kvm_irq_line,
	.vm_destroy = kvm_vm_destroy,
	.vcpu_ioctls = kvm_vcpu_ioctls,
	.main_ioctls = kvm_main_ioctls,
	.vcpu_reset_ioctls = kvm_vcpu_reset_ioctls,
	.main_reset_ioctls = kvm_main_reset_ioctls,
};
