#!/usr/bin/env bash
# The GitHub Action's whole run (action.yml calls only this), so tests/artifacts/dist.rs runs exactly what a
# workflow runs: install cfinv, run `cfinv invalidate --json` with the inputs, write the outputs.
#
# Inputs, as action.yml passes them (empty = not given):
#   INPUT_DISTRIBUTION_ID  --distribution-id (else DISTRIBUTION_ID / ROUTES from the environment)
#   INPUT_FROM             --from FILE (`-` is standard input; `aws s3 sync` output or keys)
#   INPUT_KEYS             keys, one a line (or separated by spaces when there is one line)
#   INPUT_CALLER_REFERENCE --caller-reference (e.g. the commit SHA)
#   INPUT_WAIT             "true": --wait until Completed
#   INPUT_TIMEOUT          --timeout seconds (60-3600)
#   INPUT_INTERVAL         --interval seconds between polls
#   INPUT_INSTALL          how to get cfinv: "release" (default: the installer of the GitHub
#                          release), "pip" (pip install cf-invalidator), "none" (cfinv on PATH)
#   INPUT_VERSION          cfinv's version: "latest" (default) or e.g. 0.1.0
# CFINV_REPOSITORY is owner/name of the repository whose releases hold cfinv; CFINV_RELEASE_URL overrides where the release's files are read from (the tests point it at a
# local `dist build` output: file:///…/target/distrib).
#
# Outputs (to $GITHUB_OUTPUT): invalidation-ids (space-separated), outcome (completed, submitted,
# nothing_to_invalidate, failed, timed_out), exit-code, result (ok, error, usage, timeout), json.
# The step ends with cfinv's exit status, so a failed or timed-out invalidation fails the job.
set -uo pipefail

# The action's own repository (action.yml passes github.action_repository); its releases hold cfinv.
REPO_URL=https://github.com/${CFINV_REPOSITORY:-cf-invalidator/cf-invalidator}
out=${GITHUB_OUTPUT:-/dev/null}
tmp=${RUNNER_TEMP:-${TMPDIR:-/tmp}}
version=${INPUT_VERSION:-latest}
[ -n "$version" ] || version=latest

install_release() {
  local base=${CFINV_RELEASE_URL:-}
  if [ -z "$base" ]; then
    if [ "$version" = latest ]; then base="$REPO_URL/releases/latest/download"
    else base="$REPO_URL/releases/download/v${version#v}"; fi
  fi
  local dir="$tmp/cfinv-bin"
  mkdir -p "$dir"
  echo "::group::install cfinv ($version) from $base"
  # dist's installer: the archive for this platform, checked against its sha256, into $dir.
  curl --proto '=https,file' -fsSL "$base/cfinv-installer.sh" \
    | CFINV_DOWNLOAD_URL="$base" CFINV_UNMANAGED_INSTALL="$dir" sh -s -- --quiet || return 1
  echo "::endgroup::"
  export PATH="$dir:$PATH"
  [ -n "${GITHUB_PATH:-}" ] && echo "$dir" >> "$GITHUB_PATH"
  return 0
}

install_pip() {
  local spec=cf-invalidator
  [ "$version" = latest ] || spec="cf-invalidator==${version#v}"
  local venv="$tmp/cfinv-venv"
  echo "::group::install $spec from PyPI"
  python3 -m venv "$venv" && "$venv/bin/pip" install --quiet --disable-pip-version-check ${CFINV_PIP_ARGS:-} "$spec" || return 1
  echo "::endgroup::"
  export PATH="$venv/bin:$PATH"
  [ -n "${GITHUB_PATH:-}" ] && echo "$venv/bin" >> "$GITHUB_PATH"
  return 0
}

finish() { # exit-code outcome ids json
  local result
  case $1 in 0) result=ok ;; 2) result=usage ;; 3) result=timeout ;; *) result=error ;; esac
  {
    echo "exit-code=$1"
    echo "result=$result"
    echo "outcome=$2"
    echo "invalidation-ids=$3"
    echo "json<<CFINV_JSON_END"
    echo "${4:-{\}}"
    echo "CFINV_JSON_END"
  } >> "$out"
  exit "$1"
}

case ${INPUT_INSTALL:-release} in
  release|"") install_release || { echo "::error::could not install cfinv from the release"; finish 1 failed ""; } ;;
  pip) install_pip || { echo "::error::could not pip install cf-invalidator"; finish 1 failed ""; } ;;
  none) ;;
  *) echo "::error::install must be release, pip or none, not '$INPUT_INSTALL'"; finish 2 failed "" ;;
esac
command -v cfinv >/dev/null || { echo "::error::cfinv is not on PATH"; finish 1 failed ""; }
cfinv --version

args=(invalidate --json)
[ -n "${INPUT_DISTRIBUTION_ID:-}" ] && args+=(--distribution-id "$INPUT_DISTRIBUTION_ID")
[ -n "${INPUT_FROM:-}" ] && args+=(--from "$INPUT_FROM")
[ -n "${INPUT_CALLER_REFERENCE:-}" ] && args+=(--caller-reference "$INPUT_CALLER_REFERENCE")
case ${INPUT_WAIT:-false} in true|TRUE|True|yes|1) args+=(--wait) ;; esac
[ -n "${INPUT_TIMEOUT:-}" ] && args+=(--timeout "$INPUT_TIMEOUT")
[ -n "${INPUT_INTERVAL:-}" ] && args+=(--interval "$INPUT_INTERVAL")
keys=()
if [ -n "${INPUT_KEYS:-}" ]; then
  if [ "$(printf '%s\n' "$INPUT_KEYS" | grep -c .)" -gt 1 ]; then
    mapfile -t keys < <(printf '%s\n' "$INPUT_KEYS" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//' | grep .)
  else
    read -r -a keys <<< "$INPUT_KEYS"
  fi
fi

json=$(cfinv "${args[@]}" -- "${keys[@]}")
code=$?
echo "$json"
outcome=$(printf '%s\n' "$json" | sed -n 's/^  "outcome": "\([a-z_]*\)".*/\1/p' | head -n 1)
ids=$(printf '%s\n' "$json" | sed -n 's/.*"invalidation_id": "\([^"]*\)".*/\1/p' | tr '\n' ' ' | sed 's/ $//')
[ -n "$outcome" ] || outcome=failed # a usage error (exit 2) prints no JSON
finish "$code" "$outcome" "$ids" "$json"
