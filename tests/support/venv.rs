//! The stand-ins and tools `make setup` installs into the project's `.venv`:
//!
//! - [`Moto`]: moto's server on 127.0.0.1 (a free port) through `tests/support/moto_aws.py`,
//!   which makes it behave like CloudFront where the tests need it (see that file).
//! - [`cloudfront_client`]: the real `aws-sdk-cloudfront` client pointed at it.
//! - [`venv_bin`]: any other tool there (the AWS CLI, cfn-lint, `cargo lambda`).
//!
//! The stand-in's control API (faults, settings, its call log) is the stand_in group's
//! (`tests/stand_in/control.rs`).
//!
//! `CFINV_PYTHON` overrides the interpreter.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};

use aws_sdk_cloudfront::config::{BehaviorVersion, Credentials, Region};
use serde_json::Value;

use crate::support::repo;

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
    #[allow(
        dead_code,
        reason = "read by the stand_in group's control calls; the artifacts group only points cfinv at `endpoint`"
    )]
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
