//! Deadlines: an invocation's end, and the share of it one step may use.
//!
//! Every deadline is a [`tokio::time::Instant`], never a `std` one: the Lambda's comes from the
//! invocation context, and the storm benchmark runs the real handler on tokio's paused clock, where
//! only tokio's `Instant` moves with simulated time and a call's latency is a simulated sleep.

use std::future::Future;
use std::time::Duration;

pub use tokio::time::Instant;

/// Time kept back from the Lambda deadline to log and answer after a call gives up.
pub const ANSWER_MARGIN: Duration = Duration::from_millis(1500);

/// The time left before `deadline`, less the answer margin (zero once past).
pub fn left(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now()).saturating_sub(ANSWER_MARGIN)
}

/// Runs `fut` until it ends or `limit` has passed; on time-out, `gave_up(limit)` is the answer.
/// No limit: `fut` runs until it ends (its own time-outs bound it).
pub async fn within<T>(
    limit: Option<Duration>,
    fut: impl Future<Output = T>,
    gave_up: impl FnOnce(Duration) -> T,
) -> T {
    match limit {
        None => fut.await,
        Some(limit) => tokio::time::timeout(limit, fut).await.unwrap_or_else(|_| gave_up(limit)),
    }
}

/// [`within`] the time left before an optional deadline.
pub async fn by<T>(deadline: Option<Instant>, fut: impl Future<Output = T>, gave_up: impl FnOnce(Duration) -> T) -> T {
    within(deadline.map(left), fut, gave_up).await
}
