#!/usr/bin/env bash
# Scores `cfinv plan` on the Hugo corpus's 40 deploys with the corpus's scorer
# (corpus/hugo/evaluate.py), at the default budget and at MAX_PATHS=8: the two cf-invalidator rows
# of the README's "Scores on the shared corpus" table.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -p cfinv --quiet
cfinv="$PWD/target/debug/cfinv"
cd corpus/hugo
export DISTRIBUTION_ID=${DISTRIBUTION_ID:-E2EXAMPLE}
python3 evaluate.py --planner-cmd "$cfinv plan {event}" --label default-budget
MAX_PATHS=8 python3 evaluate.py --planner-cmd "$cfinv plan {event}" --label max-paths-8
