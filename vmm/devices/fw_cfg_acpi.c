/*
 * The ACPI tables the VMM builds (vmm/acpi.c), handed to firmware the way QEMU does
 * (hw/acpi/bios-linker-loader.c; OVMF's AcpiPlatformDxe runs the script): the tables
 * in "etc/acpi/tables" and the RSDP in "etc/acpi/rsdp", built at address 0 so every
 * pointer holds an offset, and "etc/table-loader", 128-byte commands: ALLOCATE each
 * file (RSDP in the F-segment, tables high), ADD_POINTER for every pointer field
 * (RSDP -> XSDT, XSDT -> each table, FADT -> DSDT twice), ADD_CHECKSUM for every
 * table and both RSDP checksums. The pointer fields are found by walking the built
 * tables themselves, so a table added to vmm/acpi.c is linked without a change here.
 */
#include "vmm/devices/devices.h"

#include <stdlib.h>
#include <string.h>

#define CMD_ALLOCATE 1
#define CMD_ADD_POINTER 2
#define CMD_ADD_CHECKSUM 3
#define ZONE_HIGH 1
#define ZONE_FSEG 2
#define ENTRY 128
#define NAME 56
#define TABLES "etc/acpi/tables"
#define RSDP "etc/acpi/rsdp"
#define MAX_CMDS 64

struct zero_at {
	const char *file;
	uint32_t off;
};
struct script {
	uint8_t *b;
	size_t n, cap;
	struct zero_at zero[MAX_CMDS]; /* checksum bytes to clear */
	size_t nzero;
};

static uint8_t *cmd(struct script *s, uint32_t c)
{
	if (s->n == s->cap)
		return NULL;
	uint8_t *e = s->b + s->n++ * ENTRY;
	memset(e, 0, ENTRY);
	vg_put_le32(e, c);
	return e;
}

static int allocate(struct script *s, const char *file, uint32_t align, uint8_t zone)
{
	uint8_t *e = cmd(s, CMD_ALLOCATE);
	if (!e)
		return -ENOSPC;
	memcpy(e + 4, file, strlen(file));
	vg_put_le32(e + 4 + NAME, align);
	e[4 + NAME + 4] = zone;
	return 0;
}

static int pointer(struct script *s, const char *dst, const char *src, uint32_t off, uint8_t size)
{
	uint8_t *e = cmd(s, CMD_ADD_POINTER);
	if (!e)
		return -ENOSPC;
	memcpy(e + 4, dst, strlen(dst));
	memcpy(e + 4 + NAME, src, strlen(src));
	vg_put_le32(e + 4 + 2 * NAME, off);
	e[4 + 2 * NAME + 4] = size;
	return 0;
}

/* The loader sets the byte at off to minus the sum of [start, start+len), the byte
 * included (OVMF: CalculateCheckSum8): it must be zero beforehand, as QEMU leaves it. */
static int checksum(struct script *s, const char *file, uint32_t off, uint32_t start, uint32_t len)
{
	uint8_t *e = cmd(s, CMD_ADD_CHECKSUM);
	if (!e)
		return -ENOSPC;
	s->zero[s->nzero++ % MAX_CMDS] = (struct zero_at){ file, off };
	memcpy(e + 4, file, strlen(file));
	vg_put_le32(e + 4 + NAME, off);
	vg_put_le32(e + 4 + NAME + 4, start);
	vg_put_le32(e + 4 + NAME + 8, len);
	return 0;
}

/* A table at off inside [0, len): its length, or 0 when it does not fit. */
static uint32_t table_len(const uint8_t *t, size_t len, uint64_t off)
{
	if (off > len || len - off < 36)
		return 0;
	uint32_t l = vg_le32(t + off + 4);
	return l >= 36 && l <= len - off ? l : 0;
}

int vmm_fw_cfg_add_acpi(struct vmm_fw_cfg *f, const struct vmm_acpi_opts *o, struct vg_err *err)
{
	size_t cap = VMM_ACPI_SIZE, len = 0;
	uint8_t *buf = malloc(cap);
	uint8_t *script = calloc(MAX_CMDS, ENTRY);
	struct script s;
	memset(&s, 0, sizeof(s));
	s.b = script;
	s.cap = MAX_CMDS;
	int rc = buf && script ? vmm_acpi_build(o, 0, buf, cap, &len, err) : vg_err_set(err, ENOMEM, "out of memory");
	if (rc)
		goto out;
	/* The build puts the RSDP (36 bytes) at 0 and the tables after it. */
	uint8_t rsdp[36];
	memcpy(rsdp, buf, sizeof(rsdp));
	memset(buf, 0, 48);
	uint64_t xsdt = vg_le64(rsdp + 24);
	uint32_t xl = table_len(buf, len, xsdt);
	rc = xl ? 0 : vg_err_set(err, EBADMSG, "ACPI: XSDT not found in the built tables");
	if (!rc)
		rc = allocate(&s, RSDP, 16, ZONE_FSEG) || allocate(&s, TABLES, 64, ZONE_HIGH) ? -ENOSPC : 0;
	/* Every table the XSDT names (and the FADT's DSDT): pointers, then checksums. */
	for (uint32_t p = 36; !rc && p + 8 <= xl; p += 8) {
		uint64_t t = vg_le64(buf + xsdt + p);
		uint32_t tl = table_len(buf, len, t);
		if (!tl) {
			rc = vg_err_set(err, EBADMSG, "ACPI: XSDT entry at %u points outside the tables", p);
			break;
		}
		rc = pointer(&s, TABLES, TABLES, (uint32_t)(xsdt + p), 8);
		if (!rc && !memcmp(buf + t, "FACP", 4) && tl >= 148) {
			uint64_t dsdt = vg_le64(buf + t + 140);
			uint32_t dl = table_len(buf, len, dsdt);
			if (!dl)
				rc = vg_err_set(err, EBADMSG, "ACPI: FADT's DSDT outside the tables");
			if (!rc)
				rc = pointer(&s, TABLES, TABLES, (uint32_t)(t + 40), 4) ||
				     pointer(&s, TABLES, TABLES, (uint32_t)(t + 140), 8) ||
				     checksum(&s, TABLES, (uint32_t)(dsdt + 9), (uint32_t)dsdt, dl) ? -ENOSPC : 0;
		}
		if (!rc)
			rc = checksum(&s, TABLES, (uint32_t)(t + 9), (uint32_t)t, tl);
	}
	if (!rc)
		rc = checksum(&s, TABLES, (uint32_t)(xsdt + 9), (uint32_t)xsdt, xl) ||
		     pointer(&s, RSDP, TABLES, 24, 8) || checksum(&s, RSDP, 8, 0, 20) || checksum(&s, RSDP, 32, 0, 36)
			     ? -ENOSPC : 0;
	if (rc == -ENOSPC)
		rc = vg_err_set(err, ENOSPC, "ACPI: table-loader script too long");
	/* The checksums are the loader's to compute, over the patched tables. */
	for (size_t i = 0; !rc && i < s.nzero && i < MAX_CMDS; i++) {
		if (!strcmp(s.zero[i].file, RSDP) && s.zero[i].off < sizeof(rsdp))
			rsdp[s.zero[i].off] = 0;
		else if (!strcmp(s.zero[i].file, TABLES) && s.zero[i].off < len)
			buf[s.zero[i].off] = 0;
	}
	if (!rc && ((rc = vmm_fw_cfg_add(f, 0, buf, len, TABLES)) || (rc = vmm_fw_cfg_add(f, 0, rsdp, 36, RSDP)) ||
		    (rc = vmm_fw_cfg_add(f, 0, script, s.n * ENTRY, "etc/table-loader"))))
		rc = vg_err_set(err, -rc, "fw_cfg: ACPI items");
out:
	free(buf);
	free(script);
	return rc;
}
