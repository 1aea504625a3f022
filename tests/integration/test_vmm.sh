#!/usr/bin/env bash
# vigil-vmm end to end under each accelerator (emu everywhere, kvm where
# /dev/kvm opens): our guests' serial output and exit status, a crashing
# guest, SIGTERM on a live sandboxed VMM, config errors, the jail, and
# --print-measurements; the accelerator choice (--accel, vm.json, auto).
source "$(dirname "$0")/lib.sh"
VMM=$BIN/vigil-vmm
G=$BUILD/guest
[[ -x $VMM && -f $G/hello.bin ]] || { echo "vigil-vmm or guests not built"; exit 1; }
# Sanitized builds: LeakSanitizer's exit-time thread tracer is not in the seccomp allow-list.
[[ -n "${VIGIL_SANITIZE:-}" ]] && export ASAN_OPTIONS=detect_leaks=0

# Configuration errors are found before anything starts (no KVM needed).
expect_exit 2 "no boot source is a usage error" "$VMM"
expect_match "no boot source: one line" '^vigil-vmm: nothing to boot' "$ERR"
expect_exit 2 "missing firmware file" "$VMM" --firmware "$TMP/nope.bin"
expect_match "missing firmware named" 'firmware .*/nope.bin: No such file' "$ERR"
expect_exit 2 "--vcpus 0 rejected" "$VMM" --firmware "$G/hello.bin" --vcpus 0
expect_match "--vcpus range named" 'vcpus: 0 is out of range' "$ERR"
expect_exit 2 "--memory-mib not a number" "$VMM" --firmware "$G/hello.bin" --memory-mib lots
echo '{"firmware": "x", "colour": "blue"}' >"$TMP/bad.json"
expect_exit 2 "unknown config key rejected" "$VMM" --config "$TMP/bad.json"
expect_match "unknown key named" 'unknown key "colour"' "$ERR"
echo '{"vcpus": "two"}' >"$TMP/bad2.json"
expect_exit 2 "wrong type rejected" "$VMM" --config "$TMP/bad2.json"
expect_match "wrong type named" 'vcpus: expected a non-negative integer' "$ERR"
echo '{"vcpus": 1,' >"$TMP/bad3.json"
expect_exit 2 "broken JSON rejected" "$VMM" --config "$TMP/bad3.json"
expect_exit 2 "unknown platform rejected" "$VMM" --firmware "$G/hello.bin" --platform quantum
expect_match "known platforms listed" 'platform "quantum" is unknown \(known: none' "$ERR"
expect_exit 2 "unknown --user rejected before start" "$VMM" --firmware "$G/hello.bin" --user no-such-user-xyz
expect_match "user named" 'no such user' "$ERR"
head -c 1000 "$G/hello.bin" >"$TMP/short.bin"
expect_exit 2 "unknown --accel rejected" "$VMM" --firmware "$G/hello.bin" --accel tcg
expect_match "known accelerators listed" 'accel "tcg" is unknown \(known: kvm, emu, auto\)' "$ERR"

# auto: KVM when the KVM device opens, else emu, said once on stderr.
# VIGIL_KVM_DEVICE (test-only) points the KVM device at a missing file.
VIGIL_KVM_DEVICE=$TMP/no-kvm expect_exit 0 "auto without a KVM device falls back to emu" timeout 30 \
	"$BIN/vigil-vmm" --firmware "$G/hello.bin"
expect_eq "auto fallback: same serial output" "Hello from a Vigil guest!" "$OUT"
expect_match "auto fallback said on stderr" "^vigil-vmm: warning: $TMP/no-kvm: No such file or directory.*; using the emu accelerator \(software emulation" "$ERR"
expect_eq "auto fallback: said once, one line" 1 "$(wc -l <<<"$ERR")"
echo "{\"firmware\": \"$G/hello.bin\", \"accel\": \"emu\"}" >"$TMP/emu.json"
expect_exit 0 "vm.json accel emu" timeout 30 "$BIN/vigil-vmm" --config "$TMP/emu.json"
expect_eq "vm.json accel emu: output, no fallback line" "Hello from a Vigil guest!|" "$OUT|$ERR"
VIGIL_KVM_DEVICE=$TMP/no-kvm expect_exit 2 "--accel kvm without a KVM device: an error, no fallback" \
	"$BIN/vigil-vmm" --firmware "$G/hello.bin" --accel kvm
expect_match "... naming the device" "$TMP/no-kvm: No such file" "$ERR"
if have_kvm; then
	expect_exit 0 "auto with /dev/kvm uses kvm silently" timeout 30 "$BIN/vigil-vmm" --firmware "$G/hello.bin"
	expect_eq "auto with kvm: nothing on stderr" "" "$ERR"
fi
# Real SNP and TDX need KVM: under emu their probe refuses, naming why.
for plat in snp tdx; do
	expect_exit 2 "$plat refused under emu" "$BIN/vigil-vmm" --accel emu --platform $plat --firmware "$G/hello.bin" \
		--memory-mib 16 --serial none
	expect_match "$plat under emu: the reason" "platform $plat: needs the kvm accelerator" "$ERR"
done

suite() {
expect_exit 2 "firmware not a 4 KiB multiple rejected" "$VMM" --firmware "$TMP/short.bin"
expect_match "size named" 'not a multiple of 4096' "$ERR"

if [[ $ACCEL == kvm ]]; then
check "--check-kvm" "$VMM" --check-kvm
# A confidential platform this host's KVM lacks is refused by its probe, before
# KVM_CREATE_VM, naming the VM-types mask KVM reports (skipped on a host that has it).
for plat in snp tdx; do
	if "$VMM" --check-kvm --platform $plat >/dev/null 2>&1; then
		_ok "$plat: this host offers it (nothing to refuse)"
		continue
	fi
	expect_exit 1 "$plat: --check-kvm --platform $plat says the host lacks it" "$VMM" --check-kvm --platform $plat
	expect_match "$plat: ... with the VM-types mask" "^vigil-vmm: platform $plat: host KVM offers no .* VMs: KVM_CAP_VM_TYPES mask is 0x" "$ERR"
	expect_exit 2 "$plat: a launch stops before KVM_CREATE_VM" "$VMM" --platform $plat --firmware "$G/hello.bin" \
		--memory-mib 16 --serial none
	expect_match "$plat: ... with the platform's reason" 'KVM_CAP_VM_TYPES mask' "$ERR"
	check "$plat: ... not KVM_CREATE_VM's EINVAL" bash -c '! grep -q KVM_CREATE_VM <<<"$1"' _ "$ERR"
done
fi

# hello: prints, exits 0 through the debug-exit port.
expect_exit 0 "hello exits 0" timeout 30 "$VMM" --firmware "$G/hello.bin"
expect_eq "hello serial output" "Hello from a Vigil guest!" "$OUT"
expect_eq "hello: nothing on stderr" "" "$ERR"

# The guest's own status becomes the VMM's.
expect_exit 42 "status guest exits 42" timeout 30 "$VMM" --firmware "$G/status.bin"

# Power: ACPI S5 is a clean shutdown (exit 0); a reset request reboots the VM (the
# reset guest resets on every boot: --max-reboots 1 stops the second reboot).
expect_exit 0 "ACPI S5 shutdown exits 0" timeout 30 "$VMM" --firmware "$G/shutdown.bin" -v
expect_eq "shutdown: the guest stopped at S5" "shutdown: entering S5" "$OUT"
expect_match "shutdown reason" 'guest shut down \(ACPI S5\)' "$ERR"
expect_exit 1 "reset request reboots the VM, until --max-reboots" timeout 30 "$VMM" --firmware "$G/reset.bin" \
	--max-reboots 1 -v
expect_eq "reset: the guest booted twice" "reset: writing 6 to 0xcf9,reset: writing 6 to 0xcf9" "$(paste -sd, <<<"$OUT")"
expect_match "reset: rebooted once" 'guest requested a reset \(0xCF9\): rebooting \(reboot 1\)' "$ERR"
expect_match "reset: then stopped" 'more than --max-reboots 1 allows' "$ERR"
if [[ $(cat /proc/sys/vm/nr_hugepages 2>/dev/null) == 0 ]]; then
	expect_exit 2 "--hugepages without reserved huge pages: clear error" timeout 30 "$VMM" --firmware "$G/hello.bin" --hugepages
	expect_match "hugepages named" 'with hugepages' "$ERR"
fi

# vm.json, several vCPUs, serial to a file.
cat >"$TMP/vm.json" <<JSON
{"firmware": "$G/hello.bin", "vcpus": 2, "memory_mib": 64, "serial": "$TMP/serial.log"}
JSON
expect_exit 0 "vm.json with 2 vCPUs, serial to a file" timeout 30 "$VMM" --config "$TMP/vm.json"
expect_eq "serial file holds the output" "Hello from a Vigil guest!" "$(cat "$TMP/serial.log")"
expect_exit 0 "flags override vm.json" timeout 30 "$VMM" --config "$TMP/vm.json" --serial stdout --memory-mib 4100
expect_eq "hello above 4 GiB of RAM" "Hello from a Vigil guest!" "$OUT"

# fault: the VMM survives wild MMIO, unclaimed ports and a ROM write, then
# reports the crash (kvm: a triple fault; emu: the #UD it cannot deliver) and exits 1.
expect_exit 1 "fault guest: crash exits 1" timeout 30 "$VMM" --firmware "$G/fault.bin"
expect_match "wild MMIO reads all-ones" 'fault: wild MMIO read 0xffffffff' "$OUT"
expect_match "unclaimed port reads all-ones" 'fault: unclaimed port read 0xff' "$OUT"
expect_match "ROM stays read-only" 'fault: ROM write ignored' "$OUT"
expect_match "guest ran up to its triple fault" 'fault: triple fault now' "$OUT"
expect_match "unclaimed MMIO logged" 'unclaimed MMIO read at 0xd0000000' "$ERR"
expect_match "unclaimed port logged" 'unclaimed port read at 0x1234' "$ERR"
if [[ $ACCEL == kvm ]]; then
	expect_match "triple fault reported" 'error: guest triple fault \(shutdown\) \(vCPU 0, RIP 0x' "$ERR"
else
	expect_match "crash reported with its reason" 'error: guest crashed: invalid instruction or #UD \(emu delivers no exceptions\) \(vCPU 0, RIP 0x' "$ERR"
fi
expect_eq "one write to the ROM logged once" 1 "$(grep -c 'write to read-only firmware at 0xffffc000' <<<"$ERR")"
expect_eq "each unclaimed address logged once" 1 "$(grep -c 'unclaimed port read at 0x1234' <<<"$ERR")"

# spin: a live sandboxed VMM, inspected, then stopped with SIGTERM.
spin_check() { # $1 = expected threads, then extra args; checks the sandbox of a running spin VMM
	local nthreads=$1
	shift
	rm -f "$TMP/spin.log"
	"$VMM" --firmware "$G/spin.bin" --serial "$TMP/spin.log" "$@" 2>"$TMP/spin.err" &
	local pid=$! i
	for ((i = 0; i < 100; i++)); do
		grep -q 'spin: running' "$TMP/spin.log" 2>/dev/null && break
		sleep 0.05
	done
	expect_match "spin guest is running" 'spin: running until stopped' "$(cat "$TMP/spin.log" 2>/dev/null)"
	local st
	st=$(cat /proc/$pid/status 2>/dev/null)
	expect_match "seccomp filter active" $'Seccomp:\t2' "$st"
	expect_match "no_new_privs set" $'NoNewPrivs:\t1' "$st"
	expect_match "no effective capabilities" $'CapEff:\t0000000000000000' "$st"
	expect_match "empty bounding set" $'CapBnd:\t0000000000000000' "$st"
	local threads
	threads=$(cat /proc/$pid/task/*/comm 2>/dev/null | grep -c '^vigil-vmm$')
	expect_eq "main thread + vCPU threads" "$nthreads" "$threads"
	# Unicorn is loaded only by the emu accelerator (dlopen): a KVM run never maps it.
	if [[ $ACCEL == emu ]]; then
		expect_match "emu: libunicorn loaded" 'libunicorn\.so\.2' "$(cat /proc/$pid/maps 2>/dev/null)"
	else
		check "kvm: libunicorn not loaded" bash -c '! grep -q libunicorn "/proc/$1/maps"' _ "$pid"
	fi
	local cpu
	sleep 0.3
	cpu=$(awk '{print $14 + $15}' /proc/$pid/stat)
	sleep 0.5
	expect_eq "an idle guest costs no host CPU" "$cpu" "$(awk '{print $14 + $15}' /proc/$pid/stat)"
	SPIN_PID=$pid
}
spin_check 2
expect_eq "runs as invoked without --user" "$(id -u)" "$(awk '/^Uid:/{print $2}' /proc/$SPIN_PID/status 2>/dev/null)"
kill -TERM "$SPIN_PID"
wait "$SPIN_PID"
expect_eq "SIGTERM: orderly stop, exit 0" 0 "$?"

mkdir -p "$TMP/jail"
spin_check 3 --chroot "$TMP/jail" --user nobody --vcpus 2 -v
expect_eq "--user: runs as nobody" "$(id -u nobody)" "$(awk '/^Uid:/{print $2}' /proc/$SPIN_PID/status)"
expect_eq "--chroot: root is the jail" "$TMP/jail" "$(readlink /proc/$SPIN_PID/root)"
kill -INT "$SPIN_PID"
wait "$SPIN_PID"
expect_eq "SIGINT: orderly stop, exit 0" 0 "$?"
expect_match "stop reason logged" 'stopped by Interrupt' "$(cat "$TMP/spin.err")"

# busy: a vCPU that spins without halting is taken back on SIGTERM (kvm: the
# kick signal; emu: uc_emu_stop, repeated until the run ends).
rm -f "$TMP/busy.log"
"$VMM" --firmware "$G/busy.bin" --serial "$TMP/busy.log" -v 2>"$TMP/busy.err" &
BUSY=$!
for ((i = 0; i < 100; i++)); do grep -q 'busy: spinning' "$TMP/busy.log" 2>/dev/null && break; sleep 0.05; done
kill -TERM "$BUSY"
wait "$BUSY"
expect_eq "busy guest: SIGTERM stops a spinning vCPU, exit 0" 0 "$?"
expect_match "busy guest: orderly stop reported" 'stopped by Terminated' "$(cat "$TMP/busy.err")"

# Hostile guests: seeded random firmware images (random code from the reset
# vector on: wild port I/O, MMIO, exceptions, loops). The VMM survives every
# one: it exits with a status (guest crash 1, debug-exit N, or 0 after an
# orderly SIGTERM), never killed by a signal, never a sanitizer report.
for seed in 1 2 3 4 5 6 7 8 9 10; do
	/usr/bin/python3 -c "import random, sys; r = random.Random($seed)
sys.stdout.buffer.write(bytes(r.getrandbits(8) for _ in range(4096)))" >"$TMP/random.bin"
	timeout --preserve-status -s TERM 3 "$VMM" --firmware "$TMP/random.bin" --serial none 2>"$TMP/random.err"
	st=$?
	((st < 128)) && ! grep -q Sanitizer "$TMP/random.err" && _ok "random guest $seed: survived (exit $st)" ||
		_nok "random guest $seed: survived" "exit $st" "$(tail -3 "$TMP/random.err")"
done

# --print-measurements: the firmware digest, and the PCR it yields.
expect_exit 0 "--print-measurements" "$VMM" --firmware "$G/hello.bin" --print-measurements
fw=$(sha256sum "$G/hello.bin" | cut -d' ' -f1)
expect_match "firmware digest printed for PCR 0" "pcr0  sha256 $fw firmware" "$OUT"
pcr0=$( (printf '%064d' 0; echo "$fw") | xxd -r -p | sha256sum | cut -d' ' -f1)
expect_match "PCR 0 value printed" "pcr0  = $pcr0" "$OUT"
expect_exit 0 "--print-measurements --json" "$VMM" --firmware "$G/hello.bin" --print-measurements --json
expect_match "JSON measurements" "\"pcrs\":\\{\"0\":\"$pcr0\"\\}" "$OUT"
}
for a in $(test_accels); do
	use_accel "$a"
	suite
done
finish
