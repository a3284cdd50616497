//! The one submit step, for the Lambda and `cfinv invalidate` alike: for one [`Submission`],
//!
//! 1. find an earlier invalidation of the same request (its CallerReference): a retry, a
//!    redelivery or a re-run gets it back instead of waiting for room it holds itself;
//! 2. read the room CloudFront's in-progress quota leaves ([`quota::room`]);
//! 3. fit the plan into it ([`Submission::fit`]), or hold it;
//! 4. create it;
//! 5. recover: `InvalidationBatchAlreadyExists` (the reference was used, with other paths planned
//!    into other room) finds the earlier invalidation; `TooManyInvalidationsInProgress` (the room
//!    read was already stale) holds; a lost answer (a time-out after CloudFront may have created
//!    it) looks for it before anything is retried.
//!
//! What a container remembers between invocations is [`Known`], owned by the entry point.

use std::time::{Duration, SystemTime};

use crate::cloudfront::{CloudFront, CreateRequest, Invalidation};
use crate::deadline::{self, Instant};
use crate::error::Error;
use crate::known::Known;
use crate::planner::Settings;
use crate::prepare::Submission;
use crate::quota::{self, Room};
use crate::reference::Origin;

/// How far apart the clocks of S3 (`eventTime`), SQS (`SentTimestamp`) and CloudFront
/// (`CreateTime`) may be: *unsettled*, so an earlier invalidation is looked for back to this much
/// before the request's earliest change.
pub const CLOCK_MARGIN: Duration = Duration::from_secs(2);

/// What the submit step did with one submission.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Created now.
    Created(Invalidation),
    /// An earlier attempt of the same request made it: nothing new created. `None` when
    /// CloudFront says so (the reference stands for exactly these changes) but it was not among
    /// the invalidations read.
    Earlier(Option<Invalidation>),
    /// Nothing sent: the room cannot hold it. `refused`: CloudFront answered
    /// `TooManyInvalidationsInProgress` because the room changed after it was read.
    Held { room: Room, refused: bool },
}

/// How far back to look for an earlier invalidation of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// Back to this time (the earliest change, less [`CLOCK_MARGIN`]), or the list's end.
    Since(SystemTime),
    /// Those in progress, paging like [`quota::room`]: an earlier attempt whose changes carry no
    /// time is found while it is in progress; once it completed, CloudFront's answer to the
    /// same reference finds it (see [`Submitter::after_already_exists`]).
    InProgress,
    /// The whole list (within the deadline's share).
    All,
}

/// The submit step, as one invocation or run uses it.
pub struct Submitter<'a, C> {
    pub cf: &'a C,
    pub known: &'a Known,
    pub settings: &'a Settings,
    /// The invocation's deadline; `None` for the CLI, whose calls the SDK's own time-outs bound.
    pub deadline: Option<Instant>,
}

impl<C: CloudFront> Submitter<'_, C> {
    /// See the module documentation.
    pub async fn submit(&self, s: &Submission<'_>) -> Result<Outcome, Error> {
        let d = s.distribution_id.as_str();
        // Changes that carry a time bound the search; a caller's reference (a workflow retried
        // hours later) or changes without one are looked for among those in progress.
        let scope = match (s.reference.origin, s.earliest_change()) {
            (Origin::Changes, Some(t)) => Scope::Since(t.checked_sub(CLOCK_MARGIN).unwrap_or(SystemTime::UNIX_EPOCH)),
            _ => Scope::InProgress,
        };
        match self.find(s, scope).await {
            // A caller's reference reused for other keys is not this request's: CloudFront's
            // answer to the create says so.
            Ok(Some(inv)) if s.reference.origin == Origin::Changes || s.covered_by(&inv.paths) => {
                tracing::info!(distribution_id = d, invalidation_id = %inv.id, "an earlier attempt of this request made it");
                return Ok(Outcome::Earlier(Some(inv)));
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(distribution_id = d, error_type = e.error_type(), error = %e, "cannot look for an earlier invalidation of this request; CloudFront's answer to its reference decides");
            }
        }
        let room = self.room_or_full(d).await;
        let Some(plan) = s.fit(room, self.settings) else {
            tracing::info!(
                distribution_id = d,
                room_exact = room.exact,
                room_wildcards = room.wildcards,
                "waits for room"
            );
            return Ok(Outcome::Held { room, refused: false });
        };
        tracing::debug!(distribution_id = d, paths = ?plan.paths, "request");
        let req = CreateRequest { distribution_id: d, caller_reference: &s.reference.value, paths: &plan.paths };
        match self.cf.create_invalidation(req, self.deadline).await {
            // CloudFront returns the existing invalidation for a repeated reference with the same
            // paths; a new one is always `InProgress`.
            Ok(inv) if inv.status.is_completed() => Ok(Outcome::Earlier(Some(inv))),
            Ok(inv) => {
                self.known.remember(d, &inv);
                Ok(Outcome::Created(inv))
            }
            Err(e @ Error::InvalidationBatchAlreadyExists { .. }) => self.after_already_exists(s, e).await,
            Err(Error::TooManyInvalidationsInProgress { message, .. }) => {
                tracing::info!(distribution_id = d, message, "refused for room taken since it was read");
                Ok(Outcome::Held { room, refused: true })
            }
            // The answer was lost (a time-out, a broken connection): CloudFront may have created
            // it. Look once among those in progress before the caller retries the whole request.
            Err(e) if matches!(e, Error::CloudFront(_)) => match self.find(s, Scope::InProgress).await {
                Ok(Some(inv)) => Ok(Outcome::Created(inv)),
                _ => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    /// The reference is in use with other paths: an earlier attempt made the invalidation,
    /// planned into the room there was then. Found, it is the answer if it covers this request
    /// (a caller's reused reference with other keys is the caller's mistake). A reference derived
    /// from the changes stands for exactly these changes, so even unfound they were invalidated.
    async fn after_already_exists(&self, s: &Submission<'_>, e: Error) -> Result<Outcome, Error> {
        match self.find(s, Scope::All).await {
            Ok(Some(inv)) if s.reference.origin == Origin::Changes || s.covered_by(&inv.paths) => {
                Ok(Outcome::Earlier(Some(inv)))
            }
            Ok(Some(_)) => Err(e),
            Ok(None) | Err(_) if s.reference.origin == Origin::Changes => {
                tracing::info!(distribution_id = %s.distribution_id, caller_reference = %s.reference.value, "already invalidated by an earlier delivery of the same changes");
                Ok(Outcome::Earlier(None))
            }
            Ok(None) | Err(_) => Err(e),
        }
    }

    /// The room, or the whole quota when it cannot be read (a role without
    /// `cloudfront:ListInvalidations`, a transient error): CloudFront then refuses what does not
    /// fit, and the changes wait all the same. The read may use a third of the time left, so
    /// that the create still has the rest.
    async fn room_or_full(&self, distribution_id: &str) -> Room {
        let share = self.deadline.map(|d| deadline::left(d) / 3);
        let read = quota::room(self.cf, self.known, distribution_id);
        let result = deadline::within(share, read, |share| {
            Err(Error::CloudFront(format!("reading what is in progress took over {} ms", share.as_millis())))
        })
        .await;
        result.unwrap_or_else(|e| {
            tracing::warn!(distribution_id, error_type = e.error_type(), error = %e, "in-progress invalidations not readable; planning as if none");
            Room::FULL
        })
    }

    /// The invalidation on the submission's distribution whose CallerReference is this
    /// request's, newest first, within `scope` and a third of the time left.
    async fn find(&self, s: &Submission<'_>, scope: Scope) -> Result<Option<Invalidation>, Error> {
        let share = self.deadline.map(|d| deadline::left(d) / 3);
        deadline::within(share, self.find_unbounded(s, scope), |share| {
            Err(Error::CloudFront(format!("looking for an earlier invalidation took over {} ms", share.as_millis())))
        })
        .await
    }

    async fn find_unbounded(&self, s: &Submission<'_>, scope: Scope) -> Result<Option<Invalidation>, Error> {
        let d = s.distribution_id.as_str();
        let mut marker: Option<String> = None;
        loop {
            let page = self.cf.list_invalidations(d, marker.as_deref()).await?;
            let mut running = 0;
            for summary in &page.items {
                if let Scope::Since(t) = scope {
                    if summary.create_time < t {
                        return Ok(None);
                    }
                }
                let completed = summary.status.is_completed();
                running += usize::from(!completed);
                if completed && scope == Scope::InProgress {
                    continue;
                }
                let seen = self.known.seen(self.cf, d, &summary.id).await?;
                if s.reference.matches(&seen.caller_reference) {
                    return self.cf.get_invalidation(d, &summary.id).await.map(Some);
                }
            }
            match page.next_marker {
                Some(m) if scope != Scope::InProgress || running > 0 => marker = Some(m),
                _ => return Ok(None),
            }
        }
    }
}
