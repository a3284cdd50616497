//! The fault matrix (README "Faults"): every fault, injected end to end in front of the moto
//! stand-in, against every event source, through the real handler and the real SDK.
//!
//! Persistent faults are injected often enough to outlast the SDK's own three attempts. The outcome
//! each source needs: SQS lists every unsubmitted message in `batchItemFailures` (redelivered, then
//! dead-lettered); S3 / SNS / EventBridge direct invokes and explicit requests get the typed error
//! (Lambda retries, then the on-failure destination; Step Functions applies its Retry).

mod support;

use std::time::{Duration, Instant};

use cf_invalidator::handler::{self, Invocation, Output};
use cf_invalidator::Config;
use serde_json::{json, Value};
use support::{event, Moto, SAMPLE_DISTRIBUTION};

const SOURCES: &[(&str, &str)] = &[
    ("sqs", "sqs-s3.json"),
    ("s3", "s3-put.json"),
    ("sns", "sns.json"),
    ("eventbridge", "eventbridge-created.json"),
    ("explicit", "explicit-paths.json"),
];

fn config() -> Config {
    Config::from_lookup(|n| (n == "DISTRIBUTION_ID").then(|| SAMPLE_DISTRIBUTION.to_string())).unwrap()
}

fn message_ids(name: &str) -> Vec<Value> {
    let v: Value = serde_json::from_slice(&event(name)).unwrap();
    v["Records"].as_array().unwrap().iter().map(|r| json!({"itemIdentifier": r["messageId"]})).collect()
}

/// Injects `fault` `times` times before each source's event and checks the outcome.
async fn cell_row(fault: Value, times: usize, want_error: &str, deadline: Option<Duration>) {
    let moto = Moto::start(&["--distribution-ids", SAMPLE_DISTRIBUTION]);
    let cf = moto.cloudfront();
    let cfg = config();
    for (source, name) in SOURCES {
        moto.control("DELETE", "/_cfstub/faults", &Value::Null);
        moto.inject(Value::Array(vec![fault.clone(); times]));
        let before = moto.invalidation_ids(SAMPLE_DISTRIBUTION).await.len();
        let inv = Invocation { request_id: format!("req-{source}"), deadline: deadline.map(|d| Instant::now() + d) };
        let started = Instant::now();
        let out = handler::handle(&cfg, &cf, &event(name), &inv).await;
        if let Some(d) = deadline {
            assert!(started.elapsed() < d, "{source}: answered within the invocation's time ({:?})", started.elapsed());
        }
        match (source, out) {
            (&"sqs", Ok(Output::Sqs(r))) => {
                let got = serde_json::to_value(&r).unwrap();
                assert_eq!(
                    got["batchItemFailures"],
                    json!(message_ids(name)),
                    "{source} × {fault}: every message back to the queue"
                );
            }
            (&"sqs", other) => panic!("{source} × {fault}: {other:?}"),
            (_, Err(e)) => assert_eq!(e.error_type(), want_error, "{source} × {fault}: {e}"),
            (_, Ok(o)) => panic!("{source} × {fault}: acknowledged without an invalidation: {o:?}"),
        }
        if deadline.is_none() {
            assert_eq!(
                moto.invalidation_ids(SAMPLE_DISTRIBUTION).await.len(),
                before,
                "{source} × {fault}: nothing created"
            );
        }
    }
}

#[tokio::test]
async fn too_many_invalidations_in_progress() {
    let fault = json!({"op": "CreateInvalidation", "status": 400, "code": "TooManyInvalidationsInProgress",
                       "message": "Processing your request will cause you to exceed the maximum number of in-progress wildcard invalidations."});
    cell_row(fault, 1, "TooManyInvalidationsInProgress", None).await;
}

#[tokio::test]
async fn throttling_rate_exceeded() {
    let fault = json!({"op": "CreateInvalidation", "status": 400, "code": "Throttling", "message": "Rate exceeded"});
    cell_row(fault, 3, "Throttled", None).await;
}

#[tokio::test]
async fn http_500() {
    cell_row(json!({"op": "CreateInvalidation", "status": 500, "code": "InternalError"}), 3, "CloudFrontError", None)
        .await;
}

#[tokio::test]
async fn http_503() {
    cell_row(
        json!({"op": "CreateInvalidation", "status": 503, "code": "ServiceUnavailable"}),
        3,
        "CloudFrontError",
        None,
    )
    .await;
}

#[tokio::test]
async fn connection_reset() {
    cell_row(json!({"op": "CreateInvalidation", "reset": true}), 3, "CloudFrontError", None).await;
}

/// A response slower than the invocation's remaining time: the handler gives up before the
/// deadline (keeping time to answer) and reports the failure.
#[tokio::test]
async fn response_slower_than_the_remaining_time() {
    cell_row(json!({"op": "CreateInvalidation", "delay": 6}), 1, "CloudFrontError", Some(Duration::from_secs(3))).await;
}

/// A slow CreateInvalidation may still complete at CloudFront after the handler gave up; the
/// redelivery sends the same CallerReference and gets that invalidation back, not a second one.
#[tokio::test]
async fn a_call_that_completed_after_the_handler_gave_up_is_not_duplicated() {
    let moto = Moto::start(&["--distribution-ids", SAMPLE_DISTRIBUTION]);
    let cf = moto.cloudfront();
    moto.inject(json!([{"op": "CreateInvalidation", "delay": 3}]));
    let inv = Invocation { request_id: "r1".into(), deadline: Some(Instant::now() + Duration::from_secs(2)) };
    let out = handler::handle(&config(), &cf, &event("sqs-s3.json"), &inv).await.unwrap();
    assert_eq!(serde_json::to_value(&out).unwrap()["batchItemFailures"].as_array().unwrap().len(), 4);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(moto.invalidation_ids(SAMPLE_DISTRIBUTION).await.len(), 1, "created at CloudFront after all");
    let redelivery = Invocation { request_id: "r2".into(), deadline: None };
    let out = handler::handle(&config(), &cf, &event("sqs-s3.json"), &redelivery).await.unwrap();
    assert_eq!(serde_json::to_value(&out).unwrap(), json!({"batchItemFailures": []}));
    assert_eq!(moto.invalidation_ids(SAMPLE_DISTRIBUTION).await.len(), 1, "no second invalidation");
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
        // A new upload each round (new sequencer), so each round is its own change set.
        batch["Records"][0]["body"] =
            json!(batch["Records"][0]["body"].as_str().unwrap().replace("0062E99A88DC407701", &format!("00{i:016X}")));
        let inv = Invocation { request_id: format!("r{i}"), deadline: None };
        let out = handler::handle(&config(), &cf, batch.to_string().as_bytes(), &inv).await.unwrap();
        assert_eq!(serde_json::to_value(&out).unwrap(), json!({"batchItemFailures": []}), "{fault}");
        assert_eq!(moto.invalidation_ids(SAMPLE_DISTRIBUTION).await.len(), i + 1, "{fault}");
    }
}
