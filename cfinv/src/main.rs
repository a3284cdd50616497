//! `cfinv`: the invalidator's library on the command line, configured by the same environment
//! variables as the Lambda. `cfinv invalidate` (in `cfinv/invalidate.rs`) is the deploy-script
//! tool: keys in, invalidations created and waited for.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use cf_invalidator::cloudfront::{CloudFront, SdkCloudFront};
use cf_invalidator::handler::{self, Invocation, Prepared};
use cf_invalidator::planner::explain::PathWhy;
use cf_invalidator::planner::{Plan, COST_PER_PATH_USD};
use cf_invalidator::{Config, Error};
use clap::{Parser, Subcommand};
use serde_json::json;

mod input;
mod invalidate;

#[derive(Parser)]
#[command(
    name = "cfinv",
    version,
    about = "Plan and create CloudFront invalidations from S3 keys and events, as the cf-invalidator Lambda does",
    long_about = "Plan and create CloudFront invalidations from S3 keys and events, as the cf-invalidator Lambda does.\n\n\
`cfinv invalidate` is the deploy-script tool: the keys your deploy changed (arguments, a file, or the output of \
`aws s3 sync`) become the Lambda's planned paths, created once however often the script runs, and with --wait \
waited for until CloudFront has completed them.\n\n\
Configuration comes from the Lambda's environment variables: DISTRIBUTION_ID, ORIGIN_PATH, INDEX_DOCUMENT, \
MAX_PATHS, MAX_WILDCARDS, INCLUDE, EXCLUDE, TAGS, ROUTES (a route may name a role_arn to assume for a distribution in another account), CLOUDFRONT_ENDPOINT_URL (see the README). CloudFront credentials and endpoint come \
from the AWS SDK's standard settings (AWS_PROFILE, AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL_CLOUDFRONT, ...).",
    after_help = "Example:\n  \
aws s3 sync public/ s3://my-site/ --delete | tee sync.log\n  \
cfinv invalidate --distribution-id EDFDVBD632BHDS5 --from sync.log --wait\n\n\
Exit status: 0 success; 1 error (CloudFront refused or failed, the input cannot be planned); \
2 usage (bad arguments, unreadable input, invalid environment variables); \
3 timed out (invalidate --timeout). `cfinv help invalidate` has the details."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the invalidations for changed S3 keys (arguments, a file, `aws s3 sync` output),
    /// planned like the Lambda; with --wait, wait until CloudFront has completed them.
    ///
    /// The deploy-script replacement for `aws cloudfront create-invalidation` followed by
    /// `aws cloudfront wait invalidation-completed` (which gives up after 10 minutes): the paths
    /// are the Lambda's (index documents, encodings, budgets), the request fits the room
    /// CloudFront's in-progress quota leaves or waits for it, and a re-run creates nothing new.
    #[command(after_help = invalidate::AFTER_HELP)]
    Invalidate(invalidate::Args),
    /// Print the invalidation request(s) an event would make, without any AWS call.
    ///
    /// Shows, per request: keys in, keys skipped and why, the paths, how many are wildcards, and
    /// the estimated cost ($0.005 a path past the free 1,000 a month).
    Plan {
        /// Event JSON file (any shape the Lambda accepts); `-` reads standard input.
        event: PathBuf,
        /// JSON output (the default when standard output is not a terminal).
        #[arg(long)]
        json: bool,
        /// Show which keys each path covers, and why a path is a wildcard.
        #[arg(long)]
        explain: bool,
    },
    /// Run the Lambda's handler in-process on an event against CloudFront and print its response.
    Invoke {
        /// Event JSON file (any shape the Lambda accepts); `-` reads standard input.
        event: PathBuf,
        /// Lambda request id to use; repeat one to see what a Lambda retry of the same invoke does
        /// (explicit requests without a caller_reference derive theirs from it).
        #[arg(long)]
        request_id: Option<String>,
    },
    /// List a distribution's recent invalidations with their status and paths.
    List {
        /// The distribution id, e.g. EDFDVBD632BHDS5.
        distribution_id: String,
    },
    /// Print an invalidation's status (GetInvalidation).
    Status {
        /// The distribution id, e.g. EDFDVBD632BHDS5.
        distribution_id: String,
        /// The invalidation id, as printed by `cfinv invoke`.
        invalidation_id: String,
    },
}

fn read_event(path: &PathBuf) -> Result<Vec<u8>, String> {
    if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin().read_to_end(&mut buf).map_err(|e| format!("cannot read standard input: {e}"))?;
        return Ok(buf);
    }
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn config() -> Result<Config, String> {
    Config::from_env().map_err(|e| {
        format!("{e}\nFix the variable in your environment (the README lists every variable and its values).")
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Plan { event, json, explain } => plan(&event, json || !std::io::stdout().is_terminal(), explain),
        Command::Invoke { event, request_id } => runtime().and_then(|rt| rt.block_on(invoke(&event, request_id))),
        Command::List { distribution_id } => runtime().and_then(|rt| rt.block_on(list(&distribution_id))),
        Command::Status { distribution_id, invalidation_id } => {
            runtime().and_then(|rt| rt.block_on(status(&distribution_id, &invalidation_id)))
        }
        Command::Invalidate(args) => return invalidate::run(args),
    };
    match result {
        Ok(code) => code,
        Err(msg) => {
            eprintln!("cfinv: {msg}");
            ExitCode::from(invalidate::EXIT_USAGE)
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())
}

/// What a failed handler prints: the Lambda's own error shape.
fn print_error(e: &Error) -> ExitCode {
    println!("{}", json!({"errorType": e.error_type(), "errorMessage": e.to_string()}));
    ExitCode::from(1)
}

fn plan(event: &PathBuf, as_json: bool, explain: bool) -> Result<ExitCode, String> {
    let cfg = config()?;
    let payload = read_event(event)?;
    let prepared = match handler::prepare_with(&cfg, &payload, "cfinv-plan", explain) {
        Ok(p) => p,
        Err(e) => return Ok(print_error(&e)),
    };
    let explained = prepared.explained.as_deref();
    let out = std::io::stdout();
    let mut out = out.lock();
    let written = if as_json {
        write_plan_json(&mut out, &prepared, explained)
    } else {
        write_plan_table(&mut out, &prepared, explained)
    };
    written.map_err(|e| e.to_string())?;
    Ok(ExitCode::SUCCESS)
}

/// One planned request as `cfinv plan --json` prints it: the plan and its stats, and what the
/// CLI adds (reference, cost, explanation).
#[derive(serde::Serialize)]
struct PlanOut<'a> {
    #[serde(flatten)]
    plan: &'a Plan,
    caller_reference: &'a str,
    path_count: usize,
    estimated_cost_usd: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    explain: Option<&'a [PathWhy]>,
}

fn write_plan_json(out: &mut impl Write, p: &Prepared, explained: Option<&[Vec<PathWhy>]>) -> std::io::Result<()> {
    let invalidations: Vec<PlanOut> = p
        .planned
        .plans
        .iter()
        .enumerate()
        .map(|(n, plan)| PlanOut {
            plan,
            caller_reference: &p.references[n],
            path_count: plan.paths.len(),
            estimated_cost_usd: plan.cost_usd(),
            explain: explained.map(|e| e[n].as_slice()),
        })
        .collect();
    let total: usize = p.planned.plans.iter().map(|x| x.paths.len()).sum();
    let doc = json!({
        "source": p.intake.source.name(),
        "keys_in": p.intake.changes.len(),
        "keys_skipped": p.planned.skipped,
        "ignored_events": p.intake.ignored,
        "malformed_messages": p.intake.malformed.iter().map(|(i, why)| json!({"itemIdentifier": p.intake.messages[*i], "reason": why})).collect::<Vec<_>>(),
        "timeout": p.timeout,
        "invalidations": invalidations,
        "estimated_cost_usd": total as f64 * COST_PER_PATH_USD,
    });
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

fn write_plan_table(out: &mut impl Write, p: &Prepared, explained: Option<&[Vec<PathWhy>]>) -> std::io::Result<()> {
    let skipped: usize = p.planned.skipped.values().sum();
    writeln!(
        out,
        "source: {}   keys in: {}   skipped: {}   ignored events: {}",
        p.intake.source.name(),
        p.intake.changes.len(),
        skipped,
        p.intake.ignored
    )?;
    for (why, n) in &p.planned.skipped {
        writeln!(out, "  skipped {n} key(s): {why}")?;
    }
    for (i, why) in &p.intake.malformed {
        writeln!(out, "  malformed message {}: {why}", p.intake.messages[*i])?;
    }
    if p.planned.plans.is_empty() {
        writeln!(out, "no invalidation needed")?;
    }
    for (n, plan) in p.planned.plans.iter().enumerate() {
        writeln!(out)?;
        writeln!(
            out,
            "distribution {}   {} path(s), {} wildcard(s), {} cache tag(s), from {} key(s)   est. ${:.3}",
            plan.distribution_id,
            plan.paths.len(),
            plan.stats.wildcards,
            plan.stats.tags,
            plan.stats.keys_in,
            plan.cost_usd()
        )?;
        writeln!(out, "caller reference {}", p.references[n])?;
        match explained {
            None => {
                for path in &plan.paths {
                    writeln!(out, "  {path}")?;
                }
            }
            Some(e) => {
                for w in &e[n] {
                    writeln!(out, "  {}", w.path)?;
                    writeln!(out, "      why: {}", w.reason)?;
                    let shown: Vec<&str> = w.keys.iter().take(5).map(String::as_str).collect();
                    if !shown.is_empty() {
                        let more = w.keys.len().saturating_sub(shown.len());
                        let tail = if more > 0 { format!(" and {more} more") } else { String::new() };
                        writeln!(out, "      covers {} key(s): {}{tail}", w.keys.len(), shown.join(", "))?;
                    }
                }
            }
        }
    }
    Ok(())
}

async fn invoke(event: &PathBuf, request_id: Option<String>) -> Result<ExitCode, String> {
    let cfg = config()?;
    let payload = read_event(event)?;
    let request_id = request_id.unwrap_or_else(|| {
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        format!("cfinv-{}-{nanos:x}", std::process::id())
    });
    let cf = SdkCloudFront::for_config(&cfg).await;
    let inv = Invocation { request_id, deadline: None };
    match handler::handle(&cfg, &cf, &payload, &inv).await {
        Ok(out) => {
            println!("{}", serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Ok(print_error(&e)),
    }
}

async fn list(distribution_id: &str) -> Result<ExitCode, String> {
    let cf = SdkCloudFront::for_config(&config()?).await;
    // The first page: CloudFront's 100 newest.
    let ids: Vec<String> = match cf.list_invalidations(distribution_id, None).await {
        Ok(page) => page.items.into_iter().map(|s| s.id).collect(),
        Err(e) => return Ok(print_error(&e)),
    };
    let mut all = Vec::with_capacity(ids.len());
    for id in ids {
        match cf.get_invalidation(distribution_id, &id).await {
            Ok(i) => all.push(json!({"invalidation_id": i.id, "status": i.status, "caller_reference": i.caller_reference, "paths": i.paths})),
            Err(e) => return Ok(print_error(&e)),
        }
    }
    let doc = json!({"distribution_id": distribution_id, "invalidations": all});
    println!("{}", serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?);
    Ok(ExitCode::SUCCESS)
}

async fn status(distribution_id: &str, id: &str) -> Result<ExitCode, String> {
    let cf = SdkCloudFront::for_config(&config()?).await;
    match cf.get_invalidation(distribution_id, id).await {
        Ok(i) => {
            let doc = json!({"distribution_id": distribution_id, "invalidation_id": i.id, "status": i.status,
                             "caller_reference": i.caller_reference, "paths": i.paths});
            println!("{}", serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Ok(print_error(&e)),
    }
}
