//! One pipeline from what was asked — changes (events, explicit keys, `cfinv invalidate`'s keys) or
//! paths given as they are — to the submissions an invocation or a run will make: one per
//! distribution, each holding its plan, its CallerReference and, on request, why each path is
//! there. `cfinv plan` stops here; the Lambda and `cfinv invalidate` hand each submission to the
//! submit step (`submit.rs`), which fits it into the room CloudFront has left with
//! [`Submission::fit`], the same rule `cfinv plan --room` shows.

use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;

use crate::error::Error;
use crate::intake::explicit::MAX_TIMEOUT;
use crate::intake::{Explicit, ExplicitRequest, Intake};
use crate::model::{Change, TargetId, API_MAX_PATHS};
use crate::planner::explain::{self, PathWhy};
use crate::planner::{self, coverage, Budget, ItemIndex, Plan, Routing, Settings};
use crate::quota::Room;
use crate::reference::{self, Origin, Reference, Token};

/// What was asked.
#[derive(Debug, Clone, Copy)]
pub enum Asked<'i> {
    /// Changed keys, routed as `routing` says.
    Changes { changes: &'i [Change], routing: Routing<'i> },
    /// Paths given as they are (an explicit `paths` request): validated by intake, sent unchanged.
    Paths { distribution_id: &'i TargetId, paths: &'i [String] },
}

impl<'i> Asked<'i> {
    /// What a payload asks.
    pub fn of(intake: &'i Intake) -> Self {
        match &intake.explicit {
            Some(ExplicitRequest { what: Explicit::Paths { distribution_id, paths }, .. }) => {
                Asked::Paths { distribution_id, paths }
            }
            Some(req) => Asked::Changes {
                changes: &intake.changes,
                routing: Routing::Keys { distribution_id: req.distribution_id() },
            },
            None => Asked::Changes { changes: &intake.changes, routing: Routing::Events },
        }
    }
}

/// Every submission of one invocation or run, in distribution order, and the keys skipped.
#[derive(Debug, Clone)]
pub struct Prepared<'i> {
    pub submissions: Vec<Submission<'i>>,
    /// Keys skipped, by reason (no route, filtered, outside the origin path).
    pub skipped: BTreeMap<&'static str, usize>,
}

/// One distribution's invalidation to be.
#[derive(Debug, Clone)]
pub struct Submission<'i> {
    pub distribution_id: TargetId,
    what: What<'i>,
    /// The plan when nothing is in progress (`cfinv plan`'s default room, [`Room::FULL`]).
    pub plan: Plan,
    pub reference: Reference,
    /// With `explain`: why each path of [`Submission::plan`] is there.
    pub explained: Option<Vec<PathWhy>>,
    /// What its reference was derived with, to derive the reference of what is left of it.
    token: Token<'i>,
}

#[derive(Debug, Clone)]
enum What<'i> {
    Changes(planner::Request<'i>),
    Paths,
}

impl Submission<'_> {
    /// The plan that fits `room`, or `None` when nothing does. Changes take all the exact room and
    /// their share of the wildcard room ([`Room::share`]); given paths are sent as they are, so
    /// they fit only whole.
    pub fn fit(&self, room: Room, settings: &Settings) -> Option<Plan> {
        match &self.what {
            What::Changes(request) => {
                let share = room.share();
                let budget = Budget::configured(settings).within_room(share.exact, share.wildcards);
                // The monthly path budget reached: the thriftiest plan that fits, else the usual.
                room.thrifty.then(|| request.fit(budget.thrifty())).flatten().or_else(|| request.fit(budget))
            }
            What::Paths => {
                let budget = Budget { max_paths: API_MAX_PATHS, max_exact: room.exact, max_wildcards: room.wildcards };
                budget.holds(&self.plan.paths).then(|| self.plan.clone())
            }
        }
    }

    /// Every change this submission carries (none for given paths).
    pub fn changes(&self) -> impl Iterator<Item = &Change> {
        let request = match &self.what {
            What::Changes(r) => Some(r),
            What::Paths => None,
        };
        request.into_iter().flat_map(|r| r.changes())
    }

    /// The SQS messages whose changes this submission carries (to report if it is not submitted).
    pub fn messages(&self) -> &BTreeSet<usize> {
        &self.plan.messages
    }

    /// The earliest time among its changes, when every change has one.
    pub fn earliest_change(&self) -> Option<SystemTime> {
        let mut earliest: Option<SystemTime> = None;
        for c in self.changes() {
            let t = c.time?;
            earliest = Some(earliest.map_or(t, |e| e.min(t)));
        }
        earliest
    }

    /// The changes it carries, each with its viewer key (`None` for given paths' submission, which
    /// has no changes, and for a change that only adds cache tags).
    pub fn each_change(&self) -> Vec<(&Change, Option<&str>)> {
        match &self.what {
            What::Changes(r) => r.each_change().collect(),
            What::Paths => Vec::new(),
        }
    }

    /// The same submission without the changes `covered` accepts (invalidated already): its plan
    /// and reference are those of what is left. `None` when nothing is left.
    pub fn without(&self, settings: &Settings, covered: impl Fn(&Change) -> bool) -> Option<Result<Self, Error>> {
        let What::Changes(request) = &self.what else { return Some(Ok(self.clone())) };
        let left = request.retain(settings, |c| !covered(c));
        left.changes().next()?;
        let reference = match self.reference.origin {
            // The caller's own reference stays: it names the request, whatever is left of it.
            Origin::Caller => self.reference.clone(),
            _ => reference::decide_with(None, &self.distribution_id, left.changes(), &[], self.token),
        };
        let submission = Submission {
            distribution_id: self.distribution_id.clone(),
            plan: self.plan.clone(),
            what: What::Changes(left),
            reference,
            explained: None,
            token: self.token,
        };
        Some(submission.with_whole_plan(settings, false))
    }

    /// Whether its reference may come back with a later deploy of the same keys: a caller's own
    /// reference, given paths, or keys that carry no S3 version (their token is a deploy's id or
    /// a request id). A reference derived from S3 versions names those writes and no later one.
    pub fn reusable_reference(&self) -> bool {
        self.reference.origin != Origin::Changes || self.changes().any(|c| c.version.is_none())
    }

    /// Whether `index` (an invalidation's items) touches any request form or cache tag of any of
    /// its changes ([`coverage::change_touched`]); for given paths, any of them.
    pub fn any_touched(&self, settings: &Settings, index: &ItemIndex) -> bool {
        match &self.what {
            What::Changes(r) => r.each_change().any(|(c, k)| coverage::change_touched(settings, c, k, index)),
            What::Paths => coverage::given_paths_touched(&self.plan.paths, index),
        }
    }

    /// Whether it asks for changed keys (not paths given as they are).
    pub fn is_keys(&self) -> bool {
        matches!(self.what, What::Changes(_))
    }

    /// The same submission under another reference (a redeploy's, `reference::redeployed`).
    pub fn with_reference(&self, value: String) -> Self {
        let reference = Reference { value, origin: self.reference.origin, family: None };
        Submission { reference, ..self.clone() }
    }

    /// Whether `paths` (an invalidation's, perhaps planned into other room) cover every request
    /// form and tag this submission needs ([`coverage`]).
    pub fn covered_by(&self, paths: &[String]) -> bool {
        match &self.what {
            What::Changes(request) => request.covered_by(paths),
            What::Paths => coverage::given_paths_covered(&self.plan.paths, paths),
        }
    }
}

/// Plans what was asked. `given` is the caller's CallerReference; `token` stands in for the
/// version of changes that carry none.
pub fn prepare<'i>(
    settings: &Settings,
    asked: Asked<'i>,
    given: Option<&str>,
    token: Token<'i>,
    explain: bool,
) -> Result<Prepared<'i>, Error> {
    match asked {
        Asked::Paths { distribution_id, paths } => {
            let plan = Plan::of_paths(distribution_id, paths);
            let reference = reference::decide_with(given, distribution_id, std::iter::empty(), paths, token);
            let explained = explain.then(|| explain::given(&plan));
            let what = What::Paths;
            let submission =
                Submission { distribution_id: distribution_id.clone(), what, plan, reference, explained, token };
            Ok(Prepared { submissions: vec![submission], skipped: BTreeMap::new() })
        }
        Asked::Changes { changes, routing } => {
            let gathered = planner::gather(changes, settings, routing)?;
            let mut submissions = Vec::with_capacity(gathered.requests.len());
            for request in gathered.requests {
                let reference = reference::decide_with(given, &request.distribution_id, request.changes(), &[], token);
                let submission = Submission {
                    distribution_id: request.distribution_id.clone(),
                    // Replaced by the whole room's plan just below.
                    plan: Plan::of_paths(&request.distribution_id, &[]),
                    what: What::Changes(request),
                    reference,
                    explained: None,
                    token,
                };
                submissions.push(submission.with_whole_plan(settings, explain)?);
            }
            Ok(Prepared { submissions, skipped: gathered.skipped })
        }
    }
}

impl Submission<'_> {
    /// Sets the plan for the whole room (and its explanation), or says that the configured caps
    /// leave none.
    fn with_whole_plan(mut self, settings: &Settings, explain: bool) -> Result<Self, Error> {
        let plan = self.fit(Room::FULL, settings).ok_or_else(|| planner::no_plan_fits(&self.distribution_id))?;
        if let (true, What::Changes(request)) = (explain, &self.what) {
            self.explained = Some(explain::explain(request, &plan, settings));
        }
        self.plan = plan;
        Ok(self)
    }
}

/// [`prepare`] for a payload: what it asks, with its own CallerReference when it gives one.
pub fn prepare_payload<'i>(
    settings: &Settings,
    intake: &'i Intake,
    token: Token<'i>,
    explain: bool,
) -> Result<Prepared<'i>, Error> {
    let given = intake.explicit.as_ref().and_then(|r| r.caller_reference.as_deref());
    prepare(settings, Asked::of(intake), given, token, explain)
}

/// How long the wait loop may wait: the explicit request's `timeout`; for events (their tracker,
/// with TrackCompletions) the longest allowed, an hour, because no caller chose one and
/// invalidations have been seen to take 40 minutes.
pub fn wait_timeout(intake: &Intake) -> u32 {
    intake.explicit.as_ref().map_or(MAX_TIMEOUT, |r| r.timeout)
}

/// A payload and its plans for the whole room: what `cfinv plan` shows, and what fuzzing, the
/// hostile-input tests and the benchmarks drive.
#[derive(Debug, Clone)]
pub struct PayloadPlan {
    pub intake: Intake,
    /// One plan per distribution, in distribution order.
    pub plans: Vec<Plan>,
    pub skipped: BTreeMap<&'static str, usize>,
}

/// Reads a payload and plans it as if nothing were in progress.
pub fn plan_payload(settings: &Settings, payload: &[u8]) -> Result<PayloadPlan, Error> {
    let intake = crate::intake::parse(payload)?;
    let prepared = prepare_payload(settings, &intake, Token::Fixed("plan"), false)?;
    let plans = prepared.submissions.into_iter().map(|s| s.plan).collect();
    Ok(PayloadPlan { plans, skipped: prepared.skipped, intake })
}
