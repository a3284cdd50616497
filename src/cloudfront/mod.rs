//! The edge to CloudFront: the port the handler depends on ([`CloudFront`]), with two adapters:
//! [`sdk::SdkCloudFront`] over `aws-sdk-cloudfront`, and [`memory::MemoryCloudFront`], an
//! in-memory CloudFront that keeps AWS's rules (statuses, CallerReference, path validation, the
//! in-progress quota) on a clock the caller controls, for fast tests and the storm benchmark.
//!
//! Every operation names a [`TargetId`]: a distribution (`CreateInvalidation`, `GetInvalidation`,
//! `ListInvalidations`) or a distribution tenant (`…ForDistributionTenant`). Adapters pick the
//! operation; nothing above them tells the two apart.

pub mod memory;
pub mod sdk;

use std::time::SystemTime;

use crate::deadline::Instant;
use std::future::Future;

use crate::error::Error;
pub use crate::model::{PathCounts, TargetId};

pub use memory::MemoryCloudFront;
pub use sdk::SdkCloudFront;

/// One CreateInvalidation (or CreateInvalidationForDistributionTenant) request.
#[derive(Debug, Clone, Copy)]
pub struct CreateRequest<'a> {
    pub target: &'a TargetId,
    pub caller_reference: &'a str,
    pub paths: &'a [String],
}

/// An invalidation's status. CloudFront documents `InProgress` and `Completed`; anything else (a
/// stand-in's `COMPLETED` is read as `Completed`) is held as in progress, the safe reading: it
/// still holds quota and is still waited for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    InProgress,
    Completed,
    Other(String),
}

impl Status {
    pub fn parse(s: &str) -> Status {
        if s.eq_ignore_ascii_case("Completed") {
            Status::Completed
        } else if s.eq_ignore_ascii_case("InProgress") {
            Status::InProgress
        } else {
            Status::Other(s.to_string())
        }
    }

    pub fn is_completed(&self) -> bool {
        *self == Status::Completed
    }

    /// AWS's spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Status::InProgress => "InProgress",
            Status::Completed => "Completed",
            Status::Other(s) => s,
        }
    }
}

impl PartialEq<&str> for Status {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

impl serde::Serialize for Status {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// What CloudFront says of an invalidation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalidation {
    pub id: String,
    pub status: Status,
    pub paths: Vec<String>,
    pub caller_reference: String,
    /// CloudFront's `CreateTime`.
    pub create_time: SystemTime,
}

/// One entry of ListInvalidations: CloudFront lists summaries only, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidationSummary {
    pub id: String,
    pub status: Status,
    pub create_time: SystemTime,
}

/// One page of ListInvalidations (at most 100 summaries).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InvalidationPage {
    pub items: Vec<InvalidationSummary>,
    /// The marker of the next page, when there is one.
    pub next_marker: Option<String>,
}

/// The port the handler depends on. Adapters remember nothing between calls: what a container
/// remembers is [`crate::known::Known`], owned by the entry point.
pub trait CloudFront: Send + Sync {
    /// Creates (or, for a repeated CallerReference with the same paths, returns) an invalidation,
    /// giving up by `deadline` so that the invocation still has time to answer.
    fn create_invalidation(
        &self,
        req: CreateRequest<'_>,
        deadline: Option<Instant>,
    ) -> impl Future<Output = Result<Invalidation, Error>> + Send;

    fn get_invalidation(&self, target: &TargetId, id: &str)
        -> impl Future<Output = Result<Invalidation, Error>> + Send;

    /// One page of a distribution's (or a tenant's own) invalidations, newest first (`marker` from
    /// the previous page).
    fn list_invalidations(
        &self,
        target: &TargetId,
        marker: Option<&str>,
    ) -> impl Future<Output = Result<InvalidationPage, Error>> + Send;
}
