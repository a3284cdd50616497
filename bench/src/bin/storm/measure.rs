//! What is measured, the same way in both worlds: staleness, paths, over-invalidation, and
//! duplicate paths.

use std::collections::{HashMap, HashSet};

use cf_invalidator::planner::COST_PER_PATH_USD;
use cf_invalidator::submit::CLOCK_MARGIN;
use serde_json::{json, Value};

use crate::workload::{Site, Storm, SELF};
use crate::world::{Function, Made, Outcome, Queueing, State};

/// Per upload, in ms from its upload: when every request form of its key is covered by an
/// invalidation created after it (`covered`), and when such invalidations have completed
/// (`fresh`, the staleness). `None`: never within the horizon. Within one millisecond other tools
/// act first (as in the world and the reference): an upload in the millisecond of another
/// tool's invalidation came after it, and one in the millisecond of the function's or the
/// reference's own came before it.
pub struct Coverage {
    pub covered: Vec<Option<u64>>,
    pub fresh: Vec<Option<u64>>,
}

pub fn coverage(storm: &Storm, made: &[Made]) -> Coverage {
    coverage_after(storm, made, 0)
}

/// [`coverage`] counting only invalidations created at least `after_ms` after the upload (0:
/// after it, other tools first within a millisecond).
pub fn coverage_after(storm: &Storm, made: &[Made], after_ms: u64) -> Coverage {
    struct Index<'a> {
        created: u64,
        /// Another tool's: first within its millisecond.
        first: bool,
        completes: u64,
        exact: HashSet<&'a str>,
        prefixes: Vec<&'a str>,
    }
    let index: Vec<Index> = made
        .iter()
        .map(|i| Index {
            created: i.created_ms,
            first: i.creator != SELF,
            completes: i.completes_ms,
            exact: i.paths.iter().filter(|p| !p.ends_with('*')).map(String::as_str).collect(),
            prefixes: i.paths.iter().filter_map(|p| p.strip_suffix('*')).collect(),
        })
        .collect();
    let horizon_ms = storm.horizon * 1000;
    let (mut covered, mut fresh) = (Vec::new(), Vec::new());
    for u in &storm.uploads {
        let arrival = u.arrival * 1000;
        let (mut c, mut f) = (Some(0), Some(0));
        let after = |i: &&Index| match after_ms {
            0 => i.created > arrival || (i.created == arrival && !i.first),
            _ => i.created >= arrival + after_ms,
        };
        for (text, wildcard) in &u.covers {
            let covering = index.iter().filter(after).filter(|i| {
                (!wildcard && i.exact.contains(text.as_str())) || i.prefixes.iter().any(|q| text.starts_with(q))
            });
            let earliest = |a: Option<u64>, b: Option<u64>| match (a, b) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let (first, done) = covering.fold((None, None), |(first, done), i| {
                (earliest(first, Some(i.created)), earliest(done, (i.completes <= horizon_ms).then_some(i.completes)))
            });
            c = c.zip(first).map(|(c, x)| c.max(x - arrival));
            f = f.zip(done).map(|(f, x)| f.max(x - arrival));
        }
        covered.push(c.map(|c| c + arrival));
        fresh.push(f);
    }
    Coverage { covered, fresh }
}

/// Paths the function created all of whose changes (the changes of the batch it was made from
/// that the path covers a form of) were already covered by an invalidation created after the
/// change and in a strictly earlier second.
pub fn duplicate_paths(storm: &Storm, made: &[Made], batches: &[Vec<usize>], covered: &[Option<u64>]) -> usize {
    let mut dups = 0;
    for m in made.iter().filter(|m| m.creator == SELF) {
        let Some(n) = m.invocation else { continue };
        let second = m.created_ms / 1000;
        let exact: HashMap<&str, usize> =
            m.paths.iter().enumerate().filter(|(_, p)| !p.ends_with('*')).map(|(i, p)| (p.as_str(), i)).collect();
        let prefixes: Vec<(&str, usize)> =
            m.paths.iter().enumerate().filter_map(|(i, p)| p.strip_suffix('*').map(|q| (q, i))).collect();
        // Per path: does it cover a change of its batch, and were all those covered before?
        let mut any = vec![false; m.paths.len()];
        let mut all_before = vec![true; m.paths.len()];
        for &u in &batches[n] {
            let before = covered[u].is_some_and(|c| c / 1000 < second);
            for (text, wildcard) in &storm.uploads[u].covers {
                let hits = (!wildcard)
                    .then(|| exact.get(text.as_str()).copied())
                    .flatten()
                    .into_iter()
                    .chain(prefixes.iter().filter(|(q, _)| text.starts_with(q)).map(|(_, i)| *i));
                for i in hits {
                    any[i] = true;
                    all_before[i] &= before;
                }
            }
        }
        dups += any.iter().zip(&all_before).filter(|(a, b)| **a && **b).count();
    }
    dups
}

/// How long after a change an invalidation must be created for the function to know that it
/// covers the change: `CLOCK_MARGIN`, and a millisecond more because a change's written time stands
/// for the end of its millisecond (`CreateTime` is to the millisecond, as CloudFront writes it). A
/// duplicate path whose changes were all covered that long before is one the function could have
/// avoided; the rest are changes it re-invalidates on purpose, not knowing which clock to trust
/// (`submit::CLOCK_MARGIN`).
pub const BEYOND_MARGIN_MS: u64 = CLOCK_MARGIN.as_millis() as u64 + 1;

/// Max staleness in seconds (ms precision); `None` when some change is never fresh.
pub fn max_staleness_s(fresh: &[Option<u64>]) -> Option<f64> {
    fresh.iter().try_fold(0_u64, |m, f| f.map(|f| m.max(f))).map(|ms| ms as f64 / 1000.0)
}

/// `function / reference`, to three decimals; `None` when either is not a number.
pub fn ratio(function: &Value, reference: &Value) -> Value {
    match (function.as_f64(), reference.as_f64()) {
        (Some(f), Some(r)) if r > 0.0 => json!((f / r * 1000.0).round() / 1000.0),
        _ => Value::Null,
    }
}

pub fn report(storm: &Storm, site: &Site, function: Function, q: Queueing, out: &Outcome) -> Value {
    let count = |s: State| out.messages.iter().filter(|m| m.state == s).count();
    let mine: Vec<&Made> = out.made.iter().filter(|m| m.creator == SELF).collect();
    let paths: usize = mine.iter().map(|i| i.paths.len()).sum();
    let wildcards: usize = mine.iter().map(|i| i.paths.iter().filter(|p| p.ends_with('*')).count()).sum();
    let over: usize = mine
        .iter()
        .filter_map(|m| m.invocation.map(|n| (m, &out.batches[n])))
        .map(|(inv, batch)| {
            let changed: HashSet<&str> = batch.iter().map(|&i| storm.uploads[i].key.as_str()).collect();
            site.matching(&inv.paths).into_iter().filter(|&k| !changed.contains(site.keys[k].as_str())).count()
        })
        .sum();
    let cov = coverage(storm, &out.made);
    let mut stale: Vec<Option<u64>> = cov.fresh.clone();
    stale.sort_by_key(|s| s.unwrap_or(u64::MAX));
    let never = stale.iter().filter(|s| s.is_none()).count();
    let at = |q: f64| {
        stale.get(((stale.len() as f64 - 1.0) * q).round() as usize).copied().flatten().map(|ms| ms as f64 / 1000.0)
    };
    let name = match function {
        Function::Ours => "cf-invalidator: lambda::handle_with on CloudFront as it is",
        Function::Before => "cf-invalidator: lambda::handle_with, quota-unaware (ListInvalidations reports nothing)",
        Function::Python => "the usual Python boto3 function, modelled",
    };
    json!({
        "function": name,
        "queueing": {
            "batch_size": q.batch_size, "window_s": q.window, "max_concurrency": q.max_concurrency,
            "visibility_s": q.visibility, "max_receives": q.max_receives,
        },
        "changes_received": storm.uploads.len(),
        "changes_acknowledged": count(State::Deleted),
        "changes_dead_lettered": count(State::DeadLettered),
        "changes_still_queued": count(State::Queued) + count(State::Held),
        "invocations": out.invocations,
        "invocations_redelivering": out.redelivering,
        "invocations_timed_out": out.timed_out,
        "cold_starts": out.cold_starts,
        "receives": out.receives,
        "most_receives": out.messages.iter().map(|m| m.receives).max(),
        "invalidations_created": mine.len(),
        "paths_billed": paths,
        "cost_usd": (paths as f64 * COST_PER_PATH_USD * 100.0).round() / 100.0,
        "wildcards": wildcards,
        "over_invalidated": over,
        "refusals": out.refusals,
        "requeued": out.requeued,
        "send_message_batch_calls": out.sends,
        "duplicate_paths": duplicate_paths(storm, &out.made, &out.batches, &cov.covered),
        "duplicate_paths_beyond_margin": duplicate_paths(storm, &out.made, &out.batches, &coverage_after(storm, &out.made, BEYOND_MARGIN_MS).covered),
        "other_invalidations": out.made.len() - mine.len(),
        "staleness_s": {"median": at(0.5), "p99": at(0.99), "max": max_staleness_s(&cov.fresh), "never_covered": never},
        "cloudfront_calls": {"create": out.calls[0], "get": out.calls[1], "list": out.calls[2]},
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{Shape, Span};
    use std::path::PathBuf;

    fn made(creator: u64, invocation: Option<usize>, at_ms: u64, done_ms: u64, paths: &[&str]) -> Made {
        Made {
            creator,
            invocation,
            created_ms: at_ms,
            completes_ms: done_ms,
            paths: paths.iter().map(|p| p.to_string()).collect(),
        }
    }

    /// Rule: a path is a duplicate when every change it covers was covered already by an
    /// invalidation created after the change in a strictly earlier second; in the same second it
    /// is a race, not a duplicate; an invalidation created before the change covers nothing.
    #[test]
    fn duplicates_need_an_earlier_second() {
        let shape = Shape {
            every: 0,
            within: None,
            poisson: None,
            upload_rate: 1000,
            hours: 1.0,
            span: Span { min: 300, max: 300 },
            others: vec![],
            hold: 0,
        };
        let mut s =
            Storm::of(vec![(PathBuf::from("t"), vec![(false, "a.css".into()), (false, "b.css".into())])], &shape, 1);
        s.uploads[1].arrival = 10;
        let batches = vec![vec![0, 1], vec![0, 1]];
        // Another tool's /a.css at 5.2 s (after a.css, before b.css); ours at 5.9 s and 6.1 s.
        let all = vec![
            made(1, None, 5_200, 305_200, &["/a.css"]),
            made(SELF, Some(0), 5_900, 305_900, &["/a.css"]),
            made(SELF, Some(1), 6_100, 306_100, &["/a.css", "/b.css"]),
        ];
        let cov = coverage(&s, &all);
        assert_eq!(cov.covered, [Some(5_200), None]);
        assert_eq!(cov.fresh, [Some(305_200), None]);
        assert_eq!(duplicate_paths(&s, &all, &batches, &cov.covered), 1, "only /a.css at 6.1 s");
        // a.css (at 0 s, read as 0.001 s) covered at 5.2 s: beyond the margin, a duplicate the
        // function could have known of. Covered within 2.001 s: re-invalidated on purpose.
        let beyond =
            |all: &[Made]| duplicate_paths(&s, all, &batches, &coverage_after(&s, all, BEYOND_MARGIN_MS).covered);
        assert_eq!(beyond(&all), 1);
        for (covered_at, known) in [(1_500, 0), (2_000, 0), (2_001, 1)] {
            let mut first = all[..2].to_vec();
            first[0].created_ms = covered_at;
            assert_eq!(duplicate_paths(&s, &first, &batches, &coverage(&s, &first).covered), 1, "{covered_at}");
            assert_eq!(beyond(&first), known, "{covered_at}");
        }
        // In the upload's own millisecond another tool's invalidation came first (it acts first
        // within a second): it covers nothing; the function's own came after the upload.
        for (creator, covered) in [(1, None), (SELF, Some(0))] {
            let same = [made(creator, None, 0, 300_000, &["/a.css"])];
            assert_eq!(coverage(&s, &same).covered[0], covered, "creator {creator}");
        }
    }
}
