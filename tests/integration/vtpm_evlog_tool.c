/*
 * Helper for test_eventlog.sh:
 *   vtpm_evlog_tool write OUT [STARTUP_LOCALITY]
 *       writes a SHA-256 + SHA-384 crypto-agile log of a small boot and
 *       prints, per measurement, the tpm2_pcrextend argument that makes a
 *       TPM match it ("PCR:sha256=HEX,sha384=HEX")
 *   vtpm_evlog_tool replay FILE
 *       parses a log with vtpm_evlog_parse and prints "BANK PCR 0xHEX" for
 *       every PCR the log extends, in every bank its events carry
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vtpm/vtpm.h"

static int do_write(const char *out, int locality)
{
	struct vg_err err = {0};
	struct vtpm_evlog_writer w;
	const uint16_t algs[2] = {VTPM_ALG_SHA256, VTPM_ALG_SHA384};
	static const struct { uint32_t pcr, type; const char *what; } ev[] = {
		{0, VTPM_EV_S_CRTM_VERSION, "vigil firmware 1.0"},
		{0, VTPM_EV_EFI_PLATFORM_FIRMWARE_BLOB, "firmware volume"},
		{4, VTPM_EV_EFI_ACTION, "Calling EFI Application from Boot Option"},
		{8, VTPM_EV_IPL, "console=ttyS0 root=/dev/vda"},
		{9, VTPM_EV_IPL, "initrd"},
		{0, VTPM_EV_SEPARATOR, "\0\0\0\0"},
		{4, VTPM_EV_SEPARATOR, "\0\0\0\0"},
	};
	if (vtpm_evlog_writer_init(&w, algs, 2, &err))
		goto fail;
	if (locality >= 0 && vtpm_evlog_writer_startup_locality(&w, (uint8_t)locality, &err))
		goto fail;
	for (size_t i = 0; i < VG_ARRAY_SIZE(ev); i++) {
		uint8_t d[2][64];
		size_t n = ev[i].type == VTPM_EV_SEPARATOR ? 4 : strlen(ev[i].what);
		/* UEFI_PLATFORM_FIRMWARE_BLOB: base and length of the measured blob */
		uint8_t blob[16];
		vg_put_le64(blob, 0xFFC00000u);
		vg_put_le64(blob + 8, 0x400000u);
		bool is_blob = ev[i].type == VTPM_EV_EFI_PLATFORM_FIRMWARE_BLOB;
		if (vtpm_evlog_writer_measure(&w, ev[i].pcr, ev[i].type, ev[i].what, n, is_blob ? blob : (const void *)ev[i].what,
					      is_blob ? sizeof(blob) : n, d, &err))
			goto fail;
		char h256[65], h384[97];
		vg_hex_encode(d[0], 32, h256);
		vg_hex_encode(d[1], 48, h384);
		printf("%u:sha256=%s,sha384=%s\n", ev[i].pcr, h256, h384);
	}
	if (vg_write_file_atomic(out, w.buf.data, w.buf.len, 0644, &err))
		goto fail;
	vtpm_evlog_writer_free(&w);
	return 0;
fail:
	fprintf(stderr, "vtpm_evlog_tool: %s\n", err.msg);
	vtpm_evlog_writer_free(&w);
	return 2;
}

static int do_replay(const char *path)
{
	struct vg_err err = {0};
	uint8_t *data = NULL;
	size_t len = 0;
	struct vtpm_evlog log;
	if (vg_read_file(path, 1 << 24, &data, &len, &err) || vtpm_evlog_parse(data, len, &log, &err)) {
		fprintf(stderr, "vtpm_evlog_tool: %s\n", err.msg);
		free(data);
		return 1;
	}
	free(data);
	size_t nb = log.crypto_agile ? log.nalgs : 1;
	for (size_t b = 0; b < nb; b++) {
		uint16_t alg = log.crypto_agile ? log.algs[b].alg : VTPM_ALG_SHA1;
		uint8_t regs[24][64];
		uint64_t ext = 0;
		if (!vtpm_alg_name(alg))
			continue;
		/* a bank the header lists but the events do not carry: skipped, as
		 * tpm2_eventlog lists no PCR for it */
		if (vtpm_evlog_replay_range(&log, alg, 0, regs, 24, &ext, &err)) {
			fprintf(stderr, "vtpm_evlog_tool: %s bank skipped: %s\n", vtpm_alg_name(alg), err.msg);
			continue;
		}
		for (int i = 0; i < 24; i++) {
			if (!(ext & (1ull << i)))
				continue;
			char hex[129];
			vg_hex_encode(regs[i], vtpm_alg_digest_size(alg), hex);
			printf("%s %d 0x%s\n", vtpm_alg_name(alg), i, hex);
		}
	}
	vtpm_evlog_free(&log);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "write"))
		return do_write(argv[2], argc > 3 ? atoi(argv[3]) : -1);
	if (argc == 3 && !strcmp(argv[1], "replay"))
		return do_replay(argv[2]);
	fprintf(stderr, "usage: vtpm_evlog_tool write OUT [LOCALITY] | replay FILE\n");
	return 2;
}
