//! Smoke: the built `cf-invalidator` binary, served by `cargo lambda watch`'s Lambda Runtime API
//! emulator, answers invokes — a real Lambda runtime loop, a real CloudFront call to moto.

mod support;

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{event, http, venv_bin, Moto, SAMPLE_DISTRIBUTION};

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wait_for(port: u16) {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(60), "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn invoke(port: u16, payload: &[u8]) -> (u16, Value) {
    http(port, "POST", "/2015-03-31/functions/_/invocations", std::str::from_utf8(payload).unwrap())
}

#[test]
fn the_lambda_binary_answers_invokes_under_cargo_lambda_watch() {
    let moto = Moto::start(&["--distribution-ids", SAMPLE_DISTRIBUTION]);
    let port = free_port();
    let _emulator = Killed(
        Command::new(venv_bin("cargo-lambda"))
            .args(["lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1", "-P", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start cargo lambda watch"),
    );
    wait_for(port);
    let _function = Killed(
        Command::new(env!("CARGO_BIN_EXE_cf-invalidator"))
            .env("AWS_LAMBDA_RUNTIME_API", format!("http://127.0.0.1:{port}/.rt"))
            .env("AWS_LAMBDA_FUNCTION_NAME", "_")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_ENDPOINT_URL_CLOUDFRONT", &moto.endpoint)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("DISTRIBUTION_ID", SAMPLE_DISTRIBUTION)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the cf-invalidator binary"),
    );

    let (status, out) = invoke(port, &event("s3-put.json"));
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["distribution_id"], SAMPLE_DISTRIBUTION, "{out}");
    assert_eq!(out["status"], "InProgress", "{out}");
    assert!(out["invalidation_id"].as_str().is_some_and(|s| !s.is_empty()), "{out}");

    let (status, out) = invoke(port, &event("sqs-s3.json"));
    assert_eq!((status, out), (200, serde_json::json!({"batchItemFailures": []})));

    // An error reaches the caller with its stable errorType, as Step Functions would see it.
    let (status, out) = invoke(port, br#"{"distribution_id":"EDFDVBD632BHDS5","paths":["no-slash"]}"#);
    assert_ne!(status, 200, "{out}");
    assert_eq!(out["errorType"], "InvalidInput", "{out}");
}
