/* The OVMF-style tables the test guests that a confidential launch can take carry
 * (attest, fwcfg): the SEV metadata items ("ASEV", OVMF ResetVector
 * OvmfSevMetadata.asm) and the GUIDed footer-table entries read backwards from the
 * footer GUID (OVMF ResetVector Ia16/ResetVectorVtf0.asm), declared once. Each guest
 * lays out its own table of them (its .mk file places it). */
#ifndef VIGIL_GUEST_OVMF_FOOTER_H
#define VIGIL_GUEST_OVMF_FOOTER_H

#include <stdint.h>

#define ROM_SIZE 0x4000u /* the guests' image: 16 KiB ending at 4 GiB */
#define ROM_BASE (0x100000000ull - ROM_SIZE)

struct sev_item {
	uint32_t gpa, size, type;
};
/* A footer entry with one 32-bit value: value, entry length, GUID. */
struct entry4 {
	uint32_t value;
	uint16_t len;
	uint8_t guid[16];
} __attribute__((packed));
/* A footer entry with a base and a size (the SEV hashes table). */
struct entry8 {
	uint32_t base, size;
	uint16_t len;
	uint8_t guid[16];
} __attribute__((packed));

/* dc886566-984a-4798-a75e-5585a7bf67cc: the SEV metadata's offset from the end */
#define GUEST_GUID_SEV_METADATA                                                                              \
	{ 0x66, 0x65, 0x88, 0xdc, 0x4a, 0x98, 0x98, 0x47, 0xa7, 0x5e, 0x55, 0x85, 0xa7, 0xbf, 0x67, 0xcc }
/* 00f771de-1a7e-4fcb-890e-68c77e2fb44e: SEV-ES AP reset EIP */
#define GUEST_GUID_SEV_ES_RESET                                                                              \
	{ 0xde, 0x71, 0xf7, 0x00, 0x7e, 0x1a, 0xcb, 0x4f, 0x89, 0x0e, 0x68, 0xc7, 0x7e, 0x2f, 0xb4, 0x4e }
/* 96b582de-1fb2-45f7-baea-a366c55a082d: the footer table's own GUID */
#define GUEST_GUID_FOOTER                                                                                    \
	{ 0xde, 0x82, 0xb5, 0x96, 0xb2, 0x1f, 0xf7, 0x45, 0xba, 0xea, 0xa3, 0x66, 0xc5, 0x5a, 0x08, 0x2d }

#define TABLES_END 0x20u /* bytes from the end of the image to the end of the table */
/* A field's offset from the end of the image, in the guest's `struct fw_tables`. */
#define OFF_FROM_END(field) (TABLES_END + sizeof(struct fw_tables) - offsetof(struct fw_tables, field))

#endif
