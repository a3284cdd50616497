//! Test support: the local stand-ins the integration tests start and stop themselves.
//!
//! - [`Moto`]: moto's server on 127.0.0.1 (a free port) through `tests/support/moto_aws.py`,
//!   which makes it behave like CloudFront where the tests need it (see that file).
//! - [`cloudfront_client`]: the real `aws-sdk-cloudfront` client pointed at it.
//!
//! The Python tools come from the project's `.venv` (made by `make setup`, which both README
//! commands run); `CFINV_PYTHON` overrides the interpreter.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use aws_sdk_cloudfront::config::{BehaviorVersion, Credentials, Region};
use cf_invalidator::cloudfront::SdkCloudFront;
use serde_json::Value;

pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn venv_bin(tool: &str) -> PathBuf {
    let p = repo().join(".venv/bin").join(tool);
    assert!(
        p.exists(),
        "{} is missing: run `make setup` (or `make test`), which installs the test tools into .venv",
        p.display()
    );
    p
}

/// The Lambda's variables a developer's shell may hold: every test that runs `cfinv` removes
/// them and sets its own.
pub const CONFIG_VARS: &[&str] = &[
    "DISTRIBUTION_ID",
    "ROUTES",
    "ORIGIN_PATH",
    "INDEX_DOCUMENT",
    "MAX_PATHS",
    "MAX_WILDCARDS",
    "INCLUDE",
    "EXCLUDE",
    "TAGS",
    "DISTRIBUTION_TENANTS",
    "CLOUDFRONT_ENDPOINT_URL",
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
];

/// `cfinv` pointed at the stand-in `moto` with test credentials and none of the Lambda's
/// variables ([`CONFIG_VARS`]) from the developer's shell: each test adds its arguments and its own.
pub fn cfinv_on(moto: &Moto) -> Command {
    let mut cmd = Command::new(cfinv());
    for v in CONFIG_VARS {
        cmd.env_remove(v);
    }
    cmd.env("AWS_ENDPOINT_URL_CLOUDFRONT", &moto.endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test");
    cmd
}

/// What one `cfinv` run did.
pub struct CliOut {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub took: Duration,
}

impl CliOut {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }

    /// The plain progress lines: one per poll of the invalidations or of the room.
    pub fn poll_lines(&self) -> Vec<&str> {
        self.stderr.lines().filter(|l| l.starts_with("cfinv: [")).collect()
    }
}

/// Runs `cmd` (a [`cfinv_on`]) to its end with `stdin` as its input, and logs what it printed
/// (shown when a test fails).
pub fn run_cfinv(mut cmd: Command, stdin: &str) -> CliOut {
    let started = std::time::Instant::now();
    let mut child =
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("start cfinv");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let out = CliOut {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        took: started.elapsed(),
    };
    let args: Vec<_> = cmd.get_args().collect();
    eprintln!("cfinv {args:?} → {}\n--- stdout\n{}--- stderr\n{}", out.code, out.stdout, out.stderr);
    out
}

/// The `cfinv` binary of this build profile. It belongs to the workspace's `cfinv` package, whose
/// binary Cargo does not hand to this package's tests, so it is built here once per test process
/// (a no-op when `cargo test --workspace` built it already) and found beside this package's own.
pub fn cfinv() -> &'static Path {
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        let lambda = Path::new(env!("CARGO_BIN_EXE_cf-invalidator"));
        let mut build = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        build.args(["build", "--quiet", "-p", "cfinv"]).current_dir(repo());
        // The profile of this test build: target/<profile>/ holds the Lambda binary.
        if lambda.parent().and_then(|d| d.file_name()).is_some_and(|p| p == "release") {
            build.arg("--release");
        }
        let status = build.status().expect("run cargo build -p cfinv");
        assert!(status.success(), "cargo build -p cfinv failed");
        lambda.with_file_name(format!("cfinv{}", std::env::consts::EXE_SUFFIX))
    })
}

fn python() -> PathBuf {
    std::env::var_os("CFINV_PYTHON").map(PathBuf::from).unwrap_or_else(|| venv_bin("python"))
}

/// A moto server for one test; stopped when dropped.
pub struct Moto {
    child: Child,
    // Held open: the launcher exits when it closes, even if this process dies without Drop.
    _stdin: ChildStdin,
    pub endpoint: String,
    pub port: u16,
    pub distributions: Vec<String>,
}

impl Moto {
    /// Starts moto with the launcher's extra arguments (e.g. `--distribution-ids`, `--complete-after`).
    pub fn start(args: &[&str]) -> Moto {
        let mut child = Command::new(python())
            .arg(repo().join("tests/support/moto_aws.py"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tests/support/moto_aws.py");
        let stdin = child.stdin.take().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).expect("read moto's first line");
        let info: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("moto launcher said {line:?}: {e}"));
        Moto {
            child,
            _stdin: stdin,
            endpoint: info["endpoint"].as_str().unwrap().to_string(),
            port: info["port"].as_u64().unwrap() as u16,
            distributions: info["distributions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_str().unwrap().to_string())
                .collect(),
        }
    }

    pub fn sdk(&self) -> aws_sdk_cloudfront::Client {
        cloudfront_client(&self.endpoint)
    }

    pub fn cloudfront(&self) -> SdkCloudFront {
        SdkCloudFront::from_client(self.sdk())
    }

    /// A call to the launcher's control API (`/_cfstub/...`) or moto's own (`/moto-api/...`).
    pub fn control(&self, method: &str, path: &str, body: &Value) -> Value {
        let (status, out) = http(self.port, method, path, &body.to_string());
        assert!((200..300).contains(&status), "{method} {path}: HTTP {status} {out}");
        out
    }

    /// Queues faults for the next matching CloudFront calls.
    pub fn inject(&self, faults: Value) {
        self.control("POST", "/_cfstub/faults", &serde_json::json!({ "faults": faults }));
    }

    /// The access keys that signed each CloudFront call, in order.
    pub fn signers(&self) -> Vec<String> {
        let log = self.control("GET", "/_cfstub/log", &Value::Null);
        log["calls"].as_array().unwrap().iter().map(|c| c["key"].as_str().unwrap_or("").to_string()).collect()
    }

    /// The CloudFront operations the stand-in has seen, in order.
    pub fn calls(&self) -> Vec<String> {
        let log = self.control("GET", "/_cfstub/log", &Value::Null);
        log["calls"].as_array().unwrap().iter().map(|c| c["op"].as_str().unwrap().to_string()).collect()
    }

    /// Changes the launcher's settings (`complete_after_reads`, `complete_after_seconds`, `quota`);
    /// returns them all. `complete_after_seconds` is fixed per invalidation when it is created.
    pub fn config(&self, settings: Value) -> Value {
        self.control("POST", "/_cfstub/config", &settings)
    }

    /// Completes one invalidation now (`Some(id)`), or every one in progress (`None`): the ids completed.
    pub fn complete(&self, id: Option<&str>) -> Vec<String> {
        let body = id.map(|i| serde_json::json!({ "id": i })).unwrap_or_else(|| serde_json::json!({}));
        let out = self.control("POST", "/_cfstub/complete", &body);
        out["completed"].as_array().unwrap().iter().map(|i| i.as_str().unwrap().to_string()).collect()
    }

    /// What counts against the in-progress quota of a distribution now: (exact paths, wildcard paths).
    pub fn in_progress(&self, distribution_id: &str) -> (usize, usize) {
        let out = self.control("GET", "/_cfstub/in_progress", &Value::Null);
        let d = &out[distribution_id];
        (d["exact"].as_u64().unwrap_or(0) as usize, d["wildcards"].as_u64().unwrap_or(0) as usize)
    }

    /// A tenant's invalidations as CloudFront lists them (ListInvalidationsForDistributionTenant),
    /// newest first, each with its sorted paths (GetInvalidationForDistributionTenant).
    pub async fn tenant_invalidations(&self, tenant: &str) -> Vec<(String, Vec<String>)> {
        let sdk = self.sdk();
        let list = sdk.list_invalidations_for_distribution_tenant().id(tenant).send().await.unwrap();
        let mut out = Vec::new();
        for s in list.invalidation_list.and_then(|l| l.items).unwrap_or_default() {
            let got =
                sdk.get_invalidation_for_distribution_tenant().distribution_tenant_id(tenant).id(&s.id).send().await;
            let batch = got.unwrap().invalidation.unwrap().invalidation_batch.unwrap();
            let mut paths = batch.paths.unwrap().items.unwrap_or_default();
            paths.sort();
            out.push((s.id, paths));
        }
        out
    }

    /// Invalidations made at given `CreateTime`s, completed (to fill past months): each
    /// (CallerReference, paths, RFC 3339 time); their ids in the same order.
    pub fn create_at(&self, distribution_id: &str, invalidations: &[(String, Vec<String>, String)]) -> Vec<String> {
        let specs: Vec<Value> = invalidations
            .iter()
            .map(|(r, paths, t)| serde_json::json!({"caller_reference": r, "paths": paths, "create_time": t}))
            .collect();
        let body = serde_json::json!({"distribution_id": distribution_id, "invalidations": specs});
        let out = self.control("POST", "/_cfstub/invalidations", &body);
        out["ids"].as_array().unwrap().iter().map(|i| i.as_str().unwrap().to_string()).collect()
    }

    /// Every invalidation of a distribution, newest first (ListInvalidations).
    pub async fn invalidation_ids(&self, distribution_id: &str) -> Vec<String> {
        let out = self.sdk().list_invalidations().distribution_id(distribution_id).send().await.unwrap();
        out.invalidation_list.and_then(|l| l.items).unwrap_or_default().into_iter().map(|s| s.id).collect()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn cloudfront_client(endpoint: &str) -> aws_sdk_cloudfront::Client {
    let conf = aws_sdk_cloudfront::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .build();
    aws_sdk_cloudfront::Client::from_conf(conf)
}

/// A minimal HTTP/1.1 exchange on 127.0.0.1 (the control APIs are tiny JSON): status and body.
pub fn http(port: u16, method: &str, path: &str, body: &str) -> (u16, Value) {
    http_with(port, method, path, "Content-Type: application/json\r\n", body)
}

/// An AWS JSON-protocol call to moto (e.g. `AWSStepFunctions.StartExecution`): moto routes by
/// the credential scope and does not check signatures.
pub fn aws_json(port: u16, service: &str, target: &str, body: &Value) -> Value {
    let headers = format!(
        "Content-Type: application/x-amz-json-1.0\r\nX-Amz-Target: {target}\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0\r\n"
    );
    let (status, out) = http_with(port, "POST", "/", &headers, &body.to_string());
    assert_eq!(status, 200, "{target}: {out}");
    out
}

fn http_with(port: u16, method: &str, path: &str, headers: &str, body: &str) -> (u16, Value) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let (head, payload) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, serde_json::from_str(payload).unwrap_or(Value::Null))
}

/// The Lambda binary served by `cargo lambda watch`'s Runtime API emulator, as in production:
/// the emulator on a free port, the built binary polling it. Both stop when dropped.
pub struct Lambda {
    emulator: Child,
    function: Option<Child>,
    pub port: u16,
    /// Where the function's stdout and stderr go (its logs and EMF lines).
    log: PathBuf,
}

impl Lambda {
    /// Starts the emulator only; [`Lambda::run`] starts the function once its environment is known.
    pub fn emulator() -> Lambda {
        let port = free_port();
        let emulator = Command::new(venv_bin("cargo-lambda"))
            .args(["lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1", "-P", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start cargo lambda watch");
        wait_for(port);
        let log = std::env::temp_dir().join(format!("cf-invalidator-test-{}-{port}.log", std::process::id()));
        Lambda { emulator, function: None, port, log }
    }

    /// Starts the built `cf-invalidator` binary against the emulator, with CloudFront at `endpoint`.
    pub fn run(&mut self, endpoint: &str, env: &[(&str, &str)]) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cf-invalidator"));
        cmd.env("AWS_LAMBDA_RUNTIME_API", format!("http://127.0.0.1:{}/.rt", self.port))
            .env("AWS_LAMBDA_FUNCTION_NAME", "_")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_ENDPOINT_URL_CLOUDFRONT", endpoint)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test");
        let log = std::fs::File::create(&self.log).expect("create the function's log file");
        cmd.stdout(log.try_clone().unwrap()).stderr(log);
        for (k, v) in env {
            cmd.env(k, v);
        }
        self.function = Some(cmd.spawn().expect("start the cf-invalidator binary"));
    }

    /// What the function has written to stdout and stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Invokes the function through the emulator: HTTP status and response.
    pub fn invoke(&self, payload: &[u8]) -> (u16, Value) {
        http(self.port, "POST", "/2015-03-31/functions/_/invocations", std::str::from_utf8(payload).unwrap())
    }
}

impl Drop for Lambda {
    fn drop(&mut self) {
        for c in self.function.iter_mut().chain(std::iter::once(&mut self.emulator)) {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_file(&self.log);
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub fn wait_for(port: u16) {
    let start = std::time::Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(60), "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn event(name: &str) -> Vec<u8> {
    std::fs::read(repo().join("events").join(name)).unwrap_or_else(|e| panic!("events/{name}: {e}"))
}

/// A key as S3 writes it in an event notification.
pub fn s3_form_encode(key: &str) -> String {
    cf_invalidator::intake::s3::encode_key(key)
}

/// One S3 event notification (one record) for an upload (`deleted`: a delete) of `key` in bucket
/// `www-example`, with this upload's `sequencer`, made at 2026-01-01T00:00:00.000Z.
pub fn s3_notification(key: &str, sequencer: &str, deleted: bool) -> String {
    s3_notification_at(key, sequencer, deleted, "2026-01-01T00:00:00.000Z")
}

/// [`s3_notification`] with its `eventTime` (RFC 3339 as S3 writes it, e.g. from
/// [`s3_event_time`]): when the change was made, as intake reads it.
pub fn s3_notification_at(key: &str, sequencer: &str, deleted: bool, event_time: &str) -> String {
    let event = if deleted { "ObjectRemoved:Delete" } else { "ObjectCreated:Put" };
    serde_json::json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": event_time, "eventName": event,
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "cf-invalidator",
               "bucket": {"name": "www-example", "arn": "arn:aws:s3:::www-example"},
               "object": {"key": s3_form_encode(key), "sequencer": sequencer}}
    }]})
    .to_string()
}

/// A time as S3 writes `eventTime`: RFC 3339 in UTC, to the millisecond.
pub fn s3_event_time(t: std::time::SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

/// An SQS event (what Lambda's poller delivers) of `(messageId, body)` messages.
pub fn sqs_event(messages: &[(String, String)]) -> Vec<u8> {
    let records: Vec<Value> = messages
        .iter()
        .map(|(id, body)| {
            serde_json::json!({
                "messageId": id, "receiptHandle": format!("rh-{id}"), "body": body,
                "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {}, "md5OfBody": "",
                "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:cf-invalidator-queue",
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    serde_json::json!({ "Records": records }).to_string().into_bytes()
}

/// The distribution id the sample events in `events/` name.
pub const SAMPLE_DISTRIBUTION: &str = "EDFDVBD632BHDS5";
