/* SEV-SNP ATTESTATION_REPORT: parse and serialize (SNP ABI 56860, Table 23). */
#include <stddef.h>
#include <string.h>

#include "sev/sev.h"

const char *sev_snp_product_name(enum sev_snp_product p)
{
	switch (p) {
	case SEV_SNP_PRODUCT_MILAN: return "Milan";
	case SEV_SNP_PRODUCT_GENOA: return "Genoa";
	case SEV_SNP_PRODUCT_TURIN: return "Turin";
	default: return "unknown";
	}
}

/* AMD family 19h models 00h-0Fh are Milan, 10h-1Fh and A0h-AFh Genoa (incl.
 * Bergamo/Siena); family 1Ah models 00h-1Fh are Turin. */
enum sev_snp_product sev_snp_product_from_cpuid(uint8_t family, uint8_t model)
{
	if (family == 0x19) {
		if (model <= 0x0f)
			return SEV_SNP_PRODUCT_MILAN;
		if ((model >= 0x10 && model <= 0x1f) || (model >= 0xa0 && model <= 0xaf))
			return SEV_SNP_PRODUCT_GENOA;
	} else if (family == 0x1a && model <= 0x1f) {
		return SEV_SNP_PRODUCT_TURIN;
	}
	return SEV_SNP_PRODUCT_UNKNOWN;
}

void sev_snp_tcb_decode(uint64_t raw, enum sev_snp_product p, struct sev_snp_tcb *out)
{
	memset(out, 0, sizeof(*out));
	out->raw = raw;
	uint8_t b[8];
	vg_put_le64(b, raw);
	if (p == SEV_SNP_PRODUCT_TURIN) {
		out->fmc = b[0];
		out->bl = b[1];
		out->tee = b[2];
		out->snp = b[3];
	} else {
		out->bl = b[0];
		out->tee = b[1];
		out->snp = b[6];
	}
	out->ucode = b[7];
}

#define RAW_OFF(f) offsetof(struct sev_snp_report_raw, f)

int sev_snp_report_parse(const uint8_t *data, size_t len, struct sev_snp_report *out,
			 struct vg_err *err)
{
	memset(out, 0, sizeof(*out));
	if (!data || len != SEV_SNP_REPORT_SIZE)
		return vg_err_set(err, EBADMSG, "SNP report is %zu bytes, expected %u", len,
				  SEV_SNP_REPORT_SIZE);
	struct vg_reader r;
	vg_rd_init(&r, data, len);
	uint32_t reserved0;
	vg_rd_le32(&r, &out->version);
	if (out->version != 2 && out->version != 3 && out->version != 5)
		return vg_err_set(err, ENOTSUP,
				  "SNP report version %u is not supported (supported: 2, 3, 5)",
				  out->version);
	vg_rd_le32(&r, &out->guest_svn);
	vg_rd_le64(&r, &out->policy);
	vg_rd_bytes(&r, out->family_id, 16);
	vg_rd_bytes(&r, out->image_id, 16);
	vg_rd_le32(&r, &out->vmpl);
	vg_rd_le32(&r, &out->signature_algo);
	vg_rd_le64(&r, &out->current_tcb);
	vg_rd_le64(&r, &out->platform_info);
	vg_rd_le32(&r, &out->flags);
	vg_rd_le32(&r, &reserved0);
	vg_rd_bytes(&r, out->report_data, 64);
	vg_rd_bytes(&r, out->measurement, 48);
	vg_rd_bytes(&r, out->host_data, 32);
	vg_rd_bytes(&r, out->id_key_digest, 48);
	vg_rd_bytes(&r, out->author_key_digest, 48);
	vg_rd_bytes(&r, out->report_id, 32);
	vg_rd_bytes(&r, out->report_id_ma, 32);
	vg_rd_le64(&r, &out->reported_tcb);
	vg_rd_u8(&r, &out->cpuid_fam_id);
	vg_rd_u8(&r, &out->cpuid_mod_id);
	vg_rd_u8(&r, &out->cpuid_step);
	vg_rd_seek(&r, RAW_OFF(chip_id));
	vg_rd_bytes(&r, out->chip_id, 64);
	vg_rd_le64(&r, &out->committed_tcb);
	uint8_t skip;
	vg_rd_u8(&r, &out->current_build);
	vg_rd_u8(&r, &out->current_minor);
	vg_rd_u8(&r, &out->current_major);
	vg_rd_u8(&r, &skip);
	vg_rd_u8(&r, &out->committed_build);
	vg_rd_u8(&r, &out->committed_minor);
	vg_rd_u8(&r, &out->committed_major);
	vg_rd_u8(&r, &skip);
	vg_rd_le64(&r, &out->launch_tcb);
	vg_rd_le64(&r, &out->launch_mit_vector);
	vg_rd_le64(&r, &out->current_mit_vector);
	vg_rd_seek(&r, RAW_OFF(sig_r));
	vg_rd_bytes(&r, out->sig_r, 72);
	vg_rd_bytes(&r, out->sig_s, 72);
	if (!vg_rd_ok(&r))
		return vg_err_set(err, EBADMSG, "SNP report truncated");

	out->abi_minor = (uint8_t)(out->policy & 0xff);
	out->abi_major = (uint8_t)((out->policy >> 8) & 0xff);
	out->author_key_en = out->flags & 1;
	out->mask_chip_key = (out->flags >> 1) & 1;
	out->signing_key = (uint8_t)((out->flags >> 2) & 7);
	out->has_cpuid = out->version >= 3;
	if (!out->has_cpuid)
		out->cpuid_fam_id = out->cpuid_mod_id = out->cpuid_step = 0;
	out->has_mit_vectors = out->version >= 5;
	if (!out->has_mit_vectors)
		out->launch_mit_vector = out->current_mit_vector = 0;
	return 0;
}

void sev_snp_report_serialize(const struct sev_snp_report *r, uint8_t out[SEV_SNP_REPORT_SIZE])
{
	struct sev_snp_report_raw *w = (struct sev_snp_report_raw *)out;
	memset(out, 0, SEV_SNP_REPORT_SIZE);
	vg_put_le32(w->version, r->version);
	vg_put_le32(w->guest_svn, r->guest_svn);
	vg_put_le64(w->policy, r->policy);
	memcpy(w->family_id, r->family_id, 16);
	memcpy(w->image_id, r->image_id, 16);
	vg_put_le32(w->vmpl, r->vmpl);
	vg_put_le32(w->signature_algo, r->signature_algo);
	vg_put_le64(w->current_tcb, r->current_tcb);
	vg_put_le64(w->platform_info, r->platform_info);
	vg_put_le32(w->flags, r->flags);
	memcpy(w->report_data, r->report_data, 64);
	memcpy(w->measurement, r->measurement, 48);
	memcpy(w->host_data, r->host_data, 32);
	memcpy(w->id_key_digest, r->id_key_digest, 48);
	memcpy(w->author_key_digest, r->author_key_digest, 48);
	memcpy(w->report_id, r->report_id, 32);
	memcpy(w->report_id_ma, r->report_id_ma, 32);
	vg_put_le64(w->reported_tcb, r->reported_tcb);
	if (r->version >= 3) {
		w->cpuid_fam_id = r->cpuid_fam_id;
		w->cpuid_mod_id = r->cpuid_mod_id;
		w->cpuid_step = r->cpuid_step;
	}
	memcpy(w->chip_id, r->chip_id, 64);
	vg_put_le64(w->committed_tcb, r->committed_tcb);
	w->current_build = r->current_build;
	w->current_minor = r->current_minor;
	w->current_major = r->current_major;
	w->committed_build = r->committed_build;
	w->committed_minor = r->committed_minor;
	w->committed_major = r->committed_major;
	vg_put_le64(w->launch_tcb, r->launch_tcb);
	if (r->version >= 5) {
		vg_put_le64(w->launch_mit_vector, r->launch_mit_vector);
		vg_put_le64(w->current_mit_vector, r->current_mit_vector);
	}
	memcpy(w->sig_r, r->sig_r, 72);
	memcpy(w->sig_s, r->sig_s, 72);
}
