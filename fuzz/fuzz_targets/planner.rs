//! Fuzz target `planner`: its contract is `checks::planner` (shared with `tests/in_memory/fuzz_corpus.rs`).
#![no_main]

#[allow(dead_code)] // each target calls one body
#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::planner(data));
