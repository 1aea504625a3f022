/* fwcfg: reads fw_cfg the way OVMF's QemuFwCfgLib does (signature and feature bits
 * through ports 0x510/0x511, the file directory, a DMA read of etc/e820 with the
 * descriptor address written as big-endian halves to 0x514/0x518), reads the CMOS
 * memory-size registers, and checks they agree. With a kernel for measured direct boot
 * (sim-snp or sim-tdx --kernel), it reads the setup, kernel and initrd blobs by DMA and
 * prints their SHA-256 (setup || kernel is the file OVMF's QemuKernelLoaderFsDxe
 * serves); on SNP it finds the kernel hash in the SEV hashes table the launch put into
 * its KERNEL_HASHES section (TDX has none: TDVF measures the blobs into RTMRs). Prints
 * what it found; exits 0 when every check passed, else the number of the first failed
 * check. Carries OVMF-style tables (SEV metadata with a KERNEL_HASHES section, the
 * hashes-table and SEV-ES reset entries, TDVF metadata) so sim-snp and sim-tdx can
 * launch it. */
#include "rt.h"
#include "ovmf_footer.h"
#include "tdvf_table.h"
#include "sha256.h"

#define FW_CFG_SEL 0x510
#define FW_CFG_DATA 0x511
#define FW_CFG_DMA 0x514

static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static uint32_t bswap32(uint32_t v) { return __builtin_bswap32(v); }

static void select_item(uint16_t key) { outw(FW_CFG_SEL, key); }
static void read_bytes(void *dst, uint32_t n)
{
	uint8_t *p = dst;
	for (uint32_t i = 0; i < n; i++)
		p[i] = inb(FW_CFG_DATA);
}

struct dma_access {
	uint32_t control, length;
	uint64_t address;
} __attribute__((packed, aligned(16)));

static struct dma_access desc;
static uint8_t e820[20 * 8];

static uint32_t item_u32(uint16_t key)
{
	uint32_t v = 0;
	select_item(key);
	read_bytes(&v, 4);
	return v;
}

/* DMA read of the whole selected item into dst (len bytes). */
static int dma_read(uint16_t key, void *dst, uint32_t len)
{
	desc.control = bswap32((uint32_t)key << 16 | 0x08 | 0x02);
	desc.length = bswap32(len);
	desc.address = __builtin_bswap64((uint64_t)(uintptr_t)dst);
	uint64_t a = (uint64_t)(uintptr_t)&desc;
	outl(FW_CFG_DMA, bswap32((uint32_t)(a >> 32)));
	outl(FW_CFG_DMA + 4, bswap32((uint32_t)a));
	__asm__ volatile("" ::: "memory"); /* the device wrote desc and dst */
	volatile uint32_t *ctl = &desc.control;
	for (int spin = 0; *ctl && spin < 1000000; spin++)
		;
	return *ctl ? -1 : 0;
}

#define BLOB_RAM 0x100000ull /* where the blobs are read to (inside the 2 MiB the runtime maps) */
#define BLOB_MAX 0xC0000u    /* up to the SEV sections at 0x1E0000 */
#define HASHES_GPA 0x1F2C00ull /* the hashes table in the KERNEL_HASHES section below */

static int fail(int n, const char *what);

/* Named items under opt/ (--fw-cfg): read by DMA, printed as name, size, SHA-256. */
static struct {
	char name[56];
	uint32_t size;
	uint16_t key;
} opt[8];

static int show_opt_items(unsigned n)
{
	uint8_t *blob = (uint8_t *)(uintptr_t)BLOB_RAM;
	for (unsigned i = 0; i < n; i++) {
		if (opt[i].size > BLOB_MAX)
			return fail(14, "opt/ item too big for the test");
		if (opt[i].size && dma_read(opt[i].key, blob, opt[i].size))
			return fail(15, "DMA of an opt/ item failed");
		uint8_t h[32];
		sha256(blob, opt[i].size, h);
		opt[i].name[55] = 0;
		puts_serial("fwcfg: item ");
		puts_serial(opt[i].name);
		puts_serial(" ");
		put_dec(opt[i].size);
		puts_serial(" ");
		put_bytes_hex(h, 32);
		puts_serial("\n");
	}
	return 0;
}

static void print_sha256(const char *what, const uint8_t *p, size_t n, uint8_t h[32])
{
	sha256(p, n, h);
	puts_serial(what);
	put_bytes_hex(h, 32);
	puts_serial("\n");
}

/* Measured direct boot: setup || kernel (and the initrd) by DMA, hashed; on SNP the
 * kernel hash must be in the hashes table. */
static int check_kernel(void)
{
	uint32_t setup = item_u32(0x17), kernel = item_u32(0x08), initrd = item_u32(0x0b);
	if (!setup && !kernel)
		return 0; /* no direct boot */
	if (setup > BLOB_MAX || kernel > BLOB_MAX - setup || initrd > BLOB_MAX - setup - kernel)
		return fail(8, "kernel too big for the test");
	uint8_t *blob = (uint8_t *)(uintptr_t)BLOB_RAM;
	if ((setup && dma_read(0x18, blob, setup)) || (kernel && dma_read(0x11, blob + setup, kernel)))
		return fail(9, "DMA of the kernel failed");
	uint8_t h[32], hi[32];
	print_sha256("fwcfg: kernel sha256 ", blob, (size_t)setup + kernel, h);
	if (initrd) {
		if (dma_read(0x12, blob + setup + kernel, initrd))
			return fail(9, "DMA of the initrd failed");
		print_sha256("fwcfg: initrd sha256 ", blob + setup + kernel, initrd, hi);
	}
	/* A TD hands the device plain guest-physical addresses (OVMF's IoMmuDxe CcIoMmu.c
	 * IoMmuMap: DeviceAddress = the page made shared, without the shared bit, as KVM
	 * memslots are addressed). The alias with the shared bit (GPA bit 47 at GPAW 48)
	 * is no guest RAM: the device must refuse it (error bit), writing nothing. */
	if (dma_read(0x11, (void *)(uintptr_t)(BLOB_RAM | (1ull << 47)), 16) == 0)
		return fail(12, "DMA to the shared-bit alias of guest RAM was accepted");
	puts_serial("fwcfg: DMA to the shared-bit alias refused\n");
	const uint8_t *table = (const uint8_t *)(uintptr_t)HASHES_GPA;
	/* 9438d606-4f22-4cc9-b479-a793d411fd21: the table's header GUID (EFI byte order) */
	static const uint8_t table_guid[16] = {0x06, 0xd6, 0x38, 0x94, 0x22, 0x4f, 0xc9, 0x4c,
					       0xb4, 0x79, 0xa7, 0x93, 0xd4, 0x11, 0xfd, 0x21};
	if (memcmp(table, table_guid, 16)) {
		puts_serial("fwcfg: no SEV hashes table (the firmware measures the blobs itself, as TDVF does)\n");
		return 0;
	}
	for (unsigned off = 0; off + 32 <= 176; off++)
		if (!memcmp(table + off, h, 32)) {
			puts_serial("fwcfg: kernel hash found in the SEV hashes table\n");
			return 0;
		}
	return fail(10, "kernel hash not in the SEV hashes table");
}

static uint8_t cmos(uint8_t reg)
{
	outb(0x70, (uint8_t)(0x80 | reg)); /* NMI disabled, as firmware does */
	return inb(0x71);
}

static int fail(int n, const char *what)
{
	puts_serial("fwcfg: FAIL ");
	put_dec((uint64_t)n);
	puts_serial(" ");
	puts_serial(what);
	puts_serial("\n");
	return n;
}

int main(void)
{
	char sig[5] = {0};
	select_item(0x0000);
	read_bytes(sig, 4);
	if (memcmp(sig, "QEMU", 4))
		return fail(1, "signature");
	uint32_t id = 0;
	select_item(0x0001);
	read_bytes(&id, 4);
	if (!(id & 2))
		return fail(2, "no DMA feature bit");
	/* The file directory: count and entries are big-endian. */
	select_item(0x0019);
	uint32_t count;
	read_bytes(&count, 4);
	count = bswap32(count);
	uint16_t e820_key = 0;
	uint32_t e820_size = 0;
	unsigned opt_n = 0;
	for (uint32_t i = 0; i < count && i < 64; i++) {
		uint8_t ent[64];
		read_bytes(ent, 64);
		if (!memcmp(ent + 8, "opt/", 4) && opt_n < 8) { /* the operator's --fw-cfg items */
			memcpy(opt[opt_n].name, ent + 8, 56);
			opt[opt_n].size = (uint32_t)ent[0] << 24 | (uint32_t)ent[1] << 16 | (uint32_t)ent[2] << 8 | ent[3];
			opt[opt_n++].key = (uint16_t)(ent[4] << 8 | ent[5]);
		}
		if (!memcmp(ent + 8, "etc/e820", 9)) {
			e820_size = (uint32_t)ent[0] << 24 | (uint32_t)ent[1] << 16 | (uint32_t)ent[2] << 8 | ent[3];
			e820_key = (uint16_t)(ent[4] << 8 | ent[5]);
		}
	}
	if (!e820_key || !e820_size || e820_size > sizeof(e820) || e820_size % 20)
		return fail(3, "etc/e820 missing from the file directory");
	/* DMA read of etc/e820: SELECT | READ. */
	if (dma_read(e820_key, e820, e820_size))
		return fail(4, "DMA did not complete");
	uint64_t below4g = 0, above4g = 0;
	for (uint32_t off = 0; off < e820_size; off += 20) {
		uint64_t base, len;
		uint32_t type;
		memcpy(&base, e820 + off, 8);
		memcpy(&len, e820 + off + 8, 8);
		memcpy(&type, e820 + off + 16, 4);
		if (type != 1)
			continue;
		if (base < 0x100000000ull)
			below4g += len;
		else
			above4g += len;
	}
	puts_serial("fwcfg: e820 RAM below 4G ");
	put_hex(below4g, 8);
	puts_serial(" above ");
	put_hex(above4g, 8);
	puts_serial("\n");
	/* CMOS: 64 KiB units above 16 MiB (0x34/0x35) and above 4 GiB (0x5b..0x5d). */
	uint64_t c16 = ((uint64_t)cmos(0x34) | (uint64_t)cmos(0x35) << 8) << 16;
	uint64_t c4g = ((uint64_t)cmos(0x5b) | (uint64_t)cmos(0x5c) << 8 | (uint64_t)cmos(0x5d) << 16) << 16;
	puts_serial("fwcfg: cmos above 16M ");
	put_hex(c16, 8);
	puts_serial(" above 4G ");
	put_hex(c4g, 8);
	puts_serial("\n");
	if (c16 + (16u << 20) != below4g)
		return fail(5, "CMOS memory below 4 GiB differs from etc/e820");
	if (c4g != above4g)
		return fail(6, "CMOS memory above 4 GiB differs from etc/e820");
	uint16_t cpus = 0;
	select_item(0x0005);
	read_bytes(&cpus, 2);
	if (cpus != (uint16_t)cmos(0x5f) + 1)
		return fail(7, "fw_cfg CPU count differs from CMOS");
	puts_serial("fwcfg: cpus ");
	put_dec(cpus);
	puts_serial("\n");
	int rc = show_opt_items(opt_n);
	if (!rc)
		rc = check_kernel();
	if (rc)
		return rc;
	puts_serial("fwcfg: ok\n");
	/* A direct-boot command line "reset" asks for a platform reset (tests of the
	 * confidential case: the VM must stop, not reboot). */
	char cmd[8] = {0};
	uint32_t cl = item_u32(0x14);
	if (cl == 6) {
		select_item(0x15);
		read_bytes(cmd, 6);
		if (!memcmp(cmd, "reset", 6)) {
			puts_serial("fwcfg: resetting\n");
			outb(0xCF9, 0x06);
			puts_serial("fwcfg: still running after the reset\n");
			return 11;
		}
	}
	return 0;
}

/* ------------------------------------------------ firmware tables (as attest.c) */
struct fw_tables {
	uint8_t pad[2]; /* 288 bytes in all, a multiple of the object's 32-byte alignment */
	char asev[4];
	uint32_t asev_len, asev_version, asev_n;
	struct sev_item sev[4];
	/* TDX metadata ("TDVF", TDVF design guide 11.1): BFV measured, TempMem, TD_HOB */
	struct tdvf_desc tdvf;
	struct entry8 hashes;
	struct entry4 tdx_off, sev_off, reset_eip;
	uint16_t table_len;
	uint8_t footer_guid[16];
} __attribute__((packed));

__attribute__((used, retain, section(".ovmf_table"))) static const struct fw_tables fw_tables = {
	.asev = { 'A', 'S', 'E', 'V' },
	.asev_len = 16 + 4 * sizeof(struct sev_item),
	.asev_version = 1,
	.asev_n = 4,
	.sev = {
		{ 0x1E0000, 0x10000, 1 },    /* SEC_MEM */
		{ 0x1F0000, 0x1000, 2 },     /* SECRETS */
		{ 0x1F1000, 0x1000, 3 },     /* CPUID */
		{ 0x1F2000, 0x1000, 0x10 },  /* SNP_KERNEL_HASHES */
	},
	.tdvf = GUEST_TDVF_DESC(ROM_BASE, ROM_SIZE, 0x1F3000),
	/* 7255371f-3a3b-4b04-927b-1da6efa8d454: the hashes table, base and size */
	.hashes = { (uint32_t)HASHES_GPA, 0x400, 26,
		    { 0x1f, 0x37, 0x55, 0x72, 0x3b, 0x3a, 0x04, 0x4b, 0x92, 0x7b, 0x1d, 0xa6, 0xef, 0xa8, 0xd4, 0x54 } },
	/* e47a6535-984a-4798-865e-4685a7bf8ec2 */
	.tdx_off = { OFF_FROM_END(tdvf), 22, GUEST_GUID_TDX_METADATA },
	.sev_off = { OFF_FROM_END(asev), 22, GUEST_GUID_SEV_METADATA },
	/* 00f771de-1a7e-4fcb-890e-68c77e2fb44e: SEV-ES AP reset EIP */
	.reset_eip = { (uint32_t)ROM_BASE, 22, GUEST_GUID_SEV_ES_RESET },
	.table_len = sizeof(struct entry8) + 3 * sizeof(struct entry4) + 18,
	.footer_guid = GUEST_GUID_FOOTER,
};
_Static_assert(sizeof(struct fw_tables) == 288, "footer tables layout (fwcfg.mk places them)");
