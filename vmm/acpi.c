/* ACPI tables for a Linux guest (ACPI 6.x): RSDP, XSDT, FADT, DSDT (COM1,
 * the TPM device MSFT0101, \_S5), MADT, and TPM2 with the event-log area.
 * The DSDT's AML is encoded here by a few small helpers. */
#include "vmm/vmm.h"

#include <stdio.h>
#include <string.h>

#define OEM_ID "VIGIL "
#define OEM_TABLE_ID "VIGILVMM"
#define HDR_LEN 36

struct tbuf {
	uint8_t *p;
	size_t cap, len;
	bool over;
};

static void put(struct tbuf *b, const void *d, size_t n)
{
	if (b->over || n > b->cap - b->len) {
		b->over = true;
		return;
	}
	memcpy(b->p + b->len, d, n);
	b->len += n;
}
static void put8(struct tbuf *b, uint8_t v) { put(b, &v, 1); }
static void put16(struct tbuf *b, uint16_t v) { uint8_t x[2]; vg_put_le16(x, v); put(b, x, 2); }
static void put32(struct tbuf *b, uint32_t v) { uint8_t x[4]; vg_put_le32(x, v); put(b, x, 4); }
static void put64(struct tbuf *b, uint64_t v) { uint8_t x[8]; vg_put_le64(x, v); put(b, x, 8); }

static uint8_t checksum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	for (size_t i = 0; i < n; i++)
		s = (uint8_t)(s + p[i]);
	return (uint8_t)(0 - s);
}

/* Table header; length and checksum are fixed up by end_table. */
static size_t begin_table(struct tbuf *b, const char sig[4], uint8_t rev)
{
	size_t start = b->len;
	put(b, sig, 4);
	put32(b, 0);
	put8(b, rev);
	put8(b, 0);
	put(b, OEM_ID, 6);
	put(b, OEM_TABLE_ID, 8);
	put32(b, 1);        /* OEM revision */
	put(b, "VGIL", 4);  /* creator ID */
	put32(b, 1);        /* creator revision */
	return start;
}

static void end_table(struct tbuf *b, size_t start)
{
	if (b->over)
		return;
	uint8_t *t = b->p + start;
	vg_put_le32(t + 4, (uint32_t)(b->len - start));
	t[9] = 0;
	t[9] = checksum(t, b->len - start);
}

/* Generic Address Structure (ACPI 6.4, 5.2.3.2). */
static void put_gas(struct tbuf *b, uint8_t space, uint8_t width, uint8_t access, uint64_t addr)
{
	put8(b, space);
	put8(b, width);
	put8(b, 0);
	put8(b, access);
	put64(b, addr);
}

/* ---- AML (ACPI 6.4, chapter 20) */
#define AML_ZERO 0x00
#define AML_ONE 0x01
#define AML_NAME 0x08
#define AML_BYTE 0x0A
#define AML_DWORD 0x0C
#define AML_STRING 0x0D
#define AML_SCOPE 0x10
#define AML_BUFFER 0x11
#define AML_PACKAGE 0x12
#define AML_EXT 0x5B
#define AML_DEVICE 0x82

/* PkgLength covering `body` bytes plus itself. */
static void put_pkglen(struct tbuf *b, size_t body)
{
	if (body + 1 < 0x40) {
		put8(b, (uint8_t)(body + 1));
	} else if (body + 2 < 0x1000) {
		size_t n = body + 2;
		put8(b, (uint8_t)(0x40 | (n & 0xF)));
		put8(b, (uint8_t)(n >> 4));
	} else {
		size_t n = body + 3;
		put8(b, (uint8_t)(0x80 | (n & 0xF)));
		put8(b, (uint8_t)(n >> 4));
		put8(b, (uint8_t)(n >> 12));
	}
}

/* A name-and-value pair built in a scratch buffer, then wrapped. */
static void aml_name_dword(struct tbuf *b, const char name[4], uint32_t v)
{
	put8(b, AML_NAME);
	put(b, name, 4);
	put8(b, AML_DWORD);
	put32(b, v);
}

static void aml_name_string(struct tbuf *b, const char name[4], const char *s)
{
	put8(b, AML_NAME);
	put(b, name, 4);
	put8(b, AML_STRING);
	put(b, s, strlen(s) + 1);
}

static void aml_name_buffer(struct tbuf *b, const char name[4], const uint8_t *d, size_t n)
{
	put8(b, AML_NAME);
	put(b, name, 4);
	put8(b, AML_BUFFER);
	put_pkglen(b, 2 + n);
	put8(b, AML_BYTE);
	put8(b, (uint8_t)n);
	put(b, d, n);
}

static void aml_device(struct tbuf *b, const char name[4], const struct tbuf *body)
{
	put8(b, AML_EXT);
	put8(b, AML_DEVICE);
	put_pkglen(b, 4 + body->len);
	put(b, name, 4);
	put(b, body->p, body->len);
}

static void build_dsdt_body(struct tbuf *out, const struct vmm_acpi_opts *o)
{
	uint8_t sb_mem[512], dev_mem[256];
	struct tbuf sb = {sb_mem, sizeof(sb_mem), 0, false};
	/* COM1: PNP0501, IO 0x3F8-0x3FF, IRQ 4. */
	struct tbuf d = {dev_mem, sizeof(dev_mem), 0, false};
	aml_name_dword(&d, "_HID", 0x0105D041); /* EisaId("PNP0501") */
	put8(&d, AML_NAME);
	put(&d, "_UID", 4);
	put8(&d, AML_ZERO);
	static const uint8_t com1_crs[] = {
		0x47, 0x01, 0xF8, 0x03, 0xF8, 0x03, 0x01, 0x08, /* IO (Decode16, 0x3F8, 0x3F8, 1, 8) */
		0x22, 0x10, 0x00,                               /* IRQNoFlags () {4} */
		0x79, 0x00,                                     /* EndTag */
	};
	aml_name_buffer(&d, "_CRS", com1_crs, sizeof(com1_crs));
	aml_device(&sb, "COM1", &d);
	if (o->tpm) {
		d = (struct tbuf){dev_mem, sizeof(dev_mem), 0, false};
		aml_name_string(&d, "_HID", "MSFT0101");
		aml_name_string(&d, "_STR", "TPM 2.0 Device");
		put8(&d, AML_NAME);
		put(&d, "_UID", 4);
		put8(&d, AML_ONE);
		aml_name_dword(&d, "_STA", 0x0F);
		uint8_t crs[14] = {0x86, 0x09, 0x00, 0x01}; /* Memory32Fixed (ReadWrite, base, length) */
		vg_put_le32(crs + 4, (uint32_t)VMM_TPM_CRB_BASE);
		vg_put_le32(crs + 8, (uint32_t)VMM_TPM_CRB_SIZE);
		crs[12] = 0x79;
		crs[13] = 0x00;
		aml_name_buffer(&d, "_CRS", crs, sizeof(crs));
		aml_device(&sb, "TPM_", &d);
	}
	/* Scope (\_SB) { ... } */
	put8(out, AML_SCOPE);
	put_pkglen(out, 5 + sb.len);
	put(out, "\\_SB_", 5);
	put(out, sb.p, sb.len);
	if (sb.over || d.over)
		out->over = true;
	/* Name (\_S5, Package () { 5, 5, 0, 0 }): SLP_TYP for PM1a/PM1b control. */
	put8(out, AML_NAME);
	put(out, "\\_S5_", 5);
	put8(out, AML_PACKAGE);
	put_pkglen(out, 7); /* NumElements, two BytePrefix values, two Zero */
	put8(out, 4);
	put8(out, AML_BYTE);
	put8(out, 5);
	put8(out, AML_BYTE);
	put8(out, 5);
	put8(out, AML_ZERO);
	put8(out, AML_ZERO);
}

int vmm_acpi_build(const struct vmm_acpi_opts *o, uint64_t base, uint8_t *buf, size_t cap, size_t *len,
		   struct vg_err *err)
{
	struct tbuf b = {buf, cap, 0, false};
	memset(buf, 0, cap);
	/* RSDP first (36 bytes), tables after it, each 16-byte aligned. */
	b.len = 48;
	uint64_t addr_dsdt = base + b.len;
	size_t t = begin_table(&b, "DSDT", 2);
	build_dsdt_body(&b, o);
	end_table(&b, t);

	b.len = (b.len + 15) & ~(size_t)15;
	uint64_t addr_fadt = base + b.len;
	t = begin_table(&b, "FACP", 6);
	put32(&b, 0);                    /* FIRMWARE_CTRL */
	put32(&b, (uint32_t)addr_dsdt);  /* DSDT */
	put8(&b, 0);                     /* reserved */
	put8(&b, 0);                     /* preferred PM profile: unspecified */
	put16(&b, 9);                    /* SCI_INT */
	put32(&b, 0);                    /* SMI_CMD: none, ACPI always on */
	put8(&b, 0); put8(&b, 0); put8(&b, 0); put8(&b, 0); /* ACPI_ENABLE/DISABLE, S4BIOS, PSTATE */
	put32(&b, 0x600);                /* PM1a_EVT_BLK */
	put32(&b, 0);
	put32(&b, 0x604);                /* PM1a_CNT_BLK */
	put32(&b, 0);
	put32(&b, 0);                    /* PM2_CNT_BLK */
	put32(&b, 0);                    /* PM_TMR_BLK */
	put32(&b, 0); put32(&b, 0);      /* GPE0/1 */
	put8(&b, 4); put8(&b, 2); put8(&b, 0); put8(&b, 0); /* PM1_EVT_LEN, PM1_CNT_LEN, PM2, PM_TMR */
	put8(&b, 0); put8(&b, 0); put8(&b, 0); put8(&b, 0); /* GPE0_LEN, GPE1_LEN, GPE1_BASE, CST_CNT */
	put16(&b, 101);                  /* P_LVL2_LAT: C2 unsupported */
	put16(&b, 1001);                 /* P_LVL3_LAT: C3 unsupported */
	put16(&b, 0); put16(&b, 0);      /* FLUSH_SIZE, FLUSH_STRIDE */
	put8(&b, 0); put8(&b, 0); put8(&b, 0); put8(&b, 0); put8(&b, 0); /* duty, alarms, century */
	put16(&b, 1 << 2);               /* IAPC_BOOT_ARCH: VGA not present */
	put8(&b, 0);
	/* WBINVD, PROC_C1, PWR_BUTTON and SLP_BUTTON absent, RESET_REG_SUP */
	put32(&b, (1u << 0) | (1u << 2) | (1u << 4) | (1u << 5) | (1u << 10));
	put_gas(&b, 1, 8, 1, 0xCF9);     /* RESET_REG */
	put8(&b, 0x06);                  /* RESET_VALUE */
	put16(&b, 0);                    /* ARM_BOOT_ARCH */
	put8(&b, 0);                     /* FADT minor version */
	put64(&b, 0);                    /* X_FIRMWARE_CTRL */
	put64(&b, addr_dsdt);            /* X_DSDT */
	put_gas(&b, 1, 32, 3, 0x600);    /* X_PM1a_EVT_BLK */
	put_gas(&b, 0, 0, 0, 0);
	put_gas(&b, 1, 16, 2, 0x604);    /* X_PM1a_CNT_BLK */
	for (int i = 0; i < 7; i++)      /* PM1b_CNT, PM2_CNT, PM_TMR, GPE0, GPE1, SLEEP_CONTROL, SLEEP_STATUS */
		put_gas(&b, 0, 0, 0, 0);
	put(&b, "VIGILVMM", 8);          /* hypervisor vendor identity */
	end_table(&b, t);

	b.len = (b.len + 15) & ~(size_t)15;
	uint64_t addr_madt = base + b.len;
	t = begin_table(&b, "APIC", 5);
	put32(&b, 0xFEE00000);           /* local APIC address */
	put32(&b, 1);                    /* PCAT_COMPAT: 8259s present */
	for (unsigned i = 0; i < o->vcpus; i++) {
		put8(&b, 0); put8(&b, 8);    /* processor local APIC */
		put8(&b, (uint8_t)i); put8(&b, (uint8_t)i);
		put32(&b, 1);                /* enabled */
	}
	put8(&b, 1); put8(&b, 12);       /* I/O APIC */
	put8(&b, 0); put8(&b, 0);
	put32(&b, 0xFEC00000);
	put32(&b, 0);
	put8(&b, 2); put8(&b, 10);       /* ISO: IRQ0 -> GSI2 */
	put8(&b, 0); put8(&b, 0); put32(&b, 2); put16(&b, 0);
	put8(&b, 2); put8(&b, 10);       /* ISO: SCI IRQ9, level, active high */
	put8(&b, 0); put8(&b, 9); put32(&b, 9); put16(&b, 0x000D);
	put8(&b, 4); put8(&b, 6);        /* local APIC NMI on LINT1, all processors */
	put8(&b, 0xFF); put16(&b, 0); put8(&b, 1);
	end_table(&b, t);

	uint64_t addr_tpm2 = 0;
	if (o->tpm) {
		b.len = (b.len + 15) & ~(size_t)15;
		addr_tpm2 = base + b.len;
		t = begin_table(&b, "TPM2", 4); /* TCG ACPI Specification 1.3, 8.3 */
		put16(&b, 0);                /* platform class: client */
		put16(&b, 0);
		put64(&b, VMM_TPM_CRB_BASE + 0x40); /* CRB control area */
		put32(&b, 7);                /* start method: command response buffer */
		for (int i = 0; i < 12; i++) /* start-method parameters */
			put8(&b, 0);
		put32(&b, (uint32_t)o->log_size); /* LAML */
		put64(&b, o->log_addr);           /* LASA */
		end_table(&b, t);
	}

	b.len = (b.len + 15) & ~(size_t)15;
	uint64_t addr_xsdt = base + b.len;
	t = begin_table(&b, "XSDT", 1);
	put64(&b, addr_fadt);
	put64(&b, addr_madt);
	if (addr_tpm2)
		put64(&b, addr_tpm2);
	end_table(&b, t);
	if (b.over)
		return vg_err_set(err, ENOSPC, "ACPI tables do not fit in %zu bytes", cap);

	/* RSDP (ACPI 6.4, 5.2.5.3). */
	uint8_t *r = buf;
	memcpy(r, "RSD PTR ", 8);
	memcpy(r + 9, OEM_ID, 6);
	r[15] = 2;
	vg_put_le32(r + 16, 0); /* no RSDT: XSDT only */
	vg_put_le32(r + 20, 36);
	vg_put_le64(r + 24, addr_xsdt);
	r[8] = checksum(r, 20);
	r[32] = checksum(r, 36);
	*len = b.len;
	return 0;
}

int vmm_acpi_dump(const struct vmm_acpi_opts *o, const char *dir, struct vg_err *err)
{
	static uint8_t buf[VMM_ACPI_SIZE];
	size_t len = 0;
	int rc = vmm_acpi_build(o, VMM_ACPI_BASE, buf, sizeof(buf), &len, err);
	if (rc)
		return rc;
	char path[4200];
	snprintf(path, sizeof(path), "%s/rsdp.dat", dir);
	if ((rc = vg_write_file_atomic(path, buf, 36, 0644, err)))
		return rc;
	/* Tables follow the RSDP, each 16-byte aligned, each with its length. */
	for (size_t off = 48; off + HDR_LEN <= len; off = (off + 15) & ~(size_t)15) {
		uint32_t tl = vg_le32(buf + off + 4);
		if (tl < HDR_LEN || tl > len - off)
			break;
		char sig[5] = {0};
		memcpy(sig, buf + off, 4);
		for (int i = 0; i < 4; i++)
			sig[i] = (char)(sig[i] >= 'A' && sig[i] <= 'Z' ? sig[i] - 'A' + 'a' : sig[i]);
		snprintf(path, sizeof(path), "%s/%s.dat", dir, sig);
		if ((rc = vg_write_file_atomic(path, buf + off, tl, 0644, err)))
			return rc;
		off += tl;
	}
	return 0;
}
