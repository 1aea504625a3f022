#!/usr/bin/env bash
# vigil policy and vigil appraise on the real vectors, with policies written for
# them; EAR tokens checked by implementations we did not write: the JWT by npm
# "jose" v5 (installed once into build/npm; without it this test FAILS), the CWT
# decoded by Python cbor2 and its COSE signature checked by Python cryptography.
. "$(dirname "$0")/lib.sh"
need_vectors
V=$BIN/vigil
S=$VECTORS/snp
T=$VECTORS/tdx
PY=/usr/bin/python3
NPMDIR=$BUILD/npm

jget() { # json-text python-expression-on-d
	$PY -c 'import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"
}

# ------------------------------------------------------------ vigil policy
expect_exit 0 "policy init prints a starter policy" "$V" policy init
echo "$OUT" >"$TMP/prod.json"
expect_match "starter: no simulation" '"simulated": false' "$OUT"
expect_exit 0 "policy check accepts the starter" "$V" policy check "$TMP/prod.json"
expect_match "check prints a summary with the digest" '"digest": "[0-9a-f]{64}"' "$OUT"
expect_exit 0 "policy init --simulated" "$V" policy init --simulated
echo "$OUT" >"$TMP/dev.json"
expect_match "init --simulated says so on stderr" 'SIMULATED' "$ERR"
expect_exit 0 "policy check of a simulated policy" "$V" policy check "$TMP/dev.json"
expect_match "loading a simulated policy warns on stderr" 'warn.*SIMULATED' "$ERR"

# Malformed policies: exit 2, one line, starting with the JSON path.
M96=7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d3e1a0dc39b2c60bd95b9c480cd81841f
bad() { # description json expected-path-and-message-regex
	printf '%s' "$2" >"$TMP/bad.json"
	expect_exit 2 "malformed: $1" "$V" policy check "$TMP/bad.json"
	expect_match "malformed: $1: one line naming the path" "^vigil policy: $TMP/bad.json: $3[^
]*\$" "$ERR"
}
bad "95 hex digits" '{"version":1,"workloads":{"payments":{"snp":{"measurement":["'$M96'","'${M96//7/8}'","'${M96:1}'"]}}}}' \
	'workloads\.payments\.snp\.measurement\[2\]: 95 hex digits, need 96'
bad "unknown key" '{"version":1,"workloads":{"w":{"snp":{"measurement":"'$M96'","debug":true}}}}' \
	'workloads\.w\.snp\.debug: unknown key'
bad "wrong type" '{"version":1,"workloads":{"w":{"snp":{"measurement":"'$M96'","min_guest_svn":"4"}}}}' \
	'workloads\.w\.snp\.min_guest_svn: must be an integer, found a string'
bad "duplicate workload name" '{"version":1,"workloads":{"w":{"snp":{"measurement":"'$M96'"}},"w":{"snp":{"measurement":"'$M96'"}}}}' \
	'workloads\.w: duplicate key "w"'
bad "duplicate reference value" '{"version":1,"workloads":{"w":{"snp":{"measurement":["'$M96'","'$M96'"]}}}}' \
	'workloads\.w\.snp\.measurement\[1\]: duplicate of workloads\.w\.snp\.measurement\[0\]'
bad "empty allowlist" '{"version":1,"workloads":{"w":{"tdx":{"mrtd":["'$M96'"],"rtmr0":[]}}}}' \
	'workloads\.w\.tdx\.rtmr0: empty allowlist'
bad "empty status list" '{"version":1,"workloads":{},"platform":{"tdx":{"accepted_tcb_status":[]}}}' \
	'platform\.tdx\.accepted_tcb_status: empty allowlist'
bad "contradiction: simulated resources without simulation" \
	'{"version":1,"workloads":{"w":{"snp":{"measurement":"'$M96'"}}},"resources":[{"path":"a/b/c","workloads":["w"],"allow_simulated":true}]}' \
	'resources\[0\]\.allow_simulated: true, but the policy does not accept simulated platforms'
bad "contradiction: debug TD required without allow_debug" \
	'{"version":1,"workloads":{"w":{"tdx":{"mrtd":"'$M96'","td_attributes":{"value":"0100000000000000","mask":"ffffffffffffffff"}}}}}' \
	'workloads\.w\.tdx\.td_attributes: requires the DEBUG attribute'
bad "rule for an unknown workload" '{"version":1,"workloads":{},"resources":[{"path":"a/b/c","workloads":["x"]}]}' \
	'resources\[0\]\.workloads\[0\]: no workload named "x"'
bad "bad TCB component" '{"version":1,"workloads":{},"platform":{"snp":{"minimum_tcb":{"Milan":{"fmc":1}}}}}' \
	'platform\.snp\.minimum_tcb\.Milan\.fmc: unknown key'
bad "bad date" '{"version":1,"workloads":{},"platform":{"tdx":{"accepted_tcb_status":[{"status":"OutOfDate","until":"soon"}]}}}' \
	'platform\.tdx\.accepted_tcb_status\[0\]\.until: '
bad "version" '{"version":2,"workloads":{}}' 'version: unsupported'
bad "not JSON" '{"version":1,' 'line 1, column [0-9]+: not valid JSON'
expect_exit 2 "missing policy file" "$V" policy check "$TMP/nope.json"
expect_exit 2 "appraise with a malformed policy exits 2" "$V" appraise snp "$S/virtee-sev/report_milan.bin" \
	--vcek "$S/virtee-sev/vcek_milan.der" --policy "$TMP/bad.json"
expect_exit 2 "appraise without --policy" "$V" appraise snp "$S/virtee-sev/report_milan.bin" \
	--vcek "$S/virtee-sev/vcek_milan.der"
expect_exit 2 "appraise with a bad --token" "$V" appraise snp "$S/virtee-sev/report_milan.bin" \
	--vcek "$S/virtee-sev/vcek_milan.der" --policy "$TMP/prod.json" --token pem

# ------------------------------------------------------------ SNP vectors
MILAN=("$S/virtee-sev/report_milan.bin" --vcek "$S/virtee-sev/vcek_milan.der" --chain "$S/virtee-sev/cert_chain_milan")
expect_exit 0 "verify the Milan report" "$V" verify snp "${MILAN[@]}"
echo "$OUT" >"$TMP/milan-verify.json"
RD=$(jget "$OUT" 'd["claims"]["report_data"]')
cp "$TMP/prod.json" "$TMP/milan.json"
expect_exit 0 "add-workload from vigil verify output" "$V" policy add-workload "$TMP/milan.json" --name payments \
	--from "$TMP/milan-verify.json" --resources 'default/keys/*'
expect_exit 0 "the edited policy checks" "$V" policy check "$TMP/milan.json"
expect_exit 0 "Milan report with its own measurement: affirming" "$V" appraise snp "${MILAN[@]}" \
	--policy "$TMP/milan.json" --nonce "$RD" --compact
J=$OUT
expect_eq "Milan: status" affirming "$(jget "$J" 'd["status"]')"
expect_eq "Milan: workload" payments "$(jget "$J" 'd["workload"]')"
expect_eq "Milan: vector" "2 2 2 0 2 2 0 0" "$(jget "$J" '" ".join(str(v) for v in d["trustworthiness_vector"].values())')"
expect_eq "Milan: verification result included" verified "$(jget "$J" 'd["verification"]["verdict"]')"
expect_match "Milan: the unmade TCB comparison is said" 'REPORTED_TCB not compared' "$J"
expect_exit 1 "Milan report without the nonce: not affirming" "$V" appraise snp "${MILAN[@]}" --policy "$TMP/milan.json"
expect_match "... the missing nonce is explained" 'instance-identity: REPORT_DATA d447b55d.* not checked: no expected value' "$OUT"
expect_exit 1 "Milan report with another nonce" "$V" appraise snp "${MILAN[@]}" --policy "$TMP/milan.json" --nonce 00ff
expect_match "... does not bind the session nonce" 'does not bind the session nonce \(expected 00ff0000' "$OUT"

# TCB minimum: equal passes, one above fails with the numbers.
tcb_policy() { # snp-minimum
	$PY - "$TMP/milan.json" "$1" >"$TMP/tcb.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
p["platform"]["snp"]["minimum_tcb"] = {"Milan": {"bl": 3, "tee": 0, "snp": int(sys.argv[2]), "ucode": 115}}
print(json.dumps(p))
PY
}
tcb_policy 8
expect_exit 0 "TCB minimum equal to the reported TCB: affirming" "$V" appraise snp "${MILAN[@]}" --policy "$TMP/tcb.json" --nonce "$RD"
tcb_policy 9
expect_exit 1 "TCB minimum one above the reported value: refused" "$V" appraise snp "${MILAN[@]}" --policy "$TMP/tcb.json" --nonce "$RD"
expect_match "... with the numbers" '"hardware: REPORTED_TCB snp=8 is below the minimum 9 for Milan"' "$OUT"
expect_match "... contraindicated" '"status": "contraindicated"' "$OUT"
expect_match "... said on stderr" '^vigil appraise: contraindicated: hardware: REPORTED_TCB snp=8' "$ERR"

# The debug-enabled go-sev-guest report under a production policy.
GOSEV=("$S/go-sev-guest/attestation.bin" --vcek "$S/go-sev-guest/vcek.testcer" --chain "$S/amd_kds/ask_ark_milan.pem")
"$V" verify snp "${GOSEV[@]}" >"$TMP/gosev-verify.json"
cp "$TMP/prod.json" "$TMP/gosev.json"
check "add-workload for the go-sev-guest report" "$V" policy add-workload "$TMP/gosev.json" --name gosev --from "$TMP/gosev-verify.json"
expect_exit 1 "debug-enabled report under a production policy: refused" "$V" appraise snp "${GOSEV[@]}" \
	--policy "$TMP/gosev.json" --nonce 0102030405
expect_eq "... contraindicated" contraindicated "$(jget "$OUT" 'd["status"]')"
expect_match "... names bit 19" '"configuration: guest policy allows debug \(policy 0x000b0000, bit 19\)"' "$OUT"
expect_eq "... no workload matched" None "$(jget "$OUT" 'd["workload"]')"
# A measurement outside the allowlist.
expect_exit 1 "Milan report under the go-sev-guest policy" "$V" appraise snp "${MILAN[@]}" --policy "$TMP/gosev.json" --nonce "$RD"
expect_match "... the measurement is explained" 'executables: SNP measurement 7a1e5c26… is not among the 1 reference value of workload \\"gosev\\"' "$OUT"
# A rejected report (wrong VCEK) is contraindicated with the verifier's reason.
expect_exit 1 "rejected evidence" "$V" appraise snp "$S/virtee-sev/report_milan.bin" --vcek "$S/trustee/test-vcek.der" \
	--chain "$S/amd_kds/ask_ark_milan.pem" --policy "$TMP/milan.json" --nonce "$RD"
expect_match "... with the verifier's reason" 'instance-identity: evidence rejected by the verifier: ' "$OUT"

# ------------------------------------------------------------ TDX vectors
mkdir -p "$TMP/c6"
ln -s "$T/trustee/tcbInfo.json" "$TMP/c6/tcb_info.json"
ln -s "$T/trustee/enclaveIdentity.json" "$TMP/c6/qe_identity.json"
ln -s "$T/go-tdx-guest/tcbInfoIssuerChain.pem" "$TMP/c6/tcb_info_issuer_chain.pem"
ln -s "$T/go-tdx-guest/qeIdentityIssuerChain.pem" "$TMP/c6/qe_identity_issuer_chain.pem"
Q6=("$T/trustee/tdx_quote_6.dat" --collateral "$TMP/c6" --at 2025-05-01T00:00:00Z)
"$V" verify tdx "${Q6[@]}" >"$TMP/q6-verify.json"
expect_eq "q6 verifies (TCB OutOfDate)" OutOfDate "$(jget "$(cat "$TMP/q6-verify.json")" 'd["claims"]["tcb_status"]')"
Q6RD=$(jget "$(cat "$TMP/q6-verify.json")" 'd["claims"]["report_data"]')
cp "$TMP/prod.json" "$TMP/q6.json"
check "add-workload from the q6 verify output" "$V" policy add-workload "$TMP/q6.json" --name td --from "$TMP/q6-verify.json"
expect_exit 1 "q6 OutOfDate under an UpToDate-only policy" "$V" appraise tdx "${Q6[@]}" --policy "$TMP/q6.json" --nonce "$Q6RD"
expect_eq "... contraindicated" contraindicated "$(jget "$OUT" 'd["status"]')"
expect_match "... explained with its tcbDate" 'hardware: TDX TCB status OutOfDate \(tcbDate 2018-01-04T00:00:00Z\) is not accepted \(accepted: UpToDate\)' "$OUT"
ood_policy() { # until
	$PY - "$TMP/q6.json" "$1" >"$TMP/q6ood.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
p["platform"]["tdx"]["accepted_tcb_status"] = ["UpToDate", {"status": "OutOfDate", "until": sys.argv[2]}]
print(json.dumps(p))
PY
}
ood_policy 2018-01-05T00:00:00Z
expect_exit 1 "q6 with OutOfDate accepted until a date after its tcbDate: a warning" "$V" appraise tdx "${Q6[@]}" \
	--policy "$TMP/q6ood.json" --nonce "$Q6RD"
expect_eq "... status warning, not contraindicated" warning "$(jget "$OUT" 'd["status"]')"
expect_eq "... workload matched" td "$(jget "$OUT" 'd["workload"]')"
expect_exit 1 "q6 appraised --at 2025-05-01 with a JWT" "$V" appraise tdx "${Q6[@]}" --policy "$TMP/q6ood.json" \
	--nonce "$Q6RD" --token jwt --state-dir "$TMP/state" --token-out "$TMP/q6.jwt"
IAT=$($PY -c 'import base64,json,sys; p=open(sys.argv[1]).read().split(".")[1]; print(json.loads(base64.urlsafe_b64decode(p+"="*(-len(p)%4)))["iat"])' "$TMP/q6.jwt")
check "... the token's iat is now, not the --at time" test $((IAT - $(date +%s))) -gt -600
ood_policy 2018-01-03T00:00:00Z
expect_exit 1 "q6 with OutOfDate accepted only until before its tcbDate" "$V" appraise tdx "${Q6[@]}" \
	--policy "$TMP/q6ood.json" --nonce "$Q6RD"
expect_eq "... contraindicated" contraindicated "$(jget "$OUT" 'd["status"]')"
expect_match "... with both dates" 'OutOfDate with tcbDate 2018-01-04T00:00:00Z is accepted only until tcbDate 2018-01-03T00:00:00Z' "$OUT"
expect_exit 1 "q6 collateral past its date (now) is a failure" "$V" appraise tdx "$T/trustee/tdx_quote_6.dat" \
	--collateral "$TMP/c6" --policy "$TMP/q6ood.json" --nonce "$Q6RD"
expect_match "... explained" 'hardware: TDX collateral is past its date' "$OUT"

# GCP: a workload with the RTMRs replayed from its CCEL.
GCP=("$T/go-tdx-guest/cos-113-tdx-quote.dat" --ccel "$T/go-tdx-guest/ccel_data.dat")
"$V" verify tdx "${GCP[@]}" >"$TMP/gcp-verify.json"
$PY - "$TMP/gcp-verify.json" "$TMP/prod.json" >"$TMP/gcp.json" <<'PY'
import json, sys
v = json.load(open(sys.argv[1])); p = json.load(open(sys.argv[2])); c = v["claims"]
assert c["ccel"]["matches_quote"]
r = c["ccel"]["replayed"]
p["workloads"]["cos"] = {"tdx": {"mrtd": [c["mrtd"]], "rtmr0": [r["rtmr0"]], "rtmr1": [r["rtmr1"]],
                                 "rtmr2": [r["rtmr2"]], "rtmr3": [r["rtmr3"]]}}
p["platform"]["tdx"]["collateral_required"] = False
print(json.dumps(p))
PY
expect_exit 0 "GCP quote matches a workload with RTMRs from its CCEL" "$V" appraise tdx "${GCP[@]}" --policy "$TMP/gcp.json" \
	--nonce "$(jget "$(cat "$TMP/gcp-verify.json")" 'd["claims"]["report_data"]')"
expect_eq "... workload" cos "$(jget "$OUT" 'd["workload"]')"
expect_match "... the unevaluated TCB is said" 'TDX TCB status not evaluated: no collateral given' "$OUT"

# ------------------------------------------------------------ EAR tokens
expect_exit 0 "JWT token (key generated into the state dir)" "$V" appraise snp "${MILAN[@]}" --policy "$TMP/milan.json" \
	--nonce "$RD" --token jwt --state-dir "$TMP/state" --jwks "$TMP/jwks.json" --token-out "$TMP/ear.jwt"
J=$OUT
expect_eq "state-dir key is 0600" 600 "$(stat -c %a "$TMP/state/ear-signing-key.pem")"
expect_eq "token alg ES256" ES256 "$(jget "$J" 'd["token"]["alg"]')"
KID=$(jget "$J" 'd["token"]["kid"]')
"$V" appraise snp "${MILAN[@]}" --policy "$TMP/milan.json" --nonce "$RD" --token jwt --state-dir "$TMP/state" >"$TMP/j2.json"
expect_eq "the key is reused (same kid)" "$KID" "$(jget "$(cat "$TMP/j2.json")" 'd["token"]["kid"]')"
openssl ecparam -name secp384r1 -genkey -noout 2>/dev/null | openssl pkcs8 -topk8 -nocrypt -out "$TMP/p384.pem"
expect_exit 1 "ES384 JWT from --token-key (status warning: measurement mismatch)" "$V" appraise snp "${MILAN[@]}" \
	--policy "$TMP/gosev.json" --nonce "$RD" --token jwt --token-key "$TMP/p384.pem" --ear-names veraison \
	--jwks "$TMP/jwks384.json" --token-out "$TMP/ear384.jwt"
expect_eq "token alg ES384" ES384 "$(jget "$OUT" 'd["token"]["alg"]')"
expect_exit 0 "CWT token" "$V" appraise snp "${MILAN[@]}" --policy "$TMP/milan.json" --nonce "$RD" --token cwt \
	--state-dir "$TMP/state" --token-out "$TMP/ear.cwt"

check "npm jose available" test -f "$NPMDIR/node_modules/jose/package.json" -o -n "$(mkdir -p "$NPMDIR" && cd "$NPMDIR" && npm install --no-audit --no-fund --silent jose@5 >/dev/null 2>&1; ls "$NPMDIR/node_modules/jose/package.json" 2>/dev/null)"
cat >"$TMP/verify.mjs" <<'JS'
import { createRequire } from 'module';
const require = createRequire(process.env.NPMDIR + '/');
const jose = require('jose');
const fs = require('fs');
const [jwt, jwks, alg] = process.argv.slice(2);
const set = jose.createLocalJWKSet(JSON.parse(fs.readFileSync(jwks, 'utf8')));
const { payload, protectedHeader } = await jose.jwtVerify(fs.readFileSync(jwt, 'utf8').trim(), set, { algorithms: [alg] });
process.stdout.write(JSON.stringify({ header: protectedHeader, payload }));
JS
expect_exit 0 "npm jose verifies the ES256 EAR JWT with the exported JWKS" env NPMDIR="$NPMDIR" node "$TMP/verify.mjs" \
	"$TMP/ear.jwt" "$TMP/jwks.json" ES256
JJ=$OUT
expect_eq "jose: kid is the JWKS kid" "$KID" "$(jget "$JJ" 'd["header"]["kid"]')"
expect_eq "jose: ear_status" affirming "$(jget "$JJ" 'd["payload"]["submods"]["cpu0"]["ear_status"]')"
expect_eq "jose: draft profile" "tag:ietf.org,2026:rats/ear#03" "$(jget "$JJ" 'd["payload"]["eat_profile"]')"
expect_eq "jose: vector" "{'instance-identity': 2, 'configuration': 2, 'executables': 2, 'hardware': 2, 'runtime-opaque': 2}" \
	"$(jget "$JJ" 'd["payload"]["submods"]["cpu0"]["ear_trustworthiness_vector"]')"
expect_eq "jose: annotated evidence carries the measurement" "$M96" \
	"$(jget "$JJ" 'd["payload"]["submods"]["cpu0"]["ear.veraison.annotated-evidence"]["measurement"]')"
expect_eq "jose: eat_nonce is the nonce (base64url)" "$($PY -c 'import base64,sys; print(base64.urlsafe_b64encode(bytes.fromhex(sys.argv[1])).decode().rstrip("="))' "$RD")" \
	"$(jget "$JJ" 'd["payload"]["eat_nonce"]')"
expect_eq "jose: exp = iat + 300" 300 "$(jget "$JJ" 'd["payload"]["exp"] - d["payload"]["iat"]')"
expect_exit 0 "npm jose verifies the ES384 EAR JWT" env NPMDIR="$NPMDIR" node "$TMP/verify.mjs" "$TMP/ear384.jwt" "$TMP/jwks384.json" ES384
expect_eq "jose: Veraison names (ear.status)" warning "$(jget "$OUT" 'd["payload"]["submods"]["cpu0"]["ear.status"]')"
expect_match "jose: Veraison profile" '"eat_profile":"tag:github.com,2023:veraison/ear"' "$OUT"
sed 's/\(.*\)\.\(.\)/\1.A\2/' "$TMP/ear.jwt" >"$TMP/bad.jwt"
expect_exit 1 "npm jose refuses a tampered JWT" env NPMDIR="$NPMDIR" node "$TMP/verify.mjs" "$TMP/bad.jwt" "$TMP/jwks.json" ES256

cat >"$TMP/cwt.py" <<'PY'
import json, sys, cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
import base64
raw = open(sys.argv[1], "rb").read()
jwk = json.load(open(sys.argv[2]))["keys"][0]
t = cbor2.loads(raw)
assert isinstance(t, cbor2.CBORTag) and t.tag == 18, "not COSE_Sign1"
prot, unprot, payload, sig = t.value
hdr = cbor2.loads(prot)
assert hdr[1] == -7, hdr
b = lambda s: base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
pub = ec.EllipticCurvePublicNumbers(int.from_bytes(b(jwk["x"]), "big"), int.from_bytes(b(jwk["y"]), "big"),
                                    ec.SECP256R1()).public_key()
tbs = cbor2.dumps(["Signature1", prot, b"", payload])
der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
pub.verify(der, tbs, ec.ECDSA(hashes.SHA256()))
c = cbor2.loads(payload)
sub = c[266]["cpu0"]
print(json.dumps({"kid": hdr[4].decode(), "profile": c[265], "status": sub[1000], "vector": {str(k): v for k, v in sub[1001].items()},
                  "measurement": sub[-70000]["measurement"], "nonce": c[10].hex(), "workload": sub[-70001]["workload"]}))
PY
expect_exit 0 "Python cbor2 + cryptography verify the CWT (COSE_Sign1 ES256)" $PY "$TMP/cwt.py" "$TMP/ear.cwt" "$TMP/jwks.json"
C=$OUT
expect_eq "cwt: kid" "$KID" "$(jget "$C" 'd["kid"]')"
expect_eq "cwt: integer status 2 (affirming)" 2 "$(jget "$C" 'd["status"]')"
expect_eq "cwt: vector with integer claim keys" "{'0': 2, '1': 2, '2': 2, '4': 2, '5': 2}" "$(jget "$C" 'd["vector"]')"
expect_eq "cwt: annotated evidence (-70000)" "$M96" "$(jget "$C" 'd["measurement"]')"
expect_eq "cwt: eat_nonce (10) is the nonce bytes" "$RD" "$(jget "$C" 'd["nonce"]')"
expect_eq "cwt: workload in the policy claims (-70001)" payments "$(jget "$C" 'd["workload"]')"
$PY -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); b[-5]^=1; open(sys.argv[2],"wb").write(b)' "$TMP/ear.cwt" "$TMP/bad.cwt"
expect_exit 1 "cryptography refuses a tampered CWT" $PY "$TMP/cwt.py" "$TMP/bad.cwt" "$TMP/jwks.json"
expect_exit 2 "a P-256 key file of the wrong kind is refused" "$V" appraise snp "${MILAN[@]}" --policy "$TMP/milan.json" \
	--nonce "$RD" --token jwt --token-key "$TMP/jwks.json"
finish
