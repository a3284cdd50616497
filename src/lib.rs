//! cf-invalidator: S3 object changes → CloudFront invalidations.
//!
//! The core is pure and knows neither the SDK nor the Lambda runtime:
//!
//! - [`intake`] turns any payload (S3, SQS, SNS, EventBridge, explicit request) into changes;
//! - [`planner`] turns changes into the paths of one request per distribution (mapping,
//!   encoding, budgets), and [`reference`] derives each request's deterministic CallerReference;
//! - [`config`] reads and validates the environment once.
//!
//! At the edge, [`cloudfront`] is the port to CloudFront and its `aws-sdk-cloudfront` adapter, and
//! [`handler`] runs one invocation and shapes the response for its source, and [`observe`]
//! reports it (one summary line, EMF metrics). `main.rs` (the Lambda)
//! and `bin/cfinv.rs` (the local CLI) only wire these together. [`error`] holds the typed errors
//! and their stable `errorType` names.

pub mod cloudfront;
pub mod config;
pub mod error;
pub mod handler;
pub mod intake;
pub mod model;
pub mod observe;
pub mod planner;
pub mod quota;
pub mod reference;
pub mod track;

pub use config::Config;
pub use error::Error;
