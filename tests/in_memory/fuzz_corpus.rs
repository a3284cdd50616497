//! Every fuzz target's body, run once over its seed corpus without libFuzzer: a contract change
//! that breaks a target fails here, in `make test`, not in a fuzz run months later. The bodies
//! are the fuzz targets' own (`fuzz/checks.rs`); the seeds are the sample events (`events/`) and
//! the target's own folder `fuzz/seeds/<target>/`, which also keeps every crash fuzzing found as
//! a regression case.

use std::path::{Path, PathBuf};

use crate::checks;

/// A fuzz target: its name in `fuzz/Cargo.toml`, its body and the folders of its seed corpus.
struct Target {
    name: &'static str,
    body: fn(&[u8]),
    seeds: &'static [&'static str],
}

const TARGETS: &[Target] = &[
    Target { name: "intake", body: checks::intake, seeds: &["events", "fuzz/seeds/intake"] },
    Target { name: "planner", body: checks::planner, seeds: &["fuzz/seeds/planner"] },
    Target {
        name: "destination_record",
        body: checks::destination_record,
        seeds: &["events", "fuzz/seeds/destination_record"],
    },
    Target { name: "aws_cli", body: checks::aws_cli, seeds: &["cfinv/tests/fixtures/aws-s3", "fuzz/seeds/aws_cli"] },
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every file of the target's seed folders, in name order.
fn seeds(folders: &[&str]) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for folder in folders {
        let mut in_folder: Vec<PathBuf> = std::fs::read_dir(root().join(folder))
            .unwrap_or_else(|e| panic!("{folder}: {e}"))
            .map(|entry| entry.unwrap().path())
            .filter(|p| p.is_file())
            .collect();
        assert!(!in_folder.is_empty(), "{folder} holds no seed");
        in_folder.sort();
        files.extend(in_folder);
    }
    files
}

/// Runs `body` on every seed; the seeds that break it, each with its panic message.
fn broken(body: fn(&[u8]), folders: &[&str]) -> Vec<String> {
    let mut broken = Vec::new();
    for seed in seeds(folders) {
        let data = std::fs::read(&seed).unwrap();
        if let Err(panic) = std::panic::catch_unwind(|| body(&data)) {
            let why = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            broken.push(format!("{}: {why}", seed.strip_prefix(root()).unwrap_or(&seed).display()));
        }
    }
    broken
}

fn run(target: &str) {
    let t = TARGETS.iter().find(|t| t.name == target).unwrap();
    let broken = broken(t.body, t.seeds);
    assert!(broken.is_empty(), "the {target} target breaks on its seeds:\n{}", broken.join("\n"));
}

/// Rule: any payload is read and planned or refused, never a panic; every planned item is a
/// valid path or cache tag, within 3,000 items and 15 wildcards, covering every change.
#[test]
fn intake_target_holds_on_the_sample_events_and_corpus_notifications() {
    run("intake");
}

/// Rule: under any caps and the defaults, every corpus deploy plans within them, every key's
/// request forms and every cache tag covered.
#[test]
fn planner_target_holds_on_every_corpus_deploy() {
    run("planner");
}

/// Rule: any body on the failed-event queue is read (a message malformed at worst), and a
/// destination record is read as the event it carries.
#[test]
fn destination_record_target_holds_on_records_and_bare_events() {
    run("destination_record");
}

/// Rule: any text read as AWS CLI transfer output gives changes on its own lines, and a key comes
/// back exactly from a line that nothing pads (padding taken off a padded one), on the output
/// captured from the real CLI.
#[test]
fn aws_cli_target_holds_on_captured_cli_output() {
    run("aws_cli");
}

/// Rule: every fuzz target has its corpus run here, so none can rot unnoticed.
#[test]
fn every_fuzz_target_runs_here() {
    let manifest = std::fs::read_to_string(root().join("fuzz/Cargo.toml")).unwrap();
    let mut in_manifest: Vec<&str> = manifest
        .lines()
        .filter_map(|l| l.trim().strip_prefix("name = \""))
        .filter_map(|l| l.strip_suffix('"'))
        .filter(|name| *name != "cf-invalidator-fuzz")
        .collect();
    let mut here: Vec<&str> = TARGETS.iter().map(|t| t.name).collect();
    in_manifest.sort();
    here.sort();
    assert_eq!(in_manifest, here, "fuzz/Cargo.toml's targets and this test's table");
}
