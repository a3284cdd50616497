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

use super::covers::{order, text, Covers, Item};
use super::encoding::cut_encoded;

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
    pub fn configured(cfg: &crate::config::Config) -> Self {
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

    /// Exact paths and wildcards among `paths`.
    pub fn count<S: AsRef<str>>(paths: &[S]) -> (usize, usize) {
        let wild = paths.iter().filter(|p| p.as_ref().ends_with('*')).count();
        (paths.len() - wild, wild)
    }

    /// Whether `paths` (non-empty) fit.
    pub fn holds<S: AsRef<str>>(&self, paths: &[S]) -> bool {
        let (exact, wild) = Self::count(paths);
        !paths.is_empty() && paths.len() <= self.max_paths && exact <= self.max_exact && wild <= self.max_wildcards
    }
}

/// Sorts, removes duplicates and every cover another wildcard already covers. If the root
/// wildcard is present only it remains.
pub fn normalise(covers: &mut Covers) {
    sort(covers);
    sweep(covers);
}

/// One pass over sorted covers that drops duplicates and covers under an earlier wildcard (which
/// sorts before everything it covers) and rewrites the arena in sorted order, so that every later
/// pass — neighbours' common prefixes, merges, absorption — reads memory in sequence. Each text is
/// read from the old arena once (a cache miss per cover at a million keys, where three separate
/// passes cost three); the comparisons read the new arena, which is hot.
fn sweep(covers: &mut Covers) {
    let old = std::mem::take(&mut covers.arena);
    let mut arena = String::with_capacity(covers.items.iter().map(|i| i.len as usize).sum());
    let mut wildcard: Option<Item> = None;
    let mut last: Option<Item> = None;
    covers.items.retain_mut(|item| {
        let t = text(&old, *item);
        if wildcard.is_some_and(|w| t.starts_with(text(&arena, w)))
            || last.is_some_and(|l| l.exact == item.exact && text(&arena, l) == t)
        {
            return false;
        }
        item.start = arena.len() as u32;
        arena.push_str(t);
        if !item.exact {
            wildcard = Some(*item);
        }
        last = Some(*item);
        true
    });
    covers.arena = arena;
}

/// Sorts by text, 16 bytes at a time: each round sorts integers held in one array, and only the
/// runs still tied are refined by the next 16 bytes. Comparing whole texts instead would chase
/// pointers into the arena at every comparison, which is most of the time at a million keys.
///
/// After the first round the texts are moved into that order, so that each tied run — which the
/// later rounds read again and again — lies together in memory rather than all over the arena.
fn sort(covers: &mut Covers) {
    let runs = sort_round(&covers.arena, &mut covers.items, 0);
    if covers.items.len() >= RELOCATE_FROM {
        relocate(covers);
    }
    for run in runs.chunks_exact(2) {
        refine(&covers.arena, &mut covers.items[run[0]..run[1]], 1);
    }
}

/// Below this many covers the arena fits in cache and moving it costs more than it saves.
const RELOCATE_FROM: usize = 1 << 14;

/// Sorts `items` by their 16-byte chunk at `depth`; returns the bounds (start, end, start, end…)
/// of the runs still tied that have more to compare.
fn sort_round(arena: &str, items: &mut [Item], depth: usize) -> Vec<usize> {
    if items.len() < 32 {
        items.sort_unstable_by(|&a, &b| order(arena, a, b));
        return Vec::new();
    }
    let mut keyed: Vec<(u128, Item)> = items.iter().map(|&i| (chunk(text(arena, i), depth), i)).collect();
    keyed.sort_unstable_by_key(|&(k, i)| (k, i.exact));
    let mut bounds = Vec::new();
    let mut start = 0;
    while start < keyed.len() {
        let k = keyed[start].0;
        let end = start + keyed[start..].iter().take_while(|(x, _)| *x == k).count();
        // Texts are encoded paths (no NUL), so zero padding sorts a text that ends within this
        // chunk first. A tie continues for every text that is longer than the chunk; one that
        // ends exactly at its boundary ties with them too, and sorts first in the next round.
        if end - start > 1 && keyed[start..end].iter().any(|(_, i)| i.len as usize > (depth + 1) * 16) {
            bounds.extend([start, end]);
        }
        start = end;
    }
    for (slot, (_, i)) in items.iter_mut().zip(keyed) {
        *slot = i;
    }
    bounds
}

/// Sorts a run of items tied on their first `16*depth` bytes.
fn refine(arena: &str, items: &mut [Item], depth: usize) {
    let bounds = sort_round(arena, items, depth);
    for run in bounds.chunks_exact(2) {
        refine(arena, &mut items[run[0]..run[1]], depth + 1);
    }
}

/// Rewrites the arena in the items' order.
fn relocate(covers: &mut Covers) {
    let mut arena = String::with_capacity(covers.arena.len());
    for item in covers.items.iter_mut() {
        let start = arena.len() as u32;
        arena.push_str(text(&covers.arena, *item));
        item.start = start;
    }
    covers.arena = arena;
}

/// Bytes `16*depth .. 16*depth+16` of a text, big-endian and zero-padded: ordered as the texts
/// are, up to ties.
fn chunk(t: &str, depth: usize) -> u128 {
    let bytes = t.as_bytes().get(depth * 16..).unwrap_or(&[]);
    let mut b = [0u8; 16];
    let n = bytes.len().min(16);
    b[..n].copy_from_slice(&bytes[..n]);
    u128::from_be_bytes(b)
}

/// On sorted covers: drops every cover that starts with an earlier wildcard's prefix. A wildcard
/// sorts before everything it covers, so one pass suffices.
fn remove_covered(arena: &str, items: &mut Vec<Item>) {
    let mut active: Option<&str> = None;
    items.retain(|&i| {
        let t = text(arena, i);
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
fn merge_sorted(arena: &str, a: Vec<Item>, b: Vec<Item>) -> Vec<Item> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    loop {
        let take_a = match (a.peek(), b.peek()) {
            (Some(&x), Some(&y)) => order(arena, x, y) != Ordering::Greater,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return out,
        };
        out.push(if take_a { a.next() } else { b.next() }.expect("peeked"));
    }
}

/// The covers within `budget` where it can be met, every input cover still covered. Where it
/// cannot (a zero wildcard room with too many exact paths, or covers that need a wildcard), the
/// result is as close as merging gets and [`Budget::holds`] says no.
pub fn collapse(mut covers: Covers, budget: Budget) -> Covers {
    normalise(&mut covers);
    let Covers { arena, mut items } = covers;
    let wild = items.iter().filter(|i| !i.exact).count();
    if wild > budget.max_wildcards {
        // Too many wildcards from ambiguous keys: merge wildcards among themselves first, so that
        // exact paths between them are merged only when a wildcard swallows them anyway.
        let (w, e): (Vec<Item>, Vec<Item>) = items.into_iter().partition(|i| !i.exact);
        let w = Merger::new(&arena, w).run(Budget { max_paths: budget.max_wildcards, max_exact: 0, ..budget });
        items = merge_sorted(&arena, w, e);
        remove_covered(&arena, &mut items);
    }
    let exact = items.iter().filter(|i| i.exact).count();
    if items.len() > budget.max_paths || exact > budget.max_exact {
        // The merger keeps the list sorted: a merged prefix still sorts between its neighbours.
        items = Merger::new(&arena, items).run(budget);
        remove_covered(&arena, &mut items);
    }
    Covers { arena, items }
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
        let x = u64::from_le_bytes(a[i..i + 8].try_into().expect("8 bytes"));
        let y = u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
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
    arena: &'a str,
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
    fn new(arena: &'a str, items: Vec<Item>) -> Self {
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
            arena,
            items,
        };
        // Heapify once rather than push a million times.
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
        text(self.arena, self.items[i])
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

    /// Rule: normalising is sort, dedup, drop what a wildcard covers — whatever the size. Above
    /// RELOCATE_FROM covers the sort moves the arena between rounds; this compares that path with
    /// the plain definition on texts that tie over several 16-byte rounds, including texts that
    /// end exactly at a round's boundary and are prefixes of others (`…/x/75` is 48 bytes).
    #[test]
    fn normalise_at_scale_matches_the_definition() {
        let mut state = 7u64;
        let mut next = move |n: u64| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 33) % n
        };
        let mut covers = Covers::new();
        let mut plain: Vec<(String, bool)> = Vec::new();
        for _ in 0..(RELOCATE_FROM * 2) {
            let depth = ["/a", "/a/very-long-shared-directory-name", "/a/very-long-shared-directory-name/and-more/x"];
            let t = format!("{}/{}", depth[next(3) as usize], next(5000));
            let exact = next(50) != 0;
            if exact {
                covers.push_exact(&t)
            } else {
                covers.push_wildcard(&t)
            }
            plain.push((t, exact));
        }
        normalise(&mut covers);
        plain.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        plain.dedup();
        let mut wildcard: Option<String> = None;
        plain.retain(|(t, exact)| {
            if wildcard.as_ref().is_some_and(|w| t.starts_with(w.as_str())) {
                return false;
            }
            if !exact {
                wildcard = Some(t.clone());
            }
            true
        });
        let got: Vec<(String, bool)> =
            (0..covers.len()).map(|i| (covers.text(i).to_string(), !covers.is_wildcard(i))).collect();
        assert!(got.len() > RELOCATE_FROM / 2, "the case must exercise the large path: {}", got.len());
        assert_eq!(got, plain);
    }
}
