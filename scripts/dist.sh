#!/usr/bin/env bash
# `make dist`: the release artifacts of Linux, built here as the release workflow builds them, then
# tests/artifacts/dist.rs installs each into a clean directory and runs it against the moto stand-in.
#   target/distrib/   dist: cfinv-{x86_64,aarch64}-unknown-linux-musl.tar.xz (+ .sha256), the shell
#                     installer, bootstrap-{arm64,x86_64}.zip (scripts/bootstrap-zip.sh)
#   target/wheels/    maturin: the cf-invalidator wheel (cfinv only) for this machine's architecture
# macOS and Windows archives are built by the release workflow (.github/workflows/release.yml).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/dist-setup.sh
export PATH="$PWD/.tools/bin:$PWD/.venv/bin:$PATH"

t0=$(date +%s)
dist build --artifacts=all --target x86_64-unknown-linux-musl --target aarch64-unknown-linux-musl
t1=$(date +%s)
# The wheel holds the same static binary as the archive: dist's musl build of cfinv, with dist's
# profile and RUSTFLAGS (so cargo reuses what dist compiled), tagged both manylinux and musllinux,
# as uv's wheels are, so one wheel installs on glibc and musl systems alike.
rm -rf target/wheels
RUSTFLAGS="-Ctarget-feature=+crt-static -Clink-self-contained=yes" \
  maturin build --quiet --profile dist --target "$(uname -m)-unknown-linux-musl" \
  --compatibility manylinux_2_17 musllinux_1_2 --out target/wheels
t2=$(date +%s)
echo "dist: dist build $((t1 - t0)) s, maturin $((t2 - t1)) s"
ls -l target/distrib/*.tar.xz target/distrib/*.zip target/wheels/*.whl

CFINV_DIST_REQUIRED=1 cargo test --quiet --test artifacts -- --nocapture --test-threads 1
