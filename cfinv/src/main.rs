//! `cfinv`: the invalidator's library on the command line, configured by the same environment
//! variables as the Lambda. One file per subcommand, each with its `Args` and `run()`;
//! `cfinv invalidate` is the deploy-script tool: keys in, invalidations created and waited for.

mod cost;
mod create_and_wait;
mod input;
mod invalidate;
mod invoke;
mod list;
mod plan;
mod progress;
mod report;
mod room;
mod status;

mod log;

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

use cf_invalidator::cloudfront::SdkCloudFront;
use cf_invalidator::{Config, Error};
use clap::{Parser, Subcommand};
use serde_json::json;

/// Exit status: an error (CloudFront refused or failed, the input cannot be planned).
pub const EXIT_ERROR: u8 = 1;
/// Exit status: bad arguments, unreadable input, invalid environment variables.
pub const EXIT_USAGE: u8 = 2;
/// Exit status: `invalidate --timeout` passed.
pub const EXIT_TIMEOUT: u8 = 3;
/// Exit status: no AWS credentials were found (`NoCredentials`): nothing was sent.
pub const EXIT_NO_CREDENTIALS: u8 = 4;
/// Exit status: interrupted (Ctrl-C), as shells report SIGINT (128 + 2).
pub const EXIT_INTERRUPTED: u8 = 130;
/// Exit status: terminated (SIGTERM, what CI runners send on cancel), as shells report it (128 + 15).
pub const EXIT_TERMINATED: u8 = 143;

#[derive(Parser)]
#[command(
    name = "cfinv",
    version,
    about = "Plan and create CloudFront invalidations from S3 keys and events, as the cf-invalidator Lambda does",
    long_about = "Plan and create CloudFront invalidations from S3 keys and events, as the cf-invalidator Lambda does.\n\n\
`cfinv invalidate` is the deploy-script tool: the keys your deploy changed (arguments, a file, or the output of \
`aws s3 sync`) become the Lambda's planned paths, created once however often the script runs, and with --wait \
waited for until CloudFront has completed them.\n\n\
Configuration comes from the Lambda's environment variables: DISTRIBUTION_ID, ORIGIN_PATH, INDEX_DOCUMENT, \
MAX_PATHS, MAX_WILDCARDS, INCLUDE, EXCLUDE, TAGS, ROUTES (a route may name a role_arn to assume for a distribution in another account), CLOUDFRONT_ENDPOINT_URL (see the README). CloudFront credentials and endpoint come \
from the AWS SDK's standard settings (AWS_PROFILE, AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL_CLOUDFRONT, ...).",
    after_help = "Example:\n  \
aws s3 sync public/ s3://my-site/ --delete | tee sync.log\n  \
cfinv invalidate --distribution-id EDFDVBD632BHDS5 --from sync.log --wait\n\n\
Exit status: 0 success; 1 error (CloudFront refused or failed, the input cannot be planned); \
2 usage (bad arguments, unreadable input, invalid environment variables); \
3 timed out (invalidate --timeout); 4 no AWS credentials found; 130 interrupted (Ctrl-C); 143 terminated \
(SIGTERM). An error is one line on standard error (`cfinv: ErrorType: message`); with --json, also the JSON \
error object {\"errorType\", \"errorMessage\"} on standard output. `cfinv help invalidate` has the details."
)]
struct Cli {
    /// Print no warnings (errors still are).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// Show more: -v what the library does at each step, -vv also the AWS SDK's requests.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the invalidations for changed S3 keys (arguments, a file, `aws s3 sync` output),
    /// planned like the Lambda; with --wait, wait until CloudFront has completed them.
    ///
    /// The deploy-script replacement for `aws cloudfront create-invalidation` followed by
    /// `aws cloudfront wait invalidation-completed` (which gives up after 10 minutes): the paths
    /// are the Lambda's (index documents, encodings, budgets), the request fits the room
    /// CloudFront's in-progress quota leaves or waits for it, and a re-run creates nothing new.
    #[command(after_help = invalidate::AFTER_HELP)]
    Invalidate(invalidate::Args),
    /// Print the invalidation request(s) an event would make, without any AWS call.
    ///
    /// Shows, per request: keys in, keys skipped and why, the paths, how many are wildcards, and
    /// the estimated cost ($0.005 a path past the free 1,000 a month). With --room, exactly what
    /// the Lambda would send given that room.
    Plan(plan::Args),
    /// Run the Lambda's handler in-process on an event against CloudFront and print its response.
    Invoke(invoke::Args),
    /// List a distribution's recent invalidations with their status and paths.
    List(list::Args),
    /// Print an invalidation's status (GetInvalidation).
    Status(status::Args),
    /// Show the room CloudFront's in-progress quota leaves on a distribution, who holds the rest,
    /// and the oldest invalidation in progress: the first command to run when changes are waiting.
    ///
    /// Exact and wildcard paths in progress and left (CloudFront allows 3,000 and 15), split
    /// between this function's invalidations (references cfinv-… and sfn-…) and other tools'.
    #[command(after_help = room::AFTER_HELP)]
    Room(room::Args),
    /// What a month of invalidations on a distribution bills, and by whom: this project's paths,
    /// others' (including references a caller chose), wildcards, the estimated charge past the
    /// account's free 1,000 paths, and the most expensive invalidations.
    #[command(after_help = cost::AFTER_HELP)]
    Cost(cost::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    log::init(cli.quiet, cli.verbose);
    // One line per subcommand: each parses its own arguments and reports through `fail`.
    match cli.command {
        Command::Invalidate(args) => invalidate::run(args),
        Command::Plan(args) => plan::run(args),
        Command::Invoke(args) => invoke::run(args),
        Command::List(args) => list::run(args),
        Command::Status(args) => status::run(args),
        Command::Room(args) => room::run(args),
        Command::Cost(args) => cost::run(args),
    }
}

/// The Lambda's configuration from the environment, or the message that names the variable.
pub fn config() -> Result<Config, String> {
    Config::from_env().map_err(|e| {
        format!("{e}\nFix the variable in your environment (the README lists every variable and its values).")
    })
}

/// The SDK's CloudFront client, configured as the Lambda's (endpoint and roles from ROUTES).
pub async fn cloudfront(cfg: &Config) -> SdkCloudFront {
    let roles = cfg.roles.iter().map(|(d, r)| (d.as_str(), r.as_str()));
    SdkCloudFront::from_env(cfg.cloudfront_endpoint.as_deref(), roles).await
}

/// A usage error (bad arguments, unreadable input, invalid environment variables): `fail`'s
/// contract with `errorType` `UsageError`, exit 2.
pub fn usage(json: bool, msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("cfinv: {msg}");
    if json {
        println!("{}", json!({"errorType": "UsageError", "errorMessage": msg.to_string()}));
    }
    ExitCode::from(EXIT_USAGE)
}

/// The one error contract of every subcommand: a line on standard error for the person
/// (`cfinv: ErrorType: message`, and what to do when there is something to do); with `json`, also
/// the JSON error object the Lambda returns, on standard output, for scripts. The exit status is
/// the error's ([`exit_code`]).
pub fn fail(json: bool, e: &Error) -> ExitCode {
    eprintln!("{}", error_line(e));
    if json {
        println!("{}", error_json(e));
    }
    ExitCode::from(exit_code(e))
}

/// `cfinv: ErrorType: message`, and on a second line what to do, when there is something to do.
pub fn error_line(e: &Error) -> String {
    format!("cfinv: {}: {e}{}", e.error_type(), hint(e))
}

/// The Lambda's error shape: `{"errorType", "errorMessage"}`.
pub fn error_json(e: &Error) -> serde_json::Value {
    json!({"errorType": e.error_type(), "errorMessage": e.to_string()})
}

/// The exit status of an error: no credentials have their own (nothing was sent, and no retry
/// helps), every other error is 1.
pub fn exit_code(e: &Error) -> u8 {
    match e {
        Error::NoCredentials(_) => EXIT_NO_CREDENTIALS,
        _ => EXIT_ERROR,
    }
}

fn hint(e: &Error) -> &'static str {
    match e {
        Error::AccessDenied { .. } => {
            "\n(the credentials need cloudfront:CreateInvalidation, cloudfront:GetInvalidation and cloudfront:ListInvalidations on the distribution)"
        }
        Error::NoSuchDistribution { .. } => "\n(check --distribution-id, DISTRIBUTION_ID or ROUTES)",
        Error::NoSuchDistributionTenant { .. } => "\n(check --distribution-tenant-id or ROUTES: a tenant id is dt_…)",
        Error::NoSuchInvalidation { .. } => "\n(`cfinv list DISTRIBUTION` shows the ids of its recent invalidations)",
        Error::NoCredentials(_) => {
            "\n(provide credentials as the AWS CLI finds them: `aws sso login --profile NAME` and AWS_PROFILE=NAME, \
a profile in ~/.aws/credentials or ~/.aws/config (static keys, credential_process, role_arn), or \
AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; `aws sts get-caller-identity` checks them)"
        }
        _ => "",
    }
}

/// An event file (`-`: standard input).
pub fn read_event(path: &Path) -> Result<Vec<u8>, String> {
    if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin().read_to_end(&mut buf).map_err(|e| format!("cannot read standard input: {e}"))?;
        return Ok(buf);
    }
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// A runtime for one command's AWS calls.
pub fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())
}

/// Runs an async command; its `Err` is a usage error (`fail`'s contract, `json` as asked).
pub fn block_on(json: bool, f: impl std::future::Future<Output = Result<ExitCode, String>>) -> ExitCode {
    match runtime().and_then(|rt| rt.block_on(f)) {
        Ok(code) => code,
        Err(msg) => usage(json, msg),
    }
}
