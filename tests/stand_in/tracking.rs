//! Tracking invalidations made from S3 events to completion (`TRACK_STATE_MACHINE_ARN`, src/track):
//! the handler's rules on the in-memory CloudFront and Step Functions (fast), then end to end — the
//! real binary and `aws-sdk-sfn` against moto, whose interpreter runs the real workflow to its
//! completion event.
//!
//! moto's StartExecution already keeps AWS's naming rules (the same name with the same input
//! returns a running execution; a different input, or a closed execution, is
//! `ExecutionAlreadyExists`), so the stand-in needs nothing added for them.

use std::time::{Duration, Instant};

use cf_invalidator::cloudfront::MemoryCloudFront;
use cf_invalidator::invocation::Invocation;
use cf_invalidator::known::Known;
use cf_invalidator::lambda::{self, Output};
use cf_invalidator::track::{self, MemoryTracker};
use cf_invalidator::Config;
use serde_json::{json, Value};

use crate::control::aws_json;
use crate::emulator::Lambda;
use crate::eventbridge::Subscriber;
use crate::events::event;
use crate::support::{repo, SAMPLE_DISTRIBUTION};
use crate::venv::Moto;

const D: &str = SAMPLE_DISTRIBUTION;
const OTHER: &str = "EOTHERDIST0002";

fn config(vars: &[(&str, &str)]) -> Config {
    let mut all = vec![("METRICS_NAMESPACE", "")];
    all.extend_from_slice(vars);
    if !vars.iter().any(|(k, _)| *k == "ROUTES") {
        all.push(("DISTRIBUTION_ID", D));
    }
    Config::from_pairs(&all).unwrap()
}

/// The in-memory CloudFront keeps the test's clock, not the wall clock: no pacing by it.
fn invocation(id: &str) -> Invocation {
    Invocation { request_id: id.to_string(), deadline: None, now: None }
}

fn run(cfg: &Config, cf: &MemoryCloudFront, tracker: &MemoryTracker, payload: &[u8], id: &str) -> Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(lambda::handle_with(
            cfg,
            cf,
            &Known::new(),
            Some(tracker),
            None::<&cf_invalidator::queue::Off>,
            payload,
            &invocation(id),
        ))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// An SQS batch of S3 notifications, one key per message (ids `m<i>`).
fn batch(keys: &[&str]) -> Vec<u8> {
    let messages: Vec<(String, String)> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| (format!("m{i}"), crate::events::s3_notification(k, &format!("{i:04}"), false)))
        .collect();
    crate::events::sqs_event(&messages)
}

fn failures(out: &Output) -> Vec<String> {
    match out {
        Output::Sqs(r) => r.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect(),
        other => panic!("not an SQS answer: {other:?}"),
    }
}

/// Rule: one created invalidation starts one tracker, named after the invalidation, whose input is
/// the workflow's tracking form holding the invalidation as the create step would report it.
#[test]
fn one_created_invalidation_starts_one_tracker() {
    let (cf, tracker) = (MemoryCloudFront::new(&[D]), MemoryTracker::new());
    let out = run(&config(&[]), &cf, &tracker, &batch(&["a.html", "b/index.html"]), "r1");
    assert!(failures(&out).is_empty());
    let made = cf.invalidations();
    assert_eq!(made.len(), 1, "one invalidation for the batch");
    let executions = tracker.executions();
    assert_eq!(executions.len(), 1, "{executions:?}");
    assert_eq!(executions[0].name, format!("track-{D}-{}", made[0].id));
    let input: Value = serde_json::from_str(&executions[0].input).unwrap();
    let entries = input["track"]["invalidations"].as_array().expect("{track: {invalidations: [...]}}");
    assert_eq!(entries.len(), 1);
    let e = &entries[0];
    assert_eq!((e["distribution_id"].as_str(), e["invalidation_id"].as_str()), (Some(D), Some(made[0].id.as_str())));
    assert_eq!(e["caller_reference"].as_str(), Some(made[0].caller_reference.as_str()));
    assert_eq!(e["path_count"], made[0].paths.len());
    assert_eq!(e["status"], "InProgress");
    assert!(e["deadline"].as_str().is_some_and(|d| d.ends_with('Z')), "the wait loop's deadline: {e}");
}

/// Rule: each invalidation of a batch that reaches several distributions (ROUTES) gets its own
/// tracker.
#[test]
fn every_invalidation_of_a_batch_gets_its_own_tracker() {
    let routes = format!(r#"[{{"prefix":"","distributions":["{D}","{OTHER}"]}}]"#);
    let (cf, tracker) = (MemoryCloudFront::new(&[D, OTHER]), MemoryTracker::new());
    let out = run(&config(&[("ROUTES", &routes)]), &cf, &tracker, &batch(&["a.html"]), "r1");
    assert!(failures(&out).is_empty());
    let mut names: Vec<String> = tracker.executions().into_iter().map(|e| e.name).collect();
    let mut want: Vec<String> =
        cf.invalidations().iter().map(|i| track::execution_name(&i.distribution_id, &i.id)).collect();
    names.sort();
    want.sort();
    assert_eq!(names.len(), 2);
    assert_eq!(names, want);
}

/// Rule: a redelivery never starts a second tracker — not while the first runs, not after it has
/// closed, and not when the redelivery would plan other room (the submit step finds the earlier
/// invalidation first: no new invalidation, and its tracker's name is taken).
#[test]
fn a_redelivery_starts_no_second_tracker() {
    let (cf, tracker) = (MemoryCloudFront::new(&[D]), MemoryTracker::new());
    let payload = batch(&["a/1.html", "a/2.html", "a/3.html"]);
    assert!(failures(&run(&config(&[]), &cf, &tracker, &payload, "first")).is_empty());
    assert!(failures(&run(&config(&[]), &cf, &tracker, &payload, "redelivery")).is_empty());
    let name = tracker.executions()[0].name.clone();
    tracker.finish(&name);
    assert!(failures(&run(&config(&[]), &cf, &tracker, &payload, "after-it-closed")).is_empty());
    let tight = config(&[("MAX_PATHS", "1")]);
    assert!(failures(&run(&tight, &cf, &tracker, &payload, "other-room")).is_empty());
    assert_eq!(cf.invalidations().len(), 1);
    assert_eq!(tracker.executions().len(), 1, "{:?}", tracker.executions());
    assert_eq!(tracker.calls(), 4, "the fourth delivery found the same invalidation: its tracker exists");
}

/// Rule: a tracker that cannot be started never fails the message — the invalidation exists, and
/// redelivering the changes could only invalidate them again. Every source is acknowledged.
#[test]
fn a_tracker_failure_still_acknowledges_the_message() {
    let (cf, tracker) = (MemoryCloudFront::new(&[D]), MemoryTracker::new());
    tracker.script("AccessDeniedException", "not authorized to perform: states:StartExecution");
    let out = run(&config(&[]), &cf, &tracker, &batch(&["a.html", "b.html"]), "r1");
    assert!(failures(&out).is_empty(), "acknowledged");
    assert_eq!(cf.invalidations().len(), 1);
    assert!(tracker.executions().is_empty());
    // A direct S3 invoke succeeds too: Lambda would otherwise retry it.
    tracker.script("StateMachineDoesNotExist", "gone");
    let out = run(&config(&[]), &cf, &tracker, &event("s3-put.json"), "r2");
    let out = serde_json::to_value(out).unwrap();
    assert_eq!(out["outcome"], "Created", "{out}");
    assert_eq!(cf.invalidations().len(), 2);
}

/// Rule: explicit requests are not tracked: the workflow that sends them waits for them itself.
#[test]
fn explicit_requests_are_not_tracked() {
    let (cf, tracker) = (MemoryCloudFront::new(&[D]), MemoryTracker::new());
    run(&config(&[]), &cf, &tracker, json!({"distribution_id": D, "paths": ["/a"]}).to_string().as_bytes(), "r1");
    run(&config(&[]), &cf, &tracker, json!({"keys": ["b.html"]}).to_string().as_bytes(), "r2");
    assert_eq!(cf.invalidations().len(), 2);
    assert_eq!(tracker.calls(), 0);
}

// End to end: moto's CloudFront, Step Functions (running the real definition) and EventBridge; the
// real binary under `cargo lambda watch`.

const STATE_MACHINE: &str = "cf-invalidator-invalidate";
const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:cf-invalidator";

/// moto with the workflow deployed as the template deploys it, and a subscriber on its bus.
/// Invalidations are `Completed` at once, so that the tracking execution does not sit through the
/// default 30 s waits (tests/stand_in/stepfunctions.rs runs the wait loop itself).
fn deployed() -> (Moto, String, Subscriber) {
    let moto = Moto::start(&["--distribution-ids", D, "--stepfunctions", "--complete-after", "0"]);
    let definition = std::fs::read_to_string(repo().join("statemachine/invalidate.asl.json"))
        .unwrap()
        .replace("${InvalidatorFunctionArn}", FUNCTION_ARN)
        .replace("${EventBusName}", "default");
    let created = aws_json(
        moto.port,
        "states",
        "AWSStepFunctions.CreateStateMachine",
        &json!({"name": STATE_MACHINE, "definition": definition, "roleArn": "arn:aws:iam::123456789012:role/sfn", "type": "STANDARD"}),
    );
    let arn = created["stateMachineArn"].as_str().unwrap().to_string();
    let subscriber = Subscriber::on(moto.port, "default");
    (moto, arn, subscriber)
}

/// The binary, tracking with this state machine ARN on moto.
fn lambda(moto: &Moto, state_machine_arn: &str) -> Lambda {
    let mut lambda = Lambda::emulator();
    lambda.run(
        &moto.endpoint,
        &[
            ("DISTRIBUTION_ID", D),
            ("TRACK_STATE_MACHINE_ARN", state_machine_arn),
            ("AWS_ENDPOINT_URL_SFN", &moto.endpoint),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ],
    );
    lambda
}

fn executions(moto: &Moto, state_machine_arn: &str) -> Vec<Value> {
    let out = aws_json(
        moto.port,
        "states",
        "AWSStepFunctions.ListExecutions",
        &json!({"stateMachineArn": state_machine_arn}),
    );
    out["executions"].as_array().unwrap().clone()
}

fn finish(moto: &Moto, execution_arn: &str) -> Value {
    let t0 = Instant::now();
    loop {
        let d = aws_json(
            moto.port,
            "states",
            "AWSStepFunctions.DescribeExecution",
            &json!({"executionArn": execution_arn}),
        );
        if d["status"] != "RUNNING" {
            return d;
        }
        assert!(t0.elapsed() < Duration::from_secs(120), "{execution_arn} still running");
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Rule, end to end: changes from the queue are invalidated, the function starts one tracking
/// execution of the workflow for the invalidation (real SDK, real StartExecution), which waits for
/// it and publishes its `CloudFront Invalidation Completed` event; a redelivery of the batch
/// starts no second one and is acknowledged.
#[test]
fn queued_changes_are_tracked_to_one_completion_event() {
    let (moto, arn, subscriber) = deployed();
    let lambda = lambda(&moto, &arn);
    let (status, out) = lambda.invoke(&event("sqs-s3.json"));
    assert_eq!((status, &out), (200, &json!({"batchItemFailures": []})), "{}", lambda.log());
    let ids = invalidation_ids(&moto);
    assert_eq!(ids.len(), 1, "one invalidation for the batch");
    let found = executions(&moto, &arn);
    assert_eq!(found.len(), 1, "{found:?}\n{}", lambda.log());
    assert_eq!(found[0]["name"], format!("track-{D}-{}", ids[0]));
    let done = finish(&moto, found[0]["executionArn"].as_str().unwrap());
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    let output: Value = serde_json::from_str(done["output"].as_str().unwrap()).unwrap();
    assert_eq!(output["invalidations"][0]["invalidation_id"], ids[0], "{output}");
    assert_eq!(output["invalidations"][0]["status"], "Completed", "{output}");
    assert_eq!(moto.calls().iter().filter(|c| *c == "Invoke").count(), 0, "the workflow created nothing");

    let events = subscriber.wait_for(1, Duration::from_secs(5));
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["detail-type"], "CloudFront Invalidation Completed");
    assert_eq!(events[0]["detail"]["invalidation_id"], ids[0]);
    assert_eq!(events[0]["detail"]["status"], "Completed");

    let (status, out) = lambda.invoke(&event("sqs-s3.json"));
    assert_eq!((status, &out), (200, &json!({"batchItemFailures": []})), "the redelivery is acknowledged");
    assert_eq!(invalidation_ids(&moto).len(), 1, "no second invalidation");
    assert_eq!(executions(&moto, &arn).len(), 1, "no second tracker");
    let summary = summaries(&lambda);
    assert_eq!(summary.len(), 2, "{summary:?}");
    for s in &summary {
        assert_eq!((s["tracked"].as_u64(), s["tracking_failed"].as_u64()), (Some(1), Some(0)), "{s}");
    }
    assert!(subscriber.received().is_empty(), "one event in all");
}

/// Rule, end to end: when the tracker cannot be started (here: no such state machine), the
/// invalidation stands, the batch is acknowledged, and the failure is a WARN line and the
/// `TrackingFailed` metric.
#[test]
fn a_tracker_that_cannot_start_is_counted_and_the_batch_acknowledged() {
    let (moto, _, _) = deployed();
    let missing = "arn:aws:states:us-east-1:123456789012:stateMachine:no-such-workflow";
    let lambda = lambda(&moto, missing);
    let (status, out) = lambda.invoke(&event("sqs-s3.json"));
    assert_eq!((status, &out), (200, &json!({"batchItemFailures": []})), "{}", lambda.log());
    assert_eq!(invalidation_ids(&moto).len(), 1, "the invalidation stands");
    let log = lambda.log();
    let lines: Vec<Value> = log.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let warned = lines.iter().filter(|l| l["level"] == "WARN" && l.to_string().contains("invalidation not tracked"));
    assert_eq!(warned.count(), 1, "{log}");
    let summary = summaries(&lambda);
    assert_eq!(summary[0]["tracking_failed"].as_u64(), Some(1), "{:?}", summary);
    // The invocation's EMF document (by FunctionName), not the per-distribution ones.
    let emf: Vec<&Value> =
        lines.iter().filter(|l| l["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == json!([["FunctionName"]])).collect();
    assert_eq!(emf.len(), 1, "{log}");
    assert_eq!(emf[0]["TrackingFailed"], 1);
    assert_eq!(emf[0]["FailedMessages"], 0);
}

/// The invalidations moto holds for the distribution.
fn invalidation_ids(moto: &Moto) -> Vec<String> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(moto.invalidation_ids(D))
}

/// The summary lines' fields, in order.
fn summaries(lambda: &Lambda) -> Vec<Value> {
    lambda
        .log()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l.to_string().contains("invocation summary"))
        .map(|l| l["fields"].clone())
        .collect()
}
