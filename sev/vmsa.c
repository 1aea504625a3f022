/* vCPU types, per-VMM reset states, and VMSA page construction for SEV-ES/SNP. */
#include "sev/sev.h"

#include <stddef.h>
#include <string.h>

_Static_assert(offsetof(struct sev_vmsa, efer) == 0xd0, "VMSA EFER offset (APM Table B-4)");
_Static_assert(offsetof(struct sev_vmsa, cr4) == 0x148, "VMSA CR4 offset (APM Table B-4)");
_Static_assert(offsetof(struct sev_vmsa, rip) == 0x178, "VMSA RIP offset (APM Table B-4)");
_Static_assert(offsetof(struct sev_vmsa, g_pat) == 0x268, "VMSA G_PAT offset (APM Table B-4)");
_Static_assert(offsetof(struct sev_vmsa, rdx) == 0x310, "VMSA RDX offset (APM Table B-4)");
_Static_assert(offsetof(struct sev_vmsa, sev_features) == 0x3b0, "VMSA SEV_FEATURES offset (APM Table B-4)");
_Static_assert(offsetof(struct sev_vmsa, xcr0) == 0x3e8, "VMSA XCR0 offset (APM Table B-4)");
_Static_assert(offsetof(struct sev_vmsa, mxcsr) == 0x408, "VMSA MXCSR offset (APM Table B-4)");
_Static_assert(offsetof(struct sev_vmsa, x87_fcw) == 0x410, "VMSA x87 FCW offset (APM Table B-4)");

uint32_t sev_cpu_signature(unsigned family, unsigned model, unsigned stepping)
{
	unsigned fam_lo = family > 0xf ? 0xf : family;
	unsigned fam_hi = family > 0xf ? (family - 0xf) & 0xff : 0;
	return (uint32_t)(fam_hi << 20 | ((model >> 4) & 0xf) << 16 | fam_lo << 8 | (model & 0xf) << 4 |
			  (stepping & 0xf));
}

/* QEMU's AMD EPYC CPU models (family, model, stepping as QEMU defines them). */
#define SIG_NAPLES 0x00800f12u /* family 23, model 1, stepping 2 */
#define SIG_ROME 0x00830f10u   /* family 23, model 49, stepping 0 */
#define SIG_MILAN 0x00a00f11u  /* family 25, model 1, stepping 1 */
#define SIG_GENOA 0x00a10f10u  /* family 25, model 17, stepping 0 */
#define SIG_TURIN 0x00b00f00u  /* family 26, model 0, stepping 0 */
const struct sev_vcpu_type sev_vcpu_types[] = {
	{"EPYC", SIG_NAPLES},          {"EPYC-v1", SIG_NAPLES},       {"EPYC-v2", SIG_NAPLES},
	{"EPYC-IBPB", SIG_NAPLES},     {"EPYC-v3", SIG_NAPLES},       {"EPYC-v4", SIG_NAPLES},
	{"EPYC-Rome", SIG_ROME},       {"EPYC-Rome-v1", SIG_ROME},    {"EPYC-Rome-v2", SIG_ROME},
	{"EPYC-Rome-v3", SIG_ROME},    {"EPYC-Rome-v4", SIG_ROME},    {"EPYC-Milan", SIG_MILAN},
	{"EPYC-Milan-v1", SIG_MILAN},  {"EPYC-Milan-v2", SIG_MILAN},  {"EPYC-Milan-v3", SIG_MILAN},
	{"EPYC-Genoa", SIG_GENOA},     {"EPYC-Genoa-v1", SIG_GENOA},  {"EPYC-Genoa-v2", SIG_GENOA},
	{"EPYC-Turin", SIG_TURIN},     {"EPYC-Turin-v1", SIG_TURIN},
};
const size_t sev_vcpu_types_count = VG_ARRAY_SIZE(sev_vcpu_types);

int sev_vcpu_type_lookup(const char *name, uint32_t *sig, struct vg_err *err)
{
	for (size_t i = 0; i < sev_vcpu_types_count; i++)
		if (!strcmp(name, sev_vcpu_types[i].name)) {
			*sig = sev_vcpu_types[i].sig;
			return 0;
		}
	return vg_err_set(err, EINVAL,
			  "unknown vCPU type '%s' (EPYC, EPYC-v1..v4, EPYC-Rome, EPYC-Milan, EPYC-Genoa, EPYC-Turin "
			  "and their -vN versions; or give --vcpu-sig)",
			  name);
}

static const char *const vmm_names[] = {[SEV_VMM_QEMU] = "qemu", [SEV_VMM_EC2] = "ec2",
					[SEV_VMM_GCE] = "gce", [SEV_VMM_VIGIL] = "vigil"};

const char *sev_vmm_type_name(enum sev_vmm_type t)
{
	return t >= SEV_VMM_QEMU && t <= SEV_VMM_VIGIL ? vmm_names[t] : "unknown";
}

int sev_vmm_type_parse(const char *s, enum sev_vmm_type *out, struct vg_err *err)
{
	for (int t = SEV_VMM_QEMU; t <= SEV_VMM_VIGIL; t++)
		if (!strcasecmp(s, vmm_names[t])) {
			*out = (enum sev_vmm_type)t;
			return 0;
		}
	return vg_err_set(err, EINVAL, "unknown VMM type '%s' (qemu, ec2, gce or vigil)", s);
}

static struct sev_segment seg(uint16_t sel, uint16_t attrib, uint32_t limit, uint64_t base)
{
	return (struct sev_segment){.selector = sel, .attrib = attrib, .limit = limit, .base = base};
}

#define PAT_DEFAULT 0x0007040600070406ull /* APM Vol 2 A.3: WB, WT, UC-, UC, repeated */

int sev_vcpu_reset_state(enum sev_vmm_type vmm, uint32_t eip, uint32_t vcpu_sig, struct sev_vcpu_reset *st,
			 struct vg_err *err)
{
	/* Architectural reset state at the reset vector, as KVM hands it to SEV-ES. */
	uint16_t cs_attr = 0x9b, ss_attr = 0x93, tr_attr = 0x8b;
	uint64_t rdx = vcpu_sig, pat = PAT_DEFAULT;
	uint32_t mxcsr = 0x1f80;
	uint16_t fcw = 0x37f;
	switch (vmm) {
	case SEV_VMM_QEMU:
	case SEV_VMM_VIGIL: /* vigil-vmm programs the same architectural state as QEMU */
		break;
	case SEV_VMM_EC2: /* Firecracker-derived: accessed bits clear, 16-bit busy TSS, no FPU init */
		cs_attr = eip == SEV_BSP_RESET_EIP ? 0x9a : 0x9b;
		ss_attr = 0x92;
		tr_attr = 0x83;
		rdx = 0x600;
		mxcsr = 0;
		fcw = 0;
		break;
	case SEV_VMM_GCE: /* GCE's hypervisor: its own PAT, no FPU init */
		pat = 0x00070106;
		rdx = 0x600;
		mxcsr = 0;
		fcw = 0;
		break;
	default:
		return vg_err_set(err, EINVAL, "unknown VMM type %d", (int)vmm);
	}
	memset(st, 0, sizeof(*st));
	st->es = st->ds = st->fs = st->gs = seg(0, 0x93, 0xffff, 0);
	st->cs = seg(0xf000, cs_attr, 0xffff, eip & 0xffff0000u);
	st->ss = seg(0, ss_attr, 0xffff, 0);
	st->gdtr = st->idtr = seg(0, 0, 0xffff, 0);
	st->ldtr = seg(0, 0x82, 0xffff, 0);
	st->tr = seg(0, tr_attr, 0xffff, 0);
	st->efer = 0x1000; /* EFER.SVME: KVM sets it for SEV-ES guests */
	st->cr0 = 0x10;    /* CR0.ET */
	st->cr4 = 0x40;    /* CR4.MCE: KVM sets it */
	st->dr6 = 0xffff0ff0;
	st->dr7 = 0x400;
	st->rflags = 0x2;
	st->rip = eip & 0xffffu;
	st->rdx = rdx;
	st->g_pat = pat;
	st->xcr0 = 0x1;
	st->mxcsr = mxcsr;
	st->fcw = fcw;
	return 0;
}

static void put_seg(uint8_t *page, size_t off, const struct sev_segment *s)
{
	vg_put_le16(page + off, s->selector);
	vg_put_le16(page + off + 2, s->attrib);
	vg_put_le32(page + off + 4, s->limit);
	vg_put_le64(page + off + 8, s->base);
}

#define PUT64(field, v) vg_put_le64(page + offsetof(struct sev_vmsa, field), (v))

void sev_vmsa_build(const struct sev_vcpu_reset *st, uint64_t sev_features, uint8_t page[SEV_VMSA_SIZE])
{
	memset(page, 0, SEV_VMSA_SIZE);
	put_seg(page, offsetof(struct sev_vmsa, es), &st->es);
	put_seg(page, offsetof(struct sev_vmsa, cs), &st->cs);
	put_seg(page, offsetof(struct sev_vmsa, ss), &st->ss);
	put_seg(page, offsetof(struct sev_vmsa, ds), &st->ds);
	put_seg(page, offsetof(struct sev_vmsa, fs), &st->fs);
	put_seg(page, offsetof(struct sev_vmsa, gs), &st->gs);
	put_seg(page, offsetof(struct sev_vmsa, gdtr), &st->gdtr);
	put_seg(page, offsetof(struct sev_vmsa, ldtr), &st->ldtr);
	put_seg(page, offsetof(struct sev_vmsa, idtr), &st->idtr);
	put_seg(page, offsetof(struct sev_vmsa, tr), &st->tr);
	PUT64(efer, st->efer);
	PUT64(cr4, st->cr4);
	PUT64(cr0, st->cr0);
	PUT64(dr7, st->dr7);
	PUT64(dr6, st->dr6);
	PUT64(rflags, st->rflags);
	PUT64(rip, st->rip);
	PUT64(g_pat, st->g_pat);
	PUT64(rdx, st->rdx);
	PUT64(sev_features, sev_features);
	PUT64(xcr0, st->xcr0);
	vg_put_le32(page + offsetof(struct sev_vmsa, mxcsr), st->mxcsr);
	vg_put_le16(page + offsetof(struct sev_vmsa, x87_fcw), st->fcw);
}
