//! What an operator sees of an invocation: one structured summary line (the runtime's tracing
//! subscriber honours `AWS_LAMBDA_LOG_LEVEL` and `AWS_LAMBDA_LOG_FORMAT=JSON`), and CloudWatch
//! metrics in the Embedded Metric Format — a JSON line on stdout that CloudWatch Logs turns into
//! metrics, so no PutMetricData call, no extra permission, no latency. Never keys or payloads at
//! INFO; the keys and paths of each request are logged at DEBUG only.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::json;

/// The counts of one invocation.
#[derive(Debug, Clone, Default)]
pub struct Summary<'a> {
    pub source: &'static str,
    pub messages: usize,
    pub malformed: usize,
    pub keys_in: usize,
    pub keys_skipped: usize,
    pub ignored_events: usize,
    pub requests: usize,
    pub paths: usize,
    pub wildcards: usize,
    pub invalidations: Vec<&'a str>,
    /// Requests CloudFront already had from an earlier delivery of the same changes.
    pub already_invalidated: usize,
    /// Requests some or all of whose changes an invalidation made after them covers already.
    pub covered_already: usize,
    /// Creates CloudFront refused for room taken since it was read, each followed by a new look.
    pub refusals: usize,
    /// Requests held back because CloudFront's in-progress quota had no room: their changes wait.
    pub waiting: usize,
    pub failed_messages: usize,
    /// Requests refused for CloudFront's rate or in-progress limits.
    pub throttled: usize,
    /// Invalidations tracked to completion (a tracker started, or one already there).
    pub tracked: usize,
    /// Invalidations whose tracker could not be started: no completion event will follow.
    pub tracking_failed: usize,
    pub error_type: &'static str,
    pub duration_ms: u64,
}

/// Logs the summary line and, with a namespace, emits the metrics.
pub fn report(s: &Summary, metrics_namespace: Option<&str>, function_name: Option<&str>) {
    // Always INFO, so that one level shows every invocation; failures also have their own WARN
    // line where they happen, with the error's message.
    tracing::info!(
        source = s.source,
        messages = s.messages,
        malformed = s.malformed,
        keys_in = s.keys_in,
        keys_skipped = s.keys_skipped,
        ignored_events = s.ignored_events,
        requests = s.requests,
        paths = s.paths,
        wildcards = s.wildcards,
        invalidations = ?s.invalidations,
        already_invalidated = s.already_invalidated,
        covered_already = s.covered_already,
        refusals = s.refusals,
        waiting = s.waiting,
        failed_messages = s.failed_messages,
        throttled = s.throttled,
        tracked = s.tracked,
        tracking_failed = s.tracking_failed,
        error_type = s.error_type,
        duration_ms = s.duration_ms,
        "invocation summary"
    );
    if let Some(ns) = metrics_namespace {
        println!("{}", emf(s, ns, function_name.unwrap_or("local")));
    }
}

/// One EMF document (CloudWatch "Embedded metric format specification").
pub fn emf(s: &Summary, namespace: &str, function_name: &str) -> String {
    let ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
    let metric = |name: &str| json!({"Name": name, "Unit": "Count"});
    json!({
        "_aws": {
            "Timestamp": ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [["FunctionName"]],
                "Metrics": [
                    metric("MessagesReceived"), metric("KeysReceived"), metric("PathsSubmitted"), metric("Wildcards"),
                    metric("InvalidationsCreated"), metric("Throttled"), metric("Waiting"), metric("FailedMessages"),
                    metric("TrackingFailed"),
                    {"Name": "Duration", "Unit": "Milliseconds"}
                ]
            }]
        },
        "FunctionName": function_name,
        "Source": s.source,
        "MessagesReceived": s.messages,
        "KeysReceived": s.keys_in,
        "PathsSubmitted": s.paths,
        "Wildcards": s.wildcards,
        "InvalidationsCreated": s.invalidations.len(),
        "Throttled": s.throttled,
        "Waiting": s.waiting,
        "FailedMessages": s.failed_messages,
        "TrackingFailed": s.tracking_failed,
        "Duration": s.duration_ms,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_document_declares_every_metric_it_carries() {
        let s = Summary {
            source: "sqs",
            keys_in: 7,
            paths: 5,
            wildcards: 1,
            invalidations: vec!["I1"],
            throttled: 0,
            ..Default::default()
        };
        let doc: serde_json::Value = serde_json::from_str(&emf(&s, "CfInvalidator", "fn")).unwrap();
        let declared = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(declared["Namespace"], "CfInvalidator");
        for m in declared["Metrics"].as_array().unwrap() {
            let name = m["Name"].as_str().unwrap();
            assert!(doc[name].is_number(), "{name} declared but not present");
        }
        assert_eq!(doc["KeysReceived"], 7);
        assert_eq!(doc["InvalidationsCreated"], 1);
        assert_eq!(doc["FunctionName"], "fn");
        assert!(doc["_aws"]["Timestamp"].as_u64().unwrap() > 1_600_000_000_000);
    }
}
