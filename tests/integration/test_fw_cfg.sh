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

# --fw-cfg (QEMU's -fw_cfg): named opt/ items the guest finds in the file directory and
# reads by DMA. The same guest under QEMU (TCG, machine pc, the same -fw_cfg options)
# must print exactly what it prints under vigil-vmm: signature, directory (sorted by
# name, as QEMU's), e820, CMOS, CPU count and the items' sizes and SHA-256.
printf 'hello,world' >"$TMP/item.txt"
FWCFG=(--fw-cfg name=opt/ovmf/X-PciMmio64Mb,string=65536 --fw-cfg "opt/vigil/file,file=$TMP/item.txt"
	--fw-cfg "opt/vigil/comma,string=a,,b")
expect_exit 0 "--fw-cfg: the guest's checks pass" timeout 60 "$BIN/vigil-vmm" --firmware "$GUEST" "${FWCFG[@]}" \
	--memory-mib 128 --vcpus 2 --serial "$TMP/v.txt"
V=$(cat "$TMP/v.txt")
expect_match "--fw-cfg string item: size and SHA-256 of the bytes, no NUL" \
	"fwcfg: item opt/ovmf/X-PciMmio64Mb 5 $(printf 65536 | sha256sum | cut -d' ' -f1)" "$V"
expect_match "--fw-cfg file item: the file's bytes" \
	"fwcfg: item opt/vigil/file 11 $(sha256sum <"$TMP/item.txt" | cut -d' ' -f1)" "$V"
expect_match "--fw-cfg ',,' is a comma in the value" "fwcfg: item opt/vigil/comma 3 $(printf a,b | sha256sum | cut -d' ' -f1)" "$V"
cat >"$TMP/vm.json" <<EOF
{"firmware": "$GUEST", "fw_cfg": [{"name": "opt/ovmf/X-PciMmio64Mb", "string": "65536"},
  {"name": "opt/vigil/file", "file": "$TMP/item.txt"}, {"name": "opt/vigil/comma", "string": "a,b"}],
 "memory_mib": 128, "vcpus": 2, "serial": "$TMP/j.txt"}
EOF
expect_exit 0 "vm.json \"fw_cfg\" array: runs" timeout 60 "$BIN/vigil-vmm" --config "$TMP/vm.json"
expect_eq "vm.json \"fw_cfg\": the guest sees what the flags gave" "$V" "$(cat "$TMP/j.txt")"
if command -v qemu-system-x86_64 >/dev/null; then
	# QEMU's -bios wants a multiple of 64 KiB: pad in front (the image ends at 4 GiB).
	/usr/bin/python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); open(sys.argv[2],"wb").write(bytes(-len(d)%65536)+d)' \
		"$GUEST" "$TMP/fw64k.bin"
	for shape in "128 2" "5120 3"; do
		set -- $shape
		timeout 120 qemu-system-x86_64 -accel tcg -machine pc -m "$1" -smp "$2" -bios "$TMP/fw64k.bin" \
			-display none -serial "file:$TMP/q.txt" -device isa-debug-exit,iobase=0x501,iosize=1 -no-reboot \
			-fw_cfg name=opt/ovmf/X-PciMmio64Mb,string=65536 -fw_cfg "opt/vigil/file,file=$TMP/item.txt" \
			-fw_cfg "opt/vigil/comma,string=a,,b" </dev/null >/dev/null 2>"$TMP/q.err"
		expect_eq "QEMU ran the fwcfg guest to its end ($1 MiB, $2 vCPUs: isa-debug-exit 0 -> status 1)" 1 "$?"
		"$BIN/vigil-vmm" --firmware "$GUEST" "${FWCFG[@]}" --memory-mib "$1" --vcpus "$2" --serial "$TMP/v.txt" 2>/dev/null
		check "QEMU and vigil-vmm: the guest prints the same ($1 MiB, $2 vCPUs)" diff "$TMP/q.txt" "$TMP/v.txt"
	done
else
	echo "# SKIP QEMU comparison of fw_cfg: qemu-system-x86_64 not installed (scripts/deps.sh installs it)"
fi

# Bad --fw-cfg: one line naming what was wrong, exit 2, the guest never starts.
bad() {
	local want=$1
	shift
	expect_exit 2 "bad --fw-cfg: $want" "$BIN/vigil-vmm" --firmware "$GUEST" --serial none "$@"
	expect_match "... says: $want" "$want" "$ERR"
}
bad 'must start with "opt/"' --fw-cfg name=etc/e820,string=x
bad 'needs exactly one of file= and string=' --fw-cfg name=opt/a,string=x,file=/etc/hostname
bad 'needs exactly one of file= and string=' --fw-cfg name=opt/a
bad 'given twice' --fw-cfg opt/a,string=x --fw-cfg opt/a,string=y
bad 'expected name=, file= or string=' --fw-cfg opt/a,strin=x
bad 'longer than 55 bytes' --fw-cfg "opt/$(printf 'x%.0s' {1..60}),string=1"
bad "opt/a: fw_cfg file $TMP/nope" --fw-cfg "opt/a,file=$TMP/nope"
expect_exit 2 "--fw-cfg without --firmware is refused" "$BIN/vigil-vmm" --kernel "$TMP/bz" --fw-cfg opt/a,string=1
expect_match "... naming why" 'needs --firmware' "$ERR"
echo '{"firmware": "x", "fw_cfg": [{"name": "opt/a", "strng": "1"}]}' >"$TMP/bad.json"
expect_exit 2 "vm.json fw_cfg with an unknown member is refused" "$BIN/vigil-vmm" --config "$TMP/bad.json"
expect_match "... naming it" 'fw_cfg\[0\]: "strng"' "$ERR"
finish
