//! The `aws-sdk-cloudfront` adapter of the [`CloudFront`] port: turns the SDK's errors into the
//! crate's typed [`Error`]. It remembers nothing between calls (`known.rs` does).

use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, SystemTime};

use aws_sdk_cloudfront::config::SharedCredentialsProvider;
use aws_sdk_cloudfront::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudfront::operation::create_invalidation::CreateInvalidationError;
use aws_sdk_cloudfront::operation::get_invalidation::GetInvalidationError;
use aws_sdk_cloudfront::operation::list_invalidations::ListInvalidationsError;
use aws_sdk_cloudfront::types::{InvalidationBatch, Paths};

use super::{CloudFront, CreateRequest, Invalidation, InvalidationPage, InvalidationSummary, Status};
use crate::deadline::{self, Instant};
use crate::error::Error;
use crate::sdk_error::one_line;

pub struct SdkCloudFront {
    client: aws_sdk_cloudfront::Client,
    /// Clients for distributions in other accounts, by distribution id: each signs with the
    /// credentials of its route's `role_arn`, assumed through STS on first use, cached for the
    /// container's life and refreshed by the SDK before they expire.
    assumed: HashMap<String, aws_sdk_cloudfront::Client>,
}

impl SdkCloudFront {
    /// Configuration from the SDK's standard chain (credentials, `AWS_ENDPOINT_URL_CLOUDFRONT`,
    /// retries). The region is fixed: CloudFront is global and signs in us-east-1, and fixing it
    /// spares the region chain's instance-metadata lookup — nothing touches the network before the
    /// first event. `endpoint` (`CLOUDFRONT_ENDPOINT_URL`) overrides the endpoint.
    ///
    /// `roles` maps a distribution to the role to assume for it (ROUTES' `role_arn`); building
    /// their credential providers touches no network either.
    pub async fn from_env<'a>(endpoint: Option<&str>, roles: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::from_static("us-east-1"))
            .timeout_config(timeouts());
        if let Some(url) = endpoint {
            loader = loader.endpoint_url(url);
        }
        let conf = loader.load().await;
        let mut cf = Self::from_client(aws_sdk_cloudfront::Client::new(&conf));
        for (distribution_id, role_arn) in roles {
            let provider = aws_config::sts::AssumeRoleProvider::builder(role_arn)
                .session_name("cf-invalidator")
                .configure(&conf)
                .build()
                .await;
            let assumed = conf.to_builder().credentials_provider(SharedCredentialsProvider::new(provider)).build();
            cf.assumed.insert(distribution_id.to_string(), aws_sdk_cloudfront::Client::new(&assumed));
        }
        cf
    }

    pub fn from_client(client: aws_sdk_cloudfront::Client) -> Self {
        SdkCloudFront { client, assumed: HashMap::new() }
    }

    /// The client that may act on `distribution_id`.
    fn client(&self, distribution_id: &str) -> &aws_sdk_cloudfront::Client {
        self.assumed.get(distribution_id).unwrap_or(&self.client)
    }
}

/// A hung connection is abandoned and retried (the SDK's standard retry: 3 attempts with
/// backoff, throttling included) well before a typical function timeout.
fn timeouts() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(3))
        .operation_attempt_timeout(Duration::from_secs(10))
        .operation_timeout(Duration::from_secs(40))
        .build()
}

async fn by_deadline<T>(
    deadline: Option<Instant>,
    what: &str,
    fut: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    deadline::by(deadline, fut, |left| {
        Err(Error::CloudFront(format!(
            "{what} gave up after {} ms to answer before the invocation's deadline",
            left.as_millis()
        )))
    })
    .await
}

fn classify_create(e: SdkError<CreateInvalidationError>, req: &CreateRequest<'_>) -> Error {
    let dist = req.distribution_id.to_string();
    let detail = one_line("CreateInvalidation", &e);
    let SdkError::ServiceError(se) = e else {
        // Timeouts, connection errors, unreadable responses: transient as far as we can tell.
        return Error::CloudFront(detail);
    };
    let err = se.into_err();
    // The typed errors name what they are about; CloudFront's text and the request id follow.
    let message = detail.clone();
    match err {
        CreateInvalidationError::NoSuchDistribution(_) => Error::NoSuchDistribution { distribution_id: dist, message },
        CreateInvalidationError::AccessDenied(_) => Error::AccessDenied { distribution_id: dist, message },
        CreateInvalidationError::TooManyInvalidationsInProgress(_) => {
            Error::TooManyInvalidationsInProgress { distribution_id: dist, message }
        }
        CreateInvalidationError::InvalidArgument(_)
        | CreateInvalidationError::BatchTooLarge(_)
        | CreateInvalidationError::MissingBody(_)
        | CreateInvalidationError::InconsistentQuantities(_) => Error::InvalidInput(format!(
            "CloudFront refused the request: {} {}",
            err.code().unwrap_or_default(),
            err.message().unwrap_or_default()
        )),
        // Not in the model: arrives as an unhandled error; matched by code, as the SDK does not model it.
        other => match other.code() {
            Some("InvalidationBatchAlreadyExists") => {
                Error::InvalidationBatchAlreadyExists { caller_reference: req.caller_reference.to_string(), message }
            }
            Some("Throttling") | Some("ThrottlingException") | Some("RequestLimitExceeded") => Error::Throttled(detail),
            Some("AccessDenied") | Some("AccessDeniedException") => {
                Error::AccessDenied { distribution_id: dist, message }
            }
            Some("NoSuchDistribution") => Error::NoSuchDistribution { distribution_id: dist, message },
            _ => Error::CloudFront(detail),
        },
    }
}

impl CloudFront for SdkCloudFront {
    async fn create_invalidation(
        &self,
        req: CreateRequest<'_>,
        deadline: Option<Instant>,
    ) -> Result<Invalidation, Error> {
        let paths = Paths::builder()
            .quantity(req.paths.len() as i32)
            .set_items(Some(req.paths.to_vec()))
            .build()
            .map_err(|e| Error::InvalidInput(e.to_string()))?;
        let batch = InvalidationBatch::builder()
            .caller_reference(req.caller_reference)
            .paths(paths)
            .build()
            .map_err(|e| Error::InvalidInput(e.to_string()))?;
        let call = async {
            let out = self
                .client(req.distribution_id)
                .create_invalidation()
                .distribution_id(req.distribution_id)
                .invalidation_batch(batch)
                .send()
                .await
                .map_err(|e| classify_create(e, &req))?;
            let inv = out
                .invalidation
                .ok_or_else(|| Error::CloudFront("CreateInvalidation answered without an invalidation".into()))?;
            Ok(from_sdk(inv))
        };
        by_deadline(deadline, "CreateInvalidation", call).await
    }

    async fn get_invalidation(&self, distribution_id: &str, id: &str) -> Result<Invalidation, Error> {
        let out = self
            .client(distribution_id)
            .get_invalidation()
            .distribution_id(distribution_id)
            .id(id)
            .send()
            .await
            .map_err(|e| {
                let detail = one_line("GetInvalidation", &e);
                match e.into_service_error() {
                    GetInvalidationError::NoSuchDistribution(_) => {
                        Error::NoSuchDistribution { distribution_id: distribution_id.into(), message: detail }
                    }
                    GetInvalidationError::AccessDenied(_) => {
                        Error::AccessDenied { distribution_id: distribution_id.into(), message: detail }
                    }
                    GetInvalidationError::NoSuchInvalidation(_) => {
                        Error::InvalidInput(format!("no invalidation {id} on {distribution_id}"))
                    }
                    _ => Error::CloudFront(detail),
                }
            })?;
        let inv = out
            .invalidation
            .ok_or_else(|| Error::CloudFront("GetInvalidation answered without an invalidation".into()))?;
        Ok(from_sdk(inv))
    }

    async fn list_invalidations(&self, distribution_id: &str, marker: Option<&str>) -> Result<InvalidationPage, Error> {
        let out = self
            .client(distribution_id)
            .list_invalidations()
            .distribution_id(distribution_id)
            .set_marker(marker.map(str::to_string))
            .send()
            .await
            .map_err(|e| classify_list(e, distribution_id))?;
        let Some(list) = out.invalidation_list else { return Ok(InvalidationPage::default()) };
        let items = list
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|s| InvalidationSummary {
                id: s.id,
                status: Status::parse(&s.status),
                create_time: SystemTime::try_from(s.create_time).unwrap_or(SystemTime::UNIX_EPOCH),
            })
            .collect();
        let next_marker = if list.is_truncated { list.next_marker.filter(|m| !m.is_empty()) } else { None };
        Ok(InvalidationPage { items, next_marker })
    }
}

fn classify_list(e: SdkError<ListInvalidationsError>, distribution_id: &str) -> Error {
    let detail = one_line("ListInvalidations", &e);
    match e.into_service_error().code() {
        Some("NoSuchDistribution") => {
            Error::NoSuchDistribution { distribution_id: distribution_id.into(), message: detail }
        }
        Some("AccessDenied") => Error::AccessDenied { distribution_id: distribution_id.into(), message: detail },
        Some("Throttling") => Error::Throttled(detail),
        _ => Error::CloudFront(detail),
    }
}

fn from_sdk(inv: aws_sdk_cloudfront::types::Invalidation) -> Invalidation {
    let batch = inv.invalidation_batch;
    Invalidation {
        id: inv.id,
        status: Status::parse(&inv.status),
        // A time the SDK cannot represent reads as the epoch: older than any change, so never
        // taken to cover one.
        create_time: SystemTime::try_from(inv.create_time).unwrap_or(SystemTime::UNIX_EPOCH),
        caller_reference: batch.as_ref().map(|b| b.caller_reference.clone()).unwrap_or_default(),
        paths: batch.and_then(|b| b.paths).and_then(|p| p.items).unwrap_or_default(),
    }
}
