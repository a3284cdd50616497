#!/usr/bin/env bash
# The storm table of the README: the eight storms on the Hugo corpus, seeds 1–12 each, with the
# offline references (`ratio` against the windowed one, `ratio_unwindowed` against the windowless
# one). One build in the `storm` profile (release without fat LTO; the simulation is deterministic,
# so the figures do not depend on the profile), then the binary run directly (each storm runs its
# 12 seeds in one process). Prints one Markdown row per storm; the JSON of each
# storm is kept in $OUT (default target/storm) to look into.
#
#   benches/storm.sh                 # all eight storms
#   benches/storm.sh --serial        # extra flags go to every storm
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --profile storm -p cf-invalidator-bench --bin storm --quiet
bin=target/storm/storm
out=${OUT:-target/storm}
mkdir -p "$out"
storms=(
  "every 120 s, 300..900 s|--every 120 --complete 300..900"
  "every 120 s, 2,400 s|--every 120 --complete 2400"
  "40 deploys within 60 s, 300..900 s|--within 60 --complete 300..900"
  "40 deploys within 60 s, 3,600 s|--within 60 --complete 3600"
  "every 120 s, 2,400 s, \`--other 120:/other/*\`|--every 120 --complete 2400 --other 120:/other/*"
  "every 120 s, 300..900 s, \`--hold 21600\`|--every 120 --complete 300..900 --hold 21600"
  "every 120 s, 300..900 s, \`--other 30:exact100\`|--every 120 --complete 300..900 --other 30:exact100"
  "every 120 s, 300..900 s, \`--other 600:/*\`|--every 120 --complete 300..900 --other 600:/*"
)
echo "| storm | dead-lettered (max / total) | max staleness | reference | ratio | ratio unwindowed | paths billed (mean / max) | over-invalidated (mean / max) | refusals (max / total) | duplicate paths (all / beyond the margin) | most receives |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
n=0
for s in "${storms[@]}"; do
  n=$((n + 1))
  name=${s%%|*}
  # shellcheck disable=SC2086 # the flags are words on purpose
  "$bin" ${s#*|} --seeds 1..12 --reference "$@" >"$out/storm-$n.json" 2>/dev/null
  jq -r --arg name "$name" '.over_seeds as $o
    | def min(x): if x == null then "never" else "\((x / 60 * 10 | round) / 10) min" end;
    "| \($name) | \($o.dead_lettered_max) / \($o.dead_lettered_total) | \(min($o.max_staleness_s)) | \(min($o.reference_max_staleness_s)) | \($o.ratio // "—") | \($o.ratio_unwindowed // "—") | \($o.paths_billed_mean) / \($o.paths_billed_max) | \($o.over_invalidated_mean) / \($o.over_invalidated_max) | \($o.refusals_max) / \($o.refusals_total) | \($o.duplicate_paths_total) / \($o.duplicate_paths_beyond_margin_total) | \($o.most_receives) |"' \
    "$out/storm-$n.json"
done
