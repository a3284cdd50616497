//! `TAGS`: content whose change must purge pages that are not its own path, by CloudFront cache
//! tag. `{"data/products/*.json": "#product-pages", "blog/**": ["#blog", "#home"]}` — a changed key
//! matching a glob (as in `.gitignore`, like `EXCLUDE`) adds those `#tag` items to its
//! distribution's request. A tag is billed like a path, counts against the path budget, and never
//! needs a wildcard.

use std::collections::BTreeMap;

use globset::GlobSet;
use serde::Deserialize;

use super::filter::key_globs;
use crate::model::{normalise_tag, tag_problem};

#[derive(Debug, Clone, Default)]
pub struct TagRules {
    globs: Option<GlobSet>,
    /// The tags of each glob, in the order the globs were added.
    tags: Vec<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl TagRules {
    /// From `TAGS`'s JSON object; `Err` says what is wrong, for `ConfigError`.
    pub fn parse(json: &str) -> Result<Self, String> {
        let raw: BTreeMap<String, OneOrMany> = serde_json::from_str(json).map_err(|e| {
            format!("{e}; expected a JSON object of key globs to cache tags, like {{\"data/products/*.json\": \"#product-pages\"}}")
        })?;
        let mut globs = Vec::with_capacity(raw.len());
        let mut tags = Vec::with_capacity(raw.len());
        for (glob, t) in raw {
            let list = match t {
                OneOrMany::One(t) => vec![t],
                OneOrMany::Many(ts) => ts,
            };
            if list.is_empty() {
                return Err(format!("{glob:?} names no cache tag"));
            }
            for t in &list {
                if let Some(p) = tag_problem(t) {
                    return Err(format!("{glob:?}: {t:?}: {p}"));
                }
            }
            globs.push(glob);
            tags.push(list.iter().map(|t| normalise_tag(t)).collect());
        }
        Ok(TagRules { globs: Some(key_globs(&globs)?), tags })
    }

    pub fn is_empty(&self) -> bool {
        self.tags.is_empty()
    }

    /// The tags a change of `key` adds (possibly repeated; the request deduplicates). Empty, and
    /// no allocation, without `TAGS`.
    pub fn tags_for(&self, key: &str) -> Vec<&str> {
        match &self.globs {
            Some(g) => g.matches(key).into_iter().flat_map(|i| self.tags[i].iter().map(String::as_str)).collect(),
            None => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rules: a glob maps to one tag or several; tags are checked by CloudFront's rules and sent in
    /// one spelling; globs match as `EXCLUDE`'s do.
    #[test]
    fn tag_rules() {
        let r =
            TagRules::parse(r##"{"data/products/*.json": "#Product-Pages", "*.css": ["#styles", "#home"]}"##).unwrap();
        let tags = |k: &str| r.tags_for(k);
        assert_eq!(tags("data/products/42.json"), ["#product-pages"]);
        assert_eq!(tags("data/products/x/42.json"), Vec::<&str>::new(), "* stays within a segment");
        assert_eq!(tags("a/b/site.css"), ["#styles", "#home"]);
        assert!(tags("index.html").is_empty());
        for (bad, want) in [
            (r##"["x"]"##, "expected a JSON object"),
            (r##"{"a/*": "tag"}"##, "must start with '#'"),
            (r##"{"a/*": "#a,b"}"##, "no commas"),
            (r##"{"a/*": []}"##, "names no cache tag"),
            (r##"{"a[": "#t"}"##, "invalid glob"),
        ] {
            let e = TagRules::parse(bad).unwrap_err();
            assert!(e.contains(want), "{bad}: {e}");
        }
    }
}
