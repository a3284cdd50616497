//! An in-memory queue for the handler's tests: it keeps what was sent, and can be told to fail.

use std::sync::Mutex;
use std::time::Duration;

use super::Queue;
use crate::error::Error;

/// One message sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub queue_arn: String,
    pub body: String,
    pub delay: Duration,
}

#[derive(Default)]
pub struct MemoryQueue {
    sent: Mutex<Vec<Sent>>,
    failing: Mutex<bool>,
}

impl MemoryQueue {
    pub fn new() -> Self {
        MemoryQueue::default()
    }

    pub fn sent(&self) -> Vec<Sent> {
        self.sent.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Every send from now on fails (SQS down, or no `sqs:SendMessage`).
    pub fn fail(&self) {
        *self.failing.lock().unwrap_or_else(|p| p.into_inner()) = true;
    }
}

impl Queue for MemoryQueue {
    async fn send_later(&self, queue_arn: &str, bodies: &[&str], delay: Duration) -> Result<(), Error> {
        if *self.failing.lock().unwrap_or_else(|p| p.into_inner()) {
            return Err(Error::AccessDenied { distribution_id: String::new(), message: "sqs:SendMessage".into() });
        }
        let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        sent.extend(bodies.iter().map(|b| Sent { queue_arn: queue_arn.into(), body: b.to_string(), delay }));
        Ok(())
    }
}
