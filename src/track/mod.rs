//! Tracking invalidations made from S3 events to completion, with the same workflow that waits for
//! explicit requests (`statemachine/invalidate.asl.json`): so that they too end in one EventBridge
//! event, `CloudFront Invalidation Completed` or `Timed Out`, that a deploy pipeline can react to.
//!
//! With `TRACK_STATE_MACHINE_ARN` set, the handler starts one execution per invalidation it
//! created from events, named after the invalidation ([`execution_name`]) with the input
//! `{"track": {"invalidations": [<the created entry>]}}`, which the workflow reads as "these
//! exist already: go straight to the wait loop".
//!
//! Idempotent by the execution name: Step Functions keeps a name for 90 days after its execution
//! closes and refuses to start another one under it (`ExecutionAlreadyExists`; while it runs, the
//! same name with the same input returns it instead). A redelivery that gets the same invalidation
//! back therefore never starts a second tracker.
//!
//! The port ([`Tracker`]) has two adapters, like CloudFront's: [`sdk::SdkTracker`] over
//! `aws-sdk-sfn`, and [`memory::MemoryTracker`], an in-memory Step Functions with AWS's naming
//! rules, for fast tests.

pub mod memory;
pub mod sdk;

use crate::deadline::Instant;
use std::future::Future;

use serde::Serialize;

pub use memory::MemoryTracker;
pub use sdk::SdkTracker;

/// What StartExecution did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Started {
    /// A new execution, or the running one with this name and this very input (AWS returns it).
    Execution { execution_arn: String },
    /// `ExecutionAlreadyExists`: the name is taken (by a tracker of the same invalidation, since
    /// the name is derived from it): already tracked.
    AlreadyExists,
}

/// Why an execution could not be started: Step Functions' error code and message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct TrackError {
    pub code: String,
    pub message: String,
}

/// The port the handler depends on: Step Functions' StartExecution on the tracking workflow.
pub trait Tracker: Send + Sync {
    /// Starts an execution of the tracking workflow, giving up by `deadline` so that the
    /// invocation still has time to answer. `ExecutionAlreadyExists` is [`Started::AlreadyExists`],
    /// never an error.
    fn start_execution(
        &self,
        name: &str,
        input: &str,
        deadline: Option<Instant>,
    ) -> impl Future<Output = Result<Started, TrackError>> + Send;
}

/// No tracker: the type of `None` for callers that track nothing (`lambda::handle`).
pub enum Off {}

impl Tracker for Off {
    async fn start_execution(&self, _: &str, _: &str, _: Option<Instant>) -> Result<Started, TrackError> {
        match *self {}
    }
}

/// One created invalidation to track: its ids, and the entry the workflow's wait loop reads (the
/// handler's `Created`: distribution_id, invalidation_id, status, caller_reference, path_count,
/// paths, deadline).
#[derive(Debug, Clone, Copy)]
pub struct Tracked<'a, E> {
    pub distribution_id: &'a str,
    pub invalidation_id: &'a str,
    pub entry: &'a E,
}

/// What tracking did in one invocation, for the summary line and the metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Count {
    /// Executions started.
    pub started: usize,
    /// Invalidations a tracker already had (a redelivery).
    pub already: usize,
    /// Invalidations left untracked because StartExecution failed.
    pub failed: usize,
}

/// Starts one tracker per invalidation.
///
/// A failure is logged (WARN `invalidation not tracked`) and counted, and never fails the message
/// that made the invalidation: the invalidation exists and the cache will be cleared whatever
/// happens here. Failing the message would only bring the changes back — merged, in an SQS batch,
/// with whatever else arrived meanwhile, under a new CallerReference, so a second invalidation
/// billed again — and a redelivery answered with `InvalidationBatchAlreadyExists` has no
/// invalidation id to track anyway. Losing a completion event is the smaller harm; the
/// `TrackingFailed` metric is there to alarm on.
pub async fn track_all<'a, T, E>(
    tracker: &T,
    invalidations: impl IntoIterator<Item = Tracked<'a, E>>,
    deadline: Option<Instant>,
) -> Count
where
    T: Tracker,
    E: Serialize + 'a,
{
    let mut count = Count::default();
    for t in invalidations {
        let name = execution_name(t.distribution_id, t.invalidation_id);
        let outcome = match input(t.entry) {
            Ok(input) => tracker.start_execution(&name, &input, deadline).await,
            Err(e) => Err(TrackError { code: "InvalidInput".into(), message: e.to_string() }),
        };
        match outcome {
            Ok(Started::Execution { execution_arn }) => {
                tracing::debug!(
                    distribution_id = t.distribution_id,
                    invalidation_id = t.invalidation_id,
                    execution_arn,
                    "tracking to completion"
                );
                count.started += 1;
            }
            Ok(Started::AlreadyExists) => {
                tracing::info!(distribution_id = t.distribution_id, invalidation_id = t.invalidation_id, execution_name = %name, "already tracked by an earlier delivery");
                count.already += 1;
            }
            Err(e) => {
                tracing::warn!(
                    distribution_id = t.distribution_id,
                    invalidation_id = t.invalidation_id,
                    execution_name = %name,
                    error_type = %e.code,
                    error = %e.message,
                    "invalidation not tracked: it was created, but no completion event will follow"
                );
                count.failed += 1;
            }
        }
    }
    count
}

/// The tracking execution's name: `track-<distribution>-<invalidation id>`, one per invalidation
/// (the whole of idempotence rests on it). CloudFront's ids are upper-case letters and digits, so
/// the name is within Step Functions' rules (1-80 characters, none of whitespace `<>{}[]?*"#%\^|~`$&,;:/`
/// or controls) as it is; anything else is replaced by `_`, and a name that would be longer than
/// 80 characters keeps its start and ends in a hash of both ids, so that it stays unique.
pub fn execution_name(distribution_id: &str, invalidation_id: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect()
    };
    let name = format!("track-{}-{}", clean(distribution_id), clean(invalidation_id));
    if name.len() <= MAX_NAME {
        return name;
    }
    let hash = xxhash_rust::xxh3::xxh3_128(format!("{distribution_id}/{invalidation_id}").as_bytes());
    let hash = format!("{hash:032x}");
    format!("{}-{hash}", &name[..MAX_NAME - hash.len() - 1])
}

/// Step Functions' longest execution name.
pub const MAX_NAME: usize = 80;

/// The tracking execution's input: the created entry, as the workflow's create step would have
/// returned it.
pub fn input<E: Serialize>(entry: &E) -> Result<String, serde_json::Error> {
    serde_json::to_string(&serde_json::json!({ "track": { "invalidations": [entry] } }))
}

/// `TRACK_STATE_MACHINE_ARN`'s rule: empty for no tracking, else a state machine's ARN
/// (`arn:<partition>:states:<region>:<account>:stateMachine:<name>`). Its region is where the
/// tracker calls Step Functions.
pub fn parse_state_machine_arn(arn: &str) -> Result<String, String> {
    let parts: Vec<&str> = arn.split(':').collect();
    let valid = matches!(
        parts.as_slice(),
        ["arn", partition, "states", region, account, "stateMachine", name]
            if !partition.is_empty()
                && !region.is_empty()
                && region.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && account.len() == 12
                && account.chars().all(|c| c.is_ascii_digit())
                && (1..=MAX_NAME).contains(&name.len())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    );
    if valid {
        Ok(arn.to_string())
    } else {
        Err(format!(
            "{arn:?} is not a state machine ARN (arn:aws:states:<region>:<12-digit account>:stateMachine:<name>); empty turns tracking off"
        ))
    }
}

/// The region of a state machine ARN that [`parse_state_machine_arn`] accepted.
pub fn region_of(state_machine_arn: &str) -> &str {
    state_machine_arn.split(':').nth(3).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rule: one name per invalidation, within Step Functions' rules (at most 80 characters, only
    /// letters, digits, `-` and `_` here), and distinct for distinct invalidations even when long.
    #[test]
    fn execution_names_are_valid_and_one_per_invalidation() {
        assert_eq!(execution_name("EDFDVBD632BHDS5", "I2J0I21PCUYOIK"), "track-EDFDVBD632BHDS5-I2J0I21PCUYOIK");
        assert_eq!(execution_name("E1", "I 2/x"), "track-E1-I_2_x");
        let long = "I".repeat(100);
        let (a, b) = (execution_name("E1", &long), execution_name("E1", &format!("{long}J")));
        assert_ne!(a, b);
        for n in [&a, &b] {
            assert_eq!(n.len(), MAX_NAME, "{n}");
            assert!(n.starts_with("track-E1-III"), "{n}");
            assert!(n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'), "{n}");
        }
        assert_eq!(execution_name("E1", &long), a, "deterministic");
    }

    /// Rule: the input is the workflow's tracking form, the entry as the create step returns it.
    #[test]
    fn input_is_the_workflows_tracking_form() {
        let entry = serde_json::json!({"distribution_id": "E1", "invalidation_id": "I1"});
        let v: serde_json::Value = serde_json::from_str(&input(&entry).unwrap()).unwrap();
        assert_eq!(v, serde_json::json!({"track": {"invalidations": [entry]}}));
    }

    /// Rule: TRACK_STATE_MACHINE_ARN is a state machine's ARN; its region is where to call.
    #[test]
    fn state_machine_arns_are_checked() {
        let ok = "arn:aws:states:eu-west-1:123456789012:stateMachine:site-invalidate";
        assert_eq!(parse_state_machine_arn(ok).as_deref(), Ok(ok));
        assert_eq!(region_of(ok), "eu-west-1");
        assert!(parse_state_machine_arn("arn:aws-cn:states:cn-north-1:123456789012:stateMachine:a_b").is_ok());
        for bad in [
            "site-invalidate",
            "arn:aws:states:eu-west-1:123456789012:execution:site:x",
            "arn:aws:states:eu-west-1:1234:stateMachine:site",
            "arn:aws:lambda:eu-west-1:123456789012:function:site",
            "arn:aws:states::123456789012:stateMachine:site",
            "arn:aws:states:eu-west-1:123456789012:stateMachine:",
            "arn:aws:states:eu-west-1:123456789012:stateMachine:a b",
        ] {
            assert!(parse_state_machine_arn(bad).unwrap_err().contains("not a state machine ARN"), "{bad}");
        }
    }
}
