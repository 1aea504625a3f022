#!/usr/bin/env bash
# vigil verify on real evidence: every SNP and TDX vector with the verdict and
# claim values its README gives, the negative vectors, collateral, CCEL, usage.
. "$(dirname "$0")/lib.sh"

V=$BIN/vigil
# Usage and I/O errors (exit 2) need no vectors.
expect_exit 0 "verify --help" "$V" verify --help
expect_match "help names both forms" 'verify snp REPORT --vcek.*verify tdx QUOTE' "$(tr '\n' ' ' <<<"$OUT")"
expect_exit 2 "no evidence type" "$V" verify
expect_exit 2 "unknown evidence type" "$V" verify sgx foo
expect_match "unknown type is named" "unknown evidence type 'sgx'" "$ERR"
expect_exit 2 "snp without --vcek" "$V" verify snp /dev/null
expect_match "missing --vcek is explained" "needs --vcek" "$ERR"
expect_exit 2 "missing report file" "$V" verify snp "$TMP/nope.bin" --vcek "$TMP/nope.der"
expect_match "missing file is named" "nope.bin" "$ERR"
expect_exit 2 "bad --at" "$V" verify tdx "$TMP/x" --at yesterday
expect_exit 2 "--collateral is tdx only" "$V" verify snp "$TMP/x" --vcek "$TMP/y" --collateral "$TMP"
expect_exit 2 "unknown option" "$V" verify tdx "$TMP/x" --frobnicate
printf 'garbage' >"$TMP/garbage"
expect_exit 1 "garbage quote is rejected, not a crash" "$V" verify tdx "$TMP/garbage"
expect_match "garbage quote reason" '"reason": "quote: quote truncated' "$OUT"
expect_exit 2 "collateral dir without files" "$V" verify tdx "$TMP/garbage" --collateral "$TMP"
expect_match "missing collateral file named" "tcb_info.json: missing" "$ERR"

need_vectors
S=$VECTORS/snp T=$VECTORS/tdx

# jv KEY: the value of "KEY" in the compact JSON in $OUT (first occurrence).
jv() { grep -o "\"$1\":\"[^\"]*\"" <<<"$OUT" | head -1 | sed 's/.*:"\(.*\)"/\1/'; }
jn() { grep -o "\"$1\":[0-9a-z]*" <<<"$OUT" | head -1 | sed 's/.*://'; }

snp_ok() { # name report cert chain measurement report_data chip_id tcb_raw policy vmpl version product
	local name=$1
	expect_exit 0 "snp $name verified" "$V" verify snp "$2" --vcek "$3" --chain "$4" --compact
	expect_eq "snp $name verdict" verified "$(jv verdict)"
	expect_eq "snp $name measurement" "$5" "$(jv measurement)"
	expect_eq "snp $name report_data" "$6" "$(jv report_data)"
	expect_eq "snp $name chip_id" "$7" "$(jv chip_id)"
	expect_match "snp $name reported_tcb" "\"reported_tcb\":\\{\"raw\":\"$8\"" "$OUT"
	expect_match "snp $name policy" "\"policy\":\\{\"raw\":\"$9\"" "$OUT"
	expect_eq "snp $name vmpl" "${10}" "$(jn vmpl)"
	expect_eq "snp $name version" "${11}" "$(jn version)"
	expect_eq "snp $name product" "${12}" "$(jv product)"
	expect_eq "snp $name not simulated" false "$(jn simulated)"
}

snp_ok go-sev-guest "$S/go-sev-guest/attestation.bin" "$S/go-sev-guest/vcek.testcer" "$S/amd_kds/ask_ark_milan.pem" \
	b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01 \
	01020304050000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000 \
	3ac3fe21e13fb0990eb28a802e3fb6a29483a6b0753590c951bdd3b8e53786184ca39e359669a2b76a1936776b564ea464cdce40c05f63c9b610c5068b006b5d \
	0x4405000000000002 0x00000000000b0000 0 2 Milan
expect_match "go-sev-guest policy decodes debug=1" '"debug":true' "$OUT"
snp_ok virtee "$S/virtee-sev/report_milan.bin" "$S/virtee-sev/vcek_milan.der" "$S/virtee-sev/cert_chain_milan" \
	7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d3e1a0dc39b2c60bd95b9c480cd81841f \
	d447b55d197491bfe15cf298f9de9986b7a7c4be2468b4f6e2d53b71d7c645810b0f2cdfca0040433be063fc1a8293f0f3f8dae7b79fecb3d1cd82bd6a93ebfd \
	d49554ec717f4e5b0fe6b143bcf0405bd7ae304727edf46603f2a76aef6a3abc15d7af38db757039029f0efacfd08e244324884738c72b082e2f87a44d541eb6 \
	0x7308000000000003 0x0000000000030000 0 2 Milan
snp_ok trustee "$S/trustee/test-report.bin" "$S/trustee/test-vcek.der" "$S/amd_kds/ask_ark_milan.pem" \
	a1f3930413247bb38cfc171579ea3c12d5fe4901f0c792f63fd75d98f1ef827c23500644e0e692e6be917f9050d3d38c \
	ec6c52d7533cc2c4f45be7849cf112ab82b2009fe7bd43e71ed08c14400ad7e20000000000000000000000000000000000000000000000000000000000000000 \
	c38427a30d4c7af9d96f7a15b97269825a64cb76a2352ffd5d18115d89ad473f8e8c0bcd9a5d9286612bad4aadfb4426205a3b9e4fea82301135a170e477524e \
	0x7308000000000003 0x000000000003001f 0 2 Milan
expect_match "trustee current_tcb differs (ucode 206)" '"current_tcb":\{"raw":"0xce08000000000003"' "$OUT"
expect_eq "trustee guest_svn" 4 "$(jn guest_svn)"
snp_ok azure-milan "$S/trustee-az/milan-snp-report-from-hcl.bin" "$S/trustee-az/azvcek1.pem" "$S/trustee-az/az_ask_ark_milan.pem" \
	9ac48fcac8a2d88aeeff8d427ad4f2be0e3917c748a18bdf52cc317e7fe20308b459d5ef1a12e0c22944eb386d17c315 \
	b3fbad6514c83caeb0380882145e49f794229ef37c421b91fc47ff93556bafac0000000000000000000000000000000000000000000000000000000000000000 \
	19752a447db501a32ade46428a46e92639bd3515dbb45e2e67bbcb0934ffcf1f3e3c004ccb4a99c9fa7e4ffb09da6b324ac58acedaf679f24ba7db5f838c6cca \
	0x7308000000000003 0x000000000003001f 0 2 Milan
snp_ok azure-genoa "$S/trustee-az/genoa-snp-report.bin" "$S/trustee-az/vcek-genoa.pem" "$S/amd_kds/ask_ark_genoa.pem" \
	f57dc09a507c6ecd82369bffb600f0003792f4d99bc26e985ec0c266fc34faf3706faf814c9e61065768a6ff917c89ae \
	b581f12e29a2d7d64e5e0b738d563879a78b51c644d0fa0cce02b48699f6bf5f0000000000000000000000000000000000000000000000000000000000000000 \
	0506ffba875e939c2729d20c74eb72b4c5ba6bf7ea1faaa640141f12c6d64782fb487f68ce69dcd021e914cc0d9244327bc121f0242d6470903ad1d4aaea4ad1 \
	0x541700000000000a 0x000000000003001f 0 3 Genoa
# Azure's vcek.pem carries VCEK + ASK + ARK in one file: no --chain needed.
expect_exit 0 "snp azure VCEK file with its own chain" "$V" verify snp "$S/trustee-az/milan-snp-report-from-hcl.bin" --vcek "$S/trustee-az/vcek.pem" --compact

# A bundle with several products' ARKs: the product is the ARK the VCEK chains to.
cat "$S/amd_kds/ask_ark_milan.pem" "$S/amd_kds/ask_ark_genoa.pem" >"$TMP/bundle.pem"
expect_exit 0 "snp Genoa with a Milan+Genoa bundle" "$V" verify snp "$S/trustee-az/genoa-snp-report.bin" --vcek "$S/trustee-az/vcek-genoa.pem" --chain "$TMP/bundle.pem" --compact
expect_eq "bundle: product from the chain" Genoa "$(jv product)"

# AWS VLEK: expired against the real clock, verified with --at inside its validity.
VL=("$S/trustee/test-vlek-report.bin" --vcek "$S/trustee/test-vlek.der" --chain "$S/amd_kds/ask_ark_milan_vlek.pem" --compact)
expect_exit 1 "snp VLEK rejected as expired now" "$V" verify snp "${VL[@]}"
expect_match "VLEK reason says expired" '"reason":"SEV-VLEK certificate expired \(notAfter 2025-12-10' "$OUT"
expect_exit 0 "snp VLEK verified --at 2025-06-01" "$V" verify snp "${VL[@]}" --at 2025-06-01T00:00:00Z
expect_eq "VLEK signing key" VLEK "$(jv signing_key)"
expect_eq "VLEK vmpl" 1 "$(jn vmpl)"
expect_eq "VLEK CSP_ID" "CN=cc-us-east-2.amazonaws.com" "$(jv csp_id)"
expect_eq "VLEK version" 3 "$(jn version)"
expect_eq "VLEK measurement" 8922ebbdd00ec2c541f36a6e7a82a8773a7accb451ed67bc94e740dbe92c93c4e8c9af857f5ceeb5a493df2a570d7bf0 "$(jv measurement)"
expect_match "VLEK reported_tcb" '"reported_tcb":\{"raw":"0xd918000000000004"' "$OUT"
expect_exit 1 "snp VLEK rejected --at after expiry" "$V" verify snp "${VL[@]}" --at 2026-01-01T00:00:00Z
expect_exit 1 "snp VLEK against the VCEK chain" "$V" verify snp "$S/trustee/test-vlek-report.bin" --vcek "$S/trustee/test-vlek.der" --chain "$S/amd_kds/ask_ark_milan.pem" --at 2025-06-01T00:00:00Z

# Negative vectors.
for bad in test-vcek-invalid-legacy.der test-vcek-invalid-new.der; do
	expect_exit 1 "snp invalid VCEK $bad rejected" "$V" verify snp "$S/trustee/test-report.bin" --vcek "$S/trustee/$bad" --chain "$S/amd_kds/ask_ark_milan.pem" --compact
	expect_match "$bad: chain signature failure" '"reason":"certificate chain: SEV-VCEK \(depth 0\): certificate signature failure"' "$OUT"
done
expect_exit 1 "snp report with another VCEK rejected" "$V" verify snp "$S/virtee-sev/report_milan.bin" --vcek "$S/trustee/test-vcek.der" --chain "$S/amd_kds/ask_ark_milan.pem" --compact
expect_match "wrong VCEK: report signature invalid" '"reason":"report signature is invalid' "$OUT"
expect_exit 1 "snp Genoa VCEK against Milan chain rejected" "$V" verify snp "$S/trustee-az/genoa-snp-report.bin" --vcek "$S/trustee-az/vcek-genoa.pem" --chain "$S/amd_kds/ask_ark_milan.pem" --compact
expect_match "Genoa vs Milan: chain" '"reason":"certificate chain: SEV-VCEK' "$OUT"
expect_exit 1 "snp without any chain rejected" "$V" verify snp "$S/trustee-az/genoa-snp-report.bin" --vcek "$S/trustee-az/vcek-genoa.pem" --compact
expect_match "no chain: pinned ARK reason" 'no AMD ARK with a pinned fingerprint' "$OUT"
cp "$S/virtee-sev/report_milan.bin" "$TMP/r.bin"
printf '\x00' | dd of="$TMP/r.bin" bs=1 seek=$((0x90)) conv=notrunc status=none
expect_exit 1 "snp report with byte 0x90 zeroed rejected" "$V" verify snp "$TMP/r.bin" --vcek "$S/virtee-sev/vcek_milan.der" --chain "$S/virtee-sev/cert_chain_milan"
cp "$S/virtee-sev/report_milan.bin" "$TMP/r4.bin"
printf '\x04' | dd of="$TMP/r4.bin" bs=1 seek=0 conv=notrunc status=none
expect_exit 1 "snp report version 4 rejected by name" "$V" verify snp "$TMP/r4.bin" --vcek "$S/virtee-sev/vcek_milan.der" --chain "$S/virtee-sev/cert_chain_milan" --compact
expect_match "version 4 named" 'version 4 is not supported' "$OUT"
expect_exit 2 "--trust-sim-root refuses a real AMD ARK" "$V" verify snp "$S/virtee-sev/report_milan.bin" --vcek "$S/virtee-sev/vcek_milan.der" --trust-sim-root "$S/virtee-sev/cert_chain_milan"

# ------------------------------------------------------------------ TDX
tdx_ok() { # name quote version mrtd rtmr0 rtmr1 rtmr2 rtmr3 report_data mrconfigid td_attributes xfam fmspc
	local name=$1
	expect_exit 0 "tdx $name verified" "$V" verify tdx "$2" --compact
	expect_eq "tdx $name verdict" verified "$(jv verdict)"
	expect_eq "tdx $name version" "$3" "$(jn version)"
	expect_eq "tdx $name mrtd" "$4" "$(jv mrtd)"
	expect_eq "tdx $name rtmr0" "$5" "$(jv rtmr0)"
	expect_eq "tdx $name rtmr1" "$6" "$(jv rtmr1)"
	expect_eq "tdx $name rtmr2" "$7" "$(jv rtmr2)"
	expect_eq "tdx $name rtmr3" "$8" "$(jv rtmr3)"
	expect_eq "tdx $name report_data" "$9" "$(jv report_data)"
	expect_eq "tdx $name mrconfigid" "${10}" "$(jv mrconfigid)"
	expect_eq "tdx $name td_attributes" "${11}" "$(jv td_attributes)"
	expect_eq "tdx $name xfam" "${12}" "$(jv xfam)"
	expect_eq "tdx $name fmspc" "${13}" "$(jv fmspc)"
	expect_eq "tdx $name tcb not evaluated" "not evaluated (no collateral)" "$(jv tcb_status)"
	expect_eq "tdx $name platform" tdx "$(jv platform)"
}
Z96=000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
tdx_ok SPR-v4 "$T/go-tdx-guest/tdx_prod_quote_SPR_E4.dat" 4 \
	6363b8043668a3ad953278e10389574d326c6749fb78aa810ecd9336923db86f22fc00b8dcd404bc10d5e119d7215cbb \
	2927da70461cd63266f43230cc1849c03ef25ebe490062a801d8fcc80af42976823adf08f833c1e50b51779c6593f32a \
	2c700b8ba9b85783f8be9fb9443647bdc0bb3c50747f06297cc6538c25a5f589c4b56d035c59107c6bc5800db2cacb61 \
	8652f0caaba7e215ea442dc36a4499d8fec3362f3a0b2ca151cbe4b3e6466fe59c7368b3c2287fc7c3bf5c924eb4424e $Z96 \
	6c62dec1b8191749a31dab490be532a35944dea47caef1f980863993d9899545eb7406a38d1eed313b987a467dacead6f0c87a6d766c66f6f29f8acb281f1113 \
	$Z96 0000004000000000 e71a060000000000 50806f000000
expect_eq "SPR: 39 trailing bytes ignored" 39 "$(jn trailing_bytes)"
tdx_ok v5 "$T/go-tdx-guest/quote_v5_sample.dat" 5 \
	7348651a34b2d2d3462822e3a750ec6110125f36757c78480bbfc69cc0d21fb001a1ced3ee19747dda8f750c3bc8f876 \
	5c8daf76063a71ac8fcef4067564661fc682ed7944c7a5d21dbbced02f61ceff4ba0678c6aef3bdae8cbc614cec24619 \
	463acaace1b6e97c76e92e41fe312aa66f3fd4dad60ec7acf169859db0343e3d1e591646795cdc80fbc0ca5f7041d253 \
	6369b9c9a3b791ebcbdc5a0bb9536cfb57f50df2b393b33c8b29616d3568baa61f4b59dc6092e31ea8764bcbdfc69f20 $Z96 \
	945eaacf5abc1f719d8666a942fda03d1edcb4490277396093dc5a5289ab9f1e094aed63060cd4a4933a4dd537ed1255c9c79ecb3ed82cd1b486233e31c25c3a \
	$Z96 0000001000000000 e702060000000000 90c06f000000
expect_eq "v5 body type" "TDX 1.5" "$(jv body_type)"
tdx_ok GCP-COS "$T/go-tdx-guest/cos-113-tdx-quote.dat" 4 \
	dae67181d3d65e073ad8f95b7907d5e927bfe9761c9ff3e9b89734a45d8954dba41394c7717cb2735396c1d04231f94a \
	3fa2f61f395b7f5feefb4ec2df61297f109ad8abcd6410c1b7df60f21f37b19297fc35e544039c7e1edece752afd17f6 \
	f62dbc072bd5d3f3438b7b35c39a727f5aea2ffc2473f43723953f530daf62504f0a7944aa62c41a86e8a878c2b122c1 \
	4969684dc87381fc3b3134176c8d8806eaf0a901859f5f70cfae8d17714b46c10a8de219048c9fc09f11f381a6fbe7c1 $Z96 \
	$Z96${Z96:0:32} \
	$Z96 0000001000000000 e700060000000000 00806f050000
expect_eq "GCP: 3065 bytes of padding" 3065 "$(jn trailing_bytes)"
tdx_ok trustee-q4 "$T/trustee/tdx_quote_4.dat" 4 \
	705ee9381b8633a9fbe532b52345e8433343d2868959f57889d84ca377c395b689cac1599ccea1b7d420483a9ce5f031 \
	e940da7c2712d2790e2961e00484f4fa8e6f9eed71361655ae22699476b14f9e63867eb41edd4b480fef0c59f496b288 \
	559cfcf42716ed6c40a48a73d5acb7da255435012f0a9f00fbe8c1c57612ede486a5684c4c9ff3ddf52315fcdca3a596 $Z96 $Z96 \
	7c71fe2c86eff65a7cf8dbc22b3275689fd0464a267baced1bf94fc1324656aeb755da3d44d098c0c87382f3a5f85b45c8a28fee1d3bdb38342bf96671501429 \
	$Z96 0100001000000000 e742060000000000 50806f000000
tdx_ok trustee-q5 "$T/trustee/tdx_quote_5.dat" 5 \
	dfba221b48a22af8511542ee796603f37382800840dcd978703909bf8e64d4c8a1e9de86e7c9638bfcba422f3886400a \
	9b529f3689e2e8ebb899e9abbbc3dab394d6545e8cdb28a2abb9cc2f377b83a65c01ba56b824cd3ee885df20051f5128 \
	ca5a979317ffe8a527a3b7aadab03976d7cb6eef1041fb9bd9d69e6fafa7252cdc10e4c2a55e7ecbd2ddb5cacc867430 $Z96 $Z96 \
	6d6ab13b046cff606ac0074be13981b07b6325dba10b5facc96febf551c0c3be2b75f92fe1f88f4bb996969ad0174b4b7a70261b7b85c844f4b33a4674fd049f \
	$Z96 0000001000000000 e742060000000000 90c06f000000
tdx_ok trustee-q6 "$T/trustee/tdx_quote_6.dat" 4 \
	21e8dead92d6c69d7cbba79816686c03a48485c7df0c11f6f04792d5e1d378f6b8c46615ba6946adccac6becffbb1e88 \
	395aefe7bac15b24c40f1cd7ba6f8fa48732be5c56c61485ed3cd9c8b16cce8ece64c331b99ce36d96605135c753aaa2 \
	fc4b0f849d8d76fdf1da563a8c29d0d456b484a65e01797baf52ea1d8c002040527a1f0278925077219656dba039429f \
	193edd321148e81fd4d6ce00ac8331e737febdb428f18ae66f697c1d2a7f2cd97c535c8df9f045f62b16a41facad84a1 $Z96 \
	26cae1c77185617fb6a03fc29bf1f924596e52352b9b7594940b576ae126cd4a570cc3202a900c5d19a6eb0a95b32cfd00000000000000000000000000000000 \
	889abf4718f037e38d74464c11e7c91a6e9890b5546409e1e7df9de7a51ca93152bf847bd2440328e90adb18b150ed67 0000001000000000 e702060000000000 00a06d080000
tdx_ok azure "$T/trustee/az-tdx-vtpm_td-quote.bin" 4 \
	024a32b070383331181619fa387cb4d55d1e38879f989933055ccad5bc2db795d1737b66205949d15469dc8c1ba7ab7b $Z96 $Z96 $Z96 $Z96 \
	9734504f161d104c74e3165c15f779b06a9bb40dfa71937817d7eee68e5938390000000000000000000000000000000000000000000000000000000000000000 \
	$Z96 0000000000000000 e718060000000000 00806f050000

# The QVL synthetic sample chains to a test root: rejected against the real Intel root.
expect_exit 1 "tdx QVL sample rejected" "$V" verify tdx "$T/intel-qvl-sample/quote.dat" --compact
expect_match "QVL sample: not the Intel root" 'Intel SGX Root CA' "$OUT"
# README negative: REPORTDATA byte 0 changed.
cp "$T/trustee/tdx_quote_4.dat" "$TMP/q4.dat"
printf '\xff' | dd of="$TMP/q4.dat" bs=1 seek=$((48 + 520)) conv=notrunc status=none
expect_exit 1 "tdx q4 with REPORTDATA changed rejected" "$V" verify tdx "$TMP/q4.dat" --compact
expect_match "q4 tampered: quote signature" '"reason":"quote signature is invalid' "$OUT"

# Collateral: a directory assembled in $TMP from vector files (symlinks).
coll() { # dir tcbinfo qeidentity
	mkdir -p "$1"
	ln -sf "$2" "$1/tcb_info.json"
	ln -sf "$3" "$1/qe_identity.json"
	ln -sf "$T/go-tdx-guest/tcbInfoIssuerChain.pem" "$1/tcb_info_issuer_chain.pem"
	ln -sf "$T/go-tdx-guest/qeIdentityIssuerChain.pem" "$1/qe_identity_issuer_chain.pem"
}
coll "$TMP/c5" "$T/go-tdx-guest/sample_tcbinfo_response_v5" "$T/go-tdx-guest/sample_qeIdentity_response"
expect_exit 0 "tdx v5 with collateral verified" "$V" verify tdx "$T/go-tdx-guest/quote_v5_sample.dat" --collateral "$TMP/c5" --compact
expect_eq "v5 TCB status UpToDate" UpToDate "$(jv tcb_status)"
expect_eq "v5 tcbDate" 2024-11-13T00:00:00Z "$(jv tcb_date)"
expect_eq "v5 collateral expired vs now" true "$(jn collateral_expired)"
coll "$TMP/c6" "$T/trustee/tcbInfo.json" "$T/trustee/enclaveIdentity.json"
expect_exit 0 "tdx q6 with collateral verified" "$V" verify tdx "$T/trustee/tdx_quote_6.dat" --collateral "$TMP/c6" --compact
expect_eq "q6 TCB status OutOfDate" OutOfDate "$(jv tcb_status)"
expect_eq "q6 tcbDate" 2018-01-04T00:00:00Z "$(jv tcb_date)"
expect_match "q6 parts: platform OutOfDate, module TDX_03 and QE UpToDate" '"tcb_components":\{"platform":"OutOfDate","tdx_module":"UpToDate","qe":"UpToDate"\}' "$OUT"
expect_exit 0 "tdx q6 collateral --at inside its window" "$V" verify tdx "$T/trustee/tdx_quote_6.dat" --collateral "$TMP/c6" --at 2025-11-01T00:00:00Z --compact
expect_match "q6 at 2025-11: only the signing cert expired" '"collateral_note":"tcbInfo signing certificate expired 2025-05-21T10:50:10Z; enclaveIdentity signing certificate expired' "$OUT"
coll "$TMP/c4" "$T/go-tdx-guest/sample_tcbInfo_response" "$T/go-tdx-guest/sample_qeIdentity_response"
ln -s "$T/go-tdx-guest/pckcrl" "$TMP/c4/pck_crl.der"
ln -s "$T/go-tdx-guest/pckCrlIssuerChain.pem" "$TMP/c4/pck_crl_issuer_chain.pem"
ln -s "$T/go-tdx-guest/rootcrl.der" "$TMP/c4/root_crl.der"
expect_exit 1 "tdx SPR with its TCB info: no matching level" "$V" verify tdx "$T/go-tdx-guest/tdx_prod_quote_SPR_E4.dat" --collateral "$TMP/c4" --compact
expect_eq "SPR TCB status" NoMatchingTcbLevel "$(jv tcb_status)"
expect_match "SPR reason" 'no TCB level' "$OUT"
expect_exit 1 "tdx collateral for another FMSPC rejected" "$V" verify tdx "$T/trustee/tdx_quote_6.dat" --collateral "$TMP/c4" --compact
expect_match "FMSPC mismatch named" 'TCB info is for FMSPC 50806f000000, the PCK certificate says 00a06d080000' "$OUT"
# One changed byte inside the signed tcbInfo value breaks its signature.
mkdir -p "$TMP/cx"
cp -P "$TMP/c6"/* "$TMP/cx/"
sed 's/"tcbEvaluationDataNumber":17/"tcbEvaluationDataNumber":18/' "$T/trustee/tcbInfo.json" >"$TMP/cx/tcb_info.json.new"
mv -f "$TMP/cx/tcb_info.json.new" "$TMP/cx/tcb_info.json"
expect_exit 1 "tdx tampered TCB info rejected" "$V" verify tdx "$T/trustee/tdx_quote_6.dat" --collateral "$TMP/cx" --compact
expect_match "tampered TCB info: signature" 'tcbInfo signature is invalid' "$OUT"
# Whitespace outside the signed value does not matter; inside it does.
sed 's/^{"tcbInfo":/{ "tcbInfo" : /' "$T/trustee/tcbInfo.json" >"$TMP/cx/tcb_info.json"
expect_exit 0 "tdx TCB info with outer whitespace verified" "$V" verify tdx "$T/trustee/tdx_quote_6.dat" --collateral "$TMP/cx" --compact

# CCEL: the GCP event log replays to the quote's RTMRs.
expect_exit 0 "tdx GCP CCEL replays" "$V" verify tdx "$T/go-tdx-guest/cos-113-tdx-quote.dat" --ccel "$T/go-tdx-guest/ccel_data.dat" --compact
expect_eq "CCEL matches quote" true "$(jn matches_quote)"
expect_match "CCEL lists events" '"events":\[\{"mr_index":' "$OUT"
expect_exit 1 "tdx trustee CCEL does not replay to q4" "$V" verify tdx "$T/trustee/tdx_quote_4.dat" --ccel "$T/trustee/CCEL_data" --compact
expect_match "CCEL mismatch reason" 'CCEL replay does not match the quote: RTMR0 differs' "$OUT"
# Never fail open (issue 13): an empty CRL, a dangling CRL link, an
# unrepresentable --at are errors (exit 2), not "verified".
GS=("$S/go-sev-guest/attestation.bin" --vcek "$S/go-sev-guest/vcek.testcer" --chain "$S/amd_kds/ask_ark_milan.pem")
: >"$TMP/empty.crl"
expect_exit 2 "snp --crl EMPTY_FILE is an error, not verified" "$V" verify snp "${GS[@]}" --crl "$TMP/empty.crl"
expect_match "empty CRL named" "--crl .*empty.crl is empty" "$ERR"
expect_eq "empty CRL: nothing on stdout" "" "$OUT"
coll "$TMP/cd" "$T/trustee/tcbInfo.json" "$T/trustee/enclaveIdentity.json"
ln -s "$TMP/no-such-crl.der" "$TMP/cd/pck_crl.der"
expect_exit 2 "tdx dangling pck_crl.der link is an error, not absent" "$V" verify tdx "$T/trustee/tdx_quote_6.dat" --collateral "$TMP/cd" --compact
expect_match "dangling link named" "pck_crl.der: dangling link" "$ERR"
expect_exit 2 "--at 9999-12-31T23:59:60Z refused" "$V" verify snp "${GS[@]}" --at 9999-12-31T23:59:60Z
expect_match "--at: the time is invalid (not a certificate field)" "--at: invalid time '9999-12-31T23:59:60Z'" "$ERR"
expect_exit 2 "--at leap second not at 23:59 refused" "$V" verify snp "${GS[@]}" --at 2016-12-31T12:00:60Z
expect_exit 0 "--at with a real leap second parses; chain valid in 2023" "$V" verify snp "${GS[@]}" --at 2023-12-31T23:59:60Z
finish
