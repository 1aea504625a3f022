#!/usr/bin/env bash
# Verification rate with the key chain cached, beside the raw signature-verify
# rate of `openssl speed` measured in the same run. Goal: ratio >= 0.9 (the
# cost of verifying is the signature, not our parsing).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${VIGIL_BUILD:-$ROOT/build}
VECTORS=${VIGIL_VECTORS:-$ROOT/../shared/vectors}
SECS=${BENCH_SECONDS:-3}
B=$BUILD/bench/verify
[[ -x "$B" ]] || { echo "bench/verify: $B not built (make)"; exit 1; }
[[ -d "$VECTORS" ]] || { echo "SKIP: vectors not found"; exit 0; }
command -v openssl >/dev/null || { echo "SKIP: openssl not installed"; exit 0; }

# openssl speed prints "... sign verify sign/s verify/s"; the last field is verify/s.
speed() { openssl speed -seconds "$SECS" "$1" 2>/dev/null | awk -v c="$2" '$0 ~ c {v=$NF} END {print v}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

# Two alternating rounds, best of each: the machine is shared, and a load burst
# during one measurement should not decide the ratio.
ROUNDS=${BENCH_ROUNDS:-2}
best() { awk -v a="$1" -v b="$2" 'BEGIN { print (a + 0 > b + 0) ? a : b }'; }
S=$VECTORS/snp/virtee-sev
snp=0 p384=0 tdx=0 p256=0
for ((i = 0; i < ROUNDS; i++)); do
	r=$("$B" snp "$S/report_milan.bin" "$S/vcek_milan.der" "$S/cert_chain_milan" "$SECS") || exit 1
	snp=$(best "$snp" "$r")
	p384=$(best "$p384" "$(speed ecdsap384 nistp384)")
	r=$("$B" tdx "$VECTORS/tdx/trustee/tdx_quote_4.dat" "$SECS") || exit 1
	tdx=$(best "$tdx" "$r")
	p256=$(best "$p256" "$(speed ecdsap256 nistp256)")
done
echo "snp: $snp reports/s verified (chain cached); openssl ecdsap384 verify: $p384/s; ratio $(ratio "$snp" "$p384")"
echo "tdx: $tdx quotes/s verified (PCK chain, QE report cached); openssl ecdsap256 verify: $p256/s; ratio $(ratio "$tdx" "$p256")"
