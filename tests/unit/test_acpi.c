/* Unit tests for the VMM's ACPI tables: RSDP, checksums, the table graph. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "vmm/vmm.h"

static uint8_t buf[VMM_ACPI_SIZE];

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	for (size_t i = 0; i < n; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

/* The table at guest address gpa, after checking its header and checksum. */
static const uint8_t *table_at(uint64_t gpa, size_t len, const char *sig)
{
	assert_true(gpa >= VMM_ACPI_BASE && gpa < VMM_ACPI_BASE + len);
	const uint8_t *t = buf + (gpa - VMM_ACPI_BASE);
	assert_memory_equal(t, sig, 4);
	uint32_t tl = vg_le32(t + 4);
	assert_true(tl >= 36 && gpa - VMM_ACPI_BASE + tl <= len);
	assert_int_equal(sum(t, tl), 0);
	return t;
}

static void check_tables(unsigned vcpus, bool tpm)
{
	struct vmm_acpi_opts o = {.vcpus = vcpus, .tpm = tpm, .log_addr = VMM_TPM_LOG_ADDR, .log_size = VMM_TPM_LOG_SIZE};
	size_t len = 0;
	struct vg_err err = {0};
	assert_int_equal(vmm_acpi_build(&o, VMM_ACPI_BASE, buf, sizeof(buf), &len, &err), 0);
	/* RSDP: signature, revision 2, both checksums, XSDT pointer. */
	assert_memory_equal(buf, "RSD PTR ", 8);
	assert_int_equal(buf[15], 2);
	assert_int_equal(sum(buf, 20), 0);
	assert_int_equal(sum(buf, 36), 0);
	assert_int_equal(vg_le32(buf + 20), 36);
	const uint8_t *xsdt = table_at(vg_le64(buf + 24), len, "XSDT");
	unsigned n = (vg_le32(xsdt + 4) - 36) / 8;
	assert_int_equal(n, tpm ? 3 : 2);
	const uint8_t *fadt = table_at(vg_le64(xsdt + 36), len, "FACP");
	const uint8_t *madt = table_at(vg_le64(xsdt + 44), len, "APIC");
	assert_int_equal(vg_le32(fadt + 4), 276); /* ACPI 6 FADT */
	assert_int_equal(vg_le32(fadt + 40), vg_le64(fadt + 140)); /* DSDT == X_DSDT */
	const uint8_t *dsdt = table_at(vg_le64(fadt + 140), len, "DSDT");
	assert_int_equal(vg_le32(fadt + 64), 0x604);  /* PM1a control, for S5 */
	assert_int_equal(vg_le64(fadt + 120), 0xCF9); /* reset register */
	assert_int_equal(fadt[128], 6);
	/* MADT: one local APIC per vCPU, one I/O APIC. */
	unsigned lapics = 0, ioapics = 0;
	for (size_t off = 44; off + 2 <= vg_le32(madt + 4); off += madt[off + 1]) {
		assert_true(madt[off + 1] >= 2);
		lapics += madt[off] == 0;
		ioapics += madt[off] == 1;
	}
	assert_int_equal(lapics, vcpus);
	assert_int_equal(ioapics, 1);
	/* DSDT: COM1 always, the TPM device only with a vTPM. */
	size_t dl = vg_le32(dsdt + 4);
	assert_non_null(memmem(dsdt, dl, "COM1", 4));
	assert_non_null(memmem(dsdt, dl, "_S5_", 4));
	if (tpm) {
		assert_non_null(memmem(dsdt, dl, "MSFT0101", 8));
		const uint8_t *tpm2 = table_at(vg_le64(xsdt + 52), len, "TPM2");
		assert_int_equal(vg_le32(tpm2 + 4), 76);
		assert_int_equal(vg_le64(tpm2 + 40), VMM_TPM_CRB_BASE + 0x40);
		assert_int_equal(vg_le32(tpm2 + 48), 7);
		assert_int_equal(vg_le32(tpm2 + 64), VMM_TPM_LOG_SIZE);
		assert_int_equal(vg_le64(tpm2 + 68), VMM_TPM_LOG_ADDR);
	} else {
		assert_null(memmem(dsdt, dl, "MSFT0101", 8));
	}
}

static void test_tables_tpm(void **state) { (void)state; check_tables(2, true); }
static void test_tables_no_tpm(void **state) { (void)state; check_tables(1, false); }
static void test_tables_many_vcpus(void **state) { (void)state; check_tables(VMM_MAX_VCPUS, true); }

static void test_too_small(void **state)
{
	(void)state;
	struct vmm_acpi_opts o = {.vcpus = 4, .tpm = true};
	size_t len;
	struct vg_err err = {0};
	assert_int_equal(vmm_acpi_build(&o, VMM_ACPI_BASE, buf, 200, &len, &err), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables_tpm),
		cmocka_unit_test(test_tables_no_tpm),
		cmocka_unit_test(test_tables_many_vcpus),
		cmocka_unit_test(test_too_small),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
