//! The covers of one request under construction: exact paths and wildcard prefixes.
//!
//! Every text lives in one arena string and a cover is a range of it, so that a million keys make
//! a few large allocations instead of millions of small ones (whose frees alone cost glibc's
//! allocator most of a second), sorting touches one contiguous buffer, and a merge — which only
//! ever shortens a text to a prefix of itself — allocates nothing.

use std::cmp::Ordering;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Item {
    pub start: u32,
    pub len: u32,
    pub exact: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Covers {
    pub(crate) arena: String,
    pub(crate) items: Vec<Item>,
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
        let start = u32::try_from(self.arena.len()).expect("covers of one request exceed 4 GiB");
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

pub(crate) fn text(arena: &str, i: Item) -> &str {
    &arena[i.start as usize..(i.start + i.len) as usize]
}

/// By text, and a wildcard before the exact path of the same text, so that a wildcard sorts
/// before everything it covers.
pub(crate) fn order(arena: &str, a: Item, b: Item) -> Ordering {
    text(arena, a).cmp(text(arena, b)).then(a.exact.cmp(&b.exact))
}
