//! The keys `cfinv invalidate` and `cfinv plan --from` read: arguments (plain keys or
//! `s3://bucket/key`), a file of keys one a line, or what `aws s3 sync` (and `cp`, `mv`, `rm`)
//! printed, read by the library's reader of those lines (`intake::aws_cli`, whose doc has the
//! rules), so that the Lambda's fuzzing reaches it too.
//!
//! A key argument or key line starting with `/` is refused, not read: that is how a CloudFront
//! path is written (`aws cloudfront create-invalidation --paths /index.html`, Terraform's action),
//! and read as a key it would become the path `//index.html`, leaving `/index.html` stale. Read as
//! a path instead, it would silently skip what the planner adds for a key (`/docs/` and `/docs` for
//! `docs/index.html`), so only the person typing knows which they meant: the message names both
//! ways (`--paths` for CloudFront paths, the key without its `/`), and `--keys-only` takes such a
//! key as it is.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read as _};
use std::path::PathBuf;
use std::sync::Arc;

use cf_invalidator::intake::{self, aws_cli, Intake};
use cf_invalidator::model::{Change, ChangeKind, DistributionId, TargetId, TenantId, MAX_KEY_BYTES};
use cf_invalidator::Config;
use serde_json::json;

/// What `cfinv invalidate` and `cfinv plan` both read: the same flags, the same rules.
#[derive(clap::Args, Debug, Default)]
pub struct Given {
    /// The distribution to invalidate [default: the configured DISTRIBUTION_ID or ROUTES].
    #[arg(long, value_name = "ID", value_parser = DistributionId::parse)]
    pub distribution_id: Option<DistributionId>,
    /// The distribution tenant to invalidate instead (dt_…), with the origin path its route in
    /// ROUTES gives it.
    #[arg(long, value_name = "ID", value_parser = TenantId::parse, conflicts_with = "distribution_id")]
    pub distribution_tenant_id: Option<TenantId>,
    /// CloudFront paths to invalidate as they are, as `aws cloudfront create-invalidation --paths`
    /// and Terraform take them (`/index.html '/docs/*'`, cache tags `#tag`): the same rules and
    /// encoding as the Lambda's explicit `paths` request; not planned from keys.
    #[arg(long, value_name = "PATH", num_args = 1.., conflicts_with_all = ["from", "bucket"])]
    pub paths: Vec<String>,
    /// Read keys from FILE, one a line (`-`: standard input); `aws s3 sync` output is recognised
    /// by its `upload:`/`copy:`/`move:`/`delete:` lines, and only those are read.
    #[arg(long, value_name = "FILE")]
    pub from: Option<PathBuf>,
    /// Read --from as `aws s3 sync` (or `cp`, `mv`, `rm`) output, even if no line is a transfer.
    #[arg(long, requires = "from", conflicts_with = "keys_only")]
    pub s3_sync: bool,
    /// Read every key argument and every line of --from as an S3 key as it is: one that looks
    /// like `aws s3 sync` output, and one that starts with `/` (otherwise refused as a CloudFront path).
    #[arg(long)]
    pub keys_only: bool,
    /// The bucket of plain keys, for ROUTES that route by bucket (s3:// URLs and `aws s3 sync`
    /// output name their own).
    #[arg(long, value_name = "BUCKET")]
    pub bucket: Option<String>,
}

impl Given {
    pub fn format(&self) -> Format {
        match (self.s3_sync, self.keys_only) {
            (true, _) => Format::S3Sync,
            (_, true) => Format::Keys,
            _ => Format::Auto,
        }
    }

    /// The distribution or tenant named by the flags.
    pub fn target(&self) -> Option<TargetId> {
        self.distribution_id
            .clone()
            .map(TargetId::from)
            .or_else(|| self.distribution_tenant_id.clone().map(TargetId::from))
    }

    /// What the flags, the key arguments and the input ask; `Err` is a usage error.
    pub fn asked(&self, keys: &[String], event: Option<&PathBuf>, cfg: &Config) -> Result<Asked, String> {
        if let Some(b) = &self.bucket {
            if !(3..=63).contains(&b.len()) {
                return Err(format!("--bucket {b:?} is not an S3 bucket name (3 to 63 characters)"));
            }
        }
        if !self.paths.is_empty() {
            if !keys.is_empty() || event.is_some() {
                return Err("give either --paths (CloudFront paths) or keys, not both".into());
            }
            return self.paths_request(cfg).map(Asked::Event);
        }
        let from = event.or(self.from.as_ref()).map(read_file).transpose()?;
        if let Some((name, text)) = &from {
            // Event JSON (any shape the Lambda accepts) is told apart by its first character: no
            // key list or AWS CLI output starts with `{`.
            if text.trim_start().starts_with('{') && self.format() == Format::Auto {
                if !keys.is_empty() {
                    return Err(format!("{name} is event JSON: give its keys there, not also as arguments"));
                }
                return intake::parse(text.as_bytes()).map(Asked::Event).map_err(|e| format!("{name}: {e}"));
            }
        }
        if keys.is_empty() && from.is_none() {
            return Err(
                "no keys: give them as arguments, --from FILE (`-` for standard input, e.g. piped from `aws s3 sync`), \
or CloudFront paths with --paths"
                    .into(),
            );
        }
        let from = from.as_ref().map(|(n, t)| (n.as_str(), t.as_str()));
        read(keys, from, self.format(), self.bucket.as_deref()).map(Asked::Changes)
    }

    /// `--paths` as the Lambda's explicit request, so that they pass the very rules (and cache
    /// tags the very normalisation) of its `paths`.
    fn paths_request(&self, cfg: &Config) -> Result<Intake, String> {
        let target = self.target().or_else(|| {
            let routes = &cfg.planner.routes.routes;
            match routes.as_slice() {
                [only] if only.bucket.is_none() && only.targets.len() == 1 => {
                    Some(only.targets[0].distribution_id.clone())
                }
                _ => None,
            }
        });
        let Some(target) = target else {
            return Err(
                "--paths needs the distribution: --distribution-id (or --distribution-tenant-id, or DISTRIBUTION_ID)"
                    .into(),
            );
        };
        let request = json!({target.field(): target.as_str(), "paths": self.paths});
        intake::parse(request.to_string().as_bytes()).map_err(|e| format!("--paths: {e}"))
    }
}

/// What is asked: changed keys (arguments, a key list, AWS CLI output), or a payload the Lambda
/// takes (event JSON, or `--paths` as its explicit request).
pub enum Asked {
    Changes(Read),
    Event(Intake),
}

/// How `--from` input is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `aws s3 sync` output when any line is one, else keys.
    Auto,
    /// Every non-empty line (and every argument) is a key, an `s3://` URL, or a key starting with `/`.
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

/// `bucket/key` (after `s3://`) → its parts, both non-empty. A bucket name has no spaces.
fn s3_parts(url: &str) -> Option<(&str, &str)> {
    url.split_once('/').filter(|(b, k)| !b.is_empty() && !b.contains(' ') && !k.is_empty())
}

/// The refusal of a key that starts with `/` (see the module doc).
fn looks_like_a_path(given: &str, what: &str) -> String {
    format!(
        "{what} {given:?} starts with '/', as a CloudFront path does, not an S3 key. For CloudFront paths as they \
are (like `aws cloudfront create-invalidation`), give them with --paths {given}; for the S3 key, drop the \
leading '/' ({:?}) so that it is planned like the Lambda plans keys (index documents, encodings); for a key \
that really starts with '/', add --keys-only",
        given.trim_start_matches('/')
    )
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

    /// A key as given: a plain key of `bucket`, or an `s3://bucket/key` URL; one starting with
    /// `/` only when `literal` (`--keys-only`).
    fn push_given(&mut self, given: &str, bucket: Option<&str>, what: &str, literal: bool) -> Result<(), String> {
        if given.starts_with('/') && !literal {
            return Err(looks_like_a_path(given, what));
        }
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
    let literal = format == Format::Keys;
    for (i, k) in args.iter().enumerate() {
        changes.push_given(k, bucket, &format!("key argument {}", i + 1), literal)?;
    }
    let mut read = Read::default();
    if let Some((name, text)) = from {
        let sync = (format != Format::Keys).then(|| aws_cli::transfers(text));
        read.s3_sync = match (&sync, format) {
            (_, Format::S3Sync) => true,
            (Some(t), Format::Auto) => t.recognised,
            _ => false,
        };
        match sync.filter(|_| read.s3_sync) {
            Some(t) => {
                read.ignored_lines = t.ignored_lines;
                for c in t.changes {
                    changes.push(Some(c.bucket), c.key, c.kind, &format!("{name}: {:?}", c.line))?;
                }
            }
            None => {
                for (n, l) in text.lines().enumerate() {
                    if !l.is_empty() {
                        changes.push_given(l, bucket, &format!("{name} line {}", n + 1), literal)?;
                    }
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

    /// Rules (`intake::aws_cli`), on real `aws s3` output with its progress lines and padding: the
    /// destination of every transfer is a change of the bucket it names, without the padding (a
    /// line is padded to the progress line it overwrites); an upload's key ends in the local file's
    /// spaces; a line that overwrites nothing is exact; a move from S3 removes its source,
    /// cut where both sides end in the same name even when keys and local names hold ` to ` and
    /// ` to s3://`; downloads, dry runs, progress and warnings change nothing.
    #[test]
    fn real_aws_s3_output() {
        use ChangeKind::*;
        // Which lines are padded depends on the timing of the run; these are the committed bytes.
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
                // Padded to the progress line it overwrites: the spaces are padding.
                ("my-site", "old.html", Removed),
                // The first line of the run overwrites nothing: its space is the key's.
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
            ("cp-recursive.txt", &[
                ("my-cp", "app.js", Created),
                ("my-cp", "dir/index.html", Created),
                ("my-cp", "docs/a b.html", Created),
                ("my-cp", "docs/x to y.html", Created),
                ("my-cp", "index.html", Created),
            ], 9),
            ("rm-recursive.txt", &[
                ("my-cp", "app.js", Removed),
                ("my-cp", "dir/index.html", Removed),
                ("my-cp", "docs/a b.html", Removed),
                ("my-cp", "docs/x to y.html", Removed),
                ("my-cp", "index.html", Removed),
            ], 0),
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

    /// Rule: a `sync --delete` across many sections gives every deleted page and every upload
    /// exactly, padded lines included: 20 deletions are 20 keys, never a key with the padding.
    #[test]
    fn a_real_sync_delete_of_many_sections_gives_the_exact_keys() {
        let r = read(&[], Some(("f", &fixture("sync-delete-many.txt"))), Format::Auto, None).unwrap();
        let mut got: Vec<_> = keys(&r).into_iter().map(|(b, k, kind)| (b.unwrap(), k.to_string(), kind)).collect();
        got.sort();
        let mut want: Vec<_> = (1..=20)
            .flat_map(|i| {
                [
                    ("my-sections", format!("sec{i}/index.html"), ChangeKind::Created),
                    ("my-sections", format!("sec{i}/page.html"), ChangeKind::Removed),
                ]
            })
            .collect();
        want.sort();
        assert_eq!(got, want);
        assert_eq!(r.ignored_lines, 59, "the progress lines");
        let text = fixture("sync-delete-many.txt");
        let padded = text.split(['\n', '\r']).filter(|l| l.starts_with("delete: ") && l.ends_with(' ')).count();
        assert!(padded >= 10, "the capture holds padded delete: lines ({padded})");
    }

    /// Rule: the CLI pads to the progress line's length in characters, not bytes: a `sync
    /// --delete` of pages with accented names (über, été, año, ação, öl in 5 sections) gives every
    /// key exactly, padded lines included, never a key with the padding.
    #[test]
    fn a_real_sync_delete_of_accented_names_gives_the_exact_keys() {
        let text = fixture("sync-delete-i18n.txt");
        let r = read(&[], Some(("f", &text)), Format::Auto, None).unwrap();
        let mut got: Vec<_> = keys(&r).into_iter().map(|(b, k, kind)| (b.unwrap(), k.to_string(), kind)).collect();
        got.sort();
        let mut want: Vec<_> = ["de", "es", "fr", "pt", "sv"]
            .into_iter()
            .flat_map(|lang| {
                let removed = ["über", "été", "año", "ação", "öl"]
                    .map(|name| ("my-i18n", format!("{lang}/{name}.html"), ChangeKind::Removed));
                std::iter::once(("my-i18n", format!("{lang}/index.html"), ChangeKind::Created)).chain(removed)
            })
            .collect();
        want.sort();
        assert_eq!(got, want);
        let padded = text.split(['\n', '\r']).filter(|l| l.starts_with("delete: ") && l.ends_with(' ')).count();
        assert!(padded >= 10, "the capture holds padded delete: lines ({padded})");
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

    /// Rule: a key argument or key line starting with `/` (a CloudFront path, as the AWS CLI and
    /// Terraform take them) is refused with both ways named, never read as the key `/index.html`
    /// (the path `//index.html`); `--keys-only` reads it as the key it is.
    #[test]
    fn a_leading_slash_is_refused_unless_keys_only() {
        for (args, from) in
            [(vec!["/index.html".to_string()], None), (vec![], Some(("sync.txt", "about.html\n/about.html\n")))]
        {
            let e = read(&args, from, Format::Auto, None).unwrap_err();
            assert!(e.contains("starts with '/'") && e.contains("--paths /") && e.contains("--keys-only"), "{e}");
            let r = read(&args, from, Format::Keys, None).unwrap();
            assert!(r.changes.iter().any(|c| c.key == "/index.html" || c.key == "/about.html"));
        }
        let e = read(&[], Some(("keys.txt", "ok.html\n/docs/*\n")), Format::Auto, None).unwrap_err();
        assert!(e.starts_with("keys.txt line 2 \"/docs/*\""), "{e}");
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
