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
//! - [`explicit`]: the explicit request of Step Functions or a direct invoke;
//! - [`aws_cli`]: what the AWS CLI's `aws s3 sync`/`cp`/`mv`/`rm` printed (text, for `cfinv`).
//!
//! Each change carries the time it was made as far as the records say ([`Change::time`]): see
//! [`earliest`] for why the earliest of the times an event carries is the one kept.

pub mod aws_cli;
pub mod eventbridge;
pub mod explicit;
pub mod s3;
pub mod sns;
pub mod sqs;

use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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
    /// Explicit requests (paths, keys, a workflow's or a tracking input) that an SQS batch
    /// carries back from the failed-event queue, one per message: each is submitted as the
    /// request it was, and acknowledged or held by its own outcome.
    pub returned: Vec<Returned>,
}

impl Intake {
    fn new(source: Source) -> Self {
        Intake {
            source,
            changes: Vec::new(),
            messages: Vec::new(),
            malformed: Vec::new(),
            ignored: 0,
            explicit: None,
            returned: Vec::new(),
        }
    }
}

/// An explicit request that came back in Lambda's on-failure destination record of an async
/// invoke (`requestPayload`), as an SQS message of the failed-event queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Returned {
    /// The SQS message (index into [`Intake::messages`]); its changes carry it too.
    pub message: usize,
    /// The request as a direct invoke of it reads it (`source` [`Source::Explicit`]).
    pub request: Intake,
    /// The failed invocation's request id (`requestContext.requestId`): the token its attempts
    /// derived their CallerReference with (Lambda keeps it across its own retries), so that
    /// the read-back derives the same one and finds what an attempt made.
    pub request_id: String,
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
    /// The destination record's `requestContext` (its `requestId`) and `timestamp` (when the
    /// last attempt failed).
    #[serde(rename = "requestContext")]
    pub request_context: Option<RequestContext>,
    #[serde(rename = "timestamp", default, deserialize_with = "rfc3339_field")]
    pub failed_at: Option<SystemTime>,
    // Explicit request: kept as raw JSON so that a wrong type is reported by field name.
    pub distribution_id: Option<serde_json::Value>,
    pub distribution_tenant_id: Option<serde_json::Value>,
    pub paths: Option<serde_json::Value>,
    pub keys: Option<serde_json::Value>,
    // EventBridge's envelope time and the SNS envelope's `Timestamp` (an SQS body without raw
    // delivery), parsed where they are read.
    #[serde(default, deserialize_with = "rfc3339_field")]
    pub time: Option<SystemTime>,
    #[serde(rename = "Timestamp", default, deserialize_with = "rfc3339_field")]
    pub timestamp: Option<SystemTime>,
    pub caller_reference: Option<serde_json::Value>,
    pub timeout: Option<serde_json::Value>,
    pub bucket: Option<serde_json::Value>,
    pub wait: Option<serde_json::Value>,
    /// How long the workflow waits for room in the in-progress quota (checked, not used, here).
    pub room_timeout: Option<serde_json::Value>,
    /// When an explicit request's keys had all been written, at the latest (the workflow gives
    /// its execution's start): their time when earlier than the receipt.
    pub requested_at: Option<serde_json::Value>,
    /// The workflow's tracking input: `{"track": {"invalidations": [...]}}`.
    pub track: Option<serde_json::Value>,
}

/// A destination record's `requestContext`, of which only the request id is read.
#[derive(Deserialize, Default)]
pub(crate) struct RequestContext {
    #[serde(rename = "requestId")]
    pub request_id: Option<String>,
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
    /// SQS's `attributes.SentTimestamp`, the only attribute intake reads.
    #[serde(rename = "attributes", default, deserialize_with = "sqs::sent_timestamp")]
    pub sent: Option<SystemTime>,
}

/// Of two times an event gives for one change, the one to keep. Every time a record carries is
/// stamped when the change was already made: S3 writes `eventTime` when it has finished the
/// write, EventBridge's `time` is that event's, SNS stamps `Timestamp` when it publishes the
/// notification and SQS `SentTimestamp` when it accepts the message, all later still; an explicit
/// request is received after its keys were written. So each is at or after the change, and the
/// earliest is the closest to it. What must never happen is a time *before* the change: an
/// invalidation created after that time would be taken to cover a change it may have preceded.
/// Unknown (`None`) stays unknown unless another time is known.
pub(crate) fn earliest(a: Option<SystemTime>, b: Option<SystemTime>) -> Option<SystemTime> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// An envelope's time bounds every change inside it (see [`earliest`]).
pub(crate) fn no_later_than(changes: &mut [Change], envelope: Option<SystemTime>) {
    if envelope.is_some() {
        for c in changes {
            c.time = earliest(c.time, envelope);
        }
    }
}

/// A time as AWS writes it in S3 `eventTime`, EventBridge `time` and SNS `Timestamp`: RFC 3339 in
/// UTC (`2024-05-14T09:21:03.512Z`, or `+00:00` for `Z`). Anything else is unknown rather than
/// guessed: a time without a zone, or with an offset other than UTC, which humantime's strict
/// parser refuses.
///
/// Written digits stand for an interval as long as the last of them, and the instant may be
/// anywhere in it: EventBridge writes whole seconds, so `09:21:03Z` may be a change made at
/// 09:21:03.9. The end of the interval is the time that is never before the instant.
pub(crate) fn rfc3339(s: &str) -> Option<SystemTime> {
    let at = humantime::parse_rfc3339(s).ok()?;
    // The strict parser has checked the layout: `.` at byte 19 starts the fraction.
    let digits = match s.as_bytes().get(19) {
        Some(b'.') => s.as_bytes()[20..].iter().take_while(|b| b.is_ascii_digit()).count(),
        _ => 0,
    };
    let last_digit = Duration::from_nanos(10u64.pow(9u32.saturating_sub(digits as u32)));
    at.checked_add(last_digit)
}

/// The scalar visits of a field read leniently (`Value = Option<_>`): a number, a boolean or null
/// where AWS writes something else is unknown (`None`), never a reason to refuse the event.
macro_rules! lenient_scalars {
    () => {
        fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    };
}
pub(crate) use lenient_scalars;

/// A time field read leniently, with the parser of its form: a value AWS would not write is an
/// unknown time, never a reason to refuse the event (AWS writes strings; hand-made events may not).
#[derive(Clone, Copy)]
pub(crate) struct TimeField(pub fn(&str) -> Option<SystemTime>);

impl<'de> serde::de::DeserializeSeed<'de> for TimeField {
    type Value = Option<SystemTime>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for TimeField {
    type Value = Option<SystemTime>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a time")
    }
    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Self::Value, E> {
        Ok((self.0)(s))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        serde::de::IgnoredAny.visit_map(map).map(|_| None)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        serde::de::IgnoredAny.visit_seq(seq).map(|_| None)
    }
    lenient_scalars!();
}

pub(crate) fn rfc3339_field<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<SystemTime>, D::Error> {
    use serde::de::DeserializeSeed;
    TimeField(rfc3339).deserialize(d)
}

/// SQS's `SentTimestamp`: milliseconds since the epoch, written as a string of digits; like
/// [`rfc3339`], the end of the millisecond written.
pub(crate) fn epoch_millis(s: &str) -> Option<SystemTime> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    UNIX_EPOCH.checked_add(Duration::from_millis(s.parse::<u64>().ok()?.checked_add(1)?))
}

/// Reads one invocation payload that the caller received at `received`, by its own clock: intake
/// reads no clock. Only an explicit request's keys take that time (they were written before the
/// request was sent); every event carries its own.
pub fn parse_at(bytes: &[u8], received: SystemTime) -> Result<Intake, Error> {
    read(bytes, Some(received))
}

/// [`parse_at`] for a caller that does not know when the payload arrived: an explicit request's
/// keys then have no time, so no invalidation created before the request is taken to cover them.
pub fn parse(bytes: &[u8]) -> Result<Intake, Error> {
    read(bytes, None)
}

fn read(bytes: &[u8], received: Option<SystemTime>) -> Result<Intake, Error> {
    // Validating UTF-8 once up front lets serde_json read from a `str`, which skips the per-string
    // check; invalid UTF-8 goes through the slice reader only to get its error message.
    let parsed = match std::str::from_utf8(bytes) {
        Ok(text) => serde_json::from_str::<Payload>(text),
        Err(_) => serde_json::from_slice::<Payload>(bytes),
    };
    let payload = parsed.map_err(|e| {
        Error::invalid(format!("payload is not a JSON object of a known shape ({e}); {ACCEPTED_SHAPES}"))
    })?;
    from_payload(payload, received)
}

fn from_payload(p: Payload<'_>, received: Option<SystemTime>) -> Result<Intake, Error> {
    if let Some(records) = p.records {
        return from_records(records);
    }
    if explicit::is_explicit(&p) {
        return explicit::read(p, received);
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

/// Reads Lambda's on-failure destination record `p` when it carries an explicit request:
/// `Ok(None)` when it carries none (the record of an event). The request is read as a direct
/// invoke reads it, its keys taking the time the last attempt failed (the record's `timestamp`,
/// after they were written; the SQS reader bounds it by `SentTimestamp`).
pub(crate) fn returned(p: &mut Payload<'_>) -> Result<Option<(Intake, String)>, Error> {
    let Some(original) = p.request_payload else { return Ok(None) };
    let Ok(inner) = serde_json::from_str::<Payload>(original.get()) else { return Ok(None) };
    if inner.records.is_some() || !explicit::is_explicit(&inner) {
        return Ok(None);
    }
    let request_id = p.request_context.take().and_then(|c| c.request_id).filter(|id| !id.is_empty());
    let request_id = request_id.ok_or_else(|| {
        Error::invalid("a destination record of an explicit request without requestContext.requestId")
    })?;
    let request = explicit::read(inner, p.failed_at)?;
    Ok(Some((request, request_id)))
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
        // A direct invoke of an event that failed (say, CloudFront's quota was full) comes back
        // through the failed-event queue and is read as the event it was (an explicit request,
        // as the request it was: [`returned`]).
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

    fn at(s: &str) -> SystemTime {
        humantime::parse_rfc3339(s).unwrap()
    }

    /// Rule: a time is read only as AWS writes it (RFC 3339 in UTC; SQS's milliseconds as
    /// digits), anything else is unknown (`None`, never guessed); and a written time stands for
    /// the end of its last digit, since the change may be anywhere within it.
    #[test]
    fn times_as_aws_writes_them() {
        let rfc = [
            ("2024-05-14T09:21:03.512Z", Some("2024-05-14T09:21:03.513Z")),
            ("2024-05-14T09:21:03Z", Some("2024-05-14T09:21:04Z")),
            ("2024-05-14T09:21:03+00:00", Some("2024-05-14T09:21:04Z")),
            ("2024-05-14T09:21:03.5Z", Some("2024-05-14T09:21:03.6Z")),
            ("2024-05-14T09:21:03.123456789Z", Some("2024-05-14T09:21:03.12345679Z")),
            ("2024-05-14T23:59:59.999Z", Some("2024-05-15T00:00:00Z")),
            ("2024-05-14T09:21:03", None),
            ("2024-05-14T09:21:03.512", None),
            ("2024-05-14 09:21:03Z", None),
            ("2024-05-14T09:21:03+02:00", None),
            ("2024-02-30T00:00:00Z", None),
            ("1969-12-31T23:59:59Z", None),
            ("2024-05-14T09:21:03.51xZ", None),
            ("Tue, 14 May 2024 09:21:03 GMT", None),
            ("", None),
        ];
        for (written, want) in rfc {
            assert_eq!(rfc3339(written), want.map(at), "{written:?}");
        }
        let millis = [
            ("1715678463512", Some("2024-05-14T09:21:03.513Z")),
            ("0", Some("1970-01-01T00:00:00.001Z")),
            ("", None),
            ("-1", None),
            ("+1715678463512", None),
            ("1715678463.512", None),
            ("2024-05-14T09:21:03.512Z", None),
            ("18446744073709551615", None),
            ("99999999999999999999999", None),
        ];
        for (written, want) in millis {
            assert_eq!(epoch_millis(written), want.map(at), "{written:?}");
        }
    }

    /// Rule: of the times known for one change, the earliest is kept (each is at or after the
    /// change); unknown only when none is known.
    #[test]
    fn the_earliest_known_time_is_kept() {
        let (early, late) = (Some(at("2024-05-14T09:21:03.513Z")), Some(at("2024-05-14T09:21:04Z")));
        let cases = [
            (early, late, early),
            (late, early, early),
            (early, None, early),
            (None, late, late),
            (None, None, None),
            (late, late, late),
        ];
        for (a, b, want) in cases {
            assert_eq!(earliest(a, b), want, "{a:?} {b:?}");
        }
    }

    /// Rule: a time field of a type AWS never writes (EventBridge `time`, SNS `Timestamp`) is
    /// an unknown time, never a reason to refuse the event; the other times still count.
    #[test]
    fn time_fields_of_another_type_are_unknown() {
        let s3 = r#"{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","eventTime":"2024-05-14T09:21:03.512Z","s3":{"bucket":{"name":"b"},"object":{"key":"k"}}}]}"#;
        for odd in [
            serde_json::json!(1715678463),
            serde_json::json!(null),
            serde_json::json!({"at":"2024-05-14T09:21:03Z"}),
            serde_json::json!(["2024-05-14T09:21:03Z"]),
            serde_json::json!(true),
        ] {
            let eventbridge = serde_json::json!({"source":"aws.s3","detail-type":"Object Created","time":odd,
                "detail":{"bucket":{"name":"b"},"object":{"key":"k"}}});
            let sns = serde_json::json!({"Records":[{"EventSource":"aws:sns","Sns":{"Message":s3,"Timestamp":odd}}]});
            let envelope = serde_json::json!({"Type":"Notification","Message":s3,"Timestamp":odd});
            let cases = [
                (eventbridge, None),
                (sns, Some("2024-05-14T09:21:03.513Z")),
                (envelope, Some("2024-05-14T09:21:03.513Z")),
            ];
            for (payload, want) in cases {
                let i = intake(&payload.to_string()).unwrap();
                assert_eq!(i.changes[0].time, want.map(at), "{payload}");
            }
        }
    }
}
