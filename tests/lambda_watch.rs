//! Smoke: the built `cf-invalidator` binary, served by `cargo lambda watch`'s Lambda Runtime API
//! emulator, answers invokes — a real Lambda runtime loop, a real CloudFront call to moto.

mod support;

use support::{event, Lambda, Moto, SAMPLE_DISTRIBUTION};

#[test]
fn the_lambda_binary_answers_invokes_under_cargo_lambda_watch() {
    let moto = Moto::start(&["--distribution-ids", SAMPLE_DISTRIBUTION]);
    let mut lambda = Lambda::emulator();
    lambda.run(&moto.endpoint, &[("DISTRIBUTION_ID", SAMPLE_DISTRIBUTION)]);

    let (status, out) = lambda.invoke(&event("s3-put.json"));
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["distribution_id"], SAMPLE_DISTRIBUTION, "{out}");
    assert_eq!(out["status"], "InProgress", "{out}");
    assert!(out["invalidation_id"].as_str().is_some_and(|s| !s.is_empty()), "{out}");

    let (status, out) = lambda.invoke(&event("sqs-s3.json"));
    assert_eq!((status, out), (200, serde_json::json!({"batchItemFailures": []})));

    // An error reaches the caller with its stable errorType, as Step Functions would see it.
    let (status, out) = lambda.invoke(br#"{"distribution_id":"EDFDVBD632BHDS5","paths":["no-slash"]}"#);
    assert_ne!(status, 200, "{out}");
    assert_eq!(out["errorType"], "InvalidInput", "{out}");
}
