#!/usr/bin/env bash
# End to end on the simulated platforms: `vigil measure` predicts, vigil-vmm launches the
# attest guest on sim-snp / sim-tdx, the guest asks for evidence bound to a fresh nonce
# and prints it over serial, `vigil verify --trust-sim-root` verifies it, the
# measurement equals the prediction and the nonce is bound. Changing a launch input
# changes the evidence the way hardware would; the real roots never accept it.
# Under each accelerator (emu everywhere, kvm where /dev/kvm opens), with the same
# evidence under both.
. "$(dirname "$0")/lib.sh"
need_cmd xxd
# The sanitizer runtimes need syscalls the VMM's seccomp filters do not allow (leak
# checks, sigaltstack at thread exit): under `make sanitize` the sandbox is off.
VMM_EXTRA=()
if [[ -n "${VIGIL_SANITIZE:-}" ]]; then
	export ASAN_OPTIONS=detect_leaks=0
	VMM_EXTRA=(--no-sandbox)
fi

GUEST=$BUILD/guest/attest.bin
[[ -f $GUEST ]] || skip_all "attest guest not built"
STATE=$TMP/state
# Launch inputs come from flags and vm.json; the two legacy variables (lowest-priority
# defaults, docs/platforms.md) are checked once at the end.
unset VIGIL_STATE_DIR VIGIL_GUEST_CHALLENGE

. "$(dirname "$0")/sim_lib.sh"

claim() { # key json
	[[ $2 =~ \"$1\":\ ?\"([0-9a-fx]+)\" ]] && echo "${BASH_REMATCH[1]}"
}

NONCE=$(openssl rand -hex 64)
TOP=$TMP

suite() {
local TMP=$TOP/$ACCEL GUEST=$GUEST
mkdir -p "$TMP"
# ----------------------------------------------------------------- sim-snp
PRED=$("$BIN/vigil" measure snp --firmware "$GUEST" --vmm-type vigil --vcpus 1 | head -1)
expect_match "snp: vigil measure predicts a digest" '^[0-9a-f]{96}$' "$PRED"
run_guest sim-snp "$TMP/report.bin"
expect_eq "snp: guest exits 0 after printing evidence" 0 $?
expect_eq "snp: evidence is one 1184-byte report" 1184 "$(stat -c %s "$TMP/report.bin")"
cp "$TMP/report.bin" "$TOP/snp-$ACCEL.bin"
# The vCPU presents the --vcpu-type model in CPUID leaf 1 (kvm; emu's CPUID is Unicorn's
# model), the signature the VMSAs' RDX is measured with.
if [[ $ACCEL == kvm ]]; then
	expect_match "snp: CPUID leaf 1 is EPYC-v4's signature (the default --vcpu-type)" \
		"attest: cpu signature 00800f12" "$(cat "$TMP/serial.txt")"
else
	echo "# $ACCEL: CPUID leaf 1 is the emulator's model; the --vcpu-type signature is checked under kvm"
fi
SNPDIR=$STATE/sim-snp
VER=("$BIN/vigil" verify snp "$TMP/report.bin" --vcek "$SNPDIR/vcek.pem" --chain "$SNPDIR/cert_chain.pem" --compact)
expect_exit 0 "snp: verifies against the simulated root" "${VER[@]}" --trust-sim-root "$SNPDIR/ark.pem"
J=$OUT
expect_match "snp: result says simulated" '"simulated": ?true' "$J"
expect_eq "snp: measurement equals vigil measure's prediction" "$PRED" "$(claim measurement "$J")"
expect_eq "snp: REPORT_DATA is the nonce" "$NONCE" "$(claim report_data "$J")"
expect_match "snp: debug is off" '"debug": ?false' "$J"
expect_exit 1 "snp: rejected without --trust-sim-root (real AMD roots)" "${VER[@]}"
expect_match "snp: rejection is not simulated" '"simulated": ?false' "$OUT"

# Launch inputs, one at a time.
HD=$(openssl rand -hex 32)
run_guest sim-snp "$TMP/r2.bin" --host-data "$HD"
expect_exit 0 "snp: HOST_DATA run verifies" "$BIN/vigil" verify snp "$TMP/r2.bin" --vcek "$SNPDIR/vcek.pem" \
	--chain "$SNPDIR/cert_chain.pem" --trust-sim-root "$SNPDIR/ark.pem" --compact
expect_eq "snp: HOST_DATA lands in the report" "$HD" "$(claim host_data "$OUT")"
expect_eq "snp: HOST_DATA does not change the measurement" "$PRED" "$(claim measurement "$OUT")"

run_guest sim-snp "$TMP/r3.bin" --vcpus 2
P2=$("$BIN/vigil" measure snp --firmware "$GUEST" --vmm-type vigil --vcpus 2 | head -1)
"$BIN/vigil" verify snp "$TMP/r3.bin" --vcek "$SNPDIR/vcek.pem" --chain "$SNPDIR/cert_chain.pem" \
	--trust-sim-root "$SNPDIR/ark.pem" --compact >"$TMP/v3.json" 2>/dev/null
M3=$(claim measurement "$(cat "$TMP/v3.json")")
expect_eq "snp: 2 vCPUs measure as predicted for 2 vCPUs" "$P2" "$M3"
check "snp: 2 vCPUs change the measurement" test "$P2" != "$PRED"

run_guest sim-snp "$TMP/r7.bin" --vcpu-type EPYC-Milan
P7=$("$BIN/vigil" measure snp --firmware "$GUEST" --vmm-type vigil --vcpu-type EPYC-Milan | head -1)
"$BIN/vigil" verify snp "$TMP/r7.bin" --vcek "$SNPDIR/vcek.pem" --chain "$SNPDIR/cert_chain.pem" \
	--trust-sim-root "$SNPDIR/ark.pem" --compact >"$TMP/v7.json" 2>/dev/null
expect_eq "snp: --vcpu-type EPYC-Milan measures as predicted" "$P7" "$(claim measurement "$(cat "$TMP/v7.json")")"
check "snp: ... and differs from EPYC-v4's" test "$P7" != "$PRED"
[[ $ACCEL == kvm ]] && expect_match "snp: ... and the vCPU presents Milan's signature in CPUID leaf 1" \
	"attest: cpu signature 00a00f11" "$(cat "$TMP/serial.txt")"

run_guest sim-snp "$TMP/r4.bin" --guest-features 0x5
P4=$("$BIN/vigil" measure snp --firmware "$GUEST" --vmm-type vigil --guest-features 0x5 | head -1)
"$BIN/vigil" verify snp "$TMP/r4.bin" --vcek "$SNPDIR/vcek.pem" --chain "$SNPDIR/cert_chain.pem" \
	--trust-sim-root "$SNPDIR/ark.pem" --compact >"$TMP/v4.json" 2>/dev/null
expect_eq "snp: guest features measure as predicted" "$P4" "$(claim measurement "$(cat "$TMP/v4.json")")"
check "snp: guest features change the measurement" test "$P4" != "$PRED"

run_guest sim-snp "$TMP/r5.bin" --snp-policy 0xB0000
expect_exit 0 "snp: debug-policy report still verifies" "$BIN/vigil" verify snp "$TMP/r5.bin" \
	--vcek "$SNPDIR/vcek.pem" --chain "$SNPDIR/cert_chain.pem" --trust-sim-root "$SNPDIR/ark.pem" --compact
expect_match "snp: debug policy is flagged in the claims" '"debug": ?true' "$OUT"

cp "$GUEST" "$TMP/fw.bin"
printf '\x00' | dd of="$TMP/fw.bin" bs=1 seek=16352 conv=notrunc status=none # a gap byte
P6=$("$BIN/vigil" measure snp --firmware "$TMP/fw.bin" --vmm-type vigil | head -1)
GUEST_SAVE=$GUEST GUEST=$TMP/fw.bin
run_guest sim-snp "$TMP/r6.bin"
GUEST=$GUEST_SAVE
"$BIN/vigil" verify snp "$TMP/r6.bin" --vcek "$SNPDIR/vcek.pem" --chain "$SNPDIR/cert_chain.pem" \
	--trust-sim-root "$SNPDIR/ark.pem" --compact >"$TMP/v6.json" 2>/dev/null
expect_eq "snp: one firmware byte changes the measurement as predicted" "$P6" \
	"$(claim measurement "$(cat "$TMP/v6.json")")"
check "snp: ... and it differs from the original" test "$P6" != "$PRED"

expect_exit 2 "snp: a policy KVM refuses is refused before launch" "$VMM" --platform sim-snp \
	--snp-policy 0x130000 --state-dir "$STATE" --firmware "$GUEST" --memory-mib 16 --serial none "${VMM_EXTRA[@]}"
expect_match "snp: ... in one line naming SINGLE_SOCKET" '^vigil-vmm: snp.policy: .*SINGLE_SOCKET[^
]*$' "$ERR"

head -c 96 /dev/urandom >"$TMP/idb"
head -c 4096 /dev/zero >"$TMP/ida"
expect_exit 2 "snp: an ID block not made for this launch is refused at SNP_LAUNCH_FINISH" \
	"$VMM" --platform sim-snp --id-block "$TMP/idb" --id-auth "$TMP/ida" --state-dir "$STATE" \
	--firmware "$GUEST" --memory-mib 16 --serial none "${VMM_EXTRA[@]}"
expect_match "snp: ... naming the ID block" 'ID block' "$ERR"

# ----------------------------------------------------------------- sim-tdx
TPRED=$("$BIN/vigil" measure tdx --firmware "$GUEST" | head -1)
run_guest sim-tdx "$TMP/quote.bin"
expect_eq "tdx: guest exits 0 after printing evidence" 0 $?
cp "$TMP/quote.bin" "$TOP/tdx-$ACCEL.bin"
TDXDIR=$STATE/sim-tdx
expect_exit 0 "tdx: verifies against the simulated root" "$BIN/vigil" verify tdx "$TMP/quote.bin" \
	--trust-sim-root "$TDXDIR/root.pem" --compact
J=$OUT
expect_match "tdx: result says simulated" '"simulated": ?true' "$J"
expect_eq "tdx: MRTD equals vigil measure's prediction" "$TPRED" "$(claim mrtd "$J")"
expect_eq "tdx: REPORT_DATA is the nonce" "$NONCE" "$(claim report_data "$J")"
RTMR2=$({ head -c 48 /dev/zero; printf 'vigil attest guest v1' | openssl dgst -sha384 -binary; } |
	openssl dgst -sha384 -r | cut -d' ' -f1)
expect_eq "tdx: RTMR2 holds the guest's extend (SHA-384(0^48 || digest))" "$RTMR2" "$(claim rtmr2 "$J")"
expect_eq "tdx: RTMR0 untouched" "$(printf '0%.0s' {1..96})" "$(claim rtmr0 "$J")"
expect_exit 1 "tdx: rejected against the Intel root" "$BIN/vigil" verify tdx "$TMP/quote.bin" --compact

CFG=$(openssl rand -hex 48)
run_guest sim-tdx "$TMP/q2.bin" --mrconfigid "$CFG" --tdx-attributes 0x10000001
expect_exit 0 "tdx: MRCONFIGID + debug run verifies" "$BIN/vigil" verify tdx "$TMP/q2.bin" \
	--trust-sim-root "$TDXDIR/root.pem" --compact
expect_eq "tdx: MRCONFIGID lands in the quote" "$CFG" "$(claim mrconfigid "$OUT")"
expect_match "tdx: debug TD is flagged" '"debug": ?true' "$OUT"
expect_eq "tdx: MRTD unchanged by MRCONFIGID" "$TPRED" "$(claim mrtd "$OUT")"

GUEST=$TMP/fw.bin
run_guest sim-tdx "$TMP/q3.bin"
"$BIN/vigil" verify tdx "$TMP/q3.bin" --trust-sim-root "$TDXDIR/root.pem" --compact >"$TMP/t3.json" 2>/dev/null
expect_eq "tdx: one firmware byte changes MRTD as predicted" \
	"$("$BIN/vigil" measure tdx --firmware "$TMP/fw.bin" | head -1)" "$(claim mrtd "$(cat "$TMP/t3.json")")"

# ------------------------------------------------ the same inputs from vm.json
HD2=$(openssl rand -hex 32)
NONCE2=$(openssl rand -hex 64)
cat >"$TMP/vm.json" <<EOF
{"platform": "sim-snp", "firmware": "$GUEST", "memory_mib": 16, "serial": "$TMP/serial.txt",
 "state_dir": "$STATE", "guest_challenge": "$NONCE2",
 "snp": {"host_data": "$HD2", "policy": "0x30000", "guest_features": 1, "vcpu_type": "EPYC-v4"}}
EOF
expect_exit 0 "json: sim-snp launch from vm.json" timeout 60 "$VMM" --config "$TMP/vm.json" "${VMM_EXTRA[@]}"
sed -n '/^EVIDENCE-BEGIN/,/^EVIDENCE-END/p' "$TMP/serial.txt" | sed '1d;$d' | tr -d '\r' | xxd -r -p >"$TMP/j1.bin"
"$BIN/vigil" verify snp "$TMP/j1.bin" --vcek "$SNPDIR/vcek.pem" --chain "$SNPDIR/cert_chain.pem" \
	--trust-sim-root "$SNPDIR/ark.pem" --compact >"$TMP/j1.json" 2>/dev/null
expect_eq "json: snp.host_data lands in the report" "$HD2" "$(claim host_data "$(cat "$TMP/j1.json")")"
expect_eq "json: guest_challenge is the REPORT_DATA" "$NONCE2" "$(claim report_data "$(cat "$TMP/j1.json")")"
HD3=$(openssl rand -hex 32)
run_guest sim-snp "$TMP/j2.bin" --config "$TMP/vm.json" --host-data "$HD3"
"$BIN/vigil" verify snp "$TMP/j2.bin" --vcek "$SNPDIR/vcek.pem" --chain "$SNPDIR/cert_chain.pem" \
	--trust-sim-root "$SNPDIR/ark.pem" --compact >"$TMP/j2.json" 2>/dev/null
expect_eq "json: --host-data overrides snp.host_data" "$HD3" "$(claim host_data "$(cat "$TMP/j2.json")")"

OWNER=$(openssl rand -hex 48)
printf '{"tdx": {"mrowner": "%s", "xfam": 7}}' "$OWNER" >"$TMP/td.json"
run_guest sim-tdx "$TMP/j3.bin" --config "$TMP/td.json"
expect_exit 0 "json: tdx.mrowner run verifies" "$BIN/vigil" verify tdx "$TMP/j3.bin" \
	--trust-sim-root "$TDXDIR/root.pem" --compact
expect_eq "json: tdx.mrowner lands in the quote" "$OWNER" "$(claim mrowner "$OUT")"

printf '{"snp": {"host_data": "abcd"}}' >"$TMP/bad.json"
expect_exit 2 "json: a short snp.host_data is refused" "$VMM" --config "$TMP/bad.json" \
	--platform sim-snp --firmware "$GUEST"
expect_match "json: ... in one line naming the key and length" \
	'^vigil-vmm: .*bad.json: snp.host_data: expected 64 hex digits' "$ERR"
expect_exit 2 "a TDX input on an SNP platform is refused" "$VMM" --platform sim-snp \
	--mrconfigid "$CFG" --firmware "$GUEST"
expect_match "... naming the settings and the platform" 'TDX launch settings .* platform "sim-snp"' "$ERR"

# The legacy variables: still the defaults of --state-dir / --guest-challenge, overridden by flags.
NONCE3=$(openssl rand -hex 64)
VIGIL_STATE_DIR=$TMP/elsewhere VIGIL_GUEST_CHALLENGE=$NONCE3 timeout 60 "$VMM" --platform sim-tdx \
	--state-dir "$STATE" --firmware "$GUEST" --memory-mib 16 --serial "$TMP/serial.txt" "${VMM_EXTRA[@]}" \
	>/dev/null 2>&1
sed -n '/^EVIDENCE-BEGIN/,/^EVIDENCE-END/p' "$TMP/serial.txt" | sed '1d;$d' | tr -d '\r' | xxd -r -p >"$TMP/j4.bin"
"$BIN/vigil" verify tdx "$TMP/j4.bin" --trust-sim-root "$TDXDIR/root.pem" --compact >"$TMP/j4.json" 2>/dev/null
expect_eq "legacy VIGIL_GUEST_CHALLENGE still feeds the nonce" "$NONCE3" "$(claim report_data "$(cat "$TMP/j4.json")")"
check "--state-dir wins over VIGIL_STATE_DIR" test ! -e "$TMP/elsewhere"
}
for a in $(test_accels); do
	use_accel "$a"
	suite
done
_prefix=
# Same guest, same identity, same nonce: the same report under both
# accelerators, but for REPORT_ID (0x140, 32 bytes, new per launch) and the
# signature (0x2A0, ECDSA is randomized).
body() { { head -c 320 "$1"; tail -c +353 "$1" | head -c 320; } | xxd -p; }
if [[ -f $TOP/snp-kvm.bin && -f $TOP/snp-emu.bin ]]; then
	expect_eq "kvm and emu: the same sim-snp report body" "$(body "$TOP/snp-kvm.bin")" "$(body "$TOP/snp-emu.bin")"
	# A TDX quote: header and TD report body (632 bytes) equal; the signature differs.
	expect_eq "kvm and emu: the same sim-tdx quote header and TD report" "$(head -c 632 "$TOP/tdx-kvm.bin" | xxd -p)" \
		"$(head -c 632 "$TOP/tdx-emu.bin" | xxd -p)"
fi
finish
