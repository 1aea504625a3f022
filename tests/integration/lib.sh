# Sourced by tests/integration/test_*.sh. Gives:
#   $BIN (built binaries), $VECTORS, $TMP (removed at exit), $ROOT (repo)
#   check DESC CMD...              passes when CMD exits 0
#   expect_exit CODE DESC CMD...   passes when CMD exits CODE (stdout in $OUT, stderr in $ERR)
#   expect_eq DESC EXPECTED ACTUAL
#   expect_match DESC REGEX TEXT
#   need_vectors / need_kvm / need_cmd CMD   skip the whole test (exit 77) when missing
#   test_accels                     accelerators to run VMM tests under: emu on every
#                                   machine, kvm too where /dev/kvm opens
#                                   (VIGIL_TEST_ACCELS="emu" acts as a host without KVM)
#   use_accel NAME                  $VMM runs vigil-vmm --accel NAME; descriptions get "[NAME] "
#   finish                          prints "checks: P passed, F failed" and exits
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${VIGIL_BUILD:-$ROOT/build}
BIN=$BUILD/bin
VECTORS=${VIGIL_VECTORS:-$ROOT/../shared/vectors}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/vigil-it.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
_pass=0 _fail=0
OUT= ERR=

_prefix=
_ok() { _pass=$((_pass + 1)); echo "ok - $_prefix$1"; }
_nok() {
	_fail=$((_fail + 1))
	echo "not ok - $_prefix$1"
	shift
	for l in "$@"; do echo "#   $l"; done
}

check() {
	local desc=$1
	shift
	if OUT=$("$@" 2>"$TMP/.err"); then
		ERR=$(cat "$TMP/.err")
		_ok "$desc"
	else
		local rc=$?
		ERR=$(cat "$TMP/.err")
		_nok "$desc" "command: $*" "exit $rc" "stderr: ${ERR:0:500}"
	fi
}

expect_exit() {
	local code=$1 desc=$2
	shift 2
	OUT=$("$@" 2>"$TMP/.err")
	local rc=$?
	ERR=$(cat "$TMP/.err")
	if ((rc == code)); then
		_ok "$desc"
	else
		_nok "$desc" "command: $*" "expected exit $code, got $rc" "stderr: ${ERR:0:500}" "stdout: ${OUT:0:300}"
	fi
}

expect_eq() {
	if [[ "$2" == "$3" ]]; then _ok "$1"; else _nok "$1" "expected: $2" "actual:   $3"; fi
}

expect_match() {
	if [[ "$3" =~ $2 ]]; then _ok "$1"; else _nok "$1" "pattern: $2" "text: ${3:0:500}"; fi
}

skip_all() {
	echo "SKIP: $1"
	echo "checks: $_pass passed, $_fail failed"
	exit 77
}
need_vectors() { [[ -d "$VECTORS" ]] || skip_all "vectors not found"; }
need_kvm() { have_kvm || skip_all "/dev/kvm not available"; }
have_kvm() { local d=${VIGIL_KVM_DEVICE:-/dev/kvm}; [[ -r $d && -w $d ]]; }
test_accels() {
	if [[ -n "${VIGIL_TEST_ACCELS:-}" ]]; then echo "$VIGIL_TEST_ACCELS"
	elif have_kvm; then echo "kvm emu"
	else echo "emu"; fi
}
# An exec wrapper: the process (PID, /proc status) is vigil-vmm itself.
use_accel() {
	ACCEL=$1
	VMM=$TMP/vigil-vmm-$1
	printf '#!/bin/sh\nexec "%s" --accel %s "$@"\n' "$BIN/vigil-vmm" "$1" >"$VMM"
	chmod 755 "$VMM"
	_prefix="[$1] "
}
need_cmd() { command -v "$1" >/dev/null 2>&1 || skip_all "$1 not installed"; }

finish() {
	echo "checks: $_pass passed, $_fail failed"
	((_fail == 0)) && exit 0
	exit 1
}
