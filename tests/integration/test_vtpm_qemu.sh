#!/usr/bin/env bash
# Debian's QEMU (tpm-emulator backend, paused with -S) against vigil-tpm's
# UNIX control socket: capabilities, CMD_SET_DATAFD with a passed
# descriptor, stop, buffer size, init, TPM commands over the passed channel,
# CMD_SHUTDOWN at quit; then a migration: the state blobs leave one
# vigil-tpm through QEMU and enter another (another key, another directory).
. "$(dirname "$0")/lib.sh"
need_cmd qemu-system-x86_64
. "$(dirname "$0")/vtpm_lib.sh"

# qemu_paused SOCKET MONITOR_COMMANDS [QEMU ARGS...]: runs QEMU paused with a
# TPM on SOCKET, feeds the monitor one command every 2 s, then quits.
qemu_paused() {
	local sock=$1 cmds=$2
	shift 2
	(
		sleep 2
		while IFS= read -r c; do
			echo "$c"
			sleep 2
		done <<<"$cmds"
		echo quit
	) | timeout 90 qemu-system-x86_64 -S -display none -nodefaults -machine q35 -accel tcg -m 64 \
		-chardev "socket,id=chrtpm,path=$sock" -tpmdev emulator,id=tpm0,chardev=chrtpm \
		-device tpm-crb,tpmdev=tpm0 -monitor stdio "$@" 2>"$TMP/qemu.err" | tr -d '\033'
}
# start_ctrl NAME ARGS...: vigil-tpm on $TMP/NAME.sock, state $TMP/NAME, log $TMP/NAME.log
start_ctrl() {
	local name=$1
	shift
	head -c 32 /dev/urandom >"$TMP/$name.key"
	chmod 600 "$TMP/$name.key"
	vtpm_spawn "$TMP/$name.log" "$BIN/vigil-tpm" -v --allow-migration --ctrl-unix "$TMP/$name.sock" --state "$TMP/$name" \
		--key-file "$TMP/$name.key" "$@"
	for _ in $(seq 100); do [[ -S "$TMP/$name.sock" ]] && break; sleep 0.1; done
}
server_exit() {
	timeout 20 tail --pid="$PID" -f /dev/null
	wait "$PID"
}

start_ctrl src --ek-ca "$TMP/ca"
check "control socket is created" test -S "$TMP/src.sock"
expect_match "control socket is owner-only" '^[67]00$' "$(stat -c %a "$TMP/src.sock")"
CMDS="info tpm
migrate \"exec:cat > $TMP/mig.bin\"
info migrate"
OUT=$(qemu_paused "$TMP/src.sock" "$CMDS")
expect_match "QEMU reports the TPM" "model=tpm-crb" "$OUT"
expect_match "... backed by the emulator" "type=emulator" "$OUT"
expect_match "migration (TPM state blobs included) completed" "Migration status: completed" "$OUT"
check "QEMU printed no TPM error" bash -c "! grep -i 'tpm' '$TMP/qemu.err'"
server_exit
expect_eq "vigil-tpm exits 0 after QEMU's CMD_SHUTDOWN" 0 $?
LOG=$(cat "$TMP/src.log")
expect_match "capabilities asked" "CMD_GET_CAPABILITY" "$LOG"
expect_match "data channel passed with CMD_SET_DATAFD" "CMD_SET_DATAFD" "$LOG"
expect_match "buffer size negotiated" "CMD_SET_BUFFERSIZE" "$LOG"
expect_match "TPM initialised" "CMD_INIT" "$LOG"
expect_match "TPM commands arrived over the passed descriptor" "data: command 0x" "$LOG"
expect_match "permanent state blob sent" "state blob 1 out" "$LOG"
expect_match "volatile state blob sent" "state blob 2 out" "$LOG"
expect_match "shutdown at quit" "CMD_SHUTDOWN" "$LOG"
check "state saved at shutdown" test -s "$TMP/src/permall.vst"

# incoming migration into a second vTPM with its own key and directory
start_ctrl dst
OUT=$(qemu_paused "$TMP/dst.sock" "info status" -incoming "exec:cat $TMP/mig.bin")
expect_match "QEMU loaded the migrated VM" "VM status: paused" "$OUT"
check "QEMU printed no TPM error (incoming)" bash -c "! grep -i 'tpm' '$TMP/qemu.err'"
server_exit
expect_eq "target vigil-tpm exits 0" 0 $?
LOG=$(cat "$TMP/dst.log")
expect_match "permanent state blob received" "state blob 1 in" "$LOG"
expect_match "volatile state blob received" "state blob 2 in" "$LOG"
expect_match "TPM initialised after the blobs" "state blob 2 in.*"$'\n'".*CMD_INIT" "$LOG"

# the target now holds the source's TPM: its EK certificate chains to the source's CA
if command -v tpm2_nvread >/dev/null; then
	PORT=$(vtpm_free_pair 24500)
	vtpm_spawn "$TMP/dst-tcp.log" "$BIN/vigil-tpm" --port "$PORT" --ctrl-tcp --state "$TMP/dst" --key-file "$TMP/dst.key"
	vtpm_wait_port "$PORT"
	export TPM2TOOLS_TCTI="swtpm:host=127.0.0.1,port=$PORT"
	check "tpm2_startup on the migrated TPM" timeout 30 tpm2_startup -c
	check "migrated TPM has the EK certificate" timeout 30 tpm2_nvread -C o 0x01c00002 -o "$TMP/ek.der"
	check "EK certificate converts" openssl x509 -inform der -in "$TMP/ek.der" -out "$TMP/ek.pem"
	check "it verifies against the source's vTPM CA" openssl verify -CAfile "$TMP/ca/ca.pem" "$TMP/ek.pem"
	vtpm_stop
	expect_eq "stops cleanly" 0 $?
fi
finish
