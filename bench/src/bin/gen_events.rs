//! Writes large events for measuring `cfinv plan` (time, peak memory) on inputs of your choosing:
//!
//! ```sh
//! cargo run --release -p cf-invalidator-bench --bin gen_events -- sqs 10000 > /tmp/batch.json  # ~6 MB SQS batch
//! cargo run --release -p cf-invalidator-bench --bin gen_events -- keys 1000000 > /tmp/keys.json  # explicit keys request
//! /usr/bin/time -v target/release/cfinv plan /tmp/batch.json > /dev/null
//! ```

use cf_invalidator_bench::synthetic;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(10_000);
    match args.first().map(String::as_str) {
        Some("sqs") => print!("{}", synthetic::sqs_batch(n)),
        Some("keys") => print!("{}", serde_json::json!({ "keys": synthetic::site_keys(n) })),
        _ => {
            eprintln!("usage: gen_events (sqs|keys) COUNT");
            std::process::exit(2);
        }
    }
}
