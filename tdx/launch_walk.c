/*
 * The sinks that apply a TDX launch plan (tdx.h section 2, tdx_launch_plan_walk) to a
 * TD: the KVM backend's (KVM_TDX_INIT_MEM_REGION) and sim-tdx's (the TDX module's
 * MRTD). The prediction's sink is in mrtd_plan.c.
 */
#include <string.h>

#include "tdx/tdx.h"

/* The page a launch adds: what guest memory holds (the image the VMM loaded, the TD
 * HOB it wrote), else the plan's bytes, else zeros (TDX adds a zero page). */
static void page_source(tdx_gpa_fn gpa_fn, void *ctx, uint64_t gpa, const uint8_t *src, uint8_t page[TDX_PAGE_SIZE])
{
	const uint8_t *mem = gpa_fn ? gpa_fn(ctx, gpa, TDX_PAGE_SIZE) : NULL;
	if (mem)
		memcpy(page, mem, TDX_PAGE_SIZE);
	else if (src)
		memcpy(page, src, TDX_PAGE_SIZE);
	else
		memset(page, 0, TDX_PAGE_SIZE);
}

struct kvm_sink {
	struct tdx_launch *l;
	int vcpu_fd;
	tdx_gpa_fn gpa_fn;
	void *ctx;
};

static int kvm_page(void *ctx, const struct tdx_launch_region *r, uint64_t gpa, const uint8_t *src, struct vg_err *err)
{
	struct kvm_sink *k = ctx;
	static _Thread_local uint8_t page[TDX_PAGE_SIZE] __attribute__((aligned(TDX_PAGE_SIZE)));
	page_source(k->gpa_fn, k->ctx, gpa, src, page); /* a page-aligned source, as KVM requires */
	return tdx_init_mem_region(k->l, k->vcpu_fd, gpa, page, 1, r->measure, err);
}

int tdx_launch_plan_mem(struct tdx_launch *l, int vcpu_fd, const struct tdx_launch_plan *p, tdx_gpa_fn gpa_fn,
			void *gpa_ctx, struct vg_err *err)
{
	struct kvm_sink k = { .l = l, .vcpu_fd = vcpu_fd, .gpa_fn = gpa_fn, .ctx = gpa_ctx };
	struct tdx_plan_sink sink = { .ctx = &k, .page = kvm_page };
	return tdx_launch_plan_walk(p, &sink, err);
}

struct sim_sink {
	struct tdx_mrtd *m;
	tdx_gpa_fn gpa_fn;
	void *ctx;
};

static int sim_page(void *ctx, const struct tdx_launch_region *r, uint64_t gpa, const uint8_t *src, struct vg_err *err)
{
	struct sim_sink *k = ctx;
	uint8_t page[TDX_PAGE_SIZE];
	page_source(k->gpa_fn, k->ctx, gpa, src, page);
	int rc = tdx_mrtd_page_add(k->m, gpa, err); /* TDH.MEM.PAGE.ADD */
	if (!rc && r->measure)
		rc = tdx_mrtd_extend_page(k->m, gpa, page, err); /* 16 x TDH.MR.EXTEND */
	return rc;
}

int tdx_sim_launch_plan(struct tdx_mrtd *m, const struct tdx_launch_plan *p, tdx_gpa_fn gpa_fn, void *gpa_ctx,
			struct vg_err *err)
{
	struct sim_sink k = { .m = m, .gpa_fn = gpa_fn, .ctx = gpa_ctx };
	struct tdx_plan_sink sink = { .ctx = &k, .page = sim_page };
	return tdx_launch_plan_walk(p, &sink, err);
}
