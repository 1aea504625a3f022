#!/usr/bin/env bash
# make demo: the whole product, end to end, on the simulated platforms (no SEV-SNP or TDX
# hardware needed), after a look at real AMD/Intel evidence.
#   0. real evidence: an SNP report and a TDX quote verified against the vendor roots
#   1. the simulated platforms: predict, launch, verify the evidence (simulated root)
#   2. tenant: `vigil measure` predictions -> policy (`vigil policy init --simulated`,
#      `add-workload`) -> vigil-attestd on loopback (SQLite in a temporary directory) ->
#      a secret registered through the authenticated admin API (`vigil kbs`)
#   3. host + guest: `vigil-vmm` launches the attest guest, `vigil-agent get-resource`
#      obtains the secret (its SHA-256 is shown, never the secret)
#   4. a guest whose firmware differs by one byte is refused, with the explanation
#   5. a guest launched with a debug policy is refused, with the explanation
#   6. `vigil-attestd audit verify` confirms the audit chain; the decisions are shown
# Exits non-zero if any step fails.
set -uo pipefail
BUILD=${VIGIL_BUILD:-build}
BIN=$BUILD/bin
GUEST=$BUILD/guest/attest.bin
VECTORS=${VIGIL_VECTORS:-../shared/vectors}
PY=/usr/bin/python3
failed=0 summary=()
step() { printf '\n== %s\n' "$*"; }
ok() { printf '   ok: %s\n' "$*"; }
say() { printf '   %s\n' "$*"; }
bad() { printf '   FAILED: %s\n' "$*"; failed=1; }
WORK=$(mktemp -d /tmp/vigil-demo.XXXXXX)
AD_PID=
cleanup() {
	[[ -n $AD_PID ]] && kill "$AD_PID" 2>/dev/null && wait "$AD_PID" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
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
(umask 077 && head -c 32 /dev/urandom >"$WORK/tpm.key") # the vTPM state key: owner only

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

# ------------------------------------------------------------------- the product
T=$WORK/tenant
mkdir -p "$T"
release_flow() {
	step "tenant: predict both guests (vigil measure --json) and write the policy from the predictions"
	"$BIN/vigil" measure snp --firmware "$GUEST" --vmm-type vigil --vcpus 1 --json >"$T/snp.json" &&
		"$BIN/vigil" measure tdx --firmware "$GUEST" --json >"$T/tdx.json" || { bad "vigil measure --json"; return; }
	"$BIN/vigil" policy init --simulated >"$T/policy.json" 2>/dev/null || { bad "vigil policy init"; return; }
	# Simulated evidence never receives a resource unless a rule says so: the tenant opts in
	# (--allow-simulated), for this development policy only; the second call joins the first
	# call's default/key/* rule, so both workloads are on one rule.
	"$BIN/vigil" policy add-workload "$T/policy.json" --name payments-snp --from "$T/snp.json" \
		--resources 'default/key/*' --allow-simulated 2>/dev/null &&
		"$BIN/vigil" policy add-workload "$T/policy.json" --name payments-tdx --from "$T/tdx.json" \
			--resources 'default/key/*' --allow-simulated 2>/dev/null || { bad "vigil policy add-workload"; return; }
	local sum
	if sum=$("$BIN/vigil" policy check "$T/policy.json" 2>/dev/null); then
		ok "policy: workloads payments-snp (measurement $(claim digest "$(cat "$T/snp.json")" | cut -c1-16)...)" \
			"and payments-tdx (MRTD $(claim digest "$(cat "$T/tdx.json")" | cut -c1-16)...); default/key/* to both,"
		say "    simulated platforms accepted (development policy; the service marks every such result)"
	else
		bad "vigil policy check"; return
	fi
	PRED_SNP=$(claim digest "$(cat "$T/snp.json")")

	step "tenant: vigil-attestd on loopback, SQLite store in a temporary directory"
	openssl genpkey -algorithm ed25519 -out "$T/admin.key" 2>/dev/null &&
		openssl pkey -in "$T/admin.key" -pubout -out "$T/admin.pub" 2>/dev/null || { bad "admin key"; return; }
	"$BIN/vigil-attestd" --listen 127.0.0.1:0 --state-dir "$T/attestd" --policy "$T/policy.json" \
		--admin-key "$T/admin.pub" --trust-sim-root "$STATE/sim-snp/ark.pem" \
		--trust-sim-root "$STATE/sim-tdx/root.pem" 2>"$T/attestd.log" &
	AD_PID=$!
	local port=
	for _ in $(seq 200); do
		port=$(sed -n 's/.*"event":"listening".*"port":\([0-9]*\).*/\1/p' "$T/attestd.log" 2>/dev/null | head -1)
		[[ -n $port ]] && break
		kill -0 "$AD_PID" 2>/dev/null || break
		sleep 0.05
	done
	[[ -n $port ]] || { bad "vigil-attestd did not start: $(tail -1 "$T/attestd.log")"; return; }
	URL=http://127.0.0.1:$port
	ok "listening on $URL (KBS protocol 0.4.0), store $T/attestd/attestd.db"
	local KBS=("$BIN/vigil" kbs --url "$URL" --admin-key "$T/admin.key")
	head -c 32 /dev/urandom >"$T/disk.key"
	SECRET_SUM=$(sha256sum <"$T/disk.key" | cut -d' ' -f1)
	if "${KBS[@]}" put-resource default/key/disk "$T/disk.key" >/dev/null 2>"$T/kbs.err"; then
		ok "secret default/key/disk registered through the admin API (Ed25519 admin token), SHA-256 ${SECRET_SUM:0:16}..."
	else
		bad "vigil kbs put-resource: $(tail -1 "$T/kbs.err")"; return
	fi
	if "$BIN/vigil" kbs --url "$URL" --admin-key "$T/admin.pub" list-resources >/dev/null 2>&1; then
		bad "an admin call without the admin private key was accepted"
	fi

	local plat
	for plat in sim-snp sim-tdx; do
		step "host + guest ($plat): vigil-vmm launches the attest guest; vigil-agent get-resource default/key/disk"
		printf '{"platform": "%s", "firmware": "%s", "memory_mib": 16, "state_dir": "%s"}\n' \
			"$plat" "$GUEST" "$STATE" >"$T/$plat.vm.json"
		rm -f "$T/got-$plat"
		if "$BIN/vigil-agent" get-resource --url "$URL" --vm-config "$T/$plat.vm.json" default/key/disk \
			-o "$T/got-$plat" 2>"$T/agent-$plat.err"; then
			local got
			got=$(sha256sum <"$T/got-$plat" | cut -d' ' -f1)
			if [[ $got == "$SECRET_SUM" ]]; then
				ok "the guest holds the secret: SHA-256 ${got:0:16}... (file mode $(stat -c %a "$T/got-$plat"))," \
					"the same as the tenant's"
				summary+=("$plat guest: attested by vigil-attestd, received the secret (JWE to its fresh key)")
			else
				bad "the secret differs: $got"
			fi
		else
			bad "vigil-agent: $(tail -1 "$T/agent-$plat.err")"
		fi
	done

	step "a second guest: its firmware differs from the measured one by one byte"
	cp "$GUEST" "$T/attest-modified.bin"
	printf '\x00' | dd of="$T/attest-modified.bin" bs=1 seek=16352 conv=notrunc status=none # a gap byte
	say "$(cmp -l "$GUEST" "$T/attest-modified.bin" | wc -l) byte differs:" \
		"$(cmp -l "$GUEST" "$T/attest-modified.bin" | awk '{printf "offset %d, 0%s -> 0%s (octal)", $1 - 1, $2, $3}')"
	printf '{"platform": "sim-snp", "firmware": "%s", "memory_mib": 16, "state_dir": "%s"}\n' \
		"$T/attest-modified.bin" "$STATE" >"$T/modified.vm.json"
	refused "$T/modified.vm.json" modified && summary+=("one-byte firmware change: refused, explained")

	step "a third guest: launched with a debug policy (snp.policy 0xB0000, DEBUG allowed)"
	printf '{"platform": "sim-snp", "firmware": "%s", "memory_mib": 16, "state_dir": "%s", "snp": {"policy": "0xB0000"}}\n' \
		"$GUEST" "$STATE" >"$T/debug.vm.json"
	refused "$T/debug.vm.json" debug && summary+=("debug policy: refused, explained")

	step "vigil-attestd audit verify: the tamper-evident audit chain"
	local av
	if av=$("$BIN/vigil-attestd" audit verify --state-dir "$T/attestd" 2>&1); then
		ok "$av"
		summary+=("audit chain verified")
	else
		bad "audit verify: $av"
	fi
	"$BIN/vigil-attestd" audit export --state-dir "$T/attestd" >"$T/audit.jsonl" 2>/dev/null
	say "the decisions in the audit log:"
	"$PY" - "$T/audit.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line); d = r.get("detail") or {}
    if r["kind"] == "release":
        print("     #%-3d released %s to workload %s (%s, simulated)" % (r["seq"], r["resource"], d.get("workload"), d.get("status")))
    elif r["kind"] == "deny":
        print("     #%-3d denied   %s: %s" % (r["seq"], r["resource"], d.get("reason", "").split("; appraisal:")[0]))
    elif r["kind"] == "attest" and r["outcome"] not in ("affirming",):
        ex = [e for e in d.get("explanations", []) if not e.startswith("hardware:")]
        print("     #%-3d attest   %s: %s" % (r["seq"], r["outcome"], "; ".join(ex)))
PY
	local nrel nden
	nrel=$(grep -c '"kind":"release"' "$T/audit.jsonl")
	nden=$(grep -Ec '"kind":"deny"|"kind":"attest".*"outcome":"(contraindicated|warning)"' "$T/audit.jsonl")
	if ((nrel == 2 && nden >= 2)); then ok "$nrel releases and the refusals are on record"; else bad "audit: $nrel releases, $nden refusals"; fi
}

# refused VM_JSON NAME: the guest must not get the secret; shows the service's explanation and,
# from the audit log, which check failed with the expected and found values.
refused() {
	local cfg=$1 name=$2 rc
	"$BIN/vigil-agent" get-resource --url "$URL" --vm-config "$cfg" default/key/disk -o "$T/got-$name" \
		2>"$T/agent-$name.err"
	rc=$?
	if ((rc == 0)) || [[ -e $T/got-$name ]]; then
		bad "the $name guest received the secret"
		return 1
	fi
	if ((rc != 1)); then
		bad "vigil-agent failed (exit $rc) instead of being refused: $(tail -1 "$T/agent-$name.err")"
		return 1
	fi
	ok "refused (vigil-agent exit 1); the service says:"
	fold -s -w 100 <"$T/agent-$name.err" | sed 's/^/       /'
	# The appraisal behind the refusal, from the audit log: which check, expected vs found.
	"$BIN/vigil-attestd" audit export --state-dir "$T/attestd" 2>/dev/null | "$PY" -c '
import json, sys
pred = sys.argv[1]
last = None
for line in sys.stdin:
    r = json.loads(line)
    if r["kind"] == "attest":
        last = r
d = last["detail"]
for e in d.get("explanations", []):
    if not e.startswith("hardware:"):
        print("       appraisal: " + e)
m = d.get("measurement")
if m and m != pred:
    print("       measurement expected %s... (the policy, from vigil measure)" % pred[:32])
    print("                   found    %s... (this guest)" % m[:32])
elif m:
    print("       measurement %s... matches the policy: the refusal is about the launch policy" % m[:32])
' "$PRED_SNP"
	return 0
}

URL= PRED_SNP= SECRET_SUM=
if [[ -x $BIN/vigil-attestd && -x $BIN/vigil-agent ]]; then
	release_flow
else
	bad "vigil-attestd or vigil-agent not built"
fi

printf '\n== summary\n'
for s in "${summary[@]}"; do printf '   %s\n' "$s"; done
if ((failed)); then
	printf '   DEMO FAILED (see above)\n'
else
	printf '   all steps passed. Simulated platforms protect no memory, and on them the agent (and its\n'
	printf '   key) runs beside the VM, not in it; see docs/platforms.md and docs/agent.md.\n'
fi
exit $failed
