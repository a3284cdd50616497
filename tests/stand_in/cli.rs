//! `cfinv` runs against the moto stand-in, without the developer's shell's settings.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::support::cfinv;
use crate::venv::Moto;

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
