//! cf-invalidator: S3 object changes → CloudFront invalidations.
//!
//! The core is pure and knows neither the SDK nor the Lambda runtime; flow goes one way:
//!
//! - [`model`] is the shared vocabulary (changes, distribution ids, CloudFront's rules and limits,
//!   the one count of exact and wildcard paths); intake and the planner depend on it and never on
//!   each other;
//! - [`intake`] turns any payload (S3, SQS, SNS, EventBridge, Lambda destination records, explicit
//!   requests) into changes;
//! - [`planner`] routes changes to distributions and turns them into the covers of one request
//!   per distribution (mapping, encoding, cache tags), fitted to a budget; it takes its own
//!   [`planner::Settings`];
//! - [`prepare`] is the one pipeline from changes or given paths to one submission per
//!   distribution (plan, CallerReference, explanation): `cfinv plan` stops there;
//! - [`reference`](mod@reference) decides each request's CallerReference, the one rule;
//! - [`submit`] is the one submit step of the Lambda and `cfinv invalidate`: an earlier
//!   invalidation of the same request first, then the room ([`quota`]), the fit, the create, and
//!   recovery; [`known`] is what a container remembers between invocations; [`budget`] reads
//!   what a month of invalidations bills (`cfinv cost`) and keeps the monthly path budget;
//! - [`invocation`] runs one invocation through these, counts what it made and tracks it
//!   ([`track`]); [`observe`] writes its report (one summary line, EMF metrics);
//! - [`config`] reads and validates the environment once, and builds the planner's settings;
//! - [`deadline`] holds every deadline on tokio's clock (the storm benchmark's simulated time).
//!
//! At the edge, [`cloudfront`] is the port to CloudFront with its `aws-sdk-cloudfront` and
//! in-memory adapters, [`track`] the port that starts the workflow's tracker (`aws-sdk-sfn`, in
//! memory), and [`lambda`] the Lambda edge: the runtime's context, `Diagnostic`, the answer each
//! source expects. `main.rs` (the Lambda) and the `cfinv` package (the CLI, `cfinv/`) only wire
//! these together. [`error`] holds the typed errors and their stable `errorType` names;
//! `sdk_error` writes an SDK error as the one line they carry.

pub mod budget;
pub mod cloudfront;
pub mod config;
pub mod deadline;
pub mod error;
pub mod intake;
pub mod invocation;
pub mod known;
pub mod lambda;
pub mod model;
pub mod month;
pub mod observe;
pub mod planner;
pub mod prepare;
pub mod queue;
pub mod quota;
pub mod reference;
mod sdk_error;
pub mod submit;
pub mod track;

pub use config::Config;
pub use error::Error;
