//! Tenants: one list, one owner. Whether ListInvalidations on a parent distribution also returns
//! its tenants' invalidations is not documented; the moto stand-in keeps either reading
//! (`parent_lists_tenants`). In both, the real handler through `aws-sdk-cloudfront` never takes a
//! tenant's `/*` as covering the parent's changes.

use std::time::{Duration, SystemTime};

use aws_sdk_cloudfront::types::{InvalidationBatch, Paths};
use cf_invalidator::invocation::Invocation;
use cf_invalidator::lambda::{self, Output};
use cf_invalidator::Config;
use serde_json::json;

use crate::events::{s3_event_time, s3_notification_at, sqs_event};
use crate::venv::Moto;

const PARENT: &str = "EPLATFORM123";

fn everything() -> InvalidationBatch {
    let paths = Paths::builder().quantity(1).items("/*").build().unwrap();
    InvalidationBatch::builder().paths(paths).caller_reference("a-person").build().unwrap()
}

/// Rule: a tenant's `/*` made after a change of the parent's never counts as covering it, whether
/// the parent's list holds the tenant's invalidations or not: the parent's change is invalidated
/// on the parent.
#[tokio::test]
async fn a_tenants_slash_star_never_covers_the_parents_changes_in_either_reading() {
    let routes = json!([
        {"bucket": "www-example", "prefix": "customers/acme/",
         "distributions": [{"id": "dt_acme", "origin_path": "/customers/acme"}]},
        {"bucket": "www-example", "prefix": "", "distributions": [PARENT]}
    ]);
    let cfg =
        Config::from_pairs(&[("ROUTES", &routes.to_string()), ("DISTRIBUTION_TENANTS", &format!("{PARENT}/dt_acme"))])
            .unwrap();
    for lists in [false, true] {
        let moto = Moto::start(&["--distribution-ids", PARENT, "--tenants", &format!("dt_acme={PARENT}")]);
        moto.config(json!({"parent_lists_tenants": lists}));
        let changed = SystemTime::now() - Duration::from_secs(60);
        let sdk = moto.sdk();
        let tenants = sdk.create_invalidation_for_distribution_tenant().id("dt_acme").invalidation_batch(everything());
        let slash_star = tenants.send().await.unwrap().invalidation.unwrap().id;
        let on_parent = moto.invalidation_ids(PARENT).await;
        assert_eq!(on_parent.contains(&slash_star), lists, "the stand-in keeps the reading {lists}");

        let batch =
            sqs_event(&[("m0".into(), s3_notification_at("about.html", "0001", false, &s3_event_time(changed)))]);
        let inv = Invocation { request_id: "r".into(), deadline: None, now: Some(SystemTime::now()) };
        let out = lambda::handle(&cfg, &moto.cloudfront(), &batch, &inv).await.unwrap();
        let Output::Sqs(r) = out else { panic!("an SQS answer") };
        assert!(r.batch_item_failures.is_empty(), "parent lists tenants: {lists}");
        let mut made = Vec::new();
        for id in moto.invalidation_ids(PARENT).await.into_iter().filter(|id| *id != slash_star) {
            let inv = sdk.get_invalidation().distribution_id(PARENT).id(&id).send().await.unwrap();
            made.push(inv.invalidation.unwrap().invalidation_batch.unwrap().paths.unwrap().items.unwrap_or_default());
        }
        assert_eq!(made, [vec!["/about.html".to_string()]], "parent lists tenants: {lists}");
    }
}
