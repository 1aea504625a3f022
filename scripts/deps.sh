#!/usr/bin/env bash
# Installs the Debian 12 packages Vigil needs to build, test and demo.
# As root: installs what is missing. Otherwise: prints the one apt-get line.
set -euo pipefail

PACKAGES=(
	# toolchain
	gcc make clang libclang-rt-14-dev pkg-config
	# libraries (chosen, not written)
	libssl-dev libtpms-dev libseccomp-dev libjansson-dev libcbor-dev libcmocka-dev libtss2-dev
	# peers and tools used by tests, benchmarks and the demo
	openssl tpm2-tools swtpm swtpm-tools qemu-system-x86 ovmf acpica-tools xxd hyperfine
)

missing=()
for p in "${PACKAGES[@]}"; do
	case "$p" in \#*) continue ;; esac
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
	exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
	echo "deps: missing Debian packages; run as root:" >&2
	echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
	exit 1
fi

echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
	apt-get update -q >/dev/null
	apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
