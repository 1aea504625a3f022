#!/usr/bin/env bash
# vigil-tpm's state directory as a careless operator and a full disk leave it
# (issue 13): two servers on one directory, a dangling permall.vst link, a FIFO
# in its place, flags validated before the directory is touched, stale
# temporaries, a read-only or full directory at start, and a disk that fills
# while running (the error reaches the client and the log, the health state
# says why, libtpms prints no command bytes (the owner password), and the TPM
# recovers when space returns). The full and read-only directories are small
# tmpfs mounts made here (root needed for those parts) and unmounted at exit.
. "$(dirname "$0")/lib.sh"
need_cmd tpm2_getrandom
[[ -x /usr/bin/python3 ]] || skip_all "python3 not installed"
. "$(dirname "$0")/vtpm_lib.sh"
PYC="/usr/bin/python3 $ROOT/tests/integration/vtpm_ctrl.py"
PORT=$(vtpm_free_pair 24900) || skip_all "no free port pair in 24900-24999"
export TPM2TOOLS_TCTI="swtpm:host=127.0.0.1,port=$PORT"
head -c 32 /dev/urandom >"$TMP/key"
chmod 600 "$TMP/key"
T=$BIN/vigil-tpm
MNT=$TMP/mnt
unmount() { mountpoint -q "$MNT" && umount "$MNT"; true; }
trap 'unmount; vtpm_cleanup' EXIT

# flags are validated (and ports bound) before the directory is touched
expect_exit 2 "bad --bind refused" "$T" --port "$PORT" --state "$TMP/never1" --key-file "$TMP/key" --bind nonsense
check "... before the state directory was created" test ! -e "$TMP/never1"
expect_exit 2 "--ctrl-tcp without --port refused" "$T" --ctrl-tcp --state "$TMP/never2" --key-file "$TMP/key"
check "... before the state directory was created" test ! -e "$TMP/never2"
expect_exit 2 "unknown flag refused" "$T" --state "$TMP/never3" --key-file "$TMP/key" --frobnicate
expect_eq "... in one line" 1 "$(printf '%s\n' "$ERR" | wc -l)"
check "... before the state directory was created" test ! -e "$TMP/never3"
/usr/bin/python3 -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.0.1",int(sys.argv[1]))); s.listen(); time.sleep(3)' "$PORT" &
HOLD=$!
sleep 0.5
expect_exit 2 "a busy port refused" "$T" --port "$PORT" --state "$TMP/never4" --key-file "$TMP/key"
check "... before the state directory was created" test ! -e "$TMP/never4"
wait "$HOLD"

# a crash left a temporary behind: removed at start
mkdir -m 700 "$TMP/state"
echo junk >"$TMP/state/permall.vst.tmp.4242.0"
vtpm_spawn "$TMP/a.log" "$T" --port "$PORT" --ctrl-tcp --state "$TMP/state" --key-file "$TMP/key"
vtpm_wait_port "$PORT"
check "stale permall.vst.tmp.* removed at start" test ! -e "$TMP/state/permall.vst.tmp.4242.0"
expect_match "... and logged" "removed .*permall.vst.tmp.4242.0 left by an interrupted write" "$(cat "$TMP/a.log")"
check "tpm2_startup" timeout 30 tpm2_startup -c
check "NV index defined (state written)" timeout 30 tpm2_nvdefine -C o -s 8 0x1500017 -a "ownerread|ownerwrite"
# a second server on the same directory is refused; the first keeps working
expect_exit 2 "a second vigil-tpm on the same directory refused" "$T" --port $((PORT + 2)) --state "$TMP/state" \
	--key-file "$TMP/key"
expect_match "... saying it is locked" "in use by another vTPM \(locked\)" "$ERR"
check "the first server still serves its state" timeout 30 tpm2_nvreadpublic 0x1500017
vtpm_stop
expect_eq "first server stops cleanly" 0 $?

# a dangling permall.vst link must not create a new TPM
mkdir -m 700 "$TMP/s2"
ln -s "$TMP/elsewhere/permall.vst" "$TMP/s2/permall.vst"
expect_exit 1 "a dangling permall.vst link refused" "$T" --port "$PORT" --state "$TMP/s2" --key-file "$TMP/key"
expect_match "... naming the link" "permall.vst: is a symbolic link" "$ERR"
check "... the link left as it was" test -L "$TMP/s2/permall.vst"
check "... and no new state created behind it" test ! -e "$TMP/elsewhere"
# a link to a real state file is refused as well (state files are regular files)
ln -sf "$TMP/state/permall.vst" "$TMP/s2/permall.vst"
expect_exit 1 "a permall.vst link to real state refused" "$T" --port "$PORT" --state "$TMP/s2" --key-file "$TMP/key"
# a FIFO must not block start-up
rm "$TMP/s2/permall.vst"
mkfifo "$TMP/s2/permall.vst"
expect_exit 1 "a FIFO as permall.vst refused (not waited on)" timeout 10 "$T" --port "$PORT" --state "$TMP/s2" \
	--key-file "$TMP/key"
expect_match "... as not a regular file" "permall.vst: not a regular file" "$ERR"

if [[ $(id -u) -ne 0 ]]; then
	_ok "full and read-only directories: not root, skipped"
	finish
fi
mkdir "$MNT"
# read-only directory: refused at start
if ! mount -t tmpfs -o size=1m,mode=700 tmpfs "$MNT" 2>/dev/null; then
	_ok "full and read-only directories: cannot mount a tmpfs here, skipped"
	finish
fi
mount -o remount,ro "$MNT"
expect_exit 2 "a read-only state directory refused at start" "$T" --port "$PORT" --state "$MNT" --key-file "$TMP/key"
expect_match "... saying why" "state directory .* is not writable \(Read-only file system\)" "$ERR"
umount "$MNT"
# full directory: refused at start
mount -t tmpfs -o size=512k,mode=700 tmpfs "$MNT"
dd if=/dev/zero of="$MNT/fill" bs=4k status=none 2>/dev/null
expect_exit 2 "a full state directory refused at start" "$T" --port "$PORT" --state "$MNT" --key-file "$TMP/key"
expect_match "... saying why" "not writable \(No space left on device\)" "$ERR"
rm -f "$MNT/fill"

# the disk fills while the TPM runs
PW=Own3rSecretPassw0rd
vtpm_spawn "$TMP/full.log" "$T" --port "$PORT" --ctrl-tcp --state "$MNT" --key-file "$TMP/key"
vtpm_wait_port "$PORT"
check "tpm2_startup" timeout 30 tpm2_startup -c
check "owner password set" timeout 30 tpm2_changeauth -c owner "$PW"
check "NV index defined" timeout 30 tpm2_nvdefine -C o -P "$PW" -s 32 0x1500016 -a "ownerread|ownerwrite"
expect_eq "health: ok" "0 " "$($PYC health "$MNT/ctrl.sock")"
dd if=/dev/zero of="$MNT/fill" bs=4k status=none 2>/dev/null
OUT=$(echo hello | timeout 30 tpm2_nvwrite -C o -P "$PW" -i - 0x1500016 2>&1)
expect_match "NV_Write on a full disk: the client sees a TPM failure" "0x101|failure" "$OUT"
expect_match "health names the failed write" "^1 .*permall.vst: not written: No space left on device" \
	"$($PYC health "$MNT/ctrl.sock")"
expect_match "the log names it too" "vTPM state not saved: .*No space left on device" "$(cat "$TMP/full.log")"
check "the owner password is nowhere in the log" bash -c "! grep -q '$PW' '$TMP/full.log'"
check "... nor its bytes as hex" bash -c "! grep -qi '$(printf %s "$PW" | od -An -tx1 | tr -d ' \n')' '$TMP/full.log'"
check "... nor spaced hex" bash -c "! grep -qi '$(printf %s "$PW" | od -An -tx1 | tr -s ' ' | sed 's/^ //')' '$TMP/full.log'"
OUT=$(timeout 30 tpm2_getrandom --hex 4 2>&1)
expect_match "while full every command fails (TPM_RC_FAILURE)" "0x101|failure" "$OUT"
rm -f "$MNT/fill"
for _ in $(seq 30); do [[ $($PYC health "$MNT/ctrl.sock") == "0 " ]] && break; sleep 0.2; done
expect_eq "space back: health ok again" "0 " "$($PYC health "$MNT/ctrl.sock")"
expect_match "recovery logged" "state directory writable again" "$(cat "$TMP/full.log")"
timeout 30 tpm2_startup -c >/dev/null 2>&1
check "the TPM serves again" timeout 30 tpm2_getrandom --hex 4
check "NV_Write works again" bash -c "echo hello | timeout 30 tpm2_nvwrite -C o -P '$PW' -i - 0x1500016"
check "NV_Read" timeout 30 tpm2_nvread -C o -P "$PW" -s 5 0x1500016
expect_eq "... returns what was written" hello "$OUT"
vtpm_stop
expect_eq "stops cleanly" 0 $?
# restart: the recovered state is the one on disk
vtpm_spawn "$TMP/full2.log" "$T" --port "$PORT" --ctrl-tcp --state "$MNT" --key-file "$TMP/key"
vtpm_wait_port "$PORT"
timeout 30 tpm2_startup -c >/dev/null 2>&1
check "after restart: NV data kept" timeout 30 tpm2_nvread -C o -P "$PW" -s 5 0x1500016
expect_eq "... hello" hello "$OUT"
vtpm_stop
finish
