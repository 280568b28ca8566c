#!/bin/sh
# run.sh - run every test of the project and end with one summary line
# "N passed, N failed". Unit tests are cmocka binaries in $BUILD/tests;
# integration tests are tests/integration/test_*.py, run with Debian's python3
# against the real build/duetd and build/duetctl.
set -u
BUILD=${BUILD:-build}
SHARED=${SHARED:-../shared}
export SHARED BUILD
passed=0
failed=0
skipped=0
failed_names=""
log=$(mktemp)
trap 'rm -f "$log"' EXIT

count() { # $1 = name; reads cmocka or unittest output from $log
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	sk=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	skipped=$((skipped + ${sk:-0}))
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	if [ -z "$p" ]; then
		# python unittest: "Ran N tests" then "OK" or "FAILED (failures=a, errors=b)";
		# expected failures count as passed, unexpected successes as failed
		r=$(sed -n 's/^Ran \([0-9]*\) test.*/\1/p' "$log" | tail -1)
		fl=$(sed -n 's/^FAILED (\(.*\))/\1/p' "$log" | tail -1 | tr ',' '\n' |
			sed -n 's/^ *\(failures\|errors\|unexpected successes\)=\([0-9]*\).*/\2/p' | paste -sd+ - | bc 2>/dev/null)
		f=${fl:-0}
		sk=$(sed -n 's/.*skipped=\([0-9]*\).*/\1/p' "$log" | tail -1)
		skipped=$((skipped + ${sk:-0}))
		p=$(( ${r:-0} - f - ${sk:-0} ))
	fi
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
}

for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	echo "== $name"
	if "$t" >"$log" 2>&1; then rc=0; else rc=$?; fi
	grep -E '^\[  (FAILED|SKIPPED) ' "$log" | sed 's/^/   /'
	count "$name"
	if [ $rc -ne 0 ]; then
		grep -q '^\[  FAILED  \]' "$log" || { failed=$((failed + 1)); }
		failed_names="$failed_names $name"
		sed 's/^/   | /' "$log" | tail -40
	fi
done

for t in tests/integration/test_*.py; do
	[ -f "$t" ] || continue
	name=$(basename "$t" .py)
	echo "== $name"
	if /usr/bin/python3 "$t" >"$log" 2>&1; then rc=0; else rc=$?; fi
	grep -E '^(FAIL|ERROR|skipped)' "$log" | sed 's/^/   /'
	count "$name"
	if [ $rc -ne 0 ]; then
		grep -q '^Ran ' "$log" || failed=$((failed + 1))
		failed_names="$failed_names $name"
		sed 's/^/   | /' "$log" | tail -60
	fi
done

[ -n "$failed_names" ] && echo "failing:$failed_names"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
