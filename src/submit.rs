//! The one submit step, for the Lambda and `cfinv invalidate` alike: for one [`Submission`],
//!
//! 1. read the room CloudFront's in-progress quota leaves ([`quota::room`]);
//! 2. read what was made since the changes: an earlier invalidation of the same request (its
//!    CallerReference) is the answer — a retry, a redelivery or a re-run gets it back instead of
//!    waiting for room it holds itself — unless the keys were deployed again since
//!    ([`Submitter::latest`]: a rollback is a new deploy, a retry is not), and the changes that
//!    anyone's invalidation made after them covers already are dropped;
//! 3. fit the plan into the room ([`Submission::fit`]), or the part of a batch that fits, or hold
//!    it;
//! 4. create it;
//! 5. recover: `InvalidationBatchAlreadyExists` (the reference was used, with other paths planned
//!    into other room) finds the earlier invalidation; `TooManyInvalidationsInProgress` (another
//!    invocation or tool took the room since it was read) starts again from 1, up to
//!    [`MAX_REFITS`] times while the room read moves ([`LOOKS_IN_AN_UNCHANGED_ROOM`] creates
//!    when it does not); a lost answer (a time-out after CloudFront may have created it) looks
//!    for it before anything is retried.
//!
//! What a container remembers between invocations is [`Known`], owned by the entry point.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::{Duration, SystemTime};

use crate::budget;
use crate::cloudfront::{CloudFront, CreateRequest, Invalidation};
use crate::deadline::{self, Instant};
use crate::error::Error;
use crate::known::Known;
use crate::model::{Change, TargetId};
use crate::observe;
use crate::planner::{ItemIndex, Plan, Request, Settings};
use crate::prepare::Submission;
use crate::quota::{self, Room};
use crate::reference::{self, Origin};

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
    /// Every change is covered already by invalidations created after it (anyone's: another
    /// tool's, a person's `/*`): nothing created. These are they.
    Covered(Vec<Invalidation>),
    /// Nothing sent: the room cannot hold it. `refused`: CloudFront answered
    /// `TooManyInvalidationsInProgress` (the room changed after it was read) as often as the
    /// deadline allowed a new look.
    Held { room: Room, refused: bool },
}

/// An outcome, and the invalidations that cover part of the submission's changes already (its
/// plan was made for the rest): a workflow waits for them as for the outcome's.
#[derive(Debug, Clone, PartialEq)]
pub struct Submitted {
    pub outcome: Outcome,
    pub covering: Vec<Invalidation>,
    /// Creates CloudFront refused for room another invocation or tool took since it was read,
    /// each followed by a new look at the room.
    pub refusals: usize,
    /// For each change with a time that an invalidation covers now (created, made earlier or
    /// found covering already): from the change to that invalidation's `CreateTime`. A change
    /// is fresh this long plus the invalidation's own time to complete after it was made.
    pub staleness: Vec<Duration>,
    /// Changes held for room.
    pub waiting: usize,
    /// The messages left out when only part of a batch fits the room (a partial fit): the
    /// outcome is the part's; these wait for room, as a held submission's messages do.
    pub held_back: BTreeSet<usize>,
}

impl Submitted {
    fn of(outcome: Outcome, s: &Submission<'_>, covering: Vec<Invalidation>, covered: Vec<Duration>) -> Self {
        let mut staleness = covered;
        let mut waiting = 0;
        let by = match &outcome {
            Outcome::Created(inv) | Outcome::Earlier(Some(inv)) => Some(inv.create_time),
            Outcome::Held { .. } => {
                waiting = s.each_change().len();
                None
            }
            Outcome::Earlier(None) | Outcome::Covered(_) => None,
        };
        if let Some(created) = by {
            staleness
                .extend(s.each_change().iter().filter_map(|(c, _)| c.time).map(|t| observe::staleness(t, created)));
        }
        Submitted { outcome, covering, refusals: 0, staleness, waiting, held_back: BTreeSet::new() }
    }
}

/// One attempt's end.
enum Attempt {
    Done(Submitted),
    /// CloudFront refused the create for room: attempted again from the room read.
    Refused(Submitted),
    /// About to spend a scarce wildcard slot: pause this long ([`stagger`]), then attempt again
    /// once. Only when the deadline leaves time to pause and look again.
    Yield(Duration),
    /// The earlier invalidation of this reference answers it no longer (the keys were deployed
    /// again since): attempted again under this reference ([`reference::redeployed`]).
    Redeployed(String),
}

/// Where a chain of redeploys ends ([`Submitter::latest`]).
enum Latest {
    /// This invalidation answers the request: nothing made after it covers any of its keys.
    Answer(Invalidation),
    /// The keys were deployed again after the newest invalidation of the chain: a new one is
    /// made under this reference.
    Redeploy(String),
}

/// How many redeploys one submission follows within one call, a bound that no real chain reaches
/// (each link is a later invalidation, found in one list).
const MAX_REDEPLOYS: usize = 16;

/// The pause before spending a scarce wildcard slot: 0 to 4 s, drawn from the request's
/// reference, so that two invocations racing with different changes pause differently and the
/// later one sees the earlier one's create (a call takes about 100 ms).
fn stagger(reference: &str) -> Duration {
    Duration::from_millis(xxhash_rust::xxh3::xxh3_64(reference.as_bytes()) % 4000)
}

/// How many times a refused create looks at the room again within one invocation: a refusal is
/// another invocation's or tool's create landing between this one's read and create, and the
/// room left is usually enough for a narrower plan.
pub const MAX_REFITS: usize = 3;

/// How many creates one submission makes when every look at the room finds it unchanged and is
/// refused: the first, and one more (a create that took the room may not be listed yet). An
/// unchanged room means what holds it is not in the list (a tenant's quota counted on its
/// parent, *unsettled*); another look would plan and be refused the same way.
pub const LOOKS_IN_AN_UNCHANGED_ROOM: usize = 2;

/// No new look at the room when less than this is left before the deadline.
const REFIT_NEEDS: Duration = Duration::from_secs(3);

/// How far back to look for an earlier invalidation of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// Back to this time (the earliest change, less [`CLOCK_MARGIN`]), or the list's end.
    Since(SystemTime),
    /// [`Scope::Since`], and those in progress before the time as [`Scope::InProgress`] reads them.
    SinceAndInProgress(SystemTime),
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
    /// Now on CloudFront's (wall) clock, to pace the wildcard slots of a stream of changes
    /// ([`quota::paced`]). `None`: no pacing — the CLI's one-off run takes the room there is.
    pub now: Option<SystemTime>,
    /// The deployment's batching window and timeout, which pacing counts with ([`quota::Pace`]).
    pub pace: quota::Pace,
}

impl<C: CloudFront> Submitter<'_, C> {
    /// See the module documentation.
    pub async fn submit(&self, s: &Submission<'_>) -> Result<Submitted, Error> {
        let mut refusals = 0;
        let mut may_yield = true;
        let mut refused_in: Option<Room> = None;
        let mut redeploy: Option<Submission<'_>> = None;
        let mut redeploys = 0;
        loop {
            let current = redeploy.as_ref().unwrap_or(s);
            let submitted = match self.attempt(current, refusals, may_yield).await? {
                Attempt::Done(submitted) => return Ok(submitted),
                Attempt::Refused(submitted) => submitted,
                Attempt::Yield(pause) => {
                    may_yield = false;
                    tokio::time::sleep(pause).await;
                    continue;
                }
                Attempt::Redeployed(reference) => {
                    redeploys += 1;
                    if redeploys > MAX_REDEPLOYS {
                        return Err(Error::CloudFront(format!(
                            "more than {MAX_REDEPLOYS} redeploys of CallerReference {} in one list",
                            s.reference.value
                        )));
                    }
                    tracing::info!(distribution_id = %s.distribution_id, caller_reference = %reference, "deployed again since its earlier invalidation: a new one");
                    redeploy = Some(s.with_reference(reference));
                    continue;
                }
            };
            refusals += 1;
            let time_left = self.deadline.is_none_or(|t| deadline::left(t) >= REFIT_NEEDS);
            let room = match submitted.outcome {
                Outcome::Held { room, .. } => Some(room),
                _ => None,
            };
            // Refused again in the same room as read: the changes wait for room instead.
            let unchanged = room.is_some() && room == refused_in && refusals >= LOOKS_IN_AN_UNCHANGED_ROOM;
            refused_in = room;
            if refusals > MAX_REFITS || !time_left || unchanged {
                return Ok(Submitted { refusals, ..submitted });
            }
        }
    }

    /// One attempt: everything from the search for an earlier invalidation to the create. A
    /// refused create (`true`) is attempted again from the start by [`Submitter::submit`]: the
    /// invalidation that took the room may be another invocation's `/*` made after these
    /// changes, which covers them already.
    async fn attempt(&self, s: &Submission<'_>, refusals: usize, may_yield: bool) -> Result<Attempt, Error> {
        let target = &s.distribution_id;
        let d = target.as_str();
        // The room is read first and what was made since the changes last, just before the
        // plan and the create: an invalidation another invocation makes in between (its `/*`
        // covering these changes) is then seen, unless it lands in the last moment.
        let room = self.room_or_full(target).await;
        let now = self.now.unwrap_or_else(SystemTime::now);
        let thrifty = budget::look(self.cf, self.known, self.settings, target, now, self.deadline).await;
        let room = Room { thrifty, ..room };
        // Changes that carry a time bound the search: an earlier attempt of changes was made
        // after them. A caller's reference may have been used before (a request received again,
        // its keys' time a new receipt): those still in progress before the time are read too.
        // Changes without a time are looked for among those in progress.
        let since = s.earliest_change().map(|t| t.checked_sub(CLOCK_MARGIN).unwrap_or(SystemTime::UNIX_EPOCH));
        let scope = match (s.reference.origin, since) {
            (_, None) => Scope::InProgress,
            (Origin::Changes, Some(t)) => Scope::Since(t),
            (_, Some(t)) => Scope::SinceAndInProgress(t),
        };
        let (recent, read) = match self.recent(target, scope).await {
            Ok(r) => (r, true),
            Err(e) => {
                tracing::warn!(distribution_id = d, error_type = e.error_type(), error = %e, "cannot read what was made since the changes; CloudFront's answer to the reference decides");
                (Vec::new(), false)
            }
        };
        // An earlier attempt of this request. A caller's reference reused for other keys is not
        // this request's: CloudFront's answer to the create says so.
        if let Some(inv) = self.attempt_of(s, &recent) {
            if answers(s, inv) || chains(s) {
                let inv = match self.latest(s, inv.clone(), None).await? {
                    Latest::Answer(inv) => inv,
                    Latest::Redeploy(reference) => return Ok(Attempt::Redeployed(reference)),
                };
                tracing::info!(distribution_id = d, invalidation_id = %inv.id, "an earlier attempt of this request made it");
                let earlier = Submitted::of(Outcome::Earlier(Some(inv)), s, Vec::new(), Vec::new());
                return Ok(Attempt::Done(Submitted { refusals, ..earlier }));
            }
        }
        let (covering, covered, left) = covered_already(self.settings, s, self.owned(target, &recent));
        let narrowed;
        let s = match left {
            Left::All => s,
            Left::Nothing => {
                tracing::info!(distribution_id = d, covering = covering.len(), "every change is covered already");
                let done = Submitted::of(Outcome::Covered(covering), s, Vec::new(), covered);
                return Ok(Attempt::Done(Submitted { refusals, ..done }));
            }
            Left::Some(n) => {
                narrowed = (*n)?;
                &narrowed
            }
        };
        let whole = s;
        let part;
        let (s, plan, held_back) = match whole.fit(room, self.settings) {
            Some(plan) => (whole, plan, None),
            None => {
                // Unread, an earlier invalidation of the whole batch (a redelivery whose answer was
                // lost) is found only by CloudFront's answer to the whole's reference: a part,
                // under a reference of its own, would be a second invalidation. So no part then.
                part = if read { part_that_fits(self.settings, whole, room) } else { None };
                let Some((s, plan, rest)) = &part else {
                    tracing::info!(
                        distribution_id = d,
                        room_exact = room.exact,
                        room_wildcards = room.wildcards,
                        room_spend = room.spend,
                        "waits for room"
                    );
                    let held = Outcome::Held { room, refused: refusals > 0 };
                    return Ok(Attempt::Done(Submitted { refusals, ..Submitted::of(held, whole, covering, covered) }));
                };
                tracing::info!(
                    distribution_id = d,
                    room_exact = room.exact,
                    room_wildcards = room.wildcards,
                    held_back = rest.len(),
                    "the part that fits goes now; the rest of the messages wait for room"
                );
                (s, plan.clone(), Some(rest))
            }
        };
        // Pacing binds (the wildcard slots are scarce) and this would spend one: two invocations
        // of one burst often get here in the same moment, each about to spend a slot on its own
        // `/*`. Each pauses a time drawn from its own reference, then starts again: the later
        // one then finds the earlier one's invalidation covering its changes.
        // Without the time to pause and look again, it creates now.
        let pause = stagger(&s.reference.value);
        let time_to_pause = self.deadline.is_none_or(|t| deadline::left(t) >= pause + 2 * REFIT_NEEDS);
        if may_yield && time_to_pause && room.spend <= 1 && room.spend < room.wildcards && plan.stats.wildcards > 0 {
            return Ok(Attempt::Yield(pause));
        }
        tracing::debug!(distribution_id = d, paths = ?plan.paths, "request");
        let req = CreateRequest { target, caller_reference: &s.reference.value, paths: &plan.paths };
        let outcome = match self.cf.create_invalidation(req, self.deadline).await {
            // CloudFront returns the existing invalidation for a repeated reference with the
            // same paths, `Completed` or still `InProgress`; a new one is always `InProgress`.
            // One made before this call answers only if the keys were not deployed again since.
            Ok(inv) => {
                if !inv.status.is_completed() {
                    self.known.remember(d, &inv);
                }
                let made = Made { recent: &recent, read, scope, started: now };
                match self.judged(s, inv, made).await? {
                    Ok(outcome) => outcome,
                    Err(reference) => return Ok(Attempt::Redeployed(reference)),
                }
            }
            Err(e @ Error::InvalidationBatchAlreadyExists { .. }) => match self.after_already_exists(s, e).await? {
                Some(Latest::Answer(inv)) => Outcome::Earlier(Some(inv)),
                Some(Latest::Redeploy(reference)) => return Ok(Attempt::Redeployed(reference)),
                None => Outcome::Earlier(None),
            },
            Err(Error::TooManyInvalidationsInProgress { message, .. }) => {
                tracing::info!(
                    distribution_id = d,
                    refusals = refusals + 1,
                    message,
                    "refused: room taken since it was read"
                );
                let held = Outcome::Held { room, refused: true };
                return Ok(Attempt::Refused(Submitted { refusals, ..Submitted::of(held, whole, covering, covered) }));
            }
            // The answer was lost (a time-out, a broken connection): CloudFront may have
            // created it. Look once among those in progress before the caller retries.
            Err(e @ Error::CloudFront(_)) => match self.recent(target, Scope::InProgress).await {
                Ok(r) => match self.attempt_of(s, &r) {
                    Some(inv) => {
                        match self.judged(s, inv.clone(), Made { recent: &recent, read, scope, started: now }).await? {
                            Ok(outcome) => outcome,
                            Err(reference) => return Ok(Attempt::Redeployed(reference)),
                        }
                    }
                    None => return Err(e),
                },
                Err(_) => return Err(e),
            },
            Err(e) => return Err(e),
        };
        let mut submitted = Submitted { refusals, ..Submitted::of(outcome, s, covering, covered) };
        if let Some(rest) = held_back {
            submitted.waiting += whole.each_change().len() - s.each_change().len();
            submitted.held_back = rest.clone();
        }
        Ok(Attempt::Done(submitted))
    }

    /// The reference is in use with other paths: an earlier attempt made the invalidation,
    /// planned into the room there was then. Found, it is the answer if it covers this request
    /// (a caller's reused reference with other keys is the caller's mistake). A reference derived
    /// from the changes stands for exactly these changes, so even unfound they were invalidated.
    /// Found, it answers only if the keys were not deployed again since ([`Submitter::latest`]);
    /// `None`: derived from the changes and not listed, invalidated by an earlier delivery.
    async fn after_already_exists(&self, s: &Submission<'_>, e: Error) -> Result<Option<Latest>, Error> {
        let read = self.recent(&s.distribution_id, Scope::All).await;
        let found = read.as_ref().map(|r| self.attempt_of(s, r));
        match found {
            Ok(Some(inv)) if answers(s, inv) || chains(s) => {
                let later = read.as_deref().map(<[Invalidation]>::to_vec).unwrap_or_default();
                self.latest(s, inv.clone(), Some(later)).await.map(Some)
            }
            Ok(Some(_)) => Err(e),
            Ok(None) | Err(_) if s.reference.origin == Origin::Changes => {
                tracing::info!(distribution_id = %s.distribution_id, caller_reference = %s.reference.value, "already invalidated by an earlier delivery of the same changes");
                Ok(None)
            }
            Ok(None) | Err(_) => Err(e),
        }
    }

    /// Whether `earlier` (an invalidation of this request's reference, which covers it) still
    /// answers it: a rollback is a new deploy, a retry is not. A reference that may come back
    /// with a later deploy of the same keys ([`Submission::reusable_reference`]: a deploy's id, a
    /// caller's own) answers only while it covers the request and no invalidation created after
    /// it touches any request form or cache tag of any of its changes
    /// ([`Submission::any_touched`]): one that does means those keys were deployed again since,
    /// and re-running the earlier deploy puts its content back, which the earlier invalidation,
    /// made before, does not flush. Then the request is a new deploy, under
    /// [`reference::redeployed`] of the earlier one: found among those made after it, it is the
    /// answer by the same rule (a retry of the rollback), else it is made. Anyone's invalidation
    /// counts, so the safe side of an unknown one is a new invalidation.
    ///
    /// `later`: a read that holds everything made since `earlier`, newest first, when there is
    /// one; else it is read (back to `earlier`'s `CreateTime`: CloudFront's clock on both sides,
    /// so no margin). A list that cannot be read fails the request (the caller retries): nothing
    /// says whether it is a retry or a rollback.
    async fn latest(
        &self,
        s: &Submission<'_>,
        earlier: Invalidation,
        later: Option<Vec<Invalidation>>,
    ) -> Result<Latest, Error> {
        if !s.reusable_reference() {
            return Ok(Latest::Answer(earlier));
        }
        let later = match later {
            Some(l) => l,
            None => self.recent(&s.distribution_id, Scope::Since(earlier.create_time)).await?,
        };
        // A tenant's list holds its own invalidations only. Whether its parent's clear the
        // tenant's cache too is *unsettled*: those made on its known parent since count as a
        // deploy as well (the safe side: at worst an invalidation more). They never answer.
        let on_parent = match &s.distribution_id {
            TargetId::Tenant(t) => match self.settings.parent_of.get(t) {
                Some(p) => {
                    let parent = TargetId::Distribution(p.clone());
                    self.recent(&parent, Scope::Since(earlier.create_time)).await?
                }
                None => Vec::new(),
            },
            TargetId::Distribution(_) => Vec::new(),
        };
        let mut candidate = earlier;
        for _ in 0..=later.len() {
            // Made after it: every other one of the same `CreateTime` or later. The list's order
            // among those of the same time is not documented, so one of the same time counts as
            // after it (the safe side: at worst an invalidation more).
            let after: Vec<&Invalidation> =
                later.iter().filter(|i| i.id != candidate.id && i.create_time >= candidate.create_time).collect();
            // Any form or tag of any change touched counts: an invalidation that flushed only
            // `/docs/index.html` of `/docs`, `/docs/` and `/docs/index.html` still serves the
            // later deploy's content there, which a rollback must flush.
            let touches = |i: &Invalidation| s.any_touched(self.settings, &ItemIndex::new(&i.paths));
            let deployed_again = after.iter().any(|i| touches(i))
                || on_parent
                    .iter()
                    .any(|i| i.id != candidate.id && i.create_time >= candidate.create_time && touches(i));
            if !deployed_again && answers(s, &candidate) {
                return Ok(Latest::Answer(candidate));
            }
            let next = reference::redeployed(&candidate.caller_reference);
            match after.iter().find(|i| i.caller_reference == next) {
                Some(i) => candidate = (*i).clone(),
                None => return Ok(Latest::Redeploy(next)),
            }
        }
        Ok(Latest::Redeploy(reference::redeployed(&candidate.caller_reference)))
    }

    /// What CloudFront handed back for the request's reference (or a lost answer's look found),
    /// judged: made by this call (or a concurrent attempt of the same request) is `Created`; made
    /// before it ([`made_before`]) is an earlier invalidation, which answers only by
    /// [`Submitter::latest`] — `Created` still when it answers with the same one (in progress),
    /// `Earlier` with the chain's link it ends at, or `Err` with the redeploy's reference.
    async fn judged(
        &self,
        s: &Submission<'_>,
        inv: Invalidation,
        made: Made<'_>,
    ) -> Result<Result<Outcome, String>, Error> {
        if !made_before(&inv, &made) {
            return Ok(Ok(Outcome::Created(inv)));
        }
        // The read holds everything made after `inv` only when it is listed in a read that stops at
        // a time, not at the first completed page; else `latest` reads it.
        let whole = matches!(made.scope, Scope::Since(_) | Scope::All);
        let later = (whole && made.recent.iter().any(|i| i.id == inv.id)).then(|| made.recent.to_vec());
        let completed = inv.status.is_completed();
        let id = inv.id.clone();
        Ok(match self.latest(s, inv, later).await? {
            Latest::Answer(a) if a.id == id && !completed => Ok(Outcome::Created(a)),
            Latest::Answer(a) => Ok(Outcome::Earlier(Some(a))),
            Latest::Redeploy(reference) => Err(reference),
        })
    }

    /// The invalidation among `recent` (read from the submission's target) that an earlier
    /// attempt of this request made: the one with its reference. On a distribution that may list
    /// its tenants' invalidations ([`Submitter::owned`]), a caller's own reference is not
    /// looked for there — a workflow gives one reference to each distribution and tenant it
    /// invalidates, so the one found may be a tenant's — and CloudFront's answer to the create
    /// finds it instead; references derived here name their target and cannot be a tenant's.
    fn attempt_of<'r>(&self, s: &Submission<'_>, recent: &'r [Invalidation]) -> Option<&'r Invalidation> {
        if s.reference.origin == Origin::Caller && self.settings.tenant_parents.may_be(&s.distribution_id) {
            return None;
        }
        recent.iter().find(|i| s.reference.matches(&i.caller_reference))
    }

    /// The invalidations of `recent` that may count as covering `target`'s changes. Whether a
    /// parent distribution's ListInvalidations also returns its tenants' invalidations is
    /// *unsettled*; if it did, a tenant's `/*`, which clears only that tenant's cache, would
    /// count as covering the parent's changes. So on a distribution that may have tenants (one
    /// `DISTRIBUTION_TENANTS` names, or any when a route's tenant has no parent there) none
    /// counts: nothing in the list tells a tenant's from the parent's own. The safe side: an
    /// invalidation more than needed, never a change left stale. A tenant's list holds its own
    /// only, and only they count for it (the parent's may not clear the tenant's cache).
    fn owned<'r>(&self, target: &TargetId, recent: &'r [Invalidation]) -> &'r [Invalidation] {
        if self.settings.tenant_parents.may_be(target) {
            &[]
        } else {
            recent
        }
    }

    /// The room, or the whole quota when it cannot be read (a role without
    /// `cloudfront:ListInvalidations`, a transient error): CloudFront then refuses what does not
    /// fit, and the changes wait all the same. The read may use a third of the time left, so
    /// that the create still has the rest.
    async fn room_or_full(&self, target: &TargetId) -> Room {
        let share = self.deadline.map(|d| deadline::left(d) / 3);
        // Counts stop being read at three quarters of the share, so that the room is estimated
        // from what was read before the guard below gives up on the whole read.
        let until = share.map(|s| Instant::now() + s * 3 / 4);
        let read =
            quota::room(self.cf, self.known, target, until, self.now.map(|now| quota::Pacing { now, pace: self.pace }));
        let result = deadline::within(share, read, |share| {
            Err(Error::CloudFront(format!("reading what is in progress took over {} ms", share.as_millis())))
        })
        .await;
        result.unwrap_or_else(|e| {
            tracing::warn!(distribution_id = %target, error_type = e.error_type(), error = %e, "in-progress invalidations not readable; planning as if none");
            Room::FULL
        })
    }

    /// The invalidations on `target` within `scope`, newest first, each read once per
    /// container ([`Known`]), within a third of the time left. A tenant's are its own list only:
    /// whether its parent distribution's invalidations clear the tenant's cache too is *unsettled*
    /// (`docs/aws-facts.md`, "Distribution tenants"), so they never count as covering a tenant's
    /// changes (the safe side: at worst one invalidation too many).
    async fn recent(&self, target: &TargetId, scope: Scope) -> Result<Vec<Invalidation>, Error> {
        let share = self.deadline.map(|d| deadline::left(d) / 3);
        deadline::within(share, self.recent_unbounded(target, scope), |share| {
            Err(Error::CloudFront(format!("reading recent invalidations took over {} ms", share.as_millis())))
        })
        .await
    }

    async fn recent_unbounded(&self, d: &TargetId, scope: Scope) -> Result<Vec<Invalidation>, Error> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self.cf.list_invalidations(d, marker.as_deref()).await?;
            let mut running = 0;
            let mut past = scope == Scope::InProgress;
            let mut ended = false;
            let mut keep = Vec::new();
            for summary in page.items {
                if matches!(scope, Scope::Since(t) if summary.create_time < t) {
                    ended = true;
                    break;
                }
                past |= matches!(scope, Scope::SinceAndInProgress(t) if summary.create_time < t);
                let completed = summary.status.is_completed();
                running += usize::from(!completed);
                if !(completed && past) {
                    keep.push(summary);
                }
            }
            // Read as the room is read, ten at a time and each once per container (a request
            // that waited hours for room may find hundreds made since its changes); then taken
            // from what the container now knows, in the list's order.
            let ids: Vec<String> = keep.iter().map(|summary| summary.id.clone()).collect();
            quota::read_at_once(self.cf, self.known, d, &ids, None, |_| {}).await?;
            for summary in keep {
                let seen = self.known.seen(self.cf, d, &summary.id).await?;
                out.push(Invalidation {
                    id: summary.id,
                    status: summary.status,
                    paths: seen.paths.as_ref().clone(),
                    caller_reference: seen.caller_reference,
                    create_time: seen.create_time,
                });
            }
            if ended {
                return Ok(out);
            }
            match page.next_marker {
                Some(m) if !past || running > 0 => marker = Some(m),
                _ => return Ok(out),
            }
        }
    }
}

/// The largest part of a batch that fits `room` when the whole does not, and the messages left
/// out: messages in the order of their earliest change (the oldest go first), as many as fit
/// (a binary search on the count: more messages never plan to fewer paths, short of the
/// planner's collapsing, which the search tolerates by taking a count that fits). Only a
/// submission of several messages with a reference derived from its changes is split: the part
/// gets its own reference, and each message left out comes back whole. A caller's request (one
/// reference, one answer) fits whole or waits.
fn part_that_fits<'i>(
    settings: &Settings,
    s: &Submission<'i>,
    room: Room,
) -> Option<(Submission<'i>, Plan, BTreeSet<usize>)> {
    if s.reference.origin != Origin::Changes || s.messages().len() < 2 || (room.exact == 0 && room.wildcards == 0) {
        return None;
    }
    let mut first: BTreeMap<usize, Option<SystemTime>> = BTreeMap::new();
    for c in s.changes() {
        let t = first.entry(c.message).or_insert(c.time);
        *t = match (*t, c.time) {
            (Some(a), Some(b)) => Some(a.min(b)),
            _ => None,
        };
    }
    let mut order: Vec<(usize, Option<SystemTime>)> = first.into_iter().collect();
    // Oldest first; a message without a time last (nothing says it is old).
    order.sort_by_key(|&(m, t)| (t.is_none(), t, m));
    let taking = |k: usize| -> Option<(Submission<'i>, Plan)> {
        let keep: BTreeSet<usize> = order[..k].iter().map(|&(m, _)| m).collect();
        let part = s.without(settings, |c| !keep.contains(&c.message))?.ok()?;
        let plan = part.fit(room, settings)?;
        Some((part, plan))
    };
    let (mut lo, mut hi) = (0, order.len() - 1);
    let mut best = None;
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        match taking(mid) {
            Some(part) => {
                best = Some((mid, part));
                lo = mid;
            }
            None => hi = mid - 1,
        }
    }
    let (k, (part, plan)) = best?;
    let rest = order[k..].iter().map(|&(m, _)| m).collect();
    Some((part, plan, rest))
}

/// Whether an invalidation of the request's reference is this request's: always for a reference
/// derived from the changes (it stands for exactly them, whatever room they were planned into),
/// and for a caller's only when its paths cover the request (else the caller reused it for other
/// keys, a mistake CloudFront's answer reports).
fn answers(s: &Submission<'_>, inv: &Invalidation) -> bool {
    s.reference.origin == Origin::Changes || s.covered_by(&inv.paths)
}

/// Whether an invalidation of the request's reference that does not cover it moves on to the next
/// link of the redeploy chain ([`Submitter::latest`]) instead of failing: a keys request under a
/// reference that comes back. A rollback's keys often differ from the deploy's: a later deploy
/// added `new.html`, and re-running the old deploy's `sync --delete` deletes it, so the old
/// invalidation does not cover the rollback's keys, and it is a new deploy all the same. Not the
/// workflow's own reference: it names one execution, so other keys under it are a mistake, which
/// CloudFront's `InvalidationBatchAlreadyExists` reports.
fn chains(s: &Submission<'_>) -> bool {
    s.is_keys() && s.reusable_reference() && !reference::is_workflows(&s.reference.value)
}

/// What an attempt knew before its create, to tell an invalidation CloudFront hands back for the
/// reference from one the create made.
struct Made<'r> {
    /// The list read before the create (empty when not `read`).
    recent: &'r [Invalidation],
    read: bool,
    scope: Scope,
    /// The attempt's start on CloudFront's clock (as near as this side knows it).
    started: SystemTime,
}

/// Whether `inv`, handed back for the request's reference, was made before this attempt: it is
/// `Completed`, or it was in the list read before the create. Not listed although the read holds
/// every invalidation in progress from its scope on, it was made after the read (by this call or a
/// concurrent attempt of the same request). Without a read, its `CreateTime` decides: more than
/// [`CLOCK_MARGIN`] before the attempt's start (whether the clocks differ by more is *unsettled*;
/// a rollback within that margin of the earlier invalidation, with the list unreadable, is then
/// taken as new).
fn made_before(inv: &Invalidation, made: &Made<'_>) -> bool {
    if inv.status.is_completed() || made.recent.iter().any(|i| i.id == inv.id) {
        return true;
    }
    if made.read {
        return match made.scope {
            Scope::Since(t) => inv.create_time < t,
            Scope::SinceAndInProgress(_) | Scope::InProgress | Scope::All => false,
        };
    }
    inv.create_time.checked_add(CLOCK_MARGIN).is_some_and(|t| t < made.started)
}

/// What is left of a submission once the changes covered already are dropped.
enum Left<'i> {
    All,
    Some(Box<Result<Submission<'i>, Error>>),
    Nothing,
}

/// The changes of `s` that an invalidation in `recent` covers already: created after the change
/// (by [`CLOCK_MARGIN`] at least: the clocks differ) with items covering every request form the
/// planner would send for its key, and its tags. Never a change without a time. Returns those
/// invalidations, the staleness of each change they cover, and what is left to submit.
fn covered_already<'i>(
    settings: &Settings,
    s: &Submission<'i>,
    recent: &[Invalidation],
) -> (Vec<Invalidation>, Vec<Duration>, Left<'i>) {
    let changes = s.each_change();
    if recent.is_empty() || changes.is_empty() || changes.iter().any(|(c, _)| c.time.is_none()) {
        return (Vec::new(), Vec::new(), Left::All);
    }
    let indexes: Vec<ItemIndex> = recent.iter().map(|i| ItemIndex::new(&i.paths)).collect();
    let mut used = vec![false; recent.len()];
    let mut covered: HashSet<*const Change> = HashSet::new();
    let mut staleness = Vec::new();
    for (change, viewer_key) in &changes {
        let Some(made) = change.time else { continue };
        let Some(t) = made.checked_add(CLOCK_MARGIN) else { continue };
        // The earliest created of those that cover it (the list is newest first).
        let by = (0..recent.len()).rev().find(|&i| {
            recent[i].create_time >= t && Request::change_covered(settings, change, *viewer_key, &indexes[i])
        });
        if let Some(i) = by {
            used[i] = true;
            covered.insert(*change as *const Change);
            staleness.push(observe::staleness(made, recent[i].create_time));
        }
    }
    if covered.is_empty() {
        return (Vec::new(), Vec::new(), Left::All);
    }
    let covering = recent.iter().zip(&used).filter(|(_, u)| **u).map(|(i, _)| i.clone()).collect();
    match s.without(settings, |c| covered.contains(&(c as *const Change))) {
        None => (covering, staleness, Left::Nothing),
        Some(left) => (covering, staleness, Left::Some(Box::new(left))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloudfront::memory::MemoryCloudFront;
    use crate::config::Config;
    use crate::intake;
    use crate::prepare::prepare_payload;
    use crate::reference::Token;
    use serde_json::json;

    const D: &str = "EDFDVBD632BHDS5";

    /// An S3 event of `(key, second)` changes, the times as seconds after the in-memory
    /// CloudFront's epoch.
    fn event(keys: &[(&str, u64)]) -> Vec<u8> {
        let records: Vec<_> = keys
            .iter()
            .enumerate()
            .map(|(i, (k, at))| {
                let time = humantime::format_rfc3339_seconds(SystemTime::UNIX_EPOCH + Duration::from_secs(*at));
                json!({"eventSource":"aws:s3","eventName":"ObjectCreated:Put","eventTime": time.to_string(),
                       "s3":{"bucket":{"name":"www"},"object":{"key":k,"sequencer":format!("{i:04}")}}})
            })
            .collect();
        json!({ "Records": records }).to_string().into_bytes()
    }

    /// Rule (the Staleness metric): each covered change's staleness is from its time to the
    /// CreateTime of the invalidation that covers it — created now, or found covering already
    /// (the earliest of those that do). Intake reads a whole-second event time as the end of its
    /// second (never earlier than the change), so each is a second less than the clocks' difference.
    #[tokio::test]
    async fn staleness_runs_from_each_change_to_the_invalidation_that_covers_it() {
        let cfg = Config::from_pairs(&[("DISTRIBUTION_ID", D)]).unwrap();
        let cf = MemoryCloudFront::new(&[D]);
        let known = Known::new();
        let submitter = Submitter {
            cf: &cf,
            known: &known,
            settings: &cfg.planner,
            deadline: None,
            now: None,
            pace: quota::Pace::DEFAULT,
        };
        let secs = |v: &[Duration]| v.iter().map(|d| d.as_secs()).collect::<Vec<_>>();

        cf.set_now(100);
        let payload = event(&[("a.css", 10), ("b.css", 40)]);
        let intake = intake::parse(&payload).unwrap();
        let prepared = prepare_payload(&cfg.planner, &intake, Token::Fixed("r1"), false).unwrap();
        let created = submitter.submit(&prepared.submissions[0]).await.unwrap();
        assert!(matches!(created.outcome, Outcome::Created(_)));
        assert_eq!((secs(&created.staleness), created.waiting), (vec![89, 59], 0));

        // Later changes of the same keys plus one more: the first two are not covered (the
        // invalidation at 100 is older than them), so everything is planned again.
        cf.set_now(200);
        let payload = event(&[("a.css", 150), ("c.css", 160)]);
        let intake = intake::parse(&payload).unwrap();
        let prepared = prepare_payload(&cfg.planner, &intake, Token::Fixed("r2"), false).unwrap();
        let again = submitter.submit(&prepared.submissions[0]).await.unwrap();
        assert_eq!(secs(&again.staleness), vec![49, 39]);

        // A change made before that invalidation (at 200) and covered by it: covered already.
        let payload = event(&[("c.css", 170)]);
        let intake = intake::parse(&payload).unwrap();
        let prepared = prepare_payload(&cfg.planner, &intake, Token::Fixed("r3"), false).unwrap();
        let covered = submitter.submit(&prepared.submissions[0]).await.unwrap();
        assert!(matches!(covered.outcome, Outcome::Covered(ref v) if v.len() == 1), "{:?}", covered.outcome);
        assert_eq!(secs(&covered.staleness), vec![29]);
        assert_eq!(cf.invalidation_count(), 2, "nothing created for it");
    }

    /// A deploy's keys as `cfinv invalidate --caller-reference ID` gives them: no version, no time.
    fn deploy_keys(keys: &[&str]) -> Vec<Change> {
        keys.iter()
            .map(|k| Change {
                message: 0,
                bucket: None,
                key: k.to_string(),
                kind: crate::model::ChangeKind::Created,
                version: None,
                time: None,
            })
            .collect()
    }

    /// Rule: a rollback is a new deploy, a retry is not. An earlier invalidation of the same
    /// deploy id answers a re-run only while nothing created after it covers any of its keys;
    /// otherwise the re-run makes a new one under a reference derived from the earlier one, which
    /// a retry of that re-run finds, and a rollback after yet another deploy derives the next.
    #[tokio::test]
    async fn a_rollback_is_a_new_deploy_and_a_retry_is_not() {
        let cfg = Config::from_pairs(&[("DISTRIBUTION_ID", D)]).unwrap();
        let cf = MemoryCloudFront::new(&[D]);
        let known = Known::new();
        let submitter = Submitter {
            cf: &cf,
            known: &known,
            settings: &cfg.planner,
            deadline: None,
            now: None,
            pace: quota::Pace::DEFAULT,
        };
        let site = deploy_keys(&["index.html", "js/app.js"]);
        let other = deploy_keys(&["about.html"]);
        // (step, deploy id, keys, what it gets: a new invalidation or the one made at step n).
        enum Want {
            New,
            Step(usize),
        }
        let steps: &[(&str, &str, &[Change], Want)] = &[
            ("deploy A", "sha-A", &site, Want::New),
            ("A re-run at once: a retry", "sha-A", &site, Want::Step(0)),
            ("C changes other keys", "sha-C", &other, Want::New),
            ("A re-run after C: still a retry", "sha-A", &site, Want::Step(0)),
            ("deploy B of the same keys", "sha-B", &site, Want::New),
            ("rollback to A: a new deploy", "sha-A", &site, Want::New),
            ("the rollback retried", "sha-A", &site, Want::Step(5)),
            ("B again (roll forward)", "sha-B", &site, Want::New),
            ("rollback to A again: the next link", "sha-A", &site, Want::New),
            ("and its retry", "sha-A", &site, Want::Step(8)),
        ];
        let mut made: Vec<Invalidation> = Vec::new();
        for (step, (rule, id, keys, want)) in steps.iter().enumerate() {
            cf.advance(60);
            let routing = crate::planner::Routing::Keys { distribution_id: None };
            let asked = crate::prepare::Asked::Changes { changes: keys, routing };
            let prepared = crate::prepare::prepare(&cfg.planner, asked, None, Token::Fixed(id), false).unwrap();
            let before = cf.invalidation_count();
            let got = submitter.submit(&prepared.submissions[0]).await.unwrap().outcome;
            let inv = match (&got, want) {
                (Outcome::Created(inv), Want::New) => inv.clone(),
                (Outcome::Earlier(Some(inv)), Want::Step(n)) => {
                    assert_eq!(inv.id, made[*n].id, "{rule}");
                    assert_eq!(cf.invalidation_count(), before, "{rule}: nothing created");
                    inv.clone()
                }
                _ => panic!("{rule}: got {got:?}"),
            };
            if matches!(want, Want::New) && step > 0 && *id == "sha-A" {
                let earlier = made.iter().rev().find(|m| m.paths == inv.paths && m.id != inv.id).unwrap();
                let chained = made.iter().any(|m| inv.caller_reference == reference::redeployed(&m.caller_reference));
                assert!(chained, "{rule}: derived from an earlier one ({})", earlier.caller_reference);
            }
            made.push(inv);
        }
        assert_eq!(made[5].caller_reference, reference::redeployed(&made[0].caller_reference));
        assert_eq!(made[8].caller_reference, reference::redeployed(&made[5].caller_reference));
    }

    /// Rule: an earlier invalidation older than the list read (CloudFront hands it back,
    /// `Completed`, for the same reference and paths) answers a re-run by the same rule.
    #[tokio::test]
    async fn a_months_old_deploy_id_is_judged_by_what_came_after_it() {
        let cfg = Config::from_pairs(&[("DISTRIBUTION_ID", D)]).unwrap();
        let cf = MemoryCloudFront::new(&[D]);
        let known = Known::new();
        let submitter = Submitter {
            cf: &cf,
            known: &known,
            settings: &cfg.planner,
            deadline: None,
            now: None,
            pace: quota::Pace::DEFAULT,
        };
        let site = deploy_keys(&["index.html"]);
        let submit = |id: &'static str| {
            let routing = crate::planner::Routing::Keys { distribution_id: None };
            let asked = crate::prepare::Asked::Changes { changes: &site, routing };
            crate::prepare::prepare(&cfg.planner, asked, None, Token::Fixed(id), false).unwrap()
        };
        let a = submit("sha-A");
        let first = submitter.submit(&a.submissions[0]).await.unwrap().outcome;
        cf.advance(30 * 86_400);
        let retry = submitter.submit(&a.submissions[0]).await.unwrap().outcome;
        let Outcome::Created(first) = first else { panic!("{first:?}") };
        assert!(matches!(&retry, Outcome::Earlier(Some(i)) if i.id == first.id), "a retry: {retry:?}");
        let b = submit("sha-B");
        submitter.submit(&b.submissions[0]).await.unwrap();
        cf.advance(30 * 86_400);
        let rollback = submitter.submit(&a.submissions[0]).await.unwrap().outcome;
        assert!(matches!(rollback, Outcome::Created(_)), "{rollback:?}");
        assert_eq!(cf.invalidation_count(), 3);
    }

    /// Rule (tenants: one list, one owner): whether a parent distribution's list also holds its
    /// tenants' invalidations is unsettled, so in both readings a tenant's `/*` made after a
    /// parent's change never counts as covering it, nor the parent's `/*` a tenant's change; on a
    /// distribution without tenants, another's `/*` made after a change covers it.
    #[tokio::test]
    async fn a_tenants_invalidation_never_covers_its_parents_changes_nor_the_reverse() {
        let tenant = "dt_acme";
        let routes = json!([
            {"prefix": "customers/acme/", "distributions": [{"id": tenant, "origin_path": "/customers/acme"}]},
            {"prefix": "", "distributions": [D]}
        ])
        .to_string();
        let parents = format!("{D}/{tenant}");
        // (reading, DISTRIBUTION_TENANTS, whose `/*` at 100, the change at 10, covered?)
        let cases = [
            (false, Some(&parents), tenant, "index.html", false),
            (true, Some(&parents), tenant, "index.html", false),
            (false, Some(&parents), D, "customers/acme/a.css", false),
            (true, Some(&parents), D, "customers/acme/a.css", false),
            (true, None, tenant, "index.html", false),
            (false, None, D, "index.html", true),
        ];
        for (lists, parents, by, key, want_covered) in cases {
            let mut vars = vec![("ROUTES", routes.as_str())];
            if let Some(p) = parents {
                vars.push(("DISTRIBUTION_TENANTS", p));
            } else if want_covered {
                vars = vec![("DISTRIBUTION_ID", D)];
            }
            let cfg = Config::from_pairs(&vars).unwrap();
            let cf = MemoryCloudFront::new(&[D]);
            cf.add_tenant(tenant, D);
            cf.parent_lists_tenants(lists);
            cf.set_now(100);
            let target = TargetId::parse(by).unwrap();
            let all = ["/*".to_string()];
            cf.create_invalidation(CreateRequest { target: &target, caller_reference: "person", paths: &all }, None)
                .await
                .unwrap();
            let known = Known::new();
            let submitter = Submitter {
                cf: &cf,
                known: &known,
                settings: &cfg.planner,
                deadline: None,
                now: None,
                pace: quota::Pace::DEFAULT,
            };
            let intake = intake::parse(&event(&[(key, 10)])).unwrap();
            let prepared = prepare_payload(&cfg.planner, &intake, Token::Fixed("r"), false).unwrap();
            let got = submitter.submit(&prepared.submissions[0]).await.unwrap().outcome;
            let rule = format!("parent lists tenants: {lists}, tenants {parents:?}, /* by {by}, change of {key}");
            assert_eq!(matches!(got, Outcome::Covered(_)), want_covered, "{rule}: {got:?}");
            assert_eq!(matches!(got, Outcome::Created(_)), !want_covered, "{rule}: {got:?}");
        }
    }

    /// Rule: a refusal is looked at again (another invocation took the room), but a second
    /// refusal in the same room as read means the list does not show what holds it (here a
    /// tenant whose quota is its parent's, the *unsettled* reading): the changes wait, after two
    /// creates rather than one per look. A room that moved is looked at again.
    #[tokio::test]
    async fn refused_twice_in_an_unchanged_room_waits() {
        let tenant = "dt_2abc";
        let routes = format!(r#"[{{"prefix": "", "distributions": ["{tenant}"]}}]"#);
        let cfg = Config::from_pairs(&[("ROUTES", &routes)]).unwrap();
        let cf = MemoryCloudFront::new(&[D]);
        cf.add_tenant(tenant, D);
        cf.tenant_quota_on_parent(true);
        let wild: Vec<String> = (0..15).map(|i| format!("/w{i}/*")).collect();
        let exact: Vec<String> = (0..3000).map(|i| format!("/e/{i}")).collect();
        for (r, paths) in [("w", &wild), ("e", &exact)] {
            let target = TargetId::parse(D).unwrap();
            cf.create_invalidation(CreateRequest { target: &target, caller_reference: r, paths }, None).await.unwrap();
        }
        let known = Known::new();
        let submitter = Submitter {
            cf: &cf,
            known: &known,
            settings: &cfg.planner,
            deadline: None,
            now: None,
            pace: quota::Pace::DEFAULT,
        };
        let intake = intake::parse(&event(&[("a.css", 10)])).unwrap();
        let prepared = prepare_payload(&cfg.planner, &intake, Token::Fixed("r1"), false).unwrap();
        let held = submitter.submit(&prepared.submissions[0]).await.unwrap();
        assert!(matches!(held.outcome, Outcome::Held { refused: true, .. }), "{:?}", held.outcome);
        let looks = LOOKS_IN_AN_UNCHANGED_ROOM;
        assert_eq!((held.refusals, cf.quota_refusals()), (looks, looks));
    }

    /// Submits `keys` under a deploy id: as `cfinv invalidate --caller-reference ID` gives it (the
    /// caller's reference, the id as token) with `caller`, else a reference derived from the keys
    /// and the id (a keys request without versions).
    async fn deploy(
        cfg: &Config,
        cf: &MemoryCloudFront,
        keys: &[Change],
        id: &str,
        caller: bool,
    ) -> Result<Outcome, Error> {
        let known = Known::new();
        let submitter = Submitter {
            cf,
            known: &known,
            settings: &cfg.planner,
            deadline: None,
            now: None,
            pace: quota::Pace::DEFAULT,
        };
        let routing = crate::planner::Routing::Keys { distribution_id: None };
        let asked = crate::prepare::Asked::Changes { changes: keys, routing };
        let given = caller.then_some(id);
        let prepared = crate::prepare::prepare(&cfg.planner, asked, given, Token::Fixed(id), false)?;
        submitter.submit(&prepared.submissions[0]).await.map(|s| s.outcome)
    }

    /// Another tool's invalidation of `paths` on `on`, now.
    async fn others(cf: &MemoryCloudFront, on: &str, reference: &str, paths: &[&str]) {
        let target = TargetId::parse(on).unwrap();
        let paths: Vec<String> = paths.iter().map(|p| p.to_string()).collect();
        cf.create_invalidation(CreateRequest { target: &target, caller_reference: reference, paths: &paths }, None)
            .await
            .unwrap();
    }

    /// Rule: "deployed again" is any later invalidation that touches any request form or cache
    /// tag of any change — not only one that covers every form. Deploy A of `docs/index.html` is
    /// invalidated as `/docs`, `/docs/` and `/docs/index.html`; another tool's deploy B flushing
    /// one of them leaves B's content there until the rollback to A is invalidated again.
    #[tokio::test]
    async fn a_later_invalidation_of_any_form_or_tag_is_a_redeploy() {
        let tags = r##"{"docs/*": "#docs"}"##;
        // (B's paths, a rollback to A is a new deploy?)
        let cases: &[(&[&str], bool)] = &[
            (&["/docs/index.html"], true),
            (&["/docs/"], true),
            (&["/docs"], true),
            (&["/d*"], true),
            (&["#docs"], true),
            (&["/docs/index.html", "/docs/", "/docs"], true),
            (&["/about.html"], false),
            (&["/docs/other.html"], false),
        ];
        for &(b_paths, redeploy) in cases {
            for caller in [false, true] {
                let rule = format!("B invalidated {b_paths:?}, caller's reference {caller}");
                let vars = [("DISTRIBUTION_ID", D), ("INDEX_DOCUMENT", "index.html"), ("TAGS", tags)];
                let cfg = Config::from_pairs(&vars).unwrap();
                let cf = MemoryCloudFront::new(&[D]);
                cf.set_completion(|_| 5);
                let site = deploy_keys(&["docs/index.html"]);
                let Ok(Outcome::Created(a)) = deploy(&cfg, &cf, &site, "sha-A", caller).await else { panic!("{rule}") };
                cf.advance(60);
                others(&cf, D, "aws-cli-B", b_paths).await;
                cf.advance(60);
                let rollback = deploy(&cfg, &cf, &site, "sha-A", caller).await.unwrap();
                match (&rollback, redeploy) {
                    (Outcome::Created(i), true) => assert_ne!(i.id, a.id, "{rule}"),
                    (Outcome::Earlier(Some(i)), false) => assert_eq!(i.id, a.id, "{rule}"),
                    _ => panic!("{rule}: {rollback:?}"),
                }
            }
        }
    }

    /// Rule: an invalidation CloudFront hands back for the reference while it is still in
    /// progress, made before this call, is an earlier one and answers only by the same rule —
    /// also when the list read did not find it: a caller's reference on a distribution that may
    /// have tenants (not looked for there), or a list that could not be read. A quick rollback
    /// (A, B, A again within A's run time) gets a new invalidation; a retry gets A back.
    #[tokio::test]
    async fn an_earlier_invalidation_still_in_progress_answers_only_if_not_deployed_again() {
        // (case, DISTRIBUTION_TENANTS, list reads that fail before the rollback, deploy B between?)
        let tenants = format!("{D}/dt_x");
        let cases = [
            ("tenant parent, rollback", Some(&tenants), 0, true),
            ("tenant parent, retry", Some(&tenants), 0, false),
            ("list unreadable, rollback", None, 2, true),
            ("list unreadable, retry", None, 2, false),
        ];
        for (rule, parents, failures, b_between) in cases {
            let mut vars = vec![("DISTRIBUTION_ID", D)];
            if let Some(p) = parents {
                vars.push(("DISTRIBUTION_TENANTS", p));
            }
            let cfg = Config::from_pairs(&vars).unwrap();
            let cf = MemoryCloudFront::new(&[D]);
            cf.add_tenant("dt_x", D);
            cf.set_completion(|_| 600);
            let site = deploy_keys(&["index.html"]);
            let Ok(Outcome::Created(a)) = deploy(&cfg, &cf, &site, "release-1.2", true).await else { panic!("{rule}") };
            cf.advance(20);
            if b_between {
                deploy(&cfg, &cf, &site, "release-1.3", true).await.unwrap();
                cf.advance(20);
            }
            for _ in 0..failures {
                cf.script(crate::cloudfront::memory::Op::List, Error::CloudFront("transient".into()));
            }
            let before = cf.invalidation_count();
            let again = deploy(&cfg, &cf, &site, "release-1.2", true).await.unwrap();
            match &again {
                Outcome::Created(i) | Outcome::Earlier(Some(i)) => {
                    assert_eq!(i.id == a.id, !b_between, "{rule}: {again:?}");
                    assert_eq!(cf.invalidation_count(), before + usize::from(b_between), "{rule}");
                }
                other => panic!("{rule}: {other:?}"),
            }
        }
    }

    /// Rule: a rollback whose keys differ from the deploy's is a new deploy, not an error. B
    /// added `new.html`; re-running A's `sync --delete` deletes it, so the rollback's keys are
    /// A's plus `new.html`, which A's invalidation does not cover: under a caller's reference
    /// (cfinv's `--caller-reference`) it moves on to the next link of the chain, which its retry
    /// finds; under a reference derived from the keys it is another reference anyway.
    #[tokio::test]
    async fn a_rollback_with_other_keys_than_the_deploy_is_a_new_deploy() {
        let cfg = Config::from_pairs(&[("DISTRIBUTION_ID", D)]).unwrap();
        for caller in [true, false] {
            let cf = MemoryCloudFront::new(&[D]);
            cf.set_completion(|_| 5);
            let (a_keys, b_keys) = (deploy_keys(&["index.html"]), deploy_keys(&["index.html", "new.html"]));
            // (step, id, keys, a new invalidation?)
            let steps: &[(&str, &str, &[Change], bool)] = &[
                ("deploy A", "sha-A", &a_keys, true),
                ("deploy B adds new.html", "sha-B", &b_keys, true),
                ("rollback to A deletes new.html", "sha-A", &b_keys, true),
                ("the rollback retried", "sha-A", &b_keys, false),
            ];
            let mut last: Option<Invalidation> = None;
            for (rule, id, keys, new) in steps {
                cf.advance(60);
                let before = cf.invalidation_count();
                let got = deploy(&cfg, &cf, keys, id, caller).await;
                let rule = format!("{rule}, caller's reference {caller}");
                match (got, new) {
                    (Ok(Outcome::Created(i)), true) => last = Some(i),
                    (Ok(Outcome::Earlier(Some(i))), false) => {
                        assert_eq!(Some(&i.id), last.as_ref().map(|l| &l.id), "{rule}");
                        assert_eq!(cf.invalidation_count(), before, "{rule}");
                    }
                    (got, _) => panic!("{rule}: {got:?}"),
                }
            }
        }
    }

    /// Rule: the list's order among invalidations of the same `CreateTime` is not trusted: one
    /// made in the same instant as the earlier invalidation counts as made after it (the safe
    /// side), one made a second before it does not.
    #[tokio::test]
    async fn an_invalidation_of_the_same_time_counts_as_after() {
        let cfg = Config::from_pairs(&[("DISTRIBUTION_ID", D)]).unwrap();
        // (B's time before A's, in ms; a rollback to A is a new deploy?)
        for (before_ms, redeploy) in [(0, true), (1000, false)] {
            let cf = MemoryCloudFront::new(&[D]);
            cf.set_completion(|_| 5);
            let site = deploy_keys(&["index.html"]);
            cf.set_now_ms(100_000 - before_ms);
            others(&cf, D, "aws-cli-B", &["/index.html"]).await;
            cf.set_now_ms(100_000);
            let Ok(Outcome::Created(a)) = deploy(&cfg, &cf, &site, "sha-A", true).await else { panic!() };
            cf.advance(60);
            let rollback = deploy(&cfg, &cf, &site, "sha-A", true).await.unwrap();
            let rule = format!("B {before_ms} ms before A");
            match &rollback {
                Outcome::Created(i) | Outcome::Earlier(Some(i)) => {
                    assert_eq!(i.id != a.id, redeploy, "{rule}: {rollback:?}")
                }
                other => panic!("{rule}: {other:?}"),
            }
        }
    }

    /// Rule: a tenant's rollback also counts as deployed again an invalidation made since on its
    /// parent distribution, when `DISTRIBUTION_TENANTS` names the parent (whether the parent's
    /// clear the tenant's cache is unsettled: the safe side). A sibling tenant's does not.
    #[tokio::test]
    async fn a_tenants_rollback_counts_its_known_parents_invalidations() {
        let (tenant, sibling) = ("dt_x", "dt_y");
        let routes = format!(r#"[{{"prefix": "", "distributions": ["{tenant}"]}}]"#);
        let parents = format!("{D}/{tenant},{D}/{sibling}");
        // (parent named, B invalidated on, a rollback to A is a new deploy?)
        let cases = [(true, D, true), (true, sibling, false), (true, tenant, true), (false, D, false)];
        for (named, b_on, redeploy) in cases {
            let mut vars = vec![("ROUTES", routes.as_str())];
            if named {
                vars.push(("DISTRIBUTION_TENANTS", parents.as_str()));
            }
            let cfg = Config::from_pairs(&vars).unwrap();
            let cf = MemoryCloudFront::new(&[D]);
            cf.add_tenant(tenant, D);
            cf.add_tenant(sibling, D);
            cf.set_completion(|_| 5);
            let site = deploy_keys(&["index.html"]);
            let rule = format!("parent named {named}, B on {b_on}");
            let Ok(Outcome::Created(a)) = deploy(&cfg, &cf, &site, "sha-A", true).await else { panic!("{rule}") };
            cf.advance(60);
            others(&cf, b_on, "aws-cli-B", &["/index.html"]).await;
            cf.advance(60);
            let rollback = deploy(&cfg, &cf, &site, "sha-A", true).await.unwrap();
            match &rollback {
                Outcome::Created(i) | Outcome::Earlier(Some(i)) => {
                    assert_eq!(i.id != a.id, redeploy, "{rule}: {rollback:?}")
                }
                other => panic!("{rule}: {other:?}"),
            }
        }
    }
}
