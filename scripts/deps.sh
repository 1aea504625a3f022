#!/usr/bin/env bash
# Installs the Debian 12 packages Vigil needs to build, test and demo.
# As root: installs what is missing. Otherwise: prints the one apt-get line.
set -euo pipefail

PACKAGES=(
	# toolchain
	gcc make clang libclang-rt-14-dev pkg-config
	# libraries (chosen, not written)
	libssl-dev libtpms-dev libseccomp-dev libjansson-dev libcbor-dev libcmocka-dev libtss2-dev
	libunicorn-dev libevent-dev libsqlite3-dev libcurl4-openssl-dev libpq-dev
	# peers and tools used by tests, benchmarks and the demo
	openssl tpm2-tools swtpm swtpm-tools qemu-system-x86 ovmf acpica-tools xxd hyperfine jq
	sqlite3 postgresql python3-cryptography python3-cbor2 nodejs osslsigncode
)

missing=()
for p in "${PACKAGES[@]}"; do
	case "$p" in \#*) continue ;; esac
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} > 0)); then
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
fi

# npm (for the jose/cbor interop tests) ships inside some nodejs builds; Debian's own
# nodejs needs the separate npm package.
if ! command -v npm >/dev/null 2>&1 && [[ $(id -u) -eq 0 ]]; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends npm >/dev/null 2>&1 ||
		echo "deps: could not install npm (interop tests will fail)" >&2
fi

# ---- Debian's cloud kernel for the VMM's bzImage tests (issue 5). Downloaded
# (not installed) into a cache outside the repository; tests extract it with
# dpkg-deb -x. Never the running kernel.
VIGIL_KERNEL_CACHE=${VIGIL_KERNEL_CACHE:-/var/cache/vigil/kernel}
if ! ls "$VIGIL_KERNEL_CACHE"/linux-image-*-cloud-amd64_*.deb >/dev/null 2>&1 && [[ $(id -u) -eq 0 ]]; then
	kpkg_of() { apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-/{print $2; exit}'; }
	kpkg=$(kpkg_of)
	if [[ -z "$kpkg" ]]; then # package lists never fetched on this machine
		apt-get update -q >/dev/null 2>&1
		kpkg=$(kpkg_of)
	fi
	if [[ -n "$kpkg" ]]; then
		mkdir -p "$VIGIL_KERNEL_CACHE"
		(cd "$VIGIL_KERNEL_CACHE" && apt-get download -q "$kpkg" >/dev/null 2>&1) ||
			echo "deps: could not download $kpkg (bzImage tests will skip)" >&2
	fi
fi
