//! Storm: real deploys replayed through the real handler (`lambda::handle_with`) against the in-memory
//! CloudFront (AWS's in-progress quota, CallerReference, statuses on a clock), a model of Lambda's
//! SQS poller and containers, and other tools on the same distribution, on tokio's paused clock in
//! milliseconds: hours of traffic take seconds.
//!
//! ```sh
//! cargo build --profile storm -p cf-invalidator-bench --bin storm
//! target/storm/storm --every 120 --complete 300..900 --seeds 1..12 --reference
//! target/storm/storm --every 120 --complete 2400 --other 120:/other/* --reference
//! target/storm/storm --within 60 --complete 300..900 --baseline
//! target/storm/storm --within 60 --complete 300..900 --plot burst.svg
//! target/storm/storm --family 200 --family-seed 1 --markdown family.md
//! ```
//!
//! The model:
//!
//! - **Uploads.** Each changed key of a deploy (`C key` / `D key`) is one S3 event notification
//!   (one record, the key form-encoded as S3 writes it, a sequencer unique to the upload) in one
//!   SQS message. Deploy `d` starts at `d × --every` s (or at a seeded uniform time within
//!   `--within` s); its files arrive `--upload-rate` a second, in file order, on whole seconds.
//! - **SQS.** A message is visible from its arrival, and again when the visibility timeout of its
//!   last receive expires without a delete. Each receive counts; a message due a receive after
//!   `--max-receives` goes to the dead-letter queue instead.
//! - **Lambda's poller**, on whole seconds. `--max-concurrency` pollers (uncapped: 5, the number
//!   Lambda starts with; its scaling up is not modelled). A free poller with visible messages
//!   opens a batch and goes on receiving (oldest first, each message to the gathering poller
//!   holding fewest) until it holds `--batch-size` messages or `--window` s have passed since its
//!   first; then it invokes the function and is busy until the invocation ends. Messages
//!   acknowledged (not in `batchItemFailures`, no error) are deleted; the others wait out their
//!   visibility timeout.
//! - **Invocations** are tasks on tokio's paused clock, so those that overlap race: every
//!   CloudFront call takes `--api-latency-ms` of the invocation's time, and the calls of every
//!   invocation running at that moment interleave (each may read the room before the other
//!   creates). The handler gets its deadline (`--function-timeout`), and an invocation still
//!   running then is ended by Lambda: its whole batch comes back. `--serial` runs each invocation
//!   to its end before the next starts (the order before this model).
//! - **Containers.** An invocation runs in an idle container, else a new one (a cold start). What
//!   a container remembers is the path counts it has read (one GetInvalidation per in-progress
//!   invalidation it has not read before); every `--cold-every` s containers are replaced.
//! - **CloudFront.** `MemoryCloudFront`, its clock kept on tokio's. An invalidation stays in
//!   progress a draw from `--complete` seconds that depends on (seed, creator, the creator's
//!   ordinal) only: the function's n-th invalidation and the reference's n-th last the same.
//! - **Other tools.** `--other EVERY:ITEMS` creates ITEMS every EVERY s (at 0, EVERY, …); a
//!   refused create waits for the tool's next tick. `--hold S`: the whole quota (3,000 exact, 15
//!   wildcards) held from 0 to S; the horizon grows by S. Other tools act first within a second.
//!   Their paths are outside the site unless given (`/*`). An upload in the millisecond of
//!   another tool's invalidation came after it.
//! - `--reference` also runs the offline schedules (`reference.rs`) on the same storm: the
//!   windowed one (`ratio`) and the windowless one (`ratio_unwindowed`).
//! - `--poisson MEAN` starts deploys as a seeded Poisson process; `--synthetic KEYS:CHANGES[:DEPLOYS]`
//!   replaces the corpus with a seeded synthetic site (`cf_invalidator_bench::synthetic`).
//! - `--family N --family-seed S` runs N storms drawn from one space (`family.rs`);
//!   `--plot FILE.svg` draws one storm (`plot.rs`).
//!
//! Simplifications: the poller acts on whole seconds and an upload arrives on a whole second;
//! other tools' calls take no time; latency is charged before CloudFront acts (a call cut short
//! by the deadline created nothing); a cold start costs no init time; the 6 MB
//! payload limit is not modelled (1,000 S3 messages are about 1 MB); over-invalidation is counted
//! on one listing of the site (`--site`, the newest), not the listing at each deploy.
//!
//! Measured per behaviour: changes received, acknowledged, dead-lettered; invocations, those that
//! sent messages back or timed out, cold starts, receives and `most_receives` (the margin left
//! before the dead-letter queue); invalidations created, `paths_billed`, wildcards;
//! `over_invalidated` (listed keys outside the changes of the invocation that created an
//! invalidation which its paths match, counted per invalidation as the corpus scorer does);
//! `refusals` (the function's creates refused with `TooManyInvalidationsInProgress`);
//! `duplicate_paths` (created paths all of whose changes were already covered by an invalidation
//! created after the change and in a strictly earlier second), and of those
//! `duplicate_paths_beyond_margin` (the covering invalidation created at least `CLOCK_MARGIN` + 1 ms
//! after each change: ones the function could have known of); staleness, from a change's upload
//! to the completion of invalidations created after it (other tools first within a
//! millisecond), by anyone, that cover every request form of its key
//! (`planner::covers_of_key`), never covered = forever. `--baseline` adds the
//! behaviour before quota-aware planning (the handler behind a CloudFront that reports nothing in
//! progress; visibility 180 s, 5 receives, no concurrency cap) and the usual Python function (one
//! `quote`d path per record, chunks of 3,000, a fresh CallerReference per call, any error fails the
//! whole batch; visibility 180 s, 5 receives, no concurrency cap).

mod family;
mod measure;
mod plot;
mod reference;
mod workload;
mod world;

use std::path::PathBuf;
use std::str::FromStr;
use std::time::{Duration, Instant};

use cf_invalidator::cloudfront::MemoryCloudFront;
use cf_invalidator::invocation::Invocation;
use cf_invalidator::lambda;
use clap::Parser;
use serde_json::{json, Value};

use workload::{
    config, corpus, deploy_files, fail, s3_notification, Other, Shape, Site, Source, Span, Storm, Synthetic, DIST,
};
use world::{Function, Queueing, Rules};

#[derive(Parser, Debug)]
#[command(
    about = "Replays deploys through the real handler, a model of Lambda's SQS poller and an in-memory CloudFront"
)]
struct Opts {
    /// Deploys in the corpus format (`C key` / `D key` lines), one file each, in order
    /// [default: corpus/hugo/changes-hugo-*.txt of the repository]
    #[arg(long, num_args = 1.., value_name = "FILE")]
    deploys: Vec<PathBuf>,
    /// The bucket's listing, one key a line, to count over-invalidated objects
    /// [default: corpus/hugo/site-hugo.txt]
    #[arg(long, value_name = "FILE")]
    site: Option<PathBuf>,
    /// Seconds between deploys (0: all at once)
    #[arg(long, default_value_t = 120, value_name = "SECONDS")]
    every: u64,
    /// Start every deploy at a seeded uniform time within this many seconds instead
    #[arg(long, value_name = "SECONDS")]
    within: Option<u64>,
    /// Deploys arrive as a seeded Poisson process of this mean gap instead (the first at 0)
    #[arg(long, value_name = "SECONDS", conflicts_with = "within")]
    poisson: Option<u64>,
    /// A seeded synthetic site and deploys instead of the corpus: KEYS keys, DEPLOYS (20) deploys
    /// of CHANGES_PER_DEPLOY changes (nested sections, index documents, the corpus's key shapes)
    #[arg(long, value_name = "KEYS:CHANGES_PER_DEPLOY[:DEPLOYS]", conflicts_with_all = ["deploys", "site"])]
    synthetic: Option<Synthetic>,
    /// Seconds an invalidation stays in progress: MIN..MAX (uniform, seeded) or one number
    #[arg(long, default_value = "300..900", value_name = "MIN..MAX")]
    complete: Span,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Run every seed of FIRST..LAST (inclusive) and report the max over seeds
    #[arg(long, value_name = "FIRST..LAST")]
    seeds: Option<Seeds>,
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
    /// The function's timeout: the handler's deadline, enforced
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    function_timeout: u64,
    /// Milliseconds each CloudFront call takes, charged to the invocation's time
    #[arg(long, default_value_t = 100, value_name = "MS")]
    api_latency_ms: u64,
    /// Containers restart (forgetting what they read) every this many seconds
    #[arg(long, default_value_t = 900, value_name = "SECONDS")]
    cold_every: u64,
    /// Run invocations one after another, each to its end, instead of concurrently
    #[arg(long)]
    serial: bool,
    /// Another tool creates an invalidation of ITEMS every EVERY s; ITEMS: paths (`/*`,
    /// `/other/*`) or `exactN`, comma-separated. Repeatable
    #[arg(long, value_name = "EVERY:ITEMS")]
    other: Vec<Other>,
    /// Another tool holds the whole quota from the start for this long (the horizon grows to fit)
    #[arg(long, default_value_t = 0, value_name = "SECONDS")]
    hold: u64,
    /// Simulated horizon, before any hold
    #[arg(long, default_value_t = 4.0)]
    hours: f64,
    /// Also run the offline reference schedule and report the ratio to it
    #[arg(long)]
    reference: bool,
    /// Also run the behaviour before quota-aware planning and the usual Python function (one seed)
    #[arg(long)]
    baseline: bool,
    /// Print each invocation and the invalidations it created to stderr (one line each)
    #[arg(long)]
    trace: bool,
    /// Run N storms drawn from the family space (README), each with both references; the storm
    /// shape options above are drawn, the queueing and function options apply to every storm
    #[arg(long, value_name = "N")]
    family: Option<u64>,
    /// The family's seed: storm i is a function of (this, i) alone
    #[arg(long, default_value_t = 1, value_name = "S")]
    family_seed: u64,
    /// With --family: also write the family's Markdown table to FILE
    #[arg(long, value_name = "FILE", requires = "family")]
    markdown: Option<PathBuf>,
    /// Draw the function and the windowed reference on one time axis (one seed): each change's
    /// staleness against its upload time, and the exact and wildcard room in use
    #[arg(long, value_name = "FILE.svg", conflicts_with_all = ["seeds", "family"])]
    plot: Option<PathBuf>,
}

/// `--seeds FIRST..LAST`, inclusive.
#[derive(Debug, Clone, Copy)]
struct Seeds(u64, u64);

impl FromStr for Seeds {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?}: expected FIRST..LAST, e.g. 1..12");
        let (a, b) = s.split_once("..").ok_or_else(bad)?;
        let (a, b) = (a.trim().parse().map_err(|_| bad())?, b.trim().parse().map_err(|_| bad())?);
        if a > b {
            return Err(bad());
        }
        Ok(Seeds(a, b))
    }
}

/// Each deploy planned alone with the same configuration, paths summed: what the planner sends for
/// a deploy that meets no other in a batch or in the quota. Planned by the handler itself (one S3
/// event of the deploy's records, an empty CloudFront, so the whole quota is room).
fn paths_planned_one_by_one(storm: &Storm) -> usize {
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().expect("a tokio runtime");
    let cfg = config();
    let mut sequencer = 0_u64;
    storm
        .deploys
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
            let inv = Invocation { request_id: format!("deploy-{d}"), deadline: None, now: None };
            rt.block_on(lambda::handle(&cfg, &cf, event.as_bytes(), &inv))
                .unwrap_or_else(|e| fail(&format!("deploy {d} alone: {e}")));
            cf.invalidations().iter().map(|i| i.paths.len()).sum::<usize>()
        })
        .sum()
}

fn main() {
    let opts = Opts::parse();
    let started = Instant::now();
    let source = match opts.synthetic {
        Some(s) => Source::Synthetic(s),
        None => Source::Files {
            deploys: deploy_files(&opts.deploys),
            site: opts.site.clone().unwrap_or_else(|| corpus().join("site-hugo.txt")),
        },
    };
    let shape = Shape {
        every: opts.every,
        within: opts.within,
        poisson: opts.poisson,
        upload_rate: opts.upload_rate,
        hours: opts.hours,
        span: opts.complete,
        others: opts.other.clone(),
        hold: opts.hold,
    };
    let rules = Rules {
        api_latency: Duration::from_millis(opts.api_latency_ms),
        function_timeout: Duration::from_secs(opts.function_timeout),
        cold_every: Duration::from_secs(opts.cold_every.max(1)),
        serial: opts.serial,
        trace: opts.trace,
    };
    let ours = Queueing {
        batch_size: opts.batch_size,
        window: opts.window,
        max_concurrency: (opts.max_concurrency > 0).then_some(opts.max_concurrency),
        visibility: opts.visibility,
        max_receives: opts.max_receives,
    };
    if let Some(n) = opts.family {
        let out = family::run(&family::Space::standard(), n, opts.family_seed, ours, rules, opts.upload_rate);
        if let Some(md) = &opts.markdown {
            std::fs::write(md, family::markdown(&out)).unwrap_or_else(|e| fail(&format!("{}: {e}", md.display())));
        }
        let mut out = out;
        out["family"]["wall_ms"] = json!(started.elapsed().as_millis() as u64);
        println!("{}", serde_json::to_string_pretty(&out).expect("JSON"));
        return;
    }
    let describe = |storm: &Storm, site: &Site| {
        json!({
            "deploys": storm.deploys.len(),
            "changes": storm.uploads.len(),
            "deletes": storm.uploads.iter().filter(|u| u.deleted).count(),
            "last_upload_s": storm.uploads.iter().map(|u| u.arrival).max(),
            "every_s": if opts.within.or(opts.poisson).is_some() { None } else { Some(opts.every) },
            "within_s": opts.within,
            "poisson_mean_gap_s": opts.poisson,
            "synthetic": opts.synthetic.map(|s| s.to_string()),
            "complete_s": [opts.complete.min, opts.complete.max],
            "other": opts.other.iter().map(Other::to_string).collect::<Vec<_>>(),
            "hold_s": opts.hold,
            "upload_rate": opts.upload_rate,
            "site_keys": site.keys.len(),
            "horizon_s": storm.horizon,
            "function_timeout_s": opts.function_timeout,
            "api_latency_ms": opts.api_latency_ms,
            "cold_every_s": opts.cold_every,
            "serial": opts.serial,
        })
    };

    let mut out = if let Some(Seeds(first, last)) = opts.seeds {
        if opts.baseline {
            fail("--baseline runs one seed: give --seed instead of --seeds");
        }
        let mut rows = Vec::new();
        let mut storm0 = None;
        for seed in first..=last {
            let (storm, site) = source.storm(&shape, seed);
            let mut row = measure::report(
                &storm,
                &site,
                Function::Ours,
                ours,
                &world::simulate(&storm, Function::Ours, ours, rules),
            );
            row["seed"] = json!(seed);
            if opts.reference {
                extend(&mut row, reference::row(&storm, ours.window).0);
                row["ratio"] = measure::ratio(&row["staleness_s"]["max"], &row["reference_max_staleness_s"]);
                row["ratio_unwindowed"] =
                    measure::ratio(&row["staleness_s"]["max"], &row["reference_unwindowed_max_staleness_s"]);
            }
            eprintln!(
                "seed {seed}: max staleness {} s, reference {} s, dead-lettered {}",
                row["staleness_s"]["max"], row["reference_max_staleness_s"], row["changes_dead_lettered"]
            );
            rows.push(row);
            storm0.get_or_insert((storm, site));
        }
        let (storm, site) = storm0.expect("at least one seed");
        let nums = |f: &dyn Fn(&Value) -> &Value| rows.iter().map(|r| f(r).as_f64()).collect::<Vec<_>>();
        // A change never fresh makes a seed's max staleness infinite, so the max over seeds too.
        let max_of = |v: Vec<Option<f64>>| v.into_iter().try_fold(0.0_f64, |m, x| x.map(|x| m.max(x)));
        let some = |v: Vec<Option<f64>>| v.into_iter().flatten().collect::<Vec<f64>>();
        let mean = |v: Vec<f64>| (v.iter().sum::<f64>() / v.len().max(1) as f64 * 10.0).round() / 10.0;
        let top = |v: Vec<f64>| v.into_iter().fold(0.0_f64, f64::max);
        let sum = |v: Vec<f64>| v.into_iter().sum::<f64>();
        let f_max = max_of(nums(&|r| &r["staleness_s"]["max"]));
        let r_max = opts.reference.then(|| max_of(nums(&|r| &r["reference_max_staleness_s"]))).flatten();
        let u_max = opts.reference.then(|| max_of(nums(&|r| &r["reference_unwindowed_max_staleness_s"]))).flatten();
        let over_seeds = json!({
            "seeds": [first, last],
            "dead_lettered_max": top(some(nums(&|r| &r["changes_dead_lettered"]))),
            "dead_lettered_total": sum(some(nums(&|r| &r["changes_dead_lettered"]))),
            "max_staleness_s": f_max,
            "reference_max_staleness_s": r_max,
            "ratio": measure::ratio(&json!(f_max), &json!(r_max)),
            "reference_unwindowed_max_staleness_s": u_max,
            "ratio_unwindowed": measure::ratio(&json!(f_max), &json!(u_max)),
            "paths_billed_mean": mean(some(nums(&|r| &r["paths_billed"]))),
            "paths_billed_max": top(some(nums(&|r| &r["paths_billed"]))),
            "over_invalidated_mean": mean(some(nums(&|r| &r["over_invalidated"]))),
            "over_invalidated_max": top(some(nums(&|r| &r["over_invalidated"]))),
            "refusals_total": sum(some(nums(&|r| &r["refusals"]))),
            "refusals_max": top(some(nums(&|r| &r["refusals"]))),
            "duplicate_paths_total": sum(some(nums(&|r| &r["duplicate_paths"]))),
            "duplicate_paths_beyond_margin_total": sum(some(nums(&|r| &r["duplicate_paths_beyond_margin"]))),
            "most_receives": top(some(nums(&|r| &r["most_receives"]))),
            "invocations_timed_out_total": sum(some(nums(&|r| &r["invocations_timed_out"]))),
        });
        json!({
            "storm": describe(&storm, &site),
            "paths_planned_one_by_one": paths_planned_one_by_one(&storm),
            "over_seeds": over_seeds,
            "per_seed": rows,
        })
    } else {
        let (storm, site) = source.storm(&shape, opts.seed);
        let before = Queueing { visibility: 180, max_receives: 5, max_concurrency: None, ..ours };
        let mut rows = vec![("ours", Function::Ours, ours)];
        if opts.baseline {
            rows.push(("before", Function::Before, before));
            rows.push(("python", Function::Python, before));
        }
        let mut out =
            json!({ "storm": describe(&storm, &site), "paths_planned_one_by_one": paths_planned_one_by_one(&storm) });
        let mut ours_made = None;
        for (name, f, q) in rows {
            let outcome = world::simulate(&storm, f, q, rules);
            let row = measure::report(&storm, &site, f, q, &outcome);
            if f == Function::Ours {
                ours_made = Some(outcome.made);
            }
            if opts.baseline {
                out[name] = row;
            } else {
                extend(&mut out, row);
            }
        }
        let mut reference_made = None;
        if opts.reference || opts.plot.is_some() {
            let (row, made) = reference::row(&storm, ours.window);
            reference_made = made;
            extend(&mut out, row);
            let max = if opts.baseline {
                out["ours"]["staleness_s"]["max"].clone()
            } else {
                out["staleness_s"]["max"].clone()
            };
            out["ratio"] = measure::ratio(&max, &out["reference_max_staleness_s"]);
            out["ratio_unwindowed"] = measure::ratio(&max, &out["reference_unwindowed_max_staleness_s"]);
        }
        if let Some(path) = &opts.plot {
            let made = ours_made.expect("the function ran");
            plot::draw(path, &storm, &made, reference_made.as_deref())
                .unwrap_or_else(|e| fail(&format!("{}: {e}", path.display())));
        }
        out["storm"]["seed"] = json!(opts.seed);
        out
    };
    out["storm"]["wall_ms"] = json!(started.elapsed().as_millis() as u64);
    println!("{}", serde_json::to_string_pretty(&out).expect("JSON"));
}

fn extend(into: &mut Value, from: Value) {
    if let (Some(o), Value::Object(r)) = (into.as_object_mut(), from) {
        o.extend(r);
    }
}
