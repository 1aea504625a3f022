#!/usr/bin/env bash
# vigil verify --trust-sim-root, end to end with the openssl CLI: a simulated
# AMD chain (RSA-PSS SHA-384 ARK -> ASK -> P-384 VCEK with AMD extensions, all
# subjects SIMULATED) signs a copy of a real Milan report. It verifies only
# with --trust-sim-root, and the result says "simulated": true.
. "$(dirname "$0")/lib.sh"
need_cmd openssl
need_cmd xxd
need_vectors
V=$BIN/vigil
S=$VECTORS/snp/virtee-sev
cd "$TMP" || exit 2

PSS=(-sha384 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:48 -sigopt rsa_mgf1_md:sha384)
openssl genrsa -out ark.key 2048 2>/dev/null
openssl genrsa -out ask.key 2048 2>/dev/null
openssl ecparam -name secp384r1 -genkey -noout -out vcek.key
printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' >ca.ext
openssl req -x509 -new -key ark.key -subj "/O=Vigil SIMULATED/CN=ARK-Milan SIMULATED" -days 30 "${PSS[@]}" \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out ark.pem
openssl req -new -key ask.key -subj "/O=Vigil SIMULATED/CN=SEV-Milan" -out ask.csr
openssl x509 -req -in ask.csr -CA ark.pem -CAkey ark.key -set_serial 2 -days 30 "${PSS[@]}" -extfile ca.ext -out ask.pem 2>/dev/null
# The VCEK binds the report's REPORTED_TCB (bl 3, tee 0, snp 8, ucode 115) and CHIP_ID.
chip=$(xxd -p -s $((0x1A0)) -l 64 "$S/report_milan.bin" | tr -d '\n' | sed 's/../&:/g; s/:$//')
cat >vcek.ext <<EXT
1.3.6.1.4.1.3704.1.2=DER:16:08:4d:69:6c:61:6e:2d:42:30
1.3.6.1.4.1.3704.1.3.1=DER:02:01:03
1.3.6.1.4.1.3704.1.3.2=DER:02:01:00
1.3.6.1.4.1.3704.1.3.3=DER:02:01:08
1.3.6.1.4.1.3704.1.3.8=DER:02:01:73
1.3.6.1.4.1.3704.1.4=DER:$chip
EXT
openssl req -new -key vcek.key -subj "/O=Vigil SIMULATED/CN=SEV-VCEK" -out vcek.csr
openssl x509 -req -in vcek.csr -CA ask.pem -CAkey ask.key -set_serial 0 -days 30 "${PSS[@]}" -extfile vcek.ext -out vcek.pem 2>/dev/null
cat ask.pem ark.pem >chain.pem

# Sign bytes 0x000-0x29F; R and S go in as 72-byte little-endian fields.
cp "$S/report_milan.bin" report.bin
chmod u+w report.bin
head -c $((0x2A0)) report.bin >signed.bin
openssl dgst -sha384 -sign vcek.key -out sig.der signed.bin
le72() { printf '%0144s' "$1" | tr ' ' 0 | fold -w2 | tac | tr -d '\n'; }
mapfile -t rs < <(openssl asn1parse -inform der -in sig.der | sed -n 's/.*INTEGER *://p')
{ le72 "${rs[0]}"; le72 "${rs[1]}"; } | xxd -r -p | dd of=report.bin bs=1 seek=$((0x2A0)) conv=notrunc status=none

expect_exit 1 "sim report rejected without --trust-sim-root" "$V" verify snp report.bin --vcek vcek.pem --chain chain.pem --compact
expect_match "no pinned ARK" 'no AMD ARK with a pinned fingerprint' "$OUT"
expect_match "not simulated without the flag" '"simulated":false' "$OUT"
expect_exit 0 "sim report verified with --trust-sim-root" "$V" verify snp report.bin --vcek vcek.pem --chain chain.pem --trust-sim-root ark.pem --compact
expect_match "simulated: true" '"verdict":"verified".*"product":"Milan","simulated":true' "$OUT"
# The real report and chain against the simulated root: rejected.
expect_exit 1 "real report rejected against the simulated root" "$V" verify snp "$S/report_milan.bin" --vcek "$S/vcek_milan.der" --chain "$S/cert_chain_milan" --trust-sim-root ark.pem
# A root without SIMULATED in its subject is refused as --trust-sim-root.
openssl req -x509 -new -key ark.key -subj "/CN=ARK-Milan" -days 30 "${PSS[@]}" -out plain.pem
expect_exit 2 "non-simulated root refused" "$V" verify snp report.bin --vcek vcek.pem --chain chain.pem --trust-sim-root plain.pem
expect_match "refusal names SIMULATED" 'SIMULATED' "$ERR"
# One flipped bit in the re-signed report is rejected.
printf '\x01' | dd of=report.bin bs=1 seek=$((0x90)) conv=notrunc status=none
expect_exit 1 "tampered sim report rejected" "$V" verify snp report.bin --vcek vcek.pem --chain chain.pem --trust-sim-root ark.pem
finish
