//! Orchestration: intake → planner → CloudFront, and the response each source expects.
//!
//! Nothing is acknowledged that was not submitted: an SQS message is listed in
//! `batchItemFailures` unless every request carrying its changes was created; every other source
//! gets an error (Lambda retries async invokes, Step Functions applies its `Retry`).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse};
use serde::Serialize;

use crate::cloudfront::{CloudFront, CreateRequest, Invalidation};
use crate::config::Config;
use crate::deadline::{self, Instant};
use crate::error::Error;
use crate::intake::{self, Explicit, ExplicitRequest, Intake, Source};
use crate::model::{DistributionId, API_MAX_PATHS, API_MAX_WILDCARDS_IN_PROGRESS};
use crate::observe::{self, Summary};
use crate::planner::explain::PathWhy;
use crate::planner::{self, Budget, Plan, Planned, Routing};
use crate::quota;
use crate::reference::{self, Reference};
use crate::track::{self, Tracker};

/// What the handler knows of the invocation besides the payload.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// The Lambda request id: Lambda keeps it across its own retries of an async invoke, so it
    /// stands in for the version of changes that carry none.
    pub request_id: String,
    pub deadline: Option<Instant>,
}

impl Invocation {
    pub fn from_context(ctx: &lambda_runtime::Context) -> Self {
        // `deadline` is milliseconds since the epoch. Lambda never starts an invocation past its
        // deadline, so a deadline already past is not one (cargo lambda's emulator sends its
        // timeout, 600000, there): then only the SDK's own timeouts bound the call.
        let now_ms =
            SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
        let deadline = (ctx.deadline > now_ms).then(|| Instant::now() + Duration::from_millis(ctx.deadline - now_ms));
        Invocation { request_id: ctx.request_id.clone(), deadline }
    }
}

/// The requests an invocation will make, before any AWS call (`cfinv plan` stops here): each
/// within the configured budgets, as if nothing were in progress.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub intake: Intake,
    pub planned: Planned,
    /// Each plan's CallerReference.
    pub references: Vec<String>,
    /// With [`prepare_with`]'s `explain`: why each path of each plan is there.
    pub explained: Option<Vec<Vec<PathWhy>>>,
    /// Seconds the wait loop may wait (explicit requests; the default otherwise).
    pub timeout: u32,
}

/// Reads the payload and plans its requests.
pub fn prepare(cfg: &Config, payload: &[u8]) -> Result<Prepared, Error> {
    prepare_with(cfg, payload, "plan", false)
}

/// [`prepare`] with the request id that references of unversioned requests derive from, and,
/// on request, the explanation of every path.
pub fn prepare_with(cfg: &Config, payload: &[u8], request_id: &str, explain: bool) -> Result<Prepared, Error> {
    let intake = intake::parse(payload)?;
    let given = intake.explicit.as_ref().and_then(|r| r.caller_reference.as_deref());
    let mut references = Vec::new();
    let mut explained = Vec::new();
    let planned = match explicit_paths(&intake) {
        Some((d, paths)) => {
            let plan = Plan::of_paths(d, paths);
            references.push(reference::decide(given, d, std::iter::empty(), paths, request_id).value);
            explained.push(planner::explain::given(&plan));
            Planned { plans: vec![plan], skipped: BTreeMap::new() }
        }
        None => {
            let gathered = planner::gather(&intake.changes, cfg, routing(&intake))?;
            let mut plans = Vec::with_capacity(gathered.requests.len());
            for request in &gathered.requests {
                let plan = request.fit_configured(cfg)?;
                let r = reference::decide(given, &plan.distribution_id, request.changes(), &plan.paths, request_id);
                references.push(r.value);
                if explain {
                    explained.push(planner::explain::explain(request, &plan, cfg));
                }
                plans.push(plan);
            }
            Planned { plans, skipped: gathered.skipped }
        }
    };
    Ok(Prepared { timeout: timeout(&intake), intake, planned, references, explained: explain.then_some(explained) })
}

fn routing(intake: &Intake) -> Routing<'_> {
    match &intake.explicit {
        Some(req) => Routing::Keys { distribution_id: req.distribution_id() },
        None => Routing::Events,
    }
}

fn explicit_paths(intake: &Intake) -> Option<(&DistributionId, &[String])> {
    match &intake.explicit {
        Some(ExplicitRequest { what: Explicit::Paths { distribution_id, paths }, .. }) => {
            Some((distribution_id, paths))
        }
        _ => None,
    }
}

/// How long the wait loop may wait: the explicit request's `timeout`; for events (their tracker,
/// with TrackCompletions) the longest allowed, an hour, because no caller chose one and
/// invalidations have been seen to take 40 minutes.
fn timeout(intake: &Intake) -> u32 {
    intake.explicit.as_ref().map_or(intake::explicit::MAX_TIMEOUT, |r| r.timeout)
}

/// One created invalidation, as reported to the caller (and to the Step Functions wait loop).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Created {
    pub distribution_id: String,
    pub invalidation_id: String,
    pub status: String,
    pub caller_reference: String,
    pub path_count: usize,
    /// `null` when the paths exceed 32 KiB, to stay far below Step Functions' 256 KiB state limit.
    pub paths: Option<Vec<String>>,
    pub wildcards: usize,
    pub timeout: u32,
    /// `now + timeout` (RFC 3339, UTC): the wait loop fails with `InvalidationTimeout` after it.
    pub deadline: String,
    /// The route's role (ROUTES' `role_arn`), which the wait loop polls another account with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
}

/// The response to every source but SQS.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Response {
    /// The single invalidation's fields at the top level (absent when there are zero or several).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub single: Option<Created>,
    pub outcome: Outcome,
    pub source: &'static str,
    pub keys_in: usize,
    pub invalidations: Vec<Created>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub skipped: BTreeMap<&'static str, usize>,
}

/// What an invocation did, for the caller (the workflow's Choice reads it).
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub enum Outcome {
    /// Every request was created (or CloudFront already had it).
    Created,
    /// The event changed nothing to invalidate (filtered keys, test events).
    Skipped,
}

/// Paths are echoed in the response only up to this many bytes in all.
const ECHO_PATHS_BYTES: usize = 32 * 1024;

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(untagged)]
pub enum Output {
    Sqs(SqsBatchResponse),
    Other(Box<Response>),
}

/// What one invocation did, counted for the summary line and the metrics whatever happened.
#[derive(Debug, Default)]
struct Tally {
    created: Vec<Created>,
    /// Requests CloudFront already had (same changes, same reference): nothing to redo.
    already: usize,
    /// SQS message indexes not submitted: redelivered.
    failed: BTreeSet<usize>,
    /// Requests refused for CloudFront's rate or in-progress limits, or held back for want of room.
    throttled: usize,
    /// Requests held back because the quota had no room for them.
    waiting: usize,
    paths: usize,
    wildcards: usize,
    requests: usize,
    skipped: BTreeMap<&'static str, usize>,
    error: Option<Error>,
    /// Trackers started for the created invalidations (`TRACK_STATE_MACHINE_ARN`).
    tracking: track::Count,
}

impl Tally {
    fn fail(&mut self, messages: impl IntoIterator<Item = usize>, e: Error) {
        if matches!(e, Error::Throttled(_) | Error::TooManyInvalidationsInProgress { .. }) {
            self.throttled += 1;
        }
        self.failed.extend(messages);
        self.error.get_or_insert(e);
    }
}

/// Runs one invocation end to end.
///
/// Each distribution's request is planned into the room CloudFront's in-progress quota has left
/// ([`quota::room`]): when exact room is short, exact paths merge into wildcards while wildcard
/// room lasts. When nothing fits, the request is not sent: its changes wait, as SQS messages that
/// come back after the visibility timeout (and are merged with later changes into one
/// invalidation), or as a `TooManyInvalidationsInProgress` error that Lambda's async retries, the
/// failed-event queue or the workflow's Retry bring back.
pub async fn handle<C: CloudFront>(cfg: &Config, cf: &C, payload: &[u8], inv: &Invocation) -> Result<Output, Error> {
    handle_tracked(cfg, cf, None::<&track::Off>, payload, inv).await
}

/// [`handle`], and with a tracker, each invalidation made from events is tracked to completion
/// (`track.rs`) once it is created.
pub async fn handle_tracked<C: CloudFront, T: Tracker>(
    cfg: &Config,
    cf: &C,
    tracker: Option<&T>,
    payload: &[u8],
    inv: &Invocation,
) -> Result<Output, Error> {
    let started = Instant::now();
    let intake = match intake::parse(payload) {
        Ok(i) => i,
        Err(e) => {
            tracing::warn!(error = %e, "invocation failed");
            report(cfg, None, &Tally { error: Some(e.clone()), ..Default::default() }, started);
            return Err(e);
        }
    };
    let mut tally = Tally { failed: intake.malformed.iter().map(|m| m.0).collect(), ..Default::default() };
    tracing::debug!(keys = ?intake.changes.iter().map(|c| c.key.as_str()).collect::<Vec<_>>(), "changed keys");
    let timeout = timeout(&intake);
    let given_reference = intake.explicit.as_ref().and_then(|r| r.caller_reference.as_deref());

    if let Some(ExplicitRequest { what: Explicit::Track { invalidations }, .. }) = &intake.explicit {
        // A tracking input: nothing is created; each invalidation as CloudFront has it.
        for t in invalidations {
            match cf.get_invalidation(&t.distribution_id, &t.invalidation_id).await {
                Ok(i) => {
                    let mut c =
                        describe(&t.distribution_id, &i.caller_reference.clone(), i, t.timeout.unwrap_or(timeout));
                    c.deadline = t.deadline.clone().unwrap_or(c.deadline);
                    tally.created.push(c);
                }
                Err(e) => tally.fail([0], e),
            }
        }
    } else if let Some((distribution_id, paths)) = explicit_paths(&intake) {
        // Paths given as they are: sent as they are when they fit, else they wait.
        let plan = Plan::of_paths(distribution_id, paths);
        let budget =
            Budget { max_paths: API_MAX_PATHS, max_exact: API_MAX_PATHS, max_wildcards: API_MAX_WILDCARDS_IN_PROGRESS };
        let room = room_or_full(cf, distribution_id, inv.deadline).await;
        if budget.within_room(room.exact, room.wildcards).holds(&plan.paths) {
            let reference =
                reference::decide(given_reference, distribution_id, std::iter::empty(), &plan.paths, &inv.request_id);
            submit(cf, &plan, None, &reference, timeout, inv, &mut tally).await;
        } else {
            hold(distribution_id, [0], room, &mut tally);
        }
    } else {
        match planner::gather(&intake.changes, cfg, routing(&intake)) {
            Err(e) => {
                tracing::warn!(error_type = e.error_type(), error = %e, "not planned");
                tally.fail(intake.changes.iter().map(|c| c.message), e);
            }
            Ok(gathered) => {
                tally.skipped = gathered.skipped;
                for request in &gathered.requests {
                    let room = room_or_full(cf, &request.distribution_id, inv.deadline).await;
                    let share = room.share();
                    let budget = Budget::configured(cfg).within_room(share.exact, share.wildcards);
                    match request.fit(budget) {
                        Some(plan) => {
                            let reference = reference::decide(
                                given_reference,
                                &plan.distribution_id,
                                request.changes(),
                                &plan.paths,
                                &inv.request_id,
                            );
                            submit(cf, &plan, Some(request), &reference, timeout, inv, &mut tally).await;
                        }
                        None => hold(&request.distribution_id, request.changes().map(|c| c.message), room, &mut tally),
                    }
                }
            }
        }
    }
    for c in &mut tally.created {
        c.role_arn = cfg.roles.iter().find(|(d, _)| d.as_str() == c.distribution_id).map(|(_, r)| r.clone());
    }
    // Explicit requests are not tracked: they come from the workflow, which waits for them itself,
    // or from a caller who chose not to wait. A tracker that fails never fails a message
    // (`track::track_all` says why): only `tally.tracking` counts it.
    if let (Some(tracker), None) = (tracker, &intake.explicit) {
        let created = tally.created.iter().map(|c| track::Tracked {
            distribution_id: &c.distribution_id,
            invalidation_id: &c.invalidation_id,
            entry: c,
        });
        tally.tracking = track::track_all(tracker, created, inv.deadline).await;
    }
    report(cfg, Some(&intake), &tally, started);

    if intake.source == Source::Sqs {
        let nothing_submitted = tally.created.is_empty() && tally.already == 0 && !tally.failed.is_empty();
        if !nothing_submitted {
            return Ok(Output::Sqs(batch_response(&intake, &tally.failed)));
        }
        // Behind an SQS mapping an error sends the whole batch back, with or without
        // ReportBatchItemFailures: the safe answer when nothing of it was submitted.
        return Err(tally.error.unwrap_or_else(|| {
            let why = intake.malformed.first().map_or("", |m| m.1.as_str());
            Error::invalid(format!("no message of the SQS batch could be read (the first: {why})"))
        }));
    }
    if let Some(e) = tally.error {
        return Err(e);
    }
    let created = tally.created;
    Ok(Output::Other(Box::new(Response {
        single: (created.len() == 1).then(|| created[0].clone()),
        outcome: if created.is_empty() && tally.already == 0 { Outcome::Skipped } else { Outcome::Created },
        source: intake.source.name(),
        keys_in: intake.changes.len(),
        invalidations: created,
        skipped: tally.skipped,
    })))
}

/// The room on a distribution; the whole quota when it cannot be read (a role without
/// `cloudfront:ListInvalidations`, a transient error): CloudFront then refuses what does not fit,
/// and the changes wait all the same.
///
/// The lookup may use a third of the time left before the invocation's deadline, so that the
/// create still has the rest.
async fn room_or_full<C: CloudFront>(cf: &C, distribution_id: &str, deadline: Option<Instant>) -> quota::Room {
    let share = deadline.map(|d| deadline::left(d) / 3);
    let result = deadline::within(share, quota::room(cf, distribution_id), |share| {
        Err(Error::CloudFront(format!("reading what is in progress took over {} ms", share.as_millis())))
    })
    .await;
    match result {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(distribution_id, error_type = e.error_type(), error = %e, "in-progress invalidations not readable; planning as if none");
            quota::Room::FULL
        }
    }
}

/// A request that does not fit the room: its changes wait.
fn hold(distribution_id: &str, messages: impl IntoIterator<Item = usize>, room: quota::Room, tally: &mut Tally) {
    tally.waiting += 1;
    let e = Error::TooManyInvalidationsInProgress {
        distribution_id: distribution_id.to_string(),
        message: format!(
            "no room: {} exact and {} wildcard paths left in progress ({} invalidations running); the changes wait",
            room.exact, room.wildcards, room.in_progress
        ),
    };
    tracing::info!(distribution_id, room_exact = room.exact, room_wildcards = room.wildcards, "request waits for room");
    tally.fail(messages, e);
}

/// Creates one plan's invalidation. `request` is the keys or changes it was planned from (none for
/// explicit paths).
async fn submit<C: CloudFront>(
    cf: &C,
    plan: &Plan,
    request: Option<&planner::Request<'_>>,
    reference: &Reference,
    timeout: u32,
    inv: &Invocation,
    tally: &mut Tally,
) {
    tracing::debug!(distribution_id = %plan.distribution_id, paths = ?plan.paths, "request");
    tally.requests += 1;
    let req = CreateRequest {
        distribution_id: &plan.distribution_id,
        caller_reference: &reference.value,
        paths: &plan.paths,
    };
    match cf.create_invalidation(req, inv.deadline).await {
        Ok(i) => {
            tally.paths += plan.paths.len();
            tally.wildcards += plan.stats.wildcards;
            tally.created.push(describe(&plan.distribution_id, &reference.value, i, timeout));
        }
        // The reference stands for exactly these changes, so an invalidation holding it — made by
        // an earlier delivery whose answer was lost, planned into the room there was then —
        // already covers them.
        Err(Error::InvalidationBatchAlreadyExists { .. }) if reference.origin == reference::Origin::Changes => {
            tracing::info!(distribution_id = %plan.distribution_id, caller_reference = %reference.value, "already invalidated by an earlier delivery of the same changes");
            tally.already += 1;
        }
        // A caller's reference (the workflow's `sfn-<execution>`) retried after the room changed:
        // the invalidation the first attempt made is the answer, if it covers these keys — the
        // workflow must wait for it. Keys it does not cover are the caller's reuse of a reference.
        Err(e @ Error::InvalidationBatchAlreadyExists { .. }) if reference.origin == reference::Origin::Caller => {
            match (request, find_by_reference(cf, &plan.distribution_id, &reference.value).await) {
                (Some(r), Some(existing)) if r.covered_by(&existing.paths) => {
                    tracing::info!(distribution_id = %plan.distribution_id, invalidation_id = %existing.id, "the caller's reference was made earlier and covers this request");
                    tally.created.push(describe(&plan.distribution_id, &reference.value, existing, timeout));
                }
                _ => {
                    tracing::warn!(distribution_id = %plan.distribution_id, caller_reference = %reference.value, error = %e, "invalidation not created");
                    tally.fail(plan.messages.iter().copied(), e);
                }
            }
        }
        Err(e) => {
            tracing::warn!(
                distribution_id = %plan.distribution_id,
                caller_reference = %reference.value,
                error_type = e.error_type(),
                retryable = e.is_retryable(),
                error = %e,
                "invalidation not created"
            );
            tally.fail(plan.messages.iter().copied(), e);
        }
    }
}

fn batch_response(intake: &Intake, failed: &BTreeSet<usize>) -> SqsBatchResponse {
    let mut r = SqsBatchResponse::default();
    r.batch_item_failures = failed
        .iter()
        .map(|&i| {
            let mut f = BatchItemFailure::default();
            f.item_identifier = intake.messages[i].clone();
            f
        })
        .collect();
    r
}

/// The invalidation among the distribution's 100 newest that holds `reference`, if any.
async fn find_by_reference<C: CloudFront>(cf: &C, distribution_id: &str, reference: &str) -> Option<Invalidation> {
    let page = cf.list_invalidations(distribution_id, None).await.ok()?;
    for s in page.items {
        match cf.get_invalidation(distribution_id, &s.id).await {
            Ok(i) if i.caller_reference == reference => return Some(i),
            Ok(_) => {}
            Err(_) => return None,
        }
    }
    None
}

fn describe(distribution_id: &DistributionId, caller_reference: &str, inv: Invalidation, timeout: u32) -> Created {
    let echo = inv.paths.iter().map(|p| p.len() + 4).sum::<usize>() <= ECHO_PATHS_BYTES;
    let deadline = SystemTime::now() + Duration::from_secs(timeout.into());
    Created {
        distribution_id: distribution_id.to_string(),
        path_count: inv.paths.len(),
        wildcards: inv.paths.iter().filter(|p| p.ends_with('*')).count(),
        paths: echo.then_some(inv.paths),
        invalidation_id: inv.id,
        status: inv.status,
        caller_reference: caller_reference.to_string(),
        timeout,
        deadline: humantime::format_rfc3339_seconds(deadline).to_string(),
        role_arn: None,
    }
}

/// The invocation's counts, reported once (observe.rs) whatever happened: never keys or payloads.
fn report(cfg: &Config, intake: Option<&Intake>, t: &Tally, started: Instant) {
    let s = summarize(intake, t, started);
    observe::report(&s, cfg.metrics_namespace.as_deref(), cfg.function_name.as_deref());
}

fn summarize<'t>(intake: Option<&Intake>, t: &'t Tally, started: Instant) -> Summary<'t> {
    Summary {
        source: intake.map_or("unknown", |i| i.source.name()),
        messages: intake.map_or(0, |i| i.messages.len()),
        malformed: intake.map_or(0, |i| i.malformed.len()),
        keys_in: intake.map_or(0, |i| i.changes.len()),
        keys_skipped: t.skipped.values().sum(),
        ignored_events: intake.map_or(0, |i| i.ignored),
        requests: t.requests,
        paths: t.paths,
        wildcards: t.wildcards,
        invalidations: t.created.iter().map(|c| c.invalidation_id.as_str()).collect(),
        already_invalidated: t.already,
        waiting: t.waiting,
        failed_messages: t.failed.len(),
        throttled: t.throttled,
        tracked: t.tracking.started + t.tracking.already,
        tracking_failed: t.tracking.failed,
        error_type: t.error.as_ref().map(Error::error_type).unwrap_or(""),
        duration_ms: started.elapsed().as_millis() as u64,
    }
}

/// The handler's behaviour against the in-memory CloudFront (AWS's statuses, CallerReference
/// rules, path validation and in-progress quota, on a clock the test moves): what each source
/// gets back, what is created, what waits. The SDK's wire and the fault matrix are tested against
/// moto in `tests/`.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloudfront::memory::{MemoryCloudFront, Op};
    use serde_json::{json, Value};

    const D: &str = "EDFDVBD632BHDS5";

    fn cfg(vars: &[(&str, &str)]) -> Config {
        Config::from_pairs(vars).unwrap()
    }

    fn dist() -> Config {
        cfg(&[("DISTRIBUTION_ID", D), ("METRICS_NAMESPACE", "")])
    }

    fn inv(id: &str) -> Invocation {
        Invocation { request_id: id.to_string(), deadline: None }
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
        assert!(
            failures(&run(&dist(), &MemoryCloudFront::new(&[D]), b.to_string().as_bytes(), "r").unwrap()).is_empty()
        );
    }

    /// Rule: the summary line and the metrics count what was received and what failed,
    /// whatever the failure — here a batch that fails as a whole for an unknown distribution.
    #[test]
    fn the_summary_counts_a_failed_batch() {
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
        let c = cfg(&[("DISTRIBUTION_ID", "ENOSUCH"), ("METRICS_NAMESPACE", "")]);
        let payload = batch(&[(0, "a.html"), (1, "b.html"), (2, "c.html")]);
        let e = tracing::subscriber::with_default(subscriber, || run(&c, &MemoryCloudFront::new(&[D]), &payload, "r"));
        assert_eq!(e.unwrap_err().error_type(), "NoSuchDistribution");
        let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
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

    /// Rule: explicit paths that do not fit the room wait (TooManyInvalidationsInProgress, which
    /// the workflow retries) instead of being sent to be refused.
    #[test]
    fn explicit_paths_wait_for_room() {
        let cf = MemoryCloudFront::new(&[D]);
        let wild: Vec<String> = (0..15).map(|i| format!("/w{i}/*")).collect();
        run(&dist(), &cf, json!({"distribution_id": D, "paths": wild}).to_string().as_bytes(), "r1").unwrap();
        let e = run(&dist(), &cf, json!({"distribution_id": D, "paths": ["/x/*"]}).to_string().as_bytes(), "r2")
            .unwrap_err();
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
            let cf = MemoryCloudFront::new(&[D]);
            cf.script(Op::Create, err.clone());
            let e = run(&dist(), &cf, s3_body("a.html", "01").as_bytes(), "r").unwrap_err();
            assert_eq!(e.error_type(), err.error_type());
            // Two distributions, one failing: SQS reports only the messages of the failed one.
            let cf = MemoryCloudFront::new(&[D, "EOTHER"]);
            cf.script(Op::Create, err.clone());
            let routes = cfg(&[
                (
                    "ROUTES",
                    &format!(
                        r#"[{{"prefix":"a/","distributions":["{D}"]}},{{"prefix":"b/","distributions":["EOTHER"]}}]"#
                    ),
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

    /// Rule: a workflow's create step retried after the room changed (one distribution created,
    /// another waiting) finds the invalidation its first attempt made under its own reference —
    /// the workflow waits for it — instead of failing with InvalidationBatchAlreadyExists.
    #[test]
    fn a_retried_workflow_step_finds_what_it_made() {
        let cf = MemoryCloudFront::new(&[D, "EOTHER"]);
        cf.set_completion(|seq| if seq == 2 || seq == 3 { 600 } else { 3600 });
        let fill = |d: &str, r: &str, paths: Vec<String>| {
            let req = CreateRequest { distribution_id: d, caller_reference: r, paths: &paths };
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
}
