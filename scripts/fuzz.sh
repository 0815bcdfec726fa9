#!/usr/bin/env bash
# Runs fuzz/'s libFuzzer targets, built in BUILD (make fuzz), one after the
# other for SECONDS each, from their seeds and regressions and from what
# earlier runs found (BUILD/fuzz/corpus/NAME/, never the tree). Prints each
# target's seconds, executions and coverage, and adds them to
# BUILD/fuzz/totals.tsv (target, seconds, executions, cov, ft), whose sums
# over every run are the README's figures. A finding is written to
# BUILD/fuzz/artifacts/ and makes the run fail: fix it, then add it to
# fuzz/regressions/NAME/ so that every build replays it.
#
# Usage: scripts/fuzz.sh BUILD SECONDS [NAME...]   (every target if none)
# FUZZ_RUNS=N in the environment stops each target after N executions.
set -euo pipefail

build=$(cd "$1" && pwd)
seconds=$2
shift 2
src=$(cd "$(dirname "$0")/.." && pwd)/fuzz
if [ $# -eq 0 ]; then
	set -- $(cd "$src" && ls fuzz_*.c | sed 's/^fuzz_//; s/\.c$//')
fi

failed=()
for name in "$@"; do
	exe=$build/fuzz/fuzz_$name
	corpus=$build/fuzz/corpus/$name
	log=$build/fuzz/logs/$name-$(date +%Y%m%d-%H%M%S).log
	mkdir -p "$corpus" "$build/fuzz/artifacts" "$build/fuzz/logs"
	opts=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048
	      -print_final_stats=1
	      -artifact_prefix="$build/fuzz/artifacts/$name-")
	[ -f "$src/$name.dict" ] && opts+=(-dict="$src/$name.dict")
	# fuzz/NAME.options: libFuzzer flags of the target's own, one a line.
	[ -f "$src/$name.options" ] && mapfile -t -O ${#opts[@]} opts < "$src/$name.options"
	# FUZZ_RUNS: stop after so many executions, if that comes first.
	[ -n "${FUZZ_RUNS:-}" ] && opts+=(-runs="$FUZZ_RUNS")
	dirs=("$corpus" "$src/corpus/$name")
	[ -d "$src/regressions/$name" ] && dirs+=("$src/regressions/$name")
	# In the scratch corpus, with nothing to read on stdin: a script's
	# file names are opened as given.
	rc=0
	start=$(date +%s)
	(cd "$corpus" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		"$exe" "${opts[@]}" "${dirs[@]}" </dev/null >"$log" 2>&1) || rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	took=$(($(date +%s) - start))
	cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1 || true)
	printf 'fuzz_%s: %s s, %s executions, %s\n' "$name" "$took" \
		"${runs:-?}" "${cov:-cov: ? ft: ?}"
	printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$took" "${runs:-0}" \
		$(echo "${cov:-cov: 0 ft: 0}" | awk '{print $2, $4}') \
		>>"$build/fuzz/totals.tsv"
	if [ $rc -ne 0 ]; then
		echo "fuzz_$name: FAILED (exit $rc), see $log" >&2
		grep -m3 -E 'check failed|ERROR:|SUMMARY' "$log" >&2 || true
		failed+=("$name")
	fi
done

# The totals so far, per target, over every run in this build directory.
awk -F'\t' '{ s[$1] += $2; n[$1] += $3; c[$1] = $4; f[$1] = $5 }
	END { for (t in s) printf "total fuzz_%s: %d s, %d executions, last cov: %s ft: %s\n", t, s[t], n[t], c[t], f[t] }' \
	"$build/fuzz/totals.tsv" | sort
[ ${#failed[@]} -eq 0 ] || { echo "fuzz: findings in: ${failed[*]}" >&2; exit 1; }
