#!/usr/bin/env bash
# Several vigil-attestd instances on one PostgreSQL (a throwaway cluster: Debian's postgresql,
# initdb and pg_ctl in a temporary directory as an unprivileged user, loopback TCP):
# migrations on start (three instances at once), the same behaviour as SQLite through the
# real service, sessions shared (auth on one instance, attest on a second, resource on a
# third), concurrent flows with one verifiable audit chain, and recovery from faults:
# PostgreSQL stopped and started again, an instance killed with SIGKILL and restarted.
. "$(dirname "$0")/lib.sh"
need_cmd openssl
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -x $PGBIN/initdb && -x $PGBIN/pg_ctl ]] || skip_all "PostgreSQL server binaries not installed (postgresql)"
/usr/bin/python3 -c 'import cryptography' 2>/dev/null || skip_all "python3-cryptography not installed"
. "$(dirname "$0")/agent_lib.sh"

# ------------------------------------------------------- a throwaway cluster
PGDIR=$(mktemp -d /tmp/vigil-pg.XXXXXX) # outside $TMP: the server's user must reach it
AS=()
if ((EUID == 0)); then
	id postgres >/dev/null 2>&1 || skip_all "running as root and no 'postgres' user to run the server as"
	chown postgres "$PGDIR"
	AS=(runuser -u postgres --)
fi
pg() { "${AS[@]}" "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" "$@" >/dev/null 2>&1; } # stopped at exit
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PGPORT=$(free_port)
"${AS[@]}" "$PGBIN/initdb" -D "$PGDIR/data" -A trust -U vigil -E UTF8 --no-sync >"$PGDIR/initdb.log" 2>&1 ||
	skip_all "initdb failed: $(tail -1 "$PGDIR/initdb.log")"
PGOPTS="-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60"
pg_start() { pg -w -t 30 -o "$PGOPTS" start; }
check "a throwaway PostgreSQL cluster starts on 127.0.0.1:$PGPORT" pg_start
"$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U vigil vigil
DB="postgresql://vigil@127.0.0.1:$PGPORT/vigil"

# The store's unit suite, the one SQLite runs in `make unit`, on this PostgreSQL.
"$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U vigil vigil_unit
if [[ -x $BUILD/tests/unit/test_attestd_store ]]; then
	VIGIL_TEST_PG="postgresql://vigil@127.0.0.1:$PGPORT/vigil_unit" expect_exit 0 \
		"the store unit suite (sessions, resources, policies, audit tampering) passes on PostgreSQL" \
		"$BUILD/tests/unit/test_attestd_store"
	expect_match "... every test of it" 'PASSED +\] [1-9][0-9]* test' "$OUT$ERR"
fi

# ------------------------------------------------------------- the tenant side
STATE=$TMP/sim
"$AGENT" evidence --tee sim-snp --state-dir "$STATE" --report-data "$(openssl rand -hex 64)" "${VMM_EXTRA[@]}" >/dev/null
"$AGENT" evidence --tee sim-tdx --state-dir "$STATE" --report-data "$(openssl rand -hex 64)" "${VMM_EXTRA[@]}" >/dev/null
"$BIN/vigil" measure snp --firmware "$GUEST" --vmm-type vigil --vcpus 1 --json >"$TMP/snp.json"
"$BIN/vigil" measure tdx --firmware "$GUEST" --json >"$TMP/tdx.json"
sim_policy "$TMP/policy.json" "$TMP/snp.json" "$TMP/tdx.json"
admin_keys "$TMP"
# One KEK and one token key for all instances (each instance has its own state directory).
openssl rand -hex 32 >"$TMP/kek"
chmod 600 "$TMP/kek"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$TMP/token.pem" 2>/dev/null

declare -A URL PID
start_instance() { # name (in the background: three start together)
	local n=$1
	: >"$TMP/$n.log"
	"$BIN/vigil-attestd" --listen 127.0.0.1:0 --state-dir "$TMP/state-$n" --db "$DB" --policy "$TMP/policy.json" \
		--admin-key "$TMP/admin.pub" --kek-file "$TMP/kek" --token-key "$TMP/token.pem" \
		--trust-sim-root "$STATE/sim-snp/ark.pem" --trust-sim-root "$STATE/sim-tdx/root.pem" 2>"$TMP/$n.log" &
	PID[$n]=$!
	PIDS+=($!)
}
wait_instance() { # name -> URL[name]
	local n=$1 port=
	for _ in $(seq 300); do
		port=$(sed -n 's/.*"event":"listening".*"port":\([0-9]*\).*/\1/p' "$TMP/$n.log" | head -1)
		[[ -n $port ]] && break
		kill -0 "${PID[$n]}" 2>/dev/null || break
		sleep 0.05
	done
	URL[$n]=http://127.0.0.1:$port
	[[ -n $port ]]
}
for n in a b c; do start_instance $n; done # together: the migration runs once
for n in a b c; do
	wait_instance $n
	expect_eq "instance $n starts on PostgreSQL (migrations applied)" 0 $?
done
expect_eq "the schema was migrated exactly once" 1 \
	"$("$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U vigil -d vigil -Atc 'SELECT COUNT(*) FROM schema_migrations')"

KBS=("$BIN/vigil" kbs --admin-key "$TMP/admin.key")
head -c 40 /dev/urandom >"$TMP/secret"
SUM=$(sha256sum <"$TMP/secret" | cut -d' ' -f1)
check "a secret stored through instance a" "${KBS[@]}" --url "${URL[a]}" put-resource default/key/pg "$TMP/secret"
check "instance c lists it" "${KBS[@]}" --url "${URL[c]}" list-resources
expect_match "... by its path" 'default/key/pg' "$OUT"

# ------------------------------------------------------------- one flow, three instances
SPLIT=(/usr/bin/python3 "$ROOT/tests/integration/kbs_split_client.py" "$AGENT")
VA=() # vigil-vmm arguments for the split client (it passes them as --vmm-arg)
[[ -n "${VIGIL_SANITIZE:-}" ]] && VA=(--no-sandbox)
SPLIT_OK=0
for plat in sim-snp sim-tdx; do
	expect_exit 0 "$plat: auth on a, attest on b, resource on c" "${SPLIT[@]}" "$plat" "$STATE" default/key/pg \
		"${URL[a]}" "${URL[b]}" "${URL[c]}" ${VA[@]+"${VA[@]}"}
	expect_eq "... the secret arrives (JWE unwrapped by python cryptography)" "$SUM" "$OUT"
	[[ $OUT == "$SUM" ]] && SPLIT_OK=$((SPLIT_OK + 1))
done
expect_exit 0 "vigil-agent against instance b alone" "$AGENT" get-resource --url "${URL[b]}" default/key/pg \
	-o "$TMP/got-b" --tee sim-tdx --state-dir "$STATE" "${VMM_EXTRA[@]}"
expect_eq "... the same secret" "$SUM" "$(sha256sum <"$TMP/got-b" | cut -d' ' -f1)"
expect_exit 1 "a refusal on PostgreSQL as on SQLite (debug TD)" "$AGENT" get-resource --url "${URL[c]}" \
	default/key/pg --tee sim-tdx --vmm-arg --tdx-attributes --vmm-arg 0x10000001 --state-dir "$STATE" "${VMM_EXTRA[@]}"
expect_match "... explained" 'debug TD' "$ERR"

# ------------------------------------------------------------- load and faults
# flow N INSTANCE: one complete agent flow; prints "N ok" or "N failed: <message>"
flow() {
	local i=$1 inst=$2 plat=sim-tdx
	((i % 2)) && plat=sim-snp
	if "$AGENT" get-resource --timeout 20 --url "${URL[$inst]}" default/key/pg -o "$TMP/flow-$i" --tee $plat \
		--state-dir "$STATE" "${VMM_EXTRA[@]}" 2>"$TMP/flow-$i.err"; then
		if [[ $(sha256sum <"$TMP/flow-$i" | cut -d' ' -f1) == "$SUM" ]]; then echo "$i ok"; else echo "$i wrong-secret"; fi
	else
		echo "$i failed: $(tail -1 "$TMP/flow-$i.err")"
	fi
}
inst_of() { local k=(a b c); echo "${k[$(($1 % 3))]}"; }
: >"$TMP/flows"
for i in $(seq 1 24); do flow "$i" "$(inst_of "$i")" >>"$TMP/flows" & done
wait_flows() { for _ in $(seq 600); do (($(wc -l <"$TMP/flows") >= $1)) && return 0; sleep 0.1; done; return 1; }
check "24 concurrent flows over three instances finish" wait_flows 24
expect_eq "... all of them got the secret" 24 "$(grep -c ' ok$' "$TMP/flows")"
check "the audit chain written by three instances verifies" "$BIN/vigil-attestd" audit verify --state-dir "$TMP/state-a" --db "$DB"
expect_match "... and says so" 'intact' "$OUT$ERR"

# Faults: flows run while PostgreSQL stops and starts, and while instance b is killed.
: >"$TMP/flows"
for i in $(seq 101 118); do
	flow "$i" "$(inst_of "$i")" >>"$TMP/flows" &
	sleep 0.15
	if ((i == 104)); then pg -m fast stop; fi
	if ((i == 108)); then pg_start; fi
	if ((i == 111)); then
		kill -9 "${PID[b]}"
		wait "${PID[b]}" 2>/dev/null
	fi
	if ((i == 113)); then
		start_instance b
		wait_instance b || echo "# instance b did not restart: $(tail -1 "$TMP/b.log")"
	fi
done
check "18 flows during the faults finish (completed or failed, none hangs)" wait_flows 18
OKS=$(grep -c ' ok$' "$TMP/flows")
FAILED=$(grep -c ' failed: ' "$TMP/flows")
echo "# fault run: $OKS completed, $FAILED failed with an error to their client, $((18 - OKS - FAILED)) otherwise"
sed -n 's/^[0-9]* failed: /#   /p' "$TMP/flows" | sort | uniq -c | sed 's/^/# /' 
expect_eq "... every flow completed or failed cleanly (nothing else)" 18 $((OKS + FAILED))
check "... the failures name their cause in one line" test -z "$(grep ' failed: $' "$TMP/flows")"
check "... and some completed" test "$OKS" -gt 0
for n in a b c; do
	expect_exit 0 "instance $n serves again after the faults (it recovered by itself)" "$AGENT" get-resource \
		--url "${URL[$n]}" default/key/pg -o "$TMP/after-$n" --tee sim-snp --state-dir "$STATE" "${VMM_EXTRA[@]}"
done
check "the audit chain still verifies" "$BIN/vigil-attestd" audit verify --state-dir "$TMP/state-a" --db "$DB"
"$BIN/vigil-attestd" audit export --state-dir "$TMP/state-a" --db "$DB" >"$TMP/audit.jsonl" 2>/dev/null
RELEASED=$(grep -c '"kind":"release".*"outcome":"ok"' "$TMP/audit.jsonl")
GOT=$(( $(ls "$TMP"/flow-* 2>/dev/null | grep -vc '\.err$') + $(ls "$TMP"/got-b "$TMP"/after-* 2>/dev/null | wc -l) + SPLIT_OK ))
check "no secret left without its audit record ($RELEASED releases recorded, $GOT received)" test "$RELEASED" -ge "$GOT"
finish
