//! Smoke: `make compare` (benches/compare.py) still runs both functions end to end — this binary
//! and the Python boto3 baseline under awslambdaric — on the emulator and the stand-in, with a
//! small batch and one sample of each. Timings are printed by `make compare`, never asserted.

use std::path::Path;
use std::process::Command;

use cf_invalidator_bench::synthetic;

use crate::support::repo;
use crate::venv::venv_bin;

#[test]
fn the_comparison_runs_both_functions_end_to_end() {
    let binary = Path::new(env!("CARGO_BIN_EXE_cf-invalidator"));
    // The batch `gen_events sqs 300` writes, from the same synthetic workload.
    let batch = std::env::temp_dir().join(format!("cf-invalidator-compare-{}.json", std::process::id()));
    std::fs::write(&batch, synthetic::sqs_batch(300)).unwrap();
    let out = Command::new(venv_bin("python"))
        .arg(repo().join("benches/compare.py"))
        .args(["--starts", "1", "--colds", "1", "--runs", "1", "--timeout", "60"])
        .arg("--binary")
        .arg(binary)
        .arg("--batch")
        .arg(&batch)
        .output()
        .expect("run benches/compare.py");
    let _ = std::fs::remove_file(&batch);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "compare.py failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));

    // | function | start | cold | batch | invalidations | paths | peak RSS |
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .filter(|l| l.starts_with("| cf-invalidator") || l.starts_with("| python"))
        .map(|l| l.trim_matches('|').split('|').map(str::trim).collect())
        .collect();
    assert_eq!(rows.len(), 2, "{stdout}");
    let (rust, python) = (&rows[0], &rows[1]);
    // 300 distinct keys: one request from this function; the baseline sends one path per key.
    assert_eq!(rust[4], "1", "{stdout}");
    assert_eq!(python[4], "1", "{stdout}");
    assert_eq!(python[5], "300", "{stdout}");
    let paths: usize = rust[5].replace(',', "").parse().unwrap();
    assert!(paths >= 300, "index documents add directory forms: {stdout}");
}
