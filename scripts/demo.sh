#!/usr/bin/env bash
# The main job, locally and offline: the real Lambda binary, served by `cargo lambda watch` (a
# Lambda Runtime API emulator), handles every sample event in events/ against a local CloudFront
# (moto, on 127.0.0.1), then the invalidations it created are read back from that CloudFront.
# `make demo` installs the tools first (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"

DIST=EDFDVBD632BHDS5   # the distribution the sample events name; the stand-in creates it
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 600); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.2; done; echo "nothing listens on $1" >&2; return 1; }

echo "==> building the Lambda binary and cfinv"
cargo build --workspace --bins --quiet

echo "==> starting the local CloudFront (moto) on 127.0.0.1"
.venv/bin/python tests/support/moto_aws.py --distribution-ids "$DIST" --serve-forever >"$work/moto.json" 2>"$work/moto.log" &
pids+=($!)
for _ in $(seq 1 300); do [ -s "$work/moto.json" ] && break; sleep 0.1; done
endpoint=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["endpoint"])' "$work/moto.json")
echo "    CloudFront endpoint $endpoint, distribution $DIST"

port=$(free_port)
echo "==> starting the Lambda under cargo lambda watch on 127.0.0.1:$port"
cargo lambda watch --ignore-changes --quiet -A 127.0.0.1 -P "$port" \
  --env-var "DISTRIBUTION_ID=$DIST" \
  --env-var "AWS_ENDPOINT_URL_CLOUDFRONT=$endpoint" \
  --env-var AWS_ACCESS_KEY_ID=local --env-var AWS_SECRET_ACCESS_KEY=local \
  >"$work/lambda.log" 2>&1 &
pids+=($!)
wait_port "$port"

for ev in events/*.json; do
  printf '\n--- %s\n' "$ev"
  cargo lambda invoke cf-invalidator -A 127.0.0.1 -P "$port" --data-file "$ev" 2>&1 \
    | python3 -c '
import json, sys
raw = sys.stdin.read()
try:
    r = json.loads(raw[raw.index("{"):])
except ValueError:
    print("   ", raw.strip()); sys.exit()
if "batchItemFailures" in r:
    print("    SQS response: %d message(s) to redeliver" % len(r["batchItemFailures"]))
elif "errorType" in r:
    print("    error %s: %s" % (r["errorType"], r.get("errorMessage", "")))
else:
    for i in r.get("invalidations", []):
        print("    created %s (%s), %d path(s), caller reference %s" % (i["invalidation_id"], i["status"], i["path_count"], i["caller_reference"]))
    if not r.get("invalidations"):
        print("    nothing to invalidate (%s)" % r.get("outcome"))
'
done

printf '\n==> invalidations on %s, read back from the local CloudFront\n' "$DIST"
AWS_ENDPOINT_URL_CLOUDFRONT="$endpoint" AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local target/debug/cfinv list "$DIST"

printf '\n==> the function'"'"'s summary log lines\n'
sed 's/\x1b\[[0-9;]*m//g' "$work/lambda.log" | grep -a 'invocation summary' | sed 's/^.*}: //' || true
