//! CloudFront's in-progress quota, read before planning: per distribution at most 3,000 exact
//! paths and, independently, 15 wildcard paths may be in progress. The room left is what the next
//! request may use; a request that does not fit would only be refused with
//! `TooManyInvalidationsInProgress`.

use crate::cloudfront::CloudFront;
use crate::error::Error;
use crate::known::Known;
use crate::model::PathCounts;
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

/// Lists the distribution's invalidations, newest first, and adds up the path counts of those in
/// progress (each read once per container, [`Known`]: an invalidation never changes). Paging
/// stops at the first page that holds none in progress, because a long history is slow to page
/// through and invalidations complete roughly in the order they were made.
pub async fn room<C: CloudFront>(cf: &C, known: &Known, distribution_id: &str) -> Result<Room, Error> {
    let mut busy = PathCounts::default();
    let mut in_progress = 0;
    let mut marker: Option<String> = None;
    loop {
        let page = cf.list_invalidations(distribution_id, marker.as_deref()).await?;
        // Anything not `Completed` holds quota (the safe reading of an unknown status).
        let running: Vec<&str> =
            page.items.iter().filter(|s| !s.status.is_completed()).map(|s| s.id.as_str()).collect();
        for id in &running {
            busy += known.seen(cf, distribution_id, id).await?.counts;
        }
        in_progress += running.len();
        match page.next_marker {
            Some(m) if !running.is_empty() => marker = Some(m),
            _ => break,
        }
    }
    Ok(Room {
        exact: API_MAX_PATHS_IN_PROGRESS.saturating_sub(busy.exact),
        wildcards: API_MAX_WILDCARDS_IN_PROGRESS.saturating_sub(busy.wildcards),
        in_progress,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloudfront::memory::{MemoryCloudFront, Op};
    use crate::cloudfront::CreateRequest;

    async fn create(cf: &MemoryCloudFront, r: &str, paths: &[&str]) {
        let paths: Vec<String> = paths.iter().map(|p| p.to_string()).collect();
        cf.create_invalidation(CreateRequest { distribution_id: "E1", caller_reference: r, paths: &paths }, None)
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
        assert_eq!(room(&cf, &known, "E1").await.unwrap(), Room::FULL);
        create(&cf, "a", &["/a", "/b", "/c/*"]).await;
        create(&cf, "b", &["/d", "/e/*", "/f/*"]).await;
        assert_eq!(room(&cf, &known, "E1").await.unwrap(), Room { exact: 2997, wildcards: 12, in_progress: 2 });
        cf.advance(100);
        assert_eq!(room(&cf, &known, "E1").await.unwrap(), Room { exact: 2999, wildcards: 13, in_progress: 1 });
        cf.advance(1000);
        assert_eq!(room(&cf, &known, "E1").await.unwrap(), Room::FULL);
        assert!(room(&cf, &known, "ENOPE").await.is_err(), "an unknown distribution is an error");
        // What a container read it remembers: a warm container reads no invalidation twice, a
        // cold one (a fresh Known) reads again.
        create(&cf, "c", &["/g"]).await;
        let gets = cf.calls(Op::Get);
        room(&cf, &known, "E1").await.unwrap();
        room(&cf, &known, "E1").await.unwrap();
        assert_eq!(cf.calls(Op::Get) - gets, 1);
        room(&cf, &Known::new(), "E1").await.unwrap();
        assert_eq!(cf.calls(Op::Get) - gets, 2);
    }

    /// Rule: paging stops at the first page without an invalidation in progress (250 completed
    /// invalidations behind one in progress: two pages read, not three).
    #[tokio::test]
    async fn paging_stops_at_a_page_with_nothing_in_progress() {
        let cf = MemoryCloudFront::new(&["E1"]);
        cf.set_completion(|seq| if seq <= 250 { 1 } else { 1000 });
        for i in 0..250 {
            create(&cf, &format!("old-{i}"), &["/x"]).await;
        }
        cf.advance(10);
        create(&cf, "new", &["/y"]).await;
        let lists = cf.calls(Op::List);
        assert_eq!(room(&cf, &Known::new(), "E1").await.unwrap().exact, 2999);
        assert_eq!(cf.calls(Op::List) - lists, 2);
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
