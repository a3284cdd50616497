//! `cfinv`: the invalidator's library on the command line, configured by the same environment
//! variables as the Lambda. One file per subcommand, each with its `Args` and `run()`;
//! `cfinv invalidate` is the deploy-script tool: keys in, invalidations created and waited for.

mod cost;
mod create_and_wait;
mod exit;
mod input;
mod invalidate;
mod invoke;
mod list;
mod plan;
mod progress;
mod report;
mod room;
mod setup;
mod status;

mod log;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
