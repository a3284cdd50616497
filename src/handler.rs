//! Orchestration: intake → planner → CloudFront, and the response each source expects.
//!
//! Nothing is acknowledged that was not submitted: an SQS message is listed in
//! `batchItemFailures` unless every request carrying its changes was created; every other source
//! gets an error (Lambda retries async invokes, Step Functions applies its `Retry`).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant, SystemTime};

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse};
use serde::Serialize;

use crate::cloudfront::{CloudFront, CreateRequest, Invalidation};
use crate::config::Config;
use crate::error::Error;
use crate::intake::{self, Intake, Source};
use crate::observe::{self, Summary};
use crate::planner::{self, Plan, PlanStats, Planned};
use crate::reference;

/// What the handler knows of the invocation besides the payload.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// The Lambda request id: Lambda keeps it across its own retries of an async invoke, so it
    /// stands in for the version of changes that carry none.
    pub request_id: String,
    pub deadline: Option<Instant>,
}

impl Invocation {
    pub fn from_context(ctx: &lambda_runtime::Context) -> Self {
        // `deadline` is milliseconds since the epoch. Lambda never starts an invocation past its
        // deadline, so a deadline already past is not one (cargo lambda's emulator sends its
        // timeout, 600000, there): then only the SDK's own timeouts bound the call.
        let now_ms =
            SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
        let deadline = (ctx.deadline > now_ms).then(|| Instant::now() + Duration::from_millis(ctx.deadline - now_ms));
        Invocation { request_id: ctx.request_id.clone(), deadline }
    }
}

/// The requests an invocation will make, before any AWS call (`cfinv plan` stops here).
#[derive(Debug, Clone)]
pub struct Prepared {
    pub intake: Intake,
    pub planned: Planned,
    /// Seconds the wait loop may wait (explicit requests; the default otherwise).
    pub timeout: u32,
}

/// Reads the payload and plans its requests.
pub fn prepare(cfg: &Config, payload: &[u8], request_id: &str) -> Result<Prepared, Error> {
    let intake = intake::parse(payload)?;
    let (planned, timeout) = plan_intake(cfg, &intake, request_id)?;
    Ok(Prepared { intake, planned, timeout })
}

fn plan_intake(cfg: &Config, intake: &Intake, request_id: &str) -> Result<(Planned, u32), Error> {
    let Some(req) = &intake.explicit else {
        return Ok((planner::plan(&intake.changes, cfg, None, request_id)?, intake::explicit::DEFAULT_TIMEOUT));
    };
    let mut planned = match &req.paths {
        Some(paths) => {
            let distribution_id = req.distribution_id.clone().expect("intake requires distribution_id with paths");
            let wildcards = paths.iter().filter(|p| p.ends_with('*')).count();
            Planned {
                plans: vec![Plan {
                    caller_reference: reference::derive_for_paths(&distribution_id, paths, request_id),
                    distribution_id,
                    paths: paths.clone(),
                    messages: BTreeSet::from([0]),
                    stats: PlanStats { keys_in: 0, exact_paths: paths.len(), wildcards },
                }],
                skipped: BTreeMap::new(),
            }
        }
        None => planner::plan(&intake.changes, cfg, req.distribution_id.as_deref(), request_id)?,
    };
    if let Some(r) = &req.caller_reference {
        // CallerReference is scoped to a distribution, so one reference serves several.
        planned.plans.iter_mut().for_each(|p| p.caller_reference = r.clone());
    }
    Ok((planned, req.timeout))
}

/// One created invalidation, as reported to the caller (and to the Step Functions wait loop).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Created {
    pub distribution_id: String,
    pub invalidation_id: String,
    pub status: String,
    pub caller_reference: String,
    pub path_count: usize,
    /// `null` when the paths exceed 32 KiB, to stay far below Step Functions' 256 KiB state limit.
    pub paths: Option<Vec<String>>,
    pub wildcards: usize,
    pub timeout: u32,
    /// `now + timeout` (RFC 3339, UTC): the wait loop fails with `InvalidationTimeout` after it.
    pub deadline: String,
}

/// The response to every source but SQS.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Response {
    /// The single invalidation's fields at the top level (absent when there are zero or several).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub single: Option<Created>,
    /// `Created` when something was submitted; `Skipped` when the event changed nothing to invalidate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<&'static str>,
    pub source: &'static str,
    pub keys_in: usize,
    pub invalidations: Vec<Created>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub skipped: BTreeMap<&'static str, usize>,
}

/// Paths are echoed in the response only up to this many bytes in all.
const ECHO_PATHS_BYTES: usize = 32 * 1024;

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(untagged)]
pub enum Output {
    Sqs(SqsBatchResponse),
    Other(Box<Response>),
}

/// Runs one invocation end to end.
pub async fn handle<C: CloudFront>(cfg: &Config, cf: &C, payload: &[u8], inv: &Invocation) -> Result<Output, Error> {
    let started = Instant::now();
    let intake = intake::parse(payload).inspect_err(|e| log_failure(cfg, None, e, started))?;
    let source = intake.source;
    let planning = plan_intake(cfg, &intake, &inv.request_id);
    let (planned, timeout) = match planning {
        Ok(p) => p,
        Err(e) if source == Source::Sqs => {
            // Nothing can be submitted: every message with a change goes back to the queue.
            log_failure(cfg, Some(source), &e, started);
            let failed: BTreeSet<usize> =
                intake.changes.iter().map(|c| c.message).chain(intake.malformed.iter().map(|m| m.0)).collect();
            return Ok(Output::Sqs(batch_response(&intake, &failed)));
        }
        Err(e) => {
            log_failure(cfg, Some(source), &e, started);
            return Err(e);
        }
    };

    let mut created = Vec::with_capacity(planned.plans.len());
    let mut failed_messages: BTreeSet<usize> = intake.malformed.iter().map(|m| m.0).collect();
    let mut first_error: Option<Error> = None;
    let mut throttled = 0;
    tracing::debug!(keys = ?intake.changes.iter().map(|c| c.key.as_str()).collect::<Vec<_>>(), "changed keys");
    for plan in &planned.plans {
        tracing::debug!(distribution_id = %plan.distribution_id, paths = ?plan.paths, "request");
        let req = CreateRequest {
            distribution_id: &plan.distribution_id,
            caller_reference: &plan.caller_reference,
            paths: &plan.paths,
        };
        match cf.create_invalidation(req, inv.deadline).await {
            Ok(i) => created.push(describe(plan, i, timeout)),
            Err(e) => {
                tracing::warn!(
                    distribution_id = %plan.distribution_id,
                    caller_reference = %plan.caller_reference,
                    error_type = e.error_type(),
                    retryable = e.is_retryable(),
                    error = %e,
                    "invalidation not created"
                );
                if matches!(e, Error::Throttled(_) | Error::TooManyInvalidationsInProgress { .. }) {
                    throttled += 1;
                }
                failed_messages.extend(plan.messages.iter().copied());
                first_error.get_or_insert(e);
            }
        }
    }
    summary(cfg, &intake, &planned, &created, failed_messages.len(), throttled, first_error.as_ref(), started);

    if source == Source::Sqs {
        return Ok(Output::Sqs(batch_response(&intake, &failed_messages)));
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    let keys_in = intake.changes.len();
    let single = (created.len() == 1).then(|| created[0].clone());
    let outcome = Some(if created.is_empty() { "Skipped" } else { "Created" });
    Ok(Output::Other(Box::new(Response {
        single,
        outcome,
        source: source.name(),
        keys_in,
        invalidations: created,
        skipped: planned.skipped,
    })))
}

fn batch_response(intake: &Intake, failed: &BTreeSet<usize>) -> SqsBatchResponse {
    let mut r = SqsBatchResponse::default();
    r.batch_item_failures = failed
        .iter()
        .map(|&i| {
            let mut f = BatchItemFailure::default();
            f.item_identifier = intake.messages[i].clone();
            f
        })
        .collect();
    r
}

fn describe(plan: &Plan, inv: Invalidation, timeout: u32) -> Created {
    let echo = plan.paths.iter().map(|p| p.len() + 4).sum::<usize>() <= ECHO_PATHS_BYTES;
    let deadline = SystemTime::now() + Duration::from_secs(timeout.into());
    Created {
        distribution_id: plan.distribution_id.clone(),
        invalidation_id: inv.id,
        status: inv.status,
        caller_reference: plan.caller_reference.clone(),
        path_count: plan.paths.len(),
        paths: echo.then(|| plan.paths.clone()),
        wildcards: plan.stats.wildcards,
        timeout,
        deadline: humantime::format_rfc3339_seconds(deadline).to_string(),
    }
}

/// The invocation's counts, reported once (observe.rs): never keys or payloads.
#[allow(clippy::too_many_arguments)]
fn summary(
    cfg: &Config,
    intake: &Intake,
    planned: &Planned,
    created: &[Created],
    failed: usize,
    throttled: usize,
    err: Option<&Error>,
    started: Instant,
) {
    let s = Summary {
        source: intake.source.name(),
        messages: intake.messages.len(),
        malformed: intake.malformed.len(),
        keys_in: intake.changes.len(),
        keys_skipped: planned.skipped.values().sum(),
        ignored_events: intake.ignored,
        requests: planned.plans.len(),
        paths: planned.plans.iter().map(|p| p.paths.len()).sum(),
        wildcards: planned.plans.iter().map(|p| p.stats.wildcards).sum(),
        invalidations: created.iter().map(|c| c.invalidation_id.as_str()).collect(),
        failed_messages: failed,
        throttled,
        error_type: err.map(Error::error_type).unwrap_or(""),
        duration_ms: started.elapsed().as_millis() as u64,
    };
    observe::report(&s, cfg.metrics_namespace.as_deref(), cfg.function_name.as_deref());
}

fn log_failure(cfg: &Config, source: Option<Source>, e: &Error, started: Instant) {
    let s = Summary {
        source: source.map(Source::name).unwrap_or("unknown"),
        error_type: e.error_type(),
        duration_ms: started.elapsed().as_millis() as u64,
        ..Default::default()
    };
    tracing::warn!(error = %e, "invocation failed");
    observe::report(&s, cfg.metrics_namespace.as_deref(), cfg.function_name.as_deref());
}
