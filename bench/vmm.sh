#!/usr/bin/env bash
# bench/vmm: vigil-vmm against QEMU on the same guest images, in one run,
# under each accelerator present:
#   kvm (where /dev/kvm opens): vigil-vmm --accel kvm against QEMU -M microvm
#       -enable-kvm: exec -> first guest output, total time of the hello guest,
#       VMM memory beyond guest RAM (peak RSS minus resident guest RAM), and the
#       cost of one PIO exit round trip (the pio guest's 10000 port writes);
#   emu (everywhere): vigil-vmm --accel emu against QEMU -M microvm -accel tcg
#       (the same software CPU, as a whole emulator), and beside vigil's kvm:
#       exec -> first output, hello total, PIO round trip.
# Each figure is a median over RUNS runs (default 10); ratio = vigil / baseline.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${VIGIL_BUILD:-$ROOT/build}
VMM=$BUILD/bin/vigil-vmm
RUN=$BUILD/bench/vmm_run
RUNS=${RUNS:-10}
QEMU=$(command -v qemu-system-x86_64 || true)
[[ -x $VMM && -x $RUN && -f $BUILD/guest/hello.bin ]] || { echo "bench/vmm: build first (make)"; exit 1; }
[[ -n "$QEMU" ]] || { echo "SKIP: qemu-system-x86_64 not installed (the baseline)"; exit 0; }
KVM=0
[[ -r /dev/kvm && -w /dev/kvm ]] && KVM=1
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# QEMU wants a firmware image in 64 KiB units: pad in front (the image still
# ends at 4 GiB), and give both VMMs that same file.
for g in hello spin pio piomany; do
	src=$BUILD/guest/$g.bin
	pad=$(((65536 - $(stat -c %s "$src") % 65536) % 65536))
	{ head -c "$pad" /dev/zero | tr '\0' '\377'; cat "$src"; } >"$TMP/$g.bin"
done
MEM=128
# vigil|qemu|vigil_emu|qemu_tcg [vmm_run options] IMAGE
vigil() { "$RUN" "${@:1:$#-1}" -- "$VMM" --accel kvm --memory-mib $MEM --firmware "${@: -1}"; }
vigil_emu() { "$RUN" "${@:1:$#-1}" -- "$VMM" --accel emu --memory-mib $MEM --firmware "${@: -1}"; }
qemu_as() { # ACCEL-ARGS... -- [vmm_run options] IMAGE
	local acc=()
	while [[ $1 != -- ]]; do acc+=("$1"); shift; done
	shift
	"$RUN" "${@:1:$#-1}" -- "$QEMU" -M microvm "${acc[@]}" -m ${MEM}M -nographic -nodefaults -no-user-config \
		-serial stdio -device isa-debug-exit,iobase=0x501,iosize=1 -bios "${@: -1}"
}
qemu() { qemu_as -enable-kvm -- "$@"; }
qemu_tcg() { qemu_as -accel tcg -- "$@"; }
pio_us() { # PIO-GUEST-RESULT HELLO-RESULT WRITES
	awk -v p="$(field total_ms "$1")" -v h="$(field total_ms "$2")" -v n="$3" 'BEGIN { printf "%.3f", (p - h) * 1000 / n }'
}
field() { sed -n "s/.*$1=\([0-9.-]*\).*/\1/p" <<<"$2"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
row() { printf '%-34s %12s %12s %8s\n' "$1" "$2" "$3" "$(ratio "$2" "$3")"; }

# ------------------------------------------------------------------ emu
eh=$(vigil_emu --runs "$RUNS" "$TMP/hello.bin")
th=$(qemu_tcg --runs "$RUNS" "$TMP/hello.bin")
# Software PIO is cheap: the piomany guest's 200000 writes, not pio's 10000.
ep=$(vigil_emu --runs "$RUNS" "$TMP/piomany.bin")
tp=$(qemu_tcg --runs "$RUNS" "$TMP/piomany.bin")
if ((KVM)); then
	kh=$(vigil --runs "$RUNS" "$TMP/hello.bin")
	kp=$(vigil --runs "$RUNS" "$TMP/pio.bin")
fi
row5() { printf '%-34s %11s %11s %7s %11s %7s\n' "$1" "$2" "$3" "$(ratio "$2" "$3")" "${4:-n/a}" "$(ratio "$2" "${4:-0}")"; }
echo "emu accelerator (Unicorn) against QEMU TCG, same guest, median of $RUNS"
printf '%-34s %11s %11s %7s %11s %7s\n' "figure" "vigil-emu" "qemu-tcg" "ratio" "vigil-kvm" "ratio"
row5 "exec -> first guest output (ms)" "$(field first_ms "$eh")" "$(field first_ms "$th")" \
	"$( ((KVM)) && field first_ms "$kh")"
row5 "hello guest, exec -> exit (ms)" "$(field total_ms "$eh")" "$(field total_ms "$th")" \
	"$( ((KVM)) && field total_ms "$kh")"
row5 "PIO round trip (us)" "$(pio_us "$ep" "$eh" 200000)" "$(pio_us "$tp" "$th" 200000)" \
	"$( ((KVM)) && pio_us "$kp" "$kh" 10000)"
echo "goal: emu faster to first guest output than QEMU TCG (ratio < 1.0)"
((KVM)) || { echo "kvm: /dev/kvm not available, kvm figures skipped"; exit 0; }
echo

# ------------------------------------------------------------------ kvm
echo "kvm accelerator against QEMU microvm with KVM"
vh=$(vigil --runs "$RUNS" "$TMP/hello.bin")
qh=$(qemu --runs "$RUNS" "$TMP/hello.bin")
vp=$(vigil --runs "$RUNS" "$TMP/pio.bin")
qp=$(qemu --runs "$RUNS" "$TMP/pio.bin")
vs=$(vigil --runs 3 --rss --guest-mib $MEM "$TMP/spin.bin")
qs=$(qemu --runs 3 --rss --guest-mib $MEM "$TMP/spin.bin")

printf '%-34s %12s %12s %8s\n' "figure (median of $RUNS)" "vigil-vmm" "qemu-microvm" "ratio"
row "exec -> first guest output (ms)" "$(field first_ms "$vh")" "$(field first_ms "$qh")"
row "hello guest, exec -> exit (ms)" "$(field total_ms "$vh")" "$(field total_ms "$qh")"
row "peak RSS beyond guest RAM (KiB)" "$(field mem_kib "$vs")" "$(field mem_kib "$qs")"
row "  of it private, not libraries (KiB)" "$(field anon_kib "$vs")" "$(field anon_kib "$qs")"
vpio=$(awk -v p="$(field total_ms "$vp")" -v h="$(field total_ms "$vh")" 'BEGIN { printf "%.2f", (p - h) * 1000 / 10000 }')
qpio=$(awk -v p="$(field total_ms "$qp")" -v h="$(field total_ms "$qh")" 'BEGIN { printf "%.2f", (p - h) * 1000 / 10000 }')
row "PIO exit round trip (us)" "$vpio" "$qpio"
echo "goals: first output < 5 ms, RSS beyond guest RAM < 3072 KiB, every ratio <= 1.0"
