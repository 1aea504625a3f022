# Sourced by tests that run the attest guest on a simulated platform (after lib.sh).
# Needs: BIN, GUEST, STATE, NONCE, TMP and the array VMM_EXTRA; VMM (lib.sh use_accel) when set.

# Runs the attest guest with the nonce; extra vigil-vmm flags follow the output file.
# The evidence the guest prints over serial is written (binary) to out_file.
run_guest() { # platform out_file [vmm args...]
	local plat=$1 out=$2
	shift 2
	timeout 60 "${VMM:-$BIN/vigil-vmm}" --platform "$plat" --state-dir "$STATE" --guest-challenge "$NONCE" \
		--firmware "$GUEST" --memory-mib 16 --serial "$TMP/serial.txt" "${VMM_EXTRA[@]}" "$@" \
		>/dev/null 2>"$TMP/vmm.err"
	local rc=$?
	sed -n '/^EVIDENCE-BEGIN/,/^EVIDENCE-END/p' "$TMP/serial.txt" | sed '1d;$d' | tr -d '\r' | xxd -r -p >"$out"
	return $rc
}
