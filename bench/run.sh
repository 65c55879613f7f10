#!/usr/bin/env bash
# Runs every benchmark (bench/*.bench.ts) one after the other, never in
# parallel: the machine has two cores and side-by-side ratios need them quiet.
# Each benchmark prints its figures and its ratios against the baselines of
# ../shared/ANCHORS.md, measured in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
shopt -s nullglob
benches=(bench/*.bench.ts)
if [ $# -gt 0 ]; then benches=("$@"); fi
for b in "${benches[@]}"; do
  echo "== $b"
  node --import=tsx --expose-gc "$b"
done
