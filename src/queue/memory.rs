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
    /// How long each call takes (on tokio's clock, so a paused one takes none).
    latency: Mutex<Duration>,
    /// Calls started, and the most in flight at once.
    calls: Mutex<(usize, usize, usize)>,
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

    /// Every call from now on takes this long (a slow SQS, a far region).
    pub fn slow(&self, latency: Duration) {
        *self.latency.lock().unwrap_or_else(|p| p.into_inner()) = latency;
    }

    /// Calls started, and the most that were in flight at once.
    pub fn calls(&self) -> (usize, usize) {
        let c = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        (c.0, c.2)
    }
}

impl Queue for MemoryQueue {
    async fn send_later(&self, queue_arn: &str, bodies: &[&str], delay: Duration) -> Result<(), Error> {
        {
            let mut c = self.calls.lock().unwrap_or_else(|p| p.into_inner());
            c.0 += 1;
            c.1 += 1;
            c.2 = c.2.max(c.1);
        }
        let latency = *self.latency.lock().unwrap_or_else(|p| p.into_inner());
        // Counted out of flight however the call ends (a caller that stops waiting drops it).
        struct Landed<'a>(&'a Mutex<(usize, usize, usize)>);
        impl Drop for Landed<'_> {
            fn drop(&mut self) {
                self.0.lock().unwrap_or_else(|p| p.into_inner()).1 -= 1;
            }
        }
        let _landed = Landed(&self.calls);
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        if *self.failing.lock().unwrap_or_else(|p| p.into_inner()) {
            return Err(Error::AccessDenied { distribution_id: String::new(), message: "sqs:SendMessage".into() });
        }
        let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        sent.extend(bodies.iter().map(|b| Sent { queue_arn: queue_arn.into(), body: b.to_string(), delay }));
        Ok(())
    }
}
