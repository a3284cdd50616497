//! The real handler and the real `aws-sdk-cloudfront` against a moto server that these tests start:
//! every sample event creates the invalidation the planner promised, read back with
//! GetInvalidation; errors surface with their stable types; SQS failures are per message.

use cf_invalidator::invocation::Invocation;
use cf_invalidator::lambda::{self, Output};
use cf_invalidator::prepare;
use cf_invalidator::Config;
use serde_json::{json, Value};

use crate::events::event;
use crate::support::SAMPLE_DISTRIBUTION;
use crate::venv::Moto;

fn config(vars: &[(&str, &str)]) -> Config {
    Config::from_pairs(vars).unwrap()
}

fn sample_config() -> Config {
    config(&[("DISTRIBUTION_ID", SAMPLE_DISTRIBUTION)])
}

fn invocation(id: &str) -> Invocation {
    Invocation { request_id: id.to_string(), deadline: None, now: Some(std::time::SystemTime::now()) }
}

fn to_json(o: &Output) -> Value {
    serde_json::to_value(o).unwrap()
}

/// Each sample event in `events/` → the paths CloudFront holds afterwards (None: no invalidation),
/// and the SQS messages reported as failures.
#[tokio::test]
async fn every_sample_event_creates_the_planned_invalidation() {
    let cases: &[(&str, Option<&[&str]>)] = &[
        ("s3-put.json", Some(&["/docs/getting-started", "/docs/getting-started/", "/docs/getting-started/index.html"])),
        ("s3-delete.json", Some(&["/blog/2023/old-post", "/blog/2023/old-post/", "/blog/2023/old-post/index.html"])),
        (
            "s3-multi.json",
            Some(&[
                "/",
                "/css/main.3e07bb.css",
                "/css/main.4f9a1c.css",
                "/docs/api",
                "/docs/api/",
                "/docs/api/index.html",
                "/index.html",
                "/sitemap.xml",
            ]),
        ),
        (
            "s3-awkward-keys.json",
            Some(&[
                "/caf%C3%A9/men%C3%BC.html",
                "/docs/a%2Bb%3Dc.html",
                "/docs/a+b=c.html",
                "/downloads/c%2B%2B*",
                "/downloads/c++*",
                "/fr/%C3%A9t%C3%A9",
                "/fr/%C3%A9t%C3%A9/",
                "/fr/%C3%A9t%C3%A9/index.html",
                "/img/icon%402x.png",
                "/img/icon@2x.png",
                "/js/runtime*",
                "/media/red*",
                "/reports/100%25*",
            ]),
        ),
        (
            "sqs-s3.json",
            Some(&[
                "/docs/install",
                "/docs/install/",
                "/docs/install/index.html",
                "/docs/install/linux",
                "/docs/install/linux/",
                "/docs/install/linux/index.html",
                "/js/app.77ab10.js",
                "/js/app.91c2e0.js",
            ]),
        ),
        ("sqs-sns.json", Some(&["/about/jobs.html", "/about/team", "/about/team/", "/about/team/index.html"])),
        ("sqs-eventbridge.json", Some(&["/changelog.html"])),
        ("sqs-test-event.json", None),
        ("sns.json", Some(&["/pricing", "/pricing/", "/pricing/index.html", "/pricing/plans.json"])),
        ("eventbridge-created.json", Some(&["/blog/launch", "/blog/launch/", "/blog/launch/index.html"])),
        ("eventbridge-deleted.json", Some(&["/blog/draft", "/blog/draft/", "/blog/draft/index.html"])),
        ("explicit-paths.json", Some(&["/docs/*", "/index.html"])),
        // A cache tag beside a path (CloudFront: an item `#tag` invalidates every object so tagged).
        ("explicit-tags.json", Some(&["#product-pages", "/products/index.html"])),
        (
            "explicit-keys.json",
            Some(&[
                "/assets/site.css",
                "/docs",
                "/docs/",
                "/docs/index.html",
                "/docs/install",
                "/docs/install/",
                "/docs/install/index.html",
            ]),
        ),
    ];
    let moto = Moto::start(&["--distribution-ids", SAMPLE_DISTRIBUTION]);
    let cf = moto.cloudfront();
    let cfg = sample_config();
    for (name, want) in cases {
        let before = moto.invalidation_ids(SAMPLE_DISTRIBUTION).await;
        let out =
            lambda::handle(&cfg, &cf, &event(name), &invocation(name)).await.unwrap_or_else(|e| panic!("{name}: {e}"));
        let out = to_json(&out);
        if name.starts_with("sqs-") {
            assert_eq!(out, json!({"batchItemFailures": []}), "{name}: every message acknowledged");
        }
        let new: Vec<String> =
            moto.invalidation_ids(SAMPLE_DISTRIBUTION).await.into_iter().filter(|i| !before.contains(i)).collect();
        let Some(want) = want else {
            assert!(new.is_empty() && out.get("invalidation_id").is_none(), "{name}: {out}");
            continue;
        };
        assert_eq!(new.len(), 1, "{name}: one invalidation per event");
        // Read it back from the stand-in.
        let id = &new[0];
        let got = moto.sdk().get_invalidation().distribution_id(SAMPLE_DISTRIBUTION).id(id).send().await.unwrap();
        let batch = got.invalidation.unwrap().invalidation_batch.unwrap();
        let mut paths = batch.paths.unwrap().items.unwrap_or_default();
        paths.sort();
        assert_eq!(paths, *want, "{name}");
        if let Some(top) = out.get("invalidation_id") {
            assert_eq!(top, id.as_str(), "{name}");
            assert_eq!(out["caller_reference"], batch.caller_reference, "{name}");
            assert_eq!(out["status"], "InProgress", "{name}");
            assert_eq!(out["path_count"], want.len(), "{name}");
        }
        // `cfinv plan` (prepare) promised exactly these paths.
        let prepared = prepare::plan_payload(&cfg.planner, &event(name)).unwrap();
        assert_eq!(prepared.plans[0].paths, *want, "{name}: plan and request agree");
    }
}

/// Rule: cache tags reach CloudFront through the real SDK — from `TAGS` for
/// a matching changed key, beside its paths, one spelling each; a tag CloudFront would refuse
/// (a comma) is refused before anything is sent.
#[tokio::test]
async fn tags_reach_cloudfront_through_the_sdk() {
    let moto = Moto::start(&["--distribution-ids", SAMPLE_DISTRIBUTION]);
    let cf = moto.cloudfront();
    let cfg = config(&[("DISTRIBUTION_ID", SAMPLE_DISTRIBUTION), ("TAGS", r##"{"docs/**":["#Docs","#home"]}"##)]);
    let out = to_json(&lambda::handle(&cfg, &cf, &event("s3-put.json"), &invocation("tags-1")).await.unwrap());
    let id = out["invalidation_id"].as_str().unwrap_or_else(|| panic!("{out}"));
    let got = moto.sdk().get_invalidation().distribution_id(SAMPLE_DISTRIBUTION).id(id).send().await.unwrap();
    let mut items = got.invalidation.unwrap().invalidation_batch.unwrap().paths.unwrap().items.unwrap_or_default();
    items.sort();
    assert_eq!(
        items,
        ["#docs", "#home", "/docs/getting-started", "/docs/getting-started/", "/docs/getting-started/index.html"]
    );
    assert_eq!(out["path_count"], 5, "each tag is billed like a path");
    let bad = json!({"distribution_id": SAMPLE_DISTRIBUTION, "paths": ["/a", "#a,b"]}).to_string();
    let err = lambda::handle(&cfg, &cf, bad.as_bytes(), &invocation("tags-2")).await.unwrap_err();
    assert_eq!(err.error_type(), "InvalidInput", "{err}");
    assert_eq!(moto.invalidation_ids(SAMPLE_DISTRIBUTION).await.len(), 1, "nothing sent for the refused tag");
}

/// Rule: the stand-in refuses what CloudFront refuses (a tag with a comma, a wildcard, a space,
/// over 256 characters; a path without '/'), so that the tests above could fail.
#[tokio::test]
async fn the_stand_in_refuses_what_cloudfront_refuses() {
    use aws_sdk_cloudfront::types::{InvalidationBatch, Paths};
    let moto = Moto::start(&["--distribution-ids", SAMPLE_DISTRIBUTION]);
    let long = format!("#{}", "t".repeat(257));
    let at_limit = format!("#{}", "t".repeat(256));
    for (i, (item, ok)) in [
        ("#styles", true),
        ("#x-y_z.!~", true),
        (at_limit.as_str(), true),
        ("#a,b", false),
        ("#a*", false),
        ("#a b", false),
        ("#", false),
        (long.as_str(), false),
        ("styles", false),
    ]
    .into_iter()
    .enumerate()
    {
        let paths = Paths::builder().quantity(1).items(item).build().unwrap();
        let batch = InvalidationBatch::builder().caller_reference(format!("r{i}")).paths(paths).build().unwrap();
        let sent = moto
            .sdk()
            .create_invalidation()
            .distribution_id(SAMPLE_DISTRIBUTION)
            .invalidation_batch(batch)
            .send()
            .await;
        match sent {
            Ok(_) => assert!(ok, "{item:?} was accepted"),
            Err(e) => {
                assert!(!ok, "{item:?}: {e:?}");
                assert_eq!(e.into_service_error().meta().code(), Some("InvalidArgument"), "{item:?}");
            }
        }
    }
}

#[tokio::test]
async fn no_such_distribution_surfaces_as_its_error_type() {
    let moto = Moto::start(&["--distributions", "0"]);
    let cf = moto.cloudfront();
    let cfg = config(&[("DISTRIBUTION_ID", "ENOSUCHDIST1")]);
    let err = lambda::handle(&cfg, &cf, &event("s3-put.json"), &invocation("r1")).await.unwrap_err();
    assert_eq!(err.error_type(), "NoSuchDistribution", "{err}");
    let diag: lambda_runtime::Diagnostic = err.into();
    assert_eq!(diag.error_type, "NoSuchDistribution");

    // From SQS nothing of the batch was submitted: the invocation fails, so the whole batch comes
    // back whether or not the mapping reports batch item failures.
    let err = lambda::handle(&cfg, &cf, &event("sqs-s3.json"), &invocation("r2")).await.unwrap_err();
    assert_eq!(err.error_type(), "NoSuchDistribution", "{err}");
}

#[tokio::test]
async fn an_sqs_batch_with_one_malformed_message_reports_only_that_message() {
    let moto = Moto::start(&["--distribution-ids", SAMPLE_DISTRIBUTION]);
    let mut batch: Value = serde_json::from_slice(&event("sqs-s3.json")).unwrap();
    batch["Records"][2]["body"] =
        json!("{\"Records\": [{\"eventSource\": \"aws:s3\", \"eventName\": \"ObjectCreated:Put\"}]}");
    let bad_id = batch["Records"][2]["messageId"].clone();
    let out = lambda::handle(&sample_config(), &moto.cloudfront(), batch.to_string().as_bytes(), &invocation("r"))
        .await
        .unwrap();
    assert_eq!(to_json(&out), json!({"batchItemFailures": [{"itemIdentifier": bad_id}]}));
    // The rest of the batch was still invalidated, in one request.
    assert_eq!(moto.invalidation_ids(SAMPLE_DISTRIBUTION).await.len(), 1);
}

/// Redelivery (S3's at-least-once, SQS after a lost ack, Lambda's async retry) sends the same
/// CallerReference, and CloudFront (as AWS does, and the stand-in now does) returns the existing
/// invalidation: one invalidation per distinct change set.
#[tokio::test]
async fn the_same_event_twice_makes_one_invalidation() {
    let moto = Moto::start(&["--distribution-ids", SAMPLE_DISTRIBUTION]);
    let cf = moto.cloudfront();
    let cfg = sample_config();
    for name in ["s3-put.json", "sqs-s3.json", "eventbridge-created.json"] {
        let before = moto.invalidation_ids(SAMPLE_DISTRIBUTION).await.len();
        lambda::handle(&cfg, &cf, &event(name), &invocation("first")).await.unwrap();
        lambda::handle(&cfg, &cf, &event(name), &invocation("redelivery")).await.unwrap();
        assert_eq!(moto.invalidation_ids(SAMPLE_DISTRIBUTION).await.len(), before + 1, "{name}");
    }
}

#[tokio::test]
async fn a_reused_caller_reference_with_other_paths_is_its_own_error() {
    let moto = Moto::start(&["--distribution-ids", SAMPLE_DISTRIBUTION]);
    let cf = moto.cloudfront();
    let cfg = sample_config();
    let first = json!({"distribution_id": SAMPLE_DISTRIBUTION, "paths": ["/a"], "caller_reference": "deploy-1"});
    let other = json!({"distribution_id": SAMPLE_DISTRIBUTION, "paths": ["/b"], "caller_reference": "deploy-1"});
    lambda::handle(&cfg, &cf, first.to_string().as_bytes(), &invocation("1")).await.unwrap();
    let err = lambda::handle(&cfg, &cf, other.to_string().as_bytes(), &invocation("2")).await.unwrap_err();
    assert_eq!(err.error_type(), "InvalidationBatchAlreadyExists", "{err}");
}

/// An SQS batch redelivered in part (some messages failed elsewhere, or a partial ack was lost)
/// or whole: its changes are covered already by the invalidation made for the batch after them
/// (covered already means done), so nothing more is created.
#[tokio::test]
async fn a_batch_redelivered_in_part_or_whole_makes_nothing_more() {
    let moto = Moto::start(&["--distribution-ids", SAMPLE_DISTRIBUTION]);
    let cf = moto.cloudfront();
    let cfg = sample_config();
    let full: Value = serde_json::from_slice(&event("sqs-s3.json")).unwrap();
    let mut part = full.clone();
    part["Records"] = json!(full["Records"].as_array().unwrap()[1..3]);
    let count = || async { moto.invalidation_ids(SAMPLE_DISTRIBUTION).await.len() };
    for (payload, want) in [(&full, 1), (&part, 1), (&part, 1), (&full, 1)] {
        let out = lambda::handle(&cfg, &cf, payload.to_string().as_bytes(), &invocation("any")).await.unwrap();
        assert_eq!(to_json(&out), json!({"batchItemFailures": []}));
        assert_eq!(count().await, want);
    }
}

/// Lambda retries a failed async invoke with the same request id: an explicit request without a
/// caller_reference derives its reference from it, so the retry creates nothing new, while a new
/// invoke (new request id) is a new invalidation.
#[tokio::test]
async fn a_lambda_async_retry_makes_one_invalidation() {
    let moto = Moto::start(&["--distribution-ids", SAMPLE_DISTRIBUTION]);
    let cf = moto.cloudfront();
    let cfg = sample_config();
    let req = json!({"distribution_id": SAMPLE_DISTRIBUTION, "paths": ["/index.html"]}).to_string();
    let a = to_json(&lambda::handle(&cfg, &cf, req.as_bytes(), &invocation("req-1")).await.unwrap());
    let b = to_json(&lambda::handle(&cfg, &cf, req.as_bytes(), &invocation("req-1")).await.unwrap());
    assert_eq!(a["invalidation_id"], b["invalidation_id"]);
    let c = to_json(&lambda::handle(&cfg, &cf, req.as_bytes(), &invocation("req-2")).await.unwrap());
    assert_ne!(a["invalidation_id"], c["invalidation_id"]);
    assert_eq!(moto.invalidation_ids(SAMPLE_DISTRIBUTION).await.len(), 2);
}
