//! The `aws-sdk-cloudfront` adapter of the [`CloudFront`] port: turns the SDK's errors into the
//! crate's typed [`Error`]. It remembers nothing between calls (`known.rs` does).

use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, SystemTime};

use aws_sdk_cloudfront::config::http::HttpResponse;
use aws_sdk_cloudfront::config::SharedCredentialsProvider;
use aws_sdk_cloudfront::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudfront::operation::RequestId;
use aws_sdk_cloudfront::types::{InvalidationBatch, Paths};

use super::{CloudFront, CreateRequest, Invalidation, InvalidationPage, InvalidationSummary, Status, TargetId};
use crate::deadline::{self, Instant};
use crate::error::Error;
use crate::sdk_error::{no_credentials, one_line};

pub struct SdkCloudFront {
    client: aws_sdk_cloudfront::Client,
    /// Clients for distributions (or tenants) in other accounts, by their id: each signs with the
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

    /// The client that may act on `target`.
    fn client(&self, target: &TargetId) -> &aws_sdk_cloudfront::Client {
        self.assumed.get(target.as_str()).unwrap_or(&self.client)
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

/// What CloudFront's error answer means, read by its code: the one reading for the six operations
/// (on a distribution and on a tenant), whose typed errors carry the same codes. Codes the SDK does
/// not model (`InvalidationBatchAlreadyExists`, `Throttling`) arrive as unhandled errors with the
/// code all the same.
fn classify<E>(
    operation: &str,
    e: SdkError<E, HttpResponse>,
    target: &TargetId,
    caller_reference: Option<&str>,
    invalidation_id: Option<&str>,
) -> Error
where
    E: ProvideErrorMetadata + RequestId + std::error::Error + 'static,
{
    let detail = one_line(operation, &e);
    if let Some(why) = no_credentials(&e) {
        return Error::NoCredentials(format!("{operation} was not sent: {why}"));
    }
    let SdkError::ServiceError(se) = e else {
        // Timeouts, connection errors, unreadable responses: transient as far as we can tell.
        return Error::CloudFront(detail);
    };
    let err = se.into_err();
    let id = target.to_string();
    // The typed errors name what they are about; CloudFront's text and the request id follow.
    let message = detail.clone();
    match err.code() {
        Some("NoSuchDistribution") => Error::NoSuchDistribution { distribution_id: id, message },
        // The tenant operations' answer for a tenant CloudFront does not know.
        Some("EntityNotFound") => Error::NoSuchDistributionTenant { distribution_tenant_id: id, message },
        Some("AccessDenied") | Some("AccessDeniedException") => Error::AccessDenied { distribution_id: id, message },
        Some("TooManyInvalidationsInProgress") => {
            Error::TooManyInvalidationsInProgress { distribution_id: id, message }
        }
        Some(code @ ("InvalidArgument" | "BatchTooLarge" | "MissingBody" | "InconsistentQuantities")) => {
            Error::InvalidInput(format!("CloudFront refused the request: {code} {}", err.message().unwrap_or_default()))
        }
        Some("InvalidationBatchAlreadyExists") => Error::InvalidationBatchAlreadyExists {
            caller_reference: caller_reference.unwrap_or_default().to_string(),
            message,
        },
        Some("NoSuchInvalidation") => Error::NoSuchInvalidation {
            distribution_id: id,
            invalidation_id: invalidation_id.unwrap_or_default().to_string(),
            message,
        },
        Some("Throttling") | Some("ThrottlingException") | Some("RequestLimitExceeded") => Error::Throttled(detail),
        _ => Error::CloudFront(detail),
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
        let client = self.client(req.target);
        let call = async {
            let inv = match req.target {
                TargetId::Distribution(d) => {
                    client
                        .create_invalidation()
                        .distribution_id(d.as_str())
                        .invalidation_batch(batch)
                        .send()
                        .await
                        .map_err(|e| classify("CreateInvalidation", e, req.target, Some(req.caller_reference), None))?
                        .invalidation
                }
                TargetId::Tenant(t) => {
                    client
                        .create_invalidation_for_distribution_tenant()
                        .id(t.as_str())
                        .invalidation_batch(batch)
                        .send()
                        .await
                        .map_err(|e| {
                            let op = "CreateInvalidationForDistributionTenant";
                            classify(op, e, req.target, Some(req.caller_reference), None)
                        })?
                        .invalidation
                }
            };
            let inv =
                inv.ok_or_else(|| Error::CloudFront("CreateInvalidation answered without an invalidation".into()))?;
            Ok(from_sdk(inv))
        };
        by_deadline(deadline, "CreateInvalidation", call).await
    }

    async fn get_invalidation(&self, target: &TargetId, id: &str) -> Result<Invalidation, Error> {
        let client = self.client(target);
        let inv = match target {
            TargetId::Distribution(d) => {
                client
                    .get_invalidation()
                    .distribution_id(d.as_str())
                    .id(id)
                    .send()
                    .await
                    .map_err(|e| classify("GetInvalidation", e, target, None, Some(id)))?
                    .invalidation
            }
            TargetId::Tenant(t) => {
                client
                    .get_invalidation_for_distribution_tenant()
                    .distribution_tenant_id(t.as_str())
                    .id(id)
                    .send()
                    .await
                    .map_err(|e| classify("GetInvalidationForDistributionTenant", e, target, None, Some(id)))?
                    .invalidation
            }
        };
        let inv = inv.ok_or_else(|| Error::CloudFront("GetInvalidation answered without an invalidation".into()))?;
        Ok(from_sdk(inv))
    }

    async fn list_invalidations(&self, target: &TargetId, marker: Option<&str>) -> Result<InvalidationPage, Error> {
        let client = self.client(target);
        let marker = marker.map(str::to_string);
        let list = match target {
            TargetId::Distribution(d) => {
                client
                    .list_invalidations()
                    .distribution_id(d.as_str())
                    .set_marker(marker)
                    .send()
                    .await
                    .map_err(|e| classify("ListInvalidations", e, target, None, None))?
                    .invalidation_list
            }
            TargetId::Tenant(t) => {
                client
                    .list_invalidations_for_distribution_tenant()
                    .id(t.as_str())
                    .set_marker(marker)
                    .send()
                    .await
                    .map_err(|e| classify("ListInvalidationsForDistributionTenant", e, target, None, None))?
                    .invalidation_list
            }
        };
        let Some(list) = list else { return Ok(InvalidationPage::default()) };
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
