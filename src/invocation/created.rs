//! One invalidation as the caller and the Step Functions wait loop read it: in the Lambda's
//! response and the tracker's input.

use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::cloudfront::{Invalidation, Status};
use crate::model::{PathCounts, TargetId};

/// One invalidation created (or made by an earlier attempt of the same request), as the caller
/// and the Step Functions wait loop read it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Created {
    /// Serialized as `distribution_id` or, for a tenant, `distribution_tenant_id`: the field the
    /// wait loop chooses its poll by, and the completion event names.
    #[serde(flatten, with = "crate::model::target_field")]
    pub distribution_id: TargetId,
    pub invalidation_id: String,
    pub status: Status,
    pub caller_reference: String,
    pub path_count: usize,
    /// `null` when the paths exceed 32 KiB, to stay far below Step Functions' 256 KiB state limit.
    pub paths: Option<Vec<String>>,
    pub wildcards: usize,
    pub timeout: u32,
    /// `now + timeout` (RFC 3339, UTC): the wait loop fails with `InvalidationTimeout` after it.
    pub deadline: String,
    /// The route's role (ROUTES' `role_arn`), which the wait loop polls another account with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
}

/// Paths are echoed in the response only up to this many bytes in all.
const ECHO_PATHS_BYTES: usize = 32 * 1024;

impl Created {
    pub(super) fn describe(
        distribution_id: &TargetId,
        caller_reference: &str,
        inv: Invalidation,
        timeout: u32,
    ) -> Created {
        let echo = inv.paths.iter().map(|p| p.len() + 4).sum::<usize>() <= ECHO_PATHS_BYTES;
        let deadline = SystemTime::now() + Duration::from_secs(timeout.into());
        Created {
            distribution_id: distribution_id.clone(),
            path_count: inv.paths.len(),
            wildcards: PathCounts::of(&inv.paths).wildcards,
            paths: echo.then_some(inv.paths),
            invalidation_id: inv.id,
            status: inv.status,
            caller_reference: caller_reference.to_string(),
            timeout,
            deadline: humantime::format_rfc3339_seconds(deadline).to_string(),
            role_arn: None,
        }
    }
}
