//! What every integration-test group shares: the repository, the `cfinv` binary of this build and
//! the distribution the sample events name. The stand-ins themselves are in `venv.rs` beside this
//! file; a group includes only the files it uses.

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The `cfinv` binary of this build profile. It belongs to the workspace's `cfinv` package, whose
/// binary Cargo does not hand to this package's tests, so it is built here once per test process
/// (a no-op when `cargo test --workspace` built it already) and found beside this package's own.
#[allow(dead_code, reason = "the artifacts group runs the installed cfinv, never this build's")]
pub fn cfinv() -> &'static Path {
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        let lambda = Path::new(env!("CARGO_BIN_EXE_cf-invalidator"));
        let mut build = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        build.args(["build", "--quiet", "-p", "cfinv"]).current_dir(repo());
        // The profile of this test build: target/<profile>/ holds the Lambda binary.
        if lambda.parent().and_then(|d| d.file_name()).is_some_and(|p| p == "release") {
            build.arg("--release");
        }
        let status = build.status().expect("run cargo build -p cfinv");
        assert!(status.success(), "cargo build -p cfinv failed");
        lambda.with_file_name(format!("cfinv{}", std::env::consts::EXE_SUFFIX))
    })
}

/// The distribution id the sample events in `events/` name.
#[allow(dead_code, reason = "the artifacts group's moto makes its own distributions")]
pub const SAMPLE_DISTRIBUTION: &str = "EDFDVBD632BHDS5";
