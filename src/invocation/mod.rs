//! Orchestration of one invocation: intake → prepare (`prepare.rs`) → the submit step
//! (`submit.rs`) for each distribution → tracking and the report. What it made is counted in
//! `tally.rs`, reported once in `report.rs` (the summary line, the metrics by parent
//! distribution), and each invalidation described as the caller reads it in `created.rs`. What each
//! source gets back is shaped at the Lambda edge (`lambda/`).
//!
//! Nothing is acknowledged that was not submitted: an SQS message is listed as failed unless every
//! submission carrying its changes was created (or made earlier); every other source gets an
//! error (Lambda retries async invokes, Step Functions applies its `Retry`).

mod created;
mod report;
mod tally;

pub use created::Created;

use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;

use crate::budget;
use crate::cloudfront::CloudFront;
use crate::config::Config;
use crate::deadline::Instant;
use crate::error::Error;
use crate::intake::{self, Explicit, ExplicitRequest, Intake};
use crate::known::Known;
use crate::prepare::{self, Submission};
use crate::reference::Token;
use crate::submit::Submitter;
use crate::track::{self, Tracker};
use tally::Tally;

/// What [`run`] knows of the invocation besides the payload.
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
            report::report(cfg, None, &Tally { error: Some(e.clone()), ..Default::default() }, started);
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
    report::report(cfg, Some(&intake), &tally, started);
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

#[cfg(test)]
mod tests;
