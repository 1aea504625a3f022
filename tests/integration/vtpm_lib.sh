# Sourced by the vTPM tests (tests/integration/test_vtpm*.sh,
# test_eventlog.sh) and bench/vtpm.sh, after $TMP is set: servers started
# with vtpm_spawn are stopped (SIGTERM) and $TMP removed at exit.
#   vtpm_free_pair FIRST        first P >= FIRST (step 2) with P and P+1 free
#   vtpm_wait_port PORT         waits (10 s at most) until PORT accepts
#   vtpm_spawn LOG CMD...       runs CMD in the background (stderr to LOG); PID
#   vtpm_stop                   SIGTERM to PID, waits; returns its exit code
VTPM_PIDS=()
vtpm_cleanup() {
	local p
	for p in "${VTPM_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$TMP"
}
trap vtpm_cleanup EXIT

vtpm_port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
vtpm_free_pair() {
	local p
	for p in $(seq "$1" 2 $(($1 + 98))); do
		if vtpm_port_free "$p" && vtpm_port_free $((p + 1)); then
			echo "$p"
			return 0
		fi
	done
	return 1
}
vtpm_wait_port() {
	local _
	for _ in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		[[ -n "${PID:-}" ]] && ! kill -0 "$PID" 2>/dev/null && return 1
		sleep 0.1
	done
	return 1
}
vtpm_spawn() {
	local log=$1
	shift
	"$@" >/dev/null 2>>"$log" &
	PID=$!
	VTPM_PIDS+=("$PID")
}
vtpm_stop() {
	kill -TERM "$PID"
	timeout 20 tail --pid="$PID" -f /dev/null
	wait "$PID"
}
