//! SNS: a Lambda SNS event (`Records[].Sns.Message`) or an SNS envelope delivered as an SQS body
//! (`{"Type":"Notification","Message":"…"}`, i.e. without raw message delivery). Either way the
//! message is an S3 notification (or S3's test event) serialised as a string.

use std::time::SystemTime;

use serde::Deserialize;

use super::{Notification, Payload, Record, Source};
use crate::error::Error;

#[derive(Deserialize)]
pub(crate) struct Entity {
    #[serde(rename = "Message")]
    pub message: String,
    #[serde(rename = "Timestamp", default, deserialize_with = "super::rfc3339_field")]
    pub timestamp: Option<SystemTime>,
}

/// Parses an SNS message that must hold an S3 notification or the S3 test event. `published`,
/// the envelope's `Timestamp`, bounds the time of each change inside (see [`super::earliest`]).
fn read_message(message: &str, at: &str, published: Option<SystemTime>) -> Result<Notification, Error> {
    let inner: Payload = serde_json::from_str(message)
        .map_err(|e| Error::invalid(format!("{at}: SNS message is not an S3 notification ({e})")))?;
    if inner.records.is_none() && !super::s3::is_test_event(&inner) {
        return Err(Error::invalid(format!("{at}: SNS message is not an S3 notification (no Records)")));
    }
    let mut n = super::notification(inner)?
        .ok_or_else(|| Error::invalid(format!("{at}: SNS message is not an S3 notification")))?;
    if n.source == Source::S3 {
        n.source = Source::Sns;
    }
    super::no_later_than(&mut n.changes, published);
    Ok(n)
}

pub(crate) fn read_records(records: Vec<Record<'_>>) -> Result<Notification, Error> {
    let mut out = Notification { source: Source::Sns, changes: Vec::new(), ignored: 0 };
    for (i, r) in records.into_iter().enumerate() {
        let sns = r.sns.ok_or_else(|| Error::invalid(format!("Records[{i}] has no Sns object")))?;
        let n = read_message(&sns.message, &format!("Records[{i}].Sns.Message"), sns.timestamp)?;
        out.changes.extend(n.changes);
        out.ignored += n.ignored;
    }
    Ok(out)
}

pub(crate) fn is_envelope(p: &Payload<'_>) -> bool {
    p.sns_type.as_deref() == Some("Notification") && p.message.is_some()
}

pub(crate) fn read_envelope(p: Payload<'_>) -> Result<Notification, Error> {
    read_message(p.message.as_deref().unwrap_or_default(), "Message", p.timestamp)
}

#[cfg(test)]
mod tests {
    use crate::intake::{parse, ChangeKind, Source};

    #[test]
    fn sns_records_hold_s3_notifications() {
        let inner = r#"{"Records":[{"eventSource":"aws:s3","eventName":"ObjectRemoved:Delete","s3":{"bucket":{"name":"b"},"object":{"key":"a+b.html","sequencer":"01"}}}]}"#;
        let json = serde_json::json!({"Records":[{"EventSource":"aws:sns","EventVersion":"1.0",
            "Sns":{"Type":"Notification","MessageId":"m","Message": inner}}]})
        .to_string();
        let i = parse(json.as_bytes()).unwrap();
        assert_eq!(i.source, Source::Sns);
        assert_eq!(i.changes.len(), 1);
        assert_eq!(i.changes[0].key, "a b.html");
        assert_eq!(i.changes[0].kind, ChangeKind::Removed);
    }

    #[test]
    fn sns_message_of_another_kind_is_invalid() {
        let json = serde_json::json!({"Records":[{"EventSource":"aws:sns","Sns":{"Message":"hello"}}]}).to_string();
        let e = parse(json.as_bytes()).unwrap_err();
        assert_eq!(e.error_type(), "InvalidInput");
        assert!(e.to_string().contains("Records[0].Sns.Message"), "{e}");
    }

    #[test]
    fn sns_test_event_is_acknowledged() {
        let inner = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"b"}"#;
        let json = serde_json::json!({"Records":[{"EventSource":"aws:sns","Sns":{"Message":inner}}]}).to_string();
        let i = parse(json.as_bytes()).unwrap();
        assert!(i.changes.is_empty());
        assert_eq!(i.ignored, 1);
    }

    /// Rule: the change was made by its S3 `eventTime` and by the SNS `Timestamp` of the
    /// notification carrying it; the earliest known is kept, `None` only when neither is known.
    /// The same for a Lambda SNS event and for an SNS envelope (an SQS body without raw delivery,
    /// here without SQS's own time).
    #[test]
    fn earliest_of_event_time_and_sns_timestamp() {
        let at = |s| humantime::parse_rfc3339(s).unwrap();
        let s3 = |time: Option<&str>| {
            let mut r = serde_json::json!({"eventSource":"aws:s3","eventName":"ObjectCreated:Put",
                "s3":{"bucket":{"name":"b"},"object":{"key":"k","sequencer":"01"}}});
            if let Some(t) = time {
                r["eventTime"] = t.into();
            }
            serde_json::json!({"Records":[r]}).to_string()
        };
        let envelope = |event: Option<&str>, published: Option<&str>| {
            let mut e = serde_json::json!({"Type":"Notification","MessageId":"m","Message":s3(event)});
            if let Some(t) = published {
                e["Timestamp"] = t.into();
            }
            e
        };
        let cases = [
            (Some("2024-05-14T09:21:03.512Z"), Some("2024-05-14T09:21:03.600Z"), Some("2024-05-14T09:21:03.513Z")),
            // S3's clock ahead of SNS's: SNS's time is still after the change.
            (Some("2024-05-14T09:21:03.700Z"), Some("2024-05-14T09:21:03.600Z"), Some("2024-05-14T09:21:03.601Z")),
            (None, Some("2024-05-14T09:21:03.600Z"), Some("2024-05-14T09:21:03.601Z")),
            (Some("bad"), Some("2024-05-14T09:21:03.600Z"), Some("2024-05-14T09:21:03.601Z")),
            (Some("2024-05-14T09:21:03.512Z"), None, Some("2024-05-14T09:21:03.513Z")),
            (Some("2024-05-14T09:21:03.512Z"), Some("bad"), Some("2024-05-14T09:21:03.513Z")),
            (None, Some("2024-05-14T09:21:03"), None),
            (None, None, None),
        ];
        for (event, published, want) in cases {
            let lambda = serde_json::json!({"Records":[{"EventSource":"aws:sns","Sns":envelope(event, published)}]});
            let sqs = serde_json::json!({"Records":[{"messageId":"q","eventSource":"aws:sqs",
                "body":envelope(event, published).to_string()}]});
            for payload in [lambda, sqs] {
                let i = parse(payload.to_string().as_bytes()).unwrap();
                assert_eq!(i.changes[0].time, want.map(at), "{event:?} {published:?} in {:?}", i.source);
            }
        }
        let i = parse(include_str!("../../events/sns.json").as_bytes()).unwrap();
        let times: Vec<_> = i.changes.iter().map(|c| c.time).collect();
        assert_eq!(times, [Some(at("2024-05-14T09:21:03.513Z")); 2]);
    }
}
