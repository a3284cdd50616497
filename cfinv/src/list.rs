//! `cfinv list`: a distribution's (or a distribution tenant's own) newest invalidations with their
//! status and paths.

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
}

pub fn run(args: Args) -> ExitCode {
    block_on(list(&args.distribution_id))
}

async fn list(distribution_id: &TargetId) -> Result<ExitCode, String> {
    let cf = cloudfront(&crate::config()?).await;
    // The first page: CloudFront's 100 newest.
    let ids: Vec<String> = match cf.list_invalidations(distribution_id, None).await {
        Ok(page) => page.items.into_iter().map(|s| s.id).collect(),
        Err(e) => return Ok(print_error(&e)),
    };
    let mut all = Vec::with_capacity(ids.len());
    for id in ids {
        match cf.get_invalidation(distribution_id, &id).await {
            Ok(i) => all.push(json!({"invalidation_id": i.id, "status": i.status, "caller_reference": i.caller_reference, "paths": i.paths})),
            Err(e) => return Ok(print_error(&e)),
        }
    }
    let doc = json!({distribution_id.field(): distribution_id, "invalidations": all});
    println!("{}", serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?);
    Ok(ExitCode::SUCCESS)
}
