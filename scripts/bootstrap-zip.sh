#!/usr/bin/env bash
# The Lambda without a toolchain: builds bootstrap-arm64.zip and bootstrap-x86_64.zip (the
# `bootstrap` binary alone, as `sam build` would package it) into target/bootstrap-zip/, with the
# command SAM's rust-cargolambda build method runs: `cargo lambda build --release`, here with
# `--output-format zip`. dist runs this as an extra artifact of each release (dist-workspace.toml),
# and `make dist` through it. cargo-lambda and its zig come from .venv, pinned in
# tests/requirements.txt; installed here when missing (the release workflow has no `make setup`).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/cargo-lambda ]; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check "$(grep '^cargo-lambda==' tests/requirements.txt)"
fi
export PATH="$PWD/.venv/bin:$PATH"
# The standard libraries of both targets (rustup downloads what is missing).
if command -v rustup >/dev/null; then
  rustup target add aarch64-unknown-linux-gnu x86_64-unknown-linux-gnu 2>&1 | grep -v "is up to date" || true
fi

out=target/bootstrap-zip
mkdir -p "$out"
for arch in arm64 x86_64; do
  flag=--$arch; [ "$arch" = x86_64 ] && flag=--x86-64
  echo "bootstrap-zip: cargo lambda build --release $flag --output-format zip"
  cargo lambda build --quiet --release "$flag" --bin cf-invalidator --output-format zip --lambda-dir "$out/$arch"
  cp "$out/$arch/cf-invalidator/bootstrap.zip" "$out/bootstrap-$arch.zip"
  echo "bootstrap-zip: $out/bootstrap-$arch.zip $(stat -c %s "$out/bootstrap-$arch.zip") bytes"
done
