#!/usr/bin/env bash
# vigil-attestd complete KBS flows (auth, attest with simulated SNP evidence, resource)
# from N concurrent keep-alive clients on SQLite, beside the raw P-384 verify rate of
# `openssl speed` measured in the same run. Goal: flows/s >= 0.5x the raw verify rate;
# p99 < 10 ms at 32 clients (reported saturated and at half the saturated rate).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${VIGIL_BUILD:-$ROOT/build}
SECS=${BENCH_SECONDS:-5}
B=$BUILD/bench/attestd
[[ -x "$B" && -x "$BUILD/bin/vigil-attestd" ]] || { echo "bench/attestd: not built (make)"; exit 1; }
command -v openssl >/dev/null || { echo "SKIP: openssl not installed"; exit 0; }
TMP=$(mktemp -d /tmp/vigil-bench-attestd.XXXXXX)
PID=
trap 'kill -9 $PID 2>/dev/null; rm -rf "$TMP"' EXIT
cd "$TMP" || exit 1
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT
openssl genpkey -algorithm ed25519 -out admin.key 2>/dev/null
openssl pkey -in admin.key -pubout -out admin.pub
"$B" http://127.0.0.1:1 "$TMP/sim" 1 0.01 x/y/z >/dev/null 2>&1 # creates the simulated identity
M=$(printf '5a%.0s' {1..48})
cat >policy.json <<JSON
{"version": 1, "simulated": true, "workloads": {"w": {"snp": {"measurement": ["$M"]}}},
 "resources": [{"path": "bench/key/*", "workloads": ["w"], "allow_simulated": true}]}
JSON
"$BUILD/bin/vigil-attestd" --listen "127.0.0.1:$PORT" --state-dir "$TMP/state" --policy policy.json \
	--admin-key admin.pub --trust-sim-root sim/sim-snp/ark.pem --max-sessions 1000000 2>attestd.log &
PID=$!
for _ in $(seq 100); do curl -sf "$URL/healthz" >/dev/null 2>&1 && break; sleep 0.05; done
echo -n "bench-secret" | "$BUILD/bin/vigil" kbs --url "$URL" --admin-key admin.key put-resource bench/key/k - >/dev/null || exit 1

# openssl speed divides by CPU time unless -elapsed: measure both (same run, same machine).
p384=$(openssl speed -elapsed -seconds "$SECS" ecdsap384 2>/dev/null | awk '/nistp384/ {v=$NF} END {print v}')
p384cpu=$(openssl speed -seconds "$SECS" ecdsap384 2>/dev/null | awk '/nistp384/ {v=$NF} END {print v}')
scpu() { awk '{print ($14 + $15) / 100}' "/proc/$PID/stat"; }
s0=$(scpu)
sat=$("$B" "$URL" "$TMP/sim" 32 "$SECS" bench/key/k) || { echo "bench/attestd: $sat"; exit 1; }
s1=$(scpu)
fps=$(awk '{print $1}' <<<"$sat")
half=$(awk -v f="$fps" 'BEGIN {printf "%d", f / 2}')
paced=$("$B" "$URL" "$TMP/sim" 32 "$SECS" bench/key/k "$half")
one=$("$B" "$URL" "$TMP/sim" 1 "$SECS" bench/key/k)
ratio=$(awk -v a="$fps" -v b="$p384" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
# CPU-normalised: flows per CPU-second of service + clients, times the 2 cores, against verifies
# per CPU-second (what the ratio would be on an otherwise idle 2-core machine).
flows=$(sed -n 's/.* flows \([0-9]*\) .*/\1/p' <<<"$sat")
ccpu=$(sed -n 's/.* client_cpu \([0-9.]*\) s.*/\1/p' <<<"$sat")
norm=$(awk -v f="$flows" -v s="$(awk -v a="$s0" -v b="$s1" 'BEGIN{print b-a}')" -v c="$ccpu" -v v="$p384cpu" \
	'BEGIN { if (s + c > 0 && v > 0) printf "%.2f (service %.2f ms + clients %.2f ms CPU per flow)", 2 * f / (s + c) / v, 1000 * s / f, 1000 * c / f; else print "n/a" }')
echo "32 clients, saturated:      $sat"
echo "32 clients, at $half flows/s: $paced"
echo "1 client:                   $one"
echo "openssl ecdsap384 verify: $p384/s wall-clock, $p384cpu/s per CPU-second (one core)"
echo "flows/s ratio $ratio (goal >= 0.5); CPU-normalised 2-core ratio $norm"
echo "load average during the run: $(cut -d' ' -f1-3 /proc/loadavg)"
kill -TERM $PID
wait $PID
"$BUILD/bin/vigil-attestd" audit verify --state-dir "$TMP/state" >/dev/null || { echo "audit chain broken after the bench"; exit 1; }
