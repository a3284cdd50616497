//! Storm: real deploys replayed through the real handler (`handler::handle`) against the in-memory
//! CloudFront (AWS's in-progress quota, CallerReference, statuses on a clock) and a model of
//! Lambda's SQS poller, on a simulated clock: hours of traffic take seconds.
//!
//! ```sh
//! cargo run --release --example storm -- --every 120 --complete 300..900 --baseline
//! cargo run --release --example storm -- --every 120 --complete 2400 --baseline
//! cargo run --release --example storm -- --within 60 --complete 300..900 --baseline
//! ```
//!
//! The model, one tick a simulated second:
//!
//! - **Uploads.** Each changed key of a deploy (`C key` / `D key`) is one S3 event notification
//!   (one record, the key form-encoded as S3 writes it, a sequencer unique to the upload) in one
//!   SQS message. Deploy `d` starts at `d × --every` s (or at a seeded uniform time within
//!   `--within` s); its files arrive `--upload-rate` a second, in file order.
//! - **SQS.** A message is visible from its arrival, and again when the visibility timeout of its
//!   last receive expires without a delete. Each receive counts; a message due a receive after
//!   `--max-receives` goes to the dead-letter queue instead.
//! - **Lambda's poller.** `--max-concurrency` pollers (uncapped: 5, the number Lambda starts with;
//!   its scaling up is not modelled). A free poller with visible messages opens a batch and goes
//!   on receiving (oldest first, each message to the gathering poller holding fewest) until it
//!   holds `--batch-size` messages or `--window` s have passed since its first; then it invokes the
//!   function, which takes 1 s and is busy meanwhile. Messages acknowledged (not in
//!   `batchItemFailures`, no error) are deleted; the others wait out their visibility timeout.
//! - **CloudFront.** `MemoryCloudFront`; the n-th invalidation created stays in progress a seeded
//!   draw from `--complete` seconds (the same n-th draw for every behaviour compared).
//!
//! Simplifications: invocations due in the same second run one after the other, so concurrent
//! invocations never race for the quota; an invocation never reaches `--function-timeout` (it is
//! reported with the visibility rule of thumb, 6 × timeout + window); the 6 MB payload limit is not
//! modelled (1,000 S3 messages are about 1 MB); over-invalidation is counted on one listing of the
//! site (`--site`, the newest), not the listing at each deploy.
//!
//! Measured per behaviour: changes received, acknowledged, dead-lettered; invocations, those that
//! sent messages back, receives and the most receives of one change (the margin left before the
//! dead-letter queue); invalidations created, paths billed, wildcards; over-invalidated objects
//! (listed keys outside the changes of the invocation that created an invalidation which its
//! paths match, counted per invalidation as the corpus scorer does); CreateInvalidation calls
//! refused with `TooManyInvalidationsInProgress`; staleness, from a change's upload to the
//! completion of invalidations created at or after it that cover every request form of its key
//! (`planner::covers_of_key`), never covered = forever. Staleness is what a viewer sees: a
//! dead-lettered change whose key a later invalidation happens to cover is not stale forever.
//! `--baseline` adds the behaviour before quota-aware planning (the handler behind a CloudFront
//! that reports nothing in progress; visibility 180 s, 5 receives, no concurrency cap) and the
//! usual Python function (one `quote`d path per record, chunks of 3,000, a fresh CallerReference
//! per call, any error fails the whole batch; visibility 180 s, 5 receives, no concurrency cap).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant, SystemTime};

use cf_invalidator::cloudfront::memory::{Op, Stored};
use cf_invalidator::cloudfront::{CloudFront, CreateRequest, Invalidation, InvalidationPage, MemoryCloudFront};
use cf_invalidator::handler::Invocation;
use cf_invalidator::lambda::{self, Output};
use cf_invalidator::model::API_MAX_PATHS;
use cf_invalidator::planner::{self, COST_PER_PATH_USD};
use cf_invalidator::{Config, Error};
use clap::Parser;
use serde_json::{json, Value};

const DIST: &str = "EDFDVBD632BHDS5";
const BUCKET: &str = "www-example";
/// Pollers Lambda starts an SQS event source mapping with when no maximum concurrency is set.
const UNCAPPED_POLLERS: usize = 5;
/// Simulated seconds one invocation takes.
const INVOCATION_SECONDS: u64 = 1;

#[derive(Parser, Debug)]
#[command(
    about = "Replays deploys through the real handler, a model of Lambda's SQS poller and an in-memory CloudFront"
)]
struct Opts {
    /// Deploys in the corpus format (`C key` / `D key` lines), one file each, in order
    /// [default: ../shared/corpus/changes-hugo-*.txt from the repository]
    #[arg(long, num_args = 1.., value_name = "FILE")]
    deploys: Vec<PathBuf>,
    /// The bucket's listing, one key a line, to count over-invalidated objects
    /// [default: ../shared/corpus/site-hugo.txt]
    #[arg(long, value_name = "FILE")]
    site: Option<PathBuf>,
    /// Seconds between deploys (0: all at once)
    #[arg(long, default_value_t = 120, value_name = "SECONDS")]
    every: u64,
    /// Start every deploy at a seeded uniform time within this many seconds instead
    #[arg(long, value_name = "SECONDS")]
    within: Option<u64>,
    /// Seconds an invalidation stays in progress: MIN..MAX (uniform, seeded) or one number
    #[arg(long, default_value = "300..900", value_name = "MIN..MAX")]
    complete: Span,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Files a deploy uploads a second
    #[arg(long, default_value_t = 50)]
    upload_rate: u64,
    /// The event source mapping's BatchSize
    #[arg(long, default_value_t = 1000)]
    batch_size: usize,
    /// MaximumBatchingWindowInSeconds
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    window: u64,
    /// ScalingConfig.MaximumConcurrency (0: not set)
    #[arg(long, default_value_t = 2)]
    max_concurrency: usize,
    /// The queue's VisibilityTimeout
    #[arg(long, default_value_t = 240, value_name = "SECONDS")]
    visibility: u64,
    /// The redrive policy's maxReceiveCount
    #[arg(long, default_value_t = 31)]
    max_receives: u32,
    /// The function's timeout (reported against the visibility rule of thumb)
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    function_timeout: u64,
    /// Simulated horizon
    #[arg(long, default_value_t = 4.0)]
    hours: f64,
    /// Also run the behaviour before quota-aware planning and the usual Python function
    #[arg(long)]
    baseline: bool,
    /// Print each invocation and the invalidations it created to stderr (one line each)
    #[arg(long)]
    trace: bool,
}

/// Seconds an invalidation stays in progress.
#[derive(Debug, Clone, Copy)]
struct Span {
    min: u64,
    max: u64,
}

impl FromStr for Span {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let num = |v: &str| v.trim().parse::<u64>().map_err(|_| format!("{s:?}: expected SECONDS or MIN..MAX"));
        let (min, max) = match s.split_once("..") {
            Some((a, b)) => (num(a)?, num(b)?),
            None => (num(s)?, num(s)?),
        };
        if min > max {
            return Err(format!("{s:?}: MIN is above MAX"));
        }
        Ok(Span { min, max })
    }
}

/// splitmix64: a tiny seeded generator (no dependency), good enough for draws of seconds.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The seconds the `seq`-th invalidation stays in progress: a function of the seed and `seq` only.
fn completion(span: Span, seed: u64, seq: u64) -> u64 {
    let mut s = seed ^ seq.wrapping_mul(0xD1B5_4A32_D192_ED03);
    span.min + splitmix64(&mut s) % (span.max - span.min + 1)
}

// ---------------------------------------------------------------------------------------------
// The workload.

/// One changed key: one S3 notification in one SQS message.
struct Upload {
    key: String,
    deleted: bool,
    arrival: u64,
    /// The SQS body: an S3 event notification with one record.
    body: String,
    /// The covers every request form of the key needs (`planner::covers_of_key`).
    covers: Vec<(String, bool)>,
}

struct Storm {
    deploys: Vec<(PathBuf, Vec<(bool, String)>)>,
    uploads: Vec<Upload>,
    site: Site,
    horizon: u64,
    span: Span,
    seed: u64,
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus")
}

fn read_lines(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| fail(&format!("{}: {e}", path.display())));
    text.lines().filter(|l| !l.is_empty()).map(str::to_string).collect()
}

fn read_deploy(path: &Path) -> Vec<(bool, String)> {
    read_lines(path)
        .into_iter()
        .map(|l| match (l.get(..2), l.get(2..)) {
            (Some("C "), Some(k)) => (false, k.to_string()),
            (Some("D "), Some(k)) => (true, k.to_string()),
            _ => fail(&format!("{}: not `C key` or `D key`: {l:?}", path.display())),
        })
        .collect()
}

fn fail(msg: &str) -> ! {
    eprintln!("storm: {msg}");
    std::process::exit(2)
}

fn s3_notification(key: &str, deleted: bool, sequencer: u64, at: u64) -> String {
    let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600 + at); // 2026-01-01
    let mut object =
        json!({"key": cf_invalidator::intake::s3::encode_key(key), "sequencer": format!("{sequencer:018X}")});
    if !deleted {
        object["size"] = json!(4521);
        object["eTag"] = json!(format!("{:032x}", sequencer));
    }
    json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": humantime::format_rfc3339_millis(time).to_string(),
        "eventName": if deleted { "ObjectRemoved:Delete" } else { "ObjectCreated:Put" },
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "cf-invalidator",
               "bucket": {"name": BUCKET, "arn": format!("arn:aws:s3:::{BUCKET}")}, "object": object}
    }]})
    .to_string()
}

fn config() -> Config {
    Config::from_lookup(|n| match n {
        "DISTRIBUTION_ID" => Some(DIST.to_string()),
        "METRICS_NAMESPACE" => Some(String::new()),
        _ => None,
    })
    .expect("a valid configuration")
}

impl Storm {
    fn new(opts: &Opts) -> Storm {
        let files = if opts.deploys.is_empty() {
            let mut v: Vec<PathBuf> = std::fs::read_dir(corpus())
                .unwrap_or_else(|e| fail(&format!("{}: {e} (give --deploys)", corpus().display())))
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    name.starts_with("changes-hugo-") && name.ends_with(".txt")
                })
                .collect();
            v.sort();
            v
        } else {
            opts.deploys.clone()
        };
        let deploys: Vec<_> = files.iter().map(|f| (f.clone(), read_deploy(f))).collect();
        let mut rng = opts.seed;
        let mut starts: Vec<u64> = match opts.within {
            Some(w) => deploys.iter().map(|_| splitmix64(&mut rng) % w.max(1)).collect(),
            None => (0..deploys.len() as u64).map(|d| d * opts.every).collect(),
        };
        starts.sort_unstable();
        let index_document = config().planner.index_document;
        let mut uploads = Vec::new();
        let mut sequencer = 0x0062_E99A_88DC_0000_u64;
        for (d, (_, changes)) in deploys.iter().enumerate() {
            for (i, (deleted, key)) in changes.iter().enumerate() {
                sequencer += 1;
                let arrival = starts[d] + i as u64 / opts.upload_rate.max(1);
                let c = planner::covers_of_key(key, index_document.as_deref());
                uploads.push(Upload {
                    key: key.clone(),
                    deleted: *deleted,
                    arrival,
                    body: s3_notification(key, *deleted, sequencer, arrival),
                    covers: (0..c.len()).map(|i| (c.text(i).to_string(), c.is_wildcard(i))).collect(),
                });
            }
        }
        let site_file = opts.site.clone().unwrap_or_else(|| corpus().join("site-hugo.txt"));
        Storm {
            deploys,
            uploads,
            site: Site::new(read_lines(&site_file)),
            horizon: (opts.hours * 3600.0) as u64,
            span: opts.complete,
            seed: opts.seed,
        }
    }

    /// Each deploy planned alone with the same configuration, paths summed: what the planner
    /// sends for a deploy that meets no other in a batch or in the quota. Planned by the handler
    /// itself (one S3 event of the deploy's records, an empty CloudFront, so the whole quota is
    /// room): the same as `planner::plan` with this configuration.
    fn paths_planned_one_by_one(&self, rt: &tokio::runtime::Runtime) -> usize {
        let cfg = config();
        let mut sequencer = 0_u64;
        self.deploys
            .iter()
            .enumerate()
            .map(|(d, (_, changes))| {
                let records: Vec<Value> = changes
                    .iter()
                    .map(|(deleted, key)| {
                        sequencer += 1;
                        let body: Value = serde_json::from_str(&s3_notification(key, *deleted, sequencer, 0)).unwrap();
                        body["Records"][0].clone()
                    })
                    .collect();
                let event = json!({ "Records": records }).to_string();
                let cf = MemoryCloudFront::new(&[DIST]);
                let inv = Invocation { request_id: format!("deploy-{d}"), deadline: None };
                rt.block_on(lambda::handle(&cfg, &cf, event.as_bytes(), &inv))
                    .unwrap_or_else(|e| fail(&format!("deploy {d} alone: {e}")));
                cf.invalidations().iter().map(|i| i.paths.len()).sum::<usize>()
            })
            .sum()
    }
}

/// The site's keys by the viewer paths the corpus scorer uses (`/` + RFC 3986 encoding, plus
/// `/dir/` for `dir/index.html`), to count what an invalidation's paths match.
struct Site {
    keys: Vec<String>,
    by_path: HashMap<String, Vec<usize>>,
    sorted: Vec<(String, usize)>,
}

impl Site {
    fn new(keys: Vec<String>) -> Site {
        let mut by_path: HashMap<String, Vec<usize>> = HashMap::new();
        let mut sorted = Vec::with_capacity(keys.len());
        for (i, k) in keys.iter().enumerate() {
            let p = py_quote(&format!("/{k}"));
            by_path.entry(p.clone()).or_default().push(i);
            if k == "index.html" || k.ends_with("/index.html") {
                by_path.entry(py_quote(&format!("/{}", &k[..k.len() - "index.html".len()]))).or_default().push(i);
            }
            sorted.push((p, i));
        }
        sorted.sort();
        Site { keys, by_path, sorted }
    }

    /// The listed keys some path matches.
    fn matching(&self, paths: &[String]) -> HashSet<usize> {
        let mut hit = HashSet::new();
        for p in paths {
            match p.strip_suffix('*') {
                Some(prefix) => {
                    let from = self.sorted.partition_point(|(s, _)| s.as_str() < prefix);
                    hit.extend(self.sorted[from..].iter().take_while(|(s, _)| s.starts_with(prefix)).map(|(_, i)| *i));
                }
                None => hit.extend(self.by_path.get(p).into_iter().flatten().copied()),
            }
        }
        hit
    }
}

/// Python's `urllib.parse.quote(s, safe='/')`: everything but `A-Z a-z 0-9 _ . - ~ /` as `%XX`.
fn py_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' | b'/' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The functions compared.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Function {
    /// `handler::handle` on the CloudFront as it is.
    Ours,
    /// `handler::handle` behind a CloudFront that lists nothing in progress: quota-unaware planning.
    Before,
    /// The usual Python boto3 function (benches/python/invalidator.py), modelled.
    Python,
}

/// The handler's view of CloudFront before quota-aware planning: ListInvalidations is empty.
struct QuotaUnaware<'a>(&'a MemoryCloudFront);

impl CloudFront for QuotaUnaware<'_> {
    async fn create_invalidation(
        &self,
        req: CreateRequest<'_>,
        deadline: Option<cf_invalidator::deadline::Instant>,
    ) -> Result<Invalidation, Error> {
        self.0.create_invalidation(req, deadline).await
    }
    async fn get_invalidation(&self, distribution_id: &str, id: &str) -> Result<Invalidation, Error> {
        self.0.get_invalidation(distribution_id, id).await
    }
    async fn list_invalidations(
        &self,
        _distribution_id: &str,
        _marker: Option<&str>,
    ) -> Result<InvalidationPage, Error> {
        Ok(InvalidationPage::default())
    }
}

/// The usual Python function: one path per record (`/` + `quote(key, safe='/')`), sorted and
/// deduplicated, chunks of 3,000, a fresh CallerReference each call (`time.time()`); an
/// exception fails the whole batch, after whatever chunks it created.
async fn python_function(cf: &MemoryCloudFront, keys: &[&str], calls: &mut u64) -> Result<(), Error> {
    let paths: Vec<String> =
        keys.iter().map(|k| py_quote(&format!("/{k}"))).collect::<BTreeSet<_>>().into_iter().collect();
    for (n, chunk) in paths.chunks(API_MAX_PATHS).enumerate() {
        *calls += 1;
        let reference = format!("{}.{:06}-{}", cf.now(), calls, n * API_MAX_PATHS);
        cf.create_invalidation(
            CreateRequest { distribution_id: DIST, caller_reference: &reference, paths: chunk },
            None,
        )
        .await?;
    }
    Ok(())
}

/// How the event source mapping and the queue are set up for one behaviour.
#[derive(Debug, Clone, Copy)]
struct Queueing {
    batch_size: usize,
    window: u64,
    /// `None`: no maximum concurrency.
    max_concurrency: Option<usize>,
    visibility: u64,
    max_receives: u32,
}

// ---------------------------------------------------------------------------------------------
// The simulation.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Queued,
    Held,
    Deleted,
    DeadLettered,
}

struct Message {
    state: State,
    receives: u32,
    /// When it is (again) visible in the queue.
    visible_at: u64,
}

#[derive(Default)]
struct Poller {
    busy_until: u64,
    opened: Option<u64>,
    held: Vec<usize>,
}

struct Outcome {
    messages: Vec<Message>,
    invalidations: Vec<Stored>,
    /// For each invalidation, the uploads of the invocation that created it.
    carried: Vec<Vec<usize>>,
    invocations: usize,
    /// Invocations that sent at least one message back (it waits out its visibility timeout).
    redelivering: usize,
    receives: usize,
    refusals: usize,
    calls: [usize; 3],
}

fn sqs_event(storm: &Storm, batch: &[usize], messages: &[Message]) -> String {
    let records: Vec<Value> = batch
        .iter()
        .map(|&i| {
            json!({
                "messageId": format!("msg-{i}"), "receiptHandle": format!("rh-{i}-{}", messages[i].receives),
                "body": storm.uploads[i].body,
                "attributes": {"ApproximateReceiveCount": messages[i].receives.to_string()},
                "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:cf-invalidator-queue", "awsRegion": "us-east-1"
            })
        })
        .collect();
    json!({ "Records": records }).to_string()
}

/// Runs one behaviour through the storm; returns what happened.
fn simulate(storm: &Storm, function: Function, q: Queueing, rt: &tokio::runtime::Runtime, trace: bool) -> Outcome {
    let cf = MemoryCloudFront::new(&[DIST]);
    let (span, seed) = (storm.span, storm.seed);
    cf.set_completion(move |seq| completion(span, seed, seq));
    let cfg = config();
    let mut messages: Vec<Message> =
        storm.uploads.iter().map(|u| Message { state: State::Queued, receives: 0, visible_at: u.arrival }).collect();
    // Queued messages by the time they are visible, oldest first.
    let mut queue: BTreeSet<(u64, usize)> = messages.iter().enumerate().map(|(i, m)| (m.visible_at, i)).collect();
    let mut pollers: Vec<Poller> =
        (0..q.max_concurrency.unwrap_or(UNCAPPED_POLLERS)).map(|_| Poller::default()).collect();
    let (mut carried, mut invocations, mut redelivering, mut receives, mut python_calls) = (Vec::new(), 0, 0, 0, 0);

    for t in 0..=storm.horizon {
        cf.set_now(t);
        // Receive: each visible message to the free poller holding fewest.
        while queue.first().is_some_and(|&(at, _)| at <= t) {
            let Some(p) = pollers
                .iter_mut()
                .filter(|p| p.busy_until <= t && p.held.len() < q.batch_size)
                .min_by_key(|p| p.held.len())
            else {
                break;
            };
            let (_, i) = queue.pop_first().expect("checked");
            let m = &mut messages[i];
            if m.receives >= q.max_receives {
                m.state = State::DeadLettered;
                continue;
            }
            m.receives += 1;
            receives += 1;
            m.state = State::Held;
            m.visible_at = t + q.visibility;
            p.opened.get_or_insert(t);
            p.held.push(i);
        }
        // Invoke: a batch is full or its window has passed.
        for p in pollers.iter_mut() {
            let due = p.opened.is_some_and(|o| p.held.len() >= q.batch_size || t >= o + q.window);
            if !due || p.busy_until > t {
                continue;
            }
            let batch = std::mem::take(&mut p.held);
            p.opened = None;
            p.busy_until = t + INVOCATION_SECONDS;
            invocations += 1;
            let created_before = cf.invalidation_count();
            let failed: HashSet<usize> = match function {
                Function::Ours | Function::Before => {
                    let payload = sqs_event(storm, &batch, &messages);
                    let inv = Invocation { request_id: format!("invocation-{invocations}"), deadline: None };
                    let out = match function {
                        Function::Ours => rt.block_on(lambda::handle(&cfg, &cf, payload.as_bytes(), &inv)),
                        _ => rt.block_on(lambda::handle(&cfg, &QuotaUnaware(&cf), payload.as_bytes(), &inv)),
                    };
                    match out {
                        Ok(Output::Sqs(r)) => r
                            .batch_item_failures
                            .iter()
                            .map(|f| {
                                f.item_identifier.strip_prefix("msg-").and_then(|n| n.parse().ok()).expect("our id")
                            })
                            .collect(),
                        Ok(other) => panic!("an SQS batch answered {other:?}"),
                        Err(_) => batch.iter().copied().collect(),
                    }
                }
                Function::Python => {
                    let keys: Vec<&str> = batch.iter().map(|&i| storm.uploads[i].key.as_str()).collect();
                    match rt.block_on(python_function(&cf, &keys, &mut python_calls)) {
                        Ok(()) => HashSet::new(),
                        Err(_) => batch.iter().copied().collect(),
                    }
                }
            };
            redelivering += usize::from(!failed.is_empty());
            if trace {
                let created = cf.invalidations_from(created_before);
                let made: Vec<String> = created
                    .iter()
                    .map(|i| {
                        let w = i.paths.iter().filter(|p| p.ends_with('*')).count();
                        format!("{} ({} exact + {w} wildcards, until {})", i.id, i.paths.len() - w, i.completes_at)
                    })
                    .collect();
                let busy = cf.in_progress(DIST);
                eprintln!(
                    "{function:?} t={t} invocation {invocations}: {} messages, {} back; created [{}]; in progress now {} exact + {} wildcards",
                    batch.len(),
                    failed.len(),
                    made.join(", "),
                    busy.exact,
                    busy.wildcards
                );
            }
            for _ in created_before..cf.invalidation_count() {
                carried.push(batch.clone());
            }
            for &i in &batch {
                let m = &mut messages[i];
                if failed.contains(&i) {
                    m.state = State::Queued;
                    queue.insert((m.visible_at, i));
                } else {
                    m.state = State::Deleted;
                }
            }
        }
    }
    Outcome {
        invalidations: cf.invalidations(),
        messages,
        carried,
        invocations,
        redelivering,
        receives,
        refusals: cf.quota_refusals(),
        calls: [cf.calls(Op::Create), cf.calls(Op::Get), cf.calls(Op::List)],
    }
}

// ---------------------------------------------------------------------------------------------
// Measures.

/// Seconds from each upload to the completion of invalidations created at or after it covering
/// every request form of its key; `None`: never within the horizon.
fn staleness(storm: &Storm, invs: &[Stored]) -> Vec<Option<u64>> {
    struct Index<'a> {
        created: u64,
        completes: u64,
        exact: HashSet<&'a str>,
        prefixes: Vec<&'a str>,
    }
    let index: Vec<Index> = invs
        .iter()
        .filter(|i| i.completes_at <= storm.horizon)
        .map(|i| Index {
            created: i.created_at,
            completes: i.completes_at,
            exact: i.paths.iter().filter(|p| !p.ends_with('*')).map(String::as_str).collect(),
            prefixes: i.paths.iter().filter_map(|p| p.strip_suffix('*')).collect(),
        })
        .collect();
    storm
        .uploads
        .iter()
        .map(|u| {
            let mut worst = 0;
            for (text, wildcard) in &u.covers {
                let done = index
                    .iter()
                    .filter(|i| i.created >= u.arrival)
                    .filter(|i| {
                        (!wildcard && i.exact.contains(text.as_str())) || i.prefixes.iter().any(|q| text.starts_with(q))
                    })
                    .map(|i| i.completes)
                    .min()?;
                worst = worst.max(done - u.arrival);
            }
            Some(worst)
        })
        .collect()
}

fn report(storm: &Storm, function: Function, q: Queueing, out: &Outcome) -> Value {
    let count = |s: State| out.messages.iter().filter(|m| m.state == s).count();
    let paths: usize = out.invalidations.iter().map(|i| i.paths.len()).sum();
    let wildcards: usize = out.invalidations.iter().map(|i| i.paths.iter().filter(|p| p.ends_with('*')).count()).sum();
    let over: usize = out
        .invalidations
        .iter()
        .zip(&out.carried)
        .map(|(inv, batch)| {
            let changed: HashSet<&str> = batch.iter().map(|&i| storm.uploads[i].key.as_str()).collect();
            storm
                .site
                .matching(&inv.paths)
                .into_iter()
                .filter(|&k| !changed.contains(storm.site.keys[k].as_str()))
                .count()
        })
        .sum();
    let mut stale: Vec<Option<u64>> = staleness(storm, &out.invalidations);
    stale.sort_by_key(|s| s.unwrap_or(u64::MAX));
    let never = stale.iter().filter(|s| s.is_none()).count();
    let at = |q: f64| stale.get(((stale.len() as f64 - 1.0) * q).round() as usize).copied().flatten();
    let name = match function {
        Function::Ours => "cf-invalidator: handler::handle on CloudFront as it is",
        Function::Before => "cf-invalidator: handler::handle, quota-unaware (ListInvalidations reports nothing)",
        Function::Python => "the usual Python boto3 function, modelled",
    };
    json!({
        "function": name,
        "queueing": {
            "batch_size": q.batch_size, "window_s": q.window, "max_concurrency": q.max_concurrency,
            "visibility_s": q.visibility, "max_receives": q.max_receives,
        },
        "changes_received": storm.uploads.len(),
        "changes_acknowledged": count(State::Deleted),
        "changes_dead_lettered": count(State::DeadLettered),
        "changes_still_queued": count(State::Queued) + count(State::Held),
        "invocations": out.invocations,
        "invocations_redelivering": out.redelivering,
        "receives": out.receives,
        "most_receives_of_a_change": out.messages.iter().map(|m| m.receives).max(),
        "invalidations_created": out.invalidations.len(),
        "paths_billed": paths,
        "cost_usd": (paths as f64 * COST_PER_PATH_USD * 100.0).round() / 100.0,
        "wildcards": wildcards,
        "over_invalidated_objects": over,
        "too_many_invalidations_in_progress": out.refusals,
        "staleness_s": {"median": at(0.5), "p99": at(0.99), "max": if never > 0 { None } else { at(1.0) }, "never_covered": never},
        "cloudfront_calls": {"create": out.calls[0], "get": out.calls[1], "list": out.calls[2]},
    })
}

fn main() {
    let opts = Opts::parse();
    let started = Instant::now();
    let storm = Storm::new(&opts);
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("a tokio runtime");
    let ours = Queueing {
        batch_size: opts.batch_size,
        window: opts.window,
        max_concurrency: (opts.max_concurrency > 0).then_some(opts.max_concurrency),
        visibility: opts.visibility,
        max_receives: opts.max_receives,
    };
    let before = Queueing { visibility: 180, max_receives: 5, max_concurrency: None, ..ours };
    let mut rows = vec![("ours", Function::Ours, ours)];
    if opts.baseline {
        rows.push(("before", Function::Before, before));
        rows.push(("python", Function::Python, before));
    }
    let results: Vec<(&str, Value)> = rows
        .iter()
        .map(|&(name, f, q)| (name, report(&storm, f, q, &simulate(&storm, f, q, &rt, opts.trace))))
        .collect();
    let mut out = json!({
        "storm": {
            "deploys": storm.deploys.len(),
            "changes": storm.uploads.len(),
            "deletes": storm.uploads.iter().filter(|u| u.deleted).count(),
            "last_upload_s": storm.uploads.iter().map(|u| u.arrival).max(),
            "every_s": if opts.within.is_some() { None } else { Some(opts.every) },
            "within_s": opts.within,
            "complete_s": [opts.complete.min, opts.complete.max],
            "seed": opts.seed,
            "upload_rate": opts.upload_rate,
            "site_keys": storm.site.keys.len(),
            "horizon_s": storm.horizon,
            "function_timeout_s": opts.function_timeout,
            "visibility_rule_of_thumb_s": 6 * opts.function_timeout + opts.window,
            "wall_ms": 0,
        },
        "paths_planned_one_by_one": storm.paths_planned_one_by_one(&rt),
    });
    for (name, row) in results {
        if opts.baseline {
            out[name] = row;
        } else if let (Some(o), Value::Object(r)) = (out.as_object_mut(), row) {
            o.extend(r);
        }
    }
    out["storm"]["wall_ms"] = json!(started.elapsed().as_millis() as u64);
    println!("{}", serde_json::to_string_pretty(&out).expect("JSON"));
}
