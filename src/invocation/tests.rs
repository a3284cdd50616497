//! One invocation end to end on the in-memory CloudFront, through the Lambda entry.

use std::time::Duration;

use super::report::{by_parent, summarize};
use super::*;
use crate::cloudfront::memory::{MemoryCloudFront, Op};
use crate::cloudfront::CreateRequest;
use crate::lambda::{handle, Output};
use crate::observe;
use crate::submit::LOOKS_IN_AN_UNCHANGED_ROOM;
use serde_json::{json, Value};

const D: &str = "EDFDVBD632BHDS5";

fn cfg(vars: &[(&str, &str)]) -> Config {
    Config::from_pairs(vars).unwrap()
}

fn dist() -> Config {
    cfg(&[("DISTRIBUTION_ID", D), ("METRICS_NAMESPACE", "")])
}

fn inv(id: &str) -> Invocation {
    Invocation { request_id: id.to_string(), deadline: None, now: None }
}

fn s3_body(key: &str, seq: &str) -> String {
    json!({"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put",
        "s3":{"bucket":{"name":"www"},"object":{"key":key,"sequencer":seq}}}]})
    .to_string()
}

/// An SQS batch: one S3 notification per message, ids `m<i>`.
fn batch(keys: &[(usize, &str)]) -> Vec<u8> {
    let records: Vec<Value> = keys
        .iter()
        .map(|(i, k)| {
            json!({"messageId": format!("m{i}"), "receiptHandle":"h","body": s3_body(k, &format!("{i:04}")),
                   "attributes":{},"messageAttributes":{},"md5OfBody":"x","eventSource":"aws:sqs",
                   "eventSourceARN":"arn:aws:sqs:us-east-1:1:q","awsRegion":"us-east-1"})
        })
        .collect();
    json!({ "Records": records }).to_string().into_bytes()
}

fn failures(out: &Output) -> Vec<String> {
    match out {
        Output::Sqs(r) => r.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect(),
        other => panic!("not an SQS answer: {other:?}"),
    }
}

fn run<C: CloudFront>(c: &Config, cf: &C, payload: &[u8], id: &str) -> Result<Output, Error> {
    block_on(handle(c, cf, payload, &inv(id)))
}

fn response(out: Output) -> Value {
    serde_json::to_value(out).unwrap()
}

/// Rule: one malformed SQS message is reported alone; the rest of the batch is invalidated in
/// one request.
#[test]
fn a_malformed_message_is_reported_alone() {
    let cf = MemoryCloudFront::new(&[D]);
    let mut b: Value = serde_json::from_slice(&batch(&[(0, "a.html"), (1, "b.html"), (2, "c.html")])).unwrap();
    b["Records"][1]["body"] = json!("not json");
    let out = run(&dist(), &cf, b.to_string().as_bytes(), "r").unwrap();
    assert_eq!(failures(&out), ["m1"]);
    assert_eq!(cf.invalidations().len(), 1);
    assert_eq!(cf.invalidations()[0].paths, ["/a.html", "/c.html"]);
}

/// Rule: when nothing of an SQS batch could be submitted the invocation fails,
/// so that a mapping without ReportBatchItemFailures cannot delete the batch.
#[test]
fn a_batch_with_nothing_submitted_is_an_error() {
    let payload = batch(&[(0, "a.html"), (1, "b.html")]);
    let cases: &[(&str, Config, &str)] = &[
        (
            "an unknown distribution",
            cfg(&[("DISTRIBUTION_ID", "ENOSUCH"), ("METRICS_NAMESPACE", "")]),
            "NoSuchDistribution",
        ),
        ("no distribution configured", cfg(&[("METRICS_NAMESPACE", "")]), "ConfigError"),
    ];
    for (rule, c, want) in cases {
        let cf = MemoryCloudFront::new(&[D]);
        let e = run(c, &cf, &payload, "r").unwrap_err();
        assert_eq!(e.error_type(), *want, "{rule}");
    }
    // Every message malformed: nothing submitted either.
    let mut b: Value = serde_json::from_slice(&payload).unwrap();
    b["Records"][0]["body"] = json!("x");
    b["Records"][1]["body"] = json!("y");
    let e = run(&dist(), &MemoryCloudFront::new(&[D]), b.to_string().as_bytes(), "r").unwrap_err();
    assert_eq!(e.error_type(), "InvalidInput");
    // A batch of test events is acknowledged: nothing failed.
    let mut b: Value = serde_json::from_slice(&batch(&[(0, "a")])).unwrap();
    b["Records"][0]["body"] = json!(r#"{"Service":"Amazon S3","Event":"s3:TestEvent"}"#);
    assert!(failures(&run(&dist(), &MemoryCloudFront::new(&[D]), b.to_string().as_bytes(), "r").unwrap()).is_empty());
}

/// Rule: the summary line and the metrics count what was received and what failed,
/// whatever the failure — here a batch that fails as a whole for an unknown distribution.
#[test]
fn the_summary_counts_a_failed_batch() {
    let c = cfg(&[("DISTRIBUTION_ID", "ENOSUCH"), ("METRICS_NAMESPACE", "")]);
    let payload = batch(&[(0, "a.html"), (1, "b.html"), (2, "c.html")]);
    let (e, text) = logged(|| run(&c, &MemoryCloudFront::new(&[D]), &payload, "r"));
    assert_eq!(e.unwrap_err().error_type(), "NoSuchDistribution");
    let line = text.lines().find(|l| l.contains("invocation summary")).unwrap_or_else(|| panic!("{text}"));
    for field in ["messages=3", "keys_in=3", "failed_messages=3", "error_type=\"NoSuchDistribution\""] {
        assert!(line.contains(field), "{field} in {line}");
    }
    // The metrics document carries the same counts.
    let intake = intake::parse(&payload).unwrap();
    let mut t = Tally::default();
    t.fail([0, 1, 2], Error::NoSuchDistribution { distribution_id: "ENOSUCH".into(), message: String::new() });
    let doc: Value =
        serde_json::from_str(&observe::emf(&summarize(Some(&intake), &t, Instant::now()), "ns", "fn")).unwrap();
    assert_eq!(
        (doc["MessagesReceived"].as_u64(), doc["KeysReceived"].as_u64(), doc["FailedMessages"].as_u64()),
        (Some(3), Some(3), Some(3))
    );
}

/// Rule: responses name what was done — one invalidation's fields at the top level, every
/// invalidation listed, `Skipped` when the event changed nothing to invalidate.
#[test]
fn response_shapes() {
    let cf = MemoryCloudFront::new(&[D, "EOTHER"]);
    let one = response(run(&dist(), &cf, s3_body("a.html", "01").as_bytes(), "r").unwrap());
    assert_eq!(one["outcome"], "Created");
    assert_eq!(one["distribution_id"], D);
    assert_eq!(one["status"], "InProgress");
    assert_eq!(one["invalidations"].as_array().unwrap().len(), 1);
    let routes = cfg(&[
        ("ROUTES", &format!(r#"[{{"prefix":"","distributions":["{D}","EOTHER"]}}]"#)),
        ("METRICS_NAMESPACE", ""),
    ]);
    let two = response(run(&routes, &cf, s3_body("b.html", "02").as_bytes(), "r").unwrap());
    assert!(two.get("distribution_id").is_none(), "{two}");
    assert_eq!(two["invalidations"].as_array().unwrap().len(), 2);
    let excluded = cfg(&[("DISTRIBUTION_ID", D), ("EXCLUDE", "*.map"), ("METRICS_NAMESPACE", "")]);
    let none = response(run(&excluded, &cf, s3_body("x.js.map", "03").as_bytes(), "r").unwrap());
    assert_eq!(none["outcome"], "Skipped");
    assert_eq!(none["skipped"]["matched by EXCLUDE"], 1);
}

/// Rule: explicit requests — paths as given, keys mapped; errors with their stable types.
#[test]
fn explicit_requests() {
    let cf = MemoryCloudFront::new(&[D]);
    let paths = json!({"distribution_id": D, "paths": ["/b", "/a/*"], "caller_reference": "deploy-1"});
    let out = response(run(&dist(), &cf, paths.to_string().as_bytes(), "r").unwrap());
    assert_eq!((out["caller_reference"].as_str(), out["paths"].clone()), (Some("deploy-1"), json!(["/a/*", "/b"])));
    let again = json!({"distribution_id": D, "paths": ["/c"], "caller_reference": "deploy-1"});
    let e = run(&dist(), &cf, again.to_string().as_bytes(), "r").unwrap_err();
    assert_eq!(e.error_type(), "InvalidationBatchAlreadyExists", "a caller's reference reused with other paths");
    let keys = json!({"keys": ["docs/index.html"], "timeout": 60});
    let out = response(run(&dist(), &cf, keys.to_string().as_bytes(), "r").unwrap());
    assert_eq!(out["paths"], json!(["/docs", "/docs/", "/docs/index.html"]));
    assert_eq!(out["timeout"], 60);
    let e = run(&dist(), &cf, br#"{"distribution_id":"ENOSUCH","paths":["/a"]}"#, "r").unwrap_err();
    assert_eq!(e.error_type(), "NoSuchDistribution");
}

/// Rule: a rollback is a new deploy, a retry is not — an explicit request's own
/// `caller_reference` sent again gets its earlier invalidation back while nothing made since
/// covers its keys, and a new one (reported under the reference derived for it) once another
/// deploy has. Each request a second after the last: invalidations of the same `CreateTime`
/// count as made after each other (their order is not known).
#[test]
fn an_explicit_reference_sent_again_after_another_deploy_is_a_new_deploy() {
    let cf = MemoryCloudFront::new(&[D]);
    let release = |r: &str| {
        cf.advance(1);
        json!({"keys": ["index.html", "js/app.js"], "caller_reference": r}).to_string()
    };
    let id = |out: &Value| out["invalidation_id"].as_str().unwrap().to_string();
    let first = response(run(&dist(), &cf, release("release-1.2").as_bytes(), "r1").unwrap());
    let retry = response(run(&dist(), &cf, release("release-1.2").as_bytes(), "r2").unwrap());
    assert_eq!((id(&retry), cf.invalidation_count()), (id(&first), 1), "a retry");
    run(&dist(), &cf, release("release-1.3").as_bytes(), "r3").unwrap();
    let rollback = response(run(&dist(), &cf, release("release-1.2").as_bytes(), "r4").unwrap());
    assert_ne!(id(&rollback), id(&first), "a rollback after release-1.3");
    let derived = crate::reference::redeployed("release-1.2");
    assert_eq!((rollback["caller_reference"].as_str(), cf.invalidation_count()), (Some(derived.as_str()), 3));
    let again = response(run(&dist(), &cf, release("release-1.2").as_bytes(), "r5").unwrap());
    assert_eq!((id(&again), cf.invalidation_count()), (id(&rollback), 3), "the rollback retried");
}

/// Rule: a redelivery creates nothing new — the same event twice is one invalidation, and
/// when the room changed in between (other paths for the same changes), CloudFront's
/// InvalidationBatchAlreadyExists means the changes were invalidated already: acknowledged.
#[test]
fn redelivery_creates_nothing_new() {
    let cf = MemoryCloudFront::new(&[D]);
    let payload = batch(&[(0, "a/1.html"), (1, "a/2.html"), (2, "a/3.html")]);
    assert!(failures(&run(&dist(), &cf, &payload, "r1").unwrap()).is_empty());
    assert!(failures(&run(&dist(), &cf, &payload, "r2").unwrap()).is_empty());
    assert_eq!(cf.invalidations().len(), 1);
    // The same changes planned into less room: other paths, the same reference.
    let tight = cfg(&[("DISTRIBUTION_ID", D), ("MAX_PATHS", "1"), ("METRICS_NAMESPACE", "")]);
    let out = run(&tight, &cf, &payload, "r3").unwrap();
    assert!(failures(&out).is_empty(), "acknowledged, not redelivered forever");
    assert_eq!(cf.invalidations().len(), 1);
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap().block_on(f)
}

/// Rule: errors keep their stable types per source — SQS lists the messages of a failed
/// request, other sources get the error.
#[test]
fn error_mapping_per_source() {
    let cases = [
        Error::Throttled("rate".into()),
        Error::CloudFront("503".into()),
        Error::AccessDenied { distribution_id: D.into(), message: "no".into() },
        Error::TooManyInvalidationsInProgress { distribution_id: D.into(), message: "full".into() },
    ];
    for err in cases {
        // A refusal is looked at again (submit.rs): it lasts only when every look is refused.
        let times = if err.error_type() == "TooManyInvalidationsInProgress" { LOOKS_IN_AN_UNCHANGED_ROOM } else { 1 };
        let cf = MemoryCloudFront::new(&[D]);
        (0..times).for_each(|_| cf.script(Op::Create, err.clone()));
        let e = run(&dist(), &cf, s3_body("a.html", "01").as_bytes(), "r").unwrap_err();
        assert_eq!(e.error_type(), err.error_type());
        // Two distributions, one failing: SQS reports only the messages of the failed one.
        let cf = MemoryCloudFront::new(&[D, "EOTHER"]);
        (0..times).for_each(|_| cf.script(Op::Create, err.clone()));
        let routes = cfg(&[
            (
                "ROUTES",
                &format!(r#"[{{"prefix":"a/","distributions":["{D}"]}},{{"prefix":"b/","distributions":["EOTHER"]}}]"#),
            ),
            ("METRICS_NAMESPACE", ""),
        ]);
        let out = run(&routes, &cf, &batch(&[(0, "a/x"), (1, "b/y")]), "r").unwrap();
        assert_eq!(failures(&out), ["m0"], "{err:?}");
    }
}

/// Rule: a direct invoke that failed comes back from the failed-event queue as Lambda's
/// destination record, and is read as the event it carries.
#[test]
fn a_destination_record_is_read_as_its_event() {
    let cf = MemoryCloudFront::new(&[D]);
    let record = json!({"version":"1.0","timestamp":"2026-01-01T00:00:00Z",
        "requestContext":{"requestId":"r","functionArn":"arn:aws:lambda:us-east-1:1:function:f","condition":"RetriesExhausted","approximateInvokeCount":3},
        "requestPayload": serde_json::from_str::<Value>(&s3_body("late.html", "07")).unwrap(),
        "responseContext":{"statusCode":200,"executedVersion":"$LATEST","functionError":"Unhandled"},
        "responsePayload":{"errorType":"TooManyInvalidationsInProgress"}});
    let mut b: Value = serde_json::from_slice(&batch(&[(0, "x")])).unwrap();
    b["Records"][0]["body"] = json!(record.to_string());
    assert!(failures(&run(&dist(), &cf, b.to_string().as_bytes(), "r").unwrap()).is_empty());
    assert_eq!(cf.invalidations()[0].paths, ["/late.html"]);
}

/// Lambda's on-failure destination record of an async invoke of `payload`.
fn destination_record(payload: &Value, request_id: &str) -> String {
    json!({"version":"1.0","timestamp":"2026-01-01T00:00:00.000Z",
        "requestContext":{"requestId":request_id,"functionArn":"arn:aws:lambda:us-east-1:1:function:f:$LATEST",
            "condition":"RetriesExhausted","approximateInvokeCount":3},
        "requestPayload": payload,
        "responseContext":{"statusCode":200,"executedVersion":"$LATEST","functionError":"Unhandled"},
        "responsePayload":{"errorType":"TooManyInvalidationsInProgress","errorMessage":"no room"}})
    .to_string()
}

/// Rule: every request that fails into the failed-event queue comes back as what it was. A
/// destination record of an explicit request (keys, paths, a workflow's, a tracking input) is
/// submitted as that request, under the reference its own attempts derived (from the request
/// id, `requestContext.requestId`, when it gave none), and acknowledged or held by its own
/// outcome beside the batch's S3 messages; a malformed one fails alone.
#[test]
fn explicit_requests_come_back_from_the_failed_event_queue_as_what_they_were() {
    let keys = json!({"keys": ["docs/a.html"]});
    let paths = json!({"distribution_id": D, "paths": ["/p/*"]});
    let workflow = json!({"keys": ["w.html"], "caller_reference": "sfn-deploy-9"});
    // What the original async attempts derived: a direct invoke with the same request id.
    let direct = |payload: &Value, id: &str| {
        let out = response(run(&dist(), &MemoryCloudFront::new(&[D]), payload.to_string().as_bytes(), id).unwrap());
        out["caller_reference"].as_str().unwrap().to_string()
    };
    let cf = MemoryCloudFront::new(&[D]);
    let target = crate::model::TargetId::parse(D).unwrap();
    // Every wildcard slot taken: the paths request waits, the exact ones go.
    let wild: Vec<String> = (0..15).map(|i| format!("/w{i}/*")).collect();
    let busy = CreateRequest { target: &target, caller_reference: "busy", paths: &wild };
    let busy = block_on(cf.create_invalidation(busy, None)).unwrap();
    let track = json!({"track": {"invalidations": [{"distribution_id": D, "invalidation_id": busy.id}]}});
    let mut b: Value =
        serde_json::from_slice(&batch(&[(0, "a.html"), (1, "x"), (2, "x"), (3, "x"), (4, "x"), (5, "x")])).unwrap();
    for (i, body) in [
        (1, destination_record(&keys, "req-1")),
        (2, destination_record(&paths, "req-2")),
        (3, destination_record(&workflow, "req-3")),
        (4, destination_record(&json!({"distribution_id": D, "paths": []}), "req-4")),
        (5, destination_record(&track, "req-5")),
    ] {
        b["Records"][i]["body"] = json!(body);
    }
    let out = run(&dist(), &cf, b.to_string().as_bytes(), "r").unwrap();
    assert_eq!(failures(&out), ["m2", "m4"], "the paths wait for a wildcard slot; the malformed one fails alone");
    let made = cf.invalidations();
    let by_paths = |p: &[&str]| made.iter().find(|i| i.paths == p).map(|i| i.caller_reference.clone());
    assert!(by_paths(&["/a.html"]).is_some(), "the S3 message beside them");
    let docs = ["/docs/a.html"];
    assert_eq!(by_paths(&docs), Some(direct(&keys, "req-1")), "the keys' reference, as its attempts derived it");
    assert_eq!(by_paths(&["/w.html"]).as_deref(), Some("sfn-deploy-9"), "the workflow's own reference");
    assert_eq!(made.len(), 4, "nothing for the tracking input, the held paths or the malformed one");

    // Room freed: the held paths request comes back (the same body) and goes, under the
    // reference its attempts derived.
    cf.advance(3600);
    let mut again: Value = serde_json::from_slice(&batch(&[(2, "x")])).unwrap();
    again["Records"][0]["body"] = json!(destination_record(&paths, "req-2"));
    assert!(failures(&run(&dist(), &cf, again.to_string().as_bytes(), "r2").unwrap()).is_empty());
    assert_eq!(cf.invalidations().len(), 5);
    let last = cf.invalidations().pop().unwrap();
    assert_eq!((last.paths, last.caller_reference), (vec!["/p/*".to_string()], direct(&paths, "req-2")));
}

/// Rule: a workflow's create step retried after the room changed (one distribution created,
/// another waiting) finds the invalidation its first attempt made under its own reference —
/// the workflow waits for it — instead of failing with InvalidationBatchAlreadyExists.
#[test]
fn a_retried_workflow_step_finds_what_it_made() {
    let cf = MemoryCloudFront::new(&[D, "EOTHER"]);
    cf.set_completion(|seq| if seq == 2 || seq == 3 { 600 } else { 3600 });
    let fill = |d: &str, r: &str, paths: Vec<String>| {
        let req =
            CreateRequest { target: &crate::model::TargetId::parse(d).unwrap(), caller_reference: r, paths: &paths };
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(cf.create_invalidation(req, None))
            .unwrap();
    };
    fill(D, "busy", (0..2995).map(|i| format!("/busy/{i}")).collect());
    fill("EOTHER", "busy", (0..3000).map(|i| format!("/busy/{i}")).collect());
    fill("EOTHER", "busy-w", (0..15).map(|i| format!("/w{i}/*")).collect());
    let routes = cfg(&[
        ("ROUTES", &format!(r#"[{{"prefix":"","distributions":["{D}","EOTHER"]}}]"#)),
        ("METRICS_NAMESPACE", ""),
    ]);
    let keys: Vec<String> = (1..=5).map(|i| format!("a/{i}.html")).collect();
    let step = json!({"keys": keys, "caller_reference": "sfn-deploy-7"}).to_string();

    let e = run(&routes, &cf, step.as_bytes(), "r1").unwrap_err();
    assert_eq!(e.error_type(), "TooManyInvalidationsInProgress", "EOTHER has no room yet");
    let first = cf.invalidations().pop().unwrap();
    assert_eq!((first.distribution_id.as_str(), first.paths.len()), (D, 5), "exact, into the room there was");

    // The retry: D's room is now 0 exact paths, so the same keys would plan a wildcard.
    let e = run(&routes, &cf, step.as_bytes(), "r2").unwrap_err();
    assert_eq!(e.error_type(), "TooManyInvalidationsInProgress", "not InvalidationBatchAlreadyExists");
    cf.advance(600);
    let out = response(run(&routes, &cf, step.as_bytes(), "r3").unwrap());
    let ids: Vec<&str> =
        out["invalidations"].as_array().unwrap().iter().map(|i| i["invalidation_id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 2, "{out}");
    assert!(ids.contains(&first.id.as_str()), "the first attempt's invalidation is reported: {out}");
    assert_eq!(cf.invalidations().iter().filter(|i| i.caller_reference == "sfn-deploy-7").count(), 2);

    // The same reference with keys it does not cover is still the caller's mistake.
    cf.advance(3600);
    let other = json!({"keys": ["b.html"], "caller_reference": "sfn-deploy-7"}).to_string();
    let e = run(&routes, &cf, other.as_bytes(), "r4").unwrap_err();
    assert_eq!(e.error_type(), "InvalidationBatchAlreadyExists");
}

/// Runs `f` with the log written to a string (the runtime's own subscriber, as the function logs
/// in Lambda), and returns that text beside what `f` returned.
fn logged<R>(f: impl FnOnce() -> R) -> (R, String) {
    use lambda_runtime::tracing::subscriber::fmt::MakeWriter;
    use std::sync::{Arc, Mutex};
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Captured {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Captured {
            self.clone()
        }
    }
    let log = Captured::default();
    let subscriber = lambda_runtime::tracing::subscriber::fmt().with_writer(log.clone()).with_ansi(false).finish();
    let out = tracing::subscriber::with_default(subscriber, f);
    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    (out, text)
}

/// An SQS batch of S3 notifications that carry their time `(message, key, event second)`: the
/// clock's seconds since the epoch, as the in-memory CloudFront's `CreateTime`.
fn timed_batch(keys: &[(usize, &str, u64)]) -> Vec<u8> {
    let records: Vec<Value> = keys
        .iter()
        .map(|(i, k, at)| {
            let time = humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + Duration::from_secs(*at));
            let body = json!({"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","eventTime": time.to_string(),
                "s3":{"bucket":{"name":"www"},"object":{"key":k,"sequencer":format!("{i:04}{at:08}")}}}]});
            json!({"messageId": format!("m{i}"), "receiptHandle":"h","body": body.to_string(),
                   "attributes":{},"messageAttributes":{},"md5OfBody":"x","eventSource":"aws:sqs",
                   "eventSourceARN":"arn:aws:sqs:us-east-1:1:q","awsRegion":"us-east-1"})
        })
        .collect();
    json!({ "Records": records }).to_string().into_bytes()
}

/// Another tool's invalidation of `paths` on `d`, now.
fn other_tool(cf: &MemoryCloudFront, d: &str, reference: &str, paths: &[&str]) {
    let paths: Vec<String> = paths.iter().map(|p| p.to_string()).collect();
    let target = crate::model::TargetId::parse(d).unwrap();
    block_on(
        cf.create_invalidation(CreateRequest { target: &target, caller_reference: reference, paths: &paths }, None),
    )
    .unwrap();
}

/// Rule (metrics by the parent): a tenant's `Staleness` and `ChangesWaiting` are by
/// its parent distribution's `DistributionId` (DISTRIBUTION_TENANTS), the one dimension the
/// template's alarm watches, with the tenant named beside them; a tenant without a parent there
/// falls back to its own id. Two tenants and the parent's own prefix on the in-memory
/// CloudFront, its clock at 100 s; one tenant full, so its change waits.
#[test]
fn a_tenants_staleness_is_by_its_parent_distribution() {
    const PARENT: &str = "E2PLATFORM";
    let routes = json!([
        {"prefix": "customers/acme/", "distributions": [{"id": "dt_acme", "origin_path": "/customers/acme"}]},
        {"prefix": "customers/globex/", "distributions": [{"id": "dt_globex", "origin_path": "/customers/globex"}]},
        {"prefix": "customers/initech/", "distributions": [{"id": "dt_initech", "origin_path": "/customers/initech"}]},
        {"prefix": "platform/", "distributions": [PARENT]},
    ])
    .to_string();
    let c = cfg(&[("ROUTES", &routes), ("DISTRIBUTION_TENANTS", "E2PLATFORM/dt_acme,E2PLATFORM/dt_globex")]);
    let cf = MemoryCloudFront::new(&[PARENT]);
    for tenant in ["dt_acme", "dt_globex", "dt_initech"] {
        cf.add_tenant(tenant, PARENT);
    }
    // dt_globex has no room left: 3,000 exact and 15 wildcard paths in progress (its own quota).
    let full: Vec<String> = (0..3000).map(|i| format!("/tool/{i}")).collect();
    other_tool(&cf, "dt_globex", "tool", &full.iter().map(String::as_str).collect::<Vec<_>>());
    let wild: Vec<String> = (0..15).map(|i| format!("/w{i}/*")).collect();
    other_tool(&cf, "dt_globex", "wild", &wild.iter().map(String::as_str).collect::<Vec<_>>());
    cf.set_now(100);
    let payload = timed_batch(&[
        (0, "customers/acme/a.css", 10),
        (1, "customers/acme/b.css", 40),
        (2, "customers/globex/c.css", 50),
        (3, "customers/initech/d.css", 70),
        (4, "platform/e.css", 85),
    ]);

    // What `run` does, keeping the tally it reports from.
    let intake = intake::parse(&payload).unwrap();
    let prepared = prepare::prepare_payload(&c.planner, &intake, Token::Fixed("r"), false).unwrap();
    let known = Known::new();
    let submitter = Submitter { cf: &cf, known: &known, settings: &c.planner, deadline: None, now: None, pace: c.pace };
    let mut t = Tally::default();
    for s in &prepared.submissions {
        let outcome = block_on(submitter.submit(s));
        t.record(s, s.messages(), outcome, 60);
    }

    // Each change's time is the end of its event second (intake), so 100 - (second + 1).
    let secs = |v: &[u64]| v.iter().map(|s| Duration::from_secs(*s)).collect::<Vec<_>>();
    let (acme, initech, own) = (secs(&[89, 59]), secs(&[29]), secs(&[14]));
    let metrics = |distribution_id, tenant_id, staleness: &[Duration], waiting| {
        (distribution_id, tenant_id, staleness.to_vec(), waiting)
    };
    let (got, unparented) = by_parent(&c, &t);
    assert_eq!(
        got.iter()
            .map(|m| (m.distribution_id, m.tenant_id, m.counts.staleness.clone(), m.counts.changes_waiting))
            .collect::<Vec<_>>(),
        [
            metrics(PARENT, None, &own[..], 0),
            metrics(PARENT, Some("dt_acme"), &acme[..], 0),
            metrics(PARENT, Some("dt_globex"), &[][..], 1),
            metrics("dt_initech", Some("dt_initech"), &initech[..], 0),
        ]
    );
    assert_eq!(unparented.iter().map(|t| t.as_str()).collect::<Vec<_>>(), ["dt_initech"]);

    // As EMF: under the parent's DistributionId, in the one dimension set the alarm matches.
    let docs: Vec<Value> = got
        .iter()
        .flat_map(|m| observe::distribution_emf("NS", "fn", m.distribution_id, m.tenant_id, m.counts, 0))
        .map(|l| serde_json::from_str(&l).unwrap())
        .collect();
    for d in &docs {
        assert_eq!(d["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json!([["DistributionId"]]), "{d}");
    }
    let on_parent: Vec<(Value, Value, Value)> = docs
        .iter()
        .filter(|d| d["DistributionId"] == PARENT)
        .map(|d| (d["DistributionTenantId"].clone(), d["Staleness"].clone(), d["ChangesWaiting"].clone()))
        .collect();
    assert_eq!(
        on_parent,
        [
            (Value::Null, json!([14.0]), json!(0)),
            (json!("dt_acme"), json!([89.0, 59.0]), json!(0)),
            (json!("dt_globex"), Value::Null, json!(1)),
        ]
    );
}

/// Rule: a tenant routed without a parent in DISTRIBUTION_TENANTS is still
/// invalidated, and one WARN per invocation names every such tenant and what to set; none when
/// every tenant has its parent, nor when metrics are off (the fallback only changes metrics).
#[test]
fn a_tenant_without_a_parent_is_warned_about_once_per_invocation() {
    const PARENT: &str = "E2PLATFORM";
    let routes = json!([
        {"prefix": "acme/", "distributions": [{"id": "dt_acme", "origin_path": "/acme"}]},
        {"prefix": "globex/", "distributions": [{"id": "dt_globex", "origin_path": "/globex"}]},
    ])
    .to_string();
    let payload = timed_batch(&[(0, "acme/a.css", 10), (1, "acme/b.css", 10), (2, "globex/c.css", 10)]);
    // (rule, METRICS_NAMESPACE, DISTRIBUTION_TENANTS, tenants named by the one WARN)
    let cases: &[(&str, &str, &str, Option<&str>)] = &[
        ("no parents", "NS", "", Some(r#"["dt_acme", "dt_globex"]"#)),
        ("one parent", "NS", "E2PLATFORM/dt_acme", Some(r#"["dt_globex"]"#)),
        ("every parent", "NS", "E2PLATFORM/dt_acme,E2PLATFORM/dt_globex", None),
        ("metrics off", "", "", None),
    ];
    for (rule, namespace, parents, want) in cases {
        let c = Config::from_pairs(&[
            ("ROUTES", &routes),
            ("METRICS_NAMESPACE", namespace),
            ("DISTRIBUTION_TENANTS", parents),
        ])
        .unwrap();
        let cf = MemoryCloudFront::new(&[PARENT]);
        cf.add_tenant("dt_acme", PARENT);
        cf.add_tenant("dt_globex", PARENT);
        cf.set_now(100);
        let (out, log) = logged(|| run(&c, &cf, &payload, "r"));
        assert!(failures(&out.unwrap()).is_empty(), "{rule}: invalidated all the same");
        assert_eq!(cf.invalidation_count(), 2, "{rule}");
        let warns: Vec<&str> = log.lines().filter(|l| l.contains("DISTRIBUTION_TENANTS")).collect();
        match want {
            Some(tenants) => {
                assert_eq!(warns.len(), 1, "{rule}: {log}");
                assert!(
                    warns[0].contains("WARN") && warns[0].contains(&format!("tenants={tenants}")),
                    "{rule}: {}",
                    warns[0]
                );
            }
            None => assert!(warns.is_empty(), "{rule}: {log}"),
        }
    }
}
