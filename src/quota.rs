//! CloudFront's in-progress quota, read before planning: per distribution at most 3,000 exact
//! paths and, independently, 15 wildcard paths may be in progress. The room left is what the next
//! request may use; a request that does not fit would only be refused with
//! `TooManyInvalidationsInProgress`.

use std::time::{Duration, SystemTime};

use crate::cloudfront::CloudFront;
use crate::error::Error;
use crate::known::Known;
use crate::model::{PathCounts, TargetId};
use crate::model::{API_MAX_PATHS_IN_PROGRESS, API_MAX_WILDCARDS_IN_PROGRESS};

/// What may still go in progress on a distribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Room {
    pub exact: usize,
    pub wildcards: usize,
    /// Invalidations in progress now.
    pub in_progress: usize,
}

impl Room {
    /// The whole quota: nothing in progress (or nothing known).
    pub const FULL: Room =
        Room { exact: API_MAX_PATHS_IN_PROGRESS, wildcards: API_MAX_WILDCARDS_IN_PROGRESS, in_progress: 0 };

    /// The room one planned request may take: all of it on a distribution with nothing in
    /// progress (so a deploy gets the tightest plan, exactly what `cfinv plan` shows); otherwise
    /// all the exact room, but at most half the wildcard room (rounded up). Wildcard room is what
    /// lets a request fit when exact room is short, so while others are in progress one batch
    /// must not take all of it: the next batch — often already polled, the backlog of a burst
    /// split over concurrent invocations — then fits by merging instead of waiting, and the
    /// backlog drains in one cycle instead of halving per cycle. Two invocations that both see an
    /// empty distribution may ask for more than there is: the second is refused and fits what is
    /// left (`submit.rs`).
    pub fn share(self) -> Room {
        if self.in_progress == 0 {
            return self;
        }
        Room { wildcards: self.wildcards.div_ceil(2), ..self }
    }
}

/// The longest an invalidation is assumed to stay in progress: AWS gives no completion SLA
/// ("typically 5–15 minutes", 40 reported). *Unsettled*, so far beyond what has been seen.
pub const MAX_IN_PROGRESS: Duration = Duration::from_secs(24 * 3600);

/// Lists the distribution's invalidations, newest first, and adds up the path counts of those in
/// progress (each read once per container, [`Known`]: an invalidation never changes).
///
/// An invalidation may still be in progress below newer ones that completed (another tool's
/// 2,990 paths under a hundred quick ones), so paging goes on until the invalidations are older
/// than [`MAX_IN_PROGRESS`] before the newest, or the list ends — except below where the
/// container's last read found everything completed ([`Known::settled`]): what was completed then
/// still is, so a warm container reads only the pages since.
pub async fn room<C: CloudFront>(cf: &C, known: &Known, distribution_id: &TargetId) -> Result<Room, Error> {
    let mut busy = PathCounts::default();
    let mut in_progress = 0;
    let mut marker: Option<String> = None;
    let settled = known.settled(distribution_id);
    let mut stop: Option<SystemTime> = settled;
    // The oldest in progress, or the newest seen when none is: below it, everything is completed.
    let mut settles: Option<SystemTime> = None;
    let mut newest: Option<SystemTime> = None;
    'pages: loop {
        let page = cf.list_invalidations(distribution_id, marker.as_deref()).await?;
        for s in &page.items {
            let t = s.create_time;
            if newest.is_none() {
                newest = Some(t);
                if stop.is_none() {
                    stop = t.checked_sub(MAX_IN_PROGRESS);
                }
            }
            if stop.is_some_and(|limit| t < limit) {
                break 'pages;
            }
            // Anything not `Completed` holds quota (the safe reading of an unknown status).
            if !s.status.is_completed() {
                busy += known.seen(cf, distribution_id, &s.id).await?.counts;
                in_progress += 1;
                settles = Some(t);
            }
        }
        match page.next_marker {
            Some(m) => marker = Some(m),
            None => break,
        }
    }
    // Invalidations created in the same second as the boundary may be listed on either side of
    // it: the boundary keeps a second of them.
    if let Some(t) = settles.or(newest) {
        known.settle(distribution_id, t.checked_sub(Duration::from_secs(1)).unwrap_or(t));
    }
    Ok(Room {
        exact: API_MAX_PATHS_IN_PROGRESS.saturating_sub(busy.exact),
        wildcards: API_MAX_WILDCARDS_IN_PROGRESS.saturating_sub(busy.wildcards),
        in_progress,
    })
}

#[cfg(test)]
mod tests {
    fn id(id: &str) -> crate::model::TargetId {
        crate::model::TargetId::parse(id).unwrap()
    }

    use super::*;
    use crate::cloudfront::memory::{MemoryCloudFront, Op};
    use crate::cloudfront::CreateRequest;

    async fn create(cf: &MemoryCloudFront, r: &str, paths: &[&str]) {
        let paths: Vec<String> = paths.iter().map(|p| p.to_string()).collect();
        cf.create_invalidation(CreateRequest { target: &id("E1"), caller_reference: r, paths: &paths }, None)
            .await
            .unwrap();
    }

    /// Rule: the room is the quota less what is in progress, exact and wildcard apart; completed
    /// invalidations hold nothing; counts are read once per invalidation by the SDK adapter, and
    /// paging stops at a page with nothing in progress.
    #[tokio::test]
    async fn room_is_the_quota_less_what_is_in_progress() {
        let cf = MemoryCloudFront::new(&["E1"]);
        let known = Known::new();
        cf.set_completion(|seq| if seq == 1 { 100 } else { 1000 });
        assert_eq!(room(&cf, &known, &id("E1")).await.unwrap(), Room::FULL);
        create(&cf, "a", &["/a", "/b", "/c/*"]).await;
        create(&cf, "b", &["/d", "/e/*", "/f/*"]).await;
        assert_eq!(room(&cf, &known, &id("E1")).await.unwrap(), Room { exact: 2997, wildcards: 12, in_progress: 2 });
        cf.advance(100);
        assert_eq!(room(&cf, &known, &id("E1")).await.unwrap(), Room { exact: 2999, wildcards: 13, in_progress: 1 });
        cf.advance(1000);
        assert_eq!(room(&cf, &known, &id("E1")).await.unwrap(), Room::FULL);
        assert!(room(&cf, &known, &id("ENOPE")).await.is_err(), "an unknown distribution is an error");
        // What a container read it remembers: a warm container reads no invalidation twice, a
        // cold one (a fresh Known) reads again.
        create(&cf, "c", &["/g"]).await;
        let gets = cf.calls(Op::Get);
        room(&cf, &known, &id("E1")).await.unwrap();
        room(&cf, &known, &id("E1")).await.unwrap();
        assert_eq!(cf.calls(Op::Get) - gets, 1);
        room(&cf, &Known::new(), &id("E1")).await.unwrap();
        assert_eq!(cf.calls(Op::Get) - gets, 2);
    }

    /// Rule: an invalidation still in progress is never missed because newer ones completed (a
    /// deploy tool's 2,990 paths under 250 quick ones: every page is read); paging stops at
    /// invalidations older than MAX_IN_PROGRESS before the newest; and a warm container reads only
    /// the pages since its last read found everything below completed.
    #[tokio::test]
    async fn an_old_invalidation_in_progress_is_never_missed() {
        let cf = MemoryCloudFront::new(&["E1"]);
        // 1: long ago, completed; 2: the deploy tool's, 40 minutes; 3..=252: quick ones.
        cf.set_completion(|seq| match seq {
            1 => 1,
            2 => 2400,
            _ => 1,
        });
        create(&cf, "ancient", &["/a"]).await;
        cf.advance(MAX_IN_PROGRESS.as_secs() + 10);
        let held: Vec<String> = (0..2990).map(|i| format!("/tool/{i}")).collect();
        let held: Vec<&str> = held.iter().map(String::as_str).collect();
        create(&cf, "tool", &held).await;
        for i in 0..250 {
            cf.advance(1);
            create(&cf, &format!("quick-{i}"), &["/x"]).await;
        }
        cf.advance(5);
        let known = Known::new();
        let lists = cf.calls(Op::List);
        assert_eq!(room(&cf, &known, &id("E1")).await.unwrap().exact, 10, "the tool's paths, under 250 completed");
        assert_eq!(cf.calls(Op::List) - lists, 3, "every page back to the tool's, not past MAX_IN_PROGRESS");
        // Warm: the boundary is the tool's invalidation, the oldest in progress: the same pages.
        room(&cf, &known, &id("E1")).await.unwrap();
        assert_eq!(cf.calls(Op::List) - lists, 6);
        // Once it completed, everything below the newest is settled: one page.
        cf.advance(2400);
        assert_eq!(room(&cf, &known, &id("E1")).await.unwrap(), Room::FULL);
        cf.advance(10);
        create(&cf, "next", &["/n"]).await;
        let before = cf.calls(Op::List);
        assert_eq!(room(&cf, &known, &id("E1")).await.unwrap().exact, 2999);
        assert_eq!(cf.calls(Op::List) - before, 1, "a warm container reads only what is new");
    }

    /// Rule: while anything is in progress, one request takes at most half the wildcard room,
    /// rounded up, so that the next still has some until the room is truly gone; all the exact
    /// room; with nothing in progress, the whole room.
    #[test]
    fn a_request_takes_half_the_wildcard_room() {
        let shares: Vec<usize> = [15, 8, 7, 4, 2, 1, 0]
            .iter()
            .map(|&w| Room { exact: 10, wildcards: w, in_progress: 1 }.share().wildcards)
            .collect();
        assert_eq!(shares, [8, 4, 4, 2, 1, 1, 0]);
        assert_eq!(Room::FULL.share(), Room::FULL, "nothing in progress: the whole room");
    }
}
