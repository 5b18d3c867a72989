# The two commands of README.md, and the checks CI runs. Each target first makes sure the
# prebuilt DuckDB library is in .duckdb/lib (scripts/setup-duckdb.sh, via npm).
.PHONY: setup demo test lint bench

setup:
	@scripts/setup-duckdb.sh

demo: setup
	cargo run --release -- demo

test: setup
	cargo test --workspace

lint: setup
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

bench: setup
	cargo run --release -- bench
