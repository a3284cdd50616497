//! The `aws-sdk-sqs` adapter of the [`Queue`] port: SendMessageBatch, ten messages a call.

use std::time::Duration;

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;

use super::{url_of, Queue, BATCH};
use crate::error::Error;

pub struct SdkQueue {
    client: aws_sdk_sqs::Client,
}

impl SdkQueue {
    /// Configuration from the SDK's standard chain (credentials, region, `AWS_ENDPOINT_URL_SQS`).
    pub async fn from_env() -> Self {
        let conf = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
        SdkQueue { client: aws_sdk_sqs::Client::new(&conf) }
    }
}

impl Queue for SdkQueue {
    async fn send_later(&self, queue_arn: &str, bodies: &[&str], delay: Duration) -> Result<(), Error> {
        let url = url_of(queue_arn).ok_or_else(|| Error::invalid(format!("{queue_arn:?} is not an SQS queue ARN")))?;
        let delay = delay.as_secs().min(900) as i32;
        for chunk in bodies.chunks(BATCH) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, body)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(*body)
                        .delay_seconds(delay)
                        .build()
                        .map_err(|e| Error::CloudFront(format!("SendMessageBatch entry: {e}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let out = self
                .client
                .send_message_batch()
                .queue_url(&url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| Error::CloudFront(crate::sdk_error::one_line("SendMessageBatch", &e)))?;
            if let Some(f) = out.failed.first() {
                return Err(Error::CloudFront(format!(
                    "SendMessageBatch: {} of {} not sent ({}: {})",
                    out.failed.len(),
                    chunk.len(),
                    f.code,
                    f.message.as_deref().unwrap_or("")
                )));
            }
        }
        Ok(())
    }
}
