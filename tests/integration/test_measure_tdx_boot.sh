#!/usr/bin/env bash
# vigil measure tdx --kernel/--initrd/--cmdline (issue 14, TDX measured direct boot):
# MRTD unchanged by the blobs; the kernel's PE/COFF Authenticode digest checked against
# osslsigncode (SHA-384, over Debian's signed cloud kernel, the same kernel unsigned and
# re-signed) and against Debian's own Secure Boot signature (SHA-256); every RTMR1/RTMR2
# event digest and both RTMR values re-computed by an independent Python model
# (tdx_boot_model.py) for two edk2 rule sets; refusals.
. "$(dirname "$0")/lib.sh"

need_cmd jq
HAVE_OSSL=$(command -v osslsigncode >/dev/null && echo 1)
[[ -n $HAVE_OSSL ]] || echo "# SKIP: osslsigncode not installed (scripts/deps.sh): no Authenticode interop"
DEB=/usr/share/ovmf/OVMF.fd
[[ -f $DEB ]] || skip_all "Debian's OVMF not installed"
M=("$BIN/vigil" measure tdx --firmware "$DEB")
TOOL=$BUILD/tests/integration/pe_digest_tool
MODEL=(/usr/bin/python3 "$(dirname "$0")/tdx_boot_model.py")

# Kernels: Debian's signed cloud kernel when scripts/deps.sh cached it, and always a PE
# made here (PE32+, two sections, trailing data) signed by osslsigncode.
cache=${VIGIL_KERNEL_CACHE:-/var/cache/vigil/kernel}
deb=$(ls "$cache"/linux-image-*-cloud-amd64_*.deb 2>/dev/null | head -1)
KERNELS=()
if [[ -n "$deb" ]] && dpkg-deb -x "$deb" "$TMP/k" 2>/dev/null; then
	KERNELS+=("$(ls "$TMP"/k/boot/vmlinuz-* | head -1)")
else
	echo "# Debian cloud kernel not cached (scripts/deps.sh): the self-made PE only"
fi
/usr/bin/python3 "$(dirname "$0")/make_pe.py" "$TMP/made.efi"
KERNELS+=("$TMP/made.efi")

[[ -z $HAVE_OSSL ]] || openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/sign.key" -out "$TMP/sign.crt" -subj /CN=vigil-test \
	-days 1 2>/dev/null || _nok "test signing key"
MRTD=$("${M[@]}" | head -1)
head -c 70000 /dev/urandom >"$TMP/initrd"

for K in "${KERNELS[@]}"; do
	name=$(basename "$K")
	rm -f "$TMP/unsigned.efi" "$TMP/signed384.efi"
	if [[ -n $HAVE_OSSL ]]; then
		# Authenticode: osslsigncode signs with SHA-384 and reports the digest it signed.
		if osslsigncode verify -in "$K" >/dev/null 2>&1 || osslsigncode extract-signature -in "$K" \
			-out "$TMP/sig.der" >/dev/null 2>&1; then
			check "[$name] osslsigncode remove-signature" osslsigncode remove-signature -in "$K" -out "$TMP/unsigned.efi"
		else
			cp "$K" "$TMP/unsigned.efi"
		fi
		check "[$name] osslsigncode sign -h sha384" osslsigncode sign -h sha384 -certs "$TMP/sign.crt" \
			-key "$TMP/sign.key" -in "$TMP/unsigned.efi" -out "$TMP/signed384.efi"
		OSSL=$(osslsigncode verify -in "$TMP/signed384.efi" 2>/dev/null | sed -n 's/^Current message digest *: *//p' |
			tr -d ' ' | tr 'A-F' 'a-f' | head -1)
		[[ ${#OSSL} -eq 96 ]] && _ok "[$name] osslsigncode reports a SHA-384 digest" ||
			_nok "[$name] osslsigncode reports a SHA-384 digest" "got '$OSSL'"
		for f in "$K" "$TMP/unsigned.efi" "$TMP/signed384.efi"; do
			check "[$name] vigil measure tdx --kernel $(basename "$f")" "${M[@]}" --kernel "$f" --json
			expect_eq "[$name] $(basename "$f"): Authenticode digest is osslsigncode's" "$OSSL" \
				"$(jq -r .direct_boot.kernel_authenticode_sha384 <<<"$OUT")"
			expect_eq "[$name] $(basename "$f"): MRTD unchanged by the kernel" "$MRTD" "$(jq -r .digest <<<"$OUT")"
		done
		# Debian's own signature (its signing service computed the SHA-256 Authenticode).
		DEBSIG=$(osslsigncode verify -in "$K" 2>/dev/null | sed -n 's/^Current message digest *: *//p' | tr -d ' ' |
			tr 'A-F' 'a-f' | head -1)
		if [[ ${#DEBSIG} -eq 64 ]]; then
			check "[$name] SHA-256 Authenticode" "$TOOL" "$K" SHA256
			expect_eq "[$name] SHA-256 Authenticode equals the digest in the distribution's signature" "$DEBSIG" "$OUT"
		fi

	fi
	# The event chain against the independent model, for two edk2 rule sets.
	for tag in 202508 202405; do
		check "[$name] edk2 $tag: --json with initrd and command line" "${M[@]}" --kernel "$K" \
			--initrd "$TMP/initrd" --cmdline "console=ttyS0 root=/dev/vda1 quiet" --edk2 stable$tag --json
		echo "$OUT" >"$TMP/out.json"
		check "[$name] edk2 $tag: every event digest and RTMR1/RTMR2 as the Python model" "${MODEL[@]}" \
			"$TMP/out.json" "$K" "$TMP/initrd" --cmdline "console=ttyS0 root=/dev/vda1 quiet" --edk2 $tag
	done
	check "[$name] no initrd, no command line" "${M[@]}" --kernel "$K" --json
	echo "$OUT" >"$TMP/out.json"
	expect_eq "[$name] ... RTMR2 stays zero" "$(printf '0%.0s' {1..96})" "$(jq -r .direct_boot.rtmr2 <<<"$OUT")"
	check "[$name] ... as the Python model" "${MODEL[@]}" "$TMP/out.json" "$K"
	# Text output: MRTD first, then the RTMRs and the assumptions they rest on.
	check "[$name] text output" "${M[@]}" --kernel "$K" --initrd "$TMP/initrd"
	expect_eq "[$name] text: first line is the MRTD" "$MRTD" "$(head -1 <<<"$OUT")"
	expect_match "[$name] text: rtmr1 line" "^rtmr1 [0-9a-f]{96} predicted" "$(sed -n 2p <<<"$OUT")"
	expect_match "[$name] text: assumptions said" "assumption: the VMM serves the kernel file unmodified" "$OUT"
done

# JSON for the Debian kernel (Linux 6.1: its stub predates the CC measurement).
if [[ ${#KERNELS[@]} -gt 1 ]]; then
	check "6.1 kernel: --json" "${M[@]}" --kernel "${KERNELS[0]}" --cmdline "console=ttyS0" --json
	expect_eq "6.1 kernel: rtmr1_complete" true "$(jq -r .direct_boot.rtmr1_complete <<<"$OUT")"
	expect_eq "6.1 kernel: rtmr2_complete is false (stub before Linux 6.9)" false \
		"$(jq -r .direct_boot.rtmr2_complete <<<"$OUT")"
	expect_match "6.1 kernel: the assumption says why" "predates Linux 6.9" \
		"$(jq -r '.direct_boot.assumptions[]' <<<"$OUT")"
	expect_eq "6.1 kernel: load options" "console=ttyS0" "$(jq -r .direct_boot.load_options <<<"$OUT")"
	expect_eq "6.1 kernel: inputs name the kernel" "$(sha256sum "${KERNELS[0]}" | cut -d' ' -f1)" \
		"$(jq -r .inputs.kernel.sha256 <<<"$OUT")"
fi

# Refusals: one line, exit 2, no value.
head -c 20000 /dev/urandom >"$TMP/notpe"
expect_exit 2 "a kernel that is not a PE/COFF EFI image" "${M[@]}" --kernel "$TMP/notpe"
expect_match "... says TDVF would not measure it" "legacy loader, which measures nothing" "$ERR"
expect_eq "... and prints no value" "" "$OUT"
expect_exit 2 "--edk2 without --kernel" "${M[@]}" --edk2 stable202508
expect_exit 2 "--edk2 with a bad tag" "${M[@]}" --kernel "$TMP/made.efi" --edk2 main
expect_match "... names the form" "stableYYYYMM" "$ERR"
expect_exit 2 "--edk2 before TdTcg2Dxe" "${M[@]}" --kernel "$TMP/made.efi" --edk2 stable202205
expect_exit 2 "--initrd without --kernel" "${M[@]}" --initrd "$TMP/initrd"
finish
