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

use aws_config::imds::client::error::{ImdsError, TokenError};

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
/// left to ask and it says there is none here (see [`imds_has_none`]). A provider that found its
/// source and failed with it (an expired SSO session, a `credential_process` that exits non-zero,
/// instance metadata that throttles or times out on an instance that does have a role) is not
/// this: its error is the call's, retryable, with the provider's message in [`one_line`].
pub(crate) fn no_credentials<E, R>(e: &SdkError<E, R>) -> Option<String>
where
    E: StdError + 'static,
    R: std::fmt::Debug,
{
    use aws_credential_types::provider::error::CredentialsError;
    let mut causes: Vec<&(dyn StdError + 'static)> = vec![];
    let mut cause = e.source();
    while let Some(c) = cause {
        causes.push(c);
        cause = c.source();
    }
    let (i, found) = causes.iter().enumerate().find_map(|(i, c)| Some((i, c.downcast_ref::<CredentialsError>()?)))?;
    let imds_none = causes[i..].iter().filter_map(|c| c.downcast_ref::<ImdsError>()).any(imds_has_none);
    if !matches!(found, CredentialsError::CredentialsNotLoaded(_)) && !imds_none {
        return None;
    }
    let why: Vec<String> = causes[i..].iter().map(|c| c.to_string()).collect();
    // One line, its runs of spaces (the chain's list of attempts) made one.
    Some(why.join(": ").split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Whether instance metadata's error says there is no instance metadata to ask here: nothing
/// answered (connection refused, address unreachable), or the token request was refused with 403
/// (IMDS disabled on the instance, or a hop limit the caller is beyond) or 404 (something at the
/// address that is no IMDS), or no role is attached (404 on the role list). Any other answer —
/// throttling, a 5xx, a timeout after connecting, an unreadable answer — is an IMDS that exists
/// and failed this time: retried, never taken for "no credentials" (which is never retried).
fn imds_has_none(e: &ImdsError) -> bool {
    match e {
        ImdsError::FailedToLoadToken(t) if t.is_dispatch_failure() => true,
        ImdsError::FailedToLoadToken(_) => {
            let token = e.source().and_then(|s| s.downcast_ref::<SdkError<TokenError, HttpResponse>>());
            matches!(token, Some(SdkError::ServiceError(se)) if matches!(se.raw().status().as_u16(), 403 | 404))
        }
        ImdsError::ErrorResponse(r) => r.response().status().as_u16() == 404,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_config::imds::credentials::ImdsCredentialsProvider;
    use aws_credential_types::provider::ProvideCredentials;
    use aws_sdk_cloudfront::operation::create_invalidation::CreateInvalidationError;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A stand-in instance metadata service on 127.0.0.1 that answers every request with `status`
    /// (`None`: nothing listens on the port). Returns its endpoint.
    async fn imds(status: Option<u16>) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let Some(status) = status else { return endpoint };
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    while let Ok(n) = conn.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        let answer = format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\n\r\n");
                        if conn.write_all(answer.as_bytes()).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        endpoint
    }

    /// Rule: only instance metadata that is not there counts as "no credentials" (never retried);
    /// an instance metadata service that is there and fails is a retryable error of the call.
    #[tokio::test]
    async fn only_an_absent_instance_metadata_is_no_credentials() {
        #[rustfmt::skip]
        let cases: &[(&str, Option<u16>, bool)] = &[
            ("nothing listens (no EC2 instance)",          None,      true),
            ("token refused: IMDS disabled or hop limit",  Some(403), true),
            ("token not found: no IMDS at the address",    Some(404), true),
            ("throttled",                                  Some(429), false),
            ("IMDS failing",                               Some(500), false),
            ("IMDS unavailable",                           Some(503), false),
        ];
        for (what, status, none) in cases {
            let endpoint = imds(*status).await;
            let client = aws_config::imds::Client::builder().endpoint(endpoint.as_str()).unwrap().build();
            let provider = ImdsCredentialsProvider::builder().imds_client(client).build();
            let err = provider.provide_credentials().await.expect_err(what);
            let e: SdkError<CreateInvalidationError, HttpResponse> = SdkError::construction_failure(err);
            assert_eq!(no_credentials(&e).is_some(), *none, "{what}: {:?}", no_credentials(&e));
        }
    }
}
