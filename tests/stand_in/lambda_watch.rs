//! Smoke: the built `cf-invalidator` binary, served by `cargo lambda watch`'s Lambda Runtime API
//! emulator, answers invokes — a real Lambda runtime loop, a real CloudFront call to moto.

use crate::emulator::Lambda;
use crate::events::event;
use crate::support::SAMPLE_DISTRIBUTION;
use crate::venv::Moto;

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

/// The operator's view: one summary line per invocation and EMF metrics, structured (JSON) as the
/// template configures; keys and paths only at DEBUG, never at INFO.
#[test]
fn logs_summarise_without_keys_and_emit_metrics() {
    let moto = Moto::start(&["--distribution-ids", SAMPLE_DISTRIBUTION]);
    for (level, keys_visible) in [("INFO", false), ("DEBUG", true)] {
        let mut lambda = Lambda::emulator();
        lambda.run(
            &moto.endpoint,
            &[
                ("DISTRIBUTION_ID", SAMPLE_DISTRIBUTION),
                ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
                ("AWS_LAMBDA_LOG_LEVEL", level),
            ],
        );
        let (status, out) = lambda.invoke(&event("s3-awkward-keys.json"));
        assert_eq!(status, 200, "{out}");
        let log = lambda.log();
        let lines: Vec<serde_json::Value> = log.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
        let summaries: Vec<_> = lines.iter().filter(|l| l.to_string().contains("invocation summary")).collect();
        assert_eq!(summaries.len(), 1, "{level}: one summary line:\n{log}");
        let s = summaries[0].to_string();
        for field in ["keys_in", "paths", "wildcards", "invalidations", "duration_ms"] {
            assert!(s.contains(field), "{level}: summary lacks {field}: {s}");
        }
        // The invocation's document (by FunctionName); the per-distribution ones (Staleness,
        // ChangesWaiting, by DistributionId) are apart.
        let emf: Vec<_> = lines
            .iter()
            .filter(|l| l["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == serde_json::json!([["FunctionName"]]))
            .collect();
        assert_eq!(emf.len(), 1, "{level}: one EMF document of the invocation:\n{log}");
        assert_eq!(emf[0]["KeysReceived"], 8);
        assert_eq!(emf[0]["InvalidationsCreated"], 1);
        assert_eq!(emf[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"], "CfInvalidator");
        for key in ["red flower", "runtime~main", "caf\u{e9}/men\u{fc}"] {
            assert_eq!(log.contains(key), keys_visible, "{level}: key {key:?} in the log:\n{log}");
        }
        assert!(!log.contains("AWS_SECRET_ACCESS_KEY") && !log.contains("\"test\""), "no credentials in logs");
    }
}
