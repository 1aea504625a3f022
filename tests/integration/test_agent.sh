#!/usr/bin/env bash
# vigil-agent, the real binary: its command line; `evidence` from real vigil-vmm launches on
# sim-snp and sim-tdx, checked by `vigil verify` (measurement = `vigil measure`'s prediction,
# REPORT_DATA bound, the SNP certificate table travelling in the evidence); the configfs-tsm
# provider's refusals; the client side of the KBS flow against a small independent stand-in
# (python cryptography: REPORT_DATA binding checked, JWE made by code we did not write,
# RFC 7807 refusals); and the whole product end to end against the real vigil-attestd:
# release on sim-snp and sim-tdx, refusals explained, audit chain verified.
# vigil-vmm picks its accelerator (auto: kvm where /dev/kvm opens, else emu); the evidence
# checks run once more under each accelerator explicitly.
. "$(dirname "$0")/lib.sh"
need_cmd openssl
. "$(dirname "$0")/agent_lib.sh"
STATE=$TMP/state
# field KEY JSON: a JSON value by a python path expression
jget() { /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print($1)" <<<"$2"; }
claim() { [[ $2 =~ \"$1\":\ ?\"([0-9a-fx]+)\" ]] && echo "${BASH_REMATCH[1]}"; }

# ------------------------------------------------------------------ command line
expect_exit 0 "--help" "$AGENT" --help
expect_match "--help names the three commands" 'get-resource.*attest.*evidence' "$(echo $OUT)"
expect_exit 0 "--version" "$AGENT" --version
expect_exit 2 "no command" "$AGENT"
expect_exit 2 "unknown command" "$AGENT" fetch
expect_match "... named in one line" '^vigil-agent: unknown command "fetch"' "$ERR"
expect_exit 2 "get-resource without --url" "$AGENT" get-resource default/key/a
expect_match "... says --url is required" '--url URL is required' "$ERR"
expect_exit 2 "a resource path of two parts" "$AGENT" get-resource --url http://127.0.0.1:1 default/key
expect_match "... explained" 'REPOSITORY/TYPE/TAG' "$ERR"
expect_exit 2 "a resource path with .." "$AGENT" get-resource --url http://127.0.0.1:1 ../key/a
expect_exit 2 "an unknown --tee" "$AGENT" evidence --tee sgx --report-data 00
expect_match "... named" 'unknown provider "sgx"' "$ERR"
expect_exit 2 "--report-data of 63 bytes" "$AGENT" evidence --tee sim-snp --report-data "$(openssl rand -hex 63)"
expect_exit 2 "a URL that is not http(s)" "$AGENT" attest --url ftp://127.0.0.1/ --tee sim-snp
expect_match "... refused before anything runs" 'must start with https://' "$ERR"

# ------------------------------------------------------------ evidence: sim-snp
RD=$(openssl rand -hex 64)
expect_exit 0 "evidence from a sim-snp launch" "$AGENT" evidence --tee sim-snp --state-dir "$STATE" \
	--report-data "$RD" "${VMM_EXTRA[@]}"
EV=$OUT
expect_eq "tee-evidence has primary_evidence and additional_evidence \"\"" "['additional_evidence', 'primary_evidence'] " \
	"$(jget "sorted(d), d['additional_evidence']" "$EV")"
expect_eq "SNP evidence keys" "['attestation_report', 'cert_chain']" "$(jget "sorted(d['primary_evidence'])" "$EV")"
expect_eq "the certificate table travels with it: vcek, ask, ark" "['vcek', 'ask', 'ark']" \
	"$(jget "[c['type'] for c in d['primary_evidence']['cert_chain']]" "$EV")"
jget "open('$TMP/report.bin','wb').write(__import__('base64').b64decode(d['primary_evidence']['attestation_report'],validate=True))" "$EV" >/dev/null
for i in 0 1 2; do
	jget "open('$TMP/c$i.der','wb').write(__import__('base64').b64decode(d['primary_evidence']['cert_chain'][$i]['data'],validate=True))" "$EV" >/dev/null
	openssl x509 -inform DER -in "$TMP/c$i.der" -out "$TMP/c$i.pem" 2>/dev/null
done
expect_eq "attestation_report is 1184 bytes" 1184 "$(stat -c %s "$TMP/report.bin")"
cat "$TMP/c1.pem" "$TMP/c2.pem" >"$TMP/chain.pem"
check "the evidence's ARK is the simulated root in the state directory" \
	cmp <(openssl x509 -in "$TMP/c2.pem" -outform DER) <(openssl x509 -in "$STATE/sim-snp/ark.pem" -outform DER)
expect_exit 0 "vigil verify accepts the report with the chain from the evidence" "$BIN/vigil" verify snp \
	"$TMP/report.bin" --vcek "$TMP/c0.pem" --chain "$TMP/chain.pem" --trust-sim-root "$STATE/sim-snp/ark.pem" --compact
expect_eq "REPORT_DATA is the one asked for" "$RD" "$(claim report_data "$OUT")"
PRED=$("$BIN/vigil" measure snp --firmware "$GUEST" --vmm-type vigil --vcpus 1 | head -1)
expect_eq "the measurement is vigil measure's prediction" "$PRED" "$(claim measurement "$OUT")"

# vm.json names the launch: platform detected from it, its snp.* inputs reach the report
HD=$(openssl rand -hex 32)
cat >"$TMP/vm.json" <<EOF
{"platform": "sim-snp", "firmware": "$GUEST", "memory_mib": 16, "state_dir": "$STATE",
 "snp": {"host_data": "$HD"}}
EOF
expect_exit 0 "evidence with --vm-config (platform from vm.json)" "$AGENT" evidence --vm-config "$TMP/vm.json" \
	--report-data "$RD" "${VMM_EXTRA[@]}"
jget "open('$TMP/r2.bin','wb').write(__import__('base64').b64decode(d['primary_evidence']['attestation_report']))" "$OUT" >/dev/null
"$BIN/vigil" verify snp "$TMP/r2.bin" --vcek "$STATE/sim-snp/vcek.pem" --chain "$STATE/sim-snp/cert_chain.pem" \
	--trust-sim-root "$STATE/sim-snp/ark.pem" --compact >"$TMP/v2.json" 2>/dev/null
expect_eq "vm.json snp.host_data lands in the report" "$HD" "$(claim host_data "$(cat "$TMP/v2.json")")"

for acc in $(test_accels); do
	for plat in sim-snp sim-tdx; do
		expect_exit 0 "[$acc] $plat evidence" "$AGENT" evidence --tee $plat --state-dir "$STATE" --report-data "$RD" \
			--vmm-arg --accel --vmm-arg "$acc" "${VMM_EXTRA[@]}"
	done
done

# ------------------------------------------------------------ evidence: sim-tdx
expect_exit 0 "evidence from a sim-tdx launch" "$AGENT" evidence --tee sim-tdx --state-dir "$STATE" \
	--report-data "$RD" "${VMM_EXTRA[@]}"
EV=$OUT
expect_eq "TDX evidence: quote, and cc_eventlog null (the attest guest has no CCEL)" "['cc_eventlog', 'quote'] None" \
	"$(jget "sorted(d['primary_evidence']), d['primary_evidence']['cc_eventlog']" "$EV" | tr -d '()' | sed 's/, None/ None/')"
jget "open('$TMP/quote.bin','wb').write(__import__('base64').b64decode(d['primary_evidence']['quote'],validate=True))" "$EV" >/dev/null
expect_exit 0 "vigil verify accepts the quote (simulated root)" "$BIN/vigil" verify tdx "$TMP/quote.bin" \
	--trust-sim-root "$STATE/sim-tdx/root.pem" --compact
expect_eq "TDX REPORT_DATA is the one asked for" "$RD" "$(claim report_data "$OUT")"
expect_eq "MRTD is vigil measure's prediction" "$("$BIN/vigil" measure tdx --firmware "$GUEST" | head -1)" \
	"$(claim mrtd "$OUT")"

# ------------------------------------------------------------ provider failures
expect_exit 2 "tsm without configfs-tsm" "$AGENT" evidence --tee tsm --tsm-root "$TMP/none" --report-data "$RD"
expect_match "... says what is missing" "configfs-tsm: $TMP/none/report is not there" "$ERR"
expect_exit 2 "nothing to detect" "$AGENT" evidence --tsm-root "$TMP/none" --report-data "$RD"
expect_match "... says why" 'no evidence provider' "$ERR"
expect_exit 2 "a VMM that fails" "$AGENT" evidence --tee sim-snp --vmm /bin/false --state-dir "$STATE" --report-data "$RD"
expect_match "... is reported with its exit status" 'vigil-vmm \(sim-snp\) exited 1' "$ERR"
expect_exit 2 "a firmware that is not there" "$AGENT" evidence --tee sim-tdx --firmware "$TMP/nope.bin" --report-data "$RD"
expect_match "... named" 'nope.bin' "$ERR"

# ------------------------------------------- the client against a small stand-in
standin() { # mode
	rm -f "$TMP/port"
	/usr/bin/python3 "$ROOT/tests/integration/kbs_standin.py" "$TMP/port" "$TMP/secret.in" "$1" 2>"$TMP/standin.err" &
	PIDS+=($!)
	for _ in $(seq 100); do [[ -s $TMP/port ]] && break; sleep 0.05; done
	URL=http://127.0.0.1:$(cat "$TMP/port")
}
stop_standin() { kill "${PIDS[-1]}" 2>/dev/null; wait "${PIDS[-1]}" 2>/dev/null; }
head -c 48 /dev/urandom >"$TMP/secret.in"
SUM=$(sha256sum <"$TMP/secret.in" | cut -d' ' -f1)
if /usr/bin/python3 -c 'import cryptography' 2>/dev/null; then
	standin ok
	expect_exit 0 "get-resource (sim-snp) against the stand-in" "$AGENT" get-resource --url "$URL" default/key/demo \
		-o "$TMP/s1" --tee sim-snp --state-dir "$STATE" "${VMM_EXTRA[@]}"
	expect_eq "the secret arrives intact (JWE made by python cryptography)" "$SUM" "$(sha256sum <"$TMP/s1" | cut -d' ' -f1)"
	expect_eq "... in a file of mode 600" 600 "$(stat -c %a "$TMP/s1")"
	expect_exit 2 "an existing output file is not replaced" "$AGENT" get-resource --url "$URL" default/key/demo \
		-o "$TMP/s1" --tee sim-snp --state-dir "$STATE" "${VMM_EXTRA[@]}"
	expect_match "... said so" 'already exists; not replaced' "$ERR"
	"$AGENT" get-resource --url "$URL/" default/key/demo --tee sim-tdx --state-dir "$STATE" "${VMM_EXTRA[@]}" \
		>"$TMP/s2" 2>"$TMP/s2.err"
	expect_eq "get-resource (sim-tdx) exits 0" 0 $?
	expect_eq "... the secret on stdout, byte for byte" "$SUM" "$(sha256sum <"$TMP/s2" | cut -d' ' -f1)"
	expect_exit 0 "get-resource --json reports size and SHA-256, never the secret" "$AGENT" get-resource --json \
		--url "$URL" default/key/demo -o "$TMP/s3" --tee sim-snp --state-dir "$STATE" "${VMM_EXTRA[@]}"
	expect_eq "... its fields" "default/key/demo 48 $SUM" "$(jget "d['resource'], d['bytes'], d['sha256']" "$OUT" | tr -d "(),'")"
	expect_exit 0 "attest prints the token" "$AGENT" attest --url "$URL" --tee sim-snp --state-dir "$STATE" "${VMM_EXTRA[@]}"
	expect_eq "... as a line" "standin.token.value" "$OUT"
	expect_exit 1 "an unknown resource is a refusal" "$AGENT" get-resource --url "$URL" default/key/other \
		--tee sim-tdx --state-dir "$STATE" "${VMM_EXTRA[@]}"
	expect_match "... with the service's explanation (RFC 7807 detail and type)" \
		'^vigil-agent get-resource: resource: refused 404: unknown resource .* \(ResourceNotFound\)$' "$ERR"
	expect_exit 2 "https to a plain-HTTP service fails (TLS is not optional)" "$AGENT" attest \
		--url "https://127.0.0.1:$(cat "$TMP/port")" --tee sim-tdx --state-dir "$STATE" "${VMM_EXTRA[@]}"
	stop_standin

	standin deny-attest
	expect_exit 1 "a failed attestation is a refusal" "$AGENT" get-resource --url "$URL" default/key/demo \
		-o "$TMP/s4" --tee sim-snp --state-dir "$STATE" "${VMM_EXTRA[@]}"
	expect_match "... in one line with the explanation" \
		'^vigil-agent get-resource: attest: refused 401: measurement: expected 11aa\.\.\., found 22bb\.\.\. \(workload demo\) \(AttestationFailed\)$' "$ERR"
	check "... and no file was written" test ! -e "$TMP/s4"
	stop_standin
	standin deny-resource
	expect_exit 1 "a policy denial is a refusal" "$AGENT" get-resource --url "$URL" default/key/demo \
		-o "$TMP/s5" --tee sim-tdx --state-dir "$STATE" "${VMM_EXTRA[@]}"
	expect_match "... naming the rule" "resource: refused 403: resource rule 'default/key/\*': simulated evidence refused" "$ERR"
	check "... and no file was written" test ! -e "$TMP/s5"
	stop_standin
	standin no-cookie
	expect_exit 2 "a service that sets no session cookie" "$AGENT" attest --url "$URL" --tee sim-tdx \
		--state-dir "$STATE" "${VMM_EXTRA[@]}"
	expect_match "... is named" 'no kbs-session-id cookie' "$ERR"
	stop_standin
	standin garbage
	expect_exit 2 "a non-JSON challenge" "$AGENT" attest --url "$URL" --tee sim-tdx --state-dir "$STATE"
	expect_match "... is named" 'auth: the service.s answer is not a JSON object' "$ERR"
	stop_standin
	standin big
	expect_exit 2 "an oversized response" "$AGENT" get-resource --url "$URL" default/key/demo --tee sim-tdx \
		--state-dir "$STATE" "${VMM_EXTRA[@]}"
	expect_match "... is cut off" 'larger than 1048576 bytes' "$ERR"
	stop_standin
	standin slow
	expect_exit 2 "a silent service times out" "$AGENT" get-resource --timeout 2 --url "$URL" default/key/demo \
		--tee sim-tdx --state-dir "$STATE" "${VMM_EXTRA[@]}"
	expect_match "... saying so" '[Tt]imeout|timed out' "$ERR"
	stop_standin
	expect_exit 2 "nobody listening" "$AGENT" attest --url "$URL" --tee sim-tdx --state-dir "$STATE"
	expect_match "... a network error, one line" '^vigil-agent attest: POST http://127\.0\.0\.1:[0-9]+/kbs/v0/auth: .*connect' "$ERR"
else
	echo "# python3 cryptography missing: stand-in checks not run"
fi
# ------------------------------------------------ end to end: the real vigil-attestd
AD=$TMP/attestd
mkdir -p "$AD"
"$BIN/vigil" measure snp --firmware "$GUEST" --vmm-type vigil --vcpus 1 --json >"$AD/snp.json"
"$BIN/vigil" measure tdx --firmware "$GUEST" --json >"$AD/tdx.json"
# A development policy from the predictions; the tenant opts the rule in to simulated evidence.
check "the policy is written from the predictions" sim_policy "$AD/policy.json" "$AD/snp.json" "$AD/tdx.json"
check "the policy is valid" "$BIN/vigil" policy check "$AD/policy.json"
admin_keys "$AD"
start_attestd "$AD/log" --state-dir "$AD/state" --policy "$AD/policy.json" --admin-key "$AD/admin.pub" \
	--trust-sim-root "$STATE/sim-snp/ark.pem" --trust-sim-root "$STATE/sim-tdx/root.pem"
expect_eq "vigil-attestd listens on loopback" 0 $?
KBS=("$BIN/vigil" kbs --url "$URL" --admin-key "$AD/admin.key")
head -c 64 /dev/urandom >"$AD/secret"
ASUM=$(sha256sum <"$AD/secret" | cut -d' ' -f1)
check "the tenant registers the secret (admin API)" "${KBS[@]}" put-resource default/key/e2e "$AD/secret"
for plat in sim-snp sim-tdx; do
	expect_exit 0 "$plat guest gets the secret from vigil-attestd" "$AGENT" get-resource --url "$URL" \
		default/key/e2e -o "$AD/got-$plat" --tee "$plat" --state-dir "$STATE" "${VMM_EXTRA[@]}"
	expect_eq "... the same bytes" "$ASUM" "$(sha256sum <"$AD/got-$plat" 2>/dev/null | cut -d' ' -f1)"
done
expect_exit 0 "attest prints vigil-attestd's token" "$AGENT" attest --url "$URL" --tee sim-tdx --state-dir "$STATE" \
	"${VMM_EXTRA[@]}"
expect_match "... an EAR JWT (three parts)" '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' "$OUT"
expect_eq "... signed with ES256 or EdDSA" yes "$(jget "'yes' if d['alg'] in ('ES256','ES384','EdDSA') else d['alg']" \
	"$(cut -d. -f1 <<<"$OUT" | tr '_-' '/+' | base64 -d 2>/dev/null)")"
cp "$GUEST" "$AD/fw1.bin"
printf '\x00' | dd of="$AD/fw1.bin" bs=1 seek=16352 conv=notrunc status=none # a gap byte
check "the second firmware differs from the first" test "$(cmp -l "$GUEST" "$AD/fw1.bin" | wc -l)" = 1
expect_exit 1 "a guest whose firmware differs by one byte is refused" "$AGENT" get-resource --url "$URL" \
	default/key/e2e -o "$AD/no1" --tee sim-snp --firmware "$AD/fw1.bin" --state-dir "$STATE" "${VMM_EXTRA[@]}"
expect_match "... with the service's explanation" 'refused 40[13]: .*(affirming|measurement|reference)' "$ERR"
check "... and nothing was written" test ! -e "$AD/no1"
expect_exit 1 "an SNP guest with a debug policy is refused" "$AGENT" get-resource --url "$URL" default/key/e2e \
	-o "$AD/no2" --tee sim-snp --vmm-arg --snp-policy --vmm-arg 0xB0000 --state-dir "$STATE" "${VMM_EXTRA[@]}"
expect_match "... saying debug is allowed by its policy" 'attest: refused 401: .*allows debug \(policy 0x000b0000, bit 19\)' "$ERR"
expect_exit 1 "a debug TD is refused" "$AGENT" get-resource --url "$URL" default/key/e2e -o "$AD/no3" \
	--tee sim-tdx --vmm-arg --tdx-attributes --vmm-arg 0x10000001 --state-dir "$STATE" "${VMM_EXTRA[@]}"
expect_match "... saying it is a debug TD" 'debug TD' "$ERR"
expect_exit 1 "an unknown resource is refused" "$AGENT" get-resource --url "$URL" default/key/none \
	--tee sim-tdx --state-dir "$STATE" "${VMM_EXTRA[@]}"
"$BIN/vigil" policy init >"$AD/prod.json" 2>/dev/null
"$BIN/vigil" policy add-workload "$AD/prod.json" --name guest-snp --from "$AD/snp.json" --resources 'default/key/*' \
	2>/dev/null
check "a production policy is installed" "${KBS[@]}" set-policy "$AD/prod.json"
expect_exit 1 "under it, the simulated guest is refused" "$AGENT" get-resource --url "$URL" default/key/e2e \
	-o "$AD/no4" --tee sim-snp --state-dir "$STATE" "${VMM_EXTRA[@]}"
expect_match "... because it is simulated" '[Ss][Ii][Mm][Uu][Ll][Aa][Tt][Ee][Dd]' "$ERR"
check "none of the refused guests got a file" test ! -e "$AD/no2" -a ! -e "$AD/no3" -a ! -e "$AD/no4"
expect_exit 0 "vigil-attestd audit verify: the chain is intact" "$BIN/vigil-attestd" audit verify --state-dir "$AD/state"
"$BIN/vigil-attestd" audit export --state-dir "$AD/state" >"$AD/audit.jsonl" 2>/dev/null
expect_eq "the audit log has the two releases of default/key/e2e" 2 \
	"$(grep -c '"kind":"release","actor":[^,]*,"resource":"default/key/e2e","outcome":"ok"' "$AD/audit.jsonl")"
finish
