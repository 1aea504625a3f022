#!/usr/bin/env bash
# vigil-attestd scale-out (issue 12): complete KBS flows per second (auth,
# attest with simulated SNP evidence, resource with JWE unwrap) for
#   1 instance on SQLite | 1 instance on PostgreSQL | 3 instances on PostgreSQL
# beside the raw P-384 signature-verify rate (`openssl speed ecdsap384`)
# measured in the same run. Load: tests/integration/attestd_load, C clients
# over keep-alive connections; with 3 instances each flow's three steps go to
# three different instances. Everything (PostgreSQL included) shares this
# machine's cores with the load generator: read the ratios, not the absolutes.
#   BENCH_SECONDS (default 5) per configuration, BENCH_CLIENTS (default 16).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${VIGIL_BUILD:-$ROOT/build}
BIN=$BUILD/bin
SECS=${BENCH_SECONDS:-5}
CLIENTS=${BENCH_CLIENTS:-16}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vigil-bench-attestd.XXXXXX")
. "$ROOT/tests/integration/attestd_pg_lib.sh"
trap 'attestd_cleanup; rm -rf "$WORK"' EXIT
[[ -x $LOAD && -x $BIN/vigil-attestd ]] || { echo "bench/attestd_pg: build first (make)"; exit 1; }
command -v openssl >/dev/null || { echo "bench/attestd_pg: openssl missing"; exit 1; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
field() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p" <<<"$2"; }

attestd_setup "$WORK/a" || { echo "bench/attestd_pg: setup failed"; exit 1; }
pg_up || { echo "bench/attestd_pg: PostgreSQL did not start"; exit 1; }

run() { # label instances
	local label=$1 n=$2 out
	"$LOAD" put "http://127.0.0.1:$(attestd_port 1)" "$WORK/a/admin.pem" repo/key/bench "$WORK/a/secret" || return 1
	# shellcheck disable=SC2046
	out=$("$LOAD" run $(attestd_urls "$n") --sim-state "$WORK/a/sim" --path repo/key/bench \
		--secret-file "$WORK/a/secret" --clients "$CLIENTS" --seconds "$SECS" --json) || return 1
	local fps p50 p99 lost
	fps=$(field flows_per_second "$out") p50=$(field p50_ms "$out") p99=$(field p99_ms "$out") lost=$(field lost "$out")
	printf '%-26s %8s flows/s  p50 %7s ms  p99 %7s ms  lost %s\n' "$label" "$fps" "$p50" "$p99" "$lost"
	eval "FPS_$3=$fps"
}

p384=$(openssl speed -seconds 2 ecdsap384 2>/dev/null | awk '/nistp384/ {v=$NF} END {print v}')

attestd_start 1 "sqlite:$WORK/a/attestd.db" || exit 1
run "1 instance, SQLite" 1 sq || exit 1
attestd_stop 1
attestd_start 1 "$PG_SPEC" || exit 1
run "1 instance, PostgreSQL" 1 pg1 || exit 1
attestd_start 2 "$PG_SPEC" && attestd_start 3 "$PG_SPEC" || exit 1
run "3 instances, PostgreSQL" 3 pg3 || exit 1

echo "raw P-384 verify (openssl speed): $p384/s; $CLIENTS clients, ${SECS}s each, 2 worker threads per instance"
echo "ratios: SQLite/verify $(ratio "$FPS_sq" "$p384"), PG-1/SQLite $(ratio "$FPS_pg1" "$FPS_sq")," \
	"PG-3/PG-1 $(ratio "$FPS_pg3" "$FPS_pg1"), PG-3/verify $(ratio "$FPS_pg3" "$p384")"
