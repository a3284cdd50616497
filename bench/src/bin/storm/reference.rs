//! `--reference`: the same storm run by an offline schedule that knows every upload in advance.
//!
//! Under the same quotas, other tools and completion rule, it waits until the oldest upload not
//! yet covered is `L` seconds old, then covers everything pending with one invalidation: the
//! planner's request forms of each key (`planner::covers_of_key`) if they fit the room (and one
//! request), else one `/*` if a wildcard fits, else it waits for room. It has no queue, window,
//! latency or deadline. Each `L` gives a feasible schedule; the reference is the one whose max
//! staleness is lowest (the smallest such `L` on a tie), an upper bound on what any invalidator
//! can reach, while the completion time is a lower bound.
//!
//! One addition to that rule: when another tool keeps every wildcard slot and the pending
//! paths outgrow the exact room, the rule as stated waits for ever (everything pending never fits
//! again). A second variant then sends the oldest pending uploads whose paths fit the exact room
//! (`partial`); it is used only when strictly better, and the JSON says so (`reference_partial`).

use std::collections::{BTreeSet, HashMap, HashSet};

use cf_invalidator::model::{API_MAX_PATHS, API_MAX_PATHS_IN_PROGRESS, API_MAX_WILDCARDS_IN_PROGRESS};

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
            completion(storm.span, storm.seed, creator, t, *o - 1)
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
            let paths =
                if fits { forms.counts.keys().map(|(text, _)| text.clone()).collect() } else { vec!["/*".to_string()] };
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

/// The distinct forms of some uploads, as paths.
fn part_paths(uploads: &[crate::workload::Upload], taken: &[(u64, usize)]) -> Vec<String> {
    let set: BTreeSet<&str> = taken.iter().flat_map(|&(_, i)| &uploads[i].covers).map(|(t, _)| t.as_str()).collect();
    set.into_iter().map(str::to_string).collect()
}

/// The best (lag, partial) and its schedule; `None` when none covers everything within the
/// horizon. The strict rule of the module doc (`partial` false) is preferred; the partial fallback
/// is taken only when it is strictly better, which happens only when the strict rule would wait for
/// ever (the wildcard room never frees and the pending paths outgrow the exact room).
pub fn best(storm: &Storm) -> Option<(u64, bool, Vec<Made>)> {
    let mut best: Option<(u64, bool, u64)> = None;
    for partial in [false, true] {
        for lag in lags() {
            if let (_, Some(worst)) = schedule_within(storm, lag, partial, best.map_or(u64::MAX, |b| b.2)) {
                if best.is_none_or(|(_, _, w)| worst < w) {
                    best = Some((lag, partial, worst));
                }
            }
        }
    }
    best.map(|(lag, partial, _)| (lag, partial, schedule(storm, lag, partial).0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{Other, Shape, Span};
    use std::path::PathBuf;

    /// Deploys of created keys at the given seconds (one upload each at its deploy's start).
    fn storm(deploys: &[(u64, &[&str])], span: Span, others: Vec<Other>, hold: u64, seconds: f64) -> Storm {
        let shape = Shape { every: 0, within: None, upload_rate: 1000, hours: seconds / 3600.0, span, others, hold };
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
        assert_eq!(best(&s).map(|(lag, partial, _)| (lag, partial)), Some((0, false)));
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
}
