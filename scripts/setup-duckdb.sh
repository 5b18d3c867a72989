#!/usr/bin/env bash
# Fetches DuckDB's prebuilt shared library from its npm package into .duckdb/lib, so that
# the duckdb crate links it instead of compiling DuckDB's C++ (about a minute instead of 35+),
# and DuckDB's own signed httpfs extension from its PyPI package into .duckdb/extensions
# (encrypting a database needs its OpenSSL; DuckDB checks the signature when it loads it).
# Idempotent: does nothing when the right versions are already there.
set -euo pipefail

version="1.5.5-r.5" # DuckDB 1.5.5, matching duckdb = "=1.10505.0" in Cargo.toml
duckdb="v1.5.5"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$root/.duckdb/lib"

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) pkg=linux-x64 lib=libduckdb.so platform=linux_amd64 wheel=manylinux2014_x86_64
    httpfs_sha256=84913dbe172ccb54368de2c4a020c38ca8b0e76f99df548f7fac37934cc7826f ;;
  Linux-aarch64) pkg=linux-arm64 lib=libduckdb.so platform=linux_arm64 wheel=manylinux2014_aarch64
    httpfs_sha256=567d17e398fc29f7ea4bc42ea277ea19643bd1ad1815f676cb6dd994b50399bb ;;
  Darwin-arm64) pkg=darwin-arm64 lib=libduckdb.dylib platform="" ;;
  Darwin-x86_64) pkg=darwin-x64 lib=libduckdb.dylib platform="" ;;
  *)
    echo "setup-duckdb: no prebuilt DuckDB for $(uname -s)-$(uname -m);" >&2
    echo "build with 'cargo build --release --features bundled' instead (compiles DuckDB, 35+ minutes)." >&2
    exit 1 ;;
esac

extensions="$root/.duckdb/extensions"
httpfs="$extensions/$duckdb/$platform/httpfs.duckdb_extension"

fetch_library() {
  command -v npm >/dev/null || { echo "setup-duckdb: npm is needed to fetch DuckDB ($pkg)" >&2; exit 1; }
  echo "setup-duckdb: fetching @duckdb/node-bindings-$pkg@$version" >&2
  local tmp
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "@duckdb/node-bindings-$pkg@$version" >/dev/null && tar xzf ./*.tgz)
  mkdir -p "$dest"
  cp "$tmp/package/$lib" "$dest/$lib"
  rm -rf "$tmp"
  echo "$version" >"$dest/VERSION"
  echo "setup-duckdb: $dest/$lib ready" >&2
}

# The wheel is pinned by its SHA-256; DuckDB itself checks the extension's signature on LOAD.
fetch_httpfs() {
  command -v python3 >/dev/null || { echo "setup-duckdb: python3 is needed to fetch the httpfs extension" >&2; exit 1; }
  echo "setup-duckdb: fetching duckdb-extension-httpfs ${duckdb#v} ($wheel)" >&2
  local tmp
  tmp="$(mktemp -d)"
  python3 -m pip download --quiet --no-deps --only-binary=:all: --platform "$wheel" \
    --dest "$tmp" "duckdb-extension-httpfs==${duckdb#v}" >&2
  local got
  got="$(sha256sum "$tmp"/*.whl | cut -d' ' -f1)"
  if [[ "$got" != "$httpfs_sha256" ]]; then
    echo "setup-duckdb: the httpfs wheel's SHA-256 is $got, not the pinned $httpfs_sha256; refusing it" >&2
    rm -rf "$tmp"
    exit 1
  fi
  mkdir -p "$(dirname "$httpfs")"
  python3 - "$tmp"/*.whl "$httpfs" "$duckdb" <<'PY'
import sys, zipfile
wheel, target, version = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    name = f"duckdb_extension_httpfs/extensions/{version}/httpfs.duckdb_extension"
    with z.open(name) as src, open(target + ".partial", "wb") as out:
        out.write(src.read())
PY
  mv "$httpfs.partial" "$httpfs"
  rm -rf "$tmp"
  echo "setup-duckdb: $httpfs ready" >&2
}

if [[ ! -f "$dest/$lib" || "$(cat "$dest/VERSION" 2>/dev/null)" != "$version" ]]; then
  fetch_library
fi
if [[ -n "$platform" && ! -f "$httpfs" ]]; then
  fetch_httpfs
fi
