#!/usr/bin/env bash
# Runs cmocka unit test binaries; sums their cmocka summaries.
# usage: run-unit.sh RESULTS_DIR FILTER BIN...
set -uo pipefail
results=$1 filter=$2
shift 2
mkdir -p "$results"
passed=0 failed=0 skipped=0 broken=()
for bin in "$@"; do
	name=$(basename "$bin")
	[[ -n "$filter" && "$name" != *"$filter"* ]] && continue
	log="$results/unit-$name.log"
	"$bin" >"$log" 2>&1
	rc=$?
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	p=${p:-0} f=${f:-0} s=${s:-0}
	if ((rc != 0 && f == 0)); then f=1; fi # crashed before its summary
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	if ((f > 0)); then
		broken+=("$name")
		echo "FAIL $name ($p passed, $f failed): see $log"
		grep -E '^\[  (FAILED|ERROR)|^\[  FAILED|Error|error|failed' "$log" | head -20 | sed 's/^/    /'
	else
		if ((s > 0)); then echo "ok   $name ($p passed, $s skipped)"; else echo "ok   $name ($p passed)"; fi
	fi
done
echo "$passed $failed $skipped" >"$results/unit.count"
echo "unit: $passed passed, $failed failed, $skipped skipped"
((failed == 0))
