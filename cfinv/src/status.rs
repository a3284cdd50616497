//! `cfinv status`: one invalidation's status and paths (GetInvalidation, or
//! GetInvalidationForDistributionTenant for a tenant's).

use std::process::ExitCode;

use cf_invalidator::cloudfront::CloudFront;
use cf_invalidator::model::TargetId;
use serde_json::json;

use crate::{block_on, cloudfront, print_error};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The distribution id, e.g. EDFDVBD632BHDS5, or a distribution tenant's, dt_….
    #[arg(value_name = "DISTRIBUTION", value_parser = TargetId::parse)]
    distribution_id: TargetId,
    /// The invalidation id, as printed by `cfinv invoke`.
    invalidation_id: String,
}

pub fn run(args: Args) -> ExitCode {
    block_on(status(&args.distribution_id, &args.invalidation_id))
}

async fn status(distribution_id: &TargetId, id: &str) -> Result<ExitCode, String> {
    let cf = cloudfront(&crate::config()?).await;
    match cf.get_invalidation(distribution_id, id).await {
        Ok(i) => {
            let doc = json!({distribution_id.field(): distribution_id, "invalidation_id": i.id, "status": i.status,
                             "caller_reference": i.caller_reference, "paths": i.paths});
            println!("{}", serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Ok(print_error(&e)),
    }
}
