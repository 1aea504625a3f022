#!/usr/bin/env bash
# The vTPM behind vigil-vmm: the tpm guest drives the CRB device (PCR_Read,
# PCR_Extend) and checks the TPM against its own SHA-256; measured boot puts
# the firmware digest in PCR 0; state is saved on an orderly stop.
source "$(dirname "$0")/lib.sh"
VMM=$BIN/vigil-vmm
G=$BUILD/guest
[[ -n "${VIGIL_SANITIZE:-}" ]] && export ASAN_OPTIONS=detect_leaks=0
TOP=$TMP
suite() {
local TMP=$TOP/$ACCEL
mkdir -p "$TMP"
head -c 32 /dev/urandom >"$TMP/key"
chmod 600 "$TMP/key"
TPMARGS=(--vtpm-state "$TMP/state" --vtpm-key-file "$TMP/key")

expect_exit 2 "a vTPM needs state and key" "$VMM" --firmware "$G/tpm.bin" --vtpm
expect_match "both named" 'needs both --vtpm-state DIR and --vtpm-key-file FILE' "$ERR"

expect_exit 0 "tpm guest: PCR_Extend verified against its own SHA-256" timeout 60 "$VMM" --firmware "$G/tpm.bin" "${TPMARGS[@]}"
expect_match "guest says so" 'tpm: PCR_Extend verified' "$OUT"
printf '%s\n' "$OUT" >"$TOP/serial-$ACCEL.txt"
guest_pcr0=$(sed -n 's/^tpm: pcr0 //p' <<<"$OUT")
expect_exit 0 "--print-measurements with a vTPM" "$VMM" --firmware "$G/tpm.bin" "${TPMARGS[@]}" --print-measurements
expect_match "PCR 0 printed" "pcr0  = $guest_pcr0" "$OUT"
fw=$(sha256sum "$G/tpm.bin" | cut -d' ' -f1)
expect_eq "PCR 0 = SHA-256(zeros || SHA-256(firmware))" \
	"$( (printf '%064d' 0; echo "$fw") | xxd -r -p | sha256sum | cut -d' ' -f1)" "$guest_pcr0"
check "state saved: permanent" test -s "$TMP/state/permall.vst"
check "state saved: volatile (orderly stop)" test -s "$TMP/state/volatile.vst"

# The TCG event log: tpm2_eventlog parses it and replays PCR 0 to the guest's value.
if command -v tpm2_eventlog >/dev/null; then
	expect_exit 0 "--event-log written" "$VMM" --firmware "$G/tpm.bin" "${TPMARGS[@]}" --print-measurements \
		--event-log "$TMP/evlog.bin"
	expect_exit 0 "tpm2_eventlog parses the log" tpm2_eventlog "$TMP/evlog.bin"
	expect_match "log replays to the guest's PCR 0" "0  : 0x$guest_pcr0" "$OUT"
	expect_eq "tpm2_eventlog: no warnings" "" "$ERR"
fi
expect_exit 2 "--event-log without a vTPM refused" "$VMM" --firmware "$G/tpm.bin" --print-measurements --event-log "$TMP/x"

# Same state, second boot: PCR 16 starts from zero again (TPM2_Startup(CLEAR)).
expect_exit 0 "second boot on the saved state" timeout 60 "$VMM" --firmware "$G/tpm.bin" "${TPMARGS[@]}"
first16=$(sed -n 's/^tpm: pcr16 //p' <<<"$OUT")
expect_match "PCR 16 after one extend from reset" '^[0-9a-f]{64}$' "$first16"

# A wrong key is refused before the guest runs.
head -c 32 /dev/urandom >"$TMP/otherkey"
chmod 600 "$TMP/otherkey"
expect_exit 2 "wrong vTPM key refused" timeout 60 "$VMM" --firmware "$G/tpm.bin" --vtpm-state "$TMP/state" --vtpm-key-file "$TMP/otherkey"
expect_match "key rejection reported" 'vTPM' "$ERR"
expect_eq "the guest never ran" "" "$OUT"

# SIGTERM on a running VM with a vTPM: orderly stop, state saved.
rm -f "$TMP/state/volatile.vst"
"$VMM" --firmware "$G/spin.bin" "${TPMARGS[@]}" --serial "$TMP/spin.log" 2>"$TMP/spin.err" &
pid=$!
for ((i = 0; i < 100; i++)); do grep -q running "$TMP/spin.log" 2>/dev/null && break; sleep 0.05; done
kill -TERM $pid
wait $pid
expect_eq "SIGTERM with a vTPM: exit 0" 0 "$?"
check "SIGTERM: vTPM state saved" test -s "$TMP/state/volatile.vst"

# In a jail as nobody: state and key inside the jail.
J=$TMP/jail
mkdir -p "$J/tpm"
cp "$TMP/key" "$J/tpm/key"
chown -R nobody "$J/tpm"
expect_exit 0 "tpm guest in a chroot as nobody" timeout 60 "$VMM" --firmware "$G/tpm.bin" --chroot "$J" --user nobody \
	--vtpm-state "$J/tpm/state" --vtpm-key-file "$J/tpm/key"
expect_match "jailed vTPM works" 'tpm: PCR_Extend verified' "$OUT"
expect_exit 2 "vTPM state outside the jail refused" "$VMM" --firmware "$G/tpm.bin" --chroot "$J" "${TPMARGS[@]}"
expect_match "reason given" 'must lie inside it' "$ERR"
}
for a in $(test_accels); do
	use_accel "$a"
	suite
done
_prefix=
if [[ -f $TOP/serial-kvm.txt && -f $TOP/serial-emu.txt ]]; then
	expect_eq "kvm and emu: same tpm guest output (PCR values included)" "$(cat "$TOP/serial-kvm.txt")" \
		"$(cat "$TOP/serial-emu.txt")"
fi
finish
