/*
 * TCG PC Client crypto-agile event log writer (vtpm.h section 2).
 * PC Client PFP 1.05: 10.4.5.1 (Spec ID Event03 in a TCG_PCClientPCREvent),
 * 10.2.2 (TCG_PCR_EVENT2), 10.4.5.3 (StartupLocality).
 */
#include <string.h>

#include "vtpm/vtpm.h"
#include "vtpm/vtpm_priv.h"

int vtpm_evlog_writer_init(struct vtpm_evlog_writer *w, const uint16_t *algs, size_t nalgs,
			   struct vg_err *err)
{
	static const uint8_t zero20[20];
	static const char sig[16] = "Spec ID Event03";
	memset(w, 0, sizeof(*w));
	if (nalgs == 0 || nalgs > VTPM_EVLOG_MAX_ALGS)
		return vg_err_set(err, EINVAL, "event log writer: %zu banks (1..%d allowed)", nalgs,
				  VTPM_EVLOG_MAX_ALGS);
	for (size_t i = 0; i < nalgs; i++) {
		if (!vtpm_alg_md(algs[i]))
			return vg_err_set(err, EINVAL, "event log writer: hash algorithm 0x%04x not supported",
					  algs[i]);
		w->algs[i] = algs[i];
	}
	w->nalgs = nalgs;
	struct vg_buf *b = &w->buf;
	uint32_t size = 16 + 4 + 4 + 4 + 4 * (uint32_t)nalgs + 1;
	int rc = vg_buf_append_le32(b, 0) | vg_buf_append_le32(b, VTPM_EV_NO_ACTION) |
		 vg_buf_append(b, zero20, 20) | vg_buf_append_le32(b, size) | vg_buf_append(b, sig, 16) |
		 vg_buf_append_le32(b, 0) /* platformClass: client */ |
		 vg_buf_append_u8(b, 0) /* specVersionMinor */ | vg_buf_append_u8(b, 2) /* major */ |
		 vg_buf_append_u8(b, 0) /* errata */ | vg_buf_append_u8(b, 2) /* uintnSize: UINT64 */ |
		 vg_buf_append_le32(b, (uint32_t)nalgs);
	for (size_t i = 0; i < nalgs; i++)
		rc |= vg_buf_append_le16(b, algs[i]) |
		      vg_buf_append_le16(b, (uint16_t)vtpm_alg_digest_size(algs[i]));
	rc |= vg_buf_append_u8(b, 0); /* vendorInfoSize */
	if (rc) {
		vg_buf_free(b);
		return vg_err_set(err, ENOMEM, "event log writer: out of memory");
	}
	return 0;
}

int vtpm_evlog_writer_add(struct vtpm_evlog_writer *w, uint32_t pcr, uint32_t type,
			  const uint8_t (*digests)[64], const void *event, size_t event_len,
			  struct vg_err *err)
{
	struct vg_buf *b = &w->buf;
	size_t start = b->len;
	if (event_len > UINT32_MAX || (event_len && !event))
		return vg_err_set(err, EINVAL, "event log writer: bad event data");
	int rc = vg_buf_append_le32(b, pcr) | vg_buf_append_le32(b, type) |
		 vg_buf_append_le32(b, (uint32_t)w->nalgs);
	for (size_t i = 0; i < w->nalgs; i++)
		rc |= vg_buf_append_le16(b, w->algs[i]) |
		      vg_buf_append(b, digests[i], vtpm_alg_digest_size(w->algs[i]));
	rc |= vg_buf_append_le32(b, (uint32_t)event_len);
	if (event_len)
		rc |= vg_buf_append(b, event, event_len);
	if (rc) {
		b->len = start;
		return vg_err_set(err, ENOMEM, "event log writer: out of memory");
	}
	return 0;
}

int vtpm_evlog_writer_startup_locality(struct vtpm_evlog_writer *w, uint8_t locality,
				       struct vg_err *err)
{
	uint8_t zero[VTPM_EVLOG_MAX_ALGS][64] = {{0}};
	uint8_t ev[17] = "StartupLocality";
	ev[16] = locality;
	return vtpm_evlog_writer_add(w, 0, VTPM_EV_NO_ACTION, (const uint8_t(*)[64])zero, ev, sizeof(ev), err);
}

int vtpm_evlog_writer_measure(struct vtpm_evlog_writer *w, uint32_t pcr, uint32_t type,
			      const void *tohash, size_t tohash_len, const void *event,
			      size_t event_len, uint8_t (*digests)[64], struct vg_err *err)
{
	uint8_t d[VTPM_EVLOG_MAX_ALGS][64] = {{0}};
	for (size_t i = 0; i < w->nalgs; i++) {
		unsigned int n = 0;
		if (!EVP_Digest(tohash_len ? tohash : "", tohash_len, d[i], &n, vtpm_alg_md(w->algs[i]), NULL))
			return vg_err_set(err, EIO, "event log writer: hashing failed");
		if (digests)
			memcpy(digests[i], d[i], 64);
	}
	return vtpm_evlog_writer_add(w, pcr, type, (const uint8_t(*)[64])d, event, event_len, err);
}

void vtpm_evlog_writer_free(struct vtpm_evlog_writer *w)
{
	vg_buf_free(&w->buf);
	memset(w, 0, sizeof(*w));
}
