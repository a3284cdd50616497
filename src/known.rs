//! What a container remembers between invocations: each invalidation it has read, by id. An
//! invalidation never changes after it is created (only its status), so its items, its
//! CallerReference and its `CreateTime` are read once (GetInvalidation) for the container's life.
//!
//! The entry point owns one [`Known`] and hands it to every invocation; a cold container is a
//! fresh one, in tests and in the storm benchmark alike. The adapters remember nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use crate::cloudfront::{CloudFront, Invalidation};
use crate::error::Error;
use crate::model::{PathCounts, TargetId};

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
    pub(crate) months: crate::budget::Months,
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
