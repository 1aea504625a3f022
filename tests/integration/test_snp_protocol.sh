#!/usr/bin/env bash
# The REAL `vigil-vmm --platform snp --firmware F --kernel K --initrd I --cmdline C` runs
# its whole launch against the KVM model (issue 14, "done means"): build/tests/kvm_shim.so
# (tests/integration/kvm_shim.c, LD_PRELOAD) stands in for /dev/kvm and /dev/sev with
# tests/unit/kvm_model.c and plays a scripted guest that reads fw_cfg as OVMF does and
# checks the blobs against the SEV hashes table the launch measured. What a user would
# care about:
#   - the launch completes and the guest's checks pass (exit status = its verdict on the
#     debug-exit port), with no rule of the model broken;
#   - INIT2, LAUNCH_START, LAUNCH_UPDATE of exactly the pages `vigil measure snp` walks,
#     LAUNCH_FINISH; the SNP launch digest the shim computes from the pages as the
#     firmware took them equals `vigil measure`'s at every step, and sev-snp-measure's
#     vectors (firmware pages, hashes table bytes, the hashes page);
#   - fw_cfg serves the files (their SHA-256 as the guest read them), and their hashes
#     are the table's, in a page launched NORMAL (measured) and private;
#   - a host, a firmware or a VMM that breaks a rule fails the run loudly.
#   - the VMSAs KVM adds at LAUNCH_FINISH, built from the registers vigil-vmm programmed
#     into the (model's) vCPUs, complete a launch digest equal to sev-snp-measure's
#     (1 and 4 vCPUs) and to `vigil measure`'s.
# vigil-vmm runs with its default sandbox: the shim works inside the seccomp filters.
. "$(dirname "$0")/lib.sh"

SHIM=$BUILD/tests/kvm_shim.so
[[ -f $SHIM ]] || skip_all "build/tests/kvm_shim.so not built"
need_vectors
need_cmd jq
AMD=$VECTORS/measure/ovmf_AmdSev_suffix.bin
X64=$VECTORS/measure/ovmf_OvmfX64_suffix.bin
[[ -f $AMD && -f $X64 ]] || skip_all "measure vectors (ovmf_*_suffix.bin) missing"
if [[ -n "${VIGIL_SANITIZE:-}" ]]; then
	# The shim is not instrumented and is preloaded ahead of the ASan runtime; LeakSanitizer's
	# exit-time tracer is not in the seccomp allow-list.
	export ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0
fi

LOG=$TMP/shim.log
STATE=$TMP/state
# shim_vmm RULES ARGS...: vigil-vmm under the shim (only vigil-vmm gets LD_PRELOAD).
shim_vmm() {
	local rules=$1
	shift
	rm -f "$LOG"
	timeout 60 env -u VIGIL_KVM_DEVICE VIGIL_KVM_SHIM_LOG="$LOG" VIGIL_KVM_SHIM_RULES="$rules" LD_PRELOAD="$SHIM" \
		"$BIN/vigil-vmm" --platform snp --state-dir "$STATE" --memory-mib 64 "$@"
}
L() { cat "$LOG" 2>/dev/null; }
# "gpa pages type digest" per LAUNCH_UPDATE, from the shim's log and from vigil measure --json.
updates() { L | sed -n 's/^sev LAUNCH_UPDATE gpa=\([^ ]*\) pages=\([^ ]*\) type=\([^ ]*\) rc=0 ld=\([^ ]*\).*/\1 \2 \3 \4/p'; }
predicted() {
	"$BIN/vigil" measure snp --vmm-type vigil --json "$@" |
		jq -r '.sections[] | select(.page_type != "VMSA") | "\(.gpa) \(.pages) \(.page_type) \(.digest_after)"'
}
# sev-snp-measure's values (../shared/vectors/measure/README.md)
OVMF_HASH=086e2e9149ebf45abdc3445fba5b2da8270bdbb04094d7a2c37faaa4b24af3aa16aff8c374c2a55c467a50da6d466b74

# ---- a bzImage-shaped kernel (setup_sects 1, "HdrS" at 0x202), an initrd, a command line
/usr/bin/python3 - "$TMP/bz" "$TMP/initrd" <<'PY'
import sys
b = bytearray(3 << 20)  # more than one 2 MiB DMA chunk
b[0x1f1] = 1
b[0x202:0x206] = b"HdrS"
for i in range(1024, len(b)):
    b[i] = (i * 7 + (i >> 12)) & 0xff
open(sys.argv[1], "wb").write(b)
open(sys.argv[2], "wb").write(bytes((i * 13) & 0xff for i in range(70000)))
PY
CMD="console=ttyS0 root=/dev/vda"
HOSTDATA=$(printf '%064x' 0x5eed)
KARGS=(--firmware "$AMD" --kernel "$TMP/bz" --initrd "$TMP/initrd" --cmdline "$CMD")

expect_exit 0 "snp measured direct boot under the KVM model: launch done, the guest's fw_cfg checks pass" \
	shim_vmm "" "${KARGS[@]}" --host-data "$HOSTDATA"
expect_match "the shim ran to the end" $'\nend$' "$(L)"
expect_eq "no rule of the KVM model broken" "violation=" "$(L | grep '^violation=')"
expect_eq "every memslot is bound to a guest_memfd (RAM and firmware)" "0 2" \
	"$(L | grep -c '^slot .* plain') $(L | grep -c '^slot .* guest_memfd rc=0')"
expect_eq "launch order: INIT2, LAUNCH_START, LAUNCH_UPDATE..., LAUNCH_FINISH" \
	"INIT2 LAUNCH_START LAUNCH_UPDATE LAUNCH_FINISH" "$(L | sed -n 's/^sev \(INIT2\|LAUNCH_[A-Z]*\) .*/\1/p' | uniq | xargs)"
expect_match "LAUNCH_START: the default policy, /dev/sev given" "sev LAUNCH_START policy=0x30000 sev_fd=/dev/sev rc=0" "$(L)"
expect_eq "LAUNCH_UPDATE: the pages vigil measure walks, each launch digest as predicted" \
	"$(predicted "${KARGS[@]}")" "$(updates)"
expect_eq "the firmware page measures as sev-snp-measure's ovmf-hash" "$OVMF_HASH" \
	"$(updates | awk '$1 == "0xfffff000" {print $4}')"
expect_eq "the KERNEL_HASHES page was launched measured (NORMAL)" "0x810000 1 NORMAL" \
	"$(updates | awk '$1 == "0x810000" {print $1, $2, $3}')"
expect_match "LAUNCH_FINISH: one vCPU, HOST_DATA as given, no ID block" \
	"sev LAUNCH_FINISH id_block=no id_auth=no auth_key_en=0 vcpus=1 host_data=$HOSTDATA rc=0" "$(L)"
expect_match "the guest read fw_cfg's signature" 'guest fw_cfg signature "QEMU"' "$(L)"
expect_match "... made its DMA window shared (page-state change)" "guest page-state change 0x1000000\+2M shared: ret=0" "$(L)"
expect_match "fw_cfg served setup+kernel = the kernel file" \
	"guest kernel size=$(stat -c %s "$TMP/bz") sha256=$(sha256sum "$TMP/bz" | cut -d' ' -f1)" "$(L)"
expect_match "fw_cfg served the initrd file" "guest initrd size=70000 sha256=$(sha256sum "$TMP/initrd" | cut -d' ' -f1)" "$(L)"
expect_match "fw_cfg served the command line with its NUL" \
	"guest cmdline size=$((${#CMD} + 1)) sha256=$(printf '%s\0' "$CMD" | sha256sum | cut -d' ' -f1)" "$(L)"
expect_match "the hashes table, found in private launched memory where the firmware says" \
	"guest hashes table at gpa=0x810c00 len=168 page_type=NORMAL" "$(L)"
expect_match "... holds those hashes" "guest hashes table matches kernel, initrd and command line" "$(L)"
expect_match "the guest's verdict" "guest verdict=0" "$(L)"
J=$("$BIN/vigil" measure snp --vmm-type vigil --json "${KARGS[@]}")
TABLE=$(L | sed -n 's/.*guest hashes table at .* bytes=\([0-9a-f]*\)$/\1/p')
expect_match "the table's kernel entry is vigil measure's kernel SHA-256" "$(jq -r .inputs.kernel.sha256 <<<"$J")" "$TABLE"
expect_match "... its command line entry vigil measure's" "$(jq -r .inputs.cmdline_sha256 <<<"$J")" "$TABLE"
expect_eq "the whole launch digest (VMSAs included) is vigil measure's" "$(jq -r .digest <<<"$J")" \
	"$(L | sed -n 's/^snp launch digest=//p')"
expect_match "vCPU 0's VMSA: the reset vector, RDX = the EPYC-v4 signature" \
	"sev VMSA vcpu=0 rip=0xfff0 cs_base=0xffff0000 rdx=0x800f12 " "$(L)"
expect_exit 0 "the same inputs on sim-snp --launch-only" "$BIN/vigil-vmm" --platform sim-snp --state-dir "$STATE" \
	--memory-mib 64 "${KARGS[@]}" --host-data "$HOSTDATA" --launch-only
expect_eq "... measure vigil measure's digest (VMSAs included)" "$(jq -r .digest <<<"$J")" "$OUT"

# ---- sev-snp-measure's vector inputs: empty kernel and initrd, "console=ttyS0 loglevel=7"
: >"$TMP/empty"
VARGS=(--firmware "$AMD" --kernel "$TMP/empty" --initrd "$TMP/empty" --cmdline "console=ttyS0 loglevel=7")
expect_exit 0 "vector inputs under the KVM model" shim_vmm "" "${VARGS[@]}"
expect_eq "... no rule broken" "violation=" "$(L | grep '^violation=')"
expect_eq "... the hashes table bytes are sev-snp-measure's" \
	06d63894224fc94cb479a793d411fd21a800d82dd09720bd944caa78e7714d36ab2a3200321c8eec6a77bad179511397f913a083067ad8cb737bb260aacbfe8df70fc50a31f7ba442f3ad74b9af141e29169781d3200e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8553794e74dd2ab7f42b835d5b172d2045b3200e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8550000000000000000 \
	"$(L | sed -n 's/.*guest hashes table at .* bytes=\([0-9a-f]*\)$/\1/p')"
expect_match "... the launched hashes page is sev-snp-measure's" \
	"LAUNCH_UPDATE gpa=0x810000 pages=1 type=NORMAL rc=0 ld=[0-9a-f]+ page_sha384=adbef9bc7385f7a6dcb8774523cf024b403f193a47962309b277c4109aa70b4ba0355d1657b50e9625d5bd1129e7fd27" "$(L)"
expect_eq "... every step as vigil measure predicts" "$(predicted "${VARGS[@]}")" "$(updates)"
expect_match "... the guest's checks pass" "guest verdict=0" "$(L)"
expect_eq "... the launch digest, VMSAs from the programmed registers, is sev-snp-measure's" \
	6d287813eb5222d770f75005c664e34c204f385ce832cc2ce7d0d6f354454362f390ef83a92046c042e706363b4b08fa \
	"$(L | sed -n 's/^snp launch digest=//p')"
expect_exit 0 "vector inputs: 4 vCPUs, empty kernel, no initrd or command line, guest features 0x21" \
	shim_vmm "" --firmware "$AMD" --kernel "$TMP/empty" --vcpus 4 --guest-features 0x21
expect_eq "... VMSA after VMSA: sev-snp-measure's 1-vCPU digest after the first" \
	329c8ce0972ae52343b64d34a434a86f245dfd74f5ed7aae15d22efc78fb9683632b9b50e4e1d7fa41179ef98a7ef198 \
	"$(L | sed -n 's/^sev VMSA vcpu=0 .* ld=//p')"
expect_match "... the APs start at the SEV-ES reset block" "sev VMSA vcpu=3 rip=0xb004 cs_base=0x800000 " "$(L)"
expect_eq "... and its 4-vCPU digest after the last" \
	4953b1fb416fa874980e8442b3706d345926d5f38879134e00813c5d7abcbe78eafe7b422907be0b4698e2414a631942 \
	"$(L | sed -n 's/^snp launch digest=//p')"
expect_eq "... no rule broken" "violation=" "$(L | grep '^violation=')"
expect_exit 0 "... sim-snp --launch-only" "$BIN/vigil-vmm" --platform sim-snp --state-dir "$STATE" --memory-mib 64 \
	"${VARGS[@]}" --launch-only
expect_eq "... = sev-snp-measure's digest" \
	6d287813eb5222d770f75005c664e34c204f385ce832cc2ce7d0d6f354454362f390ef83a92046c042e706363b4b08fa "$OUT"

# ---- two vCPUs; the guest's DMA window left private (no page-state change): its shared
# accesses fault (KVM_RUN -1/EFAULT, KVM_EXIT_MEMORY_FAULT) and vigil-vmm converts them
expect_exit 0 "2 vCPUs, DMA window never converted by the guest: still passes" shim_vmm no-psc "${KARGS[@]}" --vcpus 2
expect_match "... LAUNCH_FINISH with both vCPUs" "sev LAUNCH_FINISH .* vcpus=2 " "$(L)"
expect_eq "... measured as vigil measure predicts for 2 vCPUs" \
	"$("$BIN/vigil" measure snp --vmm-type vigil --vcpus 2 "${KARGS[@]}" | head -1)" "$(L | sed -n 's/^snp launch digest=//p')"
expect_match "... the faults were memory-fault exits the VMM resolved" "guest memory_faults=[1-9]" "$(L)"
expect_eq "... no rule broken" "violation=" "$(L | grep '^violation=')"

# ---- Debian's OVMF (no KERNEL_HASHES section), no kernel: 2 MiB of firmware launched
DEB=/usr/share/ovmf/OVMF.fd
if [[ -f $DEB ]]; then
	expect_exit 0 "Debian OVMF.fd under the KVM model" shim_vmm "" --firmware "$DEB"
	expect_eq "... every step as vigil measure predicts" "$(predicted --firmware "$DEB")" "$(updates)"
	expect_eq "... no rule broken" "violation=" "$(L | grep '^violation=')"
fi

# (TDX under the model, and KVM's reset event: test_tdx_protocol.sh)

# ---- failures a user must see
expect_exit 2 "--kernel with a firmware without a KERNEL_HASHES section" shim_vmm "" --firmware "$X64" \
	--kernel "$TMP/bz"
expect_match "... says why" "no SNP_KERNEL_HASHES section: it cannot measure a kernel" "$ERR"
expect_exit 2 "a host without SNP" shim_vmm no-snp "${KARGS[@]}"
expect_match "... the probe's message" "host KVM offers no SEV-SNP VMs: KVM_CAP_VM_TYPES mask is 0x21, bit 4" "$ERR"
expect_eq "... nothing launched" "0" "$(L | grep -c '^sev ')"
expect_exit 2 "firmware slot bound without its guest_memfd (issue 14 finding 1)" shim_vmm fw-slot-plain "${KARGS[@]}"
expect_match "... vigil-vmm reports the refused LAUNCH_UPDATE" "SNP_LAUNCH_UPDATE \(NORMAL\) at 0xfffff000.*guest_memfd memslot" "$ERR"
expect_match "... the model names the kernel's rule" "violation=SNP_LAUNCH_UPDATE at 0xfffff000: the memslot has no guest_memfd" "$(L)"
expect_eq "... no LAUNCH_FINISH" "0" "$(L | grep -c '^sev LAUNCH_FINISH')"
expect_exit 2 "the firmware corrects the CPUID page" shim_vmm cpuid-reject "${KARGS[@]}"
expect_match "... named leaf, register, ours and the firmware's" "leaf 0x1 subleaf 0x0 EAX: ours 0x00800f12 firmware 0x00a00f11" "$ERR"
expect_exit 8 "a launched hashes table that differs from the blobs: the guest's check 8" shim_vmm corrupt-table "${KARGS[@]}"
expect_match "... its reason" "guest FAIL 8 kernel hash differs" "$(L)"
expect_exit 2 "an unknown shim rule is refused" shim_vmm no-such-rule "${KARGS[@]}"
expect_match "... by name" 'unknown rule "no-such-rule"' "$ERR"
finish
