# The README's two commands are `make demo` and `make test`; both install what they need.
.PHONY: setup demo test bench compare score fuzz lint dist clean

setup:
	@scripts/setup.sh

## Runs the real Lambda binary on every sample event against a local CloudFront, prints the invalidations.
demo: setup
	@scripts/demo.sh

## Runs every test: unit, property, integration against moto, Lambda smoke, Step Functions executions, asl-validator, cfn-lint.
test: setup
	@scripts/test.sh

## Criterion benchmarks (planner at 10k/100k/1M keys, the 10,000-message SQS batch); see README "Performance".
bench:
	cargo bench -p cf-invalidator-bench --bench throughput

## cf-invalidator beside the usual Python boto3 invalidator on the same emulator and CloudFront stand-in.
compare: setup
	cargo build --release --bin cf-invalidator
	cargo build --release -p cf-invalidator-bench --bin gen_events
	.venv/bin/python benches/compare.py

## The planner's scores on the Hugo corpus's 40 deploys (corpus/hugo/evaluate.py); README "Scores on the shared corpus".
score:
	@scripts/score-corpus.sh

## Bounded fuzzing of every target in fuzz/ (FUZZ_SECONDS each, default 60), every target even after
## a crash; lists each crash with its reproduction command and fails if any; README "Fuzzing".
fuzz:
	@scripts/fuzz.sh

## Release artifacts of Linux as the release workflow builds them (dist archives and installers,
## the wheel, bootstrap zips), then tests/artifacts/dist.rs installs and runs them; README "In a pipeline".
dist: setup
	@scripts/dist.sh

lint:
	cargo fmt --check
	cargo clippy --workspace --all-targets -- -D warnings

clean:
	rm -rf .venv .tools node_modules target
