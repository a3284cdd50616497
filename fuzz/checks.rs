//! The body of every fuzz target: the contract it checks on one input, panicking where the
//! input breaks it. The fuzz targets (`fuzz_targets/`) and the plain corpus test
//! (`tests/in_memory/fuzz_corpus.rs`) both include this file, so `make test` runs each body once over its
//! seed corpus without libFuzzer, and a contract change that breaks a body fails there first.
//!
//! Every rule is the library's own: items are checked by [`item_problem`] (what the create step's
//! CloudFront stand-in refuses, and what explicit requests are validated with), wildcards counted
//! by [`PathCounts`], coverage by the rule the submit step uses to decide that an invalidation
//! covers a request (`Submission::covered_by`, `planner::Request::covered_by`).

use std::collections::BTreeSet;
use std::num::NonZeroUsize;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use cf_invalidator::intake::{self, aws_cli, Intake};
use cf_invalidator::model::{
    item_problem, Change, ChangeKind, PathCounts, API_MAX_PATHS, API_MAX_WILDCARDS_IN_PROGRESS, MAX_KEY_BYTES,
};
use cf_invalidator::planner::{self, encoding, Routing, Settings};
use cf_invalidator::prepare;
use cf_invalidator::reference::Token;
use cf_invalidator::Config;

/// The configuration every target plans with: one distribution, and `TAGS` that the sample
/// events' and the corpus deploys' keys match (feeds, stylesheets), with a tag in upper case
/// that is sent in one spelling.
fn config() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| {
        Config::from_pairs(&[
            ("DISTRIBUTION_ID", "EDFDVBD632BHDS5"),
            ("TAGS", r##"{"**/*.xml": "#feeds", "css/**": ["#styles", "#Home"]}"##),
        ])
        .expect("the fuzz configuration is valid")
    })
}

/// When the payload arrived (intake reads no clock): an explicit request's keys take it.
fn received() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_715_678_463)
}

/// What every CreateInvalidation request must be for CloudFront to take it: 1 to `max_items`
/// items (at most the API's 3,000), at most `max_wildcards` of them wildcards (at most the 15
/// CloudFront ever holds in progress), each a valid path or a valid cache tag.
fn request_holds(paths: &[String], max_items: usize, max_wildcards: usize) {
    assert!(max_items <= API_MAX_PATHS && max_wildcards <= API_MAX_WILDCARDS_IN_PROGRESS);
    assert!(!paths.is_empty(), "an empty request");
    assert!(paths.len() <= max_items, "{} items, over {max_items}", paths.len());
    let wildcards = PathCounts::of(paths).wildcards;
    assert!(wildcards <= max_wildcards, "{wildcards} wildcards, over {max_wildcards}: {paths:?}");
    for item in paths {
        if let Some(problem) = item_problem(item) {
            panic!("planned item {item:?} would be refused: {problem}");
        }
    }
}

/// Every submission a read payload prepares (as the Lambda and `cfinv` prepare it): a request
/// CloudFront takes, within the configured caps, covering every request form and cache tag of
/// its changes, and reporting only the payload's own messages.
fn prepared_holds(intake: &Intake) {
    let settings = &config().planner;
    let Ok(prepared) = prepare::prepare_payload(settings, intake, Token::Fixed("fuzz"), true) else { return };
    for s in &prepared.submissions {
        request_holds(&s.plan.paths, settings.max_paths.get(), settings.max_wildcards.get());
        assert!(
            s.covered_by(&s.plan.paths),
            "{} leaves some of its changes uncovered: {:?}",
            s.distribution_id,
            s.plan.paths
        );
        let messages = intake.messages.len().max(1);
        assert!(s.messages().iter().all(|&m| m < messages), "messages {:?} of {messages}", s.messages());
    }
}

/// Target `intake`: any bytes as an invocation payload are read and planned, or refused with an
/// error; never a panic, and every plan holds (see [`prepared_holds`]).
pub fn intake(data: &[u8]) {
    if let Ok(intake) = intake::parse_at(data, received()) {
        prepared_holds(&intake);
    }
}

/// Target `planner`: the first byte chooses `MAX_PATHS` (1 to 40) and `MAX_WILDCARDS` (1 to 15),
/// the rest is changed keys, one a line. Planned under those caps and under the defaults (3,000
/// paths, 15 wildcards): every request holds, covers every request form of every key (and the
/// CloudFront form of each, checked apart), and carries every tag; only more cache tags than
/// `MAX_PATHS` leaves room for may leave no plan.
pub fn planner(data: &[u8]) {
    let Some((&caps, rest)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(rest);
    // More keys than one request has items, so that the defaults must merge too.
    let keys: Vec<&str> = text.split('\n').filter(|k| !k.is_empty()).take(API_MAX_PATHS + 500).collect();
    if keys.is_empty() {
        return;
    }
    let changes: Vec<Change> = keys
        .iter()
        .map(|k| Change {
            message: 0,
            bucket: None,
            key: k.to_string(),
            kind: ChangeKind::Created,
            version: None,
            time: None,
        })
        .collect();
    let defaults = config().planner.clone();
    let mut chosen = defaults.clone();
    chosen.max_paths = NonZeroUsize::new(1 + caps as usize % 40).unwrap();
    chosen.max_wildcards = NonZeroUsize::new(1 + caps as usize % API_MAX_WILDCARDS_IN_PROGRESS).unwrap();
    for settings in [&chosen, &defaults] {
        plan_holds(&changes, settings);
    }
}

fn plan_holds(changes: &[Change], settings: &Settings) {
    let gathered = planner::gather(changes, settings, Routing::Events).expect("DISTRIBUTION_ID routes every key");
    for request in &gathered.requests {
        let tags: BTreeSet<&str> = request.changes().flat_map(|c| settings.tags.tags_for(&c.key)).collect();
        let (max_paths, max_wildcards) = (settings.max_paths.get(), settings.max_wildcards.get());
        let plan = match request.fit_configured(settings) {
            Ok(plan) => plan,
            // Tags are never merged: with no room left beside them for one wildcard, nothing fits.
            Err(e) => {
                assert!(tags.len() >= max_paths, "no plan within {max_paths} paths for {} tags: {e}", tags.len());
                continue;
            }
        };
        request_holds(&plan.paths, max_paths, max_wildcards);
        assert!(request.covered_by(&plan.paths), "some request form left uncovered by {:?}", plan.paths);
        for (_, viewer_key) in &request.routed {
            let form = encoding::cloudfront(&format!("/{viewer_key}"));
            let covers = |p: &String| match p.strip_suffix('*') {
                Some(prefix) => form.starts_with(prefix),
                None => *p == form,
            };
            assert!(plan.paths.iter().any(covers), "{form:?} uncovered by {:?}", plan.paths);
        }
        for tag in tags {
            assert!(plan.paths.iter().any(|p| p == tag), "tag {tag} missing from {:?}", plan.paths);
        }
    }
}

/// Target `destination_record`: any bytes as the body of one message on the failed-event queue
/// (where Lambda's on-failure destination records of direct async invokes land), in an SQS event
/// as the function receives it. The batch is always read: a body that cannot be read makes its
/// own message malformed (redelivered, then dead-lettered), never the invocation an error. A body
/// that is JSON, carried as a destination record's `requestPayload`, is read as what the failed
/// invoke was: an explicit request comes back as that request (once, under the invocation's
/// request id), any other body as the event it was.
pub fn destination_record(data: &[u8]) {
    // An SQS body is text; what is not UTF-8 cannot be sent.
    let body = String::from_utf8_lossy(data);
    let as_body = read_as_sqs_body(&body);
    assert!(
        as_body.malformed.is_empty() || as_body.changes.is_empty(),
        "a malformed message also gave changes: {:?}",
        as_body.malformed
    );
    prepared_holds(&as_body);

    // Lambda never nests destination records: a body that is one already is not wrapped again.
    let is_record = serde_json::from_str::<serde_json::Value>(&body)
        .is_ok_and(|v| v.get("requestContext").is_some() && v.get("requestPayload").is_some());
    if !is_record && serde_json::from_str::<&serde_json::value::RawValue>(&body).is_ok() {
        let record = format!(
            r#"{{"version":"1.0","timestamp":"2024-05-14T09:25:00.000Z","requestContext":{{"requestId":"fuzz","functionArn":"arn:aws:lambda:us-east-1:123456789012:function:cf-invalidator:$LATEST","condition":"RetriesExhausted","approximateInvokeCount":3}},"requestPayload":{body},"responseContext":{{"statusCode":200,"executedVersion":"$LATEST","functionError":"Unhandled"}},"responsePayload":{{"errorType":"TooManyInvalidationsInProgress","errorMessage":"no room"}}}}"#
        );
        let carried = read_as_sqs_body(&record);
        match intake::parse_at(body.as_bytes(), received()) {
            // A failed invoke of an explicit request comes back as that request, once, under
            // the failed invocation's request id, and holds as a direct invoke's would.
            Ok(direct) if direct.explicit.is_some() => {
                assert!(carried.changes.is_empty() && carried.malformed.is_empty(), "{:?}", carried.malformed);
                assert_eq!(carried.returned.len(), 1, "an explicit request comes back once");
                let returned = &carried.returned[0];
                assert_eq!(returned.request_id, "fuzz");
                assert_eq!(returned.request.changes.len(), direct.changes.len());
                prepared_holds(&returned.request);
            }
            // A body a direct invoke refuses: its record is malformed, alone.
            Err(_) => {
                assert!(carried.changes.is_empty() && carried.returned.is_empty(), "a refused payload gave changes");
                assert!(!carried.malformed.is_empty(), "a refused payload's record is malformed");
            }
            // Any other body: read as the event it was.
            Ok(_) => {
                assert!(carried.returned.is_empty(), "only an explicit request comes back as one");
                assert_eq!(carried.changes, as_body.changes, "a destination record reads other changes than its event");
                assert_eq!(carried.malformed.is_empty(), as_body.malformed.is_empty(), "{:?}", carried.malformed);
                assert_eq!(carried.ignored, as_body.ignored);
            }
        }
    }
}

/// Reads `body` as the one message of an SQS event from the failed-event queue.
fn read_as_sqs_body(body: &str) -> Intake {
    let mut message = SqsMessage::default();
    message.message_id = Some("059f36b4-87a3-44ab-83d2-661975830a7d".into());
    message.receipt_handle = Some("AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a".into());
    message.body = Some(body.to_string());
    message.attributes.insert("ApproximateReceiveCount".into(), "1".into());
    message.attributes.insert("SentTimestamp".into(), "1715678700000".into());
    message.event_source = Some("aws:sqs".into());
    message.event_source_arn = Some("arn:aws:sqs:us-east-1:123456789012:cf-invalidator-FailedEventQueue".into());
    message.aws_region = Some("us-east-1".into());
    let mut event = SqsEvent::default();
    event.records = vec![message];
    let payload = serde_json::to_vec(&event).expect("an SQS event serialises");
    let read = intake::parse_at(&payload, received()).expect("an SQS event is read whatever its body holds");
    assert_eq!(read.messages.len(), 1);
    assert!(read.changes.iter().all(|c| c.message == 0));
    assert!(read.malformed.iter().all(|(m, _)| *m == 0));
    read
}

/// Target `aws_cli`: any text as AWS CLI transfer output (`intake::aws_cli::transfers`, what
/// `cfinv` reads from `aws s3 sync | tee sync.log`) is read, never a panic; every change names a
/// bucket without spaces and a non-empty key within S3's 1,024 bytes, both printed on the line it
/// was read from. And the padding rule: each line of the input, taken as a key (the CLI prints
/// keys as they are), comes back exactly from a `delete:` line that nothing pads, and from one
/// padded to the progress line before it unless the key itself ends in spaces (the one case the
/// rule gives up, where the key comes back without them).
pub fn aws_cli(data: &[u8]) {
    // The CLI's output is text; cfinv reads a log as UTF-8.
    let Ok(text) = std::str::from_utf8(data) else { return };
    let read = aws_cli::transfers(text);
    for t in &read.changes {
        assert!(!t.bucket.is_empty() && !t.bucket.contains(' '), "bucket {:?} of {:?}", t.bucket, t.line);
        assert!(!t.key.is_empty() && t.key.len() <= MAX_KEY_BYTES, "key {:?} of {:?}", t.key, t.line);
        assert!(t.line.contains(t.bucket) && t.line.contains(t.key), "{t:?} is not on its line");
        assert!(text.contains(t.line), "{:?} is not a line of the text", t.line);
    }
    assert!(read.changes.is_empty() || read.recognised, "changes from text not recognised as the CLI's");
    for key in text.split(['\n', '\r']).filter(|k| !k.is_empty() && k.len() <= MAX_KEY_BYTES).take(20) {
        let line = format!("delete: s3://my-site/{key}");
        let unpadded = format!("{line}\n");
        let exact = aws_cli::transfers(&unpadded);
        let keys: Vec<&str> = exact.changes.iter().map(|t| t.key).collect();
        assert_eq!(keys, [key], "an unpadded line gives its key exactly: {line:?}");

        let progress = format!("Completed 1 file(s) with {} file(s) remaining", "9".repeat(line.len()));
        let padded = format!("{progress}\r{line:<width$}\n", width = progress.len());
        let read = aws_cli::transfers(&padded);
        let keys: Vec<&str> = read.changes.iter().map(|t| t.key).collect();
        let want: Vec<&str> = Some(key.trim_end_matches(' ')).filter(|k| !k.is_empty()).into_iter().collect();
        assert_eq!(keys, want, "a padded line gives its key, padding off: {padded:?}");
    }
}
