//! `cargo bench -p cf-invalidator-bench` (`make bench`): the planner at 10k, 100k and 1M keys, and intake + plan of the largest SQS
//! batch Lambda delivers beside serde_json's bare parse of the same bytes.

use std::hint::black_box;

use cf_invalidator::model::{Change, ChangeKind};
use cf_invalidator::prepare;
use cf_invalidator::{planner, Config};
use cf_invalidator_bench::synthetic;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

fn config() -> Config {
    Config::from_pairs(&[("DISTRIBUTION_ID", "EDFDVBD632BHDS5")]).unwrap()
}

fn planner_bench(c: &mut Criterion) {
    let cfg = config();
    let mut g = c.benchmark_group("planner");
    g.sample_size(10);
    for n in [10_000usize, 100_000, 1_000_000] {
        let changes: Vec<Change> = synthetic::site_keys(n)
            .into_iter()
            .enumerate()
            .map(|(i, key)| Change {
                message: 0,
                bucket: Some("b".into()),
                key,
                kind: ChangeKind::Created,
                version: Some(i.to_string()),
                time: None,
            })
            .collect();
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("plan", n), &changes, |b, changes| {
            b.iter(|| planner::plan(black_box(changes), &cfg.planner, planner::Routing::Events).unwrap())
        });
    }
    g.finish();
}

fn sqs_batch_bench(c: &mut Criterion) {
    let cfg = config();
    let batch = synthetic::sqs_batch(10_000);
    let mut g = c.benchmark_group("sqs_batch_10000");
    g.sample_size(20);
    g.throughput(Throughput::Bytes(batch.len() as u64));
    g.bench_function("serde_json_value_parse", |b| {
        b.iter(|| serde_json::from_str::<serde_json::Value>(black_box(&batch)).unwrap())
    });
    g.bench_function("intake_and_plan", |b| {
        b.iter(|| prepare::plan_payload(&cfg.planner, black_box(batch.as_bytes())).unwrap())
    });
    g.finish();
}

criterion_group!(benches, planner_bench, sqs_batch_bench);
criterion_main!(benches);
