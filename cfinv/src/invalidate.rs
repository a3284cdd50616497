//! `cfinv invalidate`: the deploy-script tool. Keys in (arguments, a file, `aws s3 sync` output),
//! planned by the Lambda's planner with the Lambda's configuration, fitted into the room
//! CloudFront's in-progress quota leaves, created with a deterministic CallerReference, and with
//! `--wait`, waited for like Terraform's action: GetInvalidation every `--interval` seconds until
//! every invalidation is `Completed` or `--timeout` has passed.
//!
//! The reference. CloudFront returns the existing invalidation for a repeated CallerReference (the
//! same paths) instead of making another, so the reference decides what a re-run does. A key on
//! the command line has no version (no S3 sequencer), so:
//!
//! - with `--caller-reference ID` (the deploy's id: commit SHA, pipeline run) the reference is
//!   [`reference::decide`] of the distribution, the keys and that id: the same keys and id are the
//!   same invalidation, whenever the command runs again;
//! - without it, the same keys are the same invalidation *while it is in progress*: the reference
//!   is that digest of the distribution and the keys, then `-<start time in ns>`, and a run first looks
//!   among the invalidations in progress for one with the same digest and takes it as its own.
//!   A digest of the keys alone would be wrong: a deploy tomorrow that changes the same files
//!   would get back today's completed invalidation, and nothing would be invalidated.
//!
//! Either way an invalidation of the same keys already in progress is found first, so a re-run
//! never waits for room its own earlier invalidation holds.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cf_invalidator::cloudfront::{CloudFront, CreateRequest, Invalidation, SdkCloudFront};
use cf_invalidator::model::DistributionId;
use cf_invalidator::planner::{self, Budget, Plan, Request, Routing, COST_PER_PATH_USD};
use cf_invalidator::quota::{self, Room};
use cf_invalidator::reference;
use cf_invalidator::{Config, Error};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{json, Value};

use crate::input::{self, Format};

pub const EXIT_ERROR: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_TIMEOUT: u8 = 3;

pub const DEFAULT_TIMEOUT: u64 = 900;
pub const DEFAULT_INTERVAL: u64 = 30;

/// The token of keys without `--caller-reference` (see the module documentation).
const UNVERSIONED: &str = "cfinv invalidate: unversioned keys";

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
MAX_PATHS, MAX_WILDCARDS, INCLUDE, EXCLUDE), into the room CloudFront's in-progress quota leaves
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
     running the same command again waits for it instead of creating another";

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

fn usage(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("cfinv: {msg}");
    ExitCode::from(EXIT_USAGE)
}

fn read_from(path: &PathBuf) -> Result<(String, String), String> {
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

pub fn run(args: Args) -> ExitCode {
    let started = Instant::now();
    let cfg = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            return usage(format!("{e}\nFix the variable in your environment (the README lists every variable)."))
        }
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
    let from = match args.from.as_ref().map(read_from).transpose() {
        Ok(f) => f,
        Err(msg) => return usage(msg),
    };
    let format = match (args.s3_sync, args.keys_only) {
        (true, _) => Format::S3Sync,
        (_, true) => Format::Keys,
        _ => Format::Auto,
    };
    let read = match input::read(
        &args.keys,
        from.as_ref().map(|(n, t)| (n.as_str(), t.as_str())),
        format,
        args.bucket.as_deref(),
    ) {
        Ok(r) => r,
        Err(msg) => return usage(msg),
    };
    let mut report = Report { json: args.json, keys_in: read.changes.len(), ..Report::default() };
    if read.s3_sync && read.ignored_lines > 0 {
        eprintln!(
            "cfinv: read {} change(s) from aws s3 sync output; ignored {} other line(s)",
            read.changes.len(),
            read.ignored_lines
        );
    }
    if read.changes.is_empty() {
        eprintln!(
            "cfinv: nothing to invalidate: no keys{}",
            if read.s3_sync { " (no upload, copy, move or delete lines)" } else { "" }
        );
        return report.finish(started);
    }
    let routing = Routing::Keys { distribution_id: args.distribution_id.as_ref() };
    let gathered = match planner::gather(&read.changes, &cfg, routing) {
        Ok(g) => g,
        Err(e @ Error::Config { .. }) => return usage(format!("{e}; or name the distribution with --distribution-id")),
        Err(e) => {
            report.errors.push(e);
            return report.finish(started);
        }
    };
    for (why, n) in &gathered.skipped {
        eprintln!("cfinv: skipped {n} key(s): {why}");
    }
    report.skipped = gathered.skipped.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    if gathered.requests.is_empty() {
        eprintln!("cfinv: nothing to invalidate: every key was skipped");
        return report.finish(started);
    }
    let version = match &args.caller_reference {
        Some(id) => Version::Deploy(id),
        // Nanoseconds: two runs a second apart (a script re-run at once) are still two runs.
        None => {
            Version::Unversioned { at: SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0) }
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            report.errors.push(Error::CloudFront(format!("cannot start the runtime: {e}")));
            return report.finish(started);
        }
    };
    let mut run = Run {
        cfg: &cfg,
        started,
        deadline: started + Duration::from_secs(args.timeout),
        interval: Duration::from_secs(args.interval),
        progress: Progress::new(std::io::stderr().is_terminal()),
        report,
    };
    rt.block_on(async {
        let cf = SdkCloudFront::for_config(&cfg).await;
        run.go(&cf, &gathered.requests, &version, args.wait).await;
    });
    run.progress.done();
    run.report.finish(started)
}

/// What versions the keys of this run (see the module documentation).
enum Version<'a> {
    Deploy(&'a str),
    /// When this run started (nanoseconds since the epoch).
    Unversioned {
        at: u128,
    },
}

/// One request's CallerReference, and which references found in CloudFront are the same request.
struct RefRule {
    value: String,
    /// Without a deploy id: any reference with this prefix (the same keys, another start time).
    prefix: Option<String>,
}

impl RefRule {
    fn new(request: &Request<'_>, version: &Version<'_>) -> Self {
        let d = &request.distribution_id;
        match version {
            Version::Deploy(id) => {
                RefRule { value: reference::decide(None, d, request.changes(), &[], id).value, prefix: None }
            }
            Version::Unversioned { at } => {
                let base = reference::decide(None, d, request.changes(), &[], UNVERSIONED).value;
                RefRule { value: format!("{base}-{at}"), prefix: Some(format!("{base}-")) }
            }
        }
    }

    fn matches(&self, r: &str) -> bool {
        match &self.prefix {
            Some(p) => r.starts_with(p.as_str()),
            None => r == self.value,
        }
    }
}

/// An invalidation this run created or found.
#[derive(Debug, Clone)]
struct Tracked {
    distribution_id: String,
    id: String,
    status: String,
    caller_reference: String,
    paths: Vec<String>,
    wildcards: usize,
    /// Made by an earlier run of the same command: nothing new created (nor paid for).
    earlier: bool,
    /// Why the last poll failed, when it did (a transient error; polling goes on).
    note: Option<String>,
}

impl Tracked {
    fn from(distribution_id: &str, inv: Invalidation, earlier: bool) -> Self {
        let wildcards = inv.paths.iter().filter(|p| p.ends_with('*')).count();
        Tracked {
            distribution_id: distribution_id.to_string(),
            id: inv.id,
            status: inv.status,
            caller_reference: inv.caller_reference,
            paths: inv.paths,
            wildcards,
            earlier,
            note: None,
        }
    }

    fn completed(&self) -> bool {
        self.status.eq_ignore_ascii_case("Completed")
    }

    fn cost(&self) -> f64 {
        if self.earlier {
            0.0
        } else {
            self.paths.len() as f64 * COST_PER_PATH_USD
        }
    }

    fn line(&self) -> String {
        let (what, cost) = if self.earlier {
            ("found  ", "an earlier run's, same keys: nothing new created".to_string())
        } else {
            ("created", format!("est. ${:.3}", self.cost()))
        };
        format!(
            "{what} {} on {}: {} path(s), {} wildcard(s), {}, {cost}; reference {}",
            self.id,
            self.distribution_id,
            self.paths.len(),
            self.wildcards,
            self.status,
            self.caller_reference
        )
    }

    fn to_json(&self) -> Value {
        json!({
            "distribution_id": self.distribution_id,
            "invalidation_id": self.id,
            "status": self.status,
            "caller_reference": self.caller_reference,
            "path_count": self.paths.len(),
            "wildcards": self.wildcards,
            "paths": self.paths,
            "created_by_earlier_run": self.earlier,
            "estimated_cost_usd": self.cost(),
        })
    }
}

/// Everything the run did, for the last lines and the exit status.
#[derive(Default)]
struct Report {
    json: bool,
    wait: bool,
    keys_in: usize,
    skipped: BTreeMap<String, usize>,
    tracked: Vec<Tracked>,
    errors: Vec<Error>,
    /// What was still pending when `--timeout` passed.
    timed_out: Option<String>,
}

impl Report {
    fn finish(self, started: Instant) -> ExitCode {
        let elapsed = started.elapsed();
        let (outcome, code) = if !self.errors.is_empty() {
            ("failed", EXIT_ERROR)
        } else if self.timed_out.is_some() {
            ("timed_out", EXIT_TIMEOUT)
        } else if self.tracked.is_empty() {
            ("nothing_to_invalidate", 0)
        } else if self.wait {
            ("completed", 0)
        } else {
            ("submitted", 0)
        };
        for e in &self.errors {
            eprintln!("cfinv: {}: {e}{}", e.error_type(), hint(e));
        }
        if let Some(what) = &self.timed_out {
            eprintln!("cfinv: timed out after {}: {what}", human(elapsed));
        }
        if self.json {
            let doc = json!({
                "outcome": outcome,
                "keys_in": self.keys_in,
                "keys_skipped": self.skipped,
                "invalidations": self.tracked.iter().map(Tracked::to_json).collect::<Vec<_>>(),
                "estimated_cost_usd": self.tracked.iter().map(Tracked::cost).sum::<f64>(),
                "elapsed_seconds": elapsed.as_secs(),
                "errors": self.errors.iter().map(|e| json!({"errorType": e.error_type(), "errorMessage": e.to_string()})).collect::<Vec<_>>(),
            });
            println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        } else if self.wait && !self.tracked.is_empty() {
            for t in &self.tracked {
                println!("{:<9} {} on {} ({} path(s))", t.status, t.id, t.distribution_id, t.paths.len());
            }
        }
        ExitCode::from(code)
    }
}

fn hint(e: &Error) -> &'static str {
    match e {
        Error::AccessDenied { .. } => {
            "\n(the credentials need cloudfront:CreateInvalidation, cloudfront:GetInvalidation and cloudfront:ListInvalidations on the distribution)"
        }
        Error::NoSuchDistribution { .. } => "\n(check --distribution-id, DISTRIBUTION_ID or ROUTES)",
        _ => "",
    }
}

/// `1m02s`, `45s`, `1h00m05s`.
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m{:02}s", s / 3600, s / 60 % 60, s % 60),
    }
}

/// A request not created yet.
struct Pending<'r, 'c> {
    request: &'r Request<'c>,
    rule: RefRule,
    /// Its plan with nothing in progress (what the waiting line says it needs).
    whole: Plan,
    /// Whether the note that the room cannot be read was given.
    room_unreadable: bool,
}

/// What one attempt at a request did.
enum Submitted {
    Tracked(Tracked),
    Failed(Error),
    /// Not created: no room yet, for this reason.
    NoRoom(String),
}

struct Run<'c> {
    cfg: &'c Config,
    started: Instant,
    deadline: Instant,
    interval: Duration,
    progress: Progress,
    report: Report,
}

impl Run<'_> {
    async fn go<C: CloudFront>(&mut self, cf: &C, requests: &[Request<'_>], version: &Version<'_>, wait: bool) {
        self.report.wait = wait;
        // An earlier run's invalidation first: a re-run must not wait for the room its own
        // earlier invalidation holds.
        let mut pending = Vec::with_capacity(requests.len());
        for request in requests {
            let d = request.distribution_id.as_str();
            let Some(whole) = request.fit(Budget::configured(self.cfg)) else {
                self.report.errors.push(Error::Config {
                    variable: "MAX_PATHS",
                    rule: format!("no plan for {d} fits MAX_PATHS and MAX_WILDCARDS"),
                });
                continue;
            };
            let rule = RefRule::new(request, version);
            match find(cf, d, &rule, Scope::InProgress).await {
                Ok(Some(inv)) => self.track(Tracked::from(d, inv, true)),
                Ok(None) => pending.push(Pending { request, rule, whole, room_unreadable: false }),
                Err(e) => {
                    self.progress.note(&format!(
                        "cannot look for an earlier run's invalidation on {d} ({}: {e}); creating",
                        e.error_type()
                    ));
                    pending.push(Pending { request, rule, whole, room_unreadable: false });
                }
            }
        }
        // Then each distribution's request as soon as its room allows: one without room does
        // not hold back the others.
        while !pending.is_empty() {
            let mut waiting = Vec::new();
            for mut p in pending {
                let d = p.request.distribution_id.as_str();
                match self.submit(cf, &mut p).await {
                    Submitted::Tracked(t) => {
                        self.progress.room_found(d);
                        self.track(t);
                    }
                    Submitted::Failed(e) => {
                        self.progress.room_found(d);
                        self.report.errors.push(e);
                    }
                    Submitted::NoRoom(why) => waiting.push((p, why)),
                }
            }
            if waiting.is_empty() {
                break;
            }
            let left = self.deadline.saturating_duration_since(Instant::now());
            for (p, why) in &waiting {
                let d = &p.request.distribution_id;
                self.progress.waiting_for_room(d, why, self.started.elapsed(), self.interval.min(left), left);
            }
            if !self.sleep().await {
                let whys: Vec<&str> = waiting.iter().map(|(_, why)| why.as_str()).collect();
                self.report.timed_out = Some(format!(
                    "waiting for room ({}); nothing was created there. Run the same command again later, or raise --timeout.",
                    whys.join("; ")
                ));
                for (p, _) in &waiting {
                    self.progress.room_found(&p.request.distribution_id);
                }
                return;
            }
            pending = waiting.into_iter().map(|(p, _)| p).collect();
        }
        if wait && !self.report.tracked.is_empty() {
            self.wait_all(cf).await;
        }
    }

    fn track(&mut self, t: Tracked) {
        if !self.report.json {
            let line = t.line();
            self.progress.suspend(|| println!("{line}"));
        }
        self.report.tracked.push(t);
    }

    /// Sleeps one interval, or what is left of it before the deadline; `false` when the deadline
    /// has passed (nothing left to wait).
    async fn sleep(&self) -> bool {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        tokio::time::sleep(self.interval.min(left)).await;
        true
    }

    /// Creates one request's invalidation within the room its distribution has now, or says why
    /// it cannot yet.
    async fn submit<C: CloudFront>(&mut self, cf: &C, p: &mut Pending<'_, '_>) -> Submitted {
        let d = p.request.distribution_id.as_str();
        let room = match quota::room(cf, d).await {
            Ok(r) => r,
            Err(e) => {
                if !p.room_unreadable {
                    self.progress.note(&format!(
                        "cannot read what is in progress on {d} ({}: {e}); planning as if nothing were",
                        e.error_type()
                    ));
                    p.room_unreadable = true;
                }
                Room::FULL
            }
        };
        let share = room.share();
        let budget = Budget::configured(self.cfg).within_room(share.exact, share.wildcards);
        let Some(plan) = p.request.fit(budget) else {
            return Submitted::NoRoom(format!(
                "no room on {d}: {} exact and {} wildcard path(s) free, {} invalidation(s) in progress; \
                 these keys plan to {} path(s) ({} wildcard(s)) when nothing is in progress",
                room.exact,
                room.wildcards,
                room.in_progress,
                p.whole.paths.len(),
                p.whole.stats.wildcards
            ));
        };
        let req = CreateRequest { distribution_id: d, caller_reference: &p.rule.value, paths: &plan.paths };
        match cf.create_invalidation(req, None).await {
            Ok(inv) => {
                // CloudFront answers a new invalidation `InProgress`: one already `Completed` is
                // an earlier run's, returned for the same reference and paths.
                let earlier = inv.status.eq_ignore_ascii_case("Completed");
                Submitted::Tracked(Tracked::from(d, inv, earlier))
            }
            Err(e @ (Error::TooManyInvalidationsInProgress { .. } | Error::Throttled(_))) => {
                Submitted::NoRoom(format!("CloudFront answered {} on {d} ({e})", e.error_type()))
            }
            // This request's reference with other paths (planned into other room): an earlier run
            // made it.
            Err(e @ Error::InvalidationBatchAlreadyExists { .. }) => match find(cf, d, &p.rule, Scope::Recent).await {
                Ok(Some(inv)) => Submitted::Tracked(Tracked::from(d, inv, true)),
                Ok(None) => Submitted::Failed(e),
                Err(e) => Submitted::Failed(e),
            },
            Err(e) => Submitted::Failed(e),
        }
    }

    /// Polls every invalidation not yet `Completed` until all are, or the deadline passes.
    async fn wait_all<C: CloudFront>(&mut self, cf: &C) {
        loop {
            if self.report.tracked.iter().all(Tracked::completed) {
                return;
            }
            for t in self.report.tracked.iter_mut().filter(|t| !t.completed()) {
                match cf.get_invalidation(&t.distribution_id, &t.id).await {
                    Ok(inv) => {
                        t.status = inv.status;
                        t.note = None;
                    }
                    Err(e) if e.is_retryable() => t.note = Some(format!("{}, polling on", e.error_type())),
                    Err(e) => {
                        self.report.errors.push(e);
                        return;
                    }
                }
            }
            let left = self.deadline.saturating_duration_since(Instant::now());
            self.progress.poll(&self.report.tracked, self.started.elapsed(), left);
            if self.report.tracked.iter().all(Tracked::completed) {
                return;
            }
            if !self.sleep().await {
                let pending: Vec<String> = self
                    .report
                    .tracked
                    .iter()
                    .filter(|t| !t.completed())
                    .map(|t| format!("{} on {} is {}", t.id, t.distribution_id, t.status))
                    .collect();
                self.report.timed_out = Some(format!(
                    "{}. CloudFront goes on with it; run the same command again to wait for it without creating another.",
                    pending.join(", ")
                ));
                return;
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Scope {
    /// Invalidations in progress, paging like [`quota::room`] (stops at a page with none).
    InProgress,
    /// The newest page, whatever the status.
    Recent,
}

/// The invalidation on `d` whose CallerReference the rule matches, if any.
async fn find<C: CloudFront>(cf: &C, d: &str, rule: &RefRule, scope: Scope) -> Result<Option<Invalidation>, Error> {
    let mut marker: Option<String> = None;
    loop {
        let page = cf.list_invalidations(d, marker.as_deref()).await?;
        let mut running = 0;
        for s in &page.items {
            let completed = s.status.eq_ignore_ascii_case("Completed");
            running += usize::from(!completed);
            if completed && matches!(scope, Scope::InProgress) {
                continue;
            }
            let inv = cf.get_invalidation(d, &s.id).await?;
            if rule.matches(&inv.caller_reference) {
                return Ok(Some(inv));
            }
        }
        match (scope, page.next_marker) {
            (Scope::InProgress, Some(m)) if running > 0 => marker = Some(m),
            _ => return Ok(None),
        }
    }
}

/// What the person or the log sees on standard error while waiting.
enum Progress {
    /// A terminal: one live line per invalidation (and per distribution waiting for room).
    Live { multi: MultiProgress, bars: BTreeMap<String, ProgressBar> },
    /// A log: one plain line per poll.
    Plain,
}

impl Progress {
    fn new(terminal: bool) -> Self {
        if terminal {
            Progress::Live {
                multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
                bars: BTreeMap::new(),
            }
        } else {
            Progress::Plain
        }
    }

    fn suspend(&self, f: impl FnOnce()) {
        match self {
            Progress::Live { multi, .. } => multi.suspend(f),
            Progress::Plain => f(),
        }
    }

    fn note(&self, msg: &str) {
        self.suspend(|| eprintln!("cfinv: {msg}"));
    }

    fn bar(
        multi: &MultiProgress,
        bars: &mut BTreeMap<String, ProgressBar>,
        key: &str,
        elapsed: Duration,
    ) -> ProgressBar {
        bars.entry(key.to_string())
            .or_insert_with(|| {
                let style = ProgressStyle::with_template("{spinner} {prefix} {msg} [{elapsed}]")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner());
                let bar = multi.add(
                    ProgressBar::new_spinner().with_style(style).with_prefix(key.to_string()).with_elapsed(elapsed),
                );
                bar.enable_steady_tick(Duration::from_millis(120));
                bar
            })
            .clone()
    }

    fn waiting_for_room(&mut self, d: &str, why: &str, elapsed: Duration, next: Duration, left: Duration) {
        match self {
            Progress::Live { multi, bars } => {
                let key = format!("{d} waiting for room");
                if !bars.contains_key(&key) {
                    // The reason once, above the live line (too long for one terminal line).
                    let _ = multi.println(format!("cfinv: waiting for room: {why}"));
                }
                let bar = Self::bar(multi, bars, &key, elapsed);
                bar.set_message(format!("— next look in {}, timeout in {}", human(next), human(left)));
            }
            Progress::Plain => eprintln!(
                "cfinv: [{}] waiting for room: {why}; next look in {}, timeout in {}",
                human(elapsed),
                human(next),
                human(left)
            ),
        }
    }

    fn room_found(&mut self, d: &str) {
        if let Progress::Live { bars, .. } = self {
            if let Some(bar) = bars.remove(&format!("{d} waiting for room")) {
                bar.finish_and_clear();
            }
        }
    }

    fn poll(&mut self, tracked: &[Tracked], elapsed: Duration, left: Duration) {
        match self {
            Progress::Live { multi, bars } => {
                for t in tracked {
                    let bar = Self::bar(multi, bars, &format!("{} {}", t.distribution_id, t.id), elapsed);
                    let msg = format!(
                        "{} — {} path(s), {} wildcard(s){}",
                        t.status,
                        t.paths.len(),
                        t.wildcards,
                        t.note.as_deref().map(|n| format!(" ({n})")).unwrap_or_default()
                    );
                    if t.completed() {
                        if !bar.is_finished() {
                            bar.finish_with_message(msg);
                        }
                    } else {
                        bar.set_message(format!("{msg}; timeout in {}", human(left)));
                    }
                }
            }
            Progress::Plain => {
                let all: Vec<String> = tracked
                    .iter()
                    .map(|t| {
                        format!(
                            "{} {} {} ({} path(s){})",
                            t.distribution_id,
                            t.id,
                            t.status,
                            t.paths.len(),
                            t.note.as_deref().map(|n| format!("; {n}")).unwrap_or_default()
                        )
                    })
                    .collect();
                let timeout = if tracked.iter().all(Tracked::completed) {
                    String::new()
                } else {
                    format!("; timeout in {}", human(left))
                };
                eprintln!("cfinv: [{}] {}{timeout}", human(elapsed), all.join("; "));
            }
        }
    }

    /// Leaves the finished lines on the terminal, abandons the rest (timed out).
    fn done(&mut self) {
        if let Progress::Live { bars, .. } = self {
            for bar in bars.values() {
                if !bar.is_finished() {
                    bar.abandon();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(human(Duration::from_secs(5)), "5s");
        assert_eq!(human(Duration::from_secs(62)), "1m02s");
        assert_eq!(human(Duration::from_secs(3605)), "1h00m05s");
    }
}
