//! cf-invalidator: S3 object changes → CloudFront invalidations.
//!
//! The core is pure and knows neither the SDK nor the Lambda runtime; flow goes one way:
//!
//! - [`model`] is the shared vocabulary (changes, distribution ids, CloudFront's rules and limits);
//!   intake and the planner depend on it and never on each other;
//! - [`intake`] turns any payload (S3, SQS, SNS, EventBridge, Lambda destination records, explicit
//!   requests) into changes;
//! - [`planner`] routes changes to distributions and turns them into the covers of one request
//!   per distribution (mapping, encoding, cache tags), fitted to a budget;
//! - [`quota`] reads the room CloudFront's in-progress quota leaves, the budget's other half;
//! - [`reference`] decides each request's CallerReference;
//! - [`config`] reads and validates the environment once.
//!
//! At the edge, [`cloudfront`] is the port to CloudFront with its `aws-sdk-cloudfront` and
//! in-memory adapters, [`track`] the port that starts the workflow's tracker (`aws-sdk-sfn`, in
//! memory), [`handler`] runs one invocation and shapes the response for its source, and
//! [`observe`] reports it (one summary line, EMF metrics). `main.rs` (the Lambda) and
//! `bin/cfinv.rs` (the CLI) only wire these together. [`error`] holds the typed errors and their
//! stable `errorType` names; `sdk_error` writes an SDK error as the one line they carry.

pub mod cloudfront;
pub mod config;
pub mod deadline;
pub mod error;
pub mod handler;
pub mod intake;
pub mod model;
pub mod observe;
pub mod planner;
pub mod quota;
pub mod reference;
mod sdk_error;
pub mod track;

pub use config::Config;
pub use error::Error;
