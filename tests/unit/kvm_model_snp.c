/* km_snp_start (kvm_model.h): an SNP launch on the model up to SNP_LAUNCH_START through
 * the sev backend. Apart from kvm_model.c so that the model links without the libraries
 * (tests/integration/kvm_shim.c preloads it into vigil-vmm). */
#include "tests/unit/kvm_model.h"

#include "common/common.h"
#include "sev/sev.h"

int km_snp_start(struct sev_snp_launch *l, struct vg_err *err)
{
	sev_snp_launch_init(l, &km_io);
	l->kvm_fd = KM_KVM_FD;
	l->vm_fd = KM_VM_FD;
	l->sev_fd = KM_SEV_FD;
	int rc = sev_snp_probe(l, err);
	if (!rc)
		rc = sev_snp_init(l, err);
	if (!rc)
		rc = sev_snp_launch_start(l, err);
	return rc;
}
