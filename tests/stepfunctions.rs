//! The real state machine definition (`statemachine/invalidate.asl.json`), executed by moto's Step
//! Functions interpreter, with the create step invoking the real Lambda binary (through `cargo lambda
//! watch`) and the poll step calling moto's CloudFront — every branch of the wait loop. Also
//! asl-validator on the definitions.
//!
//! moto is made to behave like AWS by test support (tests/support/moto_aws.py): invalidations are
//! `InProgress` until read N times, Choice rules compare RFC 3339 timestamps. The definition itself
//! is used as written; only `${InvalidatorFunctionArn}` is substituted, as SAM does.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{aws_json, repo, Lambda, Moto, SAMPLE_DISTRIBUTION};

const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:cf-invalidator";

/// moto + the Lambda binary + the state machine, for one test.
struct Workflow {
    moto: Moto,
    _lambda: Lambda,
    state_machine: String,
}

impl Workflow {
    /// `complete_after`: GetInvalidation reads before `Completed` (negative: never).
    fn start(complete_after: i32) -> Workflow {
        let mut lambda = Lambda::emulator();
        let endpoint = format!("http://127.0.0.1:{}", lambda.port);
        let moto = Moto::start(&[
            "--distribution-ids",
            SAMPLE_DISTRIBUTION,
            "--stepfunctions",
            "--lambda-endpoint",
            &endpoint,
            "--lambda-function",
            "_",
            "--complete-after",
            &complete_after.to_string(),
        ]);
        lambda.run(&moto.endpoint, &[("DISTRIBUTION_ID", SAMPLE_DISTRIBUTION)]);
        let definition = std::fs::read_to_string(repo().join("statemachine/invalidate.asl.json"))
            .unwrap()
            .replace("${InvalidatorFunctionArn}", FUNCTION_ARN);
        let created = aws_json(
            moto.port,
            "states",
            "AWSStepFunctions.CreateStateMachine",
            &json!({"name": "cf-invalidator", "definition": definition, "roleArn": "arn:aws:iam::123456789012:role/sfn", "type": "STANDARD"}),
        );
        Workflow { state_machine: created["stateMachineArn"].as_str().unwrap().to_string(), moto, _lambda: lambda }
    }

    /// Runs one execution to its end: (status, output or error, cause).
    fn run(&self, name: &str, input: Value) -> (String, Value, String) {
        let started = aws_json(
            self.moto.port,
            "states",
            "AWSStepFunctions.StartExecution",
            &json!({"stateMachineArn": self.state_machine, "name": name, "input": input.to_string()}),
        );
        let arn = started["executionArn"].as_str().unwrap().to_string();
        let t0 = Instant::now();
        loop {
            let d =
                aws_json(self.moto.port, "states", "AWSStepFunctions.DescribeExecution", &json!({"executionArn": arn}));
            let status = d["status"].as_str().unwrap().to_string();
            if status != "RUNNING" {
                let out = match d.get("output").and_then(Value::as_str) {
                    Some(o) => serde_json::from_str(o).unwrap(),
                    None => d["error"].clone(),
                };
                return (status, out, d["cause"].as_str().unwrap_or("").to_string());
            }
            assert!(t0.elapsed() < Duration::from_secs(240), "execution {name} still running");
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    fn count(&self, op: &str) -> usize {
        self.moto.calls().iter().filter(|c| *c == op).count()
    }
}

/// Branch: create, wait, poll `InProgress`, wait, poll `Completed` → succeed with the output.
#[test]
fn completes_after_an_in_progress_poll() {
    let wf = Workflow::start(1);
    let input = json!({"distribution_id": SAMPLE_DISTRIBUTION, "paths": ["/index.html", "/docs/*"],
                       "wait": {"first_seconds": 1, "interval_seconds": 1}});
    let (status, out, _) = wf.run("deploy-1", input);
    assert_eq!(status, "SUCCEEDED", "{out}");
    assert_eq!(out["status"], "Completed");
    assert_eq!(out["distribution_id"], SAMPLE_DISTRIBUTION);
    assert_eq!(out["paths"], json!(["/docs/*", "/index.html"]));
    assert_eq!(out["caller_reference"], "sfn-deploy-1", "derived from the execution name");
    assert!(out["invalidation_id"].as_str().is_some_and(|s| !s.is_empty()), "{out}");
    assert_eq!(wf.count("CreateInvalidation"), 1);
    assert_eq!(wf.count("GetInvalidation"), 2, "one InProgress poll, then Completed");
}

/// Branch: never `Completed` → fails with `InvalidationTimeout` after now + timeout, naming the
/// invalidation. (60 s is the shortest timeout the input allows.)
#[test]
fn times_out_with_invalidation_timeout() {
    let wf = Workflow::start(-1);
    let input = json!({"distribution_id": SAMPLE_DISTRIBUTION, "keys": ["docs/index.html"], "timeout": 60,
                       "caller_reference": "deploy-2", "wait": {"first_seconds": 5, "interval_seconds": 10}});
    let t0 = Instant::now();
    let (status, error, cause) = wf.run("deploy-2", input);
    assert_eq!(status, "FAILED");
    assert_eq!(error, "InvalidationTimeout");
    assert!(cause.contains("on distribution EDFDVBD632BHDS5 was not Completed by its deadline"), "{cause}");
    assert!(t0.elapsed() >= Duration::from_secs(60), "not before the deadline");
    assert!(wf.count("GetInvalidation") >= 5, "kept polling until the deadline");
}

/// Branch: the create step fails with `InvalidInput` → the execution fails at once with that error,
/// without a retry.
#[test]
fn invalid_input_fails_at_once() {
    let wf = Workflow::start(1);
    let (status, error, cause) =
        wf.run("bad-1", json!({"distribution_id": SAMPLE_DISTRIBUTION, "paths": ["no-slash"]}));
    assert_eq!(status, "FAILED");
    assert_eq!(error, "InvalidInput");
    assert!(cause.contains("must start with '/'"), "{cause}");
    assert_eq!(wf.count("Invoke"), 1, "not retried");
    assert_eq!(wf.count("CreateInvalidation"), 0);
}

/// Branch: CloudFront answers `TooManyInvalidationsInProgress` → the Lambda reports that error, the
/// workflow's Retry backs off and the second attempt succeeds; the same CallerReference is sent twice.
#[test]
fn too_many_invalidations_is_retried_then_succeeds() {
    let wf = Workflow::start(0);
    wf.moto.inject(json!([{"op": "CreateInvalidation", "status": 400, "code": "TooManyInvalidationsInProgress",
                           "message": "Your request contains too many invalidations in progress."}]));
    let input = json!({"distribution_id": SAMPLE_DISTRIBUTION, "paths": ["/a"], "wait": {"first_seconds": 1, "interval_seconds": 1}});
    let (status, out, _) = wf.run("deploy-3", input);
    assert_eq!(status, "SUCCEEDED", "{out}");
    assert_eq!(out["status"], "Completed");
    assert_eq!(wf.count("Invoke"), 2, "one retry of the create step");
    assert_eq!(wf.count("CreateInvalidation"), 2);
}

fn run_tool(tool: std::path::PathBuf, args: &[&str]) {
    let out = Command::new(&tool)
        .args(args)
        .current_dir(repo())
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", tool.display()));
    assert!(
        out.status.success(),
        "{} {args:?}:\n{}{}",
        tool.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn definitions_pass_asl_validator() {
    let validator = repo().join("node_modules/.bin/asl-validator");
    assert!(validator.exists(), "run `make setup` (installs asl-validator into node_modules)");
    for file in ["statemachine/invalidate.asl.json", "examples/deploy-workflow.asl.json"] {
        run_tool(validator.clone(), &["--json-path", file]);
    }
}
