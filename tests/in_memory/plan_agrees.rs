//! What `cfinv plan` shows is what the Lambda sends: every sample event in `events/` and every
//! deploy of the Hugo corpus (`corpus/hugo/events/`), through the real `cfinv plan --json`
//! binary and through the Lambda's handler on an empty in-memory CloudFront, give the same
//! invalidations — paths and CallerReferences — and, with `--room`, the Lambda on a distribution
//! holding that much in progress sends what `cfinv plan --room` shows.
//!
//! Both derive an unversioned request's reference from the same token (`cfinv plan` uses
//! `cfinv-plan`, here the Lambda's request id), so every reference is comparable.

use std::path::{Path, PathBuf};
use std::process::Command;

use cf_invalidator::cloudfront::memory::MemoryCloudFront;
use cf_invalidator::cloudfront::{CloudFront, CreateRequest};
use cf_invalidator::invocation::Invocation;
use cf_invalidator::lambda;
use cf_invalidator::Config;
use serde_json::Value;

use crate::support::{repo, SAMPLE_DISTRIBUTION as D};

const TOKEN: &str = "cfinv-plan";

fn events() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in [repo().join("events"), repo().join("corpus/hugo/events")] {
        let mut here: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        here.sort();
        files.extend(here);
    }
    assert!(files.len() > 40, "the sample events and the 40 corpus deploys: {files:?}");
    files
}

/// `(paths, caller_reference)` of each invalidation `cfinv plan --json` shows.
fn shown(event: &Path, room: Option<&str>) -> Vec<(Vec<String>, String)> {
    let mut cmd = Command::new(crate::support::cfinv());
    cmd.arg("plan").arg("--json").arg(event).env_clear().env("DISTRIBUTION_ID", D).env("METRICS_NAMESPACE", "");
    if let Some(r) = room {
        cmd.args(["--room", r]);
    }
    let out = cmd.output().expect("run cfinv plan");
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{}: {e}: {}", event.display(), String::from_utf8_lossy(&out.stdout)));
    let Some(invs) = doc["invalidations"].as_array() else { return Vec::new() };
    invs.iter()
        .map(|i| {
            let paths = i["paths"].as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_string()).collect();
            (paths, i["caller_reference"].as_str().unwrap().to_string())
        })
        .collect()
}

/// `(paths, caller_reference)` of each invalidation the Lambda creates on `cf`.
fn sent(cf: &MemoryCloudFront, event: &Path) -> Vec<(Vec<String>, String)> {
    let cfg = Config::from_pairs(&[("DISTRIBUTION_ID", D), ("METRICS_NAMESPACE", "")]).unwrap();
    let payload = std::fs::read(event).unwrap();
    let before = cf.invalidation_count();
    let inv = Invocation { request_id: TOKEN.into(), deadline: None, now: None };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let _ = rt.block_on(lambda::handle(&cfg, cf, &payload, &inv));
    let mut made: Vec<(Vec<String>, String)> =
        cf.invalidations_from(before).into_iter().map(|i| (i.paths, i.caller_reference)).collect();
    for (paths, _) in &mut made {
        paths.sort();
    }
    made
}

fn sorted(mut v: Vec<(Vec<String>, String)>) -> Vec<(Vec<String>, String)> {
    for (paths, _) in &mut v {
        paths.sort();
    }
    v
}

/// Rule: on an empty distribution the Lambda sends exactly `cfinv plan`'s invalidations.
#[test]
fn the_lambda_sends_what_cfinv_plan_shows() {
    let mut compared = 0;
    for event in events() {
        let cf = MemoryCloudFront::new(&[D]);
        let (plan, lambda) = (sorted(shown(&event, None)), sent(&cf, &event));
        assert_eq!(plan, lambda, "{}", event.display());
        compared += plan.len();
    }
    assert!(compared > 40, "{compared} invalidations compared");
}

/// Rule: given the room a distribution has left, `cfinv plan --room EXACT,WILDCARDS` shows what
/// the Lambda sends there, with the same share of the wildcard room.
#[test]
fn with_room_taken_the_lambda_sends_what_cfinv_plan_room_shows() {
    // 2,950 exact paths and 9 wildcards in progress: 50 exact and 6 wildcards of room.
    let busy: Vec<String> = (0..2950).map(|i| format!("/busy/{i}")).collect();
    let wild: Vec<String> = (0..9).map(|i| format!("/w{i}/*")).collect();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    for event in events() {
        let cf = MemoryCloudFront::new(&[D]);
        cf.set_completion(|_| 100_000);
        for (r, paths) in [("busy", &busy), ("busy-w", &wild)] {
            let req = CreateRequest {
                target: &cf_invalidator::model::TargetId::parse(D).unwrap(),
                caller_reference: r,
                paths,
            };
            rt.block_on(cf.create_invalidation(req, None)).unwrap();
        }
        let plan = sorted(shown(&event, Some("50,6")));
        assert_eq!(plan, sent(&cf, &event), "{}", event.display());
    }
}
