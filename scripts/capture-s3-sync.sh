#!/usr/bin/env bash
# Re-captures cfinv/tests/fixtures/aws-s3/: what the real AWS CLI (awscli v1, pinned in
# tests/requirements.txt, installed into .venv by `make setup`) prints for `aws s3 sync`, `cp` and
# `mv`, byte for byte, with stdout sent to a file as in `aws s3 sync … > sync.log`. cfinv's reader of
# these lines (cfinv/src/input.rs) is tested on these files, not on lines typed by hand.
#
# The S3 it talks to is moto's, from the test support (tests/support/moto_aws.py), on 127.0.0.1.
# What the files must show, and why:
#   sync-upload.txt  progress lines ending in \r, and transfer lines padded with trailing spaces
#                    to the length of the progress line they overwrite: index.html, dir/index.html,
#                    a key with a space, a key ending in a space, a name containing " to ";
#   sync-delete.txt  `--delete`: delete: lines (no local side, so trailing spaces are ambiguous);
#   dryrun.txt       `--dryrun`, stdout and stderr together (2>&1): (dryrun) lines, which changed
#                    nothing, and a warning for a broken symlink;
#   download.txt     S3 to local: download: lines, which change nothing in S3;
#   copy.txt         bucket to bucket: copy: lines, one of a key holding " to s3://" (put there
#                    with s3api, as no local name can hold "//");
#   move-s3.txt      `mv` from S3 to S3: move: lines with an S3 source and destination;
#   move-local.txt   `mv` from S3 to a local folder whose name holds " to " and " s3:" (relpath
#                    makes the key's "s3://" "s3:/" there); the object is gone from S3 afterwards;
#   cp-recursive.txt `cp --recursive` of a folder: upload: lines, padded like sync's;
#   rm-recursive.txt `rm --recursive` of a bucket: delete: lines after file-count progress lines;
#   sync-delete-many.txt  `--delete` after page.html was removed from 20 sections (and each
#                    section's index.html changed): many padded delete: lines, each of which must
#                    give its exact key (no wildcard for the padding).
#   sync-delete-i18n.txt  `--delete` after pages with accented names (über, été, año, ação, öl)
#                    were removed from 5 sections (and each index.html changed): padded delete:
#                    lines longer in bytes than in characters, padded by the CLI in characters.
# Run: scripts/capture-s3-sync.sh   (then review `git diff --stat cfinv/tests/fixtures/aws-s3`)
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/aws ] || scripts/setup.sh
repo=$PWD
out=$repo/cfinv/tests/fixtures/aws-s3
mkdir -p "$out"
work=$(mktemp -d)

coproc MOTO { exec .venv/bin/python tests/support/moto_aws.py 2>/dev/null; }
moto_pid=$MOTO_PID
trap 'kill "$moto_pid" 2>/dev/null; rm -rf "$work"' EXIT
read -r ready <&"${MOTO[0]}"
endpoint=$(printf '%s' "$ready" | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["endpoint"])')

export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
aws() { "$repo/.venv/bin/aws" --endpoint-url "$endpoint" "$@"; }

cd "$work"
mkdir -p site/dir site/docs
# 64 KiB files, so that progress lines (and so padding) come between the transfer lines.
fill() { head -c 65536 /dev/zero | tr '\0' "$2" >"$1"; }
fill site/index.html a
fill site/dir/index.html b
fill "site/docs/a b.html" c
fill "site/docs/ends in space " d
fill "site/docs/x to y.html" e
fill site/old.html f
fill site/app.js g

aws s3 mb s3://my-site >/dev/null
aws s3 mb s3://my-copy >/dev/null
aws s3 mb s3://my-archive >/dev/null

aws s3 sync site/ s3://my-site/ >"$out/sync-upload.txt"

rm site/old.html "site/docs/ends in space "
fill site/index.html z
aws s3 sync site/ s3://my-site/ --delete >"$out/sync-delete.txt"

fill site/new.html h
ln -s missing site/broken-link
aws s3 sync site/ s3://my-site/ --delete --dryrun >"$out/dryrun.txt" 2>&1 || true
rm site/broken-link site/new.html

aws s3 sync s3://my-site/ down/ >"$out/download.txt"

aws s3api put-object --bucket my-site --key "docs/x to s3://my-site/y.html" --body site/app.js >/dev/null
aws s3 sync s3://my-site/ s3://my-copy/ >"$out/copy.txt"

aws s3 mv s3://my-copy/ s3://my-archive/ --recursive >"$out/move-s3.txt"

mkdir -p "local to s3:"
aws s3 mv s3://my-archive/docs/ "local to s3:/x to y/" --recursive >"$out/move-local.txt"

aws s3 mb s3://my-cp >/dev/null
aws s3 cp site/ s3://my-cp/ --recursive >"$out/cp-recursive.txt"
aws s3 rm s3://my-cp/ --recursive >"$out/rm-recursive.txt"

aws s3 mb s3://my-sections >/dev/null
mkdir -p sections
for i in $(seq 1 20); do
  mkdir -p "sections/sec$i"
  fill "sections/sec$i/index.html" i
  fill "sections/sec$i/page.html" p
done
aws s3 sync sections/ s3://my-sections/ >/dev/null
for i in $(seq 1 20); do
  rm "sections/sec$i/page.html"
  fill "sections/sec$i/index.html" j
done
aws s3 sync sections/ s3://my-sections/ --delete >"$out/sync-delete-many.txt"

aws s3 mb s3://my-i18n >/dev/null
mkdir -p i18n
for lang in de fr es pt sv; do
  mkdir -p "i18n/$lang"
  fill "i18n/$lang/index.html" i
  for name in über été año ação öl; do fill "i18n/$lang/$name.html" p; done
done
aws s3 sync i18n/ s3://my-i18n/ >/dev/null
for lang in de fr es pt sv; do
  rm i18n/$lang/*.html
  fill "i18n/$lang/index.html" j
done
aws s3 sync i18n/ s3://my-i18n/ --delete >"$out/sync-delete-i18n.txt"

cd "$repo"
ls -l "$out"
