//! The failed-event queue read back end to end: the built `cf-invalidator` binary under
//! `cargo lambda watch`, CloudFront the moto stand-in with AWS's in-progress quota. An explicit
//! request invoked asynchronously while the quota is full fails on every attempt, and Lambda sends
//! its destination record to the failed-event queue, whose messages the function reads back.

use cf_invalidator::model::{Change, ChangeKind};
use cf_invalidator::reference;
use serde_json::{json, Value};

use crate::emulator::Lambda;
use crate::events::{s3_notification, sqs_event};
use crate::support::SAMPLE_DISTRIBUTION as D;
use crate::venv::Moto;

/// Lambda's on-failure destination record of an async invoke of `payload` (request `request_id`).
fn destination_record(payload: &Value, request_id: &str) -> String {
    json!({"version": "1.0", "timestamp": "2026-01-01T00:05:00.000Z",
        "requestContext": {"requestId": request_id, "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:cf-invalidator:$LATEST",
            "condition": "RetriesExhausted", "approximateInvokeCount": 3},
        "requestPayload": payload,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorType": "TooManyInvalidationsInProgress", "errorMessage": "no room"}})
    .to_string()
}

/// Rule: a destination record of an explicit request is read as that request — invalidated
/// under the reference its attempts derived from the request id, acknowledged — beside an S3
/// message of the same batch; a malformed one fails alone.
#[tokio::test]
async fn an_explicit_request_comes_back_from_the_failed_event_queue_and_is_invalidated() {
    let moto = Moto::start(&["--distribution-ids", D, "--quota", "--complete-after", "-1"]);
    let mut lambda = Lambda::emulator();
    lambda.run(&moto.endpoint, &[("DISTRIBUTION_ID", D)]);

    // The async invoke's attempts: every wildcard slot is taken.
    let wild: Vec<String> = (0..15).map(|i| format!("/busy{i}/*")).collect();
    let batch = aws_sdk_cloudfront::types::Paths::builder().quantity(15).set_items(Some(wild)).build().unwrap();
    let batch =
        aws_sdk_cloudfront::types::InvalidationBatch::builder().paths(batch).caller_reference("busy").build().unwrap();
    moto.sdk().create_invalidation().distribution_id(D).invalidation_batch(batch).send().await.unwrap();
    let paths = json!({"distribution_id": D, "paths": ["/assets/*"]});
    let (status, out) = lambda.invoke(paths.to_string().as_bytes());
    assert_ne!(status, 200, "{out}");
    assert_eq!(out["errorType"], "TooManyInvalidationsInProgress", "{out}");

    // Room again; the failed-event queue's batch: the record, a keys request's, a malformed one,
    // and an S3 notification.
    moto.complete(None);
    let keys = json!({"keys": ["docs/a.html"]});
    let batch = sqs_event(&[
        ("m0".into(), destination_record(&paths, "req-async-1")),
        ("m1".into(), destination_record(&keys, "req-async-2")),
        ("m2".into(), destination_record(&json!({"distribution_id": D, "paths": ["no-slash"]}), "req-async-3")),
        ("m3".into(), s3_notification("b.html", "0055", false)),
    ]);
    let (status, out) = lambda.invoke(&batch);
    assert_eq!((status, out), (200, json!({"batchItemFailures": [{"itemIdentifier": "m2"}]})));

    let sdk = moto.sdk();
    let mut made = Vec::new();
    for id in moto.invalidation_ids(D).await {
        let inv = sdk.get_invalidation().distribution_id(D).id(&id).send().await.unwrap().invalidation.unwrap();
        let batch = inv.invalidation_batch.unwrap();
        made.push((batch.caller_reference, batch.paths.unwrap().items.unwrap_or_default()));
    }
    let by_paths = |p: &[&str]| made.iter().find(|(_, items)| items == p).map(|(r, _)| r.clone());
    let given = vec!["/assets/*".to_string()];
    let want = reference::decide(None, D, std::iter::empty(), &given, "req-async-1").value;
    assert_eq!(by_paths(&["/assets/*"]), Some(want), "the paths, under the reference of their attempts");
    let key = Change {
        message: 0,
        bucket: None,
        key: "docs/a.html".into(),
        kind: ChangeKind::Created,
        version: None,
        time: None,
    };
    let want = reference::decide(None, D, [&key].into_iter(), &[], "req-async-2").value;
    assert_eq!(by_paths(&["/docs/a.html"]), Some(want), "the keys, under the reference of their attempts");
    assert!(by_paths(&["/b.html"]).is_some(), "the S3 message beside them");
    assert_eq!(made.len(), 4, "the busy one and these three: {made:?}");
}
