//! What a month of invalidations bills, and the monthly path budget (`MONTHLY_PATH_BUDGET`).
//!
//! CloudFront bills every path (a wildcard or a cache tag counts as one) past the account's first
//! 1,000 a month, whoever created it. A month is a calendar month in UTC, as AWS bills. What a
//! month billed on a distribution is read from CloudFront itself, with no database: its list of
//! invalidations, newest first, down to the month's start, and each one's paths (GetInvalidation,
//! once per container or run: [`Known`]). `cfinv cost` reads a whole month this way; the function
//! counts the paths of this project's generated references ([`reference::is_generated`]) and
//! carries the count in the container between invocations ([`Months`]), so a warm container
//! reads only the invalidations made since.
//!
//! The budget is soft. Once this month's count on a distribution reaches it, the plan is made for
//! fewest billed paths ([`crate::planner::Budget::thrifty`]): wildcards instead of exact paths,
//! which invalidate more objects than changed. Exact paths are still used when no wildcard slot
//! is free, and nothing is ever left uncovered to save money: a change costs at worst its paths.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use crate::cloudfront::{CloudFront, InvalidationSummary};
use crate::deadline::{self, Instant};
use crate::error::Error;
use crate::known::Known;
use crate::model::{PathCounts, TargetId};
use crate::planner::Settings;
use crate::quota;
use crate::reference;

/// The account's free paths a month (CloudFront pricing).
pub const FREE_PATHS_A_MONTH: usize = 1_000;

/// A calendar month in UTC: `start` inclusive, `end` exclusive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Month {
    pub start: SystemTime,
    pub end: SystemTime,
    label: String,
}

impl Month {
    /// The month `t` is in.
    pub fn containing(t: SystemTime) -> Month {
        let text = humantime::format_rfc3339_seconds(t).to_string();
        Month::parse(&text[..7]).expect("an RFC 3339 time starts with its month")
    }

    /// `YYYY-MM`, as `--month` takes it (the form of the AWS billing console and Cost Explorer).
    pub fn parse(text: &str) -> Result<Month, String> {
        let bad = || format!("{text:?} is not a month: give YYYY-MM, e.g. 2026-01");
        let (year, month) = text.trim().split_once('-').ok_or_else(bad)?;
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(year, 4) || !digits(month, 2) {
            return Err(bad());
        }
        let (y, m): (u32, u32) = (year.parse().map_err(|_| bad())?, month.parse().map_err(|_| bad())?);
        if !(1..=12).contains(&m) || y < 1970 {
            return Err(bad());
        }
        let (next_y, next_m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
        let at = |y: u32, m: u32| humantime::parse_rfc3339(&format!("{y:04}-{m:02}-01T00:00:00Z")).map_err(|_| bad());
        Ok(Month { start: at(y, m)?, end: at(next_y, next_m)?, label: format!("{y:04}-{m:02}") })
    }

    /// `YYYY-MM`.
    pub fn label(&self) -> &str {
        &self.label
    }

    pub fn contains(&self, t: SystemTime) -> bool {
        self.start <= t && t < self.end
    }
}

/// One invalidation as billed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Billed {
    pub id: String,
    pub create_time: SystemTime,
    pub caller_reference: String,
    pub paths: PathCounts,
}

impl Billed {
    /// Paths billed: every item, exact, wildcard or cache tag.
    pub fn billed(&self) -> usize {
        self.paths.exact + self.paths.wildcards
    }

    /// Whether this project generated its reference (see [`reference::is_generated`]).
    pub fn generated(&self) -> bool {
        reference::is_generated(&self.caller_reference)
    }
}

/// The summaries of `target`'s invalidations created in `month`, newest first: the list is paged
/// from the newest down to the month's start, or down to `stop` (everything below it is counted
/// already, [`Months`]).
async fn listed<C: CloudFront>(
    cf: &C,
    target: &TargetId,
    month: &Month,
    stop: Option<SystemTime>,
) -> Result<Vec<InvalidationSummary>, Error> {
    let floor = stop.map_or(month.start, |s| s.max(month.start));
    let mut out = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = cf.list_invalidations(target, marker.as_deref()).await?;
        for s in page.items {
            if s.create_time < floor {
                return Ok(out);
            }
            if month.contains(s.create_time) {
                out.push(s);
            }
        }
        match page.next_marker {
            Some(m) => marker = Some(m),
            None => return Ok(out),
        }
    }
}

/// Every invalidation created in `month` on `target`, newest first, each read once
/// ([`Known`]) [`quota::READ_AT_ONCE`] at a time. `progress` is told (read, of) as they come.
pub async fn month_invalidations<C: CloudFront>(
    cf: &C,
    known: &Known,
    target: &TargetId,
    month: &Month,
    mut progress: impl FnMut(usize, usize),
) -> Result<Vec<Billed>, Error> {
    let listed = listed(cf, target, month, None).await?;
    let ids: Vec<String> = listed.iter().map(|s| s.id.clone()).collect();
    let mut read = 0;
    quota::read_at_once(cf, known, target, &ids, None, |_| {
        read += 1;
        progress(read, ids.len());
    })
    .await?;
    let mut out = Vec::with_capacity(listed.len());
    for s in listed {
        let seen = known.seen(cf, target, &s.id).await?;
        out.push(Billed {
            id: s.id,
            create_time: seen.create_time,
            caller_reference: seen.caller_reference,
            paths: seen.counts,
        });
    }
    Ok(out)
}

/// What a container has counted of one distribution's month.
#[derive(Debug, Clone, Default)]
struct Count {
    month: String,
    /// The invalidations of the month read and counted (this project's or not).
    counted: HashSet<String>,
    /// Paths of this project's generated references among them.
    paths: usize,
    /// Everything created before this time is counted.
    listed_to: Option<SystemTime>,
}

/// Per distribution, this month's paths of this project's generated references, as counted so far
/// in this container (held by [`Known`]).
#[derive(Debug, Default)]
pub struct Months {
    by: Mutex<HashMap<String, Count>>,
}

impl Months {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Count>> {
        self.by.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The count for `target` in `month` (0 for a month not counted yet).
    pub fn paths(&self, target: &str, month: &Month) -> usize {
        self.lock().get(target).filter(|c| c.month == month.label).map_or(0, |c| c.paths)
    }
}

/// Brings the container's count of this month's paths on `target` up to date and returns it:
/// only the invalidations made since the last complete count are listed (a second before it
/// too: CloudFront's `CreateTime` is to the second, and two made in that second may be listed
/// either side of it), and only those not counted yet are read, until `until`. A read cut short
/// counts what it read (a lower bound: the budget comes into force a little late, never early)
/// and the next invocation carries on.
pub async fn count_month<C: CloudFront>(
    cf: &C,
    known: &Known,
    target: &TargetId,
    now: SystemTime,
    until: Option<Instant>,
) -> Result<usize, Error> {
    let month = Month::containing(now);
    let stop = {
        let mut by = known.months.lock();
        let c = by.entry(target.to_string()).or_default();
        if c.month != month.label {
            *c = Count { month: month.label.clone(), ..Count::default() };
        }
        c.listed_to.and_then(|t| t.checked_sub(Duration::from_secs(1)))
    };
    let listed = listed(cf, target, &month, stop).await?;
    let newest = listed.first().map(|s| s.create_time);
    let fresh: Vec<String> = {
        let by = known.months.lock();
        let counted = by.get(target.as_str()).map(|c| &c.counted);
        listed.iter().filter(|s| counted.is_none_or(|c| !c.contains(&s.id))).map(|s| s.id.clone()).collect()
    };
    let (_, read) = quota::read_at_once(cf, known, target, &fresh, until, |_| {}).await?;
    let mut by = known.months.lock();
    let c = by.entry(target.to_string()).or_default();
    if c.month != month.label {
        // The month turned while this read ran: the next invocation counts the new one.
        return Ok(0);
    }
    for id in &fresh {
        let Some(seen) = known.peek(target.as_str(), id) else { continue };
        if c.counted.insert(id.clone()) && reference::is_generated(&seen.caller_reference) {
            c.paths += seen.counts.exact + seen.counts.wildcards;
        }
    }
    if read == fresh.len() {
        if let Some(t) = newest {
            c.listed_to = Some(c.listed_to.map_or(t, |l| l.max(t)));
        }
    }
    Ok(c.paths)
}

/// Whether `MONTHLY_PATH_BUDGET` is in force on `target` now, as this container counted it:
/// `None` without a budget.
pub fn in_force(settings: &Settings, known: &Known, target: &TargetId, now: SystemTime) -> Option<bool> {
    let budget = settings.monthly_path_budget?;
    Some(known.months.paths(target.as_str(), &Month::containing(now)) >= budget.get())
}

/// The submit step's look at the budget, before it plans: with a budget, the month's count is
/// brought up to date within a sixth of the time left (the room read takes a third), and whether
/// it is in force is returned. Without a budget nothing is read. A count that cannot be read
/// leaves the budget as last counted: never a reason to hold a change.
pub async fn look<C: CloudFront>(
    cf: &C,
    known: &Known,
    settings: &Settings,
    target: &TargetId,
    now: SystemTime,
    deadline: Option<Instant>,
) -> bool {
    if settings.monthly_path_budget.is_none() {
        return false;
    }
    let share = deadline.map(|d| deadline::left(d) / 6);
    let until = share.map(|s| Instant::now() + s * 3 / 4);
    let counted = deadline::within(share, count_month(cf, known, target, now, until), |share| {
        Err(Error::CloudFront(format!("counting this month's paths took over {} ms", share.as_millis())))
    })
    .await;
    if let Err(e) = counted {
        tracing::warn!(distribution_id = %target, error_type = e.error_type(), error = %e, "this month's paths not readable; the monthly path budget stays as last counted");
    }
    in_force(settings, known, target, now) == Some(true)
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroUsize;

    use super::*;
    use crate::cloudfront::memory::{time_of, MemoryCloudFront, Op};
    use crate::cloudfront::CreateRequest;
    use crate::config::Config;
    use crate::model::{Change, ChangeKind};
    use crate::planner::Routing;
    use crate::prepare::{self, Asked};
    use crate::reference::Token;
    use crate::submit::{Outcome, Submitter};

    fn id(d: &str) -> TargetId {
        TargetId::parse(d).unwrap()
    }

    /// Seconds since the epoch of an RFC 3339 time (the in-memory CloudFront's clock).
    fn at(rfc3339: &str) -> u64 {
        humantime::parse_rfc3339(rfc3339).unwrap().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs()
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
    }

    async fn other(cf: &MemoryCloudFront, reference: &str, paths: &[String]) {
        let req = CreateRequest { target: &id("E1"), caller_reference: reference, paths };
        cf.create_invalidation(req, None).await.unwrap();
    }

    /// A deploy of `n` pages in one section: `n` exact paths when nothing is thrifty.
    fn deploy(section: &str, n: usize) -> Vec<Change> {
        (0..n)
            .map(|i| Change {
                message: 0,
                bucket: Some("b".into()),
                key: format!("docs/{section}/page-{i:02}.html"),
                kind: ChangeKind::Created,
                version: Some(format!("{section}-{i:04}")),
                time: None,
            })
            .collect()
    }

    /// Submits `changes` as the function does at the in-memory CloudFront's now: the paths
    /// created, and whether every change is covered by them.
    async fn submit(
        cf: &MemoryCloudFront,
        known: &Known,
        settings: &Settings,
        changes: &[Change],
    ) -> (Vec<String>, bool) {
        let target = id("E1");
        let asked = Asked::Changes { changes, routing: Routing::Keys { distribution_id: Some(&target) } };
        let prepared = prepare::prepare(settings, asked, None, Token::Fixed("r"), false).unwrap();
        let s = &prepared.submissions[0];
        let submitter = Submitter {
            cf,
            known,
            settings,
            deadline: None,
            now: Some(time_of(cf.now())),
            pace: crate::quota::Pace::DEFAULT,
        };
        match submitter.submit(s).await.unwrap().outcome {
            Outcome::Created(inv) => {
                let covered = s.covered_by(&inv.paths);
                (inv.paths, covered)
            }
            other => panic!("not created: {other:?}"),
        }
    }

    fn wildcards(paths: &[String]) -> usize {
        PathCounts::of(paths).wildcards
    }

    /// Rule: below the budget, a deploy's exact paths; once this month's paths of this
    /// project's generated references reach it — others' and caller-given references and last
    /// month's not counted — the plan prefers wildcards (fewer billed paths) and still covers every
    /// change; with no wildcard slot free, exact paths all the same; a new month starts at zero.
    #[test]
    fn the_plan_switches_to_wildcards_at_the_budget_and_never_leaves_a_change_uncovered() {
        block_on(async {
            let settings =
                Config::from_pairs(&[("DISTRIBUTION_ID", "E1"), ("MONTHLY_PATH_BUDGET", "40")]).unwrap().planner;
            let cf = MemoryCloudFront::new(&["E1"]);
            cf.set_completion(|_| 5);
            let known = Known::new();
            let many = |prefix: &str, n: usize| -> Vec<String> { (0..n).map(|i| format!("/{prefix}/{i}")).collect() };
            // Last month: this project's 500 paths. This month: another tool's 300 and a caller's
            // own reference with this project's prefix, 100.
            cf.set_now(at("2026-02-27T10:00:00Z"));
            other(&cf, "cfinv-0123456789abcdef0123456789abcdef01234567", &many("feb", 500)).await;
            cf.set_now(at("2026-03-02T10:00:00Z"));
            other(&cf, "deploy-tool-1", &many("tool", 300)).await;
            other(&cf, "cfinv-release-7", &many("release", 100)).await;

            // (deploy, pages, the budget in force): this month's paths before each are those of
            // the deploys before it.
            let cases = [("a", 20, false), ("b", 20, false), ("c", 20, true), ("d", 30, true)];
            let mut billed = 0;
            for (section, n, thrifty) in cases {
                cf.advance(60);
                let now = time_of(cf.now());
                assert_eq!(count_month(&cf, &known, &id("E1"), now, None).await.unwrap(), billed, "before {section}");
                assert_eq!(in_force(&settings, &known, &id("E1"), now), Some(thrifty), "before {section}");
                let (paths, covered) = submit(&cf, &known, &settings, &deploy(section, n)).await;
                assert!(covered, "deploy {section}: a change left uncovered by {paths:?}");
                if thrifty {
                    assert!(paths.len() <= 15 && paths.len() < n, "deploy {section}: {} paths: {paths:?}", paths.len());
                    assert!(wildcards(&paths) > 0, "deploy {section}: {paths:?}");
                } else {
                    assert_eq!((paths.len(), wildcards(&paths)), (n, 0), "deploy {section}: {paths:?}");
                }
                billed += paths.len();
            }

            // No wildcard slot free (another tool's 15 in progress): exact paths, every change covered.
            cf.advance(60);
            cf.set_completion(|_| 3_600);
            other(&cf, "tool-wild", &(0..15).map(|i| format!("/w{i}/*")).collect::<Vec<_>>()).await;
            let (paths, covered) = submit(&cf, &known, &settings, &deploy("e", 20)).await;
            assert!(in_force(&settings, &known, &id("E1"), time_of(cf.now())).unwrap());
            assert!(covered);
            assert_eq!((paths.len(), wildcards(&paths)), (20, 0), "{paths:?}");

            // April: nothing counted yet, exact paths again.
            cf.set_completion(|_| 5);
            cf.set_now(at("2026-04-01T00:00:05Z"));
            let (paths, covered) = submit(&cf, &known, &settings, &deploy("f", 20)).await;
            assert!(covered);
            assert_eq!((paths.len(), wildcards(&paths)), (20, 0), "{paths:?}");
            assert_eq!(in_force(&settings, &known, &id("E1"), time_of(cf.now())), Some(false));
        });
    }

    /// Rule: the count needs no database — a cold container derives the same count from
    /// CloudFront's list — and a warm one reads only what was made since it last counted.
    #[test]
    fn the_count_is_derived_from_cloudfront_and_carried_in_the_container() {
        block_on(async {
            let cf = MemoryCloudFront::new(&["E1"]);
            cf.set_completion(|_| 1);
            cf.set_now(at("2026-03-01T00:00:00Z"));
            let ours = |n: u32| format!("cfinv-{:040x}", n);
            for n in 0..150u32 {
                other(&cf, &ours(n), &[format!("/p/{n}"), format!("/q/{n}*")]).await;
                cf.advance(1);
            }
            let now = time_of(cf.now());
            let warm = Known::new();
            assert_eq!(count_month(&cf, &warm, &id("E1"), now, None).await.unwrap(), 300);
            let gets = cf.calls(Op::Get);
            for n in 150..153u32 {
                other(&cf, &ours(n), &[format!("/p/{n}")]).await;
            }
            cf.advance(1);
            let now = time_of(cf.now());
            assert_eq!(count_month(&cf, &warm, &id("E1"), now, None).await.unwrap(), 303);
            assert_eq!(cf.calls(Op::Get) - gets, 3, "a warm container reads only the new ones");
            assert_eq!(count_month(&cf, &Known::new(), &id("E1"), now, None).await.unwrap(), 303, "a cold one agrees");
            let settings = |b: usize| Settings {
                monthly_path_budget: NonZeroUsize::new(b),
                ..Config::from_pairs(&[]).unwrap().planner
            };
            assert_eq!(in_force(&settings(303), &warm, &id("E1"), now), Some(true));
            assert_eq!(in_force(&settings(304), &warm, &id("E1"), now), Some(false));
            assert_eq!(in_force(&settings(0), &warm, &id("E1"), now), None, "no budget");
        });
    }

    /// Rule: a month is a calendar month in UTC, given as YYYY-MM.
    #[test]
    fn months_are_utc_calendar_months() {
        let m = Month::parse("2026-12").unwrap();
        assert_eq!(
            (m.start, m.end),
            (
                humantime::parse_rfc3339("2026-12-01T00:00:00Z").unwrap(),
                humantime::parse_rfc3339("2027-01-01T00:00:00Z").unwrap()
            )
        );
        assert_eq!(Month::containing(humantime::parse_rfc3339("2026-02-28T23:59:59Z").unwrap()).label(), "2026-02");
        assert!(Month::parse("2026-02").unwrap().contains(humantime::parse_rfc3339("2026-02-28T23:59:59Z").unwrap()));
        assert!(!Month::parse("2026-02").unwrap().contains(humantime::parse_rfc3339("2026-03-01T00:00:00Z").unwrap()));
        for bad in ["2026-13", "2026-1", "26-01", "2026/01", "January", "", "2026-00", "2026-01-01"] {
            assert!(Month::parse(bad).unwrap_err().contains("YYYY-MM"), "{bad:?}");
        }
    }
}
