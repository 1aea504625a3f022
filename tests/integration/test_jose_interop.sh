#!/usr/bin/env bash
# JOSE interop: our JWS/JWK/JWE/JCS (tests/integration/jose_tool.c over attest/)
# against implementations we did not write: npm "jose" v5 (panva) for JWS,
# JWE and thumbprints, Node's own JSON.stringify for RFC 8785 number and key
# order, Python's hashlib/json for the KBS REPORT_DATA, the openssl CLI for keys.
# npm jose is installed once into build/npm/ (cached); without npm this test FAILS.
. "$(dirname "$0")/lib.sh"

T=$BUILD/tests/integration/jose_tool
NPMDIR=$BUILD/npm
check "jose_tool is built" test -x "$T"
check "openssl CLI present" command -v openssl
check "node present" command -v node

# npm jose@5 in the cache under build/ (never committed).
if [[ ! -f "$NPMDIR/node_modules/jose/package.json" ]]; then
	mkdir -p "$NPMDIR"
	check "npm install jose@5 into build/npm" bash -c "cd '$NPMDIR' && npm install --no-audit --no-fund --silent jose@5"
fi
check "npm jose v5 available" bash -c "grep -q '\"version\": \"5\\.' '$NPMDIR/node_modules/jose/package.json'"
[[ -f "$NPMDIR/node_modules/jose/package.json" ]] || finish

# The Node side: one small script, driven by argv.
cat >"$TMP/peer.js" <<'JS'
const jose = require(process.env.JOSE_MODULE);
const fs = require('fs');
const [cmd, ...a] = process.argv.slice(2);
const read = (f) => fs.readFileSync(f, 'utf8');
(async () => {
	switch (cmd) {
	case 'verify': { // JWK COMPACT ALG
		const key = await jose.importJWK(JSON.parse(read(a[0])), a[2]);
		const r = await jose.compactVerify(read(a[1]).trim(), key, { algorithms: [a[2]] });
		process.stdout.write(Buffer.from(r.payload));
		break;
	}
	case 'sign': { // ALG OUTDIR: key pair (SPKI PEM) and a JWS of a fixed payload
		const { publicKey, privateKey } = await jose.generateKeyPair(a[0], { crv: a[0] === 'EdDSA' ? 'Ed25519' : undefined });
		fs.writeFileSync(a[1] + '/pub.pem', await jose.exportSPKI(publicKey));
		const jws = await new jose.CompactSign(new TextEncoder().encode('{"from":"npm jose"}'))
			.setProtectedHeader({ alg: a[0], typ: 'JWT' }).sign(privateKey);
		fs.writeFileSync(a[1] + '/jws', jws);
		break;
	}
	case 'decrypt': { // PKCS8_PEM ALG JWE_JSON FORM(flat|compact)
		const key = await jose.importPKCS8(read(a[0]), a[1]);
		const jwe = JSON.parse(read(a[2]));
		let r;
		if (a[3] === 'compact')
			r = await jose.compactDecrypt([jwe.protected, jwe.encrypted_key, jwe.iv, jwe.ciphertext, jwe.tag].join('.'), key,
				{ keyManagementAlgorithms: [a[1]], contentEncryptionAlgorithms: ['A256GCM'] });
		else
			r = await jose.flattenedDecrypt(jwe, key, { keyManagementAlgorithms: [a[1]], contentEncryptionAlgorithms: ['A256GCM'] });
		if (r.protectedHeader.enc !== 'A256GCM' || r.protectedHeader.alg !== a[1]) throw new Error('unexpected header');
		process.stdout.write(Buffer.from(r.plaintext));
		break;
	}
	case 'encrypt': { // JWK ALG PLAINFILE
		const key = await jose.importJWK(JSON.parse(read(a[0])), a[1]);
		const jwe = await new jose.FlattenedEncrypt(fs.readFileSync(a[2]))
			.setProtectedHeader({ alg: a[1], enc: 'A256GCM' }).encrypt(key);
		process.stdout.write(JSON.stringify(jwe));
		break;
	}
	case 'thumbprint':
		process.stdout.write(await jose.calculateJwkThumbprint(JSON.parse(read(a[0])), 'sha256') + '\n');
		break;
	case 'jcs': { // RFC 8785 in ECMAScript terms: sort() is UTF-16 code unit order
		const c = (v) => Array.isArray(v) ? '[' + v.map(c).join(',') + ']'
			: (v !== null && typeof v === 'object')
				? '{' + Object.keys(v).sort().map((k) => JSON.stringify(k) + ':' + c(v[k])).join(',') + '}'
				: JSON.stringify(v);
		process.stdout.write(c(JSON.parse(read(a[0]))));
		break;
	}
	default:
		throw new Error('unknown command ' + cmd);
	}
})().catch((e) => { console.error('peer: ' + e.message); process.exit(1); });
JS
export JOSE_MODULE=$NPMDIR/node_modules/jose
peer() { node "$TMP/peer.js" "$@"; }

# Keys made by the openssl CLI (PKCS#8 PEM).
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$TMP/p256.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$TMP/p384.pem" 2>/dev/null
openssl genpkey -algorithm ED25519 -out "$TMP/ed25519.pem" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$TMP/rsa.pem" 2>/dev/null
printf '{"sub":"guest-1","claims":{"n":42,"s":"\xc3\xa9"}}' >"$TMP/payload"

# ---- JWS: ours -> npm jose, npm jose -> ours; JWK thumbprints agree.
for pair in ES256:p256 ES384:p384 EdDSA:ed25519; do
	alg=${pair%%:*} k=${pair#*:}
	check "$alg: our JWK of the key" "$T" jwk "$TMP/$k.pem"
	printf '%s' "$OUT" >"$TMP/$k.jwk.json"
	check "$alg: we sign" "$T" sign "$TMP/$k.pem" "$alg" "$TMP/payload"
	printf '%s\n' "$OUT" >"$TMP/$k.jws"
	check "$alg: npm jose verifies our JWS with our JWK" peer verify "$TMP/$k.jwk.json" "$TMP/$k.jws" "$alg"
	expect_eq "$alg: npm jose sees our payload" "$(cat "$TMP/payload")" "$OUT"
	check "$alg: npm jose thumbprint of our JWK" peer thumbprint "$TMP/$k.jwk.json"
	theirs=$OUT
	check "$alg: our thumbprint" "$T" thumbprint "$TMP/$k.jwk.json"
	expect_eq "$alg: thumbprints agree" "$theirs" "$OUT"
	# A tampered signature fails on their side too (the check is real).
	sed 's/\(.*\)\.\(.\)/\1.\2/' "$TMP/$k.jws" | awk -F. '{s=$3; c=substr(s,1,1); r=(c=="A")?"B":"A"; print $1"."$2"."r substr(s,2)}' >"$TMP/$k.bad.jws"
	expect_exit 1 "$alg: npm jose rejects a tampered signature" peer verify "$TMP/$k.jwk.json" "$TMP/$k.bad.jws" "$alg"
	expect_exit 1 "$alg: we reject the tampered signature" "$T" verify "$TMP/$k.jwk.json" "$TMP/$k.bad.jws" "$alg"
	expect_match "$alg: our rejection says why" "signature does not verify" "$ERR"

	mkdir -p "$TMP/npm-$alg"
	check "$alg: npm jose signs" peer sign "$alg" "$TMP/npm-$alg"
	check "$alg: we verify npm jose's JWS" "$T" verify "$TMP/npm-$alg/pub.pem" "$TMP/npm-$alg/jws" "$alg"
	expect_eq "$alg: payload from npm jose" '{"from":"npm jose"}' "$OUT"
	other=$([[ $alg == ES256 ]] && echo ES384 || echo ES256)
	expect_exit 1 "$alg: not in the allowed list -> rejected" "$T" verify "$TMP/npm-$alg/pub.pem" "$TMP/npm-$alg/jws" "$other"
	expect_match "$alg: rejection names the algorithm" "algorithm $alg is not allowed" "$ERR"
done

# RSA JWK and RFC 7638 thumbprint against npm jose.
check "RSA: our JWK" "$T" jwk "$TMP/rsa.pem"
printf '%s' "$OUT" >"$TMP/rsa.jwk.json"
check "RSA: npm jose thumbprint" peer thumbprint "$TMP/rsa.jwk.json"
theirs=$OUT
check "RSA: our thumbprint" "$T" thumbprint "$TMP/rsa.jwk.json"
expect_eq "RSA: thumbprints agree" "$theirs" "$OUT"

# ---- JWE: ours -> npm jose (flattened and compact), npm jose -> ours.
head -c 3000 /dev/urandom | base64 -w0 >"$TMP/secret"
for pair in ECDH-ES+A256KW:p256 ECDH-ES+A256KW:p384 RSA-OAEP-256:rsa; do
	alg=${pair%%:*} k=${pair#*:}
	[[ -f "$TMP/$k.jwk.json" ]] || { "$T" jwk "$TMP/$k.pem" >"$TMP/$k.jwk.json"; }
	check "$alg/$k: we encrypt to the public JWK" "$T" encrypt "$TMP/$k.jwk.json" "$TMP/secret"
	printf '%s' "$OUT" >"$TMP/$k.jwe.json"
	check "$alg/$k: npm jose flattenedDecrypt" peer decrypt "$TMP/$k.pem" "$alg" "$TMP/$k.jwe.json" flat
	expect_eq "$alg/$k: npm jose recovers the plaintext" "$(cat "$TMP/secret")" "$OUT"
	check "$alg/$k: npm jose compactDecrypt" peer decrypt "$TMP/$k.pem" "$alg" "$TMP/$k.jwe.json" compact
	expect_eq "$alg/$k: compact form plaintext" "$(cat "$TMP/secret")" "$OUT"
	check "$alg/$k: npm jose encrypts to our JWK" peer encrypt "$TMP/$k.jwk.json" "$alg" "$TMP/secret"
	printf '%s' "$OUT" >"$TMP/$k.npm.jwe.json"
	check "$alg/$k: we decrypt npm jose's JWE" "$T" decrypt "$TMP/$k.pem" "$TMP/$k.npm.jwe.json"
	expect_eq "$alg/$k: our plaintext" "$(cat "$TMP/secret")" "$OUT"
	# Their JWE with a flipped ciphertext character is refused by us.
	/usr/bin/python3 - "$TMP/$k.npm.jwe.json" "$TMP/$k.bad.jwe.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
c = j["ciphertext"]
j["ciphertext"] = ("B" if c[0] == "A" else "A") + c[1:]
json.dump(j, open(sys.argv[2], "w"))
PY
	expect_exit 1 "$alg/$k: we reject npm jose's JWE with altered ciphertext" "$T" decrypt "$TMP/$k.pem" "$TMP/$k.bad.jwe.json"
	expect_match "$alg/$k: rejection says tag mismatch" "tag mismatch" "$ERR"
done
# The wrong recipient key.
expect_exit 1 "P-256 JWE with the P-384 key is refused" "$T" decrypt "$TMP/p384.pem" "$TMP/p256.npm.jwe.json"
expect_match "curve mismatch is named" "recipient's curve P-384" "$ERR"

# ---- RFC 8785: our JCS equals an ECMAScript one (Node's JSON.stringify, sort()).
cat >"$TMP/jcs.json" <<'JSON'
{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001,-0.0,1e21,1e-7,123.456e-10,5e-324,1.7976931348623157e308,9007199254740992,-9007199254740992],
 "string":"\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/\u007f\u2028",
 "literals":[null,true,false],
 "\u20ac":1,"\r":2,"\ufb33":3,"1":4,"\ud83d\ude00":5,"\u0080":6,"\u00f6":7,"nested":{"b":[{"z":{},"a":[]}],"a":0.1}}
JSON
check "Node canonical form" peer jcs "$TMP/jcs.json"
theirs=$OUT
check "our JCS" "$T" jcs "$TMP/jcs.json"
expect_eq "JCS equals the ECMAScript canonical form" "$theirs" "$OUT"
for n in 0.1 1.5e-7 123456789.123456789 1e300 -4.94e-320 0.30000000000000004 100000000000000000000.5 2.5e-6 1e-6; do
	printf '[%s]' "$n" >"$TMP/n.json"
	peer jcs "$TMP/n.json" >"$TMP/n.node" 2>/dev/null
	check "JCS number $n" "$T" jcs "$TMP/n.json"
	expect_eq "JCS number $n as ECMAScript prints it" "$(cat "$TMP/n.node")" "$OUT"
done
printf '[9007199254740993]' >"$TMP/big.json"
expect_exit 1 "integer beyond 2^53 refused" "$T" jcs "$TMP/big.json"
expect_match "refusal names 2^53" "2\\^53" "$ERR"

# ---- KBS REPORT_DATA against an independent computation (Python).
printf '%s' "$(cat "$TMP/p256.jwk.json")" >"$TMP/tee.json"
for addl in "" '{"sample":"evidence"}'; do
	check "report data (additional-evidence '$addl')" "$T" reportdata "r4nd0m-n0nce" "$TMP/tee.json" "$addl"
	want=$(/usr/bin/python3 - "$TMP/tee.json" "$addl" <<'PY'
import hashlib, json, sys
jwk = json.load(open(sys.argv[1]))
d = {"nonce": "r4nd0m-n0nce", "tee-pubkey": jwk, "additional-evidence": sys.argv[2]}
s = json.dumps(d, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
print((hashlib.sha384(s).digest() + bytes(16)).hex())
PY
)
	expect_eq "report data equals Python's SHA-384(JCS) || 16 zero bytes" "$want" "$OUT"
done

finish
