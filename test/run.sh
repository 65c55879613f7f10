#!/usr/bin/env bash
# Runs the whole test suite with tap and ends with the one line CI reads:
# "N passed, N failed" (N counted from tap's own summary of assertions,
# a crashed or timed-out test file counting as failed).
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p .tap
out=.tap/results.tap
# Files may be named on the command line (make test ARGS=...); default: all.
npx tap --reporter=tap "$@" 2>&1 | tee "$out"
status=${PIPESTATUS[0]}
summary=$(grep -E '^# \{ total: ' "$out" | tail -n 1)
pass=$(sed -nE 's/.*pass: ([0-9]+).*/\1/p' <<<"$summary")
fail=$(sed -nE 's/.*fail: ([0-9]+).*/\1/p' <<<"$summary")
pass=${pass:-0}
fail=${fail:-0}
if [ "$status" -ne 0 ] && [ "$fail" -eq 0 ]; then
  fail=1 # tap failed without counting a failure (crash before summary): never report green
fi
line="$pass passed, $fail failed"
echo "$line" >.tap/summary.txt
echo "$line"
exit "$status"
