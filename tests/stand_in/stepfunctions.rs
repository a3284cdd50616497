//! The real state machine definition (`statemachine/invalidate.asl.json`), executed by moto's Step
//! Functions interpreter, with the create step invoking the real Lambda binary (through `cargo lambda
//! watch`) and the poll step calling moto's CloudFront — every branch of the wait loop. Also
//! asl-validator on the definitions.
//!
//! moto is made to behave like AWS by test support (tests/support/moto_aws.py): invalidations are
//! `InProgress` until read N times, Choice rules compare RFC 3339 timestamps. The definition itself
//! is used as written; only `${InvalidatorFunctionArn}` and `${EventBusName}` are substituted, as
//! SAM does. What the workflow publishes to EventBridge is read back through a rule with an SQS
//! target (`eventbridge.rs` beside this file), as a subscriber would.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::control::aws_json;
use crate::emulator::Lambda;
use crate::eventbridge::Subscriber;
use crate::support::{repo, SAMPLE_DISTRIBUTION};
use crate::venv::Moto;

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
        Workflow::with(complete_after, &[SAMPLE_DISTRIBUTION], &[("DISTRIBUTION_ID", SAMPLE_DISTRIBUTION)])
    }

    /// The same, with these distributions in moto and this environment for the Lambda.
    fn with(complete_after: i32, distributions: &[&str], env: &[(&str, &str)]) -> Workflow {
        Workflow::on_bus(complete_after, distributions, env, "default")
    }

    /// The state machine on a moto and a Lambda already started.
    fn on(moto: Moto, lambda: Lambda, bus: &str) -> Workflow {
        let definition = std::fs::read_to_string(repo().join("statemachine/invalidate.asl.json"))
            .unwrap()
            .replace("${InvalidatorFunctionArn}", FUNCTION_ARN)
            .replace("${EventBusName}", bus);
        let created = aws_json(
            moto.port,
            "states",
            "AWSStepFunctions.CreateStateMachine",
            &json!({"name": "cf-invalidator", "definition": definition, "roleArn": "arn:aws:iam::123456789012:role/sfn", "type": "STANDARD"}),
        );
        Workflow { state_machine: created["stateMachineArn"].as_str().unwrap().to_string(), moto, _lambda: lambda }
    }

    /// The same, publishing its events to this bus.
    fn on_bus(complete_after: i32, distributions: &[&str], env: &[(&str, &str)], bus: &str) -> Workflow {
        Workflow::on_bus_with_tenants(complete_after, distributions, "", env, bus)
    }

    /// With distribution tenants (`dt_x=PARENT,...`, the launcher's `--tenants`).
    fn on_bus_with_tenants(
        complete_after: i32,
        distributions: &[&str],
        tenants: &str,
        env: &[(&str, &str)],
        bus: &str,
    ) -> Workflow {
        let mut lambda = Lambda::emulator();
        let moto = Workflow::moto_for(&lambda, &distributions.join(","), tenants, complete_after);
        lambda.run(&moto.endpoint, env);
        Workflow::on(moto, lambda, bus)
    }

    /// moto with its Step Functions interpreter, whose `lambda:invoke` tasks call `lambda`.
    fn moto_for(lambda: &Lambda, distributions: &str, tenants: &str, complete_after: i32) -> Moto {
        let endpoint = format!("http://127.0.0.1:{}", lambda.port);
        Moto::start(&[
            "--tenants",
            tenants,
            "--distribution-ids",
            distributions,
            "--stepfunctions",
            "--lambda-endpoint",
            &endpoint,
            "--lambda-function",
            "_",
            "--complete-after",
            &complete_after.to_string(),
        ])
    }

    /// Starts one execution: its ARN.
    fn start_execution(&self, name: &str, input: &Value) -> String {
        let started = aws_json(
            self.moto.port,
            "states",
            "AWSStepFunctions.StartExecution",
            &json!({"stateMachineArn": self.state_machine, "name": name, "input": input.to_string()}),
        );
        started["executionArn"].as_str().unwrap().to_string()
    }

    /// Runs one execution to its end: (status, output or error, cause).
    fn run(&self, name: &str, input: Value) -> (String, Value, String) {
        let arn = self.start_execution(name, &input);
        self.finish(&arn)
    }

    /// Waits for an execution to end: (status, output or error, cause).
    fn finish(&self, arn: &str) -> (String, Value, String) {
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
            assert!(t0.elapsed() < Duration::from_secs(240), "execution {arn} still running");
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// The execution's history events, oldest first.
    fn history(&self, arn: &str) -> Vec<Value> {
        let h =
            aws_json(self.moto.port, "states", "AWSStepFunctions.GetExecutionHistory", &json!({"executionArn": arn}));
        h["events"].as_array().unwrap().clone()
    }

    fn count(&self, op: &str) -> usize {
        self.moto.calls().iter().filter(|c| *c == op).count()
    }
}

/// The payload the create step sent to the Lambda: the request after the workflow's defaults.
fn lambda_payload(history: &[Value]) -> Value {
    let scheduled = history
        .iter()
        .find(|e| e["type"] == "TaskScheduled" && e["taskScheduledEventDetails"]["resourceType"] == "lambda")
        .expect("the create step was scheduled");
    let params: Value =
        serde_json::from_str(scheduled["taskScheduledEventDetails"]["parameters"].as_str().unwrap()).unwrap();
    params["Payload"].clone()
}

/// The input of every wait loop (one per invalidation), in the order they started.
fn loop_inputs(history: &[Value]) -> Vec<Value> {
    history
        .iter()
        .filter(|e| e["type"] == "ChoiceStateEntered" && e["stateEnteredEventDetails"]["name"] == "AlreadyCompleted?")
        .map(|e| serde_json::from_str(e["stateEnteredEventDetails"]["input"].as_str().unwrap()).unwrap())
        .collect()
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}

/// Two distributions moto knows, and a Lambda whose one route sends every key to both.
const FIRST: &str = "EFIRSTDIST0001";
const SECOND: &str = "ESECONDDIST002";
const BOTH: &str = r#"[{"prefix":"","distributions":["EFIRSTDIST0001","ESECONDDIST002"]}]"#;

/// Branch: create, wait, poll `InProgress`, wait, poll `Completed` → succeed with the output
/// `{"status": "Completed", "invalidations": [...]}`.
#[test]
fn completes_after_an_in_progress_poll() {
    let wf = Workflow::start(1);
    let input = json!({"distribution_id": SAMPLE_DISTRIBUTION, "paths": ["/index.html", "/docs/*"],
                       "wait": {"first_seconds": 1, "interval_seconds": 1}});
    let (status, out, _) = wf.run("deploy-1", input);
    assert_eq!(status, "SUCCEEDED", "{out}");
    assert_eq!(out["status"], "Completed");
    let invalidations = out["invalidations"].as_array().unwrap();
    assert_eq!(invalidations.len(), 1, "{out}");
    let inv = &invalidations[0];
    let id = inv["invalidation_id"].as_str().filter(|s| !s.is_empty()).unwrap_or_else(|| panic!("{out}"));
    assert_eq!(
        inv,
        &json!({"distribution_id": SAMPLE_DISTRIBUTION, "invalidation_id": id, "status": "Completed",
                "caller_reference": "sfn-deploy-1", "path_count": 2, "paths": ["/docs/*", "/index.html"]}),
        "caller_reference derived from the execution name"
    );
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

/// Rule: a request that reaches several distributions (ROUTES) waits for every invalidation, each
/// in its own loop, and succeeds with all of them once all are `Completed`.
#[test]
fn waits_for_every_invalidation_of_several_distributions() {
    let wf = Workflow::with(1, &[FIRST, SECOND], &[("ROUTES", BOTH)]);
    let input = json!({"keys": ["docs/index.html"], "wait": {"first_seconds": 1, "interval_seconds": 1}});
    let (status, out, _) = wf.run("routes-1", input);
    assert_eq!(status, "SUCCEEDED", "{out}");
    assert_eq!(out["status"], "Completed");
    let invalidations = out["invalidations"].as_array().unwrap();
    let mut distributions: Vec<_> = invalidations.iter().map(|i| i["distribution_id"].as_str().unwrap()).collect();
    distributions.sort_unstable();
    assert_eq!(distributions, [FIRST, SECOND], "{out}");
    for i in invalidations {
        assert_eq!(i["status"], "Completed", "{i}");
        assert_eq!(i["caller_reference"], "sfn-routes-1", "{i}");
        assert_eq!(i["paths"], json!(["/docs", "/docs/", "/docs/index.html"]), "{i}");
        assert!(i["invalidation_id"].as_str().is_some_and(|s| !s.is_empty()), "{i}");
    }
    assert_eq!(wf.count("CreateInvalidation"), 2);
    assert_eq!(wf.count("GetInvalidation"), 4, "each: one InProgress poll, then Completed");
}

/// Rule: when one of several invalidations is not `Completed` by its deadline, the execution fails
/// with `InvalidationTimeout` naming that one, even though the other completed.
#[test]
fn any_invalidation_past_its_deadline_fails_the_execution_naming_it() {
    // Completed after 20 reads: the workflow polls SECOND about 13 times before its deadline, and
    // the test reads FIRST 20 times itself, so FIRST completes and SECOND does not.
    let wf = Workflow::with(20, &[FIRST, SECOND], &[("ROUTES", BOTH)]);
    let input =
        json!({"keys": ["docs/index.html"], "timeout": 60, "wait": {"first_seconds": 1, "interval_seconds": 5}});
    let t0 = Instant::now();
    let arn = wf.start_execution("routes-2", &input);
    let (first, second) = block_on(async {
        loop {
            let (f, s) = (wf.moto.invalidation_ids(FIRST).await, wf.moto.invalidation_ids(SECOND).await);
            if let (Some(f), Some(s)) = (f.first(), s.first()) {
                return (f.clone(), s.clone());
            }
            assert!(t0.elapsed() < Duration::from_secs(30), "the invalidations were not created");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    block_on(async {
        for _ in 0..20 {
            wf.moto.sdk().get_invalidation().distribution_id(FIRST).id(&first).send().await.unwrap();
        }
    });
    let (status, error, cause) = wf.finish(&arn);
    assert_eq!(status, "FAILED");
    assert_eq!(error, "InvalidationTimeout");
    assert!(
        cause
            .starts_with(&format!("Invalidation {second} on distribution {SECOND} was not Completed by its deadline "))
            && cause.ends_with("(status InProgress)"),
        "{cause}"
    );
    assert!(t0.elapsed() >= Duration::from_secs(60), "not before the deadline");
}

/// Rule: when every key is filtered out (outcome `Skipped`), the execution succeeds at once with no
/// invalidation to wait for, and says why.
#[test]
fn skipped_request_succeeds_with_nothing_to_wait_for() {
    let wf =
        Workflow::with(1, &[SAMPLE_DISTRIBUTION], &[("DISTRIBUTION_ID", SAMPLE_DISTRIBUTION), ("EXCLUDE", "docs/*")]);
    let (status, out, _) = wf.run("skip-1", json!({"keys": ["docs/index.html"]}));
    assert_eq!(status, "SUCCEEDED", "{out}");
    assert_eq!(out, json!({"status": "Skipped", "invalidations": [], "skipped": {"matched by EXCLUDE": 1}}));
    assert_eq!(wf.count("CreateInvalidation"), 0);
    assert_eq!(wf.count("GetInvalidation"), 0);
}

/// Rule: each field of `wait` defaults on its own: `{"interval_seconds": 1}` keeps the default
/// `first_seconds` (30), and the Lambda and every wait loop see the complete object. (The
/// invalidation is `Completed` when created, so the 30 s are not waited for.)
#[test]
fn wait_without_first_seconds_defaults_it_to_30() {
    let wf = Workflow::start(0);
    let input = json!({"distribution_id": SAMPLE_DISTRIBUTION, "paths": ["/a"], "wait": {"interval_seconds": 1}});
    let arn = wf.start_execution("wait-1", &input);
    let (status, out, _) = wf.finish(&arn);
    assert_eq!(status, "SUCCEEDED", "{out}");
    assert_eq!(out["status"], "Completed");
    let history = wf.history(&arn);
    let complete = json!({"first_seconds": 30, "interval_seconds": 1});
    assert_eq!(lambda_payload(&history)["wait"], complete);
    let loops = loop_inputs(&history);
    assert_eq!(loops.len(), 1);
    assert_eq!(loops[0]["wait"], complete);
}

/// Rule: each field of `wait` defaults on its own: `{"first_seconds": 1}` keeps the default
/// `interval_seconds` (30), which the loop really waits between polls.
#[test]
fn wait_without_interval_seconds_defaults_it_to_30() {
    let wf = Workflow::start(1);
    let input = json!({"distribution_id": SAMPLE_DISTRIBUTION, "paths": ["/a"], "wait": {"first_seconds": 1}});
    let t0 = Instant::now();
    let arn = wf.start_execution("wait-2", &input);
    let (status, out, _) = wf.finish(&arn);
    assert_eq!(status, "SUCCEEDED", "{out}");
    assert!(t0.elapsed() >= Duration::from_secs(31), "1 s, an InProgress poll, 30 s, the Completed poll");
    assert_eq!(lambda_payload(&wf.history(&arn))["wait"], json!({"first_seconds": 1, "interval_seconds": 30}));
    assert_eq!(wf.count("GetInvalidation"), 2);
}

/// Rule: an out-of-range wait is refused by the Lambda (`InvalidInput`) before anything is
/// created, rather than failing the loop after the invalidation exists.
#[test]
fn out_of_range_wait_fails_before_anything_is_created() {
    let wf = Workflow::start(1);
    let input = json!({"distribution_id": SAMPLE_DISTRIBUTION, "paths": ["/a"],
                       "wait": {"first_seconds": 1, "interval_seconds": 0}});
    let (status, error, cause) = wf.run("wait-3", input);
    assert_eq!(status, "FAILED", "{error}");
    assert_eq!(error, "InvalidInput", "{cause}");
    assert_eq!(wf.count("Invoke"), 1, "not retried");
    assert_eq!(wf.count("CreateInvalidation"), 0);
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
/// workflow waits (a minute, or what is left of `room_timeout`) and looks again; the second look
/// creates.
#[test]
fn too_many_invalidations_waits_for_room_then_succeeds() {
    let wf = Workflow::start(0);
    // The Lambda looks at the room again after a refusal: refused every time in an unchanged room,
    // the invocation fails and the workflow looks again later.
    let refusals = cf_invalidator::submit::LOOKS_IN_AN_UNCHANGED_ROOM;
    wf.moto.inject(Value::Array(vec![too_many(); refusals]));
    let input = json!({"distribution_id": SAMPLE_DISTRIBUTION, "paths": ["/a"], "room_timeout": 3,
                       "wait": {"first_seconds": 1, "interval_seconds": 1}});
    let (status, out, _) = wf.run("deploy-3", input);
    assert_eq!(status, "SUCCEEDED", "{out}");
    assert_eq!(out["status"], "Completed");
    assert_eq!(wf.count("Invoke"), 2, "one more look after the wait");
    assert_eq!(wf.count("CreateInvalidation"), refusals + 1);
}

/// Rule: a keys request that waits for room is covered by another tool's `/*`
/// made while it waits. The workflow gives the function its execution's start as `requested_at`
/// (each look is a new receipt), so the second look finds the `/*` made after the keys, creates
/// nothing, and the execution waits for that `/*` instead.
#[test]
fn a_request_waiting_for_room_is_covered_by_a_wildcard_made_meanwhile() {
    let wf = Workflow::start(0);
    let refusals = cf_invalidator::submit::LOOKS_IN_AN_UNCHANGED_ROOM;
    wf.moto.inject(Value::Array(vec![too_many(); refusals]));
    let input = json!({"keys": ["docs/index.html", "app.js"], "room_timeout": 8,
                       "wait": {"first_seconds": 1, "interval_seconds": 1}});
    let started = Instant::now();
    let arn = wf.start_execution("deploy-covered", &input);
    // Once the first look was refused (its creates took the injected refusals), and past
    // CLOCK_MARGIN (2 s, and a second for CreateTime's) after the execution's start; the second
    // look comes room_timeout (8 s) after the first.
    let held = || wf.history(&arn).iter().any(|e| e["stateEnteredEventDetails"]["name"] == "HeldBefore?");
    while !held() {
        assert!(started.elapsed() < Duration::from_secs(60), "the first look was not refused");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(3500).saturating_sub(started.elapsed()));
    let person = existing_invalidation(&wf, &["/*"], Duration::from_secs(900));
    let (status, out, cause) = wf.finish(&arn);
    assert_eq!(status, "SUCCEEDED", "{out} {cause}");
    let payload = lambda_payload(&wf.history(&arn));
    assert!(payload["requested_at"].as_str().is_some_and(|t| t.starts_with("20")), "{payload}");
    assert_eq!(wf.count("Invoke"), 2, "one more look after the wait");
    assert_eq!(wf.count("CreateInvalidation"), refusals + 1, "the refused looks and the person's /*, nothing more");
    let waited: Vec<&Value> = out["invalidations"].as_array().unwrap().iter().map(|i| &i["invalidation_id"]).collect();
    assert_eq!(waited, [&person["invalidation_id"]], "{out}");
}

fn too_many() -> Value {
    json!({"op": "CreateInvalidation", "status": 400, "code": "TooManyInvalidationsInProgress",
           "message": "Your request contains too many invalidations in progress."})
}

/// Rule: an explicit request waits for room up to `room_timeout` (default 6 h),
/// then fails with `TooManyInvalidationsInProgress` saying how long it waited, having created
/// nothing. `room_timeout` 0 fails at the first refusal.
#[test]
fn no_room_within_room_timeout_fails_saying_how_long_it_waited() {
    for (name, room_timeout, looks) in [("room-0", 0, 1), ("room-2", 2, 2)] {
        let wf = Workflow::start(0);
        wf.moto.inject(Value::Array(vec![too_many(); 20]));
        let input = json!({"distribution_id": SAMPLE_DISTRIBUTION, "paths": ["/a"], "room_timeout": room_timeout});
        let t0 = Instant::now();
        let (status, error, cause) = wf.run(name, input);
        assert_eq!(status, "FAILED", "{error}");
        assert_eq!(error, "TooManyInvalidationsInProgress", "{cause}");
        let said = format!(
            "after waiting {room_timeout} s (room_timeout {room_timeout} s); nothing was created where it waited"
        );
        assert!(cause.contains(&said), "{cause}");
        assert!(cause.contains("TooManyInvalidationsInProgress"), "the last refusal is quoted: {cause}");
        assert_eq!(wf.count("Invoke"), looks, "{name}");
        assert!(t0.elapsed() >= Duration::from_secs(room_timeout), "it waited");
        assert!(block_on(wf.moto.invalidation_ids(SAMPLE_DISTRIBUTION)).is_empty(), "nothing created");
    }
}

/// Rule: without `room_timeout` the workflow waits 6 hours for room (another tool may hold the
/// quota for hours; the README's `--hold 21600` storm holds it 6), the default the function
/// documents; and it looks once a minute, so that 12 hours stays well inside the 25,000 events of a
/// history.
#[test]
fn room_timeout_defaults_to_6_hours() {
    let definition: Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("statemachine/invalidate.asl.json")).unwrap())
            .unwrap();
    let states = &definition["States"];
    assert_eq!(states["DefaultRoomTimeout"]["Result"], json!(cf_invalidator::intake::explicit::DEFAULT_ROOM_TIMEOUT));
    assert_eq!(states["DefaultRoomTimeout"]["Result"], json!(6 * 3600));
    assert_eq!(states["WaitAMinute"]["Seconds"], json!(60));
    let catch = states["CreateInvalidation"]["Catch"].as_array().unwrap();
    assert!(catch.iter().any(|c| c["ErrorEquals"] == json!(["TooManyInvalidationsInProgress"])));
    let retry = states["CreateInvalidation"]["Retry"].as_array().unwrap();
    assert!(
        !retry.iter().any(|r| r["ErrorEquals"].as_array().unwrap().contains(&json!("TooManyInvalidationsInProgress"))),
        "a Retry would stop after its MaxAttempts, whatever room_timeout says"
    );
}

/// An invalidation that exists already (made as the function makes them), for a tracking input.
fn existing_invalidation(wf: &Workflow, paths: &[&str], deadline_in: Duration) -> Value {
    use cf_invalidator::cloudfront::{CloudFront, CreateRequest};
    let paths: Vec<String> = paths.iter().map(|p| p.to_string()).collect();
    let req = CreateRequest {
        target: &cf_invalidator::model::TargetId::parse(SAMPLE_DISTRIBUTION).unwrap(),
        caller_reference: "cfinv-test",
        paths: &paths,
    };
    let inv = block_on(wf.moto.cloudfront().create_invalidation(req, None)).unwrap();
    let deadline = humantime::format_rfc3339_seconds(std::time::SystemTime::now() + deadline_in).to_string();
    json!({"distribution_id": SAMPLE_DISTRIBUTION, "invalidation_id": inv.id, "status": inv.status,
           "caller_reference": "cfinv-test", "path_count": paths.len(), "paths": paths, "wildcards": 0,
           "timeout": deadline_in.as_secs(), "deadline": deadline})
}

/// Rule: an invalidation that completes publishes exactly one `CloudFront Invalidation Completed`
/// event to the configured bus, from the workflow itself, with its ids, its path count and the
/// seconds from the wait loop's start to completion; Step Functions names the execution in the
/// event's resources.
#[test]
fn a_completed_invalidation_publishes_one_completed_event() {
    let wf = Workflow::on_bus(1, &[SAMPLE_DISTRIBUTION], &[("DISTRIBUTION_ID", SAMPLE_DISTRIBUTION)], "deploys");
    let subscriber = Subscriber::on(wf.moto.port, "deploys");
    let input = json!({"distribution_id": SAMPLE_DISTRIBUTION, "paths": ["/index.html", "/docs/*"],
                       "wait": {"first_seconds": 2, "interval_seconds": 1}});
    let t0 = Instant::now();
    let arn = wf.start_execution("events-1", &input);
    let (status, out, _) = wf.finish(&arn);
    let elapsed = t0.elapsed().as_secs();
    assert_eq!(status, "SUCCEEDED", "{out}");
    let id = out["invalidations"][0]["invalidation_id"].as_str().unwrap();
    let events = subscriber.wait_for(1, Duration::from_secs(5));
    assert_eq!(events.len(), 1, "one event: {events:?}");
    let e = &events[0];
    assert_eq!(
        (&e["source"], &e["detail-type"]),
        (&json!("cf-invalidator"), &json!("CloudFront Invalidation Completed"))
    );
    let taken = e["detail"]["seconds_taken"].as_u64().unwrap_or_else(|| panic!("{e}"));
    // 2 s first wait, an InProgress poll, 1 s, the Completed poll.
    assert!((3..=elapsed + 1).contains(&taken), "seconds_taken {taken}, execution took {elapsed} s");
    assert_eq!(
        e["detail"],
        json!({"distribution_id": SAMPLE_DISTRIBUTION, "invalidation_id": id, "caller_reference": "sfn-events-1",
               "path_count": 2, "seconds_taken": taken, "status": "Completed"})
    );
    assert!(e["resources"].as_array().unwrap().contains(&json!(arn)), "{e}");
}

/// Rule: an invalidation not `Completed` by its deadline publishes exactly one `CloudFront
/// Invalidation Timed Out` event (its last status), and the execution still fails with
/// `InvalidationTimeout`. (A tracking input gives it a deadline a few seconds away.)
#[test]
fn a_timed_out_invalidation_publishes_one_timed_out_event_then_fails() {
    let wf = Workflow::start(-1);
    let subscriber = Subscriber::on(wf.moto.port, "default");
    let created = existing_invalidation(&wf, &["/a"], Duration::from_secs(4));
    let input = json!({"track": {"invalidations": [created]}, "wait": {"first_seconds": 1, "interval_seconds": 1}});
    let t0 = Instant::now();
    let (status, error, cause) = wf.run("timeout-events-1", input);
    let elapsed = t0.elapsed().as_secs();
    assert_eq!((status.as_str(), &error), ("FAILED", &json!("InvalidationTimeout")), "{cause}");
    let events = subscriber.wait_for(1, Duration::from_secs(5));
    assert_eq!(events.len(), 1, "one event: {events:?}");
    let e = &events[0];
    assert_eq!(e["detail-type"], "CloudFront Invalidation Timed Out");
    let taken = e["detail"]["seconds_taken"].as_u64().unwrap_or_else(|| panic!("{e}"));
    assert!((3..=elapsed + 1).contains(&taken), "seconds_taken {taken}, execution took {elapsed} s");
    assert_eq!(
        e["detail"],
        json!({"distribution_id": SAMPLE_DISTRIBUTION, "invalidation_id": created["invalidation_id"],
               "caller_reference": "cfinv-test", "path_count": 1, "seconds_taken": taken, "status": "InProgress"})
    );
}

/// Rule: a tracking input (`{"track": {"invalidations": [...]}}`, what the function starts for
/// invalidations made from S3 events) creates nothing and waits for those invalidations like the
/// create step's, with the same output, without invoking the function.
#[test]
fn a_tracking_input_waits_without_creating() {
    let wf = Workflow::start(1);
    let created = existing_invalidation(&wf, &["/b", "/c/*"], Duration::from_secs(900));
    let input = json!({"track": {"invalidations": [created]}, "wait": {"first_seconds": 1, "interval_seconds": 1}});
    let (status, out, _) = wf.run("track-1", input);
    assert_eq!(status, "SUCCEEDED", "{out}");
    assert_eq!(
        out,
        json!({"status": "Completed", "invalidations": [{"distribution_id": SAMPLE_DISTRIBUTION,
               "invalidation_id": created["invalidation_id"], "status": "Completed", "caller_reference": "cfinv-test",
               "path_count": 2, "paths": ["/b", "/c/*"]}]})
    );
    assert_eq!(wf.count("Invoke"), 0, "items with their deadline need not the function");
    assert_eq!(wf.count("CreateInvalidation"), 1, "only the test's own");
    assert_eq!(wf.count("GetInvalidation"), 2);
}

/// Rule: the wait loop polls a distribution tenant's invalidation with
/// GetInvalidationForDistributionTenant (never GetInvalidation), and its completion event, its
/// output and a timeout name the tenant (`distribution_tenant_id`) instead of a distribution.
#[test]
fn the_workflow_waits_on_a_tenant_invalidation() {
    const PARENT: &str = "EPLATFORM123";
    let routes = r#"[{"prefix":"customers/acme/","distributions":[{"id":"dt_acme","origin_path":"/customers/acme"}]}]"#;
    let wf =
        Workflow::on_bus_with_tenants(1, &[PARENT], &format!("dt_acme={PARENT}"), &[("ROUTES", routes)], "deploys");
    let subscriber = Subscriber::on(wf.moto.port, "deploys");
    let input = json!({"distribution_tenant_id": "dt_acme", "paths": ["/index.html"],
                       "wait": {"first_seconds": 1, "interval_seconds": 1}});
    let (status, out, cause) = wf.run("tenant-1", input);
    assert_eq!(status, "SUCCEEDED", "{out} {cause}");
    let id = out["invalidations"][0]["invalidation_id"].as_str().unwrap_or_else(|| panic!("{out}")).to_string();
    assert_eq!(
        out,
        json!({"status": "Completed", "invalidations": [{"distribution_tenant_id": "dt_acme", "invalidation_id": id,
               "status": "Completed", "caller_reference": "sfn-tenant-1", "path_count": 1, "paths": ["/index.html"]}]})
    );
    assert_eq!(wf.count("CreateInvalidationForDistributionTenant"), 1);
    assert_eq!(wf.count("GetInvalidationForDistributionTenant"), 2, "InProgress, then Completed");
    assert_eq!(wf.count("GetInvalidation") + wf.count("CreateInvalidation"), 0, "never the distribution's operations");
    let events = subscriber.wait_for(1, Duration::from_secs(5));
    assert_eq!(events.len(), 1, "one event: {events:?}");
    let detail = &events[0]["detail"];
    assert_eq!(events[0]["detail-type"], "CloudFront Invalidation Completed");
    assert_eq!(
        (&detail["distribution_tenant_id"], &detail["invalidation_id"]),
        (&json!("dt_acme"), &json!(id)),
        "{detail}"
    );
    assert!(detail.get("distribution_id").is_none(), "{detail}");

    // One that never completes (a tracking input with its deadline 3 s away): the loop times out
    // naming the tenant, and its event says so.
    wf.moto.config(json!({"complete_after_reads": -1}));
    let batch = aws_sdk_cloudfront::types::InvalidationBatch::builder()
        .caller_reference("cfinv-late")
        .paths(aws_sdk_cloudfront::types::Paths::builder().quantity(1).items("/late.html").build().unwrap())
        .build()
        .unwrap();
    let late = block_on(
        wf.moto.sdk().create_invalidation_for_distribution_tenant().id("dt_acme").invalidation_batch(batch).send(),
    )
    .unwrap()
    .invalidation
    .unwrap()
    .id;
    let deadline = humantime::format_rfc3339_seconds(std::time::SystemTime::now() + Duration::from_secs(3)).to_string();
    let item = json!({"distribution_tenant_id": "dt_acme", "invalidation_id": late, "status": "InProgress",
                      "caller_reference": "cfinv-late", "path_count": 1, "paths": ["/late.html"], "deadline": deadline});
    let input = json!({"track": {"invalidations": [item]}, "wait": {"first_seconds": 1, "interval_seconds": 1}});
    let (status, error, cause) = wf.run("tenant-2", input);
    assert_eq!((status.as_str(), &error), ("FAILED", &json!("InvalidationTimeout")), "{cause}");
    assert!(cause.contains(&format!("Invalidation {late} on distribution tenant dt_acme")), "{cause}");
    let events = subscriber.wait_for(2, Duration::from_secs(5));
    let timed_out = events.iter().find(|e| e["detail-type"] == "CloudFront Invalidation Timed Out");
    let detail = &timed_out.unwrap_or_else(|| panic!("{events:?}"))["detail"];
    assert_eq!(
        (&detail["distribution_tenant_id"], &detail["status"]),
        (&json!("dt_acme"), &json!("InProgress")),
        "{detail}"
    );
}

/// Rule: seconds_taken is computed from the two timestamps' times of day (JSONPath has no date
/// arithmetic): exact to the second for either RFC 3339 form (AWS's `Z` with milliseconds, moto's
/// offset with microseconds), with or without a fraction, at midnight and across it. The
/// definition's own states run in moto's interpreter on chosen timestamps.
#[test]
fn seconds_taken_is_exact_across_forms_and_midnight() {
    let moto = Moto::start(&["--stepfunctions"]);
    let definition: Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("statemachine/invalidate.asl.json")).unwrap())
            .unwrap();
    let all = &definition["States"]["WaitForEachInvalidation"]["ItemProcessor"]["States"];
    let mut states = serde_json::Map::new();
    for name in ["ClockFields", "SecondsOfDay", "SecondsTaken", "AcrossMidnight?", "AddADay"] {
        let text = all[name].to_string().replace("\"PublishAs?\"", "\"Done\"");
        states.insert(name.to_string(), serde_json::from_str(&text).unwrap());
    }
    states.insert("Done".into(), json!({"Type": "Succeed"}));
    assert_eq!(all["Clock"]["Next"], "ClockFields", "the clock's arithmetic starts there");
    let machine = json!({"StartAt": "ClockFields", "States": states});
    let created = aws_json(
        moto.port,
        "states",
        "AWSStepFunctions.CreateStateMachine",
        &json!({"name": "clock", "definition": machine.to_string(), "roleArn": "arn:aws:iam::123456789012:role/sfn"}),
    );
    let sm = created["stateMachineArn"].as_str().unwrap();
    let cases = [
        ("2026-11-30T02:24:05.123Z", "2026-11-30T02:25:20.999Z", 75),
        ("2026-11-30T08:09:09Z", "2026-11-30T09:08:59.123456+00:00", 3590),
        ("2026-11-30T00:00:00.000Z", "2026-11-30T00:00:00.000Z", 0),
        ("2026-11-30T23:59:30.500Z", "2026-12-01T00:00:10Z", 40),
        ("2026-12-31T23:00:00Z", "2027-01-01T00:59:59.999Z", 7199),
    ];
    for (i, (since, until, want)) in cases.iter().enumerate() {
        let input = json!({"clock": {"since": since, "until": until}}).to_string();
        let started = aws_json(
            moto.port,
            "states",
            "AWSStepFunctions.StartExecution",
            &json!({"stateMachineArn": sm, "name": format!("c{i}"), "input": input}),
        );
        let arn = started["executionArn"].as_str().unwrap();
        let t0 = Instant::now();
        let d = loop {
            let d = aws_json(moto.port, "states", "AWSStepFunctions.DescribeExecution", &json!({"executionArn": arn}));
            if d["status"] != "RUNNING" {
                break d;
            }
            assert!(t0.elapsed() < Duration::from_secs(30), "{arn} still running");
            std::thread::sleep(Duration::from_millis(100));
        };
        assert_eq!(d["status"], "SUCCEEDED", "{since} .. {until}: {d}");
        let out: Value = serde_json::from_str(d["output"].as_str().unwrap()).unwrap();
        assert_eq!(out["clock"]["seconds"], *want, "{since} .. {until}");
    }
}

/// Rule: `null` means absent, in the workflow as in the function. A null
/// `caller_reference` is the execution's `sfn-<name>` (so a retried create step returns the same
/// invalidation), and a null `wait` or wait field is its default; the function and the wait loop
/// see the same complete wait. (Completed when created: the 30 s are not waited for.)
#[test]
fn null_means_absent_in_every_field() {
    let wf = Workflow::start(0);
    let cases = [
        (json!({"caller_reference": null}), json!({"first_seconds": 30, "interval_seconds": 30})),
        (json!({"wait": null}), json!({"first_seconds": 30, "interval_seconds": 30})),
        (
            json!({"wait": {"first_seconds": null, "interval_seconds": 1}}),
            json!({"first_seconds": 30, "interval_seconds": 1}),
        ),
        (
            json!({"wait": {"first_seconds": 2, "interval_seconds": null}}),
            json!({"first_seconds": 2, "interval_seconds": 30}),
        ),
        (
            json!({"wait": {}, "timeout": null, "caller_reference": null}),
            json!({"first_seconds": 30, "interval_seconds": 30}),
        ),
    ];
    for (i, (fields, wait)) in cases.into_iter().enumerate() {
        let mut input = json!({"distribution_id": SAMPLE_DISTRIBUTION, "paths": [format!("/null-{i}")]});
        input.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
        let name = format!("null-{i}");
        let arn = wf.start_execution(&name, &input);
        let (status, out, cause) = wf.finish(&arn);
        assert_eq!(status, "SUCCEEDED", "{input}: {out} {cause}");
        let reference = format!("sfn-{name}");
        assert_eq!(out["invalidations"][0]["caller_reference"], reference, "{input}");
        let history = wf.history(&arn);
        let payload = lambda_payload(&history);
        assert_eq!((&payload["caller_reference"], &payload["wait"]), (&json!(reference), &wait), "{input}");
        assert_eq!(loop_inputs(&history)[0]["wait"], wait, "{input}");
    }
    assert_eq!(wf.count("CreateInvalidation"), 5);
}

/// Rule: a wait that is not an object is refused with `InvalidInput` before anything is created
/// (not `States.Runtime` in the middle of the defaults).
#[test]
fn a_wait_that_is_not_an_object_is_refused_before_anything_is_created() {
    let wf = Workflow::start(0);
    for (i, wait) in [json!(30), json!("30"), json!([]), json!(true)].into_iter().enumerate() {
        let input = json!({"distribution_id": SAMPLE_DISTRIBUTION, "paths": ["/a"], "wait": wait});
        let (status, error, cause) = wf.run(&format!("bad-wait-{i}"), input);
        assert_eq!((status.as_str(), &error), ("FAILED", &json!("InvalidInput")), "{wait}: {cause}");
        assert!(cause.contains("wait must be an object"), "{cause}");
    }
    assert_eq!(wf.count("Invoke"), 0);
    assert_eq!(wf.count("CreateInvalidation"), 0);
}

/// Rule: a tracker started by hand needs only each invalidation's two ids:
/// the function reads the rest from CloudFront (status, caller_reference, paths) and sets the
/// deadline from `timeout`; the loop waits and publishes its event like any other.
#[test]
fn a_tracker_started_by_hand_needs_only_the_ids() {
    let wf = Workflow::start(1);
    let subscriber = Subscriber::on(wf.moto.port, "default");
    let made = existing_invalidation(&wf, &["/b", "/c/*"], Duration::from_secs(900));
    let id = made["invalidation_id"].clone();
    let input = json!({"track": {"invalidations": [{"distribution_id": SAMPLE_DISTRIBUTION, "invalidation_id": id}]},
                       "timeout": 120, "wait": {"first_seconds": 1, "interval_seconds": 1}});
    let started = std::time::SystemTime::now();
    let arn = wf.start_execution("by-hand-1", &input);
    let (status, out, cause) = wf.finish(&arn);
    assert_eq!(status, "SUCCEEDED", "{out} {cause}");
    assert_eq!(
        out,
        json!({"status": "Completed", "invalidations": [{"distribution_id": SAMPLE_DISTRIBUTION, "invalidation_id": id,
               "status": "Completed", "caller_reference": "cfinv-test", "path_count": 2, "paths": ["/b", "/c/*"]}]})
    );
    let loops = loop_inputs(&wf.history(&arn));
    let deadline = humantime::parse_rfc3339(loops[0]["invalidation"]["deadline"].as_str().unwrap()).unwrap();
    let after = deadline.duration_since(started).unwrap().as_secs();
    assert!((110..=130).contains(&after), "deadline {after} s after the start, timeout 120");
    let events = subscriber.wait_for(1, Duration::from_secs(5));
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["detail"]["caller_reference"], "cfinv-test");
    assert_eq!(events[0]["detail"]["path_count"], 2);
    assert_eq!(wf.count("CreateInvalidation"), 1, "only the test's own");

    // An invalidation that does not exist is the caller's mistake: refused at once, before any wait.
    let input =
        json!({"track": {"invalidations": [{"distribution_id": SAMPLE_DISTRIBUTION, "invalidation_id": "INOSUCH"}]}});
    let (status, error, cause) = wf.run("by-hand-2", input);
    assert_eq!((status.as_str(), &error), ("FAILED", &json!("NoSuchInvalidation")), "{cause}");
    assert!(cause.contains("no invalidation INOSUCH"), "{cause}");
    // And one without its ids is the caller's mistake, named.
    let (status, error, cause) =
        wf.run("by-hand-3", json!({"track": {"invalidations": [{"distribution_id": SAMPLE_DISTRIBUTION}]}}));
    assert_eq!((status.as_str(), &error), ("FAILED", &json!("InvalidInput")), "{cause}");
    assert!(cause.contains("invalidation_id is required"), "{cause}");
}

/// Rule: an invalidation on a route with a `role_arn` (a distribution in
/// another account) is polled with that role, so that its loop reaches the distribution and
/// publishes its event; the others with the workflow's own role. (The stand-in runs a task's
/// `Credentials.RoleArn` as that role, in that role's account, as AWS does.)
#[test]
fn a_role_routes_invalidation_is_polled_with_that_role() {
    const HOME: &str = "EHOMEACCOUNT1";
    let role = "arn:aws:iam::111122223333:role/cf-invalidator";
    let routes =
        format!(r#"[{{"prefix":"","distributions":[{{"id":"{SAMPLE_DISTRIBUTION}","role_arn":"{role}"}},"{HOME}"]}}]"#);
    let mut lambda = Lambda::emulator();
    let moto = Workflow::moto_for(&lambda, HOME, "", 1);
    // The other account's distribution lives in that account: only its role reaches it.
    moto.control("POST", "/_cfstub/distribution", &json!({"id": SAMPLE_DISTRIBUTION, "account": "111122223333"}));
    // The function reaches STS at the stand-in too (CLOUDFRONT_ENDPOINT_URL is its endpoint for both).
    lambda.run(&moto.endpoint, &[("ROUTES", routes.as_str()), ("CLOUDFRONT_ENDPOINT_URL", moto.endpoint.as_str())]);
    let wf = Workflow::on(moto, lambda, "default");
    let subscriber = Subscriber::on(wf.moto.port, "default");
    let input = json!({"keys": ["a.html"], "wait": {"first_seconds": 1, "interval_seconds": 1}});
    let arn = wf.start_execution("role-1", &input);
    let (status, out, cause) = wf.finish(&arn);
    assert_eq!(status, "SUCCEEDED", "{out} {cause}");
    let mut done: Vec<(&str, &str)> = out["invalidations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["distribution_id"].as_str().unwrap(), i["status"].as_str().unwrap()))
        .collect();
    done.sort_unstable();
    assert_eq!(done, [(SAMPLE_DISTRIBUTION, "Completed"), (HOME, "Completed")]);
    let loops = loop_inputs(&wf.history(&arn));
    let role_of = |d: &str| {
        loops.iter().find(|l| l["invalidation"]["distribution_id"] == d).unwrap()["invalidation"]["role_arn"].clone()
    };
    assert_eq!(
        (role_of(SAMPLE_DISTRIBUTION), role_of(HOME)),
        (json!(role), Value::Null),
        "the Lambda names the route's role"
    );
    // Whose keys signed each poll: the interpreter's own for HOME, the assumed role's for the other.
    let log = wf.moto.control("GET", "/_cfstub/log", &Value::Null);
    let polls = |d: &str| -> Vec<String> {
        log["calls"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["op"] == "GetInvalidation" && c["path"].as_str().unwrap().contains(d) && c["key"] != "test")
            .map(|c| c["key"].as_str().unwrap_or("").to_string())
            .collect()
    };
    let (other, home) = (polls(SAMPLE_DISTRIBUTION), polls(HOME));
    assert_eq!((other.len(), home.len()), (2, 2), "{log}");
    assert!(home.iter().all(|k| k == "ak"), "{home:?}");
    assert!(other.iter().all(|k| k != "ak" && !k.is_empty()), "{other:?}");
    assert_eq!(subscriber.wait_for(2, Duration::from_secs(5)).len(), 2, "both loops publish");
}

/// Rule: the poll retries transient failures — throttling, 5xx, an error
/// CloudFront does not model — with backoff, so one odd error does not end
/// a long wait; it ends at once on errors that cannot heal (NoSuchInvalidation, AccessDenied).
#[test]
fn polling_retries_what_may_heal_and_ends_on_what_cannot() {
    let wf = Workflow::start(1);
    // Runs one execution whose loop's polls meet these faults first: they are queued once the
    // invalidation exists, so that the function's own reads (the room) do not take them.
    let run = |name: &str, faults: Value| {
        let input = json!({"distribution_id": SAMPLE_DISTRIBUTION, "paths": [format!("/{name}")],
                           "wait": {"first_seconds": 2, "interval_seconds": 1}});
        let creates = wf.count("CreateInvalidation");
        let arn = wf.start_execution(name, &input);
        let t0 = Instant::now();
        while wf.count("CreateInvalidation") == creates {
            assert!(t0.elapsed() < Duration::from_secs(30), "{name}: nothing created");
            std::thread::sleep(Duration::from_millis(50));
        }
        wf.moto.inject(faults);
        let polls = wf.count("GetInvalidation");
        let (status, out, cause) = wf.finish(&arn);
        (status, out, cause, wf.count("GetInvalidation") - polls)
    };
    let (status, out, cause, polls) = run(
        "transient",
        json!([
            {"op": "GetInvalidation", "status": 400, "code": "Throttling", "message": "Rate exceeded"},
            {"op": "GetInvalidation", "status": 503, "code": "ServiceUnavailable", "message": "try again"},
            {"op": "GetInvalidation", "status": 500, "code": "SomethingNobodyNamed", "message": "odd"},
        ]),
    );
    assert_eq!(status, "SUCCEEDED", "{out} {cause}");
    assert_eq!(polls, 5, "three failures retried, then InProgress, then Completed");

    for (code, http, error) in [
        ("NoSuchInvalidation", 404, "CloudFront.NoSuchInvalidationException"),
        ("AccessDenied", 403, "CloudFront.AccessDeniedException"),
    ] {
        let faults = json!([{"op": "GetInvalidation", "status": http, "code": code, "message": "no"}]);
        let (status, got, cause, polls) = run(code, faults);
        // moto's interpreter spells the service `cloudfront.`; the definition lists both spellings.
        let got = got.as_str().unwrap().replacen("cloudfront.", "CloudFront.", 1);
        assert_eq!((status.as_str(), got.as_str()), ("FAILED", error), "{cause}");
        assert_eq!(polls, 1, "{code}: not retried");
    }
}

/// Rule: both polls (own role, route's role) retry alike.
#[test]
fn both_polls_retry_alike() {
    let definition: Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("statemachine/invalidate.asl.json")).unwrap())
            .unwrap();
    let states = &definition["States"]["WaitForEachInvalidation"]["ItemProcessor"]["States"];
    let (own, routed) = (&states["GetInvalidation"], &states["GetInvalidationWithRouteRole"]);
    assert_eq!(own["Retry"], routed["Retry"]);
    assert_eq!(own["Parameters"], routed["Parameters"]);
    assert_eq!(routed["Credentials"], json!({"RoleArn.$": "$.invalidation.role_arn"}));
    assert!(own.get("Credentials").is_none());
    let last = own["Retry"].as_array().unwrap().last().unwrap();
    assert_eq!(last["ErrorEquals"], json!(["States.ALL"]), "a bounded catch-all, last");
    assert!(last["MaxAttempts"].as_u64().unwrap() > 0);
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
