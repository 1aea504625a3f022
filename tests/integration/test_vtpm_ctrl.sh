#!/usr/bin/env bash
# vigil-tpm's control channel byte by byte (swtpm's big-endian CMD_* protocol
# on the owner-only UNIX socket): capabilities, config, locality, buffer size,
# info, D-RTM hash sequence and the established flag, stop/init, and a
# migration round trip (sealed volatile blob out, stop, blob in, init: the
# PCRs come back). The TCP control channel (--ctrl-tcp, for tpm2-tools' swtpm
# TCTI) serves the unprivileged commands only.
. "$(dirname "$0")/lib.sh"
need_cmd tpm2_pcrread
need_cmd od
[[ -x /usr/bin/python3 ]] || skip_all "python3 not installed"
PYC="/usr/bin/python3 $(dirname "$0")/vtpm_ctrl.py"

. "$(dirname "$0")/vtpm_lib.sh"
PORT=$(vtpm_free_pair 24400) || skip_all "no free port pair in 24400-24499"
CP=$((PORT + 1))
export TPM2TOOLS_TCTI="swtpm:host=127.0.0.1,port=$PORT"
head -c 32 /dev/urandom >"$TMP/key"
chmod 600 "$TMP/key"
SOCK=$TMP/state/ctrl.sock
vtpm_spawn "$TMP/server.log" "$BIN/vigil-tpm" --port "$PORT" --ctrl-tcp --state "$TMP/state" --key-file "$TMP/key"
vtpm_wait_port "$PORT"

hex() { od -An -v -tx1 | tr -d ' \n'; }
# ctrl REQUEST_PRINTF_FORMAT RESPONSE_BYTES: one command on the UNIX control
# socket, response as hex; tctrl: the same on the TCP control port
ctrl() { $PYC req "$SOCK" "$(printf "$1" | hex)" "$2"; }
tctrl() { $PYC req "127.0.0.1:$CP" "$(printf "$1" | hex)" "$2"; }

expect_eq "GET_CAPABILITY (UNIX: every command)" "0000000000007fff" "$(ctrl '\x00\x00\x00\x01' 8)"
expect_eq "GET_CAPABILITY (TCP)" "0000000000006fff" "$(tctrl '\x00\x00\x00\x01' 8)"
expect_eq "TCP: SET_LOCALITY 0 (what tpm2-tss sends)" "00000000" "$(tctrl '\x00\x00\x00\x05\x00' 4)"
expect_eq "TCP: STOP refused (TPM_DISABLED_CMD)" "00000008" "$(tctrl '\x00\x00\x00\x0e' 4)"
expect_eq "TCP: SHUTDOWN refused" "00000008" "$(tctrl '\x00\x00\x00\x03' 4)"
expect_eq "TCP: INIT refused" "00000008" "$(tctrl '\x00\x00\x00\x02\x00\x00\x00\x00' 4)"
expect_eq "TCP: GET_STATEBLOB refused, full header" "00000008000000000000000000000000" \
	"$(tctrl '\x00\x00\x00\x0c\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00' 64)"
expect_eq "TCP: SET_STATEBLOB refused" "00000008" \
	"$(tctrl '\x00\x00\x00\x0d\x00\x00\x00\x02\x00\x00\x00\x01\x00\x00\x00\x00' 4)"
expect_eq "GET_CONFIG: state encrypted with a file key" "0000000000000001" "$(ctrl '\x00\x00\x00\x0f' 8)"
expect_eq "SET_LOCALITY 5 refused (TPM_BAD_LOCALITY)" "0000003d" "$(ctrl '\x00\x00\x00\x05\x05' 4)"
expect_eq "SET_LOCALITY 0" "00000000" "$(ctrl '\x00\x00\x00\x05\x00' 4)"
expect_eq "unknown command: TPM_BAD_ORDINAL" "0000000a" "$(ctrl '\x00\x00\x00\x99' 4)"
expect_eq "SET_DATAFD without a descriptor refused" "00000003" "$(ctrl '\x00\x00\x00\x10' 4)"
expect_eq "SET_DATAFD over TCP refused" "00000008" "$(tctrl '\x00\x00\x00\x10' 4)"
expect_eq "SET_BUFFERSIZE 0 queries (4096 in use)" "00000000" "$(ctrl '\x00\x00\x00\x11\x00\x00\x00\x00' 16 | cut -c1-8)"
expect_eq "SET_BUFFERSIZE while running refused" "00000026" "$(ctrl '\x00\x00\x00\x11\x00\x00\x08\x00' 16 | cut -c1-8)"
INFO=$(ctrl '\x00\x00\x00\x12\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00' 4096)
expect_eq "GET_INFO ok" "00000000" "${INFO:0:8}"
OUT=$(/usr/bin/python3 -c 'import sys; print(bytes.fromhex(sys.argv[1])[12:].decode("utf-8", "replace").strip("\0"))' "$INFO")
expect_match "GET_INFO returns libtpms' TPM specification" '"TPMSpecification"' "$OUT"

check "tpm2_startup -c" timeout 30 tpm2_startup -c
# data channel: a client stalled mid-command does not hold up the others,
# and a command size beyond the buffer is answered with TPM_RC_COMMAND_SIZE
exec 4<>"/dev/tcp/127.0.0.1/$PORT"
printf '\x80\x01\x00' >&4
check "a stalled client does not block another (3 s budget)" timeout 3 tpm2_getrandom --hex 4
RES=$(exec 5<>"/dev/tcp/127.0.0.1/$PORT"; printf '\x80\x01\x00\x01\x00\x00\x00\x00\x01\x7b' >&5; timeout 5 head -c 10 <&5 | hex)
expect_eq "oversized command: TPM_RC_COMMAND_SIZE" "80010000000a00000142" "$RES"
exec 4>&-
expect_eq "GET_TPMESTABLISHED: not established" "0000000000000000" "$(ctrl '\x00\x00\x00\x04' 8)"
check "PCR 17 before D-RTM" timeout 30 tpm2_pcrread sha256:17
PCR17=$OUT
expect_eq "HASH_START" "00000000" "$(ctrl '\x00\x00\x00\x06' 4)"
expect_eq "HASH_DATA" "00000000" "$(ctrl '\x00\x00\x00\x07\x00\x00\x00\x03abc' 4)"
expect_eq "HASH_END" "00000000" "$(ctrl '\x00\x00\x00\x08' 4)"
check "PCR 17 after D-RTM" timeout 30 tpm2_pcrread sha256:17
[[ "$OUT" != "$PCR17" ]]
expect_eq "the D-RTM sequence changed PCR 17" 0 $?
expect_eq "GET_TPMESTABLISHED: established" "0000000001000000" "$(ctrl '\x00\x00\x00\x04' 8)"
expect_eq "RESET_TPMESTABLISHED from locality 0 refused" "0000003d" "$(ctrl '\x00\x00\x00\x0b\x00' 4)"
expect_eq "RESET_TPMESTABLISHED from locality 3" "00000000" "$(ctrl '\x00\x00\x00\x0b\x03' 4)"
expect_eq "established flag cleared" "0000000000000000" "$(ctrl '\x00\x00\x00\x04' 8)"

# migration: volatile state out (sealed), stop, in, init -> PCR 16 comes back
D=$(printf 'migrate' | openssl dgst -sha256 -r | cut -c1-64)
check "tpm2_pcrextend 16" timeout 30 tpm2_pcrextend "16:sha256=$D"
check "tpm2_pcrread 16" timeout 30 tpm2_pcrread sha256:16
BEFORE=$OUT
HDR=$($PYC blob "$SOCK" 0000000c000000000000000200000000 "$TMP/vol.blob")
TOT=$((16#${HDR:16:8}))
expect_eq "GET_STATEBLOB volatile: ok, sealed (ENCRYPTED flag)" "0000000000000002" "${HDR:0:16}"
expect_eq "whole blob received" "$TOT" "$(stat -c %s "$TMP/vol.blob")"
check "blob is in the sealed state format" bash -c "head -c 8 '$TMP/vol.blob' | grep -q VIGILTPM"
expect_eq "SET_STATEBLOB while running refused" "00000026" \
	"$(ctrl '\x00\x00\x00\x0d\x00\x00\x00\x02\x00\x00\x00\x02\x00\x00\x00\x00' 4)"
expect_eq "STOP" "00000000" "$(ctrl '\x00\x00\x00\x0e' 4)"
HDR=$(ctrl '\x00\x00\x00\x0c\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00' 16)
expect_eq "GET_STATEBLOB permanent decrypted refused without --allow-migration" \
	"00000008000000000000000000000000" "$HDR"
HDR=$(ctrl '\x00\x00\x00\x0c\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00' 16)
expect_eq "GET_STATEBLOB permanent (sealed) while stopped" "0000000000000002" "${HDR:0:16}"
(( 16#${HDR:16:8} > 1000 ))
expect_eq "permanent blob has the libtpms state" 0 $?
OUT=$(timeout 30 tpm2_getrandom --hex 4 2>&1)
expect_match "a stopped TPM answers TPM_RC_FAILURE" "0x101|failure" "$OUT"
expect_eq "SET_BUFFERSIZE 2048 while stopped" "00000000" "$(ctrl '\x00\x00\x00\x11\x00\x00\x08\x00' 16 | cut -c1-8)"
SET_HDR=0000000d0000000200000002$(printf '%08x' "$TOT")
cp "$TMP/vol.blob" "$TMP/bad.blob"
printf '\x00' | dd of="$TMP/bad.blob" bs=1 seek=$((TOT - 3)) conv=notrunc status=none
RES=$($PYC req "$SOCK" "$SET_HDR" 4 "$TMP/bad.blob")
expect_eq "SET_STATEBLOB with a damaged sealed blob: TPM_FAIL" "00000009" "$RES"
RES=$($PYC req "$SOCK" 0000000d0000000000000002$(printf '%08x' "$TOT") 4 "$TMP/vol.blob")
expect_eq "SET_STATEBLOB plaintext refused without --allow-migration" "00000008" "$RES"
RES=$($PYC req "$SOCK" "$SET_HDR" 4 "$TMP/vol.blob")
expect_eq "SET_STATEBLOB volatile (sealed)" "00000000" "$RES"
expect_eq "INIT resumes from the blob" "00000000" "$(ctrl '\x00\x00\x00\x02\x00\x00\x00\x00' 4)"
check "tpm2_pcrread 16 after resume" timeout 30 tpm2_pcrread sha256:16
expect_eq "PCR 16 restored by the migrated volatile state" "$BEFORE" "$OUT"
expect_eq "INIT again: a fresh power-on" "00000000" "$(ctrl '\x00\x00\x00\x02\x00\x00\x00\x00' 4)"
check "tpm2_startup -c after a fresh power-on" timeout 30 tpm2_startup -c
check "tpm2_pcrread 16" timeout 30 tpm2_pcrread sha256:16
expect_match "PCR 16 reset" "16 ?: 0x0{64}" "$OUT"

expect_eq "SHUTDOWN" "00000000" "$(ctrl '\x00\x00\x00\x03' 4)"
timeout 20 tail --pid="$PID" -f /dev/null
wait "$PID"
expect_eq "vigil-tpm exits 0 after CMD_SHUTDOWN" 0 $?
finish
