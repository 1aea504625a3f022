/*
 * TCG PC Client event log parser and replay (vtpm.h section 1).
 * Formats: TCG PC Client Platform Firmware Profile 1.05, 10.2.1
 * (TCG_PCClientPCREvent), 10.2.2 (TCG_PCR_EVENT2), 10.4.5.1 (Spec ID
 * Event03) and 10.4.5.3 (StartupLocality).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "vtpm/vtpm.h"
#include "vtpm/vtpm_priv.h"

static const char SPEC_ID_03[16] = "Spec ID Event03";
static const char STARTUP_LOCALITY[16] = "StartupLocality";

size_t vtpm_alg_digest_size(uint16_t alg)
{
	switch (alg) {
	case VTPM_ALG_SHA1: return 20;
	case VTPM_ALG_SHA256: return 32;
	case VTPM_ALG_SHA384: return 48;
	case VTPM_ALG_SHA512: return 64;
	case VTPM_ALG_SM3_256: return 32;
	default: return 0;
	}
}

const char *vtpm_alg_name(uint16_t alg)
{
	switch (alg) {
	case VTPM_ALG_SHA1: return "sha1";
	case VTPM_ALG_SHA256: return "sha256";
	case VTPM_ALG_SHA384: return "sha384";
	case VTPM_ALG_SHA512: return "sha512";
	case VTPM_ALG_SM3_256: return "sm3_256";
	default: return NULL;
	}
}

const EVP_MD *vtpm_alg_md(uint16_t alg)
{
	switch (alg) {
	case VTPM_ALG_SHA1: return EVP_sha1();
	case VTPM_ALG_SHA256: return EVP_sha256();
	case VTPM_ALG_SHA384: return EVP_sha384();
	case VTPM_ALG_SHA512: return EVP_sha512();
	case VTPM_ALG_SM3_256: return EVP_sm3();
	default: return NULL;
	}
}

const char *vtpm_event_type_name(uint32_t type)
{
	static const struct { uint32_t type; const char *name; } names[] = {
		{0x00000000, "EV_PREBOOT_CERT"}, {0x00000001, "EV_POST_CODE"},
		{0x00000002, "EV_UNUSED"}, {0x00000003, "EV_NO_ACTION"},
		{0x00000004, "EV_SEPARATOR"}, {0x00000005, "EV_ACTION"},
		{0x00000006, "EV_EVENT_TAG"}, {0x00000007, "EV_S_CRTM_CONTENTS"},
		{0x00000008, "EV_S_CRTM_VERSION"}, {0x00000009, "EV_CPU_MICROCODE"},
		{0x0000000A, "EV_PLATFORM_CONFIG_FLAGS"}, {0x0000000B, "EV_TABLE_OF_DEVICES"},
		{0x0000000C, "EV_COMPACT_HASH"}, {0x0000000D, "EV_IPL"},
		{0x0000000E, "EV_IPL_PARTITION_DATA"}, {0x0000000F, "EV_NONHOST_CODE"},
		{0x00000010, "EV_NONHOST_CONFIG"}, {0x00000011, "EV_NONHOST_INFO"},
		{0x00000012, "EV_OMIT_BOOT_DEVICE_EVENTS"},
		{0x80000001, "EV_EFI_VARIABLE_DRIVER_CONFIG"}, {0x80000002, "EV_EFI_VARIABLE_BOOT"},
		{0x80000003, "EV_EFI_BOOT_SERVICES_APPLICATION"},
		{0x80000004, "EV_EFI_BOOT_SERVICES_DRIVER"}, {0x80000005, "EV_EFI_RUNTIME_SERVICES_DRIVER"},
		{0x80000006, "EV_EFI_GPT_EVENT"}, {0x80000007, "EV_EFI_ACTION"},
		{0x80000008, "EV_EFI_PLATFORM_FIRMWARE_BLOB"}, {0x80000009, "EV_EFI_HANDOFF_TABLES"},
		{0x8000000A, "EV_EFI_PLATFORM_FIRMWARE_BLOB2"}, {0x8000000B, "EV_EFI_HANDOFF_TABLES2"},
		{0x800000E0, "EV_EFI_VARIABLE_AUTHORITY"},
	};
	for (size_t i = 0; i < VG_ARRAY_SIZE(names); i++)
		if (names[i].type == type)
			return names[i].name;
	return NULL;
}

/* True when every remaining byte is 0x00, or every one is 0xFF. */
static bool only_padding(const struct vg_reader *r)
{
	size_t n = vg_rd_remaining(r);
	const uint8_t *p = r->data + r->off;
	if (n == 0)
		return true;
	uint8_t fill = p[0];
	if (fill != 0x00 && fill != 0xFF)
		return false;
	for (size_t i = 1; i < n; i++)
		if (p[i] != fill)
			return false;
	return true;
}

static int push_event(struct vtpm_evlog *log, size_t *cap, const struct vtpm_evlog_event *ev,
		      struct vg_err *err)
{
	if (log->nevents >= VTPM_EVLOG_MAX_EVENTS)
		return vg_err_set(err, EBADMSG, "event log: more than %u events", VTPM_EVLOG_MAX_EVENTS);
	if (log->nevents == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct vtpm_evlog_event *n = realloc(log->events, ncap * sizeof(*n));
		if (!n)
			return vg_err_set(err, ENOMEM, "event log: out of memory");
		log->events = n;
		*cap = ncap;
	}
	log->events[log->nevents++] = *ev;
	return 0;
}

static int parse_spec_id(struct vtpm_evlog *log, const uint8_t *d, uint32_t n, struct vg_err *err)
{
	struct vg_reader r;
	uint32_t nalgs = 0;
	vg_rd_init(&r, d, n);
	vg_rd_skip(&r, 16);
	vg_rd_le32(&r, &log->platform_class);
	vg_rd_u8(&r, &log->spec_minor);
	vg_rd_u8(&r, &log->spec_major);
	vg_rd_u8(&r, &log->spec_errata);
	vg_rd_u8(&r, &log->uintn_size);
	vg_rd_le32(&r, &nalgs);
	if (!vg_rd_ok(&r))
		return vg_err_set(err, EBADMSG, "event log: Spec ID event truncated");
	if (nalgs == 0 || nalgs > VTPM_EVLOG_MAX_ALGS)
		return vg_err_set(err, EBADMSG, "event log: Spec ID event lists %u algorithms (1..%d allowed)",
				  nalgs, VTPM_EVLOG_MAX_ALGS);
	for (uint32_t i = 0; i < nalgs; i++) {
		uint16_t alg = 0, size = 0;
		vg_rd_le16(&r, &alg);
		vg_rd_le16(&r, &size);
		if (!vg_rd_ok(&r))
			return vg_err_set(err, EBADMSG, "event log: Spec ID algorithm list truncated");
		size_t known = vtpm_alg_digest_size(alg);
		/* known algorithms must have their size; unknown ones are only skipped */
		if (size == 0 || size > 1024 || (known && known != size))
			return vg_err_set(err, EBADMSG, "event log: Spec ID gives algorithm 0x%04x size %u",
					  alg, size);
		for (size_t j = 0; j < i; j++)
			if (log->algs[j].alg == alg)
				return vg_err_set(err, EBADMSG, "event log: algorithm 0x%04x listed twice", alg);
		log->algs[i].alg = alg;
		log->algs[i].size = size;
	}
	log->nalgs = nalgs;
	if (vg_rd_u8(&r, &log->vendor_info_len) ||
	    vg_rd_ptr(&r, log->vendor_info_len, &log->vendor_info))
		return vg_err_set(err, EBADMSG, "event log: Spec ID vendor info (%u bytes) overruns the event (%u bytes)",
				  log->vendor_info_len, n);
	return 0;
}

/* SHA1-format record (TCG_PCClientPCREvent). */
static int parse_sha1_event(struct vg_reader *r, struct vtpm_evlog_event *ev, struct vg_err *err)
{
	const uint8_t *digest = NULL;
	ev->offset = r->off;
	vg_rd_le32(r, &ev->index);
	vg_rd_le32(r, &ev->type);
	vg_rd_ptr(r, 20, &digest);
	vg_rd_le32(r, &ev->data_len);
	if (!vg_rd_ok(r) || vg_rd_ptr(r, ev->data_len, &ev->data))
		return vg_err_set(err, EBADMSG, "event log: SHA1-format event at offset %zu truncated",
				  ev->offset);
	ev->ndigests = 1;
	ev->digests[0] = (struct vtpm_evlog_digest){VTPM_ALG_SHA1, 20, digest};
	return 0;
}

/* Crypto-agile record (TCG_PCR_EVENT2). */
static int parse_event2(const struct vtpm_evlog *log, struct vg_reader *r, struct vtpm_evlog_event *ev,
			struct vg_err *err)
{
	uint32_t count = 0;
	ev->offset = r->off;
	vg_rd_le32(r, &ev->index);
	vg_rd_le32(r, &ev->type);
	vg_rd_le32(r, &count);
	if (!vg_rd_ok(r))
		return vg_err_set(err, EBADMSG, "event log: event at offset %zu truncated", ev->offset);
	if (count > log->nalgs)
		return vg_err_set(err, EBADMSG, "event log: event at offset %zu has %u digests (header lists %zu)",
				  ev->offset, count, log->nalgs);
	for (uint32_t i = 0; i < count; i++) {
		uint16_t alg = 0;
		size_t size = 0;
		if (vg_rd_le16(r, &alg))
			return vg_err_set(err, EBADMSG, "event log: event at offset %zu truncated", ev->offset);
		for (size_t j = 0; j < log->nalgs; j++)
			if (log->algs[j].alg == alg)
				size = log->algs[j].size;
		if (!size)
			return vg_err_set(err, EBADMSG,
					  "event log: event at offset %zu has a digest of algorithm 0x%04x not in the Spec ID header",
					  ev->offset, alg);
		for (uint32_t j = 0; j < i; j++)
			if (ev->digests[j].alg == alg)
				return vg_err_set(err, EBADMSG, "event log: event at offset %zu repeats algorithm 0x%04x",
						  ev->offset, alg);
		ev->digests[i].alg = alg;
		ev->digests[i].size = (uint16_t)size;
		if (vg_rd_ptr(r, size, &ev->digests[i].bytes))
			return vg_err_set(err, EBADMSG, "event log: event at offset %zu: digest truncated", ev->offset);
	}
	ev->ndigests = count;
	if (vg_rd_le32(r, &ev->data_len) || vg_rd_ptr(r, ev->data_len, &ev->data))
		return vg_err_set(err, EBADMSG, "event log: event at offset %zu: event data truncated",
				  ev->offset);
	return 0;
}

static void note_startup_locality(struct vtpm_evlog *log, const struct vtpm_evlog_event *ev)
{
	if (ev->type != VTPM_EV_NO_ACTION || ev->index != 0 || ev->data_len < 17)
		return;
	if (memcmp(ev->data, STARTUP_LOCALITY, 16) != 0)
		return;
	log->has_startup_locality = true;
	log->startup_locality = ev->data[16];
}

int vtpm_evlog_parse(const uint8_t *data, size_t len, struct vtpm_evlog *log, struct vg_err *err)
{
	struct vg_reader r;
	size_t cap = 0;
	int rc;

	memset(log, 0, sizeof(*log));
	if (!data || len == 0)
		return vg_err_set(err, EBADMSG, "event log: empty");
	log->raw = malloc(len);
	if (!log->raw)
		return vg_err_set(err, ENOMEM, "event log: out of memory");
	memcpy(log->raw, data, len);
	log->raw_len = len;
	vg_rd_init(&r, log->raw, len);

	struct vtpm_evlog_event first = {0};
	if ((rc = parse_sha1_event(&r, &first, err)))
		goto fail;
	static const uint8_t zero20[20];
	/* CCEL puts the header at MR index 1, so the index is not checked. */
	if (first.type == VTPM_EV_NO_ACTION && first.data_len >= 16 + 12 &&
	    memcmp(first.digests[0].bytes, zero20, 20) == 0 && memcmp(first.data, SPEC_ID_03, 16) == 0) {
		log->crypto_agile = true;
		if ((rc = parse_spec_id(log, first.data, first.data_len, err)))
			goto fail;
	}
	if ((rc = push_event(log, &cap, &first, err)))
		goto fail;

	while (vg_rd_remaining(&r) > 0) {
		if (only_padding(&r))
			break;
		struct vtpm_evlog_event ev = {0};
		rc = log->crypto_agile ? parse_event2(log, &r, &ev, err) : parse_sha1_event(&r, &ev, err);
		if (rc)
			goto fail;
		note_startup_locality(log, &ev);
		if ((rc = push_event(log, &cap, &ev, err)))
			goto fail;
	}
	log->used_len = r.off;
	return 0;
fail:
	vtpm_evlog_free(log);
	return rc;
}

void vtpm_evlog_free(struct vtpm_evlog *log)
{
	if (!log)
		return;
	free(log->raw);
	free(log->events);
	memset(log, 0, sizeof(*log));
}

int vtpm_hash_extend(uint16_t alg, uint8_t *reg, const uint8_t *digest, struct vg_err *err)
{
	const EVP_MD *md = vtpm_alg_md(alg);
	size_t n = vtpm_alg_digest_size(alg);
	uint8_t buf[128];
	unsigned int outlen = 0;
	if (!md || !n)
		return vg_err_set(err, ENOTSUP, "hash algorithm 0x%04x not supported", alg);
	memcpy(buf, reg, n);
	memcpy(buf + n, digest, n);
	if (!EVP_Digest(buf, 2 * n, reg, &outlen, md, NULL) || outlen != n)
		return vg_err_set(err, EIO, "hash algorithm 0x%04x failed", alg);
	return 0;
}

int vtpm_evlog_replay_range(const struct vtpm_evlog *log, uint16_t alg, uint32_t first_index,
			    uint8_t (*regs)[64], size_t nregs, uint64_t *extended, struct vg_err *err)
{
	size_t size = vtpm_alg_digest_size(alg);
	bool in_log = false;

	if (extended)
		*extended = 0;
	if (!size)
		return vg_err_set(err, ENOTSUP, "event log replay: hash algorithm 0x%04x not supported", alg);
	if (log->crypto_agile) {
		for (size_t i = 0; i < log->nalgs; i++)
			in_log |= log->algs[i].alg == alg;
	} else {
		in_log = alg == VTPM_ALG_SHA1;
	}
	if (!in_log)
		return vg_err_set(err, ENOENT, "event log has no %s bank", vtpm_alg_name(alg));
	for (size_t i = 0; i < nregs; i++)
		memset(regs[i], 0, 64);
	if (log->has_startup_locality && first_index == 0 && nregs > 0) {
		regs[0][size - 1] = log->startup_locality;
		if (extended)
			*extended |= 1;
	}
	for (size_t e = 0; e < log->nevents; e++) {
		const struct vtpm_evlog_event *ev = &log->events[e];
		if (ev->type == VTPM_EV_NO_ACTION)
			continue;
		if (ev->index < first_index || (uint64_t)ev->index - first_index >= nregs)
			continue;
		const struct vtpm_evlog_digest *d = NULL;
		for (size_t i = 0; i < ev->ndigests; i++)
			if (ev->digests[i].alg == alg)
				d = &ev->digests[i];
		if (!d)
			return vg_err_set(err, EBADMSG, "event log: event %zu (offset %zu) has no %s digest", e,
					  ev->offset, vtpm_alg_name(alg));
		size_t ri = ev->index - first_index;
		int rc = vtpm_hash_extend(alg, regs[ri], d->bytes, err);
		if (rc)
			return rc;
		if (extended && ri < 64)
			*extended |= 1ull << ri;
	}
	return 0;
}

int vtpm_evlog_replay(const struct vtpm_evlog *log, uint16_t alg, uint8_t (*regs)[64], size_t nregs,
		      struct vg_err *err)
{
	return vtpm_evlog_replay_range(log, alg, 0, regs, nregs, NULL, err);
}
