#!/usr/bin/env bash
# vigil-tpm as a drop-in for `swtpm socket --tpm2`: Debian's tpm2-tools and
# tpm2-tss (ESAPI) against it, EK certificates, persistence, damaged state.
. "$(dirname "$0")/lib.sh"
need_cmd tpm2_startup
need_cmd openssl

. "$(dirname "$0")/vtpm_lib.sh"
PORT=$(vtpm_free_pair 24110) || skip_all "no free port pair in 24110-24209"
export TPM2TOOLS_TCTI="swtpm:host=127.0.0.1,port=$PORT"
SD=$TMP/state KEY=$TMP/key CA=$TMP/ca
head -c 32 /dev/urandom >"$KEY"
chmod 600 "$KEY"

# start_tpm ARGS...: starts vigil-tpm, waits for the data port; PID is set
start_tpm() {
	vtpm_spawn "$TMP/server.log" "$BIN/vigil-tpm" --port "$PORT" --ctrl-tcp --state "$SD" --key-file "$KEY" "$@"
	vtpm_wait_port "$PORT"
}
# start/stop run in this shell (not under check: the server must stay our child)
started() { start_tpm "$@"; expect_eq "$DESC" 0 $?; }
stopped() { vtpm_stop; expect_eq "$DESC" 0 $?; }
t2() { timeout 30 "$@"; }
# no resource manager between tools and TPM: free transient objects/sessions
flush() { t2 tpm2_flushcontext -t >/dev/null 2>&1; t2 tpm2_flushcontext -s >/dev/null 2>&1; true; }
hex2bin() { printf '%b' "$(sed 's/../\\x&/g' <<<"$1")"; }

# ---------------------------------------------------------------- CLI
expect_exit 0 "--help exits 0" "$BIN/vigil-tpm" --help
expect_match "--help names the control channel" "ctrl-unix" "$OUT"
expect_exit 0 "--version exits 0" "$BIN/vigil-tpm" --version
expect_exit 2 "missing --state is a usage error" "$BIN/vigil-tpm" --port "$PORT" --key-file "$KEY"
head -c 5 /dev/urandom >"$TMP/shortkey"
expect_exit 2 "a 5-byte key file is refused" "$BIN/vigil-tpm" --port "$PORT" --state "$SD" --key-file "$TMP/shortkey"
expect_match "short key named" "32 raw bytes or 64 hex digits" "$ERR"

mkdir -p "$TMP/badca"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=a -keyout "$TMP/a.key" \
	-out "$TMP/badca/ca.pem" -days 1 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$TMP/badca/ca.key" 2>/dev/null
expect_exit 2 "a CA whose key does not match its certificate is refused" "$BIN/vigil-tpm" --port "$PORT" \
	--state "$TMP/state-bad" --key-file "$KEY" --ek-ca "$TMP/badca"
expect_match "EK CA problem named" "ca.pem and ca.key must both exist and match" "$ERR"
check "no half-provisioned state left behind" test ! -e "$TMP/state-bad/permall.vst"
check "... the CA was checked before the state directory was created" test ! -e "$TMP/state-bad"

expect_exit 2 "a bad --bind address is refused" "$BIN/vigil-tpm" --port "$PORT" --state "$TMP/state-b" \
	--key-file "$KEY" --bind not-an-address
expect_match "bad address named" "bad bind address" "$ERR"

# ---------------------------------------------------- tpm2-tools interop
DESC="vigil-tpm starts with EK provisioning" started --ek-ca "$CA" --pid-file "$TMP/tpm.pid"
expect_eq "--pid-file holds the server's pid" "$PID" "$(cat "$TMP/tpm.pid" 2>/dev/null)"
if command -v ss >/dev/null; then
	expect_match "listens on loopback only by default" "127\.0\.0\.1:$PORT" "$(ss -ltnH "sport = :$PORT")"
fi
check "tpm2_startup -c" t2 tpm2_startup -c
check "tpm2_getrandom" t2 tpm2_getrandom --hex 16
expect_match "16 random bytes" '^[0-9a-f]{32}$' "$OUT"
D1=$(printf 'vigil' | openssl dgst -sha256 -r | cut -c1-64)
check "tpm2_pcrextend 16" t2 tpm2_pcrextend "16:sha256=$D1"
WANT=$( (hex2bin "$(printf '%064d' 0)"; hex2bin "$D1") | openssl dgst -sha256 -r | cut -c1-64)
check "tpm2_pcrread 16" t2 tpm2_pcrread sha256:16
expect_match "PCR 16 = SHA256(0 || digest)" "16 ?: 0x${WANT^^}" "$OUT"
check "tpm2_createprimary (owner)" t2 tpm2_createprimary -C o -g sha256 -G ecc -c "$TMP/primary.ctx"
flush
check "tpm2_createek (RSA)" t2 tpm2_createek -c "$TMP/ek.ctx" -G rsa -u "$TMP/ek.pub"
flush
check "tpm2_createak" t2 tpm2_createak -C "$TMP/ek.ctx" -c "$TMP/ak.ctx" -G rsa -g sha256 -s rsassa \
	-u "$TMP/ak.pem" -f pem -n "$TMP/ak.name"
flush
check "tpm2_quote PCRs 0,16" t2 tpm2_quote -c "$TMP/ak.ctx" -l sha256:0,16 -q abcdef0123456789 \
	-m "$TMP/quote.msg" -s "$TMP/quote.sig" -o "$TMP/quote.pcrs" -g sha256
flush
check "tpm2_checkquote verifies it" t2 tpm2_checkquote -u "$TMP/ak.pem" -m "$TMP/quote.msg" -s "$TMP/quote.sig" \
	-f "$TMP/quote.pcrs" -g sha256 -q abcdef0123456789
expect_exit 1 "tpm2_checkquote rejects another nonce" t2 tpm2_checkquote -u "$TMP/ak.pem" -m "$TMP/quote.msg" \
	-s "$TMP/quote.sig" -f "$TMP/quote.pcrs" -g sha256 -q 0000000000000000

# ------------------------------------------------------- EK certificates
for kind in rsa:0x01c00002 ecc:0x01c0000a; do
	name=${kind%%:*} idx=${kind#*:}
	check "tpm2_nvread $name EK certificate ($idx)" t2 tpm2_nvread -C o "$idx" -o "$TMP/ek-$name.der"
	check "$name EK certificate is X.509" openssl x509 -inform der -in "$TMP/ek-$name.der" -out "$TMP/ek-$name.pem"
	check "openssl verify -CAfile ca.pem ($name)" openssl verify -CAfile "$CA/ca.pem" "$TMP/ek-$name.pem"
done
check "tpm2_getekcertificate reads both" t2 tpm2_getekcertificate -o "$TMP/gek-rsa.der" -o "$TMP/gek-ecc.der"
check "tpm2_getekcertificate: RSA certificate as stored" cmp "$TMP/gek-rsa.der" "$TMP/ek-rsa.der"
check "tpm2_getekcertificate: ECC certificate as stored" cmp "$TMP/gek-ecc.der" "$TMP/ek-ecc.der"
check "EK certificate text" openssl x509 -in "$TMP/ek-ecc.pem" -noout -text
expect_match "SAN names the TPM (manufacturer, model, version)" \
	"DirName:/2.23.133.2.1=id:[0-9A-F]{8}/2.23.133.2.2=vigil-vtpm/2.23.133.2.3=id:" "$OUT"
expect_match "EKU tcg-kp-EKCertificate" "2.23.133.8.1" "$OUT"
check "tpm2_readpublic EK" t2 tpm2_readpublic -c "$TMP/ek.ctx" -f pem -o "$TMP/ek-pub.pem"
flush
expect_eq "RSA EK certificate holds the TPM's EK" "$(cat "$TMP/ek-pub.pem")" \
	"$(openssl x509 -in "$TMP/ek-rsa.pem" -pubkey -noout)"
openssl x509 -in "$CA/ca.pem" -pubkey -noout >"$TMP/ca-pub.pem"
check "another CA does not verify the EK certificate" bash -c \
	"openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=other -keyout $TMP/o.key -out $TMP/o.pem -days 1 2>/dev/null && ! openssl verify -CAfile $TMP/o.pem $TMP/ek-rsa.pem"

# ----------------------------------------------------------- ESAPI (C)
check "ESAPI quote flow (tss2-esys, swtpm TCTI)" t2 "$BUILD/tests/integration/vtpm_esapi_quote" "$PORT"

# ---------------------------------------------------------- persistence
check "tpm2_nvdefine 0x1500016" t2 tpm2_nvdefine 0x1500016 -C o -s 16 -a "ownerread|ownerwrite"
printf 'vigil-nv-data-16' >"$TMP/nv.in"
check "tpm2_nvwrite" t2 tpm2_nvwrite 0x1500016 -C o -i "$TMP/nv.in"
check "tpm2_evictcontrol 0x81000005" t2 tpm2_evictcontrol -C o -c "$TMP/primary.ctx" 0x81000005
flush
check "tpm2_readpublic persistent key" t2 tpm2_readpublic -c 0x81000005 -o "$TMP/persist1.pub"
DESC="SIGTERM saves state and exits 0" stopped
check "pid file removed at exit" test ! -e "$TMP/tpm.pid"
check "volatile state saved on SIGTERM" test -s "$SD/volatile.vst"
check "state file is encrypted (no NV data in clear)" bash -c "! grep -q vigil-nv-data $SD/*.vst"

DESC="vigil-tpm restarts" started --ek-ca "$CA"
check "volatile state consumed on restart" test ! -e "$SD/volatile.vst"
check "tpm2_startup -c after restart" t2 tpm2_startup -c
check "NV index survives" t2 tpm2_nvread 0x1500016 -C o -o "$TMP/nv.out"
expect_eq "NV data survives" "vigil-nv-data-16" "$(cat "$TMP/nv.out")"
check "persistent key survives" t2 tpm2_readpublic -c 0x81000005 -o "$TMP/persist2.pub"
check "same persistent key" cmp "$TMP/persist1.pub" "$TMP/persist2.pub"
check "EK certificate survives" t2 tpm2_nvread -C o 0x01c00002 -o "$TMP/ek-rsa2.der"
check "same EK certificate (not re-provisioned)" cmp "$TMP/ek-rsa.der" "$TMP/ek-rsa2.der"
check "tpm2_createek again" t2 tpm2_createek -c "$TMP/ek2.ctx" -G rsa -u "$TMP/ek2.pub"
flush
check "same EK (same endorsement seed)" cmp "$TMP/ek.pub" "$TMP/ek2.pub"
check "tpm2_pcrread after restart" t2 tpm2_pcrread sha256:16
expect_match "PCR 16 reset after restart" "16 ?: 0x0{64}" "$OUT"
DESC="stop again" stopped

# ------------------------------------------------------- damaged state
cp "$SD/permall.vst" "$TMP/good.vst"
size=$(stat -c %s "$TMP/good.vst")
cp "$TMP/good.vst" "$SD/permall.vst"
printf '\x55' | dd of="$SD/permall.vst" bs=1 seek=$((size / 2)) conv=notrunc status=none
cp "$SD/permall.vst" "$TMP/flipped.vst"
expect_exit 1 "a flipped byte refuses to start" "$BIN/vigil-tpm" --port "$PORT" --state "$SD" --key-file "$KEY"
expect_match "flipped byte: authentication error" "failed authentication" "$ERR"
check "flipped file left untouched" cmp "$SD/permall.vst" "$TMP/flipped.vst"
head -c $((size - 40)) "$TMP/good.vst" >"$SD/permall.vst"
expect_exit 1 "a truncated file refuses to start" "$BIN/vigil-tpm" --port "$PORT" --state "$SD" --key-file "$KEY"
expect_match "truncated named" "truncated" "$ERR"
expect_eq "truncated file left untouched" "$((size - 40))" "$(stat -c %s "$SD/permall.vst")"
cp "$TMP/good.vst" "$SD/permall.vst"
head -c 32 /dev/urandom >"$TMP/otherkey"
expect_exit 1 "a wrong key refuses to start" "$BIN/vigil-tpm" --port "$PORT" --state "$SD" --key-file "$TMP/otherkey"
expect_match "wrong key named" "wrong key" "$ERR"
check "file unchanged after the wrong key" cmp "$SD/permall.vst" "$TMP/good.vst"
printf '\x09' | dd of="$SD/permall.vst" bs=1 seek=8 conv=notrunc status=none
expect_exit 1 "an unknown version refuses to start" "$BIN/vigil-tpm" --port "$PORT" --state "$SD" --key-file "$KEY"
expect_match "version named" "unknown state file version 9" "$ERR"
cp "$TMP/good.vst" "$SD/permall.vst"
DESC="the intact file starts again" started
check "tpm2_startup -c" t2 tpm2_startup -c
check "and still has the NV index" t2 tpm2_nvread 0x1500016 -C o -o "$TMP/nv.out2"
DESC="final stop" stopped
finish
