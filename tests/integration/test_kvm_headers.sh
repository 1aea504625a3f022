#!/usr/bin/env bash
# common/linux_kvm_cc.h against kernel header sets of other versions: each definition
# is guarded on its own, so the header compiles whether the installed linux-libc-dev
# predates guest_memfd (6.1, Debian 12), has it (6.8), has the SEV INIT2 API but no
# SNP (6.10), or has SNP (6.11). The newer header sets are simulated: a linux/version.h
# with the newer version, and a linux/kvm.h that adds what that version defines on
# top of the installed one (the UAPI of include/uapi/linux/kvm.h and
# arch/x86/include/uapi/asm/kvm.h of that release).
. "$(dirname "$0")/lib.sh"
need_cmd gcc

mk() { # mk DIR MAJOR MINOR EXTRA-C
	local d=$TMP/$1
	mkdir -p "$d/linux"
	cat >"$d/linux/version.h" <<V
#define LINUX_VERSION_CODE $(( ($2 << 16) + ($3 << 8) ))
#define KERNEL_VERSION(a, b, c) (((a) << 16) + ((b) << 8) + ((c) > 255 ? 255 : (c)))
V
	{
		echo '#ifndef SIM_KVM_H'
		echo '#define SIM_KVM_H'
		echo '#include_next <linux/kvm.h>'
		printf '%s\n' "$4"
		echo '#endif'
	} >"$d/linux/kvm.h"
}

V68='#define KVM_CAP_USER_MEMORY2 231
#define KVM_CAP_MEMORY_FAULT_INFO 232
#define KVM_CAP_MEMORY_ATTRIBUTES 233
#define KVM_CAP_GUEST_MEMFD 234
#define KVM_CAP_VM_TYPES 235
#define KVM_MEM_GUEST_MEMFD (1UL << 2)
struct kvm_userspace_memory_region2 { __u32 slot; __u32 flags; __u64 guest_phys_addr; __u64 memory_size;
	__u64 userspace_addr; __u64 guest_memfd_offset; __u32 guest_memfd; __u32 pad1; __u64 pad2[14]; };
#define KVM_SET_USER_MEMORY_REGION2 _IOW(KVMIO, 0x49, struct kvm_userspace_memory_region2)
#define KVM_MEMORY_ATTRIBUTE_PRIVATE (1ULL << 3)
struct kvm_memory_attributes { __u64 address; __u64 size; __u64 attributes; __u64 flags; };
#define KVM_SET_MEMORY_ATTRIBUTES _IOW(KVMIO, 0xd2, struct kvm_memory_attributes)
struct kvm_create_guest_memfd { __u64 size; __u64 flags; __u64 reserved[6]; };
#define KVM_CREATE_GUEST_MEMFD _IOWR(KVMIO, 0xd4, struct kvm_create_guest_memfd)
#define KVM_EXIT_MEMORY_FAULT 39
#define KVM_MEMORY_EXIT_FLAG_PRIVATE (1ULL << 3)
#define KVM_X86_DEFAULT_VM 0
#define KVM_X86_SW_PROTECTED_VM 1'
V610="$V68"'
#define KVM_X86_SEV_VM 2
#define KVM_X86_SEV_ES_VM 3
#define KVM_X86_GRP_SEV 1
#define KVM_X86_SEV_VMSA_FEATURES 0
enum sim_sev_cmd_id_610 { KVM_SEV_INIT2 = 22 };
struct kvm_sev_init { __u64 vmsa_features; __u32 flags; __u16 ghcb_version; __u16 pad1; __u32 pad2[8]; };'
V611="$V610"'
#define KVM_X86_SNP_VM 4
#define KVM_CAP_X86_APIC_BUS_CYCLES_NS 237
enum sim_sev_cmd_id_611 { KVM_SEV_SNP_LAUNCH_START = 100, KVM_SEV_SNP_LAUNCH_UPDATE, KVM_SEV_SNP_LAUNCH_FINISH };
struct kvm_sev_snp_launch_start { __u64 policy; __u8 gosvw[16]; __u16 flags; __u8 pad0[6]; __u64 pad1[4]; };
#define KVM_SEV_PAGE_TYPE_INVALID 0x0
#define KVM_SEV_SNP_PAGE_TYPE_NORMAL 0x1
#define KVM_SEV_SNP_PAGE_TYPE_ZERO 0x3
#define KVM_SEV_SNP_PAGE_TYPE_UNMEASURED 0x4
#define KVM_SEV_SNP_PAGE_TYPE_SECRETS 0x5
#define KVM_SEV_SNP_PAGE_TYPE_CPUID 0x6
struct kvm_sev_snp_launch_update { __u64 gfn_start; __u64 uaddr; __u64 len; __u8 type; __u8 pad0; __u16 flags;
	__u32 pad1; __u64 pad2[4]; };
#define KVM_SEV_SNP_ID_BLOCK_SIZE 96
#define KVM_SEV_SNP_ID_AUTH_SIZE 4096
#define KVM_SEV_SNP_FINISH_DATA_SIZE 32
struct kvm_sev_snp_launch_finish { __u64 id_block_uaddr; __u64 id_auth_uaddr; __u8 id_block_en; __u8 auth_key_en;
	__u8 vcek_disabled; __u8 host_data[32]; __u8 pad0[3]; __u16 flags; __u64 pad1[4]; };'

mk h68 6 8 "$V68"
mk h610 6 10 "$V610"
mk h611 6 11 "$V611"

cat >"$TMP/use.c" <<'C'
#include "common/linux_kvm_cc.h"
/* every definition the backends use, with the values the UAPI gives them */
_Static_assert(KVM_SEV_INIT2 == 22, "KVM_SEV_INIT2");
_Static_assert(KVM_SEV_SNP_LAUNCH_UPDATE == 101, "SNP_LAUNCH_UPDATE");
_Static_assert(KVM_X86_SNP_VM == 4 && KVM_X86_SEV_ES_VM == 3, "VM types");
_Static_assert(KVM_CAP_X86_APIC_BUS_CYCLES_NS == 237, "APIC bus cap");
_Static_assert(sizeof(struct kvm_sev_init) == 48, "kvm_sev_init");
_Static_assert(sizeof(struct kvm_sev_snp_launch_finish) == 88, "launch_finish");
int main(void) { return KVM_X86_GRP_SEV - 1 + (int)KVM_MEMORY_ATTRIBUTE_PRIVATE - 8; }
C

for h in installed h68 h610 h611; do
	inc=()
	[ "$h" != installed ] && inc=(-I "$TMP/$h")
	check "linux_kvm_cc.h compiles against $h kernel headers" \
		gcc -std=gnu11 -Wall -Werror "${inc[@]}" -I "$ROOT" -o "$TMP/use-$h" "$TMP/use.c"
done
finish
