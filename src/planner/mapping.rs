//! A changed key → the covers (exact paths or wildcard prefixes) of every request form a viewer
//! may have used for it.

use super::encoding::{cut_encoded, first_unsettled, request_forms, PLAIN};
use super::{Covers, MAX_PATH_LEN};

/// Calls `f` with each viewer path that serves `key` (already stripped of the origin path): the
/// key itself and, for an index document, its directory with and without the slash
/// (`docs/index.html` is also `/docs/` and `/docs`; the root `index.html` is also `/`). AWS
/// recommends invalidating both directory forms when a site is not standardised on one.
/// Only paths that serve this object are given: any other is paid for and empties another
/// object's cache for nothing.
/// `scratch` is reused between calls so that a million keys build no million strings.
pub fn for_each_viewer_path(key: &str, index_document: Option<&str>, scratch: &mut String, mut f: impl FnMut(&str)) {
    scratch.clear();
    scratch.push('/');
    scratch.push_str(key);
    f(scratch);
    let Some(idx) = index_document else { return };
    if key == idx {
        f("/");
    } else if let Some(dir) = key.strip_suffix(idx).and_then(|d| d.strip_suffix('/')) {
        // `dir` may be empty: the key `/index.html` is served at `//`, as S3 collapses nothing.
        scratch.truncate(1 + dir.len() + 1); // "/dir/"
        f(scratch);
        // Without the slash, a directory whose last segment is empty names another directory:
        // `/` is the root `index.html`, and `/a/` (from `a//index.html`) is `a/index.html`.
        if !dir.is_empty() && !dir.ends_with('/') {
            scratch.pop();
            f(scratch);
        }
    }
}

/// Appends the covers of one unencoded viewer path.
///
/// Each request form is an exact path. A path with an unsettled character has forms no exact
/// path can be trusted to cover, so it gets instead one wildcard per request form of the text
/// before its first unsettled character: the cut is as late as it can be, because a key's odd
/// character should cost the cache no more than the keys sharing its prefix. Collapsing widens
/// those wildcards only when a budget needs it. A form over CloudFront's 4,000-character limit
/// becomes a wildcard on its longest valid prefix.
pub fn covers_for(viewer_path: &str, out: &mut Covers) {
    // Most keys need no encoding and have one request form: the path is its own cover.
    if viewer_path.len() <= MAX_PATH_LEN && viewer_path.bytes().all(|b| PLAIN[b as usize]) {
        out.push_exact(viewer_path);
        return;
    }
    if let Some(cut) = first_unsettled(viewer_path) {
        // Every encoder works character by character, so each form of the whole path starts
        // with the same encoder's form of the prefix.
        for form in request_forms(&viewer_path[..cut]) {
            out.push_wildcard(&fit(form));
        }
        return;
    }
    for form in request_forms(viewer_path) {
        if form.len() <= MAX_PATH_LEN {
            out.push_exact(&form);
        } else {
            out.push_wildcard(&fit(form));
        }
    }
}

/// A wildcard prefix short enough that prefix + `*` is a valid path.
fn fit(prefix: String) -> String {
    if prefix.len() < MAX_PATH_LEN {
        prefix
    } else {
        cut_encoded(&prefix, MAX_PATH_LEN - 1).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The viewer paths of `key` as a list (see [`for_each_viewer_path`]).
    pub fn viewer_paths(key: &str, index_document: Option<&str>) -> Vec<String> {
        let mut out = Vec::new();
        for_each_viewer_path(key, index_document, &mut String::new(), |p| out.push(p.to_string()));
        out
    }

    #[test]
    fn index_documents_are_also_their_directory() {
        let idx = Some("index.html");
        let cases: &[(&str, Option<&str>, &[&str])] = &[
            ("index.html", idx, &["/index.html", "/"]),
            ("docs/index.html", idx, &["/docs/index.html", "/docs/", "/docs"]),
            ("a/b/index.html", idx, &["/a/b/index.html", "/a/b/", "/a/b"]),
            ("docs/myindex.html", idx, &["/docs/myindex.html"]),
            ("docs/index.html.bak", idx, &["/docs/index.html.bak"]),
            ("docs/index.html", None, &["/docs/index.html"]),
            ("docs/default.htm", Some("default.htm"), &["/docs/default.htm", "/docs/", "/docs"]),
        ];
        for (key, idx, want) in cases {
            assert_eq!(viewer_paths(key, *idx), *want, "{key}");
        }
    }

    /// Rule: only paths a viewer can request this object by. The directory form without its
    /// slash is given only when the directory's last segment is non-empty; otherwise it is
    /// another index document's path (`/` for `/index.html`, `/a/` for `a//index.html`). The
    /// form with the slash stays: S3 collapses no slashes, so `//` does serve `/index.html`.
    #[test]
    fn slashless_directory_form_only_for_a_named_directory() {
        let idx = Some("index.html");
        let cases: &[(&str, &[&str])] = &[
            // Found by the property test: a key with a leading or doubled slash.
            ("/index.html", &["//index.html", "//"]),
            ("a//index.html", &["/a//index.html", "/a//"]),
            ("//index.html", &["///index.html", "///"]),
            ("a/b//index.html", &["/a/b//index.html", "/a/b//"]),
            ("/a/index.html", &["//a/index.html", "//a/", "//a"]),
            ("a//b/index.html", &["/a//b/index.html", "/a//b/", "/a//b"]),
        ];
        for (key, want) in cases {
            assert_eq!(viewer_paths(key, idx), *want, "{key}");
        }
    }

    fn covers(p: &str) -> Vec<String> {
        let mut out = Covers::new();
        covers_for(p, &mut out);
        out.paths()
    }

    /// Rules: CloudFront encoding; several exact forms for reserved characters; a wildcard on
    /// the longest valid prefix past 4,000 characters.
    #[test]
    fn covers_of_awkward_paths() {
        let cases: &[(&str, &[&str])] = &[
            ("/docs/a.html", &["/docs/a.html"]),
            ("/café/menü.html", &["/caf%C3%A9/men%C3%BC.html"]),
            ("/100%.html", &["/100%25.html"]),
            ("/#tag.html", &["/%23tag.html"]),
            ("/icon@2x.png", &["/icon@2x.png", "/icon%402x.png"]),
        ];
        for (p, want) in cases {
            assert_eq!(covers(p), *want, "{p}");
        }
        let long = format!("/{}", "é".repeat(1000));
        let got = covers(&long);
        assert_eq!(got.len(), 1);
        assert!(got[0].ends_with('*') && got[0].len() <= MAX_PATH_LEN, "{}", got[0].len());
        assert!(got[0].trim_end_matches('*').ends_with("%A9"), "cut on an escape boundary");
    }

    /// Rule: a path with an unsettled character (`~`, space, `*`, `?`) is cut just before the
    /// first one — not at an earlier reserved character, whose forms are enumerable — with one
    /// wildcard per request form of the text before the cut. `~` first in a key leaves only `/*`.
    #[test]
    fn wildcard_cut_just_before_the_first_unsettled_character() {
        let cases: &[(&str, &[&str])] = &[
            ("/js/runtime~main.js", &["/js/runtime*"]),
            ("/red flower.jpg", &["/red*"]),
            ("/what?.html", &["/what*"]),
            ("/star*.txt", &["/star*"]),
            ("/~home", &["/*"]),
            ("/blog/@team/Launch Notes.html", &["/blog/@team/Launch*", "/blog/%40team/Launch*"]),
            ("/(1) photo.jpg", &["/(1)*", "/%281%29*"]),
            ("/a@b/c d.jpg", &["/a@b/c*", "/a%40b/c*"]),
            ("/c++ guide.pdf", &["/c++*", "/c%2B%2B*"]),
            ("/k=v&x(1)~", &["/k=v&x(1)*", "/k%3Dv%26x(1)*", "/k%3Dv%26x%281%29*", "/k=v&x%281%29*"]),
            ("/café@home~x", &["/caf%C3%A9@home*", "/caf%C3%A9%40home*"]),
            ("/100% done.html", &["/100%25*"]),
        ];
        for (p, want) in cases {
            assert_eq!(covers(p), *want, "{p}");
        }
    }

    /// Rule: budget pressure, not the cut, widens those wildcards — collapsing merges them into
    /// their common prefix (`/blog/*`) only when MAX_WILDCARDS or MAX_PATHS needs it.
    #[test]
    fn wildcard_cut_widens_only_under_budget_pressure() {
        use crate::planner::collapse::{collapse, Budget};
        let keys = ["/blog/@team/Launch Notes.html", "/blog/@team/roadmap.html", "/(1) photo.jpg"];
        let cases: &[(usize, usize, &[&str])] = &[
            (
                3000,
                15,
                &[
                    "/%281%29*",
                    "/(1)*",
                    "/blog/%40team/Launch*",
                    "/blog/%40team/roadmap.html",
                    "/blog/@team/Launch*",
                    "/blog/@team/roadmap.html",
                ],
            ),
            (3000, 3, &["/%281%29*", "/(1)*", "/blog/*"]),
            (4, 15, &["/%281%29*", "/(1)*", "/blog/%40team/*", "/blog/@team/*"]),
            (3, 15, &["/%281%29*", "/(1)*", "/blog/*"]),
            (3000, 1, &["/*"]),
        ];
        for (max_paths, max_wildcards, want) in cases {
            let mut c = Covers::new();
            for k in keys {
                covers_for(k, &mut c);
            }
            let got =
                collapse(c, Budget { max_paths: *max_paths, max_exact: *max_paths, max_wildcards: *max_wildcards })
                    .paths();
            assert_eq!(got, *want, "MAX_PATHS={max_paths} MAX_WILDCARDS={max_wildcards}");
        }
    }
}
