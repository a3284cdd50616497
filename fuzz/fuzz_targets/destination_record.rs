//! Fuzz target `destination_record`: its contract is `checks::destination_record` (shared with `tests/in_memory/fuzz_corpus.rs`).
#![no_main]

#[allow(dead_code)] // each target calls one body
#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::destination_record(data));
