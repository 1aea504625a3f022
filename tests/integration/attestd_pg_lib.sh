# Sourced by the multi-instance tests and bench/attestd_pg.sh (after lib.sh or
# with BIN, BUILD, ROOT and a temporary directory WORK set). Gives:
#   pg_up                 a throwaway PostgreSQL cluster: PG_DIR, PG_SPEC (fails, never skips)
#   pg_stop / pg_start    stop (fast) and start it again (data kept)
#   pg_down               destroy it (also run by attestd_cleanup)
#   attestd_setup DIR     admin key, shared token key and KEK, simulated platform,
#                         a development policy granting repo/key/* to the simulated
#                         guest, secret file: sets A_DIR
#   attestd_start N DB    starts instance N (port A_PORT_BASE+N) on database spec DB;
#                         retries until /healthz answers (bounded), like a supervisor
#   attestd_kill N        kill -9 instance N
#   attestd_urls N        "--url http://127.0.0.1:P1 --url ..." for instances 1..N
#   attestd_cleanup       stops every instance started here and the cluster
PG_CLUSTER=$ROOT/tests/integration/pg_cluster.sh
LOAD=$BUILD/tests/integration/attestd_load
PG_DIR= PG_SPEC=
declare -A A_PID=()
A_PORT_BASE=${A_PORT_BASE:-$((20000 + RANDOM % 20000))}

pg_up() {
	PG_DIR=$("$PG_CLUSTER" init) || return 1
	"$PG_CLUSTER" start "$PG_DIR" || return 1
	PG_SPEC=$("$PG_CLUSTER" spec "$PG_DIR")
}
pg_stop() { "$PG_CLUSTER" stop "$PG_DIR"; }
pg_start() { "$PG_CLUSTER" start "$PG_DIR"; }
pg_down() {
	[[ -n $PG_DIR ]] && "$PG_CLUSTER" destroy "$PG_DIR"
	PG_DIR=
}

attestd_setup() {
	A_DIR=$1
	mkdir -p "$A_DIR/sim"
	openssl genpkey -algorithm ed25519 -out "$A_DIR/admin.pem" 2>/dev/null &&
		openssl pkey -in "$A_DIR/admin.pem" -pubout -out "$A_DIR/admin_pub.pem" &&
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$A_DIR/token.pem" 2>/dev/null ||
		return 1
	# Several instances share the token-signing key and the KEK (docs/attestd.md).
	head -c 32 /dev/urandom >"$A_DIR/kek"
	chmod 600 "$A_DIR/kek" "$A_DIR/token.pem" "$A_DIR/admin.pem"
	printf 'the disk key of the payments guest' >"$A_DIR/secret"
	# Creates the simulated platform's keys (one failed flow against nothing listening).
	"$LOAD" run --url http://127.0.0.1:9 --sim-state "$A_DIR/sim" --path repo/key/x \
		--secret-file "$A_DIR/secret" --flows 1 --clients 1 >/dev/null 2>&1
	[[ -f $A_DIR/sim/sim-snp/ark.pem ]] || return 1
	local m
	m=$(printf '5a%.0s' $(seq 48)) # the measurement attestd/client.c's simulated guest reports
	cat >"$A_DIR/policy.json" <<EOF
{"version": 1, "simulated": true, "freshness": {"require_nonce": true},
 "workloads": {"payments": {"snp": {"measurement": ["$m"]}}},
 "platform": {"snp": {"allow_smt": true, "signing_keys": ["VCEK", "VLEK"]},
              "tdx": {"accepted_tcb_status": ["UpToDate"], "collateral_required": false}},
 "resources": [{"path": "repo/key/*", "workloads": ["payments"], "allow_simulated": true}]}
EOF
}

attestd_port() { echo $((A_PORT_BASE + $1)); }

attestd_start() { # N DBSPEC [extra flags...]
	local n=$1 db=$2
	shift 2
	local port
	port=$(attestd_port "$n")
	mkdir -p "$A_DIR/inst$n"
	local i
	for i in $(seq 1 100); do
		"$BIN/vigil-attestd" --listen "127.0.0.1:$port" --state-dir "$A_DIR/inst$n" \
			--policy "$A_DIR/policy.json" --admin-key "$A_DIR/admin_pub.pem" --db "$db" \
			--token-key "$A_DIR/token.pem" --kek-file "$A_DIR/kek" \
			--trust-sim-root "$A_DIR/sim/sim-snp/ark.pem" "$@" >>"$A_DIR/inst$n.log" 2>&1 &
		A_PID[$n]=$!
		local j
		for j in $(seq 1 40); do
			if curl -fs -o /dev/null "http://127.0.0.1:$port/healthz"; then return 0; fi
			kill -0 "${A_PID[$n]}" 2>/dev/null || break # exited (database down?): start again
			sleep 0.05
		done
		kill -9 "${A_PID[$n]}" 2>/dev/null
		wait "${A_PID[$n]}" 2>/dev/null
		sleep 0.2
	done
	echo "instance $n did not come up: $(tail -2 "$A_DIR/inst$n.log")" >&2
	return 1
}

attestd_kill() {
	local n=$1
	[[ -n ${A_PID[$n]:-} ]] || return 0
	kill -9 "${A_PID[$n]}" 2>/dev/null
	wait "${A_PID[$n]}" 2>/dev/null
	A_PID[$n]=
}

attestd_stop() {
	local n=$1
	[[ -n ${A_PID[$n]:-} ]] || return 0
	kill -TERM "${A_PID[$n]}" 2>/dev/null
	wait "${A_PID[$n]}" 2>/dev/null
	A_PID[$n]=
}

attestd_urls() {
	local i
	for i in $(seq 1 "$1"); do printf -- '--url http://127.0.0.1:%s ' "$(attestd_port "$i")"; done
}

attestd_cleanup() {
	local n
	for n in "${!A_PID[@]}"; do attestd_kill "$n"; done
	pg_down
}
