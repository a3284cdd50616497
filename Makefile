# The README's two commands are `make demo` and `make test`; both install what they need.
.PHONY: setup demo test lint clean

setup:
	@scripts/setup.sh

## Runs the real Lambda binary on every sample event against a local CloudFront, prints the invalidations.
demo: setup
	@scripts/demo.sh

## Runs every test: unit, property, integration against moto, Lambda smoke, Step Functions executions, asl-validator, cfn-lint.
test: setup
	@scripts/test.sh

lint:
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings

clean:
	rm -rf .venv node_modules target
