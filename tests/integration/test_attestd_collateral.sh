#!/usr/bin/env bash
# vigil-attestd with the offline VCEK cache (issue 12): guests send SNP evidence
# WITHOUT a certificate table; the service finds the VCEK and ASK/ARK in
# --collateral-cache, fetching them once from a stand-in KDS on loopback
# (--kds-url) and verifying them before storing. Offline (no --kds-url) the
# cache alone serves; a miss and a KDS 429 are clear errors and release
# nothing. The simulated platform (sim-snp) plays the chip: its VCEK and chain
# are what the stand-in KDS serves.
. "$(dirname "$0")/lib.sh"
need_cmd openssl
need_cmd curl
need_cmd jq
. "$(dirname "$0")/attestd_pg_lib.sh"
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3
SPID=
trap 'attestd_cleanup; [[ -n $SPID ]] && kill $SPID 2>/dev/null; rm -rf "$TMP"' EXIT

attestd_setup "$TMP/a"
expect_eq "keys, simulated platform and policy" 0 $?
SIM=$TMP/a/sim/sim-snp
openssl x509 -in "$SIM/vcek.pem" -outform der -out "$TMP/sim_vcek.der"
"$PY" "$ROOT/tests/integration/kds_standin.py" --port-file "$TMP/kds.port" \
	--vcek "Genoa:$TMP/sim_vcek.der" --chain "Genoa:$SIM/cert_chain.pem" 2>"$TMP/kds.err" &
SPID=$!
for _ in $(seq 1 100); do [[ -s $TMP/kds.port ]] && break; sleep 0.05; done
KDS=http://127.0.0.1:$(cat "$TMP/kds.port")
requests() { curl -s "$KDS/_stats" | jq -r .requests; }
DB="sqlite:$TMP/a/attestd.db"
run_flows() { # N extra-args... -> OUT = load JSON
	local n=$1
	shift
	# shellcheck disable=SC2046
	OUT=$("$LOAD" run $(attestd_urls 1) --sim-state "$TMP/a/sim" --path repo/key/disk \
		--secret-file "$TMP/a/secret" --clients 2 --flows "$n" --no-cert-table --json \
		--failures "$TMP/fail.txt" "$@")
}

# --- online: fetched once from KDS, verified, stored; then served from the cache
attestd_start 1 "$DB" --collateral-cache "$TMP/cache" --kds-url "$KDS"
expect_eq "vigil-attestd starts with --collateral-cache and --kds-url" 0 $?
check "a secret is registered" "$LOAD" put "http://127.0.0.1:$(attestd_port 1)" "$TMP/a/admin.pem" repo/key/disk "$TMP/a/secret"
run_flows 12
expect_eq "12 flows without a certificate table complete (VCEK from the cache / KDS)" 12 "$(jq -r .completed <<<"$OUT")"
expect_eq "KDS was asked twice in all (VCEK and chain, fetched once)" 2 "$(requests)"
check "the VCEK is stored under vcek/v1/Genoa/<chip id>?..." bash -c "ls '$TMP/cache/vcek/v1/Genoa/' | grep -q 'blSPL='"
check "... byte-identical to the chip's" bash -c "cmp '$TMP/cache/vcek/v1/Genoa/'*'?'* '$TMP/sim_vcek.der'"
check "the chain at vcek/v1/Genoa/cert_chain" cmp "$TMP/cache/vcek/v1/Genoa/cert_chain" "$SIM/cert_chain.pem"
attestd_stop 1

# --- offline: no --kds-url, the cache alone
attestd_start 1 "$DB" --collateral-cache "$TMP/cache"
run_flows 6
expect_eq "offline: 6 flows complete from the cache" 6 "$(jq -r .completed <<<"$OUT")"
expect_eq "offline: no request reached KDS" 2 "$(requests)"
attestd_stop 1

# --- offline with an empty cache: refused with the reason, nothing released
attestd_start 1 "$DB" --collateral-cache "$TMP/empty"
run_flows 2
expect_eq "offline, VCEK not cached: no flow completes" 0 "$(jq -r .completed <<<"$OUT")"
expect_eq "... each failed cleanly at attest" 2 "$(jq -r .failed_cleanly <<<"$OUT")"
expect_match "... saying it is not cached and the service is offline" "HTTP 401 .*not cached and no --kds-url configured \(offline\)" "$(cat "$TMP/fail.txt")"
attestd_stop 1

# --- KDS rate-limits us: 503 to the guest, back-off honoured, nothing stored or released
curl -s "$KDS/_control?fail=429&count=1&retry_after=60" >/dev/null
before=$(requests)
attestd_start 1 "$DB" --collateral-cache "$TMP/c429" --kds-url "$KDS"
run_flows 4
expect_eq "KDS 429: no flow completes" 0 "$(jq -r .completed <<<"$OUT")"
expect_eq "... all four failed with HTTP 5xx" 4 "$(jq -r .failed_http5xx <<<"$OUT")"
expect_match "... the client is told KDS rate-limited the service" "HTTP 503 .*(rate limited|back off)" "$(cat "$TMP/fail.txt")"
expect_eq "one request reached KDS (the back-off held the other three)" $((before + 1)) "$(requests)"
expect_eq "nothing was stored" "" "$(find "$TMP/c429" -type f 2>/dev/null)"
attestd_stop 1

# --- no cache configured: the old rule, one clear line
attestd_start 1 "$DB"
run_flows 1
expect_match "without --collateral-cache: 400 asking for the certificate table" \
	"HTTP 400 .*send the certificate table.*--collateral-cache" "$(cat "$TMP/fail.txt")"
# shellcheck disable=SC2046
expect_exit 0 "evidence WITH its certificate table still works" "$LOAD" run $(attestd_urls 1) \
	--sim-state "$TMP/a/sim" --path repo/key/disk --secret-file "$TMP/a/secret" --flows 2 --clients 1 --json
expect_eq "... 2 flows completed" 2 "$(jq -r .completed <<<"$OUT")"
attestd_stop 1
expect_exit 2 "--kds-url without --collateral-cache is a usage error" "$BIN/vigil-attestd" --listen 127.0.0.1:1 \
	--state-dir "$TMP/a/inst9" --policy "$TMP/a/policy.json" --admin-key "$TMP/a/admin_pub.pem" --kds-url "$KDS"
expect_match "... saying so" "need --collateral-cache" "$ERR$OUT"
# --- TDX: the platform's PCS collateral through the service (a real quote: the
# collateral path runs, then the flow is refused because the quote is not bound
# to this session's nonce, as it must be)
if [[ -d $VECTORS/tdx/go-tdx-guest ]]; then
	T=$VECTORS/tdx/go-tdx-guest
	"$PY" "$ROOT/tests/integration/kds_standin.py" --port-file "$TMP/pcs.port" \
		--tcb "90c06f000000:$T/sample_tcbinfo_response_v5:$T/tcbInfoIssuerChain.pem" \
		--qe "$T/sample_qeIdentity_response:$T/qeIdentityIssuerChain.pem" \
		--pckcrl "$T/pckcrl:$T/pckCrlIssuerChain.pem" --rootcrl "$T/rootcrl.der" 2>"$TMP/pcs.err" &
	PCSPID=$!
	for _ in $(seq 1 100); do [[ -s $TMP/pcs.port ]] && break; sleep 0.05; done
	PCS=http://127.0.0.1:$(cat "$TMP/pcs.port")
	tdx_flow() { # -> OUT
		# shellcheck disable=SC2046
		OUT=$("$LOAD" run $(attestd_urls 1) --sim-state "$TMP/a/sim" --path repo/key/disk \
			--secret-file "$TMP/a/secret" --clients 1 --flows 1 --json --failures "$TMP/fail.txt" \
			--tdx-quote "$T/quote_v5_sample.dat")
	}
	attestd_start 1 "$DB" --collateral-cache "$TMP/tdxcache" --pcs-url "$PCS"
	tdx_flow
	expect_eq "TDX quote: no secret (not bound to the session)" 0 "$(jq -r .completed <<<"$OUT")"
	expect_match "... refused at attest with 401" "failed attest: HTTP 401" "$(cat "$TMP/fail.txt")"
	expect_eq "PCS was asked for the platform's 4 collateral items" 4 "$(curl -s "$PCS/_stats" | jq -r .requests)"
	check "the TCB info of FMSPC 90c06f000000 is in the cache" \
		cmp "$TMP/tdxcache/tdx/certification/v4/tcb?fmspc=90c06f000000" "$T/sample_tcbinfo_response_v5"
	attestd_stop 1
	curl -s "$PCS/_control?fail=429&count=5&retry_after=60" >/dev/null
	attestd_start 1 "$DB" --collateral-cache "$TMP/tdxcache429" --pcs-url "$PCS"
	tdx_flow
	expect_match "PCS 429: the attestation fails with 503, never judged without collateral" \
		"failed attest: HTTP 503 .*rate limited" "$(cat "$TMP/fail.txt")"
	attestd_stop 1
	kill "$PCSPID" 2>/dev/null
fi
expect_exit 0 "the release records are in a verifying audit chain" "$BIN/vigil-attestd" audit verify --state-dir "$TMP/a/inst1" --db "$DB"
finish
