#!/usr/bin/env bash
# Binary size and start-up cost of build choices (TLS stack, release profile) for the Lambda binary.
#
#   benches/size.sh build VARIANT...      # builds each variant for arm64 and x86_64, prints sizes
#   benches/size.sh starts [N] VARIANT... # start to first Runtime API poll of the x86_64 builds
#   benches/size.sh bench VARIANT...      # `cargo bench -p cf-invalidator-bench --bench throughput -- plan` per variant
#   benches/size.sh rebench [R] VARIANT...  # those bench executables again, R interleaved rounds
#   benches/size.sh tls VARIANT...        # the x86_64 build's HTTPS client against a local TLS server
#   benches/size.sh list                  # the variants ("head": the profile Cargo.toml commits)
#
# Each variant builds in a copy of the committed tree (`git archive HEAD`) whose [profile.*] tables
# are replaced by the variant's own, so a variant means the same thing whatever Cargo.toml commits
# as its profile; TLS variants also edit the dependency lines (and `ring` the client's source).
# Sizes are of the stripped binaries exactly as shipped:
#   arm64:  `cargo lambda build --release --arm64 --bin cf-invalidator` (what SAM runs; it fills
#           in the release settings a profile leaves unset with its own, panic = "abort" among
#           them, so every variant here writes panic out), target/lambda/cf-invalidator/bootstrap
#   x86_64: `cargo build --release --bin cf-invalidator`
# Start-up uses benches/compare.py's own measure (process start to the first
# GET .../invocation/next on a bare listener), one start of each variant per round, rounds
# interleaved so that the shared machine's load falls on every variant alike; medians. With
# `perf` on the machine it also gives each start's CPU time, which that load hardly moves.
#
# SIZE_WORK (default /work/size-work) holds the copies and target dirs, one per TLS choice and
# architecture (profiles share them: Cargo keys artefacts by profile), and out/VARIANT-ARCH.
# SIZE_ARCHS (default "arm64 x86_64") limits the architectures built; two runs, one per
# architecture, may build side by side. A copy is made anew when HEAD moves.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=${SIZE_WORK:-/work/size-work}
ARCHS=${SIZE_ARCHS:-arm64 x86_64}
mkdir -p "$WORK/out"

# profile text for [profile.release] per variant (benches inherit it as `bench` does)
profile() {
    [ "$1" = head ] && return 0  # the profile Cargo.toml commits, as it is
    local opt=3 lto='"fat"' cgu=1 panic='"unwind"' extra=""
    case "$1" in
        base|awslc|ring|legacy) ;;  # opt-level 3, fat LTO, 1 CGU, stripped, unwind: the baseline
        thin) lto='"thin"' ;;
        cgu16) cgu=16 ;;
        abort) panic='"abort"' ;;
        s|ring-s) opt='"s"' ;;
        z|ring-z) opt='"z"' ;;
        z-abort) opt='"z"'; panic='"abort"' ;;
        s-thin) opt='"s"'; lto='"thin"' ;;
        z-thin) opt='"z"'; lto='"thin"' ;;
        z-own3|ring-z-own3) opt='"z"'; extra=$'\n[profile.release.package.cf-invalidator]\nopt-level = 3\n' ;;
        s-own3) opt='"s"'; extra=$'\n[profile.release.package.cf-invalidator]\nopt-level = 3\n' ;;
        # z, but opt-level 3 for this crate (the planner) and for what start-up runs hottest: the
        # SDK's HTTPS client parses the native root certificates (PEM, base64) when it is built, at init
        # z, but opt-level 3 for the root-certificate parsing alone (this crate stays z: under fat LTO
        # the final crate's opt-level drives the whole merged program, so a 3 here undoes z everywhere)
        z-certs3|ring-z-certs3) opt='"z"'
            extra=$'\n[profile.release.package.rustls-pki-types]\nopt-level = 3\n'
            extra+=$'\n[profile.release.package.rustls-native-certs]\nopt-level = 3\n' ;;
        s-certs3) opt='"s"'
            extra=$'\n[profile.release.package.rustls-pki-types]\nopt-level = 3\n'
            extra+=$'\n[profile.release.package.rustls-native-certs]\nopt-level = 3\n' ;;
        # this crate at s (it drives the LTO pipeline: the planner), every dependency at z, the
        # root-certificate parsing at 3
        sz|ring-sz) opt='"s"'
            extra=$'\n[profile.release.package."*"]\nopt-level = "z"\n'
            extra+=$'\n[profile.release.package.rustls-pki-types]\nopt-level = 3\n'
            extra+=$'\n[profile.release.package.rustls-native-certs]\nopt-level = 3\n' ;;
        # sz, and opt-level 3 for the dependencies intake and the planner run per key: serde_json,
        # percent-encoding, xxhash-rust, memchr
        sz-hot|ring-sz-hot) opt='"s"'
            extra=$'\n[profile.release.package."*"]\nopt-level = "z"\n'
            for p in rustls-pki-types rustls-native-certs serde_json percent-encoding xxhash-rust memchr; do
                extra+=$'\n[profile.release.package.'"$p"$']\nopt-level = 3\n'
            done ;;
        z-hot|ring-z-hot) opt='"z"'; extra=$'\n[profile.release.package.cf-invalidator]\nopt-level = 3\n'
            extra+=$'\n[profile.release.package.rustls-pki-types]\nopt-level = 3\n'
            extra+=$'\n[profile.release.package.rustls-native-certs]\nopt-level = 3\n' ;;
        *) echo "size.sh: unknown variant $1 (see: size.sh list)" >&2; exit 2 ;;
    esac
    printf '[profile.release]\nopt-level = %s\nlto = %s\ncodegen-units = %s\nstrip = true\npanic = %s\n%s' \
        "$opt" "$lto" "$cgu" "$panic" "$extra"
}

# the TLS stack a variant builds with: awslc (the SDK's default-https-client: hyper 1.x, rustls,
# aws-lc-rs), ring (the same hyper 1.x client with rustls' ring provider, chosen in code), legacy
# (the SDK's deprecated hyper 0.14 client: rustls 0.21 with ring)
tls() {
    case "$1" in
        ring*) echo ring ;;
        legacy) echo legacy ;;
        *) echo awslc ;;
    esac
}

# a fresh copy of HEAD for one TLS choice, dependency lines edited; its [profile.*] tables removed
prepare() { # tls arch
    local tls=$1 dir="$WORK/src-$1-$2"
    rm -rf "$dir" && mkdir -p "$dir"
    git -C "$REPO" archive HEAD | tar -x -C "$dir"
    git -C "$REPO" rev-parse HEAD > "$dir/.rev"
    ln -s "$REPO/.venv" "$dir/.venv"
    # drop every [profile...] table (to the next non-profile header)
    awk '/^\[/{skip = ($0 ~ /^\[profile/)} !skip' "$dir/Cargo.toml" > "$dir/Cargo.toml.new"
    mv "$dir/Cargo.toml.new" "$dir/Cargo.toml"
    case "$tls" in
        awslc) ;;
        legacy)
            sed -i -E '/^aws-(config|sdk-[a-z]+) = /s/"default-https-client"/"legacy-client"/' "$dir/Cargo.toml"
            # aws-config calls it legacy-client, the service crates legacy-https-client
            sed -i -E '/^aws-sdk-[a-z]+ = /s/"legacy-client"/"legacy-https-client"/' "$dir/Cargo.toml"
            ;;
        ring)
            sed -i -E '/^aws-(config|sdk-[a-z]+) = /s/"default-https-client", //' "$dir/Cargo.toml"
            sed -i -E '/^aws-config = /a aws-smithy-http-client = { version = "1.5", default-features = false, features = ["rustls-ring"] }' "$dir/Cargo.toml"
            # the SDK has no HTTP client of its own then: give the loader one (native roots, as the
            # default client has)
            python3 - "$dir/src/cloudfront/sdk.rs" <<'EOF'
import sys
p = sys.argv[1]
s = open(p).read()
old = "            .timeout_config(timeouts());\n"
new = ("            .timeout_config(timeouts())\n"
       "            .http_client(\n"
       "                aws_smithy_http_client::Builder::new()\n"
       "                    .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(\n"
       "                        aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,\n"
       "                    ))\n"
       "                    .build_https(),\n"
       "            );\n")
assert s.count(old) == 1, "sdk.rs: loader not found"
open(p, "w").write(s.replace(old, new))
EOF
            ;;
    esac
}

with_profile() { # variant arch -> the source dir, its Cargo.toml ending with the variant's profile
    local v=$1 dir="$WORK/src-$(tls "$1")-$2"
    # anew when HEAD moved, or when a full disk left the manifest cut short
    if [ "$(cat "$dir/.rev" 2>/dev/null)" != "$(git -C "$REPO" rev-parse HEAD)" ] \
        || ! grep -q '^\[package\]' "$dir/Cargo.toml" 2>/dev/null; then
        prepare "$(tls "$v")" "$2"
    fi
    if [ "$v" = head ]; then
        git -C "$REPO" show HEAD:Cargo.toml > "$dir/Cargo.toml"
    else
        awk '/^\[/{skip = ($0 ~ /^\[profile/)} !skip' "$dir/Cargo.toml" > "$dir/Cargo.toml.new"
        { cat "$dir/Cargo.toml.new"; echo; profile "$v"; } > "$dir/Cargo.toml"
        rm "$dir/Cargo.toml.new"
    fi
    echo "$dir"
}

size_of() { stat -c %s "$1"; }

report() { # file
    local b; b=$(size_of "$1")
    awk -v b="$b" -v f="$1" 'BEGIN { printf "%-45s %10d B  %5.2f MB  %5.2f MiB\n", f, b, b / 1e6, b / 1048576 }'
}

build() {
    local v dir tls
    for v in "$@"; do
        profile "$v" > /dev/null
        tls=$(tls "$v")
        for arch in $ARCHS; do
            dir=$(with_profile "$v" "$arch")
            local t0=$SECONDS log="$WORK/out/$v-$arch.log"
            echo "size.sh: $v $arch ..." >&2
            if [ "$arch" = arm64 ]; then
                (cd "$dir" && PATH="$REPO/.venv/bin:$PATH" CARGO_TARGET_DIR="$WORK/target-$tls-arm64" \
                    cargo lambda build --release --arm64 --bin cf-invalidator) > "$log" 2>&1 \
                    || { tail -30 "$log" >&2; exit 1; }
                cp "$WORK/target-$tls-arm64/lambda/cf-invalidator/bootstrap" "$WORK/out/$v-arm64"
            else
                (cd "$dir" && CARGO_TARGET_DIR="$WORK/target-$tls-x86_64" \
                    cargo build --release --bin cf-invalidator) > "$log" 2>&1 \
                    || { tail -30 "$log" >&2; exit 1; }
                cp "$WORK/target-$tls-x86_64/release/cf-invalidator" "$WORK/out/$v-x86_64"
            fi
            echo "size.sh: $v $arch built in $((SECONDS - t0)) s" >&2
            report "$WORK/out/$v-$arch"
        done
    done
}

starts() {
    local n=21
    if [[ "${1:-}" =~ ^[0-9]+$ ]]; then n=$1; shift; fi
    local bins=()
    for v in "$@"; do
        [ -x "$WORK/out/$v-x86_64" ] || { echo "size.sh: build $v first" >&2; exit 1; }
        bins+=("$v=$WORK/out/$v-x86_64")
    done
    "$REPO/.venv/bin/python" - "$n" "${bins[@]}" <<'EOF'
import os, statistics, subprocess, sys
sys.path.insert(0, os.path.join(os.environ.get("REPO_DIR", "."), "benches"))
import compare
n, pairs = int(sys.argv[1]), [a.split("=", 1) for a in sys.argv[2:]]
fns = [(name, compare.Function(name, [path], {}, "http://")) for name, path in pairs]
for _, fn in fns:  # one unmeasured start each: page cache, and the loader's first look
    compare.startup_ms(fn, 1)
times = {name: [] for name, _ in fns}
for _ in range(n):
    for name, fn in fns:
        times[name].append(compare.startup_ms(fn, 1))


def cpu_ms(fn):
    """CPU time (task-clock) the process spends up to its first poll, by `perf stat`: unlike the
    wall time, the shared machine's load hardly moves it. The function is ended by SIGTERM once it
    polls, so perf reports; it then idles in the poll, so the figure is its init."""
    import signal, socket, subprocess, tempfile, time
    with socket.socket() as srv, tempfile.NamedTemporaryFile("r", suffix=".perf") as out:
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        srv.settimeout(60)
        wrapped = compare.Function(fn.name, ["perf", "stat", "-x,", "-o", out.name, "-e", "task-clock", "--"] + fn.argv,
                                   fn.env, fn.scheme)
        proc = wrapped.spawn(f"127.0.0.1:{srv.getsockname()[1]}", "http://127.0.0.1:1")
        conn, _ = srv.accept()
        conn.recv(4096)
        children = open(f"/proc/{proc.pid}/task/{proc.pid}/children").read().split()
        os.kill(int(children[0]), signal.SIGTERM)
        proc.wait()
        conn.close()
        for line in open(out.name):
            if "task-clock" in line:
                return float(line.split(",")[0])
    raise SystemExit("size.sh: perf stat gave no task-clock")


cpu = {name: [] for name, _ in fns}
have_perf = subprocess.run(["perf", "stat", "-e", "task-clock", "true"], capture_output=True).returncode == 0 \
    if __import__("shutil").which("perf") else False
if have_perf:
    for _ in range(n):
        for name, fn in fns:
            cpu[name].append(cpu_ms(fn))


def row(name, t):
    q = statistics.quantiles(t, n=4)
    return f"| {name} | {statistics.median(t):.1f} | {min(t):.1f} | {q[0]:.1f} | {q[2]:.1f} | {max(t):.1f} |"


print(f"\nstart to first Runtime API poll, {n} starts each, interleaved; wall ms (compare.py's measure)")
print("| variant | median | min | p25 | p75 | max |")
print("|---|---:|---:|---:|---:|---:|")
for name, t in times.items():
    print(row(name, t))
if have_perf:
    print(f"\nCPU time (perf stat task-clock) of the same start, {n} starts each; ms")
    print("| variant | median | min | p25 | p75 | max |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, t in cpu.items():
        print(row(name, t))
EOF
}

bench() {
    local v dir tls
    for v in "$@"; do
        tls=$(tls "$v")
        dir=$(with_profile "$v" x86_64)
        echo "size.sh: bench $v ..." >&2
        (cd "$dir" && CARGO_TARGET_DIR="$WORK/target-$tls-x86_64" \
            cargo bench -p cf-invalidator-bench --bench throughput -- plan) 2>&1 | tee "$WORK/out/$v-bench.log" | grep -E '^planner|time:'
    done
}

# Does the binary's HTTPS client still work? A local TLS server (its own CA, given to the client
# by SSL_CERT_FILE, which the native-roots loader honours) stands in for CloudFront; a local
# Runtime API hands the function one S3 event. Passes when the server reads the function's
# CreateInvalidation request through TLS, and the same binary refuses the server when the CA is
# not trusted (so certificates are checked).
tls_check() {
    local bins=()
    for v in "$@"; do
        [ -x "$WORK/out/$v-x86_64" ] || { echo "size.sh: build $v first" >&2; exit 1; }
        bins+=("$v=$WORK/out/$v-x86_64")
    done
    local d="$WORK/tls"
    mkdir -p "$d/no-certs"
    if [ ! -f "$d/server.pem" ]; then
        openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=size.sh test CA" \
            -keyout "$d/ca.key" -out "$d/ca.pem" 2> /dev/null
        openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$d/server.key" -out "$d/server.csr" 2> /dev/null
        printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > "$d/ext.cnf"
        openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -days 30 \
            -extfile "$d/ext.cnf" -out "$d/server.pem" 2> /dev/null
    fi
    "$REPO/.venv/bin/python" - "$d" "$REPO/events/s3-put.json" "${bins[@]}" <<'EOF'
import json, os, ssl, subprocess, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

d, event, pairs = sys.argv[1], open(sys.argv[2], "rb").read(), [a.split("=", 1) for a in sys.argv[3:]]
seen, answered = [], []

class CloudFront(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        seen.append(f"{self.command} {self.path} ({self.request.version()})")
        body = b'<?xml version="1.0"?><ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>size.sh stand-in</Message></Error></ErrorResponse>'
        self.send_response(403)
        self.send_header("Content-Type", "text/xml"); self.send_header("Content-Length", str(len(body)))
        self.end_headers(); self.wfile.write(body)

class Runtime(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    given = False
    def log_message(self, *a): pass
    def do_GET(self):
        if Runtime.given:  # the next poll: hold it, the function is done
            time.sleep(30); return
        Runtime.given = True
        self.send_response(200)
        for k, v in {"Content-Type": "application/json", "Lambda-Runtime-Aws-Request-Id": "size-sh-1",
                     "Lambda-Runtime-Deadline-Ms": str(int(time.time() * 1000) + 60000),
                     "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:123456789012:function:_",
                     "Content-Length": str(len(event))}.items():
            self.send_header(k, v)
        self.end_headers(); self.wfile.write(event)
    def do_POST(self):
        answered.append(self.path.rsplit("/", 1)[-1])
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(202); self.send_header("Content-Length", "0"); self.end_headers()

cf = ThreadingHTTPServer(("127.0.0.1", 0), CloudFront)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(f"{d}/server.pem", f"{d}/server.key")
cf.socket = ctx.wrap_socket(cf.socket, server_side=True)
cf.handle_error = lambda *a: None  # a refused handshake
threading.Thread(target=cf.serve_forever, daemon=True).start()

def run(path, cafile):
    seen.clear(); answered.clear(); Runtime.given = False
    rt = ThreadingHTTPServer(("127.0.0.1", 0), Runtime)
    rt.handle_error = lambda *a: None  # the held poll, when the function is ended
    threading.Thread(target=rt.serve_forever, daemon=True).start()
    env = dict(os.environ, AWS_LAMBDA_RUNTIME_API=f"http://127.0.0.1:{rt.server_address[1]}",
               AWS_LAMBDA_FUNCTION_NAME="_", AWS_LAMBDA_FUNCTION_VERSION="1", AWS_LAMBDA_FUNCTION_MEMORY_SIZE="128",
               AWS_REGION="us-east-1", AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
               DISTRIBUTION_ID="EDFDVBD632BHDS5", METRICS_NAMESPACE="",
               CLOUDFRONT_ENDPOINT_URL=f"https://localhost:{cf.server_address[1]}",
               SSL_CERT_FILE=cafile, SSL_CERT_DIR=f"{d}/no-certs")  # empty: the legacy client panics on a missing one
    proc = subprocess.Popen([path], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    t0 = time.monotonic()
    while not answered and time.monotonic() - t0 < 60 and proc.poll() is None:
        time.sleep(0.05)
    proc.kill(); out = proc.communicate()[0].decode(errors="replace"); rt.shutdown(); rt.server_close()
    return list(seen), list(answered), out

ok = True
print("| variant | trusted CA: request read through TLS | untrusted CA: refused |")
print("|---|---|---|")
for name, path in pairs:
    good, _, out1 = run(path, f"{d}/ca.pem")
    bad, _, out2 = run(path, f"{d}/server.csr")  # a PEM file with no CA in it
    trusted = bool(good) and "/distribution/EDFDVBD632BHDS5/invalidation" in good[0]
    refused = not bad
    ok &= trusted and refused
    print(f"| {name} | {'yes: ' + good[0] if trusted else 'NO'} | {'yes' if refused else 'NO: ' + bad[0]} |")
    if os.environ.get("SIZE_DEBUG"):
        print(out1[-3000:], out2[-3000:], sep="\n---\n")
sys.exit(0 if ok else 1)
EOF
}

# The bench executables that `bench` built, run again in turns (R rounds of every variant), so the
# machine's load falls alike on each; prints each benchmark's point estimates, lowest to highest.
# SIZE_BENCH_FILTER (default "plan", as `bench` runs; empty: every benchmark) picks them.
rebench() {
    local rounds=3
    if [[ "${1:-}" =~ ^[0-9]+$ ]]; then rounds=$1; shift; fi
    local exes=() v exe
    for v in "$@"; do
        exe=$(sed -n 's/.*Running .*benches\/throughput.rs (\(.*\))$/\1/p' "$WORK/out/$v-bench.log" | tail -1)
        [ -x "$exe" ] || { echo "size.sh: bench $v first" >&2; exit 1; }
        exes+=("$v=$exe")
    done
    "$REPO/.venv/bin/python" - "$rounds" "$REPO" "${SIZE_BENCH_FILTER-plan}" "${exes[@]}" <<'EOF'
import re, subprocess, sys, collections
rounds, repo, flt, pairs = int(sys.argv[1]), sys.argv[2], sys.argv[3], [a.split("=", 1) for a in sys.argv[4:]]
unit = {"ns": 1e-6, "µs": 1e-3, "us": 1e-3, "ms": 1.0, "s": 1e3}
res = collections.defaultdict(list)
for r in range(rounds):
    for name, exe in pairs:
        out = subprocess.run([exe, "--bench", "--noplot"] + ([flt] if flt else []), cwd=repo,
                             capture_output=True, text=True).stdout
        bench = None
        for line in out.splitlines():
            m = re.match(r"^(\S+/\S+)", line)
            if m and not line.startswith(" "):
                bench = m.group(1)
            m = re.search(r"time:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\]", line)
            if m and bench:
                res[(name, bench)].append(float(m.group(1)) * unit[m.group(2)])
                bench = None
        print(f"size.sh: round {r + 1}: {name} done", file=sys.stderr, flush=True)
benches = sorted({b for _, b in res}, key=lambda b: (b.split("/")[0], int(b.rsplit("/", 1)[-1]) if b.rsplit("/", 1)[-1].isdigit() else 0))
print(f"\ncriterion point estimates over {rounds} interleaved rounds, ms (lowest–highest)")
print("| benchmark | " + " | ".join(n for n, _ in pairs) + " |")
print("|---|" + "---:|" * len(pairs))
for b in benches:
    cells = []
    for n, _ in pairs:
        t = sorted(res[(n, b)])
        cells.append(f"{t[0]:.3g}–{t[-1]:.3g}" if t else "")
    print(f"| {b} | " + " | ".join(cells) + " |")
EOF
}

cmd=${1:-}; shift || true
case "$cmd" in
    build) build "$@" ;;
    starts) REPO_DIR="$REPO" starts "$@" ;;
    bench) bench "$@" ;;
    rebench) rebench "$@" ;;
    tls) tls_check "$@" ;;
    list) sed -n '/^profile()/,/^}/p' "$0" | grep -E '^\s+[a-z0-9|-]+\)' | sed 's/).*//' ;;
    *) sed -n '2,8p' "$0"; exit 2 ;;
esac
