//! `--reference`: the same storm run by an offline schedule that knows every upload in advance.
//!
//! Under the same quotas, other tools and completion rule, it waits until the oldest upload not
//! yet covered is `L` seconds old, then covers everything pending with one invalidation: the
//! planner's request forms of each key (`planner::covers_of_key`) if they fit the room (and one
//! request), else one `/*` if a wildcard fits, else it waits for room. It has no queue, window,
//! latency or deadline. Each `L` gives a feasible schedule; the reference is the one whose max
//! staleness is lowest (the smallest such `L` on a tie), an upper bound on what any invalidator
//! can reach, while the completion time is a lower bound.

use std::collections::{BTreeSet, HashSet};

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
    /// Creates at second `t` if the room holds it, as CloudFront would.
    fn create(&mut self, creator: Creator, t: u64, paths: Vec<String>) -> bool {
        let wild = paths.iter().filter(|p| p.ends_with('*')).count();
        let exact = paths.len() - wild;
        let (be, bw) = self.busy.iter().filter(|b| b.0 > t).fold((0, 0), |(e, w), b| (e + b.1, w + b.2));
        if be + exact > API_MAX_PATHS_IN_PROGRESS || bw + wild > API_MAX_WILDCARDS_IN_PROGRESS {
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

/// The schedule for one lag: every invalidation made (its own and other tools'), and the max over
/// uploads of the completion of the invalidation that took it off the pending list (`None`: some
/// upload is never covered within the horizon).
pub fn schedule(storm: &Storm, lag: u64) -> (Vec<Made>, Option<u64>) {
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
    let mut worst = 0_u64;
    for t in 0..=storm.horizon {
        w.busy.retain(|b| b.0 > t);
        while next < order.len() && storm.uploads[order[next]].arrival <= t {
            let i = order[next];
            pending.insert((storm.uploads[i].arrival, i));
            next += 1;
        }
        // Other tools first; what they cover is no longer pending.
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
                    }
                    !covered
                });
            }
        }
        let Some(&(oldest, _)) = pending.first() else { continue };
        if t < oldest + lag {
            continue;
        }
        let forms: BTreeSet<&(String, bool)> = pending.iter().flat_map(|&(_, i)| &storm.uploads[i].covers).collect();
        let paths: Vec<String> = forms.iter().map(|(text, _)| text.clone()).collect();
        let made_it =
            (paths.len() <= API_MAX_PATHS && w.create(SELF, t, paths)) || w.create(SELF, t, vec!["/*".to_string()]);
        if made_it {
            let done = w.made.last().expect("just made").completes_ms / 1000;
            for &(at, _) in &pending {
                worst = worst.max(done - at);
            }
            pending.clear();
        }
    }
    let feasible =
        pending.is_empty() && next == order.len() && w.made.iter().all(|m| m.completes_ms <= storm.horizon * 1000);
    (w.made, feasible.then_some(worst))
}

/// The best lag and its schedule; `None` when no lag covers everything within the horizon.
pub fn best(storm: &Storm) -> Option<(u64, Vec<Made>)> {
    let mut best: Option<(u64, u64)> = None;
    for lag in lags() {
        if let (_, Some(worst)) = schedule(storm, lag) {
            if best.is_none_or(|(_, w)| worst < w) {
                best = Some((lag, worst));
            }
        }
    }
    best.map(|(lag, _)| (lag, schedule(storm, lag).0))
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
        let (made, worst) = schedule(&s, 0);
        assert_eq!(worst, Some(300));
        assert_eq!(
            made.iter().map(|m| (m.created_ms, m.paths.clone())).collect::<Vec<_>>(),
            [(0, vec!["/a.css".to_string()]), (100_000, vec!["/b.css".to_string()])]
        );
        let (made, worst) = schedule(&s, 100);
        assert_eq!((made.len(), worst), (1, Some(400)));
        assert_eq!(best(&s).map(|(lag, _)| lag), Some(0));
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
            let (made, worst) = schedule(&s, lag);
            assert_eq!(worst, Some(if lag == 0 { 300 } else { 305 }), "lag {lag}");
            assert_eq!(made.iter().filter(|m| m.creator == SELF).count(), usize::from(lag == 0));
        }
    }

    /// Worked by hand: a hold of the whole quota for 1,000 s; a key uploaded at 0 can only be
    /// covered at 1,000 s, done at 1,300 s; the horizon grows by the hold.
    #[test]
    fn a_hold_delays_the_reference_too() {
        let s = storm(&[(0, &["a.css"])], Span { min: 300, max: 300 }, vec![], 1000, 3600.0);
        assert_eq!(s.horizon, 4600);
        let (made, worst) = schedule(&s, 0);
        assert_eq!(worst, Some(1300));
        assert_eq!(made.iter().filter(|m| m.creator == SELF).map(|m| m.created_ms).collect::<Vec<_>>(), [1_000_000]);
    }
}
