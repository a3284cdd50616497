//! CloudFront's in-progress quota, read before planning: per distribution at most 3,000 exact
//! paths and, independently, 15 wildcard paths may be in progress. The room left is what the next
//! request may use; a request that does not fit would only be refused with
//! `TooManyInvalidationsInProgress`.

use std::time::{Duration, SystemTime};

use futures_util::stream::{FuturesUnordered, StreamExt};

use crate::cloudfront::{CloudFront, NewestFirst};
use crate::deadline::Instant;
use crate::error::Error;
use crate::known::{Known, Seen};
use crate::model::{PathCounts, TargetId};
use crate::model::{API_MAX_PATHS_IN_PROGRESS, API_MAX_WILDCARDS_IN_PROGRESS};
use crate::reference;

/// What may still go in progress on a distribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Room {
    pub exact: usize,
    pub wildcards: usize,
    /// Invalidations in progress now.
    pub in_progress: usize,
    /// The wildcard paths a stream of changes may spend now ([`paced`]): at most `wildcards`.
    pub spend: usize,
    /// This month's paths on the distribution reached `MONTHLY_PATH_BUDGET` (`budget.rs`): plan
    /// for fewest billed paths. Set by the submit step, never by the read of the room.
    pub thrifty: bool,
}

impl Room {
    /// The whole quota: nothing in progress (or nothing known).
    pub const FULL: Room = Room {
        exact: API_MAX_PATHS_IN_PROGRESS,
        wildcards: API_MAX_WILDCARDS_IN_PROGRESS,
        in_progress: 0,
        spend: API_MAX_WILDCARDS_IN_PROGRESS,
        thrifty: false,
    };

    /// The room of a quota with `exact` and `wildcards` left, unpaced.
    pub fn of(exact: usize, wildcards: usize, in_progress: usize) -> Room {
        Room { exact, wildcards, in_progress, spend: wildcards, thrifty: false }
    }

    /// The room one planned request may take: all of it on a distribution with nothing in
    /// progress (so a deploy gets the tightest plan, exactly what `cfinv plan` shows); otherwise
    /// all the exact room, but at most half the wildcard room or of what pacing lets it spend
    /// now, whichever is less (rounded up). Wildcard room is what lets a request fit when exact
    /// room is short, so while others are in progress one batch must not take all of it: the next
    /// batch — often already polled, the backlog of a burst split over concurrent invocations —
    /// then fits by merging instead of waiting, and the backlog drains in one cycle instead of
    /// halving per cycle. The same holds for what pacing lets a burst spend: a first half that
    /// takes every slot of the allowance for narrow wildcards leaves the second half of the burst
    /// waiting for the next allowance, and part of it again for the one after. Two invocations
    /// that both see an empty distribution may ask for more than there is: the second is refused
    /// and fits what is left (`submit.rs`).
    pub fn share(self) -> Room {
        if self.in_progress == 0 {
            return self;
        }
        Room { wildcards: self.wildcards.min(self.spend).div_ceil(2), ..self }
    }
}

/// Whether an invalidation in progress counts in [`paced`]: this project's, with wildcards.
fn paces(seen: &Seen) -> bool {
    seen.counts.wildcards > 0 && reference::is_ours(&seen.caller_reference)
}

/// The longest completion time [`paced`] assumes. An invalidation in progress for longer is one
/// stuck, or another tool's long hold, not the pace of this distribution's completions (5–15
/// minutes, 40 reported): without a bound, one stuck for a day would allow a wildcard every hour
/// and a half however much room there is.
pub const PACE_LASTS_AT_MOST: Duration = Duration::from_secs(3600);

/// What pacing needs of the function's deployment: the batching window of its event sources and
/// its own timeout, which together make the span of one burst of uploads as the function sees it
/// ([`Pace::burst`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    /// `BATCHING_WINDOW_SECONDS`: the event sources' `MaximumBatchingWindowInSeconds`.
    pub window: Duration,
    /// `FUNCTION_TIMEOUT_SECONDS`: the function's timeout, the longest one invocation runs.
    pub timeout: Duration,
}

impl Pace {
    /// Without configuration: a 60 s window and a 30 s timeout. The template sets both from what
    /// it deploys.
    pub const DEFAULT: Pace = Pace { window: Duration::from_secs(60), timeout: Duration::from_secs(30) };

    /// Time counted with the newest wildcard spending in [`paced`]: the span of one burst of
    /// uploads as the function sees it — a batching window, a held message's requeue delay
    /// ([`crate::queue::REQUEUE_DELAY`]) and one invocation. Batches polled within it (the other
    /// half of a burst split over concurrent invocations, its held messages back) may share the
    /// spending; a longer span lets one burst spend slots the next one needs.
    pub fn burst(self) -> Duration {
        self.window + crate::queue::REQUEUE_DELAY + self.timeout
    }
}

/// What pacing the wildcard slots needs at a read of the room: now, on CloudFront's clock, and
/// the deployment's [`Pace`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pacing {
    pub now: SystemTime,
    pub pace: Pace,
}

/// What a read of the room tells of how long invalidations take on the distribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Completions {
    /// How long the oldest invalidation in progress has been: they take at least this long.
    pub lasts: Duration,
    /// How long ago the youngest completed invalidation was created: one took at most this long.
    /// `None` when none is listed.
    pub done: Option<Duration>,
    /// The wildcard slots free now.
    pub free: usize,
}

impl Completions {
    /// The completion time [`paced`] assumes for a spending that began `since` after the oldest
    /// invalidation in progress was created.
    ///
    /// Until a completion bounds it (`done`), a burst's first minutes say little: the oldest in
    /// progress is young, yet completions may take an hour. Spending as if they were as quick as
    /// the oldest's age spends every slot in the first minutes, and the burst's tail then waits a
    /// whole completion for the first slot to come back. So, until then, the slots free are
    /// spread geometrically over what is still possible: from the time the function has been at
    /// this burst (`since` plus one burst span, [`Pace::burst`]) to the longest completion
    /// assumed ([`PACE_LASTS_AT_MOST`]), each spending that much later than the one before by the
    /// same factor `1 + g`, and the estimate is the completion time whose even pace has those
    /// gaps: `15 × g × (since + burst)`. Whatever the completion time `T` turns out to be, the gap
    /// between two spendings before the first slot comes back is then at most `g × T`, and the
    /// free slots last to the longest: 15 free slots give `g` about a quarter in a burst's first
    /// minutes, and a stream that needs few slots keeps many free and so a smaller `g`. Never
    /// less than `lasts`, never more than the longest assumed.
    pub fn estimate(self, since: Duration, pace: Pace) -> Duration {
        let age = (since + pace.burst()).as_secs_f64().max(1.0);
        let span = (PACE_LASTS_AT_MOST.as_secs_f64() / age).max(1.0);
        let g = span.powf(1.0 / self.free.max(1) as f64) - 1.0;
        let growing = Duration::from_secs_f64(API_MAX_WILDCARDS_IN_PROGRESS as f64 * g * age);
        let bounded = self.done.map_or(growing, |d| growing.min(d));
        self.lasts.max(bounded).min(PACE_LASTS_AT_MOST)
    }
}

/// How many wildcard paths a stream of changes may spend now so that the 15 slots last. A
/// wildcard slot comes back only when its invalidation completes, and completions may take 40
/// minutes: one `/*` per deploy fills all 15 in half an hour, and later deploys then wait for
/// the first to complete, however narrow their changes. So the slots are spread over the time
/// invalidations take here: at most `15 × (x + burst) / T` wildcards made within any last `x`
/// seconds, where `T` is the completion time assumed for a spending that began `x` ago
/// ([`Completions::estimate`]) and `burst` one burst span ([`Pace::burst`]), and always at least
/// one. When completions are known to be quick the bound is loose (a 5-minute distribution
/// allows 6 at once), and with nothing in progress there is nothing to pace (the whole room, as
/// `cfinv plan` shows).
///
/// `wildcards`: the age and wildcard count of each of this project's invalidations in progress
/// that has any ([`paces`]). Another tool's are not this stream's spending: they take room, which
/// the room itself counts, but pacing them would only leave their slots to them.
pub fn paced(seen: Completions, wildcards: &mut [(Duration, usize)], pace: Pace) -> usize {
    let allowance = |x: Duration| {
        let lasts = seen.estimate(seen.lasts.saturating_sub(x), pace);
        let rate = API_MAX_WILDCARDS_IN_PROGRESS as f64 / lasts.as_secs_f64().max(1.0);
        (((x + pace.burst()).as_secs_f64() * rate).floor() as usize).max(1)
    };
    wildcards.sort_unstable();
    let mut spent = 0;
    let mut allowed = allowance(Duration::ZERO);
    for &(age, n) in wildcards.iter() {
        spent += n;
        allowed = allowed.min(allowance(age).saturating_sub(spent));
    }
    allowed.min(API_MAX_WILDCARDS_IN_PROGRESS)
}

/// The longest an invalidation is assumed to stay in progress: AWS gives no completion SLA
/// ("typically 5–15 minutes", 40 reported). *Unsettled*, so far beyond what has been seen.
pub const MAX_IN_PROGRESS: Duration = Duration::from_secs(24 * 3600);

/// How many GetInvalidation calls a room read makes at once. A cold container facing another
/// tool's thousands of single-path invalidations in progress would need 3,000 sequential calls
/// (minutes); ten at a time read a thousand in the ten seconds a read may take, and what is read
/// is remembered ([`Known`]), so later invocations carry on where this one stopped.
pub const READ_AT_ONCE: usize = 10;

/// Lists the distribution's invalidations, newest first, and adds up the path counts of those in
/// progress (each read once per container, [`Known`]: an invalidation never changes).
///
/// An invalidation may still be in progress below newer ones that completed (another tool's
/// 2,990 paths under a hundred quick ones), so paging goes on until the invalidations are older
/// than [`MAX_IN_PROGRESS`] before the newest, or the list ends — except below where the
/// container's last read found everything completed ([`Known::settled`]): what was completed then
/// still is, so a warm container reads only the pages since.
///
/// Those in progress that the container has not read yet are read [`READ_AT_ONCE`] at a time
/// until `until`. If some are still unread then, each is counted as the mean of those read (an
/// estimate: CloudFront refuses a plan that does not fit after all, and the submit step fits
/// again), so that a cold container still plans into the room it can see — the wildcard room
/// when the others hold only exact paths — instead of none. With nothing read at all there is
/// nothing to estimate from: an error, and the caller plans as if nothing were in progress.
pub async fn room<C: CloudFront>(
    cf: &C,
    known: &Known,
    distribution_id: &TargetId,
    until: Option<Instant>,
    pacing: Option<Pacing>,
) -> Result<Room, Error> {
    let now = pacing.map(|p| p.now);
    let age = |t: SystemTime| now.and_then(|n| n.duration_since(t).ok()).unwrap_or_default();
    let Listed { mut busy, mut wild, lasts, done, unread, in_progress } =
        list_in_progress(cf, known, distribution_id, &age).await?;
    let (counts, read) = read_at_once(cf, known, distribution_id, &unread, until, |seen| {
        if paces(seen) {
            wild.push((age(seen.create_time), seen.counts.wildcards));
        }
    })
    .await?;
    busy += counts;
    busy += unread_estimate(distribution_id, busy, in_progress, unread.len() - read)?;
    let wildcards = API_MAX_WILDCARDS_IN_PROGRESS.saturating_sub(busy.wildcards);
    let done = known.completed(distribution_id, done).map(age);
    let spend = match pacing {
        Some(p) if in_progress > 0 => {
            paced(Completions { lasts, done, free: wildcards }, &mut wild, p.pace).min(wildcards)
        }
        _ => wildcards,
    };
    let exact = API_MAX_PATHS_IN_PROGRESS.saturating_sub(busy.exact);
    Ok(Room { exact, wildcards, in_progress, spend, thrifty: false })
}

/// What the list shows in progress on a distribution, before the invalidations the container
/// has not read yet are read.
#[derive(Default)]
struct Listed {
    /// The path counts of those in progress the container has read already.
    busy: PathCounts,
    /// For pacing: the age and wildcard count of each of those that hold wildcards ([`paces`]).
    wild: Vec<(Duration, usize)>,
    /// The age of the oldest in progress.
    lasts: Duration,
    /// For pacing: the creation time of the youngest completed, whose age bounds one completion
    /// time.
    done: Option<SystemTime>,
    /// Those in progress the container has not read yet.
    unread: Vec<String>,
    in_progress: usize,
}

/// Pages the list as [`room`] states, newest first, and records for the next read where
/// everything below is completed ([`Known::settle`]).
async fn list_in_progress<C: CloudFront>(
    cf: &C,
    known: &Known,
    distribution_id: &TargetId,
    age: &impl Fn(SystemTime) -> Duration,
) -> Result<Listed, Error> {
    let mut listed = Listed::default();
    let mut stop: Option<SystemTime> = known.settled(distribution_id);
    // The oldest in progress, or the newest seen when none is: below it, everything is completed.
    let mut settles: Option<SystemTime> = None;
    let mut newest: Option<SystemTime> = None;
    let mut pages = NewestFirst::new(cf, distribution_id);
    'pages: while let Some(page) = pages.next_page().await? {
        for s in &page {
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
                match known.peek(distribution_id, &s.id) {
                    Some(seen) => {
                        listed.busy += seen.counts;
                        if paces(&seen) {
                            listed.wild.push((age(t), seen.counts.wildcards));
                        }
                    }
                    None => listed.unread.push(s.id.clone()),
                }
                listed.lasts = listed.lasts.max(age(t));
                listed.in_progress += 1;
                settles = Some(t);
            } else if listed.done.is_none() {
                listed.done = Some(t);
            }
        }
    }
    // Invalidations created in the same second as the boundary may be listed on either side of
    // it: the boundary keeps a second of them.
    if let Some(t) = settles.or(newest) {
        known.settle(distribution_id, t.checked_sub(Duration::from_secs(1)).unwrap_or(t));
    }
    Ok(listed)
}

/// What the `left` invalidations in progress still unread add, each counted as the mean of those
/// read (`busy`, of `in_progress` in all): nothing when all were read, and an error when none was,
/// with nothing to estimate from.
fn unread_estimate(
    distribution_id: &TargetId,
    busy: PathCounts,
    in_progress: usize,
    left: usize,
) -> Result<PathCounts, Error> {
    if left == 0 {
        return Ok(PathCounts::default());
    }
    let sampled = in_progress - left;
    if sampled == 0 {
        return Err(Error::CloudFront(format!(
            "none of the {in_progress} invalidations in progress could be read in time"
        )));
    }
    let estimate = |n: usize| (n * left).div_ceil(sampled);
    tracing::info!(
        distribution_id = %distribution_id,
        in_progress,
        unread = left,
        "room estimated: in-progress invalidations not read yet count as the mean of those read"
    );
    Ok(PathCounts { exact: estimate(busy.exact), wildcards: estimate(busy.wildcards) })
}

/// Reads `ids` (GetInvalidation, remembered) [`READ_AT_ONCE`] at a time until `until`, showing
/// `each` each one read: the sum of their counts and how many were read.
pub(crate) async fn read_at_once<C: CloudFront>(
    cf: &C,
    known: &Known,
    distribution_id: &TargetId,
    ids: &[String],
    until: Option<Instant>,
    mut each: impl FnMut(&Seen),
) -> Result<(PathCounts, usize), Error> {
    let mut counts = PathCounts::default();
    let mut read = 0;
    let mut waiting = ids.iter();
    let mut running = FuturesUnordered::new();
    for id in waiting.by_ref().take(READ_AT_ONCE) {
        running.push(known.seen(cf, distribution_id, id));
    }
    loop {
        let next = match until {
            None => running.next().await,
            Some(t) => match tokio::time::timeout_at(t, running.next()).await {
                Ok(next) => next,
                Err(_) => break,
            },
        };
        let Some(seen) = next else { break };
        let seen = seen?;
        each(&seen);
        counts += seen.counts;
        read += 1;
        if let Some(id) = waiting.next() {
            running.push(known.seen(cf, distribution_id, id));
        }
    }
    Ok((counts, read))
}

#[cfg(test)]
mod tests {
    fn id(id: &str) -> crate::model::TargetId {
        crate::model::TargetId::parse(id).unwrap()
    }

    use super::*;
    use crate::cloudfront::memory::{MemoryCloudFront, Op, Slow};
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
        assert_eq!(room(&cf, &known, &id("E1"), None, None).await.unwrap(), Room::FULL);
        create(&cf, "a", &["/a", "/b", "/c/*"]).await;
        create(&cf, "b", &["/d", "/e/*", "/f/*"]).await;
        assert_eq!(room(&cf, &known, &id("E1"), None, None).await.unwrap(), Room::of(2997, 12, 2));
        cf.advance(100);
        assert_eq!(room(&cf, &known, &id("E1"), None, None).await.unwrap(), Room::of(2999, 13, 1));
        cf.advance(1000);
        assert_eq!(room(&cf, &known, &id("E1"), None, None).await.unwrap(), Room::FULL);
        assert!(room(&cf, &known, &id("ENOPE"), None, None).await.is_err(), "an unknown distribution is an error");
        // What a container read it remembers: a warm container reads no invalidation twice, a
        // cold one (a fresh Known) reads again.
        create(&cf, "c", &["/g"]).await;
        let gets = cf.calls(Op::Get);
        room(&cf, &known, &id("E1"), None, None).await.unwrap();
        room(&cf, &known, &id("E1"), None, None).await.unwrap();
        assert_eq!(cf.calls(Op::Get) - gets, 1);
        room(&cf, &Known::new(), &id("E1"), None, None).await.unwrap();
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
        assert_eq!(
            room(&cf, &known, &id("E1"), None, None).await.unwrap().exact,
            10,
            "the tool's paths, under 250 completed"
        );
        assert_eq!(cf.calls(Op::List) - lists, 3, "every page back to the tool's, not past MAX_IN_PROGRESS");
        // Warm: the boundary is the tool's invalidation, the oldest in progress: the same pages.
        room(&cf, &known, &id("E1"), None, None).await.unwrap();
        assert_eq!(cf.calls(Op::List) - lists, 6);
        // Once it completed, everything below the newest is settled: one page.
        cf.advance(2400);
        assert_eq!(room(&cf, &known, &id("E1"), None, None).await.unwrap(), Room::FULL);
        cf.advance(10);
        create(&cf, "next", &["/n"]).await;
        let before = cf.calls(Op::List);
        assert_eq!(room(&cf, &known, &id("E1"), None, None).await.unwrap().exact, 2999);
        assert_eq!(cf.calls(Op::List) - before, 1, "a warm container reads only what is new");
    }

    /// Rule: a cold container facing another tool's 3,000 single-path
    /// invalidations in progress (30 pages, then 3,000 GetInvalidation calls of 100 ms) reads them
    /// ten at a time until it must stop, counts those unread as the mean of those read, and so
    /// plans into the 15 free wildcard slots at once; later invocations carry on where it stopped.
    /// With nothing read in time there is nothing to estimate from: an error (the caller plans as
    /// if nothing were in progress and CloudFront's answer decides).
    #[tokio::test(start_paused = true)]
    async fn a_cold_read_of_3000_sees_the_wildcard_room_in_time() {
        let cf = MemoryCloudFront::new(&["E1"]);
        for i in 0..3000 {
            create(&cf, &format!("tool-{i}"), &[&format!("/tool/{i}")]).await;
        }
        let slow = Slow(&cf);
        let known = Known::new();
        let within = |secs| Some(Instant::now() + Duration::from_secs(secs));
        let t0 = Instant::now();
        let cold = room(&slow, &known, &id("E1"), within(10), None).await.unwrap();
        assert!(t0.elapsed() <= Duration::from_millis(10_100), "stopped in time: {:?}", t0.elapsed());
        assert_eq!(cold, Room::of(0, 15, 3000));
        // 3 s of listing, then 7 s of ten calls at a time.
        assert!((600..=700).contains(&known.len()), "read {}", known.len());
        let mut invocations = 1;
        while known.len() < 3000 {
            assert_eq!(room(&slow, &known, &id("E1"), within(10), None).await.unwrap(), cold);
            invocations += 1;
        }
        assert_eq!(invocations, 5, "each carries on where the last stopped");
        assert_eq!(room(&slow, &known, &id("E1"), within(10), None).await.unwrap(), cold, "read whole, the same room");
        let none = room(&slow, &Known::new(), &id("E1"), within(3), None).await;
        assert!(none.unwrap_err().to_string().contains("none of the 3000 invalidations in progress"));
    }

    /// Rule: wildcard slots are spread over how long invalidations take here: at most
    /// 15 × (x + the burst span, 120 s) / lasts made within any last x seconds, at least one, never
    /// more than 15.
    #[test]
    fn wildcard_slots_are_paced_by_how_long_invalidations_last() {
        let s = Duration::from_secs;
        // (lasts, the (age, wildcards) of those in progress, may spend now, why)
        type Case = (u64, &'static [(u64, usize)], usize, &'static str);
        let cases: [Case; 11] = [
            (2640, &[], 1, "40-minute completions: one at a time"),
            (2640, &[(120, 2)], 0, "two spent two minutes ago: wait"),
            (2640, &[(480, 2)], 1, "eight minutes later, one more"),
            (2640, &[(360, 2)], 0, "…not six"),
            (2640, &[(360, 1), (120, 1)], 0, "one every three minutes at most"),
            (300, &[], 6, "5-minute completions: six at once"),
            (300, &[(10, 6)], 0, "…but not six more ten seconds later"),
            (300, &[(200, 6)], 6, "a burst later, six again"),
            (0, &[], 15, "nothing old in progress: no pacing"),
            (86_400, &[(600, 1)], 1, "one stuck for a day paces as an hour would: one every four minutes"),
            (3600, &[(120, 1)], 0, "an hour's pace: not two within two minutes"),
        ];
        for (lasts, wild, want, why) in cases {
            let mut wild: Vec<(Duration, usize)> = wild.iter().map(|&(a, n)| (s(a), n)).collect();
            // Completions known to take `lasts`: one completed after that long.
            let seen = Completions { lasts: s(lasts), done: Some(s(lasts)), free: 15 };
            assert_eq!(paced(seen, &mut wild, Pace::DEFAULT), want, "{why}");
        }
    }

    /// Rule: while anything is in progress, one request takes at most half the wildcard room, and
    /// half of what pacing lets it spend, rounded up, so that the next still has some until the
    /// room is truly gone; all the exact room; with nothing in progress, the whole room.
    #[test]
    fn a_request_takes_half_the_wildcard_room() {
        let shares: Vec<usize> = [15, 8, 7, 4, 2, 1, 0].iter().map(|&w| Room::of(10, w, 1).share().wildcards).collect();
        assert_eq!(shares, [8, 4, 4, 2, 1, 1, 0]);
        // Pacing: half of what may be spent now, when that is less than the room.
        let paced = |wildcards: usize, spend: usize| Room { spend, ..Room::of(10, wildcards, 1) }.share().wildcards;
        let cases = [(10, 3, 2), (10, 2, 1), (10, 1, 1), (10, 0, 0), (4, 6, 2), (15, 15, 8)];
        for (wildcards, spend, want) in cases {
            assert_eq!(paced(wildcards, spend), want, "{wildcards} left, {spend} may be spent");
        }
        assert_eq!(Room::FULL.share(), Room::FULL, "nothing in progress: the whole room");
    }

    /// Rule: the completion time pacing assumes is never less than the oldest in progress has
    /// lasted; until a completion is seen it is the even pace whose gaps spread the free slots
    /// geometrically from the burst's age (plus one burst span) to the longest assumed, an hour;
    /// a completion seen bounds it.
    #[test]
    fn the_completion_assumed_grows_with_the_burst_until_one_completes() {
        let s = Duration::from_secs;
        // (lasts, youngest completed, free slots, since, assumed, why)
        type Case = (u64, Option<u64>, usize, u64, u64, &'static str);
        let cases: [Case; 10] = [
            (10, None, 15, 10, 483, "a burst's first seconds: 15 slots from 130 s to the hour, not 10"),
            (300, None, 15, 0, 458, "a spending that began with the burst: its pace then"),
            (300, None, 15, 300, 970, "five minutes in, 15 still free: they need last from 420 s only"),
            (300, None, 5, 300, 3381, "five minutes in, 5 free: they must last to the hour"),
            (1200, None, 15, 1200, 1369, "twenty minutes in, 15 free"),
            (10, Some(90), 15, 10, 90, "one completed within 90 s: quick completions pace loosely"),
            (600, Some(90), 15, 600, 600, "never less than the oldest in progress has lasted"),
            (10, Some(7200), 15, 10, 483, "a completion long ago bounds nothing"),
            (5000, None, 15, 5000, 3600, "one stuck for longer paces as an hour would"),
            (10, None, 0, 10, 3600, "nothing free: nothing to spread"),
        ];
        for (lasts, done, free, since, want, why) in cases {
            let seen = Completions { lasts: s(lasts), done: done.map(s), free };
            assert_eq!(seen.estimate(s(since), Pace::DEFAULT).as_secs(), want, "{why}");
        }
        // The burst span is the deployment's: a 10 s window and a 60 s timeout make it 100 s.
        let pace = Pace { window: s(10), timeout: s(60) };
        assert_eq!(pace.burst(), s(100));
        let seen = Completions { lasts: s(0), done: None, free: 15 };
        assert_eq!(seen.estimate(s(0), pace).as_secs(), 404);
    }

    /// A burst of uploads on the in-memory CloudFront: every `every` seconds for `minutes`, a batch
    /// spends what the room's share lets it (all of it in one invalidation of ours), invalidations
    /// taking `completes` seconds. The times (s from the burst's start) when wildcards were spent.
    async fn burst_spending(every: u64, minutes: u64, completes: u64) -> Vec<u64> {
        let cf = MemoryCloudFront::new(&["E1"]);
        cf.set_completion(move |_| completes);
        let known = Known::new();
        let start = cf.now();
        // The burst's first batch finds nothing in progress and goes as exact paths.
        create(&cf, "cfinv-first", &["/a", "/b"]).await;
        let mut spent = Vec::new();
        for n in 0..minutes * 60 / every {
            cf.advance(every);
            let pacing = Some(Pacing { now: crate::cloudfront::memory::time_of(cf.now()), pace: Pace::DEFAULT });
            let share = room(&cf, &known, &id("E1"), None, pacing).await.unwrap().share();
            if share.wildcards > 0 {
                let paths: Vec<String> = (0..share.wildcards).map(|w| format!("/s{n}/{w}/*")).collect();
                let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
                create(&cf, &format!("cfinv-{n}"), &paths).await;
                spent.push(cf.now() - start);
            }
        }
        spent
    }

    /// Rule: a burst's first minutes do not spend the slots its tail needs. With hour-long
    /// completions and nothing completed yet, a 40-minute burst still finds a slot half an hour in,
    /// and the gaps between spendings grow with its age (at most half its age plus one burst span);
    /// spending as if completions took as long as the oldest in progress has lasted would spend all
    /// 15 within the first minutes and leave the tail waiting an hour.
    #[tokio::test]
    async fn a_bursts_first_minutes_leave_slots_for_its_tail() {
        let spent = burst_spending(30, 40, 3600).await;
        assert!(spent.len() <= API_MAX_WILDCARDS_IN_PROGRESS, "{spent:?}");
        assert!(*spent.last().unwrap() >= 30 * 60, "the tail still spends: {spent:?}");
        let mut before = 0;
        for &t in &spent {
            assert!(t - before <= (before + 120) / 2, "a gap of {} s after {before} s: {spent:?}", t - before);
            before = t;
        }
    }

    /// Rule: once invalidations are seen completing quickly, the pace follows them: a burst with
    /// 60-second completions spends again as soon as they complete, and is not held to the pace
    /// of a burst whose completions are unknown.
    #[tokio::test]
    async fn quick_completions_seen_loosen_the_pace() {
        let quick = burst_spending(30, 10, 60).await;
        let slow = burst_spending(30, 10, 3600).await;
        let quick_slots: usize = quick.len();
        assert!(quick_slots >= 2 * slow.len(), "quick {quick:?}, unknown {slow:?}");
        assert!(quick.windows(2).all(|w| w[1] - w[0] <= 60), "a slot every minute at most apart: {quick:?}");
    }

    /// Rule: a warm container, which lists only the pages since its last read, still paces by the
    /// completion it saw then: it spends as a cold container reading the whole list does.
    #[tokio::test]
    async fn a_warm_container_remembers_how_recently_one_completed() {
        let cf = MemoryCloudFront::new(&["E1"]);
        cf.set_completion(|_| 60);
        let warm = Known::new();
        let e1 = id("E1");
        let pacing = |cf: &MemoryCloudFront| {
            Some(Pacing { now: crate::cloudfront::memory::time_of(cf.now()), pace: Pace::DEFAULT })
        };
        create(&cf, "cfinv-a", &["/a/*"]).await;
        cf.advance(90);
        create(&cf, "cfinv-b", &["/b/*"]).await;
        let first = room(&cf, &warm, &e1, None, pacing(&cf)).await.unwrap();
        cf.advance(10);
        create(&cf, "cfinv-c", &["/c/*"]).await;
        let lists = cf.calls(Op::List);
        let warm_room = room(&cf, &warm, &e1, None, pacing(&cf)).await.unwrap();
        let cold_room = room(&cf, &Known::new(), &e1, None, pacing(&cf)).await.unwrap();
        assert_eq!(warm_room, cold_room, "after {first:?}");
        assert!(warm_room.spend >= 10, "one completed within 100 s: quick completions, {warm_room:?}");
        assert!(cf.calls(Op::List) - lists >= 2);
    }
}
