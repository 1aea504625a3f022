#!/usr/bin/env bash
# Appraisals per second of a real SNP report (chain cached) under a realistic
# policy (20 workloads, 50 measurements) including an ES256 EAR JWT (and, second
# figure, a CWT), beside the raw P-384 ECDSA verify rate measured in the same
# process. Cost ratio = raw verify rate / appraisal rate. Goal: <= 1.15.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${VIGIL_BUILD:-$ROOT/build}
VECTORS=${VIGIL_VECTORS:-$ROOT/../shared/vectors}
SECS=${BENCH_SECONDS:-3}
B=$BUILD/bench/appraise
[[ -x "$B" ]] || { echo "bench/appraise: $B not built (make)"; exit 1; }
[[ -d "$VECTORS" ]] || { echo "SKIP: vectors not found"; exit 0; }
S=$VECTORS/snp/virtee-sev
# The figures of one run are interleaved in 50 ms slices (load on the shared machine
# falls on all alike); ROUNDS runs, each ratio reported, and their mean.
ROUNDS=${BENCH_ROUNDS:-2}
cost() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'; }
sj=0 sc=0
for ((i = 1; i <= ROUNDS; i++)); do
	out=$("$B" "$S/report_milan.bin" "$S/vcek_milan.der" "$S/cert_chain_milan" "$SECS") || exit 1
	eval "$(echo "$out" | tr ' ' '\n' | sed 's/^/r_/')"
	cj=$(cost "$r_raw" "$r_appraise") cc=$(cost "$r_raw" "$r_cwt")
	echo "round $i: raw P-384 ECDSA verify $r_raw/s; SNP verify (chain cached) $r_verify/s ($(cost "$r_raw" "$r_verify")x);" \
		"appraise+JWT $r_appraise/s (${cj}x); appraise+CWT $r_cwt/s (${cc}x)"
	sj=$(awk -v a="$sj" -v b="$cj" 'BEGIN { print a + b }') sc=$(awk -v a="$sc" -v b="$cc" 'BEGIN { print a + b }')
done
echo "appraisal (20 workloads, 50 measurements) + EAR JWT ES256: cost $(awk -v s="$sj" -v n="$ROUNDS" 'BEGIN { printf "%.3f", s / n }')x the raw P-384 verify (goal <= 1.15)"
echo "appraisal + EAR CWT ES256: cost $(awk -v s="$sc" -v n="$ROUNDS" 'BEGIN { printf "%.3f", s / n }')x the raw P-384 verify"
