#!/usr/bin/env bash
# Offline VCEK and collateral caches (issue 12) against a stand-in AMD KDS /
# Intel PCS on loopback (kds_standin.py) serving the real files of
# ../shared/vectors: `vigil kbs cache fill` fetches once, verifies through
# attest/ and stores under the KDS/PCS URL layout; the cache then works
# offline; 429/5xx back off honouring Retry-After and store nothing; material
# that does not verify is refused; TDX collateral past its nextUpdate is
# fetched again and reported as expired.
. "$(dirname "$0")/lib.sh"
need_vectors
need_cmd curl
need_cmd openssl
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3
V=$VECTORS
S=$V/snp
T=$V/tdx/go-tdx-guest
openssl x509 -in "$S/trustee-az/vcek-genoa.pem" -outform der -out "$TMP/genoa.der" 2>/dev/null
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$TMP"' EXIT

standin() { # name args... -> sets PORT_<name>
	local name=$1
	shift
	"$PY" "$ROOT/tests/integration/kds_standin.py" --port-file "$TMP/$name.port" "$@" 2>"$TMP/$name.err" &
	PIDS+=($!)
	for _ in $(seq 1 100); do [[ -s $TMP/$name.port ]] && break; sleep 0.05; done
	printf -v "PORT_$name" '%s' "$(cat "$TMP/$name.port" 2>/dev/null)"
}
requests() { curl -s "http://127.0.0.1:$1/_stats" | sed -n 's/.*"requests": \([0-9]*\).*/\1/p'; }

standin good \
	--vcek "Milan:$S/virtee-sev/vcek_milan.der" --vcek "Milan:$S/trustee/test-vcek.der" --vcek "Genoa:$TMP/genoa.der" \
	--chain "Milan:$S/amd_kds/ask_ark_milan.pem" --chain "Genoa:$S/amd_kds/ask_ark_genoa.pem" \
	--tcb "90c06f000000:$T/sample_tcbinfo_response_v5:$T/tcbInfoIssuerChain.pem" \
	--qe "$T/sample_qeIdentity_response:$T/qeIdentityIssuerChain.pem" \
	--pckcrl "$T/pckcrl:$T/pckCrlIssuerChain.pem" --rootcrl "$T/rootcrl.der"
[[ -n $PORT_good ]] || { _nok "the stand-in KDS/PCS starts" "$(cat "$TMP/good.err")"; finish; }
KDS=http://127.0.0.1:$PORT_good
C=$TMP/cache
R1=$S/virtee-sev/report_milan.bin R2=$S/trustee/test-report.bin R3=$S/trustee-az/genoa-snp-report.bin

# --- SNP: fetched once, verified, stored under the KDS layout
check "fill: three SNP reports (two Milan chips, one Genoa)" \
	"$BIN/vigil" kbs cache fill --cache "$C" --kds-url "$KDS" --report "$R1" --report "$R2" --report "$R3"
expect_match "fill says fetched and verified" "fetched and verified" "$OUT"
expect_eq "KDS saw 5 requests (3 VCEKs, 2 chains)" 5 "$(requests "$PORT_good")"
p=$("$BIN/vigil" kbs cache path --report "$R1" --product Milan) # a v2 report names no product
expect_eq "the KDS path of report_milan's VCEK" \
	"vcek/v1/Milan/d49554ec717f4e5b0fe6b143bcf0405bd7ae304727edf46603f2a76aef6a3abc15d7af38db757039029f0efacfd08e244324884738c72b082e2f87a44d541eb6?blSPL=3&teeSPL=0&snpSPL=8&ucodeSPL=115" "$p"
check "the VCEK is stored at that path, byte-identical to AMD's" cmp "$C/$p" "$S/virtee-sev/vcek_milan.der"
check "the Milan ASK/ARK chain is stored at vcek/v1/Milan/cert_chain" cmp "$C/vcek/v1/Milan/cert_chain" "$S/amd_kds/ask_ark_milan.pem"
check "vigil verify accepts report_milan with the cached VCEK and chain" \
	"$BIN/vigil" verify snp "$R1" --vcek "$C/$p" --chain "$C/vcek/v1/Milan/cert_chain"
check "fill again: everything already cached" \
	"$BIN/vigil" kbs cache fill --cache "$C" --kds-url "$KDS" --report "$R1" --report "$R2" --report "$R3"
expect_match "nothing fetched the second time" "already cached" "$OUT"
expect_eq "KDS still saw only 5 requests (fetched once)" 5 "$(requests "$PORT_good")"

# --- offline: the cache alone serves; a missing VCEK is one clear error
check "offline fill (no --kds-url) of cached reports" "$BIN/vigil" kbs cache fill --cache "$C" --report "$R1" --report "$R3"
expect_exit 1 "offline fill of a report whose VCEK is not cached fails" \
	"$BIN/vigil" kbs cache fill --cache "$TMP/empty" --report "$R1"
expect_match "... and says not cached / offline" "not cached and no --kds-url configured \(offline\)" "$OUT"

# --- 429 with Retry-After: no accepted material, nothing stored, back-off honoured
curl -s "$KDS/_control?fail=429&count=1&retry_after=30" >/dev/null
before=$(requests "$PORT_good")
expect_exit 1 "KDS answers 429 Retry-After: 30: fill fails" \
	"$BIN/vigil" kbs cache fill --cache "$TMP/c429" --kds-url "$KDS" --report "$R1" --report "$R2"
expect_match "... naming the rate limit and the wait" "HTTP 429, rate limited: next request in 30 s" "$OUT"
expect_match "... and the second report is not even requested (backing off)" "asked us to back off: next request in (29|30) s" "$OUT"
expect_eq "one request reached KDS during the back-off" $((before + 1)) "$(requests "$PORT_good")"
expect_eq "nothing was stored" "" "$(find "$TMP/c429" -type f 2>/dev/null)"
curl -s "$KDS/_control?fail=429&count=1&retry_after=1" >/dev/null
check "with --max-wait 5 a 429 Retry-After: 1 is waited out" \
	"$BIN/vigil" kbs cache fill --cache "$TMP/c429b" --kds-url "$KDS" --max-wait 5 --report "$R1"
expect_match "... then fetched" "fetched and verified" "$OUT"
curl -s "$KDS/_control?fail=500&count=1" >/dev/null
expect_exit 1 "KDS answers 500: fill fails, nothing stored" \
	"$BIN/vigil" kbs cache fill --cache "$TMP/c500" --kds-url "$KDS" --report "$R1"
expect_match "... backing off" "HTTP 500: backing off" "$OUT"
expect_eq "nothing stored after a 500" "" "$(find "$TMP/c500" -type f 2>/dev/null)"

# --- material that does not verify is refused, not stored
standin bad --vcek "Milan:$S/virtee-sev/vcek_milan.der" --chain "Milan:$S/amd_kds/ask_ark_genoa.pem"
expect_exit 1 "a VCEK whose chain is another product's: refused" \
	"$BIN/vigil" kbs cache fill --cache "$TMP/cbad" --kds-url "http://127.0.0.1:$PORT_bad" --report "$R1"
expect_match "... by attest/, not stored" "rejected, not stored" "$OUT"
expect_eq "nothing stored from the bad KDS" "" "$(find "$TMP/cbad" -type f 2>/dev/null)"
standin wrongtcb --vcek "Milan:$S/trustee/test-vcek.der" --chain "Milan:$S/amd_kds/ask_ark_milan.pem"
expect_exit 1 "a KDS without the report's chip: no VCEK" \
	"$BIN/vigil" kbs cache fill --cache "$TMP/cwrong" --kds-url "http://127.0.0.1:$PORT_wrongtcb" --report "$R1"
expect_match "... one clear line" "no VCEK for chip d49554ec717f4e5b" "$OUT"

# --- TDX: PCS collateral by FMSPC; expiry honoured
Q=$T/quote_v5_sample.dat
before=$(requests "$PORT_good")
check "fill: PCS collateral of a TDX quote (FMSPC 90c06f000000)" \
	"$BIN/vigil" kbs cache fill --cache "$C" --pcs-url "$KDS" --quote "$Q"
expect_match "TCB info, QE identity and both CRLs" "TCB info, QE identity, PCK CRL, root CA CRL fetched and verified" "$OUT"
expect_match "the collateral is reported past its nextUpdate" "past its nextUpdate" "$OUT"
check "TCB info stored at the PCS path" cmp "$C/tdx/certification/v4/tcb?fmspc=90c06f000000" "$T/sample_tcbinfo_response_v5"
check "its issuer chain (URL-decoded header) beside it" \
	cmp "$C/tdx/certification/v4/tcb?fmspc=90c06f000000.issuer-chain.pem" "$T/tcbInfoIssuerChain.pem"
expect_eq "PCS saw 4 requests" $((before + 4)) "$(requests "$PORT_good")"
check "expired collateral is fetched again when PCS is configured" \
	"$BIN/vigil" kbs cache fill --cache "$C" --pcs-url "$KDS" --quote "$Q"
expect_eq "... 4 more requests" $((before + 8)) "$(requests "$PORT_good")"
check "offline, the expired copy is used and flagged" "$BIN/vigil" kbs cache fill --cache "$C" --quote "$Q" --json
expect_match "... expired: true, no request" '"requests":0,"expired":true' "$OUT"
expect_exit 1 "offline without cached collateral: fails" "$BIN/vigil" kbs cache fill --cache "$TMP/empty2" --quote "$Q"
expect_exit 1 "an SNP report given as --quote: one clear error" "$BIN/vigil" kbs cache fill --cache "$C" --quote "$R1"
expect_exit 2 "kbs cache path of a v2 report without --product: usage error" "$BIN/vigil" kbs cache path --report "$R1"
expect_match "... saying why" "product unknown" "$ERR"
expect_eq "a v3 (Genoa) report names its product itself" \
	"vcek/v1/Genoa/0506ffba875e939c2729d20c74eb72b4c5ba6bf7ea1faaa640141f12c6d64782fb487f68ce69dcd021e914cc0d9244327bc121f0242d6470903ad1d4aaea4ad1?blSPL=10&teeSPL=0&snpSPL=23&ucodeSPL=84" \
	"$("$BIN/vigil" kbs cache path --report "$R3")"
expect_exit 2 "usage: no --cache" "$BIN/vigil" kbs cache fill --report "$R1"
finish
