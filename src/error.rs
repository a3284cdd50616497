//! The crate's one error type.
//!
//! Every variant has a stable `errorType` name (see [`Error::error_type`]) because Step Functions
//! `Retry`/`Catch` blocks and CloudWatch alarms match on that string: renaming one is a breaking
//! change for every deployed workflow. The names say what the caller can do:
//!
//! | errorType | meaning | caller should |
//! |---|---|---|
//! | `InvalidInput` | the payload or a field of it breaks a rule | fix the input; never retry |
//! | `ConfigError` | the function's environment is wrong | fix the configuration |
//! | `NoSuchDistribution` | CloudFront does not know the distribution | fix the configuration |
//! | `NoSuchDistributionTenant` | CloudFront does not know the distribution tenant (`EntityNotFound`) | fix the configuration |
//! | `NoSuchInvalidation` | CloudFront has no invalidation of that id on the distribution or tenant | fix the id; never retry |
//! | `NoCredentials` | no AWS credentials were found anywhere the SDK looks (none found, not a provider that failed) | provide credentials; never retry |
//! | `AccessDenied` | the role may not invalidate it | fix IAM |
//! | `InvalidationBatchAlreadyExists` | a caller-given reference was used before with other paths | use a new reference |
//! | `TooManyInvalidationsInProgress` | CloudFront's in-progress quota is full | retry after minutes |
//! | `Throttled` | CloudFront's rate limit, after the SDK's own retries | retry with backoff |
//! | `CloudFrontError` | anything else from CloudFront or the network (5xx, timeout, reset) | retry, then alert |

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum Error {
    #[error("{0}")]
    InvalidInput(String),
    /// The function's environment breaks a rule: which variable, and what it allows.
    #[error("{variable}: {rule}")]
    Config { variable: &'static str, rule: String },
    #[error("distribution {distribution_id} does not exist: {message}")]
    NoSuchDistribution { distribution_id: String, message: String },
    /// CloudFront's `EntityNotFound` from a tenant operation.
    #[error("distribution tenant {distribution_tenant_id} does not exist: {message}")]
    NoSuchDistributionTenant { distribution_tenant_id: String, message: String },
    #[error("no invalidation {invalidation_id} on {distribution_id}: {message}")]
    NoSuchInvalidation { distribution_id: String, invalidation_id: String, message: String },
    /// No credential provider found credentials (environment, profiles, SSO, process, container,
    /// instance metadata): the caller's setup, not CloudFront, so never retried. A provider that
    /// found a source and failed (an expired SSO session, a failing `credential_process`) stays a
    /// `CloudFrontError` whose message names it.
    #[error("no AWS credentials found: {0}")]
    NoCredentials(String),
    #[error("access denied to distribution {distribution_id}: {message}")]
    AccessDenied { distribution_id: String, message: String },
    #[error("caller reference {caller_reference} was already used with different paths: {message}")]
    InvalidationBatchAlreadyExists { caller_reference: String, message: String },
    #[error("too many invalidations in progress on {distribution_id}: {message}")]
    TooManyInvalidationsInProgress { distribution_id: String, message: String },
    #[error("CloudFront throttled the request: {0}")]
    Throttled(String),
    #[error("CloudFront call failed: {0}")]
    CloudFront(String),
}

impl Error {
    /// The stable name Step Functions and alarms match on.
    pub fn error_type(&self) -> &'static str {
        match self {
            Error::InvalidInput(_) => "InvalidInput",
            Error::Config { .. } => "ConfigError",
            Error::NoSuchDistribution { .. } => "NoSuchDistribution",
            Error::NoSuchDistributionTenant { .. } => "NoSuchDistributionTenant",
            Error::NoSuchInvalidation { .. } => "NoSuchInvalidation",
            Error::NoCredentials(_) => "NoCredentials",
            Error::AccessDenied { .. } => "AccessDenied",
            Error::InvalidationBatchAlreadyExists { .. } => "InvalidationBatchAlreadyExists",
            Error::TooManyInvalidationsInProgress { .. } => "TooManyInvalidationsInProgress",
            Error::Throttled(_) => "Throttled",
            Error::CloudFront(_) => "CloudFrontError",
        }
    }

    /// Whether delivering the same input again later can succeed. Decides nothing about SQS
    /// redelivery (every unsubmitted message is redelivered so that nothing is lost); it is what
    /// the logs and metrics report.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::TooManyInvalidationsInProgress { .. } | Error::Throttled(_) | Error::CloudFront(_))
    }

    /// Whether it is part of normal operation rather than a fault: a submission held for room
    /// (`TooManyInvalidationsInProgress`) or refused by CloudFront's rate limit after the SDK's
    /// retries (`Throttled`) comes back with its queue or retry and is submitted later. Neither
    /// should wake anyone: the `UnexpectedErrors` metric (and its alarm) counts every other
    /// error, and the summary's `throttled` counts these. Staleness and the dead-letter queues tell
    /// when waiting lasts too long.
    pub fn is_expected(&self) -> bool {
        matches!(self, Error::TooManyInvalidationsInProgress { .. } | Error::Throttled(_))
    }

    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::InvalidInput(msg.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every variant once, with its stable name.
    fn every_variant() -> [(Error, &'static str); 11] {
        let d = |s: &str| s.to_string();
        [
            (Error::InvalidInput(d("x")), "InvalidInput"),
            (Error::Config { variable: "X", rule: d("x") }, "ConfigError"),
            (Error::NoSuchDistribution { distribution_id: d("E1"), message: d("") }, "NoSuchDistribution"),
            (
                Error::NoSuchDistributionTenant { distribution_tenant_id: d("dt_a"), message: d("") },
                "NoSuchDistributionTenant",
            ),
            (
                Error::NoSuchInvalidation { distribution_id: d("E1"), invalidation_id: d("I1"), message: d("") },
                "NoSuchInvalidation",
            ),
            (Error::NoCredentials(d("x")), "NoCredentials"),
            (Error::AccessDenied { distribution_id: d("E1"), message: d("") }, "AccessDenied"),
            (
                Error::InvalidationBatchAlreadyExists { caller_reference: d("r"), message: d("") },
                "InvalidationBatchAlreadyExists",
            ),
            (
                Error::TooManyInvalidationsInProgress { distribution_id: d("E1"), message: d("") },
                "TooManyInvalidationsInProgress",
            ),
            (Error::Throttled(d("x")), "Throttled"),
            (Error::CloudFront(d("x")), "CloudFrontError"),
        ]
    }

    /// The names are part of the public contract (README "Errors", the state machine's Retry/Catch).
    #[test]
    fn error_type_names_are_stable() {
        for (err, name) in every_variant() {
            assert_eq!(err.error_type(), name, "{err:?}");
        }
    }

    /// Rule: waiting for room and being throttled are expected (the changes come back and are
    /// submitted later); every other error is a fault an operator must look at.
    #[test]
    fn only_waiting_for_room_and_throttling_are_expected() {
        for (err, name) in every_variant() {
            let want = matches!(name, "TooManyInvalidationsInProgress" | "Throttled");
            assert_eq!(err.is_expected(), want, "{name}");
        }
    }
}
