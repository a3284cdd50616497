//! An in-memory CloudFront that keeps AWS's rules, for the behaviour tests and the storm
//! benchmark:
//!
//! - a new invalidation is `InProgress` and becomes `Completed` once the clock passes its
//!   completion time (the creator's choice: [`MemoryCloudFront::set_completion`]);
//! - CallerReference: the same reference with the same paths returns the existing invalidation;
//!   with other paths, `InvalidationBatchAlreadyExists`;
//! - paths are validated as CloudFront does (`InvalidArgument`), at most 3,000 a request
//!   (`BatchTooLarge`);
//! - the in-progress quota per distribution: 3,000 exact paths and, independently, 15 wildcard
//!   paths; a create that would exceed either gets `TooManyInvalidationsInProgress`;
//! - unknown distributions get `NoSuchDistribution`; errors can be scripted for the next calls
//!   ([`MemoryCloudFront::script`]) or for every call from the n-th on
//!   ([`MemoryCloudFront::fail_from`]), and another caller's create made to land just before the
//!   next one ([`MemoryCloudFront::race_next_create`]);
//! - distribution tenants ([`MemoryCloudFront::add_tenant`]) have the tenant operations with the
//!   same rules, `EntityNotFound` for a tenant it does not know, and list only their own
//!   invalidations. Whether a tenant's invalidations count against a quota of their own or against
//!   the parent distribution's is *unsettled* (`docs/aws-facts.md`, "Distribution tenants"): per
//!   tenant by default, against the parent with [`MemoryCloudFront::tenant_quota_on_parent`], so
//!   tests cover both readings;
//! - ListInvalidations pages newest first, 100 a page; every call is counted.
//!
//! The clock is a counter the owner advances ([`MemoryCloudFront::advance`] in seconds,
//! [`MemoryCloudFront::set_now_ms`] to the millisecond), so two hours of traffic take no time at
//! all; `CreateTime` is that long after the Unix epoch, to the millisecond as CloudFront writes it
//! (`2019-12-05T18:24:51.407Z`), and an invalidation stops counting against the quota at the
//! millisecond it completes.

use crate::deadline::Instant;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use super::{
    CloudFront, CreateRequest, Invalidation, InvalidationPage, InvalidationSummary, PathCounts, Status, TargetId,
};
use crate::error::Error;
use crate::model::{item_problem, API_MAX_PATHS, API_MAX_PATHS_IN_PROGRESS, API_MAX_WILDCARDS_IN_PROGRESS};

/// What CloudFront has done, as the caller's tests and the storm benchmark need to see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// The distribution's or the tenant's id (a tenant's invalidations are its own).
    pub distribution_id: String,
    pub id: String,
    pub caller_reference: String,
    pub paths: Vec<String>,
    /// Milliseconds on the clock.
    pub created_ms: u64,
    pub completes_ms: u64,
}

/// Which operation a scripted error answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Create,
    Get,
    List,
}

#[derive(Default)]
struct State {
    now_ms: u64,
    /// Seconds an invalidation created at `now` stays in progress: a function of its creation
    /// sequence number, so a seeded benchmark can draw them.
    completion: Option<Box<dyn FnMut(u64) -> u64 + Send>>,
    distributions: Vec<String>,
    /// Tenant id → its parent distribution.
    tenants: HashMap<String, String>,
    /// Tenants' invalidations count against their parent's quota (with the parent's own and every
    /// sibling's), instead of one quota per tenant.
    tenant_quota_on_parent: bool,
    /// A parent distribution's list (and GetInvalidation) also holds its tenants' invalidations.
    parent_lists_tenants: bool,
    /// Oldest first.
    invalidations: Vec<Stored>,
    scripted: VecDeque<(Op, Error)>,
    /// Every call of an operation from the n-th on fails with the error.
    failing_from: HashMap<Op, (usize, Error)>,
    /// Other callers' creates (reference, paths) that land just before the next creates.
    rivals: VecDeque<(String, Vec<String>)>,
    calls: HashMap<Op, usize>,
    quota_refusals: usize,
    next_id: u64,
}

/// See the module documentation.
#[derive(Default)]
pub struct MemoryCloudFront {
    state: Mutex<State>,
}

/// Seconds an invalidation stays in progress unless told otherwise: AWS's "typically 5–15 minutes".
pub const DEFAULT_COMPLETION_SECONDS: u64 = 600;

impl MemoryCloudFront {
    /// A CloudFront that knows these distributions.
    pub fn new<S: AsRef<str>>(distributions: &[S]) -> Self {
        let cf = MemoryCloudFront::default();
        cf.lock().distributions = distributions.iter().map(|d| d.as_ref().to_string()).collect();
        cf
    }

    /// Adds a distribution tenant of `parent` (a distribution this CloudFront knows).
    pub fn add_tenant(&self, tenant: &str, parent: &str) {
        let mut s = self.lock();
        assert!(s.distributions.iter().any(|d| d == parent), "the parent {parent} of tenant {tenant} is unknown");
        s.tenants.insert(tenant.to_string(), parent.to_string());
    }

    /// The unsettled quota reading: `true` counts a tenant's invalidations against its parent
    /// distribution's 3,000 + 15 (one pool for the parent and all its tenants); `false` (the
    /// default) gives each tenant its own.
    pub fn tenant_quota_on_parent(&self, on_parent: bool) {
        self.lock().tenant_quota_on_parent = on_parent;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The unsettled listing reading: `true` makes a parent distribution's ListInvalidations (and
    /// GetInvalidation) also hold its tenants' invalidations; `false` (the default) keeps each
    /// list to its own.
    pub fn parent_lists_tenants(&self, lists: bool) {
        self.lock().parent_lists_tenants = lists;
    }

    /// How long each new invalidation stays in progress: `f(sequence number)` seconds.
    pub fn set_completion(&self, f: impl FnMut(u64) -> u64 + Send + 'static) {
        self.lock().completion = Some(Box::new(f));
    }

    /// The clock, in whole seconds.
    pub fn now(&self) -> u64 {
        self.lock().now_ms / 1000
    }

    pub fn advance(&self, seconds: u64) {
        self.lock().now_ms += seconds * 1000;
    }

    /// Moves the clock to `now` seconds (never back).
    pub fn set_now(&self, now: u64) {
        self.set_now_ms(now * 1000);
    }

    /// Moves the clock to `now_ms` milliseconds (never back).
    pub fn set_now_ms(&self, now_ms: u64) {
        let mut s = self.lock();
        s.now_ms = s.now_ms.max(now_ms);
    }

    /// The next call of `op` fails with `err` (in the order scripted).
    pub fn script(&self, op: Op, err: Error) {
        self.lock().scripted.push_back((op, err));
    }

    /// Every call of `op` from the `nth` on (counted as [`Self::calls`] counts, from 1) fails with
    /// `err`: a permission or a connection lost partway through an invocation.
    pub fn fail_from(&self, op: Op, nth: usize, err: Error) {
        self.lock().failing_from.insert(op, (nth, err));
    }

    /// Another caller's create of `paths` under `reference` lands just before the next create, on
    /// the same target: the room that create was planned into is taken between its read and its
    /// create, as by a concurrent invocation. The rival's create is a call like any other.
    pub fn race_next_create(&self, reference: &str, paths: Vec<String>) {
        self.lock().rivals.push_back((reference.to_string(), paths));
    }

    /// Every invalidation created so far, oldest first.
    pub fn invalidations(&self) -> Vec<Stored> {
        self.lock().invalidations.clone()
    }

    /// How many invalidations were created so far.
    pub fn invalidation_count(&self) -> usize {
        self.lock().invalidations.len()
    }

    /// The invalidations created after the first `start`, oldest first: what one invocation
    /// created, without copying every earlier one's paths again (the storm benchmark asks after
    /// each of hundreds of invocations).
    pub fn invalidations_from(&self, start: usize) -> Vec<Stored> {
        let s = self.lock();
        s.invalidations.get(start..).map(<[Stored]>::to_vec).unwrap_or_default()
    }

    /// How many times `op` was called.
    pub fn calls(&self, op: Op) -> usize {
        self.lock().calls.get(&op).copied().unwrap_or(0)
    }

    /// Creates refused with `TooManyInvalidationsInProgress`.
    pub fn quota_refusals(&self) -> usize {
        self.lock().quota_refusals
    }

    /// What is in progress now against the quota a create on `id` (a distribution or a tenant)
    /// is checked against: its own, or with [`Self::tenant_quota_on_parent`] the parent's pool.
    pub fn in_progress(&self, id: &str) -> PathCounts {
        let s = self.lock();
        in_progress(&s, id)
    }
}

fn status(s: &State, inv: &Stored) -> Status {
    if s.now_ms >= inv.completes_ms {
        Status::Completed
    } else {
        Status::InProgress
    }
}

/// The in-memory CloudFront with every call taking 100 ms on tokio's clock (paused in tests), as
/// the storm benchmark charges each call: concurrent invocations then interleave as they do
/// against CloudFront, each reading the room before the other creates.
#[cfg(test)]
pub(crate) struct Slow<'a>(pub &'a MemoryCloudFront);

#[cfg(test)]
impl CloudFront for Slow<'_> {
    async fn create_invalidation(&self, req: CreateRequest<'_>, by: Option<Instant>) -> Result<Invalidation, Error> {
        tokio::time::sleep(Duration::from_millis(100)).await;
        self.0.create_invalidation(req, by).await
    }
    async fn get_invalidation(&self, target: &TargetId, id: &str) -> Result<Invalidation, Error> {
        tokio::time::sleep(Duration::from_millis(100)).await;
        self.0.get_invalidation(target, id).await
    }
    async fn list_invalidations(&self, target: &TargetId, marker: Option<&str>) -> Result<InvalidationPage, Error> {
        tokio::time::sleep(Duration::from_millis(100)).await;
        self.0.list_invalidations(target, marker).await
    }
}

/// The clock's seconds as CloudFront's `CreateTime`.
pub fn time_of(seconds: u64) -> SystemTime {
    time_of_ms(seconds * 1000)
}

/// The clock's milliseconds as CloudFront's `CreateTime`.
pub fn time_of_ms(ms: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(ms)
}

/// What is in progress against the quota of `id`: the one rule of which invalidations share a quota.
fn in_progress(s: &State, id: &str) -> PathCounts {
    let pool = |other: &str| {
        if !s.tenant_quota_on_parent {
            return other == id;
        }
        let parent = |x: &str| s.tenants.get(x).cloned().unwrap_or_else(|| x.to_string());
        parent(other) == parent(id)
    };
    let mut total = PathCounts::default();
    for inv in s.invalidations.iter().filter(|i| pool(&i.distribution_id) && s.now_ms < i.completes_ms) {
        let c = PathCounts::of(&inv.paths);
        total.exact += c.exact;
        total.wildcards += c.wildcards;
    }
    total
}

impl State {
    fn call(&mut self, op: Op, target: &TargetId) -> Result<(), Error> {
        *self.calls.entry(op).or_default() += 1;
        if let Some(i) = self.scripted.iter().position(|(o, _)| *o == op) {
            return Err(self.scripted.remove(i).expect("found").1);
        }
        if let Some((nth, err)) = self.failing_from.get(&op) {
            if self.calls[&op] >= *nth {
                return Err(err.clone());
            }
        }
        match target {
            TargetId::Distribution(d) if !self.distributions.iter().any(|known| known == d.as_str()) => {
                Err(Error::NoSuchDistribution {
                    distribution_id: d.to_string(),
                    message: "The specified distribution does not exist.".into(),
                })
            }
            // The tenant operations answer `EntityNotFound`.
            TargetId::Tenant(t) if !self.tenants.contains_key(t.as_str()) => Err(Error::NoSuchDistributionTenant {
                distribution_tenant_id: t.to_string(),
                message: "EntityNotFound: The specified distribution tenant does not exist.".into(),
            }),
            _ => Ok(()),
        }
    }

    /// Whether `target`'s list holds `inv`: its own, and with [`MemoryCloudFront::parent_lists_tenants`]
    /// a parent's also its tenants'.
    fn lists(&self, target: &TargetId, inv: &Stored) -> bool {
        inv.distribution_id == target.as_str()
            || (self.parent_lists_tenants
                && matches!(target, TargetId::Distribution(_))
                && self.tenants.get(&inv.distribution_id).is_some_and(|p| p == target.as_str()))
    }

    /// CreateInvalidation by CloudFront's rules (see the module documentation).
    fn create(&mut self, req: CreateRequest<'_>) -> Result<Invalidation, Error> {
        let s = self;
        s.call(Op::Create, req.target)?;
        let target = req.target.as_str();
        if req.paths.is_empty() || req.paths.len() > API_MAX_PATHS {
            return Err(Error::InvalidInput(format!(
                "CloudFront refused the request: BatchTooLarge ({} paths; 1 to {API_MAX_PATHS})",
                req.paths.len()
            )));
        }
        if let Some(p) = req.paths.iter().find(|p| item_problem(p).is_some()) {
            return Err(Error::InvalidInput(format!(
                "CloudFront refused the request: InvalidArgument Your request contains one or more invalid invalidation paths: {p}"
            )));
        }
        let same_ref =
            s.invalidations.iter().find(|i| i.distribution_id == target && i.caller_reference == req.caller_reference);
        if let Some(existing) = same_ref {
            let (mut a, mut b) = (existing.paths.clone(), req.paths.to_vec());
            a.sort();
            b.sort();
            if a == b {
                return Ok(s.view(existing));
            }
            return Err(Error::InvalidationBatchAlreadyExists {
                caller_reference: req.caller_reference.to_string(),
                message: "Invalidation batch specified is already in use".into(),
            });
        }
        let busy = in_progress(s, target);
        let new = PathCounts::of(req.paths);
        if busy.exact + new.exact > API_MAX_PATHS_IN_PROGRESS
            || busy.wildcards + new.wildcards > API_MAX_WILDCARDS_IN_PROGRESS
        {
            s.quota_refusals += 1;
            return Err(Error::TooManyInvalidationsInProgress {
                distribution_id: target.to_string(),
                message: "Your request contains too many invalidations in progress.".into(),
            });
        }
        s.next_id += 1;
        let seq = s.next_id;
        let stays = match s.completion.as_mut() {
            Some(f) => f(seq),
            None => DEFAULT_COMPLETION_SECONDS,
        };
        let inv = Stored {
            distribution_id: target.to_string(),
            id: format!("I{seq:013}"),
            caller_reference: req.caller_reference.to_string(),
            paths: req.paths.to_vec(),
            created_ms: s.now_ms,
            completes_ms: s.now_ms + stays * 1000,
        };
        let view = s.view(&inv);
        s.invalidations.push(inv);
        Ok(view)
    }

    fn view(&self, inv: &Stored) -> Invalidation {
        Invalidation {
            id: inv.id.clone(),
            status: status(self, inv),
            paths: inv.paths.clone(),
            caller_reference: inv.caller_reference.clone(),
            create_time: time_of_ms(inv.created_ms),
        }
    }
}

impl CloudFront for MemoryCloudFront {
    async fn create_invalidation(
        &self,
        req: CreateRequest<'_>,
        _deadline: Option<Instant>,
    ) -> Result<Invalidation, Error> {
        let mut s = self.lock();
        if let Some((reference, paths)) = s.rivals.pop_front() {
            let rival = CreateRequest { target: req.target, caller_reference: &reference, paths: &paths };
            s.create(rival).expect("the rival's create");
        }
        s.create(req)
    }

    async fn get_invalidation(&self, target: &TargetId, id: &str) -> Result<Invalidation, Error> {
        let mut s = self.lock();
        s.call(Op::Get, target)?;
        let inv = s.invalidations.iter().find(|i| s.lists(target, i) && i.id == id);
        match inv {
            Some(inv) => Ok(s.view(inv)),
            None => Err(Error::NoSuchInvalidation {
                distribution_id: target.to_string(),
                invalidation_id: id.to_string(),
                message: "not found".to_string(),
            }),
        }
    }

    /// A tenant's list holds its own invalidations only, never its parent's or its siblings'; a
    /// parent's, its own (and its tenants' with [`MemoryCloudFront::parent_lists_tenants`]).
    async fn list_invalidations(&self, target: &TargetId, marker: Option<&str>) -> Result<InvalidationPage, Error> {
        const PAGE: usize = 100;
        let mut s = self.lock();
        s.call(Op::List, target)?;
        let newest_first: Vec<&Stored> = s.invalidations.iter().rev().filter(|i| s.lists(target, i)).collect();
        let start = match marker {
            Some(m) => newest_first.iter().position(|i| i.id == m).unwrap_or(newest_first.len()),
            None => 0,
        };
        let page: Vec<InvalidationSummary> = newest_first[start..]
            .iter()
            .take(PAGE)
            .map(|i| InvalidationSummary {
                id: i.id.clone(),
                status: status(&s, i),
                create_time: time_of_ms(i.created_ms),
            })
            .collect();
        let next_marker = newest_first.get(start + PAGE).map(|i| i.id.clone());
        Ok(InvalidationPage { items: page, next_marker })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(ps: &[&str]) -> Vec<String> {
        ps.iter().map(|p| p.to_string()).collect()
    }

    fn numbered(prefix: &str, n: usize) -> Vec<String> {
        (0..n).map(|i| format!("{prefix}{i}")).collect()
    }

    fn id(id: &str) -> TargetId {
        TargetId::parse(id).unwrap()
    }

    async fn create(cf: &MemoryCloudFront, reference: &str, paths: &[String]) -> Result<Invalidation, Error> {
        create_on(cf, "E1", reference, paths).await
    }

    async fn create_on(
        cf: &MemoryCloudFront,
        on: &str,
        reference: &str,
        paths: &[String],
    ) -> Result<Invalidation, Error> {
        cf.create_invalidation(CreateRequest { target: &id(on), caller_reference: reference, paths }, None).await
    }

    /// Rule (CloudFront quotas): 3,000 exact and 15 wildcard paths in progress, counted independently;
    /// completed invalidations no longer count.
    #[tokio::test]
    async fn the_two_quotas_are_independent_and_free_on_completion() {
        let cf = MemoryCloudFront::new(&["E1"]);
        cf.set_completion(|seq| if seq == 1 { 100 } else { 1000 });
        create(&cf, "a", &numbered("/p", 3000)).await.unwrap();
        let e = create(&cf, "b", &paths(&["/x"])).await.unwrap_err();
        assert_eq!(e.error_type(), "TooManyInvalidationsInProgress");
        create(&cf, "c", &numbered("/w", 15).into_iter().map(|p| p + "*").collect::<Vec<_>>()).await.unwrap();
        assert_eq!(cf.in_progress("E1"), PathCounts { exact: 3000, wildcards: 15 });
        let e = create(&cf, "d", &paths(&["/y*"])).await.unwrap_err();
        assert_eq!(e.error_type(), "TooManyInvalidationsInProgress");
        assert_eq!(cf.quota_refusals(), 2);
        cf.advance(100);
        assert_eq!(cf.in_progress("E1"), PathCounts { exact: 0, wildcards: 15 });
        create(&cf, "b", &paths(&["/x"])).await.unwrap();
        assert_eq!(cf.invalidation_count(), 3);
    }

    #[tokio::test]
    async fn status_follows_the_clock_in_get_and_list() {
        let cf = MemoryCloudFront::new(&["E1"]);
        cf.set_completion(|_| 60);
        let inv = create(&cf, "a", &paths(&["/a"])).await.unwrap();
        assert_eq!(inv.status, "InProgress");
        cf.advance(59);
        assert_eq!(cf.get_invalidation(&id("E1"), &inv.id).await.unwrap().status, "InProgress");
        cf.set_now(60);
        assert_eq!(cf.get_invalidation(&id("E1"), &inv.id).await.unwrap().status, "Completed");
        assert_eq!(cf.list_invalidations(&id("E1"), None).await.unwrap().items[0].status, "Completed");
        cf.set_now(10);
        assert_eq!(cf.now(), 60, "the clock never goes back");
        let got = cf.get_invalidation(&id("E1"), &inv.id).await.unwrap();
        assert_eq!((PathCounts::of(&got.paths), got.create_time), (PathCounts { exact: 1, wildcards: 0 }, time_of(0)));
    }

    /// Rule (CloudFront writes `CreateTime` to the millisecond, `2019-12-05T18:24:51.407Z`): the
    /// stand-in's times are milliseconds too, in `CreateTime` of get and list alike, and an
    /// invalidation stops counting against the quota at the millisecond it completes, not at the
    /// next whole second.
    #[tokio::test]
    async fn create_time_and_completion_are_to_the_millisecond() {
        let cf = MemoryCloudFront::new(&["E1"]);
        cf.set_completion(|_| 60);
        cf.set_now_ms(5_407);
        let inv = create(&cf, "a", &numbered("/p", 3000)).await.unwrap();
        assert_eq!(inv.create_time, time_of_ms(5_407));
        let listed = cf.list_invalidations(&id("E1"), None).await.unwrap();
        assert_eq!(listed.items[0].create_time, time_of_ms(5_407));
        assert_eq!(cf.now(), 5, "now() reads whole seconds");
        cf.set_now_ms(65_406);
        assert_eq!(cf.in_progress("E1").exact, 3000);
        assert_eq!(cf.get_invalidation(&id("E1"), &inv.id).await.unwrap().status, "InProgress");
        cf.set_now_ms(65_407);
        assert_eq!(cf.in_progress("E1").exact, 0);
        assert_eq!(cf.get_invalidation(&id("E1"), &inv.id).await.unwrap().status, "Completed");
        create(&cf, "b", &paths(&["/x"])).await.unwrap();
    }

    /// Rule: the same CallerReference with the same paths (in any order) returns the existing
    /// invalidation; with other paths, InvalidationBatchAlreadyExists.
    #[tokio::test]
    async fn caller_reference_is_idempotent() {
        let cf = MemoryCloudFront::new(&["E1"]);
        let a = create(&cf, "r", &paths(&["/a", "/b"])).await.unwrap();
        let again = create(&cf, "r", &paths(&["/b", "/a"])).await.unwrap();
        assert_eq!(a.id, again.id);
        let e = create(&cf, "r", &paths(&["/c"])).await.unwrap_err();
        assert_eq!(e.error_type(), "InvalidationBatchAlreadyExists");
        assert_eq!(cf.invalidation_count(), 1);
    }

    #[tokio::test]
    async fn requests_are_validated_as_cloudfront_does() {
        let cf = MemoryCloudFront::new(&["E1"]);
        assert!(create(&cf, "a", &numbered("/p", 3001)).await.unwrap_err().to_string().contains("BatchTooLarge"));
        assert!(create(&cf, "b", &paths(&["/a b"])).await.unwrap_err().to_string().contains("InvalidArgument"));
        let e = cf
            .create_invalidation(
                CreateRequest { target: &id("E2"), caller_reference: "c", paths: &paths(&["/a"]) },
                None,
            )
            .await
            .unwrap_err();
        assert_eq!(e.error_type(), "NoSuchDistribution");
        cf.script(Op::Create, Error::Throttled("Rate exceeded".into()));
        assert_eq!(create(&cf, "d", &paths(&["/a"])).await.unwrap_err().error_type(), "Throttled");
        create(&cf, "d", &paths(&["/a"])).await.unwrap();
        assert_eq!(cf.calls(Op::Create), 5);
    }

    /// ListInvalidations: newest first, 100 a page, the marker naming the next page's first entry.
    #[tokio::test]
    async fn list_pages_newest_first() {
        let cf = MemoryCloudFront::new(&["E1"]);
        for i in 0..150 {
            create(&cf, &format!("r{i}"), &paths(&[&format!("/p{i}")])).await.unwrap();
        }
        let all = cf.invalidations();
        let first = cf.list_invalidations(&id("E1"), None).await.unwrap();
        assert_eq!(first.items.len(), 100);
        assert_eq!(first.items[0].id, all[149].id);
        let second = cf.list_invalidations(&id("E1"), first.next_marker.as_deref()).await.unwrap();
        assert_eq!(second.items.len(), 50);
        assert_eq!(second.items[49].id, all[0].id);
        assert_eq!(second.next_marker, None);
        assert_eq!(
            cf.invalidations_from(148).iter().map(|i| i.id.clone()).collect::<Vec<_>>(),
            vec![all[148].id.clone(), all[149].id.clone()]
        );
        assert!(cf.invalidations_from(150).is_empty() && cf.invalidations_from(999).is_empty());
    }

    /// Rule: the tenant operations keep the same rules as a distribution's, answer
    /// `EntityNotFound` for a tenant CloudFront does not know, and a tenant lists (and is found
    /// covered by) only its own invalidations — never its parent's or a sibling's.
    #[tokio::test]
    async fn tenants_have_their_own_invalidations() {
        let cf = MemoryCloudFront::new(&["EPARENT"]);
        cf.add_tenant("dt_acme", "EPARENT");
        cf.add_tenant("dt_globex", "EPARENT");
        let parents = create_on(&cf, "EPARENT", "p", &paths(&["/*"])).await.unwrap();
        let acme = create_on(&cf, "dt_acme", "a", &paths(&["/index.html"])).await.unwrap();
        assert_eq!(
            create_on(&cf, "dt_acme", "a", &paths(&["/index.html"])).await.unwrap().id,
            acme.id,
            "same reference"
        );
        let e = create_on(&cf, "dt_acme", "a", &paths(&["/other.html"])).await.unwrap_err();
        assert_eq!(e.error_type(), "InvalidationBatchAlreadyExists");
        let own = |t: &str| {
            let cf = &cf;
            let t = t.to_string();
            async move {
                cf.list_invalidations(&id(&t), None).await.unwrap().items.into_iter().map(|i| i.id).collect::<Vec<_>>()
            }
        };
        assert_eq!(own("dt_acme").await, vec![acme.id.clone()]);
        assert_eq!(own("dt_globex").await, Vec::<String>::new());
        assert_eq!(own("EPARENT").await, vec![parents.id.clone()]);
        assert_eq!(cf.get_invalidation(&id("dt_acme"), &acme.id).await.unwrap().paths, paths(&["/index.html"]));
        let e = cf.get_invalidation(&id("dt_globex"), &acme.id).await.unwrap_err();
        assert!(e.to_string().contains("no invalidation"), "{e}");
        for (op, call) in [
            (Op::Create, create_on(&cf, "dt_nobody", "x", &paths(&["/a"])).await.map(|_| ())),
            (Op::Get, cf.get_invalidation(&id("dt_nobody"), &acme.id).await.map(|_| ())),
            (Op::List, cf.list_invalidations(&id("dt_nobody"), None).await.map(|_| ())),
        ] {
            let e = call.unwrap_err();
            assert_eq!(e.error_type(), "NoSuchDistributionTenant", "{op:?}");
            assert!(e.to_string().contains("dt_nobody") && e.to_string().contains("EntityNotFound"), "{op:?}: {e}");
        }
    }

    /// Unsettled (`docs/aws-facts.md`, "Distribution tenants"): whether the 3,000 + 15 in progress
    /// count per tenant or for the whole multi-tenant distribution. Both readings, one table:
    /// (reading, what the sibling's create and the parent's own create get once one tenant holds
    /// 3,000 exact and 15 wildcards).
    #[tokio::test]
    async fn tenant_quota_per_tenant_or_on_the_parent() {
        let cases = [
            ("per tenant (default)", false, Ok(()), Ok(())),
            ("on the parent", true, Err("TooManyInvalidationsInProgress"), Err("TooManyInvalidationsInProgress")),
        ];
        for (reading, on_parent, sibling, parent) in cases {
            let cf = MemoryCloudFront::new(&["EPARENT", "EOTHER"]);
            cf.add_tenant("dt_acme", "EPARENT");
            cf.add_tenant("dt_globex", "EPARENT");
            cf.add_tenant("dt_elsewhere", "EOTHER");
            cf.tenant_quota_on_parent(on_parent);
            create_on(&cf, "dt_acme", "full", &numbered("/p", 3000)).await.unwrap();
            let wild: Vec<String> = numbered("/w", 15).into_iter().map(|p| p + "*").collect();
            create_on(&cf, "dt_acme", "wild", &wild).await.unwrap();
            let e = create_on(&cf, "dt_acme", "more", &paths(&["/x"])).await.unwrap_err();
            assert_eq!(e.error_type(), "TooManyInvalidationsInProgress", "{reading}: the tenant's own quota is full");
            let got = |r: Result<Invalidation, Error>| r.map(|_| ()).map_err(|e| e.error_type());
            assert_eq!(got(create_on(&cf, "dt_globex", "g", &paths(&["/y*"])).await), sibling, "{reading}: sibling");
            assert_eq!(got(create_on(&cf, "EPARENT", "p", &paths(&["/z"])).await), parent, "{reading}: parent");
            create_on(&cf, "dt_elsewhere", "o", &paths(&["/o*"])).await.expect("another distribution's tenant");
            let sibling_counts = if on_parent { 3000 } else { 0 };
            assert_eq!(cf.in_progress("dt_globex").exact, sibling_counts, "{reading}: what the sibling's create meets");
            cf.advance(DEFAULT_COMPLETION_SECONDS);
            create_on(&cf, "dt_globex", "later", &paths(&["/y"])).await.expect("room again once completed");
        }
    }

    /// Rule (the hooks): a rival's create lands just before the next create, on its target, and is
    /// a call like any other, so the next create meets the room it took; a call failing from the
    /// n-th on fails every later one too, the earlier ones answered.
    #[tokio::test]
    async fn a_rival_lands_before_the_next_create_and_calls_fail_from_the_nth() {
        let cf = MemoryCloudFront::new(&["E1"]);
        cf.race_next_create("rival", numbered("/r", 2990));
        let e = create(&cf, "mine", &numbered("/m", 20)).await.unwrap_err();
        assert_eq!(e.error_type(), "TooManyInvalidationsInProgress");
        let stored: Vec<(String, usize)> =
            cf.invalidations().into_iter().map(|i| (i.caller_reference, i.paths.len())).collect();
        assert_eq!((stored, cf.calls(Op::Create)), (vec![("rival".to_string(), 2990)], 2));
        create(&cf, "mine", &numbered("/m", 10)).await.expect("no rival left: the room it left fits");

        cf.fail_from(Op::List, 2, Error::CloudFront("connection reset".into()));
        let lists: Vec<bool> = {
            let mut got = Vec::new();
            for _ in 0..3 {
                got.push(cf.list_invalidations(&id("E1"), None).await.is_ok());
            }
            got
        };
        assert_eq!(lists, [true, false, false]);
    }
}
