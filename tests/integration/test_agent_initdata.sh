#!/usr/bin/env bash
# vigil-agent and Trustee's init-data, end to end with the real binaries: `init-data digest`
# (checked against coreutils' sha256sum/sha384sum/sha512sum), then guests launched by the real
# vigil-vmm on sim-snp and sim-tdx with HOST_DATA / MRCONFIGID = the digest, against the real
# vigil-attestd: the guest that sends its init-data gets the secret (TOML and JSON); the same
# VM with other init-data is refused by the agent before anything is sent (exit 1, the digests
# named) and, with --no-init-data-check, by the service (401 naming init-data), so both checks
# are proven; no init-data sent; malformed documents are usage errors and nothing is sent.
. "$(dirname "$0")/lib.sh"
need_cmd openssl
. "$(dirname "$0")/agent_lib.sh"
STATE=$TMP/state
W=$TMP/w
mkdir -p "$W"
audit_attests() { "$BIN/vigil-attestd" audit export --state-dir "$W/state" 2>/dev/null | grep -c '"kind":"attest"'; }

# ------------------------------------------------------------- the documents
printf 'algorithm = "sha384"\nversion = "0.1.0"\n\n[data]\n"aa.toml" = '"'''"'\nurl = "http://kbs"\n'"'''"'\n' >"$W/a.toml"
printf 'algorithm = "sha384"\nversion = "0.1.0"\n\n[data]\n"aa.toml" = "other"\n' >"$W/other.toml"
printf '{"algorithm": "sha256", "version": "0.1.0", "data": {"policy.rego": "package agent_policy"}}' >"$W/b.json"
printf '{"algorithm": "sha512", "version": "0.1.0", "data": {"k": "v"}}' >"$W/c.json"
A384=$(sha384sum <"$W/a.toml" | cut -d' ' -f1)
B256=$(sha256sum <"$W/b.json" | cut -d' ' -f1)
C512=$(sha512sum <"$W/c.json" | cut -d' ' -f1)
ZERO16=$(printf '0%.0s' $(seq 32))

# ------------------------------------------------------- init-data digest
expect_exit 0 "init-data digest of a TOML document" "$AGENT" init-data digest "$W/a.toml"
expect_match "... the sha384 digest (= sha384sum of the file)" "^sha384 $A384 \(toml\)" "$OUT"
expect_match "... and the SNP launch flag: the first 32 bytes" "snp: vigil-vmm --host-data ${A384:0:64}"$'\n' "$OUT"
expect_match "... and the TDX launch flag: all 48 bytes" "tdx: vigil-vmm --mrconfigid $A384\$" "$OUT"
expect_exit 0 "init-data digest --json of a sha256 JSON document" "$AGENT" init-data digest --json "$W/b.json"
J=$OUT
expect_eq "... digest = sha256sum" "$B256" "$(jq -r .digest <<<"$J")"
expect_eq "... HOST_DATA = the digest" "$B256" "$(jq -r .host_data <<<"$J")"
expect_eq "... MRCONFIGID = the digest zero-padded to 48 bytes" "$B256$ZERO16" "$(jq -r .mrconfigid <<<"$J")"
expect_eq "... format and algorithm" "json sha256" "$(jq -r '.format + " " + .algorithm' <<<"$J")"
expect_exit 0 "init-data digest --json of a sha512 document" "$AGENT" init-data digest --json "$W/c.json"
expect_eq "... truncated to 32 and 48 bytes" "${C512:0:64} ${C512:0:96}" "$(jq -r '.host_data + " " + .mrconfigid' <<<"$OUT")"
cp "$W/a.toml" "$W/a.txt"
expect_exit 2 "a name without .toml/.json needs --init-data-format" "$AGENT" init-data digest "$W/a.txt"
expect_match "... said in one line" '^vigil-agent init-data: --init-data .*a\.txt: name it \*\.toml or \*\.json' "$ERR"
expect_exit 0 "... and is read with it" "$AGENT" init-data digest --init-data-format toml "$W/a.txt"
expect_exit 2 "--init-data-format yaml" "$AGENT" init-data digest --init-data-format yaml "$W/a.toml"
expect_match "... named" 'yaml.*toml or json' "$ERR"
expect_exit 2 "init-data without digest FILE" "$AGENT" init-data "$W/a.toml"
expect_exit 2 "--init-data with evidence" "$AGENT" evidence --init-data "$W/a.toml" --tee sim-snp \
	--report-data "$(openssl rand -hex 64)"
expect_match "... is a usage error" '--init-data goes with attest and get-resource' "$ERR"

# ------------------------------------------------------------- the service
# The simulated identities exist after a first launch of each platform.
RD=$(openssl rand -hex 64)
check "a sim-snp identity" "$AGENT" evidence --tee sim-snp --state-dir "$STATE" --report-data "$RD" "${VMM_EXTRA[@]}"
check "a sim-tdx identity" "$AGENT" evidence --tee sim-tdx --state-dir "$STATE" --report-data "$RD" "${VMM_EXTRA[@]}"
"$BIN/vigil" measure snp --firmware "$GUEST" --vmm-type vigil --vcpus 1 --json >"$W/snp.json"
"$BIN/vigil" measure tdx --firmware "$GUEST" --json >"$W/tdx.json"
check "a development policy from the predictions" sim_policy "$W/policy.json" "$W/snp.json" "$W/tdx.json"
admin_keys "$W"
start_attestd "$W/log" --state-dir "$W/state" --policy "$W/policy.json" --admin-key "$W/admin.pub" \
	--trust-sim-root "$STATE/sim-snp/ark.pem" --trust-sim-root "$STATE/sim-tdx/root.pem"
expect_eq "vigil-attestd listens on loopback" 0 $?
head -c 48 /dev/urandom >"$W/secret"
SUM=$(sha256sum <"$W/secret" | cut -d' ' -f1)
check "the tenant registers the secret" "$BIN/vigil" kbs --url "$URL" --admin-key "$W/admin.key" \
	put-resource default/key/id "$W/secret"
SNPA=(--tee sim-snp --state-dir "$STATE" --vmm-arg --host-data --vmm-arg "${A384:0:64}" "${VMM_EXTRA[@]}")
TDXB=(--tee sim-tdx --state-dir "$STATE" --vmm-arg --mrconfigid --vmm-arg "$B256$ZERO16" "${VMM_EXTRA[@]}")

# bound: the guest launched for the document sends it and gets the secret
expect_exit 0 "sim-snp, HOST_DATA = digest(a.toml), sends a.toml: released" "$AGENT" get-resource --url "$URL" \
	default/key/id -o "$W/got-snp" --init-data "$W/a.toml" "${SNPA[@]}"
expect_eq "... the secret" "$SUM" "$(sha256sum <"$W/got-snp" 2>/dev/null | cut -d' ' -f1)"
expect_exit 0 "sim-tdx, MRCONFIGID = digest(b.json)||0^16, sends b.json: released" "$AGENT" get-resource \
	--url "$URL" default/key/id -o "$W/got-tdx" --init-data "$W/b.json" "${TDXB[@]}"
expect_eq "... the secret" "$SUM" "$(sha256sum <"$W/got-tdx" 2>/dev/null | cut -d' ' -f1)"
cp "$W/c.json" "$W/c.txt"
expect_exit 0 "attest: sim-snp with a sha512 JSON document named by --init-data-format" "$AGENT" attest \
	--url "$URL" --init-data "$W/c.txt" --init-data-format json --tee sim-snp --state-dir "$STATE" \
	--vmm-arg --host-data --vmm-arg "${C512:0:64}" "${VMM_EXTRA[@]}"
expect_match "... a token" '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' "$OUT"
"$BIN/vigil-attestd" audit export --state-dir "$W/state" >"$W/audit1.jsonl" 2>/dev/null
expect_eq "the service checked init-data in these three attestations (audit: init_data true)" 3 \
	"$(grep '"kind":"attest"' "$W/audit1.jsonl" | grep -c '"init_data":true')"

# the same VMs, other init-data: the agent refuses before sending
N0=$(audit_attests)
expect_exit 1 "sim-snp launched for a.toml, sending other.toml: refused by the agent" "$AGENT" get-resource \
	--url "$URL" default/key/id -o "$W/no1" --init-data "$W/other.toml" "${SNPA[@]}"
OTH=$(sha384sum <"$W/other.toml" | cut -d' ' -f1)
expect_match "... naming both digests" "^vigil-agent get-resource: init-data digest ${OTH:0:64} does not match HOST_DATA ${A384:0:64}: the VM was launched with other init-data" "$ERR"
expect_exit 1 "sim-tdx launched for b.json, sending a.toml: refused by the agent" "$AGENT" get-resource \
	--url "$URL" default/key/id -o "$W/no2" --init-data "$W/a.toml" "${TDXB[@]}"
expect_match "... MRCONFIGID named" "init-data digest $A384 does not match MRCONFIGID $B256$ZERO16" "$ERR"
expect_eq "... no attestation reached the service" "$N0" "$(audit_attests)"

# ... and the service refuses it too (the agent's check skipped): the server check is proven
expect_exit 1 "sim-snp, other.toml sent anyway (--no-init-data-check): the service refuses" "$AGENT" \
	get-resource --url "$URL" default/key/id -o "$W/no3" --init-data "$W/other.toml" --no-init-data-check "${SNPA[@]}"
expect_match "... 401 naming HOST_DATA and the init-data digest" \
	"attest: refused 401: .*HOST_DATA ${A384:0:8}.* does not carry the init-data digest ${OTH:0:8}" "$ERR"
expect_exit 1 "sim-tdx, a.toml sent anyway: the service refuses" "$AGENT" get-resource --url "$URL" \
	default/key/id -o "$W/no4" --init-data "$W/a.toml" --no-init-data-check "${TDXB[@]}"
expect_match "... 401 naming MRCONFIGID and the init-data digest" \
	"attest: refused 401: .*MRCONFIGID ${B256:0:8}.* does not carry the init-data digest ${A384:0:8}" "$ERR"
expect_eq "... both attestations were judged by the service (audit)" $((N0 + 2)) "$(audit_attests)"
check "none of the refused guests got a file" test ! -e "$W/no1" -a ! -e "$W/no2" -a ! -e "$W/no3" -a ! -e "$W/no4"

# a guest launched without init-data that claims some: refused locally
expect_exit 1 "sim-snp launched without HOST_DATA, sending a.toml: refused by the agent" "$AGENT" attest \
	--url "$URL" --init-data "$W/a.toml" --tee sim-snp --state-dir "$STATE" "${VMM_EXTRA[@]}"
expect_match "... HOST_DATA is zero" "does not match HOST_DATA 0{64}:" "$ERR"

# no init-data sent: the service's policy cannot require the document (it checks init-data
# only when sent); a tenant pins the launch value instead (a workload's host_data/mrconfigid)
expect_exit 0 "sim-snp launched for a.toml, sending nothing: released (the policy cannot require it)" \
	"$AGENT" get-resource --url "$URL" default/key/id -o "$W/got-none" "${SNPA[@]}"
"$BIN/vigil-attestd" audit export --state-dir "$W/state" >"$W/audit2.jsonl" 2>/dev/null
expect_match "... and the service recorded that no init-data was checked" '"init_data":false' \
	"$(grep '"kind":"attest"' "$W/audit2.jsonl" | tail -1)"

# malformed documents: usage errors, nothing launched, nothing sent
N1=$(audit_attests)
L1=$(wc -l <"$W/log")
printf 'version = "0.1.0"\n[data]\n' >"$W/noalg.toml"
printf '{"algorithm": "sha384", "data": ' >"$W/trunc.json"
printf 'algorithm = "md5"\n' >"$W/md5.toml"
printf 'algorithm = "sha384"\n\xff\xfe\n' >"$W/latin.toml"
: >"$W/empty.toml"
head -c $((1024 * 1024 + 1)) /dev/zero | tr '\0' '#' >"$W/big.toml"
for f in noalg.toml:algorithm trunc.json:'not a JSON object' md5.toml:md5 latin.toml:UTF-8 empty.toml:empty \
	big.toml:'larger than' missing.toml:'missing.toml'; do
	expect_exit 2 "malformed init-data ${f%%:*}: a usage error" "$AGENT" get-resource --url "$URL" \
		default/key/id -o "$W/bad" --init-data "$W/${f%%:*}" "${SNPA[@]}"
	expect_match "... one line naming ${f#*:}" "^vigil-agent get-resource: .*${f#*:}[^"$'\n'"]*\$" "$ERR"
done
expect_exit 2 "--init-data-format without --init-data" "$AGENT" attest --url "$URL" --init-data-format toml "${SNPA[@]}"
expect_exit 2 "--no-init-data-check without --init-data" "$AGENT" attest --url "$URL" --no-init-data-check "${SNPA[@]}"
expect_eq "... nothing reached the service (no new log line, no attestation)" "$L1 $N1" "$(wc -l <"$W/log") $(audit_attests)"
check "... and nothing was written" test ! -e "$W/bad"
finish
