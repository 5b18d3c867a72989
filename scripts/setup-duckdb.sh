#!/usr/bin/env bash
# Fetches DuckDB's prebuilt shared library from its npm package into .duckdb/lib, so that
# the duckdb crate links it instead of compiling DuckDB's C++ (about a minute instead of 35+),
# and DuckDB's own signed extensions from their PyPI packages into .duckdb/extensions:
# httpfs (encrypting a database needs its OpenSSL; object storage), ducklake and postgres (the
# lake mode: DuckLake with its catalog in PostgreSQL). DuckDB checks each signature when it
# loads an extension; nothing here turns that check off.
# Idempotent: does nothing when the right versions are already there.
set -euo pipefail

version="1.5.5-r.5" # DuckDB 1.5.5, matching duckdb = "=1.10505.0" in Cargo.toml
duckdb="v1.5.5"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$root/.duckdb/lib"

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) pkg=linux-x64 lib=libduckdb.so platform=linux_amd64 wheel=manylinux2014_x86_64
    httpfs_sha256=84913dbe172ccb54368de2c4a020c38ca8b0e76f99df548f7fac37934cc7826f
    ducklake_sha256=b631ae4dd4bd649b3db35a789dbcc859476fe231ef449b3f03f4fe4e2ef4a946
    postgres_sha256=d423f23dcbfa6c0708840eb7a8a8b54244eada4adeace8356cb095638880ab33 ;;
  Linux-aarch64) pkg=linux-arm64 lib=libduckdb.so platform=linux_arm64 wheel=manylinux2014_aarch64
    httpfs_sha256=567d17e398fc29f7ea4bc42ea277ea19643bd1ad1815f676cb6dd994b50399bb
    ducklake_sha256=cd8280d3a20c744f7e113137a17a053f751b9cc469a9b694c43e1b8539fd30af
    postgres_sha256=b278a9fd5768cf8f281c2055c98f2330858216ccfdbb12e4f938e610dc32ef7c ;;
  Darwin-arm64) pkg=darwin-arm64 lib=libduckdb.dylib platform="" ;;
  Darwin-x86_64) pkg=darwin-x64 lib=libduckdb.dylib platform="" ;;
  *)
    echo "setup-duckdb: no prebuilt DuckDB for $(uname -s)-$(uname -m);" >&2
    echo "build with 'cargo build --release --features bundled' instead (compiles DuckDB, 35+ minutes)." >&2
    exit 1 ;;
esac

extensions="$root/.duckdb/extensions"

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

# Each wheel is pinned by its SHA-256; DuckDB itself checks the extension's signature on LOAD.
# fetch_extension NAME SHA256 FILE: the wheel duckdb-extension-NAME, its extension saved as FILE
# (the postgres extension's entry point is named after postgres_scanner, so it is saved so).
fetch_extension() {
  local name="$1" sha256="$2" target="$extensions/$duckdb/$platform/$3"
  command -v python3 >/dev/null || { echo "setup-duckdb: python3 is needed to fetch the $name extension" >&2; exit 1; }
  echo "setup-duckdb: fetching duckdb-extension-$name ${duckdb#v} ($wheel)" >&2
  local tmp
  tmp="$(mktemp -d)"
  python3 -m pip download --quiet --no-deps --only-binary=:all: --platform "$wheel" \
    --dest "$tmp" "duckdb-extension-$name==${duckdb#v}" >&2
  local got
  got="$(sha256sum "$tmp"/*.whl | cut -d' ' -f1)"
  if [[ "$got" != "$sha256" ]]; then
    echo "setup-duckdb: the $name wheel's SHA-256 is $got, not the pinned $sha256; refusing it" >&2
    rm -rf "$tmp"
    exit 1
  fi
  mkdir -p "$(dirname "$target")"
  python3 - "$tmp"/*.whl "$target" "$duckdb" "$name" <<'PY'
import sys, zipfile
wheel, target, version, name = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    member = f"duckdb_extension_{name}/extensions/{version}/{name}.duckdb_extension"
    with z.open(member) as src, open(target + ".partial", "wb") as out:
        out.write(src.read())
PY
  mv "$target.partial" "$target"
  rm -rf "$tmp"
  echo "setup-duckdb: $target ready" >&2
}

if [[ ! -f "$dest/$lib" || "$(cat "$dest/VERSION" 2>/dev/null)" != "$version" ]]; then
  fetch_library
fi
if [[ -n "$platform" ]]; then
  [[ -f "$extensions/$duckdb/$platform/httpfs.duckdb_extension" ]] ||
    fetch_extension httpfs "$httpfs_sha256" httpfs.duckdb_extension
  [[ -f "$extensions/$duckdb/$platform/ducklake.duckdb_extension" ]] ||
    fetch_extension ducklake "$ducklake_sha256" ducklake.duckdb_extension
  [[ -f "$extensions/$duckdb/$platform/postgres_scanner.duckdb_extension" ]] ||
    fetch_extension postgres "$postgres_sha256" postgres_scanner.duckdb_extension
fi
