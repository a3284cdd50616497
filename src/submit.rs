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
use crate::cloudfront::{CloudFront, CreateRequest, Invalidation, NewestFirst};
use crate::deadline::{self, Instant};
use crate::error::Error;
use crate::known::Known;
use crate::model::{Change, TargetId};
use crate::observe;
use crate::planner::{coverage, ItemIndex, Plan, Settings};
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

/// How an invalidation answers a submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Created now, for it.
    Created,
    /// Made by an earlier attempt of the same request: nothing new created.
    Earlier,
    /// Made after its changes (by anyone) and covering them already: nothing created for them.
    Covering,
}

impl Submitted {
    /// Every invalidation that answers the submission, and how: first those covering part of its
    /// changes already, then the outcome's (created, made earlier, or covering all of it). None
    /// for a held outcome, nor for an earlier one CloudFront did not list. These are what the
    /// Lambda answers with and `cfinv` reports, and what a workflow waits for.
    pub fn invalidations(&self) -> impl Iterator<Item = (Answer, &Invalidation)> {
        let outcome: Vec<(Answer, &Invalidation)> = match &self.outcome {
            Outcome::Created(inv) => vec![(Answer::Created, inv)],
            Outcome::Earlier(Some(inv)) => vec![(Answer::Earlier, inv)],
            Outcome::Covered(invs) => invs.iter().map(|inv| (Answer::Covering, inv)).collect(),
            Outcome::Earlier(None) | Outcome::Held { .. } => Vec::new(),
        };
        self.covering.iter().map(|inv| (Answer::Covering, inv)).chain(outcome)
    }

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

/// What a plan fits into the room ([`Submitter::fit`]).
enum Fit<'i> {
    /// The whole submission's plan.
    Whole(Plan),
    /// The part of a batch that fits, its plan, and the messages left out.
    Part { part: Box<Submission<'i>>, plan: Plan, rest: BTreeSet<usize> },
}

/// How CloudFront answered a create ([`Submitter::create`]).
enum Answered {
    /// Made now, or by an earlier attempt of the request.
    Outcome(Outcome),
    /// `TooManyInvalidationsInProgress`: room taken since it was read.
    Refused,
    /// The earlier invalidation of this reference answers it no longer: made again under this
    /// reference ([`reference::redeployed`]).
    Redeploy(String),
}

/// What the submit step did, after `refusals` refused creates.
fn ended(
    outcome: Outcome,
    s: &Submission<'_>,
    covering: Vec<Invalidation>,
    covered: Vec<Duration>,
    refusals: usize,
) -> Submitted {
    Submitted { refusals, ..Submitted::of(outcome, s, covering, covered) }
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

impl Scope {
    /// How far back to look for an earlier attempt of `s`. Changes that carry a time bound the
    /// search: an earlier attempt of changes was made after them. A caller's reference may have
    /// been used before (a request received again, its keys' time a new receipt): those still in
    /// progress before the time are read too. Changes without a time are looked for among those
    /// in progress.
    fn of(s: &Submission<'_>) -> Scope {
        let since = s.earliest_change().map(|t| t.checked_sub(CLOCK_MARGIN).unwrap_or(SystemTime::UNIX_EPOCH));
        match (s.reference.origin, since) {
            (_, None) => Scope::InProgress,
            (Origin::Changes, Some(t)) => Scope::Since(t),
            (_, Some(t)) => Scope::SinceAndInProgress(t),
        }
    }
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

    /// One attempt: the steps of the module documentation, from the room read to the create. A
    /// refused create ([`Attempt::Refused`]) is attempted again from the start by
    /// [`Submitter::submit`]: the invalidation that took the room may be another invocation's `/*`
    /// made after these changes, which covers them already.
    async fn attempt(&self, s: &Submission<'_>, refusals: usize, may_yield: bool) -> Result<Attempt, Error> {
        // The room is read first and what was made since the changes last, just before the
        // plan and the create: an invalidation another invocation makes in between (its `/*`
        // covering these changes) is then seen, unless it lands in the last moment.
        let (room, started) = self.read_room(&s.distribution_id).await;
        let (recent, read, scope) = self.made_since(s).await;
        match self.earlier_attempt(s, &recent).await? {
            Some(Latest::Answer(inv)) => {
                let earlier = Outcome::Earlier(Some(inv));
                return Ok(Attempt::Done(ended(earlier, s, Vec::new(), Vec::new(), refusals)));
            }
            Some(Latest::Redeploy(reference)) => return Ok(Attempt::Redeployed(reference)),
            None => {}
        }
        let (covering, covered, left) = covered_already(self.settings, s, self.owned(&s.distribution_id, &recent));
        let narrowed;
        let whole = match left {
            Left::All => s,
            Left::Nothing => {
                let d = s.distribution_id.as_str();
                tracing::info!(distribution_id = d, covering = covering.len(), "every change is covered already");
                return Ok(Attempt::Done(ended(Outcome::Covered(covering), s, Vec::new(), covered, refusals)));
            }
            Left::Some(n) => {
                narrowed = (*n)?;
                &narrowed
            }
        };
        let Some(fit) = self.fit(whole, room, read) else {
            let held = Outcome::Held { room, refused: refusals > 0 };
            return Ok(Attempt::Done(ended(held, whole, covering, covered, refusals)));
        };
        let (s, plan) = match &fit {
            Fit::Whole(plan) => (whole, plan),
            Fit::Part { part, plan, .. } => (part.as_ref(), plan),
        };
        if may_yield {
            if let Some(pause) = self.pause_before(s, room, plan) {
                return Ok(Attempt::Yield(pause));
            }
        }
        let made = Made { recent: &recent, read, scope, started };
        let outcome = match self.create(s, plan, &made, refusals).await? {
            Answered::Outcome(outcome) => outcome,
            Answered::Refused => {
                let held = Outcome::Held { room, refused: true };
                return Ok(Attempt::Refused(ended(held, whole, covering, covered, refusals)));
            }
            Answered::Redeploy(reference) => return Ok(Attempt::Redeployed(reference)),
        };
        let mut submitted = ended(outcome, s, covering, covered, refusals);
        if let Fit::Part { rest, .. } = &fit {
            submitted.waiting += whole.each_change().len() - s.each_change().len();
            submitted.held_back = rest.clone();
        }
        Ok(Attempt::Done(submitted))
    }

    /// Step 1: the room, thrifty when the monthly path budget says so ([`budget::look`]), and the
    /// attempt's start on CloudFront's clock (as near as this side knows it), taken once the room
    /// is read.
    async fn read_room(&self, target: &TargetId) -> (Room, SystemTime) {
        let room = self.room_or_full(target).await;
        let now = self.now.unwrap_or_else(SystemTime::now);
        let thrifty = budget::look(self.cf, self.known, self.settings, target, now, self.deadline).await;
        (Room { thrifty, ..room }, now)
    }

    /// Step 2's read: the invalidations made since the changes, newest first, whether they could
    /// be read, and how far back ([`Scope::of`]). Unreadable, the list is empty and CloudFront's
    /// answer to the reference decides.
    async fn made_since(&self, s: &Submission<'_>) -> (Vec<Invalidation>, bool, Scope) {
        let scope = Scope::of(s);
        match self.recent(&s.distribution_id, scope).await {
            Ok(recent) => (recent, true, scope),
            Err(e) => {
                tracing::warn!(distribution_id = s.distribution_id.as_str(), error_type = e.error_type(), error = %e, "cannot read what was made since the changes; CloudFront's answer to the reference decides");
                (Vec::new(), false, scope)
            }
        }
    }

    /// Step 2's first answer: the earlier attempt of this request among `recent`
    /// ([`Submitter::attempt_of`]), where the chain of redeploys from it ends
    /// ([`Submitter::latest`]); `None` when there is none. A caller's reference reused for other
    /// keys is not this request's: CloudFront's answer to the create says so.
    async fn earlier_attempt(&self, s: &Submission<'_>, recent: &[Invalidation]) -> Result<Option<Latest>, Error> {
        let Some(inv) = self.attempt_of(s, recent).filter(|inv| answers(s, inv) || chains(s)) else {
            return Ok(None);
        };
        let latest = self.latest(s, inv.clone(), None).await?;
        if let Latest::Answer(inv) = &latest {
            let d = s.distribution_id.as_str();
            tracing::info!(distribution_id = d, invalidation_id = %inv.id, "an earlier attempt of this request made it");
        }
        Ok(Some(latest))
    }

    /// Step 3: the plan of the whole submission within `room`, else of the part of a batch that
    /// fits ([`part_that_fits`]), else `None`: it waits for room. Without a `read` of what was made
    /// since, an earlier invalidation of the whole batch (a redelivery whose answer was lost) is
    /// found only by CloudFront's answer to the whole's reference: a part, under a reference of
    /// its own, would be a second invalidation. So no part then.
    fn fit<'i>(&self, whole: &Submission<'i>, room: Room, read: bool) -> Option<Fit<'i>> {
        if let Some(plan) = whole.fit(room, self.settings) {
            return Some(Fit::Whole(plan));
        }
        let d = whole.distribution_id.as_str();
        let part = if read { part_that_fits(self.settings, whole, room) } else { None };
        let Some((part, plan, rest)) = part else {
            tracing::info!(
                distribution_id = d,
                room_exact = room.exact,
                room_wildcards = room.wildcards,
                room_spend = room.spend,
                "waits for room"
            );
            return None;
        };
        tracing::info!(
            distribution_id = d,
            room_exact = room.exact,
            room_wildcards = room.wildcards,
            held_back = rest.len(),
            "the part that fits goes now; the rest of the messages wait for room"
        );
        Some(Fit::Part { part: Box::new(part), plan, rest })
    }

    /// The pause before the create when pacing binds (the wildcard slots are scarce) and `plan`
    /// would spend a slot: two invocations of one burst often get here in the same moment, each
    /// about to spend a slot on its own `/*`. Each pauses a time drawn from its own reference
    /// ([`stagger`]), then starts again: the later one then finds the earlier one's invalidation
    /// covering its changes. `None` without the time to pause and look again: it creates now.
    fn pause_before(&self, s: &Submission<'_>, room: Room, plan: &Plan) -> Option<Duration> {
        let pause = stagger(&s.reference.value);
        let time_to_pause = self.deadline.is_none_or(|t| deadline::left(t) >= pause + 2 * REFIT_NEEDS);
        let binds = room.spend <= 1 && room.spend < room.wildcards && plan.stats.wildcards > 0;
        (time_to_pause && binds).then_some(pause)
    }

    /// Steps 4 and 5: creates `plan` under the submission's reference and reads CloudFront's
    /// answer. It returns the existing invalidation for a repeated reference with the same paths,
    /// `Completed` or still `InProgress` (a new one is always `InProgress`): [`Submitter::judged`]
    /// tells one made before this call, which answers only if the keys were not deployed again
    /// since. `refusals`: the creates refused before this one (for the log).
    async fn create(
        &self,
        s: &Submission<'_>,
        plan: &Plan,
        made: &Made<'_>,
        refusals: usize,
    ) -> Result<Answered, Error> {
        let d = s.distribution_id.as_str();
        tracing::debug!(distribution_id = d, paths = ?plan.paths, "request");
        let req =
            CreateRequest { target: &s.distribution_id, caller_reference: &s.reference.value, paths: &plan.paths };
        match self.cf.create_invalidation(req, self.deadline).await {
            Ok(inv) => {
                if !inv.status.is_completed() {
                    self.known.remember(d, &inv);
                }
                self.judged(s, inv, made).await
            }
            Err(e @ Error::InvalidationBatchAlreadyExists { .. }) => {
                Ok(match self.after_already_exists(s, e).await? {
                    Some(Latest::Answer(inv)) => Answered::Outcome(Outcome::Earlier(Some(inv))),
                    Some(Latest::Redeploy(reference)) => Answered::Redeploy(reference),
                    None => Answered::Outcome(Outcome::Earlier(None)),
                })
            }
            Err(Error::TooManyInvalidationsInProgress { message, .. }) => {
                tracing::info!(
                    distribution_id = d,
                    refusals = refusals + 1,
                    message,
                    "refused: room taken since it was read"
                );
                Ok(Answered::Refused)
            }
            Err(e @ Error::CloudFront(_)) => self.after_lost_answer(s, made, e).await,
            Err(e) => Err(e),
        }
    }

    /// The create's answer was lost (a time-out, a broken connection): CloudFront may have
    /// created it. Looks once among those in progress before the caller retries: found, it is
    /// judged as CloudFront's answer would be ([`Submitter::judged`]); else `e` stands.
    async fn after_lost_answer(&self, s: &Submission<'_>, made: &Made<'_>, e: Error) -> Result<Answered, Error> {
        let Ok(in_progress) = self.recent(&s.distribution_id, Scope::InProgress).await else {
            return Err(e);
        };
        match self.attempt_of(s, &in_progress) {
            Some(inv) => self.judged(s, inv.clone(), made).await,
            None => Err(e),
        }
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
    /// `Earlier` with the chain's link it ends at, or [`Answered::Redeploy`] with the redeploy's
    /// reference.
    async fn judged(&self, s: &Submission<'_>, inv: Invalidation, made: &Made<'_>) -> Result<Answered, Error> {
        if !made_before(&inv, made) {
            return Ok(Answered::Outcome(Outcome::Created(inv)));
        }
        // The read holds everything made after `inv` only when it is listed in a read that stops at
        // a time, not at the first completed page; else `latest` reads it.
        let whole = matches!(made.scope, Scope::Since(_) | Scope::All);
        let later = (whole && made.recent.iter().any(|i| i.id == inv.id)).then(|| made.recent.to_vec());
        let completed = inv.status.is_completed();
        let id = inv.id.clone();
        Ok(match self.latest(s, inv, later).await? {
            Latest::Answer(a) if a.id == id && !completed => Answered::Outcome(Outcome::Created(a)),
            Latest::Answer(a) => Answered::Outcome(Outcome::Earlier(Some(a))),
            Latest::Redeploy(reference) => Answered::Redeploy(reference),
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
        let mut pages = NewestFirst::new(self.cf, d);
        while let Some(page) = pages.next_page().await? {
            let mut running = 0;
            let mut past = scope == Scope::InProgress;
            let mut ended = false;
            let mut keep = Vec::new();
            for summary in page {
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
            if ended || (past && running == 0) {
                return Ok(out);
            }
        }
        Ok(out)
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
/// planner would send for its key, and its tags ([`coverage::change_covered`]). Never a change without a time. Returns those
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
            recent[i].create_time >= t && coverage::change_covered(settings, change, *viewer_key, &indexes[i])
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

    /// A submitter with no deadline, no clock of its own and the default pace: what these
    /// tests of one submission's rules run on.
    fn plain<'a, C: CloudFront>(cf: &'a C, known: &'a Known, cfg: &'a Config) -> Submitter<'a, C> {
        Submitter { cf, known, settings: &cfg.planner, deadline: None, now: None, pace: quota::Pace::DEFAULT }
    }
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
        let submitter = plain(&cf, &known, &cfg);
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
        let submitter = plain(&cf, &known, &cfg);
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
        let submitter = plain(&cf, &known, &cfg);
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
            let submitter = plain(&cf, &known, &cfg);
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
        let submitter = plain(&cf, &known, &cfg);
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
        let submitter = plain(cf, &known, cfg);
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

    /// The rules of the room, the fit, the covering and racing invocations, each on the
    /// submissions the Lambda plans from an SQS batch of S3 notifications (one a message), on the
    /// in-memory CloudFront and its own hooks.
    mod planned_from_batches {
        use super::*;
        use crate::cloudfront::memory::{time_of, Op, Slow};
        use crate::model::PathCounts;

        /// The messages of an SQS batch whose notifications carry no event time, ids `m<i>`.
        fn untimed(keys: &[(usize, &str)]) -> Vec<u8> {
            let records: Vec<serde_json::Value> = keys
                .iter()
                .map(|(i, k)| {
                    let body = json!({"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put",
                        "s3":{"bucket":{"name":"www"},"object":{"key":k,"sequencer":format!("{i:04}")}}}]});
                    message(*i, body)
                })
                .collect();
            json!({ "Records": records }).to_string().into_bytes()
        }

        /// An SQS batch of S3 notifications `(message, key, event second)`.
        fn timed(keys: &[(usize, &str, u64)]) -> Vec<u8> {
            let records: Vec<serde_json::Value> = keys
                .iter()
                .map(|(i, k, at)| {
                    let time = humantime::format_rfc3339_seconds(SystemTime::UNIX_EPOCH + Duration::from_secs(*at));
                    let body = json!({"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","eventTime": time.to_string(),
                        "s3":{"bucket":{"name":"www"},"object":{"key":k,"sequencer":format!("{i:04}{at:08}")}}}]});
                    message(*i, body)
                })
                .collect();
            json!({ "Records": records }).to_string().into_bytes()
        }

        fn message(i: usize, body: serde_json::Value) -> serde_json::Value {
            json!({"messageId": format!("m{i}"), "receiptHandle":"h","body": body.to_string(),
                   "attributes":{},"messageAttributes":{},"md5OfBody":"x","eventSource":"aws:sqs",
                   "eventSourceARN":"arn:aws:sqs:us-east-1:1:q","awsRegion":"us-east-1"})
        }

        /// One submission's result and the messages of it that come back: all of a held or failed
        /// one, else those a partial fit held back.
        type Result1 = (Result<Submitted, Error>, BTreeSet<usize>);

        /// The submit step of one invocation as the Lambda runs it in a cold container: `payload`
        /// received at `now` (else the wall clock), planned under the request id `token`, each
        /// distribution's submission submitted.
        async fn invoke<C: CloudFront>(
            cfg: &Config,
            cf: &C,
            payload: &[u8],
            token: &str,
            now: Option<SystemTime>,
        ) -> Vec<Result1> {
            let intake = intake::parse_at(payload, now.unwrap_or_else(SystemTime::now)).unwrap();
            let prepared = prepare_payload(&cfg.planner, &intake, Token::Fixed(token), false).unwrap();
            let known = Known::new();
            let submitter =
                Submitter { cf, known: &known, settings: &cfg.planner, deadline: None, now, pace: cfg.pace };
            let mut out = Vec::new();
            for s in &prepared.submissions {
                let got = submitter.submit(s).await;
                let back = match &got {
                    Ok(Submitted { outcome: Outcome::Held { .. }, .. }) | Err(_) => s.messages().clone(),
                    Ok(sub) => sub.held_back.clone(),
                };
                out.push((got, back));
            }
            out
        }

        /// The messages that come back (SQS redelivers them), of every submission: their places in
        /// the batch.
        fn back(results: &[Result1]) -> Vec<usize> {
            results.iter().flat_map(|(_, b)| b.iter().copied()).collect::<BTreeSet<_>>().into_iter().collect()
        }

        /// Whether every submission was held for room, never sent or refused by CloudFront:
        /// nothing submitted (the Lambda answers `TooManyInvalidationsInProgress` either way).
        fn nothing_submitted(results: &[Result1]) -> bool {
            results.iter().all(|(r, _)| matches!(r, Ok(Submitted { outcome: Outcome::Held { .. }, .. })))
        }

        /// Whether every submission went through whole: none held, refused or failed, and no
        /// message comes back.
        fn all_submitted(results: &[Result1]) -> bool {
            results
                .iter()
                .all(|(r, back)| back.is_empty() && matches!(r, Ok(s) if !matches!(s.outcome, Outcome::Held { .. })))
        }

        fn one(results: Vec<Result1>) -> Submitted {
            assert_eq!(results.len(), 1);
            results.into_iter().next().unwrap().0.unwrap()
        }

        fn dist() -> Config {
            Config::from_pairs(&[("DISTRIBUTION_ID", D)]).unwrap()
        }

        fn owned(paths: &[&str]) -> Vec<String> {
            paths.iter().map(|p| p.to_string()).collect()
        }

        /// Rule (CloudFront's in-progress quota): a first batch fills the exact-path quota;
        /// a second still gets its invalidation in the wildcard room; a third, with no room of either
        /// kind, waits (redelivered, never refused by CloudFront) and is merged with later changes
        /// into one invalidation once the first completes.
        #[tokio::test(start_paused = true)]
        async fn batches_fit_the_room_and_wait_for_it() {
            let cfg = dist();
            let cf = MemoryCloudFront::new(&[D]);
            cf.set_completion(|seq| if seq == 1 { 600 } else { 3600 });
            let keys = |from: usize, n: usize, dir: &str| -> Vec<(usize, String)> {
                (from..from + n).map(|i| (i, format!("{dir}{i}/index.html"))).collect()
            };
            let batch = |ks: &[(usize, String)]| untimed(&ks.iter().map(|(i, k)| (*i, k.as_str())).collect::<Vec<_>>());
            let first = keys(0, 1000, "a");
            assert!(back(&invoke(&cfg, &cf, &batch(&first), "1", None).await).is_empty());
            assert_eq!(cf.in_progress(D).exact, 3000, "1,000 index documents plan 3,000 exact paths");

            let second = keys(1000, 10, "b");
            assert!(back(&invoke(&cfg, &cf, &batch(&second), "2", None).await).is_empty(), "fits the wildcard room");
            let made = cf.invalidations();
            assert_eq!(made.len(), 2);
            assert!(made[1].paths.iter().all(|p| p.ends_with('*')), "{:?}", made[1].paths);
            // Use up the wildcard room.
            for i in 0..20 {
                if cf.in_progress(D).wildcards == 15 {
                    break;
                }
                let more = keys(2000 + 10 * i, 10, &format!("w{i}-"));
                invoke(&cfg, &cf, &batch(&more), &format!("w{i}"), None).await;
            }
            assert_eq!(cf.in_progress(D).wildcards, 15);
            let creates = cf.calls(Op::Create);

            let third = keys(5000, 5, "c");
            let held = invoke(&cfg, &cf, &batch(&third), "3", None).await;
            assert!(nothing_submitted(&held), "nothing submitted: the batch comes back");
            assert_eq!(back(&held), [0, 1, 2, 3, 4], "every message of the batch");
            assert_eq!(cf.calls(Op::Create), creates, "no request CloudFront could only refuse");
            assert_eq!(cf.quota_refusals(), 0);

            cf.advance(600);
            let fourth = keys(6000, 5, "d");
            let together: Vec<(usize, String)> = third.iter().chain(&fourth).cloned().collect();
            assert!(back(&invoke(&cfg, &cf, &batch(&together), "4", None).await).is_empty());
            let last = cf.invalidations().pop().unwrap();
            for k in third.iter().chain(&fourth) {
                let dir = format!("/{}/", k.1.trim_end_matches("/index.html"));
                assert!(last.paths.contains(&dir), "{dir} in one invalidation with the rest: {:?}", last.paths);
            }
        }

        /// Rule: when a batch does not fit the room whole, the messages that fit go
        /// now (the oldest first; here the batch's order, as the events carry no time) and only the
        /// others come back; nothing is sent that CloudFront would refuse.
        #[tokio::test(start_paused = true)]
        async fn a_batch_sends_the_part_that_fits_and_only_the_rest_waits() {
            let cf = MemoryCloudFront::new(&[D]);
            let exact: Vec<String> = (0..2990).map(|i| format!("/tool/{i}")).collect();
            let wild: Vec<String> = (0..15).map(|i| format!("/tool{i}/*")).collect();
            for (r, paths) in [("tool-exact", &exact), ("tool-wild", &wild)] {
                let target = TargetId::parse(D).unwrap();
                cf.create_invalidation(CreateRequest { target: &target, caller_reference: r, paths }, None)
                    .await
                    .unwrap();
            }
            let keys: Vec<(usize, String)> = (0..15).map(|i| (i, format!("img/{i}.png"))).collect();
            let refs: Vec<(usize, &str)> = keys.iter().map(|(i, k)| (*i, k.as_str())).collect();
            let got = invoke(&dist(), &cf, &untimed(&refs), "r", None).await;
            assert_eq!(back(&got), (10..15).collect::<Vec<_>>(), "only the messages that did not fit come back");
            let made = cf.invalidations().pop().unwrap();
            let want: Vec<String> = (0..10).map(|i| format!("/img/{i}.png")).collect();
            let mut got = made.paths.clone();
            got.sort_by_key(|p| p.trim_start_matches("/img/").trim_end_matches(".png").parse::<u32>().unwrap());
            assert_eq!(got, want);
            assert_eq!(cf.quota_refusals(), 0);
        }

        /// Rule: explicit paths that do not fit the room wait (the Lambda answers
        /// TooManyInvalidationsInProgress, which the workflow retries) instead of being sent to be
        /// refused.
        #[tokio::test(start_paused = true)]
        async fn explicit_paths_wait_for_room() {
            let (cfg, cf) = (dist(), MemoryCloudFront::new(&[D]));
            let paths = |p: Vec<String>| json!({"distribution_id": D, "paths": p}).to_string();
            let wild: Vec<String> = (0..15).map(|i| format!("/w{i}/*")).collect();
            let made = one(invoke(&cfg, &cf, paths(wild).as_bytes(), "r1", None).await);
            assert!(matches!(made.outcome, Outcome::Created(_)), "{:?}", made.outcome);
            let held = one(invoke(&cfg, &cf, paths(owned(&["/x/*"])).as_bytes(), "r2", None).await);
            assert!(matches!(held.outcome, Outcome::Held { refused: false, .. }), "{:?}", held.outcome);
            assert_eq!(cf.calls(Op::Create), 1);
            // Exact paths still fit: the two quotas are independent.
            let exact = one(invoke(&cfg, &cf, paths(owned(&["/x"])).as_bytes(), "r3", None).await);
            assert!(matches!(exact.outcome, Outcome::Created(_)), "{:?}", exact.outcome);
            assert_eq!(cf.calls(Op::Create), 2);
        }

        /// Rule: when what is in progress cannot be read (no `cloudfront:ListInvalidations`, a
        /// transient error), the submission is planned as if nothing were and CloudFront's answer
        /// decides.
        #[tokio::test(start_paused = true)]
        async fn an_unreadable_room_plans_as_if_empty() {
            let cf = MemoryCloudFront::new(&[D]);
            cf.script(Op::List, Error::AccessDenied { distribution_id: D.into(), message: "no list".into() });
            assert!(back(&invoke(&dist(), &cf, &untimed(&[(0, "a.html")]), "r", None).await).is_empty());
            assert_eq!(cf.invalidations().len(), 1);
        }

        /// Another tool's invalidation of `paths` on `on`, now.
        fn other_tool(cf: &MemoryCloudFront, on: &str, reference: &str, paths: &[String]) {
            let target = TargetId::parse(on).unwrap();
            let req = CreateRequest { target: &target, caller_reference: reference, paths };
            futures_util::FutureExt::now_or_never(cf.create_invalidation(req, None)).unwrap().unwrap();
        }

        /// Rule: with 40-minute completions, deploys every two minutes that need
        /// wildcards (the exact room is full) spend the 15 wildcard slots one at a time, about one
        /// every three minutes, instead of one or more per deploy; the messages held meanwhile come
        /// back (here: with the next deploy) and every change ends covered by an invalidation made
        /// after it.
        #[tokio::test(start_paused = true)]
        async fn slow_completions_spend_wildcard_slots_one_at_a_time() {
            let cf = MemoryCloudFront::new(&[D]);
            cf.set_completion(|seq| if seq == 1 { 6000 } else { 2400 });
            other_tool(&cf, D, "tool", &(0..3000).map(|i| format!("/tool/{i}")).collect::<Vec<_>>());
            let config = dist();
            let mut carried: Vec<(usize, String, u64)> = Vec::new();
            let mut changes = Vec::new();
            let batch = |msgs: &[(usize, String, u64)]| {
                timed(&msgs.iter().map(|(i, key, at)| (*i, key.as_str(), *at)).collect::<Vec<_>>())
            };
            for k in 0..10u64 {
                let t = 2400 + 120 * k;
                cf.set_now(t);
                let mut msgs = carried.clone();
                for j in 0..3 {
                    let i = (k * 3 + j) as usize;
                    msgs.push((i, format!("d{k}/p{j}/index.html"), t - 30));
                    changes.push((format!("/d{k}/p{j}/"), t - 30));
                }
                let got = invoke(&config, &cf, &batch(&msgs), &format!("r{k}"), Some(time_of(t))).await;
                let back = back(&got);
                carried = msgs.into_iter().enumerate().filter(|(at, _)| back.contains(at)).map(|(_, m)| m).collect();
            }
            let made = cf.invalidations();
            let wildcards: usize = made.iter().map(|i| PathCounts::of(&i.paths).wildcards).sum();
            // 15 slots over how long the oldest in progress has lasted (2,400 to 3,480 s here): one
            // every 160 to 232 s, so 1,200 s spend 4 to 8, not one or more per deploy.
            assert!((4..=8).contains(&wildcards), "paced over 1,200 s: {wildcards} wildcard paths");
            cf.set_now(4000);
            if !carried.is_empty() {
                let last = invoke(&config, &cf, &batch(&carried), "last", Some(time_of(4000))).await;
                assert!(all_submitted(&last), "the carried messages are submitted: {:?}", back(&last));
            }
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
        #[tokio::test(start_paused = true)]
        async fn a_waiting_workflow_request_is_covered_by_what_is_made_meanwhile() {
            // (requested_at, covered): the /* is made at 70 s, and a whole-second time stands for
            // the end of its second; CLOCK_MARGIN (2 s) pins 67 against 68.
            for (requested_at, covered) in [(10, true), (67, true), (68, false), (75, false)] {
                let cf = MemoryCloudFront::new(&[D]);
                cf.set_completion(|seq| if seq <= 2 { 60 } else { 900 });
                let exact: Vec<String> = (0..3000).map(|i| format!("/tool/{i}")).collect();
                let wild: Vec<String> = (0..15).map(|i| format!("/tool{i}/*")).collect();
                for (r, paths) in [("tool-exact", &exact), ("tool-wild", &wild)] {
                    other_tool(&cf, D, r, paths);
                }
                let at = humantime::format_rfc3339_seconds(time_of(requested_at)).to_string();
                let step =
                    json!({"keys": ["docs/a.html", "b.css"], "caller_reference": "sfn-deploy-9", "requested_at": at})
                        .to_string();
                cf.set_now(10);
                if requested_at == 10 {
                    assert!(nothing_submitted(&invoke(&dist(), &cf, step.as_bytes(), "r", None).await));
                }
                // The quota frees at 60 s; another tool's /* at 70 s; the workflow asks again at 80 s.
                cf.set_now(70);
                other_tool(&cf, D, "person", &owned(&["/*"]));
                cf.set_now(80);
                let got = one(invoke(&dist(), &cf, step.as_bytes(), "r", Some(time_of(80))).await);
                let ours = cf.invalidations().iter().filter(|i| i.caller_reference == "sfn-deploy-9").count();
                let (answer, first) = got.invalidations().next().expect("an invalidation to wait for");
                if covered {
                    assert_eq!(ours, 0, "{got:?}");
                    let waits_for = (answer, first.caller_reference.as_str(), first.paths.clone());
                    assert_eq!(waits_for, (Answer::Covering, "person", owned(&["/*"])));
                } else {
                    assert_eq!((answer, ours), (Answer::Created, 1), "keys written after the /*: {got:?}");
                }
            }
        }

        /// Rule ("a retry never creates a second invalidation"): a caller's keys request received
        /// again (a direct invoke Lambda retries: a new receipt, the keys' new time) finds its first
        /// attempt, still in progress, below a page of invalidations completed since — and answers
        /// with it, though the room has filled meanwhile — rather than waiting for room to make it
        /// again.
        #[tokio::test(start_paused = true)]
        async fn a_request_received_again_finds_its_attempt_below_completed_ones() {
            let cf = MemoryCloudFront::new(&[D]);
            cf.set_completion(|seq| if seq == 1 { 3600 } else { 10 });
            let config = dist();
            let step = json!({"keys": ["docs/a.html"], "caller_reference": "deploy-5"}).to_string();
            cf.set_now(10);
            invoke(&config, &cf, step.as_bytes(), "r10", Some(time_of(10))).await[0].0.as_ref().unwrap();
            let first = cf.invalidations()[0].id.clone();
            // 120 quick ones since (more than a page), then another tool fills the exact room.
            for i in 0..120u64 {
                cf.set_now(20 + i);
                other_tool(&cf, D, &format!("quick-{i}"), &[format!("/q/{i}")]);
            }
            cf.set_now(200);
            let room = cf.in_progress(D);
            other_tool(&cf, D, "tool", &(0..3000 - room.exact).map(|i| format!("/tool/{i}")).collect::<Vec<_>>());
            other_tool(&cf, D, "tool-w", &(0..15).map(|i| format!("/tool{i}/*")).collect::<Vec<_>>());
            let got = one(invoke(&config, &cf, step.as_bytes(), "r300", Some(time_of(300))).await);
            let answers: Vec<(Answer, &str)> = got.invalidations().map(|(a, i)| (a, i.id.as_str())).collect();
            assert_eq!(answers, [(Answer::Earlier, first.as_str())], "not held for room: {:?}", got.outcome);
            assert_eq!(cf.invalidations().iter().filter(|i| i.caller_reference == "deploy-5").count(), 1);
        }

        /// Rule ("a retry never creates a second invalidation"): a batch is
        /// split into the part that fits only when what was made since its changes could be read.
        /// Unread, an earlier invalidation of the whole batch is found only by CloudFront's answer to
        /// the whole's reference, so the batch waits whole rather than go out under a part's new one.
        /// The room is read first, then what was made since the changes: ListInvalidations fails
        /// from its second call on.
        #[tokio::test(start_paused = true)]
        async fn no_part_of_a_batch_goes_when_what_was_made_cannot_be_read() {
            for (recent_readable, created, back_count) in [(true, 1, 5), (false, 0, 15)] {
                let cf = MemoryCloudFront::new(&[D]);
                other_tool(&cf, D, "tool-exact", &(0..2990).map(|i| format!("/tool/{i}")).collect::<Vec<_>>());
                other_tool(&cf, D, "tool-wild", &(0..15).map(|i| format!("/tool{i}/*")).collect::<Vec<_>>());
                cf.set_now(100);
                let before = cf.invalidation_count();
                let keys: Vec<String> = (0..15).map(|i| format!("img/{i}.png")).collect();
                let refs: Vec<(usize, &str, u64)> = keys.iter().enumerate().map(|(i, k)| (i, k.as_str(), 90)).collect();
                if !recent_readable {
                    cf.fail_from(Op::List, 2, Error::CloudFront("connection reset".into()));
                }
                let got = invoke(&dist(), &cf, &timed(&refs), "r", None).await;
                let result = (cf.invalidation_count() - before, back(&got).len());
                assert_eq!(result, (created, back_count), "readable: {recent_readable}");
            }
        }

        /// Rule: two invocations racing for the last wildcard slot pacing
        /// allows spend it once. Each pauses a time drawn from its own reference before spending a
        /// scarce slot, then reads the room again: the later one finds the slot spent and waits
        /// (its messages come back) instead of both creating.
        #[tokio::test(start_paused = true)]
        async fn two_invocations_racing_for_a_scarce_wildcard_slot_spend_it_once() {
            let cf = MemoryCloudFront::new(&[D]);
            cf.set_completion(|_| 6000);
            other_tool(&cf, D, "tool", &(0..3000).map(|i| format!("/tool/{i}")).collect::<Vec<_>>());
            cf.set_now(2400);
            let config = dist();
            let keys = |d: &str| -> Vec<String> { (0..3).map(|j| format!("{d}/p{j}/index.html")).collect() };
            let (a, b) = (keys("a"), keys("b"));
            let batch_of = |ks: &[String], from: usize| {
                let refs: Vec<(usize, &str, u64)> =
                    ks.iter().enumerate().map(|(j, k)| (from + j, k.as_str(), 2390)).collect();
                timed(&refs)
            };
            let (pa, pb) = (batch_of(&a, 0), batch_of(&b, 10));
            // Every call takes 100 ms (tokio's paused clock), so that the two interleave as they do
            // in Lambda: both read the room before either creates.
            let slow = Slow(&cf);
            let now = Some(time_of(2400));
            let (ra, rb) = tokio::join!(invoke(&config, &slow, &pa, "a", now), invoke(&config, &slow, &pb, "b", now));
            let made: Vec<_> = cf.invalidations().into_iter().skip(1).collect();
            let wildcards: usize = made.iter().map(|i| PathCounts::of(&i.paths).wildcards).sum();
            assert_eq!(wildcards, 1, "one slot spent: {made:?}");
            let held = [ra, rb].iter().filter(|r| nothing_submitted(r)).count();
            assert_eq!(held, 1, "the later one waits, its messages back");
        }

        /// Rule (covered already): a change is covered by any invalidation created after it whose
        /// items cover every request form of its key — another tool's `/*` included — and is then
        /// acknowledged with nothing created; a change made after that invalidation is not covered.
        #[tokio::test(start_paused = true)]
        async fn a_later_slash_star_covers_a_change_and_an_earlier_one_does_not() {
            let cf = MemoryCloudFront::new(&[D]);
            cf.set_now(100);
            other_tool(&cf, D, "person", &owned(&["/*"]));
            let cases: &[(&str, u64, usize)] = &[
                // (key, change second, invalidations created)
                ("a/index.html", 50, 0),  // before the person's /* (created at 100): covered
                ("b/index.html", 99, 1),  // within the clocks' margin of it: not trusted to be covered
                ("c/index.html", 150, 1), // after it: not covered
            ];
            for (key, at, made) in cases {
                let before = cf.invalidation_count();
                let got = invoke(&dist(), &cf, &timed(&[(0, key, *at)]), "r", None).await;
                assert!(back(&got).is_empty(), "{key}");
                assert_eq!(cf.invalidation_count() - before, *made, "{key} changed at {at}");
            }
        }

        /// Rule (covered already, narrowed): only the changes nothing covers yet are planned; an
        /// invalidation whose items miss one request form of a key does not cover it.
        #[tokio::test(start_paused = true)]
        async fn only_what_nothing_covers_is_planned() {
            let cf = MemoryCloudFront::new(&[D]);
            cf.set_now(100);
            // Covers `/docs/` and its index, but not `/docs` (the slashless form).
            other_tool(&cf, D, "tool", &owned(&["/docs/*", "/blog/*"]));
            let batch = timed(&[(0, "docs/index.html", 50), (1, "blog/a.html", 50), (2, "x.css", 50)]);
            assert!(back(&invoke(&dist(), &cf, &batch, "r", None).await).is_empty());
            let made = cf.invalidations().pop().unwrap();
            assert_eq!(made.paths, ["/docs", "/docs/", "/docs/index.html", "/x.css"], "blog/a.html is covered already");
        }

        /// Rule (no invalidation twice): a batch routed to D and E, E full: D's invalidation is made;
        /// when the messages come back with new changes, D's old changes are covered by it already and
        /// D is invalidated only for the new ones.
        #[tokio::test(start_paused = true)]
        async fn a_full_distribution_never_makes_another_invalidate_twice() {
            let cf = MemoryCloudFront::new(&[D, "EOTHER"]);
            cf.set_completion(|_| 3600);
            other_tool(&cf, "EOTHER", "busy", &(0..3000).map(|i| format!("/busy/{i}")).collect::<Vec<_>>());
            other_tool(&cf, "EOTHER", "busy-w", &(0..15).map(|i| format!("/w{i}/*")).collect::<Vec<_>>());
            let routes = format!(r#"[{{"prefix":"","distributions":["{D}","EOTHER"]}}]"#);
            let routes = Config::from_pairs(&[("ROUTES", &routes)]).unwrap();
            cf.set_now(10);
            let first = invoke(&routes, &cf, &timed(&[(0, "a.html", 5), (1, "b.html", 5)]), "r", None).await;
            assert_eq!(back(&first), [0, 1], "EOTHER is full: the messages come back");
            let on_d = || cf.invalidations().into_iter().filter(|i| i.distribution_id == D).collect::<Vec<_>>();
            assert_eq!(on_d().len(), 1);
            cf.set_now(300);
            let batch = timed(&[(0, "a.html", 5), (1, "b.html", 5), (2, "c.html", 250)]);
            let again = invoke(&routes, &cf, &batch, "r", None).await;
            assert_eq!(back(&again).len(), 3, "EOTHER is still full");
            let d = on_d();
            assert_eq!(d.len(), 2);
            assert_eq!(d[1].paths, ["/c.html"], "D is invalidated again only for the new change");
        }

        /// Rule (room under concurrency): a create refused because a concurrent invocation took the
        /// room since it was read costs no change a visibility timeout: the submission looks at the
        /// room again and fits what is left (here 20 exact paths and wildcards) within its deadline.
        /// The rival's create lands between this one's read and its first create.
        #[tokio::test(start_paused = true)]
        async fn a_refused_create_refits_into_what_is_left() {
            let cf = MemoryCloudFront::new(&[D]);
            cf.race_next_create("rival", (0..2980).map(|i| format!("/rival/{i}")).collect());
            let keys: Vec<String> = (0..40).map(|i| format!("d{}/p{i}.html", i % 4)).collect();
            let entries: Vec<(usize, &str, u64)> = keys.iter().enumerate().map(|(i, k)| (i, k.as_str(), 0)).collect();
            let got = invoke(&dist(), &cf, &timed(&entries), "r", None).await;
            assert!(back(&got).is_empty(), "fitted again after the refusal");
            assert_eq!(cf.quota_refusals(), 1);
            assert_eq!(cf.calls(Op::Create), 3, "the rival's, the refused one, the one that fit");
            let made = cf.invalidations().pop().unwrap();
            let counts = PathCounts::of(&made.paths);
            assert!(counts.exact <= 20 && counts.wildcards > 0, "{:?}", made.paths);
        }
    }
}
