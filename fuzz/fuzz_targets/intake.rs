//! Fuzz target `intake`: its contract is `checks::intake` (shared with `tests/in_memory/fuzz_corpus.rs`).
#![no_main]

#[allow(dead_code)] // each target calls one body
#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::intake(data));
