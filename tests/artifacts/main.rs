//! Integration tests of the release artifacts `make dist` builds (archives, installer, wheel,
//! bootstrap zips), installed and run against the moto stand-in. Without the artifacts each test
//! says why and passes; `make dist` runs this group with `CFINV_DIST_REQUIRED=1`.
//! `cargo test --test artifacts`.

#[path = "../support/mod.rs"]
mod support;
#[path = "../support/venv.rs"]
mod venv;

mod dist;
