//! Integration tests that need no server and no Python: the library's in-memory CloudFront, the
//! built `cfinv` binary and the repository's files. `cargo test --test in_memory`.

#[path = "../../fuzz/checks.rs"]
mod checks;
#[path = "../support/mod.rs"]
mod support;

mod fuzz_corpus;
mod hostile;
mod plan_agrees;
mod planner_props;
