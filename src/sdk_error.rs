//! One line for an AWS SDK error, shared by the CloudFront and Step Functions adapters.
//!
//! The SDK's `DisplayErrorContext` ends with the error's `Debug` form: the raw HTTP response,
//! headers, `SdkBody` and all, about 1,200 characters that an operator reading the CLI or a log
//! line cannot act on. What they can act on is the operation, the error code, the service's
//! message and the request id (what AWS Support asks for). That is the line; the full form goes
//! to DEBUG for whoever needs the rest.

use std::error::Error as StdError;
use std::fmt::Write as _;

// The SDKs re-export the same smithy types: these are `aws-sdk-sfn`'s too.
use aws_sdk_cloudfront::config::http::HttpResponse;
use aws_sdk_cloudfront::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_cloudfront::operation::RequestId;

/// `Op: Code: message (request id …)` for a service's answer; `Op: what failed: causes` when no
/// answer came (timeout, connection, unreadable response), without the response itself.
pub(crate) fn one_line<E>(operation: &str, e: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + RequestId + StdError + 'static,
{
    tracing::debug!(operation, error = %DisplayErrorContext(e), "AWS call failed");
    let mut line = format!("{operation}: ");
    match e {
        SdkError::ServiceError(se) => {
            let err = se.err();
            match err.code() {
                Some(code) => line.push_str(code),
                // An answer with no error code (a proxy's HTML page, an empty 5xx body).
                None => {
                    let _ = write!(line, "HTTP {}", se.raw().status().as_u16());
                }
            }
            if let Some(message) = err.message().filter(|m| !m.is_empty()) {
                let _ = write!(line, ": {message}");
            }
            if let Some(id) = e.request_id().or_else(|| err.request_id()) {
                let _ = write!(line, " (request id {id})");
            }
        }
        SdkError::TimeoutError(_) => line.push_str("no answer in time"),
        SdkError::DispatchFailure(_) => line.push_str("the request could not be sent"),
        SdkError::ResponseError(_) => line.push_str("the answer could not be read"),
        SdkError::ConstructionFailure(_) => line.push_str("the request could not be built"),
        _ => line.push_str("failed"),
    }
    if !matches!(e, SdkError::ServiceError(_)) {
        // The causes, each one Display (none of them holds the response).
        let mut cause = e.source();
        while let Some(c) = cause {
            let _ = write!(line, ": {c}");
            cause = c.source();
        }
        if let Some(id) = e.request_id() {
            let _ = write!(line, " (request id {id})");
        }
    }
    // A message is the service's text: keep the line one line whatever it holds.
    line.replace(['\n', '\r'], " ")
}

/// Why a call was not sent, when it was for want of credentials: no provider of the chain found
/// any (`CredentialsNotLoaded`, each provider's reason included), or only instance metadata was
/// left to ask and it gave none (a laptop or a CI runner that is no EC2 instance answers nothing, or
/// refuses). A provider that found its source and failed with it (an expired SSO session, a
/// `credential_process` that exits non-zero) is not this: its error is the call's, with the
/// provider's message in [`one_line`].
pub(crate) fn no_credentials<E, R>(e: &SdkError<E, R>) -> Option<String>
where
    E: StdError + 'static,
    R: std::fmt::Debug,
{
    use aws_config::imds::client::error::ImdsError;
    use aws_credential_types::provider::error::CredentialsError;
    let mut causes: Vec<&(dyn StdError + 'static)> = vec![];
    let mut cause = e.source();
    while let Some(c) = cause {
        causes.push(c);
        cause = c.source();
    }
    let (i, found) = causes.iter().enumerate().find_map(|(i, c)| Some((i, c.downcast_ref::<CredentialsError>()?)))?;
    let from_imds = causes[i..].iter().any(|c| c.downcast_ref::<ImdsError>().is_some());
    if !matches!(found, CredentialsError::CredentialsNotLoaded(_)) && !from_imds {
        return None;
    }
    let why: Vec<String> = causes[i..].iter().map(|c| c.to_string()).collect();
    // One line, its runs of spaces (the chain's list of attempts) made one.
    Some(why.join(": ").split_whitespace().collect::<Vec<_>>().join(" "))
}
