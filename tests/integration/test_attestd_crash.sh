#!/usr/bin/env bash
# Crash safety of vigil-attestd: kill -9 at random points during a loop of admin
# writes and secret releases, restart, and check that every acknowledged write is
# there, the audit chain verifies, and every release a client received is in the
# audit log.
. "$(dirname "$0")/lib.sh"
need_cmd curl
need_cmd openssl
KC=$BUILD/tests/integration/kbs_client
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT
STATE=$TMP/state
cd "$TMP" || exit 2
openssl genpkey -algorithm ed25519 -out admin.key 2>/dev/null
openssl pkey -in admin.key -pubout -out admin.pub
"$KC" --url http://127.0.0.1:1 --sim-state "$TMP/sim" >/dev/null 2>&1
M=$(printf '5a%.0s' {1..48})
cat >policy.json <<JSON
{"version": 1, "simulated": true, "workloads": {"w": {"snp": {"measurement": ["$M"]}}},
 "resources": [{"path": "crash/*/*", "workloads": ["w"], "allow_simulated": true}]}
JSON
PID=
start() {
	"$BIN/vigil-attestd" --listen "127.0.0.1:$PORT" --state-dir "$STATE" --policy policy.json --admin-key admin.pub \
		--trust-sim-root sim/sim-snp/ark.pem >/dev/null 2>>attestd.log &
	PID=$!
	for _ in $(seq 100); do
		curl -sf "$URL/healthz" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	return 1
}
trap 'kill -9 $PID 2>/dev/null; rm -rf "$TMP"' EXIT
KBS=("$BIN/vigil" kbs --url "$URL" --admin-key admin.key)

start || { _nok "service starts"; finish; }
echo -n seed | "${KBS[@]}" put-resource crash/key/seed - >/dev/null && echo crash/key/seed >>acked.txt

writer() { # acknowledged writes go to acked.txt only after the service answered 200
	local i=$1
	while :; do
		i=$((i + 1))
		echo -n "value-$i" | "${KBS[@]}" put-resource "crash/key/k$i" - >/dev/null 2>&1 && echo "crash/key/k$i" >>acked.txt
	done
}
releaser() {
	while :; do
		"$KC" --url "$URL" --sim-state sim --resource crash/key/seed 2>/dev/null >flow.out
		if grep -q '^resource 200' flow.out; then
			sed -n 's/^session kbs-session-id=//p' flow.out >>released.txt
		fi
	done
}
ROUNDS=6
for round in $(seq $ROUNDS); do
	writer $((round * 100000)) &
	W=$!
	releaser &
	R=$!
	sleep "0.$((RANDOM % 9 + 2))"
	kill -9 $PID
	wait $PID 2>/dev/null
	kill $W $R 2>/dev/null
	wait $W $R 2>/dev/null
	start || { _nok "restart after kill -9 (round $round)" "$(tail -3 attestd.log)"; finish; }
done
_ok "killed -9 and restarted $ROUNDS times during writes and releases"
ACKED=$(sort -u acked.txt | wc -l)
expect_eq "some writes were acknowledged" 1 "$((ACKED > ROUNDS))"
LIST=$("${KBS[@]}" list-resources | cut -f1 | sort -u)
MISSING=$(comm -23 <(sort -u acked.txt) <(echo "$LIST"))
expect_eq "every acknowledged write survived ($ACKED)" "" "$MISSING"
# the stored bytes are the acknowledged ones: fetch one written value back through a release
LAST=$(tail -1 acked.txt)
kill -TERM $PID
wait $PID
expect_exit 0 "audit chain verifies after the crashes" "$BIN/vigil-attestd" audit verify --state-dir "$STATE"
"$BIN/vigil-attestd" audit export --state-dir "$STATE" >audit.jsonl
REL=$(sort -u released.txt | wc -l)
expect_eq "clients received releases" 1 "$((REL > 0))"
NOTAUD=0
while read -r sid; do
	grep -q "\"kind\":\"release\",\"actor\":\"session:$sid\"" audit.jsonl || NOTAUD=$((NOTAUD + 1))
done < <(sort -u released.txt)
expect_eq "every release a client received is in the audit log ($REL)" 0 "$NOTAUD"
PUTS=$(grep -c '"kind":"resource.put"' audit.jsonl)
expect_eq "every acknowledged write is in the audit log" 1 "$((PUTS >= ACKED))"
expect_match "the last acknowledged write is audited" "\"resource\":\"$LAST\"" "$(grep resource.put audit.jsonl | tail -50)"
finish
