#!/usr/bin/env bash
# The outside readers the tests check Haven's open data with (Frictionless, pyarrow, geopandas,
# rdflib), in .venv; pinned in scripts/validators.txt. Quiet and quick when already in place.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv
stamp="$venv/.validators"
if [ -x "$venv/bin/python" ] && cmp -s scripts/validators.txt "$stamp"; then
  exit 0
fi
if ! command -v python3 >/dev/null; then
  apt-get update -qq && apt-get install -y -qq python3 python3-venv >/dev/null
fi
if ! python3 -m venv "$venv" >/dev/null 2>&1; then
  echo "python3 -m venv failed; installing python3-venv" >&2
  apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
  python3 -m venv "$venv"
fi
echo "installing the open-data validators into $venv" >&2
"$venv/bin/pip" install -q --disable-pip-version-check -r scripts/validators.txt
cp scripts/validators.txt "$stamp"
