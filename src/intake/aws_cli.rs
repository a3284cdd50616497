//! What the AWS CLI's `aws s3 sync`, `cp`, `mv` and `rm` print → the S3 objects they changed.
//!
//! The CLI prints one line per object it transferred:
//!
//! ```text
//! upload: public/index.html to s3://my-site/index.html
//! copy: s3://staging/app.js to s3://my-site/app.js
//! move: s3://my-site/old.html to s3://my-site/new.html
//! move: s3://my-site/gone.html to archive/gone.html
//! delete: s3://my-site/gone.html
//! ```
//!
//! The destination of each is a change of the bucket it names; a `move` from S3 also removes its
//! source. Every other line — progress (`Completed 1.2 MiB/…`, ended by a carriage return),
//! `download:` (nothing in S3 changed), `upload failed:`, warnings — changes nothing, and neither
//! does a `(dryrun)` line. Keys are printed as they are (no URL encoding, spaces and ` to `
//! included). [`transfers`] is pure (text in, changes out): intake of text, as the other files of
//! `intake/` are intake of events.
//!
//! How the lines are read (tested on the real CLI's output, `cfinv/tests/fixtures/aws-s3/`):
//!
//! - **Padding.** While a transfer is under way the CLI keeps a progress line on screen, ended by
//!   `\r` so that the next line overwrites it. The line that overwrites it (a transfer, a failure,
//!   a warning, another progress line) is left-justified with trailing spaces to the progress
//!   line's full length in characters (Python's `str.ljust`, so a line holding `ü` is longer in
//!   bytes), so no character of the old line shows through; after a transfer line
//!   (ended by `\n`) nothing needs overwriting, so the next line is not padded. The same bytes go
//!   to a file or a pipe. So a transfer line can be padded only when the line just before it is a
//!   progress line, and then only up to that line's length: a line of exactly that length may end
//!   in padding, any other line is exactly what the CLI meant. On such a line the key of the last
//!   field is read without its trailing spaces, unless the other side of the line has the same name
//!   (the local file of an `upload:`, the source object of a `copy:` between buckets): printed
//!   first, its trailing spaces are exact, and they are the key's. This gives up in one case: a key
//!   that itself ends in spaces, on a padded line with no such side (a `delete:`, a copy that
//!   renames). That key is read without its spaces; the CLI's `--no-progress` prints it exactly.
//!   Reading every padded line both ways instead would make every padded `delete:` a changed key
//!   ending in spaces, which the planner can only cover with a wildcard: whole sections purged and
//!   wildcard slots spent on every `sync --delete`, for a key shape web content almost never has.
//! - **Where a line is cut.** Local paths are printed relative (never `//`, never ` s3://`); keys
//!   may hold anything, ` to ` and ` to s3://` included. So a line is cut where its form says the
//!   S3 side ends: at the first ` to s3://` after a local source; after an S3 source, at the ` to `
//!   whose two sides end in the same name (a sync or a recursive `mv` keeps names), and at every
//!   candidate when none does, since a missed change leaves a stale page and an extra one costs one
//!   path.
//! - Progress lines are known by their `\r`, and also by their form (`Completed …`) where the
//!   carriage returns were turned into newlines on the way.

use crate::model::{ChangeKind, MAX_KEY_BYTES};

/// One object a transfer line says changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Transfer<'a> {
    pub bucket: &'a str,
    pub key: &'a str,
    pub kind: ChangeKind,
    /// The line it was read from (without its line ending), for messages.
    pub line: &'a str,
}

/// Everything read from a text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transfers<'a> {
    /// The objects changed, in the order of the lines.
    pub changes: Vec<Transfer<'a>>,
    /// Whether any line was an AWS CLI transfer line (one that changed nothing included: a sync
    /// that only downloaded, or a dry run, is still AWS CLI output).
    pub recognised: bool,
    /// Non-blank lines that named no change: progress, downloads, failures, dry runs, warnings,
    /// and anything else.
    pub ignored_lines: usize,
}

/// The objects an AWS CLI transfer output changed, read as the module doc says.
pub fn transfers(text: &str) -> Transfers<'_> {
    let mut out = Transfers::default();
    // The progress line the current line overwrites: its length in characters (without the `\r`).
    // The CLI pads with Python's `str.ljust`, which counts characters, not bytes: a padded line
    // holding `ü` is one byte longer than its progress line.
    let mut overwrites: Option<usize> = None;
    let mut rest = text;
    while !rest.is_empty() {
        let end = rest.find(['\n', '\r']).unwrap_or(rest.len());
        let (l, ending) = (&rest[..end], rest[end..].chars().next());
        rest = &rest[(end + 1).min(rest.len())..];
        let padded_to = overwrites.take();
        if ending == Some('\r') || l.starts_with("Completed ") {
            // CRLF: a line ended by "\r\n" is one line, not a progress line.
            if ending == Some('\r') && rest.starts_with('\n') {
                rest = &rest[1..];
            } else {
                overwrites = Some(l.chars().count());
            }
        }
        let padded = padded_to == Some(l.chars().count());
        match line(l, padded) {
            Line::Changes(cs) => {
                out.recognised = true;
                out.changes.extend(cs.into_iter().map(|(bucket, key, kind)| Transfer { bucket, key, kind, line: l }));
            }
            Line::Unchanged => {
                out.recognised = true;
                out.ignored_lines += 1;
            }
            Line::Other if !l.trim().is_empty() => out.ignored_lines += 1,
            Line::Other => {}
        }
    }
    out
}

/// One line of AWS CLI output.
#[derive(Debug, PartialEq, Eq)]
enum Line<'a> {
    /// (bucket, key, kind) of every object the transfer wrote or removed; an ambiguous cut gives
    /// every reading, each as a change of the same kind.
    Changes(Vec<(&'a str, &'a str, ChangeKind)>),
    /// A transfer line that changed nothing in S3: a `(dryrun)` line, a `download:`, a failure.
    Unchanged,
    Other,
}

/// `bucket/key` (after `s3://`) → its parts, both non-empty. A bucket name has no spaces.
fn s3_parts(url: &str) -> Option<(&str, &str)> {
    url.split_once('/').filter(|(b, k)| !b.is_empty() && !b.contains(' ') && !k.is_empty())
}

fn trailing_spaces(s: &str) -> usize {
    s.len() - s.trim_end_matches(' ').len()
}

/// The last segment of a key or local path, without trailing spaces (which may be padding).
fn name(s: &str) -> &str {
    let s = s.trim_end_matches(' ');
    s.rsplit(['/', '\\']).next().unwrap_or(s)
}

/// The key printed last on a line. On a `padded` line its trailing spaces are padding, unless
/// `beside` (the other side of the line, printed before it and so exact) has the key's name: then
/// its trailing spaces are the key's.
fn last_field<'a>(key: &'a str, beside: Option<&str>, padded: bool) -> Option<&'a str> {
    let spaces = trailing_spaces(key);
    let bare = &key[..key.len() - spaces];
    let key = match beside.filter(|o| name(o) == name(key)) {
        _ if !padded || spaces == 0 => key,
        Some(other) => &key[..bare.len() + trailing_spaces(other).min(spaces)],
        None => bare,
    };
    // A key cannot be empty, nor longer than S3 allows: such a reading is not a key.
    Some(key).filter(|k| !k.is_empty() && k.len() <= MAX_KEY_BYTES)
}

/// The destination of a transfer from S3: an object, or a local path (which changes nothing in S3).
#[derive(Debug, Clone, Copy)]
enum Dest<'a> {
    S3(&'a str, &'a str),
    Local(&'a str),
}

/// The ways to read `s3://{rest}` as `s3://SOURCE to DEST`: every ` to ` is a candidate (keys and
/// local names may hold it), and when the two sides of some candidates end in the same name, only
/// those are kept (see the module doc).
fn from_s3(rest: &str, local_dest: bool) -> Vec<((&str, &str), Dest<'_>)> {
    let all: Vec<_> = rest
        .match_indices(" to ")
        .filter_map(|(i, _)| {
            let src = s3_parts(&rest[..i])?;
            let dest = &rest[i + " to ".len()..];
            let dest = match dest.strip_prefix("s3://") {
                Some(url) => s3_parts(url).map(|(b, k)| Dest::S3(b, k))?,
                None if local_dest && !dest.trim_end_matches(' ').is_empty() => Dest::Local(dest),
                None => return None,
            };
            Some((src, dest))
        })
        .collect();
    let dest_name = |d: &Dest<'_>| match *d {
        Dest::S3(_, k) | Dest::Local(k) => name(k).to_string(),
    };
    let same_name: Vec<_> = all.iter().copied().filter(|((_, k), d)| name(k) == dest_name(d)).collect();
    if same_name.is_empty() {
        all
    } else {
        same_name
    }
}

fn line(l: &str, padded: bool) -> Line<'_> {
    use ChangeKind::{Created, Removed};
    if let Some(rest) = l.strip_prefix("(dryrun) ") {
        return if matches!(line(rest, padded), Line::Changes(_)) { Line::Unchanged } else { Line::Other };
    }
    let Some((verb, rest)) = l.split_once(": ") else { return Line::Other };
    let mut out = Vec::new();
    match (verb, rest.strip_prefix("s3://")) {
        // A local source holds no ` s3://`, so the first one starts the destination.
        ("upload" | "move", None) => {
            if let Some((local, (b, k))) =
                rest.split_once(" to s3://").and_then(|(local, dest)| Some((local, s3_parts(dest)?)))
            {
                out.extend(last_field(k, Some(local), padded).map(|k| (b, k, Created)));
            }
        }
        (verb @ ("copy" | "move"), Some(rest)) => {
            for ((sb, sk), dest) in from_s3(rest, verb == "move") {
                // The source is printed first, so exactly; a move removes it. A reading longer
                // than S3 allows a key is not one (as for the last field).
                if verb == "move" && sk.len() <= MAX_KEY_BYTES {
                    out.push((sb, sk, Removed));
                }
                if let Dest::S3(db, dk) = dest {
                    out.extend(last_field(dk, Some(sk), padded).map(|k| (db, k, Created)));
                }
            }
        }
        ("delete", Some(url)) => {
            if let Some((b, k)) = s3_parts(url) {
                out.extend(last_field(k, None, padded).map(|k| (b, k, Removed)));
            }
        }
        ("download", Some(_)) => return Line::Unchanged,
        (v, _)
            if v.strip_suffix(" failed")
                .is_some_and(|v| ["upload", "download", "copy", "move", "delete"].contains(&v)) =>
        {
            return Line::Unchanged
        }
        _ => {}
    }
    if out.is_empty() {
        Line::Other
    } else {
        Line::Changes(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One change read: (bucket, key, kind).
    type Read1 = (&'static str, &'static str, ChangeKind);

    fn read(text: &str) -> Vec<(&str, &str, ChangeKind)> {
        transfers(text).changes.iter().map(|t| (t.bucket, t.key, t.kind)).collect()
    }

    /// Rule: a reading longer than S3 allows a key (1,024 bytes) is not a key, whichever side of
    /// the line it is on.
    #[test]
    fn no_key_is_longer_than_s3_allows() {
        let long = "k".repeat(MAX_KEY_BYTES + 1);
        let (moved, deleted) =
            (format!("move: s3://b/{long} to s3://b/new.html\n"), format!("delete: s3://b/{long}\n"));
        assert_eq!(read(&moved), [("b", "new.html", ChangeKind::Created)]);
        assert_eq!(read(&deleted), []);
    }

    /// Rules of the cuts and the padding, on single lines of the forms the CLI prints for cases the
    /// captured runs cannot hold (a copy that renames, a key named `-` from stdin, a bare local
    /// name); each line is given the progress line it overwrites, or none.
    #[test]
    fn readings_of_one_line() {
        use ChangeKind::*;
        #[rustfmt::skip]
        let cases: &[(&str, bool, &[Read1])] = &[
            // Padded, the local side ends in no space: the key's spaces are padding.
            ("upload: site/index.html to s3://b/index.html      ", true, &[("b", "index.html", Created)]),
            // Padded, the local side has two: the key has them, the rest is padding.
            ("upload: site/a   to s3://b/a     ", true, &[("b", "a  ", Created)]),
            // Padded, another name (cp to a key, or from stdin): the spaces are padding.
            ("upload: - to s3://b/k  ", true, &[("b", "k", Created)]),
            ("copy: s3://a/x to s3://b/y ", true, &[("b", "y", Created)]),
            ("delete: s3://b/old.html    ", true, &[("b", "old.html", Removed)]),
            // Not padded: the spaces are the key's, whatever the line.
            ("delete: s3://b/k ", false, &[("b", "k ", Removed)]),
            ("upload: - to s3://b/k  ", false, &[("b", "k  ", Created)]),
            ("delete: s3://b/k", true, &[("b", "k", Removed)]),
            ("delete: s3://b/   ", false, &[("b", "   ", Removed)]),
            // Padded and only spaces: no key can be read.
            ("delete: s3://b/   ", true, &[]),
            // A move to a local name that is not the key's: every cut is a reading.
            ("move: s3://b/k to local/x to y", false, &[("b", "k", Removed), ("b", "k to local/x", Removed)]),
            ("move: ./a to s3://b/a ", true, &[("b", "a", Created)]),
            ("download: s3://b/k to k", false, &[]),
            ("delete: local/k", false, &[]),
            ("upload failed: site/a to s3://b/a An error occurred (AccessDenied)", false, &[]),
        ];
        for (l, padded, want) in cases {
            let got = match line(l, *padded) {
                Line::Changes(cs) => cs,
                _ => vec![],
            };
            assert_eq!(got, *want, "{l:?} padded: {padded}");
        }
    }

    /// Rule: a line is padded only to the length of the progress line just before it. Longer or
    /// shorter, after a transfer line, or first: its trailing spaces are the key's.
    #[test]
    fn padding_is_the_progress_line_overwritten() {
        use ChangeKind::*;
        let progress = "Completed 1 file(s) with 2 file(s) remaining";
        let pad = |s: &str| format!("{s:<width$}", width = progress.len());
        #[rustfmt::skip]
        let cases: Vec<(String, Vec<Read1>)> = vec![
            (format!("{progress}\r{}\n", pad("delete: s3://b/old.html")), vec![("b", "old.html", Removed)]),
            // The carriage returns turned into newlines: known by its form.
            (format!("{progress}\n{}\n", pad("delete: s3://b/old.html")), vec![("b", "old.html", Removed)]),
            // First line, or after a transfer line: exact.
            ("delete: s3://b/k  \n".to_string(), vec![("b", "k  ", Removed)]),
            (format!("{progress}\r{}\ndelete: s3://b/k  \n", pad("delete: s3://b/a")),
             vec![("b", "a", Removed), ("b", "k  ", Removed)]),
            // Not of the progress line's length: not padded.
            (format!("{progress}\rdelete: s3://b/k  \n"), vec![("b", "k  ", Removed)]),
            // Padded to the progress line's length in characters (Python's `str.ljust`, as
            // `format!` pads): a key holding `ü` or `é` is read without its padding all the same.
            (format!("{progress}\r{}\n{progress}\r{}\n", pad("delete: s3://b/de/über.html"), pad("delete: s3://b/fr/été.html")),
             vec![("b", "de/über.html", Removed), ("b", "fr/été.html", Removed)]),
            // CRLF line endings are line endings, not progress lines.
            ("delete: s3://b/a\r\ndelete: s3://b/k  \r\n".to_string(), vec![("b", "a", Removed), ("b", "k  ", Removed)]),
        ];
        for (text, want) in cases {
            assert_eq!(read(&text), want, "{text:?}");
        }
    }
}
