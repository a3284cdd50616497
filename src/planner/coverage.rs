//! Which items cover which request forms: the one rule by which an invalidation's items (paths,
//! wildcards and cache tags, as CloudFront holds them) cover a request, a change or given paths.
//! The submit step decides by it what is covered already, whether an earlier invalidation answers
//! a request, and whether keys were deployed again since; `--explain` tells by it which path is
//! there for which key.
//!
//! A request form is one cover of a request ([`Covers`](super::Covers)): an exact path, or a
//! wildcard where a key's encoding is unsettled.
//!
//! - An exact form is covered by the same exact item, or by a wildcard whose prefix starts it.
//! - A wildcard form is covered only by a wildcard at least as wide (whose prefix starts the
//!   form's).
//! - A cache tag is covered only by the same tag: a tag has no wildcard, and no path covers it.
//! - An item *touches* a form when it covers it, or when the form is a wildcard that covers the
//!   item: the invalidation flushed some of what the form names.

use std::collections::HashSet;

use super::{covers_of_key, Request, Settings};
use crate::model::Change;

/// Whether `item` (as sent: a path, `prefix*` or a tag) covers the request form `form`
/// (`wildcard`: the form is `form*`).
pub fn item_covers(item: &str, form: &str, wildcard: bool) -> bool {
    match item.strip_suffix('*') {
        Some(prefix) => form.starts_with(prefix),
        None => !wildcard && item == form,
    }
}

/// An invalidation's items, ready to ask whether they cover a form: exact items by value,
/// wildcards by prefix.
#[derive(Debug, Clone, Default)]
pub struct ItemIndex<'p> {
    exact: HashSet<&'p str>,
    prefixes: Vec<&'p str>,
}

impl<'p> ItemIndex<'p> {
    pub fn new<S: AsRef<str>>(items: &'p [S]) -> Self {
        let mut index = ItemIndex::default();
        for item in items {
            match item.as_ref().strip_suffix('*') {
                Some(prefix) => index.prefixes.push(prefix),
                None => {
                    index.exact.insert(item.as_ref());
                }
            }
        }
        index
    }

    /// Whether any item covers the form ([`item_covers`]).
    pub fn covers(&self, form: &str, wildcard: bool) -> bool {
        (!wildcard && self.exact.contains(form)) || self.prefixes.iter().any(|p| form.starts_with(p))
    }

    /// Whether the same tag is among the items.
    pub fn has_tag(&self, tag: &str) -> bool {
        self.exact.contains(tag)
    }

    /// Whether an item (a path, a wildcard or a tag, as sent) shares a request with these items:
    /// one covers it, or it is a wildcard that covers one of them.
    pub fn touches_item(&self, item: &str) -> bool {
        match item.strip_suffix('*') {
            Some(prefix) => self.touches(prefix, true),
            None => self.touches(item, false),
        }
    }

    /// Whether any item touches the form: covers it, or (for a wildcard form) is covered by it.
    pub fn touches(&self, form: &str, wildcard: bool) -> bool {
        self.covers(form, wildcard)
            || (wildcard
                && (self.exact.iter().any(|e| e.starts_with(form))
                    || self.prefixes.iter().any(|p| p.starts_with(form))))
    }
}

impl Request<'_> {
    /// Whether `items` (an invalidation's, made for these changes in other room) cover every
    /// request form and every tag this request needs.
    pub fn covered_by(&self, items: &[String]) -> bool {
        let index = ItemIndex::new(items);
        (0..self.covers.len()).all(|i| index.covers(self.covers.text(i), self.covers.is_wildcard(i)))
            && self.tags.iter().all(|t| index.has_tag(t))
    }
}

/// Whether `index` covers every request form of one routed change (`viewer_key`, origin path
/// stripped; `None` for a change that only adds cache tags) and every cache tag it adds: the
/// change is then invalidated by it.
pub fn change_covered(settings: &Settings, change: &Change, viewer_key: Option<&str>, index: &ItemIndex) -> bool {
    let forms = viewer_key.map(|k| covers_of_key(k, settings.index_document.as_deref())).unwrap_or_default();
    (0..forms.len()).all(|i| index.covers(forms.text(i), forms.is_wildcard(i)))
        && settings.tags.tags_for(&change.key).iter().all(|t| index.has_tag(t))
}

/// Whether `index` touches any request form of one routed change or any cache tag it adds: the
/// rule of [`change_covered`] with "any" for "every", by which an invalidation flushed some of
/// the change's content (a deploy of the key by another tool that invalidated `/docs/index.html`
/// only, not `/docs/`).
pub fn change_touched(settings: &Settings, change: &Change, viewer_key: Option<&str>, index: &ItemIndex) -> bool {
    let forms = viewer_key.map(|k| covers_of_key(k, settings.index_document.as_deref())).unwrap_or_default();
    (0..forms.len()).any(|i| index.touches(forms.text(i), forms.is_wildcard(i)))
        || settings.tags.tags_for(&change.key).iter().any(|t| index.has_tag(t))
}

/// Whether `items` cover paths given as they are (an explicit `paths` request): only by holding
/// each of them as it is. The request names its items, so an invalidation with others (even
/// wider ones) is another request's.
pub fn given_paths_covered(given: &[String], items: &[String]) -> bool {
    given.iter().all(|p| items.contains(p))
}

/// Whether `index` touches any of the paths given as they are ([`ItemIndex::touches_item`]).
pub fn given_paths_touched(given: &[String], index: &ItemIndex) -> bool {
    given.iter().any(|p| index.touches_item(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rule: the coverage of one form by one item, and the index asking it of all items at once,
    /// agree; a touch is a cover either way round.
    #[test]
    fn which_items_cover_and_touch_which_forms() {
        // (item, form, form is a wildcard, covers, touches)
        let cases: &[(&str, &str, bool, bool, bool)] = &[
            ("/docs/", "/docs/", false, true, true),
            ("/docs/*", "/docs/a.html", false, true, true),
            ("/docs*", "/docs/", false, true, true),
            ("/docs/", "/docs/a.html", false, false, false),
            ("/docs/a.html", "/docs/", true, false, true),
            ("/docs/*", "/docs/a", true, true, true),
            ("/docs/a*", "/docs/", true, false, true),
            ("/docs/", "/docs/", true, false, true),
            ("/other/*", "/docs/", true, false, false),
            ("#blog", "#blog", false, true, true),
            ("#blog", "#blo", false, false, false),
        ];
        for &(item, form, wildcard, covers, touches) in cases {
            let items = [item];
            let index = ItemIndex::new(&items);
            let case = format!("{item} over {form}{}", if wildcard { "*" } else { "" });
            assert_eq!(item_covers(item, form, wildcard), covers, "{case}: covers");
            assert_eq!(index.covers(form, wildcard), covers, "{case}: the index covers");
            assert_eq!(index.touches(form, wildcard), touches, "{case}: touches");
        }
    }
}
