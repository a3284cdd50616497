//! Fuzz target `aws_cli`: its contract is `checks::aws_cli` (shared with `tests/in_memory/fuzz_corpus.rs`).
#![no_main]

#[allow(dead_code)] // each target calls one body
#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::aws_cli(data));
