# Sourced after lib.sh by the tests that run vigil-agent against the service (test_agent).
# Gives:
#   $GUEST $AGENT, VMM_EXTRA (agent flags for sanitizer runs), PIDS (killed at exit)
#   sim_policy FILE SNP_JSON [TDX_JSON]   a development policy from predictions: workloads w-snp
#                                         (w-tdx), default/key/* to them, simulated evidence allowed
#   admin_keys DIR                        DIR/admin.key, DIR/admin.pub (Ed25519)
#   start_attestd LOG ARGS...             vigil-attestd on 127.0.0.1:0; sets ATTESTD_PID, URL
GUEST=$BUILD/guest/attest.bin
[[ -f $GUEST ]] || skip_all "attest guest not built"
AGENT=$BIN/vigil-agent
VMM_EXTRA=()
if [[ -n "${VIGIL_SANITIZE:-}" ]]; then
	export ASAN_OPTIONS=detect_leaks=0
	VMM_EXTRA=(--vmm-arg --no-sandbox)
fi
PIDS=()
_agent_cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$TMP"
}
trap _agent_cleanup EXIT

sim_policy() { # FILE SNP_JSON [TDX_JSON]
	"$BIN/vigil" policy init --simulated >"$1" 2>/dev/null &&
		"$BIN/vigil" policy add-workload "$1" --name w-snp --from "$2" --resources 'default/key/*' \
			--allow-simulated 2>/dev/null &&
		{ [[ -z ${3:-} ]] || "$BIN/vigil" policy add-workload "$1" --name w-tdx --from "$3" \
			--resources 'default/key/*' --allow-simulated 2>/dev/null; }
}

admin_keys() { # DIR
	openssl genpkey -algorithm ed25519 -out "$1/admin.key" 2>/dev/null &&
		openssl pkey -in "$1/admin.key" -pubout -out "$1/admin.pub" 2>/dev/null
}

start_attestd() { # LOG ARGS...
	local log=$1 port=
	shift
	: >"$log"
	"$BIN/vigil-attestd" --listen 127.0.0.1:0 "$@" 2>"$log" &
	ATTESTD_PID=$!
	PIDS+=($!)
	for _ in $(seq 300); do
		port=$(sed -n 's/.*"event":"listening".*"port":\([0-9]*\).*/\1/p' "$log" | head -1)
		[[ -n $port ]] && break
		kill -0 "$ATTESTD_PID" 2>/dev/null || break
		sleep 0.05
	done
	URL=http://127.0.0.1:$port
	[[ -n $port ]]
}
