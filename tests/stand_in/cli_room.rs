//! `cfinv room` end to end: the built binary and the real `aws-sdk-cloudfront` against the moto
//! stand-in keeping CloudFront's in-progress quota (`--quota`), with invalidations made by this
//! project (`cfinv-…`, `sfn-…` references) and by other tools, one of them completed. The text
//! and the JSON must agree with what the stand-in counts against the quota.

use std::time::{Duration, SystemTime};

use aws_sdk_cloudfront::types::{InvalidationBatch, Paths};
use serde_json::{json, Value};

use crate::venv::Moto;

const DIST: &str = "EDFDVBD632BHDS5";

async fn create(moto: &Moto, reference: &str, paths: &[&str]) -> String {
    let paths: Vec<String> = paths.iter().map(|p| p.to_string()).collect();
    let batch = InvalidationBatch::builder()
        .caller_reference(reference)
        .paths(Paths::builder().quantity(paths.len() as i32).set_items(Some(paths)).build().unwrap())
        .build()
        .unwrap();
    let out = moto.sdk().create_invalidation().distribution_id(DIST).invalidation_batch(batch).send().await.unwrap();
    out.invalidation.unwrap().id
}

/// Runs `cfinv room` against the stand-in: (exit code, stdout).
fn room(moto: &Moto, args: &[&str]) -> (i32, String) {
    let mut cmd = crate::cli::cfinv_on(moto);
    cmd.arg("room").args(args);
    let out = crate::cli::run_cfinv(cmd, "");
    (out.code, out.stdout)
}

/// Rule: `cfinv room` shows the exact and wildcard paths in progress and left under
/// CloudFront's 3,000 / 15, split between this function's references (`cfinv-`, `sfn-`) and
/// others', and the oldest in progress; a completed invalidation holds nothing and is not the
/// oldest even when it was created first.
#[tokio::test(flavor = "current_thread")]
async fn room_shows_what_is_in_progress_by_whom_and_the_oldest() {
    let moto = Moto::start(&["--distribution-ids", DIST, "--quota", "--complete-after", "-1"]);
    let done = create(&moto, "cfinv-first", &["/done/a", "/done/b*"]).await;
    // CreateTime is to the second: the oldest in progress is a second apart from its neighbours.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let oldest = create(&moto, "console-2026-01-01", &["/old/a", "/old/b", "/old/*"]).await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    create(&moto, "cfinv-0123456789abcdef0123456789abcdef01234567", &["/a", "/b", "/c", "/d*"]).await;
    create(&moto, "sfn-deploy-42", &["/e", "/f*", "/g*"]).await;
    create(&moto, "other-tool-7", &["/h"]).await;
    assert_eq!(moto.complete(Some(&done)), vec![done]);
    // What the stand-in itself counts against the quota.
    assert_eq!(moto.in_progress(DIST), (7, 4));

    let (code, out) = room(&moto, &["--json", DIST]);
    assert_eq!(code, 0, "{out}");
    let doc: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"));
    assert_eq!(doc["distribution_id"], DIST);
    assert_eq!(doc["quota"], json!({"exact": 3000, "wildcards": 15}));
    assert_eq!(doc["in_progress"], json!({"invalidations": 4, "exact": 7, "wildcards": 4}));
    assert_eq!(doc["left"], json!({"exact": 2993, "wildcards": 11}));
    assert_eq!(doc["by"]["this_function"], json!({"invalidations": 2, "exact": 4, "wildcards": 3}));
    assert_eq!(doc["by"]["others"], json!({"invalidations": 2, "exact": 3, "wildcards": 1}));
    assert_eq!(doc["oldest"]["invalidation_id"], json!(oldest));
    assert_eq!(doc["oldest"]["caller_reference"], "console-2026-01-01");
    assert_eq!(doc["oldest"]["by"], "others");
    let created = humantime::parse_rfc3339(doc["oldest"]["create_time"].as_str().unwrap()).unwrap();
    let age = doc["oldest"]["age_seconds"].as_u64().unwrap();
    let since = SystemTime::now().duration_since(created).unwrap().as_secs();
    assert!(age <= since && since - age <= 60, "age {age} s, created {since} s ago");

    let (code, text) = room(&moto, &[DIST]);
    assert_eq!(code, 0, "{text}");
    let row = |name: &str| -> Vec<String> {
        let line =
            text.lines().find(|l| l.trim_start().starts_with(name)).unwrap_or_else(|| panic!("no {name} row: {text}"));
        line.trim_start()[name.len()..].split_whitespace().map(str::to_string).collect()
    };
    assert_eq!(row("in progress"), ["4", "7", "4"], "{text}");
    assert_eq!(row("this function"), ["2", "4", "3"], "{text}");
    assert_eq!(row("others"), ["2", "3", "1"], "{text}");
    assert_eq!(row("left"), ["2993", "11"], "{text}");
    assert!(text.contains(&format!("Oldest in progress: {oldest} created ")), "{text}");
    assert!(text.contains("by another tool, reference console-2026-01-01"), "{text}");
}

/// Rule: an unknown distribution is CloudFront's `NoSuchDistribution`, with `--json` printed as
/// the Lambda's error shape, with exit 1.
#[tokio::test(flavor = "current_thread")]
async fn room_of_an_unknown_distribution_is_no_such_distribution() {
    let moto = Moto::start(&["--distribution-ids", DIST, "--quota"]);
    let (code, out) = room(&moto, &["--json", "ENOSUCH"]);
    assert_eq!(code, 1, "{out}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["errorType"], "NoSuchDistribution", "{out}");
}
