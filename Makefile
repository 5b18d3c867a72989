# The two commands of README.md, and the checks CI runs. Each target first makes sure the
# prebuilt DuckDB library is in .duckdb/lib (scripts/setup-duckdb.sh, via npm).
.PHONY: setup demo test lint bench

setup:
	@scripts/setup-duckdb.sh

demo: setup
	cargo run --release -- demo

# cargo-nextest when installed (one summary line for the whole workspace), else cargo test.
# The open-data tests read the releases with outside tools, installed in .venv first; the
# dashboard tests drive headless Chromium with the packages of tests/browser.
test: setup
	@scripts/setup-validators.sh
	@npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
	@if cargo nextest --version >/dev/null 2>&1; then \
		cargo nextest run --workspace; \
	else \
		cargo test --workspace; \
	fi

lint: setup
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

bench: setup
	cargo run --release -- bench ingest
	cargo run --release -- bench indicators
	cargo run --release -- bench segregation
	cargo run --release -- bench api
	cargo run --release -- bench disclosure --runs 3
