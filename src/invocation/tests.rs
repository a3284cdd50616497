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
    tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(handle(c, cf, payload, &inv(id)))
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

/// Rule (CloudFront's in-progress quota): a first batch fills the exact-path quota;
/// a second still gets its invalidation in the wildcard room; a third, with no room of either
/// kind, waits (redelivered, never refused by CloudFront) and is merged with later changes
/// into one invalidation once the first completes.
#[test]
fn batches_fit_the_room_and_wait_for_it() {
    let cf = MemoryCloudFront::new(&[D]);
    cf.set_completion(|seq| if seq == 1 { 600 } else { 3600 });
    let keys = |from: usize, n: usize, dir: &str| -> Vec<(usize, String)> {
        (from..from + n).map(|i| (i, format!("{dir}{i}/index.html"))).collect()
    };
    let send = |ks: &[(usize, String)], id: &str| {
        let refs: Vec<(usize, &str)> = ks.iter().map(|(i, k)| (*i, k.as_str())).collect();
        run(&dist(), &cf, &batch(&refs), id)
    };
    let first = keys(0, 1000, "a");
    assert!(failures(&send(&first, "1").unwrap()).is_empty());
    assert_eq!(cf.in_progress(D).exact, 3000, "1,000 index documents plan 3,000 exact paths");

    let second = keys(1000, 10, "b");
    assert!(failures(&send(&second, "2").unwrap()).is_empty(), "fits the wildcard room");
    let made = cf.invalidations();
    assert_eq!(made.len(), 2);
    assert!(made[1].paths.iter().all(|p| p.ends_with('*')), "{:?}", made[1].paths);
    // Use up the wildcard room.
    for i in 0..20 {
        if cf.in_progress(D).wildcards == 15 {
            break;
        }
        let more = keys(2000 + 10 * i, 10, &format!("w{i}-"));
        let _ = send(&more, &format!("w{i}"));
    }
    assert_eq!(cf.in_progress(D).wildcards, 15);
    let creates = cf.calls(Op::Create);

    let third = keys(5000, 5, "c");
    let e = send(&third, "3").unwrap_err();
    assert_eq!(e.error_type(), "TooManyInvalidationsInProgress", "nothing submitted: the batch comes back");
    assert_eq!(cf.calls(Op::Create), creates, "no request CloudFront could only refuse");
    assert_eq!(cf.quota_refusals(), 0);

    cf.advance(600);
    let fourth = keys(6000, 5, "d");
    let together: Vec<(usize, String)> = third.iter().chain(&fourth).cloned().collect();
    assert!(failures(&send(&together, "4").unwrap()).is_empty());
    let last = cf.invalidations().pop().unwrap();
    for k in third.iter().chain(&fourth) {
        let dir = format!("/{}/", k.1.trim_end_matches("/index.html"));
        assert!(last.paths.contains(&dir), "{dir} in one invalidation with the rest: {:?}", last.paths);
    }
}

/// Rule: when a batch does not fit the room whole, the messages that fit go
/// now (the oldest first; here the batch's order, as the events carry no time) and only the
/// others come back; nothing is sent that CloudFront would refuse.
#[test]
fn a_batch_sends_the_part_that_fits_and_only_the_rest_waits() {
    let cf = MemoryCloudFront::new(&[D]);
    let exact: Vec<String> = (0..2990).map(|i| format!("/tool/{i}")).collect();
    let wild: Vec<String> = (0..15).map(|i| format!("/tool{i}/*")).collect();
    for (r, paths) in [("tool-exact", &exact), ("tool-wild", &wild)] {
        let target = crate::model::TargetId::parse(D).unwrap();
        let req = CreateRequest { target: &target, caller_reference: r, paths };
        block_on(cf.create_invalidation(req, None)).unwrap();
    }
    let keys: Vec<(usize, String)> = (0..15).map(|i| (i, format!("img/{i}.png"))).collect();
    let refs: Vec<(usize, &str)> = keys.iter().map(|(i, k)| (*i, k.as_str())).collect();
    let out = run(&dist(), &cf, &batch(&refs), "r").unwrap();
    let held: Vec<String> = (10..15).map(|i| format!("m{i}")).collect();
    assert_eq!(failures(&out), held, "only the messages that did not fit come back");
    let made = cf.invalidations().pop().unwrap();
    let want: Vec<String> = (0..10).map(|i| format!("/img/{i}.png")).collect();
    let mut got = made.paths.clone();
    got.sort_by_key(|p| p.trim_start_matches("/img/").trim_end_matches(".png").parse::<u32>().unwrap());
    assert_eq!(got, want);
    assert_eq!(cf.quota_refusals(), 0);
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
}

/// Rule: explicit paths that do not fit the room wait (TooManyInvalidationsInProgress, which
/// the workflow retries) instead of being sent to be refused.
#[test]
fn explicit_paths_wait_for_room() {
    let cf = MemoryCloudFront::new(&[D]);
    let wild: Vec<String> = (0..15).map(|i| format!("/w{i}/*")).collect();
    run(&dist(), &cf, json!({"distribution_id": D, "paths": wild}).to_string().as_bytes(), "r1").unwrap();
    let e =
        run(&dist(), &cf, json!({"distribution_id": D, "paths": ["/x/*"]}).to_string().as_bytes(), "r2").unwrap_err();
    assert_eq!(e.error_type(), "TooManyInvalidationsInProgress");
    assert_eq!(cf.calls(Op::Create), 1);
    // Exact paths still fit: the two quotas are independent.
    run(&dist(), &cf, json!({"distribution_id": D, "paths": ["/x"]}).to_string().as_bytes(), "r3").unwrap();
    assert_eq!(cf.calls(Op::Create), 2);
}

/// Rule: when what is in progress cannot be read (no `cloudfront:ListInvalidations`, a
/// transient error), the handler plans as if nothing were and CloudFront's answer decides.
#[test]
fn an_unreadable_room_plans_as_if_empty() {
    let cf = MemoryCloudFront::new(&[D]);
    cf.script(Op::List, Error::AccessDenied { distribution_id: D.into(), message: "no list".into() });
    let out = run(&dist(), &cf, &batch(&[(0, "a.html")]), "r").unwrap();
    assert!(failures(&out).is_empty());
    assert_eq!(cf.invalidations().len(), 1);
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

/// The in-progress quota's rules (room, pacing, partial fit, racing invocations) on the in-memory
/// CloudFront, with changes that carry their time (the clock's seconds since the epoch, as the
/// in-memory CloudFront's `CreateTime`).
mod freshness {
    use super::*;
    use crate::cloudfront::memory::{time_of, MemoryCloudFront, Op, Slow};
    use crate::cloudfront::Invalidation;
    use crate::cloudfront::{CreateRequest, InvalidationPage};
    use crate::lambda::{handle, Output};
    use crate::model::{PathCounts, TargetId};
    use serde_json::{json, Value};

    const D: &str = "EDFDVBD632BHDS5";

    fn cfg(vars: &[(&str, &str)]) -> Config {
        let mut all = vec![("METRICS_NAMESPACE", "")];
        all.extend_from_slice(vars);
        Config::from_pairs(&all).unwrap()
    }

    /// An SQS batch of S3 notifications `(message, key, event second)`.
    fn batch(keys: &[(usize, &str, u64)]) -> Vec<u8> {
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

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap().block_on(f)
    }

    fn run<C: CloudFront>(c: &Config, cf: &C, payload: &[u8]) -> Result<Output, Error> {
        block_on(handle(c, cf, payload, &Invocation { request_id: "r".into(), deadline: None, now: None }))
    }

    fn failures(out: &Output) -> Vec<String> {
        match out {
            Output::Sqs(r) => r.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect(),
            other => panic!("not an SQS answer: {other:?}"),
        }
    }

    fn other_tool(cf: &MemoryCloudFront, d: &str, reference: &str, paths: &[&str]) {
        let paths: Vec<String> = paths.iter().map(|p| p.to_string()).collect();
        block_on(cf.create_invalidation(
            CreateRequest {
                target: &crate::model::TargetId::parse(d).unwrap(),
                caller_reference: reference,
                paths: &paths,
            },
            None,
        ))
        .unwrap();
    }

    /// Rule: with 40-minute completions, deploys every two minutes that need
    /// wildcards (the exact room is full) spend the 15 wildcard slots one at a time, about one
    /// every three minutes, instead of one or more per deploy; the messages held meanwhile come
    /// back (here: with the next deploy) and every change ends covered by an invalidation made
    /// after it.
    #[test]
    fn slow_completions_spend_wildcard_slots_one_at_a_time() {
        let cf = MemoryCloudFront::new(&[D]);
        cf.set_completion(|seq| if seq == 1 { 6000 } else { 2400 });
        let tool: Vec<String> = (0..3000).map(|i| format!("/tool/{i}")).collect();
        let tool: Vec<&str> = tool.iter().map(String::as_str).collect();
        other_tool(&cf, D, "tool", &tool);
        let config = cfg(&[("DISTRIBUTION_ID", D)]);
        let mut carried: Vec<(usize, String, u64)> = Vec::new();
        let mut changes = Vec::new();
        for k in 0..10u64 {
            let t = 2400 + 120 * k;
            cf.set_now(t);
            let mut msgs = carried.clone();
            for j in 0..3 {
                let i = (k * 3 + j) as usize;
                msgs.push((i, format!("d{k}/p{j}/index.html"), t - 30));
                changes.push((format!("/d{k}/p{j}/"), t - 30));
            }
            let refs: Vec<(usize, &str, u64)> = msgs.iter().map(|(i, key, at)| (*i, key.as_str(), *at)).collect();
            let inv = Invocation { request_id: format!("r{k}"), deadline: None, now: Some(time_of(t)) };
            let back = match block_on(handle(&config, &cf, &batch(&refs), &inv)) {
                Ok(out) => failures(&out),
                // Nothing of the batch sent: all of it comes back.
                Err(e) if e.error_type() == "TooManyInvalidationsInProgress" => {
                    refs.iter().map(|(i, _, _)| format!("m{i}")).collect()
                }
                Err(e) => panic!("{e}"),
            };
            carried = msgs.into_iter().filter(|(i, _, _)| back.contains(&format!("m{i}"))).collect();
        }
        let made = cf.invalidations();
        let wildcards: usize = made.iter().map(|i| PathCounts::of(&i.paths).wildcards).sum();
        // 15 slots over how long the oldest in progress has lasted (2,400 to 3,480 s here): one
        // every 160 to 232 s, so 1,200 s spend 4 to 8, not one or more per deploy.
        assert!((4..=8).contains(&wildcards), "paced over 1,200 s: {wildcards} wildcard paths");
        cf.set_now(4000);
        let last = block_on(handle(
            &config,
            &cf,
            &batch(&carried.iter().map(|(i, k, at)| (*i, k.as_str(), *at)).collect::<Vec<_>>()),
            &Invocation { request_id: "last".into(), deadline: None, now: Some(time_of(4000)) },
        ));
        assert!(carried.is_empty() || last.is_ok());
        let made = cf.invalidations();
        for (dir, at) in changes {
            let covered = made.iter().any(|i| {
                i.created_ms > at * 1000
                    && i.paths.iter().any(|p| p == "/*" || dir.starts_with(p.trim_end_matches('*')))
            });
            assert!(covered, "{dir} (changed at {at}) is covered by an invalidation made after it");
        }
    }

    /// Rule (for the workflow): a keys request waiting for room is asked again
    /// every minute, each time a new receipt; its `requested_at` (the execution's start) keeps
    /// the keys' time, so another tool's `/*` made while it waits covers them (nothing created,
    /// the workflow waits for that `/*`), and one made before the keys never does.
    #[test]
    fn a_waiting_workflow_request_is_covered_by_what_is_made_meanwhile() {
        // (requested_at, covered): the /* is made at 70 s, and a whole-second time stands for
        // the end of its second; CLOCK_MARGIN (2 s) pins 67 against 68.
        for (requested_at, covered) in [(10, true), (67, true), (68, false), (75, false)] {
            let cf = MemoryCloudFront::new(&[D]);
            cf.set_completion(|seq| if seq <= 2 { 60 } else { 900 });
            let exact: Vec<String> = (0..3000).map(|i| format!("/tool/{i}")).collect();
            let wild: Vec<String> = (0..15).map(|i| format!("/tool{i}/*")).collect();
            for (r, paths) in [("tool-exact", &exact), ("tool-wild", &wild)] {
                other_tool(&cf, D, r, &paths.iter().map(String::as_str).collect::<Vec<_>>());
            }
            let at = humantime::format_rfc3339_seconds(time_of(requested_at)).to_string();
            let step =
                json!({"keys": ["docs/a.html", "b.css"], "caller_reference": "sfn-deploy-9", "requested_at": at})
                    .to_string();
            cf.set_now(10);
            if requested_at == 10 {
                let e = run(&cfg(&[("DISTRIBUTION_ID", D)]), &cf, step.as_bytes()).unwrap_err();
                assert_eq!(e.error_type(), "TooManyInvalidationsInProgress");
            }
            // The quota frees at 60 s; another tool's /* at 70 s; the workflow asks again at 80 s.
            cf.set_now(70);
            other_tool(&cf, D, "person", &["/*"]);
            cf.set_now(80);
            let inv = Invocation { request_id: "r".into(), deadline: None, now: Some(time_of(80)) };
            let out = block_on(handle(&cfg(&[("DISTRIBUTION_ID", D)]), &cf, step.as_bytes(), &inv)).unwrap();
            let out = serde_json::to_value(out).unwrap();
            let ours = cf.invalidations().iter().filter(|i| i.caller_reference == "sfn-deploy-9").count();
            if covered {
                assert_eq!(ours, 0, "{out}");
                let waits_for = &out["invalidations"][0];
                assert_eq!(
                    (waits_for["caller_reference"].as_str(), &waits_for["paths"]),
                    (Some("person"), &json!(["/*"]))
                );
            } else {
                assert_eq!((out["outcome"].as_str(), ours), (Some("Created"), 1), "keys written after the /*: {out}");
            }
        }
    }

    /// Rule ("a retry never creates a second invalidation"): a caller's keys request received
    /// again (a direct invoke Lambda retries: a new receipt, the keys' new time) finds its first
    /// attempt, still in progress, below a page of invalidations completed since — and answers
    /// with it, though the room has filled meanwhile — rather than waiting for room to make it
    /// again.
    #[test]
    fn a_request_received_again_finds_its_attempt_below_completed_ones() {
        let cf = MemoryCloudFront::new(&[D]);
        cf.set_completion(|seq| if seq == 1 { 3600 } else { 10 });
        let config = cfg(&[("DISTRIBUTION_ID", D)]);
        let step = json!({"keys": ["docs/a.html"], "caller_reference": "deploy-5"}).to_string();
        let at = |t: u64| Invocation { request_id: format!("r{t}"), deadline: None, now: Some(time_of(t)) };
        cf.set_now(10);
        block_on(handle(&config, &cf, step.as_bytes(), &at(10))).unwrap();
        let first = cf.invalidations()[0].id.clone();
        // 120 quick ones since (more than a page), then another tool fills the exact room.
        for i in 0..120u64 {
            cf.set_now(20 + i);
            other_tool(&cf, D, &format!("quick-{i}"), &[&format!("/q/{i}")]);
        }
        cf.set_now(200);
        let room = cf.in_progress(D);
        let tool: Vec<String> = (0..3000 - room.exact).map(|i| format!("/tool/{i}")).collect();
        other_tool(&cf, D, "tool", &tool.iter().map(String::as_str).collect::<Vec<_>>());
        let wild: Vec<String> = (0..15).map(|i| format!("/tool{i}/*")).collect();
        other_tool(&cf, D, "tool-w", &wild.iter().map(String::as_str).collect::<Vec<_>>());
        let out = block_on(handle(&config, &cf, step.as_bytes(), &at(300))).expect("not held for room");
        let out = serde_json::to_value(out).unwrap();
        assert_eq!(out["invalidation_id"].as_str(), Some(first.as_str()), "{out}");
        assert_eq!(cf.invalidations().iter().filter(|i| i.caller_reference == "deploy-5").count(), 1);
    }

    /// The in-memory CloudFront whose ListInvalidations fails from the `from`-th call on (the
    /// room is read first, then what was made since the changes).
    struct ListFails<'a> {
        cf: &'a MemoryCloudFront,
        from: usize,
        lists: std::sync::atomic::AtomicUsize,
    }

    impl CloudFront for ListFails<'_> {
        async fn create_invalidation(
            &self,
            req: CreateRequest<'_>,
            by: Option<Instant>,
        ) -> Result<Invalidation, Error> {
            self.cf.create_invalidation(req, by).await
        }
        async fn get_invalidation(&self, d: &TargetId, id: &str) -> Result<Invalidation, Error> {
            self.cf.get_invalidation(d, id).await
        }
        async fn list_invalidations(&self, d: &TargetId, marker: Option<&str>) -> Result<InvalidationPage, Error> {
            let n = self.lists.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            if n >= self.from {
                return Err(Error::CloudFront("connection reset".into()));
            }
            self.cf.list_invalidations(d, marker).await
        }
    }

    /// Rule ("a retry never creates a second invalidation"): a batch is
    /// split into the part that fits only when what was made since its changes could be read.
    /// Unread, an earlier invalidation of the whole batch is found only by CloudFront's answer to
    /// the whole's reference, so the batch waits whole rather than go out under a part's new one.
    #[test]
    fn no_part_of_a_batch_goes_when_what_was_made_cannot_be_read() {
        for (recent_readable, created, back) in [(true, 1, 5), (false, 0, 15)] {
            let cf = MemoryCloudFront::new(&[D]);
            let exact: Vec<String> = (0..2990).map(|i| format!("/tool/{i}")).collect();
            let exact: Vec<&str> = exact.iter().map(String::as_str).collect();
            let wild: Vec<String> = (0..15).map(|i| format!("/tool{i}/*")).collect();
            let wild: Vec<&str> = wild.iter().map(String::as_str).collect();
            other_tool(&cf, D, "tool-exact", &exact);
            other_tool(&cf, D, "tool-wild", &wild);
            cf.set_now(100);
            let before = cf.invalidation_count();
            let keys: Vec<String> = (0..15).map(|i| format!("img/{i}.png")).collect();
            let refs: Vec<(usize, &str, u64)> = keys.iter().enumerate().map(|(i, k)| (i, k.as_str(), 90)).collect();
            let from = if recent_readable { usize::MAX } else { 2 };
            let flaky = ListFails { cf: &cf, from, lists: Default::default() };
            let failed = match block_on(handle(
                &cfg(&[("DISTRIBUTION_ID", D)]),
                &flaky,
                &batch(&refs),
                &Invocation { request_id: "r".into(), deadline: None, now: None },
            )) {
                Ok(out) => failures(&out).len(),
                Err(e) if e.error_type() == "TooManyInvalidationsInProgress" => refs.len(),
                Err(e) => panic!("{e}"),
            };
            assert_eq!((cf.invalidation_count() - before, failed), (created, back), "readable: {recent_readable}");
        }
    }

    /// Rule: two invocations racing for the last wildcard slot pacing
    /// allows spend it once. Each pauses a time drawn from its own reference before spending a
    /// scarce slot, then reads the room again: the later one finds the slot spent and waits
    /// (its messages come back) instead of both creating.
    #[test]
    fn two_invocations_racing_for_a_scarce_wildcard_slot_spend_it_once() {
        let cf = MemoryCloudFront::new(&[D]);
        cf.set_completion(|_| 6000);
        let tool: Vec<String> = (0..3000).map(|i| format!("/tool/{i}")).collect();
        let tool: Vec<&str> = tool.iter().map(String::as_str).collect();
        other_tool(&cf, D, "tool", &tool);
        cf.set_now(2400);
        let config = cfg(&[("DISTRIBUTION_ID", D)]);
        let keys = |d: &str| -> Vec<String> { (0..3).map(|j| format!("{d}/p{j}/index.html")).collect() };
        let (a, b) = (keys("a"), keys("b"));
        let batch_of = |ks: &[String], from: usize| {
            let refs: Vec<(usize, &str, u64)> =
                ks.iter().enumerate().map(|(j, k)| (from + j, k.as_str(), 2390)).collect();
            batch(&refs)
        };
        let (pa, pb) = (batch_of(&a, 0), batch_of(&b, 10));
        let inv = |id: &str| Invocation { request_id: id.into(), deadline: None, now: Some(time_of(2400)) };
        let (ia, ib) = (inv("a"), inv("b"));
        // Every call takes 100 ms (tokio's paused clock), so that the two interleave as they do
        // in Lambda: both read the room before either creates.
        let slow = Slow(&cf);
        let (ra, rb) =
            block_on(async { tokio::join!(handle(&config, &slow, &pa, &ia), handle(&config, &slow, &pb, &ib)) });
        let made: Vec<_> = cf.invalidations().into_iter().skip(1).collect();
        let wildcards: usize = made.iter().map(|i| PathCounts::of(&i.paths).wildcards).sum();
        assert_eq!(wildcards, 1, "one slot spent: {made:?}");
        let held = [ra, rb]
            .iter()
            .filter(|r| r.as_ref().is_err_and(|e| e.error_type() == "TooManyInvalidationsInProgress"))
            .count();
        assert_eq!(held, 1, "the later one waits, its messages back");
    }

    /// Rule (covered already): a change is covered by any invalidation created after it whose
    /// items cover every request form of its key — another tool's `/*` included — and is then
    /// acknowledged with nothing created; a change made after that invalidation is not covered.
    #[test]
    fn a_later_slash_star_covers_a_change_and_an_earlier_one_does_not() {
        let cf = MemoryCloudFront::new(&[D]);
        cf.set_now(100);
        other_tool(&cf, D, "person", &["/*"]);
        let cases: &[(&str, u64, usize)] = &[
            // (key, change second, invalidations created by the function)
            ("a/index.html", 50, 0),  // before the person's /* (created at 100): covered
            ("b/index.html", 99, 1),  // within the clocks' margin of it: not trusted to be covered
            ("c/index.html", 150, 1), // after it: not covered
        ];
        for (key, at, made) in cases {
            let before = cf.invalidation_count();
            let out = run(&cfg(&[("DISTRIBUTION_ID", D)]), &cf, &batch(&[(0, key, *at)])).unwrap();
            assert!(failures(&out).is_empty(), "{key}");
            assert_eq!(cf.invalidation_count() - before, *made, "{key} changed at {at}");
        }
    }

    /// Rule (covered already, narrowed): only the changes nothing covers yet are planned; an
    /// invalidation whose items miss one request form of a key does not cover it.
    #[test]
    fn only_what_nothing_covers_is_planned() {
        let cf = MemoryCloudFront::new(&[D]);
        cf.set_now(100);
        // Covers `/docs/` and its index, but not `/docs` (the slashless form).
        other_tool(&cf, D, "tool", &["/docs/*", "/blog/*"]);
        let out = run(
            &cfg(&[("DISTRIBUTION_ID", D)]),
            &cf,
            &batch(&[(0, "docs/index.html", 50), (1, "blog/a.html", 50), (2, "x.css", 50)]),
        )
        .unwrap();
        assert!(failures(&out).is_empty());
        let made = cf.invalidations().pop().unwrap();
        assert_eq!(made.paths, ["/docs", "/docs/", "/docs/index.html", "/x.css"], "blog/a.html is covered already");
    }

    /// Rule (no invalidation twice): a batch routed to D and E, E full: D's invalidation is made;
    /// when the messages come back with new changes, D's old changes are covered by it already and
    /// D is invalidated only for the new ones.
    #[test]
    fn a_full_distribution_never_makes_another_invalidate_twice() {
        let cf = MemoryCloudFront::new(&[D, "EOTHER"]);
        cf.set_completion(|_| 3600);
        let busy: Vec<String> = (0..3000).map(|i| format!("/busy/{i}")).collect();
        let wild: Vec<String> = (0..15).map(|i| format!("/w{i}/*")).collect();
        for (r, p) in [("busy", &busy), ("busy-w", &wild)] {
            block_on(cf.create_invalidation(
                CreateRequest {
                    target: &crate::model::TargetId::parse("EOTHER").unwrap(),
                    caller_reference: r,
                    paths: p,
                },
                None,
            ))
            .unwrap();
        }
        let routes = cfg(&[("ROUTES", &format!(r#"[{{"prefix":"","distributions":["{D}","EOTHER"]}}]"#))]);
        cf.set_now(10);
        let first = run(&routes, &cf, &batch(&[(0, "a.html", 5), (1, "b.html", 5)])).unwrap();
        assert_eq!(failures(&first), ["m0", "m1"], "EOTHER is full: the messages come back");
        let on_d = || cf.invalidations().into_iter().filter(|i| i.distribution_id == D).collect::<Vec<_>>();
        assert_eq!(on_d().len(), 1);
        cf.set_now(300);
        let again = run(&routes, &cf, &batch(&[(0, "a.html", 5), (1, "b.html", 5), (2, "c.html", 250)])).unwrap();
        assert_eq!(failures(&again).len(), 3, "EOTHER is still full");
        let d = on_d();
        assert_eq!(d.len(), 2);
        assert_eq!(d[1].paths, ["/c.html"], "D is invalidated again only for the new change");
    }

    /// A CloudFront on which another invocation creates between this one's read and its create:
    /// the first create lands after a rival took all but 20 of the exact room.
    struct Racing<'a> {
        cf: &'a MemoryCloudFront,
        raced: std::sync::Mutex<bool>,
    }

    impl CloudFront for Racing<'_> {
        async fn create_invalidation(
            &self,
            req: CreateRequest<'_>,
            deadline: Option<Instant>,
        ) -> Result<Invalidation, Error> {
            if !std::mem::replace(&mut *self.raced.lock().unwrap(), true) {
                let rival: Vec<String> = (0..2980).map(|i| format!("/rival/{i}")).collect();
                let r = CreateRequest { target: req.target, caller_reference: "rival", paths: &rival };
                self.cf.create_invalidation(r, None).await.unwrap();
            }
            self.cf.create_invalidation(req, deadline).await
        }
        async fn get_invalidation(&self, d: &TargetId, id: &str) -> Result<Invalidation, Error> {
            self.cf.get_invalidation(d, id).await
        }
        async fn list_invalidations(&self, d: &TargetId, marker: Option<&str>) -> Result<InvalidationPage, Error> {
            self.cf.list_invalidations(d, marker).await
        }
    }

    /// Rule (room under concurrency): a create refused because a concurrent invocation took the
    /// room since it was read costs no change a visibility timeout: the invocation looks at the
    /// room again and fits what is left (here 20 exact paths and wildcards) within its deadline.
    #[test]
    fn a_refused_create_refits_into_what_is_left() {
        let cf = MemoryCloudFront::new(&[D]);
        let racing = Racing { cf: &cf, raced: std::sync::Mutex::new(false) };
        let keys: Vec<String> = (0..40).map(|i| format!("d{}/p{i}.html", i % 4)).collect();
        let entries: Vec<(usize, &str, u64)> = keys.iter().enumerate().map(|(i, k)| (i, k.as_str(), 0)).collect();
        let out = run(&cfg(&[("DISTRIBUTION_ID", D)]), &racing, &batch(&entries)).unwrap();
        assert!(failures(&out).is_empty(), "fitted again after the refusal");
        assert_eq!(cf.quota_refusals(), 1);
        assert_eq!(cf.calls(Op::Create), 3, "the rival's, the refused one, the one that fit");
        let made = cf.invalidations().pop().unwrap();
        let counts = PathCounts::of(&made.paths);
        assert!(counts.exact <= 20 && counts.wildcards > 0, "{:?}", made.paths);
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
        let payload = batch(&[
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
        let submitter = Submitter { cf: &cf, known: &known, settings: &c.planner, deadline: None, now: None };
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
        let payload = batch(&[(0, "acme/a.css", 10), (1, "acme/b.css", 10), (2, "globex/c.css", 10)]);
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
            let (out, log) = logged(|| run(&c, &cf, &payload));
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
}
