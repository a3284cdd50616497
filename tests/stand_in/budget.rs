//! The monthly path budget end to end: the built Lambda binary under `cargo lambda watch`, the
//! real `aws-sdk-cloudfront` against the moto stand-in holding this month's invalidations. The
//! count comes from CloudFront's list alone; past the budget the batch's paths become wildcards,
//! every change still covered, and the summary line and the metric say so.

use std::time::SystemTime;

use cf_invalidator::model::{Change, ChangeKind, PathCounts};
use serde_json::{json, Value};

use crate::emulator::Lambda;
use crate::venv::Moto;

const D: &str = "EDFDVBD632BHDS5";

/// A reference as the function generates it (the real generator).
fn generated(key: &str) -> String {
    let change = Change {
        message: 0,
        bucket: Some("www-example".into()),
        key: key.into(),
        kind: ChangeKind::Created,
        version: Some("0001".into()),
        time: None,
    };
    cf_invalidator::reference::decide(None, D, [&change].into_iter(), &[], "earlier").value
}

/// Rule: with this month's 60 paths of the function's own on the distribution (and
/// another tool's 500, which do not count), a budget of 50 is in force: a batch of 30 pages is
/// sent as at most 15 paths, wildcards among them, covering every page; a budget of 1,000 is not:
/// 30 exact paths. The summary's `budget_in_force` and the distribution's `PathBudgetInForce` say
/// which.
#[test]
fn past_the_budget_the_function_prefers_wildcards_and_says_so() {
    let keys: Vec<String> = (0..30).map(|i| format!("docs/guide/page-{i:02}.html")).collect();
    let many = |prefix: &str, n: usize| -> Vec<String> { (0..n).map(|i| format!("/{prefix}/{i}")).collect() };
    // (MonthlyPathBudget, in force)
    for (budget, in_force) in [("50", true), ("1000", false)] {
        let moto = Moto::start(&["--distribution-ids", D]);
        let now = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
        moto.create_at(
            D,
            &[
                (generated("earlier.html"), many("earlier", 60), now.clone()),
                ("deploy-tool".into(), many("tool", 500), now),
            ],
        );
        let mut lambda = Lambda::emulator();
        lambda.run(
            &moto.endpoint,
            &[("DISTRIBUTION_ID", D), ("MONTHLY_PATH_BUDGET", budget), ("AWS_LAMBDA_LOG_FORMAT", "JSON")],
        );
        let messages: Vec<(String, String)> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (format!("m{i}"), crate::events::s3_notification(k, &format!("{i:016X}"), false)))
            .collect();
        let (status, out) = lambda.invoke(&crate::events::sqs_event(&messages));
        assert_eq!((status, &out), (200, &json!({"batchItemFailures": []})), "budget {budget}");

        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let newest = rt.block_on(moto.invalidation_ids(D)).remove(0);
        let inv = rt.block_on(moto.sdk().get_invalidation().distribution_id(D).id(&newest).send()).unwrap();
        let paths = inv.invalidation.unwrap().invalidation_batch.unwrap().paths.unwrap().items.unwrap_or_default();
        let counts = PathCounts::of(&paths);
        for k in &keys {
            let form = format!("/{k}");
            let covered =
                paths.iter().any(|p| p.strip_suffix('*').map_or(*p == form, |prefix| form.starts_with(prefix)));
            assert!(covered, "budget {budget}: {form} uncovered by {paths:?}");
        }
        if in_force {
            assert!(paths.len() <= 15 && counts.wildcards > 0, "budget {budget}: {paths:?}");
        } else {
            assert_eq!((paths.len(), counts.wildcards), (30, 0), "budget {budget}: {paths:?}");
        }

        let lines: Vec<Value> = lambda.log().lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
        let summary = lines.iter().find(|l| l.to_string().contains("invocation summary")).expect("a summary line");
        assert_eq!(summary["fields"]["budget_in_force"], u64::from(in_force), "budget {budget}: {summary}");
        let by_distribution = lines
            .iter()
            .find(|l| l["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == json!([["DistributionId"]]))
            .expect("the distribution's EMF document");
        assert_eq!(by_distribution["DistributionId"], D);
        assert_eq!(by_distribution["PathBudgetInForce"], u64::from(in_force), "budget {budget}");
        assert_eq!(by_distribution["PathsSubmitted"], paths.len(), "budget {budget}");
        assert_eq!(by_distribution["InvalidationsCreated"], 1, "budget {budget}");
    }
}
