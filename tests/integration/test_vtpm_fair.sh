#!/usr/bin/env bash
# No client can stall vigil-tpm (issue 13): idle connections beyond the
# connection table do not lock others out, 200 clients at once all get their
# answer (the backlog queues, nobody is reset), a control client that trickles
# one byte a second holds up no data client and is closed at the command
# deadline, idle TCP connections are closed after --idle-timeout.
# Every wait is bounded (timeout, or a fixed number of rounds).
. "$(dirname "$0")/lib.sh"
need_cmd tpm2_getrandom
[[ -x /usr/bin/python3 ]] || skip_all "python3 not installed"
. "$(dirname "$0")/vtpm_lib.sh"
PYC="/usr/bin/python3 $ROOT/tests/integration/vtpm_ctrl.py"
PORT=$(vtpm_free_pair 24800) || skip_all "no free port pair in 24800-24899"
CP=$((PORT + 1))
export TPM2TOOLS_TCTI="swtpm:host=127.0.0.1,port=$PORT"
head -c 32 /dev/urandom >"$TMP/key"
chmod 600 "$TMP/key"
ulimit -n 4096 2>/dev/null

vtpm_spawn "$TMP/server.log" "$BIN/vigil-tpm" --port "$PORT" --ctrl-tcp --state "$TMP/state" --key-file "$TMP/key" \
	--startup-clear --idle-timeout 4 --command-timeout 3
vtpm_wait_port "$PORT"
SOCK=$TMP/state/ctrl.sock

# 8 idle data and 8 idle control connections (the old server's whole table)
$PYC idle "127.0.0.1:$PORT" 8 6 >"$TMP/idle-data" &
IDLE1=$!
$PYC idle "127.0.0.1:$CP" 8 6 >"$TMP/idle-ctrl" &
IDLE2=$!
sleep 1
check "with 16 idle connections a data client is served" timeout 3 tpm2_getrandom --hex 4
expect_match "... and the owner's control socket answers" '^00000000' "$($PYC req "$SOCK" 00000001 8)"
wait "$IDLE1" "$IDLE2"
expect_eq "idle data connections closed after --idle-timeout" 8 "$(cat "$TMP/idle-data")"
expect_eq "idle control connections closed after --idle-timeout" 8 "$(cat "$TMP/idle-ctrl")"

# more idle connections than the table has slots: the longest idle makes room
$PYC idle "127.0.0.1:$PORT" 80 3 >/dev/null &
IDLE3=$!
sleep 1
check "with 80 idle connections (more than the table) a client is served" timeout 3 tpm2_getrandom --hex 4
wait "$IDLE3"

# 200 clients at once: every one gets its random bytes, none is reset
OUT=$(timeout 60 $PYC crowd "$PORT" 200)
expect_eq "200 concurrent clients: all answered, no reset" "ok=200 reset=0 other=0" "$OUT"

# a control client trickling CMD_INIT one byte per second
$PYC trickle "127.0.0.1:$CP" 000000020000000000 1 12 >"$TMP/trickle" &
TRICKLE=$!
sleep 1.5
check "a trickling control client does not block a data client" timeout 2 tpm2_getrandom --hex 4
wait "$TRICKLE"
expect_match "the trickling client is closed at the command deadline" "^closed after" "$(cat "$TMP/trickle")"
# the same on the data channel: half a command, then silence
$PYC trickle "127.0.0.1:$PORT" 80010000000c0000017b0008 1 12 >"$TMP/trickle2" &
TRICKLE=$!
sleep 1.5
check "a trickling data client does not block another" timeout 2 tpm2_getrandom --hex 4
wait "$TRICKLE"
expect_match "... and is closed at the command deadline" "^closed after" "$(cat "$TMP/trickle2")"
# a client that sends commands and never reads the answers
/usr/bin/python3 - "$PORT" <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
try:
    for _ in range(20000):
        s.send(bytes.fromhex("80010000000c0000017b0400"))
except OSError:
    pass
time.sleep(5)
PY
NOREAD=$!
sleep 1
check "a client that never reads its answers blocks no one" timeout 2 tpm2_getrandom --hex 4
wait "$NOREAD"
check "the server is still up" kill -0 "$PID"
vtpm_stop
expect_eq "stops cleanly" 0 $?
finish
