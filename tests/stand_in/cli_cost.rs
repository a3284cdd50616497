//! `cfinv cost` end to end: the built binary and the real `aws-sdk-cloudfront` against the moto
//! stand-in, with two months of invalidations made at given `CreateTime`s by this project (its
//! generated references: the Lambda's and `cfinv invalidate`'s `cfinv-…`, the workflow's `sfn-…`),
//! by a caller who chose the reference, and by another tool, and one month on either side that
//! must not count. Several hundred invalidations in a month are read through the whole list.

use cf_invalidator::model::{Change, ChangeKind};
use cf_invalidator::reference;
use serde_json::{json, Value};

use crate::cli::CliOut;
use crate::venv::Moto;

const DIST: &str = "EDFDVBD632BHDS5";

/// A reference as the function generates it for the change of `key` (its S3 sequencer `n`).
fn generated(n: usize) -> String {
    let change = Change {
        message: 0,
        bucket: Some("www-example".into()),
        key: format!("docs/page-{n}.html"),
        kind: ChangeKind::Created,
        version: Some(format!("{n:016X}")),
        time: None,
    };
    reference::decide(None, DIST, [&change].into_iter(), &[], "request-1").value
}

/// `n` paths, the first `wildcards` of them wildcards.
fn paths(prefix: &str, n: usize, wildcards: usize) -> Vec<String> {
    (0..n).map(|i| if i < wildcards { format!("/{prefix}/{i}/*") } else { format!("/{prefix}/{i}.html") }).collect()
}

fn cost(moto: &Moto, args: &[&str]) -> CliOut {
    let mut cmd = crate::cli::cfinv_on(moto);
    cmd.arg("cost").args(args);
    crate::cli::run_cfinv(cmd, "")
}

/// January 2026: the function's 400 invalidations (2 paths each, one of them a wildcard in every
/// tenth) and the workflow's one (10 paths, 1 wildcard): 810 paths; a caller's own reference with
/// the project's prefix (300 paths) and another tool's (150 paths, 3 wildcards): 450. February:
/// the function's 5 (3 paths each) and the other tool's 1,000-path one. December and March hold
/// invalidations that belong to neither.
fn two_months(moto: &Moto) {
    let mut made: Vec<(String, Vec<String>, String)> = Vec::new();
    made.push((generated(9_000), paths("dec", 700, 0), "2025-12-31T23:59:59Z".into()));
    for n in 0..400 {
        let wildcards = usize::from(n % 10 == 0);
        let t = format!("2026-01-{:02}T{:02}:{:02}:00Z", 1 + n / 16, (n % 16) + 1, n % 60);
        made.push((generated(n), paths(&format!("jan{n}"), 2, wildcards), t));
    }
    made.push(("sfn-deploy-42".into(), paths("sfn", 10, 1), "2026-01-20T12:00:00Z".into()));
    made.push(("cfinv-release-7".into(), paths("release", 300, 0), "2026-01-25T08:00:00Z".into()));
    made.push(("deploy-2026-01".into(), paths("tool", 150, 3), "2026-01-31T23:59:59Z".into()));
    for n in 0..5 {
        made.push((generated(1_000 + n), paths(&format!("feb{n}"), 3, 0), format!("2026-02-0{}T10:00:00Z", n + 1)));
    }
    made.push(("nightly-purge".into(), paths("purge", 1000, 0), "2026-02-14T03:00:00Z".into()));
    made.push((generated(2_000), paths("mar", 5, 0), "2026-03-01T00:00:00Z".into()));
    assert_eq!(moto.create_at(DIST, &made).len(), made.len());
}

/// Rule: a month's paths split between this project's generated references and
/// everyone else's (a caller's own `cfinv-release-7` is someone else's), wildcards among them,
/// the charge past the account's free 1,000 as a range (alone / used up elsewhere), the most
/// expensive first; the months on either side count nowhere; every invalidation of the month is
/// read once, with a progress line on standard error when there are many.
#[tokio::test(flavor = "current_thread")]
async fn a_months_paths_are_billed_to_this_project_and_to_others() {
    let moto = Moto::start(&["--distribution-ids", DIST, "--complete-after", "0"]);
    two_months(&moto);
    let calls_before = moto.calls().len();

    let out = cost(&moto, &["--month", "2026-01", "--json", DIST]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // Reported, not asserted (no timing assertions): the README quotes it.
    eprintln!("cfinv cost read a month of 403 invalidations (and paged past 7 more) in {:?}", out.took);
    let doc = out.json();
    assert_eq!((&doc["distribution_id"], &doc["month"]), (&json!(DIST), &json!("2026-01")));
    assert_eq!(doc["this_project"], json!({"invalidations": 401, "paths": 810, "wildcards": 41}));
    assert_eq!(doc["others"], json!({"invalidations": 2, "paths": 450, "wildcards": 3}));
    assert_eq!(doc["total"], json!({"invalidations": 403, "paths": 1260, "wildcards": 44}));
    assert_eq!(
        doc["estimated_charge_usd"],
        json!({"if_this_distribution_had_the_free_paths_alone": 1.3, "if_other_distributions_used_them_up": 6.3})
    );
    let top: Vec<(Value, Value, Value)> = doc["most_expensive"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["caller_reference"].clone(), i["by"].clone(), i["paths"].clone()))
        .collect();
    assert_eq!(top.len(), 5);
    assert_eq!(top[0], (json!("cfinv-release-7"), json!("others"), json!(300)));
    assert_eq!(top[1], (json!("deploy-2026-01"), json!("others"), json!(150)));
    assert_eq!(top[2], (json!("sfn-deploy-42"), json!("this_project"), json!(10)));
    assert_eq!(doc["most_expensive"][0]["create_time"], "2026-01-25T08:00:00Z");
    // Each of the month's 403 read once; the list paged from March down past the month's start.
    let calls = moto.calls()[calls_before..].to_vec();
    assert_eq!(calls.iter().filter(|c| *c == "GetInvalidation").count(), 403, "each read once");
    assert!(calls.iter().filter(|c| *c == "ListInvalidations").count() >= 5, "403 + 7 need five pages");
    assert!(out.stderr.contains("cfinv: read 400 of 403 invalidations"), "{}", out.stderr);
    assert!(out.stderr.contains("cfinv: read 403 of 403 invalidations"), "{}", out.stderr);

    // February, as a table: the other tool's 1,000 paths push the month past the free allowance.
    let out = cost(&moto, &["--month", "2026-02", DIST]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.is_empty(), "few invalidations: no progress: {}", out.stderr);
    let text = &out.stdout;
    for line in [
        &format!("Paths billed on {DIST} in 2026-02"),
        "  this project               5      15          0",
        "  others                     1    1000          0",
        "  total                      6    1015          0",
        "Estimated charge: $0.07 if this distribution had the account's 1000 free paths to itself, up to $5.08",
        "shared by every distribution",
    ] {
        assert!(text.contains(line), "{line:?} missing from:\n{text}");
    }
    let most = text.lines().skip_while(|l| *l != "Most expensive:").nth(1).unwrap();
    assert!(most.contains(" 1000 paths (0 wildcards) by another tool, reference nightly-purge"), "{most}");
    assert!(most.contains("2026-02-14T03:00:00Z"), "{most}");

    // A month with nothing.
    let out = cost(&moto, &["--month", "2025-11", "--json", DIST]);
    assert_eq!(out.json()["total"], json!({"invalidations": 0, "paths": 0, "wildcards": 0}));
}

/// Rule: the default month is this one, and an invalidation `cfinv invalidate` makes now is this
/// project's.
#[tokio::test(flavor = "current_thread")]
async fn the_default_month_is_this_one() {
    let moto = Moto::start(&["--distribution-ids", DIST, "--complete-after", "0"]);
    let mut cmd = crate::cli::cfinv_on(&moto);
    cmd.args(["invalidate", "--distribution-id", DIST, "docs/a.css", "docs/b.css"]);
    let made = crate::cli::run_cfinv(cmd, "");
    assert_eq!(made.code, 0, "{}", made.stderr);
    moto.create_at(DIST, &[("console-1".into(), paths("old", 3, 0), "2025-06-01T00:00:00Z".into())]);
    let doc = cost(&moto, &["--json", DIST]).json();
    let month = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()[..7].to_string();
    assert_eq!(doc["month"], json!(month));
    assert_eq!(doc["this_project"], json!({"invalidations": 1, "paths": 2, "wildcards": 0}));
    assert_eq!(doc["others"]["invalidations"], 0);
}

/// Rule: errors as every subcommand gives them — by default a human line on standard error and
/// nothing on standard output; with `--json`, the error object; a month that is not YYYY-MM is a
/// usage error, typed the way a person would type it.
#[test]
fn errors_are_a_line_on_stderr_or_the_json_error_object() {
    let moto = Moto::start(&["--distribution-ids", DIST]);
    let out = cost(&moto, &["ENOSUCHDIST1"]);
    assert_eq!(out.code, 1);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert!(out.stderr.starts_with("cfinv: NoSuchDistribution: "), "{}", out.stderr);
    let out = cost(&moto, &["--json", "ENOSUCHDIST1"]);
    assert_eq!((out.code, &out.json()["errorType"]), (1, &json!("NoSuchDistribution")));
    for month in ["2026-1", "01-2026", "2026/01", "January", "2026-13"] {
        let out = cost(&moto, &["--month", month, DIST]);
        assert_eq!(out.code, 2, "{month}");
        assert!(out.stderr.contains("YYYY-MM"), "{month}: {}", out.stderr);
    }
}
