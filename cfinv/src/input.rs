//! The keys `cfinv invalidate` reads: arguments (plain keys or `s3://bucket/key`), a file of keys
//! one a line, or what `aws s3 sync` (and `cp`, `mv`, `rm`) printed.
//!
//! The AWS CLI prints one line per object it transferred:
//!
//! ```text
//! upload: public/index.html to s3://my-site/index.html
//! copy: s3://staging/app.js to s3://my-site/app.js
//! move: s3://my-site/old.html to s3://my-site/new.html
//! delete: s3://my-site/gone.html
//! ```
//!
//! The destination of each is a change of the bucket it names (which `ROUTES` may route by); a
//! `move` from S3 also removes its source. Every other line — progress (`Completed 1.2 MiB/…`,
//! written with carriage returns), `download:` (nothing in S3 changed), `upload failed:`,
//! warnings — is ignored, and so is a `(dryrun)` line, which changed nothing. Keys are printed as
//! they are (no URL encoding), so a line is cut at its first ` to s3://`.

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
    /// (bucket, key, kind) of every object the transfer wrote or removed.
    Changes(Vec<(&'a str, &'a str, ChangeKind)>),
    /// A `(dryrun)` transfer line: AWS CLI output that changed nothing.
    DryRun,
    Other,
}

/// `bucket/key` (after `s3://`) → its parts, both non-empty.
fn s3_parts(url: &str) -> Option<(&str, &str)> {
    url.split_once('/').filter(|(b, k)| !b.is_empty() && !k.is_empty())
}

fn line(l: &str) -> Line<'_> {
    if let Some(rest) = l.strip_prefix("(dryrun) ") {
        return if matches!(line(rest), Line::Changes(_)) { Line::DryRun } else { Line::Other };
    }
    let Some((verb, rest)) = l.split_once(": ") else { return Line::Other };
    let changes = match verb {
        "upload" | "copy" => rest
            .split_once(" to s3://")
            .and_then(|(_, dest)| s3_parts(dest))
            .map(|(b, k)| vec![(b, k, ChangeKind::Created)]),
        "move" => {
            let mut out = Vec::new();
            let (src, dest) = match rest.split_once(" to s3://") {
                Some((src, dest)) => (src, s3_parts(dest)),
                // S3 to a local file: only the source changed.
                None => (rest.rsplit_once(" to ").map_or("", |(src, _)| src), None),
            };
            if let Some((b, k)) = src.strip_prefix("s3://").and_then(s3_parts) {
                out.push((b, k, ChangeKind::Removed));
            }
            if let Some((b, k)) = dest {
                out.push((b, k, ChangeKind::Created));
            }
            (!out.is_empty()).then_some(out)
        }
        "delete" => rest.strip_prefix("s3://").and_then(s3_parts).map(|(b, k)| vec![(b, k, ChangeKind::Removed)]),
        _ => None,
    };
    changes.map_or(Line::Other, Line::Changes)
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
                    Line::DryRun | Line::Other if !l.trim().is_empty() => read.ignored_lines += 1,
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

    /// Rule: the destination of every transfer line is a change of the bucket it names; a move
    /// from S3 removes its source; progress, downloads, failures and dry runs change nothing.
    #[test]
    fn aws_s3_sync_output() {
        let out = "Completed 1.0 KiB/2.0 KiB (3.1 KiB/s) with 2 file(s) remaining\r\
upload: public/index.html to s3://site/index.html\n\
Completed 2.0 KiB/2.0 KiB (3.1 KiB/s) with 1 file(s) remaining\rupload: public/a b+c.html to s3://site/docs/a b+c.html\n\
copy: s3://staging/app.js to s3://site/js/app.js\n\
move: s3://site/old.html to s3://site/new.html\n\
move: s3://site/archived.html to ./archived.html\n\
delete: s3://site/gone.html\n\
download: s3://site/x.html to ./x.html\n\
upload failed: public/big.bin to s3://site/big.bin An error occurred (AccessDenied)\n\
(dryrun) upload: public/y.html to s3://site/y.html\n\
warning: Skipping file /tmp/link. File does not exist.\n\
delete: ./local-only.html\n";
        let r = read(&[], Some(("stdin", out)), Format::Auto, None).unwrap();
        assert!(r.s3_sync);
        use ChangeKind::*;
        assert_eq!(
            keys(&r),
            [
                (Some("site"), "index.html", Created),
                (Some("site"), "docs/a b+c.html", Created),
                (Some("site"), "js/app.js", Created),
                (Some("site"), "old.html", Removed),
                (Some("site"), "new.html", Created),
                (Some("site"), "archived.html", Removed),
                (Some("site"), "gone.html", Removed),
            ]
        );
        assert_eq!(r.ignored_lines, 7, "two progress lines, download, failure, dry run, warning, local delete");
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
