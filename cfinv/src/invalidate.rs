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
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use cf_invalidator::known::Known;
use cf_invalidator::model::TargetId;
use cf_invalidator::planner::Routing;
use cf_invalidator::prepare::{self, Submission};
use cf_invalidator::quota::Room;
use cf_invalidator::reference::Token;
use cf_invalidator::submit::Submitter;
use cf_invalidator::{Config, Error};

use crate::create_and_wait::Run;
use crate::exit::usage;
use crate::input::{Asked, Given, Read};
use crate::plan;
use crate::progress::Progress;
use crate::report::{Report, Signal};
use crate::setup::cloudfront;

pub const DEFAULT_TIMEOUT: u64 = 900;
pub const DEFAULT_INTERVAL: u64 = 30;

pub const AFTER_HELP: &str = "\
Examples:
  # keys as arguments (or s3://bucket/key), wait until CloudFront has completed
  cfinv invalidate --distribution-id EDFDVBD632BHDS5 --wait index.html docs/index.html

  # what `aws s3 sync` uploaded, copied, moved and deleted, read from its output
  aws s3 sync public/ s3://my-site/ --delete | tee sync.log
  cfinv invalidate --distribution-id EDFDVBD632BHDS5 --from sync.log --caller-reference \"$GITHUB_SHA\" --wait

  # CloudFront paths as `aws cloudfront create-invalidation --paths` takes them (not planned)
  cfinv invalidate --distribution-id EDFDVBD632BHDS5 --paths /index.html '/docs/*'

  # what would be sent, without sending it
  cfinv invalidate --distribution-id EDFDVBD632BHDS5 --from sync.log --dry-run

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
  4  no AWS credentials found (NoCredentials): nothing was sent
  130 interrupted (Ctrl-C), 143 terminated (SIGTERM, a CI runner's cancel): the invalidations
     created so far are printed; CloudFront goes on with them, and running the same command
     again finds them instead of creating others

Errors: one line on standard error (`cfinv: ErrorType: message`); with --json, also in the JSON
document on standard output (its \"errors\", or for bad arguments the JSON error object).";

/// Create CloudFront invalidations for changed S3 keys, planned like the Lambda, and optionally
/// wait until they complete.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// S3 keys that changed (`docs/index.html`), or `s3://bucket/key` URLs. A CloudFront path
    /// (`/index.html`) goes with --paths instead.
    #[arg(value_name = "KEY")]
    pub keys: Vec<String>,
    #[command(flatten)]
    pub given: Given,
    /// Your deploy's id (commit SHA, pipeline run id): each invalidation's CallerReference is
    /// derived from it, the distribution and the keys, so the same command with the same id never
    /// makes a second invalidation. Without it, only one still in progress is found again.
    #[arg(long, value_name = "ID")]
    pub caller_reference: Option<String>,
    /// Show the plan (as `cfinv plan` does) and create nothing; no AWS call is made.
    #[arg(long, conflicts_with = "wait")]
    pub dry_run: bool,
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
    /// Print one JSON document on standard output at the end instead of lines (an error in the
    /// arguments is then the JSON error object).
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> ExitCode {
    let started = Instant::now();
    let json = args.json;
    let cfg = match crate::setup::config() {
        Ok(c) => c,
        Err(msg) => return usage(json, msg),
    };
    if args.caller_reference.as_deref().is_some_and(str::is_empty) {
        return usage(json, "--caller-reference must not be empty");
    }
    let asked = match args.given.asked(&args.keys, None, &cfg) {
        Ok(a) => a,
        Err(msg) => return usage(json, msg),
    };
    let keys_in = match &asked {
        Asked::Changes(r) => r.changes.len(),
        Asked::Event(i) => i.changes.len(),
    };
    let mut report = Report { json, wait: args.wait, keys_in, ..Report::default() };
    if let Asked::Changes(read) = &asked {
        if !tell_what_was_read(read) {
            return report.finish(started);
        }
    }
    let target = args.given.target();
    let prepared = match prepare_asked(&cfg, &asked, target.as_ref(), args.caller_reference.as_deref()) {
        Ok(p) => p,
        Err(e @ Error::Config { variable: "DISTRIBUTION_ID", .. }) => {
            return usage(
                json,
                format!("{e}; or name the distribution with --distribution-id (or --distribution-tenant-id)"),
            )
        }
        Err(e) => {
            report.errors.push(e);
            return report.finish(started);
        }
    };
    if args.dry_run {
        let source = match &asked {
            Asked::Changes(r) => plan::Source::Keys { keys_in, ignored_lines: r.ignored_lines, s3_sync: r.s3_sync },
            Asked::Event(i) => plan::Source::Event(i),
        };
        eprintln!("cfinv: dry run: nothing is created; this is what would be sent with nothing in progress");
        return plan::show(&cfg, &source, &prepared, Room::FULL, json);
    }
    for (why, n) in &prepared.skipped {
        eprintln!("cfinv: skipped {n} key(s): {why}");
    }
    report.skipped = prepared.skipped.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    if prepared.submissions.is_empty() {
        eprintln!("cfinv: nothing to invalidate: every key was skipped");
        return report.finish(started);
    }
    submit(&cfg, &args, &prepared.submissions, started, report)
}

/// Says on standard error what `aws s3 sync` output held besides changes, and when nothing was
/// read; `false` then: nothing to invalidate.
fn tell_what_was_read(read: &Read) -> bool {
    if read.s3_sync && read.ignored_lines > 0 {
        let (n, ignored) = (read.changes.len(), read.ignored_lines);
        eprintln!("cfinv: read {n} change(s) from aws s3 sync output; ignored {ignored} other line(s)");
    }
    if read.changes.is_empty() {
        let why = if read.s3_sync { " (no upload, copy, move or delete lines)" } else { "" };
        eprintln!("cfinv: nothing to invalidate: no keys{why}");
        return false;
    }
    true
}

/// The Lambda's pipeline over what was asked: keys routed to `target` (`--distribution-id` or
/// `--distribution-tenant-id`; else as the configuration says), or an event as the Lambda reads
/// it. The reference is derived from `--caller-reference`, else from the run's start.
fn prepare_asked<'a>(
    cfg: &Config,
    asked: &'a Asked,
    target: Option<&'a TargetId>,
    caller_reference: Option<&'a str>,
) -> Result<prepare::Prepared<'a>, Error> {
    // Nanoseconds: two runs a second apart (a script re-run at once) are still two runs.
    let at = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let token = caller_reference.map_or(Token::Unversioned { at }, Token::Fixed);
    match asked {
        Asked::Changes(read) => {
            let routing = Routing::Keys { distribution_id: target };
            prepare::prepare(
                &cfg.planner,
                prepare::Asked::Changes { changes: &read.changes, routing },
                None,
                token,
                false,
            )
        }
        Asked::Event(intake) => {
            prepare::prepare(&cfg.planner, prepare::Asked::of(intake), caller_reference, token, false)
        }
    }
}

/// Submits each submission with the Lambda's submit step and, with `--wait`, waits for it
/// ([`Run::go`]), until done, `--timeout`, or a signal.
fn submit(cfg: &Config, args: &Args, submissions: &[Submission<'_>], started: Instant, mut report: Report) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            report.errors.push(Error::CloudFront(format!("cannot start the runtime: {e}")));
            return report.finish(started);
        }
    };
    let deadline = started.into_std() + Duration::from_secs(args.timeout);
    let progress = Progress::new(std::io::stderr().is_terminal(), deadline);
    let mut run =
        Run::new(started, Duration::from_secs(args.timeout), Duration::from_secs(args.interval), progress, report);
    rt.block_on(async {
        let cf = cloudfront(cfg).await;
        let known = Known::new();
        let submitter =
            Submitter { cf: &cf, known: &known, settings: &cfg.planner, deadline: None, now: None, pace: cfg.pace };
        // Ctrl-C, and SIGTERM (what CI runners send on cancel), end the run where it is: what
        // was created goes on in CloudFront, and is printed.
        tokio::select! {
            () = run.go(&submitter, submissions, args.wait) => {}
            signal = stopped() => run.report.interrupted = Some(signal),
        }
    });
    run.finish()
}

/// The signal that stopped the run: Ctrl-C (SIGINT), or SIGTERM where there is one.
async fn stopped() -> Signal {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            return tokio::select! {
                _ = tokio::signal::ctrl_c() => Signal::Interrupt,
                _ = term.recv() => Signal::Terminate,
            };
        }
    }
    let _ = tokio::signal::ctrl_c().await;
    Signal::Interrupt
}
