//! What one invocation made, counted as the submit step answers each submission: the
//! invalidations to answer with, the messages that failed or wait, and the counts of the summary
//! line and the per-distribution metrics.

use std::collections::{BTreeMap, BTreeSet};

use super::Created;
use crate::cloudfront::Invalidation;
use crate::error::Error;
use crate::model::{PathCounts, TargetId};
use crate::observe;
use crate::prepare::Submission;
use crate::quota::Room;
use crate::submit::{Answer, Outcome, Submitted};
use crate::track;

/// What one invocation did, counted for the summary line and the metrics whatever happened.
#[derive(Debug, Default)]
pub(super) struct Tally {
    pub(super) created: Vec<Created>,
    pub(super) already: usize,
    pub(super) failed: BTreeSet<usize>,
    /// Submissions refused for CloudFront's rate or in-progress limits, or held for want of room.
    pub(super) throttled: usize,
    /// Submissions held because the quota had no room for them.
    pub(super) waiting: usize,
    pub(super) paths: usize,
    pub(super) wildcards: usize,
    pub(super) requests: usize,
    pub(super) skipped: BTreeMap<&'static str, usize>,
    pub(super) error: Option<Error>,
    /// Trackers started for the created invalidations (`TRACK_STATE_MACHINE_ARN`).
    pub(super) tracking: track::Count,
    /// Submissions some or all of whose changes were covered already by invalidations made
    /// after them: nothing created for those changes.
    pub(super) covered: usize,
    /// Creates refused for room taken since it was read (each followed by a new look).
    pub(super) refusals: usize,
    /// Submissions planned while their distribution's monthly path budget was in force.
    pub(super) budget_in_force: usize,
    /// Per distribution or tenant: what the per-distribution metrics count (observe.rs).
    pub(super) by_distribution: BTreeMap<TargetId, observe::DistributionCounts>,
    /// Messages of submissions held for room, and messages failed for any other reason.
    pub(super) held: BTreeSet<usize>,
    pub(super) broken: BTreeSet<usize>,
}

impl Tally {
    pub(super) fn fail(&mut self, messages: impl IntoIterator<Item = usize>, e: Error) {
        if e.is_expected() {
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
    pub(super) fn budget(&mut self, d: &TargetId, in_force: Option<bool>) {
        self.budget_in_force += usize::from(in_force == Some(true));
        self.by_distribution.entry(d.clone()).or_default().budget_in_force = in_force;
    }

    /// Records what the submit step did with one submission.
    pub(super) fn record(
        &mut self,
        s: &Submission<'_>,
        messages: &BTreeSet<usize>,
        submitted: Result<Submitted, Error>,
        timeout: u32,
    ) {
        let d = &s.distribution_id;
        let sub = match submitted {
            Ok(sub) => sub,
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
                if e.is_expected() {
                    self.by_distribution.entry(d.clone()).or_default().throttled += 1;
                }
                self.fail(messages.iter().copied(), e);
                return;
            }
        };
        for (answer, inv) in sub.invalidations() {
            let reference = match answer {
                Answer::Created | Answer::Earlier => reference_of(s, inv),
                Answer::Covering => inv.caller_reference.clone(),
            };
            self.created.push(Created::describe(d, &reference, inv.clone(), timeout));
        }
        self.refusals += sub.refusals;
        self.covered += usize::from(!sub.covering.is_empty());
        let per = self.by_distribution.entry(d.clone()).or_default();
        per.staleness.extend(sub.staleness);
        per.changes_waiting += sub.waiting;
        per.refusals += sub.refusals;
        match sub.outcome {
            Outcome::Created(inv) => {
                let c = PathCounts::of(&inv.paths);
                per.invalidations += 1;
                per.paths += inv.paths.len();
                per.wildcards += c.wildcards;
                self.requests += 1;
                self.paths += inv.paths.len();
                self.wildcards += c.wildcards;
            }
            Outcome::Earlier(_) => self.already += 1,
            Outcome::Covered(_) => self.covered += 1,
            Outcome::Held { room, refused } => {
                if refused {
                    self.requests += 1;
                } else {
                    self.waiting += 1;
                }
                per.throttled += 1;
                self.held.extend(messages.iter().copied());
                self.fail(messages.iter().copied(), held(d, room, refused));
            }
        }
        if !sub.held_back.is_empty() {
            // Only part of the batch fitted: the rest of its messages wait as a held one's do.
            self.waiting += 1;
            self.held.extend(sub.held_back.iter().copied());
            self.by_distribution.entry(d.clone()).or_default().throttled += 1;
            let message =
                format!("{} message(s) of the batch did not fit the room left; they wait", sub.held_back.len());
            self.fail(sub.held_back, Error::TooManyInvalidationsInProgress { distribution_id: d.to_string(), message });
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
