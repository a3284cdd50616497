#!/usr/bin/env bash
# Installs the project's local tools, all git-ignored, so that a fresh clone needs nothing by hand:
#   .venv/        moto (the CloudFront / Step Functions stand-in), cargo-lambda, cfn-lint, checkov, and
#                 awslambdaric for the Python baseline of `make compare` (PyPI)
#   node_modules/ asl-validator (npm), pinned in package.json
# Re-running is cheap: each part is redone only when its pins change.
set -euo pipefail
cd "$(dirname "$0")/.."

req=tests/requirements.txt
stamp=".venv/.installed-$(sha256sum "$req" | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "setup: installing Python tools into .venv ($req)"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r "$req"
  rm -f .venv/.installed-*
  touch "$stamp"
fi

if [ -f package.json ]; then
  stamp="node_modules/.installed-$(cat package.json package-lock.json 2>/dev/null | sha256sum | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    echo "setup: installing npm tools into node_modules (package.json)"
    if [ -f package-lock.json ]; then npm ci --silent --no-audit --no-fund; else npm install --silent --no-audit --no-fund; fi
    rm -f node_modules/.installed-*
    touch "$stamp"
  fi
fi
