#!/usr/bin/env bash
# The region benchmark of docs/scale.md: N generated municipalities (about V vacant properties
# each, the rest in proportion) made by W writers at once, their releases pushed to a lake
# (PostgreSQL from Debian's binaries and moto's S3 server, both on loopback, started here), then
# read back, then served by stateless readers (`haven serve --region`) under wrk: answers kept,
# answers read from the lake every time (a reader keeping none), and reads while ten more
# municipalities push (a reader moving on every second). Beside it, the outside reference: the
# same Parquet bytes uploaded to the same bucket with boto3.
# Prints a Markdown section and, with --record, puts it into BENCHMARKS.md between its markers.
#
#   scripts/bench-lake.sh [--municipalities 100] [--vacant 10000] [--writers 2] [--record]
#
# Needs the release build (cargo build --release), PostgreSQL's binaries (apt-get install
# postgresql), the validators' environment (scripts/setup-validators.sh, for moto) and wrk.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
n=100 vacant=10000 writers=2 record=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --municipalities) n="$2"; shift 2 ;;
    --vacant) vacant="$2"; shift 2 ;;
    --writers) writers="$2"; shift 2 ;;
    --record) record=1; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "bench-lake: unknown argument $1" >&2; exit 1 ;;
  esac
done
haven="$root/target/release/haven"
[[ -x "$haven" ]] || { echo "bench-lake: build first: cargo build --release" >&2; exit 1; }
pg_bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
[[ -x "$pg_bin/initdb" ]] || { echo "bench-lake: PostgreSQL is missing: apt-get install postgresql" >&2; exit 1; }
[[ -x "$root/.venv/bin/moto_server" ]] || { echo "bench-lake: run scripts/setup-validators.sh (moto)" >&2; exit 1; }

work="$(mktemp -d)"
as_pg=()
if [[ "$(id -u)" == 0 ]]; then chown postgres "$work"; as_pg=(runuser -u postgres --); fi
pg_port=$((20000 + RANDOM % 20000)) s3_port=$((40000 + RANDOM % 20000))
cleanup() {
  "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true
  [[ -n "${moto:-}" ]] && kill "$moto" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
"${as_pg[@]}" "$pg_bin/initdb" -D "$work/pg" -A trust -U haven >/dev/null
"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$work/pg" -l "$work/pg.log" -w \
  -o "-p $pg_port -k $work -c listen_addresses=127.0.0.1 -c max_connections=100" start >/dev/null
"$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U haven -d postgres -q -c "CREATE DATABASE lake"
"$root/.venv/bin/moto_server" -H 127.0.0.1 -p "$s3_port" >/dev/null 2>&1 &
moto=$!
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$s3_port") 2>/dev/null && break; sleep 0.2; done
"$root/.venv/bin/python" - "$s3_port" <<'PY'
import sys, boto3
boto3.client("s3", endpoint_url=f"http://127.0.0.1:{sys.argv[1]}", region_name="us-east-1",
             aws_access_key_id="bench", aws_secret_access_key="bench").create_bucket(Bucket="lake")
PY
export HAVEN_LOG=warn HAVEN_S3_KEY_ID=bench HAVEN_S3_SECRET=bench \
  HAVEN_S3_ENDPOINT="http://127.0.0.1:$s3_port" HAVEN_LAKE_DATA=s3://lake/region \
  HAVEN_LAKE="postgres://haven@127.0.0.1:$pg_port/lake"

code() { printf 'BE3%04d' "$1"; }
export -f code
export haven work vacant
# Municipalities made beside the N but pushed only while the readers are loaded.
extra=10

echo "bench-lake: making $n + $extra municipalities of about $vacant vacant properties, $writers at a time" >&2
t0=$(date +%s.%N)
seq "$((n + extra))" | xargs -P "$writers" -I{} bash -c '
  d="$work/m{}"; mkdir -p "$d"
  HAVEN_LAKE= HAVEN_LAKE_DATA= "$haven" --db "$d/haven.duckdb" demo --scale "$vacant" \
    --municipality "$(code {})" --seed {} --no-serve --out "$d/demo" >"$d/demo.log" 2>&1 ||
    { echo "municipality {} failed:"; tail -5 "$d/demo.log"; exit 255; }'
t1=$(date +%s.%N)

echo "bench-lake: pushing their releases, $writers writers at once" >&2
push() {
  d="$work/m$1"; s=$(date +%s.%N)
  "$haven" --db "$d/haven.duckdb" lake push 2>"$d/push.log" || { cat "$d/push.log"; exit 255; }
  echo "$(echo "$(date +%s.%N) - $s" | bc)" >"$d/push.seconds"
}
export -f push
seq "$n" | xargs -P "$writers" -I{} bash -c 'push {}'
t2=$(date +%s.%N)

echo "bench-lake: the outside reference: the same Parquet files uploaded with boto3" >&2
"$root/.venv/bin/python" - "$s3_port" "$work" "$n" >"$work/reference.txt" <<'PY'
import sys, time, glob, boto3
port, work, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                  aws_access_key_id="bench", aws_secret_access_key="bench")
s3.create_bucket(Bucket="reference")
t = time.time()
for i in range(1, n + 1):
    for f in glob.glob(f"{work}/m{i}/published/v1/*.parquet"):
        s3.upload_file(f, "reference", f"m{i}/{f.rsplit('/', 1)[1]}")
print(time.time() - t)
size = {}
for page in s3.get_paginator("list_objects_v2").paginate(Bucket="lake"):
    for o in page.get("Contents", []):
        part = o["Key"].split("/")[1]
        size[part] = size.get(part, 0) + o["Size"]
print(size.get("public", 0), size.get("restricted", 0))
PY

echo "bench-lake: reading back" >&2
one="$(code 1)"
t3=$(date +%s.%N)
for i in $(seq 20); do "$haven" lake read indicators --municipality "$(code $(( (i * 7) % n + 1 )))" >/dev/null; done
t4=$(date +%s.%N)
"$haven" lake read indicators --out "$work/all.csv" 2>/dev/null
t5=$(date +%s.%N)
"$haven" lake releases --json >"$work/releases.jsonl"

echo "bench-lake: stateless readers (haven serve --region)" >&2
# 1 and 2 keep their answers and stay pinned; 3 keeps its answers and moves on every second
# (for reads during writes); 4 keeps none (every answer read from the lake).
reader_flags=("--refresh-seconds 3600" "--refresh-seconds 3600" "--refresh-seconds 1" "--refresh-seconds 3600 --keep-answers-mib 0")
readers=()
for r in 1 2 3 4; do
  # shellcheck disable=SC2086
  "$haven" serve --region --addr 127.0.0.1:0 ${reader_flags[$((r - 1))]} >"$work/reader$r.out" 2>"$work/reader$r.log" &
  readers+=($!)
done
trap 'kill "${readers[@]}" 2>/dev/null || true; cleanup' EXIT
urls=()
for r in 1 2 3 4; do
  for _ in $(seq 200); do grep -q '^serving ' "$work/reader$r.out" 2>/dev/null && break; sleep 0.1; done
  urls+=("$(sed -n 's/^serving //p' "$work/reader$r.out")")
done
ms() { curl -s -o /dev/null -w '%{time_total}' "$1" | awk '{printf "%.1f", $1 * 1000}'; }
# Read from the lake: the first answer of each resource at the pinned snapshot.
region_ms=$(ms "${urls[0]}/api/v1/region")
map_ms=$(ms "${urls[0]}/api/v1/region/map")
map_bytes=$(curl -s "${urls[0]}/api/v1/region/map" | wc -c)
t6=$(date +%s.%N)
for i in $(seq "$n"); do curl -s -o /dev/null "${urls[1]}/api/v1/m/$(code "$i")"; done
t7=$(date +%s.%N)
m_ms=$(echo "($t7 - $t6) * 1000 / $n" | bc -l)
# Kept (the steady state between snapshots): wrk, 64 connections, each request a resource of
# the region picked in turn, the region's two views and every municipality's.
cat >"$work/region.lua" <<LUA
local n, i = $n, 0
request = function()
  i = i + 1
  local k = i % (n + 2)
  if k == 0 then return wrk.format("GET", "/api/v1/region") end
  if k == 1 then return wrk.format("GET", "/api/v1/region/map") end
  return wrk.format("GET", string.format("/api/v1/m/BE3%04d", k - 1))
end
LUA
# Warmed with wrk itself, as the traffic measured asks (an answer is kept under its request's
# Accept header too; none is kept as */*).
for u in "${urls[0]}" "${urls[1]}" "${urls[2]}"; do
  wrk -t1 -c4 -d5s --timeout 30s -s "$work/region.lua" "$u" >/dev/null
done
wrk -t2 -c64 -d20s --latency -s "$work/region.lua" "${urls[0]}" >"$work/wrk1.txt"
rps1=$(awk '/Requests\/sec/ {print $2}' "$work/wrk1.txt")
p99_1=$(awk '$1 == "99%" {print $2}' "$work/wrk1.txt")
non2xx=$(awk '/Non-2xx/ {print $NF}' "$work/wrk1.txt"); non2xx=${non2xx:-0}
reader_rss=$(awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/${readers[0]}/status")
same=$( [[ "$(curl -s "${urls[0]}/api/v1/region")" == "$(curl -s "${urls[1]}/api/v1/region")" ]] && echo yes || echo no)
errors() { awk '/Non-2xx/ {e += $NF} /Socket errors/ {for (i = 4; i <= NF; i += 2) e += $i} END {print e + 0}' "$1"; }

# Uncached: reader 4 reads every answer from the lake. Each municipality's view in turn (8
# connections), and the region's overview alone (2 connections).
cat >"$work/municipalities.lua" <<LUA
local n, i = $n, 0
request = function()
  i = i + 1
  return wrk.format("GET", string.format("/api/v1/m/BE3%04d", i % n + 1))
end
LUA
echo "bench-lake: uncached answers under wrk" >&2
wrk -t2 -c8 -d20s --timeout 30s --latency -s "$work/municipalities.lua" "${urls[3]}" >"$work/wrk-m.txt"
wrk -t1 -c2 -d20s --timeout 30s --latency "${urls[3]}/api/v1/region" >"$work/wrk-r.txt"
rps_m=$(awk '/Requests\/sec/ {print $2}' "$work/wrk-m.txt") p99_m=$(awk '$1 == "99%" {print $2}' "$work/wrk-m.txt")
rps_r=$(awk '/Requests\/sec/ {print $2}' "$work/wrk-r.txt") p99_r=$(awk '$1 == "99%" {print $2}' "$work/wrk-r.txt")
err_m=$(errors "$work/wrk-m.txt") err_r=$(errors "$work/wrk-r.txt")

# Reads during writes: reader 3 under the kept traffic mix for 30 s while $extra more
# municipalities push, $writers at once; it moves on at each new snapshot, its kept answers
# then read again from the lake.
echo "bench-lake: reads while $extra municipalities push" >&2
snap() { curl -s -D - -o /dev/null "$1/api/v1/region" | awk 'tolower($1) == "haven-lake-snapshot:" {print $2 + 0}'; }
snap_before=$(snap "${urls[2]}")
tw0=$(date +%s.%N)
(seq "$((n + 1))" "$((n + extra))" | xargs -P "$writers" -I{} bash -c 'push {}'; date +%s.%N >"$work/pushed-at") &
pushing=$!
wrk -t2 -c64 -d30s --timeout 30s --latency -s "$work/region.lua" "${urls[2]}" >"$work/wrk-w.txt"
wait "$pushing"
pushes_s=$(echo "$(cat "$work/pushed-at") - $tw0" | bc)
snap_after=$(snap "${urls[2]}")
rps_w=$(awk '/Requests\/sec/ {print $2}' "$work/wrk-w.txt") p99_w=$(awk '$1 == "99%" {print $2}' "$work/wrk-w.txt")
err_w=$(errors "$work/wrk-w.txt")
landed_w=$("$haven" lake releases --json | grep -c '"current":true')

read -r reference <"$work/reference.txt"
read -r public_bytes restricted_bytes < <(sed -n 2p "$work/reference.txt")
catalog_bytes=$("$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U haven -d lake -At -c "SELECT pg_database_size('lake')")
release_bytes=$(du -sb "$work"/m*/published | awk '{s += $1} END {print s}')
db_bytes=$(du -cb "$work"/m*/haven.duckdb | tail -1 | cut -f1)
retries=$(grep -ho '[0-9]* retries' "$work"/m*/push.log | awk '{s += $1} END {print s + 0}')
landed=$(grep -c '"current":true' "$work/releases.jsonl")
rows_all=$(($(wc -l <"$work/all.csv") - 1))
pushes=$(cat "$work"/m*/push.seconds | sort -n)
p50=$(echo "$pushes" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
p95=$(echo "$pushes" | awk '{a[NR]=$1} END {print a[int(NR*0.95+0.999)]}')

f() { printf '%.1f' "$1"; }
make_s=$(echo "$t1 - $t0" | bc) push_s=$(echo "$t2 - $t1" | bc)
read_s=$(echo "($t4 - $t3) / 20" | bc -l) all_s=$(echo "$t5 - $t4" | bc)
mb() { awk -v b="$1" 'BEGIN {printf "%.1f", b / 1048576}'; }
section="$(cat <<EOF
## The region's lake: $n municipalities, $writers writers

- machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $(uname -sr); PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') and moto's S3 server on loopback
- command: \`scripts/bench-lake.sh --municipalities $n --vacant $vacant --writers $writers --record\` (release build)
- when: $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD)

| | measured |
|---|---|
| municipalities made (generate, load, analyse, publish), $writers at a time | $(f "$make_s") s for $((n + extra)) ($(f "$(echo "$make_s * $writers / ($n + $extra)" | bc -l)") s each) |
| releases pushed to the lake, $writers writers at once | $(f "$push_s") s; one push p50 $(f "$p50") s, p95 $(f "$p95") s |
| conflicts tried again | $retries |
| releases current in the lake | $landed of $n |
| outside reference: the same Parquet files uploaded with boto3, one client | $(f "$reference") s (push / reference: $(f "$(echo "$push_s / $reference" | bc -l)")) |
| bucket: public / restricted | $(mb "$public_bytes") MiB / $(mb "$restricted_bytes") MiB ($(awk -v b="$((public_bytes + restricted_bytes))" -v n="$n" 'BEGIN {printf "%.2f", b / n / 1048576}') MiB per municipality) |
| catalogue in PostgreSQL | $(mb "$catalog_bytes") MiB |
| the municipalities' release folders / databases | $(mb "$release_bytes") MiB / $(mb "$db_bytes") MiB |
| one municipality's indicators read from the lake (a process each, 20 reads) | $(printf '%.2f' "$read_s") s each |
| the whole region's indicators ($rows_all rows) read from the lake | $(f "$all_s") s |
| a reader's first answer, read from the lake: the region / its map ($(mb "$map_bytes") MiB) / a municipality (mean of $n) | $region_ms ms / $map_ms ms / $(f "$m_ms") ms |
| answers of the pinned snapshot, kept: one reader under wrk (64 connections, 2 threads, the region's views and every municipality's in turn, 20 s) | $(f "$rps1") req/s, p99 $p99_1, $non2xx errors; reader resident $reader_rss MiB |
| uncached, a reader keeping no answer (\`--keep-answers-mib 0\`) under wrk for 20 s: every municipality's view in turn, 8 connections | $(f "$rps_m") req/s, p99 $p99_m, $err_m errors |
| … the region's overview, 2 connections | $(f "$rps_r") req/s, p99 $p99_r, $err_r errors |
| reads during writes: a reader moving on every second under the kept mix (64 connections, 30 s) while $extra more municipalities push, $writers writers | $(f "$rps_w") req/s, p99 $p99_w, $err_w errors; snapshot $snap_before → $snap_after; the pushes took $(f "$pushes_s") s; $landed_w of $((n + extra)) releases current |
| readers for 1,000 req/s of such traffic (one reader per core like this one) | $(awk -v r="$rps1" 'BEGIN {printf "%d", (1000 / r == int(1000 / r)) ? 1000 / r : int(1000 / r) + 1}') |
| the two readers' answers to /api/v1/region alike | $same |
EOF
)"
echo "$section"
if [[ "$record" == 1 ]]; then
  python3 - "$root/BENCHMARKS.md" "$section" <<'PY'
import sys
path, section = sys.argv[1], sys.argv[2]
text = open(path).read()
begin, end = "<!-- bench lake: begin -->", "<!-- bench lake: end -->"
block = f"{begin}\n{section}\n{end}"
if begin in text:
    text = text[: text.index(begin)] + block + text[text.index(end) + len(end):]
else:
    text = text.rstrip("\n") + "\n\n" + block + "\n"
open(path, "w").write(text)
PY
  echo "bench-lake: recorded in BENCHMARKS.md" >&2
fi
