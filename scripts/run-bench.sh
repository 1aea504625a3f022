#!/usr/bin/env bash
# Runs every bench/*.sh (each prints its figures and ratios against a baseline
# measured in the same run). BENCH=name runs one.
set -uo pipefail
rc=0
for b in bench/*.sh; do
	[[ -e "$b" ]] || continue
	name=$(basename "$b" .sh)
	[[ -n "${BENCH:-}" && "$name" != *"$BENCH"* ]] && continue
	echo "== bench/$name"
	bash "$b" || rc=1
done
exit $rc
