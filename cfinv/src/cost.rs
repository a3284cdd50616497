//! `cfinv cost`: what a month of invalidations on a distribution (or a distribution tenant) bills,
//! and by whom — the paths of this project's generated references, and everyone else's (other
//! tools, the console, and references a caller chose, which nothing tells apart from another
//! tool's), the wildcards among them, the estimated charge, and the most expensive invalidations.
//! CloudFront bills a path (a wildcard or a cache tag as one) past the account's first 1,000 a
//! month, whoever made it: the allowance is the account's, shared by every distribution.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::SystemTime;

use cf_invalidator::budget::{self, Billed, Month, FREE_PATHS_A_MONTH};
use cf_invalidator::known::Known;
use cf_invalidator::model::TargetId;
use cf_invalidator::planner::COST_PER_PATH_USD;
use serde_json::{json, Value};

use crate::setup::{block_on, cloudfront};

pub const AFTER_HELP: &str = "Reads the month's invalidations of the distribution (ListInvalidations, newest first, down to \
the month's start) and each one's paths (GetInvalidation, ten at a time, each once), with a progress line on standard \
error when there are many. This project's invalidations are those whose CallerReference it generated (cfinv- and 40 hex \
digits, the workflow's sfn-…); a caller_reference you chose counts as another tool's.\n\nThe estimate is a range: the \
first 1,000 paths a month are free for the whole account, so what this distribution's paths cost depends on what \
the account's other distributions used.\n\nExample:\n  cfinv cost EDFDVBD632BHDS5\n  cfinv cost --month 2026-01 --json \
EDFDVBD632BHDS5 | jq .estimated_charge_usd";

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The distribution id, e.g. EDFDVBD632BHDS5, or a distribution tenant's, dt_….
    #[arg(value_name = "DISTRIBUTION", value_parser = TargetId::parse)]
    distribution_id: TargetId,
    /// The calendar month (UTC), YYYY-MM. Default: this month.
    #[arg(long, value_name = "YYYY-MM", value_parser = Month::parse)]
    month: Option<Month>,
    /// How many of the most expensive invalidations to show.
    #[arg(long, value_name = "N", default_value_t = 5)]
    top: usize,
    /// Print JSON (for scripts) instead of the table.
    #[arg(long)]
    json: bool,
}

/// From this many invalidations to read, progress is shown on standard error.
const MANY: usize = 100;

pub fn run(args: Args) -> ExitCode {
    let json = args.json;
    block_on(json, async move {
        let cf = cloudfront(&crate::setup::config()?).await;
        let month = args.month.clone().unwrap_or_else(|| Month::containing(SystemTime::now()));
        let terminal = std::io::stderr().is_terminal();
        let show = |read: usize, of: usize| {
            if of < MANY {
                return;
            }
            if terminal {
                eprint!("\rcfinv: read {read} of {of} invalidations");
                if read == of {
                    eprintln!();
                }
            } else if read % MANY == 0 || read == of {
                eprintln!("cfinv: read {read} of {of} invalidations");
            }
        };
        let billed = budget::month_invalidations(&cf, &Known::new(), &args.distribution_id, &month, show).await;
        let cost = match billed {
            Ok(billed) => Cost::of(args.distribution_id.clone(), month, billed),
            Err(e) => return Ok(crate::exit::fail(args.json, &e)),
        };
        if args.json {
            println!("{}", serde_json::to_string_pretty(&cost.to_json(args.top)).map_err(|e| e.to_string())?);
        } else {
            print!("{}", cost.to_text(args.top));
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// What one party's invalidations billed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Share {
    pub invalidations: usize,
    pub paths: usize,
    pub wildcards: usize,
}

impl Share {
    fn add(&mut self, b: &Billed) {
        self.invalidations += 1;
        self.paths += b.billed();
        self.wildcards += b.paths.wildcards;
    }

    fn to_json(self) -> Value {
        json!({"invalidations": self.invalidations, "paths": self.paths, "wildcards": self.wildcards})
    }
}

/// A month's bill on one distribution.
#[derive(Debug, Clone)]
pub struct Cost {
    pub distribution_id: TargetId,
    pub month: Month,
    pub this_project: Share,
    pub others: Share,
    /// Every invalidation of the month, most paths first (the newer first among equals).
    pub invalidations: Vec<Billed>,
}

impl Cost {
    pub fn of(distribution_id: TargetId, month: Month, mut invalidations: Vec<Billed>) -> Cost {
        let (mut this_project, mut others) = (Share::default(), Share::default());
        for b in &invalidations {
            if b.generated() {
                this_project.add(b);
            } else {
                others.add(b);
            }
        }
        invalidations.sort_by(|a, b| b.billed().cmp(&a.billed()).then(b.create_time.cmp(&a.create_time)));
        Cost { distribution_id, month, this_project, others, invalidations }
    }

    pub fn total(&self) -> Share {
        Share {
            invalidations: self.this_project.invalidations + self.others.invalidations,
            paths: self.this_project.paths + self.others.paths,
            wildcards: self.this_project.wildcards + self.others.wildcards,
        }
    }

    /// The estimated charge in USD for this distribution's paths: (if it had the account's free
    /// paths to itself, if the account's other distributions used them all).
    pub fn charge(&self) -> (f64, f64) {
        let paths = self.total().paths;
        let usd = |n: usize| n as f64 * COST_PER_PATH_USD;
        (usd(paths.saturating_sub(FREE_PATHS_A_MONTH)), usd(paths))
    }

    pub fn to_json(&self, top: usize) -> Value {
        let (alone, shared) = self.charge();
        let cents = |usd: f64| (usd * 100.0).round() / 100.0;
        json!({
            self.distribution_id.field(): self.distribution_id,
            "month": self.month.label(),
            "this_project": self.this_project.to_json(),
            "others": self.others.to_json(),
            "total": self.total().to_json(),
            "free_paths_a_month": FREE_PATHS_A_MONTH,
            "usd_per_path": COST_PER_PATH_USD,
            "estimated_charge_usd": {
                "if_this_distribution_had_the_free_paths_alone": cents(alone),
                "if_other_distributions_used_them_up": cents(shared),
            },
            "most_expensive": self.invalidations.iter().take(top).map(|b| json!({
                "invalidation_id": b.id,
                "create_time": humantime::format_rfc3339_seconds(b.create_time).to_string(),
                "caller_reference": b.caller_reference,
                "by": if b.generated() { "this_project" } else { "others" },
                "paths": b.billed(),
                "wildcards": b.paths.wildcards,
            })).collect::<Vec<_>>(),
        })
    }

    pub fn to_text(&self, top: usize) -> String {
        let row =
            |name: &str, s: Share| format!("  {name:<14} {:>13} {:>7} {:>10}\n", s.invalidations, s.paths, s.wildcards);
        let mut out = format!(
            "Paths billed on {} in {} (CloudFront bills ${COST_PER_PATH_USD} a path, a wildcard as one, past the account's first {FREE_PATHS_A_MONTH} a month):\n",
            self.distribution_id,
            self.month.label()
        );
        out += &format!("  {:<14} {:>13} {:>7} {:>10}\n", "", "invalidations", "paths", "wildcards");
        out += &row("this project", self.this_project);
        out += &row("others", self.others);
        out += &row("total", self.total());
        let (alone, shared) = self.charge();
        out += &format!(
            "Estimated charge: ${alone:.2} if this distribution had the account's {FREE_PATHS_A_MONTH} free paths to itself, up to ${shared:.2} if the account's other distributions used them up: the free paths are the account's, shared by every distribution.\n"
        );
        if self.invalidations.is_empty() {
            out += "No invalidations this month.\n";
            return out;
        }
        out += "Most expensive:\n";
        for b in self.invalidations.iter().take(top) {
            let by = if b.generated() { "this project" } else { "another tool" };
            out += &format!(
                "  {} {} {:>5} paths ({} wildcards) by {by}, reference {}\n",
                b.id,
                humantime::format_rfc3339_seconds(b.create_time),
                b.billed(),
                b.paths.wildcards,
                b.caller_reference
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cf_invalidator::model::PathCounts;

    fn billed(id: &str, reference: &str, exact: usize, wildcards: usize, at: u64) -> Billed {
        Billed {
            id: id.into(),
            create_time: SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(at),
            caller_reference: reference.into(),
            paths: PathCounts { exact, wildcards },
        }
    }

    /// Rule: paths past the free 1,000 cost $0.005 each; the estimate is a range because the free
    /// paths are the account's: none under 1,000 if this distribution had them alone, every path
    /// if others used them up.
    #[test]
    fn the_charge_is_a_range_over_the_accounts_free_paths() {
        let ours = "cfinv-0123456789abcdef0123456789abcdef01234567";
        // (paths of this project's, others', estimate alone, estimate shared)
        let cases = [(0, 0, 0.0, 0.0), (600, 400, 0.0, 5.0), (600, 401, 0.005, 5.005), (2_000, 1_000, 10.0, 15.0)];
        for (mine, theirs, alone, shared) in cases {
            let all = vec![billed("A", ours, mine, 0, 1), billed("B", "tool", theirs, 0, 2)];
            let cost = Cost::of(TargetId::parse("E1").unwrap(), Month::parse("2026-01").unwrap(), all);
            let (a, s) = cost.charge();
            assert!((a - alone).abs() < 1e-9 && (s - shared).abs() < 1e-9, "{mine}+{theirs}: {a} {s}");
        }
    }
}
