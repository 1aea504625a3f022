#!/usr/bin/env bash
# The fwcfg guest (firmware/guest/fwcfg.c) reads fw_cfg as OVMF's QemuFwCfgLib does
# (signature, feature bits, file directory, DMA read of etc/e820) and the CMOS
# memory-size registers, under each accelerator, with RAM below and above 4 GiB.
. "$(dirname "$0")/lib.sh"
# Sanitized builds: LeakSanitizer's exit-time thread tracer is not in the seccomp allow-list.
[[ -n "${VIGIL_SANITIZE:-}" ]] && export ASAN_OPTIONS=detect_leaks=0

GUEST=$BUILD/guest/fwcfg.bin
[[ -f $GUEST ]] || skip_all "fwcfg guest not built"

accels() {
	"$BIN/vigil-vmm" --check-kvm >/dev/null 2>&1 && echo kvm
	echo emu
}

for A in $(accels); do
	for shape in "64 1" "5120 3"; do
		set -- $shape
		expect_exit 0 "[$A] $1 MiB, $2 vCPUs: the guest's checks pass" timeout 60 "$BIN/vigil-vmm" --accel "$A" \
			--firmware "$GUEST" --memory-mib "$1" --vcpus "$2" --serial "$TMP/serial.txt"
		S=$(cat "$TMP/serial.txt")
		expect_match "[$A] $1 MiB: fwcfg ok" "fwcfg: ok" "$S"
		expect_match "[$A] $1 MiB: CPU count" "fwcfg: cpus $2" "$S"
	done
	expect_match "[$A] 5 GiB: 3 GiB below 4 GiB, 2 GiB above" "e820 RAM below 4G c0000000 above 80000000" "$S"
done
finish
