//! The events the function receives: the sample files in `events/`, and S3 notifications and
//! SQS batches made to order.

use serde_json::Value;

use crate::support::repo;

pub fn event(name: &str) -> Vec<u8> {
    std::fs::read(repo().join("events").join(name)).unwrap_or_else(|e| panic!("events/{name}: {e}"))
}

/// A key as S3 writes it in an event notification.
pub fn s3_form_encode(key: &str) -> String {
    cf_invalidator::intake::s3::encode_key(key)
}

/// One S3 event notification (one record) for an upload (`deleted`: a delete) of `key` in bucket
/// `www-example`, with this upload's `sequencer`, made at 2026-01-01T00:00:00.000Z.
pub fn s3_notification(key: &str, sequencer: &str, deleted: bool) -> String {
    s3_notification_at(key, sequencer, deleted, "2026-01-01T00:00:00.000Z")
}

/// [`s3_notification`] with its `eventTime` (RFC 3339 as S3 writes it, e.g. from
/// [`s3_event_time`]): when the change was made, as intake reads it.
pub fn s3_notification_at(key: &str, sequencer: &str, deleted: bool, event_time: &str) -> String {
    let event = if deleted { "ObjectRemoved:Delete" } else { "ObjectCreated:Put" };
    serde_json::json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": event_time, "eventName": event,
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "cf-invalidator",
               "bucket": {"name": "www-example", "arn": "arn:aws:s3:::www-example"},
               "object": {"key": s3_form_encode(key), "sequencer": sequencer}}
    }]})
    .to_string()
}

/// A time as S3 writes `eventTime`: RFC 3339 in UTC, to the millisecond.
pub fn s3_event_time(t: std::time::SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

/// An SQS event (what Lambda's poller delivers) of `(messageId, body)` messages.
pub fn sqs_event(messages: &[(String, String)]) -> Vec<u8> {
    let records: Vec<Value> = messages
        .iter()
        .map(|(id, body)| {
            serde_json::json!({
                "messageId": id, "receiptHandle": format!("rh-{id}"), "body": body,
                "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {}, "md5OfBody": "",
                "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:cf-invalidator-queue",
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    serde_json::json!({ "Records": records }).to_string().into_bytes()
}
