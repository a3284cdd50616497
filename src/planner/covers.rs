//! The covers of one request under construction: exact paths and wildcard prefixes.
//!
//! Every text lives in one arena string and a cover is a range of it, so that a million keys make
//! a few large allocations instead of millions of small ones (whose frees alone cost glibc's
//! allocator most of a second), sorting touches one contiguous buffer, and a merge — which only
//! ever shortens a text to a prefix of itself — allocates nothing (figures: README,
//! "Performance").
//!
//! [`Covers::normalise`] is the planner's hot spot at scale, and all of its speed code lives here,
//! behind the arena it reads.

use std::cmp::Ordering;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Item {
    pub start: u32,
    pub len: u32,
    pub exact: bool,
}

/// The arena is private: texts are only ever appended, or shortened to a prefix of themselves by
/// narrowing an [`Item`], so a merge allocates nothing.
#[derive(Debug, Clone, Default)]
pub struct Covers {
    arena: String,
    items: Vec<Item>,
}

impl Covers {
    pub fn new() -> Self {
        Self::default()
    }

    /// Empty, with room for `texts` bytes of text in `items` covers.
    pub fn with_capacity(texts: usize, items: usize) -> Self {
        Covers { arena: String::with_capacity(texts), items: Vec::with_capacity(items) }
    }

    /// From paths as CloudFront receives them: a trailing `*` makes a wildcard.
    pub fn from_paths<S: AsRef<str>>(paths: &[S]) -> Self {
        let mut c = Covers::new();
        for p in paths {
            match p.as_ref().strip_suffix('*') {
                Some(prefix) => c.push_wildcard(prefix),
                None => c.push_exact(p.as_ref()),
            }
        }
        c
    }

    fn push(&mut self, text: &str, exact: bool) {
        // A Lambda payload is at most 6 MB, so one request's covers stay far below 4 GiB. Past it
        // (a CLI run over a huge listing) offsets would wrap: the root wildcard covers everything
        // instead — every text starts with `/`, so the arena's first byte is its text.
        let Ok(start) = u32::try_from(self.arena.len() + text.len()).map(|end| end - text.len() as u32) else {
            self.items.push(Item { start: 0, len: 1, exact: false });
            return;
        };
        self.arena.push_str(text);
        self.items.push(Item { start, len: text.len() as u32, exact });
    }

    pub fn push_exact(&mut self, path: &str) {
        self.push(path, true);
    }

    pub fn push_wildcard(&mut self, prefix: &str) {
        self.push(prefix, false);
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn text(&self, i: usize) -> &str {
        text(&self.arena, self.items[i])
    }

    /// The text of an item of these covers (the budget merger's view).
    pub(crate) fn item_text(&self, i: Item) -> &str {
        text(&self.arena, i)
    }

    /// [`order`] over these covers' texts.
    pub(crate) fn order(&self, a: Item, b: Item) -> Ordering {
        order(&self.arena, a, b)
    }

    /// The items, for the merger to choose among; [`Covers::set_items`] puts the survivors back.
    pub(crate) fn take_items(&mut self) -> Vec<Item> {
        std::mem::take(&mut self.items)
    }

    /// Items taken from these covers (possibly narrowed to a prefix of their text).
    pub(crate) fn set_items(&mut self, items: Vec<Item>) {
        self.items = items;
    }

    pub fn is_wildcard(&self, i: usize) -> bool {
        !self.items[i].exact
    }

    pub fn wildcards(&self) -> usize {
        self.items.iter().filter(|i| !i.exact).count()
    }

    /// The paths to send, in the covers' order.
    pub fn paths(&self) -> Vec<String> {
        self.items
            .iter()
            .map(|&i| if i.exact { text(&self.arena, i).to_string() } else { format!("{}*", text(&self.arena, i)) })
            .collect()
    }
}

fn text(arena: &str, i: Item) -> &str {
    &arena[i.start as usize..(i.start + i.len) as usize]
}

/// By text, and a wildcard before the exact path of the same text, so that a wildcard sorts
/// before everything it covers.
fn order(arena: &str, a: Item, b: Item) -> Ordering {
    text(arena, a).cmp(text(arena, b)).then(a.exact.cmp(&b.exact))
}

impl Covers {
    /// Sorts, removes duplicates and every cover another wildcard already covers. If the root
    /// wildcard is present only it remains.
    pub fn normalise(&mut self) {
        sort(self);
        sweep(self);
    }
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

/// Below this many covers the arena fits in cache and moving it costs more than it saves; above
/// it, texts moved into sorted order let the later rounds and the sweep after sorting read memory
/// in order (README, "Performance").
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

#[cfg(test)]
mod tests {
    use super::*;

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
        covers.normalise();
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
