//! Any bytes as an invocation payload: intake and planning return a plan or an error, never
//! panic, and every planned path is one CloudFront accepts.
#![no_main]

use cf_invalidator::planner::path_problem;
use cf_invalidator::{prepare, Config};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let cfg = Config::from_pairs(&[("DISTRIBUTION_ID", "EDFDVBD632BHDS5")]).unwrap();
    if let Ok(p) = prepare::plan_payload(&cfg.planner, data) {
        for plan in &p.plans {
            assert!(plan.paths.len() <= 3000);
            for path in &plan.paths {
                assert!(path_problem(path).is_none(), "invalid path {path:?}");
            }
        }
    }
});
