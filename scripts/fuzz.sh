#!/usr/bin/env bash
# Bounded fuzzing of intake and of the planner (cargo fuzz: libFuzzer with AddressSanitizer),
# FUZZ_SECONDS each (default 60). The intake target is seeded with events/. Crashes land in
# fuzz/artifacts/<target>/; reproduce one with `cargo fuzz run --fuzz-dir fuzz <target> <file>`.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-60}
if ! command -v cargo-fuzz >/dev/null 2>&1 && [ ! -x .tools/bin/cargo-fuzz ]; then
  echo "fuzz: installing cargo-fuzz into .tools/"
  cargo install --locked --root .tools cargo-fuzz
fi
export PATH="$PWD/.tools/bin:$PATH"
# cargo fuzz passes nightly-only flags (-Zsanitizer); these machines have the stable toolchain only.
export RUSTC_BOOTSTRAP=1
mkdir -p fuzz/corpus/intake fuzz/corpus/planner
cp events/*.json fuzz/corpus/intake/
for target in intake planner; do
  echo "==> fuzzing $target for ${secs}s"
  cargo fuzz run --fuzz-dir fuzz "$target" "fuzz/corpus/$target" -- -max_total_time="$secs"
done
