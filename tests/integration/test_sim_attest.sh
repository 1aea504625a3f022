#!/usr/bin/env bash
# End to end on the simulated platforms: `vigil measure` predicts, vigil-vmm launches the
# attest guest on sim-snp / sim-tdx, the guest asks for evidence bound to a fresh nonce
# and prints it over serial, `vigil verify --trust-sim-root` verifies it, the
# measurement equals the prediction and the nonce is bound. Changing a launch input
# changes the evidence the way hardware would; the real roots never accept it.
. "$(dirname "$0")/lib.sh"
need_kvm
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
export VIGIL_STATE_DIR=$TMP/state

# Runs the attest guest; prints the evidence file path. Extra env via "$@" (VAR=value).
run_guest() { # platform out_file [VAR=value ...] [-- vmm args]
	local plat=$1 out=$2
	shift 2
	local envs=() args=()
	while (($#)); do
		if [[ $1 == -- ]]; then shift; args=("$@"); break; fi
		envs+=("$1")
		shift
	done
	env "${envs[@]}" VIGIL_GUEST_CHALLENGE="$NONCE" timeout 60 "$BIN/vigil-vmm" --platform "$plat" \
		--firmware "$GUEST" --memory-mib 16 --serial "$TMP/serial.txt" "${VMM_EXTRA[@]}" "${args[@]}" \
		>/dev/null 2>"$TMP/vmm.err"
	local rc=$?
	sed -n '/^EVIDENCE-BEGIN/,/^EVIDENCE-END/p' "$TMP/serial.txt" | sed '1d;$d' | tr -d '\r' | xxd -r -p >"$out"
	return $rc
}

claim() { # key json
	[[ $2 =~ \"$1\":\ ?\"([0-9a-fx]+)\" ]] && echo "${BASH_REMATCH[1]}"
}

NONCE=$(openssl rand -hex 64)

# ----------------------------------------------------------------- sim-snp
PRED=$("$BIN/vigil" measure snp --firmware "$GUEST" --vmm-type vigil --vcpus 1 | head -1)
expect_match "snp: vigil measure predicts a digest" '^[0-9a-f]{96}$' "$PRED"
run_guest sim-snp "$TMP/report.bin"
expect_eq "snp: guest exits 0 after printing evidence" 0 $?
expect_eq "snp: evidence is one 1184-byte report" 1184 "$(stat -c %s "$TMP/report.bin")"
SNPDIR=$VIGIL_STATE_DIR/sim-snp
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
run_guest sim-snp "$TMP/r2.bin" VIGIL_SNP_HOST_DATA="$HD"
expect_exit 0 "snp: HOST_DATA run verifies" "$BIN/vigil" verify snp "$TMP/r2.bin" --vcek "$SNPDIR/vcek.pem" \
	--chain "$SNPDIR/cert_chain.pem" --trust-sim-root "$SNPDIR/ark.pem" --compact
expect_eq "snp: HOST_DATA lands in the report" "$HD" "$(claim host_data "$OUT")"
expect_eq "snp: HOST_DATA does not change the measurement" "$PRED" "$(claim measurement "$OUT")"

run_guest sim-snp "$TMP/r3.bin" -- --vcpus 2
P2=$("$BIN/vigil" measure snp --firmware "$GUEST" --vmm-type vigil --vcpus 2 | head -1)
"$BIN/vigil" verify snp "$TMP/r3.bin" --vcek "$SNPDIR/vcek.pem" --chain "$SNPDIR/cert_chain.pem" \
	--trust-sim-root "$SNPDIR/ark.pem" --compact >"$TMP/v3.json" 2>/dev/null
M3=$(claim measurement "$(cat "$TMP/v3.json")")
expect_eq "snp: 2 vCPUs measure as predicted for 2 vCPUs" "$P2" "$M3"
check "snp: 2 vCPUs change the measurement" test "$P2" != "$PRED"

run_guest sim-snp "$TMP/r4.bin" VIGIL_SNP_GUEST_FEATURES=0x5
P4=$("$BIN/vigil" measure snp --firmware "$GUEST" --vmm-type vigil --guest-features 0x5 | head -1)
"$BIN/vigil" verify snp "$TMP/r4.bin" --vcek "$SNPDIR/vcek.pem" --chain "$SNPDIR/cert_chain.pem" \
	--trust-sim-root "$SNPDIR/ark.pem" --compact >"$TMP/v4.json" 2>/dev/null
expect_eq "snp: guest features measure as predicted" "$P4" "$(claim measurement "$(cat "$TMP/v4.json")")"
check "snp: guest features change the measurement" test "$P4" != "$PRED"

run_guest sim-snp "$TMP/r5.bin" VIGIL_SNP_POLICY=0xB0000
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

expect_exit 2 "snp: a policy KVM refuses is refused at launch" env VIGIL_SNP_POLICY=0x130000 \
	"$BIN/vigil-vmm" --platform sim-snp --firmware "$GUEST" --memory-mib 16 --serial none "${VMM_EXTRA[@]}"
expect_match "snp: ... naming SINGLE_SOCKET" 'SINGLE_SOCKET' "$ERR"

head -c 96 /dev/urandom >"$TMP/idb"
head -c 4096 /dev/zero >"$TMP/ida"
expect_exit 2 "snp: an ID block not made for this launch is refused at SNP_LAUNCH_FINISH" \
	env VIGIL_SNP_ID_BLOCK="$TMP/idb" VIGIL_SNP_ID_AUTH="$TMP/ida" "$BIN/vigil-vmm" --platform sim-snp \
	--firmware "$GUEST" --memory-mib 16 --serial none "${VMM_EXTRA[@]}"
expect_match "snp: ... naming the ID block" 'ID block' "$ERR"

# ----------------------------------------------------------------- sim-tdx
TPRED=$("$BIN/vigil" measure tdx --firmware "$GUEST" | head -1)
run_guest sim-tdx "$TMP/quote.bin"
expect_eq "tdx: guest exits 0 after printing evidence" 0 $?
TDXDIR=$VIGIL_STATE_DIR/sim-tdx
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
run_guest sim-tdx "$TMP/q2.bin" VIGIL_TDX_MRCONFIGID="$CFG" VIGIL_TDX_ATTRIBUTES=0x10000001
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
finish
