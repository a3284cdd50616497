//! The `aws-sdk-sfn` adapter of the [`Tracker`] port: StartExecution on the one tracking state
//! machine, `ExecutionAlreadyExists` read as "already tracked".

use std::time::Duration;

use aws_sdk_sfn::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sfn::operation::start_execution::StartExecutionError;

use super::{region_of, Started, TrackError, Tracker};
use crate::deadline::{self, Instant};
use crate::sdk_error::one_line;

pub struct SdkTracker {
    client: aws_sdk_sfn::Client,
    state_machine_arn: String,
}

impl SdkTracker {
    /// Configuration from the SDK's standard chain (credentials, `AWS_ENDPOINT_URL_SFN`, retries).
    /// The region is the state machine's own, from its ARN: nothing touches the network before the
    /// first event, as for CloudFront.
    pub async fn from_env(state_machine_arn: &str) -> Self {
        let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(region_of(state_machine_arn).to_string()))
            .timeout_config(timeouts())
            .load()
            .await;
        Self::from_client(aws_sdk_sfn::Client::new(&conf), state_machine_arn)
    }

    pub fn from_client(client: aws_sdk_sfn::Client, state_machine_arn: &str) -> Self {
        SdkTracker { client, state_machine_arn: state_machine_arn.to_string() }
    }
}

/// Tracking comes after the invalidations are created: a hung call must not hold the invocation,
/// so shorter than CloudFront's (the SDK's standard retry still makes 3 attempts).
fn timeouts() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(3))
        .operation_attempt_timeout(Duration::from_secs(5))
        .operation_timeout(Duration::from_secs(15))
        .build()
}

fn classify(e: SdkError<StartExecutionError>) -> Result<Started, TrackError> {
    let message = one_line("StartExecution", &e);
    let SdkError::ServiceError(se) = e else {
        return Err(TrackError { code: "StepFunctionsError".into(), message });
    };
    match se.into_err() {
        StartExecutionError::ExecutionAlreadyExists(_) => Ok(Started::AlreadyExists),
        other => Err(TrackError { code: other.code().unwrap_or("StepFunctionsError").to_string(), message }),
    }
}

impl Tracker for SdkTracker {
    async fn start_execution(&self, name: &str, input: &str, deadline: Option<Instant>) -> Result<Started, TrackError> {
        let call = async {
            match self
                .client
                .start_execution()
                .state_machine_arn(&self.state_machine_arn)
                .name(name)
                .input(input)
                .send()
                .await
            {
                Ok(out) => Ok(Started::Execution { execution_arn: out.execution_arn }),
                Err(e) => classify(e),
            }
        };
        deadline::by(deadline, call, |left| {
            Err(TrackError {
                code: "Timeout".into(),
                message: format!(
                    "StartExecution gave up after {} ms to answer before the invocation's deadline",
                    left.as_millis()
                ),
            })
        })
        .await
    }
}
