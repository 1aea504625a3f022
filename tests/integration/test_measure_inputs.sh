#!/usr/bin/env bash
# vigil measure refuses inputs no platform could launch, and --json never
# drops or mangles an input it cannot carry (issue 13).
. "$(dirname "$0")/lib.sh"
need_vectors
AMD="$VECTORS/measure/ovmf_AmdSev_suffix.bin"
DEB=/usr/share/ovmf/OVMF.fd
M="$BIN/vigil measure"

head -c 65536 /dev/urandom >"$TMP/random.bin"
for mode in sev sev-es snp tdx; do
	expect_exit 2 "$mode: 64 KiB of random bytes refused" $M $mode --firmware "$TMP/random.bin"
	expect_eq "$mode: ... nothing on stdout" "" "$OUT"
done
expect_match "sev: random bytes: not an OVMF build" "not an OVMF build" "$(
	$M sev --firmware "$TMP/random.bin" 2>&1)"
for n in 1 100 4095; do
	{ cat "$AMD"; head -c $n /dev/zero; } >"$TMP/ovmf+$n.bin"
	for mode in sev sev-es snp; do
		expect_exit 2 "$mode: OVMF with $n extra bytes refused" $M $mode --firmware "$TMP/ovmf+$n.bin"
	done
	expect_match "... saying the size is not whole pages" "not a whole number of 4 KiB pages" "$ERR"
done
expect_exit 0 "sev: the OVMF itself still measures" $M sev --firmware "$AMD"
if [[ -r $DEB ]]; then
	{ head -c 100 /dev/zero; cat "$DEB"; } >"$TMP/tdvf+100.bin"
	expect_exit 2 "tdx: an image with 100 bytes prepended refused" $M tdx --firmware "$TMP/tdvf+100.bin"
	expect_match "... saying why" "not a whole number of 4 KiB pages" "$ERR"
	expect_exit 0 "tdx: Debian's OVMF itself still measures" $M tdx --firmware "$DEB"
else
	_ok "tdx: Debian's OVMF not installed, prepended-bytes case skipped"
fi

# --json and bytes that are not UTF-8
expect_exit 2 "--json with a non-UTF-8 command line refused" $M sev --firmware "$AMD" --kernel /dev/null \
	--cmdline $'console=ttyS0 \xff\xfe' --json
expect_match "... naming the command line" "the --cmdline is not valid UTF-8" "$ERR"
expect_eq "... nothing half-printed" "" "$OUT"
expect_exit 0 "without --json the same command line measures" $M sev --firmware "$AMD" --kernel /dev/null \
	--cmdline $'console=ttyS0 \xff\xfe'
mkdir "$TMP/"$'\xff'
cp "$AMD" "$TMP/"$'\xff'"/fw.bin"
expect_exit 2 "--json with a non-UTF-8 firmware path refused" $M snp --firmware "$TMP/"$'\xff'"/fw.bin" --json
expect_match "... naming the path, not 'out of memory'" "the firmware path is not valid UTF-8" "$ERR"
check "... and not 'out of memory'" bash -c '! grep -q "out of memory" <<<"$1"' _ "$ERR"
expect_exit 0 "a UTF-8 command line with --json is kept" $M sev --firmware "$AMD" --kernel /dev/null \
	--cmdline 'console=ttyS0 é' --json
expect_match "... verbatim in the JSON" '"cmdline": "console=ttyS0 é"' "$OUT"
finish
