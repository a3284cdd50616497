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

    /// The CloudFront operations the stand-in has seen, in order.
    pub fn calls(&self) -> Vec<String> {
        let log = self.control("GET", "/_cfstub/log", &Value::Null);
        log["calls"].as_array().unwrap().iter().map(|c| c["op"].as_str().unwrap().to_string()).collect()
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
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    write!(s, "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let (head, payload) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, serde_json::from_str(payload).unwrap_or(Value::Null))
}

pub fn event(name: &str) -> Vec<u8> {
    std::fs::read(repo().join("events").join(name)).unwrap_or_else(|e| panic!("events/{name}: {e}"))
}

/// The distribution id the sample events in `events/` name.
pub const SAMPLE_DISTRIBUTION: &str = "EDFDVBD632BHDS5";
