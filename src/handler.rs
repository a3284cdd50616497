//! Orchestration of one invocation: intake → prepare (`prepare.rs`) → the submit step
//! (`submit.rs`) for each distribution → tracking and the report. What each source gets back is
//! shaped at the Lambda edge (`lambda.rs`).
//!
//! Nothing is acknowledged that was not submitted: an SQS message is listed as failed unless every
//! submission carrying its changes was created (or made earlier); every other source gets an
//! error (Lambda retries async invokes, Step Functions applies its `Retry`).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::budget;
use crate::cloudfront::{CloudFront, Invalidation, Status};
use crate::config::Config;
use crate::deadline::Instant;
use crate::error::Error;
use crate::intake::{self, Explicit, ExplicitRequest, Intake};
use crate::known::Known;
use crate::model::{PathCounts, TargetId, TenantId};
use crate::observe::{self, Summary};
use crate::prepare::{self, Submission};
use crate::quota::Room;
use crate::reference::Token;
use crate::submit::{Outcome, Submitted, Submitter};
use crate::track::{self, Tracker};

/// What the handler knows of the invocation besides the payload.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// The Lambda request id: Lambda keeps it across its own retries of an async invoke, so it
    /// stands in for the version of changes that carry none.
    pub request_id: String,
    pub deadline: Option<Instant>,
    /// When it started, on the wall clock CloudFront's `CreateTime` is on: how old the
    /// invalidations in progress are, to pace the wildcard slots (`quota.rs`). `None` (tests that
    /// keep no clock): no pacing.
    pub now: Option<SystemTime>,
}

/// One invalidation created (or made by an earlier attempt of the same request), as the caller
/// and the Step Functions wait loop read it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Created {
    /// Serialized as `distribution_id` or, for a tenant, `distribution_tenant_id`: the field the
    /// wait loop chooses its poll by, and the completion event names.
    #[serde(flatten, with = "crate::model::target_field")]
    pub distribution_id: TargetId,
    pub invalidation_id: String,
    pub status: Status,
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

/// Paths are echoed in the response only up to this many bytes in all.
const ECHO_PATHS_BYTES: usize = 32 * 1024;

impl Created {
    fn describe(distribution_id: &TargetId, caller_reference: &str, inv: Invalidation, timeout: u32) -> Created {
        let echo = inv.paths.iter().map(|p| p.len() + 4).sum::<usize>() <= ECHO_PATHS_BYTES;
        let deadline = SystemTime::now() + Duration::from_secs(timeout.into());
        Created {
            distribution_id: distribution_id.clone(),
            path_count: inv.paths.len(),
            wildcards: PathCounts::of(&inv.paths).wildcards,
            paths: echo.then_some(inv.paths),
            invalidation_id: inv.id,
            status: inv.status,
            caller_reference: caller_reference.to_string(),
            timeout,
            deadline: humantime::format_rfc3339_seconds(deadline).to_string(),
            role_arn: None,
        }
    }
}

/// What one invocation did, for the edge to answer with.
#[derive(Debug)]
pub struct Handled {
    pub intake: Intake,
    /// Every invalidation created, or made earlier for the same request.
    pub created: Vec<Created>,
    /// Submissions found made earlier (same reference): nothing new created.
    pub already: usize,
    /// SQS message indexes not submitted: redelivered.
    pub failed: BTreeSet<usize>,
    /// Those of `failed` that only wait for room (nothing else failed them): they may go back to
    /// their queue as new messages instead (`queue/`).
    pub held: BTreeSet<usize>,
    /// Messages sent back to their queue (by the edge, from `held`): handled, not failed.
    pub requeued: usize,
    /// The first error, when anything failed.
    pub error: Option<Error>,
    /// Keys skipped, by reason.
    pub skipped: BTreeMap<&'static str, usize>,
}

/// What one invocation did, counted for the summary line and the metrics whatever happened.
#[derive(Debug, Default)]
struct Tally {
    created: Vec<Created>,
    already: usize,
    failed: BTreeSet<usize>,
    /// Submissions refused for CloudFront's rate or in-progress limits, or held for want of room.
    throttled: usize,
    /// Submissions held because the quota had no room for them.
    waiting: usize,
    paths: usize,
    wildcards: usize,
    requests: usize,
    skipped: BTreeMap<&'static str, usize>,
    error: Option<Error>,
    /// Trackers started for the created invalidations (`TRACK_STATE_MACHINE_ARN`).
    tracking: track::Count,
    /// Submissions some or all of whose changes were covered already by invalidations made
    /// after them: nothing created for those changes.
    covered: usize,
    /// Creates refused for room taken since it was read (each followed by a new look).
    refusals: usize,
    /// Submissions planned while their distribution's monthly path budget was in force.
    budget_in_force: usize,
    /// Per distribution or tenant: what the per-distribution metrics count (observe.rs).
    by_distribution: BTreeMap<TargetId, observe::DistributionCounts>,
    /// Messages of submissions held for room, and messages failed for any other reason.
    held: BTreeSet<usize>,
    broken: BTreeSet<usize>,
}

impl Tally {
    fn fail(&mut self, messages: impl IntoIterator<Item = usize>, e: Error) {
        if matches!(e, Error::Throttled(_) | Error::TooManyInvalidationsInProgress { .. }) {
            self.throttled += 1;
        }
        let messages: Vec<usize> = messages.into_iter().collect();
        if !matches!(e, Error::TooManyInvalidationsInProgress { .. }) {
            self.broken.extend(messages.iter().copied());
        }
        self.failed.extend(messages);
        self.error.get_or_insert(e);
    }

    /// Records whether the monthly path budget was in force on a distribution (`None`: no budget).
    fn budget(&mut self, d: &TargetId, in_force: Option<bool>) {
        self.budget_in_force += usize::from(in_force == Some(true));
        self.by_distribution.entry(d.clone()).or_default().budget_in_force = in_force;
    }

    /// Records what the submit step did with one submission.
    fn record(
        &mut self,
        s: &Submission<'_>,
        messages: &BTreeSet<usize>,
        submitted: Result<Submitted, Error>,
        timeout: u32,
    ) {
        let d = &s.distribution_id;
        let mut held_back = BTreeSet::new();
        let outcome = submitted.map(|sub| {
            held_back = sub.held_back;
            self.refusals += sub.refusals;
            let per = self.by_distribution.entry(d.clone()).or_default();
            per.staleness.extend(sub.staleness);
            per.changes_waiting += sub.waiting;
            per.refusals += sub.refusals;
            if !sub.covering.is_empty() {
                self.covered += 1;
            }
            for inv in sub.covering {
                let reference = inv.caller_reference.clone();
                self.created.push(Created::describe(d, &reference, inv, timeout));
            }
            sub.outcome
        });
        match outcome {
            Ok(Outcome::Created(inv)) => {
                let c = PathCounts::of(&inv.paths);
                let per = self.by_distribution.entry(d.clone()).or_default();
                per.invalidations += 1;
                per.paths += inv.paths.len();
                per.wildcards += c.wildcards;
                self.requests += 1;
                self.paths += inv.paths.len();
                self.wildcards += c.wildcards;
                let reference = reference_of(s, &inv);
                self.created.push(Created::describe(d, &reference, inv, timeout));
            }
            Ok(Outcome::Earlier(inv)) => {
                self.already += 1;
                if let Some(inv) = inv {
                    let reference = reference_of(s, &inv);
                    self.created.push(Created::describe(d, &reference, inv, timeout));
                }
            }
            Ok(Outcome::Covered(invs)) => {
                self.covered += 1;
                for inv in invs {
                    let reference = inv.caller_reference.clone();
                    self.created.push(Created::describe(d, &reference, inv, timeout));
                }
            }
            Ok(Outcome::Held { room, refused }) => {
                if refused {
                    self.requests += 1;
                } else {
                    self.waiting += 1;
                }
                self.held.extend(messages.iter().copied());
                self.by_distribution.entry(d.clone()).or_default().throttled += 1;
                self.fail(messages.iter().copied(), held(d, room, refused));
            }
            Err(e) => {
                self.requests += 1;
                tracing::warn!(
                    distribution_id = %d,
                    caller_reference = %s.reference.value,
                    error_type = e.error_type(),
                    retryable = e.is_retryable(),
                    error = %e,
                    "invalidation not created"
                );
                if matches!(e, Error::Throttled(_) | Error::TooManyInvalidationsInProgress { .. }) {
                    self.by_distribution.entry(d.clone()).or_default().throttled += 1;
                }
                self.fail(messages.iter().copied(), e);
            }
        }
        if !held_back.is_empty() {
            // Only part of the batch fitted: the rest of its messages wait as a held one's do.
            self.waiting += 1;
            self.held.extend(held_back.iter().copied());
            self.by_distribution.entry(d.clone()).or_default().throttled += 1;
            let message = format!("{} message(s) of the batch did not fit the room left; they wait", held_back.len());
            self.fail(held_back, Error::TooManyInvalidationsInProgress { distribution_id: d.to_string(), message });
        }
    }
}

/// The CallerReference an invalidation of `s` was made under: the submission's, or a redeploy's
/// derived from it (`submit.rs`), as CloudFront gives it back.
fn reference_of(s: &Submission<'_>, inv: &Invalidation) -> String {
    if inv.caller_reference.is_empty() {
        s.reference.value.clone()
    } else {
        inv.caller_reference.clone()
    }
}

/// The error of a submission held for room: its changes wait.
fn held(distribution_id: &TargetId, room: Room, refused: bool) -> Error {
    let message = if refused {
        "CloudFront refused it: the room was taken since it was read; the changes wait".to_string()
    } else {
        let paced = if room.spend < room.wildcards {
            format!(", of which {} may be spent now to make the wildcard slots last (quota.rs, pacing)", room.spend)
        } else {
            String::new()
        };
        format!(
            "no room: {} exact and {} wildcard paths left in progress{paced} ({} invalidations running); the changes wait",
            room.exact, room.wildcards, room.in_progress
        )
    };
    Error::TooManyInvalidationsInProgress { distribution_id: distribution_id.to_string(), message }
}

/// Runs one invocation: every distribution's submission goes through the submit step, which fits
/// it into the room CloudFront's in-progress quota has left (when exact room is short, exact
/// paths merge into wildcards while wildcard room lasts). A submission that fits nothing is not
/// sent: its changes wait, as SQS messages that come back after the visibility timeout (and are
/// merged with later changes into one invalidation), or as a `TooManyInvalidationsInProgress`
/// error that Lambda's async retries, the failed-event queue or the workflow's Retry bring back.
///
/// `known` is what the container remembers (a fresh [`Known`] for a cold one); with a tracker,
/// each invalidation made from events is tracked to completion (`track.rs`).
pub async fn run<C: CloudFront, T: Tracker>(
    cfg: &Config,
    cf: &C,
    known: &Known,
    tracker: Option<&T>,
    payload: &[u8],
    inv: &Invocation,
) -> Result<Handled, Error> {
    let started = Instant::now();
    // The receipt is an explicit request's change time: nothing created before it may cover it.
    let intake = match intake::parse_at(payload, inv.now.unwrap_or_else(SystemTime::now)) {
        Ok(i) => i,
        Err(e) => {
            tracing::warn!(error = %e, "invocation failed");
            report(cfg, None, &Tally { error: Some(e.clone()), ..Default::default() }, started);
            return Err(e);
        }
    };
    let malformed: BTreeSet<usize> = intake.malformed.iter().map(|m| m.0).collect();
    let mut tally = Tally { failed: malformed.clone(), broken: malformed, ..Default::default() };
    tracing::debug!(keys = ?intake.changes.iter().map(|c| c.key.as_str()).collect::<Vec<_>>(), "changed keys");
    let submitter =
        Submitter { cf, known, settings: &cfg.planner, deadline: inv.deadline, now: inv.now, pace: cfg.pace };
    // A batch of requests returned from the failed-event queue alone has no events to plan.
    if !intake.changes.is_empty() || intake.returned.is_empty() {
        submit_request(cfg, &submitter, &intake, &inv.request_id, None, &mut tally).await;
    }
    // Only what came from events is tracked (explicit requests are not; see below).
    let from_events = tally.created.len();
    for r in &intake.returned {
        submit_request(cfg, &submitter, &r.request, &r.request_id, Some(r.message), &mut tally).await;
    }
    for c in &mut tally.created {
        c.role_arn = cfg.roles.get(&c.distribution_id).cloned();
    }
    // Explicit requests are not tracked: they come from the workflow, which waits for them itself,
    // or from a caller who chose not to wait. A tracker that fails never fails a message
    // (`track::track_all` says why): only `tally.tracking` counts it.
    if let (Some(tracker), None) = (tracker, &intake.explicit) {
        let created = tally.created[..from_events].iter().map(|c| track::Tracked {
            distribution_id: &c.distribution_id,
            invalidation_id: &c.invalidation_id,
            entry: c,
        });
        tally.tracking = track::track_all(tracker, created, inv.deadline).await;
    }
    report(cfg, Some(&intake), &tally, started);
    Ok(Handled {
        intake,
        created: tally.created,
        already: tally.already,
        held: tally.held.difference(&tally.broken).copied().collect(),
        requeued: 0,
        failed: tally.failed,
        error: tally.error,
        skipped: tally.skipped,
    })
}

/// Submits what one request asks (`token` stands in for the version of changes that carry
/// none): its changes routed and planned, or given paths, each distribution's submission through
/// the submit step; a tracking input is read back instead. `message`: the SQS message a request
/// returned from the failed-event queue came in, which every outcome of it is recorded against.
async fn submit_request<C: CloudFront>(
    cfg: &Config,
    submitter: &Submitter<'_, C>,
    intake: &Intake,
    token: &str,
    message: Option<usize>,
    tally: &mut Tally,
) {
    let timeout = prepare::wait_timeout(intake);
    let messages_of = |s: Option<&Submission<'_>>| -> BTreeSet<usize> {
        match (message, s, &intake.explicit) {
            (Some(m), _, _) => BTreeSet::from([m]),
            (None, Some(s), _) => s.messages().clone(),
            (None, None, Some(_)) => BTreeSet::from([0]),
            (None, None, None) => intake.changes.iter().map(|c| c.message).collect(),
        }
    };
    if let Some(ExplicitRequest { what: Explicit::Track { invalidations }, .. }) = &intake.explicit {
        // A tracking input: nothing is created; each invalidation as CloudFront has it.
        for t in invalidations {
            match submitter.cf.get_invalidation(&t.distribution_id, &t.invalidation_id).await {
                Ok(i) => {
                    let reference = i.caller_reference.clone();
                    let mut c = Created::describe(&t.distribution_id, &reference, i, t.timeout.unwrap_or(timeout));
                    c.deadline = t.deadline.clone().unwrap_or(c.deadline);
                    tally.created.push(c);
                }
                Err(e) => tally.fail(messages_of(None), e),
            }
        }
        return;
    }
    match prepare::prepare_payload(&cfg.planner, intake, Token::Fixed(token), false) {
        Err(e) => {
            tracing::warn!(error_type = e.error_type(), error = %e, "not planned");
            tally.fail(messages_of(None), e);
        }
        Ok(prepared) => {
            for (why, n) in prepared.skipped {
                *tally.skipped.entry(why).or_default() += n;
            }
            let now = submitter.now.unwrap_or_else(SystemTime::now);
            for s in &prepared.submissions {
                let outcome = submitter.submit(s).await;
                tally.record(s, &messages_of(Some(s)), outcome, timeout);
                let in_force = budget::in_force(&cfg.planner, submitter.known, &s.distribution_id, now);
                tally.budget(&s.distribution_id, in_force);
            }
        }
    }
}

/// The invocation's counts, reported once (observe.rs) whatever happened: never keys or payloads.
fn report(cfg: &Config, intake: Option<&Intake>, t: &Tally, started: Instant) {
    let s = summarize(intake, t, started);
    let (ns, function) = (cfg.metrics_namespace.as_deref(), cfg.function_name.as_deref());
    observe::report(&s, ns, function);
    let (metrics, unparented) = by_parent(cfg, t);
    if ns.is_some() && !unparented.is_empty() {
        tracing::warn!(
            tenants = ?unparented.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
            "Staleness and ChangesWaiting of these distribution tenants are by the tenant's id, not its \
             parent distribution's, which the StalenessAlarm watches: set DISTRIBUTION_TENANTS to their \
             PARENT/dt_… pairs (template parameter DistributionTenants)"
        );
    }
    for m in metrics {
        observe::report_distribution(ns, function, m.distribution_id, m.tenant_id, m.counts);
    }
}

/// What one distribution or tenant gets in the per-distribution metrics (`observe::distribution_emf`).
#[derive(Debug, PartialEq)]
struct DistributionMetrics<'t> {
    /// The `DistributionId` dimension: a distribution's own id, a tenant's parent.
    distribution_id: &'t str,
    /// The tenant whose changes these are (a member of the document, not a dimension).
    tenant_id: Option<&'t str>,
    counts: &'t observe::DistributionCounts,
}

/// The invocation's per-distribution metrics, each by the distribution it counts towards: a
/// tenant's by its parent in `DISTRIBUTION_TENANTS` (staleness is the site's, and the
/// template's alarm watches the distribution). The second list: the tenants without a parent
/// there, whose metrics are by their own id.
///
/// A tenant without a parent is a fallback with a WARN (once per invocation, in `report`), not a
/// configuration error at start, because:
/// - its invalidations work without the parent: refusing to start would stop a function that
///   invalidates correctly today (a stack or other IaC that sets `ROUTES` and not the new
///   variable, the CLI, which emits no metrics at all) for want of a metric's dimension;
/// - explicit requests name tenants at run time, which no check at start can see;
/// - nothing is lost: the staleness is still emitted, by the tenant's id, and the WARN says what
///   to set. Through the template the fallback does not arise: IAM permits exactly the tenants of
///   the same `DistributionTenants` pairs, so a tenant it invalidates has its parent.
fn by_parent<'t>(cfg: &'t Config, t: &'t Tally) -> (Vec<DistributionMetrics<'t>>, Vec<&'t TenantId>) {
    let mut unparented = Vec::new();
    let metrics = t
        .by_distribution
        .iter()
        .map(|(target, counts)| {
            let (distribution_id, tenant_id) = match target {
                TargetId::Distribution(d) => (d.as_str(), None),
                TargetId::Tenant(tenant) => match cfg.tenant_parents.get(tenant) {
                    Some(parent) => (parent.as_str(), Some(tenant.as_str())),
                    None => {
                        unparented.push(tenant);
                        (tenant.as_str(), Some(tenant.as_str()))
                    }
                },
            };
            DistributionMetrics { distribution_id, tenant_id, counts }
        })
        .collect();
    (metrics, unparented)
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
        covered_already: t.covered,
        refusals: t.refusals,
        waiting: t.waiting,
        budget_in_force: t.budget_in_force,
        failed_messages: t.failed.len(),
        throttled: t.throttled,
        tracked: t.tracking.started + t.tracking.already,
        tracking_failed: t.tracking.failed,
        error_type: t.error.as_ref().map(Error::error_type).unwrap_or(""),
        duration_ms: started.elapsed().as_millis() as u64,
    }
}

/// Runs `f` with the log written to a string (the runtime's own subscriber, as the function logs
/// in Lambda), and returns that text beside what `f` returned.
#[cfg(test)]
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloudfront::memory::{MemoryCloudFront, Op};
    use crate::cloudfront::CreateRequest;
    use crate::lambda::{handle, Output};
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
        assert!(
            failures(&run(&dist(), &MemoryCloudFront::new(&[D]), b.to_string().as_bytes(), "r").unwrap()).is_empty()
        );
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
            // A refusal is looked at again (submit.rs): it lasts only when every look is refused.
            let times =
                if err.error_type() == "TooManyInvalidationsInProgress" { LOOKS_IN_AN_UNCHANGED_ROOM } else { 1 };
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
            let req = CreateRequest {
                target: &crate::model::TargetId::parse(d).unwrap(),
                caller_reference: r,
                paths: &paths,
            };
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

/// The in-progress quota's rules (room, pacing, partial fit, racing invocations) on the in-memory
/// CloudFront, with changes that carry their time (the clock's seconds since the epoch, as the
/// in-memory CloudFront's `CreateTime`).
#[cfg(test)]
mod freshness {
    use super::*;
    use crate::cloudfront::memory::{time_of, MemoryCloudFront, Op, Slow};
    use crate::cloudfront::{CreateRequest, InvalidationPage};
    use crate::lambda::{handle, Output};
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
        let submitter = Submitter {
            cf: &cf,
            known: &known,
            settings: &c.planner,
            deadline: None,
            now: None,
            pace: crate::quota::Pace::DEFAULT,
        };
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
