//! A rollback through `cfinv invalidate` end to end: the built binary against the moto stand-in,
//! which honours CallerReference as CloudFront does (the same reference and paths give back the
//! existing invalidation, `Completed` long since). A deploy id reused for a rollback after another
//! deploy of the same keys is a new deploy; a re-run without one in between is a retry.

use cf_invalidator::reference;
use serde_json::Value;

use crate::venv::Moto;

fn invalidate(moto: &Moto, id: &str, keys: &[&str]) -> Value {
    let mut cmd = crate::cli::cfinv_on(moto);
    cmd.args(["invalidate", "--json", "--caller-reference", id])
        .args(keys)
        .env("DISTRIBUTION_ID", &moto.distributions[0]);
    let out = crate::cli::run_cfinv(cmd, "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.json()["invalidations"][0].clone()
}

/// Rule: a rollback is a new deploy, a retry is not. Deploy A, deploy B of the same keys, then
/// A's pipeline re-run (`--caller-reference` A's commit): a new invalidation under a reference
/// derived from A's, not A's completed one; that re-run retried finds it; A re-run with nothing
/// in between gets A's own back.
#[tokio::test]
async fn a_deploy_id_reused_after_another_deploy_invalidates_again() {
    // Completed at once: the earlier invalidation is not in progress, so only CloudFront's answer
    // to the same reference finds it.
    let moto = Moto::start(&["--complete-after", "0"]);
    let site = ["index.html", "js/app.js"];
    let a = invalidate(&moto, "sha-a", &site);
    let retry = invalidate(&moto, "sha-a", &site);
    assert_eq!(
        (&retry["invalidation_id"], &retry["created_by_earlier_run"]),
        (&a["invalidation_id"], &Value::Bool(true))
    );
    let b = invalidate(&moto, "sha-b", &site);
    assert_ne!(b["invalidation_id"], a["invalidation_id"]);

    let rollback = invalidate(&moto, "sha-a", &site);
    assert_ne!(rollback["invalidation_id"], a["invalidation_id"], "A's completed invalidation is not the answer");
    let derived = reference::redeployed(a["caller_reference"].as_str().unwrap());
    assert_eq!(rollback["caller_reference"], derived.as_str());
    assert_eq!(rollback["paths"], a["paths"]);

    let rollback_retried = invalidate(&moto, "sha-a", &site);
    assert_eq!(rollback_retried["invalidation_id"], rollback["invalidation_id"]);
    assert_eq!(moto.invalidation_ids(&moto.distributions[0]).await.len(), 3);
}
