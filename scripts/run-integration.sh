#!/usr/bin/env bash
# Runs tests/integration/test_*.sh. Each sources tests/integration/lib.sh,
# makes checks, and ends with `finish`, which prints "checks: P passed, F failed"
# and exits 0 (all passed), 77 (skipped: a prerequisite is missing) or 1.
# usage: run-integration.sh RESULTS_DIR FILTER
set -uo pipefail
results=$1 filter=$2
mkdir -p "$results"
passed=0 failed=0 skipped=0
for t in tests/integration/test_*.sh; do
	[[ -e "$t" ]] || continue
	name=$(basename "$t" .sh)
	[[ -n "$filter" && "$name" != *"$filter"* ]] && continue
	log="$results/integration-$name.log"
	start=$SECONDS
	timeout 600 bash "$t" >"$log" 2>&1
	rc=$?
	line=$(grep -E '^checks: [0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
	p=$(sed -n 's/^checks: \([0-9]*\) passed.*/\1/p' <<<"$line")
	f=$(sed -n 's/^checks: [0-9]* passed, \([0-9]*\) failed.*/\1/p' <<<"$line")
	p=${p:-0} f=${f:-0}
	if ((rc == 77)); then
		skipped=$((skipped + 1))
		echo "skip $name: $(grep -m1 '^SKIP' "$log" || echo 'prerequisite missing')"
		passed=$((passed + p))
		continue
	fi
	if ((rc != 0 && f == 0)); then f=1; fi
	passed=$((passed + p)) failed=$((failed + f))
	if ((f > 0)); then
		echo "FAIL $name ($p passed, $f failed, $((SECONDS - start))s): see $log"
		grep -E '^(not ok|FAIL|Error|error)' "$log" | head -20 | sed 's/^/    /'
	else
		echo "ok   $name ($p checks, $((SECONDS - start))s)"
	fi
done
echo "$passed $failed $skipped" >"$results/integration.count"
echo "integration: $passed passed, $failed failed, $skipped skipped"
((failed == 0))
