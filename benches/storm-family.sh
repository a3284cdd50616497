#!/usr/bin/env bash
# A family of storms drawn from the space the README documents ("The storm benchmark"), each run
# by the function and both offline references. Prints the family's Markdown table; the JSON goes
# to $OUT/family-<seed>.json (default target/storm), the table to $OUT/family-<seed>.md.
#
#   benches/storm-family.sh 200 1          # N storms, family seed S (the baseline: 200, 1)
#   benches/storm-family.sh 20 1 --window 10   # extra flags go to the storm binary
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:?N storms}
seed=${2:?family seed}
shift 2
cargo build --profile storm -p cf-invalidator-bench --bin storm --quiet
out=${OUT:-target/storm}
mkdir -p "$out"
target/storm/storm --family "$n" --family-seed "$seed" --markdown "$out/family-$seed.md" "$@" >"$out/family-$seed.json"
cat "$out/family-$seed.md"
jq '{family, summary, summary_fast_completions}' "$out/family-$seed.json"
