//! `cfinv status`: one invalidation's status and paths (GetInvalidation, or
//! GetInvalidationForDistributionTenant for a tenant's): lines, or with `--json` one document.

use std::process::ExitCode;

use cf_invalidator::cloudfront::CloudFront;
use cf_invalidator::model::TargetId;
use serde_json::json;

use crate::exit::fail;
use crate::setup::{block_on, cloudfront};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The distribution id, e.g. EDFDVBD632BHDS5, or a distribution tenant's, dt_….
    #[arg(value_name = "DISTRIBUTION", value_parser = TargetId::parse)]
    distribution_id: TargetId,
    /// The invalidation id, as printed by `cfinv invalidate`, `cfinv list` or `cfinv invoke`.
    invalidation_id: String,
    /// Print one JSON document (for scripts) instead of lines; an error is then the JSON error object.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> ExitCode {
    block_on(args.json, status(&args.distribution_id, &args.invalidation_id, args.json))
}

async fn status(distribution_id: &TargetId, id: &str, json: bool) -> Result<ExitCode, String> {
    let cf = cloudfront(&crate::setup::config()?).await;
    let i = match cf.get_invalidation(distribution_id, id).await {
        Ok(i) => i,
        Err(e) => return Ok(fail(json, &e)),
    };
    if json {
        let doc = json!({distribution_id.field(): distribution_id, "invalidation_id": i.id, "status": i.status,
                         "caller_reference": i.caller_reference, "paths": i.paths});
        println!("{}", serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?);
    } else {
        println!(
            "{} on {distribution_id}: {}, {} path(s), reference {}",
            i.id,
            i.status,
            i.paths.len(),
            i.caller_reference
        );
        for p in &i.paths {
            println!("    {p}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
