#!/usr/bin/env bash
# make demo: the main job, end to end, on the simulated platforms (no SEV-SNP or TDX
# hardware needed), after a look at real AMD/Intel evidence. For sim-snp, then sim-tdx:
# predict the launch measurement with `vigil measure`, launch the attest guest with a
# vTPM, let it request evidence bound to a fresh nonce, verify it against the SIMULATED
# root, and check that the measurement equals the prediction and the nonce is bound.
# Exits non-zero if any step fails.
set -uo pipefail
BUILD=${VIGIL_BUILD:-build}
BIN=$BUILD/bin
GUEST=$BUILD/guest/attest.bin
VECTORS=${VIGIL_VECTORS:-../shared/vectors}
failed=0 summary=()
step() { printf '\n== %s\n' "$*"; }
ok() { printf '   ok: %s\n' "$*"; }
bad() { printf '   FAILED: %s\n' "$*"; failed=1; }
WORK=$(mktemp -d /tmp/vigil-demo.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
claim() { [[ $2 =~ \"$1\":\ ?\"([^\"]*)\" ]] && echo "${BASH_REMATCH[1]}"; }

# ---------------------------------------------------------------- real evidence
step "real evidence: an SEV-SNP report from an AMD Milan host, and a TDX quote from GCP"
if [[ -d $VECTORS ]]; then
	v=$VECTORS/snp/virtee-sev
	if out=$("$BIN/vigil" verify snp "$v/report_milan.bin" --vcek "$v/vcek_milan.der" \
		--chain "$v/cert_chain_milan" --compact); then
		ok "SNP report verified against the pinned AMD ARK (product $(claim product "$out"))"
	else bad "vigil verify snp: $(claim reason "$out")"; fi
	t=$VECTORS/tdx/go-tdx-guest
	if out=$("$BIN/vigil" verify tdx "$t/cos-113-tdx-quote.dat" --ccel "$t/ccel_data.dat" --compact); then
		ok "TDX quote verified against the pinned Intel SGX Root CA; its CC event log replays to RTMR0-3"
	else bad "vigil verify tdx: $(claim reason "$out")"; fi
	summary+=("real SNP report and TDX quote verified")
else
	printf '   skipped: vectors not found at %s\n' "$VECTORS"
fi

# ------------------------------------------------------------ simulated platforms
# Without /dev/kvm, vigil-vmm's default accelerator (auto) runs the guests on emu.
kvm_dev=${VIGIL_KVM_DEVICE:-/dev/kvm}
if ! [[ -r $kvm_dev && -w $kvm_dev ]]; then
	printf '\n   note: %s is not available: vigil-vmm runs the guests on its emu accelerator (software emulation)\n' "$kvm_dev"
fi
STATE=$WORK/state # the simulated roots are generated here, once
head -c 32 /dev/urandom >"$WORK/tpm.key"

# run_platform PLATFORM KIND FIELD MEASURE-ARGS...: the whole chain on one simulated platform
run_platform() {
	local plat=$1 kind=$2 field=$3
	shift 3
	step "$plat: predict the launch measurement: vigil measure $kind --firmware attest.bin $*"
	local pred
	pred=$("$BIN/vigil" measure "$kind" --firmware "$GUEST" "$@" | head -1)
	if [[ $pred =~ ^[0-9a-f]{96}$ ]]; then ok "$field ${pred:0:32}..."; else bad "vigil measure"; return; fi

	local nonce
	nonce=$(openssl rand -hex 64)
	step "$plat: launch the attest guest with a vTPM; it asks for evidence bound to nonce ${nonce:0:16}..."
	if "$BIN/vigil-vmm" --platform "$plat" --firmware "$GUEST" --memory-mib 16 \
		--state-dir "$STATE" --guest-challenge "$nonce" \
		--vtpm-state "$WORK/vtpm-$plat" --vtpm-key-file "$WORK/tpm.key" \
		--serial "$WORK/$plat.serial" 2>"$WORK/$plat.err"; then
		ok "guest exited 0: $(grep -m1 '^attest: evidence' "$WORK/$plat.serial")"
	else
		bad "vigil-vmm: $(tail -1 "$WORK/$plat.err")"
		return
	fi
	sed -n '/^EVIDENCE-BEGIN/,/^EVIDENCE-END/p' "$WORK/$plat.serial" | sed '1d;$d' | xxd -r -p >"$WORK/$plat.bin"

	step "$plat: verify the evidence against the SIMULATED root: vigil verify $kind --trust-sim-root"
	local d=$STATE/$plat args=() out
	if [[ $kind == snp ]]; then
		args=(--vcek "$d/vcek.pem" --chain "$d/cert_chain.pem" --trust-sim-root "$d/ark.pem")
	else
		args=(--trust-sim-root "$d/root.pem")
	fi
	if out=$("$BIN/vigil" verify "$kind" "$WORK/$plat.bin" "${args[@]}" --compact); then
		ok "verdict verified, simulated: $([[ $out =~ \"simulated\":\ ?true ]] && echo true || echo false)"
	else
		bad "vigil verify: $(claim reason "$out")"
		return
	fi
	step "$plat: the measurement equals the prediction, and the nonce is bound"
	local got
	got=$(claim "$field" "$out")
	if [[ $got == "$pred" ]]; then ok "$field matches the prediction"; else bad "$field $got != predicted $pred"; fi
	if [[ $(claim report_data "$out") == "$nonce" ]]; then ok "REPORT_DATA == nonce"; else bad "nonce not bound"; fi
	step "$plat: the same evidence without --trust-sim-root (real vendor roots only)"
	if "$BIN/vigil" verify "$kind" "$WORK/$plat.bin" "${args[@]:0:${#args[@]}-2}" --compact >/dev/null 2>&1; then
		bad "accepted without --trust-sim-root"
	else
		ok "rejected, as it must be"
	fi
	summary+=("$plat: predicted, launched, evidence verified (simulated root), measurement and nonce match")
}

run_platform sim-snp snp measurement --vmm-type vigil --vcpus 1
run_platform sim-tdx tdx mrtd

printf '\n== summary\n'
for s in "${summary[@]}"; do printf '   %s\n' "$s"; done
if ((failed)); then
	printf '   DEMO FAILED (see above)\n'
else
	printf '   all steps passed. Simulated platforms protect no memory; see docs/platforms.md.\n'
fi
exit $failed
