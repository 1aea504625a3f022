/* The TDX launch regions from TDVF metadata, and the MRTD they produce in either SEAMCALL order. */
#include "tdx/tdx.h"

#include <string.h>

#include "firmware/firmware.h"

int tdx_launch_plan_build(const struct fw_image *fw, struct tdx_launch_plan *p, struct vg_err *err)
{
	struct fw_tdvf_metadata md;
	memset(p, 0, sizeof(*p));
	int rc = fw_tdvf_metadata_parse(fw, &md, err);
	if (rc)
		return rc == -ENOENT ? vg_err_prefix(err, "not a TDX-capable firmware (TDVF)") : rc;
	_Static_assert(TDX_PLAN_MAX_REGIONS >= FW_TDVF_MAX_SECTIONS, "plan holds every TDVF section");
	for (size_t i = 0; i < md.n; i++) {
		const struct fw_tdvf_section *s = &md.s[i];
		struct tdx_launch_region *r = &p->r[p->n++];
		r->name = fw_tdvf_section_name(s->type);
		r->type = s->type;
		r->attributes = s->attributes;
		r->gpa = s->gpa;
		r->len = s->mem_size;
		r->add = !(s->attributes & FW_TDVF_ATTR_PAGE_AUG);
		r->measure = (s->attributes & FW_TDVF_ATTR_MR_EXTEND) != 0;
		/* Sections with raw data are loaded from the image, memory-size bytes
		 * from the data offset (the parser checked they lie inside it). */
		if (s->raw_size && (uint64_t)s->data_offset + s->mem_size <= fw->len)
			r->data = fw->data + s->data_offset;
		/* The TD HOB, the payload parameters and a payload without raw data are
		 * written by the VMM at launch: measuring them cannot be predicted here. */
		if (r->measure && (s->type == FW_TDVF_TD_HOB || s->type == FW_TDVF_PAYLOAD_PARAM ||
				   (s->type == FW_TDVF_PAYLOAD && !s->raw_size)))
			return vg_err_set(err, ENOTSUP,
					  "TDVF section %zu (%s) is MR.EXTEND: its contents are built by the VMM at launch and "
					  "cannot be predicted here", i, r->name);
	}
	return 0;
}

static int add_pages(struct tdx_mrtd *m, const struct tdx_launch_region *r, struct vg_err *err)
{
	for (uint64_t off = 0; off < r->len; off += TDX_PAGE_SIZE) {
		int rc = tdx_mrtd_page_add(m, r->gpa + off, err);
		if (rc)
			return rc;
	}
	return 0;
}

static int extend_pages(struct tdx_mrtd *m, const struct tdx_launch_region *r, struct vg_err *err)
{
	for (uint64_t off = 0; off < r->len; off += TDX_PAGE_SIZE) {
		int rc = tdx_mrtd_extend_page(m, r->gpa + off, r->data ? r->data + off : NULL, err);
		if (rc)
			return rc;
	}
	return 0;
}

int tdx_launch_plan_walk(const struct tdx_launch_plan *p, const struct tdx_plan_sink *sink, struct vg_err *err)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct tdx_launch_region *r = &p->r[i];
		if (!r->add)
			continue; /* PAGE.AUG: accepted by the guest later, not part of MRTD */
		for (uint64_t off = 0; off < r->len; off += TDX_PAGE_SIZE) {
			int rc = sink->page(sink->ctx, r, r->gpa + off, r->data ? r->data + off : NULL, err);
			if (rc)
				return vg_err_prefix(err, "TDVF section %zu (%s)", i, r->name);
		}
	}
	return 0;
}

/* The prediction's sink. */
static int mrtd_page(void *ctx, const struct tdx_launch_region *r, uint64_t gpa, const uint8_t *src,
		     struct vg_err *err)
{
	struct tdx_mrtd *m = ctx;
	int rc = tdx_mrtd_page_add(m, gpa, err);
	if (!rc && r->measure)
		rc = tdx_mrtd_extend_page(m, gpa, src, err);
	return rc;
}

int tdx_mrtd_compute(const struct tdx_launch_plan *p, enum tdx_mrtd_order order, uint8_t out[TDX_MRTD_LEN],
		     struct tdx_mrtd *counts, struct vg_err *err)
{
	struct tdx_mrtd m;
	int rc = tdx_mrtd_init(&m, err);
	if (rc)
		return rc;
	if (order != TDX_ORDER_KVM && order != TDX_ORDER_TWO_PASS) {
		tdx_mrtd_free(&m);
		return vg_err_set(err, EINVAL, "unknown MRTD order %d", (int)order);
	}
	if (order == TDX_ORDER_KVM) {
		struct tdx_plan_sink sink = { .ctx = &m, .page = mrtd_page };
		rc = tdx_launch_plan_walk(p, &sink, err);
	} else {
		/* Older stacks: per section, PAGE.ADD of every page, then their MR.EXTENDs. */
		for (size_t i = 0; !rc && i < p->n; i++) {
			const struct tdx_launch_region *r = &p->r[i];
			if (r->add && !(rc = add_pages(&m, r, err)) && r->measure)
				rc = extend_pages(&m, r, err);
			if (rc)
				vg_err_prefix(err, "TDVF section %zu (%s)", i, r->name);
		}
	}
	if (rc) {
		tdx_mrtd_free(&m);
		return rc;
	}
	if (counts) {
		*counts = m;
		counts->md_ctx = NULL;
	}
	return tdx_mrtd_final(&m, out, err);
}
