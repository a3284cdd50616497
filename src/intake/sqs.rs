//! SQS batches. Each body is read on its own, so a malformed message is reported (and redelivered,
//! then dead-lettered) while the rest of the batch proceeds.

use std::fmt;
use std::time::SystemTime;

use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{notification, Intake, Notification, Payload, Record, Source, Str, TimeField};
use crate::error::Error;

/// An SQS body, read where it is deserialized: serde_json hands over the unescaped text in its
/// scratch buffer, and the notification inside is parsed from there, so a 10,000-message batch
/// makes no copy of each body. `Err` holds why the body could not be read.
pub(crate) type Body = Result<Read, String>;

/// What an SQS body holds: a notification, or an explicit request returned from the failed-event
/// queue (with its request id).
pub(crate) enum Read {
    Notification(Notification),
    Returned(Box<(Intake, String)>),
}

pub(crate) fn body<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Body>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<Body>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an SQS message body (a string)")
        }
        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Self::Value, E> {
            Ok(Some(read_body(s).map_err(|e| e.to_string())))
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(V)
}

/// A record's `attributes`, of which only `SentTimestamp` is read, leniently (see
/// [`TimeField`]): an `attributes` that is not an object is an unknown time too.
pub(crate) fn sent_timestamp<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SystemTime>, D::Error> {
    d.deserialize_any(Attributes)
}

struct Attributes;

impl<'de> Visitor<'de> for Attributes {
    type Value = Option<SystemTime>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("SQS message attributes")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut sent = None;
        while let Some(name) = map.next_key::<Str<'de>>()? {
            if &*name == "SentTimestamp" {
                sent = map.next_value_seed(TimeField(super::epoch_millis))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(sent)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        IgnoredAny.visit_seq(seq).map(|_| None)
    }
    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    super::lenient_scalars!();
}

pub(crate) fn read(records: Vec<Record<'_>>) -> Result<Intake, Error> {
    let mut intake = Intake::new(Source::Sqs);
    intake.messages.reserve(records.len());
    for (i, r) in records.into_iter().enumerate() {
        // Without its id a message can be neither acknowledged nor reported: fail the invocation,
        // so that Lambda redelivers the whole batch rather than dropping it.
        let id = r
            .message_id
            .map(|c| c.into_owned())
            .ok_or_else(|| Error::invalid(format!("Records[{i}] of the SQS batch has no messageId")))?;
        if r.event_source.as_deref() != Some("aws:sqs") {
            intake.messages.push(id);
            intake.malformed.push((i, format!("eventSource {:?} in an SQS batch", r.event_source)));
            continue;
        }
        intake.messages.push(id);
        match r.body {
            Some(Ok(Read::Returned(returned))) => {
                let (mut request, request_id) = *returned;
                for c in &mut request.changes {
                    c.message = i;
                    c.time = super::earliest(c.time, r.sent);
                }
                intake.returned.push(super::Returned { message: i, request, request_id });
            }
            Some(Ok(Read::Notification(n))) => {
                // SQS accepted the message after every change in it was made (see
                // `super::earliest`); the body's own times are usually earlier.
                let sent = r.sent;
                intake.changes.extend(n.changes.into_iter().map(|c| super::Change {
                    message: i,
                    time: super::earliest(c.time, sent),
                    ..c
                }));
                intake.ignored += n.ignored;
            }
            Some(Err(why)) => intake.malformed.push((i, why)),
            None => intake.malformed.push((i, "message has no body".to_string())),
        }
    }
    Ok(intake)
}

fn read_body(body: &str) -> Result<Read, Error> {
    let mut p: Payload =
        serde_json::from_str(body).map_err(|e| Error::invalid(format!("body is not JSON of a known shape ({e})")))?;
    if let Some(returned) = super::returned(&mut p)? {
        return Ok(Read::Returned(Box::new(returned)));
    }
    notification(p)?.map(Read::Notification).ok_or_else(|| {
        Error::invalid(
            "body is neither an S3 notification, an SNS envelope of one, an EventBridge S3 event nor the S3 test event",
        )
    })
}

#[cfg(test)]
mod tests {
    use crate::intake::{parse, Source};
    use serde_json::json;

    fn s3(key: &str, seq: &str) -> String {
        json!({"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put",
            "s3":{"bucket":{"name":"b"},"object":{"key":key,"sequencer":seq}}}]})
        .to_string()
    }

    fn msg(id: &str, body: &str) -> serde_json::Value {
        json!({"messageId":id,"receiptHandle":"h","body":body,"attributes":{},"messageAttributes":{},
               "md5OfBody":"x","eventSource":"aws:sqs","eventSourceARN":"arn:aws:sqs:us-east-1:1:q","awsRegion":"us-east-1"})
    }

    /// Every body shape an SQS body can be, in one batch; the malformed ones are reported by index.
    #[test]
    fn every_body_shape_and_malformed_messages() {
        let sns =
            json!({"Type":"Notification","MessageId":"n","TopicArn":"t","Message":s3("via+sns.html","02")}).to_string();
        let eb = json!({"source":"aws.s3","detail-type":"Object Deleted",
                        "detail":{"bucket":{"name":"b"},"object":{"key":"via-eb.html","sequencer":"03"}}})
        .to_string();
        let test_event = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"b"}"#;
        let batch = json!({"Records":[
            msg("m1", &s3("direct.html","01")), msg("m2", &sns), msg("m3", &eb), msg("m4", test_event),
            msg("m5", "not json"), msg("m6", r#"{"unrelated":true}"#), msg("m7", &s3("%FF","04")),
        ]});
        let i = parse(batch.to_string().as_bytes()).unwrap();
        assert_eq!(i.source, Source::Sqs);
        assert_eq!(i.messages, ["m1", "m2", "m3", "m4", "m5", "m6", "m7"]);
        let keys: Vec<_> = i.changes.iter().map(|c| (c.message, c.key.as_str())).collect();
        assert_eq!(keys, vec![(0, "direct.html"), (1, "via sns.html"), (2, "via-eb.html")]);
        let bad: Vec<usize> = i.malformed.iter().map(|(m, _)| *m).collect();
        assert_eq!(bad, vec![4, 5, 6]);
        assert_eq!(i.ignored, 1);
    }

    /// Rule: a destination record is read as what its `requestPayload` was — an event's changes,
    /// or an explicit request returned with its request id (`requestContext.requestId`), its
    /// changes stamped with the message; a request without that id, or malformed, fails alone.
    #[test]
    fn destination_records_are_read_as_what_they_carry() {
        let record = |payload: serde_json::Value, context: serde_json::Value| {
            json!({"version":"1.0","timestamp":"2026-01-01T00:00:00.000Z","requestContext":context,
                   "requestPayload":payload,"responseContext":{"statusCode":200},"responsePayload":null})
            .to_string()
        };
        let id = json!({"requestId":"req-1","condition":"RetriesExhausted"});
        let s3_event: serde_json::Value = serde_json::from_str(&s3("ev.html", "01")).unwrap();
        let batch = json!({"Records":[
            msg("m0", &record(json!({"keys":["k.html"]}), id.clone())),
            msg("m1", &record(s3_event, id.clone())),
            msg("m2", &record(json!({"keys":["k.html"]}), json!({}))),
            msg("m3", &record(json!({"distribution_id":"EDFDVBD632BHDS5","paths":[]}), id.clone())),
            msg("m4", &record(json!({"track":{"invalidations":[{"distribution_id":"EDFDVBD632BHDS5","invalidation_id":"I1"}]}}), id)),
        ]});
        let i = parse(batch.to_string().as_bytes()).unwrap();
        /// A returned request: its message, request id, and its changes' (message, key).
        type Seen<'a> = (usize, &'a str, Vec<(usize, &'a str)>);
        let returned: Vec<Seen> = i
            .returned
            .iter()
            .map(|r| {
                let changes = r.request.changes.iter().map(|c| (c.message, c.key.as_str())).collect();
                (r.message, r.request_id.as_str(), changes)
            })
            .collect();
        assert_eq!(returned, [(0, "req-1", vec![(0, "k.html")]), (4, "req-1", vec![])]);
        assert!(i.returned.iter().all(|r| r.request.source == Source::Explicit && r.request.explicit.is_some()));
        assert_eq!(i.changes.iter().map(|c| (c.message, c.key.as_str())).collect::<Vec<_>>(), [(1, "ev.html")]);
        assert_eq!(i.malformed.iter().map(|m| m.0).collect::<Vec<_>>(), [2, 3]);
    }

    #[test]
    fn a_message_without_an_id_fails_the_whole_batch() {
        let e = parse(br#"{"Records":[{"eventSource":"aws:sqs","body":"{}"}]}"#).unwrap_err();
        assert_eq!(e.error_type(), "InvalidInput");
    }

    fn at(s: &str) -> std::time::SystemTime {
        humantime::parse_rfc3339(s).unwrap()
    }

    fn s3_at(time: &str) -> String {
        json!({"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","eventTime":time,
            "s3":{"bucket":{"name":"b"},"object":{"key":"k","sequencer":"01"}}}]})
        .to_string()
    }

    /// Rule: SQS accepted each message after the change in it, so a change's time is the
    /// earliest of its body's times and the message's `SentTimestamp`; `None` only when none is
    /// known. Each message has its own: `attributes` are per message.
    #[test]
    fn earliest_of_the_body_and_sent_timestamp() {
        // 1715678463512 ms is 2024-05-14T09:21:03.512Z.
        let cases = [
            (s3_at("2024-05-14T09:21:03.400Z"), json!({"SentTimestamp":"1715678463512"}), Some("2024-05-14T09:21:03.401Z")),
            (s3_at("2024-05-14T09:21:03.900Z"), json!({"SentTimestamp":"1715678463512"}), Some("2024-05-14T09:21:03.513Z")),
            (s3_at("no time"), json!({"SentTimestamp":"1715678463512"}), Some("2024-05-14T09:21:03.513Z")),
            (s3_at("2024-05-14T09:21:03.400Z"), json!({}), Some("2024-05-14T09:21:03.401Z")),
            (s3_at("no time"), json!({"ApproximateReceiveCount":"1"}), None),
            // SNS inside SQS: three times, the earliest kept.
            (
                json!({"Type":"Notification","Message":s3_at("2024-05-14T09:21:03.600Z"),
                       "Timestamp":"2024-05-14T09:21:03.500Z"})
                .to_string(),
                json!({"SentTimestamp":"1715678463512"}),
                Some("2024-05-14T09:21:03.501Z"),
            ),
            // EventBridge's whole second ends after SQS's millisecond.
            (
                json!({"source":"aws.s3","detail-type":"Object Created","time":"2024-05-14T09:21:03Z",
                       "detail":{"bucket":{"name":"b"},"object":{"key":"k"}}})
                .to_string(),
                json!({"SentTimestamp":"1715678463512"}),
                Some("2024-05-14T09:21:03.513Z"),
            ),
            // Lambda's on-failure destination record: the original event's own time.
            (
                json!({"version":"1.0","timestamp":"2024-05-14T09:25:00.000Z",
                       "requestPayload":serde_json::from_str::<serde_json::Value>(&s3_at("2024-05-14T09:21:03.100Z")).unwrap()})
                .to_string(),
                json!({"SentTimestamp":"1715678463512"}),
                Some("2024-05-14T09:21:03.101Z"),
            ),
        ];
        for (body, attributes, want) in cases {
            let mut m = msg("m", &body);
            m["attributes"] = attributes.clone();
            let i = parse(json!({"Records":[m]}).to_string().as_bytes()).unwrap();
            assert_eq!(i.changes[0].time, want.map(at), "{body} {attributes}");
        }
    }

    /// Rule: an unreadable `SentTimestamp` or `attributes` is an unknown time, never a reason to
    /// refuse the message or the batch.
    #[test]
    fn unreadable_attributes_are_an_unknown_time() {
        for attributes in [
            json!({"SentTimestamp":1715678463512u64}),
            json!({"SentTimestamp":"1715678463.512"}),
            json!({"SentTimestamp":"2024-05-14T09:21:03.512Z"}),
            json!({"SentTimestamp":{"ms":"1715678463512"}}),
            json!({"SentTimestamp":["1715678463512"]}),
            json!({"SentTimestamp":null}),
            json!({"Other":{"SentTimestamp":"1715678463512"}}),
            json!("SentTimestamp"),
            json!(["1715678463512"]),
            json!(1715678463512u64),
            json!(true),
            json!(null),
        ] {
            let mut m = msg("m", &s3("k", "01"));
            m["attributes"] = attributes.clone();
            let i = parse(json!({"Records":[m]}).to_string().as_bytes()).unwrap();
            assert_eq!((i.changes.len(), i.changes[0].time), (1, None), "{attributes}");
        }
    }

    /// The sample batches: every change has the earliest of its times.
    #[test]
    fn sample_batches_carry_times() {
        for (sample, want) in [
            (include_str!("../../events/sqs-s3.json"), "2024-05-14T09:21:03.513Z"),
            (include_str!("../../events/sqs-sns.json"), "2024-05-14T09:21:03.513Z"),
            (include_str!("../../events/sqs-eventbridge.json"), "2024-05-14T09:21:03.513Z"),
        ] {
            let i = parse(sample.as_bytes()).unwrap();
            assert!(!i.changes.is_empty());
            for c in &i.changes {
                assert_eq!(c.time, Some(at(want)), "{}", c.key);
            }
        }
    }
}
