//! The Lambda binary under `cargo lambda watch`'s Runtime API emulator, on a free port.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::control::http;
use crate::venv::venv_bin;

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
