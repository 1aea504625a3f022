/*
 * The VMM's private memory against the KVM model (tests/unit/kvm_model.c), issue 14
 * findings 1 and 3: the kvm accelerator maps RAM and the firmware of an snp/tdx VM
 * (vmm_kvm_map_region) so that the launch can populate the firmware (KVM refuses
 * LAUNCH_UPDATE / INIT_MEM_REGION on a slot without guest_memfd) and the guest's
 * private accesses to RAM do not fault (all guest_memfd RAM private from the start).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "sev/sev.h"
#include "tdx/tdx.h"
#include "tests/unit/kvm_model.h"
#include "vmm/accel/kvm.h"

#define FW_GPA 0xffc00000ull
#define FW_LEN (4u << 20)
#define RAM (256ull << 20)

static uint8_t *ram_host, *fw_host;

/* A VM as the core builds it for the platform: RAM (slot 0) and the firmware
 * (slot 2, RAM because the platform says VMM_PLAT_NO_ROM), mapped through the model. */
static void map_vm(struct vmm *vm, const char *plat)
{
	memset(vm, 0, sizeof(*vm));
	vm->plat = vmm_platform_find(plat);
	assert_non_null(vm->plat);
	vm->kvm_fd = KM_KVM_FD;
	vm->vm_fd = KM_VM_FD;
	vm->ram_size = RAM;
	if (!ram_host) {
		ram_host = aligned_alloc(4096, RAM);
		fw_host = aligned_alloc(4096, FW_LEN);
	}
	struct vmm_region ram = { .gpa = 0, .size = RAM, .host = ram_host, .slot = 0 };
	struct vmm_region fw = { .gpa = FW_GPA, .size = FW_LEN, .host = fw_host, .slot = 2,
				 .rom = !(vm->plat->flags & VMM_PLAT_NO_ROM) };
	int gmem = -1;
	struct vg_err err = { 0 };
	km_reset_bare();
	if (vmm_kvm_map_region(&km_io, vm, &ram, &gmem, &err) || vmm_kvm_map_region(&km_io, vm, &fw, &gmem, &err))
		fail_msg("%s", err.msg);
}

static void test_snp_firmware_slot_and_private_ram(void **state)
{
	(void)state;
	struct vmm vm;
	struct vg_err err = { 0 };
	map_vm(&vm, "snp");
	assert_int_equal(km.nslots, 2);
	assert_true(km.slots[0].gmem);
	assert_true(km.slots[1].gmem); /* finding 1: the firmware has a guest_memfd */
	assert_int_equal(km.ngmem, 2); /* RAM's and the firmware's own */
	/* Finding 3: RAM is private from the start: a private access does not fault. */
	struct kvm_run run;
	memset(&run, 0, sizeof(run));
	assert_int_equal(km_guest_access(0x100000, true, &run), 0);
	assert_int_equal(km_guest_access(RAM - 4096, true, &run), 0);
	/* The firmware is launched into its slot. */
	struct sev_snp_launch l;
	assert_int_equal(km_snp_start(&l, &err), 0);
	if (sev_snp_launch_update(&l, FW_GPA, fw_host, FW_LEN, SEV_SNP_PAGE_NORMAL, &err))
		fail_msg("%s / %s", err.msg, km.violation);
	assert_string_equal(km.violation, "");
}

static void test_tdx_firmware_slot(void **state)
{
	(void)state;
	struct vmm vm;
	struct vg_err err = { 0 };
	map_vm(&vm, "tdx");
	km.tdx_mode = true;
	struct tdx_launch l;
	struct tdx_caps caps;
	tdx_launch_init(&l, &km_io);
	l.kvm_fd = KM_KVM_FD;
	l.vm_fd = KM_VM_FD;
	assert_int_equal(tdx_get_capabilities(&l, &caps, &err), 0);
	static const struct kvm_cpuid_entry2 cpuid[1] = { { .function = 0x80000008, .eax = 0x3030 } };
	struct tdx_td_config cfg = { .xfam = TDX_XFAM_DEFAULT, .cpuid = cpuid, .ncpuid = 1 };
	assert_int_equal(tdx_init_vm(&l, &caps, &cfg, &err), 0);
	if (tdx_init_mem_region(&l, KM_VCPU_FD, FW_GPA, fw_host, 4, true, &err))
		fail_msg("%s / %s", err.msg, km.violation);
	struct kvm_run run;
	memset(&run, 0, sizeof(run));
	assert_int_equal(km_guest_access(0x200000, true, &run), 0); /* TDVF accepts RAM privately */
	assert_string_equal(km.violation, "");
	tdx_caps_free(&caps);
	tdx_launch_release(&l);
}

static void test_plain_platforms_unchanged(void **state)
{
	(void)state;
	/* sim-snp is a plain VM: its RAM is not a guest_memfd slot (the model keeps the
	 * one plain slot the system ioctl would make; here only the refusal is visible). */
	struct vmm vm;
	memset(&vm, 0, sizeof(vm));
	vm.plat = vmm_platform_find("sim-snp");
	vm.ram_size = RAM;
	struct vmm_region ram = { .gpa = 0, .size = RAM, .host = ram_host, .slot = 0 };
	int gmem = -1;
	struct vg_err err = { 0 };
	km_reset_bare();
	assert_int_equal(vmm_kvm_map_region(&km_io, &vm, &ram, &gmem, &err), -EINVAL);
	assert_int_equal(km.n, 0); /* no guest_memfd for a plain VM */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snp_firmware_slot_and_private_ram),
		cmocka_unit_test(test_tdx_firmware_slot),
		cmocka_unit_test(test_plain_platforms_unchanged),
	};
	int rc = cmocka_run_group_tests_name("launch_memory (private memory against the KVM model)", tests, NULL, NULL);
	free(ram_host);
	free(fw_host);
	return rc;
}
