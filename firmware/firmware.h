/*
 * firmware/: OVMF and TDVF metadata, and the kernel-hashes table for measured
 * direct boot. The one public header of this directory. Prefix: fw_.
 *
 * Firmware images are untrusted input: every parser here works through
 * struct vg_reader over (pointer, length), checks every size, offset and
 * alignment, and fails with one line naming what is wrong.
 *
 * An OVMF image is mapped so that it ends at 4 GiB. Its last 32 bytes hold
 * the reset vector; just before them sits the GUIDed footer table: entries
 * read backwards, each laid out as [data][u16 size][GUID], where size counts
 * the data and the 18-byte header. The footer entry itself (GUID
 * 96b582de-1fb2-45f7-baea-a366c55a082d) gives the size of the whole table.
 */
#ifndef VIGIL_FIRMWARE_H
#define VIGIL_FIRMWARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

#define FW_PAGE_SIZE 4096u
#define FW_FOUR_GIB 0x100000000ull
/* Largest firmware image we accept (OVMF is 2-4 MiB; the flash window is 16 MiB). */
#define FW_MAX_IMAGE (64u << 20)

/* --------------------------------------------------------------- GUIDs */
/* A GUID as stored in firmware (EFI byte order: first three fields little-endian). */
struct fw_guid {
	uint8_t b[16];
};
/* Parses "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" into EFI byte order. */
int fw_guid_parse(const char *str, struct fw_guid *out);
/* Lowercase canonical text (37 bytes with NUL). */
void fw_guid_format(const struct fw_guid *g, char out[37]);

#define FW_GUID_OVMF_TABLE_FOOTER "96b582de-1fb2-45f7-baea-a366c55a082d"
#define FW_GUID_SEV_ES_RESET_BLOCK "00f771de-1a7e-4fcb-890e-68c77e2fb44e"
#define FW_GUID_SEV_HASH_TABLE "7255371f-3a3b-4b04-927b-1da6efa8d454"
#define FW_GUID_SEV_SECRET_AREA "4c2eb361-7d9b-4cc3-8081-127c90d3d294"
#define FW_GUID_SEV_METADATA "dc886566-984a-4798-a75e-5585a7bf67cc"
#define FW_GUID_TDX_METADATA "e47a6535-984a-4798-865e-4685a7bf8ec2"

/* ------------------------------------------------ OVMF GUIDed footer table */
#define FW_TABLE_MAX_ENTRIES 32
#define FW_TABLE_ENTRY_HEADER 18 /* u16 size + GUID */

struct fw_table_entry {
	struct fw_guid guid;
	const uint8_t *data; /* points into the image */
	size_t len;          /* data bytes (entry size minus the 18-byte header) */
	size_t offset;       /* offset of data in the image */
};

/*
 * A parsed image. The image bytes stay owned by the caller and must outlive
 * this struct (entries point into them).
 */
struct fw_image {
	const uint8_t *data;
	size_t len;
	uint64_t gpa; /* FW_FOUR_GIB - len: where the image is mapped */

	bool has_table; /* the footer GUID was found */
	size_t n_entries;
	struct fw_table_entry entries[FW_TABLE_MAX_ENTRIES];

	/* Well-known entries, decoded (each "has_" is false when absent). */
	bool has_reset_block;
	uint32_t sev_es_reset_eip; /* AP reset EIP (SEV-ES/SNP) */
	bool has_hash_table;       /* entry present; gpa 0 means "not supported" */
	uint32_t hash_table_gpa, hash_table_size;
	bool has_secret_area;
	uint32_t secret_gpa, secret_size;
	bool has_sev_metadata;
	uint32_t sev_metadata_offset; /* from the end of the image */
	bool has_tdx_metadata;
	uint32_t tdx_metadata_offset; /* from the end of the image */
};

/*
 * Parses the footer table of an image (data, len). An image without the
 * footer GUID parses fine with has_table false (plain OVMF for SEV is
 * legal); a table that is present but malformed (sizes past its start,
 * entries that do not tile it, duplicate GUIDs, known entries with the wrong
 * length) is an error. Metadata are parsed on demand below.
 */
int fw_parse(const uint8_t *data, size_t len, struct fw_image *fw, struct vg_err *err);
/* The entry with this GUID, or NULL. */
const struct fw_table_entry *fw_table_find(const struct fw_image *fw, const char *guid);
/* True when the image carries a usable kernel-hashes table (entry with gpa != 0). */
bool fw_has_hash_table(const struct fw_image *fw);

/* ------------------------------------------- SEV metadata ("ASEV" sections) */
enum fw_sev_section_type {
	FW_SEV_SEC_MEM = 1,
	FW_SEV_SECRETS = 2,
	FW_SEV_CPUID = 3,
	FW_SEV_SVSM_CAA = 4,
	FW_SEV_KERNEL_HASHES = 0x10,
};
#define FW_SEV_MAX_SECTIONS 64

struct fw_sev_section {
	uint32_t gpa;
	uint32_t size;
	uint32_t type; /* enum fw_sev_section_type */
};

struct fw_sev_metadata {
	uint32_t version;
	size_t n;
	struct fw_sev_section s[FW_SEV_MAX_SECTIONS];
};

/* "SEC_MEM", "SECRETS", ... or "unknown". */
const char *fw_sev_section_name(uint32_t type);
/*
 * Parses the SEV metadata the footer table points to. Checks: signature
 * "ASEV", version 1, header and items inside the image, every section
 * 4 KiB-aligned, non-empty, below 4 GiB, of a known type, SECRETS / CPUID /
 * KERNEL_HASHES exactly one page, at most one KERNEL_HASHES, no two sections
 * overlapping and none overlapping the firmware image itself.
 * -ENOENT (with a message) when the image has no SEV metadata.
 */
int fw_sev_metadata_parse(const struct fw_image *fw, struct fw_sev_metadata *md, struct vg_err *err);
/* The first section of this type, or NULL. */
const struct fw_sev_section *fw_sev_metadata_find(const struct fw_sev_metadata *md, uint32_t type);

/* ------------------------------------------ TDX metadata ("TDVF" descriptor) */
enum fw_tdvf_section_type {
	FW_TDVF_BFV = 0,
	FW_TDVF_CFV = 1,
	FW_TDVF_TD_HOB = 2,
	FW_TDVF_TEMP_MEM = 3,
	FW_TDVF_PERM_MEM = 4,
	FW_TDVF_PAYLOAD = 5,
	FW_TDVF_PAYLOAD_PARAM = 6,
};
#define FW_TDVF_ATTR_MR_EXTEND 0x1u /* measure the pages with TDH.MR.EXTEND */
#define FW_TDVF_ATTR_PAGE_AUG 0x2u  /* added later by TDH.MEM.PAGE.AUG: not in MRTD */
#define FW_TDVF_MAX_SECTIONS 64

/* One TDVF_SECTION (TDVF design guide, "TDVF metadata"): 32 bytes. */
struct fw_tdvf_section {
	uint32_t data_offset; /* in the image */
	uint32_t raw_size;
	uint64_t gpa;
	uint64_t mem_size;
	uint32_t type;
	uint32_t attributes;
};

struct fw_tdvf_metadata {
	uint32_t version;
	size_t n;
	struct fw_tdvf_section s[FW_TDVF_MAX_SECTIONS];
};

/* "BFV", "CFV", "TD_HOB", "TempMem", "PermMem", "Payload", "PayloadParam" or "unknown". */
const char *fw_tdvf_section_name(uint32_t type);
/*
 * Parses the TDVF descriptor the footer table points to. Checks: signature
 * "TDVF", version 1, descriptor inside the image, every section of a known
 * type with known attributes (not both MR.EXTEND and PAGE.AUG), GPA and
 * memory size 4 KiB-aligned and non-zero without wrapping, raw size not above
 * memory size, raw data inside the image, BFV/CFV with raw data and
 * TD_HOB/TempMem without, measured sections with their whole memory size
 * backed by the image, and no two sections overlapping.
 * -ENOENT (with a message) when the image has no TDVF metadata.
 */
int fw_tdvf_metadata_parse(const struct fw_image *fw, struct fw_tdvf_metadata *md, struct vg_err *err);

/* ------------------------------------ kernel-hashes table (measured direct boot) */
/*
 * QEMU's SEV hashes table: header GUID 9438d606-4f22-4cc9-b479-a793d411fd21
 * and u16 length, then the cmdline, initrd and kernel entries (GUID, u16
 * length, SHA-256), padded with zeros to a multiple of 16 bytes.
 */
#define FW_HASHES_TABLE_LEN 168 /* 18 + 3 * 50 */
#define FW_HASHES_TABLE_PADDED 176
#define FW_GUID_HASHES_TABLE "9438d606-4f22-4cc9-b479-a793d411fd21"
#define FW_GUID_HASHES_CMDLINE "97d02dd8-bd20-4c94-aa78-e7714d36ab2a"
#define FW_GUID_HASHES_INITRD "44baf731-3a2f-4bd7-9af1-41e29169781d"
#define FW_GUID_HASHES_KERNEL "4de79437-abd2-427f-b835-d5b172d2045b"

struct fw_kernel_hashes {
	uint8_t kernel[32];  /* SHA-256 of the whole kernel (bzImage) file */
	uint8_t initrd[32];  /* SHA-256 of the initrd (empty when none) */
	uint8_t cmdline[32]; /* SHA-256 of the command line including its NUL */
};

/* Hashes the files (streamed) and the command line. initrd and cmdline may be
 * NULL (empty initrd, empty command line "\0"). */
int fw_kernel_hashes_from_files(const char *kernel, const char *initrd, const char *cmdline,
				struct fw_kernel_hashes *out, struct vg_err *err);
/* Same over buffers already in memory. */
int fw_kernel_hashes_from_buffers(const uint8_t *kernel, size_t kernel_len, const uint8_t *initrd,
				  size_t initrd_len, const char *cmdline, struct fw_kernel_hashes *out,
				  struct vg_err *err);
/* The padded table bytes, exactly as QEMU writes them into guest memory. */
void fw_hashes_table_build(const struct fw_kernel_hashes *h, uint8_t out[FW_HASHES_TABLE_PADDED]);

/* ------------------------------------ PE/COFF Authenticode (UEFI images) */
/*
 * The Authenticode digest of a PE/COFF image exactly as edk2 measures an image it
 * loads (OvmfPkg/Tcg/TdTcg2Dxe/MeasureBootPeCoff.c MeasurePeImageAndExtend, the
 * same algorithm as SecurityPkg/Tcg/Tcg2Dxe; PE/COFF spec, "Calculating the PE
 * Image Hash"): the headers up to SizeOfHeaders without the CheckSum field and
 * the certificate-table data directory entry, then every section with raw data
 * sorted by PointerToRawData, then the bytes from offset SizeOfHeaders + the
 * sum of the sections' SizeOfRawData to the end of the file less the
 * certificate table's size. No padding is added (edk2 adds none).
 *
 * Checked before anything is hashed (the image is untrusted): DOS header and
 * e_lfanew inside the file, "PE\0\0", PE32 or PE32+ magic, NumberOfRvaAndSizes
 * at most 16 and SizeOfOptionalHeader exactly the fixed part plus that many
 * directories (edk2 BasePeCoffLib's check), the section table inside
 * SizeOfHeaders, SizeOfHeaders inside the file, every section's raw data inside
 * the file, no section overlapping the headers or another section, and a
 * certificate table that fits after the hashed bytes.
 */
#define FW_PE_MAX_SECTIONS 256
struct fw_pe_info {
	uint16_t machine, nsections, subsystem;
	bool pe32plus;
	uint32_t size_of_headers;
	uint32_t cert_offset, cert_size;  /* security data directory (0 when absent) */
	uint64_t sum_of_bytes_hashed;     /* SizeOfHeaders + raw data of every section */
	uint64_t trailing;                /* bytes hashed after that (before the cert table) */
};
#define FW_PE_SUBSYSTEM_EFI_APPLICATION 10
/* md: an OpenSSL digest name ("SHA384", "SHA256"); out must hold its size. */
int fw_pe_authenticode(const uint8_t *img, size_t len, const char *md, uint8_t *out, size_t *out_len,
		       struct fw_pe_info *info, struct vg_err *err);

#endif /* VIGIL_FIRMWARE_H */
