#!/usr/bin/env bash
# A guest reset (issue 14), under each accelerator: a plain VM reboots in the same
# process (0xCF9 and the i8042, with and without the sandbox, with a vTPM whose PCRs
# after each reboot equal the first boot's, several vCPUs under kvm), a reset storm
# is stopped by --max-reboots, SIGTERM in the middle of one stops cleanly; a
# confidential guest (sim-snp) cannot be reset and stops with exit 0 and a message.
. "$(dirname "$0")/lib.sh"
# Sanitized builds: LeakSanitizer's exit-time thread tracer is not in the seccomp allow-list.
[[ -n "${VIGIL_SANITIZE:-}" ]] && export ASAN_OPTIONS=detect_leaks=0
G=$BUILD/guest
[[ -f $G/reboot.bin && -f $G/reset.bin && -f $G/fwcfg.bin ]] || skip_all "guests not built"
head -c 32 /dev/urandom >"$TMP/tpm.key"
chmod 600 "$TMP/tpm.key"

# The reboot guest's three boots: the serial lines, the VMM's reboot lines.
boots_ok() {
	local what=$1
	expect_eq "$what: three boots, in order" "reboot: boot 1,reboot: boot 2,reboot: boot 3" \
		"$(grep -E '^reboot: boot [0-9]+$' <<<"$OUT" | paste -sd,)"
	expect_match "$what: reboot 1 logged (0xCF9)" \
		'vigil-vmm: warning: guest requested a reset \(0xCF9\): rebooting \(reboot 1\)' "$ERR"
	expect_match "$what: reboot 2 logged (i8042)" \
		'vigil-vmm: warning: guest requested a reset \(i8042\): rebooting \(reboot 2\)' "$ERR"
	expect_eq "$what: no third reboot" "" "$(grep 'reboot 3' <<<"$ERR")"
	expect_eq "$what: fw_cfg's selector and offset reset on each reboot" \
		"$(printf 'reboot: boot %s fw_cfg 51\n' 1 2 3)" "$(grep ' fw_cfg ' <<<"$OUT")"
}

for A in $(test_accels); do
	use_accel "$A"
	# Boot 1 resets through 0xCF9, boot 2 through the i8042, boot 3 exits 3.
	expect_exit 3 "reboot guest: three boots in one process, exit 3" timeout 60 "$VMM" \
		--firmware "$G/reboot.bin"
	boots_ok "sandbox on"
	expect_exit 3 "reboot guest without the sandbox" timeout 60 "$VMM" --firmware "$G/reboot.bin" --no-sandbox
	boots_ok "no sandbox"
	if [[ $A == emu ]]; then # emu's APs never run (no SIPI): parked, they still take part in the rendezvous
		expect_exit 3 "--vcpus 2: three boots" timeout 60 "$VMM" --firmware "$G/reboot.bin" --vcpus 2
		boots_ok "--vcpus 2"
	fi

	# vTPM: each boot reads PCR 0, PCR 16 and hashes the event log area, then extends
	# PCR 16 and overwrites the log. The same values on every boot: the TPM was reset
	# (PCR 16 zero again), measured boot ran again exactly once (PCR 0 as predicted),
	# the event log was written again.
	st=$TMP/tpm-$A
	expect_exit 0 "vTPM: predicted PCR 0" "$VMM" --firmware "$G/reboot.bin" --vtpm-state "$st-pred" \
		--vtpm-key-file "$TMP/tpm.key" --print-measurements
	pcr0=$(sed -n 's/^pcr0  = //p' <<<"$OUT")
	expect_exit 3 "vTPM: three boots" timeout 60 "$VMM" --firmware "$G/reboot.bin" --vtpm-state "$st" \
		--vtpm-key-file "$TMP/tpm.key"
	boots_ok "vTPM"
	tpm_lines=$(grep -E '^reboot: boot [0-9] pcr0 ' <<<"$OUT")
	expect_eq "vTPM: a TPM line per boot" 3 "$(grep -c . <<<"$tpm_lines")"
	expect_match "vTPM: PCR 0 of boot 1 is the predicted one" "^reboot: boot 1 pcr0 $pcr0 pcr16 0{64} log [0-9a-f]{64}$" \
		"$(head -1 <<<"$tpm_lines")"
	expect_eq "vTPM: PCR 0, PCR 16 and the event log the same after each reboot" 1 \
		"$(sed 's/^reboot: boot [0-9] //' <<<"$tpm_lines" | sort -u | grep -c .)"

	# A reset storm: the reset guest resets on every boot; the third reboot within a
	# minute exceeds --max-reboots 2.
	expect_exit 1 "reset storm: stopped, exit 1" timeout 60 "$VMM" --firmware "$G/reset.bin" --max-reboots 2
	expect_eq "reset storm: three boots ran" 3 "$(grep -c '^reset: writing 6 to 0xcf9$' <<<"$OUT")"
	expect_match "reset storm: the reason" \
		'vigil-vmm: error: guest requested a reset \(0xCF9\): 3 reboots within 60 seconds, more than --max-reboots 2 allows: stopping \(a reset storm\)' \
		"$ERR"
	echo '{"max_reboots": 1}' >"$TMP/vm.json"
	expect_exit 1 "reset storm: max_reboots from vm.json" timeout 60 "$VMM" --config "$TMP/vm.json" \
		--firmware "$G/reset.bin"
	expect_match "reset storm: ... 1 allowed" 'more than --max-reboots 1 allows' "$ERR"

	# SIGTERM in the middle of an endless reboot loop (no limit): an orderly stop.
	: >"$TMP/storm.txt"
	"$VMM" --firmware "$G/reset.bin" --max-reboots 0 --serial "$TMP/storm.txt" -v 2>"$TMP/storm.err" &
	pid=$!
	for _ in $(seq 200); do (($(grep -c . "$TMP/storm.txt") > 20)) && break; sleep 0.05; done
	kill -TERM "$pid"
	wait "$pid"
	expect_eq "SIGTERM during a reboot loop: exit 0" 0 "$?"
	check "SIGTERM during a reboot loop: more than 20 boots ran first" test "$(grep -c . "$TMP/storm.txt")" -gt 20
	expect_match "SIGTERM during a reboot loop: stopped by the signal" 'stopped by Terminated' "$(cat "$TMP/storm.err")"

	# Confidential: the fwcfg guest asks for a reset when its command line says so.
	: >"$TMP/k"
	expect_exit 0 "sim-snp: a reset stops the guest with exit 0" timeout 30 "$VMM" \
		--platform sim-snp --state-dir "$TMP/state" --firmware "$G/fwcfg.bin" --kernel "$TMP/k" --cmdline reset \
		--memory-mib 64 --serial "$TMP/serial.txt" -v
	expect_match "sim-snp: ... saying why" \
		'guest requested a reset \(0xCF9\); a confidential guest cannot be reset: stopping' "$ERR"
	expect_eq "sim-snp: one boot only" 1 "$(grep -c '^fwcfg: resetting$' "$TMP/serial.txt")"
done

# Several vCPUs (kvm: emu runs only the boot vCPU): every vCPU takes part in the
# reboot. The reboot guest starts AP 1 with INIT-SIPI-SIPI on every boot (it then counts
# in RAM, which a reboot keeps): after a reboot the AP must be idle again, waiting for a
# SIPI, and start again.
_prefix=
if [[ " $(test_accels) " == *" kvm "* ]]; then
	use_accel kvm
	expect_exit 3 "--vcpus 4: three boots" timeout 60 "$VMM" --firmware "$G/reboot.bin" --vcpus 4
	boots_ok "--vcpus 4"
	expect_eq "--vcpus 4: AP 1 idle at every boot (back to wait-for-SIPI), started by the guest each time" \
		"$(printf 'reboot: boot %s ap idle\nreboot: boot %s ap started\n' 1 1 2 2 3 3)" "$(grep ' ap ' <<<"$OUT")"
	expect_exit 3 "--vcpus 4 with a vTPM: three boots" timeout 60 "$VMM" --firmware "$G/reboot.bin" --vcpus 4 \
		--vtpm-state "$TMP/tpm-smp" --vtpm-key-file "$TMP/tpm.key"
	expect_eq "--vcpus 4 with a vTPM: the same PCRs and log on every boot" 1 \
		"$(grep -E '^reboot: boot [0-9] pcr0 ' <<<"$OUT" | sed 's/^reboot: boot [0-9] //' | sort -u | grep -c .)"

	# Direct Linux boot (a bzImage-format test guest; emu runs no kernels): each boot
	# prints a value of its loaded image, boot_params' e820 count and the command line,
	# then overwrites them; a reboot writes kernel, boot_params and command line again.
	[[ -f $G/bzguest.bzImage ]] || _nok "bzguest.bzImage built"
	expect_exit 3 "direct boot: three boots" timeout 60 "$VMM" --kernel "$G/bzguest.bzImage" \
		--cmdline "console=ttyS0 vigil" --vcpus 2 --vtpm-state "$TMP/tpm-bz" --vtpm-key-file "$TMP/tpm.key"
	expect_eq "direct boot: kernel, boot_params and command line written again on each reboot" \
		"$(printf 'bzguest: boot %s marker 5eed1234 e820 5 cmdline console=ttyS0 vigil\n' 1 2 3)" "$OUT"
	expect_match "direct boot: two reboots logged" 'rebooting \(reboot 1\).*rebooting \(reboot 2\)' "$(paste -sd' ' <<<"$ERR")"
else
	skip_all "the multi-vCPU reboot needs kvm (/dev/kvm not usable here; emu runs only the boot vCPU)"
fi
finish
