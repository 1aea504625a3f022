#!/usr/bin/env bash
# vigil-vmm --launch-only [--json] (issue 14): the whole launch on sim-snp / sim-tdx, the
# launch measurement the simulated platform computed printed, no vCPU run; it equals
# `vigil measure`'s prediction for the same inputs (the attest guest, and Debian's OVMF,
# whose SEV metadata and TDVF sections the launch walks). Under each accelerator.
. "$(dirname "$0")/lib.sh"
# Sanitized builds: LeakSanitizer's exit-time thread tracer is not in the seccomp allow-list.
[[ -n "${VIGIL_SANITIZE:-}" ]] && export ASAN_OPTIONS=detect_leaks=0

GUEST=$BUILD/guest/attest.bin
[[ -f $GUEST ]] || skip_all "attest guest not built"
DEB=/usr/share/ovmf/OVMF.fd
STATE=$TMP/state
mkdir -p "$STATE"
need_cmd jq

for_each_accel() { # the accelerators this host can run
	"$BIN/vigil-vmm" --check-kvm >/dev/null 2>&1 && echo kvm
	echo emu
}

for A in $(for_each_accel); do
	V=("$BIN/vigil-vmm" --accel "$A" --state-dir "$STATE")
	for n in 1 2; do
		PRED=$("$BIN/vigil" measure snp --firmware "$GUEST" --vmm-type vigil --vcpus $n | head -1)
		expect_exit 0 "[$A] sim-snp --launch-only, $n vCPUs" "${V[@]}" --platform sim-snp --firmware "$GUEST" \
			--memory-mib 16 --vcpus $n --launch-only
		expect_eq "[$A] sim-snp $n vCPUs: the measurement is vigil measure's" "$PRED" "$OUT"
	done
	if [[ -f $DEB ]]; then
		PRED=$("$BIN/vigil" measure snp --firmware "$DEB" --vmm-type vigil --vcpus 1 | head -1)
		expect_exit 0 "[$A] sim-snp launch of Debian's OVMF" "${V[@]}" --platform sim-snp --firmware "$DEB" \
			--memory-mib 64 --launch-only --json
		expect_eq "[$A] OVMF: MEASUREMENT as predicted" "$PRED" "$(jq -r .measurement <<<"$OUT")"
		expect_eq "[$A] OVMF: register named" "MEASUREMENT" "$(jq -r .register <<<"$OUT")"
		expect_eq "[$A] OVMF: simulated" "true" "$(jq -r .simulated <<<"$OUT")"
		PRED=$("$BIN/vigil" measure tdx --firmware "$DEB" | head -1)
		expect_exit 0 "[$A] sim-tdx launch of Debian's OVMF" "${V[@]}" --platform sim-tdx --firmware "$DEB" \
			--memory-mib 64 --launch-only --json
		expect_eq "[$A] OVMF: MRTD as predicted" "$PRED" "$(jq -r .measurement <<<"$OUT")"
		expect_eq "[$A] OVMF: MRTD named" "MRTD" "$(jq -r .register <<<"$OUT")"
		# TDX measured direct boot: the blobs go to TDVF through fw_cfg after the launch;
		# TDVF's metadata alone decides MRTD.
		head -c 5000 /dev/urandom >"$TMP/tdx-initrd"
		expect_exit 0 "[$A] sim-tdx launch of Debian's OVMF with --kernel/--initrd/--cmdline" "${V[@]}" \
			--platform sim-tdx --firmware "$DEB" --kernel "$GUEST" --initrd "$TMP/tdx-initrd" \
			--cmdline "console=ttyS0" --memory-mib 64 --launch-only --json
		expect_eq "[$A] ... MRTD unchanged by the blobs, as vigil measure tdx says" "$PRED" \
			"$(jq -r .measurement <<<"$OUT")"
	fi
	# Measured direct boot (QEMU kernel-hashes=on): OVMF's hashes table filled with the
	# SHA-256 of kernel, initrd and command line; the digest is sev-snp-measure's
	# (../shared/vectors/measure/README.md: AmdSev, 1 vCPU, empty kernel and initrd,
	# "console=ttyS0 loglevel=7", guest features 0x1).
	AMD=$VECTORS/measure/ovmf_AmdSev_suffix.bin
	if [[ -f $AMD ]]; then
		: >"$TMP/empty"
		KARGS=(--kernel "$TMP/empty" --initrd "$TMP/empty" --cmdline "console=ttyS0 loglevel=7")
		expect_exit 0 "[$A] sim-snp measured direct boot" "${V[@]}" --platform sim-snp --firmware "$AMD" \
			--memory-mib 16 "${KARGS[@]}" --launch-only
		expect_eq "[$A] kernel hashes: sev-snp-measure's digest" \
			6d287813eb5222d770f75005c664e34c204f385ce832cc2ce7d0d6f354454362f390ef83a92046c042e706363b4b08fa "$OUT"
		PRED=$("$BIN/vigil" measure snp --firmware "$AMD" --vmm-type vigil "${KARGS[@]}" | head -1)
		expect_eq "[$A] kernel hashes: vigil measure's prediction" "$PRED" "$OUT"
		expect_exit 0 "[$A] another command line" "${V[@]}" --platform sim-snp --firmware "$AMD" \
			--memory-mib 16 --kernel "$TMP/empty" --launch-only
		expect_eq "[$A] ... measures as predicted" \
			"$("$BIN/vigil" measure snp --firmware "$AMD" --vmm-type vigil --kernel "$TMP/empty" | head -1)" "$OUT"
	fi
done

expect_exit 2 "--kernel with --firmware on a platform without measured direct boot" "$BIN/vigil-vmm" \
	--platform none --firmware "$GUEST" --kernel "$GUEST"
expect_match "... says why" "exclusive" "$ERR"
expect_exit 2 "--launch-only on a platform without a simulated measurement" "$BIN/vigil-vmm" --accel emu \
	--firmware "$GUEST" --memory-mib 16 --launch-only
expect_match "... says why" "cannot report a launch measurement" "$ERR"
expect_exit 2 "--launch-only with --print-measurements" "$BIN/vigil-vmm" --platform sim-snp --state-dir "$STATE" \
	--firmware "$GUEST" --launch-only --print-measurements
finish
