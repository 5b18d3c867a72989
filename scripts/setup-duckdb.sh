#!/usr/bin/env bash
# Fetches DuckDB's prebuilt shared library from its npm package into .duckdb/lib, so that
# the duckdb crate links it instead of compiling DuckDB's C++ (about a minute instead of 35+).
# Idempotent: does nothing when the right version is already there.
set -euo pipefail

version="1.5.6-r.1" # DuckDB 1.5.6, matching duckdb = "=1.10506.1" in Cargo.toml
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$root/.duckdb/lib"

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) pkg=linux-x64 lib=libduckdb.so ;;
  Linux-aarch64) pkg=linux-arm64 lib=libduckdb.so ;;
  Darwin-arm64) pkg=darwin-arm64 lib=libduckdb.dylib ;;
  Darwin-x86_64) pkg=darwin-x64 lib=libduckdb.dylib ;;
  *)
    echo "setup-duckdb: no prebuilt DuckDB for $(uname -s)-$(uname -m);" >&2
    echo "build with 'cargo build --release --features bundled' instead (compiles DuckDB, 35+ minutes)." >&2
    exit 1 ;;
esac

if [[ -f "$dest/$lib" && "$(cat "$dest/VERSION" 2>/dev/null)" == "$version" ]]; then
  exit 0
fi
command -v npm >/dev/null || { echo "setup-duckdb: npm is needed to fetch DuckDB ($pkg)" >&2; exit 1; }

echo "setup-duckdb: fetching @duckdb/node-bindings-$pkg@$version" >&2
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "@duckdb/node-bindings-$pkg@$version" >/dev/null && tar xzf ./*.tgz)
mkdir -p "$dest"
cp "$tmp/package/$lib" "$dest/$lib"
echo "$version" >"$dest/VERSION"
echo "setup-duckdb: $dest/$lib ready" >&2
