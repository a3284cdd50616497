#!/usr/bin/env bash
# Every test, in one cargo build profile (dev): `make lint` (rustfmt, clippy -D warnings), unit and
# property tests, integration tests that start their own moto server and `cargo lambda watch`, the
# Step Functions executions, and the static checks (asl-validator, cfn-lint), which run as cargo
# tests too. Ends with one total line.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# make lint first: formatting and clippy warnings fail the suite like a failing test.
lint=0
cargo fmt --check || lint=1
cargo clippy --workspace --all-targets --quiet -- -D warnings || lint=1
cargo test --workspace --all-targets --no-fail-fast 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
[ "$lint" -eq 0 ] || { echo "lint failed (cargo fmt --check, cargo clippy -D warnings)"; status=1; }
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "\ntotal: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
