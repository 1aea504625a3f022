#!/usr/bin/env bash
# Issue 12 fault run: three vigil-attestd instances on one PostgreSQL under a
# load of complete KBS flows (auth on one instance, attest on the next,
# resource on the third: sessions live in the database). While it runs, one
# instance is killed with SIGKILL every few seconds and restarted, and
# PostgreSQL is stopped for a few seconds and started again. Afterwards:
#   - every flow completed or failed with a clear error to its client (lost: 0)
#   - no secret reached a client without its release record in the audit log
#   - `vigil-attestd audit verify --db postgresql://...` verifies the one chain
#   - the instances recovered by themselves: all answer, and fresh flows on
#     every instance complete
# Bounded: about 35 s of load. PostgreSQL is started by the test (throwaway
# cluster, Unix socket); if it cannot start the test FAILS.
. "$(dirname "$0")/lib.sh"
need_cmd openssl
need_cmd curl
need_cmd jq
. "$(dirname "$0")/attestd_pg_lib.sh"
trap 'attestd_cleanup; rm -rf "$TMP"' EXIT

LOAD_SECONDS=${VIGIL_FAULT_SECONDS:-30}

# (not through `check`: these set variables of this shell)
pg_up
expect_match "a throwaway PostgreSQL cluster starts" '^postgresql:///' "$PG_SPEC"
[[ -n $PG_SPEC ]] || finish
attestd_setup "$TMP/a"
expect_eq "keys, simulated platform and policy" 0 $?
# 30 s of load makes more sessions (each lives 5 min) than the default cap of 10,000 live
# sessions; the cap itself (503 SessionTableFull) is tested in test_attestd.sh, not here.
for n in 1 2 3; do
	attestd_start "$n" "$PG_SPEC" --max-sessions 1000000
	expect_eq "instance $n starts on $PG_SPEC" 0 $?
done
check "a secret is registered through instance 1's admin API" \
	"$LOAD" put "http://127.0.0.1:$(attestd_port 1)" "$TMP/a/admin.pem" repo/key/disk "$TMP/a/secret"

# shellcheck disable=SC2046
"$LOAD" run $(attestd_urls 3) --sim-state "$TMP/a/sim" --path repo/key/disk --secret-file "$TMP/a/secret" \
	--clients 6 --seconds "$LOAD_SECONDS" --released "$TMP/released.txt" --failures "$TMP/failures.txt" \
	--json >"$TMP/load.json" 2>"$TMP/load.err" &
load_pid=$!

# The faults: a kill -9 + restart every 3 s (instances in turn); PostgreSQL
# stopped for 4 s a third of the way in.
kills=0 restarts_ok=0 pg_cycles=0
t0=$SECONDS
n=1
pg_done=0
while kill -0 "$load_pid" 2>/dev/null && ((SECONDS - t0 < LOAD_SECONDS - 4)); do
	sleep 3
	if ((pg_done == 0 && SECONDS - t0 >= LOAD_SECONDS / 3)); then
		pg_stop
		sleep 4
		pg_start && pg_cycles=$((pg_cycles + 1))
		pg_done=1
		continue
	fi
	attestd_kill "$n"
	kills=$((kills + 1))
	attestd_start "$n" "$PG_SPEC" --max-sessions 1000000 && restarts_ok=$((restarts_ok + 1))
	n=$((n % 3 + 1))
done
wait "$load_pid"
load_rc=$?
echo "# load: $(cat "$TMP/load.json")"
echo "# faults: $kills kill -9 + restart, $pg_cycles PostgreSQL stop/start"
[[ -s $TMP/load.err ]] && sed 's/^/# load stderr: /' "$TMP/load.err" | head -5
sed 's/^/# failure: /' "$TMP/failures.txt" | sort | uniq -c | sort -rn | head -8

get() { jq -r ".$1" "$TMP/load.json" 2>/dev/null; }
completed=$(get completed) failed=$(get failed_cleanly) lost=$(get lost) flows=$(get flows)
expect_eq "the load generator ran to the end (exit 0: nothing lost)" 0 "$load_rc"
expect_eq "lost flows" 0 "$lost"
expect_match "flows completed under the faults" '^[1-9][0-9]*$' "$completed"
expect_match "the faults made flows fail (and each failure reached its client)" '^[1-9][0-9]*$' "$failed"
expect_eq "every instance was killed and restarted (or the run was too short)" "$kills" "$restarts_ok"
expect_match "at least three kill -9 restarts happened" '^([3-9]|[1-9][0-9]+)$' "$kills"
expect_eq "PostgreSQL was stopped and started once" 1 "$pg_cycles"

# Every instance recovered by itself: each answers and fresh flows through all
# three complete with no failure at all.
for n in 1 2 3; do
	check "instance $n answers /healthz after the faults" curl -fs -o /dev/null "http://127.0.0.1:$(attestd_port "$n")/healthz"
done
# shellcheck disable=SC2046
expect_exit 0 "30 fresh flows across the three instances after the faults" \
	"$LOAD" run $(attestd_urls 3) --sim-state "$TMP/a/sim" --path repo/key/disk --secret-file "$TMP/a/secret" \
	--clients 3 --flows 30 --released "$TMP/released2.txt" --json
expect_eq "all 30 fresh flows completed" 30 "$(jq -r .completed <<<"$OUT")"
cat "$TMP/released2.txt" >>"$TMP/released.txt"

# No secret released without its audit record.
expect_exit 0 "audit verify --db postgresql://... : the chain is intact" \
	"$BIN/vigil-attestd" audit verify --state-dir "$TMP/a/inst1" --db "$PG_SPEC"
echo "# $OUT"
check "audit export" bash -c "'$BIN/vigil-attestd' audit export --state-dir '$TMP/a/inst1' --db '$PG_SPEC' >'$TMP/audit.jsonl'"
jq -r 'select(.kind == "release" and .outcome == "ok") | "\(.actor | ltrimstr("session:")) \(.resource)"' \
	"$TMP/audit.jsonl" | sort -u >"$TMP/audit_released.txt"
sort -u "$TMP/released.txt" >"$TMP/client_released.txt"
missing=$(comm -23 "$TMP/client_released.txt" "$TMP/audit_released.txt" | wc -l)
client_n=$(wc -l <"$TMP/client_released.txt")
audit_n=$(wc -l <"$TMP/audit_released.txt")
expect_eq "client-side releases ($client_n) without a release record in the audit log" 0 "$missing"
expect_eq "every completed flow is one distinct session" "$((completed + 30))" "$client_n"
echo "# audit: $audit_n release records for $client_n secrets received" \
	"($((audit_n - client_n)) audited releases whose answer did not reach the client: killed instance or lost commit reply)"
seqs=$(jq -r .seq "$TMP/audit.jsonl" | sort -n | awk 'NR != $1 { bad++ } END { print bad + 0 }')
expect_eq "audit sequence numbers have no gaps" 0 "$seqs"

san=$(cat "$TMP"/a/inst*.log | grep -c -E 'AddressSanitizer|runtime error:|LeakSanitizer')
expect_eq "no sanitizer report in the instances' logs" 0 "$san"

echo "fault run: flows $flows, completed $completed, failed cleanly $failed, lost $lost;" \
	"$kills kill -9 restarts, $pg_cycles PostgreSQL restart; audit chain verified"
finish
