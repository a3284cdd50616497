//! What the function answers: SQS's partial batch response (the messages not submitted), or to
//! every other source (the workflow, a direct invoke, `cfinv invoke`) the invalidations it made.

use std::collections::{BTreeMap, BTreeSet};

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse};
use serde::Serialize;

use crate::error::Error;
use crate::intake::Source;
use crate::invocation::{Created, Handled};

/// What the function answers.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(untagged)]
pub enum Output {
    Sqs(SqsBatchResponse),
    Other(Box<Response>),
}

/// The response to every source but SQS.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Response {
    /// The single invalidation's fields at the top level (absent when there are zero or several).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub single: Option<Created>,
    pub outcome: Outcome,
    pub source: &'static str,
    pub keys_in: usize,
    pub invalidations: Vec<Created>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub skipped: BTreeMap<&'static str, usize>,
}

/// What an invocation did, for the caller (the workflow's Choice reads it).
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub enum Outcome {
    /// Every request was created (or CloudFront already had it).
    Created,
    /// The event changed nothing to invalidate (filtered keys, test events).
    Skipped,
}

/// The answer its source expects.
pub fn respond(h: Handled) -> Result<Output, Error> {
    if h.intake.source == Source::Sqs {
        let nothing_submitted = h.created.is_empty() && h.already == 0 && h.requeued == 0 && !h.failed.is_empty();
        if !nothing_submitted {
            return Ok(Output::Sqs(batch_response(&h.intake.messages, &h.failed)));
        }
        // Behind an SQS mapping an error sends the whole batch back, with or without
        // ReportBatchItemFailures: the safe answer when nothing of it was submitted.
        return Err(h.error.unwrap_or_else(|| {
            let why = h.intake.malformed.first().map_or("", |m| m.1.as_str());
            Error::invalid(format!("no message of the SQS batch could be read (the first: {why})"))
        }));
    }
    if let Some(e) = h.error {
        return Err(e);
    }
    let created = h.created;
    Ok(Output::Other(Box::new(Response {
        single: (created.len() == 1).then(|| created[0].clone()),
        outcome: if created.is_empty() && h.already == 0 { Outcome::Skipped } else { Outcome::Created },
        source: h.intake.source.name(),
        keys_in: h.intake.changes.len(),
        invalidations: created,
        skipped: h.skipped,
    })))
}

fn batch_response(messages: &[String], failed: &BTreeSet<usize>) -> SqsBatchResponse {
    let mut r = SqsBatchResponse::default();
    r.batch_item_failures = failed
        .iter()
        .map(|&i| {
            let mut f = BatchItemFailure::default();
            f.item_identifier = messages[i].clone();
            f
        })
        .collect();
    r
}
