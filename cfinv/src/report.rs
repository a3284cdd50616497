//! What `cfinv invalidate` reports: one line per invalidation created or found as it happens,
//! and at the end the summary (or one JSON document), the errors, and the exit status.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use tokio::time::Instant;

use cf_invalidator::cloudfront::{Invalidation, Status};
use cf_invalidator::model::{PathCounts, TargetId};
use cf_invalidator::planner::COST_PER_PATH_USD;
use cf_invalidator::submit::Answer;
use cf_invalidator::Error;
use serde_json::{json, Value};

use crate::exit::{error_json, error_line, exit_code, EXIT_INTERRUPTED, EXIT_TERMINATED, EXIT_TIMEOUT};

/// The signal that ended a run before its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Ctrl-C (SIGINT): exit 130.
    Interrupt,
    /// SIGTERM (a CI runner's cancel, `kill`): exit 143.
    Terminate,
}

/// An invalidation this run created or found.
#[derive(Debug, Clone)]
pub struct Tracked {
    pub distribution_id: TargetId,
    pub id: String,
    pub status: Status,
    pub caller_reference: String,
    pub paths: Vec<String>,
    pub wildcards: usize,
    /// Made by an earlier run of the same command: nothing new created (nor paid for).
    pub earlier: bool,
    /// Why the last poll failed, when it did (a transient error; polling goes on).
    pub note: Option<String>,
}

impl Tracked {
    /// An invalidation that answers the run's submission on `distribution_id`: created now, or
    /// found (made earlier, or covering the keys already).
    pub fn from(distribution_id: &TargetId, inv: Invalidation, answer: Answer) -> Self {
        let wildcards = PathCounts::of(&inv.paths).wildcards;
        Tracked {
            distribution_id: distribution_id.clone(),
            id: inv.id,
            status: inv.status,
            caller_reference: inv.caller_reference,
            paths: inv.paths,
            wildcards,
            earlier: answer != Answer::Created,
            note: None,
        }
    }

    pub fn completed(&self) -> bool {
        self.status.is_completed()
    }

    fn cost(&self) -> f64 {
        if self.earlier {
            0.0
        } else {
            self.paths.len() as f64 * COST_PER_PATH_USD
        }
    }

    pub fn line(&self) -> String {
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
            self.distribution_id.field(): self.distribution_id,
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
pub struct Report {
    pub json: bool,
    pub wait: bool,
    pub keys_in: usize,
    pub skipped: BTreeMap<String, usize>,
    pub tracked: Vec<Tracked>,
    /// Keys an earlier run with the same `--caller-reference` invalidated (CloudFront says so),
    /// by an invalidation no longer among those listed.
    pub earlier_unlisted: usize,
    pub errors: Vec<Error>,
    /// What was still pending when `--timeout` passed.
    pub timed_out: Option<String>,
    /// Stopped by a signal: what was created so far is reported, exit 130 (Ctrl-C) or 143 (SIGTERM).
    pub interrupted: Option<Signal>,
}

impl Report {
    pub fn finish(self, started: Instant) -> ExitCode {
        let elapsed = started.elapsed();
        let (outcome, code) = if let Some(signal) = self.interrupted {
            match signal {
                Signal::Interrupt => ("interrupted", EXIT_INTERRUPTED),
                Signal::Terminate => ("terminated", EXIT_TERMINATED),
            }
        } else if !self.errors.is_empty() {
            // The most particular error's status: no credentials (4) before any other (1).
            ("failed", self.errors.iter().map(exit_code).max().unwrap_or_default())
        } else if self.timed_out.is_some() {
            ("timed_out", EXIT_TIMEOUT)
        } else if self.tracked.is_empty() && self.earlier_unlisted == 0 {
            ("nothing_to_invalidate", 0)
        } else if self.wait {
            ("completed", 0)
        } else {
            ("submitted", 0)
        };
        for e in &self.errors {
            eprintln!("{}", error_line(e));
        }
        if let Some(what) = &self.timed_out {
            eprintln!("cfinv: timed out after {}: {what}", human(elapsed));
        }
        if let Some(signal) = self.interrupted {
            let ids: Vec<&str> = self.tracked.iter().map(|t| t.id.as_str()).collect();
            eprintln!(
                "cfinv: {} after {}; invalidations so far: {}. CloudFront goes on with them; \
                 running the same command again finds them instead of creating others.",
                if signal == Signal::Interrupt { "interrupted" } else { "terminated (SIGTERM)" },
                human(elapsed),
                if ids.is_empty() { "none".to_string() } else { ids.join(", ") }
            );
        }
        if self.json {
            let doc = json!({
                "outcome": outcome,
                "keys_in": self.keys_in,
                "keys_skipped": self.skipped,
                "invalidations": self.tracked.iter().map(Tracked::to_json).collect::<Vec<_>>(),
                // Summed from +0.0: an empty f64 sum is -0.0, printed as such.
                "estimated_cost_usd": self.tracked.iter().map(Tracked::cost).fold(0.0, |a, b| a + b),
                "elapsed_seconds": elapsed.as_secs(),
                "errors": self.errors.iter().map(error_json).collect::<Vec<_>>(),
            });
            println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        } else if self.wait && !self.tracked.is_empty() && self.interrupted.is_none() {
            for t in &self.tracked {
                println!("{:<9} {} on {} ({} path(s))", t.status, t.id, t.distribution_id, t.paths.len());
            }
        }
        ExitCode::from(code)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(human(Duration::from_secs(5)), "5s");
        assert_eq!(human(Duration::from_secs(62)), "1m02s");
        assert_eq!(human(Duration::from_secs(3605)), "1h00m05s");
    }

    /// Rule: nothing created costs exactly zero, never `-0.0` in the JSON.
    #[test]
    fn nothing_created_costs_zero() {
        let r = Report::default();
        assert_eq!(r.tracked.iter().map(Tracked::cost).fold(0.0, |a, b| a + b).to_string(), "0");
    }
}
