//! S3 event notifications (`Records[].eventSource == "aws:s3"`), the S3 test event, and the
//! decoding of S3's form-encoded keys.

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::Arc;

use percent_encoding::percent_decode_str;
use serde::Deserialize;

use super::{Change, ChangeKind, Notification, Payload, Record, Source, Str};
use crate::error::Error;

#[derive(Deserialize)]
pub(crate) struct Entity<'a> {
    #[serde(borrow)]
    pub bucket: Bucket<'a>,
    #[serde(borrow)]
    pub object: Object<'a>,
}

#[derive(Deserialize)]
pub(crate) struct Bucket<'a> {
    #[serde(borrow)]
    pub name: Cow<'a, str>,
}

#[derive(Deserialize)]
pub(crate) struct Object<'a> {
    #[serde(borrow)]
    pub key: Cow<'a, str>,
    #[serde(borrow)]
    pub sequencer: Option<Str<'a>>,
    #[serde(rename = "versionId", borrow)]
    pub version_id: Option<Str<'a>>,
    #[serde(rename = "eTag", borrow)]
    pub e_tag: Option<Str<'a>>,
}

/// Which `eventName`s change what a viewer gets. Restore, tagging, ACL, transition, replication
/// and Intelligent-Tiering events leave the content as it was.
pub fn kind_of_event(event_name: &str) -> Option<ChangeKind> {
    if event_name.starts_with("ObjectCreated:") {
        Some(ChangeKind::Created)
    } else if event_name.starts_with("ObjectRemoved:") || event_name.starts_with("LifecycleExpiration:") {
        Some(ChangeKind::Removed)
    } else {
        None
    }
}

/// The bucket's name, shared with the previous change's when it is the same bucket, as it nearly
/// always is: one allocation per batch rather than one per message. A per-thread cache, because
/// SQS bodies are parsed one at a time and the cache must span them.
pub(crate) fn bucket_name(name: &str) -> Arc<str> {
    thread_local! {
        static LAST: RefCell<Option<Arc<str>>> = const { RefCell::new(None) };
    }
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        match &*last {
            Some(b) if &**b == name => b.clone(),
            _ => {
                let b: Arc<str> = Arc::from(name);
                *last = Some(b.clone());
                b
            }
        }
    })
}

/// A key as S3 writes it in an event notification (`application/x-www-form-urlencoded`: `+` for
/// a space, `%XX` for everything but letters, digits and `- _ . * /`): what [`decode_key`] reads.
/// For tools that make events (tests, benchmarks, the storm).
pub fn encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        match b {
            b' ' => out.push('+'),
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' | b'*' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// S3 writes `s3.object.key` as `application/x-www-form-urlencoded`: `+` is a space, then `%XX`
/// escapes, as UTF-8. A `%` not followed by two hex digits is kept literally (S3 never writes
/// one; a hand-made event might). Bytes that are not UTF-8 after decoding cannot be an S3 key.
pub fn decode_key(raw: &str) -> Result<String, Error> {
    let spaced: Cow<str> = if raw.contains('+') { Cow::Owned(raw.replace('+', " ")) } else { Cow::Borrowed(raw) };
    let key = percent_decode_str(&spaced)
        .decode_utf8()
        .map_err(|_| Error::invalid(format!("object key {raw:?} is not UTF-8 once decoded")))?;
    if key.is_empty() {
        return Err(Error::invalid("object key is empty"));
    }
    Ok(key.into_owned())
}

/// The best token the record has for "this write of this key": S3's `sequencer` is unique per
/// write of a key; older or hand-made events may only carry a version id or an ETag.
pub(crate) fn version_token(o: &Object<'_>, event_time: Option<&str>) -> Option<String> {
    match (o.sequencer.as_deref().or(o.version_id.as_deref()), o.e_tag.as_deref(), event_time) {
        (Some(v), _, _) => Some(v.to_string()),
        (None, Some(e), Some(t)) => Some(format!("{e}@{t}")),
        (None, Some(e), None) => Some(e.to_string()),
        (None, None, t) => t.map(str::to_string),
    }
}

pub(crate) fn read_records(records: Vec<Record<'_>>) -> Result<Notification, Error> {
    let mut changes = Vec::with_capacity(records.len());
    let mut ignored = 0;
    for (i, r) in records.into_iter().enumerate() {
        if r.event_source.as_deref().is_some_and(|s| s != "aws:s3") {
            return Err(Error::invalid(format!(
                "Records[{i}].eventSource {:?} mixed into an S3 notification",
                r.event_source
            )));
        }
        let name = r.event_name.as_deref().ok_or_else(|| Error::invalid(format!("Records[{i}] has no eventName")))?;
        let Some(kind) = kind_of_event(name) else {
            ignored += 1;
            continue;
        };
        let s3 = r.s3.ok_or_else(|| Error::invalid(format!("Records[{i}] ({name}) has no s3 object")))?;
        changes.push(Change {
            message: 0,
            key: decode_key(&s3.object.key)?,
            version: version_token(&s3.object, r.event_time.as_deref()),
            time: r.event_time.as_deref().and_then(super::rfc3339),
            bucket: Some(bucket_name(&s3.bucket.name)),
            kind,
        });
    }
    Ok(Notification { source: Source::S3, changes, ignored })
}

pub(crate) fn is_test_event(p: &Payload<'_>) -> bool {
    p.event.as_deref() == Some("s3:TestEvent")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::parse;

    /// Rule (S3 User Guide, event message structure): keys are form-encoded; `+` is a space and
    /// is decoded before `%XX`, so `%2B` is a literal plus.
    #[test]
    fn keys_are_decoded_from_form_encoding() {
        let cases = [
            ("index.html", "index.html"),
            ("red+flower.jpg", "red flower.jpg"),
            ("a%2Bb.txt", "a+b.txt"),
            ("a%252B.txt", "a%2B.txt"),
            ("caf%C3%A9/men%C3%BC.html", "café/menü.html"),
            ("runtime%7Emain.js", "runtime~main.js"),
            ("runtime~main.js", "runtime~main.js"),
            ("100%25+done", "100% done"),
            ("%E2%9C%93+ok", "✓ ok"),
            ("%F0%9F%98%80.png", "😀.png"),
            ("odd%zz", "odd%zz"),
            ("q%3Fx%23y%2A", "q?x#y*"),
        ];
        for (raw, want) in cases {
            assert_eq!(decode_key(raw).unwrap(), want, "{raw}");
        }
        assert_eq!(decode_key("%FF").unwrap_err().error_type(), "InvalidInput");
        assert_eq!(decode_key("").unwrap_err().error_type(), "InvalidInput");
    }

    /// Rule: ObjectCreated:*, ObjectRemoved:* and LifecycleExpiration:* invalidate; nothing else does.
    #[test]
    fn event_names_that_invalidate() {
        use ChangeKind::*;
        let cases = [
            ("ObjectCreated:Put", Some(Created)),
            ("ObjectCreated:Post", Some(Created)),
            ("ObjectCreated:Copy", Some(Created)),
            ("ObjectCreated:CompleteMultipartUpload", Some(Created)),
            ("ObjectRemoved:Delete", Some(Removed)),
            ("ObjectRemoved:DeleteMarkerCreated", Some(Removed)),
            ("LifecycleExpiration:Delete", Some(Removed)),
            ("LifecycleExpiration:DeleteMarkerCreated", Some(Removed)),
            ("ObjectRestore:Post", None),
            ("ObjectRestore:Completed", None),
            ("ObjectTagging:Put", None),
            ("ObjectAcl:Put", None),
            ("LifecycleTransition", None),
            ("IntelligentTiering", None),
            ("Replication:OperationFailedReplication", None),
            ("SomethingNew:Unknown", None),
        ];
        for (name, want) in cases {
            assert_eq!(kind_of_event(name), want, "{name}");
        }
    }

    #[test]
    fn s3_notification_records() {
        let json = r#"{"Records":[
          {"eventSource":"aws:s3","eventName":"ObjectCreated:Put","eventTime":"2024-01-01T00:00:00Z",
           "s3":{"bucket":{"name":"b"},"object":{"key":"docs/red+flower.jpg","sequencer":"0055AED6DCD90281E5"}}},
          {"eventSource":"aws:s3","eventName":"ObjectTagging:Put",
           "s3":{"bucket":{"name":"b"},"object":{"key":"x"}}},
          {"eventSource":"aws:s3","eventName":"ObjectRemoved:Delete",
           "s3":{"bucket":{"name":"b"},"object":{"key":"old.html","eTag":"e1"}}}]}"#;
        let i = parse(json.as_bytes()).unwrap();
        assert_eq!(i.source, Source::S3);
        assert_eq!(i.ignored, 1);
        let got: Vec<_> = i.changes.iter().map(|c| (c.key.as_str(), c.kind, c.version.as_deref())).collect();
        assert_eq!(
            got,
            vec![
                ("docs/red flower.jpg", ChangeKind::Created, Some("0055AED6DCD90281E5")),
                ("old.html", ChangeKind::Removed, Some("e1")),
            ]
        );
    }

    #[test]
    fn test_event_is_acknowledged() {
        let json = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2024-01-01T00:00:00.000Z",
                      "Bucket":"b","RequestId":"r","HostId":"h"}"#;
        let i = parse(json.as_bytes()).unwrap();
        assert_eq!(i.source, Source::TestEvent);
        assert!(i.changes.is_empty());
    }

    #[test]
    fn a_record_without_its_object_is_invalid() {
        let e = parse(br#"{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put"}]}"#).unwrap_err();
        assert_eq!(e.error_type(), "InvalidInput");
        assert!(e.to_string().contains("no s3 object"), "{e}");
    }

    /// Rule: what tools write as S3 does, intake reads back as the same key.
    #[test]
    fn encoded_keys_decode_to_themselves() {
        for key in ["docs/a b+c.html", "café/menü", "100%.html", "a*b~c", "x/(1) [2]"] {
            assert_eq!(decode_key(&encode_key(key)).unwrap(), key);
        }
        assert_eq!(encode_key("red flower+.jpg"), "red+flower%2B.jpg");
    }

    /// Rule: an S3 record's change was made by its `eventTime` (end of the millisecond
    /// written); a record without a readable one has no time (`None`, never guessed).
    #[test]
    fn each_record_carries_its_event_time() {
        let at = |s| humantime::parse_rfc3339(s).unwrap();
        let record = |time: Option<&str>| {
            let mut r = serde_json::json!({"eventSource":"aws:s3","eventName":"ObjectCreated:Put",
                "s3":{"bucket":{"name":"b"},"object":{"key":"k","sequencer":"01"}}});
            if let Some(t) = time {
                r["eventTime"] = t.into();
            }
            serde_json::json!({"Records":[r]}).to_string()
        };
        let cases = [
            (Some("2024-05-14T09:21:03.512Z"), Some("2024-05-14T09:21:03.513Z")),
            (Some("2026-01-01T00:00:00.123Z"), Some("2026-01-01T00:00:00.124Z")),
            (Some("2024-05-14T09:21:03Z"), Some("2024-05-14T09:21:04Z")),
            (Some("2024-05-14T09:21:03"), None),
            (Some("yesterday"), None),
            (Some(""), None),
            (None, None),
        ];
        for (written, want) in cases {
            let i = parse(record(written).as_bytes()).unwrap();
            assert_eq!(i.changes[0].time, want.map(at), "{written:?}");
        }
        // The sample events: every change has its record's time.
        for event in [
            include_str!("../../events/s3-put.json"),
            include_str!("../../events/s3-delete.json"),
            include_str!("../../events/s3-multi.json"),
            include_str!("../../events/s3-awkward-keys.json"),
        ] {
            let i = parse(event.as_bytes()).unwrap();
            assert!(!i.changes.is_empty());
            for c in &i.changes {
                assert_eq!(c.time, Some(at("2024-05-14T09:21:03.513Z")), "{}", c.key);
            }
        }
    }
}
