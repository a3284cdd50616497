#!/usr/bin/env bash
# Every test, in one cargo build profile (dev): unit and property tests, integration tests that start
# their own moto server and `cargo lambda watch`, the Step Functions executions, and the static
# checks (asl-validator, cfn-lint), which run as cargo tests too.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
exec cargo test --all-targets --no-fail-fast
