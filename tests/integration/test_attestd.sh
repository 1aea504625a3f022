#!/usr/bin/env bash
# vigil-attestd end to end on loopback: the KBS 0.4.0 flow with simulated SNP and TDX
# evidence (kbs_client plays the guest), the JWE decrypted and the EAR token verified
# by npm jose against /.well-known/jwks.json, admin JWTs made by npm jose, the
# adversarial matrix (each case: HTTP code, error type, explanation, no secret left),
# bounds (oversized and malformed bodies, a silent client), metrics, SIGHUP, SIGTERM,
# and the audit chain (verify, export, tamper detection).
. "$(dirname "$0")/lib.sh"
need_cmd node
need_cmd npm
need_cmd curl
need_cmd openssl
need_cmd sqlite3

KC=$BUILD/tests/integration/kbs_client
JOSE_JS=$ROOT/tests/integration/attestd_jose.cjs
export NPM_DIR=$BUILD/npm
if [[ ! -d $NPM_DIR/node_modules/jose ]]; then
	mkdir -p "$NPM_DIR"
	timeout 180 npm install --prefix "$NPM_DIR" jose@5 --no-audit --no-fund >"$TMP/npm.log" 2>&1
fi
if [[ ! -d $NPM_DIR/node_modules/jose ]]; then
	_nok "npm jose is available (the independent JOSE implementation)" "$(tail -3 "$TMP/npm.log")"
	finish
fi
jose() { node "$JOSE_JS" "$@"; }

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
STATE=$TMP/state
cd "$TMP" || exit 2

# ------------------------------------------------------------------ setup
openssl genpkey -algorithm ed25519 -out admin.key 2>/dev/null
openssl pkey -in admin.key -pubout -out admin.pub
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out admin2.key 2>/dev/null
openssl pkey -in admin2.key -pubout -out admin2.pub
openssl genpkey -algorithm ed25519 -out rogue.key 2>/dev/null
# The simulated platforms' identities (generated once, as vigil-vmm does).
"$KC" --url http://127.0.0.1:1 --sim-state "$TMP/sim" >/dev/null 2>&1
M=$(printf '5a%.0s' {1..48})
T=$(printf '11%.0s' {1..48})
policy() { # simulated min_tcb_json (resource rules allow simulated evidence when the policy does)
	cat <<EOF
{"version": 1, "simulated": $1,
 "workloads": {"payments": {"snp": {"measurement": ["$M"]}, "tdx": {"mrtd": ["$T"]}},
               "hr": {"snp": {"measurement": ["$(printf 'cd%.0s' {1..48})"]}}},
 "platform": {"snp": {"signing_keys": ["VCEK", "VLEK"]$2},
              "tdx": {"accepted_tcb_status": ["UpToDate"], "collateral_required": false}},
 "resources": [{"path": "payments/key/*", "workloads": ["payments"], "allow_simulated": $1},
               {"path": "hr/*/*", "workloads": ["hr"], "allow_simulated": $1}]}
EOF
}
policy true "" >dev-policy.json
policy true ', "minimum_tcb": {"Genoa": {"bl": 99, "tee": 0, "snp": 99, "ucode": 250}}' >tcb-policy.json
policy false "" >prod-policy.json
cat >attestd.json <<EOF
{"state_dir": "$STATE", "policy": "$TMP/dev-policy.json", "admin_keys": ["$TMP/admin.pub", "$TMP/admin2.pub"],
 "trust_sim_roots": ["$TMP/sim/sim-snp/ark.pem", "$TMP/sim/sim-tdx/root.pem"],
 "session_seconds": 6, "timeout_seconds": 2, "max_body": 65536}
EOF

PID=
start() {
	"$BIN/vigil-attestd" --config "$TMP/attestd.json" --listen "127.0.0.1:$PORT" "$@" >/dev/null 2>>"$TMP/attestd.log" &
	PID=$!
	for _ in $(seq 100); do
		curl -sf "$URL/healthz" >/dev/null 2>&1 && return 0
		kill -0 $PID 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
stop() { [[ -n $PID ]] && kill -TERM $PID 2>/dev/null && wait $PID; }
trap 'kill -9 $PID 2>/dev/null; rm -rf "$TMP"' EXIT

start
expect_eq "service starts (config file + flags)" 0 $?
expect_match "logs are JSON lines" '^\{"ts":"[0-9T:.-]+Z","level":"info","event":"listening"' "$(grep listening attestd.log)"
expect_match "plain HTTP only on loopback" 'off \(loopback\)' "$(grep listening attestd.log)"
expect_exit 2 "a non-loopback address without TLS is refused" \
	"$BIN/vigil-attestd" --config "$TMP/attestd.json" --listen "0.0.0.0:$(free_port)"
expect_match "  ... with a one-line reason" 'not a loopback address' "$ERR"
expect_exit 2 "missing --admin-key is a usage error" "$BIN/vigil-attestd" --listen 127.0.0.1:1 --state-dir x --policy y
expect_eq "KEK generated 0600" "600" "$(stat -c %a "$STATE/kek")"
expect_eq "token key generated 0600" "600" "$(stat -c %a "$STATE"/ear-signing-key.pem)"

KBS=("$BIN/vigil" kbs --url "$URL" --admin-key "$TMP/admin.key")
printf 'disk-key-%s' "$(openssl rand -hex 16)" >secret.bin
SECRET=$(cat secret.bin)
check "vigil kbs put-resource" "${KBS[@]}" put-resource payments/key/disk secret.bin
echo -n "hr-secret" | check "vigil kbs put-resource from stdin" "${KBS[@]}" put-resource hr/key/salary -
check "vigil kbs list-resources" "${KBS[@]}" list-resources
expect_match "  ... lists both by full path" 'hr/key/salary.*payments/key/disk' "$(tr '\n' ' ' <<<"$OUT")"
RELEASES=0

kc() { "$KC" --url "$URL" --sim-state "$TMP/sim" "$@"; }
code_of() { local l; l=$(grep "^$1 " <<<"$2" | head -1); l=${l#* }; echo "${l%% *}"; }
expect_step() { # desc output step code type regex
	local l
	l=$(grep "^$3 " <<<"$2" | head -1)
	expect_eq "$1: $3 answers HTTP $4" "$4" "$(code_of "$3" "$2")"
	[[ -n ${5:-} ]] && expect_match "$1: error type $5" "kbs/errors/$5\"" "$l"
	[[ -n ${6:-} ]] && expect_match "$1: explanation" "$6" "$l"
	return 0
}
no_secret() {
	local l
	l=$(grep "^resource " <<<"$2")
	if [[ $l == "resource 200"* || $l == *ciphertext* ]]; then _nok "$1: no secret left" "$l"; else _ok "$1: no secret left"; fi
}

# ---------------------------------------------------------- the full flow
for tee in snp tdx; do
	for key in p256 p384 rsa; do
		mkdir -p "out-$tee-$key"
		O=$(kc --tee $tee --tee-key $key --resource payments/key/disk --out "out-$tee-$key")
		expect_step "$tee/$key" "$O" auth 200
		expect_match "$tee/$key: challenge is 32 random bytes in standard base64" '"nonce":"[A-Za-z0-9+/]{43}=","extra-params":""' "$O"
		expect_step "$tee/$key" "$O" attest 200
		expect_step "$tee/$key" "$O" resource 200
		[[ $(code_of resource "$O") == 200 ]] && RELEASES=$((RELEASES + 1))
		if [[ $key == p256 ]]; then # at once: the token lives as long as the session
			V=$(jose verify-token "out-$tee-p256/token.txt" "$URL/.well-known/jwks.json" vigil-attestd 2>&1)
			expect_match "$tee: npm jose verifies the EAR token against /.well-known/jwks.json" '"eat_profile":"tag:ietf.org' "$V"
			expect_match "$tee: the token says affirming, simulated" '"ear_status":"affirming".*"simulated":true' "$V"
		fi
		expect_eq "$tee/$key: npm jose decrypts the JWE to the secret" "$SECRET" \
			"$(jose decrypt "out-$tee-$key/tee-key.pem" "out-$tee-$key/jwe.json" 2>&1)"
	done
done
expect_match "the JWE is ECDH-ES+A256KW / A256GCM" '"alg":"ECDH-ES\+A256KW","enc":"A256GCM"' \
	"$(jose decrypt out-snp-p256/tee-key.pem out-snp-p256/jwe.json >/dev/null; node -e "const j=require('$TMP/out-snp-p256/jwe.json');console.log(Buffer.from(j.protected,'base64url').toString())")"
expect_match "the RSA JWE is RSA-OAEP-256" '"alg":"RSA-OAEP-256"' \
	"$(node -e "const j=require('$TMP/out-tdx-rsa/jwe.json');console.log(Buffer.from(j.protected,'base64url').toString())")"
O=$(kc --tee snp --mode bearer --resource payments/key/disk --out out-snp-p256)
expect_step "Authorization: Bearer <EAR token> instead of the cookie" "$O" resource 200
[[ $(code_of resource "$O") == 200 ]] && RELEASES=$((RELEASES + 1))
printf 'algorithm = "sha384"\nversion = "0.1.0"\n[data]\n"k" = "v"\n' >initdata.toml
HD=$(sha384sum initdata.toml | cut -c1-64)
O=$(kc --tee snp --host-data "$HD" --init-data-toml initdata.toml --resource payments/key/disk)
expect_step "init-data whose digest is HOST_DATA" "$O" attest 200
[[ $(code_of resource "$O") == 200 ]] && RELEASES=$((RELEASES + 1))
O=$(kc --tee snp --init-data-toml initdata.toml --resource payments/key/disk)
expect_step "init-data whose digest is not HOST_DATA" "$O" attest 401 AttestationError '[Hh][Oo][Ss][Tt]_?[Dd][Aa][Tt][Aa]|init'
no_secret "init-data mismatch" "$O"

# ---------------------------------------------------- adversarial matrix
O=$(kc --mode replay --resource payments/key/disk)
[[ $(code_of resource "$O") == 200 ]] && RELEASES=$((RELEASES + 1))
expect_step "replayed nonce, same session" "$O" replay-same 401 AttestationError 'already used'
expect_step "replayed attestation on a new session" "$O" replay 401 AttestationError 'nonce'
expect_step "replayed attestation on a new session" "$O" resource 401 TokenNotFound 'not attested'
O=$(kc --mode other-nonce --resource payments/key/disk)
expect_step "another session's nonce" "$O" attest 401 AttestationError 'nonce in the handshake session is different'
no_secret "another session's nonce" "$O"
O=$(kc --mode expired --sleep 7 --resource payments/key/disk)
expect_step "expired session" "$O" attest 401 AttestationError 'session (expired|not found)'
no_secret "expired session" "$O"
O=$(kc --mode unbound --resource payments/key/disk)
expect_step "evidence without REPORT_DATA binding" "$O" attest 401 AttestationError '[Rr][Ee][Pp][Oo][Rr][Tt]_?[Dd][Aa][Tt][Aa]'
no_secret "unbound REPORT_DATA" "$O"
O=$(kc --mode tamper --resource payments/key/disk)
expect_step "tampered SNP evidence" "$O" attest 401 AttestationError 'signature'
no_secret "tampered SNP evidence" "$O"
O=$(kc --tee tdx --mode tamper --resource payments/key/disk)
expect_step "tampered TDX evidence" "$O" attest 401 AttestationError 'signature|verif'
no_secret "tampered TDX evidence" "$O"
O=$(kc --snp-policy 0xb0000 --resource payments/key/disk)
expect_step "debug guest policy" "$O" attest 401 AttestationError 'debug'
no_secret "debug guest policy" "$O"
O=$(kc --measurement "$(printf 'ab%.0s' {1..48})" --resource payments/key/disk)
expect_step "unknown measurement" "$O" resource 403 PolicyDeny 'measurement'
no_secret "unknown measurement" "$O"
O=$(kc --resource hr/key/salary)
expect_step "resource outside the rules" "$O" resource 403 PolicyDeny 'hr/\*/\*|workload'
no_secret "resource outside the rules" "$O"
O=$(kc --resource payments/key/missing)
expect_step "unknown resource" "$O" resource 404 ResourceNotFound 'payments/key/missing'
O=$(kc --mode no-cookie --resource payments/key/disk)
expect_step "no cookie, no token" "$O" resource 401 TokenNotFound
no_secret "no cookie, no token" "$O"
O=$(kc --version 0.1.1)
expect_step "another protocol version" "$O" auth 401 AttestationError 'Version Mismatch: expect =0.4.0 while the request is 0.1.1'
check "vigil kbs set-policy (minimum TCB above the platform's)" "${KBS[@]}" set-policy tcb-policy.json
O=$(kc --resource payments/key/disk)
expect_step "TCB below the minimum" "$O" attest 401 AttestationError 'TCB'
no_secret "TCB below the minimum" "$O"
check "vigil kbs set-policy (production: no simulation)" "${KBS[@]}" set-policy prod-policy.json
O=$(kc --resource payments/key/disk)
expect_step "simulated evidence under a production policy" "$O" attest 401 AttestationError '[Ss][Ii][Mm][Uu][Ll][Aa][Tt][Ee][Dd]'
no_secret "simulated evidence under a production policy" "$O"
O=$(kc --tee tdx --resource payments/key/disk)
expect_step "simulated TDX evidence under a production policy" "$O" attest 401 AttestationError '[Ss][Ii][Mm][Uu][Ll][Aa][Tt][Ee][Dd]'
check "vigil kbs set-policy (back to development)" "${KBS[@]}" set-policy dev-policy.json
check "vigil kbs get-policy" "${KBS[@]}" get-policy
expect_match "  ... shows the active version" '# version 4' "$OUT"

# admin tokens
hc() { curl -s -o "$TMP/body" -w '%{http_code}' "$@"; }
body() { cat "$TMP/body"; }
expect_eq "admin: no token" 401 "$(hc -X POST --data-binary @secret.bin "$URL/kbs/v0/resource/payments/key/x")"
expect_match "admin: no token: error type and reason" 'errors/AdminAuthAccess".*no Authorization' "$(body)"
FORGED=$(jose admin-token rogue.key EdDSA 300)
expect_eq "admin: forged token (unknown key)" 401 \
	"$(hc -X POST -H "Authorization: Bearer $FORGED" --data-binary @secret.bin "$URL/kbs/v0/resource/payments/key/x")"
expect_match "admin: forged token: reason" 'AdminAuthAccess".*does not verify' "$(body)"
EXPIRED=$(jose admin-token admin.key EdDSA -60)
expect_eq "admin: expired token" 401 \
	"$(hc -X POST -H "Authorization: Bearer $EXPIRED" --data-binary @secret.bin "$URL/kbs/v0/resource/payments/key/x")"
expect_match "admin: expired token: reason" 'AdminAuthAccess".*expired' "$(body)"
expect_eq "admin: list without a token" 401 "$(hc "$URL/kbs/v0/admin/resources")"
expect_eq "admin: delete without a token" 401 "$(hc -X DELETE "$URL/kbs/v0/resource/payments/key/disk")"
GOOD=$(jose admin-token admin.key EdDSA 300)
expect_eq "admin: npm jose EdDSA token stores a resource" 200 \
	"$(hc -X POST -H "Authorization: Bearer $GOOD" -H 'Content-Type: application/octet-stream' --data-binary @secret.bin "$URL/kbs/v0/resource/payments/key/jose")"
GOOD2=$(jose admin-token admin2.key ES256 300)
expect_eq "admin: npm jose ES256 token (second --admin-key) lists resources" 200 \
	"$(hc -H "Authorization: Bearer $GOOD2" "$URL/kbs/v0/admin/resources")"
expect_match "  ... including the one it stored" 'payments/key/jose' "$(body)"
expect_eq "admin: delete" 200 "$(hc -X DELETE -H "Authorization: Bearer $GOOD" "$URL/kbs/v0/resource/payments/key/jose")"
expect_eq "admin: delete again is 404" 404 "$(hc -X DELETE -H "Authorization: Bearer $GOOD" "$URL/kbs/v0/resource/payments/key/jose")"
expect_eq "admin: a bad policy upload is refused" 400 \
	"$(hc -X POST -H "Authorization: Bearer $GOOD" -d '{"policy":"eyJ2ZXJzaW9uIjo5fQ"}' "$URL/kbs/v0/resource-policy")"
expect_match "  ... naming the JSON path" 'ParsePolicyError".*version' "$(body)"

# malformed and oversized bodies
expect_eq "malformed /auth body" 400 "$(hc -X POST -d '{"version": "0.4.0", "tee": ' "$URL/kbs/v0/auth")"
expect_match "  ... RFC 7807 SerdeError naming the problem" '"type":"https://github.com/confidential-containers/kbs/errors/SerdeError","detail":".*JSON' "$(body)"
CK=$(curl -s -D - -o /dev/null -X POST -d '{"version":"0.4.0","tee":"snp","extra-params":{}}' "$URL/kbs/v0/auth" | sed -n 's/^Set-Cookie: \(kbs-session-id=[0-9a-f]*\).*/\1/p')
expect_match "Set-Cookie carries kbs-session-id" '^kbs-session-id=[0-9a-f]{32}$' "$CK"
expect_eq "attest body without runtime-data" 400 "$(hc -X POST -H "Cookie: $CK" -d '{"tee-evidence":{}}' "$URL/kbs/v0/attest")"
expect_match "  ... names the missing member" 'SerdeError".*runtime-data' "$(body)"
head -c 100000 /dev/zero | tr '\0' 'a' >big.bin
expect_eq "oversized attest body" 413 "$(hc -X POST -H "Cookie: $CK" --data-binary @big.bin "$URL/kbs/v0/attest")"
expect_match "  ... RFC 7807 PayloadTooLarge" 'errors/PayloadTooLarge".*at most 65536' "$(body)"
expect_eq "unknown path" 404 "$(hc "$URL/kbs/v0/nothing")"
expect_eq "bad resource path" 404 "$(hc "$URL/kbs/v0/resource/a/../b")"

# a silent client is dropped after the timeout (2 s here) and holds nothing
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
SECONDS=0
timeout 8 cat <&3 >/dev/null
RC=$?
exec 3<&-
expect_eq "a silent client is disconnected by the service" 0 "$RC"
expect_eq "  ... within the timeout" 1 "$((SECONDS <= 5))"
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
printf 'POST /kbs/v0/auth HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{"ver' >&3
timeout 8 cat <&3 >/dev/null
expect_eq "a client that stops mid-body is disconnected" 0 "$?"
exec 3<&-
expect_eq "the service still answers" 200 "$(hc "$URL/healthz")"

# metrics, SIGHUP
expect_eq "/metrics" 200 "$(hc "$URL/metrics")"
expect_match "  ... counts releases" "vigil_attestd_releases_total $RELEASES" "$(body)"
expect_match "  ... verdicts by status and a latency histogram" 'verdicts_total\{status="contraindicated"\} [1-9].*request_duration_seconds_bucket' "$(body | tr '\n' ' ')"
sed -i 's/"version": 1,/"version": 1, "description": "reloaded on SIGHUP",/' dev-policy.json
kill -HUP $PID
for _ in $(seq 50); do grep -q 'SIGHUP' attestd.log && grep -q '"source":"file:.*SIGHUP' attestd.log && break; sleep 0.1; done
expect_match "SIGHUP reloads the policy as a new version" '"event":"policy.installed","version":5' "$(grep policy.installed attestd.log | tail -1)"
O=$(kc --resource payments/key/disk)
expect_step "the flow works after the reload" "$O" resource 200
[[ $(code_of resource "$O") == 200 ]] && RELEASES=$((RELEASES + 1))

# audit
check "vigil kbs audit" "${KBS[@]}" audit
expect_match "  ... shows releases by full path" 'release	session:[0-9a-f]{32}	payments/key/disk	ok' "$OUT"
stop
expect_eq "SIGTERM drains and stops with status 0" 0 "$?"
expect_exit 0 "audit verify: intact" "$BIN/vigil-attestd" audit verify --state-dir "$STATE"
check "audit export" "$BIN/vigil-attestd" audit export --state-dir "$STATE"
EXPORT=$OUT
expect_eq "every release is in the audit log" "$RELEASES" "$(grep -c '"kind":"release"' <<<"$EXPORT")"
expect_match "verdicts are audited with status, workload, measurement, explanations" \
	'"kind":"attest".*"outcome":"contraindicated".*"explanations":\[.*"measurement":"[0-9a-f]{96}"' "$EXPORT"
expect_match "denials are audited" '"kind":"deny","actor":"session:[0-9a-f]{32}","resource":"hr/key/salary","outcome":"denied"' "$EXPORT"
expect_match "admin changes are audited" '"kind":"resource.put","actor":"admin:[A-Za-z0-9_-]{16}","resource":"payments/key/disk"' "$EXPORT"
expect_match "failed admin access is audited" '"kind":"admin.denied".*expired' "$EXPORT"
expect_eq "no secret in the audit log" 0 "$(grep -c "$SECRET" <<<"$EXPORT")"
expect_eq "no secret in the service log" 0 "$(grep -c "$SECRET" attestd.log)"
expect_eq "no secret in the database file" 0 "$(cat "$STATE"/attestd.db* | grep -ac "$SECRET")"
cp "$STATE/attestd.db" edited.db
sqlite3 edited.db "UPDATE audit SET resource='payments/key/other' WHERE seq=(SELECT MIN(seq) FROM audit WHERE kind='release')"
expect_exit 1 "audit verify detects an edited record" "$BIN/vigil-attestd" audit verify --db "sqlite:$TMP/edited.db"
expect_match "  ... and names it" 'record [0-9]+ .*edited' "$ERR"
cp "$STATE/attestd.db" deleted.db
sqlite3 deleted.db "DELETE FROM audit WHERE seq=5"
expect_exit 1 "audit verify detects a deleted record" "$BIN/vigil-attestd" audit verify --db "sqlite:$TMP/deleted.db"
expect_match "  ... and names it" 'record 5 is missing' "$ERR"

# restart: nothing acknowledged is lost; rotate-kek
check "rotate-kek re-encrypts every resource" "$BIN/vigil-attestd" rotate-kek --state-dir "$STATE"
expect_match "  ... in one transaction" 're-encrypted 2 resources' "$OUT"
start
expect_eq "service restarts on the same state" 0 $?
O=$(kc --resource payments/key/disk --out out-snp-p256)
expect_step "after restart and KEK rotation the secret is released" "$O" resource 200
expect_eq "  ... and decrypts to the same bytes" "$SECRET" "$(jose decrypt out-snp-p256/tee-key.pem out-snp-p256/jwe.json 2>&1)"
stop
expect_exit 0 "audit verify after restart" "$BIN/vigil-attestd" audit verify --state-dir "$STATE"

# the connection bound: when --max-connections are open, new clients wait in the backlog
# (not reset) and are served once a connection closes
PORT2=$(free_port)
"$BIN/vigil-attestd" --config "$TMP/attestd.json" --listen "127.0.0.1:$PORT2" --state-dir "$TMP/state2" \
	--max-connections 3 --max-sessions 2 --timeout 30 >/dev/null 2>>"$TMP/attestd2.log" &
PID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT2/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
exec 4<>"/dev/tcp/127.0.0.1/$PORT2" 5<>"/dev/tcp/127.0.0.1/$PORT2" 6<>"/dev/tcp/127.0.0.1/$PORT2"
sleep 0.5
curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$PORT2/healthz"
expect_eq "with 3 of 3 connections open a new client waits (timeout, not reset)" 28 "$?"
exec 4<&-
expect_eq "once one closes, the waiting clients are served" 200 \
	"$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://127.0.0.1:$PORT2/healthz")"
exec 5<&- 6<&-
AUTH='{"version":"0.4.0","tee":"snp","extra-params":{}}'
A1=$(curl -s -o /dev/null -w '%{http_code}' -d "$AUTH" "http://127.0.0.1:$PORT2/kbs/v0/auth")
A2=$(curl -s -o /dev/null -w '%{http_code}' -d "$AUTH" "http://127.0.0.1:$PORT2/kbs/v0/auth")
expect_eq "the session table takes --max-sessions (2)" "200 200" "$A1 $A2"
expect_eq "  ... and then answers 503" 503 "$(curl -s -o "$TMP/body" -w '%{http_code}' -d "$AUTH" "http://127.0.0.1:$PORT2/kbs/v0/auth")"
expect_match "  ... SessionTableFull" 'errors/SessionTableFull"' "$(cat "$TMP/body")"
stop

# HTTPS natively: TLS 1.3 preferred, 1.2 accepted, older refused; the admin CLI over TLS
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout tls.key -out tls.crt -days 2 \
	-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null
PORT3=$(free_port)
"$BIN/vigil-attestd" --config "$TMP/attestd.json" --listen "127.0.0.1:$PORT3" --tls-cert tls.crt --tls-key tls.key \
	>/dev/null 2>>"$TMP/attestd3.log" &
PID=$!
for _ in $(seq 100); do curl -sf --cacert tls.crt "https://127.0.0.1:$PORT3/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
expect_match "TLS: the service says so" '"tls":"TLS 1.2\+ \(1.3 preferred\)"' "$(grep listening attestd3.log)"
V=$(curl -sv --cacert tls.crt "https://127.0.0.1:$PORT3/healthz" 2>&1)
expect_match "TLS: 1.3 negotiated with a modern client" 'SSL connection using TLSv1.3' "$V"
expect_eq "TLS: 1.2 accepted" 200 "$(curl -s -o /dev/null -w '%{http_code}' --tlsv1.2 --tls-max 1.2 --cacert tls.crt "https://127.0.0.1:$PORT3/healthz")"
curl -s -o /dev/null --tlsv1.1 --tls-max 1.1 --cacert tls.crt "https://127.0.0.1:$PORT3/healthz"
expect_eq "TLS: 1.1 refused" 1 "$(($? != 0))"
expect_exit 0 "TLS: vigil kbs over HTTPS with --cacert" "$BIN/vigil" kbs --url "https://127.0.0.1:$PORT3" \
	--admin-key "$TMP/admin.key" --cacert tls.crt list-resources
expect_exit 2 "TLS: vigil kbs refuses an unknown certificate" "$BIN/vigil" kbs --url "https://127.0.0.1:$PORT3" \
	--admin-key "$TMP/admin.key" list-resources
mkdir -p out-tls
O=$("$KC" --url "https://127.0.0.1:$PORT3" --cacert tls.crt --sim-state "$TMP/sim" --resource payments/key/disk --out out-tls)
expect_step "TLS: the KBS flow over HTTPS" "$O" resource 200
expect_eq "TLS: npm jose decrypts the secret" "$SECRET" "$(jose decrypt out-tls/tee-key.pem out-tls/jwe.json 2>&1)"
expect_eq "TLS: plain HTTP on the TLS port gets no answer" 000 \
	"$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://127.0.0.1:$PORT3/healthz")"
stop
finish
