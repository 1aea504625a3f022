#!/usr/bin/env bash
# Sums the suites' counts into the closing line CI reads.
set -uo pipefail
results=$1
p=0 f=0 s=0
for c in "$results"/*.count; do
	[[ -e "$c" ]] || continue
	read -r a b d <"$c"
	p=$((p + a)) f=$((f + b)) s=$((s + d))
done
echo "total: $p passed, $f failed, $s skipped"
((f == 0))
