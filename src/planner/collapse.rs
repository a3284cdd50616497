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

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::encoding::cut_encoded;
use super::Cover;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub max_paths: usize,
    pub max_wildcards: usize,
}

/// Sorts, removes duplicates and every cover another wildcard already covers. If the root
/// wildcard is present only it remains.
pub fn normalise(covers: &mut Vec<Cover>) {
    covers.sort_unstable();
    covers.dedup();
    let mut active: Option<String> = None;
    covers.retain(|c| {
        if let Some(w) = &active {
            if c.text.starts_with(w.as_str()) {
                return false;
            }
        }
        if c.is_wildcard() {
            active = Some(c.text.clone());
        }
        true
    });
}

pub fn wildcards(covers: &[Cover]) -> usize {
    covers.iter().filter(|c| c.is_wildcard()).count()
}

/// The covers within `budget`, every input cover still covered.
pub fn collapse(mut covers: Vec<Cover>, budget: Budget) -> Vec<Cover> {
    assert!(budget.max_paths >= 1 && budget.max_wildcards >= 1, "budgets are validated by Config");
    normalise(&mut covers);
    if wildcards(&covers) > budget.max_wildcards {
        // Too many wildcards from ambiguous keys: merge wildcards among themselves first, so that
        // exact paths between them are merged only when a wildcard swallows them anyway.
        let (wild, mut exact): (Vec<Cover>, Vec<Cover>) = covers.into_iter().partition(Cover::is_wildcard);
        let mut wild = Merger::new(wild).run(budget.max_wildcards, budget.max_wildcards);
        wild.append(&mut exact);
        covers = wild;
        normalise(&mut covers);
    }
    if covers.len() > budget.max_paths {
        covers = Merger::new(covers).run(budget.max_paths, budget.max_wildcards);
        normalise(&mut covers);
    }
    covers
}

/// Longest common prefix of two encoded paths that does not split a `%XX` escape.
fn common_prefix<'a>(a: &'a str, b: &str) -> &'a str {
    let n = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
    cut_encoded(a, n)
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

/// A doubly linked list over the sorted covers, and a heap of neighbour merges.
struct Merger {
    covers: Vec<Cover>,
    prev: Vec<usize>,
    next: Vec<usize>,
    alive: Vec<bool>,
    ver: Vec<u32>,
    heap: BinaryHeap<Candidate>,
    /// Merges of two exact paths put aside while the wildcard budget was full.
    deferred: Vec<Candidate>,
    paths: usize,
    wild: usize,
}

const NONE: usize = usize::MAX;

impl Merger {
    fn new(covers: Vec<Cover>) -> Self {
        let n = covers.len();
        let wild = wildcards(&covers);
        let mut m = Merger {
            prev: (0..n).map(|i| if i == 0 { NONE } else { i - 1 }).collect(),
            next: (0..n).map(|i| if i + 1 == n { NONE } else { i + 1 }).collect(),
            alive: vec![true; n],
            ver: vec![0; n],
            heap: BinaryHeap::with_capacity(n),
            deferred: Vec::new(),
            paths: n,
            wild,
            covers,
        };
        for i in 1..n {
            m.push(i - 1);
        }
        m
    }

    fn push(&mut self, left: usize) {
        let right = self.next[left];
        if left == NONE || right == NONE {
            return;
        }
        let len = common_prefix(&self.covers[left].text, &self.covers[right].text).len();
        self.heap.push(Candidate {
            len,
            pos: Reverse(left),
            left_ver: self.ver[left],
            right,
            right_ver: self.ver[right],
        });
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
        if self.covers[i].is_wildcard() {
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

    fn run(mut self, max_paths: usize, max_wildcards: usize) -> Vec<Cover> {
        while self.paths > max_paths || self.wild > max_wildcards {
            let Some(c) = self.heap.pop() else {
                if self.wild < max_wildcards && !self.deferred.is_empty() {
                    self.heap.extend(self.deferred.drain(..));
                    continue;
                }
                break;
            };
            if !self.valid(&c) {
                continue;
            }
            let left = c.pos.0;
            let both_exact = !self.covers[left].is_wildcard() && !self.covers[c.right].is_wildcard();
            if both_exact && self.wild >= max_wildcards {
                self.deferred.push(c);
                continue;
            }
            let wild_before = self.wild;
            self.merge(left, c.right);
            if self.wild < wild_before && self.wild < max_wildcards && !self.deferred.is_empty() {
                self.heap.extend(self.deferred.drain(..));
            }
        }
        let alive = self.alive;
        self.covers.into_iter().zip(alive).filter(|(_, a)| *a).map(|(c, _)| c).collect()
    }

    /// Replaces `left` and `right` by a wildcard on their common prefix, and absorbs every
    /// neighbour that prefix covers.
    fn merge(&mut self, left: usize, right: usize) {
        let prefix = common_prefix(&self.covers[left].text, &self.covers[right].text).to_string();
        self.remove(right);
        if !self.covers[left].is_wildcard() {
            self.wild += 1;
        }
        self.covers[left] = Cover::wildcard(prefix);
        self.ver[left] += 1;
        loop {
            let p = self.prev[left];
            if p == NONE || !self.covers[p].text.starts_with(&self.covers[left].text) {
                break;
            }
            self.remove(p);
        }
        loop {
            let n = self.next[left];
            if n == NONE || !self.covers[n].text.starts_with(&self.covers[left].text) {
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

    fn c(p: &str) -> Cover {
        match p.strip_suffix('*') {
            Some(t) => Cover::wildcard(t.to_string()),
            None => Cover::exact(p.to_string()),
        }
    }
    fn paths(v: &[Cover]) -> Vec<String> {
        v.iter().map(Cover::path).collect()
    }
    fn run(input: &[&str], max_paths: usize, max_wildcards: usize) -> Vec<String> {
        paths(&collapse(input.iter().map(|p| c(p)).collect(), Budget { max_paths, max_wildcards }))
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

    #[test]
    fn wildcards_never_split_an_escape() {
        assert_eq!(run(&["/caf%C3%A9", "/caf%C3%A8"], 1, 1), ["/caf%C3*"]);
        assert_eq!(run(&["/a%C3%A9", "/a%C4%A9"], 1, 1), ["/a*"]);
    }
}
