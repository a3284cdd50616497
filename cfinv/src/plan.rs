//! `cfinv plan`: the invalidations an event would make, without any AWS call — exactly what the
//! Lambda sends given the room (`--room EXACT,WILDCARDS`, default the whole quota: nothing in
//! progress), through the same pipeline (`prepare.rs`) and the same fit (`Submission::fit`).

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use cf_invalidator::intake::Intake;
use cf_invalidator::model::{TargetId, API_MAX_PATHS_IN_PROGRESS, API_MAX_WILDCARDS_IN_PROGRESS};
use cf_invalidator::planner::explain::PathWhy;
use cf_invalidator::planner::{Plan, Routing, COST_PER_PATH_USD};
use cf_invalidator::prepare::{self, Prepared, Submission};
use cf_invalidator::quota::Room;
use cf_invalidator::reference::Token;
use cf_invalidator::Config;
use serde_json::json;

use crate::exit::{fail, usage};
use crate::input::{Asked, Given};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// What to plan: event JSON (any shape the Lambda accepts), or anything `cfinv invalidate
    /// --from` reads (`aws s3 sync` output, keys one a line); `-` reads standard input.
    #[arg(conflicts_with = "from")]
    event: Option<PathBuf>,
    #[command(flatten)]
    given: Given,
    /// JSON output (the default when standard output is not a terminal); an error is then the
    /// JSON error object.
    #[arg(long)]
    json: bool,
    /// Show which keys each path covers, and why a path is a wildcard.
    #[arg(long)]
    explain: bool,
    /// The room CloudFront's in-progress quota leaves on each distribution: exact paths and
    /// wildcard paths that may still go in progress [default: 3000,15, nothing in progress].
    #[arg(long, value_name = "EXACT,WILDCARDS", value_parser = parse_room)]
    room: Option<Room>,
}

fn parse_room(s: &str) -> Result<Room, String> {
    let bad = || {
        format!(
            "{s:?} is not EXACT,WILDCARDS: two whole numbers, at most {API_MAX_PATHS_IN_PROGRESS} and {API_MAX_WILDCARDS_IN_PROGRESS}"
        )
    };
    let (e, w) = s.split_once(',').ok_or_else(bad)?;
    let exact: usize = e.trim().parse().map_err(|_| bad())?;
    let wildcards: usize = w.trim().parse().map_err(|_| bad())?;
    if exact > API_MAX_PATHS_IN_PROGRESS || wildcards > API_MAX_WILDCARDS_IN_PROGRESS {
        return Err(bad());
    }
    // Less than the whole quota means something is in progress, which is what the share one
    // request may take depends on (`Room::share`).
    let whole = exact == API_MAX_PATHS_IN_PROGRESS && wildcards == API_MAX_WILDCARDS_IN_PROGRESS;
    Ok(Room::of(exact, wildcards, usize::from(!whole)))
}

/// One submission and the plan it would send in the room given.
struct ShownRequest<'s, 'i> {
    submission: &'s Submission<'i>,
    plan: Plan,
}

impl ShownRequest<'_, '_> {
    /// Why each path is there; explained for the whole room's plan, so shown when the room given
    /// leaves that plan as it is.
    fn explained(&self) -> Option<&[PathWhy]> {
        self.submission.explained.as_deref().filter(|_| self.plan == self.submission.plan)
    }
}

/// What is shown.
struct Shown<'s, 'i> {
    requests: Vec<ShownRequest<'s, 'i>>,
    /// Distributions whose submission fits nothing in the room: the Lambda would hold them.
    held: Vec<&'s TargetId>,
    room: Room,
    skipped: &'s BTreeMap<&'static str, usize>,
}

/// What the input was, for the summary line: the payload's intake, or the keys read.
pub enum Source<'a> {
    Event(&'a Intake),
    Keys { keys_in: usize, ignored_lines: usize, s3_sync: bool },
}

pub fn run(args: Args) -> ExitCode {
    let json = args.json || !std::io::stdout().is_terminal();
    let cfg = match crate::setup::config() {
        Ok(c) => c,
        Err(msg) => return usage(json, msg),
    };
    let asked = match args.given.asked(&[], args.event.as_ref(), &cfg) {
        Ok(a) => a,
        Err(msg) => return usage(json, msg),
    };
    let explain = args.explain;
    let target = args.given.target();
    let prepared = match &asked {
        Asked::Event(intake) => prepare::prepare_payload(&cfg.planner, intake, Token::Fixed("cfinv-plan"), explain),
        Asked::Changes(read) => {
            let routing = Routing::Keys { distribution_id: target.as_ref() };
            let asked = prepare::Asked::Changes { changes: &read.changes, routing };
            prepare::prepare(&cfg.planner, asked, None, Token::Fixed("cfinv-plan"), explain)
        }
    };
    let prepared = match prepared {
        Ok(p) => p,
        Err(e) => return fail(json, &e),
    };
    let source = match &asked {
        Asked::Event(intake) => Source::Event(intake),
        Asked::Changes(r) => {
            Source::Keys { keys_in: r.changes.len(), ignored_lines: r.ignored_lines, s3_sync: r.s3_sync }
        }
    };
    show(&cfg, &source, &prepared, args.room.unwrap_or(Room::FULL), json)
}

/// Prints what `prepared` would send in `room`: `cfinv plan`'s output, and `invalidate --dry-run`'s.
pub fn show(cfg: &Config, source: &Source, prepared: &Prepared, room: Room, json: bool) -> ExitCode {
    let mut shown = Shown { requests: Vec::new(), held: Vec::new(), room, skipped: &prepared.skipped };
    for s in &prepared.submissions {
        match s.fit(room, &cfg.planner) {
            Some(plan) => shown.requests.push(ShownRequest { submission: s, plan }),
            None => shown.held.push(&s.distribution_id),
        }
    }
    let out = std::io::stdout();
    let mut out = out.lock();
    let written = if json { write_json(&mut out, source, &shown) } else { write_table(&mut out, source, &shown) };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => usage(false, e),
    }
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

fn write_json(out: &mut impl Write, source: &Source, p: &Shown) -> std::io::Result<()> {
    let invalidations: Vec<PlanOut> = p
        .requests
        .iter()
        .map(|r| PlanOut {
            plan: &r.plan,
            caller_reference: &r.submission.reference.value,
            path_count: r.plan.paths.len(),
            estimated_cost_usd: r.plan.cost_usd(),
            explain: r.explained(),
        })
        .collect();
    let total: usize = p.requests.iter().map(|r| r.plan.paths.len()).sum();
    let mut doc = match source {
        Source::Event(intake) => json!({
            "source": intake.source.name(),
            "keys_in": intake.changes.len(),
            "ignored_events": intake.ignored,
            "malformed_messages": intake.malformed.iter().map(|(i, why)| json!({"itemIdentifier": intake.messages[*i], "reason": why})).collect::<Vec<_>>(),
            "timeout": prepare::wait_timeout(intake),
        }),
        Source::Keys { keys_in, ignored_lines, s3_sync } => json!({
            "source": if *s3_sync { "aws-s3-output" } else { "keys" },
            "keys_in": keys_in,
            "ignored_lines": ignored_lines,
        }),
    };
    let rest = json!({
        "keys_skipped": p.skipped,
        "room": {"exact": p.room.exact, "wildcards": p.room.wildcards},
        "invalidations": invalidations,
        "held": p.held.iter().map(|d| d.as_str()).collect::<Vec<_>>(),
        "estimated_cost_usd": total as f64 * COST_PER_PATH_USD,
    });
    if let (Some(doc), serde_json::Value::Object(rest)) = (doc.as_object_mut(), rest) {
        doc.extend(rest);
    }
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

fn write_table(out: &mut impl Write, source: &Source, p: &Shown) -> std::io::Result<()> {
    let skipped: usize = p.skipped.values().sum();
    match source {
        Source::Event(intake) => writeln!(
            out,
            "source: {}   keys in: {}   skipped: {}   ignored events: {}",
            intake.source.name(),
            intake.changes.len(),
            skipped,
            intake.ignored
        )?,
        Source::Keys { keys_in, ignored_lines, s3_sync } => writeln!(
            out,
            "source: {}   keys in: {keys_in}   skipped: {skipped}   ignored lines: {ignored_lines}",
            if *s3_sync { "aws-s3-output" } else { "keys" },
        )?,
    }
    for (why, n) in p.skipped {
        writeln!(out, "  skipped {n} key(s): {why}")?;
    }
    if let Source::Event(intake) = source {
        for (i, why) in &intake.malformed {
            writeln!(out, "  malformed message {}: {why}", intake.messages[*i])?;
        }
    }
    if p.requests.is_empty() && p.held.is_empty() {
        writeln!(out, "no invalidation needed")?;
    }
    for d in &p.held {
        writeln!(
            out,
            "distribution {d}   waits: nothing fits {} exact and {} wildcard path(s) of room",
            p.room.exact, p.room.wildcards
        )?;
    }
    for r in &p.requests {
        let plan = &r.plan;
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
        writeln!(out, "caller reference {}", r.submission.reference.value)?;
        match r.explained() {
            None => {
                for path in &plan.paths {
                    writeln!(out, "  {path}")?;
                }
            }
            Some(e) => {
                for w in e {
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
