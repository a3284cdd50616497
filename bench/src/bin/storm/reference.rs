//! `--reference`: the same storm run by an offline schedule that knows every upload in advance.
//!
//! Under the same quotas, other tools and completion rule, it waits until the oldest upload not
//! yet covered is `L` seconds old, then covers everything pending with one invalidation: the
//! planner's request forms of each key (`planner::covers_of_key`) if they fit the room (and one
//! request), else one `/*` if a wildcard fits, else it waits for room. It has no queue, latency
//! or deadline. Each `L` gives a feasible schedule; the reference is the one whose max staleness is
//! lowest (the smallest such `L` on a tie), an upper bound on what any invalidator can reach, while
//! the completion time is a lower bound.
//!
//! Two references are searched. The windowed one, which `ratio` is taken against, tries `L` from
//! the function's batching window up: like Lambda's poller, which opens a batch at its oldest
//! message and invokes once the window has passed, it covers nothing before the oldest pending
//! upload has waited the window. The windowless one (every `L` from 0) is the physical limit
//! (`ratio_unwindowed`). Both draw completions as the function does, by the creator's ordinal
//! (`workload::completion`): neither can choose its luck by choosing when to create.
//!
//! One addition to that rule: when another tool keeps every wildcard slot and the pending
//! paths outgrow the exact room, the rule as stated waits for ever (everything pending never fits
//! again). A second variant then sends the oldest pending uploads whose paths fit the exact room
//! (`partial`); it is used only when strictly better, and the JSON says so (`reference_partial`).

use std::collections::{BTreeSet, HashMap, HashSet};

use cf_invalidator::model::{API_MAX_PATHS, API_MAX_PATHS_IN_PROGRESS, API_MAX_WILDCARDS_IN_PROGRESS};

use serde_json::{json, Value};

use crate::measure;
use crate::workload::{completion, hold_batches, Creator, Storm, SELF};
use crate::world::{hold_creator, Made};

/// The lags tried: every second up to a minute, then coarser (the optimum found on the corpus
/// storms lies between 4 and 30 s; the coarse steps only guard against storms where it does not).
pub fn lags() -> Vec<u64> {
    (0..60).chain((60..300).step_by(5)).chain((300..=1800).step_by(30)).collect()
}

/// Does an invalidation of `paths` cover every form of an upload?
fn covers(exact: &HashSet<&str>, prefixes: &[&str], forms: &[(String, bool)]) -> bool {
    forms.iter().all(|(text, wildcard)| {
        (!wildcard && exact.contains(text.as_str())) || prefixes.iter().any(|p| text.starts_with(p))
    })
}

/// What the schedule has made, and what is in progress: (completes at, exact paths, wildcards).
struct Schedule<'a> {
    storm: &'a Storm,
    made: Vec<Made>,
    ordinals: Vec<u64>,
    busy: Vec<(u64, usize, usize)>,
}

impl Schedule<'_> {
    /// The room at second `t`: (exact paths, wildcards).
    fn room(&self, t: u64) -> (usize, usize) {
        let (be, bw) = self.busy.iter().filter(|b| b.0 > t).fold((0, 0), |(e, w), b| (e + b.1, w + b.2));
        (API_MAX_PATHS_IN_PROGRESS.saturating_sub(be), API_MAX_WILDCARDS_IN_PROGRESS.saturating_sub(bw))
    }

    /// Creates at second `t` if the room holds it, as CloudFront would.
    fn create(&mut self, creator: Creator, t: u64, paths: Vec<String>) -> bool {
        let wild = paths.iter().filter(|p| p.ends_with('*')).count();
        let exact = paths.len() - wild;
        let (room_exact, room_wild) = self.room(t);
        if exact > room_exact || wild > room_wild {
            return false;
        }
        let storm = self.storm;
        let stays = if creator == hold_creator(storm) {
            storm.hold
        } else {
            let o = &mut self.ordinals[creator as usize];
            *o += 1;
            completion(storm.span, storm.seed, creator, *o - 1)
        };
        self.busy.push((t + stays, exact, wild));
        self.made.push(Made {
            creator,
            invocation: None,
            created_ms: t * 1000,
            completes_ms: (t + stays) * 1000,
            paths,
        });
        true
    }
}

/// The distinct request forms of the pending uploads, kept as uploads come and go.
#[derive(Default)]
struct Forms<'a> {
    counts: HashMap<&'a (String, bool), usize>,
    exact: usize,
    wild: usize,
}

impl<'a> Forms<'a> {
    fn add(&mut self, covers: &'a [(String, bool)]) {
        for c in covers {
            let n = self.counts.entry(c).or_default();
            if *n == 0 {
                *if c.1 { &mut self.wild } else { &mut self.exact } += 1;
            }
            *n += 1;
        }
    }

    fn remove(&mut self, covers: &'a [(String, bool)]) {
        for c in covers {
            let n = self.counts.get_mut(c).expect("added before");
            *n -= 1;
            if *n == 0 {
                self.counts.remove(c);
                *if c.1 { &mut self.wild } else { &mut self.exact } -= 1;
            }
        }
    }
}

/// The schedule for one lag: every invalidation made (its own and other tools'), and the max over
/// uploads of the completion of the invalidation that took it off the pending list (`None`: some
/// upload is never covered within the horizon).
pub fn schedule(storm: &Storm, lag: u64, partial: bool) -> (Vec<Made>, Option<u64>) {
    schedule_within(storm, lag, partial, u64::MAX)
}

/// [`schedule`], given up (`None`) once its max staleness must exceed `bound` s: a lag worse
/// than the best found so far need not be run to its end.
fn schedule_within(storm: &Storm, lag: u64, partial: bool, bound: u64) -> (Vec<Made>, Option<u64>) {
    let mut w = Schedule { storm, made: Vec::new(), ordinals: vec![0; storm.others.len() + 2], busy: Vec::new() };
    if storm.hold > 0 {
        for paths in hold_batches() {
            w.create(hold_creator(storm), 0, paths);
        }
    }
    let other_paths: Vec<Vec<String>> = storm.others.iter().enumerate().map(|(k, o)| o.paths(k)).collect();
    // Uploads by arrival; pending: arrived, not yet covered (by arrival, then index).
    let mut order: Vec<usize> = (0..storm.uploads.len()).collect();
    order.sort_by_key(|&i| storm.uploads[i].arrival);
    let mut next = 0;
    let mut pending: BTreeSet<(u64, usize)> = BTreeSet::new();
    let mut forms = Forms::default();
    let mut worst = 0_u64;
    // The last completion of an invalidation that took an upload off the pending list.
    let mut last_done = 0_u64;
    for t in 0..=storm.horizon {
        w.busy.retain(|b| b.0 > t);
        // Other tools first, before this second's uploads; what they cover is no longer pending.
        for (k, o) in storm.others.iter().enumerate() {
            if o.due(t) && w.create(k as Creator + 1, t, other_paths[k].clone()) {
                let m = w.made.last().expect("just made");
                let exact: HashSet<&str> = m.paths.iter().filter(|p| !p.ends_with('*')).map(String::as_str).collect();
                let prefixes: Vec<&str> = m.paths.iter().filter_map(|p| p.strip_suffix('*')).collect();
                let done = m.completes_ms / 1000;
                pending.retain(|&(at, i)| {
                    let covered = covers(&exact, &prefixes, &storm.uploads[i].covers);
                    if covered {
                        worst = worst.max(done - at);
                        last_done = last_done.max(done);
                        forms.remove(&storm.uploads[i].covers);
                    }
                    !covered
                });
            }
        }
        while next < order.len() && storm.uploads[order[next]].arrival <= t {
            let i = order[next];
            pending.insert((storm.uploads[i].arrival, i));
            forms.add(&storm.uploads[i].covers);
            next += 1;
        }
        let Some(&(oldest, _)) = pending.first() else { continue };
        if worst > bound || t - oldest > bound {
            return (w.made, None);
        }
        if t < oldest + lag {
            continue;
        }
        // The paths when they fit (the room is checked before they are built: most seconds of a
        // wait have no room), else one `/*` when a wildcard fits, else wait.
        let (room_exact, room_wild) = w.room(t);
        let fits = forms.exact + forms.wild <= API_MAX_PATHS && forms.exact <= room_exact && forms.wild <= room_wild;
        if fits || room_wild > 0 {
            let paths = if fits { forms.counts.keys().map(|c| path_of(c)).collect() } else { vec!["/*".to_string()] };
            if w.create(SELF, t, paths) {
                let done = w.made.last().expect("just made").completes_ms / 1000;
                for &(at, _) in &pending {
                    worst = worst.max(done - at);
                }
                last_done = last_done.max(done);
                pending.clear();
                forms = Forms::default();
            }
        } else if partial && room_exact > 0 {
            // The oldest pending uploads whose forms fit the exact room together.
            let mut part = Forms::default();
            let mut taken = Vec::new();
            for &(at, i) in &pending {
                part.add(&storm.uploads[i].covers);
                if part.exact > room_exact || part.wild > room_wild || part.exact + part.wild > API_MAX_PATHS {
                    break;
                }
                taken.push((at, i));
            }
            if !taken.is_empty() {
                let paths = part_paths(&storm.uploads, &taken);
                if w.create(SELF, t, paths) {
                    let done = w.made.last().expect("just made").completes_ms / 1000;
                    for (at, i) in taken {
                        worst = worst.max(done - at);
                        pending.remove(&(at, i));
                        forms.remove(&storm.uploads[i].covers);
                    }
                    last_done = last_done.max(done);
                }
            }
        }
    }
    let feasible = pending.is_empty() && next == order.len() && last_done <= storm.horizon;
    (w.made, feasible.then_some(worst))
}

/// The path that covers one request form: its text, and `*` after it for a wildcard form (the
/// planner's cover of a key cut before a character no exact path can be trusted with, `~`).
fn path_of((text, wildcard): &(String, bool)) -> String {
    if *wildcard {
        format!("{text}*")
    } else {
        text.clone()
    }
}

/// The distinct forms of some uploads, as paths.
fn part_paths(uploads: &[crate::workload::Upload], taken: &[(u64, usize)]) -> Vec<String> {
    let set: BTreeSet<&(String, bool)> = taken.iter().flat_map(|&(_, i)| &uploads[i].covers).collect();
    set.into_iter().map(path_of).collect()
}

/// A reference found: its lag, whether it is the partial variant, its max staleness (s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    pub lag: u64,
    pub partial: bool,
    pub worst: u64,
}

/// The lags a reference with a batching window of `window` s tries: the window, then every lag of
/// [`lags`] above it. Like the function's poller, which opens a batch at its oldest message and
/// invokes once the window has passed, it waits at least the window after the oldest uncovered
/// upload.
pub fn lags_from(window: u64) -> Vec<u64> {
    std::iter::once(window).chain(lags().into_iter().filter(|&l| l > window)).collect()
}

/// The best (lag, partial) over `lags`, `None` when none covers everything within the horizon.
/// The strict rule of the module doc (`partial` false) is preferred; the partial fallback is taken
/// only when it is strictly better, which happens only when the strict rule would wait for ever
/// (the wildcard room never frees and the pending paths outgrow the exact room). A lag whose max
/// staleness must exceed `bound` is given up early.
fn search(storm: &Storm, lags: &[u64], bound: Option<u64>) -> Option<Found> {
    let mut best: Option<Found> = None;
    for partial in [false, true] {
        for &lag in lags {
            let limit = best.map(|b| b.worst).or(bound).unwrap_or(u64::MAX);
            if let (_, Some(worst)) = schedule_within(storm, lag, partial, limit) {
                if best.is_none_or(|b| worst < b.worst) {
                    best = Some(Found { lag, partial, worst });
                }
            }
        }
    }
    best
}

/// The references of one storm: the windowed one (lags from `window` up) with its schedule, the
/// one `ratio` is taken against; and the windowless one (every lag from 0), the physical limit
/// (`ratio_unwindowed`). The windowless search only tries the lags below the window and keeps the
/// windowed result otherwise (the smaller lag on a tie).
pub fn best(storm: &Storm, window: u64) -> (Option<(Found, Vec<Made>)>, Option<Found>) {
    let windowed = search(storm, &lags_from(window), None);
    let below: Vec<u64> = lags().into_iter().filter(|&l| l < window).collect();
    let shorter = search(storm, &below, windowed.map(|w| w.worst));
    let unwindowed = match (shorter, windowed) {
        (Some(s), Some(w)) => Some(if s.worst <= w.worst { s } else { w }),
        (s, w) => s.or(w),
    };
    (windowed.map(|w| (w, schedule(storm, w.lag, w.partial).0)), unwindowed)
}

/// The references' figures for one storm, for the JSON, and the windowed reference's schedule.
pub fn row(storm: &Storm, window: u64) -> (Value, Option<Vec<Made>>) {
    let (windowed, unwindowed) = best(storm, window);
    let mut out = json!({
        "reference_window_s": window,
        "reference_max_staleness_s": null,
        "reference_lag_s": null,
        "reference_unwindowed_max_staleness_s": unwindowed.map(|u| u.worst),
        "reference_unwindowed_lag_s": unwindowed.map(|u| u.lag),
    });
    let Some((found, made)) = windowed else { return (out, None) };
    let fresh = measure::coverage(storm, &made).fresh;
    let mine = made.iter().filter(|m| m.creator == SELF);
    for (k, v) in [
        ("reference_max_staleness_s", json!(measure::max_staleness_s(&fresh))),
        ("reference_lag_s", json!(found.lag)),
        ("reference_partial", json!(found.partial)),
        ("reference_invalidations", json!(mine.clone().count())),
        ("reference_paths_billed", json!(mine.clone().map(|m| m.paths.len()).sum::<usize>())),
        ("reference_wildcards", json!(mine.flat_map(|m| &m.paths).filter(|p| p.ends_with('*')).count())),
    ] {
        out[k] = v;
    }
    // Measured the same way as the windowed one (the search's own figure may differ where
    // another tool covers an upload first).
    out["reference_unwindowed_max_staleness_s"] = match unwindowed {
        Some(u) if (u.lag, u.partial) == (found.lag, found.partial) => out["reference_max_staleness_s"].clone(),
        Some(u) => {
            json!(measure::max_staleness_s(&measure::coverage(storm, &schedule(storm, u.lag, u.partial).0).fresh))
        }
        None => Value::Null,
    };
    (out, Some(made))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{Other, Shape, Span};
    use std::path::PathBuf;

    /// Deploys of created keys at the given seconds (one upload each at its deploy's start).
    fn storm(deploys: &[(u64, &[&str])], span: Span, others: Vec<Other>, hold: u64, seconds: f64) -> Storm {
        let shape = Shape {
            every: 0,
            within: None,
            poisson: None,
            upload_rate: 1000,
            hours: seconds / 3600.0,
            span,
            others,
            hold,
        };
        let ds = deploys
            .iter()
            .map(|(_, keys)| (PathBuf::from("test"), keys.iter().map(|k| (false, k.to_string())).collect()))
            .collect();
        let mut s = Storm::of(ds, &shape, 1);
        let starts = deploys.iter().flat_map(|(at, keys)| keys.iter().map(move |_| *at));
        for (u, at) in s.uploads.iter_mut().zip(starts) {
            u.arrival = at;
        }
        s
    }

    /// Worked by hand: two one-file deploys at 0 and 100 s, completions fixed at 300 s. Lag 0
    /// covers each at once: both are fresh 300 s after upload. Lag 100 covers both at 100 s with
    /// one invalidation: the first waits 400 s. The best is lag 0, max staleness 300 s.
    #[test]
    fn the_reference_covers_as_soon_as_nothing_is_gained_by_waiting() {
        let s = storm(&[(0, &["a.css"]), (100, &["b.css"])], Span { min: 300, max: 300 }, vec![], 0, 3600.0);
        let (made, worst) = schedule(&s, 0, false);
        assert_eq!(worst, Some(300));
        assert_eq!(
            made.iter().map(|m| (m.created_ms, m.paths.clone())).collect::<Vec<_>>(),
            [(0, vec!["/a.css".to_string()]), (100_000, vec!["/b.css".to_string()])]
        );
        let (made, worst) = schedule(&s, 100, false);
        assert_eq!((made.len(), worst), (1, Some(400)));
        assert_eq!(best(&s, 0).0.map(|(f, _)| (f.lag, f.partial)), Some((0, false)));
    }

    /// Worked by hand: another tool sends `/*` every 10 s, completions fixed at 300 s; a key is
    /// uploaded at 5 s. Lag 0: the reference covers it at once with its exact path (done at 305 s,
    /// staleness 300 s). Lag 30: the tool's `/*` at 10 s covers it first (done at 310 s, 305 s)
    /// and the reference creates nothing.
    #[test]
    fn another_tools_wildcard_covers_pending_changes() {
        let others = vec!["10:/*".parse().unwrap()];
        let s = storm(&[(5, &["a.css"])], Span { min: 300, max: 300 }, others, 0, 3600.0);
        for lag in [0, 30] {
            let (made, worst) = schedule(&s, lag, false);
            assert_eq!(worst, Some(if lag == 0 { 300 } else { 305 }), "lag {lag}");
            assert_eq!(made.iter().filter(|m| m.creator == SELF).count(), usize::from(lag == 0));
        }
        // Uploaded at 10 s, the second of the tool's `/*`: the tool acted first, so its next
        // `/*` (20 s, done at 320 s) is the first to cover it.
        let s = storm(&[(10, &["a.css"])], Span { min: 300, max: 300 }, vec!["10:/*".parse().unwrap()], 0, 3600.0);
        let (made, worst) = schedule(&s, 30, false);
        assert_eq!((worst, made.iter().filter(|m| m.creator == SELF).count()), (Some(310), 0));
    }

    /// Worked by hand: a hold of the whole quota for 1,000 s; a key uploaded at 0 can only be
    /// covered at 1,000 s, done at 1,300 s; the horizon grows by the hold.
    #[test]
    fn a_hold_delays_the_reference_too() {
        let s = storm(&[(0, &["a.css"])], Span { min: 300, max: 300 }, vec![], 1000, 3600.0);
        assert_eq!(s.horizon, 4600);
        let (made, worst) = schedule(&s, 0, false);
        assert_eq!(worst, Some(1300));
        assert_eq!(made.iter().filter(|m| m.creator == SELF).map(|m| m.created_ms).collect::<Vec<_>>(), [1_000_000]);
    }

    /// Worked by hand: other tools keep 2,999 exact paths and all 15 wildcards in progress for
    /// ever (300 s completions, re-created every 300 s, acting first). Two keys at 0 s need 2
    /// paths: under the stated rule they never fit. The partial variant sends the older key's path
    /// at 0 s (done at 300 s) and the other's at 300 s, when that room frees (done at 600 s).
    #[test]
    fn partial_fits_only_when_the_rule_would_wait() {
        let others = vec![
            "300:exact2999".parse().unwrap(),
            "300:/a/*,/b/*,/c/*,/d/*,/e/*,/f/*,/g/*,/h/*,/i/*,/j/*,/k/*,/l/*,/m/*,/n/*,/o/*".parse().unwrap(),
        ];
        let s = storm(&[(0, &["x.css", "y.css"])], Span { min: 300, max: 300 }, others, 0, 3600.0);
        assert_eq!(schedule(&s, 0, false).1, None);
        let (made, worst) = schedule(&s, 0, true);
        assert_eq!(worst, Some(600));
        assert_eq!(made.iter().filter(|m| m.creator == SELF).map(|m| m.created_ms).collect::<Vec<_>>(), [0, 300_000]);
    }

    /// Rule: the windowed reference's lags start at the window; the windowless one's at 0.
    #[test]
    fn the_windowed_reference_searches_from_the_window_up() {
        assert_eq!(lags_from(0), lags());
        let from = lags_from(60);
        assert_eq!(from[0], 60);
        assert!(from.iter().all(|&l| l >= 60) && from.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(lags_from(7)[..3], [7, 8, 9]);
    }

    /// Rule: the windowed reference never covers an upload before the window has passed since
    /// the oldest upload still pending, as the function's poller, which opens a batch at its
    /// oldest message: a lone upload is never covered earlier than the window, whatever the lag
    /// that is best, and the windowless reference does cover it at once.
    #[test]
    fn the_windowed_reference_never_covers_an_upload_earlier_than_the_window() {
        let span = Span { min: 20, max: 90 };
        let deploys: Vec<(u64, &[&str])> = vec![
            (0, &["a.css", "b/index.html"]),
            (7, &["c.js"]),
            (400, &["d.png"]),
            (430, &["e.css"]),
            (1_000, &["f.css"]),
        ];
        let s = storm(&deploys, span, vec![], 0, 3600.0);
        for window in [0, 10, 60] {
            let (found, made) = best(&s, window).0.expect("feasible");
            assert!(found.lag >= window);
            let covered = measure::coverage(&s, &made).covered;
            for m in made.iter().filter(|m| m.creator == SELF) {
                let first: Vec<u64> = s
                    .uploads
                    .iter()
                    .zip(&covered)
                    .filter(|(_, c)| **c == Some(m.created_ms))
                    .map(|(u, _)| u.arrival)
                    .collect();
                let oldest = first.iter().min().expect("an invalidation covers something first");
                assert!(
                    m.created_ms >= (oldest + window) * 1000,
                    "window {window}: {} ms, oldest {oldest} s",
                    m.created_ms
                );
            }
            // The lone uploads (at 1,000 s) wait the window at least.
            let lone = s.uploads.iter().position(|u| u.key == "f.css").unwrap();
            assert!(covered[lone].unwrap() >= (1_000 + window) * 1000, "window {window}");
        }
        let (_, unwindowed) = best(&s, 60);
        assert_eq!(unwindowed.map(|u| u.lag), Some(0), "without a window nothing is gained by waiting here");
    }

    /// Rule: the function and the reference get the same completion for their n-th invalidation,
    /// whenever each creates it.
    #[test]
    fn the_function_and_the_reference_draw_the_same_nth_completion() {
        let source =
            crate::workload::Source::Synthetic(crate::workload::Synthetic { keys: 300, changes: 20, deploys: 6 });
        let shape = Shape {
            every: 150,
            within: None,
            poisson: None,
            upload_rate: 50,
            hours: 1.5,
            span: Span { min: 20, max: 600 },
            others: vec![],
            hold: 0,
        };
        let (s, _) = source.storm(&shape, 3);
        let q = crate::world::Queueing {
            batch_size: 1000,
            window: 60,
            max_concurrency: Some(2),
            visibility: 240,
            max_receives: 31,
        };
        let rules = crate::world::Rules {
            api_latency: std::time::Duration::from_millis(100),
            function_timeout: std::time::Duration::from_secs(30),
            cold_every: std::time::Duration::from_secs(900),
            serial: false,
            trace: false,
        };
        let function = crate::world::simulate(&s, crate::world::Function::Ours, q, rules).made;
        let lasting = |made: &[Made]| -> Vec<u64> {
            made.iter().filter(|m| m.creator == SELF).map(|m| (m.completes_ms - m.created_ms) / 1000).collect()
        };
        let (f, r) = (lasting(&function), lasting(&schedule(&s, 5, false).0));
        let n = f.len().min(r.len());
        assert!(n >= 3, "{f:?} {r:?}");
        assert_eq!(f[..n], r[..n]);
        assert!(f[..n].iter().collect::<HashSet<_>>().len() > 1, "ranged draws differ: {f:?}");
        // The function and the reference create at different seconds: not what decides the draw.
        let created =
            |made: &[Made]| made.iter().filter(|m| m.creator == SELF).map(|m| m.created_ms / 1000).collect::<Vec<_>>();
        assert_ne!(created(&function)[..n], created(&schedule(&s, 5, false).0)[..n]);
    }

    /// Rule: a key no exact path can be trusted to cover (`~`) is covered by the wildcard of its
    /// request form, sent with its `*`: the reference's changes are all fresh.
    #[test]
    fn wildcard_forms_are_sent_as_wildcards() {
        let s = storm(&[(0, &["js/runtime~main.1a2b.js", "a.css"])], Span { min: 300, max: 300 }, vec![], 0, 3600.0);
        for partial in [false, true] {
            let (made, worst) = schedule(&s, 0, partial);
            assert_eq!(worst, Some(300));
            let mut paths = made[0].paths.clone();
            paths.sort();
            assert_eq!(paths, ["/a.css", "/js/runtime*"]);
            assert!(measure::coverage(&s, &made).fresh.iter().all(|f| *f == Some(300_000)));
        }
    }
}
