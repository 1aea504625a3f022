#!/usr/bin/env bash
# The fwcfg guest (firmware/guest/fwcfg.c) reads fw_cfg as OVMF's QemuFwCfgLib does
# (signature, feature bits, file directory, DMA read of etc/e820) and the CMOS
# memory-size registers, under each accelerator, with RAM below and above 4 GiB. On
# sim-snp with --kernel (measured direct boot) it also reads the setup and kernel blobs
# by DMA, hashes them as OVMF does and finds the hash in the SEV hashes table the launch
# measured; that launch's digest is `vigil measure snp --kernel`'s. On sim-tdx with --kernel
# and --initrd it reads kernel and initrd by DMA and prints their hashes; MRTD is the
# firmware's alone.
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

	# A small bzImage-shaped kernel: setup_sects 1 (1 KiB of setup), "HdrS" at 0x202.
	/usr/bin/python3 - "$TMP/bz" <<'PY'
import sys
b = bytearray(8192)
b[0x1f1] = 1
b[0x202:0x206] = b"HdrS"
for i in range(1024, 8192):
    b[i] = (i * 7) & 0xff
open(sys.argv[1], "wb").write(b)
PY
	# direct_boot PLATFORM ARGS...: runs the guest with a kernel through fw_cfg; its
	# serial output in $S; the kernel it read by DMA must be the file.
	direct_boot() {
		local plat=$1
		shift
		expect_exit 0 "[$A] $plat measured direct boot: the guest's checks pass" timeout 60 \
			"$BIN/vigil-vmm" --accel "$A" --platform "$plat" --state-dir "$TMP/state" --firmware "$GUEST" \
			"$@" --memory-mib 64 --serial "$TMP/serial.txt"
		S=$(cat "$TMP/serial.txt")
		expect_match "[$A] $plat: the kernel served by fw_cfg hashes to the file's SHA-256" \
			"fwcfg: kernel sha256 $(sha256sum "$TMP/bz" | cut -d' ' -f1)" "$S"
	}
	KARGS=(--kernel "$TMP/bz" --cmdline "console=ttyS0")
	direct_boot sim-snp "${KARGS[@]}"
	expect_match "[$A] ... which the launch put in the hashes table" "kernel hash found in the SEV hashes table" "$S"
	expect_exit 0 "[$A] the same launch, --launch-only" "$BIN/vigil-vmm" --accel "$A" --platform sim-snp \
		--state-dir "$TMP/state" --firmware "$GUEST" "${KARGS[@]}" --memory-mib 64 --launch-only
	expect_eq "[$A] ... measures as vigil measure predicts" \
		"$("$BIN/vigil" measure snp --firmware "$GUEST" --vmm-type vigil "${KARGS[@]}" | head -1)" "$OUT"

	# TDX measured direct boot: the same blobs reach the guest through fw_cfg DMA on
	# sim-tdx (TDVF would measure them into RTMR1/RTMR2; there is no hashes table).
	head -c 3000 /dev/urandom >"$TMP/initrd"
	TARGS=(--kernel "$TMP/bz" --initrd "$TMP/initrd" --cmdline "console=ttyS0")
	direct_boot sim-tdx "${TARGS[@]}"
	expect_match "[$A] sim-tdx: the initrd served by fw_cfg is the file" \
		"fwcfg: initrd sha256 $(sha256sum "$TMP/initrd" | cut -d' ' -f1)" "$S"
	expect_match "[$A] sim-tdx: no SEV hashes table" "no SEV hashes table" "$S"
	expect_match "[$A] sim-tdx: a DMA address with the TD shared bit is refused" \
		"DMA to the shared-bit alias refused" "$S"
	expect_match "[$A] sim-tdx: fwcfg ok" "fwcfg: ok" "$S"
	expect_exit 0 "[$A] the same sim-tdx launch, --launch-only" "$BIN/vigil-vmm" --accel "$A" --platform sim-tdx \
		--state-dir "$TMP/state" --firmware "$GUEST" "${TARGS[@]}" --memory-mib 64 --launch-only
	expect_eq "[$A] ... MRTD is vigil measure tdx's for the firmware alone" \
		"$("$BIN/vigil" measure tdx --firmware "$GUEST" | head -1)" "$OUT"
done
finish
