#!/usr/bin/env bash
# vigil-vmm flag handling (issue 13): --json needs --print-measurements, an
# unknown flag is one line, --check-kvm without a usable /dev/kvm is an I/O
# error (exit 2; run as an unprivileged user who cannot open /dev/kvm).
source "$(dirname "$0")/lib.sh"
VMM=$BIN/vigil-vmm
G=$BUILD/guest
[[ -x $VMM ]] || { echo "vigil-vmm not built"; exit 1; }

expect_exit 2 "--json without --print-measurements rejected" "$VMM" --firmware "$G/hello.bin" --json
expect_match "... saying what it goes with" '^vigil-vmm: --json goes with --print-measurements or --launch-only$' "$ERR"
expect_exit 2 "unknown flag rejected" "$VMM" --frobnicate
expect_eq "unknown flag: exactly one line" 1 "$(printf '%s\n' "$ERR" | wc -l)"
expect_match "unknown flag named" '"--frobnicate"' "$ERR"
expect_exit 2 "missing flag argument rejected" "$VMM" --firmware
expect_eq "missing argument: exactly one line" 1 "$(printf '%s\n' "$ERR" | wc -l)"

# Without KVM: a user outside the kvm group (nobody) has no usable /dev/kvm.
if [[ $(id -u) -eq 0 ]] && command -v setpriv >/dev/null && [[ -e /dev/kvm ]] &&
	! setpriv --reuid=nobody --regid=nogroup --clear-groups test -w /dev/kvm; then
	expect_exit 2 "--check-kvm without KVM exits 2" setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$VMM" --check-kvm
	expect_match "... naming /dev/kvm" '^vigil-vmm: /dev/kvm: Permission denied' "$ERR"
elif [[ ! -e /dev/kvm ]]; then
	expect_exit 2 "--check-kvm without KVM exits 2" "$VMM" --check-kvm
else
	_ok "--check-kvm without KVM: not testable here (not root, or nobody can open /dev/kvm)"
fi
finish
