//! `cfinv invoke`: the Lambda's handler in-process on an event, against CloudFront, printing the
//! Lambda's own response.

use std::path::PathBuf;
use std::process::ExitCode;

use cf_invalidator::invocation::Invocation;
use cf_invalidator::lambda;

use crate::exit::fail;
use crate::setup::{block_on, cloudfront, read_event};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Event JSON file (any shape the Lambda accepts); `-` reads standard input.
    event: PathBuf,
    /// Lambda request id to use; repeat one to see what a Lambda retry of the same invoke does
    /// (explicit requests without a caller_reference derive theirs from it).
    #[arg(long)]
    request_id: Option<String>,
}

pub fn run(args: Args) -> ExitCode {
    block_on(false, invoke(args.event, args.request_id))
}

async fn invoke(event: PathBuf, request_id: Option<String>) -> Result<ExitCode, String> {
    let cfg = crate::setup::config()?;
    let payload = read_event(&event)?;
    let request_id = request_id.unwrap_or_else(|| {
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        format!("cfinv-{}-{nanos:x}", std::process::id())
    });
    let cf = cloudfront(&cfg).await;
    let inv = Invocation { request_id, deadline: None, now: Some(std::time::SystemTime::now()) };
    match lambda::handle(&cfg, &cf, &payload, &inv).await {
        Ok(out) => {
            println!("{}", serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?);
            Ok(ExitCode::SUCCESS)
        }
        // The Lambda's own error response, as it would return it (and the line on standard error).
        Err(e) => Ok(fail(true, &e)),
    }
}
