/* The TDVF metadata descriptor the test guests carry (TDVF design guide 11.1), so
 * that sim-tdx and `vigil measure tdx` can walk their launch: the ROM as a measured
 * BFV, TempMem at 0x1E0000 (64 KiB), and a one-page TD_HOB at hob_gpa. */
#ifndef VIGIL_GUEST_TDVF_TABLE_H
#define VIGIL_GUEST_TDVF_TABLE_H

#include <stdint.h>

struct tdvf_sec {
	uint32_t data_offset, raw_size;
	uint64_t gpa, mem_size;
	uint32_t type, attributes;
} __attribute__((packed));

struct tdvf_desc {
	char sig[4];
	uint32_t len, version, n;
	struct tdvf_sec s[3];
} __attribute__((packed));

#define GUEST_TDVF_DESC(rom_base, rom_size, hob_gpa)                                                         \
	{                                                                                                    \
		.sig = { 'T', 'D', 'V', 'F' }, .len = sizeof(struct tdvf_desc), .version = 1, .n = 3,        \
		.s = {                                                                                       \
			{ 0, (rom_size), (rom_base), (rom_size), 0 /* BFV */, 1 /* MR.EXTEND */ },            \
			{ 0, 0, 0x1E0000, 0x10000, 3 /* TempMem */, 0 },                                     \
			{ 0, 0, (hob_gpa), 0x1000, 2 /* TD_HOB */, 0 },                                      \
		},                                                                                           \
	}

/* e47a6535-984a-4798-865e-4685a7bf8ec2: the footer entry giving the descriptor's offset */
#define GUEST_GUID_TDX_METADATA                                                                              \
	{ 0x35, 0x65, 0x7a, 0xe4, 0x4a, 0x98, 0x98, 0x47, 0x86, 0x5e, 0x46, 0x85, 0xa7, 0xbf, 0x8e, 0xc2 }

#endif
