//! What a container remembers between invocations: each invalidation it has read, by id. An
//! invalidation never changes after it is created (only its status), so its items, its
//! CallerReference and its `CreateTime` are read once (GetInvalidation) for the container's life.
//!
//! The entry point owns one [`Known`] and hands it to every invocation; a cold container is a
//! fresh one, in tests and in the storm benchmark alike. The adapters remember nothing.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::cloudfront::{CloudFront, Invalidation, InvalidationSummary};
use crate::error::Error;
use crate::model::{PathCounts, TargetId};
use crate::month::Month;
use crate::reference;

/// What is remembered of one invalidation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub counts: PathCounts,
    pub caller_reference: String,
    pub create_time: SystemTime,
    /// Its items, to tell which changes it covers already.
    pub paths: Arc<Vec<String>>,
}

impl Seen {
    fn of(inv: &Invalidation) -> Self {
        Seen {
            counts: PathCounts::of(&inv.paths),
            caller_reference: inv.caller_reference.clone(),
            create_time: inv.create_time,
            paths: Arc::new(inv.paths.clone()),
        }
    }
}

/// See the module documentation.
#[derive(Debug, Default)]
pub struct Known {
    seen: Mutex<HashMap<(String, String), Seen>>,
    /// Per distribution: every invalidation created before this time was completed at the last
    /// read of the room, and so still is.
    settled: Mutex<HashMap<String, SystemTime>>,
    /// Per distribution: the newest `CreateTime` of an invalidation seen completed.
    completed: Mutex<HashMap<String, SystemTime>>,
    /// This month's paths per distribution, for the monthly path budget (`budget.rs`).
    pub(crate) months: Months,
}

impl Known {
    /// A cold container's: nothing remembered.
    pub fn new() -> Self {
        Known::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Seen>> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What is known of invalidation `id` on `distribution_id`, read (GetInvalidation) the first
    /// time only.
    pub async fn seen<C: CloudFront>(&self, cf: &C, distribution_id: &TargetId, id: &str) -> Result<Seen, Error> {
        let key = (distribution_id.to_string(), id.to_string());
        if let Some(s) = self.lock().get(&key) {
            return Ok(s.clone());
        }
        let inv = cf.get_invalidation(distribution_id, id).await?;
        Ok(self.remember(distribution_id, &inv))
    }

    /// What is known of invalidation `id`, without reading it.
    pub fn peek(&self, distribution_id: &str, id: &str) -> Option<Seen> {
        self.lock().get(&(distribution_id.to_string(), id.to_string())).cloned()
    }

    /// Remembers an invalidation read or created by other means.
    pub fn remember(&self, distribution_id: &str, inv: &Invalidation) -> Seen {
        let seen = Seen::of(inv);
        self.lock().insert((distribution_id.to_string(), inv.id.clone()), seen.clone());
        seen
    }

    /// Below this time everything on the distribution is known completed (`quota::room`).
    pub fn settled(&self, distribution_id: &str) -> Option<SystemTime> {
        self.settled.lock().unwrap_or_else(|p| p.into_inner()).get(distribution_id).copied()
    }

    /// Remembers that everything created before `before` was completed at this read. The
    /// boundary only moves forward: an older one would only mean reading pages already read.
    pub fn settle(&self, distribution_id: &str, before: SystemTime) {
        let mut settled = self.settled.lock().unwrap_or_else(|p| p.into_inner());
        let t = settled.entry(distribution_id.to_string()).or_insert(before);
        *t = (*t).max(before);
    }

    /// Remembers that an invalidation created at `created` was seen completed, and returns the
    /// newest such time seen on the distribution: a read that lists only the pages since the
    /// last one still knows how recently one completed.
    pub fn completed(&self, distribution_id: &str, created: Option<SystemTime>) -> Option<SystemTime> {
        let mut completed = self.completed.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = created {
            let newest = completed.entry(distribution_id.to_string()).or_insert(t);
            *newest = (*newest).max(t);
        }
        completed.get(distribution_id).copied()
    }

    /// How many invalidations are remembered.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What a container has counted of one distribution's month.
#[derive(Debug, Clone, Default)]
pub(crate) struct Count {
    month: String,
    /// The invalidations of the month read and counted (this project's or not).
    counted: HashSet<String>,
    /// Paths of this project's generated references among them: a lower bound of the month's
    /// until a whole pass is done, and exact after it.
    paths: usize,
    /// Everything of the month created before this time is counted: set by a whole pass only.
    listed_to: Option<SystemTime>,
    /// The pass under way, from the newest down to what is counted already.
    pub(crate) pass: Pass,
}

/// Where a pass over the list stands between invocations.
#[derive(Debug, Clone, Default)]
pub(crate) struct Pass {
    /// The marker of the next page to read; `None` starts (again) from the newest.
    pub(crate) marker: Option<String>,
    /// The newest `CreateTime` the pass listed: everything below it is counted once the pass
    /// reaches what was counted before.
    pub(crate) top: Option<SystemTime>,
}

/// Per distribution, this month's paths of this project's generated references, as counted so far
/// in this container (held by [`Known`]; counted by `budget.rs`).
#[derive(Debug, Default)]
pub struct Months {
    by: Mutex<HashMap<String, Count>>,
}

impl Months {
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Count>> {
        self.by.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The count for `target` in `month` (0 for a month not counted yet).
    pub fn paths(&self, target: &str, month: &Month) -> usize {
        self.lock().get(target).filter(|c| c.month == month.label()).map_or(0, |c| c.paths)
    }

    /// Whether a whole pass has counted `target`'s `month`: the count is then exact up to what
    /// was made since the last read.
    pub fn whole(&self, target: &str, month: &Month) -> bool {
        self.lock().get(target).is_some_and(|c| c.month == month.label() && c.listed_to.is_some())
    }

    /// The pass to carry on for `target` in `month`, and the time below which everything is
    /// counted (a second before the last whole pass's top: CloudFront's `CreateTime` is to the
    /// second, and two made in that second may be listed either side of it). A new month starts
    /// from nothing.
    pub(crate) fn resume(&self, target: &str, month: &Month) -> (Pass, SystemTime) {
        let mut by = self.lock();
        let c = by.entry(target.to_string()).or_default();
        if c.month != month.label() {
            *c = Count { month: month.label().to_string(), ..Count::default() };
        }
        let floor = c.listed_to.and_then(|t| t.checked_sub(Duration::from_secs(1)));
        (c.pass.clone(), floor.map_or(month.start, |f| f.max(month.start)))
    }

    /// Counts the invalidations of `ids` the container has read (this project's paths among
    /// them), and keeps `pass` as where the next read carries on. `false` if the month turned
    /// meanwhile: nothing is kept, and the next count starts the new month.
    pub(crate) fn record(&self, known: &Known, target: &str, month: &Month, ids: &[String], pass: Pass) -> bool {
        let mut by = self.lock();
        let Some(c) = by.get_mut(target).filter(|c| c.month == month.label()) else { return false };
        for id in ids {
            let Some(seen) = known.peek(target, id) else { continue };
            if c.counted.insert(id.clone()) && reference::is_generated(&seen.caller_reference) {
                c.paths += seen.counts.exact + seen.counts.wildcards;
            }
        }
        c.pass = pass;
        true
    }

    /// Ends the pass: everything created before `top` is counted.
    pub(crate) fn passed(&self, target: &str, month: &Month, top: SystemTime) {
        let mut by = self.lock();
        if let Some(c) = by.get_mut(target).filter(|c| c.month == month.label()) {
            c.listed_to = Some(c.listed_to.map_or(top, |t| t.max(top)));
            c.pass = Pass::default();
        }
    }
}

/// What one page of a pass brings: the invalidations of `month` on it not counted yet, above
/// `floor`, and whether the page reaches the floor (the pass ends with it).
pub(crate) fn fresh_on(
    months: &Months,
    target: &str,
    month: &Month,
    page: &[InvalidationSummary],
    floor: SystemTime,
) -> (Vec<String>, bool) {
    let by = months.lock();
    let counted = by.get(target).map(|c| &c.counted);
    let fresh = page
        .iter()
        .filter(|s| s.create_time >= floor && month.contains(s.create_time))
        .filter(|s| counted.is_none_or(|c| !c.contains(&s.id)))
        .map(|s| s.id.clone())
        .collect();
    (fresh, page.last().is_some_and(|s| s.create_time < floor))
}
