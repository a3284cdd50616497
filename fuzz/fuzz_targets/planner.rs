//! Any keys under any budget: every path valid, budgets held, every key's CloudFront form covered.
#![no_main]

use cf_invalidator::model::{Change, ChangeKind};
use cf_invalidator::planner::{self, encoding, path_problem};
use cf_invalidator::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&budget, rest)) = data.split_first() else { return };
    let max_paths = 1 + (budget as usize % 40);
    let max_wildcards = 1 + (budget as usize % 15);
    let text = String::from_utf8_lossy(rest);
    let keys: Vec<&str> = text.split('\n').filter(|k| !k.is_empty()).take(500).collect();
    if keys.is_empty() {
        return;
    }
    let (paths, wildcards) = (max_paths.to_string(), max_wildcards.to_string());
    let cfg = Config::from_pairs(&[("DISTRIBUTION_ID", "E1"), ("MAX_PATHS", &paths), ("MAX_WILDCARDS", &wildcards)]).unwrap();
    let changes: Vec<Change> = keys
        .iter()
        .map(|k| Change { message: 0, bucket: None, key: k.to_string(), kind: ChangeKind::Created, version: None, time: None })
        .collect();
    let planned = planner::plan(&changes, &cfg.planner, planner::Routing::Events).unwrap();
    let paths = &planned.plans[0].paths;
    assert!(paths.len() <= max_paths);
    assert!(paths.iter().filter(|p| p.ends_with('*')).count() <= max_wildcards);
    for p in paths {
        assert!(path_problem(p).is_none(), "invalid path {p:?}");
    }
    for k in &keys {
        let form = encoding::cloudfront(&format!("/{k}"));
        let covered = paths.iter().any(|p| match p.strip_suffix('*') {
            Some(prefix) => form.starts_with(prefix),
            None => *p == form,
        });
        assert!(covered, "{form:?} uncovered by {paths:?}");
    }
});
