#!/usr/bin/env bash
# Simulated evidence end to end through the policy: `vigil measure --json` becomes a
# workload (`vigil policy add-workload`), vigil-vmm launches the attest guest on
# sim-snp / sim-tdx with a fresh nonce, `vigil appraise` matches the evidence to
# that workload under a development policy (and says "SIMULATED" in words), and a
# production policy refuses the same evidence.
. "$(dirname "$0")/lib.sh"
need_cmd xxd
VMM_EXTRA=()
if [[ -n "${VIGIL_SANITIZE:-}" ]]; then
	export ASAN_OPTIONS=detect_leaks=0
	VMM_EXTRA=(--no-sandbox)
fi
V=$BIN/vigil
PY=/usr/bin/python3
GUEST=$BUILD/guest/attest.bin
[[ -f $GUEST ]] || skip_all "attest guest not built"
STATE=$TMP/state
unset VIGIL_STATE_DIR VIGIL_GUEST_CHALLENGE
NONCE=$(openssl rand -hex 64)

. "$(dirname "$0")/sim_lib.sh"
jget() { $PY -c 'import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"; }

"$V" policy init --simulated >"$TMP/dev.json" 2>/dev/null
"$V" policy init >"$TMP/prod.json"

# ----------------------------------------------------------------- sim-snp
"$V" measure snp --firmware "$GUEST" --vmm-type vigil --vcpus 1 --json >"$TMP/m-snp.json"
"$V" measure tdx --firmware "$GUEST" --json >"$TMP/m-tdx.json"
for p in dev prod; do
	check "$p: add-workload sim from vigil measure snp --json" "$V" policy add-workload "$TMP/$p.json" --name sim-snp-guest \
		--from "$TMP/m-snp.json" --resources 'dev/keys/*'
	check "$p: add-workload from vigil measure tdx --json" "$V" policy add-workload "$TMP/$p.json" --name sim-tdx-guest \
		--from "$TMP/m-tdx.json"
done
run_guest sim-snp "$TMP/report.bin"
expect_eq "snp: guest exits 0 after printing evidence" 0 $?
SNPDIR=$STATE/sim-snp
EV=(snp "$TMP/report.bin" --vcek "$SNPDIR/vcek.pem" --chain "$SNPDIR/cert_chain.pem" --trust-sim-root "$SNPDIR/ark.pem")
expect_exit 0 "snp: simulated evidence matches the measured workload under a simulation policy" \
	"$V" appraise "${EV[@]}" --policy "$TMP/dev.json" --nonce "$NONCE" --compact
J=$OUT
expect_eq "snp: affirming" affirming "$(jget "$J" 'd["status"]')"
expect_eq "snp: the workload built from vigil measure" sim-snp-guest "$(jget "$J" 'd["workload"]')"
expect_eq "snp: simulated" True "$(jget "$J" 'd["simulated"]')"
expect_match "snp: says SIMULATED in words" 'hardware: SIMULATED platform \(sim-snp\), accepted because the policy sets' "$J"
expect_match "snp: loading the simulation policy warned on stderr" 'SIMULATED' "$ERR"
expect_exit 1 "snp: a production policy refuses simulated evidence" \
	"$V" appraise "${EV[@]}" --policy "$TMP/prod.json" --nonce "$NONCE" --compact
expect_eq "snp: contraindicated" contraindicated "$(jget "$OUT" 'd["status"]')"
expect_match "snp: ... because it is simulated" 'evidence is from a SIMULATED platform \(sim-snp\) and the policy does not accept simulation' "$OUT"
expect_exit 1 "snp: a different nonce is refused" "$V" appraise "${EV[@]}" --policy "$TMP/dev.json" --nonce "$(openssl rand -hex 64)"
expect_match "snp: ... as not binding the nonce" 'does not bind the session nonce' "$OUT"
"$V" measure snp --firmware "$GUEST" --vmm-type vigil --vcpus 2 --json >"$TMP/m2.json"
"$V" policy init --simulated >"$TMP/dev2.json" 2>/dev/null
"$V" policy add-workload "$TMP/dev2.json" --name two-vcpus --from "$TMP/m2.json" 2>/dev/null
expect_exit 1 "snp: a workload measured for other inputs does not match" "$V" appraise "${EV[@]}" --policy "$TMP/dev2.json" --nonce "$NONCE"
expect_match "snp: ... the measurement is explained" 'executables: SNP measurement [0-9a-f]{8}… is not among the 1 reference value of workload \\"two-vcpus\\"' "$OUT"
run_guest sim-snp "$TMP/dbg.bin" --snp-policy 0xB0000
expect_exit 1 "snp: a debug guest is refused even under the simulation policy" "$V" appraise snp "$TMP/dbg.bin" \
	--vcek "$SNPDIR/vcek.pem" --chain "$SNPDIR/cert_chain.pem" --trust-sim-root "$SNPDIR/ark.pem" --policy "$TMP/dev.json" --nonce "$NONCE"
expect_match "snp: ... naming bit 19" 'configuration: guest policy allows debug \(policy 0x000b0000, bit 19\)' "$OUT"

# add-workload --allow-simulated, and two workloads on one glob share one rule
"$V" policy init --simulated >"$TMP/dev4.json" 2>/dev/null
check "rules: add-workload --allow-simulated" "$V" policy add-workload "$TMP/dev4.json" --name a \
	--from "$TMP/m-snp.json" --resources 'dev/keys/*' --allow-simulated
check "rules: a second workload on the same glob" "$V" policy add-workload "$TMP/dev4.json" --name b \
	--from "$TMP/m-tdx.json" --resources 'dev/keys/*' --allow-simulated
check "rules: the same glob without --allow-simulated" "$V" policy add-workload "$TMP/dev4.json" --name c \
	--from "$TMP/m-tdx.json" --resources 'dev/keys/*'
R=$(cat "$TMP/dev4.json")
expect_eq "rules: two rules (same glob and settings joined, other settings apart)" 2 "$(jget "$R" 'len(d["resources"])')"
expect_eq "rules: the joined rule names both workloads" "['a', 'b']" "$(jget "$R" 'd["resources"][0]["workloads"]')"
expect_eq "rules: ... and accepts simulated evidence" True "$(jget "$R" 'd["resources"][0]["allow_simulated"]')"
expect_eq "rules: the rule without the flag does not" False "$(jget "$R" 'd["resources"][1].get("allow_simulated", False)')"
check "rules: the edited policy checks" "$V" policy check "$TMP/dev4.json"
cp "$TMP/prod.json" "$TMP/prod-before.json"
expect_exit 2 "rules: --allow-simulated on a production policy is refused" "$V" policy add-workload "$TMP/prod.json" \
	--name d --from "$TMP/m-snp.json" --resources 'dev/keys/*' --allow-simulated
expect_match "rules: ... naming allow_simulated" 'allow_simulated.*does not accept simulated platforms' "$ERR"
check "rules: ... and the file is unchanged" cmp "$TMP/prod.json" "$TMP/prod-before.json"

# ----------------------------------------------------------------- sim-tdx
run_guest sim-tdx "$TMP/quote.bin"
expect_eq "tdx: guest exits 0 after printing evidence" 0 $?
TEV=(tdx "$TMP/quote.bin" --trust-sim-root "$STATE/sim-tdx/root.pem")
expect_exit 0 "tdx: simulated quote matches the MRTD workload under a simulation policy" \
	"$V" appraise "${TEV[@]}" --policy "$TMP/dev.json" --nonce "$NONCE" --compact
expect_eq "tdx: workload" sim-tdx-guest "$(jget "$OUT" 'd["workload"]')"
expect_match "tdx: says SIMULATED in words" 'SIMULATED platform \(sim-tdx\)' "$OUT"
expect_exit 1 "tdx: a production policy refuses it" "$V" appraise "${TEV[@]}" --policy "$TMP/prod.json" --nonce "$NONCE"
expect_match "tdx: ... because it is simulated" 'SIMULATED platform \(sim-tdx\) and the policy does not accept simulation' "$OUT"
expect_match "tdx: ... and without collateral" 'TDX TCB status not evaluated \(no collateral given\) and the policy requires collateral' "$OUT"
# A workload from `vigil verify --json` of the known-good guest pins RTMRs and attributes too.
"$V" verify "${TEV[@]}" >"$TMP/tv.json"
"$V" policy init --simulated >"$TMP/dev3.json" 2>/dev/null
check "tdx: add-workload from vigil verify --json" "$V" policy add-workload "$TMP/dev3.json" --name known-good --from "$TMP/tv.json"
expect_exit 0 "tdx: the quote matches its own verify-derived workload" "$V" appraise "${TEV[@]}" --policy "$TMP/dev3.json" --nonce "$NONCE"
run_guest sim-tdx "$TMP/q2.bin" --mrconfigid "$(openssl rand -hex 48)" --tdx-attributes 0x10000001
expect_exit 1 "tdx: other MRCONFIGID and a debug TD are refused" "$V" appraise tdx "$TMP/q2.bin" \
	--trust-sim-root "$STATE/sim-tdx/root.pem" --policy "$TMP/dev3.json" --nonce "$NONCE"
expect_match "tdx: ... MRCONFIGID explained" 'configuration: TDX MRCONFIGID [0-9a-f]{8}… is not among the 1 reference value of workload' "$OUT"
expect_match "tdx: ... debug TD explained" 'configuration: TD is a debug TD \(TD_ATTRIBUTES 0100001000000000, bit 0\)' "$OUT"
finish
