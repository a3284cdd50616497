//! What a month of invalidations bills, and the monthly path budget (`MONTHLY_PATH_BUDGET`).
//!
//! CloudFront bills every path (a wildcard or a cache tag counts as one) past the account's first
//! 1,000 a month, whoever created it. A month is a calendar month in UTC, as AWS bills. What a
//! month billed on a distribution is read from CloudFront itself, with no database: its list of
//! invalidations, newest first, down to the month's start, and each one's paths (GetInvalidation,
//! once per container or run: [`Known`]). `cfinv cost` reads a whole month this way; the function
//! counts the paths of this project's generated references ([`reference::is_generated`]) and
//! carries the count in the container between invocations ([`crate::known::Months`]), so a warm container
//! reads only the invalidations made since, and a cold one in a busy month counts it over several
//! invocations, a bounded part in each ([`count_month`]).
//!
//! The budget is soft. Once this month's count on a distribution reaches it, the plan is made for
//! fewest billed paths ([`crate::planner::Budget::thrifty`]): wildcards instead of exact paths,
//! which invalidate more objects than changed. Exact paths are still used when no wildcard slot
//! is free, and nothing is ever left uncovered to save money: a change costs at worst its paths.

use std::time::SystemTime;

use crate::cloudfront::{CloudFront, InvalidationSummary, NewestFirst};
use crate::deadline::{self, Instant};
use crate::error::Error;
use crate::known::{fresh_on, Known, Pass};
use crate::model::{PathCounts, TargetId};
use crate::planner::Settings;
use crate::quota;
use crate::reference;

pub use crate::month::Month;

/// The account's free paths a month (CloudFront pricing).
pub const FREE_PATHS_A_MONTH: usize = 1_000;

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
/// from the newest down to the month's start.
async fn listed<C: CloudFront>(cf: &C, target: &TargetId, month: &Month) -> Result<Vec<InvalidationSummary>, Error> {
    let mut out = NewestFirst::new(cf, target).until(|s| s.create_time < month.start).await?;
    out.retain(|s| month.contains(s.create_time));
    Ok(out)
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
    let listed = listed(cf, target, month).await?;
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

/// How many pages of the list (100 invalidations each) one count reads at most. A month of
/// thousands of invalidations is then counted over several invocations, each carrying on where
/// the last stopped, instead of one that lists the whole month and never gets to count it
/// within its share of the time.
pub const PAGES_AT_ONCE: usize = 10;

/// Brings the container's count of this month's paths on `target` closer to the month's and
/// returns it. A pass pages the list from the newest down to what is counted already (the
/// month's start in a cold container), reading each invalidation not counted yet
/// ([`quota::READ_AT_ONCE`] at a time) and counting it page by page; one call reads at most
/// [`PAGES_AT_ONCE`] pages and stops reading at `until`, and the next call carries the pass on
/// from the page it stopped at (kept in the container: a call cut short anywhere keeps every page
/// it finished). Only once a pass has reached what was counted before is the month counted whole
/// down to the pass's newest; what was made since is what the next pass reads.
///
/// Until then the count is a lower bound: every path counted is one the month billed. The budget
/// may come into force as soon as the lower bound reaches it, since the month's paths have then
/// reached it too; it comes late, never early, and it is soft (a thrifty plan still covers every
/// change), so a count short of the month's costs a few exact paths, never a stale object.
///
/// A parent distribution's count is what its own list holds. Whether that list also holds its
/// tenants' invalidations is *unsettled*; where it does, their paths count on the parent too and
/// the parent's budget comes into force early: wildcards preferred sooner, so more objects
/// invalidated and fewer paths billed, still never a change left uncovered.
pub async fn count_month<C: CloudFront>(
    cf: &C,
    known: &Known,
    target: &TargetId,
    now: SystemTime,
    until: Option<Instant>,
) -> Result<usize, Error> {
    let month = Month::containing(now);
    let (pass, floor) = known.months.resume(target.as_str(), &month);
    let kept = pass.marker.clone();
    let mut top = pass.top;
    let mut pages = NewestFirst::from_marker(cf, target, pass.marker);
    for _ in 0..PAGES_AT_ONCE {
        if until.is_some_and(|u| Instant::now() >= u) {
            break;
        }
        let at = pages.marker().map(str::to_string);
        let page = match pages.next_page().await {
            Ok(Some(page)) => page,
            Ok(None) => break,
            Err(e) => {
                // A kept marker CloudFront no longer takes would fail every later pass: the next
                // one starts again from the newest (what is counted stays counted). A throttle
                // says nothing against the marker, so the pass keeps it; any other failure of it
                // (CloudFront's answer to a stale marker is not documented) restarts the pass,
                // which costs one call's progress, never a path counted twice.
                if at.is_some() && at == kept && !matches!(e, Error::Throttled(_)) {
                    known.months.record(known, target.as_str(), &month, &[], Pass { marker: None, top });
                }
                return Err(e);
            }
        };
        if at.is_some() && page.is_empty() {
            // A kept marker that names no page does not mean the month ended: start again from the
            // newest rather than take the month as counted whole.
            known.months.record(known, target.as_str(), &month, &[], Pass { marker: None, top });
            break;
        }
        top = top.or(page.first().map(|s| s.create_time));
        let (fresh, reaches_floor) = fresh_on(&known.months, target.as_str(), &month, &page, floor);
        let (_, read) = quota::read_at_once(cf, known, target, &fresh, until, |_| {}).await?;
        // A page read in part is listed again by the next call; those read are counted already.
        let page_read = read == fresh.len();
        let next = Pass { marker: if page_read { pages.marker().map(str::to_string) } else { at }, top };
        if !known.months.record(known, target.as_str(), &month, &fresh, next) {
            return Ok(0);
        }
        if !page_read {
            break;
        }
        if reaches_floor || pages.ended() {
            // An empty list has nothing of the month: counted whole from its start.
            known.months.passed(target.as_str(), &month, top.unwrap_or(month.start));
            break;
        }
    }
    Ok(known.months.paths(target.as_str(), &month))
}

/// Whether `MONTHLY_PATH_BUDGET` is in force on `target` now, as this container counted it:
/// `None` without a budget.
pub fn in_force(settings: &Settings, known: &Known, target: &TargetId, now: SystemTime) -> Option<bool> {
    let budget = settings.monthly_path_budget?;
    Some(known.months.paths(target.as_str(), &Month::containing(now)) >= budget.get())
}

/// The submit step's look at the budget, before it plans: with a budget, the month's count is
/// carried on within a sixth of the time left (the room read takes a third; a busy month takes
/// several invocations, [`count_month`]), and whether it is in force is returned. Without a
/// budget nothing is read. A count that cannot be read leaves the budget as last counted: never
/// a reason to hold a change.
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
    use std::time::Duration;

    use super::*;
    use crate::cloudfront::memory::{time_of, MemoryCloudFront, Op, Slow};
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
        submit_by(cf, time_of(cf.now()), None, known, settings, changes).await
    }

    /// [`submit`] as an invocation with `deadline` does, on CloudFront's clock at `now`.
    async fn submit_by<C: CloudFront>(
        cf: &C,
        now: SystemTime,
        deadline: Option<Instant>,
        known: &Known,
        settings: &Settings,
        changes: &[Change],
    ) -> (Vec<String>, bool) {
        let target = id("E1");
        let asked = Asked::Changes { changes, routing: Routing::Keys { distribution_id: Some(&target) } };
        let prepared = prepare::prepare(settings, asked, None, Token::Fixed("r"), false).unwrap();
        let s = &prepared.submissions[0];
        let submitter = Submitter { cf, known, settings, deadline, now: Some(now), pace: crate::quota::Pace::DEFAULT };
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

    /// Rule: a count reads at most PAGES_AT_ONCE pages a call and the next call carries on where
    /// it stopped: after k calls, k × PAGES_AT_ONCE pages of the month are counted (a lower bound
    /// of its paths), the month is counted whole only once a pass reaches last month's
    /// invalidations, and then a new one costs one page.
    #[test]
    fn a_count_reads_a_bounded_number_of_pages_a_call_and_carries_on_where_it_stopped() {
        let per_call = PAGES_AT_ONCE * 100;
        // (this project's one-path invalidations this month, calls until counted whole): the pass
        // reaches last month on the page after the month's last one.
        let cases = [(0, 1), (150, 1), (per_call - 1, 1), (per_call, 2), (2 * per_call + 500, 3)];
        for (n, calls) in cases {
            block_on(async {
                let cf = MemoryCloudFront::new(&["E1"]);
                cf.set_completion(|_| 1);
                cf.set_now(at("2026-02-28T23:00:00Z"));
                for i in 0..3 {
                    other(&cf, &format!("cfinv-{:040x}", 1_000_000 + i), &[format!("/feb/{i}")]).await;
                }
                cf.set_now(at("2026-03-01T00:00:00Z"));
                for i in 0..n {
                    other(&cf, &format!("cfinv-{i:040x}"), &[format!("/p/{i}")]).await;
                    cf.advance(1);
                }
                let (month, known) = (Month::containing(time_of(cf.now())), Known::new());
                for call in 1..=calls {
                    let lists = cf.calls(Op::List);
                    let counted = count_month(&cf, &known, &id("E1"), time_of(cf.now()), None).await.unwrap();
                    assert!(cf.calls(Op::List) - lists <= PAGES_AT_ONCE, "{n}: call {call} listed too much");
                    assert_eq!(counted, n.min(call * per_call), "{n}: after call {call}");
                    assert_eq!(known.months.whole("E1", &month), call == calls, "{n}: whole after call {call}");
                }
                other(&cf, "cfinv-ffffffffffffffffffffffffffffffffffffffff", &["/new".to_string()]).await;
                cf.advance(1);
                let lists = cf.calls(Op::List);
                assert_eq!(count_month(&cf, &known, &id("E1"), time_of(cf.now()), None).await.unwrap(), n + 1);
                assert_eq!(cf.calls(Op::List) - lists, 1, "{n}: what is new since, one page");
            });
        }
    }

    /// Rule: a pass whose kept marker CloudFront refuses, or that names no page, starts again from
    /// the newest instead of taking the month as counted whole; nothing counted is lost or read
    /// twice, and the count still converges to the month's paths.
    #[test]
    fn a_kept_marker_that_fails_starts_the_pass_again_and_loses_nothing() {
        type Spoil = fn(&MemoryCloudFront, &Known);
        let cases: [(&str, Spoil); 2] = [
            ("refused", |cf, _| cf.script(Op::List, Error::CloudFront("InvalidArgument: marker".into()))),
            ("names no page", |_, known| {
                known.months.lock().get_mut("E1").unwrap().pass.marker = Some("INOWHERE".into());
            }),
        ];
        let n = 2 * PAGES_AT_ONCE * 100 + 500;
        for (why, spoil) in cases {
            block_on(async {
                let cf = MemoryCloudFront::new(&["E1"]);
                cf.set_completion(|_| 1);
                cf.set_now(at("2026-03-01T00:00:00Z"));
                for i in 0..n {
                    other(&cf, &format!("cfinv-{i:040x}"), &[format!("/p/{i}")]).await;
                    cf.advance(1);
                }
                let (now, month, known) = (time_of(cf.now()), Month::containing(time_of(cf.now())), Known::new());
                let gets = cf.calls(Op::Get);
                assert_eq!(count_month(&cf, &known, &id("E1"), now, None).await.unwrap(), PAGES_AT_ONCE * 100);
                spoil(&cf, &known);
                let _ = count_month(&cf, &known, &id("E1"), now, None).await;
                assert_eq!(known.months.paths("E1", &month), PAGES_AT_ONCE * 100, "{why}: nothing lost");
                assert!(!known.months.whole("E1", &month), "{why}: not counted whole");
                let mut calls = 0;
                while !known.months.whole("E1", &month) && calls < 10 {
                    count_month(&cf, &known, &id("E1"), now, None).await.unwrap();
                    calls += 1;
                }
                assert_eq!(known.months.paths("E1", &month), n, "{why}: the month's paths after {calls} calls");
                assert_eq!(calls, 3, "{why}: the pass started again from the newest (its first pages counted)");
                assert_eq!(cf.calls(Op::Get) - gets, n, "{why}: each invalidation read once");
            });
        }
    }

    /// Rule: a cold container in a month of 5,500 invalidations — more than listing alone can
    /// page in the sixth of an invocation the count may take — counts a part in each invocation
    /// and carries on where the last stopped: the count only grows and never passes the month's
    /// paths, the budget comes into force within a few invocations, as soon as the count reaches
    /// it, every deploy meanwhile is covered whole, and the count converges to the month's exact
    /// paths, the deploys made meanwhile included.
    #[tokio::test(start_paused = true)]
    async fn a_busy_month_is_counted_over_invocations_and_the_budget_comes_into_force_early() {
        let settings =
            Config::from_pairs(&[("DISTRIBUTION_ID", "E1"), ("MONTHLY_PATH_BUDGET", "500")]).unwrap().planner;
        let cf = MemoryCloudFront::new(&["E1"]);
        cf.set_completion(|_| 1);
        cf.set_now(at("2026-03-01T00:00:00Z"));
        // Over ten days, four in five this project's (a path each), the fifth another tool's.
        for n in 0..5_500u32 {
            let reference = if n % 5 == 4 { format!("tool-{n}") } else { format!("cfinv-{n:040x}") };
            other(&cf, &reference, &[format!("/old/{n}")]).await;
            cf.advance(150);
        }
        let mut billed = 4_400;
        let (slow, known) = (Slow(&cf), Known::new());
        let month = Month::containing(time_of(cf.now()));
        let (mut counted, mut in_force_from, mut whole_at) = (0, None, None);
        for invocation in 1..=60 {
            cf.advance(60);
            let deadline = Some(Instant::now() + Duration::from_secs(30));
            let changes = deploy(&format!("s{invocation}"), 20);
            let (paths, covered) = submit_by(&slow, time_of(cf.now()), deadline, &known, &settings, &changes).await;
            assert!(covered, "invocation {invocation}: a change left uncovered by {paths:?}");
            let now = known.months.paths("E1", &month);
            assert!(counted <= now && now <= billed, "invocation {invocation}: {counted}, then {now} of {billed}");
            counted = now;
            let thrifty = in_force(&settings, &known, &id("E1"), time_of(cf.now())) == Some(true);
            assert_eq!(thrifty, counted >= 500, "invocation {invocation}: in force as soon as the count reaches it");
            if thrifty {
                in_force_from.get_or_insert(invocation);
                assert!(paths.len() < 20 && wildcards(&paths) > 0, "invocation {invocation}: {paths:?}");
            } else {
                assert_eq!(paths.len(), 20, "invocation {invocation}: {paths:?}");
            }
            let made = paths.len();
            billed += made;
            if known.months.whole("E1", &month) && counted == billed - made {
                whole_at = Some((invocation, made));
                break;
            }
        }
        assert!(in_force_from.is_some_and(|i| i <= 4), "in force from invocation {in_force_from:?}");
        // The count before the last deploy, which the next invocation counts.
        let (whole_at, last) = whole_at.expect("the count converges to the month's paths");
        assert!(whole_at > 4, "counted whole at invocation {whole_at}: more than one invocation's part");
        let read = month_invalidations(&cf, &Known::new(), &id("E1"), &month, |_, _| {}).await.unwrap();
        let generated: usize = read.iter().filter(|b| b.generated()).map(Billed::billed).sum();
        assert_eq!((counted + last, generated), (billed, billed), "the month's exact paths, as cfinv cost reads them");
    }

    /// Rule: a throttle on the kept marker's page (CloudFront's rate limit, after the SDK's
    /// retries) says nothing against the marker: the next call carries on from it instead of
    /// listing again the newest pages, already counted.
    #[test]
    fn a_throttle_on_the_kept_marker_keeps_the_pass() {
        let per_call = PAGES_AT_ONCE * 100;
        block_on(async {
            let cf = MemoryCloudFront::new(&["E1"]);
            cf.set_completion(|_| 1);
            cf.set_now(at("2026-03-01T00:00:00Z"));
            for i in 0..4 * per_call {
                other(&cf, &format!("cfinv-{i:040x}"), &[format!("/p/{i}")]).await;
                cf.advance(1);
            }
            let (now, known) = (time_of(cf.now()), Known::new());
            for _ in 0..2 {
                count_month(&cf, &known, &id("E1"), now, None).await.unwrap();
            }
            assert_eq!(known.months.paths("E1", &Month::containing(now)), 2 * per_call);
            cf.script(Op::List, Error::Throttled("Rate exceeded".into()));
            assert!(count_month(&cf, &known, &id("E1"), now, None).await.is_err());
            let counted = count_month(&cf, &known, &id("E1"), now, None).await.unwrap();
            assert_eq!(counted, 3 * per_call, "the next call carries on from the kept marker");
        });
    }

    /// Rule: a pass under way when the month turns is dropped, and the new month is counted from
    /// its start, whole, with nothing of the old month in it.
    #[test]
    fn a_pass_under_way_when_the_month_turns_counts_the_new_month_alone() {
        block_on(async {
            let cf = MemoryCloudFront::new(&["E1"]);
            cf.set_completion(|_| 1);
            cf.set_now(at("2026-03-31T22:00:00Z"));
            for i in 0..2_500u32 {
                other(&cf, &format!("cfinv-{i:040x}"), &[format!("/p/{i}")]).await;
                cf.advance(1);
            }
            let known = Known::new();
            let march = time_of(cf.now());
            assert_eq!(count_month(&cf, &known, &id("E1"), march, None).await.unwrap(), PAGES_AT_ONCE * 100);
            cf.set_now(at("2026-04-01T00:00:00Z"));
            for i in 0..3u32 {
                other(&cf, &format!("cfinv-{:040x}", 10_000 + i), &[format!("/apr/{i}"), format!("/apr/{i}/*")]).await;
                cf.advance(1);
            }
            let april = time_of(cf.now());
            assert_eq!(count_month(&cf, &known, &id("E1"), april, None).await.unwrap(), 6);
            assert!(known.months.whole("E1", &Month::containing(april)));
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
