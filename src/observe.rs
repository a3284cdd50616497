//! What an operator sees of an invocation: one structured summary line (the runtime's tracing
//! subscriber honours `AWS_LAMBDA_LOG_LEVEL` and `AWS_LAMBDA_LOG_FORMAT=JSON`), and CloudWatch
//! metrics in the Embedded Metric Format — a JSON line on stdout that CloudWatch Logs turns into
//! metrics, so no PutMetricData call, no extra permission, no latency. Never keys or payloads at
//! INFO; the keys and paths of each request are logged at DEBUG only.
//!
//! Two kinds of EMF documents: one per invocation ([`emf`], by `FunctionName`: [`FUNCTION_METRICS`]),
//! and per distribution what the invocation did there ([`distribution_emf`], by `DistributionId`:
//! [`DISTRIBUTION_METRICS`]) — the staleness of the changes it covered, the changes still waiting
//! for room, the invalidations, paths and wildcards it created, the creates refused for room, the
//! requests throttled, and whether the monthly path budget was in force. Staleness is a property of
//! the site, not of the function, and the template's alarm and dashboard watch one distribution. A
//! distribution tenant's counts go to its parent distribution (`DISTRIBUTION_TENANTS`), the tenant
//! named beside them. The two lists of names are what the template's dashboard and alarms are
//! checked against (tests/stand_in/template.rs).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;

use crate::error::Error;

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
    /// Requests submitted while their distribution's paths this month had reached
    /// `MONTHLY_PATH_BUDGET` (`budget.rs`): planned for fewest billed paths.
    pub budget_in_force: usize,
    pub failed_messages: usize,
    /// Requests refused for CloudFront's rate or in-progress limits.
    pub throttled: usize,
    /// Invalidations tracked to completion (a tracker started, or one already there).
    pub tracked: usize,
    /// Invalidations whose tracker could not be started: no completion event will follow.
    pub tracking_failed: usize,
    /// The first error, when anything failed: its `errorType` is logged, and whether it is
    /// expected ([`Error::is_expected`]) decides the `UnexpectedErrors` metric.
    pub error: Option<&'a Error>,
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
        budget_in_force = s.budget_in_force,
        failed_messages = s.failed_messages,
        throttled = s.throttled,
        tracked = s.tracked,
        tracking_failed = s.tracking_failed,
        error_type = s.error.map_or("", Error::error_type),
        duration_ms = s.duration_ms,
        "invocation summary"
    );
    if let Some(ns) = metrics_namespace {
        println!("{}", emf(s, ns, function_name.unwrap_or("local")));
    }
}

/// The metrics of [`emf`], by `FunctionName`: (name, unit).
pub const FUNCTION_METRICS: [(&str, &str); 12] = [
    ("MessagesReceived", "Count"),
    ("KeysReceived", "Count"),
    ("PathsSubmitted", "Count"),
    ("Wildcards", "Count"),
    ("InvalidationsCreated", "Count"),
    ("Refusals", "Count"),
    ("Throttled", "Count"),
    ("Waiting", "Count"),
    ("FailedMessages", "Count"),
    ("TrackingFailed", "Count"),
    ("UnexpectedErrors", "Count"),
    ("Duration", "Milliseconds"),
];

/// One EMF document (CloudWatch "Embedded metric format specification").
pub fn emf(s: &Summary, namespace: &str, function_name: &str) -> String {
    let values = [
        s.messages as u64,
        s.keys_in as u64,
        s.paths as u64,
        s.wildcards as u64,
        s.invalidations.len() as u64,
        s.refusals as u64,
        s.throttled as u64,
        s.waiting as u64,
        s.failed_messages as u64,
        s.tracking_failed as u64,
        u64::from(s.error.is_some_and(|e| !e.is_expected())),
        s.duration_ms,
    ];
    let mut doc = json!({
        "_aws": {
            "Timestamp": now_ms(),
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [["FunctionName"]],
                "Metrics": FUNCTION_METRICS.iter().map(|(name, unit)| json!({"Name": name, "Unit": unit})).collect::<Vec<_>>(),
            }]
        },
        "FunctionName": function_name,
        "Source": s.source,
    });
    for ((name, _), value) in FUNCTION_METRICS.iter().zip(values) {
        doc[*name] = json!(value);
    }
    doc.to_string()
}

/// CloudWatch's EMF specification: a metric's array holds at most 100 values.
pub const EMF_MAX_VALUES: usize = 100;

/// A change's staleness: from the change's time to the `CreateTime` of the invalidation that
/// covers it. Zero when the invalidation is dated before the change: S3's `eventTime` and
/// CloudFront's `CreateTime` come from different clocks, and an invalidation found covering
/// already was created after the change by the covering rule, so anything below zero is skew.
pub fn staleness(change_time: SystemTime, create_time: SystemTime) -> Duration {
    create_time.duration_since(change_time).unwrap_or(Duration::ZERO)
}

/// The metrics of [`distribution_emf`], by `DistributionId`: (name, unit).
pub const DISTRIBUTION_METRICS: [(&str, &str); 8] = [
    ("Staleness", "Seconds"),
    ("ChangesWaiting", "Count"),
    ("InvalidationsCreated", "Count"),
    ("PathsSubmitted", "Count"),
    ("Wildcards", "Count"),
    ("Refusals", "Count"),
    ("Throttled", "Count"),
    ("PathBudgetInForce", "Count"),
];

/// What one invocation did on one distribution (or tenant): the values of [`distribution_emf`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DistributionCounts {
    /// One value per change covered, whether by an invalidation created now or one found
    /// covering already ([`staleness`]).
    pub staleness: Vec<Duration>,
    /// Changes held for room.
    pub changes_waiting: usize,
    /// Invalidations created, and their paths and wildcard paths.
    pub invalidations: usize,
    pub paths: usize,
    pub wildcards: usize,
    /// Creates CloudFront refused for room taken since it was read.
    pub refusals: usize,
    /// Requests refused for CloudFront's rate or in-progress limits (as the function's `Throttled`).
    pub throttled: usize,
    /// With `MONTHLY_PATH_BUDGET`: whether this month's paths had reached it (`None`: no budget,
    /// no data point).
    pub budget_in_force: Option<bool>,
}

/// The per-distribution EMF documents of one invocation ([`DISTRIBUTION_METRICS`]), all by
/// `DistributionId` (the parent distribution): `Staleness` (Seconds, one value per change covered)
/// and the counts of [`DistributionCounts`].
///
/// A tenant's counts go to its parent: `distribution_id` is then the parent's id and
/// `tenant_id` names the tenant as a plain member `DistributionTenantId` of the document — searchable
/// in CloudWatch Logs Insights, but not a dimension. The one dimension set stays {`DistributionId`}
/// because CloudWatch matches an alarm's dimensions exactly: a second set, or a dimension added to
/// this one, would leave the template's `StalenessAlarm` (on `DistributionId` alone) and its
/// dashboard blind to a tenant's changes. At most [`EMF_MAX_VALUES`] staleness values per document,
/// so a large batch gives several; the counts are in the first only, so that their Sum counts each
/// once. Always at least one document: a zero is a data point, so the metric shows "nothing waits"
/// rather than "no data". Pure: the caller gives the timestamp (ms since the epoch).
pub fn distribution_emf(
    namespace: &str,
    function_name: &str,
    distribution_id: &str,
    tenant_id: Option<&str>,
    counts: &DistributionCounts,
    timestamp_ms: u64,
) -> Vec<String> {
    // Milliseconds are CloudFront's and S3's precision; seconds are the unit the alarm reads.
    let seconds = |d: &Duration| d.as_millis() as f64 / 1000.0;
    let staleness = &counts.staleness;
    let chunks: Vec<&[Duration]> =
        if staleness.is_empty() { vec![&[]] } else { staleness.chunks(EMF_MAX_VALUES).collect() };
    let firsts: [(&str, Option<u64>); 7] = [
        ("ChangesWaiting", Some(counts.changes_waiting as u64)),
        ("InvalidationsCreated", Some(counts.invalidations as u64)),
        ("PathsSubmitted", Some(counts.paths as u64)),
        ("Wildcards", Some(counts.wildcards as u64)),
        ("Refusals", Some(counts.refusals as u64)),
        ("Throttled", Some(counts.throttled as u64)),
        ("PathBudgetInForce", counts.budget_in_force.map(u64::from)),
    ];
    let unit = |name: &str| DISTRIBUTION_METRICS.iter().find(|(n, _)| *n == name).map_or("Count", |(_, u)| *u);
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, chunk)| {
            let mut metrics = Vec::new();
            let mut doc = json!({
                "FunctionName": function_name,
                "DistributionId": distribution_id,
            });
            if let Some(tenant) = tenant_id {
                doc["DistributionTenantId"] = json!(tenant);
            }
            if !chunk.is_empty() {
                metrics.push(json!({"Name": "Staleness", "Unit": unit("Staleness")}));
                doc["Staleness"] = json!(chunk.iter().map(seconds).collect::<Vec<f64>>());
            }
            if i == 0 {
                for (name, value) in firsts {
                    if let Some(v) = value {
                        metrics.push(json!({"Name": name, "Unit": unit(name)}));
                        doc[name] = json!(v);
                    }
                }
            }
            doc["_aws"] = json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": namespace,
                    "Dimensions": [["DistributionId"]],
                    "Metrics": metrics,
                }]
            });
            doc.to_string()
        })
        .collect()
}

/// Prints [`distribution_emf`]'s documents now, with a namespace (none: metrics are off).
pub fn report_distribution(
    metrics_namespace: Option<&str>,
    function_name: Option<&str>,
    distribution_id: &str,
    tenant_id: Option<&str>,
    counts: &DistributionCounts,
) {
    if let Some(ns) = metrics_namespace {
        for line in distribution_emf(ns, function_name.unwrap_or("local"), distribution_id, tenant_id, counts, now_ms())
        {
            println!("{line}");
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
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
        let doc = valid_emf(&emf(&s, "CfInvalidator", "fn"));
        assert_eq!(doc["UnexpectedErrors"], 0);
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

    /// Checks one document against CloudWatch's EMF specification: an `_aws` block with a
    /// Timestamp and one CloudWatchMetrics directive (Namespace, Dimensions, Metrics); every
    /// dimension a string member; every declared metric a member holding a number or an array of
    /// at most 100 numbers, with a Unit CloudWatch knows. Returns the document.
    fn valid_emf(line: &str) -> serde_json::Value {
        let doc: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(doc["_aws"]["Timestamp"].is_u64(), "{line}");
        let directives = doc["_aws"]["CloudWatchMetrics"].as_array().unwrap();
        assert_eq!(directives.len(), 1, "{line}");
        let d = &directives[0];
        assert!(d["Namespace"].as_str().is_some_and(|n| !n.is_empty()), "{line}");
        for set in d["Dimensions"].as_array().unwrap() {
            for name in set.as_array().unwrap() {
                assert!(doc[name.as_str().unwrap()].is_string(), "dimension {name} is not a string member: {line}");
            }
        }
        let metrics = d["Metrics"].as_array().unwrap();
        assert!(!metrics.is_empty(), "{line}");
        for m in metrics {
            let name = m["Name"].as_str().unwrap();
            assert!(["Seconds", "Count", "Milliseconds"].contains(&m["Unit"].as_str().unwrap()), "{m}");
            match &doc[name] {
                serde_json::Value::Number(_) => {}
                serde_json::Value::Array(values) => {
                    assert!(!values.is_empty() && values.len() <= EMF_MAX_VALUES, "{name}: {} values", values.len());
                    assert!(values.iter().all(|v| v.is_number()), "{name}");
                }
                other => panic!("{name} declared but holds {other}"),
            }
        }
        doc
    }

    fn staleness_values(doc: &serde_json::Value) -> Vec<f64> {
        doc["Staleness"].as_array().map_or(vec![], |a| a.iter().map(|v| v.as_f64().unwrap()).collect())
    }

    /// Rule: at most 100 values in one EMF array, so a batch of 250 changes gives three
    /// documents of 100, 100 and 50 values, in order, each exact to the millisecond, each by the
    /// (parent) distribution; the changes waiting are counted once, in the first.
    #[test]
    fn staleness_of_250_changes_fills_three_documents_of_at_most_100_values() {
        let given: Vec<Duration> = (0..250u64).map(|i| Duration::from_millis(i * 1_001)).collect();
        let counts = DistributionCounts { staleness: given, changes_waiting: 7, ..Default::default() };
        let lines = distribution_emf("CfInvalidator", "fn", "EDFDVBD632BHDS5", None, &counts, 1_700_000_000_000);
        assert_eq!(lines.len(), 3);
        let docs: Vec<serde_json::Value> = lines.iter().map(|l| valid_emf(l)).collect();
        assert_eq!(docs.iter().map(|d| staleness_values(d).len()).collect::<Vec<_>>(), [100, 100, 50]);
        let all: Vec<f64> = docs.iter().flat_map(staleness_values).collect();
        let want: Vec<f64> = (0..250u64).map(|i| (i * 1_001) as f64 / 1000.0).collect();
        assert_eq!(all, want);
        for (i, d) in docs.iter().enumerate() {
            let directive = &d["_aws"]["CloudWatchMetrics"][0];
            assert_eq!(directive["Namespace"], "CfInvalidator");
            assert_eq!(directive["Dimensions"], json!([["DistributionId"]]));
            assert_eq!(d["DistributionId"], "EDFDVBD632BHDS5");
            assert_eq!(d.get("DistributionTenantId"), None, "a distribution's own changes name no tenant");
            assert_eq!(d["FunctionName"], "fn");
            assert_eq!(d["_aws"]["Timestamp"], 1_700_000_000_000u64);
            assert!(directive["Metrics"]
                .as_array()
                .unwrap()
                .contains(&json!({"Name": "Staleness", "Unit": "Seconds"})));
            assert_eq!(d.get("ChangesWaiting").cloned(), (i == 0).then(|| json!(7)), "document {i}");
        }
    }

    /// Rule (by the parent): a tenant's documents are by its parent's `DistributionId`,
    /// in the one dimension set {`DistributionId`} the template's alarm matches exactly; the tenant
    /// is named by a `DistributionTenantId` member that is no dimension, in every document.
    #[test]
    fn a_tenants_documents_are_by_its_parent_and_name_the_tenant_outside_the_dimensions() {
        let given = vec![Duration::from_secs(90); 150];
        let counts = DistributionCounts { staleness: given, changes_waiting: 3, ..Default::default() };
        let lines = distribution_emf("CfInvalidator", "fn", "E2PLATFORM", Some("dt_acme"), &counts, 0);
        assert_eq!(lines.len(), 2);
        for line in &lines {
            let d = valid_emf(line);
            assert_eq!(d["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json!([["DistributionId"]]), "{line}");
            assert_eq!((&d["DistributionId"], &d["DistributionTenantId"]), (&json!("E2PLATFORM"), &json!("dt_acme")));
        }
        assert_eq!(lines.iter().map(|l| staleness_values(&valid_emf(l)).len()).sum::<usize>(), 150);
    }

    /// Rule: per distribution, the invalidations, paths and wildcards created, the
    /// refusals and throttles, the changes waiting and (with a budget) whether the monthly path
    /// budget was in force, each once, in the first document, by `DistributionId` alone; every
    /// name and unit declared is one of [`DISTRIBUTION_METRICS`] and the function's document
    /// declares exactly [`FUNCTION_METRICS`]. No budget: no `PathBudgetInForce` data point.
    #[test]
    fn each_distribution_gets_its_counts_once_in_the_dimension_set_the_alarm_matches() {
        let counts = DistributionCounts {
            staleness: vec![Duration::from_secs(3); 120],
            changes_waiting: 4,
            invalidations: 2,
            paths: 37,
            wildcards: 3,
            refusals: 1,
            throttled: 5,
            budget_in_force: Some(true),
        };
        let docs: Vec<serde_json::Value> =
            distribution_emf("NS", "fn", "E1", None, &counts, 0).iter().map(|l| valid_emf(l)).collect();
        assert_eq!(docs.len(), 2);
        // (metric, value in the first document)
        let cases = [
            ("ChangesWaiting", 4),
            ("InvalidationsCreated", 2),
            ("PathsSubmitted", 37),
            ("Wildcards", 3),
            ("Refusals", 1),
            ("Throttled", 5),
            ("PathBudgetInForce", 1),
        ];
        for (name, want) in cases {
            assert_eq!(docs[0][name], want, "{name}");
            assert_eq!(docs[1].get(name), None, "{name} counted twice");
        }
        for d in &docs {
            let directive = &d["_aws"]["CloudWatchMetrics"][0];
            assert_eq!(directive["Dimensions"], json!([["DistributionId"]]));
            for m in directive["Metrics"].as_array().unwrap() {
                let declared = (m["Name"].as_str().unwrap(), m["Unit"].as_str().unwrap());
                assert!(DISTRIBUTION_METRICS.contains(&declared), "{declared:?}");
            }
        }
        let without = DistributionCounts { budget_in_force: None, ..counts.clone() };
        let first = valid_emf(&distribution_emf("NS", "fn", "E1", None, &without, 0)[0]);
        assert_eq!(first.get("PathBudgetInForce"), None);
        let not_reached = DistributionCounts { budget_in_force: Some(false), ..counts };
        assert_eq!(valid_emf(&distribution_emf("NS", "fn", "E1", None, &not_reached, 0)[0])["PathBudgetInForce"], 0);

        let summary = valid_emf(&emf(&Summary { refusals: 2, ..Default::default() }, "NS", "fn"));
        let declared: Vec<(String, String)> = summary["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| (m["Name"].as_str().unwrap().to_string(), m["Unit"].as_str().unwrap().to_string()))
            .collect();
        let want: Vec<(String, String)> =
            FUNCTION_METRICS.iter().map(|(n, u)| (n.to_string(), u.to_string())).collect();
        assert_eq!(declared, want);
        assert_eq!(summary["Refusals"], 2);
    }

    /// Rule: ceil(n / 100) documents for n staleness values, and one when there are none (the
    /// changes waiting are still a data point, zero included); the waiting count appears once.
    #[test]
    fn document_count_follows_the_number_of_values() {
        let cases = [(0, 0, 1), (0, 12, 1), (1, 0, 1), (99, 0, 1), (100, 3, 1), (101, 0, 2), (200, 0, 2), (201, 1, 3)];
        for (n, waiting, want) in cases {
            let counts = DistributionCounts {
                staleness: vec![Duration::from_secs(5); n],
                changes_waiting: waiting,
                ..Default::default()
            };
            let lines = distribution_emf("NS", "fn", "E1", None, &counts, 0);
            assert_eq!(lines.len(), want, "{n} values");
            let docs: Vec<serde_json::Value> = lines.iter().map(|l| valid_emf(l)).collect();
            assert_eq!(docs.iter().map(|d| staleness_values(d).len()).sum::<usize>(), n, "{n} values");
            let waiting_sum: u64 = docs.iter().filter_map(|d| d["ChangesWaiting"].as_u64()).sum();
            assert_eq!(waiting_sum, waiting as u64, "{n} values");
            assert_eq!(docs.iter().filter(|d| d.get("ChangesWaiting").is_some()).count(), 1, "{n} values");
        }
    }

    /// Rule: staleness runs from the change's time to the covering invalidation's CreateTime, and
    /// clock skew (an invalidation dated before the change) reads as zero, never as an error.
    #[test]
    fn staleness_is_create_time_minus_change_time_never_negative() {
        let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let cases = [
            ("created 90 s after the change", t, t + Duration::from_secs(90), Duration::from_secs(90)),
            ("created at the change", t, t, Duration::ZERO),
            ("milliseconds kept", t, t + Duration::from_millis(1_250), Duration::from_millis(1_250)),
            ("clock skew: created before", t + Duration::from_secs(2), t, Duration::ZERO),
        ];
        for (rule, change, created, want) in cases {
            assert_eq!(staleness(change, created), want, "{rule}");
        }
    }

    /// Rule: a batch held for room, or throttled, is expected and comes back with the
    /// queue; every other error is unexpected and counted in `UnexpectedErrors` (which errors
    /// are expected is [`Error::is_expected`]'s rule).
    #[test]
    fn only_errors_other_than_waiting_for_room_or_throttling_are_unexpected() {
        let d = |s: &str| s.to_string();
        let cases = [
            (None, false),
            (Some(Error::TooManyInvalidationsInProgress { distribution_id: d("E1"), message: d("") }), false),
            (Some(Error::Throttled(d("x"))), false),
            (Some(Error::CloudFront(d("x"))), true),
            (Some(Error::AccessDenied { distribution_id: d("E1"), message: d("") }), true),
            (Some(Error::NoSuchDistribution { distribution_id: d("E1"), message: d("") }), true),
            (Some(Error::Config { variable: "X", rule: d("x") }), true),
            (Some(Error::InvalidInput(d("x"))), true),
            (Some(Error::InvalidationBatchAlreadyExists { caller_reference: d("r"), message: d("") }), true),
        ];
        for (error, want) in cases {
            let s = Summary { source: "sqs", error: error.as_ref(), ..Default::default() };
            let doc = valid_emf(&emf(&s, "NS", "fn"));
            assert_eq!(doc["UnexpectedErrors"], u8::from(want), "{error:?}");
        }
    }
}
