//! Event intake: any payload the function can be invoked with → a list of [`Change`]s.
//!
//! The shape is detected from the payload itself (no configuration), in one typed parse that skips
//! every field it does not need — a 6 MB SQS batch is read once, not once as `Value` and again as
//! structs. Envelopes nest (SQS → SNS → S3), so each file here unwraps one of them:
//!
//! - [`s3`]: S3 event notifications, the S3 test event, and S3's form-encoded keys;
//! - [`sqs`]: SQS batches, whose bodies are any of the other notifications;
//! - [`sns`]: SNS records and SNS envelopes (an SQS body without raw delivery);
//! - [`eventbridge`]: EventBridge `aws.s3` events;
//! - [`explicit`]: the explicit request of Step Functions or a direct invoke.

pub mod eventbridge;
pub mod explicit;
pub mod s3;
pub mod sns;
pub mod sqs;

use std::borrow::Cow;

use serde::Deserialize;

use crate::error::Error;
pub use crate::model::{Change, ChangeKind};
pub use explicit::{Explicit, ExplicitRequest, TrackItem};

/// Where the payload came from; decides the response shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    S3,
    Sqs,
    Sns,
    EventBridge,
    Explicit,
    /// S3's `s3:TestEvent`, sent when a notification is configured: acknowledged, nothing to do.
    TestEvent,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::S3 => "s3",
            Source::Sqs => "sqs",
            Source::Sns => "sns",
            Source::EventBridge => "eventbridge",
            Source::Explicit => "explicit",
            Source::TestEvent => "s3-test-event",
        }
    }
}

/// Everything intake learned from one payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intake {
    pub source: Source,
    pub changes: Vec<Change>,
    /// SQS message ids in batch order (empty for other sources).
    pub messages: Vec<String>,
    /// SQS messages that could not be read, by index into `messages`, with the reason. They are
    /// reported as failures (redelivered, then dead-lettered); the rest of the batch proceeds.
    pub malformed: Vec<(usize, String)>,
    /// Records that change no content (tagging, ACL, restore, test events): acknowledged.
    pub ignored: usize,
    /// Set for the explicit request shape.
    pub explicit: Option<ExplicitRequest>,
}

impl Intake {
    fn new(source: Source) -> Self {
        Intake { source, changes: Vec::new(), messages: Vec::new(), malformed: Vec::new(), ignored: 0, explicit: None }
    }
}

pub(crate) const ACCEPTED_SHAPES: &str =
    "accepted shapes: an S3 event notification (Records[].eventSource \"aws:s3\"), \
an SQS batch (Records[].eventSource \"aws:sqs\") of S3/SNS/EventBridge messages, an SNS event (Records[].Sns), \
an EventBridge S3 event (source \"aws.s3\"), the S3 test event, or an explicit request \
{\"distribution_id\", \"paths\": [\"/…\"]} / {\"distribution_id\"?, \"keys\": [\"…\"]} / \
{\"track\": {\"invalidations\": [{\"distribution_id\", \"invalidation_id\"}]}}";

/// The union of every top-level field intake looks at. One struct rather than an untagged enum:
/// serde's untagged enums buffer the whole document once per variant tried. Strings borrow from
/// the payload where they have no escapes, so a 10,000-message batch allocates little.
#[derive(Deserialize, Default)]
pub(crate) struct Payload<'a> {
    #[serde(rename = "Records", borrow)]
    pub records: Option<Vec<Record<'a>>>,
    /// S3 test event: `{"Service":"Amazon S3","Event":"s3:TestEvent",…}`.
    #[serde(rename = "Event")]
    pub event: Option<String>,
    // EventBridge
    pub source: Option<String>,
    #[serde(rename = "detail-type")]
    pub detail_type: Option<String>,
    #[serde(borrow)]
    pub detail: Option<eventbridge::Detail<'a>>,
    // SNS envelope
    #[serde(rename = "Type")]
    pub sns_type: Option<String>,
    #[serde(rename = "Message")]
    pub message: Option<String>,
    // Lambda's on-failure destination record for an async invoke (an SQS body): the original
    // event, which failed after Lambda's own retries.
    #[serde(rename = "requestPayload", borrow)]
    pub request_payload: Option<&'a serde_json::value::RawValue>,
    // Explicit request: kept as raw JSON so that a wrong type is reported by field name.
    pub distribution_id: Option<serde_json::Value>,
    pub paths: Option<serde_json::Value>,
    pub keys: Option<serde_json::Value>,
    pub caller_reference: Option<serde_json::Value>,
    pub timeout: Option<serde_json::Value>,
    pub bucket: Option<serde_json::Value>,
    pub wait: Option<serde_json::Value>,
    /// The workflow's tracking input: `{"track": {"invalidations": [...]}}`.
    pub track: Option<serde_json::Value>,
}

/// A string field that borrows from the payload unless it has escapes. serde borrows a bare
/// `Cow<str>` field marked `borrow`, but not one inside an `Option`: that one is always
/// allocated, which made six of a batch message's eleven allocations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Str<'a>(pub Cow<'a, str>);

impl std::ops::Deref for Str<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl Str<'_> {
    pub fn into_owned(self) -> String {
        self.0.into_owned()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// The union of an S3, SNS and SQS record's fields.
#[derive(Deserialize)]
pub(crate) struct Record<'a> {
    #[serde(rename = "eventSource", alias = "EventSource", borrow)]
    pub event_source: Option<Str<'a>>,
    #[serde(rename = "eventName", borrow)]
    pub event_name: Option<Str<'a>>,
    #[serde(rename = "eventTime", borrow)]
    pub event_time: Option<Str<'a>>,
    #[serde(borrow)]
    pub s3: Option<s3::Entity<'a>>,
    #[serde(rename = "Sns")]
    pub sns: Option<sns::Entity>,
    #[serde(rename = "messageId", borrow)]
    pub message_id: Option<Str<'a>>,
    #[serde(default, deserialize_with = "sqs::body")]
    pub body: Option<sqs::Body>,
}

/// Reads one invocation payload.
pub fn parse(bytes: &[u8]) -> Result<Intake, Error> {
    // Validating UTF-8 once up front lets serde_json read from a `str`, which skips the per-string
    // check; invalid UTF-8 goes through the slice reader only to get its error message.
    let parsed = match std::str::from_utf8(bytes) {
        Ok(text) => serde_json::from_str::<Payload>(text),
        Err(_) => serde_json::from_slice::<Payload>(bytes),
    };
    let payload = parsed.map_err(|e| {
        Error::invalid(format!("payload is not a JSON object of a known shape ({e}); {ACCEPTED_SHAPES}"))
    })?;
    from_payload(payload)
}

fn from_payload(p: Payload<'_>) -> Result<Intake, Error> {
    if let Some(records) = p.records {
        return from_records(records);
    }
    if explicit::is_explicit(&p) {
        return explicit::read(p);
    }
    // Notifications that may also arrive as an SQS body go through the same reader.
    match notification(p)? {
        Some(n) => {
            let mut intake = Intake::new(n.source);
            intake.changes = n.changes;
            intake.ignored = n.ignored;
            Ok(intake)
        }
        None => Err(Error::invalid(format!("payload matches no known shape; {ACCEPTED_SHAPES}"))),
    }
}

fn from_records(records: Vec<Record<'_>>) -> Result<Intake, Error> {
    // `Records: []` is acknowledged as an S3 notification with nothing in it.
    let first = records.first().and_then(|r| r.event_source.as_deref()).unwrap_or("aws:s3");
    match first {
        "aws:sqs" => sqs::read(records),
        "aws:sns" => {
            let n = sns::read_records(records)?;
            let mut intake = Intake::new(Source::Sns);
            intake.changes = n.changes;
            intake.ignored = n.ignored;
            Ok(intake)
        }
        "aws:s3" => {
            let n = s3::read_records(records)?;
            let mut intake = Intake::new(Source::S3);
            intake.changes = n.changes;
            intake.ignored = n.ignored;
            Ok(intake)
        }
        other => Err(Error::invalid(format!("Records[0].eventSource {other:?} is not supported; {ACCEPTED_SHAPES}"))),
    }
}

/// What one S3-family notification (S3, SNS-wrapped, EventBridge, test event) held.
pub(crate) struct Notification {
    pub source: Source,
    pub changes: Vec<Change>,
    pub ignored: usize,
}

/// Reads a payload that is one notification, as a top-level event or an SQS body; `Ok(None)` when
/// it is none of them. Its changes carry message 0: the SQS reader stamps each body's index.
pub(crate) fn notification(p: Payload<'_>) -> Result<Option<Notification>, Error> {
    if let Some(records) = p.records {
        let first = records.first().and_then(|r| r.event_source.as_deref()).unwrap_or("aws:s3");
        return match first {
            "aws:s3" => s3::read_records(records).map(Some),
            "aws:sns" => sns::read_records(records).map(Some),
            other => Err(Error::invalid(format!("Records[0].eventSource {other:?} is not an S3 notification"))),
        };
    }
    if s3::is_test_event(&p) {
        return Ok(Some(Notification { source: Source::TestEvent, changes: Vec::new(), ignored: 1 }));
    }
    if let Some(original) = p.request_payload {
        // A direct invoke that failed (say, CloudFront's quota was full) comes back through the
        // failed-event queue and is read as the event it was.
        let inner: Payload = serde_json::from_str(original.get())
            .map_err(|e| Error::invalid(format!("requestPayload is not JSON of a known shape ({e})")))?;
        return notification(inner);
    }
    if eventbridge::is_eventbridge(&p) {
        return eventbridge::read(p).map(Some);
    }
    if sns::is_envelope(&p) {
        return sns::read_envelope(p).map(Some);
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intake(json: &str) -> Result<Intake, Error> {
        parse(json.as_bytes())
    }

    /// Rule: anything of no known shape → InvalidInput saying which shapes are accepted.
    #[test]
    fn unknown_shapes_are_invalid_input_listing_the_accepted_ones() {
        for json in [r#"{}"#, r#"{"hello":"world"}"#, r#"[1,2]"#, r#""text""#, r#"not json"#, r#"{"source":"aws.ec2"}"#]
        {
            let e = intake(json).unwrap_err();
            assert_eq!(e.error_type(), "InvalidInput", "{json}");
            assert!(e.to_string().contains("accepted shapes"), "{json}: {e}");
        }
        let e = intake(r#"{"Records":[{"eventSource":"aws:dynamodb"}]}"#).unwrap_err();
        assert!(e.to_string().contains("aws:dynamodb"), "{e}");
    }

    /// Rule: `Records: []` is a defined outcome — acknowledged, nothing invalidated.
    #[test]
    fn empty_records_are_acknowledged() {
        let i = intake(r#"{"Records":[]}"#).unwrap();
        assert_eq!(i.source, Source::S3);
        assert!(i.changes.is_empty());
    }

    /// Rule: string fields are JSON strings, escapes and all — borrowed when they have none,
    /// decoded when they do — and any other JSON type is invalid input, not a silent skip.
    #[test]
    fn string_fields_with_and_without_escapes() {
        let i = intake(
            r#"{"Records":[{"eventSource":"aws\u003as3","eventName":"ObjectCreated:\u0050ut",
                "s3":{"bucket":{"name":"b"},"object":{"key":"k","sequencer":"00\"AB"}}},
               {"eventSource":"aws:s3","eventName":"ObjectRemoved:Delete",
                "s3":{"bucket":{"name":"b"},"object":{"key":"j","sequencer":"01"}}}]}"#,
        )
        .unwrap();
        let got: Vec<_> = i.changes.iter().map(|c| (c.key.as_str(), c.kind, c.version.as_deref())).collect();
        assert_eq!(got, [("k", ChangeKind::Created, Some("00\"AB")), ("j", ChangeKind::Removed, Some("01"))]);
        for bad in [r#"{"Records":[{"eventSource":1}]}"#, r#"{"Records":[{"eventSource":"aws:s3","eventName":["x"]}]}"#]
        {
            assert_eq!(intake(bad).unwrap_err().error_type(), "InvalidInput", "{bad}");
        }
    }
}
