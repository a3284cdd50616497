#!/usr/bin/env bash
# `make dist`: the release artifacts of Linux, built here as the release workflow builds them, then
# tests/dist.rs installs each into a clean directory and runs it against the moto stand-in.
#   target/distrib/   dist: cfinv-{x86_64,aarch64}-unknown-linux-musl.tar.xz (+ .sha256), the shell
#                     and PowerShell installers, bootstrap-{arm64,x86_64}.zip (scripts/bootstrap-zip.sh)
#   target/wheels/    maturin: the cf-invalidator wheel (cfinv only) for this machine
# macOS and Windows archives are built by the release workflow (.github/workflows/release.yml).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/dist-setup.sh
export PATH="$PWD/.tools/bin:$PWD/.venv/bin:$PATH"

t0=$(date +%s)
dist build --artifacts=all --target x86_64-unknown-linux-musl --target aarch64-unknown-linux-musl
t1=$(date +%s)
rm -rf target/wheels
maturin build --quiet --out target/wheels
t2=$(date +%s)
echo "dist: dist build $((t1 - t0)) s, maturin $((t2 - t1)) s"
ls -l target/distrib/*.tar.xz target/distrib/*.zip target/wheels/*.whl

CFINV_DIST_REQUIRED=1 cargo test --quiet --test dist -- --nocapture --test-threads 1
