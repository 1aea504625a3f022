/*
 * The SEV-ES/SNP start state of a vCPU on the kvm accelerator (issue 14 finding 6).
 * KVM builds each VMSA at SNP_LAUNCH_FINISH from the vCPU's current registers, so the
 * VMM programs every vCPU with the state `vigil measure` predicts (sev.h
 * sev_vcpu_reset_state, SEV_VMM_VIGIL): the BSP at the reset vector, the APs at the
 * firmware's SEV-ES reset block, RDX = the vCPU signature. sim-snp reads the
 * registers back to build its VMSAs, so a VMM that programs something else measures
 * something else, as on hardware.
 */
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/internal.h"
#include "vmm/platform/platform.h"

#define EFER_SVME (1ull << 12)
#define CR4_MCE (1ull << 6)
#define MSR_IA32_CR_PAT 0x277

/* VMCB segment attributes (APM vol 2, 15.5.1): descriptor bits 8-15 and 20-23. */
static void seg_to_kvm(const struct sev_segment *s, struct kvm_segment *k)
{
	memset(k, 0, sizeof(*k));
	k->selector = s->selector;
	k->base = s->base;
	k->limit = s->limit;
	k->type = s->attrib & 0xf;
	k->s = (s->attrib >> 4) & 1;
	k->dpl = (s->attrib >> 5) & 3;
	k->present = (s->attrib >> 7) & 1;
	k->avl = (s->attrib >> 8) & 1;
	k->l = (s->attrib >> 9) & 1;
	k->db = (s->attrib >> 10) & 1;
	k->g = (s->attrib >> 11) & 1;
	k->unusable = !k->present;
}

static void seg_from_kvm(const struct kvm_segment *k, struct sev_segment *s)
{
	s->selector = k->selector;
	s->base = k->base;
	s->limit = k->limit;
	s->attrib = (uint16_t)(k->type | k->s << 4 | k->dpl << 5 | k->present << 7 | k->avl << 8 | k->l << 9 |
			       k->db << 10 | k->g << 11);
}

/* One MSR for KVM_GET_MSRS / KVM_SET_MSRS (struct kvm_msrs has a flexible array). */
struct msr1 {
	uint64_t words[(sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)) / 8];
};
static struct kvm_msrs *msr1_init(struct msr1 *m, uint32_t index, uint64_t data)
{
	memset(m, 0, sizeof(*m));
	struct kvm_msrs *h = (struct kvm_msrs *)m;
	h->nmsrs = 1;
	h->entries[0].index = index;
	h->entries[0].data = data;
	return h;
}

int vmm_plat_sev_regs_set(int fd, const struct sev_vcpu_reset *st, struct vg_err *err)
{
	struct kvm_sregs s;
	if (ioctl(fd, KVM_GET_SREGS, &s) < 0)
		return vg_err_set(err, errno, "KVM_GET_SREGS: %s", strerror(errno));
	seg_to_kvm(&st->es, &s.es);
	seg_to_kvm(&st->cs, &s.cs);
	seg_to_kvm(&st->ss, &s.ss);
	seg_to_kvm(&st->ds, &s.ds);
	seg_to_kvm(&st->fs, &s.fs);
	seg_to_kvm(&st->gs, &s.gs);
	seg_to_kvm(&st->ldtr, &s.ldt);
	seg_to_kvm(&st->tr, &s.tr);
	s.gdt.base = st->gdtr.base;
	s.gdt.limit = (uint16_t)st->gdtr.limit;
	s.idt.base = st->idtr.base;
	s.idt.limit = (uint16_t)st->idtr.limit;
	s.cr0 = st->cr0;
	s.cr4 = st->cr4 & ~CR4_MCE;   /* KVM adds the host's CR4.MCE (svm_set_cr4) */
	s.efer = st->efer & ~EFER_SVME; /* and EFER.SVME (always set in the VMCB) */
	if (ioctl(fd, KVM_SET_SREGS, &s) < 0)
		return vg_err_set(err, errno, "KVM_SET_SREGS: %s", strerror(errno));
	struct kvm_regs r = { .rip = st->rip, .rdx = st->rdx, .rflags = st->rflags };
	if (ioctl(fd, KVM_SET_REGS, &r) < 0)
		return vg_err_set(err, errno, "KVM_SET_REGS: %s", strerror(errno));
	/* The rest is KVM's vCPU reset state already (DR6/DR7, FCW 0x37f, MXCSR 0x1f80,
	 * XCR0 1): written only where it differs. On an SEV-ES/SNP VM the FPU state is
	 * KVM's own (KVM_GET/SET_FPU refuse it, -EINVAL): KVM puts its reset values into
	 * the VMSA itself. */
	struct kvm_debugregs d;
	if (ioctl(fd, KVM_GET_DEBUGREGS, &d) < 0)
		return vg_err_set(err, errno, "KVM_GET_DEBUGREGS: %s", strerror(errno));
	if ((d.dr6 != st->dr6 || d.dr7 != st->dr7)) {
		d.dr6 = st->dr6;
		d.dr7 = st->dr7;
		if (ioctl(fd, KVM_SET_DEBUGREGS, &d) < 0)
			return vg_err_set(err, errno, "KVM_SET_DEBUGREGS: %s", strerror(errno));
	}
	struct kvm_fpu f;
	if (ioctl(fd, KVM_GET_FPU, &f) < 0) {
		if (errno != EINVAL)
			return vg_err_set(err, errno, "KVM_GET_FPU: %s", strerror(errno));
	} else if (f.fcw != st->fcw || f.mxcsr != st->mxcsr) {
		f.fcw = st->fcw;
		f.mxcsr = st->mxcsr;
		if (ioctl(fd, KVM_SET_FPU, &f) < 0)
			return vg_err_set(err, errno, "KVM_SET_FPU: %s", strerror(errno));
	}
	struct kvm_xcrs x;
	if (ioctl(fd, KVM_GET_XCRS, &x) < 0)
		return vg_err_set(err, errno, "KVM_GET_XCRS: %s", strerror(errno));
	uint64_t xcr0 = 0;
	for (unsigned i = 0; i < x.nr_xcrs && i < KVM_MAX_XCRS; i++)
		if (x.xcrs[i].xcr == 0)
			xcr0 = x.xcrs[i].value;
	if (xcr0 != st->xcr0) {
		memset(&x, 0, sizeof(x));
		x.nr_xcrs = 1;
		x.xcrs[0].value = st->xcr0;
		if (ioctl(fd, KVM_SET_XCRS, &x) < 0)
			return vg_err_set(err, errno, "KVM_SET_XCRS: %s", strerror(errno));
	}
	struct msr1 m;
	if (ioctl(fd, KVM_SET_MSRS, msr1_init(&m, MSR_IA32_CR_PAT, st->g_pat)) != 1)
		return vg_err_set(err, EIO, "KVM_SET_MSRS(IA32_PAT) failed");
	return 0;
}

int vmm_plat_sev_regs_get(int fd, struct sev_vcpu_reset *st, struct vg_err *err)
{
	struct kvm_sregs s;
	struct kvm_regs r;
	struct kvm_debugregs d;
	struct kvm_fpu f;
	struct kvm_xcrs x;
	struct msr1 m;
	struct kvm_msrs *mh = msr1_init(&m, MSR_IA32_CR_PAT, 0);
	if (ioctl(fd, KVM_GET_SREGS, &s) < 0 || ioctl(fd, KVM_GET_REGS, &r) < 0 ||
	    ioctl(fd, KVM_GET_DEBUGREGS, &d) < 0 || ioctl(fd, KVM_GET_FPU, &f) < 0 || ioctl(fd, KVM_GET_XCRS, &x) < 0 ||
	    ioctl(fd, KVM_GET_MSRS, mh) != 1)
		return vg_err_set(err, errno ? errno : EIO, "reading vCPU registers back: %s", strerror(errno));
	memset(st, 0, sizeof(*st));
	seg_from_kvm(&s.es, &st->es);
	seg_from_kvm(&s.cs, &st->cs);
	seg_from_kvm(&s.ss, &st->ss);
	seg_from_kvm(&s.ds, &st->ds);
	seg_from_kvm(&s.fs, &st->fs);
	seg_from_kvm(&s.gs, &st->gs);
	seg_from_kvm(&s.ldt, &st->ldtr);
	seg_from_kvm(&s.tr, &st->tr);
	st->gdtr = (struct sev_segment){ .base = s.gdt.base, .limit = s.gdt.limit };
	st->idtr = (struct sev_segment){ .base = s.idt.base, .limit = s.idt.limit };
	/* What KVM's VMSA holds beyond the registers (sev_es_sync_vmsa from the VMCB):
	 * EFER.SVME and the host's CR4.MCE; CR0.CD/NW cleared (KVM_X86_QUIRK_CD_NW_CLEARED). */
	st->efer = s.efer | EFER_SVME;
	st->cr4 = s.cr4 | CR4_MCE;
	st->cr0 = s.cr0 & ~0x60000000ull;
	st->dr6 = d.dr6;
	st->dr7 = d.dr7;
	st->rflags = r.rflags;
	st->rip = r.rip;
	st->rdx = r.rdx;
	st->g_pat = mh->entries[0].data;
	st->xcr0 = 0;
	for (unsigned i = 0; i < x.nr_xcrs && i < KVM_MAX_XCRS; i++)
		if (x.xcrs[i].xcr == 0)
			st->xcr0 = x.xcrs[i].value;
	st->mxcsr = f.mxcsr;
	st->fcw = f.fcw;
	/* KVM_GET_FPU reports MXCSR 0 while the SSE state is in its init state; the
	 * XSAVE legacy area (FCW at 0, MXCSR at 24) holds what the VMSA gets. */
	struct kvm_xsave xs;
	if (ioctl(fd, KVM_GET_XSAVE, &xs) == 0) {
		memcpy(&st->fcw, (uint8_t *)xs.region, 2);
		memcpy(&st->mxcsr, (uint8_t *)xs.region + 24, 4);
	}
	return 0;
}

int vmm_plat_vcpu_fd(struct vmm *vm, unsigned index)
{
	return index < vm->n_vcpus ? vm->vcpus[index].fd : -1;
}
