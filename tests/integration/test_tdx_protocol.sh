#!/usr/bin/env bash
# The REAL `vigil-vmm --platform tdx --firmware OVMF.fd [--kernel K --initrd I --cmdline C]`
# against the KVM model (build/tests/kvm_shim.so, docs/testing.md), and KVM's own reset
# event for plain, SNP and TDX VMs. What a user would care about:
#   - a TD launch in KVM's order (INIT_VM, INIT_VCPU, INIT_MEM_REGION..., FINALIZE_VM) with
#     no rule of the model broken, and the MRTD `vigil measure tdx` predicts: the same
#     with and without a kernel (the blobs are not added to the TD; TDVF measures them
#     into RTMRs, which the shim does not compute);
#   - the scripted guest, as TDVF does, makes its DMA window shared with MapGPA (KVM
#     forwards it as KVM_EXIT_HYPERCALL(KVM_HC_MAP_GPA_RANGE) in 2 MiB chunks, the shared
#     bit stripped: vmx/tdx.c tdx_map_gpa), gives the device plain GPAs and reads the
#     kernel, initrd and command line by fw_cfg DMA: their SHA-256 are the files';
#   - what fails, fails loudly: a DMA buffer the guest left private (neither KVM nor the
#     device refuses it: the device writes the shared backing, the TD reads its private
#     page, and the guest's own check fails), the firmware slot without guest_memfd
#     (INIT_MEM_REGION refused), an INIT_VM CPUID KVM refuses (GPAW 0);
#   - KVM_EXIT_SYSTEM_EVENT RESET: a plain VM reboots in place (every vCPU's registers
#     written back, then it runs or shuts down with exit 0); SNP and TDX stop with exit 0
#     and say a confidential guest cannot be reset.
. "$(dirname "$0")/lib.sh"

SHIM=$BUILD/tests/kvm_shim.so
[[ -f $SHIM ]] || skip_all "build/tests/kvm_shim.so not built"
need_cmd jq
DEB=/usr/share/ovmf/OVMF.fd
[[ -f $DEB ]] || skip_all "Debian's OVMF ($DEB) missing"
if [[ -n "${VIGIL_SANITIZE:-}" ]]; then
	# as test_snp_protocol.sh: the shim is preloaded uninstrumented ahead of ASan
	export ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0
fi

LOG=$TMP/shim.log
# shim RULES ARGS...: vigil-vmm under the shim (only vigil-vmm gets LD_PRELOAD).
shim() {
	local rules=$1
	shift
	rm -f "$LOG"
	timeout 60 env -u VIGIL_KVM_DEVICE VIGIL_KVM_SHIM_LOG="$LOG" VIGIL_KVM_SHIM_RULES="$rules" LD_PRELOAD="$SHIM" \
		"$BIN/vigil-vmm" --memory-mib 64 --state-dir "$TMP/state" "$@"
}
td() {
	local rules=$1
	shift
	shim "$rules" --platform tdx --firmware "$DEB" "$@"
}
L() { cat "$LOG" 2>/dev/null; }
violation() { L | grep '^violation='; }
order() { L | sed -n 's/^tdx \([A-Z_]*\) .*/\1/p' | uniq | xargs; }
mrtd() { L | sed -n 's/^tdx FINALIZE_VM rc=0 mrtd=//p'; }
# "gpa measure" per page the TDX module added
added() { L | sed -n 's/^tdx INIT_MEM_REGION gpa=\([^ ]*\) pages=1 measure=\([01]\) rc=0$/\1 \2/p'; }
sha() { sha256sum "$1" | cut -d' ' -f1; }

# ---- a kernel both PE/COFF (EFI stub: TDVF's loader measures its Authenticode digest)
# and bzImage-shaped (setup_sects 1, "HdrS" at 0x202), 3 MiB: more than one DMA chunk
/usr/bin/python3 "$(dirname "$0")/make_pe.py" "$TMP/k.efi" --bzimage $((3 << 20))
/usr/bin/python3 -c 'import sys; open(sys.argv[1], "wb").write(bytes((i * 13) & 0xff for i in range(70000)))' "$TMP/initrd"
CMD="console=ttyS0 root=/dev/vda"
KARGS=(--kernel "$TMP/k.efi" --initrd "$TMP/initrd" --cmdline "$CMD")
PRED=$("$BIN/vigil" measure tdx --firmware "$DEB" | head -1)

# ---- TDVF alone
expect_exit 0 "tdx: Debian OVMF.fd (TDVF) under the KVM model" td ""
expect_eq "... launch order" "CAPABILITIES INIT_VM INIT_VCPU GET_CPUID INIT_MEM_REGION FINALIZE_VM" "$(order)"
expect_eq "... MRTD as vigil measure tdx predicts" "$PRED" "$(mrtd)"
expect_eq "... no rule broken" "violation=" "$(violation)"
expect_eq "... RAM and firmware slots bound to guest_memfd" "0 2" \
	"$(L | grep -c '^slot .* plain') $(L | grep -c '^slot .* guest_memfd rc=0')"
J=$("$BIN/vigil" measure tdx --json --firmware "$DEB")
expect_eq "... pages added and measured: vigil measure's sections" \
	"$(jq '[.sections[].page_adds] | add' <<<"$J") $(jq '[.sections[].mr_extends] | add / 16' <<<"$J")" \
	"$(added | wc -l) $(added | awk '$2 == 1' | wc -l)"
expect_match "... the guest ran after FINALIZE_VM" "guest verdict=0" "$(L)"
ADDED0=$(added)

# ---- measured direct boot: fw_cfg serves the blobs to the TD
expect_exit 0 "tdx --kernel --initrd --cmdline under the KVM model: the guest's checks pass" td "" "${KARGS[@]}"
expect_eq "... no rule broken" "violation=" "$(violation)"
expect_eq "... launch order unchanged" "CAPABILITIES INIT_VM INIT_VCPU GET_CPUID INIT_MEM_REGION FINALIZE_VM" "$(order)"
expect_eq "... the same pages added as without a kernel (the blobs are not in the TD)" "$ADDED0" "$(added)"
expect_eq "... MRTD unchanged by the blobs" "$PRED" "$(mrtd)"
expect_eq "... = vigil measure tdx --kernel's MRTD" \
	"$("$BIN/vigil" measure tdx --firmware "$DEB" "${KARGS[@]}" | head -1)" "$(mrtd)"
expect_match "... MapGPA of the shared alias (bit 47) made the DMA window shared" \
	"guest MapGPA 0x800001000000\+4M shared: status=0x0" "$(L)"
expect_eq "... KVM forwarded it in 2 MiB chunks without the shared bit, converted by vigil-vmm" \
	"attributes 0x1000000+0x200000 shared rc=0 attributes 0x1200000+0x200000 shared rc=0" \
	"$(L | grep '^attributes' | xargs)"
expect_match "... no memory fault (the window was shared before the device used it)" "guest memory_faults=0" "$(L)"
expect_match "... fw_cfg served setup+kernel = the kernel file" \
	"guest kernel size=$(stat -c %s "$TMP/k.efi") sha256=$(sha "$TMP/k.efi")" "$(L)"
expect_match "... the initrd file" "guest initrd size=70000 sha256=$(sha "$TMP/initrd")" "$(L)"
expect_match "... the command line with its NUL" \
	"guest cmdline size=$((${#CMD} + 1)) sha256=$(printf '%s\0' "$CMD" | sha256sum | cut -d' ' -f1)" "$(L)"
expect_match "... the guest's verdict" "guest verdict=0" "$(L)"

# Debian's signed cloud kernel, when scripts/deps.sh cached it
deb=$(ls "${VIGIL_KERNEL_CACHE:-/var/cache/vigil/kernel}"/linux-image-*-cloud-amd64_*.deb 2>/dev/null | head -1)
if [[ -n "$deb" ]] && dpkg-deb -x "$deb" "$TMP/dk" 2>/dev/null; then
	VMLINUZ=$(ls "$TMP"/dk/boot/vmlinuz-* | head -1)
	expect_exit 0 "tdx with Debian's cloud kernel under the KVM model" td "" --kernel "$VMLINUZ" --cmdline "$CMD"
	expect_match "... fw_cfg served it" "guest kernel size=$(stat -c %s "$VMLINUZ") sha256=$(sha "$VMLINUZ")" "$(L)"
	expect_eq "... MRTD unchanged, no rule broken" "$PRED violation=" "$(mrtd) $(violation)"
else
	echo "# Debian cloud kernel not cached (scripts/deps.sh): the self-made kernel only"
fi

# The guest never converts its window: its shared accesses fault (KVM_RUN -1/EFAULT,
# KVM_EXIT_MEMORY_FAULT) and vigil-vmm converts the pages, as QEMU does.
expect_exit 0 "tdx: DMA window never MapGPA'd: still passes" td no-psc "${KARGS[@]}"
expect_match "... the faults were memory-fault exits the VMM resolved" "guest memory_faults=[1-9]" "$(L)"
expect_match "... the kernel as served" "guest kernel size=$(stat -c %s "$TMP/k.efi") sha256=$(sha "$TMP/k.efi")" "$(L)"
expect_eq "... no rule broken" "violation=" "$(violation)"

# ---- failures a user must see
expect_exit 13 "tdx: a DMA buffer the guest kept private: the guest's check fails" td dma-private "${KARGS[@]}" -v
expect_match "... vigil-vmm reports the guest's verdict" "guest wrote 13 to the debug-exit port" "$ERR"
expect_match "... the device wrote the shared backing, the TD reads its private page" \
	"guest DMA buffer 0x1800000 is private: the device wrote its shared backing \(HdrS at 0x202\), the guest reads its private page \(zeros\)" \
	"$(L)"
expect_match "... so the kernel did not arrive" "guest FAIL 13 the setup blob as read has no HdrS" "$(L)"
check "... the hash the guest computed is not the file's" sh -c "! grep -q 'guest kernel .*sha256=$(sha "$TMP/k.efi")' '$LOG'"
expect_eq "... neither KVM nor the device refuses it (no rule broken)" "violation=" "$(violation)"

expect_exit 2 "tdx: firmware slot bound without its guest_memfd (issue 14 finding 1)" td fw-slot-plain
expect_match "... vigil-vmm reports the refused INIT_MEM_REGION" \
	"TDVF section 0 \(BFV\): KVM_TDX_INIT_MEM_REGION at 0xffe20000 .*failed: Invalid argument" "$ERR"
expect_match "... the model names the kernel's rule" \
	"violation=KVM_TDX_INIT_MEM_REGION at 0xffe20000: the memslot has no guest_memfd" "$(L)"
expect_eq "... no FINALIZE_VM, the guest never ran" "0 0" "$(L | grep -c '^tdx FINALIZE_VM') $(L | grep -c '^guest ')"

expect_exit 2 "tdx: INIT_VM with KVM_GET_SUPPORTED_CPUID's GPAW (0) passed through (issue 14 finding 10)" \
	td td-cpuid-gpaw
expect_match "... vigil-vmm reports the refused INIT_VM" "KVM_TDX_INIT_VM failed: Invalid argument" "$ERR"
expect_match "... the model names KVM's rule" \
	"violation=KVM_TDX_INIT_VM: CPUID 0x80000008 EAX\[23:16\] = 0 \(48 or 52 accepted\)" "$(L)"
expect_eq "... no vCPU initialized" "0" "$(L | grep -c '^tdx INIT_VCPU')"

expect_exit 2 "tdx: the TDX module clears a configurable CPUID bit vigil-vmm asked for" td td-cpuid-fixed0
expect_match "... vigil-vmm's KVM_TDX_GET_CPUID cross-check names it" \
	"TD CPUID leaf 0x1 subleaf 0x0 ECX: ours 0x00003203, TDX module 0x00003202 \(bits 0x00000001 missing; KVM_TDX_GET_CPUID\)" \
	"$ERR"
expect_eq "... no memory added, no rule broken" "0 violation=" "$(L | grep -c '^tdx INIT_MEM_REGION') $(violation)"

# ---- KVM's reset event (api.rst KVM_EXIT_SYSTEM_EVENT, KVM_SYSTEM_EVENT_RESET)
PLAIN=(--platform none --firmware "$DEB")
expect_exit 0 "plain VM, 2 vCPUs: a KVM reset event, then a shutdown event" shim reset-event,shutdown-event \
	"${PLAIN[@]}" --vcpus 2 -v
expect_match "... vigil-vmm reboots in place" \
	"guest requested a reset \(KVM reset event\): rebooting \(reboot 1\)" "$ERR"
expect_match "... then stops on the shutdown event" "guest shut down" "$ERR"
expect_eq "... the events, in order" "RESET SHUTDOWN" "$(L | sed -n 's/^guest system event //p' | xargs)"
for v in 0 1; do
	expect_match "... vCPU $v's registers written back: the reset vector" \
		"vcpu $v KVM_SET_REGS after the reset event: rip=0xfff0 rc=0" "$(L)"
	expect_match "... and its segments" \
		"vcpu $v KVM_SET_SREGS after the reset event: cs.selector=0xf000 cs.base=0xffff0000 cr0=0x60000010 rc=0" "$(L)"
done
expect_eq "... vCPU 0 runs on from the reset state, not where the event left it (rip 0x1234)" \
	"rip=0xfff0 cs.base=0xffff0000" "$(L | sed -n 's/^vcpu 0 at the system event: //p' | tail -1)"
expect_eq "... no rule broken (the reboot's snapshot and write-back ioctls included)" "violation=" "$(violation)"

expect_exit 0 "plain VM: a KVM reset event, then the guest runs again" shim reset-event "${PLAIN[@]}" -v
expect_match "... rebooted once" "rebooting \(reboot 1\)" "$ERR"
expect_match "... the guest starts over at the reset vector" \
	"vcpu 0 runs the guest again from rip=0xfff0 cs.base=0xffff0000" "$(L)"
expect_match "... and reaches its verdict" "guest verdict=0" "$(L)"
expect_eq "... no rule broken" "violation=" "$(violation)"

for p in snp tdx; do
	expect_exit 0 "$p: a KVM reset event stops the VM with exit 0" shim reset-event --platform $p --firmware "$DEB" -v
	expect_match "... saying why" \
		"guest requested a reset \(KVM reset event\); a confidential guest cannot be reset: stopping" "$ERR"
	expect_eq "... no reboot, no register written back" "0 0" \
		"$(grep -c rebooting <<<"$ERR") $(L | grep -c 'after the reset event')"
	expect_eq "... no rule broken" "violation=" "$(violation)"
done

expect_exit 2 "an unknown shim rule is refused" td no-such-rule
expect_match "... by name" 'unknown rule "no-such-rule"' "$ERR"
finish
