//! EventBridge S3 events (`source: aws.s3`). `Object Created` and `Object Deleted` invalidate; the
//! other S3 detail types (restore, tags, ACL, storage class, access tier) change no content.

use serde::Deserialize;

use super::{Change, ChangeKind, Notification, Payload, Source};
use crate::error::Error;

#[derive(Deserialize)]
pub(crate) struct Detail<'a> {
    #[serde(borrow)]
    pub bucket: Option<super::s3::Bucket<'a>>,
    pub object: Option<Object>,
}

#[derive(Deserialize)]
pub(crate) struct Object {
    pub key: String,
    pub sequencer: Option<String>,
    #[serde(rename = "version-id")]
    pub version_id: Option<String>,
    pub etag: Option<String>,
}

pub(crate) fn is_eventbridge(p: &Payload<'_>) -> bool {
    p.source.as_deref() == Some("aws.s3") && p.detail_type.is_some()
}

pub(crate) fn read(p: Payload<'_>, message: usize) -> Result<Notification, Error> {
    let detail_type = p.detail_type.unwrap_or_default();
    let kind = match detail_type.as_str() {
        "Object Created" => ChangeKind::Created,
        "Object Deleted" => ChangeKind::Removed,
        _ => return Ok(Notification { source: Source::EventBridge, changes: Vec::new(), ignored: 1 }),
    };
    let detail = p.detail.ok_or_else(|| Error::invalid(format!("EventBridge {detail_type:?} event has no detail")))?;
    let object = detail.object.ok_or_else(|| Error::invalid("EventBridge S3 event has no detail.object"))?;
    // Encoded like the notification's key (AWS Lambda Powertools decodes it the same way).
    let key = super::s3::decode_key(&object.key)?;
    let version = object.sequencer.or(object.version_id).or(object.etag);
    let change = Change { message, bucket: detail.bucket.map(|b| super::s3::bucket_name(&b.name)), key, kind, version };
    Ok(Notification { source: Source::EventBridge, changes: vec![change], ignored: 0 })
}

#[cfg(test)]
mod tests {
    use crate::intake::{parse, ChangeKind, Source};

    fn event(detail_type: &str, key: &str) -> String {
        serde_json::json!({"version":"0","id":"1","detail-type":detail_type,"source":"aws.s3",
            "account":"123456789012","time":"2024-01-01T00:00:00Z","region":"us-east-1",
            "resources":["arn:aws:s3:::b"],
            "detail":{"version":"0","bucket":{"name":"b"},
                      "object":{"key":key,"size":1,"etag":"e","sequencer":"0062E99A88DC407460"},
                      "request-id":"r","requester":"123456789012","reason":"PutObject"}})
        .to_string()
    }

    /// Rule: Object Created / Object Deleted invalidate, other detail types are acknowledged.
    #[test]
    fn detail_types() {
        let cases = [
            ("Object Created", Some(ChangeKind::Created)),
            ("Object Deleted", Some(ChangeKind::Removed)),
            ("Object Restore Completed", None),
            ("Object Tags Added", None),
            ("Object ACL Updated", None),
            ("Object Storage Class Changed", None),
        ];
        for (dt, want) in cases {
            let i = parse(event(dt, "docs/a+b%2B.html").as_bytes()).unwrap();
            assert_eq!(i.source, Source::EventBridge);
            assert_eq!(i.changes.first().map(|c| c.kind), want, "{dt}");
            if want.is_some() {
                assert_eq!(i.changes[0].key, "docs/a b+.html");
                assert_eq!(i.changes[0].version.as_deref(), Some("0062E99A88DC407460"));
                assert_eq!(i.changes[0].bucket.as_deref(), Some("b"));
            }
        }
    }

    #[test]
    fn created_without_object_is_invalid() {
        let e = parse(br#"{"source":"aws.s3","detail-type":"Object Created","detail":{}}"#).unwrap_err();
        assert_eq!(e.error_type(), "InvalidInput");
    }
}
