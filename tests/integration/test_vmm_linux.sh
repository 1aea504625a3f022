#!/usr/bin/env bash
# The Linux boot path on Debian's cloud kernel (extracted from the package
# scripts/deps.sh downloads, never installed) and the ACPI tables a Linux
# guest gets, disassembled by iasl. Parsing, measuring and refusing run under
# each accelerator; running the kernel needs kvm (emu refuses it, saying why).
source "$(dirname "$0")/lib.sh"
VMM=$BIN/vigil-vmm
[[ -n "${VIGIL_SANITIZE:-}" ]] && export ASAN_OPTIONS=detect_leaks=0

# ACPI tables: every table disassembles without errors (RSDP is checked by
# the unit tests: this iasl cannot disassemble a lone RSDP file).
need_cmd iasl
mkdir -p "$TMP/acpi"
check "--dump-acpi writes the tables" "$VMM" --dump-acpi "$TMP/acpi" --vtpm --vcpus 4
for t in dsdt facp apic tpm2 xsdt; do
	expect_exit 0 "iasl -d $t" iasl -d "$TMP/acpi/$t.dat"
	expect_eq "iasl: no errors or warnings in $t" "" "$(grep -iE 'error|warning' <<<"$OUT$ERR")"
done
dsdt=$(cat "$TMP/acpi/dsdt.dsl")
expect_match "DSDT: TPM device MSFT0101" 'Name \(_HID, "MSFT0101"' "$dsdt"
expect_match "DSDT: TPM CRB registers" '0xFED40000,.*Address Base' "$(tr -d '\n' <<<"$dsdt")"
expect_match "DSDT: COM1" 'EisaId \("PNP0501"\)' "$dsdt"
expect_match "DSDT: S5 sleep state" '_S5' "$dsdt"
tpm2=$(cat "$TMP/acpi/tpm2.dsl")
expect_match "TPM2: CRB start method" 'Start Method : 07' "$tpm2"
expect_match "TPM2: log area length" 'Minimum Log Length : 00010000' "$tpm2"
expect_match "TPM2: log area address" 'Log Address : 00000000000F0000' "$tpm2"
expect_eq "MADT: one local APIC per vCPU" 4 "$(grep -c 'Subtable Type : 00 \[Processor Local APIC\]' "$TMP/acpi/apic.dsl")"
expect_match "FADT: reset register 0xCF9" 'Address : 0000000000000CF9' "$(cat "$TMP/acpi/facp.dsl")"
mkdir -p "$TMP/acpi-notpm"
check "--dump-acpi without a vTPM" "$VMM" --dump-acpi "$TMP/acpi-notpm"
[[ ! -e "$TMP/acpi-notpm/tpm2.dat" ]] && _ok "no TPM2 table without a vTPM" || _nok "no TPM2 table without a vTPM"

# Debian's cloud kernel.
cache=${VIGIL_KERNEL_CACHE:-/var/cache/vigil/kernel}
deb=$(ls "$cache"/linux-image-*-cloud-amd64_*.deb 2>/dev/null | head -1)
[[ -n "$deb" ]] || { echo "SKIP: Debian cloud kernel not downloaded (scripts/deps.sh)"; finish; }
dpkg-deb -x "$deb" "$TMP/k" || { _nok "dpkg-deb -x"; finish; }
K=$(ls "$TMP"/k/boot/vmlinuz-* | head -1)
head -c 300000 /dev/urandom >"$TMP/initrd.img"
suite() {
expect_exit 0 "kernel, initrd, cmdline: --print-measurements" "$VMM" --kernel "$K" --initrd "$TMP/initrd.img" \
	--cmdline "console=ttyS0 quiet" --print-measurements
expect_match "kernel measured into PCR 9" "pcr9  sha256 $(sha256sum "$K" | cut -d' ' -f1) kernel" "$OUT"
expect_match "initrd measured into PCR 9" "pcr9  sha256 $(sha256sum "$TMP/initrd.img" | cut -d' ' -f1) initrd" "$OUT"
expect_match "cmdline measured into PCR 8" "pcr8  sha256 $(printf 'console=ttyS0 quiet' | sha256sum | cut -d' ' -f1) cmdline" "$OUT"

if [[ $ACCEL == kvm ]]; then
# The kernel starts at its 64-bit entry and runs (its full boot is beyond
# this machine's software KVM): no KVM error, stopped by the operator.
timeout -s TERM 2 "$VMM" --kernel "$K" --cmdline "console=ttyS0" -v >/dev/null 2>"$TMP/run.err"
expect_eq "the kernel runs until stopped (timeout's status)" 124 "$?"
expect_match "boot protocol recognised" 'info: Linux 6\.[0-9.]+-[0-9]+-cloud-amd64 .*protocol 2\.1[5-9].*entry 0x1000200' "$(cat "$TMP/run.err")"
expect_match "orderly stop" 'stopped by Terminated' "$(cat "$TMP/run.err")"
expect_eq "no guest crash" "" "$(grep -E 'error' "$TMP/run.err")"
else
expect_exit 2 "a Linux kernel is refused under emu" timeout 10 "$VMM" --kernel "$K" --cmdline "console=ttyS0"
expect_match "... saying why" '^vigil-vmm: a Linux kernel cannot run under the emu accelerator: Unicorn 2 cannot inject interrupts or deliver exceptions' "$ERR"
fi

# Broken kernels are refused before anything runs, with one line.
head -c 5000 "$K" >"$TMP/trunc"
expect_exit 2 "truncated kernel refused" "$VMM" --kernel "$TMP/trunc"
expect_match "truncation named" 'vigil-vmm: .*trunc: bzImage: (truncated|setup)' "$ERR"
cp "$K" "$TMP/bad"
printf 'XXXX' | dd of="$TMP/bad" bs=1 seek=$((0x202)) conv=notrunc 2>/dev/null
expect_exit 2 "corrupted magic refused" "$VMM" --kernel "$TMP/bad"
expect_match "magic named" 'HdrS' "$ERR"
expect_exit 2 "kernel bigger than guest RAM refused" "$VMM" --kernel "$K" --memory-mib 8
expect_match "RAM named" 'guest RAM' "$ERR"
}
for a in $(test_accels); do
	use_accel "$a"
	suite
done
_prefix=
[[ " $(test_accels) " == *" kvm "* ]] ||
	skip_all "running a Linux kernel needs kvm (in-kernel irqchip and interrupt injection, which emu lacks)"
finish
