//! `cfinv invalidate`: the deploy-script tool. Keys in (arguments, a file, `aws s3 sync` output),
//! prepared by the Lambda's pipeline with the Lambda's configuration (`prepare.rs`), submitted by
//! the Lambda's submit step (`submit.rs`: an earlier run's invalidation first, then the room, the
//! fit, the create), and with `--wait`, waited for like Terraform's action: GetInvalidation every
//! `--interval` seconds until every invalidation is `Completed` or `--timeout` has passed.
//!
//! The reference decides what a re-run does (`reference.rs`): with `--caller-reference ID` the
//! same keys and id are the same invalidation whenever the command runs again; without it, the
//! same keys are the same invalidation while it is in progress.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use cf_invalidator::known::Known;
use cf_invalidator::model::{DistributionId, TargetId, TenantId};
use cf_invalidator::planner::Routing;
use cf_invalidator::prepare::{self, Asked};
use cf_invalidator::reference::Token;
use cf_invalidator::submit::Submitter;
use cf_invalidator::Error;

use crate::create_and_wait::Run;
use crate::input::{self, Format};
use crate::progress::Progress;
use crate::report::Report;
use crate::{cloudfront, usage};

pub const DEFAULT_TIMEOUT: u64 = 900;
pub const DEFAULT_INTERVAL: u64 = 30;

pub const AFTER_HELP: &str = "\
Examples:
  # keys as arguments (or s3://bucket/key), wait until CloudFront has completed
  cfinv invalidate --distribution-id EDFDVBD632BHDS5 --wait index.html docs/index.html

  # what `aws s3 sync` uploaded, copied, moved and deleted, read from its output
  aws s3 sync public/ s3://my-site/ --delete | tee sync.log
  cfinv invalidate --distribution-id EDFDVBD632BHDS5 --from sync.log --caller-reference \"$GITHUB_SHA\" --wait

  # or piped, keys one a line from a file or standard input
  aws s3 sync public/ s3://my-site/ | cfinv invalidate --from - --wait
  git diff --name-only HEAD~1 -- public | sed 's|^public/||' | cfinv invalidate --from - --bucket my-site

Keys are planned exactly as the Lambda plans them, with the same environment variables
(DISTRIBUTION_ID and ROUTES when --distribution-id is not given, ORIGIN_PATH, INDEX_DOCUMENT,
MAX_PATHS, MAX_WILDCARDS, INCLUDE, EXCLUDE, TAGS), into the room CloudFront's in-progress quota leaves
(3,000 exact and 15 wildcard paths per distribution). When there is no room, or CloudFront answers
TooManyInvalidationsInProgress, cfinv waits for room, polling every --interval seconds, within
--timeout, instead of failing.

Running the same command again creates nothing new while its invalidation is in progress: it
finds it and, with --wait, waits for it. With --caller-reference (your deploy's id), the same keys
and id are the same invalidation even after it completed; a new id is a new invalidation.

Progress goes to standard error: a live display on a terminal, one line per poll otherwise.
Standard output gets one line per invalidation (id, paths, wildcards, estimated cost), or with
--json one JSON document at the end.

Exit status:
  0  every invalidation created (with --wait: Completed), or nothing to invalidate
  1  error: CloudFront refused or failed, the keys cannot be planned (e.g. outside ORIGIN_PATH)
  2  usage: bad arguments, unreadable --from file, invalid environment variables
  3  timed out (--timeout) waiting for room or for Completed; what was created goes on, and
     running the same command again waits for it instead of creating another
  130 interrupted (Ctrl-C): the invalidations created so far are printed; CloudFront goes on
     with them, and running the same command again finds them instead of creating others";

/// Create CloudFront invalidations for changed S3 keys, planned like the Lambda, and optionally
/// wait until they complete.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// S3 keys that changed (`docs/index.html`), or `s3://bucket/key` URLs.
    #[arg(value_name = "KEY")]
    pub keys: Vec<String>,
    /// The distribution to invalidate [default: the configured DISTRIBUTION_ID or ROUTES].
    #[arg(long, value_name = "ID", value_parser = DistributionId::parse)]
    pub distribution_id: Option<DistributionId>,
    /// The distribution tenant to invalidate instead (dt_…), with the origin path its route in
    /// ROUTES gives it.
    #[arg(long, value_name = "ID", value_parser = TenantId::parse, conflicts_with = "distribution_id")]
    pub distribution_tenant_id: Option<TenantId>,
    /// Read keys from FILE, one a line (`-`: standard input); `aws s3 sync` output is recognised
    /// by its `upload:`/`copy:`/`move:`/`delete:` lines, and only those are read.
    #[arg(long, value_name = "FILE")]
    pub from: Option<PathBuf>,
    /// Read --from as `aws s3 sync` (or `cp`, `mv`, `rm`) output, even if no line is a transfer.
    #[arg(long, requires = "from", conflicts_with = "keys_only")]
    pub s3_sync: bool,
    /// Read every line of --from as a key, even one that looks like `aws s3 sync` output.
    #[arg(long, requires = "from")]
    pub keys_only: bool,
    /// The bucket of plain keys, for ROUTES that route by bucket (s3:// URLs and `aws s3 sync`
    /// output name their own).
    #[arg(long, value_name = "BUCKET")]
    pub bucket: Option<String>,
    /// Your deploy's id (commit SHA, pipeline run id): each invalidation's CallerReference is
    /// derived from it, the distribution and the keys, so the same command with the same id never
    /// makes a second invalidation. Without it, only one still in progress is found again.
    #[arg(long, value_name = "ID")]
    pub caller_reference: Option<String>,
    /// Wait until every invalidation is Completed (GetInvalidation every --interval seconds).
    #[arg(long)]
    pub wait: bool,
    /// Give up waiting (for room, and with --wait for Completed) after this many seconds from
    /// the start, with exit status 3. From 60 to 3600, like Terraform's action.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_TIMEOUT,
          value_parser = clap::value_parser!(u64).range(60..=3600))]
    pub timeout: u64,
    /// Seconds between two polls of an invalidation's status, or of the room.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_INTERVAL,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub interval: u64,
    /// Print one JSON document on standard output at the end instead of lines.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> ExitCode {
    let started = Instant::now();
    let cfg = match crate::config() {
        Ok(c) => c,
        Err(msg) => return usage(msg),
    };
    if let Some(b) = &args.bucket {
        if !(3..=63).contains(&b.len()) {
            return usage(format!("--bucket {b:?} is not an S3 bucket name (3 to 63 characters)"));
        }
    }
    if args.keys.is_empty() && args.from.is_none() {
        return usage(
            "no keys: give them as arguments, or --from FILE (`-` for standard input, e.g. piped from `aws s3 sync`)",
        );
    }
    if args.caller_reference.as_deref().is_some_and(str::is_empty) {
        return usage("--caller-reference must not be empty");
    }
    let from = match args.from.as_ref().map(input::read_file).transpose() {
        Ok(f) => f,
        Err(msg) => return usage(msg),
    };
    let format = match (args.s3_sync, args.keys_only) {
        (true, _) => Format::S3Sync,
        (_, true) => Format::Keys,
        _ => Format::Auto,
    };
    let from = from.as_ref().map(|(n, t)| (n.as_str(), t.as_str()));
    let read = match input::read(&args.keys, from, format, args.bucket.as_deref()) {
        Ok(r) => r,
        Err(msg) => return usage(msg),
    };
    let mut report = Report { json: args.json, wait: args.wait, keys_in: read.changes.len(), ..Report::default() };
    if read.s3_sync && read.ignored_lines > 0 {
        let (n, ignored) = (read.changes.len(), read.ignored_lines);
        eprintln!("cfinv: read {n} change(s) from aws s3 sync output; ignored {ignored} other line(s)");
    }
    if read.changes.is_empty() {
        let why = if read.s3_sync { " (no upload, copy, move or delete lines)" } else { "" };
        eprintln!("cfinv: nothing to invalidate: no keys{why}");
        return report.finish(started);
    }
    // Nanoseconds: two runs a second apart (a script re-run at once) are still two runs.
    let at = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let token = args.caller_reference.as_deref().map_or(Token::Unversioned { at }, Token::Fixed);
    let target: Option<TargetId> = args
        .distribution_id
        .clone()
        .map(TargetId::from)
        .or_else(|| args.distribution_tenant_id.clone().map(TargetId::from));
    let asked = Asked::Changes { changes: &read.changes, routing: Routing::Keys { distribution_id: target.as_ref() } };
    let prepared = match prepare::prepare(&cfg.planner, asked, None, token, false) {
        Ok(p) => p,
        Err(e @ Error::Config { variable: "DISTRIBUTION_ID", .. }) => {
            return usage(format!("{e}; or name the distribution with --distribution-id (or --distribution-tenant-id)"))
        }
        Err(e) => {
            report.errors.push(e);
            return report.finish(started);
        }
    };
    for (why, n) in &prepared.skipped {
        eprintln!("cfinv: skipped {n} key(s): {why}");
    }
    report.skipped = prepared.skipped.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    if prepared.submissions.is_empty() {
        eprintln!("cfinv: nothing to invalidate: every key was skipped");
        return report.finish(started);
    }
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            report.errors.push(Error::CloudFront(format!("cannot start the runtime: {e}")));
            return report.finish(started);
        }
    };
    let progress = Progress::new(std::io::stderr().is_terminal());
    let mut run =
        Run::new(started, Duration::from_secs(args.timeout), Duration::from_secs(args.interval), progress, report);
    rt.block_on(async {
        let cf = cloudfront(&cfg).await;
        let known = Known::new();
        let submitter = Submitter { cf: &cf, known: &known, settings: &cfg.planner, deadline: None, now: None };
        // Ctrl-C ends the run where it is: what was created goes on in CloudFront, and is printed.
        tokio::select! {
            () = run.go(&submitter, &prepared.submissions, args.wait) => {}
            _ = tokio::signal::ctrl_c() => run.report.interrupted = true,
        }
    });
    run.finish()
}
