//! The Lambda edge, the only module besides `main.rs` that knows the runtime
//! (`lambda_runtime`) and the event crate (`aws_lambda_events`): the invocation context, the
//! `errorType` of a failed invocation ([`Diagnostic`]), and the answer each source expects —
//! SQS's partial batch response, or the response every other source (the workflow, a direct
//! invoke, `cfinv invoke`) reads.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use aws_lambda_events::sqs::SqsEvent;
use futures_util::stream::{FuturesUnordered, StreamExt};
use lambda_runtime::Diagnostic;

use crate::cloudfront::CloudFront;
use crate::config::Config;
use crate::deadline::Instant;
use crate::error::Error;
use crate::intake::Source;
use crate::invocation::{self, Handled, Invocation};
use crate::known::Known;
use crate::queue::{self, Queue};
use crate::track::{self, Tracker};

mod response;

pub use response::{respond, Outcome, Output, Response};

/// The invocation as the handler needs it, from the runtime's context.
pub fn invocation(ctx: &lambda_runtime::Context) -> Invocation {
    // `deadline` is milliseconds since the epoch. Lambda never starts an invocation past its
    // deadline, so a deadline already past is not one (cargo lambda's emulator sends its
    // timeout, 600000, there): then only the SDK's own timeouts bound the call.
    let now_ms = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
    let deadline = (ctx.deadline > now_ms).then(|| Instant::now() + Duration::from_millis(ctx.deadline - now_ms));
    Invocation { request_id: ctx.request_id.clone(), deadline, now: Some(SystemTime::now()) }
}

/// A failed invocation's `errorType` is the error's stable name, which Step Functions'
/// `Retry`/`Catch` match (the runtime's default would be a Rust type name).
impl From<Error> for Diagnostic {
    fn from(e: Error) -> Self {
        Diagnostic { error_type: e.error_type().to_string(), error_message: e.to_string() }
    }
}

/// One invocation as a cold container runs it (nothing remembered), without tracking, and with
/// no queue to send held changes back to.
pub async fn handle<C: CloudFront>(cfg: &Config, cf: &C, payload: &[u8], inv: &Invocation) -> Result<Output, Error> {
    handle_with(cfg, cf, &Known::new(), None::<&track::Off>, None::<&queue::Off>, payload, inv).await
}

/// One invocation with what the container remembers and, optionally, a tracker and the queue
/// that held changes go back to.
pub async fn handle_with<C: CloudFront, T: Tracker, Q: Queue>(
    cfg: &Config,
    cf: &C,
    known: &Known,
    tracker: Option<&T>,
    queue: Option<&Q>,
    payload: &[u8],
    inv: &Invocation,
) -> Result<Output, Error> {
    let mut handled = invocation::run(cfg, cf, known, tracker, payload, inv).await?;
    if let Some(q) = queue {
        requeue(q, &mut handled, payload, inv.deadline).await;
    }
    respond(handled)
}

/// Sends the SQS messages that only wait for room back to their queue as new messages
/// (`queue/` says why) and acknowledges them: one SendMessageBatch per ten messages,
/// [`queue::SENDS_AT_ONCE`] in flight at once, within the invocation's deadline (less the time kept
/// to answer). A message whose batch could not be sent, or was not sent in time, stays failed and
/// comes back after the visibility timeout, as it would without a queue; one whose batch was in
/// flight at the deadline may then come back twice (its copy too), which its CallerReference
/// makes harmless. Each message is listed at most once, failed or sent.
async fn requeue<Q: Queue>(q: &Q, h: &mut Handled, payload: &[u8], deadline: Option<Instant>) {
    if h.intake.source != Source::Sqs || h.held.is_empty() {
        return;
    }
    let Ok(event) = serde_json::from_slice::<SqsEvent>(payload) else { return };
    let mut by_queue: BTreeMap<&str, Vec<(usize, &str)>> = BTreeMap::new();
    for &i in &h.held {
        let Some(record) = event.records.get(i) else { continue };
        // Intake numbers messages in batch order; the id makes sure.
        if record.message_id.as_deref() != h.intake.messages.get(i).map(String::as_str) {
            continue;
        }
        if let (Some(arn), Some(body)) = (record.event_source_arn.as_deref(), record.body.as_deref()) {
            by_queue.entry(arn).or_default().push((i, body));
        }
    }
    let mut batches = by_queue
        .iter()
        .flat_map(|(arn, held)| held.chunks(queue::BATCH).map(move |chunk| (*arn, chunk)))
        .map(|(arn, chunk)| async move {
            let bodies: Vec<&str> = chunk.iter().map(|(_, b)| *b).collect();
            (arn, chunk, q.send_later(arn, &bodies, queue::REQUEUE_DELAY).await)
        });
    let until = deadline.map(|d| Instant::now() + crate::deadline::left(d));
    let mut running = FuturesUnordered::new();
    running.extend(batches.by_ref().take(queue::SENDS_AT_ONCE));
    let (mut sent, mut failed) = (0, 0);
    loop {
        let next = match until {
            None => running.next().await,
            Some(t) => tokio::time::timeout_at(t, running.next()).await.unwrap_or(None),
        };
        let Some((arn, chunk, result)) = next else { break };
        match result {
            Ok(()) => {
                for (i, _) in chunk {
                    h.failed.remove(i);
                    h.requeued += 1;
                }
                sent += chunk.len();
            }
            Err(e) => {
                failed += chunk.len();
                tracing::warn!(queue = arn, messages = chunk.len(), error_type = e.error_type(), error = %e, "held messages not sent back; they come back after the visibility timeout");
            }
        }
        running.extend(batches.next());
    }
    let held = by_queue.values().map(Vec::len).sum::<usize>();
    let late = held - sent - failed;
    if sent > 0 {
        tracing::info!(
            messages = sent,
            delay_s = queue::REQUEUE_DELAY.as_secs(),
            "held for room: sent back as new messages"
        );
    }
    if late > 0 {
        tracing::warn!(
            messages = late,
            "held messages not sent back before the deadline; they come back after the visibility timeout"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rule: a failed invocation's errorType is the error's stable name, its message the error's.
    #[test]
    fn diagnostics_carry_the_stable_names() {
        let cases = [
            Error::InvalidInput("x".into()),
            Error::TooManyInvalidationsInProgress { distribution_id: "E1".into(), message: String::new() },
            Error::CloudFront("503".into()),
        ];
        for err in cases {
            let d = Diagnostic::from(err.clone());
            assert_eq!((d.error_type.as_str(), d.error_message), (err.error_type(), err.to_string()));
        }
    }
}

#[cfg(test)]
mod requeue_tests {
    use super::*;
    use crate::cloudfront::memory::MemoryCloudFront;
    use crate::cloudfront::CreateRequest;
    use crate::queue::MemoryQueue;
    use serde_json::json;
    use std::collections::BTreeSet;

    const D: &str = "EDFDVBD632BHDS5";
    const ARN: &str = "arn:aws:sqs:us-east-1:123456789012:changes";

    fn batch(keys: &[&str]) -> Vec<u8> {
        let records: Vec<_> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let body = json!({"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put",
                    "s3":{"bucket":{"name":"www"},"object":{"key":k,"sequencer":format!("{i:04}")}}}]});
                json!({"messageId": format!("m{i}"), "receiptHandle":"h","body": body.to_string(),
                       "attributes":{},"messageAttributes":{},"md5OfBody":"x","eventSource":"aws:sqs",
                       "eventSourceARN": ARN,"awsRegion":"us-east-1"})
            })
            .collect();
        json!({ "Records": records }).to_string().into_bytes()
    }

    fn full() -> MemoryCloudFront {
        let cf = MemoryCloudFront::new(&[D]);
        let busy: Vec<String> = (0..3000).map(|i| format!("/busy/{i}")).collect();
        let wild: Vec<String> = (0..15).map(|i| format!("/w{i}/*")).collect();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        for (r, p) in [("busy", &busy), ("busy-w", &wild)] {
            rt.block_on(cf.create_invalidation(
                CreateRequest { target: &crate::model::TargetId::parse(D).unwrap(), caller_reference: r, paths: p },
                None,
            ))
            .unwrap();
        }
        cf
    }

    fn run(cf: &MemoryCloudFront, q: &MemoryQueue, payload: &[u8]) -> Result<Output, Error> {
        let cfg = Config::from_pairs(&[("DISTRIBUTION_ID", D), ("METRICS_NAMESPACE", "")]).unwrap();
        let inv = Invocation { request_id: "r".into(), deadline: None, now: None };
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        rt.block_on(handle_with(&cfg, cf, &Known::new(), None::<&track::Off>, Some(q), payload, &inv))
    }

    /// Rule (waiting never dead-letters): a message held for room goes back to its own queue as a
    /// new message, unchanged, after the requeue delay, and is acknowledged; a malformed one is
    /// failed, as without a queue (it is no wait for room); when the send fails, the held messages
    /// are failed too, and come back after the visibility timeout.
    #[test]
    fn held_messages_go_back_to_their_queue_and_only_they() {
        let cf = full();
        let q = MemoryQueue::new();
        let mut payload: serde_json::Value = serde_json::from_slice(&batch(&["a.html", "b.html", "c.html"])).unwrap();
        payload["Records"][2]["body"] = json!("not json");
        let out = run(&cf, &q, payload.to_string().as_bytes()).unwrap();
        let Output::Sqs(r) = out else { panic!("an SQS answer") };
        let failed: Vec<&str> = r.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
        assert_eq!(failed, ["m2"], "only the malformed message is failed");
        let sent = q.sent();
        assert_eq!(sent.len(), 2);
        for (s, record) in sent.iter().zip(payload["Records"].as_array().unwrap()) {
            assert_eq!((s.queue_arn.as_str(), s.delay), (ARN, queue::REQUEUE_DELAY));
            assert_eq!(s.body, record["body"].as_str().unwrap(), "the body unchanged");
        }

        let q = MemoryQueue::new();
        q.fail();
        let e = run(&cf, &q, &batch(&["a.html", "b.html"])).unwrap_err();
        assert_eq!(e.error_type(), "TooManyInvalidationsInProgress", "nothing sent back, nothing acknowledged");
    }

    /// Rule: held messages go back in parallel batches within the invocation's deadline. With a
    /// queue too slow to take them all in time (3 s a call, 12 s left), what was sent is
    /// acknowledged, the rest is failed once each (SQS redelivers it), and no message is both;
    /// no call is in flight past the deadline. On tokio's paused clock: the seconds are simulated.
    #[test]
    fn requeueing_keeps_the_deadline() {
        let cf = full();
        let q = MemoryQueue::new();
        q.slow(Duration::from_secs(3));
        let keys: Vec<String> = (0..1000).map(|i| format!("k/{i}.html")).collect();
        let payload = batch(&keys.iter().map(String::as_str).collect::<Vec<_>>());
        let cfg = Config::from_pairs(&[("DISTRIBUTION_ID", D), ("METRICS_NAMESPACE", "")]).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
        let (out, left) = rt.block_on(async {
            let deadline = Instant::now() + Duration::from_secs(12);
            let inv = Invocation { request_id: "r".into(), deadline: Some(deadline), now: None };
            let out = handle_with(&cfg, &cf, &Known::new(), None::<&track::Off>, Some(&q), &payload, &inv).await;
            (out, deadline.saturating_duration_since(Instant::now()))
        });
        let Output::Sqs(r) = out.unwrap() else { panic!("an SQS answer") };
        let failed: Vec<String> = r.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect();
        let unique: BTreeSet<&String> = failed.iter().collect();
        assert_eq!(unique.len(), failed.len(), "no message reported twice");
        let sent: BTreeSet<String> = q.sent().into_iter().map(|s| s.body).collect();
        let records: Vec<serde_json::Value> =
            serde_json::from_slice::<serde_json::Value>(&payload).unwrap()["Records"].as_array().unwrap().clone();
        for record in &records {
            let (id, body) = (record["messageId"].as_str().unwrap(), record["body"].as_str().unwrap());
            let was_sent = sent.contains(body);
            assert!(was_sent != unique.contains(&id.to_string()), "{id}: sent back or failed, never both nor neither");
        }
        let (calls, at_once) = q.calls();
        assert!(sent.len() >= 100 && sent.len() < 1000, "part sent in time: {}", sent.len());
        assert!(at_once > 1 && at_once <= queue::SENDS_AT_ONCE, "in parallel, bounded: {at_once}");
        assert!(calls * queue::BATCH >= sent.len());
        assert!(left >= crate::deadline::ANSWER_MARGIN, "answered before the deadline: {left:?} left");
    }
}
