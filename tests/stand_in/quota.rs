//! CloudFront's in-progress quota, end to end: the real handler and the real `aws-sdk-cloudfront`
//! against the moto stand-in keeping the quota as CloudFront does (`--quota`: 3,000 exact paths and,
//! independently, 15 wildcard paths in progress per distribution; past either,
//! `TooManyInvalidationsInProgress`).
//!
//! The behaviour specified for the quota-aware handler: before creating, it reads what is in
//! progress and plans into the room left — exact room short, it merges into wildcards while
//! wildcard room lasts; no room, the changes wait. Waiting means redelivery: the SQS messages come
//! back as `batchItemFailures`, or the invocation errors with `TooManyInvalidationsInProgress` when
//! nothing of the batch was submitted; both are accepted here as "redelivered".
//!
//! Invalidations complete by the stand-in's control API (`/_cfstub/complete`) or after seconds
//! (`complete_after_seconds`, fixed per invalidation when created); reads never complete them
//! (`--complete-after -1`), because the quota-aware handler reads them to count what is in progress.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use cf_invalidator::cloudfront::CloudFront;
use cf_invalidator::invocation::Invocation;
use cf_invalidator::lambda::{self, Output};
use cf_invalidator::{planner, Config};
use serde_json::{json, Value};

use crate::events::{event, s3_event_time, s3_notification, s3_notification_at, sqs_event};
use crate::support::SAMPLE_DISTRIBUTION as DIST;
use crate::venv::Moto;

fn config() -> Config {
    Config::from_lookup(|n| match n {
        "DISTRIBUTION_ID" => Some(DIST.to_string()),
        "METRICS_NAMESPACE" => Some(String::new()),
        _ => None,
    })
    .unwrap()
}

/// The stand-in keeping the quota; invalidations complete only when a test says so.
fn moto() -> Moto {
    Moto::start(&["--distribution-ids", DIST, "--quota", "--complete-after", "-1"])
}

/// One SQS message per key, each one S3 upload with its own sequencer: `(messageId, body)`.
fn uploads(tag: &str, keys: impl IntoIterator<Item = String>) -> Vec<(String, String, String)> {
    static SEQUENCER: AtomicU64 = AtomicU64::new(0x0062E99A88DC0000);
    keys.into_iter()
        .enumerate()
        .map(|(i, key)| {
            let seq = format!("{:018X}", SEQUENCER.fetch_add(1, Ordering::Relaxed));
            (format!("{tag}-{i:04}"), s3_notification(&key, &seq, false), key)
        })
        .collect()
}

fn payload(msgs: &[(String, String, String)]) -> Vec<u8> {
    sqs_event(&msgs.iter().map(|(id, body, _)| (id.clone(), body.clone())).collect::<Vec<_>>())
}

/// Delivers an SQS batch as Lambda's poller does; returns the messages that will be redelivered.
async fn deliver<C: CloudFront>(cf: &C, msgs: &[(String, String, String)], request_id: &str) -> BTreeSet<String> {
    let inv =
        Invocation { request_id: request_id.to_string(), deadline: None, now: Some(std::time::SystemTime::now()) };
    match lambda::handle(&config(), cf, &payload(msgs), &inv).await {
        Ok(Output::Sqs(r)) => r.batch_item_failures.into_iter().map(|f| f.item_identifier).collect(),
        // Nothing of the batch was submitted: Lambda redelivers the whole batch.
        Err(e) if e.error_type() == "TooManyInvalidationsInProgress" => msgs.iter().map(|m| m.0.clone()).collect(),
        other => {
            panic!("{request_id}: an SQS batch must be answered with batchItemFailures or a quota error: {other:?}")
        }
    }
}

fn ids(msgs: &[(String, String, String)]) -> BTreeSet<String> {
    msgs.iter().map(|m| m.0.clone()).collect()
}

/// The paths of an invalidation, read back from the stand-in.
async fn paths_of(moto: &Moto, id: &str) -> Vec<String> {
    let got = moto.sdk().get_invalidation().distribution_id(DIST).id(id).send().await.unwrap();
    got.invalidation.unwrap().invalidation_batch.unwrap().paths.unwrap().items.unwrap_or_default()
}

async fn new_invalidations(moto: &Moto, before: &[String]) -> Vec<String> {
    moto.invalidation_ids(DIST).await.into_iter().filter(|i| !before.contains(i)).collect()
}

/// Whether `paths` cover a path or wildcard prefix: an equal exact path, or a wildcard whose
/// prefix starts it (a wildcard cover `p*` only by a wildcard `q*` with `p` starting with `q`).
fn covers(paths: &[String], text: &str, wildcard: bool) -> bool {
    paths.iter().any(|p| match p.strip_suffix('*') {
        Some(q) => text.starts_with(q),
        None => !wildcard && p == text,
    })
}

/// Every request form of a changed key (the planner's covers of it) is covered by `paths`.
fn covers_key(paths: &[String], key: &str) -> bool {
    let c = planner::covers_of_key(key, Some("index.html"));
    (0..c.len()).all(|i| covers(paths, c.text(i), c.is_wildcard(i)))
}

async fn create(moto: &Moto, reference: &str, paths: Vec<String>) -> String {
    let batch = aws_sdk_cloudfront::types::InvalidationBatch::builder()
        .caller_reference(reference)
        .paths(
            aws_sdk_cloudfront::types::Paths::builder()
                .quantity(paths.len() as i32)
                .set_items(Some(paths))
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let out = moto.sdk().create_invalidation().distribution_id(DIST).invalidation_batch(batch).send().await.unwrap();
    out.invalidation.unwrap().id
}

/// Batch 1 fills the exact-path quota; batch 2 still gets its invalidation, in the wildcard room,
/// with nothing failed back; batch 3, once the wildcard room is used as well, waits; redelivered
/// with batch 4's new messages after the first invalidation completes, both go into ONE
/// invalidation.
#[tokio::test]
async fn a_full_exact_quota_sends_the_next_batch_to_wildcards_and_the_one_after_waits_then_merges() {
    let moto = moto();
    let cf = moto.cloudfront();

    // 1. 1,000 index pages plan exactly 3,000 paths (/dirN/index.html, /dirN/, /dirN).
    let b1 = uploads("b1", (0..1000).map(|i| format!("dir{i}/index.html")));
    assert_eq!(deliver(&cf, &b1, "r1").await, BTreeSet::new(), "batch 1 acknowledged");
    let all = moto.invalidation_ids(DIST).await;
    assert_eq!(all.len(), 1);
    let first = all[0].clone();
    assert_eq!(paths_of(&moto, &first).await.len(), 3000);
    assert_eq!(moto.in_progress(DIST), (3000, 0), "the exact-path quota is full");

    // 2. No exact room: batch 2 goes into wildcards, and none of its messages comes back.
    let b2 = uploads("b2", (0..40).map(|i| format!("section{}/page{i}.html", i % 20)));
    let before = moto.invalidation_ids(DIST).await;
    let failed = deliver(&cf, &b2, "r2").await;
    assert_eq!(failed, BTreeSet::new(), "batch 2 is invalidated in the wildcard room, nothing redelivered");
    let made = new_invalidations(&moto, &before).await;
    assert!(!made.is_empty(), "batch 2 got its invalidation");
    let mut b2_paths = Vec::new();
    for id in &made {
        b2_paths.extend(paths_of(&moto, id).await);
    }
    for (_, _, key) in &b2 {
        assert!(covers_key(&b2_paths, key), "{key} covered by batch 2's invalidation: {b2_paths:?}");
    }
    let (exact, wildcards) = moto.in_progress(DIST);
    assert_eq!(exact, 3000, "batch 2 sent no exact path");
    assert!((1..=15).contains(&wildcards), "{wildcards} wildcards in progress");

    // 3. The wildcard room used as well (another tool takes what batch 2 left): batch 3 waits.
    if wildcards < 15 {
        create(&moto, "another-tool", (wildcards..15).map(|k| format!("/other/{k}/*")).collect()).await;
    }
    assert_eq!(moto.in_progress(DIST), (3000, 15), "both quotas full");
    let b3 = uploads("b3", (0..10).map(|i| format!("late/page{i}.html")));
    let before = moto.invalidation_ids(DIST).await;
    assert_eq!(deliver(&cf, &b3, "r3").await, ids(&b3), "every message of batch 3 is redelivered");
    assert_eq!(new_invalidations(&moto, &before).await, Vec::<String>::new(), "nothing created for batch 3");

    // 4. The first invalidation completes; batch 3 comes back together with batch 4's messages.
    assert_eq!(moto.complete(Some(&first)), vec![first.clone()]);
    assert_eq!(moto.in_progress(DIST).0, 0, "exact room again");
    let b4 = uploads("b4", (0..10).map(|i| format!("later/page{i}.html")));
    let redelivery: Vec<_> = b3.iter().chain(&b4).cloned().collect();
    let before = moto.invalidation_ids(DIST).await;
    assert_eq!(deliver(&cf, &redelivery, "r4").await, BTreeSet::new(), "batches 3 and 4 acknowledged");
    let made = new_invalidations(&moto, &before).await;
    assert_eq!(made.len(), 1, "ONE invalidation for batches 3 and 4: {made:?}");
    let paths = paths_of(&moto, &made[0]).await;
    for (_, _, key) in &redelivery {
        assert!(covers_key(&paths, key), "{key} covered: {paths:?}");
    }
}

/// The sample event of each source, the way `tests/stand_in/faults.rs` names them.
const SOURCES: &[(&str, &str)] = &[
    ("sqs", "sqs-s3.json"),
    ("s3", "s3-put.json"),
    ("sns", "sns.json"),
    ("eventbridge", "eventbridge-created.json"),
    ("explicit", "explicit-paths.json"),
];

/// Delivers a sample event; `Ok(())` when acknowledged, `Err(())` when it will be delivered again.
async fn deliver_sample<C: CloudFront>(cf: &C, source: &str, name: &str, request_id: &str) -> Result<(), ()> {
    let inv =
        Invocation { request_id: request_id.to_string(), deadline: None, now: Some(std::time::SystemTime::now()) };
    let out = lambda::handle(&config(), cf, &event(name), &inv).await;
    match (source, out) {
        ("sqs", Ok(Output::Sqs(r))) if r.batch_item_failures.is_empty() => Ok(()),
        ("sqs", Ok(Output::Sqs(r))) => {
            let all: Vec<Value> = serde_json::from_slice::<Value>(&event(name)).unwrap()["Records"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["messageId"].clone())
                .collect();
            let failed: Vec<Value> = r.batch_item_failures.iter().map(|f| json!(f.item_identifier)).collect();
            assert_eq!(failed, all, "{source}: every message back to the queue");
            Err(())
        }
        (_, Ok(Output::Other(_))) => Ok(()),
        (_, Err(e)) => {
            assert_eq!(e.error_type(), "TooManyInvalidationsInProgress", "{source}: {e}");
            Err(())
        }
        (_, Ok(o)) => panic!("{source}: {o:?}"),
    }
}

/// Fault matrix cell "quota full": CloudFront's quota is full (3,000 exact and 15 wildcard paths
/// in progress, held by other invalidations). SQS messages come back, direct invokes get errorType
/// `TooManyInvalidationsInProgress`, nothing is created; once the quota frees, the same deliveries
/// create what they promised — nothing is lost.
#[tokio::test]
async fn quota_full() {
    let moto = moto();
    let cf = moto.cloudfront();
    create(&moto, "held-exact", (0..3000).map(|i| format!("/held/p{i}")).collect()).await;
    create(&moto, "held-wildcards", (0..15).map(|i| format!("/held/w{i}/*")).collect()).await;
    assert_eq!(moto.in_progress(DIST), (3000, 15));
    let held = moto.invalidation_ids(DIST).await;

    for (source, name) in SOURCES {
        assert_eq!(deliver_sample(&cf, source, name, &format!("{source}-1")).await, Err(()), "{source}: waits");
    }
    assert_eq!(new_invalidations(&moto, &held).await, Vec::<String>::new(), "nothing created while the quota is full");

    moto.complete(None);
    for (source, name) in SOURCES {
        let before = moto.invalidation_ids(DIST).await;
        // Lambda's retry of an async invoke keeps its request id; SQS redelivers the same messages.
        assert_eq!(deliver_sample(&cf, source, name, &format!("{source}-1")).await, Ok(()), "{source}: acknowledged");
        let made = new_invalidations(&moto, &before).await;
        assert_eq!(made.len(), 1, "{source}: one invalidation");
        let paths = paths_of(&moto, &made[0]).await;
        let sample: Value = serde_json::from_slice(&event(name)).unwrap();
        if let Some(asked) = sample["paths"].as_array() {
            assert_eq!(paths.len(), asked.len(), "{source}: the paths asked for, as they are");
            assert!(asked.iter().all(|p| paths.iter().any(|q| p == q)), "{source}: {asked:?} sent: {paths:?}");
        } else {
            let changes = cf_invalidator::intake::parse(&event(name)).unwrap().changes;
            assert!(!changes.is_empty(), "{source}");
            for c in &changes {
                assert!(covers_key(&paths, &c.key), "{source}: {} covered by {paths:?}", c.key);
            }
        }
    }
}

/// Fault matrix cell "invalidation in progress for 60 minutes", on a clock where a minute is
/// 100 ms: a large deploy's 3,000 exact paths and another tool's 15 wildcards stay in progress for
/// 60 minutes. Later changes arrive through an SQS queue modelled with the template's settings
/// (visibility timeout 4 minutes, maxReceiveCount 31): they are received again and again while
/// the quota is held, are never dead-lettered, and are invalidated once it frees.
#[tokio::test]
async fn invalidation_in_progress_for_60_minutes() {
    const MINUTE: f64 = 0.1;
    const VISIBILITY_MINUTES: f64 = 4.0;
    const MAX_RECEIVES: usize = 31;
    let moto = moto();
    let cf = moto.cloudfront();
    moto.config(json!({ "complete_after_seconds": 60.0 * MINUTE }));
    let long = Instant::now();
    let b1 = uploads("deploy", (0..1000).map(|i| format!("dir{i}/index.html")));
    assert_eq!(deliver(&cf, &b1, "deploy").await, BTreeSet::new());
    create(&moto, "another-tool", (0..15).map(|i| format!("/other/{i}/*")).collect()).await;
    let holders = moto.invalidation_ids(DIST).await;
    assert_eq!(moto.in_progress(DIST), (3000, 15), "the quota is held");
    // Later invalidations take a typical 10 minutes.
    moto.config(json!({ "complete_after_seconds": 10.0 * MINUTE }));

    let late = uploads("late", (0..20).map(|i| format!("news/item{i}/index.html")));
    let mut pending = late.clone();
    let mut receives = 0;
    while !pending.is_empty() {
        receives += 1;
        assert!(receives <= MAX_RECEIVES, "dead-lettered: still pending after {MAX_RECEIVES} receives");
        assert!(long.elapsed() < Duration::from_secs(60), "still pending after 60 s of test time");
        let failed = deliver(&cf, &pending, &format!("late-{receives}")).await;
        pending.retain(|m| failed.contains(&m.0));
        if !pending.is_empty() {
            // Back in the queue until the visibility timeout expires.
            tokio::time::sleep(Duration::from_secs_f64(VISIBILITY_MINUTES * MINUTE)).await;
        }
    }
    let waited = long.elapsed().as_secs_f64() / MINUTE;
    assert!(receives > 1, "the changes waited for the quota (received {receives} times)");
    // There was no room for anything before the long invalidations completed.
    assert!(waited >= 60.0 * 0.9, "acknowledged after {waited:.0} minutes, before the quota freed");
    let made = new_invalidations(&moto, &holders).await;
    assert!(!made.is_empty(), "the late changes were invalidated");
    let mut paths = Vec::new();
    for id in &made {
        paths.extend(paths_of(&moto, id).await);
    }
    for (_, _, key) in &late {
        assert!(covers_key(&paths, key), "{key} covered: {paths:?}");
    }
}

/// Another tool's invalidation, as CloudFront answers its create: (id, `CreateTime`).
async fn create_timed(moto: &Moto, reference: &str, paths: Vec<String>) -> (String, SystemTime) {
    let id = create(moto, reference, paths).await;
    let got = moto.sdk().get_invalidation().distribution_id(DIST).id(&id).send().await.unwrap();
    let created = got.invalidation.unwrap().create_time;
    (id, SystemTime::try_from(created).unwrap())
}

/// One SQS message of one S3 upload of `key` made at `made` (its `eventTime`).
fn upload_at(id: &str, key: &str, made: SystemTime) -> (String, String, String) {
    static SEQUENCER: AtomicU64 = AtomicU64::new(0x0072E99A88DC0000);
    let seq = format!("{:018X}", SEQUENCER.fetch_add(1, Ordering::Relaxed));
    (id.to_string(), s3_notification_at(key, &seq, false, &s3_event_time(made)), key.to_string())
}

/// How many CreateInvalidation calls the stand-in has seen (refused ones included).
fn creates(moto: &Moto) -> usize {
    moto.calls().iter().filter(|c| *c == "CreateInvalidation").count()
}

/// Rule ("covered already means done"): a change is covered by an invalidation
/// created after it, anyone's — here another tool's `/*` — so its SQS message is acknowledged and
/// nothing is created; CloudFront's `CreateTime` must be later than the change's S3 `eventTime` by
/// `submit::CLOCK_MARGIN` (2 s), so a change made within the margin before the `/*`, or after it,
/// is invalidated. Through the real SDK: the `/*`'s `CreateTime` as ListInvalidations and
/// GetInvalidation carry it on the wire.
#[tokio::test]
async fn another_tools_wildcard_made_after_a_change_covers_it_and_nothing_is_created() {
    let moto = moto();
    let cf = moto.cloudfront();
    let (_, flushed) = create_timed(&moto, "another-tool-flush", vec!["/*".to_string()]).await;
    assert_eq!(cf_invalidator::submit::CLOCK_MARGIN, Duration::from_secs(2), "the margin the cases straddle");
    let ms = Duration::from_millis;
    // (the change's eventTime, covered already by the `/*`, why)
    let cases = [
        (flushed - ms(10_000), true, "made 10 s before the /*: acknowledged, nothing created"),
        (flushed - ms(2_500), true, "made 2.5 s before: past the margin, covered"),
        (flushed - ms(1_000), false, "made 1 s before: within the clock margin, invalidated (the safe side)"),
        (flushed + ms(1_000), false, "made after the /*: invalidated"),
    ];
    for (i, (made, covered, why)) in cases.into_iter().enumerate() {
        let key = format!("case{i}/page{i}.html");
        let msg = upload_at(&format!("covered-{i}"), &key, made);
        let before = moto.invalidation_ids(DIST).await;
        let calls = creates(&moto);
        let back = deliver(&cf, std::slice::from_ref(&msg), &format!("c{i}")).await;
        assert_eq!(back, BTreeSet::new(), "{why}: the message is acknowledged");
        let made = new_invalidations(&moto, &before).await;
        if covered {
            assert_eq!(made, Vec::<String>::new(), "{why}");
            assert_eq!(creates(&moto), calls, "{why}: no CreateInvalidation at all");
        } else {
            assert_eq!(made.len(), 1, "{why}");
            let paths = paths_of(&moto, &made[0]).await;
            assert!(covers_key(&paths, &key), "{why}: {key} covered by {paths:?}");
            assert!(!paths.iter().any(|p| p == "/*"), "{why}: its own paths, not a flush: {paths:?}");
        }
    }
}

/// Rule (partial fit): with 10 exact paths of room left (another tool's 2,990
/// exact paths and 15 wildcards in progress), a batch of 15 messages of one path each sends the
/// oldest 10 in one invalidation, and only the newest 5 come back as batchItemFailures; CloudFront
/// refuses nothing (nothing was sent that the room could not hold).
#[tokio::test]
async fn a_nearly_full_room_takes_the_oldest_part_of_a_batch_and_only_the_rest_comes_back() {
    let moto = moto();
    let cf = moto.cloudfront();
    create(&moto, "deploy-tool", (0..2990).map(|i| format!("/tool/{i}.html")).collect()).await;
    create(&moto, "another-tool", (0..15).map(|i| format!("/other/{i}/*")).collect()).await;
    assert_eq!(moto.in_progress(DIST), (2990, 15), "10 exact paths and no wildcard left");
    let calls = creates(&moto);
    let before = moto.invalidation_ids(DIST).await;
    // Made a second apart, in an order other than the batch's: message i is the (7i mod 15)-th.
    let start = SystemTime::now() - Duration::from_secs(60);
    let batch: Vec<_> = (0..15u64)
        .map(|i| upload_at(&format!("part-{i:02}"), &format!("d{i}/app.js"), start + Duration::from_secs(i * 7 % 15)))
        .collect();
    let newest: BTreeSet<String> = (0..15u64).filter(|i| i * 7 % 15 >= 10).map(|i| format!("part-{i:02}")).collect();

    let back = deliver(&cf, &batch, "partial").await;
    assert_eq!(back, newest, "only the 5 newest come back");
    let made = new_invalidations(&moto, &before).await;
    assert_eq!(made.len(), 1, "one invalidation for the part that fits: {made:?}");
    let paths = paths_of(&moto, &made[0]).await;
    assert_eq!(paths.len(), 10, "{paths:?}");
    for (id, _, key) in &batch {
        assert_eq!(covers_key(&paths, key), !back.contains(id), "{id} ({key}): {paths:?}");
    }
    assert_eq!(creates(&moto) - calls, 1, "one create, none refused");
    assert_eq!(moto.in_progress(DIST), (3000, 15));
}

/// A CloudFront client signing with its own access key, which the stand-in's call log records:
/// whose calls were whose.
fn signed_as(moto: &Moto, key: &str) -> cf_invalidator::cloudfront::SdkCloudFront {
    use aws_sdk_cloudfront::config::{BehaviorVersion, Credentials, Region};
    let conf = aws_sdk_cloudfront::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(&moto.endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(key, "test", None, None, "tests"))
        .build();
    cf_invalidator::cloudfront::SdkCloudFront::from_client(aws_sdk_cloudfront::Client::from_conf(conf))
}

/// Rule ("a refusal caused by a concurrent invocation costs no change a
/// visibility timeout"): two invocations race for a room that holds only one of their batches
/// (8 one-path messages each). Both read the room before either creates (the stand-in holds each
/// create 2 s, as a slow API would), so one is refused; it reads the room again and re-fits into
/// what is left — the rest of the exact room, the wildcard room — or, with nothing left, waits.
/// No change is lost: every message is acknowledged with an invalidation covering it, or comes
/// back; at most one refusal per invocation.
#[tokio::test]
async fn two_invocations_racing_for_one_room_lose_no_change() {
    // (the other tool's exact paths and wildcards in progress, messages acknowledged by the
    // invocation that won and by the one refused, why)
    let cases = [
        (2990, 15, 8, 2, "10 exact left: the refused one sends 2 of its 8 into the 2 left, 6 come back"),
        (2992, 15, 8, 0, "8 exact left: nothing left for the refused one, all 8 wait"),
        (2990, 0, 8, 8, "exact room short for the refused one: it re-fits whole into the wildcard room"),
    ];
    for (exact, wildcards, won, refitted, why) in cases {
        let moto = moto();
        create(&moto, "deploy-tool", (0..exact).map(|i| format!("/tool/{i}.html")).collect()).await;
        if wildcards > 0 {
            create(&moto, "another-tool", (0..wildcards).map(|i| format!("/other/{i}/*")).collect()).await;
        }
        let before = moto.invalidation_ids(DIST).await;
        let made = SystemTime::now() - Duration::from_secs(30);
        let batches: Vec<Vec<_>> = ["racer-a", "racer-b"]
            .iter()
            .map(|r| (0..8).map(|i| upload_at(&format!("{r}-{i}"), &format!("{r}/p{i}.css"), made)).collect())
            .collect();
        let hold = json!({"op": "CreateInvalidation", "delay": 2.0});
        moto.inject(json!([hold, hold]));
        let (a, b) = (signed_as(&moto, "racer-a"), signed_as(&moto, "racer-b"));
        let (back_a, back_b) = tokio::join!(deliver(&a, &batches[0], "race-a"), deliver(&b, &batches[1], "race-b"));

        let made = new_invalidations(&moto, &before).await;
        let mut paths = Vec::new();
        for id in &made {
            paths.extend(paths_of(&moto, id).await);
        }
        let mut acked = Vec::new();
        for (batch, back) in batches.iter().zip([&back_a, &back_b]) {
            for (id, _, key) in batch {
                assert!(back.contains(id) || covers_key(&paths, key), "{why}: {id} acknowledged but not invalidated");
            }
            assert!(back.iter().all(|id| batch.iter().any(|m| &m.0 == id)), "{why}: {back:?}");
            acked.push(batch.len() - back.len());
        }
        acked.sort();
        assert_eq!(acked, [refitted.min(won), won.max(refitted)], "{why}");
        let log = moto.signers();
        let calls = moto.calls();
        let by = |who: &str| log.iter().zip(&calls).filter(|(k, op)| *k == who && *op == "CreateInvalidation").count();
        let (creates_a, creates_b) = (by("racer-a"), by("racer-b"));
        assert!(creates_a <= 2 && creates_b <= 2, "{why}: at most one refusal each: {creates_a}, {creates_b}");
        assert_eq!(creates_a + creates_b - made.len(), 1, "{why}: exactly one refused (both read before either made)");
        let (e, w) = moto.in_progress(DIST);
        assert!(e <= 3000 && w <= 15, "{why}: {e}, {w}");
    }
}
