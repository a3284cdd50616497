//! Distribution tenants end to end: the real handler and the real `aws-sdk-cloudfront`
//! against the moto stand-in's tenant API (`tests/support/moto_aws.py`), for a platform that
//! serves two customers' sites from one bucket, each under its prefix, through one multi-tenant
//! distribution with a tenant per customer.

use cf_invalidator::invocation::Invocation;
use cf_invalidator::lambda::{self, Output};
use cf_invalidator::Config;
use serde_json::json;

use crate::events::{s3_notification, sqs_event};
use crate::venv::Moto;

const PARENT: &str = "EPLATFORM123";

/// The platform's routes: each customer's prefix to its tenant, stripped as the tenant's origin
/// path; the rest of the bucket to the distribution itself.
fn platform() -> Config {
    let routes = json!([
        {"bucket": "www-example", "prefix": "customers/acme/",
         "distributions": [{"id": "dt_acme", "origin_path": "/customers/acme"}]},
        {"bucket": "www-example", "prefix": "customers/globex/",
         "distributions": [{"id": "dt_globex", "origin_path": "/customers/globex"}]},
        {"bucket": "www-example", "prefix": "", "distributions": [PARENT]}
    ]);
    Config::from_pairs(&[("ROUTES", &routes.to_string())]).unwrap()
}

fn start() -> Moto {
    Moto::start(&["--distribution-ids", PARENT, "--tenants", &format!("dt_acme={PARENT},dt_globex={PARENT}")])
}

fn invocation(id: &str) -> Invocation {
    Invocation { request_id: id.to_string(), deadline: None, now: Some(std::time::SystemTime::now()) }
}

fn batch(keys: &[&str]) -> Vec<u8> {
    let messages: Vec<(String, String)> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| (format!("m{i}"), s3_notification(k, &format!("00{i:015}"), false)))
        .collect();
    sqs_event(&messages)
}

fn failures(o: &Output) -> Vec<String> {
    let v = serde_json::to_value(o).unwrap();
    v["batchItemFailures"].as_array().unwrap().iter().map(|f| f["itemIdentifier"].as_str().unwrap().into()).collect()
}

/// Rule: keys under each customer's prefix are invalidated on that customer's tenant
/// (CreateInvalidationForDistributionTenant), with the prefix stripped as its origin path; the
/// rest goes to the distribution. A redelivery of the same batch makes nothing new (the same
/// CallerReference, found in the tenant's own list).
#[tokio::test]
async fn a_two_tenant_bucket_is_invalidated_per_tenant_by_prefix() {
    let moto = start();
    let cf = moto.cloudfront();
    let cfg = platform();
    let keys =
        ["customers/acme/index.html", "customers/acme/css/site.css", "customers/globex/about.html", "robots.txt"];
    let out = lambda::handle(&cfg, &cf, &batch(&keys), &invocation("r1")).await.unwrap();
    assert!(failures(&out).is_empty(), "every message acknowledged");
    let acme = moto.tenant_invalidations("dt_acme").await;
    let globex = moto.tenant_invalidations("dt_globex").await;
    assert_eq!(acme.len(), 1, "{acme:?}");
    assert_eq!(acme[0].1, ["/", "/css/site.css", "/index.html"], "acme's keys, its origin path stripped");
    assert_eq!(globex.len(), 1, "{globex:?}");
    assert_eq!(globex[0].1, ["/about.html"]);
    assert_eq!(moto.invalidation_ids(PARENT).await.len(), 1, "robots.txt on the distribution itself");
    let calls = moto.calls();
    let creates = calls.iter().filter(|c| *c == "CreateInvalidationForDistributionTenant").count();
    assert_eq!(creates, 2, "{calls:?}");

    // The same messages again (SQS redelivers): found, not created again.
    let again = lambda::handle(&cfg, &cf, &batch(&keys), &invocation("r2")).await.unwrap();
    assert!(failures(&again).is_empty());
    assert_eq!(moto.tenant_invalidations("dt_acme").await.len(), 1, "no second invalidation");
    assert_eq!(moto.tenant_invalidations("dt_globex").await.len(), 1);
}

/// Rule: an explicit request names `distribution_tenant_id`; its answer names the
/// tenant under that field (the workflow's wait loop and the completion event read it); a tenant
/// CloudFront does not know is `EntityNotFound`, the `NoSuchDistributionTenant` errorType.
#[tokio::test]
async fn explicit_requests_name_a_tenant() {
    let moto = start();
    let cf = moto.cloudfront();
    let cfg = platform();
    let req = json!({"distribution_tenant_id": "dt_acme", "paths": ["/index.html", "/docs/*"], "caller_reference": "deploy-7"});
    let out =
        serde_json::to_value(lambda::handle(&cfg, &cf, req.to_string().as_bytes(), &invocation("e1")).await.unwrap())
            .unwrap();
    assert_eq!(out["distribution_tenant_id"], "dt_acme", "{out}");
    assert!(out.get("distribution_id").is_none(), "{out}");
    assert_eq!(out["status"], "InProgress");
    let acme = moto.tenant_invalidations("dt_acme").await;
    assert_eq!(
        (acme[0].0.as_str(), acme[0].1.clone()),
        (out["invalidation_id"].as_str().unwrap(), vec!["/docs/*".to_string(), "/index.html".to_string()])
    );

    // A tracking input for the tenant's invalidation reads it back through GetInvalidationForDistributionTenant.
    let track = json!({"track": {"invalidations": [{"distribution_tenant_id": "dt_acme", "invalidation_id": out["invalidation_id"]}]}});
    let tracked =
        serde_json::to_value(lambda::handle(&cfg, &cf, track.to_string().as_bytes(), &invocation("e2")).await.unwrap())
            .unwrap();
    let first = &tracked["invalidations"][0];
    assert_eq!(
        (first["distribution_tenant_id"].as_str(), first["path_count"].as_u64()),
        (Some("dt_acme"), Some(2)),
        "{tracked}"
    );

    let unknown = json!({"distribution_tenant_id": "dt_nobody", "paths": ["/a"]});
    let e = lambda::handle(&cfg, &cf, unknown.to_string().as_bytes(), &invocation("e3")).await.unwrap_err();
    assert_eq!(e.error_type(), "NoSuchDistributionTenant", "{e}");
    assert!(e.to_string().contains("EntityNotFound") && e.to_string().contains("dt_nobody"), "{e}");
    let both = json!({"distribution_tenant_id": "dt_acme", "distribution_id": PARENT, "paths": ["/a"]});
    let e = lambda::handle(&cfg, &cf, both.to_string().as_bytes(), &invocation("e4")).await.unwrap_err();
    assert_eq!(e.error_type(), "InvalidInput", "{e}");
}

/// Unsettled (`docs/aws-facts.md`, "Distribution tenants"): whether the 3,000 + 15 in progress
/// count per tenant or on the parent distribution. With one tenant's quota full (another tool's
/// invalidations), the other tenant's changes: per tenant, invalidated at once; on the parent, held
/// (the messages come back), because CloudFront's refusal, not the tenant's own list, is the
/// authority on the room.
#[tokio::test]
async fn a_full_tenant_and_its_sibling_under_both_quota_readings() {
    use aws_sdk_cloudfront::types::{InvalidationBatch, Paths};
    for (reading, on_parent, sibling_held) in [("per tenant", false, false), ("on the parent", true, true)] {
        let moto = start();
        moto.config(json!({"quota": true, "tenant_quota_on_parent": on_parent, "complete_after_reads": -1}));
        let busy: Vec<String> = (0..3000).map(|i| format!("/busy/{i}")).collect();
        let wild: Vec<String> = (0..15).map(|i| format!("/w{i}/*")).collect();
        for (r, items) in [("other-tool-1", busy), ("other-tool-2", wild)] {
            let paths = Paths::builder().quantity(items.len() as i32).set_items(Some(items)).build().unwrap();
            let batch = InvalidationBatch::builder().caller_reference(r).paths(paths).build().unwrap();
            moto.sdk()
                .create_invalidation_for_distribution_tenant()
                .id("dt_acme")
                .invalidation_batch(batch)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{reading}: {e:?}"));
        }
        let cf = moto.cloudfront();
        // A batch of which nothing could be submitted fails whole (its messages come back).
        let held = |r: Result<Output, cf_invalidator::Error>| match r {
            Err(e) => (e.error_type(), e.to_string()),
            Ok(o) => ("", format!("{:?}", failures(&o))),
        };
        let globex = lambda::handle(&platform(), &cf, &batch(&["customers/globex/a.html"]), &invocation("q1")).await;
        let made = moto.tenant_invalidations("dt_globex").await;
        if sibling_held {
            let (kind, text) = held(globex);
            assert_eq!(kind, "TooManyInvalidationsInProgress", "{reading}: the change waits for room: {text}");
            assert!(text.contains("dt_globex"), "{reading}: {text}");
            assert!(made.is_empty(), "{reading}");
        } else {
            assert!(failures(&globex.unwrap()).is_empty(), "{reading}");
            assert_eq!(made.len(), 1, "{reading}");
        }
        let acme = lambda::handle(&platform(), &cf, &batch(&["customers/acme/a.html"]), &invocation("q2")).await;
        assert_eq!(held(acme).0, "TooManyInvalidationsInProgress", "{reading}: the full tenant's own change waits");
    }
}

/// The in-memory CloudFront, for the rules that need a controlled clock.
mod in_memory {
    use super::*;
    use cf_invalidator::cloudfront::{CloudFront, CreateRequest, MemoryCloudFront};
    use cf_invalidator::model::TargetId;

    /// The in-memory CloudFront keeps the test's clock, not the wall clock: no pacing by it.
    fn invocation(id: &str) -> Invocation {
        Invocation { request_id: id.to_string(), deadline: None, now: None }
    }

    /// The sample notifications' `eventTime` (2026-01-01T00:00:00Z) in the in-memory clock's seconds.
    const CHANGED_AT: u64 = 1_767_225_600;

    fn platform_cf(on_parent: bool) -> MemoryCloudFront {
        let cf = MemoryCloudFront::new(&[PARENT]);
        cf.add_tenant("dt_acme", PARENT);
        cf.add_tenant("dt_globex", PARENT);
        cf.tenant_quota_on_parent(on_parent);
        cf
    }

    async fn other_tool(cf: &MemoryCloudFront, on: &str, reference: &str, paths: &[&str]) {
        let paths: Vec<String> = paths.iter().map(|p| p.to_string()).collect();
        let target = TargetId::parse(on).unwrap();
        cf.create_invalidation(CreateRequest { target: &target, caller_reference: reference, paths: &paths }, None)
            .await
            .unwrap();
    }

    fn on(cf: &MemoryCloudFront, id: &str) -> Vec<Vec<String>> {
        cf.invalidations().into_iter().filter(|i| i.distribution_id == id).map(|i| i.paths).collect()
    }

    /// Unsettled (`docs/aws-facts.md`, "Distribution tenants"): whether the parent distribution's
    /// invalidations clear a tenant's cache. The safe choice: "covered already" counts only the
    /// tenant's own. A `/*` on the parent made after the change covers nothing of the tenant's; the
    /// tenant's own `/*` covers it.
    #[tokio::test]
    async fn only_the_tenants_own_invalidations_cover_its_changes() {
        let cf = platform_cf(false);
        cf.set_now(CHANGED_AT + 60);
        other_tool(&cf, PARENT, "someone-1", &["/*"]).await;
        let out = lambda::handle(&platform(), &cf, &batch(&["customers/acme/a.html"]), &invocation("c1")).await;
        assert!(failures(&out.unwrap()).is_empty());
        assert_eq!(on(&cf, "dt_acme"), [["/a.html"]], "the parent's /* is not taken to cover the tenant");

        let cf = platform_cf(false);
        cf.set_now(CHANGED_AT + 60);
        other_tool(&cf, "dt_acme", "someone-2", &["/*"]).await;
        let out = lambda::handle(&platform(), &cf, &batch(&["customers/acme/a.html"]), &invocation("c2")).await;
        assert!(failures(&out.unwrap()).is_empty());
        assert_eq!(on(&cf, "dt_acme"), [["/*"]], "the tenant's own /* covers it: nothing new");
    }

    /// Both quota readings on the in-memory CloudFront: a full tenant's sibling is invalidated
    /// (per tenant) or held (on the parent), the full tenant's own change held in both.
    #[tokio::test]
    async fn a_full_tenants_sibling_under_both_quota_readings() {
        let busy: Vec<String> = (0..3000).map(|i| format!("/busy/{i}")).collect();
        let wild: Vec<String> = (0..15).map(|i| format!("/w{i}/*")).collect();
        // (reading, on the parent, the sibling's change invalidated)
        for (reading, on_parent, sibling_made) in [("per tenant", false, true), ("on the parent", true, false)] {
            let cf = platform_cf(on_parent);
            cf.set_now(CHANGED_AT + 60);
            for (r, p) in [("busy", &busy), ("busy-w", &wild)] {
                let p: Vec<&str> = p.iter().map(String::as_str).collect();
                other_tool(&cf, "dt_acme", r, &p).await;
            }
            let globex = lambda::handle(&platform(), &cf, &batch(&["customers/globex/a.html"]), &invocation("g")).await;
            assert_eq!(globex.is_ok(), sibling_made, "{reading}: {globex:?}");
            assert_eq!(on(&cf, "dt_globex").len(), usize::from(sibling_made), "{reading}");
            let acme = lambda::handle(&platform(), &cf, &batch(&["customers/acme/a.html"]), &invocation("a")).await;
            assert_eq!(acme.unwrap_err().error_type(), "TooManyInvalidationsInProgress", "{reading}");
        }
    }
}
