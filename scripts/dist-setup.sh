#!/usr/bin/env bash
# Installs what `make dist` needs on top of `make setup`, pinned, all git-ignored, so a fresh clone
# needs nothing by hand:
#   .tools/bin/   dist (cargo-dist), built from its crates.io sources once (several minutes)
#   .venv/        maturin and cargo-zigbuild, beside cargo-lambda and its zig from `make setup`
#   rustup        the Rust standard libraries of the musl targets (dist would add them itself; the
#                 gnu ones for the bootstrap zips are added by scripts/bootstrap-zip.sh)
#   musl-gcc      Debian's musl-tools: the C compiler for aws-lc's C code in the x86_64 musl build
#                 (the release workflow that dist generates installs it the same way)
# Re-running is cheap: each part is redone only when its pin changes. `make test` does not run it.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_DIST_VERSION=0.34.0
# Python packages: maturin (the wheel) and cargo-zigbuild (dist's linker for aarch64 Linux), both
# wheels that carry their binaries; zig itself comes with cargo-lambda (ziglang) from `make setup`.
PY_PINS=(maturin==1.16.0 cargo-zigbuild==0.24.1)

scripts/setup.sh

rustup target add x86_64-unknown-linux-musl aarch64-unknown-linux-musl 2>&1 | grep -v "is up to date" || true

if ! command -v musl-gcc >/dev/null; then
  echo "dist-setup: installing Debian's musl-tools (musl-gcc)"
  command -v apt-get >/dev/null || { echo "dist-setup: musl-gcc is missing: install musl-tools" >&2; exit 1; }
  sudo=; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get install -y -qq musl-tools >/dev/null || { $sudo apt-get update -qq && $sudo apt-get install -y -qq musl-tools >/dev/null; }
fi

install_crate() { # crate version binary
  local stamp=".tools/.installed-$1-$2"
  if [ ! -f "$stamp" ] || [ ! -x ".tools/bin/$3" ]; then
    echo "dist-setup: building $1 $2 into .tools (once; a few minutes)"
    cargo install --quiet --locked --root .tools "$1@$2"
    rm -f .tools/.installed-"$1"-*
    touch "$stamp"
  fi
}
install_crate cargo-dist "$CARGO_DIST_VERSION" dist

stamp=".venv/.dist-$(echo "${PY_PINS[*]}" | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "dist-setup: installing ${PY_PINS[*]} into .venv"
  .venv/bin/pip install --quiet --disable-pip-version-check "${PY_PINS[@]}"
  rm -f .venv/.dist-*
  touch "$stamp"
fi
