#!/usr/bin/env bash
# Runs each libFuzzer target for SECONDS with a seed corpus assembled in the
# build directory from tests/fuzz/seeds/NAME/ (committed, self-made) and the
# globs in tests/fuzz/NAME.seeds (relative to $VIGIL_VECTORS; read in place,
# copied only into the build directory).
# usage: run-fuzz.sh FUZZ_BUILD RESULTS SECONDS NAME...
set -uo pipefail
fbuild=$1 results=$2 seconds=$3
shift 3
mkdir -p "$results"
vectors=${VIGIL_VECTORS:-../shared/vectors}
passed=0 failed=0
for name in "$@"; do
	bin="$fbuild/fuzz/$name"
	corpus="$fbuild/corpus/$name"
	mkdir -p "$corpus"
	[[ -d tests/fuzz/seeds/$name ]] && cp -n tests/fuzz/seeds/"$name"/* "$corpus"/ 2>/dev/null
	if [[ -f tests/fuzz/$name.seeds && -d "$vectors" ]]; then
		while read -r glob; do
			[[ -z "$glob" || "$glob" == \#* ]] && continue
			for f in "$vectors"/$glob; do
				[[ -f "$f" ]] && cp -n "$f" "$corpus/$(echo "${f#"$vectors"/}" | tr / _)"
			done
		done <"tests/fuzz/$name.seeds"
	fi
	log="$results/fuzz-$name.log"
	if "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$fbuild/crash-$name-" "$corpus" >"$log" 2>&1; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		echo "ok   $name (${runs:-?} runs in ${seconds}s)"
		passed=$((passed + 1))
	else
		echo "FAIL $name: see $log"
		grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -5 | sed 's/^/    /'
		failed=$((failed + 1))
	fi
done
echo "$passed $failed 0" >"$results/fuzz.count"
echo "fuzz: $passed passed, $failed failed"
((failed == 0))
