#!/usr/bin/env bash
# Bounded fuzzing (cargo fuzz: libFuzzer with AddressSanitizer) of every target in
# fuzz/Cargo.toml, FUZZ_SECONDS each (default 60), seeded with fuzz/seeds/<target>/ (and events/
# for the payload targets, the captured AWS CLI output for aws_cli). Every target runs even when an earlier one crashed; the end lists the
# runs per target and every crash with the command that reproduces it, and the exit status is
# non-zero when any target crashed or could not run. README "Fuzzing".
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-60}
if ! command -v cargo-fuzz >/dev/null 2>&1 && [ ! -x .tools/bin/cargo-fuzz ]; then
  echo "fuzz: installing cargo-fuzz into .tools/"
  cargo install --locked --root .tools cargo-fuzz || exit 1
fi
export PATH="$PWD/.tools/bin:$PATH"
# cargo fuzz passes nightly-only flags (-Zsanitizer); these machines have the stable toolchain only.
export RUSTC_BOOTSTRAP=1
# The fuzz crate is its own workspace: start it from the library's resolved versions.
[ -f fuzz/Cargo.lock ] || cp Cargo.lock fuzz/Cargo.lock

targets=$(cargo fuzz list --fuzz-dir fuzz) || exit 1
echo "==> building ${targets//$'\n'/, }"
cargo fuzz build --fuzz-dir fuzz || exit 1

logs=fuzz/logs
mkdir -p "$logs"
summary=()
crashes=()
for target in $targets; do
  seeds=("fuzz/seeds/$target")
  case $target in intake | destination_record) seeds+=(events) ;; aws_cli) seeds+=(cfinv/tests/fixtures/aws-s3) ;; esac
  mkdir -p "fuzz/corpus/$target" "fuzz/artifacts/$target"
  # libFuzzer writes what it finds to the first folder (git-ignored) and only reads the others.
  echo "==> fuzzing $target for ${secs}s"
  before=$(mktemp)
  cargo fuzz run --fuzz-dir fuzz "$target" "fuzz/corpus/$target" "${seeds[@]}" -- \
    -max_total_time="$secs" -timeout=60 -print_final_stats=1 >"$logs/$target.log" 2>&1
  status=$?
  runs=$(awk '/stat::number_of_executed_units:/ { print $2 }' "$logs/$target.log" | tail -n 1)
  found=$(find "fuzz/artifacts/$target" -type f -newer "$before" | sort)
  rm -f "$before"
  if [ "$status" -eq 0 ]; then
    summary+=("$target: ${runs:-?} runs in ${secs}s, no crash")
  elif [ -n "$found" ]; then
    summary+=("$target: CRASHED after ${runs:-?} runs (log $logs/$target.log)")
    for file in $found; do
      crashes+=("$target: $file"$'\n'"    reproduce: PATH=\"\$PWD/.tools/bin:\$PATH\" RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir fuzz $target $file")
    done
  else
    summary+=("$target: FAILED with status $status and no crash file (log $logs/$target.log)")
    crashes+=("$target: see $logs/$target.log")
  fi
  tail -n 3 "$logs/$target.log"
done

echo
echo "fuzz summary (FUZZ_SECONDS=$secs):"
printf '  %s\n' "${summary[@]}"
if [ "${#crashes[@]}" -gt 0 ]; then
  echo "crashes:"
  printf '  %s\n' "${crashes[@]}"
  echo "Fix the cause, then keep each crash as a regression case: cp FILE fuzz/seeds/TARGET/ (README \"Fuzzing\")."
  exit 1
fi
