#!/usr/bin/env bash
# The VCEK cache of vigil-attestd (--kds-cache, --kds-url) against a stand-in AMD KDS on
# loopback (kds_standin.py) serving real AMD files from ../shared/vectors and the simulated
# platform's: SNP evidence without a certificate table is verified with a VCEK fetched once,
# verified, then cached in the KDS layout; 429 answers are retried after Retry-After; the
# cache serves offline; 5xx and a wrong certificate are never accepted and never cached.
. "$(dirname "$0")/lib.sh"
need_cmd openssl
/usr/bin/python3 -c 'import cryptography' 2>/dev/null || skip_all "python3-cryptography not installed"
. "$(dirname "$0")/agent_lib.sh"
STATE=$TMP/sim
"$AGENT" evidence --tee sim-snp --state-dir "$STATE" --report-data "$(openssl rand -hex 64)" "${VMM_EXTRA[@]}" >/dev/null

# ------------------------------------------------ the stand-in KDS's files
KDS=$TMP/kds
/usr/bin/python3 - "$STATE" "$KDS" "$VECTORS" <<'PY'
import os, struct, subprocess, sys
state, root, vec = sys.argv[1:4]

def put(rel, data):
    p = os.path.join(root, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    open(p, "wb").write(data)

def names(report, product):  # KDS's names for a Milan/Genoa report
    tcb = struct.unpack_from("<Q", report, 0x180)[0]
    b = tcb.to_bytes(8, "little")
    q = "blSPL=%d&teeSPL=%d&snpSPL=%d&ucodeSPL=%d" % (b[0], b[1], b[6], b[7])
    return "vcek/v1/%s/%s/%s" % (product, report[0x1A0:0x1E0].hex(), q)

der = lambda pem: subprocess.run(["openssl", "x509", "-outform", "DER"], input=pem, capture_output=True, check=True).stdout
# simulated Genoa: chip id and TCB from the identity the VMM generated
plat = dict(l.split("=", 1) for l in open(os.path.join(state, "sim-snp/platform")).read().split())
fake = bytearray(1184)
fake[0x1A0:0x1E0] = bytes.fromhex(plat["chip_id"])
struct.pack_into("<Q", fake, 0x180, int(plat["tcb"], 16))
put(names(bytes(fake), "Genoa"), der(open(os.path.join(state, "sim-snp/vcek.pem"), "rb").read()))
put("vcek/v1/Genoa/cert_chain", open(os.path.join(state, "sim-snp/cert_chain.pem"), "rb").read())
open(os.path.join(root, "sim-vcek-rel"), "w").write(names(bytes(fake), "Genoa"))
# real: a Milan report (version 2) and an Azure Genoa report (version 3), as AMD serves them
if os.path.isdir(vec):
    r = open(os.path.join(vec, "snp/virtee-sev/report_milan.bin"), "rb").read()
    put(names(r, "Milan"), open(os.path.join(vec, "snp/virtee-sev/vcek_milan.der"), "rb").read())
    put("vcek/v1/Milan/cert_chain", open(os.path.join(vec, "snp/amd_kds/ask_ark_milan.pem"), "rb").read())
    open(os.path.join(root, "milan-vcek-rel"), "w").write(names(r, "Milan"))
    g = open(os.path.join(vec, "snp/trustee-az/genoa-snp-report.bin"), "rb").read()
    put(names(g, "Genoa"), der(open(os.path.join(vec, "snp/trustee-az/vcek-genoa.pem"), "rb").read()))
    open(os.path.join(root, "genoa-vcek-rel"), "w").write(names(g, "Genoa"))
    # the Azure Genoa chain is the same product's ASK/ARK as the simulated one's path: keep both
    open(os.path.join(root, "genoa-chain.pem"), "wb").write(open(os.path.join(vec, "snp/amd_kds/ask_ark_genoa.pem"), "rb").read())
PY
SIMREL=$(cat "$KDS/sim-vcek-rel")
kds_start() { # MODE ROOT
	rm -f "$TMP/kds.port"
	: >"$TMP/kds.log"
	/usr/bin/python3 "$ROOT/tests/integration/kds_standin.py" "$TMP/kds.port" "$2" "$TMP/kds.log" "$1" 2>/dev/null &
	KDS_PID=$!
	PIDS+=($!)
	for _ in $(seq 100); do [[ -s $TMP/kds.port ]] && break; sleep 0.05; done
	KDS_URL=http://127.0.0.1:$(cat "$TMP/kds.port")
}
kds_stop() { kill "$KDS_PID" 2>/dev/null; wait "$KDS_PID" 2>/dev/null; }

# ------------------------------------------------ the service
"$BIN/vigil" measure snp --firmware "$GUEST" --vmm-type vigil --vcpus 1 --json >"$TMP/snp.json"
sim_policy "$TMP/policy.json" "$TMP/snp.json"
admin_keys "$TMP"
AD_PID=
ad_start() { # NAME [extra flags...]
	local n=$1
	shift
	[[ -n $AD_PID ]] && { kill "$AD_PID" 2>/dev/null; wait "$AD_PID" 2>/dev/null; }
	start_attestd "$TMP/$n.log" --state-dir "$TMP/ad" --policy "$TMP/policy.json" --admin-key "$TMP/admin.pub" \
		--trust-sim-root "$STATE/sim-snp/ark.pem" "$@"
	AD_PID=$ATTESTD_PID
	"$BIN/vigil" kbs --url "$URL" --admin-key "$TMP/admin.key" put-resource default/key/k "$TMP/admin.pub" >/dev/null 2>&1
}
GET=("$AGENT" get-resource default/key/k --tee sim-snp --state-dir "$STATE" --no-cert-table "${VMM_EXTRA[@]}")

ad_start plain
expect_exit 1 "SNP evidence without a certificate table, no VCEK cache: refused" "${GET[@]}" --url "$URL"
expect_match "... saying so" 'no certificate table .* no VCEK cache \(--kds-cache\)' "$ERR"

kds_start 429:2 "$KDS"
ad_start cache --kds-cache "$TMP/cache" --kds-url "$KDS_URL"
expect_exit 0 "with --kds-cache/--kds-url: the VCEK is fetched and the secret released" "${GET[@]}" --url "$URL" \
	-o "$TMP/got1"
check "... the secret arrived" cmp "$TMP/got1" "$TMP/admin.pub"
expect_eq "... after two 429 answers, retried after Retry-After" "429 429" \
	"$(grep -o '^429' "$TMP/kds.log" | tr '\n' ' ' | sed 's/ $//')"
expect_match "... then the chain and the VCEK" "200 /vcek/v1/Genoa/cert_chain.*200 /vcek/v1/Genoa/[0-9a-f]{128}\?blSPL=" \
	"$(tr '\n' ' ' <"$TMP/kds.log")"
check "... cached in the KDS layout, byte for byte" cmp "$TMP/cache/$SIMREL" "$KDS/$SIMREL"
check "... the backoff is in the service log" grep -q '"event":"kds.backoff"' "$TMP/cache.log"
kds_stop
expect_exit 0 "the KDS gone: the cached VCEK serves offline" "${GET[@]}" --url "$URL" -o "$TMP/got2"

# Real AMD files through the cache: the report verifies against the pinned ARK only with
# the right VCEK; the appraisal then refuses it (not this session's REPORT_DATA).
raw_attest() { # REPORT_FILE -> the service's answer
	/usr/bin/python3 - "$URL" "$1" <<'PY'
import base64, json, os, sys, urllib.error, urllib.request
sys.path.insert(0, os.environ["ITDIR"])
url, rep = sys.argv[1:3]
def call(path, body, cookie=None):
    r = urllib.request.Request(url + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
    if cookie: r.add_header("Cookie", cookie)
    try:
        with urllib.request.urlopen(r, timeout=60) as a: return a.status, a.read().decode(), a.headers.get_all("Set-Cookie") or []
    except urllib.error.HTTPError as e: return e.code, e.read().decode(), []
_, b, c = call("/kbs/v0/auth", {"version": "0.4.0", "tee": "snp", "extra-params": {}})
cookie = c[0].split(";")[0]
jwk = {"kty": "EC", "crv": "P-256", "x": "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4", "y": "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"}
ev = {"primary_evidence": {"attestation_report": base64.b64encode(open(rep, "rb").read()).decode(), "cert_chain": []}, "additional_evidence": ""}
s, b, _ = call("/kbs/v0/attest", {"runtime-data": {"nonce": json.loads(b)["nonce"], "tee-pubkey": jwk}, "tee-evidence": ev}, cookie)
print(s, b)
PY
}
export ITDIR=$ROOT/tests/integration
if [[ -d $VECTORS ]]; then
	# the real Genoa chain where the Azure report's VCEK needs it
	cp "$KDS/genoa-chain.pem" "$TMP/genoa-chain.pem"
	mkdir -p "$TMP/kds-real/vcek/v1/Genoa" "$TMP/kds-real/vcek/v1/Milan"
	cp -r "$KDS/vcek/v1/Milan/." "$TMP/kds-real/vcek/v1/Milan/"
	GREL=$(cat "$KDS/genoa-vcek-rel")
	mkdir -p "$(dirname "$TMP/kds-real/$GREL")"
	cp "$KDS/$GREL" "$TMP/kds-real/$GREL"
	cp "$TMP/genoa-chain.pem" "$TMP/kds-real/vcek/v1/Genoa/cert_chain"
	kds_start ok "$TMP/kds-real"
	ad_start real --kds-cache "$TMP/cache-real" --kds-url "$KDS_URL"
	OUT=$(raw_attest "$VECTORS/snp/trustee-az/genoa-snp-report.bin")
	expect_match "real Azure Genoa report (v3) without a table: refused only by the appraisal" '^401 .*' "$OUT"
	check "... its VCEK fetched, verified against the AMD ARK and cached" cmp "$TMP/cache-real/$GREL" "$KDS/$GREL"
	OUT=$(raw_attest "$VECTORS/snp/virtee-sev/report_milan.bin")
	MREL=$(cat "$KDS/milan-vcek-rel")
	check "real Milan report (v2, product not in the report): VCEK found under Milan and cached" \
		cmp "$TMP/cache-real/$MREL" "$VECTORS/snp/virtee-sev/vcek_milan.der"
	check "... with the chain AMD serves" cmp "$TMP/cache-real/vcek/v1/Milan/cert_chain" \
		"$VECTORS/snp/amd_kds/ask_ark_milan.pem"
	kds_stop
fi

kds_start 500 "$KDS"
ad_start broken --kds-cache "$TMP/cache2" --kds-url "$KDS_URL"
expect_exit 1 "KDS answering 500: refused, never accepted" "${GET[@]}" --url "$URL" -o "$TMP/no1"
expect_match "... naming the KDS answer" 'VCEK lookup: AMD KDS .*HTTP 500 after 3 attempts' "$ERR"
check "... and nothing was cached" test ! -e "$TMP/cache2/vcek"
kds_stop
# A KDS (or mirror) serving the wrong certificate: not accepted, not cached.
cp -r "$KDS" "$TMP/kds-bad"
openssl x509 -in "$STATE/sim-snp/ask.pem" -outform DER -out "$TMP/kds-bad/$SIMREL"
kds_start ok "$TMP/kds-bad"
ad_start wrong --kds-cache "$TMP/cache3" --kds-url "$KDS_URL"
expect_exit 1 "a wrong VCEK from KDS: refused" "${GET[@]}" --url "$URL" -o "$TMP/no2"
expect_match "... because it does not verify the report" 'do not verify this report' "$ERR"
check "... and it was not cached" test ! -e "$TMP/cache3/$SIMREL"
check "none of the refused guests got a file" test ! -e "$TMP/no1" -a ! -e "$TMP/no2"
finish
