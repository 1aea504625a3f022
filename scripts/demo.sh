#!/usr/bin/env bash
# make demo: the main job, end to end, as far as the chain exists today.
# Each step prints what it does and its result; any failing step fails the demo.
set -uo pipefail
BUILD=${VIGIL_BUILD:-build}
BIN=$BUILD/bin
VECTORS=${VIGIL_VECTORS:-../shared/vectors}
failed=0
step() { printf '\n== %s\n' "$*"; }
ok() { printf '   ok: %s\n' "$*"; }
bad() { printf '   FAILED: %s\n' "$*"; failed=1; }

step "vigil is built"
if "$BIN/vigil" --version >/dev/null; then ok "$("$BIN/vigil" --version)"; else bad "vigil does not run"; fi

printf '\nNot yet part of the chain: measurement, verification, vTPM, VMM and confidential launch\n'
printf '(see the open issues). This demo grows as each lands.\n'
exit $failed
