//! A changed key → the covers (exact paths or wildcard prefixes) of every request form a viewer
//! may have used for it.

use super::encoding::{cloudfront, cut_encoded, first_ambiguous, has_unsettled, request_forms};
use super::{Cover, MAX_PATH_LEN};

/// The viewer paths that serve `key` (already stripped of the origin path): the key itself and,
/// for an index document, its directory with and without the slash (`docs/index.html` is also
/// `/docs/` and `/docs`; the root `index.html` is also `/`). AWS recommends invalidating both
/// directory forms when a site is not standardised on one.
pub fn viewer_paths(key: &str, index_document: Option<&str>) -> Vec<String> {
    let mut out = vec![format!("/{key}")];
    if let Some(idx) = index_document {
        if key == idx {
            out.push("/".to_string());
        } else if let Some(dir) = key.strip_suffix(idx).and_then(|d| d.strip_suffix('/')) {
            if !dir.is_empty() {
                out.push(format!("/{dir}/"));
                out.push(format!("/{dir}"));
            }
        }
    }
    out
}

/// Appends the covers of one unencoded viewer path.
///
/// A path with an unsettled character gets one wildcard ending just before its first ambiguous
/// character, which covers every form; otherwise each request form is an exact path. A form over
/// CloudFront's 4,000-character limit becomes a wildcard on its longest valid prefix.
pub fn covers_for(viewer_path: &str, out: &mut Vec<Cover>) {
    if has_unsettled(viewer_path) {
        let cut = first_ambiguous(viewer_path).expect("an unsettled character is ambiguous");
        out.push(Cover::wildcard(fit(cloudfront(&viewer_path[..cut]))));
        return;
    }
    for form in request_forms(viewer_path) {
        if form.len() <= MAX_PATH_LEN {
            out.push(Cover::exact(form));
        } else {
            out.push(Cover::wildcard(fit(form)));
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

    fn covers(p: &str) -> Vec<String> {
        let mut out = Vec::new();
        covers_for(p, &mut out);
        out.iter().map(Cover::path).collect()
    }

    /// Rules: CloudFront encoding; several exact forms for reserved characters; a wildcard just
    /// before the first ambiguous character when any character is unsettled (`~`, space, `*`, `?`);
    /// a wildcard on the longest valid prefix past 4,000 characters.
    #[test]
    fn covers_of_awkward_paths() {
        let cases: &[(&str, &[&str])] = &[
            ("/docs/a.html", &["/docs/a.html"]),
            ("/café/menü.html", &["/caf%C3%A9/men%C3%BC.html"]),
            ("/100%.html", &["/100%25.html"]),
            ("/#tag.html", &["/%23tag.html"]),
            ("/icon@2x.png", &["/icon@2x.png", "/icon%402x.png"]),
            ("/js/runtime~main.js", &["/js/runtime*"]),
            ("/red flower.jpg", &["/red*"]),
            ("/a@b/c d.jpg", &["/a*"]),
            ("/what?.html", &["/what*"]),
            ("/star*.txt", &["/star*"]),
            ("/~home", &["/*"]),
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
}
