//! The planner's promises as properties over arbitrary keys and change sets:
//! every request form of every changed key is covered; budgets hold; every path is valid;
//! the plan is deterministic and re-planning it changes nothing.
//!
//! The request forms are computed here independently of the planner's encoder table, from each
//! encoder's documented rule (JavaScript's `encodeURIComponent` per segment and `encodeURI`, a
//! strict RFC 3986 encoder, Go's `url.PathEscape` per segment and `URL.EscapedPath`, CloudFront's
//! documented rule), plus the variants CloudFront's unsettled behaviour allows (`+` for a space,
//! `%7E` for `~`). Do not derive them from the planner: a wrong row there must fail here.

use cf_invalidator::model::{Change, ChangeKind};
use cf_invalidator::planner::{self, collapse, path_problem, Covers, Settings};
use cf_invalidator::Config;
use proptest::prelude::*;

fn encode(s: &str, keep: impl Fn(char) -> bool) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii() && keep(c) {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

/// Every form in which a viewer may have requested the (unencoded) viewer path `p`.
fn request_forms(p: &str) -> Vec<String> {
    let alnum = |c: char| c.is_ascii_alphanumeric();
    let uri_component = |c: char| alnum(c) || "-_.!~*'()".contains(c) || c == '/';
    let uri = |c: char| uri_component(c) || ";,/?:@&=+$#".contains(c);
    let strict = |c: char| alnum(c) || "-._~/".contains(c);
    // Go net/url shouldEscape: unreserved kept; of the reserved, encodePathSegment keeps
    // `$ & + : = @` (PathEscape, applied per segment) and encodePath all but `?` (EscapedPath).
    let go_path_segment = |c: char| alnum(c) || "-_.~/$&+:=@".contains(c);
    let go_path = |c: char| go_path_segment(c) || ",;".contains(c);
    let cloudfront = |c: char| (' '..='~').contains(&c) && !" <>\"#%{}|\\^~[]`".contains(c);
    let mut forms = Vec::new();
    let encoders: [&dyn Fn(char) -> bool; 6] = [&uri_component, &uri, &strict, &go_path_segment, &go_path, &cloudfront];
    for f in encoders.map(|keep| encode(p, keep)) {
        // A raw '?' or '#' ends the path part of a request: that link asks for another object.
        if f.contains('?') || f.contains('#') {
            continue;
        }
        for v in [f.clone(), f.replace("%20", "+"), f.replace('~', "%7E")] {
            if !forms.contains(&v) {
                forms.push(v);
            }
        }
    }
    forms
}

/// The paths by which a viewer reaches `key`'s object (INDEX_DOCUMENT `index.html`): S3 serves
/// `d/index.html` at `/d/`, and CloudFront's default root object serves `index.html` at `/`. The
/// slash-less `/d` redirects there only when it names a directory: when `d` ends in `/` (or is
/// empty), `/d` is the directory form of another index document.
fn viewer_paths(key: &str) -> Vec<String> {
    let mut v = vec![format!("/{key}")];
    if key == "index.html" {
        v.push("/".into());
    } else if let Some(d) = key.strip_suffix("/index.html") {
        v.push(format!("/{d}/"));
        if !d.is_empty() && !d.ends_with('/') {
            v.push(format!("/{d}"));
        }
    }
    v
}

fn covered(paths: &[String], form: &str) -> bool {
    paths.iter().any(|p| match p.strip_suffix('*') {
        Some(prefix) => form.starts_with(prefix),
        None => p == form,
    })
}

fn config(max_paths: usize, max_wildcards: usize) -> Settings {
    let (paths, wildcards) = (max_paths.to_string(), max_wildcards.to_string());
    Config::from_pairs(&[("DISTRIBUTION_ID", "E1"), ("MAX_PATHS", &paths), ("MAX_WILDCARDS", &wildcards)])
        .unwrap()
        .planner
}

fn changes(keys: &[String]) -> Vec<Change> {
    keys.iter()
        .enumerate()
        .map(|(i, k)| Change {
            message: 0,
            bucket: Some("b".into()),
            key: k.clone(),
            kind: ChangeKind::Created,
            version: Some(format!("{i:016X}")),
            time: None,
        })
        .collect()
}

/// Keys from an alphabet heavy in the characters that matter: separators, every reserved and
/// unsafe character, `%`, `+`, controls, multi-byte UTF-8.
fn key() -> impl Strategy<Value = String> {
    let atoms = prop::sample::select(vec![
        "a",
        "b",
        "z",
        "0",
        "9",
        "-",
        "_",
        ".",
        "/",
        "/",
        "index.html",
        "docs/",
        "~",
        " ",
        "+",
        "%",
        "%2B",
        "@",
        "=",
        "&",
        "(",
        ")",
        "*",
        "?",
        "#",
        "!",
        "'",
        "$",
        ",",
        ";",
        ":",
        "[",
        "]",
        "{",
        "|",
        "^",
        "`",
        "\"",
        "<",
        "\u{1}",
        "\u{7f}",
        "é",
        "😀",
        "ü",
    ]);
    prop::collection::vec(atoms, 1..12).prop_map(|v| v.concat()).prop_filter("S3 keys are not empty", |k| !k.is_empty())
}

fn valid(p: &str) -> bool {
    path_problem(p).is_none() && p.bytes().all(|b| (0x21..0x7f).contains(&b))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// Rule: every request form of every changed key is covered, and every path is valid.
    #[test]
    fn every_form_of_every_key_is_covered(keys in prop::collection::vec(key(), 1..20)) {
        let planned = planner::plan(&changes(&keys), &config(3000, 15), planner::Routing::Events).unwrap();
        let paths = &planned.plans[0].paths;
        for p in paths {
            prop_assert!(valid(p), "invalid path {p:?}");
        }
        for k in &keys {
            for vp in viewer_paths(k) {
                for form in request_forms(&vp) {
                    prop_assert!(covered(paths, &form), "key {k:?}: form {form:?} uncovered by {paths:?}");
                }
            }
        }
    }

    /// Rule: no needless exact path — each one is a request form of a path that serves a changed
    /// key (a wildcard may reach further, when the key's form is unsettled or a budget needs it).
    #[test]
    fn every_exact_path_is_a_form_of_a_changed_key(keys in prop::collection::vec(key(), 1..20)) {
        let planned = planner::plan(&changes(&keys), &config(3000, 15), planner::Routing::Events).unwrap();
        let forms: Vec<String> =
            keys.iter().flat_map(|k| viewer_paths(k)).flat_map(|vp| request_forms(&vp)).collect();
        for p in planned.plans[0].paths.iter().filter(|p| !p.ends_with('*')) {
            prop_assert!(forms.contains(p), "{p:?} serves none of {keys:?}");
        }
    }

    /// Rules: MAX_PATHS and MAX_WILDCARDS hold whatever the change set; everything stays covered.
    #[test]
    fn budgets_hold(keys in prop::collection::vec(key(), 1..120), max_paths in 1usize..40, max_wildcards in 1usize..16) {
        let planned = planner::plan(&changes(&keys), &config(max_paths, max_wildcards), planner::Routing::Events).unwrap();
        let paths = &planned.plans[0].paths;
        prop_assert!(paths.len() <= max_paths, "{} paths > {max_paths}", paths.len());
        prop_assert!(paths.iter().filter(|p| p.ends_with('*')).count() <= max_wildcards);
        for k in &keys {
            for vp in viewer_paths(k) {
                for form in request_forms(&vp) {
                    prop_assert!(covered(paths, &form), "key {k:?}: form {form:?} uncovered by {paths:?}");
                }
            }
        }
    }

    /// Rules: deterministic (sorted; the input order does not matter) and idempotent (planning
    /// the plan's own output changes nothing).
    #[test]
    fn deterministic_and_idempotent(keys in prop::collection::vec(key(), 1..80), max_paths in 1usize..30) {
        let cfg = config(max_paths, 15);
        let a = planner::plan(&changes(&keys), &cfg, planner::Routing::Events).unwrap().plans[0].paths.clone();
        let mut rev = keys.clone();
        rev.reverse();
        let b = planner::plan(&changes(&rev), &cfg, planner::Routing::Events).unwrap().plans[0].paths.clone();
        prop_assert_eq!(&a, &b);
        let mut sorted = a.clone();
        sorted.sort();
        prop_assert_eq!(&a, &sorted);
        let budget = collapse::Budget { max_paths, max_exact: max_paths, max_wildcards: 15 };
        let replanned = collapse::collapse(Covers::from_paths(&a), budget).paths();
        prop_assert_eq!(a, replanned);
    }
}

/// Rule: a path over 4,000 characters becomes a wildcard on its longest valid prefix.
#[test]
fn keys_past_the_length_limit_become_wildcards() {
    for key in ["a".repeat(1024), "é".repeat(512), format!("{}/x", "%".repeat(1000)), "😀".repeat(256)] {
        let planned =
            planner::plan(&changes(std::slice::from_ref(&key)), &config(3000, 15), planner::Routing::Events).unwrap();
        let paths = &planned.plans[0].paths;
        for p in paths {
            assert!(valid(p), "{p}");
        }
        for form in request_forms(&format!("/{key}")) {
            assert!(covered(paths, &form), "{key}: {form} uncovered");
        }
    }
}
