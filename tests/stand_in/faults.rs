//! The fault matrix (README "Faults"): every fault, injected end to end in front of the moto
//! stand-in, against every event source, through the real handler and the real SDK.
//!
//! Persistent faults are injected often enough to outlast the SDK's own three attempts. The outcome
//! each source needs: an SQS batch of which nothing was submitted fails as a whole with the typed
//! error (redelivered whether or not the mapping reports batch item failures; partly submitted
//! batches list their unsubmitted messages, see the handler's own tests); S3 / SNS / EventBridge
//! direct invokes and explicit requests get the typed error (Lambda retries, then the failed-event
//! queue; Step Functions applies its Retry).

use std::time::Duration;

use cf_invalidator::deadline::Instant;

use cf_invalidator::invocation::Invocation;
use cf_invalidator::lambda;
use cf_invalidator::model::TargetId;
use cf_invalidator::Config;
use serde_json::{json, Value};

use crate::events::event;
use crate::support::SAMPLE_DISTRIBUTION;
use crate::venv::Moto;

fn config() -> Config {
    Config::from_pairs(&[("DISTRIBUTION_ID", SAMPLE_DISTRIBUTION)]).unwrap()
}

/// One cell: inject `fault` `times` times, deliver the source's sample event, check the outcome.
async fn cell(source: &str, name: &str, fault: Value, times: usize, want_error: &str, deadline: Option<Duration>) {
    let moto = Moto::start(&["--distribution-ids", SAMPLE_DISTRIBUTION]);
    moto.inject(Value::Array(vec![fault.clone(); times]));
    let inv = Invocation {
        request_id: format!("req-{source}"),
        deadline: deadline.map(|d| Instant::now() + d),
        now: Some(std::time::SystemTime::now()),
    };
    let started = Instant::now();
    let out = lambda::handle(&config(), &moto.cloudfront(), &event(name), &inv).await;
    if let Some(d) = deadline {
        assert!(started.elapsed() < d, "{source}: answered within the invocation's time ({:?})", started.elapsed());
    }
    match (source, out) {
        ("sqs", Ok(o)) => panic!("{source} × {fault}: the batch must come back whole, got {o:?}"),
        (_, Err(e)) => assert_eq!(e.error_type(), want_error, "{source} × {fault}: {e}"),
        (_, Ok(o)) => panic!("{source} × {fault}: acknowledged without an invalidation: {o:?}"),
    }
    if deadline.is_none() {
        assert!(moto.invalidation_ids(SAMPLE_DISTRIBUTION).await.is_empty(), "{source} × {fault}: nothing created");
    }
}

fn too_many() -> (Value, usize, &'static str, Option<Duration>) {
    let f = json!({"op": "CreateInvalidation", "status": 400, "code": "TooManyInvalidationsInProgress",
                   "message": "Processing your request will cause you to exceed the maximum number of in-progress wildcard invalidations."});
    // A refusal is looked at again: it lasts when every look, in an unchanged room, is refused.
    (f, cf_invalidator::submit::LOOKS_IN_AN_UNCHANGED_ROOM, "TooManyInvalidationsInProgress", None)
}
// Persistent faults are injected 3 times: the SDK's standard retry makes 3 attempts.
fn throttling() -> (Value, usize, &'static str, Option<Duration>) {
    (
        json!({"op": "CreateInvalidation", "status": 400, "code": "Throttling", "message": "Rate exceeded"}),
        3,
        "Throttled",
        None,
    )
}
fn http_500() -> (Value, usize, &'static str, Option<Duration>) {
    (json!({"op": "CreateInvalidation", "status": 500, "code": "InternalError"}), 3, "CloudFrontError", None)
}
fn http_503() -> (Value, usize, &'static str, Option<Duration>) {
    (json!({"op": "CreateInvalidation", "status": 503, "code": "ServiceUnavailable"}), 3, "CloudFrontError", None)
}
fn reset() -> (Value, usize, &'static str, Option<Duration>) {
    (json!({"op": "CreateInvalidation", "reset": true}), 3, "CloudFrontError", None)
}
/// A response slower than the invocation's remaining time (3 s): given up before the deadline.
fn slow() -> (Value, usize, &'static str, Option<Duration>) {
    (json!({"op": "CreateInvalidation", "delay": 6}), 1, "CloudFrontError", Some(Duration::from_secs(3)))
}

/// One test per cell of the matrix: `fault_source`.
macro_rules! matrix {
    ($($fault:ident),*) => { $( mod $fault {
        use super::*;
        async fn run(source: &str, name: &str) {
            let (f, times, err, deadline) = super::$fault();
            cell(source, name, f, times, err, deadline).await;
        }
        #[tokio::test] async fn sqs() { run("sqs", "sqs-s3.json").await }
        #[tokio::test] async fn s3() { run("s3", "s3-put.json").await }
        #[tokio::test] async fn sns() { run("sns", "sns.json").await }
        #[tokio::test] async fn eventbridge() { run("eventbridge", "eventbridge-created.json").await }
        #[tokio::test] async fn explicit() { run("explicit", "explicit-paths.json").await }
    } )* };
}

matrix!(too_many, throttling, http_500, http_503, reset, slow);

/// A slow CreateInvalidation may still complete at CloudFront after the handler gave up; the
/// redelivery sends the same CallerReference and gets that invalidation back, not a second one.
#[tokio::test]
async fn a_call_that_completed_after_the_handler_gave_up_is_not_duplicated() {
    let moto = Moto::start(&["--distribution-ids", SAMPLE_DISTRIBUTION]);
    let cf = moto.cloudfront();
    moto.inject(json!([{"op": "CreateInvalidation", "delay": 3}]));
    let inv = Invocation {
        request_id: "r1".into(),
        deadline: Some(Instant::now() + Duration::from_secs(2)),
        now: Some(std::time::SystemTime::now()),
    };
    let e = lambda::handle(&config(), &cf, &event("sqs-s3.json"), &inv).await.unwrap_err();
    assert_eq!(e.error_type(), "CloudFrontError", "the whole batch comes back");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(moto.invalidation_ids(SAMPLE_DISTRIBUTION).await.len(), 1, "created at CloudFront after all");
    let redelivery = Invocation { request_id: "r2".into(), deadline: None, now: Some(std::time::SystemTime::now()) };
    let out = lambda::handle(&config(), &cf, &event("sqs-s3.json"), &redelivery).await.unwrap();
    assert_eq!(serde_json::to_value(&out).unwrap(), json!({"batchItemFailures": []}));
    assert_eq!(moto.invalidation_ids(SAMPLE_DISTRIBUTION).await.len(), 1, "no second invalidation");
}

/// Reading what is in progress may take only a share of the invocation's time: a slow
/// ListInvalidations is given up (planning as if nothing were in progress) and the create still
/// happens before the deadline.
#[tokio::test]
async fn a_slow_room_lookup_leaves_time_to_create() {
    let moto = Moto::start(&["--distribution-ids", SAMPLE_DISTRIBUTION]);
    moto.inject(json!([{"op": "ListInvalidations", "delay": 6}]));
    let inv = Invocation {
        request_id: "r".into(),
        deadline: Some(Instant::now() + Duration::from_secs(5)),
        now: Some(std::time::SystemTime::now()),
    };
    let started = Instant::now();
    let out = lambda::handle(&config(), &moto.cloudfront(), &event("s3-put.json"), &inv).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(5), "answered in time: {:?}", started.elapsed());
    assert_eq!(serde_json::to_value(&out).unwrap()["outcome"], "Created");
    assert_eq!(moto.invalidation_ids(SAMPLE_DISTRIBUTION).await.len(), 1);
}

/// One transient fault of each retryable kind is absorbed by the SDK's own retry: the batch is
/// acknowledged and exactly one invalidation exists.
#[tokio::test]
async fn a_transient_fault_is_retried_in_process() {
    let moto = Moto::start(&["--distribution-ids", SAMPLE_DISTRIBUTION]);
    let cf = moto.cloudfront();
    let faults = [
        json!({"op": "CreateInvalidation", "status": 400, "code": "Throttling", "message": "Rate exceeded"}),
        json!({"op": "CreateInvalidation", "status": 500, "code": "InternalError"}),
        json!({"op": "CreateInvalidation", "status": 503, "code": "ServiceUnavailable"}),
        json!({"op": "CreateInvalidation", "reset": true}),
    ];
    for (i, fault) in faults.into_iter().enumerate() {
        moto.inject(json!([fault.clone()]));
        let mut batch: Value = serde_json::from_slice(&event("sqs-s3.json")).unwrap();
        // A new upload of another key each round (new sequencer), so each round is its own change
        // set, which the invalidation of the round before does not cover already.
        let body = batch["Records"][0]["body"].as_str().unwrap().replace("0062E99A88DC407701", &format!("00{i:016X}"));
        batch["Records"][0]["body"] = json!(body.replace(".html", &format!("-{i}.html")));
        let inv = Invocation { request_id: format!("r{i}"), deadline: None, now: Some(std::time::SystemTime::now()) };
        let out = lambda::handle(&config(), &cf, batch.to_string().as_bytes(), &inv).await.unwrap();
        assert_eq!(serde_json::to_value(&out).unwrap(), json!({"batchItemFailures": []}), "{fault}");
        assert_eq!(moto.invalidation_ids(SAMPLE_DISTRIBUTION).await.len(), i + 1, "{fault}");
    }
}

/// Rule: an error from the real SDK reads as one line, the operation, the error
/// code, the service's message and the request id, and not as the raw HTTP answer (headers,
/// `SdkBody`), which the SDK's `DisplayErrorContext` appends and which goes to DEBUG only.
#[tokio::test]
async fn sdk_errors_are_one_line_naming_the_operation_and_the_code() {
    use cf_invalidator::cloudfront::{CloudFront, CreateRequest, SdkCloudFront};
    use cf_invalidator::track::{SdkTracker, Tracker};

    let moto = Moto::start(&["--distribution-ids", SAMPLE_DISTRIBUTION]);
    let cf = moto.cloudfront();
    let unknown = "E0UNKNOWN0DIST";
    let denied = "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: cloudfront:ListInvalidations";
    moto.inject(json!([{"op": "ListInvalidations", "status": 403, "code": "AccessDenied", "message": denied}]));
    let paths = ["/index.html".to_string()];
    let (sample, unknown_id) = (TargetId::parse(SAMPLE_DISTRIBUTION).unwrap(), TargetId::parse(unknown).unwrap());
    let create = CreateRequest { target: &unknown_id, caller_reference: "ref-1", paths: &paths };
    // Nothing listens there: no answer at all, after the SDK's own three attempts.
    let nowhere = SdkCloudFront::from_client(crate::venv::cloudfront_client(&format!(
        "http://127.0.0.1:{}",
        crate::emulator::free_port()
    )));
    let sfn = aws_sdk_sfn::Client::from_conf(
        aws_sdk_sfn::Config::builder()
            .behavior_version(aws_sdk_sfn::config::BehaviorVersion::latest())
            .endpoint_url(&moto.endpoint)
            .region(aws_sdk_sfn::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_sfn::config::Credentials::new("test", "test", None, None, "tests"))
            .build(),
    );
    let tracker = SdkTracker::from_client(sfn, "arn:aws:states:us-east-1:123456789012:stateMachine:missing");

    // (what was called, the error's text, what the line must name)
    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        (
            "ListInvalidations denied",
            cf.list_invalidations(&sample, None).await.unwrap_err().to_string(),
            vec!["ListInvalidations: AccessDenied: ", denied, "(request id cfstub)"],
        ),
        (
            "ListInvalidations of an unknown distribution",
            cf.list_invalidations(&unknown_id, None).await.unwrap_err().to_string(),
            vec!["ListInvalidations: NoSuchDistribution", unknown, "request id "],
        ),
        (
            "GetInvalidation of an unknown distribution",
            cf.get_invalidation(&unknown_id, "I2J0I21PCUYOIK").await.unwrap_err().to_string(),
            vec!["GetInvalidation: NoSuchDistribution", unknown, "request id "],
        ),
        (
            "CreateInvalidation on an unknown distribution",
            cf.create_invalidation(create, None).await.unwrap_err().to_string(),
            vec!["CreateInvalidation: NoSuchDistribution", unknown, "request id "],
        ),
        (
            "ListInvalidations with nothing listening",
            nowhere.list_invalidations(&sample, None).await.unwrap_err().to_string(),
            vec!["ListInvalidations: the request could not be sent: "],
        ),
        (
            "StartExecution of a missing state machine",
            tracker.start_execution("exec-1", "{}", None).await.unwrap_err().message,
            vec!["StartExecution: StateMachineDoesNotExist", "request id "],
        ),
    ];
    for (call, text, names) in cases {
        eprintln!("{call}: {text}");
        assert!(!text.contains(['\n', '\r']), "{call}: one line: {text}");
        for name in names {
            assert!(text.contains(name), "{call}: names {name:?}: {text}");
        }
        for raw in ["SdkBody", "headers", "HeaderMap", "content-type", "Response {"] {
            assert!(!text.contains(raw), "{call}: no raw HTTP ({raw}): {text}");
        }
        assert!(text.len() < 400, "{call}: {} characters: {text}", text.len());
    }
}
