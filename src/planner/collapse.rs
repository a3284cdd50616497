//! Budgets: from the exact covers to at most `max_paths` paths of which at most `max_wildcards`
//! are wildcards, every changed path still covered.
//!
//! Without a listing of the bucket the planner cannot count what a wildcard invalidates beyond the
//! change; what it can see is how tight a prefix is. Covers are kept sorted, so the items a prefix
//! covers are contiguous, and two neighbours share their longest common prefix. The planner merges
//! neighbours greedily, tightest (longest) common prefix first, until the budgets hold:
//! a long prefix reaches less of the site than a short one, and merging the closest neighbours
//! first keeps every wildcard as deep as the budget allows. Ties go to the earlier position, so
//! the output is deterministic. Each merge is O(log n), so a million keys plan in well under a
//! second.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use super::covers::{Covers, Item};
use super::encoding::cut_encoded;
use crate::model::API_MAX_WILDCARDS_IN_PROGRESS;

/// What one request may hold. `max_paths` is the request's size (the user's `MAX_PATHS`, at most
/// the API's 3,000); `max_exact` and `max_wildcards` are the room CloudFront's two independent
/// in-progress quotas have left (and the user's `MAX_WILDCARDS`). A wildcard room of zero is real:
/// then only exact paths can be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub max_paths: usize,
    pub max_exact: usize,
    pub max_wildcards: usize,
}

impl Budget {
    /// The configured caps, as if nothing were in progress.
    pub fn configured(cfg: &super::Settings) -> Self {
        let paths = cfg.max_paths.get();
        Budget { max_paths: paths, max_exact: paths, max_wildcards: cfg.max_wildcards.get() }
    }

    /// The configured caps within the room left: `exact` and `wildcards` paths may still go in
    /// progress on the distribution.
    pub fn within_room(self, exact: usize, wildcards: usize) -> Self {
        Budget {
            max_paths: self.max_paths,
            max_exact: self.max_exact.min(exact),
            max_wildcards: self.max_wildcards.min(wildcards),
        }
    }

    /// The budget for fewest billed paths, once this month's paths reached `MONTHLY_PATH_BUDGET`
    /// (`budget.rs`): at most as many paths as wildcards may be spent, so that neighbours merge
    /// into wildcards (each billed as one path, covering more objects than changed) where more
    /// exact paths than that would be billed. With no wildcard to spend, unchanged: exact paths
    /// are still used. A plan is only ever narrowed to fit, never left uncovering a change. A
    /// thrifty plan that reaches `/*` is no plan ([`super::Request::fit`] gives `None`, and the
    /// usual plan is made instead): flushing the whole cache to save a few billed paths is not the
    /// trade the budget is for.
    pub fn thrifty(self) -> Self {
        if self.max_wildcards == 0 {
            return self;
        }
        Budget { max_paths: self.max_paths.min(self.max_wildcards), ..self }
    }

    /// Whether this is a thrifty budget ([`Budget::thrifty`]) narrower than the usual one: fewer
    /// paths than its exact room, which only the thrifty cut gives (the usual budget allows at
    /// least as many paths as exact paths).
    pub fn is_narrowed_thrifty(&self) -> bool {
        self.max_paths < self.max_exact
    }

    /// Whether `paths` (non-empty) fit.
    pub fn holds<S: AsRef<str>>(&self, paths: &[S]) -> bool {
        let c = crate::model::PathCounts::of(paths);
        !paths.is_empty()
            && paths.len() <= self.max_paths
            && c.exact <= self.max_exact
            && c.wildcards <= self.max_wildcards
    }
}

/// On sorted covers: drops every cover that starts with an earlier wildcard's prefix. A wildcard
/// sorts before everything it covers, so one pass suffices.
fn remove_covered(covers: &Covers, items: &mut Vec<Item>) {
    let mut active: Option<&str> = None;
    items.retain(|&i| {
        let t = covers.item_text(i);
        if active.is_some_and(|w| t.starts_with(w)) {
            return false;
        }
        if !i.exact {
            active = Some(t);
        }
        true
    });
}

/// Merges two sorted lists into one sorted list.
fn merge_sorted(covers: &Covers, a: Vec<Item>, b: Vec<Item>) -> Vec<Item> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    loop {
        let next = match (a.peek(), b.peek()) {
            (Some(&x), Some(&y)) if covers.order(x, y) != Ordering::Greater => a.next(),
            (Some(_), Some(_)) => b.next(),
            (Some(_), None) => a.next(),
            (None, _) => b.next(),
        };
        match next {
            Some(item) => out.push(item),
            None => return out,
        }
    }
}

/// The covers within `budget` where it can be met, every input cover still covered. Where it
/// cannot (a zero wildcard room with too many exact paths, or covers that need a wildcard), the
/// result is as close as merging gets and [`Budget::holds`] says no.
///
/// `/*` only when nothing narrower fits. With few wildcards to spare (the room
/// left while others are in progress) the first merges seed wildcards deep in small subtrees, and
/// the few there are then grow up to the root: given two, half of a Hugo release deploy would
/// become `/*` where two section wildcards and exact paths fit. So when the greedy plan
/// holds the root wildcard, the merge runs again as if more wildcards could be spent, and the
/// smallest of those give their exact paths back while the exact room allows ([`give_back`]); the
/// first plan that ends within the real budget without the root is taken. A plan without `/*`
/// costs one run. Not tried:
/// - with one wildcard to spend: that is the last slot the room or pacing leaves now, and a `/*`
///   there also covers the other half of a burst racing for it (submit.rs pauses before a scarce
///   slot so that the later one finds it); a narrow plan would leave that half waiting;
/// - with no exact room (nothing to give back into), or the quota's 15 wildcards (nothing more);
/// - past [`NARROWER_SEARCH_MAX_COVERS`] covers.
pub fn collapse(mut covers: Covers, budget: Budget) -> Covers {
    let search = (2..API_MAX_WILDCARDS_IN_PROGRESS).contains(&budget.max_wildcards)
        && budget.max_exact > 0
        && covers.len() <= NARROWER_SEARCH_MAX_COVERS;
    if !search {
        return collapse_greedy(covers, budget);
    }
    covers.normalise();
    let greedy = collapse_greedy(covers.clone(), budget);
    if !has_root(&greedy) {
        return greedy;
    }
    let texts: Vec<&str> = (0..covers.len()).map(|i| covers.text(i)).collect();
    (budget.max_wildcards + 1..=API_MAX_WILDCARDS_IN_PROGRESS)
        .map(|w| collapse_greedy(covers.clone(), Budget { max_wildcards: w, ..budget }))
        .filter(|plan| !has_root(plan))
        .find_map(|plan| give_back(&covers, &texts, &plan, budget))
        .unwrap_or(greedy)
}

/// The most covers for which [`collapse`] looks past a greedy `/*`: each look is up to 13 more
/// greedy runs. A Lambda batch (at most 10,000 records, a few covers each) is far below it; a CLI
/// run over a huge listing keeps the one greedy run (1.6 s for a million keys, README).
pub const NARROWER_SEARCH_MAX_COVERS: usize = 100_000;

/// Whether `covers` hold the wildcard on the whole distribution (`/*`).
fn has_root(covers: &Covers) -> bool {
    (0..covers.len()).any(|i| covers.is_wildcard(i) && covers.text(i) == "/")
}

/// `plan` (a collapse of `original`, normalised; `texts` its texts, sorted) brought within
/// `budget` by replacing its wildcards, the one that stands for fewest covers first, with the
/// exact paths of `original` it covers; `None` when the exact room cannot take them. A wildcard
/// that stands for a wildcard of `original` (a key with an unsettled character) is kept: giving
/// it back frees no slot.
fn give_back(original: &Covers, texts: &[&str], plan: &Covers, budget: Budget) -> Option<Covers> {
    // What a wildcard stands for is contiguous in the sorted covers.
    let under = |prefix: &str| {
        let start = texts.partition_point(|t| *t < prefix);
        start..start + texts[start..].iter().take_while(|t| t.starts_with(prefix)).count()
    };
    let mut items: Vec<(&str, bool)> = (0..plan.len()).map(|i| (plan.text(i), plan.is_wildcard(i))).collect();
    let mut wild = items.iter().filter(|(_, w)| *w).count();
    // Each give-back only adds exact paths: past the room, no later one helps.
    while items.len() <= budget.max_paths && items.len() - wild <= budget.max_exact {
        if wild <= budget.max_wildcards {
            let paths: Vec<String> =
                items.iter().map(|(t, w)| if *w { format!("{t}*") } else { t.to_string() }).collect();
            let mut c = Covers::from_paths(&paths);
            c.normalise();
            return Some(c);
        }
        let (k, span) = items
            .iter()
            .enumerate()
            .filter(|(_, (_, w))| *w)
            .map(|(k, (p, _))| (k, under(p)))
            .filter(|(_, span)| span.clone().all(|i| !original.is_wildcard(i)))
            .min_by_key(|(k, span)| (span.len(), *k))?;
        items.swap_remove(k);
        wild -= 1;
        items.extend(span.map(|i| (texts[i], false)));
    }
    None
}

/// Merges neighbours, tightest first, until `budget` holds (see the module documentation).
fn collapse_greedy(mut covers: Covers, budget: Budget) -> Covers {
    covers.normalise();
    let mut items = covers.take_items();
    let wild = items.iter().filter(|i| !i.exact).count();
    if wild > budget.max_wildcards {
        // Too many wildcards from ambiguous keys: merge wildcards among themselves first, so that
        // exact paths between them are merged only when a wildcard swallows them anyway.
        let (w, e): (Vec<Item>, Vec<Item>) = items.into_iter().partition(|i| !i.exact);
        let w = Merger::new(&covers, w).run(Budget { max_paths: budget.max_wildcards, max_exact: 0, ..budget });
        items = merge_sorted(&covers, w, e);
        remove_covered(&covers, &mut items);
    }
    let exact = items.iter().filter(|i| i.exact).count();
    if items.len() > budget.max_paths || exact > budget.max_exact {
        // The merger keeps the list sorted: a merged prefix still sorts between its neighbours.
        items = Merger::new(&covers, items).run(budget);
        remove_covered(&covers, &mut items);
    }
    covers.set_items(items);
    covers
}

/// Length of the longest common prefix of two encoded paths that does not split a `%XX` escape.
fn common_prefix(a: &str, b: &str) -> usize {
    cut_encoded(a, common_bytes(a.as_bytes(), b.as_bytes())).len()
}

/// How many leading bytes two slices share, compared eight at a time: the merger asks this of
/// every neighbouring pair, millions of times for a million keys.
fn common_bytes(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 8 <= n {
        let (Ok(x), Ok(y)) =
            (a[i..i + 8].try_into().map(u64::from_le_bytes), b[i..i + 8].try_into().map(u64::from_le_bytes))
        else {
            break;
        };
        if x != y {
            // Little-endian: the first differing byte is the lowest set byte of the XOR.
            return i + ((x ^ y).trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i + a[i..n].iter().zip(&b[i..n]).take_while(|(x, y)| x == y).count()
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Candidate {
    /// Length of the prefix the merge would make: longer is tighter, so it is taken first.
    len: usize,
    /// Earlier position first among equals.
    pos: Reverse<usize>,
    left_ver: u32,
    right: usize,
    right_ver: u32,
}

/// A doubly linked list over the sorted covers, and heaps of neighbour merges: merges of two
/// exact paths (which add a wildcard) apart from those involving a wildcard, so that while the
/// wildcard budget is full the former are skipped without being popped.
struct Merger<'a> {
    covers: &'a Covers,
    items: Vec<Item>,
    prev: Vec<usize>,
    next: Vec<usize>,
    alive: Vec<bool>,
    ver: Vec<u32>,
    /// Merges involving at least one wildcard.
    with_wildcard: BinaryHeap<Candidate>,
    /// Merges of two exact paths.
    exact_pairs: BinaryHeap<Candidate>,
    paths: usize,
    wild: usize,
}

const NONE: usize = usize::MAX;

impl<'a> Merger<'a> {
    fn new(covers: &'a Covers, items: Vec<Item>) -> Self {
        let n = items.len();
        let wild = items.iter().filter(|i| !i.exact).count();
        let mut m = Merger {
            prev: (0..n).map(|i| if i == 0 { NONE } else { i - 1 }).collect(),
            next: (0..n).map(|i| if i + 1 == n { NONE } else { i + 1 }).collect(),
            alive: vec![true; n],
            ver: vec![0; n],
            with_wildcard: BinaryHeap::new(),
            exact_pairs: BinaryHeap::with_capacity(n),
            paths: n,
            wild,
            covers,
            items,
        };
        // Heapify once (linear) rather than push a million times (n log n).
        let (mut with_wildcard, mut exact_pairs) = (Vec::new(), Vec::with_capacity(n));
        for left in 0..n.saturating_sub(1) {
            let c = m.candidate(left);
            if m.items[left].exact && m.items[left + 1].exact {
                exact_pairs.push(c);
            } else {
                with_wildcard.push(c);
            }
        }
        m.with_wildcard = BinaryHeap::from(with_wildcard);
        m.exact_pairs = BinaryHeap::from(exact_pairs);
        m
    }

    /// The merge of `left` with its right neighbour, which must exist.
    fn candidate(&self, left: usize) -> Candidate {
        let right = self.next[left];
        let len = common_prefix(self.text(left), self.text(right));
        Candidate { len, pos: Reverse(left), left_ver: self.ver[left], right, right_ver: self.ver[right] }
    }

    fn push(&mut self, left: usize) {
        if self.next[left] == NONE {
            return;
        }
        let c = self.candidate(left);
        if !self.items[left].exact || !self.items[c.right].exact {
            self.with_wildcard.push(c);
        } else {
            self.exact_pairs.push(c);
        }
    }

    fn valid(&self, c: &Candidate) -> bool {
        let left = c.pos.0;
        self.alive[left]
            && self.alive[c.right]
            && self.next[left] == c.right
            && self.ver[left] == c.left_ver
            && self.ver[c.right] == c.right_ver
    }

    fn remove(&mut self, i: usize) {
        self.alive[i] = false;
        self.paths -= 1;
        if !self.items[i].exact {
            self.wild -= 1;
        }
        let (p, n) = (self.prev[i], self.next[i]);
        if p != NONE {
            self.next[p] = n;
        }
        if n != NONE {
            self.prev[n] = p;
        }
    }

    fn text(&self, i: usize) -> &'a str {
        self.covers.item_text(self.items[i])
    }

    fn run(mut self, budget: Budget) -> Vec<Item> {
        let max_wildcards = budget.max_wildcards;
        while self.paths > budget.max_paths || self.wild > max_wildcards || self.paths - self.wild > budget.max_exact {
            // A merge of two exact paths adds a wildcard: only while there is room for one.
            let exact_allowed = self.wild < max_wildcards;
            let take_exact = match (self.with_wildcard.peek(), self.exact_pairs.peek()) {
                (_, None) => false,
                (None, Some(_)) => exact_allowed,
                (Some(w), Some(e)) => exact_allowed && e > w,
            };
            let popped = if take_exact { self.exact_pairs.pop() } else { self.with_wildcard.pop() };
            let Some(c) = popped else { break };
            if self.valid(&c) {
                self.merge(c.pos.0, c.right);
            }
        }
        let alive = self.alive;
        self.items.into_iter().zip(alive).filter(|(_, a)| *a).map(|(c, _)| c).collect()
    }

    /// Replaces `left` and `right` by a wildcard on their common prefix, and absorbs every
    /// neighbour that prefix covers.
    fn merge(&mut self, left: usize, right: usize) {
        let prefix = common_prefix(self.text(left), self.text(right));
        self.remove(right);
        if self.items[left].exact {
            self.wild += 1;
        }
        self.items[left] = Item { start: self.items[left].start, len: prefix as u32, exact: false };
        self.ver[left] += 1;
        loop {
            let p = self.prev[left];
            if p == NONE || !self.text(p).starts_with(self.text(left)) {
                break;
            }
            self.remove(p);
        }
        loop {
            let n = self.next[left];
            if n == NONE || !self.text(n).starts_with(self.text(left)) {
                break;
            }
            self.remove(n);
        }
        let p = self.prev[left];
        if p != NONE {
            self.push(p);
        }
        self.push(left);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &[&str], max_paths: usize, max_wildcards: usize) -> Vec<String> {
        collapse(Covers::from_paths(input), Budget { max_paths, max_exact: max_paths, max_wildcards }).paths()
    }

    /// Rule: exact duplicates and every path covered by an emitted wildcard are removed; `/*`
    /// alone when it is needed.
    #[test]
    fn normalising_removes_what_is_covered() {
        assert_eq!(run(&["/b", "/a", "/b"], 10, 10), ["/a", "/b"]);
        assert_eq!(run(&["/docs/a", "/docs/*", "/docs", "/docs/b/c"], 10, 10), ["/docs", "/docs/*"]);
        assert_eq!(run(&["/docs/a", "/docs*", "/docs"], 10, 10), ["/docs*"]);
        assert_eq!(run(&["/a", "/*", "/z/*"], 10, 10), ["/*"]);
    }

    /// Rule: within budget nothing changes (the exact plan is kept).
    #[test]
    fn within_budget_is_exact() {
        assert_eq!(run(&["/a/x", "/b/y", "/c/z"], 3, 1), ["/a/x", "/b/y", "/c/z"]);
    }

    /// Rule: over budget, the tightest prefixes are merged first.
    #[test]
    fn tightest_prefixes_merge_first() {
        let input = ["/docs/functions/abs/", "/docs/functions/after/", "/docs/guide/x", "/news/2023/a", "/news/2024/b"];
        assert_eq!(run(&input, 4, 15), ["/docs/functions/a*", "/docs/guide/x", "/news/2023/a", "/news/2024/b"]);
        assert_eq!(run(&input, 3, 15), ["/docs/functions/a*", "/docs/guide/x", "/news/202*"]);
        assert_eq!(run(&input, 2, 15), ["/docs/*", "/news/202*"]);
        assert_eq!(run(&input, 1, 15), ["/*"]);
    }

    /// Rule: never more wildcards than MAX_WILDCARDS, even when ambiguity forced more.
    #[test]
    fn wildcard_budget_holds() {
        let input: Vec<String> =
            (0..40).map(|i| format!("/assets/{}/runtime*", i % 20)).chain((0..5).map(|i| format!("/p{i}"))).collect();
        let refs: Vec<&str> = input.iter().map(String::as_str).collect();
        let out = run(&refs, 3000, 3);
        assert!(out.iter().filter(|p| p.ends_with('*')).count() <= 3, "{out:?}");
        for p in &refs {
            let t = p.trim_end_matches('*');
            assert!(
                out.iter().any(|o| o == p || (o.ends_with('*') && t.starts_with(o.trim_end_matches('*')))),
                "{p} uncovered by {out:?}"
            );
        }
    }

    /// Rule: when the wildcard budget is full, exact paths are folded into existing wildcards.
    #[test]
    fn full_wildcard_budget_extends_wildcards() {
        assert_eq!(run(&["/a/1", "/a/2", "/a/3", "/b"], 2, 1), ["/a/*", "/b"]);
        // Two exact pairs cannot both become wildcards with one allowed: one wildcard takes all.
        assert_eq!(run(&["/a/1", "/a/2", "/b/1", "/b/2", "/c"], 2, 1), ["/*"]);
        assert_eq!(run(&["/a/1", "/a/2", "/b/1", "/b/2", "/c"], 4, 1), ["/a/*", "/b/1", "/b/2", "/c"]);
    }

    /// Rule (CloudFront's two independent in-progress quotas): with little exact room, exact paths
    /// merge into wildcards while wildcard room lasts; with no wildcard room nothing can merge and
    /// the budget says so; with no exact room everything goes into wildcards.
    #[test]
    fn exact_room_and_wildcard_room_apart() {
        let input = ["/a/1", "/a/2", "/b/1", "/b/2", "/c"];
        let fit = |max_exact: usize, max_wildcards: usize| {
            let b = Budget { max_paths: 3000, max_exact, max_wildcards };
            let out = collapse(Covers::from_paths(&input), b).paths();
            (b.holds(&out), out)
        };
        assert_eq!(fit(5, 15), (true, input.iter().map(|s| s.to_string()).collect()));
        assert_eq!(fit(3, 15), (true, vec!["/a/*".into(), "/b/1".into(), "/b/2".into(), "/c".into()]));
        assert_eq!(fit(1, 15), (true, vec!["/a/*".into(), "/b/*".into(), "/c".into()]));
        assert!(fit(0, 15).0);
        assert!(fit(0, 15).1.iter().all(|p| p.ends_with('*')), "{:?}", fit(0, 15).1);
        assert!(!fit(4, 0).0, "no wildcard room and too many exact paths: does not fit");
        assert_eq!(fit(5, 0), (true, input.iter().map(|s| s.to_string()).collect()));
        let wild =
            collapse(Covers::from_paths(&["/x*", "/y"]), Budget { max_paths: 3000, max_exact: 10, max_wildcards: 0 });
        assert!(
            !Budget { max_paths: 3000, max_exact: 10, max_wildcards: 0 }.holds(&wild.paths()),
            "a wildcard with no room"
        );
    }

    /// Rule: `/*` only when nothing narrower fits. With two wildcards to spare
    /// the tightest pairs seed them deep (`/b/deep/x*`, `/c/deep/y*`), and growing them until
    /// enough exact paths are gone reaches the root; `/a/*` and `/c/deep/y*` with the rest exact
    /// fit, and are what is planned. One wildcard to spare is the last slot: `/*` stays.
    #[test]
    fn the_root_only_when_nothing_narrower_fits() {
        let mut input: Vec<String> = (0..10).map(|i| format!("/a/{i}")).collect();
        input.extend(["/b/deep/x1", "/b/deep/x2", "/c/deep/y1", "/c/deep/y2", "/c/deep/y3", "/d"].map(String::from));
        let budget = |max_exact: usize, max_wildcards: usize| Budget { max_paths: 3000, max_exact, max_wildcards };
        assert_eq!(collapse_greedy(Covers::from_paths(&input), budget(5, 2)).paths(), ["/*"], "the greedy merge alone");
        let two_sections = ["/a/*", "/b/deep/x1", "/b/deep/x2", "/c/deep/y*", "/d"];
        let cases: [(usize, usize, &[&str], &str); 7] = [
            (5, 2, &two_sections, "two section wildcards, the rest exact"),
            (3, 2, &two_sections, "the exact room taken to the last path"),
            (2, 2, &["/*"], "nothing narrower fits"),
            (0, 2, &["/*"], "no exact room"),
            (5, 1, &["/*"], "the last slot: `/*` covers whatever else is racing for it"),
            (1, 3, &["/a/*", "/b/deep/x*", "/c/deep/y*", "/d"], "three wildcards: the greedy merge"),
            (16, 0, &[], "within the room: exact"),
        ];
        for (max_exact, max_wildcards, want, why) in cases {
            let got = collapse(Covers::from_paths(&input), budget(max_exact, max_wildcards)).paths();
            let want: Vec<String> =
                if want.is_empty() { input.clone() } else { want.iter().map(|p| p.to_string()).collect() };
            assert_eq!(got, want, "{why}");
            assert!(budget(max_exact, max_wildcards).holds(&got), "{why}");
        }
        // A wildcard a key needs (an unsettled character) stays: giving it back frees no slot.
        let mut needs: Vec<String> = (0..10).map(|i| format!("/a/{i}")).collect();
        needs.extend(["/b/deep/x*", "/c/deep/y*", "/d"].map(String::from));
        assert_eq!(collapse(Covers::from_paths(&needs), budget(0, 2)).paths(), ["/*"]);
        assert_eq!(
            collapse(Covers::from_paths(&needs), budget(10, 2)).paths(),
            ["/*"],
            "both needed: none left for /a/*"
        );
        assert_eq!(collapse(Covers::from_paths(&needs), budget(11, 2)).paths(), needs, "both needed, the rest exact");
    }

    #[test]
    fn common_bytes_at_every_offset() {
        let a = b"/docs/getting-started/install/index.html";
        for cut in 0..a.len() {
            let mut b = a.to_vec();
            b[cut] ^= 1;
            assert_eq!(common_bytes(a, &b), cut, "differ at {cut}");
            assert_eq!(common_bytes(a, &a[..cut]), cut, "prefix of {cut}");
        }
        assert_eq!(common_bytes(a, a), a.len());
    }

    #[test]
    fn wildcards_never_split_an_escape() {
        assert_eq!(run(&["/caf%C3%A9", "/caf%C3%A8"], 1, 1), ["/caf%C3*"]);
        assert_eq!(run(&["/a%C3%A9", "/a%C4%A9"], 1, 1), ["/a*"]);
    }
}
