//! SQS batches. Each body is read on its own, so a malformed message is reported (and redelivered,
//! then dead-lettered) while the rest of the batch proceeds.

use std::fmt;

use serde::de::{Deserializer, Visitor};

use super::{notification, Intake, Notification, Payload, Record, Source};
use crate::error::Error;

/// An SQS body, read where it is deserialized: serde_json hands over the unescaped text in its
/// scratch buffer, and the notification inside is parsed from there, so a 10,000-message batch
/// makes no copy of each body. `Err` holds why the body could not be read.
pub(crate) type Body = Result<Notification, String>;

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
            Some(Ok(n)) => {
                intake.changes.extend(n.changes.into_iter().map(|c| super::Change { message: i, ..c }));
                intake.ignored += n.ignored;
            }
            Some(Err(why)) => intake.malformed.push((i, why)),
            None => intake.malformed.push((i, "message has no body".to_string())),
        }
    }
    Ok(intake)
}

fn read_body(body: &str) -> Result<Notification, Error> {
    let p: Payload =
        serde_json::from_str(body).map_err(|e| Error::invalid(format!("body is not JSON of a known shape ({e})")))?;
    notification(p)?.ok_or_else(|| {
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

    #[test]
    fn a_message_without_an_id_fails_the_whole_batch() {
        let e = parse(br#"{"Records":[{"eventSource":"aws:sqs","body":"{}"}]}"#).unwrap_err();
        assert_eq!(e.error_type(), "InvalidInput");
    }
}
