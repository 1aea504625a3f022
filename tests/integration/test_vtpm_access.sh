#!/usr/bin/env bash
# Who may talk to vigil-tpm (issue 13, docs/vtpm.md "Who may talk to
# vigil-tpm"), tried as the unprivileged user `nobody`:
#  - the control channel is a UNIX socket, 0600 in the 0700 state directory;
#    even a socket made world-writable by a careless operator refuses a peer
#    whose uid is not the server's (SO_PEERCRED);
#  - no TCP control port unless --ctrl-tcp, and that one refuses everything
#    that stops, resets or reads the TPM (STOP, SHUTDOWN, INIT, state blobs);
#  - decrypted state blobs only with --allow-migration.
. "$(dirname "$0")/lib.sh"
need_cmd tpm2_getrandom
need_cmd setpriv
[[ -x /usr/bin/python3 ]] || skip_all "python3 not installed"
[[ $(id -u) -eq 0 ]] || skip_all "needs root to run parts as nobody"
. "$(dirname "$0")/vtpm_lib.sh"
AS_NOBODY=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
# nobody may walk to the test directory; the state directory stays 0700
chmod 755 "$TMP"
# The client runs as nobody, who may not be able to read the checkout (a clone in a
# 0700 directory): it runs from a copy in the test directory.
cp "$ROOT/tests/integration/vtpm_ctrl.py" "$TMP/vtpm_ctrl.py" && chmod 644 "$TMP/vtpm_ctrl.py"
PYC="/usr/bin/python3 $TMP/vtpm_ctrl.py"
PORT=$(vtpm_free_pair 24700) || skip_all "no free port pair in 24700-24799"
CP=$((PORT + 1))
export TPM2TOOLS_TCTI="swtpm:host=127.0.0.1,port=$PORT"
head -c 32 /dev/urandom >"$TMP/key"
chmod 600 "$TMP/key"
GET_PLAIN=0000000c000000010000000100000000   # CMD_GET_STATEBLOB permanent, DECRYPTED
GET_SEALED=0000000c000000000000000100000000

vtpm_spawn "$TMP/server.log" "$BIN/vigil-tpm" --port "$PORT" --state "$TMP/state" --key-file "$TMP/key"
vtpm_wait_port "$PORT"
SOCK=$TMP/state/ctrl.sock
check "control socket in the state directory by default" test -S "$SOCK"
expect_eq "control socket is 0600" 600 "$(stat -c %a "$SOCK")"
expect_eq "state directory is 0700" 700 "$(stat -c %a "$TMP/state")"
check "no TCP control port without --ctrl-tcp" vtpm_port_free "$CP"
expect_match "owner: GET_CAPABILITY on the socket" '^00000000' "$($PYC req "$SOCK" 00000001 8)"

# nobody: the socket cannot even be reached, the TCP control port is absent
OUT=$("${AS_NOBODY[@]}" $PYC blob "$SOCK" "$GET_PLAIN" /dev/null 2>&1)
expect_match "nobody cannot reach the control socket" "Permission denied" "$OUT"
OUT=$("${AS_NOBODY[@]}" $PYC blob "127.0.0.1:$CP" "$GET_PLAIN" /dev/null 2>&1)
expect_match "nobody finds no TCP control port" "refused" "$OUT"
OUT=$("${AS_NOBODY[@]}" $PYC req "127.0.0.1:$CP" 0000000e 4 2>&1)
expect_match "nobody cannot send CMD_STOP" "refused" "$OUT"
expect_match "the TPM still serves (GetRandom answered: not started yet)" '^8001000000' \
	"$($PYC req "127.0.0.1:$PORT" 80010000000c0000017b0008 10)"

# owner: decrypted blobs need --allow-migration, sealed ones go out
HDR=$($PYC blob "$SOCK" "$GET_PLAIN" "$TMP/plain.blob")
expect_eq "owner: decrypted permanent state refused (TPM_DISABLED_CMD)" 00000008000000000000000000000000 "$HDR"
expect_eq "... and nothing after the header" 0 "$(stat -c %s "$TMP/plain.blob")"
expect_match "... and the refusal is logged" "decrypted state blob was asked for and refused" "$(cat "$TMP/server.log")"
HDR=$($PYC blob "$SOCK" "$GET_SEALED" "$TMP/sealed.blob")
expect_eq "owner: sealed permanent state allowed" 0000000000000002 "${HDR:0:16}"
check "... in the sealed format" bash -c "head -c 8 '$TMP/sealed.blob' | grep -q VIGILTPM"
vtpm_stop
expect_eq "stops cleanly" 0 $?

# A careless operator: world-writable socket in a world-writable directory,
# and a TCP control port. SO_PEERCRED still refuses nobody; TCP serves
# nobody only the unprivileged commands.
mkdir -m 1777 "$TMP/pub"
vtpm_spawn "$TMP/server2.log" "$BIN/vigil-tpm" --port "$PORT" --ctrl-tcp --allow-migration \
	--ctrl-unix "$TMP/pub/ctrl.sock" --state "$TMP/state" --key-file "$TMP/key"
vtpm_wait_port "$PORT"
chmod 666 "$TMP/pub/ctrl.sock"
OUT=$("${AS_NOBODY[@]}" $PYC blob "$TMP/pub/ctrl.sock" "$GET_PLAIN" "$TMP/pub/stolen.blob" 2>&1)
check "nobody connected to the 0666 socket but got no answer" test ! -s "$TMP/pub/stolen.blob"
expect_match "... refused by the peer-uid check, logged" "control connection from uid $(id -u nobody) .*refused" \
	"$(cat "$TMP/server2.log")"
OUT=$("${AS_NOBODY[@]}" $PYC req "$TMP/pub/ctrl.sock" 0000000e 4 2>&1)
check "nobody cannot STOP through the 0666 socket (no answer)" bash -c '[[ -z "$1" || "$1" == error:* ]]' _ "$OUT"
HDR=$("${AS_NOBODY[@]}" $PYC blob "127.0.0.1:$CP" "$GET_PLAIN" "$TMP/pub/stolen2.blob" 2>&1)
expect_eq "nobody over TCP: decrypted state refused" 00000008000000000000000000000000 "$HDR"
check "... no state bytes" test ! -s "$TMP/pub/stolen2.blob"
HDR=$("${AS_NOBODY[@]}" $PYC blob "127.0.0.1:$CP" "$GET_SEALED" "$TMP/pub/stolen3.blob" 2>&1)
expect_eq "nobody over TCP: sealed state refused too" 00000008000000000000000000000000 "$HDR"
for cmd in 0000000e:STOP 00000003:SHUTDOWN 0000000200000000:INIT 0000000a:STORE_VOLATILE; do
	expect_eq "nobody over TCP: CMD_${cmd#*:} refused" 00000008 "$("${AS_NOBODY[@]}" $PYC req "127.0.0.1:$CP" "${cmd%%:*}" 4)"
done
expect_eq "nobody over TCP: SET_LOCALITY (tpm2-tss) allowed" 00000000 "$("${AS_NOBODY[@]}" $PYC req "127.0.0.1:$CP" 0000000500 4)"
check "the TPM is still running after all that" timeout 30 tpm2_startup -c
check "... and serving" timeout 30 tpm2_getrandom --hex 4
HDR=$($PYC blob "$TMP/pub/ctrl.sock" "$GET_PLAIN" "$TMP/plain.blob")
expect_eq "owner with --allow-migration: decrypted state" 0000000000000000 "${HDR:0:16}"
(( $(stat -c %s "$TMP/plain.blob") > 1000 ))
expect_eq "... the whole permanent state" 0 $?
expect_match "--ctrl-tcp is warned about" "ctrl-tcp: the control channel on TCP port $CP is open to every local user" \
	"$(cat "$TMP/server2.log")"
vtpm_stop
expect_eq "stops cleanly" 0 $?

# Keys stay out of core dumps: the process is not dumpable (so its /proc files
# belong to root even when it runs as nobody) and the key page is MADV_DONTDUMP.
mkdir -m 700 "$TMP/nb" && cp "$TMP/key" "$TMP/nb/key" && chown -R nobody "$TMP/nb"
vtpm_spawn "$TMP/nb.log" "${AS_NOBODY[@]}" "$BIN/vigil-tpm" --state "$TMP/nb/st" --key-file "$TMP/nb/key"
for _ in $(seq 50); do [[ -S "$TMP/nb/st/ctrl.sock" ]] && break; sleep 0.1; done
check "vigil-tpm runs as nobody" test -S "$TMP/nb/st/ctrl.sock"
expect_eq "... and is not dumpable (its /proc files are root's)" root "$(stat -c %U "/proc/$PID/environ")"
DD=$(/usr/bin/python3 - "/proc/$PID/smaps" <<'PY'
import re, sys
n, anon = 0, False
for line in open(sys.argv[1]):
    m = re.match(r"^([0-9a-f]+)-([0-9a-f]+) rw-p 00000000 00:00 0\s*$", line)
    if m:
        anon = int(m.group(2), 16) - int(m.group(1), 16) == 4096
    elif re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
        anon = False
    elif line.startswith("VmFlags:") and anon and " dd" in line:
        n += 1
print(n)
PY
)
((DD >= 1))
expect_eq "the key's page is excluded from core dumps (MADV_DONTDUMP)" 0 $?
vtpm_stop
expect_eq "stops cleanly (as nobody)" 0 $?
finish
