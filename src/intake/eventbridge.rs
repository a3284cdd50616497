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

pub(crate) fn read(p: Payload<'_>) -> Result<Notification, Error> {
    let detail_type = p.detail_type.unwrap_or_default();
    let kind = match detail_type.as_str() {
        "Object Created" => ChangeKind::Created,
        "Object Deleted" => ChangeKind::Removed,
        _ => return Ok(Notification { source: Source::EventBridge, changes: Vec::new(), ignored: 1 }),
    };
    let detail = p.detail.ok_or_else(|| Error::invalid(format!("EventBridge {detail_type:?} event has no detail")))?;
    let object = detail.object.ok_or_else(|| Error::invalid("EventBridge S3 event has no detail.object"))?;
    let version = object.sequencer.or(object.version_id).or(object.etag);
    let bucket = detail.bucket.map(|b| super::s3::bucket_name(&b.name));
    // The envelope's `time` is the only time an EventBridge S3 event has (whole seconds).
    let time = p.time;
    let change = |key: String| Change { message: 0, bucket: bucket.clone(), key, kind, version: version.clone(), time };
    // *Unsettled*: AWS Lambda Powertools decodes this key like a notification's (form encoding),
    // but AWS's EventBridge page does not say it is encoded, and moto sends it raw. Where the two
    // readings differ (a `+` or `%` in the key) both keys are invalidated: a stale object costs
    // more than one more path. A raw key that does not decode to UTF-8 can only be the key itself.
    let changes = match super::s3::decode_key(&object.key) {
        Ok(decoded) if decoded != object.key => vec![change(decoded), change(object.key)],
        Ok(_) | Err(_) if object.key.is_empty() => {
            return Err(Error::invalid("EventBridge S3 event has an empty detail.object.key"))
        }
        _ => vec![change(object.key)],
    };
    Ok(Notification { source: Source::EventBridge, changes, ignored: 0 })
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
                assert_eq!(i.changes[1].key, "docs/a+b%2B.html", "the raw reading too");
                assert_eq!(i.changes[0].version.as_deref(), Some("0062E99A88DC407460"));
                assert_eq!(i.changes[0].bucket.as_deref(), Some("b"));
            }
        }
    }

    /// Rule: whether EventBridge's key is form-encoded is unsettled, so where the
    /// decoded and the raw reading differ both keys are changes; where they agree, one.
    #[test]
    fn eventbridge_keys_cover_both_readings() {
        let cases: &[(&str, &[&str])] = &[
            ("docs/a.html", &["docs/a.html"]),
            ("docs/a+b.html", &["docs/a b.html", "docs/a+b.html"]),
            ("100%25.html", &["100%.html", "100%25.html"]),
            ("50%.html", &["50%.html"]),
            ("bad%FF.html", &["bad%FF.html"]),
            ("caf%C3%A9", &["café", "caf%C3%A9"]),
        ];
        for (raw, want) in cases {
            let i = parse(event("Object Created", raw).as_bytes()).unwrap();
            let got: Vec<&str> = i.changes.iter().map(|c| c.key.as_str()).collect();
            assert_eq!(got, *want, "{raw}");
        }
    }

    #[test]
    fn created_without_object_is_invalid() {
        let e = parse(br#"{"source":"aws.s3","detail-type":"Object Created","detail":{}}"#).unwrap_err();
        assert_eq!(e.error_type(), "InvalidInput");
    }

    /// Rule: an EventBridge S3 event's change was made by the envelope's `time`, written in
    /// whole seconds, so by the end of that second; both readings of a key share it; no
    /// readable `time`, no time.
    #[test]
    fn changes_carry_the_envelope_time() {
        let at = |s| humantime::parse_rfc3339(s).unwrap();
        let with_time = |time: Option<&str>| {
            let mut e: serde_json::Value = serde_json::from_str(&event("Object Created", "a+b.html")).unwrap();
            match time {
                Some(t) => e["time"] = t.into(),
                None => drop(e.as_object_mut().unwrap().remove("time")),
            }
            e.to_string()
        };
        let cases = [
            (Some("2024-05-14T09:21:03Z"), Some("2024-05-14T09:21:04Z")),
            (Some("2024-05-14T09:21:03.250Z"), Some("2024-05-14T09:21:03.251Z")),
            (Some("2024-05-14T09:21:03"), None),
            (Some("soon"), None),
            (None, None),
        ];
        for (written, want) in cases {
            let i = parse(with_time(written).as_bytes()).unwrap();
            let times: Vec<_> = i.changes.iter().map(|c| c.time).collect();
            assert_eq!(times, [want.map(at); 2], "{written:?}");
        }
        for sample in [
            include_str!("../../events/eventbridge-created.json"),
            include_str!("../../events/eventbridge-deleted.json"),
        ] {
            let i = parse(sample.as_bytes()).unwrap();
            assert_eq!(i.changes[0].time, Some(at("2024-05-14T09:21:04Z")));
        }
    }
}
