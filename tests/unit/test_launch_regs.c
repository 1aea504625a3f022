/*
 * Issue 14 finding 6 on a real KVM vCPU (skipped without /dev/kvm): the SEV-ES start
 * state the snp/sim-snp platforms program (vmm_snp_vcpu_regs) reads back
 * (vmm_plat_sev_regs_get) as exactly the VMSA `vigil measure` predicts, for the BSP
 * and for an AP at the SEV-ES reset block; and the state the VMM used to program
 * (RDX 0x600, APs at the reset vector) reads back as a different VMSA, which is what
 * sim-snp now measures, so it cannot agree with a wrong VMM.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm/platform/platform.h"

#define AP_EIP 0xffffb000u /* an SEV-ES reset block address */
#define SIG 0x00800f12u    /* EPYC-v4 */

static int kvm_fd = -1, vm_fd = -1;

static int vcpu(unsigned id)
{
	int fd = ioctl(vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	assert_true(fd >= 0);
	/* CPUID with XSAVE so KVM_SET_XCRS is accepted */
	struct {
		struct kvm_cpuid2 h;
		struct kvm_cpuid_entry2 e[256];
	} c = { .h = { .nent = 256 } };
	assert_int_equal(ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, &c), 0);
	assert_int_equal(ioctl(fd, KVM_SET_CPUID2, &c), 0);
	return fd;
}

static int setup(void **state)
{
	(void)state;
	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd >= 0)
		vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (vm_fd >= 0)
		close(vm_fd);
	if (kvm_fd >= 0)
		close(kvm_fd);
	return 0;
}

static void vmsa_of(int fd, uint8_t page[SEV_VMSA_SIZE])
{
	struct vg_err err = { 0 };
	struct sev_vcpu_reset st;
	if (vmm_plat_sev_regs_get(fd, &st, &err))
		fail_msg("%s", err.msg);
	sev_vmsa_build(&st, 1, page);
}

static void predicted(uint32_t eip, uint8_t page[SEV_VMSA_SIZE])
{
	struct sev_vcpu_reset st;
	struct vg_err err = { 0 };
	assert_int_equal(sev_vcpu_reset_state(SEV_VMM_VIGIL, eip, SIG, &st, &err), 0);
	sev_vmsa_build(&st, 1, page);
}

static void test_programmed_state_is_the_prediction(void **state)
{
	(void)state;
	if (vm_fd < 0) {
		printf("SKIP: /dev/kvm not usable\n");
		skip();
	}
	struct vg_err err = { 0 };
	static uint8_t got[SEV_VMSA_SIZE], want[SEV_VMSA_SIZE];
	int bsp = vcpu(0), ap = vcpu(1);
	assert_int_equal(vmm_snp_vcpu_regs(bsp, 0, AP_EIP, SIG, &err), 0);
	assert_int_equal(vmm_snp_vcpu_regs(ap, 1, AP_EIP, SIG, &err), 0);
	vmsa_of(bsp, got);
	predicted(SEV_BSP_RESET_EIP, want);
	assert_memory_equal(got, want, SEV_VMSA_SIZE);
	vmsa_of(ap, got);
	predicted(AP_EIP, want);
	assert_memory_equal(got, want, SEV_VMSA_SIZE);

	/* What the VMM programmed before: RDX 0x600 on the BSP, the AP left at KVM's
	 * reset vector. Read back, both differ from the prediction. */
	struct kvm_regs r;
	assert_int_equal(ioctl(bsp, KVM_GET_REGS, &r), 0);
	r.rdx = 0x600;
	assert_int_equal(ioctl(bsp, KVM_SET_REGS, &r), 0);
	vmsa_of(bsp, got);
	predicted(SEV_BSP_RESET_EIP, want);
	assert_memory_not_equal(got, want, SEV_VMSA_SIZE);
	int ap2 = vcpu(2); /* never programmed */
	vmsa_of(ap2, got);
	predicted(AP_EIP, want);
	assert_memory_not_equal(got, want, SEV_VMSA_SIZE);
	close(bsp);
	close(ap);
	close(ap2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_programmed_state_is_the_prediction),
	};
	return cmocka_run_group_tests_name("launch_regs (SEV-ES start state on KVM)", tests, setup, teardown);
}
