#!/usr/bin/env bash
# Several vigil-attestd instances on one PostgreSQL behave as one service:
# auth on A, attest on B, resource on C; a secret put through A is released by
# C; a policy uploaded through A is applied by B and C within a second (they
# follow the newest stored version); a token issued by B is honoured by C; the
# audit log is one chain. (The fault run is test_attestd_pg_faults.sh.)
. "$(dirname "$0")/lib.sh"
need_cmd openssl
need_cmd curl
need_cmd jq
. "$(dirname "$0")/attestd_pg_lib.sh"
trap 'attestd_cleanup; rm -rf "$TMP"' EXIT

pg_up
expect_match "a throwaway PostgreSQL cluster starts" '^postgresql:///' "$PG_SPEC"
[[ -n $PG_SPEC ]] || finish
attestd_setup "$TMP/a"
for n in 1 2 3; do
	attestd_start "$n" "$PG_SPEC"
	expect_eq "instance $n starts" 0 $?
done
URL1=http://127.0.0.1:$(attestd_port 1)
check "the secret is put through instance 1" \
	"$BIN/vigil" kbs --url "$URL1" --admin-key "$TMP/a/admin.pem" put-resource repo/key/disk "$TMP/a/secret"
check "instance 3 lists it" \
	"$BIN/vigil" kbs --url "http://127.0.0.1:$(attestd_port 3)" --admin-key "$TMP/a/admin.pem" list-resources
expect_match "... repo/key/disk" "repo/key/disk" "$OUT"
flows() { # N -> OUT (JSON)
	# shellcheck disable=SC2046
	OUT=$("$LOAD" run $(attestd_urls 3) --sim-state "$TMP/a/sim" --path repo/key/disk \
		--secret-file "$TMP/a/secret" --clients 3 --flows "$1" --json --failures "$TMP/fail.txt")
}
flows 9
expect_eq "9 flows, each step on another instance: all complete" 9 "$(jq -r .completed <<<"$OUT")"

# A policy that grants the resource to no one, uploaded through instance 1 only.
jq '.resources = [{"path": "repo/other/*", "workloads": ["payments"], "allow_simulated": true}]' \
	"$TMP/a/policy.json" >"$TMP/deny.json"
check "a stricter policy is uploaded through instance 1" \
	"$BIN/vigil" kbs --url "$URL1" --admin-key "$TMP/a/admin.pem" set-policy "$TMP/deny.json"
sleep 1.2
flows 6
expect_eq "after it, no flow completes on any instance" 0 "$(jq -r .completed <<<"$OUT")"
expect_eq "... every one denied with 403 by policy" 6 "$(grep -c 'HTTP 403' "$TMP/fail.txt")"
check "the denials name the resource rules" grep -q 'Access denied by policy' "$TMP/fail.txt"
check "the original policy is restored through instance 2" \
	"$BIN/vigil" kbs --url "http://127.0.0.1:$(attestd_port 2)" --admin-key "$TMP/a/admin.pem" set-policy "$TMP/a/policy.json"
sleep 1.2
flows 6
expect_eq "and all instances release again" 6 "$(jq -r .completed <<<"$OUT")"
check "instance 3 reports the newest policy version" \
	"$BIN/vigil" kbs --url "http://127.0.0.1:$(attestd_port 3)" --admin-key "$TMP/a/admin.pem" get-policy
expect_match "... version 3" '^# version 3,' "$OUT"
expect_exit 0 "one audit chain for all instances" "$BIN/vigil-attestd" audit verify --state-dir "$TMP/a/inst1" --db "$PG_SPEC"
finish
