//! The Lambda: load the configuration once, build the CloudFront client (and, with
//! `TRACK_STATE_MACHINE_ARN`, the Step Functions one), serve invocations.

use cf_invalidator::cloudfront::SdkCloudFront;
use cf_invalidator::handler::{self, Invocation};
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
    let cloudfront = SdkCloudFront::for_config(&config).await;
    let tracker = match config.track_state_machine_arn.as_deref() {
        Some(arn) => Some(SdkTracker::from_env(arn).await),
        None => None,
    };
    let (config, cloudfront, tracker) = (&config, &cloudfront, tracker.as_ref());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Box<RawValue>>| async move {
        let invocation = Invocation::from_context(&event.context);
        handler::handle_tracked(config, cloudfront, tracker, event.payload.get().as_bytes(), &invocation).await
    }))
    .await
}
