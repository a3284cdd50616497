//! Hostile and limit input: each gets a defined outcome, never a panic.
//! (`cfinv plan` runs the same `prepare`; the fuzz targets in fuzz/ drive the same entry points.)

use cf_invalidator::planner::path_problem;
use cf_invalidator::prepare::{self, PayloadPlan};
use cf_invalidator::{Config, Error};
use proptest::prelude::*;
use serde_json::{json, Value};

fn config() -> Config {
    Config::from_pairs(&[("DISTRIBUTION_ID", "EDFDVBD632BHDS5")]).unwrap()
}

fn prepare(payload: &[u8]) -> Result<PayloadPlan, Error> {
    prepare::plan_payload(&config().planner, payload)
}

fn s3_event(raw_keys: &[&str], event_name: &str) -> Vec<u8> {
    let records: Vec<Value> = raw_keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            json!({"eventSource": "aws:s3", "eventName": event_name,
            "s3": {"bucket": {"name": "b"}, "object": {"key": k, "sequencer": format!("{i:018X}")}}})
        })
        .collect();
    json!({ "Records": records }).to_string().into_bytes()
}

fn paths(p: &PayloadPlan) -> Vec<String> {
    p.plans.iter().flat_map(|x| x.paths.clone()).collect()
}

/// Each payload at or past a limit → its defined outcome.
#[test]
fn defined_outcomes_at_the_limits() {
    let nested = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let many_paths: Vec<String> = (0..3001).map(|i| format!("/{i}")).collect();
    let cases: Vec<(&str, Vec<u8>, Result<usize, &str>)> = vec![
        ("Records: [] acknowledged", br#"{"Records":[]}"#.to_vec(), Ok(0)),
        (
            "an SQS message holding an empty notification: acknowledged",
            json!({"Records": [{"messageId": "m1", "eventSource": "aws:sqs", "body": r#"{"Records":[]}"#}]})
                .to_string()
                .into_bytes(),
            Ok(0),
        ),
        ("duplicated keys: one set of paths", s3_event(&["a.html", "a.html", "a.html"], "ObjectCreated:Put"), Ok(1)),
        ("unknown eventName: ignored", s3_event(&["a.html"], "ObjectSomethingNew:Put"), Ok(0)),
        ("valid JSON of no known shape", br#"{"foo":{"bar":[1,2,3]}}"#.to_vec(), Err("InvalidInput")),
        ("JSON that is not an object", b"[1,2,3]".to_vec(), Err("InvalidInput")),
        ("not JSON at all", b"\xff\xfe garbage".to_vec(), Err("InvalidInput")),
        ("empty payload", b"".to_vec(), Err("InvalidInput")),
        ("nesting past serde's recursion limit", nested.into_bytes(), Err("InvalidInput")),
        (
            "3,001 explicit paths",
            json!({"distribution_id": "E1", "paths": many_paths}).to_string().into_bytes(),
            Err("InvalidInput"),
        ),
        ("a key of 1,024 bytes", s3_event(&[&"k".repeat(1024)], "ObjectCreated:Put"), Ok(1)),
        ("a key past S3's limit still plans", s3_event(&[&"%C3%A9".repeat(2000)], "ObjectCreated:Put"), Ok(1)),
        ("key that is not UTF-8 once decoded", s3_event(&["%FF%FE"], "ObjectCreated:Put"), Err("InvalidInput")),
    ];
    for (what, payload, want) in cases {
        let got = prepare(&payload);
        match (&got, want) {
            (Ok(p), Ok(n)) => {
                assert_eq!(paths(p).len(), n, "{what}: {:?}", paths(p));
                assert!(paths(p).iter().all(|x| path_problem(x).is_none()), "{what}");
            }
            (Err(e), Err(t)) => assert_eq!(e.error_type(), t, "{what}: {e}"),
            _ => panic!("{what}: got {got:?}, want {want:?}"),
        }
    }
}

/// The largest batch Lambda delivers (about 6 MB, 10,000 messages) plans within the budget.
#[test]
fn the_largest_sqs_batch_plans_within_budget() {
    let mut records = Vec::with_capacity(10_000);
    for i in 0..10_000 {
        let body = json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
            "s3": {"bucket": {"name": "b"}, "object": {"key": format!("docs/section-{}/page-{i}/index.html", i % 50), "sequencer": format!("{i:018X}")}}}]});
        records.push(json!({"messageId": format!("m{i}"), "eventSource": "aws:sqs", "body": body.to_string(),
            "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {}, "md5OfBody": "x",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q", "awsRegion": "us-east-1", "receiptHandle": "h"}));
    }
    let payload = json!({ "Records": records }).to_string();
    assert!(payload.len() > 4_000_000, "{} bytes", payload.len());
    let p = prepare(payload.as_bytes()).unwrap();
    assert_eq!(p.intake.changes.len(), 10_000);
    assert_eq!(p.plans.len(), 1, "one invalidation for the whole batch");
    let plan = &p.plans[0];
    assert!(
        plan.paths.len() <= 3000 && plan.stats.wildcards <= 15,
        "{} paths, {} wildcards",
        plan.paths.len(),
        plan.stats.wildcards
    );
}

fn raw_key() -> impl Strategy<Value = String> {
    // Anything S3 could send and worse: invalid escapes, lone '%', '+', controls, '*', '?', '#'.
    let atoms = prop::sample::select(vec![
        "a",
        "/",
        "+",
        "%",
        "%2",
        "%zz",
        "%2B",
        "%20",
        "%C3%A9",
        "%FF",
        "%00",
        "*",
        "?",
        "#",
        "~",
        " ",
        "\u{0}",
        "\u{1f}",
        "é",
        "😀",
        "..",
        "index.html",
        "\\",
        "\"",
    ]);
    prop::collection::vec(atoms, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    /// Rule: any key S3 might send — never a panic; valid paths or a clear InvalidInput.
    #[test]
    fn arbitrary_raw_keys_plan_or_are_refused(keys in prop::collection::vec(raw_key(), 1..8)) {
        let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        match prepare(&s3_event(&refs, "ObjectCreated:Put")) {
            Ok(p) => {
                for path in paths(&p) {
                    prop_assert!(path_problem(&path).is_none(), "invalid path {path:?}");
                }
            }
            Err(e) => prop_assert_eq!(e.error_type(), "InvalidInput", "{}", e),
        }
    }

    /// Rule: any explicit key (plain UTF-8 up to 1,024 bytes) plans to valid paths.
    #[test]
    fn arbitrary_explicit_keys_plan_to_valid_paths(keys in prop::collection::vec("\\PC{1,300}", 1..6)) {
        let payload = json!({"keys": keys}).to_string();
        match prepare(payload.as_bytes()) {
            Ok(p) => for path in paths(&p) { prop_assert!(path_problem(&path).is_none(), "invalid path {path:?}"); },
            Err(e) => prop_assert_eq!(e.error_type(), "InvalidInput", "{}", e),
        }
    }

    /// Rule: arbitrary bytes never panic intake.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = prepare(&bytes);
    }
}
