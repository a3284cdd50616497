//! The Lambda: load the configuration once, build the CloudFront client (and, with
//! `TRACK_STATE_MACHINE_ARN`, the Step Functions one) and what the container remembers, serve
//! invocations.

// The invocation's future nests intake, the submit step and the SDK's own futures deeper than the
// compiler's default layout depth (128).
#![recursion_limit = "256"]

use cf_invalidator::cloudfront::SdkCloudFront;
use cf_invalidator::known::Known;
use cf_invalidator::lambda;
use cf_invalidator::queue::SdkQueue;
use cf_invalidator::track::SdkTracker;
use cf_invalidator::Config;
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::value::RawValue;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    // Honours AWS_LAMBDA_LOG_LEVEL and AWS_LAMBDA_LOG_FORMAT=JSON.
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env()
        .inspect_err(|e| tracing::error!(error_type = e.error_type(), error = %e, "invalid configuration"))?;
    let roles = config.roles.iter().map(|(d, r)| (d.as_str(), r.as_str()));
    let cloudfront = SdkCloudFront::from_env(config.cloudfront_endpoint.as_deref(), roles).await;
    let tracker = match config.track_state_machine_arn.as_deref() {
        Some(arn) => Some(SdkTracker::from_env(arn).await),
        None => None,
    };
    let queue = SdkQueue::from_env().await;
    let known = Known::new();
    let (config, cloudfront, tracker, known, queue) = (&config, &cloudfront, tracker.as_ref(), &known, &queue);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Box<RawValue>>| async move {
        let invocation = lambda::invocation(&event.context);
        let payload = event.payload.get().as_bytes();
        lambda::handle_with(config, cloudfront, known, tracker, Some(queue), payload, &invocation).await
    }))
    .await
}
