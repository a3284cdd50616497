#!/usr/bin/env python3
"""`make compare`: cf-invalidator beside the usual Python boto3 invalidator, on the same machine,
the same Lambda Runtime API emulator (`cargo lambda watch --only-lambda-apis`) and the same
CloudFront stand-in (tests/support/moto_aws.py).

For each function it measures
  * start-up: process start to its first Runtime API poll (a bare listener stands in for the
    emulator, so only the function's own init is timed), median of --starts runs;
  * cold invoke: process start to the response of a one-record S3 event through the emulator,
    which includes the first CreateInvalidation call (TLS-free, to the local stand-in);
  * the 10,000-message SQS batch (~5.5 MB, `gen_events sqs 10000`): median invoke latency over
    --runs, the invalidations and paths it created, and the process's peak RSS (VmHWM) after.

Latencies include the emulator's and moto's own time, which are the same for both functions;
moto dominates with thousands of paths. Prints a Markdown table; nothing is asserted.
COMPARE_DEBUG=1 shows the functions' own output (their logs) instead of discarding it.
"""
import argparse
import contextlib
import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = REPO / ".venv" / "bin"
DIST = "EDFDVBD632BHDS5"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port, limit=60):
    start = time.monotonic()
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() - start > limit:
                sys.exit(f"compare: nothing listens on {port}")
            time.sleep(0.05)


class ContentTypeRelay(BaseHTTPRequestHandler):
    """Between both functions and the emulator: adds the `Content-Type` header Lambda always sends
    with an invocation and `cargo lambda watch` does not. awslambdaric's native client segfaults
    without it (4.2.2, 3.1.1 and 2.2.1 alike); the Rust runtime does not need it. Both functions
    go through the relay so that neither pays for it alone."""

    protocol_version = "HTTP/1.1"
    upstream = 0

    def log_message(self, *args):
        pass

    def relay(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        conn = http.client.HTTPConnection("127.0.0.1", self.upstream, timeout=900)
        conn.request(self.command, self.path, body=body,
                     headers={k: v for k, v in self.headers.items() if k.lower() != "host"})
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        self.send_response(resp.status)
        names = set()
        for k, v in resp.getheaders():
            if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(k, v)
                names.add(k.lower())
        if "content-type" not in names:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = relay


def start_relay(upstream):
    handler = type("Relay", (ContentTypeRelay,), {"upstream": upstream})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.handle_error = lambda request, address: None  # a killed function's dropped poll
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class Function:
    """How to start one implementation against a Runtime API at `api` (host:port[/prefix])."""

    def __init__(self, name, argv, env, scheme):
        # The Rust runtime takes the emulator's /.rt prefix only as a full URL; awslambdaric
        # prepends http:// itself, as Lambda's own host:port value expects.
        self.name, self.argv, self.env, self.scheme = name, argv, env, scheme

    def spawn(self, api, cloudfront, stdout=None if os.environ.get("COMPARE_DEBUG") else subprocess.DEVNULL):
        env = dict(os.environ)
        env.update(self.env)
        env.update({
            "AWS_LAMBDA_RUNTIME_API": self.scheme + api,
            "AWS_LAMBDA_FUNCTION_NAME": "_",
            "AWS_LAMBDA_FUNCTION_VERSION": "1",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",  # Lambda sets both; botocore reads only this one
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "DISTRIBUTION_ID": DIST,
            "CLOUDFRONT_ENDPOINT_URL": cloudfront,
            "METRICS_NAMESPACE": "",
        })
        return subprocess.Popen(self.argv, env=env, stdout=stdout, stderr=subprocess.STDOUT, cwd=REPO)


def startup_ms(fn, runs):
    """Process start to the first GET .../invocation/next, against a bare listener."""
    times = []
    for _ in range(runs):
        with socket.socket() as srv:
            srv.bind(("127.0.0.1", 0))
            srv.listen(1)
            port = srv.getsockname()[1]
            srv.settimeout(INVOKE_TIMEOUT[0])
            t0 = time.perf_counter()
            with running(fn, f"127.0.0.1:{port}", "http://127.0.0.1:1"):
                conn, _ = srv.accept()
                conn.recv(4096)
                times.append((time.perf_counter() - t0) * 1000)
                conn.close()
    return statistics.median(times)


INVOKE_TIMEOUT = [300.0]


def invoke(port, payload):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=INVOKE_TIMEOUT[0])
    t0 = time.perf_counter()
    conn.request("POST", "/2015-03-31/functions/_/invocations", body=payload,
                 headers={"Content-Type": "application/json"})
    try:
        resp = conn.getresponse()
    except TimeoutError:
        sys.exit(f"compare: no answer within {INVOKE_TIMEOUT[0]:g} s (did the function fail to start?)")
    body = resp.read()
    elapsed = (time.perf_counter() - t0) * 1000
    conn.close()
    if resp.status != 200 or b'"errorType"' in body[:200]:
        sys.exit(f"compare: invoke failed ({resp.status}): {body[:500]!r}")
    return elapsed, json.loads(body)


def peak_rss_mb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def invalidations(moto):
    """Every invalidation on the stand-in's distribution: id -> number of paths."""
    import boto3  # the venv's, as moto's dependency

    cf = boto3.client("cloudfront", endpoint_url=moto["endpoint"], region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test")
    ids = [i["Id"] for page in cf.get_paginator("list_invalidations").paginate(DistributionId=DIST)
           for i in page["InvalidationList"].get("Items", [])]
    return {i: cf.get_invalidation(DistributionId=DIST, Id=i)["Invalidation"]["InvalidationBatch"]["Paths"]["Quantity"]
            for i in ids}


def progress(fn, what):
    print(f"compare: {fn.name}: {what}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def lambda_service():
    """A fresh emulator and relay: (port to invoke on, AWS_LAMBDA_RUNTIME_API without scheme).
    Fresh each time, because a killed function's pending poll would swallow the next invoke."""
    port = free_port()
    emulator = subprocess.Popen(
        [str(VENV_BIN / "cargo-lambda"), "lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1", "-P", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)
    relay = None
    try:
        wait_for(port)
        relay = start_relay(port)
        yield port, f"127.0.0.1:{relay.server_address[1]}/.rt"
    finally:
        if relay:
            relay.shutdown()
            relay.server_close()
        emulator.kill()
        emulator.wait()


@contextlib.contextmanager
def running(fn, api, cloudfront):
    """The function's process, stopped however the block ends."""
    proc = fn.spawn(api, cloudfront)
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def measure(fn, args, moto, batch, small):
    progress(fn, "start-up")
    row = {"startup": startup_ms(fn, args.starts)}

    progress(fn, "cold invokes")
    cold = []
    for _ in range(args.colds):
        with lambda_service() as (port, api):
            t0 = time.perf_counter()
            with running(fn, api, moto["endpoint"]):
                invoke(port, small)
                cold.append((time.perf_counter() - t0) * 1000)
    row["cold"] = statistics.median(cold)

    progress(fn, f"{args.runs} batch invokes")
    with lambda_service() as (port, api), running(fn, api, moto["endpoint"]) as proc:
        before = invalidations(moto)
        latencies = []
        for i in range(args.runs):
            # A different batch each run (new sequencers), as fresh traffic would be.
            payload = batch.replace(b"0062E99A88DC", f"00{i:04d}9A88DC".encode())
            ms, _ = invoke(port, payload)
            latencies.append(ms)
        row["batch"] = statistics.median(latencies)
        row["rss"] = peak_rss_mb(proc.pid)
        new = {i: n for i, n in invalidations(moto).items() if i not in before}
        row["creates"] = len(new) / args.runs
        row["paths"] = sum(new.values()) / args.runs
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--starts", type=int, default=15, help="start-up samples per function")
    ap.add_argument("--colds", type=int, default=5, help="cold invokes per function")
    ap.add_argument("--runs", type=int, default=5, help="batch invokes per function")
    ap.add_argument("--messages", type=int, default=10_000, help="SQS messages in the batch")
    ap.add_argument("--binary", type=Path, default=REPO / "target" / "release" / "cf-invalidator",
                    help="the cf-invalidator binary to measure")
    ap.add_argument("--gen-events", type=Path, default=REPO / "target" / "release" / "gen_events",
                    help="the gen_events binary (package cf-invalidator-bench), which writes the batch")
    ap.add_argument("--batch", type=Path, help="an SQS batch file to use instead of running gen_events")
    ap.add_argument("--timeout", type=float, default=300,
                    help="seconds to wait for one invoke (a function that fails to initialise never answers)")
    args = ap.parse_args()
    INVOKE_TIMEOUT[0] = args.timeout

    binary, gen = args.binary, args.gen_events
    for p in (binary,) if args.batch else (binary, gen):
        if not p.exists():
            sys.exit(f"compare: {p} is missing; run `make compare`, which builds it")
    if args.batch:
        batch = args.batch.read_bytes()
    else:
        batch = subprocess.run([str(gen), "sqs", str(args.messages)], check=True, capture_output=True).stdout
    small = (REPO / "events" / "s3-put.json").read_bytes()

    moto_proc = subprocess.Popen([str(VENV_BIN / "python"), str(REPO / "tests/support/moto_aws.py"),
                                  "--distribution-ids", DIST, "--serve-forever"],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=REPO)
    try:
        moto = json.loads(moto_proc.stdout.readline())
        functions = [
            Function(f"cf-invalidator (Rust, {binary.parent.name})", [str(binary)], {}, "http://"),
            Function("python boto3 (awslambdaric)",
                     [str(VENV_BIN / "python"), "-m", "awslambdaric", "invalidator.handler"],
                     {"PYTHONPATH": str(REPO / "benches" / "python")}, ""),
        ]
        rows = [(fn.name, measure(fn, args, moto, batch, small)) for fn in functions]
    finally:
        moto_proc.kill()
        moto_proc.wait()

    messages = batch.count(b'"messageId"')
    print(f"\n{messages:,}-message SQS batch: {len(batch) / 1e6:.1f} MB; medians; "
          f"{os.cpu_count()} CPUs ({os.uname().machine})\n")
    print("| function | start to first poll | cold invoke (1 record) | batch invoke | "
          "invalidations per batch | paths per batch | peak RSS |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, r in rows:
        print(f"| {name} | {r['startup']:.0f} ms | {r['cold']:.0f} ms | {r['batch']:.0f} ms | "
              f"{r['creates']:g} | {r['paths']:,.0f} | {r['rss']:.0f} MB |")


if __name__ == "__main__":
    main()
