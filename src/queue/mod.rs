//! Sending changes held for room back to their queue: the port ([`Queue`]) with an
//! `aws-sdk-sqs` adapter ([`sdk::SdkQueue`]) and an in-memory one ([`memory::MemoryQueue`]).
//!
//! Why: a message that the function fails comes back after the visibility timeout, and SQS moves
//! it to the dead-letter queue on the receive after `maxReceiveCount`, however long it waited. So
//! waiting for room by failing messages is capped (31 receives × 4 min ≈ 2 h), whatever holds the
//! quota. A held message is instead sent again as a new message (its receive count starts again)
//! with `DelaySeconds`, and the original is acknowledged: it waits as long as it must, and the
//! dead-letter queues receive only what fails for other reasons (malformed, access denied, a
//! distribution that does not exist). The body is sent unchanged, so the changes keep their own
//! times and versions (and so their CallerReference).

pub mod memory;
pub mod sdk;

use std::future::Future;
use std::time::Duration;

use crate::error::Error;

pub use memory::MemoryQueue;
pub use sdk::SdkQueue;

/// How long a change held for room waits before it is looked at again (plus the event source's
/// batching window): short beside the minutes an invalidation takes, so that room freed is used
/// within a minute or two: a longer delay leaves held changes a round behind the room that frees
/// (README, "The storm benchmark"). The cost is small: a 6-hour hold
/// re-sends a message 720 times, 72 `SendMessageBatch` calls of 10, about $0.03 per 1,000 held
/// messages at $0.40 a million requests, plus their receives.
pub const REQUEUE_DELAY: Duration = Duration::from_secs(30);

/// SendMessageBatch's limit.
pub const BATCH: usize = 10;

/// SendMessageBatch calls in flight at once when held messages go back: a batch of 10,000 held
/// messages is 1,000 calls, about 100 ms each, so one after another they would outlast the
/// function's 30 s; 16 at once send them in about 7 s.
pub const SENDS_AT_ONCE: usize = 16;

/// The port.
pub trait Queue: Send + Sync {
    /// Sends each body as a new message of the queue named by `queue_arn`, visible after `delay`
    /// (at most 15 minutes). `Err` when any of them was not sent.
    fn send_later(
        &self,
        queue_arn: &str,
        bodies: &[&str],
        delay: Duration,
    ) -> impl Future<Output = Result<(), Error>> + Send;
}

/// No queue: held messages are failed and come back after the visibility timeout.
pub struct Off;

impl Queue for Off {
    async fn send_later(&self, _: &str, _: &[&str], _: Duration) -> Result<(), Error> {
        Err(Error::CloudFront("no queue to send held changes back to".into()))
    }
}

/// The queue URL of an SQS ARN (`arn:aws:sqs:REGION:ACCOUNT:NAME`), as SQS forms it.
pub fn url_of(queue_arn: &str) -> Option<String> {
    let mut parts = queue_arn.split(':');
    let (arn, partition, service, region, account, name) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if arn != "arn" || service != "sqs" || parts.next().is_some() || name.is_empty() || region.is_empty() {
        return None;
    }
    let domain = if partition == "aws-cn" { "amazonaws.com.cn" } else { "amazonaws.com" };
    Some(format!("https://sqs.{region}.{domain}/{account}/{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rule: the queue URL is SQS's own form of the ARN; anything else is no queue.
    #[test]
    fn queue_urls_of_arns() {
        let cases = [
            ("arn:aws:sqs:us-east-1:123456789012:cf-q", Some("https://sqs.us-east-1.amazonaws.com/123456789012/cf-q")),
            ("arn:aws-cn:sqs:cn-north-1:1:q", Some("https://sqs.cn-north-1.amazonaws.com.cn/1/q")),
            ("arn:aws:sns:us-east-1:1:topic", None),
            ("arn:aws:sqs:us-east-1:1:", None),
            ("not an arn", None),
        ];
        for (arn, want) in cases {
            assert_eq!(url_of(arn).as_deref(), want, "{arn}");
        }
    }
}
