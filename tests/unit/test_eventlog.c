/* Unit tests for the TCG event log parser, replay and writer (vtpm.h sections 1, 2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "vtpm/vtpm.h"

static const char *vectors_dir(void)
{
	const char *v = getenv("VIGIL_VECTORS");
	return v && *v ? v : "../shared/vectors";
}

/* Reads a vector file (path relative to the vectors folder); false when absent. */
static bool read_vector(const char *rel, uint8_t **data, size_t *len)
{
	char path[4096];
	struct vg_err err = {0};
	snprintf(path, sizeof(path), "%s/%s", vectors_dir(), rel);
	return vg_read_file(path, 1 << 22, data, len, &err) == 0;
}

static uint16_t bank_alg(const char *name)
{
	if (!strcmp(name, "sha1")) return VTPM_ALG_SHA1;
	if (!strcmp(name, "sha256")) return VTPM_ALG_SHA256;
	if (!strcmp(name, "sha384")) return VTPM_ALG_SHA384;
	if (!strcmp(name, "sha512")) return VTPM_ALG_SHA512;
	return 0;
}

/* Checks a log against the `pcrs:` section of tpm2_eventlog's YAML: every
 * listed PCR equals our replay, and we extended no PCR it does not list. */
static int check_yaml(const char *bin_path, const char *yaml_path)
{
	uint8_t *data = NULL, *yaml = NULL;
	size_t len = 0, ylen = 0;
	struct vg_err err = {0};
	struct vtpm_evlog log;
	int checked = 0;

	assert_int_equal(vg_read_file(bin_path, 1 << 24, &data, &len, &err), 0);
	assert_int_equal(vg_read_file(yaml_path, 1 << 24, &yaml, &ylen, &err), 0);
	if (vtpm_evlog_parse(data, len, &log, &err) != 0)
		fail_msg("%s: %s", bin_path, err.msg);

	char *text = malloc(ylen + 1);
	memcpy(text, yaml, ylen);
	text[ylen] = 0;
	char *p = strstr(text, "\npcrs:\n");
	assert_non_null(p);
	uint16_t alg = 0;
	uint8_t regs[24][64];
	uint64_t extended = 0, listed = 0;
	char *save = NULL;
	for (char *line = strtok_r(p + 7, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[16];
		unsigned idx;
		char hex[200];
		if (sscanf(line, "  %15[a-z0-9]:", name) == 1 && line[2] != ' ') {
			if (alg)
				assert_int_equal(listed, extended);
			alg = bank_alg(name);
			assert_int_not_equal(alg, 0);
			if (vtpm_evlog_replay_range(&log, alg, 0, regs, 24, &extended, &err))
				fail_msg("%s: %s", bin_path, err.msg);
			listed = 0;
		} else if (sscanf(line, "    %u : 0x%199s", &idx, hex) == 2) {
			size_t n = vtpm_alg_digest_size(alg);
			uint8_t want[64];
			assert_true(idx < 24);
			assert_int_equal(strlen(hex), 2 * n);
			assert_int_equal(vg_hex_decode(hex, want, n, &err), 0);
			if (memcmp(want, regs[idx], n) != 0)
				fail_msg("%s: %s PCR %u differs", bin_path, vtpm_alg_name(alg), idx);
			listed |= 1ull << idx;
			checked++;
		} else {
			break;
		}
	}
	assert_int_equal(listed, extended);
	free(text);
	free(data);
	free(yaml);
	vtpm_evlog_free(&log);
	return checked;
}

static void test_vectors_yaml(void **state)
{
	(void)state;
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/eventlog", vectors_dir());
	DIR *d = opendir(dir);
	if (!d)
		skip();
	struct dirent *de;
	int files = 0, pcrs = 0;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n < 9 || strcmp(de->d_name + n - 9, ".bin.yaml") != 0)
			continue;
		char yaml[8192], bin[8192];
		snprintf(yaml, sizeof(yaml), "%s/%s", dir, de->d_name);
		snprintf(bin, sizeof(bin), "%s/%.*s", dir, (int)(n - 5), de->d_name);
		pcrs += check_yaml(bin, yaml);
		files++;
	}
	closedir(d);
	print_message("eventlog vectors: %d logs, %d PCR values matched\n", files, pcrs);
	assert_true(files >= 11);
	assert_true(pcrs > 100);
}

static void test_sha1_legacy_log(void **state)
{
	(void)state;
	uint8_t *data;
	size_t len;
	struct vg_err err = {0};
	struct vtpm_evlog log;
	if (!read_vector("eventlog/event-uefi-sha1-log.bin", &data, &len))
		skip();
	assert_int_equal(vtpm_evlog_parse(data, len, &log, &err), 0);
	assert_false(log.crypto_agile);
	assert_int_equal(log.events[0].type, VTPM_EV_S_CRTM_VERSION);
	uint8_t regs[8][64];
	assert_int_equal(vtpm_evlog_replay(&log, VTPM_ALG_SHA256, regs, 8, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "sha256"));
	vtpm_evlog_free(&log);
	free(data);
}

/* specid-vendordata.bin declares 4 bytes of vendor info beyond the Spec ID
 * event's size: we refuse to read outside the event (tpm2_eventlog reads
 * past it). A well-formed vendor info block parses. */
static void test_vendor_info(void **state)
{
	(void)state;
	uint8_t *data;
	size_t len;
	struct vg_err err = {0};
	struct vtpm_evlog log;
	if (!read_vector("eventlog/specid-vendordata.bin", &data, &len))
		skip();
	assert_int_equal(vtpm_evlog_parse(data, len, &log, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "vendor info"));
	/* fix the event size to cover the vendor info: now it parses */
	assert_int_equal(len, 73);
	vg_put_le32(data + 28, 41);
	assert_int_equal(vtpm_evlog_parse(data, len, &log, &err), 0);
	assert_true(log.crypto_agile);
	assert_int_equal(log.nalgs, 2);
	assert_int_equal(log.vendor_info_len, 4);
	assert_memory_equal(log.vendor_info, "\xde\xad\xbe\xef", 4);
	vtpm_evlog_free(&log);
	free(data);
}

/* The TDX CCEL paired with the GCP quote replays to its RTMRs (README). */
static void test_ccel_rtmrs(void **state)
{
	(void)state;
	uint8_t *data;
	size_t len;
	struct vg_err err = {0};
	struct vtpm_evlog log;
	if (!read_vector("tdx/go-tdx-guest/ccel_data.dat", &data, &len))
		skip();
	assert_int_equal(vtpm_evlog_parse(data, len, &log, &err), 0);
	assert_true(log.used_len < len); /* 0xFF padding was skipped */
	uint8_t rtmr[4][64], five[5][64];
	assert_int_equal(vtpm_evlog_replay_range(&log, VTPM_ALG_SHA384, 1, rtmr, 4, NULL, &err), 0);
	assert_int_equal(vtpm_evlog_replay(&log, VTPM_ALG_SHA384, five, 5, &err), 0);
	static const char *want[4] = {
		"3fa2f61f395b7f5feefb4ec2df61297f109ad8abcd6410c1b7df60f21f37b19297fc35e544039c7e1edece752afd17f6",
		"f62dbc072bd5d3f3438b7b35c39a727f5aea2ffc2473f43723953f530daf62504f0a7944aa62c41a86e8a878c2b122c1",
		"4969684dc87381fc3b3134176c8d8806eaf0a901859f5f70cfae8d17714b46c10a8de219048c9fc09f11f381a6fbe7c1",
		"000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
	};
	for (int i = 0; i < 4; i++) {
		char hex[97];
		vg_hex_encode(rtmr[i], 48, hex);
		assert_string_equal(hex, want[i]);
		assert_memory_equal(rtmr[i], five[i + 1], 48);
	}
	vtpm_evlog_free(&log);
	free(data);
}

/* Writer -> parser round trip, StartupLocality, padding and truncation. */
static void test_writer_roundtrip(void **state)
{
	(void)state;
	struct vg_err err = {0};
	struct vtpm_evlog_writer w;
	const uint16_t algs[2] = {VTPM_ALG_SHA256, VTPM_ALG_SHA384};
	assert_int_equal(vtpm_evlog_writer_init(&w, algs, 2, &err), 0);
	assert_int_equal(vtpm_evlog_writer_startup_locality(&w, 3, &err), 0);
	uint8_t dg[2][64];
	assert_int_equal(vtpm_evlog_writer_measure(&w, 0, VTPM_EV_S_CRTM_VERSION, "fw", 2, "fw", 2, dg, &err), 0);
	assert_int_equal(vtpm_evlog_writer_measure(&w, 4, VTPM_EV_EFI_BOOT_SERVICES_APPLICATION, "kernel", 6,
						   NULL, 0, NULL, &err), 0);

	/* expected PCR0 sha256: extend(0..03, sha256("fw")) */
	uint8_t pcr0[64] = {0};
	pcr0[31] = 3;
	uint8_t d[32];
	unsigned int dl;
	EVP_Digest("fw", 2, d, &dl, EVP_sha256(), NULL);
	assert_memory_equal(d, dg[0], 32);

	/* pad like a fixed-size CCEL table */
	size_t used = w.buf.len;
	uint8_t *padded = malloc(used + 100);
	memcpy(padded, w.buf.data, used);
	memset(padded + used, 0xFF, 100);
	struct vtpm_evlog log;
	assert_int_equal(vtpm_evlog_parse(padded, used + 100, &log, &err), 0);
	assert_int_equal(log.nevents, 4);
	assert_true(log.has_startup_locality);
	assert_int_equal(log.startup_locality, 3);
	assert_int_equal(log.used_len, used);
	uint8_t regs[24][64];
	uint64_t ext = 0;
	assert_int_equal(vtpm_evlog_replay_range(&log, VTPM_ALG_SHA256, 0, regs, 24, &ext, &err), 0);
	assert_int_equal(ext, (1u << 0) | (1u << 4));
	uint8_t buf[64];
	memcpy(buf, pcr0, 32);
	memcpy(buf + 32, d, 32);
	EVP_Digest(buf, 64, pcr0, &dl, EVP_sha256(), NULL);
	assert_memory_equal(regs[0], pcr0, 32);
	assert_int_equal(vtpm_evlog_replay(&log, VTPM_ALG_SHA1, regs, 24, &err), -ENOENT);
	vtpm_evlog_free(&log);

	/* every truncation either fails cleanly or ends at an event boundary
	 * (a cut inside leading zero bytes looks like zero padding) */
	size_t bounds[4];
	assert_int_equal(vtpm_evlog_parse(padded, used, &log, &err), 0);
	for (int i = 0; i < 4; i++)
		bounds[i] = i < 3 ? log.events[i + 1].offset : used;
	vtpm_evlog_free(&log);
	int ok = 0;
	for (size_t n = 1; n < used; n++) {
		if (vtpm_evlog_parse(padded, n, &log, &err) == 0) {
			bool at_bound = false;
			for (int i = 0; i < 4; i++)
				at_bound |= log.used_len == bounds[i];
			assert_true(at_bound);
			ok++;
			vtpm_evlog_free(&log);
		} else {
			assert_int_equal(err.code, EBADMSG);
		}
	}
	assert_true(ok >= 3);
	free(padded);
	vtpm_evlog_writer_free(&w);
}

static void test_malformed(void **state)
{
	(void)state;
	struct vg_err err = {0};
	struct vtpm_evlog log;
	assert_int_equal(vtpm_evlog_parse(NULL, 0, &log, &err), -EBADMSG);
	struct vtpm_evlog_writer w;
	const uint16_t algs[1] = {VTPM_ALG_SHA256};
	assert_int_equal(vtpm_evlog_writer_init(&w, algs, 1, &err), 0);
	assert_int_equal(vtpm_evlog_writer_measure(&w, 1, VTPM_EV_ACTION, "x", 1, "x", 1, NULL, &err), 0);
	uint8_t *b = w.buf.data;
	size_t hdr = 32 + vg_le32(b + 28);
	/* digest count larger than the header's algorithm list */
	vg_put_le32(b + hdr + 8, 2);
	assert_int_equal(vtpm_evlog_parse(b, w.buf.len, &log, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "digests"));
	vg_put_le32(b + hdr + 8, 1);
	/* an algorithm not in the header */
	vg_put_le16(b + hdr + 12, VTPM_ALG_SHA1);
	assert_int_equal(vtpm_evlog_parse(b, w.buf.len, &log, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "not in the Spec ID header"));
	vg_put_le16(b + hdr + 12, VTPM_ALG_SHA256);
	/* huge event size */
	vg_put_le32(b + hdr + 14 + 32, 0xFFFFFFF0u);
	assert_int_equal(vtpm_evlog_parse(b, w.buf.len, &log, &err), -EBADMSG);
	/* zero algorithms in the Spec ID header */
	vg_put_le32(b + hdr + 14 + 32, 1);
	vg_put_le32(b + 32 + 24, 0);
	assert_int_equal(vtpm_evlog_parse(b, w.buf.len, &log, &err), -EBADMSG);
	vtpm_evlog_writer_free(&w);
}

/* A digest of an algorithm we do not know is sized from the Spec ID header. */
static void test_unknown_algorithm(void **state)
{
	(void)state;
	struct vg_buf b = {0};
	struct vg_err err = {0};
	uint8_t zero[40] = {0}, d256[32], d99[40];
	memset(d256, 0x11, sizeof(d256));
	memset(d99, 0x99, sizeof(d99));
	/* header: SHA256 (32) and vendor algorithm 0x0099 (40) */
	vg_buf_append_le32(&b, 0);
	vg_buf_append_le32(&b, VTPM_EV_NO_ACTION);
	vg_buf_append(&b, zero, 20);
	vg_buf_append_le32(&b, 16 + 12 + 8 + 1);
	vg_buf_append(&b, "Spec ID Event03", 16);
	vg_buf_append_le32(&b, 0);
	vg_buf_append_le32(&b, 0x02000000); /* minor 0, major 2, errata 0, uintn 0 */
	vg_buf_append_le32(&b, 2);
	vg_buf_append_le16(&b, VTPM_ALG_SHA256);
	vg_buf_append_le16(&b, 32);
	vg_buf_append_le16(&b, 0x0099);
	vg_buf_append_le16(&b, 40);
	vg_buf_append_u8(&b, 0);
	/* one event with both digests */
	vg_buf_append_le32(&b, 7);
	vg_buf_append_le32(&b, VTPM_EV_ACTION);
	vg_buf_append_le32(&b, 2);
	vg_buf_append_le16(&b, 0x0099);
	vg_buf_append(&b, d99, 40);
	vg_buf_append_le16(&b, VTPM_ALG_SHA256);
	vg_buf_append(&b, d256, 32);
	vg_buf_append_le32(&b, 2);
	vg_buf_append(&b, "ok", 2);
	struct vtpm_evlog log;
	assert_int_equal(vtpm_evlog_parse(b.data, b.len, &log, &err), 0);
	assert_int_equal(log.nevents, 2);
	assert_int_equal(log.events[1].digests[0].size, 40);
	assert_int_equal(log.events[1].data_len, 2);
	uint8_t regs[8][64];
	uint64_t ext = 0;
	assert_int_equal(vtpm_evlog_replay_range(&log, VTPM_ALG_SHA256, 0, regs, 8, &ext, &err), 0);
	assert_int_equal(ext, 1u << 7);
	assert_int_equal(vtpm_evlog_replay(&log, 0x0099, regs, 8, &err), -ENOTSUP);
	vtpm_evlog_free(&log);
	vg_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors_yaml),
		cmocka_unit_test(test_sha1_legacy_log),
		cmocka_unit_test(test_vendor_info),
		cmocka_unit_test(test_ccel_rtmrs),
		cmocka_unit_test(test_writer_roundtrip),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_unknown_algorithm),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
