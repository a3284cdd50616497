//! The keys `cfinv invalidate` reads: arguments (plain keys or `s3://bucket/key`), a file of keys
//! one a line, or what `aws s3 sync` (and `cp`, `mv`, `rm`) printed.
//!
//! The AWS CLI prints one line per object it transferred:
//!
//! ```text
//! upload: public/index.html to s3://my-site/index.html
//! copy: s3://staging/app.js to s3://my-site/app.js
//! move: s3://my-site/old.html to s3://my-site/new.html
//! move: s3://my-site/gone.html to archive/gone.html
//! delete: s3://my-site/gone.html
//! ```
//!
//! The destination of each is a change of the bucket it names (which `ROUTES` may route by); a
//! `move` from S3 also removes its source. Every other line — progress (`Completed 1.2 MiB/…`,
//! written with carriage returns), `download:` (nothing in S3 changed), `upload failed:`,
//! warnings — is ignored, and so is a `(dryrun)` line, which changed nothing. Keys are printed as
//! they are (no URL encoding, spaces and ` to ` included).
//!
//! What the real CLI writes (cfinv/tests/fixtures/aws-s3/, captured by scripts/capture-s3-sync.sh):
//! - Each transfer line is padded with trailing spaces to the length of the progress line it
//!   overwrites, in a file or a pipe too (awscli's `ResultPrinter` pads with `ljust`). Only the
//!   last field of a line is padded, and an S3 key may itself end in spaces. Where the other side
//!   of the line has the same name (the local file of an `upload:`, the source object of a
//!   `copy:` between buckets), its trailing spaces, which are exact, decide the key's. Where there
//!   is no such side (`delete:`, a copy that renames), both readings are changes: the key without
//!   its trailing spaces and with them. A key that truly ends in a space on a padded `delete:` line
//!   is then covered by neither exactly; the line does not say how many of its spaces are the
//!   key's.
//! - Local paths are printed through `os.path.relpath`, so they never hold `//` and never
//!   ` s3://`; keys may hold anything, ` to ` and ` to s3://` included. So a line is cut where its
//!   form says the S3 side ends: at the first ` to s3://` after a local source; after an S3 source,
//!   at the ` to ` whose two sides end in the same name (a sync or a recursive `mv` keeps names),
//!   and at every candidate when none does, since a missed change leaves a stale page and an extra
//!   one costs one path.
//! - The fixtures were captured with v1 (PyPI has no v2). CI runners and most users have v2, whose
//!   transfer lines are assumed to be the same: not checked here, so the rules above take nothing
//!   from v1 but the padding, the line forms and relpath.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read as _};
use std::path::PathBuf;
use std::sync::Arc;

use cf_invalidator::model::{Change, ChangeKind, MAX_KEY_BYTES};

/// How `--from` input is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `aws s3 sync` output when any line is one, else keys.
    Auto,
    /// Every non-empty line is a key (or an `s3://` URL).
    Keys,
    /// Only the AWS CLI's transfer lines count.
    S3Sync,
}

/// The changes read, and how.
#[derive(Debug, Default)]
pub struct Read {
    pub changes: Vec<Change>,
    /// Lines of `aws s3 sync` output that named no change (progress, downloads, failures, dry runs).
    pub ignored_lines: usize,
    /// Whether `--from` input was read as `aws s3 sync` output.
    pub s3_sync: bool,
}

/// One line of AWS CLI output.
#[derive(Debug, PartialEq, Eq)]
enum Line<'a> {
    /// (bucket, key, kind) of every object the transfer wrote or removed; an ambiguous line gives
    /// every reading, each as a change of the same kind.
    Changes(Vec<(&'a str, &'a str, ChangeKind)>),
    /// A transfer line that changed nothing in S3: a `(dryrun)` line, a `download:`, a failure.
    /// It still says the input is AWS CLI output (a sync that only downloaded names no keys).
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

/// The readings of a key printed last on a line (so perhaps padded). `beside` is the other side of
/// the same line, printed before it and so exact: when it has the key's name, its trailing spaces
/// are the key's.
fn last_field<'a>(key: &'a str, beside: Option<&str>) -> Vec<&'a str> {
    let padded = trailing_spaces(key);
    let bare = &key[..key.len() - padded];
    if padded == 0 {
        return vec![key];
    }
    if let Some(other) = beside.filter(|o| name(o) == name(key)) {
        return vec![&key[..bare.len() + trailing_spaces(other).min(padded)]];
    }
    // A key cannot be empty, nor longer than S3 allows: such a reading is only padding.
    [bare, key].into_iter().filter(|k| !k.is_empty() && k.len() <= MAX_KEY_BYTES).collect()
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

fn line(l: &str) -> Line<'_> {
    use ChangeKind::{Created, Removed};
    if let Some(rest) = l.strip_prefix("(dryrun) ") {
        return if matches!(line(rest), Line::Changes(_)) { Line::Unchanged } else { Line::Other };
    }
    let Some((verb, rest)) = l.split_once(": ") else { return Line::Other };
    let mut out = Vec::new();
    match (verb, rest.strip_prefix("s3://")) {
        // A local source holds no ` s3://`, so the first one starts the destination.
        ("upload" | "move", None) => {
            if let Some((local, (b, k))) =
                rest.split_once(" to s3://").and_then(|(local, dest)| Some((local, s3_parts(dest)?)))
            {
                out.extend(last_field(k, Some(local)).into_iter().map(|k| (b, k, Created)));
            }
        }
        (verb @ ("copy" | "move"), Some(rest)) => {
            for ((sb, sk), dest) in from_s3(rest, verb == "move") {
                // The source is printed first, so exactly; a move removes it.
                if verb == "move" {
                    out.push((sb, sk, Removed));
                }
                if let Dest::S3(db, dk) = dest {
                    out.extend(last_field(dk, Some(sk)).into_iter().map(|k| (db, k, Created)));
                }
            }
        }
        ("delete", Some(url)) => {
            if let Some((b, k)) = s3_parts(url) {
                out.extend(last_field(k, None).into_iter().map(|k| (b, k, Removed)));
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

/// Builds the changes, one `Arc` per bucket, checking each key as S3 would.
#[derive(Default)]
struct Changes {
    buckets: BTreeMap<String, Arc<str>>,
    out: Vec<Change>,
}

impl Changes {
    fn push(&mut self, bucket: Option<&str>, key: &str, kind: ChangeKind, what: &str) -> Result<(), String> {
        if key.is_empty() || key.len() > MAX_KEY_BYTES {
            return Err(format!("{what}: an S3 key is 1 to {MAX_KEY_BYTES} bytes, got {} bytes", key.len()));
        }
        let bucket = bucket.map(|b| self.buckets.entry(b.to_string()).or_insert_with(|| Arc::from(b)).clone());
        self.out.push(Change { message: 0, bucket, key: key.to_string(), kind, version: None, time: None });
        Ok(())
    }

    /// A key as given: a plain key of `bucket`, or an `s3://bucket/key` URL.
    fn push_given(&mut self, given: &str, bucket: Option<&str>, what: &str) -> Result<(), String> {
        match given.strip_prefix("s3://") {
            Some(url) => {
                let (b, k) = s3_parts(url).ok_or_else(|| format!("{what} {given:?} is not s3://bucket/key"))?;
                self.push(Some(b), k, ChangeKind::Created, what)
            }
            None => self.push(bucket, given, ChangeKind::Created, what),
        }
    }
}

/// The changes named by the arguments and by the text of `--from` (`name` is how errors call it).
pub fn read(args: &[String], from: Option<(&str, &str)>, format: Format, bucket: Option<&str>) -> Result<Read, String> {
    let mut changes = Changes::default();
    for (i, k) in args.iter().enumerate() {
        changes.push_given(k, bucket, &format!("key argument {}", i + 1))?;
    }
    let mut read = Read::default();
    if let Some((name, text)) = from {
        // Progress lines end in a carriage return, not a newline.
        let sync_lines = || text.split(['\n', '\r']);
        read.s3_sync = match format {
            Format::S3Sync => true,
            Format::Keys => false,
            Format::Auto => sync_lines().any(|l| line(l) != Line::Other),
        };
        if read.s3_sync {
            for l in sync_lines() {
                match line(l) {
                    Line::Changes(cs) => {
                        for (b, k, kind) in cs {
                            changes.push(Some(b), k, kind, &format!("{name}: {l:?}"))?;
                        }
                    }
                    Line::Unchanged | Line::Other if !l.trim().is_empty() => read.ignored_lines += 1,
                    _ => {}
                }
            }
        } else {
            for (n, l) in text.lines().enumerate() {
                if !l.is_empty() {
                    changes.push_given(l, bucket, &format!("{name} line {}", n + 1))?;
                }
            }
        }
    }
    read.changes = changes.out;
    Ok(read)
}

/// The text of `--from FILE` (`-`: standard input), with a name for messages.
pub fn read_file(path: &PathBuf) -> Result<(String, String), String> {
    let bytes = if path.as_os_str() == "-" {
        if std::io::stdin().is_terminal() {
            eprintln!("cfinv: reading keys from the terminal, one a line; end with Ctrl-D");
        }
        let mut buf = Vec::new();
        std::io::stdin().read_to_end(&mut buf).map_err(|e| format!("cannot read standard input: {e}"))?;
        buf
    } else {
        std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?
    };
    let name = if path.as_os_str() == "-" { "standard input".to_string() } else { path.display().to_string() };
    // S3 keys are UTF-8; the AWS CLI prints them as they are.
    let text = String::from_utf8(bytes).map_err(|e| format!("{name} is not UTF-8 text: {e}"))?;
    Ok((name, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(r: &Read) -> Vec<(Option<&str>, &str, ChangeKind)> {
        r.changes.iter().map(|c| (c.bucket.as_deref(), c.key.as_str(), c.kind)).collect()
    }

    /// One change read: (bucket, key, kind).
    type Read1 = (&'static str, &'static str, ChangeKind);

    /// What the real AWS CLI printed (scripts/capture-s3-sync.sh), byte for byte.
    fn fixture(name: &str) -> String {
        let path = format!("{}/tests/fixtures/aws-s3/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// Rules (module doc; aws-facts.md, "The AWS CLI's transfer lines"), on real `aws s3` output
    /// with its progress lines and padding: the destination of every transfer is a change of the
    /// bucket it names, without the padding; an upload's key ends in the local file's spaces; a
    /// line with no such side (`delete:`) gives both readings; a move from S3 removes its source,
    /// cut where both sides end in the same name even when keys and local names hold ` to ` and
    /// ` to s3://`; downloads, dry runs, progress and warnings change nothing.
    #[test]
    fn real_aws_s3_output() {
        use ChangeKind::*;
        // Which lines are padded depends on the timing of the run; these are the committed bytes.
        let padded_delete = "old.html                                 ";
        #[rustfmt::skip]
        let cases: &[(&str, &[Read1], usize)] = &[
            ("sync-upload.txt", &[
                ("my-site", "app.js", Created),
                ("my-site", "docs/a b.html", Created),
                ("my-site", "old.html", Created),
                ("my-site", "docs/x to y.html", Created),
                ("my-site", "docs/ends in space ", Created),
                ("my-site", "dir/index.html", Created),
                ("my-site", "index.html", Created),
            ], 13),
            ("sync-delete.txt", &[
                // Padded: both readings.
                ("my-site", "old.html", Removed),
                ("my-site", padded_delete, Removed),
                // Not padded (the first line of the run): the second reading is the key.
                ("my-site", "docs/ends in space", Removed),
                ("my-site", "docs/ends in space ", Removed),
                ("my-site", "index.html", Created),
            ], 3),
            ("dryrun.txt", &[], 3),
            ("download.txt", &[], 14),
            ("copy.txt", &[
                ("my-copy", "app.js", Created),
                ("my-copy", "docs/a b.html", Created),
                ("my-copy", "docs/x to y.html", Created),
                ("my-copy", "docs/x to s3://my-site/y.html", Created),
                ("my-copy", "dir/index.html", Created),
                ("my-copy", "index.html", Created),
            ], 11),
            ("move-s3.txt", &[
                ("my-copy", "app.js", Removed), ("my-archive", "app.js", Created),
                ("my-copy", "docs/a b.html", Removed), ("my-archive", "docs/a b.html", Created),
                ("my-copy", "docs/x to s3://my-site/y.html", Removed),
                ("my-archive", "docs/x to s3://my-site/y.html", Created),
                ("my-copy", "dir/index.html", Removed), ("my-archive", "dir/index.html", Created),
                ("my-copy", "docs/x to y.html", Removed), ("my-archive", "docs/x to y.html", Created),
                ("my-copy", "index.html", Removed), ("my-archive", "index.html", Created),
            ], 11),
            ("move-local.txt", &[
                ("my-archive", "docs/x to y.html", Removed),
                ("my-archive", "docs/a b.html", Removed),
                ("my-archive", "docs/x to s3://my-site/y.html", Removed),
            ], 5),
        ];
        for (file, want, ignored) in cases {
            let r = read(&[], Some((file, &fixture(file))), Format::Auto, None).unwrap();
            // The CLI transfers in parallel: a re-capture may list the same lines in another order.
            let mut got: Vec<_> = keys(&r).into_iter().map(|(b, k, kind)| (b.unwrap(), k, kind)).collect();
            let mut want = want.to_vec();
            got.sort();
            want.sort();
            assert_eq!(got, want, "{file}");
            assert!(r.s3_sync, "{file} is recognised as AWS CLI output");
            assert_eq!(r.ignored_lines, *ignored, "{file}: progress lines, downloads, dry runs, warnings");
        }
    }

    /// Rule: what the sync uploaded is planned as the Lambda plans it, so the home page and the
    /// folder pages are invalidated (the padding once made `index.html␠␠␠` `/index.html*` and no `/`).
    #[test]
    fn a_real_sync_plans_the_home_page() {
        use cf_invalidator::planner::{self, Routing};
        let r = read(&[], Some(("sync-upload.txt", &fixture("sync-upload.txt"))), Format::Auto, None).unwrap();
        let cfg = cf_invalidator::Config::from_pairs(&[("DISTRIBUTION_ID", "EDFDVBD632BHDS5")]).unwrap();
        let plans = planner::plan(&r.changes, &cfg.planner, Routing::Keys { distribution_id: None }).unwrap().plans;
        assert_eq!(plans.len(), 1);
        let paths = &plans[0].paths;
        for want in ["/", "/index.html", "/dir", "/dir/", "/dir/index.html", "/app.js"] {
            assert!(paths.iter().any(|p| p == want), "{want} not in {paths:?}");
        }
        assert!(!paths.iter().any(|p| p.starts_with("/index.html") && p != "/index.html"), "padding kept: {paths:?}");
    }

    /// Rules of the cuts and readings, on lines the CLI prints for cases the fixtures cannot hold
    /// (a copy that renames, a key named `-` from stdin, a bare local name).
    #[test]
    fn readings_of_one_line() {
        use ChangeKind::*;
        #[rustfmt::skip]
        let cases: &[(&str, &[Read1])] = &[
            // The local side ends in no space: the key's spaces are padding.
            ("upload: site/index.html to s3://b/index.html      ", &[("b", "index.html", Created)]),
            // The local side has two: the key has them, the rest is padding.
            ("upload: site/a   to s3://b/a     ", &[("b", "a  ", Created)]),
            // Another name (cp to a key, or from stdin): the local side says nothing, both readings.
            ("upload: - to s3://b/k  ", &[("b", "k", Created), ("b", "k  ", Created)]),
            ("copy: s3://a/x to s3://b/y ", &[("b", "y", Created), ("b", "y ", Created)]),
            // No padding: one reading.
            ("delete: s3://b/k", &[("b", "k", Removed)]),
            ("delete: s3://b/   ", &[("b", "   ", Removed)]),
            // A move to a local name that is not the key's: every cut is a reading.
            ("move: s3://b/k to local/x to y", &[("b", "k", Removed), ("b", "k to local/x", Removed)]),
            ("move: ./a to s3://b/a ", &[("b", "a", Created)]),
            ("download: s3://b/k to k", &[]),
            ("delete: local/k", &[]),
            ("upload failed: site/a to s3://b/a An error occurred (AccessDenied)", &[]),
        ];
        for (l, want) in cases {
            let got = match line(l) {
                Line::Changes(cs) => cs,
                _ => vec![],
            };
            assert_eq!(got, *want, "{l:?}");
        }
    }

    /// Rule: a file of keys is read one key a line, exactly (spaces are part of S3 keys); an
    /// `s3://` URL names its own bucket, a plain key gets `--bucket`.
    #[test]
    fn keys_one_a_line() {
        let text = "docs/index.html\r\n\n with space \ns3://other/k.css\n";
        let r = read(&["a.html".into()], Some(("keys.txt", text)), Format::Auto, Some("site")).unwrap();
        assert!(!r.s3_sync);
        use ChangeKind::*;
        assert_eq!(
            keys(&r),
            [
                (Some("site"), "a.html", Created),
                (Some("site"), "docs/index.html", Created),
                (Some("site"), " with space ", Created),
                (Some("other"), "k.css", Created),
            ]
        );
        // Forced formats: a key list read as sync output names nothing; sync output read as keys
        // would be keys named "upload: …", so Auto detects it.
        let r = read(&[], Some(("f", "docs/index.html\n")), Format::S3Sync, None).unwrap();
        assert!(r.changes.is_empty() && r.ignored_lines == 1);
        let r = read(&[], Some(("f", "upload: a to s3://b/a\n")), Format::Keys, None).unwrap();
        assert_eq!(r.changes[0].key, "upload: a to s3://b/a");
    }

    #[test]
    fn bad_keys_are_named() {
        let long = "k".repeat(MAX_KEY_BYTES + 1);
        let e = read(&[long], None, Format::Auto, None).unwrap_err();
        assert!(e.starts_with("key argument 1:"), "{e}");
        let e = read(&["s3://bucket-only".into()], None, Format::Auto, None).unwrap_err();
        assert!(e.contains("not s3://bucket/key"), "{e}");
        assert!(read(&[], Some(("f", "")), Format::Auto, None).unwrap().changes.is_empty());
    }
}
