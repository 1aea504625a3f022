/*
 * Unit tests for TDX measured direct boot: the PE/COFF Authenticode parser
 * (firmware.h, fw_pe_authenticode) and the RTMR1/RTMR2 event model (tdx.h
 * section 2, tdx_boot_predict, tdx_rtmr_extend). The Authenticode interop with
 * osslsigncode on a real kernel, and an independent Python re-computation of the
 * event chain, are in tests/integration/test_measure_tdx_boot.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/firmware.h"
#include "tdx/tdx.h"
#include "vtpm/vtpm.h"

/* ------------------------------------------------------------ a test PE */
/*
 * PE32+ laid out by hand: DOS header (e_lfanew 0x80), "PE\0\0" at 0x80, file
 * header at 0x84, optional header at 0x98 (240 bytes: 112 fixed + 16 directories),
 * section table at 0x188 (2 sections), SizeOfHeaders 0x200; .text [0x200, 0x400),
 * .data [0x400, 0x480); 0x30 bytes of trailing data; a certificate table of 0x50
 * bytes at 0x4b0. Every byte not a header field is a pattern, so any range mistake
 * changes the digest.
 */
#define PE_OFF 0x80u
#define OPT (PE_OFF + 24u)
#define CHECKSUM (OPT + 64u)
#define SECDIR (OPT + 112u + 4u * 8u)
#define SECTAB (OPT + 240u)
#define SOH 0x200u
#define TEXT_OFF 0x200u
#define TEXT_LEN 0x200u
#define DATA_OFF 0x400u
#define DATA_LEN 0x80u
#define TRAIL 0x30u
#define CERT_OFF (DATA_OFF + DATA_LEN + TRAIL)
#define CERT_LEN 0x50u
#define IMG_LEN (CERT_OFF + CERT_LEN)

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }

static void section(uint8_t *img, unsigned i, const char *name, uint32_t size, uint32_t off)
{
	uint8_t *s = img + SECTAB + 40 * i;
	memset(s, 0, 40);
	memcpy(s, name, strlen(name));
	put32(s + 8, size);  /* VirtualSize */
	put32(s + 12, off);  /* VirtualAddress */
	put32(s + 16, size); /* SizeOfRawData */
	put32(s + 20, off);  /* PointerToRawData */
}

static uint8_t *make_pe(size_t *len)
{
	uint8_t *img = malloc(IMG_LEN);
	assert_non_null(img);
	for (size_t i = 0; i < IMG_LEN; i++)
		img[i] = (uint8_t)(i * 31 + 7);
	img[0] = 'M';
	img[1] = 'Z';
	put32(img + 0x3c, PE_OFF);
	memcpy(img + PE_OFF, "PE\0\0", 4);
	put16(img + PE_OFF + 4, 0x8664); /* Machine */
	put16(img + PE_OFF + 6, 2);      /* NumberOfSections */
	put16(img + PE_OFF + 20, 240);   /* SizeOfOptionalHeader */
	put16(img + OPT, 0x20b);         /* PE32+ */
	put32(img + OPT + 60, SOH);      /* SizeOfHeaders */
	put16(img + OPT + 68, 10);       /* Subsystem: EFI application */
	put32(img + OPT + 108, 16);      /* NumberOfRvaAndSizes */
	put32(img + SECDIR, CERT_OFF);
	put32(img + SECDIR + 4, CERT_LEN);
	section(img, 0, ".text", TEXT_LEN, TEXT_OFF);
	section(img, 1, ".data", DATA_LEN, DATA_OFF);
	*len = IMG_LEN;
	return img;
}

/* Digest of the listed (offset, length) ranges of img, in order. */
struct part {
	size_t off, len;
};
static void hash_parts(const uint8_t *img, const char *md, const struct part *p, size_t n, uint8_t *out)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned int l;
	EVP_DigestInit_ex(c, EVP_get_digestbyname(md), NULL);
	for (size_t i = 0; i < n; i++)
		EVP_DigestUpdate(c, img + p[i].off, p[i].len);
	EVP_DigestFinal_ex(c, out, &l);
	EVP_MD_CTX_free(c);
}

/* The expected digest, assembled from the spec's ranges written out by hand. */
static void expected(const uint8_t *img, const char *md, uint8_t *out)
{
	const struct part p[] = {
		{0, CHECKSUM},                                    /* up to CheckSum */
		{CHECKSUM + 4, SECDIR - CHECKSUM - 4},            /* to the cert directory */
		{SECDIR + 8, SOH - SECDIR - 8},                   /* rest of the headers */
		{TEXT_OFF, TEXT_LEN},
		{DATA_OFF, DATA_LEN},
		{DATA_OFF + DATA_LEN, TRAIL},                     /* trailing, not the cert */
	};
	hash_parts(img, md, p, sizeof(p) / sizeof(p[0]), out);
}

static int digest(const uint8_t *img, size_t len, uint8_t out[48], struct fw_pe_info *pi, struct vg_err *err)
{
	size_t n = 0;
	int rc = fw_pe_authenticode(img, len, "SHA384", out, &n, pi, err);
	if (!rc)
		assert_int_equal(n, 48);
	return rc;
}

static void test_pe_digest_ranges(void **state)
{
	(void)state;
	size_t len;
	uint8_t *img = make_pe(&len), got[48], want[48], want256[32], got256[32];
	struct fw_pe_info pi;
	struct vg_err err = {0};
	assert_int_equal(digest(img, len, got, &pi, &err), 0);
	expected(img, "SHA384", want);
	assert_memory_equal(got, want, 48);
	assert_true(pi.pe32plus);
	assert_int_equal(pi.subsystem, FW_PE_SUBSYSTEM_EFI_APPLICATION);
	assert_int_equal(pi.nsections, 2);
	assert_int_equal(pi.sum_of_bytes_hashed, SOH + TEXT_LEN + DATA_LEN);
	assert_int_equal(pi.trailing, TRAIL);
	assert_int_equal(pi.cert_size, CERT_LEN);
	size_t n = 0;
	assert_int_equal(fw_pe_authenticode(img, len, "SHA256", got256, &n, NULL, &err), 0);
	assert_int_equal(n, 32);
	expected(img, "SHA256", want256);
	assert_memory_equal(got256, want256, 32);
	/* excluded: CheckSum, the certificate directory entry, the certificate table */
	uint8_t other[48];
	img[CHECKSUM] ^= 0xff;
	img[CERT_OFF + 3] ^= 0xff;
	assert_int_equal(digest(img, len, other, NULL, &err), 0);
	assert_memory_equal(other, got, 48);
	put32(img + SECDIR, CERT_OFF); /* same values: still equal */
	/* included: a header byte, a section byte, a trailing byte */
	const size_t hashed[] = {0x10, OPT + 4, TEXT_OFF + 5, DATA_OFF + DATA_LEN + 1};
	for (size_t i = 0; i < sizeof(hashed) / sizeof(hashed[0]); i++) {
		img[hashed[i]] ^= 0x55;
		assert_int_equal(digest(img, len, other, NULL, &err), 0);
		assert_memory_not_equal(other, got, 48);
		img[hashed[i]] ^= 0x55;
	}
	free(img);
}

static void test_pe_sections_sorted_and_empty_skipped(void **state)
{
	(void)state;
	size_t len;
	uint8_t *img = make_pe(&len), a[48], b[48];
	struct vg_err err = {0};
	struct fw_pe_info pi;
	/* the table in the other order: still hashed in file-offset order (.text first),
	 * which expected() spells out; table order would hash .data first. Then a third,
	 * empty section (.bss): nothing hashed for it but its header bytes. */
	section(img, 0, ".data", DATA_LEN, DATA_OFF);
	section(img, 1, ".text", TEXT_LEN, TEXT_OFF);
	for (int round = 0; round < 2; round++) {
		if (round) {
			put16(img + PE_OFF + 6, 3);
			section(img, 2, ".bss", 0, 0);
		}
		assert_int_equal(digest(img, len, b, &pi, &err), 0);
		expected(img, "SHA384", a);
		assert_memory_equal(a, b, 48);
	}
	assert_int_equal(pi.sum_of_bytes_hashed, SOH + TEXT_LEN + DATA_LEN);
	free(img);
}

static void test_pe_no_security_directory(void **state)
{
	(void)state;
	size_t len;
	uint8_t *img = make_pe(&len), got[48], want[48];
	struct vg_err err = {0};
	/* 4 directories (no security entry) and a matching SizeOfOptionalHeader: the
	 * headers are hashed from after CheckSum to SizeOfHeaders, the trailing data to
	 * the end of the file (nothing is a certificate). The section table moves. */
	put32(img + OPT + 108, 4);
	put16(img + PE_OFF + 20, 112 + 32);
	memmove(img + OPT + 144, img + SECTAB, 80);
	struct fw_pe_info pi;
	assert_int_equal(digest(img, len, got, &pi, &err), 0);
	const struct part parts[] = {{0, CHECKSUM}, {CHECKSUM + 4, SOH - CHECKSUM - 4}, {TEXT_OFF, TEXT_LEN + DATA_LEN},
				     {DATA_OFF + DATA_LEN, IMG_LEN - (DATA_OFF + DATA_LEN)}};
	hash_parts(img, "SHA384", parts, 4, want);
	assert_memory_equal(got, want, 48);
	assert_int_equal(pi.trailing, IMG_LEN - (DATA_OFF + DATA_LEN));
	free(img);
}

static void test_pe_pe32_and_no_mz(void **state)
{
	(void)state;
	/* PE32 (magic 0x10b, 96-byte fixed part) with the PE header at offset 0 (no MZ) */
	uint8_t img[0x400];
	for (size_t i = 0; i < sizeof(img); i++)
		img[i] = (uint8_t)(i * 13);
	memcpy(img, "PE\0\0", 4);
	put16(img + 4, 0x14c);
	put16(img + 6, 1);
	put16(img + 20, 96 + 16 * 8);
	put16(img + 24, 0x10b);
	put32(img + 24 + 60, 0x200);
	put16(img + 24 + 68, 10);
	put32(img + 24 + 92, 16);
	put32(img + 24 + 96 + 32, 0);
	put32(img + 24 + 96 + 36, 0);
	uint8_t *s = img + 24 + 224;
	memset(s, 0, 40);
	put32(s + 16, 0x200);
	put32(s + 20, 0x200);
	uint8_t got[48], want[48];
	struct fw_pe_info pi;
	struct vg_err err = {0};
	assert_int_equal(digest(img, sizeof(img), got, &pi, &err), 0);
	assert_false(pi.pe32plus);
	const struct part parts[] = {{0, 24 + 64}, {24 + 68, (24 + 96 + 32) - (24 + 68)},
				     {24 + 96 + 40, 0x200 - (24 + 96 + 40)}, {0x200, 0x200}};
	hash_parts(img, "SHA384", parts, 4, want);
	assert_memory_equal(got, want, 48);
}

/* Every truncation of the headers fails with a message, never reads past the end. */
static void test_pe_truncated(void **state)
{
	(void)state;
	size_t len;
	uint8_t *img = make_pe(&len), out[48];
	for (size_t cut = 0; cut < DATA_OFF + DATA_LEN; cut++) {
		uint8_t *copy = malloc(cut ? cut : 1); /* exact size: ASan sees any over-read */
		memcpy(copy, img, cut);
		struct vg_err err = {0};
		assert_int_not_equal(digest(copy, cut, out, NULL, &err), 0);
		assert_true(strlen(err.msg) > 0);
		free(copy);
	}
	free(img);
}

static void expect_bad(uint8_t *img, size_t len, const char *needle)
{
	uint8_t out[48];
	struct vg_err err = {0};
	assert_int_equal(digest(img, len, out, NULL, &err), -EBADMSG);
	if (!strstr(err.msg, needle))
		fail_msg("'%s' not in '%s'", needle, err.msg);
}

static void test_pe_malformed(void **state)
{
	(void)state;
	size_t len;
	uint8_t *img = make_pe(&len);
	uint8_t keep[IMG_LEN];
	memcpy(keep, img, IMG_LEN);
#define RESET() memcpy(img, keep, IMG_LEN)
	put32(img + 0x3c, 0xfffffff0);
	expect_bad(img, len, "beyond the file");
	RESET();
	img[PE_OFF + 1] = 'X';
	expect_bad(img, len, "not a PE/COFF");
	RESET();
	put16(img + OPT, 0x107);
	expect_bad(img, len, "magic");
	RESET();
	put32(img + OPT + 108, 17);
	expect_bad(img, len, "NumberOfRvaAndSizes 17");
	RESET();
	put16(img + PE_OFF + 20, 232);
	expect_bad(img, len, "SizeOfOptionalHeader");
	RESET();
	put32(img + OPT + 60, IMG_LEN + 1);
	expect_bad(img, len, "SizeOfHeaders");
	RESET();
	put16(img + PE_OFF + 6, 9); /* section table runs past SizeOfHeaders */
	expect_bad(img, len, "section table");
	RESET();
	put16(img + PE_OFF + 6, 300);
	expect_bad(img, len, "300 sections");
	RESET();
	section(img, 1, ".data", 0x100000, DATA_OFF); /* oversize */
	expect_bad(img, len, "beyond the file");
	RESET();
	section(img, 1, ".data", 0xffffffffu, 0xffffff00u); /* 32-bit wrap */
	expect_bad(img, len, "beyond the file");
	RESET();
	section(img, 1, ".data", DATA_LEN, TEXT_OFF + 0x100); /* overlaps .text */
	expect_bad(img, len, "overlap");
	RESET();
	section(img, 0, ".text", TEXT_LEN, 0x100); /* inside the headers */
	expect_bad(img, len, "overlaps the headers");
	RESET();
	put32(img + SECDIR + 4, CERT_LEN + TRAIL + 1); /* certificate larger than what is left */
	expect_bad(img, len, "certificate table");
	RESET();
#undef RESET
	free(img);
}

/* ------------------------------------------------------------ RTMR model */
static void sha384(const void *p, size_t n, uint8_t out[48])
{
	unsigned int l;
	EVP_Digest(p, n, out, &l, EVP_sha384(), NULL);
}

static void test_rtmr_extend(void **state)
{
	(void)state;
	uint8_t r[48] = {0}, d[48], buf[96], want[48];
	struct vg_err err = {0};
	memset(d, 0xab, 48);
	memcpy(buf + 48, d, 48);
	memset(buf, 0, 48);
	sha384(buf, 96, want);
	assert_int_equal(tdx_rtmr_extend(r, d, &err), 0);
	assert_memory_equal(r, want, 48);
	memcpy(buf, want, 48);
	sha384(buf, 96, want);
	assert_int_equal(tdx_rtmr_extend(r, d, &err), 0);
	assert_memory_equal(r, want, 48);
}

/* A test kernel: the test PE with a bzImage header naming a version. */
static uint8_t *make_kernel(const char *version, size_t *len)
{
	uint8_t *k = make_pe(len);
	memcpy(k + 0x202, "HdrS", 4);
	put16(k + 0x20e, 0x300 - 0x200); /* version string at 0x300 (inside .text) */
	memcpy(k + 0x300, version, strlen(version) + 1);
	return k;
}

static const struct tdx_boot_event *find(const struct tdx_boot_prediction *p, const char *what)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->ev[i].what, what))
			return &p->ev[i];
	return NULL;
}

static void utf16(const char *s, uint8_t *out, size_t *len)
{
	size_t n = strlen(s);
	for (size_t i = 0; i <= n; i++) {
		out[2 * i] = (uint8_t)s[i];
		out[2 * i + 1] = 0;
	}
	*len = 2 * (n + 1);
}

static void test_boot_events(void **state)
{
	(void)state;
	size_t klen;
	uint8_t *k = make_kernel("6.12.5-test (builder@host) #1 SMP", &klen);
	uint8_t initrd[100];
	memset(initrd, 0x42, sizeof(initrd));
	struct tdx_boot_inputs in = {.kernel = k, .kernel_len = klen, .initrd = initrd, .initrd_len = sizeof(initrd),
				     .cmdline = "console=ttyS0 root=/dev/vda"};
	struct tdx_boot_prediction p;
	struct vg_err err = {0};
	assert_int_equal(tdx_boot_predict(&in, &p, &err), 0);
	assert_string_equal(p.kernel_version, "6.12.5-test");
	assert_int_equal(p.stub_cc, 1);
	assert_true(p.separator_in_rtmr1);
	assert_true(p.initrd_first);
	/* order: kernel, calling, separator (RTMR1), load options, initrd (RTMR2), EBS x2 */
	assert_int_equal(p.n, 7);
	const unsigned rtmr[] = {1, 1, 1, 2, 2, 1, 1};
	for (size_t i = 0; i < p.n; i++)
		assert_int_equal(p.ev[i].rtmr, rtmr[i]);
	uint8_t d[48], lo[256];
	size_t lolen;
	fw_pe_authenticode(k, klen, "SHA384", d, &lolen, NULL, &err);
	assert_memory_equal(p.ev[0].digest, d, 48);
	assert_int_equal(p.ev[0].type, TDX_EV_EFI_BOOT_SERVICES_APPLICATION);
	utf16("initrd=initrd console=ttyS0 root=/dev/vda", lo, &lolen);
	sha384(lo, lolen, d);
	assert_memory_equal(find(&p, "LoadOptions (UTF-16LE with its NUL)")->digest, d, 48);
	assert_int_equal(p.load_options_len, lolen);
	sha384(initrd, sizeof(initrd), d);
	assert_memory_equal(find(&p, "initrd")->digest, d, 48);
	sha384("\0\0\0\0", 4, d);
	assert_memory_equal(find(&p, "separator 00000000")->digest, d, 48);
	/* RTMR values: the chains folded by hand */
	uint8_t r1[48] = {0}, r2[48] = {0};
	for (size_t i = 0; i < p.n; i++)
		tdx_rtmr_extend(p.ev[i].rtmr == 1 ? r1 : r2, p.ev[i].digest, &err);
	assert_memory_equal(p.rtmr1, r1, 48);
	assert_memory_equal(p.rtmr2, r2, 48);
	tdx_boot_prediction_free(&p);

	/* edk2 before stable202508: " initrd=initrd" after the command line; the
	 * 202302..202408 builds put the separator into RTMR0 */
	in.edk2 = 202405;
	assert_int_equal(tdx_boot_predict(&in, &p, &err), 0);
	assert_false(p.initrd_first);
	assert_false(p.separator_in_rtmr1);
	assert_null(find(&p, "separator 00000000"));
	utf16("console=ttyS0 root=/dev/vda initrd=initrd", lo, &lolen);
	sha384(lo, lolen, d);
	assert_memory_equal(find(&p, "LoadOptions (UTF-16LE with its NUL)")->digest, d, 48);
	tdx_boot_prediction_free(&p);
	in.edk2 = 202211; /* first mapping: separator into RTMR1 */
	assert_int_equal(tdx_boot_predict(&in, &p, &err), 0);
	assert_true(p.separator_in_rtmr1);
	tdx_boot_prediction_free(&p);

	/* no command line, no initrd: no LoadOptions (OVMF leaves them NULL), no initrd event */
	in = (struct tdx_boot_inputs){.kernel = k, .kernel_len = klen};
	assert_int_equal(tdx_boot_predict(&in, &p, &err), 0);
	assert_int_equal(p.n, 5);
	assert_null(p.load_options);
	uint8_t zero[48] = {0};
	assert_memory_equal(p.rtmr2, zero, 48);
	tdx_boot_prediction_free(&p);
	/* initrd only: "initrd=initrd " */
	in.initrd = initrd;
	in.initrd_len = sizeof(initrd);
	assert_int_equal(tdx_boot_predict(&in, &p, &err), 0);
	utf16("initrd=initrd ", lo, &lolen);
	sha384(lo, lolen, d);
	assert_memory_equal(find(&p, "LoadOptions (UTF-16LE with its NUL)")->digest, d, 48);
	tdx_boot_prediction_free(&p);
	free(k);
}

static void test_boot_refusals(void **state)
{
	(void)state;
	struct vg_err err = {0};
	struct tdx_boot_prediction p;
	size_t klen;
	uint8_t *k = make_kernel("6.1.0-56-cloud-amd64 (x) #1", &klen);
	struct tdx_boot_inputs in = {.kernel = k, .kernel_len = klen};
	assert_int_equal(tdx_boot_predict(&in, &p, &err), 0);
	assert_int_equal(p.stub_cc, 0); /* before Linux 6.9 */
	tdx_boot_prediction_free(&p);
	put16(k + 0x20e, 0); /* no version string */
	assert_int_equal(tdx_boot_predict(&in, &p, &err), 0);
	assert_int_equal(p.stub_cc, -1);
	tdx_boot_prediction_free(&p);
	put16(k + OPT + 68, 11); /* a boot-services driver, not an application */
	assert_int_equal(tdx_boot_predict(&in, &p, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "not an EFI application"));
	/* a bzImage without the EFI stub (no PE header): refused, not guessed */
	uint8_t bz[0x1000] = {0};
	memcpy(bz + 0x202, "HdrS", 4);
	in = (struct tdx_boot_inputs){.kernel = bz, .kernel_len = sizeof(bz)};
	assert_int_equal(tdx_boot_predict(&in, &p, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "legacy loader, which measures nothing"));
	free(k);
	unsigned v = 0;
	assert_int_equal(tdx_edk2_tag_parse("edk2-stable202411", &v, &err), 0);
	assert_int_equal(v, 202411);
	assert_int_equal(tdx_edk2_tag_parse("stable202508", &v, &err), 0);
	assert_int_equal(tdx_edk2_tag_parse("202302", &v, &err), 0);
	assert_int_equal(tdx_edk2_tag_parse("stable202113", &v, &err), -EINVAL);
	assert_int_equal(tdx_edk2_tag_parse("stable20250", &v, &err), -EINVAL);
	assert_int_equal(tdx_edk2_tag_parse("main", &v, &err), -EINVAL);
	assert_int_equal(tdx_edk2_tag_parse("-00001", &v, &err), -EINVAL);
	assert_int_equal(tdx_edk2_tag_parse("stable 20250", &v, &err), -EINVAL);
	assert_int_equal(tdx_edk2_tag_parse("stable202205", &v, &err), -ENOTSUP);
}

/*
 * The real GCP Container-Optimized OS TD's CC event log (../shared/vectors/tdx):
 * a disk boot (shim, GRUB), not a direct boot, but its RTMR1 (CC MR index 2) holds
 * the firmware's events of the kinds the model issues: "Calling EFI Application
 * from Boot Option", the separator, "Exit Boot Services Invocation" and "... Returned
 * with Success". The model's digests must be exactly those; the kernel image event
 * (here shim and GRUB, whose binaries we do not have) cannot be reproduced. The
 * extend math replays the log to the quote's RTMR1.
 */
static void test_gcp_ccel(void **state)
{
	(void)state;
	const char *v = getenv("VIGIL_VECTORS");
	char path[4096];
	snprintf(path, sizeof(path), "%s/tdx/go-tdx-guest/ccel_data.dat", v && *v ? v : "../shared/vectors");
	uint8_t *data = NULL;
	size_t len = 0;
	struct vg_err err = {0};
	if (vg_read_file(path, 1 << 22, &data, &len, &err)) {
		print_message("SKIP: vectors not found (%s)\n", path);
		skip();
	}
	struct vtpm_evlog log;
	assert_int_equal(vtpm_evlog_parse(data, len, &log, &err), 0);
	size_t klen;
	uint8_t *k = make_kernel("6.12", &klen);
	struct tdx_boot_inputs in = {.kernel = k, .kernel_len = klen};
	struct tdx_boot_prediction p;
	assert_int_equal(tdx_boot_predict(&in, &p, &err), 0);
	uint8_t r1[48] = {0};
	unsigned matched = 0, app_events = 0;
	for (size_t i = 1; i < log.nevents; i++) {
		const struct vtpm_evlog_event *e = &log.events[i];
		if (e->index != 2)
			continue;
		assert_int_equal(e->digests[0].alg, VTPM_ALG_SHA384);
		tdx_rtmr_extend(r1, e->digests[0].bytes, &err);
		if (e->type == VTPM_EV_EFI_BOOT_SERVICES_APPLICATION)
			app_events++;
		for (size_t j = 1; j < p.n; j++) /* every modelled fixed event */
			if (p.ev[j].rtmr == 1 && p.ev[j].type == e->type &&
			    !memcmp(p.ev[j].digest, e->digests[0].bytes, 48)) {
				assert_int_equal(p.ev[j].data_len, e->data_len);
				assert_memory_equal(p.ev[j].data, e->data, e->data_len);
				matched++;
			}
	}
	assert_int_equal(matched, 4);
	assert_int_equal(app_events, 2); /* shim and GRUB: PE images we cannot reproduce here */
	uint8_t want[48];
	assert_int_equal(vg_hex_decode("f62dbc072bd5d3f3438b7b35c39a727f5aea2ffc2473f43723953f530daf6250"
				       "4f0a7944aa62c41a86e8a878c2b122c1", want, 48, &err), 0);
	assert_memory_equal(r1, want, 48);
	tdx_boot_prediction_free(&p);
	vtpm_evlog_free(&log);
	free(k);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pe_digest_ranges),
		cmocka_unit_test(test_pe_sections_sorted_and_empty_skipped),
		cmocka_unit_test(test_pe_no_security_directory),
		cmocka_unit_test(test_pe_pe32_and_no_mz),
		cmocka_unit_test(test_pe_truncated),
		cmocka_unit_test(test_pe_malformed),
		cmocka_unit_test(test_rtmr_extend),
		cmocka_unit_test(test_boot_events),
		cmocka_unit_test(test_boot_refusals),
		cmocka_unit_test(test_gcp_ccel),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
