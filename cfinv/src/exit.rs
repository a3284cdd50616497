//! The one error contract of every subcommand: exit statuses, the line on standard error, and
//! with `--json` the Lambda's error object on standard output.

use std::process::ExitCode;

use cf_invalidator::Error;
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
