#!/usr/bin/env bash
# vigil measure, end to end: the reference values of ../shared/vectors/measure,
# Debian's OVMF, --json, and the failures a tenant must see.
. "$(dirname "$0")/lib.sh"

V="$VECTORS/measure"
AMD="$V/ovmf_AmdSev_suffix.bin"
X64="$V/ovmf_OvmfX64_suffix.bin"
DEB=/usr/share/ovmf/OVMF.fd
CODE4M=/usr/share/OVMF/OVMF_CODE_4M.fd
M="$BIN/vigil measure"
need_cmd jq # scripts/deps.sh installs it

# expect_digest DESC WANT ARGS...: exit 0 and the first stdout line is WANT
expect_digest() {
	local desc=$1 want=$2
	shift 2
	expect_exit 0 "$desc: exits 0" $M "$@"
	expect_eq "$desc: digest" "$want" "$(head -n1 <<<"$OUT")"
}

expect_exit 0 "measure --help exits 0" $M --help
expect_match "help names the modes" 'snp.*sev-es.*sev.*tdx' "$(tr '\n' ' ' <<<"$OUT")"
expect_exit 2 "no mode is a usage error" $M
expect_exit 2 "unknown mode" $M sgx --firmware x
expect_match "unknown mode is named" "unknown mode 'sgx'" "$ERR"
expect_exit 2 "--firmware is required" $M snp
expect_match "missing firmware said" 'firmware is required' "$ERR"
expect_exit 2 "missing firmware file" $M snp --firmware "$TMP/nope.fd"
expect_match "missing file named, one line" "^vigil measure: firmware .*nope.fd: No such file or directory$" "$ERR"

if [[ -d "$V" ]]; then
	expect_digest "SNP firmware pages only" \
		086e2e9149ebf45abdc3445fba5b2da8270bdbb04094d7a2c37faaa4b24af3aa16aff8c374c2a55c467a50da6d466b74 \
		snp --ovmf-hash-only --firmware "$AMD"
	expect_digest "SNP kernel+initrd+cmdline, features 0x21" \
		803f691094946e42068aaa3a8f9e26a5c89f36f7b73ecfb28c653360fe4b3aba7e534442e7e1e17895dfe778d0228977 \
		snp --firmware "$AMD" --vcpus 1 --vcpu-type EPYC-v4 --kernel /dev/null --initrd /dev/null \
		--cmdline "console=ttyS0 loglevel=7" --guest-features 0x21
	expect_digest "SNP same, features 0x1" \
		6d287813eb5222d770f75005c664e34c204f385ce832cc2ce7d0d6f354454362f390ef83a92046c042e706363b4b08fa \
		snp --firmware "$AMD" --vcpu-sig 0x00800f12 --kernel /dev/null --initrd /dev/null \
		--cmdline "console=ttyS0 loglevel=7" --guest-features 1
	expect_digest "SNP empty kernel, empty cmdline" \
		329c8ce0972ae52343b64d34a434a86f245dfd74f5ed7aae15d22efc78fb9683632b9b50e4e1d7fa41179ef98a7ef198 \
		snp --firmware "$AMD" --kernel /dev/null --cmdline "" --guest-features 0x21
	expect_digest "SNP seeded with the firmware digest" \
		329c8ce0972ae52343b64d34a434a86f245dfd74f5ed7aae15d22efc78fb9683632b9b50e4e1d7fa41179ef98a7ef198 \
		snp --firmware "$AMD" --kernel /dev/null --cmdline "" --guest-features 0x21 \
		--ovmf-hash 086e2e9149ebf45abdc3445fba5b2da8270bdbb04094d7a2c37faaa4b24af3aa16aff8c374c2a55c467a50da6d466b74
	expect_digest "SNP no kernel" \
		e1e1ca029dd7973ab9513295be68198472dcd4fc834bd9af9b63f6e8a1674dbf281a9278a4a2ebe0eed9f22adbcd0e2b \
		snp --firmware "$AMD" --guest-features 0x21
	expect_digest "SNP 4 vCPUs" \
		4953b1fb416fa874980e8442b3706d345926d5f38879134e00813c5d7abcbe78eafe7b422907be0b4698e2414a631942 \
		snp --firmware "$AMD" --vcpus 4 --kernel /dev/null --cmdline "" --guest-features 0x21
	expect_digest "SNP vmm ec2" \
		0ce9ccc06bab55eebe8abc234f3df6514883977a68a591b71052498ab52b2f1aa415db338033946ef93aa8278c0d67fb \
		snp --firmware "$AMD" --vmm-type ec2 --kernel /dev/null --cmdline "" --guest-features 0x21
	expect_digest "SNP vmm gce" \
		5da7106cf14cf46b1725ebab123eb9e53bd46a1e9f400cd0c08e7827b04b688ea8b4e403c8404efed4397ea5d5d0722e \
		snp --firmware "$AMD" --vmm-type gce --kernel /dev/null --cmdline "" --guest-features 0x1
	expect_digest "SNP OvmfX64" \
		28797ae0afaba4005a81e629acebfb59e6687949d6be44007cd5506823b0dd66f146aaae26ff291eed7b493d8a64c385 \
		snp --firmware "$X64" --guest-features 0x21
	expect_digest "SEV-ES 1 vCPU" 13810ae661ea11e2bb205621f582fee268f0367c8f97bc297b7fadef3e12002c \
		sev-es --firmware "$AMD" --vcpu-type EPYC-v4 --kernel /dev/null --cmdline ""
	expect_digest "SEV-ES 4 vCPUs" 0dccbcaba8e90b261bd0d2e1863a2f9da714768b7b2a19363cd6ae35aa90de91 \
		sev-es --firmware "$AMD" --vcpus 4 --kernel /dev/null --cmdline ""
	expect_digest "SEV with kernel" 82a3ee5d537c3620628270c292ae30cb40c3c878666a7890ee7ef2a08fb535ff \
		sev --firmware "$AMD" --kernel /dev/null --initrd /dev/null --cmdline "console=ttyS0 loglevel=7"
	expect_digest "SEV OvmfX64" b4c021e085fb83ceffe6571a3d357b4a98773c83c474e47f76c876708fe316da \
		sev --firmware "$X64"
	expect_eq "plain output is exactly one line" 1 "$(wc -l <<<"$OUT")"

	expect_exit 2 "SNP kernel with firmware lacking kernel hashes" $M snp --firmware "$X64" --kernel /dev/null
	expect_match "says the section is missing" 'no SNP_KERNEL_HASHES section' "$ERR"
	expect_eq "error is one line" 1 "$(wc -l <<<"$ERR")"
	expect_eq "nothing on stdout on error" "" "$OUT"
	expect_exit 2 "SEV kernel with firmware lacking the hashes table" $M sev --firmware "$X64" --kernel /dev/null
	expect_match "says the table is missing" 'no kernel-hashes table' "$ERR"
	expect_exit 2 "TDX on a 4 KiB suffix" $M tdx --firmware "$AMD"
	expect_match "names the section past the end" 'section 0 \(BFV\) data 0x84000\+0x37c000 runs past the end' "$ERR"

	# --json: inputs, digest and per-section breakdown
	expect_exit 0 "SNP --json" $M snp --json --firmware "$AMD" --vcpus 2 --kernel /dev/null --cmdline "" --guest-features 0x21
	J=$OUT
	expect_eq "json digest" \
		"$($M snp --firmware "$AMD" --vcpus 2 --kernel /dev/null --cmdline "" --guest-features 0x21)" \
		"$(jq -r .digest <<<"$J")"
	expect_eq "json mode and algorithm" "snp sha384" "$(jq -r '.mode + " " + .algorithm' <<<"$J")"
	expect_eq "json inputs" "2 EPYC-v4 0x00800f12 qemu 0x21 0x80b004" \
		"$(jq -r '.inputs | "\(.vcpus) \(.vcpu_type) \(.vcpu_sig) \(.vmm_type) \(.guest_features) \(.sev_es_reset_eip)"' <<<"$J")"
	expect_eq "json kernel hash (empty file)" e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 \
		"$(jq -r .inputs.kernel.sha256 <<<"$J")"
	expect_eq "json sections in launch order" \
		"firmware SEC_MEM SEC_MEM SECRETS CPUID SVSM_CAA KERNEL_HASHES SEC_MEM VMSA VMSA" \
		"$(jq -r '[.sections[].name] | join(" ")' <<<"$J")"
	expect_eq "json page types" "NORMAL ZERO ZERO SECRETS CPUID ZERO NORMAL ZERO VMSA VMSA" \
		"$(jq -r '[.sections[].page_type] | join(" ")' <<<"$J")"
	expect_eq "json last section digest is the digest" "$(jq -r .digest <<<"$J")" \
		"$(jq -r '.sections[-1].digest_after' <<<"$J")"
	expect_eq "json first section digest is the firmware digest" \
		086e2e9149ebf45abdc3445fba5b2da8270bdbb04094d7a2c37faaa4b24af3aa16aff8c374c2a55c467a50da6d466b74 \
		"$(jq -r '.sections[0].digest_after' <<<"$J")"
	expect_exit 0 "SEV --json" $M sev --json --firmware "$AMD" --kernel /dev/null
	expect_eq "SEV json sections" "firmware hashes table" "$(jq -r '[.sections[].name] | join(" ")' <<<"$OUT")"
	expect_eq "SEV json algorithm" sha256 "$(jq -r .algorithm <<<"$OUT")"
else
	echo "SKIP: vectors not found (reference-value checks)"
fi

# usage errors: one line, exit 2
expect_exit 2 "--initrd without --kernel" $M snp --firmware "$DEB" --initrd /dev/null
expect_match "says it needs --kernel" '^vigil measure: --initrd needs --kernel' "$ERR"
expect_exit 2 "--vcpus for sev" $M sev --firmware "$DEB" --vcpus 2
expect_match "says it does not apply" '--vcpus does not apply to sev' "$ERR"
expect_exit 2 "--two-pass for snp" $M snp --firmware "$DEB" --two-pass
expect_exit 2 "--vcpus for tdx" $M tdx --firmware "$DEB" --vcpus 2
expect_match "vcpus does not apply to tdx" '--vcpus does not apply to tdx' "$ERR"
expect_exit 2 "--edk2 for snp" $M snp --firmware "$DEB" --kernel /dev/null --edk2 stable202508
expect_match "edk2 does not apply to snp" '--edk2 does not apply to snp' "$ERR"
expect_exit 2 "an empty --kernel for tdx: no EFI image, no guessed RTMRs" $M tdx --firmware "$DEB" --kernel /dev/null
expect_match "... says why" 'not load it as an EFI image' "$ERR"
expect_exit 2 "unknown vcpu type" $M snp --firmware "$DEB" --vcpu-type EPYC-v9
expect_match "names the vcpu type" "unknown vCPU type 'EPYC-v9'" "$ERR"
expect_exit 2 "both vcpu type and sig" $M snp --firmware "$DEB" --vcpu-type EPYC --vcpu-sig 0x800f12
expect_exit 2 "bad vcpu count" $M snp --firmware "$DEB" --vcpus 0
expect_exit 2 "bad hex" $M snp --firmware "$DEB" --guest-features 0xzz
expect_match "names the bad hex" "guest-features: '0xzz' is not a hex number" "$ERR"
expect_exit 2 "unknown vmm" $M snp --firmware "$DEB" --vmm-type kvmtool
expect_exit 2 "unknown option" $M snp --firmware "$DEB" --frobnicate
expect_exit 2 "stray argument" $M snp --firmware "$DEB" extra
expect_exit 2 "bad ovmf hash" $M snp --firmware "$DEB" --ovmf-hash abcd

# malformed firmware: a footer table whose size reaches before the image start
head -c 4096 /dev/zero >"$TMP/bad.fd"
printf '\xff\xff\xde\x82\xb5\x96\xb2\x1f\xf7\x45\xba\xea\xa3\x66\xc5\x5a\x08\x2d' |
	dd of="$TMP/bad.fd" bs=1 seek=$((4096 - 50)) conv=notrunc status=none
expect_exit 2 "malformed footer table" $M snp --firmware "$TMP/bad.fd"
expect_match "says what is wrong" 'footer table: table of 65517 bytes extends past the start' "$ERR"
expect_exit 2 "SNP on an image without a table" $M snp --firmware /dev/null
expect_match "empty image said" 'firmware image is empty' "$ERR"

if [[ -r "$DEB" ]]; then
	expect_eq "Debian OVMF.fd is the documented build" \
		7b456907dd0786d415999e801a1ac4637b8ed4d7cf5378cfc6edbe5e574dd773 "$(sha256sum <"$DEB" | cut -d' ' -f1)"
	expect_digest "Debian OVMF.fd SNP" \
		11570979c77a0adb515761a702527c8b9e11554e730552621d950988613a3a75c6ff1703f540bd22a9beede8fe7a97e3 \
		snp --firmware "$DEB"
	expect_digest "Debian OVMF.fd SNP, vigil VMM" \
		11570979c77a0adb515761a702527c8b9e11554e730552621d950988613a3a75c6ff1703f540bd22a9beede8fe7a97e3 \
		snp --firmware "$DEB" --vmm-type vigil --guest-features 0x1
	expect_exit 2 "Debian OVMF.fd with a kernel" $M snp --firmware "$DEB" --kernel /dev/null
	expect_match "no kernel-hashes section" 'no SNP_KERNEL_HASHES section' "$ERR"
	expect_exit 0 "Debian OVMF.fd TDX" $M tdx --firmware "$DEB"
	MRTD=$OUT
	expect_match "MRTD is 96 hex digits" '^[0-9a-f]{96}$' "$MRTD"
	expect_exit 0 "Debian OVMF.fd TDX two-pass" $M tdx --firmware "$DEB" --two-pass
	expect_match "two-pass MRTD is 96 hex digits" '^[0-9a-f]{96}$' "$OUT"
	[[ "$OUT" != "$MRTD" ]] && expect_eq "the two orders differ" differ differ ||
		expect_eq "the two orders differ" differ same
	expect_exit 0 "TDX --json" $M tdx --json --firmware "$DEB"
	expect_eq "TDX json digest" "$MRTD" "$(jq -r .digest <<<"$OUT")"
	expect_eq "TDX json sections" "BFV CFV TempMem TempMem TD_HOB TempMem" \
		"$(jq -r '[.sections[].name] | join(" ")' <<<"$OUT")"
	expect_eq "TDX json BFV extends" 7680 "$(jq -r '.sections[0].mr_extends' <<<"$OUT")"
fi
if [[ -r "$CODE4M" ]]; then
	expect_exit 2 "OVMF_CODE_4M.fd for SNP" $M snp --firmware "$CODE4M"
	expect_match "not SNP-capable" 'not an SNP-capable OVMF build.*no SEV metadata' "$ERR"
	expect_exit 2 "OVMF_CODE_4M.fd for TDX" $M tdx --firmware "$CODE4M"
	expect_match "no TDVF metadata" 'no TDVF metadata' "$ERR"
fi
finish
