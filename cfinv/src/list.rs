//! `cfinv list`: a distribution's (or a distribution tenant's own) newest invalidations with their
//! status and paths: a line each (and its paths below), or with `--json` one document.

use std::process::ExitCode;

use cf_invalidator::cloudfront::{CloudFront, NewestFirst};
use cf_invalidator::model::TargetId;
use serde_json::json;

use crate::exit::fail;
use crate::setup::{block_on, cloudfront};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The distribution id, e.g. EDFDVBD632BHDS5, or a distribution tenant's, dt_….
    #[arg(value_name = "DISTRIBUTION", value_parser = TargetId::parse)]
    distribution_id: TargetId,
    /// Print one JSON document (for scripts) instead of lines; an error is then the JSON error object.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> ExitCode {
    block_on(args.json, list(&args.distribution_id, args.json))
}

async fn list(distribution_id: &TargetId, json: bool) -> Result<ExitCode, String> {
    let cf = cloudfront(&crate::setup::config()?).await;
    // The first page: CloudFront's 100 newest.
    let ids: Vec<String> = match NewestFirst::new(&cf, distribution_id).next_page().await {
        Ok(page) => page.into_iter().flatten().map(|s| s.id).collect(),
        Err(e) => return Ok(fail(json, &e)),
    };
    let mut all = Vec::with_capacity(ids.len());
    for id in ids {
        match cf.get_invalidation(distribution_id, &id).await {
            Ok(i) => all.push(i),
            Err(e) => return Ok(fail(json, &e)),
        }
    }
    if json {
        let all: Vec<_> = all
            .iter()
            .map(|i| json!({"invalidation_id": i.id, "status": i.status, "caller_reference": i.caller_reference, "paths": i.paths}))
            .collect();
        let doc = json!({distribution_id.field(): distribution_id, "invalidations": all});
        println!("{}", serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?);
    } else if all.is_empty() {
        println!("no invalidations on {distribution_id}");
    } else {
        for i in &all {
            println!("{}  {:<10} {} path(s)  reference {}", i.id, i.status, i.paths.len(), i.caller_reference);
            for p in &i.paths {
                println!("    {p}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
