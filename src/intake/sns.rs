//! SNS: a Lambda SNS event (`Records[].Sns.Message`) or an SNS envelope delivered as an SQS body
//! (`{"Type":"Notification","Message":"…"}`, i.e. without raw message delivery). Either way the
//! message is an S3 notification (or S3's test event) serialised as a string.

use serde::Deserialize;

use super::{Notification, Payload, Record, Source};
use crate::error::Error;

#[derive(Deserialize)]
pub(crate) struct Entity {
    #[serde(rename = "Message")]
    pub message: String,
}

/// Parses an SNS message that must hold an S3 notification or the S3 test event.
fn read_message(message: &str, at: &str) -> Result<Notification, Error> {
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
    Ok(n)
}

pub(crate) fn read_records(records: Vec<Record<'_>>) -> Result<Notification, Error> {
    let mut out = Notification { source: Source::Sns, changes: Vec::new(), ignored: 0 };
    for (i, r) in records.into_iter().enumerate() {
        let sns = r.sns.ok_or_else(|| Error::invalid(format!("Records[{i}] has no Sns object")))?;
        let n = read_message(&sns.message, &format!("Records[{i}].Sns.Message"))?;
        out.changes.extend(n.changes);
        out.ignored += n.ignored;
    }
    Ok(out)
}

pub(crate) fn is_envelope(p: &Payload<'_>) -> bool {
    p.sns_type.as_deref() == Some("Notification") && p.message.is_some()
}

pub(crate) fn read_envelope(p: Payload<'_>) -> Result<Notification, Error> {
    read_message(p.message.as_deref().unwrap_or_default(), "Message")
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
}
