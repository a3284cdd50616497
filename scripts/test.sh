#!/usr/bin/env bash
# Every test, in one cargo build profile (dev): unit and property tests, integration tests that start
# their own moto server and `cargo lambda watch`, then the template and state machine checks.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"

echo "==> cargo test"
cargo test --all-targets --no-fail-fast 2>&1

echo "==> cfn-lint template.yaml"
cfn-lint template.yaml
echo "cfn-lint: template.yaml clean"
