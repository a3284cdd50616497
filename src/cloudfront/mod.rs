//! The edge to CloudFront: the port the handler depends on ([`CloudFront`]), with two adapters:
//! [`sdk::SdkCloudFront`] over `aws-sdk-cloudfront`, and [`memory::MemoryCloudFront`], an
//! in-memory CloudFront that keeps AWS's rules (statuses, CallerReference, path validation, the
//! in-progress quota) on a clock the caller controls, for fast tests and the storm benchmark.

pub mod memory;
pub mod sdk;

use crate::deadline::Instant;
use std::future::Future;

use crate::error::Error;

pub use memory::MemoryCloudFront;
pub use sdk::SdkCloudFront;

/// One CreateInvalidation request.
#[derive(Debug, Clone, Copy)]
pub struct CreateRequest<'a> {
    pub distribution_id: &'a str,
    pub caller_reference: &'a str,
    pub paths: &'a [String],
}

/// What CloudFront says of an invalidation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalidation {
    pub id: String,
    /// `InProgress` or `Completed` (AWS's spelling; a stand-in may differ).
    pub status: String,
    pub paths: Vec<String>,
    pub caller_reference: String,
}

/// One entry of ListInvalidations: CloudFront lists summaries only, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidationSummary {
    pub id: String,
    pub status: String,
}

/// One page of ListInvalidations (at most 100 summaries).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InvalidationPage {
    pub items: Vec<InvalidationSummary>,
    /// The marker of the next page, when there is one.
    pub next_marker: Option<String>,
}

/// How many of an invalidation's paths count against each of CloudFront's two independent
/// in-progress quotas (3,000 exact paths, 15 wildcard paths per distribution).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PathCounts {
    pub exact: usize,
    pub wildcards: usize,
}

impl PathCounts {
    pub fn of<S: AsRef<str>>(paths: &[S]) -> Self {
        let wildcards = paths.iter().filter(|p| p.as_ref().ends_with('*')).count();
        PathCounts { exact: paths.len() - wildcards, wildcards }
    }
}

/// The port the handler depends on.
pub trait CloudFront: Send + Sync {
    /// Creates (or, for a repeated CallerReference with the same paths, returns) an invalidation,
    /// giving up by `deadline` so that the invocation still has time to answer.
    fn create_invalidation(
        &self,
        req: CreateRequest<'_>,
        deadline: Option<Instant>,
    ) -> impl Future<Output = Result<Invalidation, Error>> + Send;

    fn get_invalidation(
        &self,
        distribution_id: &str,
        id: &str,
    ) -> impl Future<Output = Result<Invalidation, Error>> + Send;

    /// One page of a distribution's invalidations, newest first (`marker` from the previous page).
    fn list_invalidations(
        &self,
        distribution_id: &str,
        marker: Option<&str>,
    ) -> impl Future<Output = Result<InvalidationPage, Error>> + Send;

    /// The path counts of one invalidation (GetInvalidation). An invalidation never changes after
    /// it is created, so an adapter may answer from what it remembers.
    fn path_counts(&self, distribution_id: &str, id: &str) -> impl Future<Output = Result<PathCounts, Error>> + Send;
}
